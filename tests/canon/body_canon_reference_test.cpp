// The streaming body canonicalizers against a direct transcription of RFC 6376 §3.4.3/§3.4.4
// that works on whole lines, on random bodies cut at random places.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "canon/body_canon.hpp"

namespace dkimkit::detail {
namespace {

// Splits at CRLF; the last element is what follows the last CRLF (possibly empty).
std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t p = body.find("\r\n", start);
    if (p == std::string::npos) {
      out.push_back(body.substr(start));
      return out;
    }
    out.push_back(body.substr(start, p - start));
    start = p + 2;
  }
}

std::string reference(const std::string& body, bool relaxed) {
  std::vector<std::string> lines = lines_of(body);
  std::string tail = lines.back();  // an incomplete last line, or ""
  lines.pop_back();
  if (!tail.empty()) lines.push_back(tail);  // §3.4.3/§3.4.4: a missing final CRLF is added
  if (relaxed) {
    for (auto& l : lines) {
      std::string r;
      bool wsp = false;
      for (char c : l) {
        if (c == ' ' || c == '\t') {
          wsp = true;
          continue;
        }
        if (wsp) r += ' ';
        wsp = false;
        r += c;
      }
      l = r;  // trailing WSP dropped
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // trailing empty lines
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  if (out.empty() && !relaxed) out = "\r\n";
  return out;
}

std::string random_body(std::mt19937& rng) {
  static const char alphabet[] = {'a', 'b', ' ', ' ', '\t', '\r', '\n', 'x', '\r', '\n'};
  std::uniform_int_distribution<std::size_t> len(0, 80), pick(0, sizeof alphabet - 1);
  std::string s;
  std::size_t n = len(rng);
  for (std::size_t i = 0; i < n; ++i) {
    char c = alphabet[pick(rng)];
    if (c == '\n') {
      s += "\r\n";  // the canonicalizer takes CRLF-normalised input
    } else {
      s += c;
    }
  }
  // Long runs too, so that the 16-byte scan is exercised across its boundaries.
  if (n % 3 == 0) s += std::string(n, 'w') + "  \t " + std::string(n % 17, 'z') + " \r\n";
  return s;
}

std::string canonicalize(const std::string& body, canonicalization c, std::mt19937& rng) {
  body_canonicalizer canon(c);
  std::string out;
  std::uniform_int_distribution<std::size_t> cut(0, 20);
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t n = std::min(body.size() - i, cut(rng));
    canon.update(std::string_view(body).substr(i, n), out);
    i += n;
  }
  canon.finish(out);
  return out;
}

// RFC 6376 §3.4.4 (relaxed) on whole lines vs the streaming state machine, any chunking.
TEST(body_canon, relaxed_matches_line_by_line_reference) {
  std::mt19937 rng(20261123);
  for (int i = 0; i < 20000; ++i) {
    std::string body = random_body(rng);
    ASSERT_EQ(canonicalize(body, canonicalization::relaxed, rng), reference(body, true))
        << "body: " << testing::PrintToString(body);
  }
}

// RFC 6376 §3.4.3 (simple) likewise.
TEST(body_canon, simple_matches_line_by_line_reference) {
  std::mt19937 rng(6376);
  for (int i = 0; i < 20000; ++i) {
    std::string body = random_body(rng);
    ASSERT_EQ(canonicalize(body, canonicalization::simple, rng), reference(body, false))
        << "body: " << testing::PrintToString(body);
  }
}

}  // namespace
}  // namespace dkimkit::detail
