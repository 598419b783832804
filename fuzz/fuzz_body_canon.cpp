// Fuzz target: dkimkit::detail::body_canonicalizer (RFC 6376 §3.4.3 simple, §3.4.4 relaxed).
// Differential checks, both canonicalizations: the output of the whole input in one chunk must
// equal the output of the input cut in two at a point derived from the data (and, for short
// inputs, fed one byte at a time), and must equal a plain line-by-line reference implementation.
// Any difference aborts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canon/body_canon.hpp"
#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;
using dkimkit::fuzz::split_point;
using dkimkit::canonicalization;

std::string canonicalize(canonicalization c, const std::vector<std::string_view>& chunks) {
  dkimkit::detail::body_canonicalizer canon(c);
  std::string out;
  for (std::string_view chunk : chunks) canon.update(chunk, out);
  canon.finish(out);
  return out;
}

// §3.4.3: strip the CRLFs at the end, then end with one CRLF ("CRLF" for an empty body).
std::string reference_simple(std::string_view body) {
  while (body.size() >= 2 && body.substr(body.size() - 2) == "\r\n") body.remove_suffix(2);
  return std::string(body) + "\r\n";
}

// §3.4.4: lines are separated by CRLF (a lone CR or LF is content); in each line a run of SP and
// HTAB becomes one SP and white space at the end goes; empty lines at the end go; a last line
// without CRLF gets one; an empty result stays empty.
std::string reference_relaxed(std::string_view body) {
  std::vector<std::string> lines;
  for (;;) {
    const std::size_t eol = body.find("\r\n");
    const std::string_view line = body.substr(0, eol);
    std::string out;
    bool wsp = false;
    for (char c : line) {
      if (c == ' ' || c == '\t') {
        wsp = true;
        continue;
      }
      if (wsp) out.push_back(' ');
      wsp = false;
      out.push_back(c);
    }
    lines.push_back(std::move(out));
    if (eol == std::string_view::npos) break;
    body.remove_prefix(eol + 2);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& l : lines) out += l + "\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = split_point(body);
  for (canonicalization c : {canonicalization::simple, canonicalization::relaxed}) {
    const std::string whole = canonicalize(c, {body});
    check(canonicalize(c, {body.substr(0, cut), body.substr(cut)}) == whole);
    check(canonicalize(c, {std::string_view(), body, std::string_view()}) == whole);
    if (size <= 256) {
      std::vector<std::string_view> bytes;
      for (std::size_t i = 0; i < size; ++i) bytes.push_back(body.substr(i, 1));
      check(canonicalize(c, bytes) == whole);
    }
    check(whole ==
          (c == canonicalization::simple ? reference_simple(body) : reference_relaxed(body)));
  }
  return 0;
}
