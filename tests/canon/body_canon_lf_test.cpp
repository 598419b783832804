// The body canonicalizer's block scanner (64 bytes at a time, SSE2/AVX2) and its line_ends modes,
// against plain references written from RFC 6376 §3.4.3/§3.4.4:
//   line_ends::crlf            a bare LF is content (the input is meant to be normalised);
//   line_ends::crlf_or_bare_lf a bare LF ends a line: the output is that of the normalised input.
// Random bodies mixing CR, LF, SP, HTAB and text, long enough to cross many 64-byte blocks, whole,
// cut at every single point, cut at random points and fed byte by byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>

#include "canon/body_canon.hpp"
#include "canon/body_hasher.hpp"

namespace dkimkit::detail {
namespace {

constexpr canonicalization kSimple = canonicalization::simple;
constexpr canonicalization kRelaxed = canonicalization::relaxed;

// Lines end in CRLF only: a lone CR or LF is content (and neither is WSP).
std::string reference(canonicalization c, std::string_view body) {
  std::vector<std::string> lines;
  bool terminated = true;
  for (std::size_t pos = 0; pos < body.size();) {
    const std::size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      lines.emplace_back(body.substr(pos));
      terminated = false;
      break;
    }
    lines.emplace_back(body.substr(pos, eol - pos));
    pos = eol + 2;
  }
  (void)terminated;  // a last line without CRLF gets one either way
  if (c == kRelaxed) {
    for (std::string& line : lines) {
      std::string out;
      bool wsp = false;
      for (char ch : line) {
        if (ch == ' ' || ch == '\t') {
          wsp = true;
          continue;
        }
        if (wsp) out += ' ';
        wsp = false;
        out += ch;
      }
      line = out;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  if (c == kSimple && out.empty()) out = "\r\n";
  return out;
}

std::string canon_cut(canonicalization c, line_ends ends, std::string_view in,
                      const std::vector<std::size_t>& cuts) {
  body_canonicalizer bc(c, ends);
  std::string out;
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    bc.update(in.substr(prev, cut - prev), out);
    prev = cut;
  }
  bc.update(in.substr(prev), out);
  bc.finish(out);
  return out;
}

std::string canon_bytewise(canonicalization c, line_ends ends, std::string_view in) {
  body_canonicalizer bc(c, ends);
  std::string out;
  for (char ch : in) bc.update(std::string_view(&ch, 1), out);
  bc.finish(out);
  return out;
}

// What each mode must give for `raw`.
std::string expected(canonicalization c, line_ends ends, std::string_view raw) {
  return ends == line_ends::crlf ? reference(c, raw)
                                 : reference(c, normalize_line_endings(raw));
}

// Text with special bytes at `density` percent: SP, HTAB, CR and LF, in runs as real mail has them
// ("  ", " \r\n", "\r\n\r\n", "\n\n", "\t ").
std::string random_body(std::mt19937& rng, std::size_t len, int density) {
  static constexpr std::string_view kSpecial[] = {" ",  " ",    "  ",   "\t",   "\r",  "\n",
                                                  "\r\n", "\r\n", " \r\n", "\n\n", "\t ", "\r\r\n",
                                                  " \n", "\r\n\r\n", "\r\n "};
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<std::size_t> special(0, std::size(kSpecial) - 1);
  std::string s;
  while (s.size() < len) {
    if (percent(rng) < density)
      s += kSpecial[special(rng)];
    else
      s += static_cast<char>('a' + percent(rng) % 26);
  }
  s.resize(len);
  return s;
}

const line_ends kModes[] = {line_ends::crlf, line_ends::crlf_or_bare_lf};
const canonicalization kCanons[] = {kSimple, kRelaxed};

// Short bodies: every single cut and byte by byte.
TEST(body_canon_blocks, short_random_bodies_every_split) {
  std::mt19937 rng(16);
  std::uniform_int_distribution<std::size_t> length(0, 40);
  for (int iter = 0; iter < 500; ++iter) {
    const std::string raw = random_body(rng, length(rng), 50);
    for (canonicalization c : kCanons) {
      for (line_ends ends : kModes) {
        const std::string want = expected(c, ends, raw);
        ASSERT_EQ(canon_cut(c, ends, raw, {}), want) << testing::PrintToString(raw);
        ASSERT_EQ(canon_bytewise(c, ends, raw), want) << testing::PrintToString(raw);
        for (std::size_t cut = 0; cut <= raw.size(); ++cut)
          ASSERT_EQ(canon_cut(c, ends, raw, {cut}), want)
              << "cut=" << cut << " " << testing::PrintToString(raw);
      }
    }
  }
}

// Bodies of several 64-byte blocks, sparse to dense: whole, at every single cut (so that blocks
// start at every offset and the 2-byte look-ahead meets every chunk end) and at random cuts.
TEST(body_canon_blocks, long_random_bodies_every_split) {
  std::mt19937 rng(6376);
  std::uniform_int_distribution<std::size_t> length(60, 400);
  for (int iter = 0; iter < 240; ++iter) {
    const int density = iter % 4 == 0 ? 1 : iter % 4 == 1 ? 5 : iter % 4 == 2 ? 20 : 60;
    const std::string raw = random_body(rng, length(rng), density);
    std::uniform_int_distribution<std::size_t> pos(0, raw.size());
    for (canonicalization c : kCanons) {
      for (line_ends ends : kModes) {
        const std::string want = expected(c, ends, raw);
        ASSERT_EQ(canon_cut(c, ends, raw, {}), want) << testing::PrintToString(raw);
        for (std::size_t cut = 0; cut <= raw.size(); ++cut)
          ASSERT_EQ(canon_cut(c, ends, raw, {cut}), want)
              << "cut=" << cut << " " << testing::PrintToString(raw);
        for (int k = 0; k < 6; ++k) {
          std::vector<std::size_t> cuts = {pos(rng), pos(rng), pos(rng), pos(rng), pos(rng)};
          std::sort(cuts.begin(), cuts.end());
          ASSERT_EQ(canon_cut(c, ends, raw, cuts), want) << testing::PrintToString(raw);
        }
        if (iter % 8 == 0) {
          ASSERT_EQ(canon_bytewise(c, ends, raw), want);
        }
      }
    }
  }
}

// Each special pattern at every offset of a 200-byte run of text (every position in a 64-byte
// block, and across block ends), with each tail.
TEST(body_canon_blocks, patterns_at_every_offset) {
  const std::vector<std::string> patterns = {
      " ",     "  ",     "\t",    " \t ",  "\r",       "\n",    "\r\n",  "\n\n", "\r\n\r\n",
      " \r\n", " \n",    "\t\n",  "\r\n ", "\n ",      "\n\t",  "\r\r\n", "\r\n\n", "\n\r\n",
      " \r",   "\r \n",  "\r\n\r", "x \n\n  y", "\r\r\r"};
  const std::string base = std::string(200, 'q');
  for (const std::string& p : patterns) {
    for (std::size_t off = 0; off <= base.size(); ++off) {
      std::string body = base;
      body.insert(off, p);
      for (std::string tail : {"", "\r\n", "\n", "\r\n\r\n", "\n\n", " ", "\r"}) {
        const std::string b = body + tail;
        for (canonicalization c : kCanons) {
          for (line_ends ends : kModes) {
            const std::string want = expected(c, ends, b);
            ASSERT_EQ(canon_cut(c, ends, b, {}), want) << testing::PrintToString(b);
            ASSERT_EQ(canon_cut(c, ends, b, {off}), want) << "cut=" << off;
            ASSERT_EQ(canon_cut(c, ends, b, {off + 1}), want) << "cut=" << off + 1;
          }
        }
      }
    }
  }
}

// A body hasher made with crlf_or_bare_lf hashes raw bytes as the default one hashes their
// normalised form; canonical_length() agrees too.
TEST(body_canon_blocks, hasher_on_raw_bytes_equals_hasher_on_normalised) {
  std::mt19937 rng(8463);
  for (int iter = 0; iter < 100; ++iter) {
    const std::string raw = random_body(rng, 1000 + static_cast<std::size_t>(iter) * 37, 15);
    for (canonicalization c : kCanons) {
      body_hasher plain(c, hash_algorithm::sha256, std::nullopt);
      body_hasher lf(c, hash_algorithm::sha256, std::nullopt, line_ends::crlf_or_bare_lf);
      std::string scratch;
      plain.update(normalize_line_endings(raw), scratch);
      for (std::size_t at = 0; at < raw.size(); at += 333)
        lf.update(std::string_view(raw).substr(at, 333), scratch);
      plain.finish(scratch);
      lf.finish(scratch);
      ASSERT_EQ(lf.digest(), plain.digest());
      ASSERT_EQ(lf.canonical_length(), plain.canonical_length());
    }
  }
}

}  // namespace
}  // namespace dkimkit::detail
