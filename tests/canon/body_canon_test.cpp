// Body canonicalization (RFC 6376 §3.4.3 simple, §3.4.4 relaxed, §3.4.5 example, §3.5 l=) and
// the body hasher built on it.
#include "canon/body_canon.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>

#include "canon/body_hasher.hpp"
#include "crypto/crypto.hpp"
#include "message/line_endings.hpp"
#include "util/base64.hpp"

namespace dkimkit {
namespace {

using detail::body_canonicalizer;
using detail::body_hasher;
using namespace std::string_literals;

constexpr canonicalization kSimple = canonicalization::simple;
constexpr canonicalization kRelaxed = canonicalization::relaxed;

std::string canon(canonicalization c, std::string_view in) {
  return detail::canonical_body(c, in);
}

// Feeds `in` cut at the given offsets (ascending).
std::string canon_cut(canonicalization c, std::string_view in, const std::vector<std::size_t>& cuts,
                      detail::line_ends ends = detail::line_ends::crlf) {
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

std::string canon_bytewise(canonicalization c, std::string_view in,
                           detail::line_ends ends = detail::line_ends::crlf) {
  body_canonicalizer bc(c, ends);
  std::string out;
  for (char ch : in) bc.update(std::string_view(&ch, 1), out);
  bc.update({}, out);  // an empty chunk changes nothing
  bc.finish(out);
  return out;
}

// A straightforward model of RFC 6376 §3.4.3/§3.4.4 written from the text, line by line. Lines
// end in CRLF; a CR not followed by LF is ordinary content (it is not WSP).
std::vector<std::string> split_lines(std::string_view body, bool& last_terminated) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  last_terminated = true;
  while (pos < body.size()) {
    std::size_t crlf = body.find("\r\n", pos);
    if (crlf == std::string_view::npos) {
      lines.emplace_back(body.substr(pos));
      last_terminated = false;
      break;
    }
    lines.emplace_back(body.substr(pos, crlf - pos));
    pos = crlf + 2;
  }
  return lines;
}

std::string model_simple(std::string_view body) {
  std::string b(body);
  if (b.size() < 2 || b.compare(b.size() - 2, 2, "\r\n") != 0) b += "\r\n";
  while (b.size() >= 4 && b.compare(b.size() - 4, 4, "\r\n\r\n") == 0) b.resize(b.size() - 2);
  return b;
}

std::string model_relaxed(std::string_view body) {
  bool terminated = true;
  std::vector<std::string> lines = split_lines(body, terminated);
  for (std::string& line : lines) {
    std::string out;
    bool wsp = false;
    for (char c : line) {
      if (c == ' ' || c == '\t') {
        wsp = true;
        continue;
      }
      if (wsp) out += ' ';
      wsp = false;
      out += c;
    }
    line = out;  // trailing WSP dropped (a pending run is never written)
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  return out;
}

std::string model(canonicalization c, std::string_view body) {
  return c == kSimple ? model_simple(body) : model_relaxed(body);
}

std::string sha256_b64(std::string_view data) {
  return detail::base64_encode(detail::digest(hash_algorithm::sha256, data));
}

std::string hasher_digest(canonicalization c, std::string_view body,
                          std::optional<std::uint64_t> limit, std::uint64_t* length = nullptr) {
  body_hasher h(c, hash_algorithm::sha256, limit);
  std::string scratch;
  h.update(body, scratch);
  h.finish(scratch);
  if (length) *length = h.canonical_length();
  return h.digest();
}

// --- Empty bodies (RFC 6376 §3.4.3, §3.4.4) -----------------------------------------------------

// §3.4.3: "If there is no body or no trailing CRLF on the message body, a CRLF is added."
TEST(body_canon, simple_empty_body_is_one_crlf) { EXPECT_EQ(canon(kSimple, ""), "\r\n"); }

// §3.4.4: relaxed adds no CRLF to an empty body.
TEST(body_canon, relaxed_empty_body_is_empty) { EXPECT_EQ(canon(kRelaxed, ""), ""); }

// §3.4.3/§3.4.4 and the well-known digests of "\r\n" and "".
TEST(body_canon, empty_body_hashes_match_known_values) {
  EXPECT_EQ(detail::base64_encode(hasher_digest(kSimple, "", std::nullopt)),
            "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(detail::base64_encode(hasher_digest(kRelaxed, "", std::nullopt)),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(sha256_b64("\r\n"), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(sha256_b64(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

// §3.4.3: a body of CRLFs only reduces to the empty body, i.e. one CRLF.
TEST(body_canon, simple_body_of_crlfs_only_is_one_crlf) {
  EXPECT_EQ(canon(kSimple, "\r\n"), "\r\n");
  EXPECT_EQ(canon(kSimple, "\r\n\r\n\r\n\r\n"), "\r\n");
}

// §3.4.4: a body of empty (or WSP-only) lines is empty under relaxed.
TEST(body_canon, relaxed_body_of_empty_lines_is_empty) {
  EXPECT_EQ(canon(kRelaxed, "\r\n"), "");
  EXPECT_EQ(canon(kRelaxed, "\r\n\r\n\r\n"), "");
  EXPECT_EQ(canon(kRelaxed, " \t \r\n\t\r\n \r\n"), "");
  EXPECT_EQ(canon(kRelaxed, "   "), "");
  EXPECT_EQ(canon(kRelaxed, "\t\r\n  "), "");
}

// --- Simple (RFC 6376 §3.4.3) -------------------------------------------------------------------

// §3.4.3: only trailing empty lines go; everything else is kept byte for byte.
TEST(body_canon, simple_removes_trailing_empty_lines_only) {
  EXPECT_EQ(canon(kSimple, "a\r\n\r\n\r\n"), "a\r\n");
  EXPECT_EQ(canon(kSimple, "a\r\n\r\nb\r\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(canon(kSimple, "\r\n\r\nb\r\n"), "\r\n\r\nb\r\n");
}

// §3.4.3: white space is not touched by simple, WSP-only lines are not "empty lines".
TEST(body_canon, simple_keeps_white_space_and_wsp_only_lines) {
  EXPECT_EQ(canon(kSimple, " a \t b \r\n"), " a \t b \r\n");
  EXPECT_EQ(canon(kSimple, "a\r\n \r\n"), "a\r\n \r\n");
  EXPECT_EQ(canon(kSimple, "a\r\n\t\r\n\r\n"), "a\r\n\t\r\n");
  EXPECT_EQ(canon(kSimple, " "), " \r\n");
}

// §3.4.3: a body without a final CRLF gets one.
TEST(body_canon, simple_adds_missing_final_crlf) {
  EXPECT_EQ(canon(kSimple, "a"), "a\r\n");
  EXPECT_EQ(canon(kSimple, "a\r\nb"), "a\r\nb\r\n");
  EXPECT_EQ(canon(kSimple, "a \t"), "a \t\r\n");
}

// A CR not followed by LF is not a line ending: it is content (documented, deterministic).
TEST(body_canon, simple_lone_cr_is_content) {
  EXPECT_EQ(canon(kSimple, "a\rb\r\n"), "a\rb\r\n");
  EXPECT_EQ(canon(kSimple, "a\r"), "a\r\r\n");
  EXPECT_EQ(canon(kSimple, "a\r\r\n"), "a\r\r\n");
  EXPECT_EQ(canon(kSimple, "a\r\n\r\n\r"), "a\r\n\r\n\r\r\n");
  EXPECT_EQ(canon(kSimple, "\r"), "\r\r\n");
  EXPECT_EQ(canon(kSimple, "\r\r\r\n\r\n"), "\r\r\r\n");
}

// Bytes are bytes: NUL and 8-bit content pass through unchanged.
TEST(body_canon, simple_passes_nul_and_8bit_through) {
  const std::string body = "a\0b\xff\xc3\xa9\r\n"s;
  EXPECT_EQ(canon(kSimple, body), body);
  EXPECT_EQ(canon(kRelaxed, body), body);
}

// --- Relaxed (RFC 6376 §3.4.4) ------------------------------------------------------------------

// §3.4.4 a: "Ignore all whitespace at the end of lines."
TEST(body_canon, relaxed_strips_trailing_wsp) {
  EXPECT_EQ(canon(kRelaxed, "a \t \r\n"), "a\r\n");
  EXPECT_EQ(canon(kRelaxed, "a\t\r\nb \r\n"), "a\r\nb\r\n");
  EXPECT_EQ(canon(kRelaxed, "a  "), "a\r\n");
}

// §3.4.4 a: "Reduce all sequences of WSP within a line to a single SP character."
TEST(body_canon, relaxed_reduces_wsp_runs_to_one_space) {
  EXPECT_EQ(canon(kRelaxed, "a \t  b\t\tc\r\n"), "a b c\r\n");
  EXPECT_EQ(canon(kRelaxed, "\t\t a\r\n"), " a\r\n");  // leading WSP is kept as one SP
  EXPECT_EQ(canon(kRelaxed, "a\tb\r\n"), "a b\r\n");   // a lone HTAB becomes SP
}

// §3.4.4 b: "Ignore all empty lines at the end of the message body"; a WSP-only line is empty once
// its trailing WSP is ignored, but inside the body it stays (as an empty line).
TEST(body_canon, relaxed_wsp_only_lines) {
  EXPECT_EQ(canon(kRelaxed, "a\r\n \t\r\n\r\n  \r\n"), "a\r\n");
  EXPECT_EQ(canon(kRelaxed, "a\r\n \t \r\nb\r\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(canon(kRelaxed, " \r\nb\r\n"), "\r\nb\r\n");
}

// §3.4.4: "If the body is non-empty but does not end with a CRLF, a CRLF is added."
TEST(body_canon, relaxed_adds_missing_final_crlf) {
  EXPECT_EQ(canon(kRelaxed, "a"), "a\r\n");
  EXPECT_EQ(canon(kRelaxed, "a\r\n\r\nb"), "a\r\n\r\nb\r\n");
}

// A lone CR is content, not WSP: WSP before it is inside the line (collapsed, not stripped).
TEST(body_canon, relaxed_lone_cr_is_content) {
  EXPECT_EQ(canon(kRelaxed, "a \t\rb\r\n"), "a \rb\r\n");
  EXPECT_EQ(canon(kRelaxed, "a\r \r\n"), "a\r\r\n");
  EXPECT_EQ(canon(kRelaxed, "a \r"), "a \r\r\n");
  EXPECT_EQ(canon(kRelaxed, "\r"), "\r\r\n");
  EXPECT_EQ(canon(kRelaxed, "\r\n\r"), "\r\n\r\r\n");
}

// --- RFC 6376 §3.4.5 example --------------------------------------------------------------------

// RFC 6376 §3.4.5 (§3.4.6 in RFC 4871), "Canonicalization Examples": the body part of the example, exactly.
TEST(body_canon, rfc6376_canonicalization_example) {
  const std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  auto view = parse_message(message);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->body, " C \r\nD \t E\r\n\r\n\r\n");
  EXPECT_EQ(canon(kRelaxed, view->body), " C\r\nD E\r\n");
  EXPECT_EQ(canon(kSimple, view->body), " C \r\nD \t E\r\n");
}

// --- l= (RFC 6376 §3.5 l=, §8.2) -----------------------------------------------------------------------

// §3.5 l=: "Body length count (plain-text unsigned decimal integer) ... of the canonicalized body"; l= counts octets of the *canonicalized* body; only that prefix is hashed.
TEST(body_hasher, limit_counts_canonicalized_octets) {
  const std::string body = "a  \t b \r\n\r\nc\r\n\r\n\r\n";
  const std::string relaxed = "a b\r\n\r\nc\r\n";
  ASSERT_EQ(canon(kRelaxed, body), relaxed);
  for (std::uint64_t l = 0; l <= relaxed.size(); ++l) {
    std::uint64_t length = 0;
    EXPECT_EQ(hasher_digest(kRelaxed, body, l, &length),
              detail::digest(hash_algorithm::sha256, relaxed.substr(0, static_cast<std::size_t>(l))))
        << "l=" << l;
    EXPECT_EQ(length, relaxed.size());
  }
  const std::string simple = "a  \t b \r\n\r\nc\r\n";
  std::uint64_t length = 0;
  EXPECT_EQ(hasher_digest(kSimple, body, 7, &length),
            detail::digest(hash_algorithm::sha256, simple.substr(0, 7)));
  EXPECT_EQ(length, simple.size());
}

// §3.5 l=: a limit beyond the body hashes the whole body; the length reports the real size.
TEST(body_hasher, limit_beyond_body_hashes_everything) {
  std::uint64_t length = 0;
  EXPECT_EQ(hasher_digest(kSimple, "abc\r\n", 1000, &length),
            detail::digest(hash_algorithm::sha256, "abc\r\n"));
  EXPECT_EQ(length, 5u);
  EXPECT_EQ(hasher_digest(kSimple, "abc\r\n", UINT64_MAX, &length),
            detail::digest(hash_algorithm::sha256, "abc\r\n"));
}

// §3.5 l=: l=0 is a value (the empty prefix), not "absent".
TEST(body_hasher, limit_zero_hashes_nothing) {
  EXPECT_EQ(hasher_digest(kSimple, "abc\r\n", 0), detail::digest(hash_algorithm::sha256, ""));
  EXPECT_NE(hasher_digest(kSimple, "abc\r\n", std::nullopt),
            detail::digest(hash_algorithm::sha256, ""));
}

// The limit applies to canonical octets across chunk borders.
TEST(body_hasher, limit_across_chunks) {
  const std::string body = "0123456789\r\nabcdefghij\r\n";
  for (std::uint64_t l : {0u, 1u, 5u, 11u, 12u, 13u, 23u, 24u}) {
    body_hasher h(kSimple, hash_algorithm::sha256, l);
    std::string scratch;
    for (char ch : body) h.update(std::string_view(&ch, 1), scratch);
    h.finish(scratch);
    EXPECT_EQ(h.digest(), detail::digest(hash_algorithm::sha256,
                                         body.substr(0, static_cast<std::size_t>(l))))
        << "l=" << l;
    EXPECT_EQ(h.canonical_length(), body.size());
  }
}

// sha1 and sha256 hashers over the same canonical body.
TEST(body_hasher, sha1_and_sha256) {
  body_hasher h1(kRelaxed, hash_algorithm::sha1, std::nullopt);
  std::string scratch;
  h1.update("x \r\n", scratch);
  h1.finish(scratch);
  EXPECT_EQ(h1.digest(), detail::digest(hash_algorithm::sha1, "x\r\n"));
  EXPECT_EQ(h1.digest().size(), 20u);
  EXPECT_TRUE(h1.matches(kRelaxed, hash_algorithm::sha1, std::nullopt));
  EXPECT_FALSE(h1.matches(kRelaxed, hash_algorithm::sha1, 0));
  EXPECT_FALSE(h1.matches(kSimple, hash_algorithm::sha1, std::nullopt));
  EXPECT_FALSE(h1.matches(kRelaxed, hash_algorithm::sha256, std::nullopt));
}

// --- Chunking independence ----------------------------------------------------------------------

// Bodies chosen to put CR, LF and WSP at every chunk border.
const std::vector<std::string>& tricky_bodies() {
  static const std::vector<std::string> bodies = {
      "",
      "\r\n",
      "\r",
      " \r\n",
      "a\r\n\r\n\r\n",
      " C \r\nD \t E\r\n\r\n\r\n",
      "a \t\r\n \r\n\t\r\nb  \r\n\r\n",
      "x\r\r\n\r\r\n \r \r\n",
      "\r\n\r\n  x\t\t\r\n\r\n \t",
      "line one\r\nline  two \t\r\n\r\n\r\nline three\r\n \r\n",
      "\r\r\r\n\r\n\r\r\n",
      " \t \t \r\n \t",
  };
  return bodies;
}

// The result never depends on how the input was cut: every single split point, and 1-byte chunks.
TEST(body_canon, every_split_point_gives_the_same_output) {
  for (canonicalization c : {kSimple, kRelaxed}) {
    for (const std::string& body : tricky_bodies()) {
      const std::string whole = canon(c, body);
      EXPECT_EQ(whole, model(c, body)) << to_string(c) << " body=" << testing::PrintToString(body);
      EXPECT_EQ(canon_bytewise(c, body), whole);
      for (std::size_t cut = 0; cut <= body.size(); ++cut)
        EXPECT_EQ(canon_cut(c, body, {cut}), whole)
            << to_string(c) << " cut=" << cut << " body=" << testing::PrintToString(body);
      for (std::size_t a = 0; a <= body.size(); ++a)
        for (std::size_t b = a; b <= body.size(); ++b)
          ASSERT_EQ(canon_cut(c, body, {a, b}), whole)
              << to_string(c) << " cuts=" << a << "," << b
              << " body=" << testing::PrintToString(body);
    }
  }
}

std::string random_body(std::mt19937& rng, std::size_t max_len) {
  static constexpr char kAlphabet[] = {'a', 'b', ' ', '\t', '\r', '\n', '\r', '\n', 'z', '\0'};
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 1);
  std::string s(len(rng), 'x');
  for (char& ch : s) ch = kAlphabet[pick(rng)];
  return s;
}

std::string normalize_in_chunks(std::string_view raw, const std::vector<std::size_t>& cuts) {
  detail::crlf_normalizer n;
  std::string out;
  std::size_t prev = 0;
  auto sink = [&](std::string_view piece) { out.append(piece); };
  for (std::size_t cut : cuts) {
    n.update(raw.substr(prev, cut - prev), sink);
    prev = cut;
  }
  n.update(raw.substr(prev), sink);
  return out;
}

// Random bodies (with bare LF normalised to CRLF first, as the verifier does): the canonicalizer
// agrees with the model of RFC 6376 §3.4.3/§3.4.4, at every split point and byte by byte.
TEST(body_canon, random_bodies_match_model_at_every_split) {
  std::mt19937 rng(6376);
  for (int iter = 0; iter < 400; ++iter) {
    const std::string raw = random_body(rng, 40);
    const std::string body = normalize_line_endings(raw);
    for (canonicalization c : {kSimple, kRelaxed}) {
      const std::string expected = model(c, body);
      ASSERT_EQ(canon(c, body), expected)
          << to_string(c) << " body=" << testing::PrintToString(body);
      ASSERT_EQ(canon_bytewise(c, body), expected);
      for (std::size_t cut = 0; cut <= body.size(); ++cut)
        ASSERT_EQ(canon_cut(c, body, {cut}), expected)
            << to_string(c) << " cut=" << cut << " body=" << testing::PrintToString(body);
    }
    // The streaming normaliser is itself independent of the cuts.
    for (std::size_t cut = 0; cut <= raw.size(); ++cut)
      ASSERT_EQ(normalize_in_chunks(raw, {cut}), body) << testing::PrintToString(raw);
  }
}

// Long random bodies, sparse and dense in special bytes, so that long runs of ordinary text (as
// fast paths scan them, 16 bytes at a time) meet CR, LF and WSP at every alignment; whole, in random
// cuts and byte by byte.
TEST(body_canon, long_random_bodies_match_model) {
  std::mt19937 rng(8301);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<std::size_t> length(0, 300);
  static constexpr char kSpecial[] = {' ', ' ', '\t', '\r', '\n', '\n'};
  std::uniform_int_distribution<std::size_t> special(0, sizeof kSpecial - 1);
  for (int iter = 0; iter < 600; ++iter) {
    const int density = iter % 3 == 0 ? 2 : iter % 3 == 1 ? 10 : 40;  // percent of special bytes
    std::string raw(length(rng), 'x');
    for (char& c : raw)
      c = percent(rng) < density ? kSpecial[special(rng)] : static_cast<char>('a' + percent(rng) % 26);
    const std::string body = normalize_line_endings(raw);
    for (canonicalization c : {kSimple, kRelaxed}) {
      const std::string expected = model(c, body);
      ASSERT_EQ(canon(c, body), expected) << to_string(c) << " " << testing::PrintToString(body);
      std::uniform_int_distribution<std::size_t> pos(0, body.size());
      for (int k = 0; k < 8; ++k) {
        std::vector<std::size_t> cuts = {pos(rng), pos(rng), pos(rng), pos(rng)};
        std::sort(cuts.begin(), cuts.end());
        ASSERT_EQ(canon_cut(c, body, cuts), expected) << to_string(c) << " " << testing::PrintToString(body);
      }
      if (iter % 10 == 0) {
        ASSERT_EQ(canon_bytewise(c, body), expected);
      }
    }
  }
}

// Each short pattern of special bytes at every offset of a run of ordinary text (every alignment
// against 16-byte blocks), whole and at every split point.
TEST(body_canon, patterns_at_every_offset) {
  const std::vector<std::string> patterns = {" ",      "  ",       "\t",     " \t ",   "\r",
                                             "\r\n",   "\r\n\r\n", " \r\n",  "\t\r\n", "\r\n ",
                                             "\r\n\t", "\r\r\n",   "\r \r\n", " \r",    "\r\nx\r\n "};
  for (std::size_t len : {20u, 33u, 50u}) {
    const std::string base(len, 'q');
    for (const std::string& p : patterns) {
      for (std::size_t off = 0; off <= len; ++off) {
        std::string body = base;
        body.insert(off, p);
        for (std::string tail : {"", "\r\n", "\r\n\r\n", " "}) {
          const std::string b = body + tail;
          for (canonicalization c : {kSimple, kRelaxed}) {
            const std::string expected = model(c, b);
            ASSERT_EQ(canon(c, b), expected) << to_string(c) << " " << testing::PrintToString(b);
            for (std::size_t cut = 0; cut <= b.size(); cut += 3)
              ASSERT_EQ(canon_cut(c, b, {cut}), expected)
                  << to_string(c) << " cut=" << cut << " " << testing::PrintToString(b);
          }
        }
      }
    }
  }
}

// Bare-LF bodies canonicalize like their CRLF form once normalised (line_endings.hpp).
TEST(body_canon, bare_lf_body_normalised_equals_crlf_body) {
  const std::string lf = " C \nD \t E\n\n\n";
  const std::string crlf = " C \r\nD \t E\r\n\r\n\r\n";
  EXPECT_EQ(normalize_line_endings(lf), crlf);
  for (canonicalization c : {kSimple, kRelaxed})
    EXPECT_EQ(canon(c, normalize_line_endings(lf)), canon(c, crlf));
}

// A long run of trailing empty lines is held as a count, and flushed when content follows.
TEST(body_canon, many_held_empty_lines_then_content) {
  std::string body(20000, '\n');
  body = normalize_line_endings(body) + "x";
  for (canonicalization c : {kSimple, kRelaxed}) EXPECT_EQ(canon(c, body), body + "\r\n");
  EXPECT_EQ(canon(kSimple, std::string(40000, '\r')), std::string(40001, '\r') + "\n");
}

// --- The 64-byte block scanner and the line_ends modes -----------------------------------------
// line_ends::crlf: a bare LF is content (the input is meant to be normalised); crlf_or_bare_lf: a
// bare LF ends a line, the output is that of the normalised input. Random bodies mixing CR, LF, SP,
// HTAB and text, long enough to cross many 64-byte blocks (relaxed_block(), break_finder), whole,
// cut at every single point, at random points and byte by byte.

using detail::line_ends;

// What each mode must give for `raw`.
// model() reads lines ending in CRLF only: a bare LF is content there, as with line_ends::crlf.
std::string expected(canonicalization c, line_ends ends, std::string_view raw) {
  return ends == line_ends::crlf ? model(c, raw) : model(c, normalize_line_endings(raw));
}

// Text with special bytes at `density` percent: SP, HTAB, CR and LF, in runs as real mail has them
// ("  ", " \r\n", "\r\n\r\n", "\n\n", "\t ").
std::string mail_like_body(std::mt19937& rng, std::size_t len, int density) {
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
    const std::string raw = mail_like_body(rng, length(rng), 50);
    for (canonicalization c : kCanons) {
      for (line_ends ends : kModes) {
        const std::string want = expected(c, ends, raw);
        ASSERT_EQ(canon_cut(c, raw, {}, ends), want) << testing::PrintToString(raw);
        ASSERT_EQ(canon_bytewise(c, raw, ends), want) << testing::PrintToString(raw);
        for (std::size_t cut = 0; cut <= raw.size(); ++cut)
          ASSERT_EQ(canon_cut(c, raw, {cut}, ends), want)
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
    const std::string raw = mail_like_body(rng, length(rng), density);
    std::uniform_int_distribution<std::size_t> pos(0, raw.size());
    for (canonicalization c : kCanons) {
      for (line_ends ends : kModes) {
        const std::string want = expected(c, ends, raw);
        ASSERT_EQ(canon_cut(c, raw, {}, ends), want) << testing::PrintToString(raw);
        for (std::size_t cut = 0; cut <= raw.size(); ++cut)
          ASSERT_EQ(canon_cut(c, raw, {cut}, ends), want)
              << "cut=" << cut << " " << testing::PrintToString(raw);
        for (int k = 0; k < 6; ++k) {
          std::vector<std::size_t> cuts = {pos(rng), pos(rng), pos(rng), pos(rng), pos(rng)};
          std::sort(cuts.begin(), cuts.end());
          ASSERT_EQ(canon_cut(c, raw, cuts, ends), want) << testing::PrintToString(raw);
        }
        if (iter % 8 == 0) {
          ASSERT_EQ(canon_bytewise(c, raw, ends), want);
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
            ASSERT_EQ(canon_cut(c, b, {}, ends), want) << testing::PrintToString(b);
            ASSERT_EQ(canon_cut(c, b, {off}, ends), want) << "cut=" << off;
            ASSERT_EQ(canon_cut(c, b, {off + 1}, ends), want) << "cut=" << off + 1;
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
    const std::string raw = mail_like_body(rng, 1000 + static_cast<std::size_t>(iter) * 37, 15);
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
}  // namespace dkimkit
