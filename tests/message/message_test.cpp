// Message parsing (RFC 5322 §2.1, §2.2, §2.2.3), line-ending normalisation and the streaming header
// reader shared by the verifier and the signer.
#include <dkimkit/message.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "message/fields.hpp"
#include "message/line_endings.hpp"
#include "message/reader.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;

errc code_of(std::string_view msg, const header_limits& limits = {}) {
  auto r = parse_message(msg, limits);
  return r ? errc::ok : r.error().code;
}

// RFC 5322 §2.1: fields, then an empty line, then the body.
TEST(message, splits_fields_and_body) {
  const std::string msg = "From: a\r\nSubject : b\r\n  c\r\nTo:d\r\n\r\nbody\r\n\r\nmore\r\n";
  auto v = parse_message(msg);
  ASSERT_TRUE(v) << v.error().message();
  ASSERT_EQ(v->fields.size(), 3u);
  EXPECT_EQ(v->fields[0].name, "From");
  EXPECT_EQ(v->fields[0].value, " a");
  EXPECT_EQ(v->fields[0].raw, "From: a");
  EXPECT_EQ(v->fields[1].name, "Subject");  // no white space before the colon
  EXPECT_EQ(v->fields[1].value, " b\r\n  c");
  EXPECT_EQ(v->fields[1].raw, "Subject : b\r\n  c");
  EXPECT_EQ(v->fields[2].name, "To");
  EXPECT_EQ(v->fields[2].value, "d");
  EXPECT_EQ(v->body, "body\r\n\r\nmore\r\n");
  // Views point into the buffer.
  EXPECT_EQ(v->fields[0].raw.data(), msg.data());
}

// A message that ends inside its header block has an empty body (hostile input #61).
TEST(message, ends_inside_header) {
  for (const std::string& msg : {"From: a\r\nTo: b\r\n"s, "From: a\r\nTo: b"s}) {
    auto v = parse_message(msg);
    ASSERT_TRUE(v) << testing::PrintToString(msg);
    ASSERT_EQ(v->fields.size(), 2u);
    EXPECT_EQ(v->fields[1].raw, "To: b");
    EXPECT_EQ(v->body, "");
  }
  auto empty = parse_message("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->fields.empty());
  EXPECT_EQ(empty->body, "");
}

// RFC 5322 §2.1: the header block may be empty: a message that starts with the empty line.
TEST(message, no_header_fields) {
  auto v = parse_message("\r\nbody\r\n");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->fields.empty());
  EXPECT_EQ(v->body, "body\r\n");
  auto e = parse_message("From: a\r\n\r\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "");
}

// The body starts after the first empty line; further empty lines belong to the body.
TEST(message, body_keeps_leading_empty_lines) {
  auto v = parse_message("From: a\r\n\r\n\r\n\r\nx");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->body, "\r\n\r\nx");
}

// RFC 5322 §2.2: a line without a colon in the header block is not a field.
TEST(message, line_without_colon_is_malformed) {
  EXPECT_EQ(code_of("From: a\r\nno colon\r\n\r\nx"), errc::malformed_header);
  EXPECT_EQ(code_of("no colon"), errc::malformed_header);
  // The colon must be on the field's first line.
  EXPECT_EQ(code_of("Subject\r\n : x\r\n\r\n"), errc::malformed_header);
  EXPECT_EQ(code_of(": empty name\r\n\r\n"), errc::malformed_header);
  EXPECT_EQ(code_of(" \t: empty name\r\n\r\n"), errc::malformed_header);
}

// RFC 5322 §2.2.3: a continuation line cannot come first.
TEST(message, continuation_first_is_malformed) {
  EXPECT_EQ(code_of(" folded\r\nFrom: a\r\n\r\n"), errc::malformed_header);
  EXPECT_EQ(code_of("\tfolded: x\r\n\r\n"), errc::malformed_header);
}

// Field names and values are bytes: NUL and 8-bit values are kept whole.
TEST(message, nul_and_8bit_kept) {
  const std::string msg = "X-A\xc3\xa9: v\0w\xff\r\n\r\nb\0dy"s;
  auto v = parse_message(msg);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->fields.size(), 1u);
  EXPECT_EQ(v->fields[0].name, "X-A\xc3\xa9");
  EXPECT_EQ(v->fields[0].value, " v\0w\xff"s);
  EXPECT_EQ(v->body, "b\0dy"s);
}

// Documented limits: header_too_large for each one.
TEST(message, header_limits) {
  header_limits l;
  l.max_fields = 2;
  EXPECT_EQ(code_of("A: 1\r\nB: 2\r\n\r\n", l), errc::ok);
  EXPECT_EQ(code_of("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", l), errc::header_too_large);
  header_limits f;
  f.max_field_bytes = 10;
  EXPECT_EQ(code_of("A: 1234567\r\n\r\n", f), errc::ok);  // 10 bytes
  EXPECT_EQ(code_of("A: 12345678\r\n\r\n", f), errc::header_too_large);
  EXPECT_EQ(code_of("A: 1\r\n 234567\r\n\r\n", f), errc::header_too_large);  // folding counts
  header_limits h;
  h.max_header_bytes = 12;
  EXPECT_EQ(code_of("A: 1\r\nB: 2\r\n\r\nlong body is fine", h), errc::ok);
  EXPECT_EQ(code_of("A: 1\r\nB: 23\r\n\r\n", h), errc::header_too_large);
}

// parse_header_block on a block without the empty line.
TEST(message, parse_header_block) {
  auto f = parse_header_block("A: 1\r\nB:\r\n\t2\r\n");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[1].value, "\r\n\t2");
  auto empty = parse_header_block("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

// The lenient splitter (for reporting on malformed headers) skips what is not a field.
TEST(message, lenient_split_skips_non_fields) {
  auto f = detail::split_fields_lenient(" cont\r\nFrom: a\r\nno colon\r\nTo: b\r\n folded\r\n", 100);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].name, "From");
  EXPECT_EQ(f[1].name, "To");
  EXPECT_EQ(f[1].raw, "To: b\r\n folded");
  EXPECT_EQ(detail::split_fields_lenient("A: 1\r\nB: 2\r\nC: 3\r\n", 2).size(), 2u);
}

// RFC 5322 names are compared case-insensitively, ASCII only.
TEST(message, iequals_ascii_only) {
  EXPECT_TRUE(iequals("DKIM-Signature", "dkim-SIGNATURE"));
  EXPECT_FALSE(iequals("From", "Fromm"));
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("a", "A\0"s));
}

// --- line endings -------------------------------------------------------------------------------

// message.hpp: bare LF becomes CRLF; CRLF and a lone CR stay as they are.
TEST(line_endings, normalize) {
  EXPECT_EQ(normalize_line_endings("a\nb\n\n"), "a\r\nb\r\n\r\n");
  EXPECT_EQ(normalize_line_endings("a\r\nb"), "a\r\nb");
  EXPECT_EQ(normalize_line_endings("a\rb\r"), "a\rb\r");
  EXPECT_EQ(normalize_line_endings("\r\r\n\n\r"), "\r\r\n\r\n\r");
  EXPECT_EQ(normalize_line_endings("\n"), "\r\n");
  EXPECT_EQ(normalize_line_endings(""), "");
  EXPECT_EQ(normalize_line_endings("a\0\nb"s), "a\0\r\nb"s);
}

// message.hpp: a library-made field with the line ending wanted; only CRLF pairs change.
TEST(line_endings, with_line_endings_turns_each_crlf_into_the_ending_wanted) {
  const std::string field = "DKIM-Signature: v=1; a=rsa-sha256;\r\n\td=example.com; s=sel";
  EXPECT_EQ(with_line_endings(field, line_ending::crlf), field);
  EXPECT_EQ(with_line_endings(field, line_ending::lf),
            "DKIM-Signature: v=1; a=rsa-sha256;\n\td=example.com; s=sel");
  // The value alone, as a milter inserts it.
  EXPECT_EQ(with_line_endings(std::string_view(field).substr(15), line_ending::lf),
            " v=1; a=rsa-sha256;\n\td=example.com; s=sel");
  // A lone CR or LF stays; CR CR LF keeps its first CR; a final CRLF goes too.
  EXPECT_EQ(with_line_endings("a\rb\nc\r\r\nd\r\n", line_ending::lf), "a\rb\nc\r\nd\n");
  EXPECT_EQ(with_line_endings("a\r", line_ending::lf), "a\r");
  EXPECT_EQ(with_line_endings("", line_ending::lf), "");
  EXPECT_EQ(with_line_endings("a\0\r\nb"s, line_ending::lf), "a\0\nb"s);
  // Back to CRLF with normalize_line_endings().
  EXPECT_EQ(normalize_line_endings(with_line_endings(field, line_ending::lf)), field);
}

std::string normalize_cut(std::string_view raw, const std::vector<std::size_t>& cuts) {
  detail::crlf_normalizer n;
  std::string out;
  auto sink = [&](std::string_view piece) { out.append(piece); };
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    n.update(raw.substr(prev, c - prev), sink);
    prev = c;
  }
  n.update(raw.substr(prev), sink);
  return out;
}

// line_endings.hpp: "Chunk boundaries never change the concatenated output."
TEST(line_endings, streaming_independent_of_cuts) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> pick(0, 3);
  for (int iter = 0; iter < 300; ++iter) {
    std::string raw(static_cast<std::size_t>(iter % 17), 'x');
    for (char& c : raw) c = "\r\nab"[pick(rng)];
    const std::string expected = normalize_line_endings(raw);
    for (std::size_t a = 0; a <= raw.size(); ++a) {
      ASSERT_EQ(normalize_cut(raw, {a}), expected) << testing::PrintToString(raw);
      for (std::size_t b = a; b <= raw.size(); ++b) ASSERT_EQ(normalize_cut(raw, {a, b}), expected);
    }
  }
}

// Long inputs: lines of every length (beyond the normaliser's 4 KiB buffer too), mostly bare LFs,
// against a byte-by-byte reference, whole and cut at random.
TEST(line_endings, long_inputs_match_a_byte_by_byte_reference) {
  std::mt19937 rng(4);
  for (int iter = 0; iter < 60; ++iter) {
    std::string raw;
    const std::size_t lines = 1 + rng() % 200;
    for (std::size_t l = 0; l < lines; ++l) {
      const std::size_t len = rng() % 8 == 0 ? rng() % 9000 : rng() % 100;
      for (std::size_t k = 0; k < len; ++k) raw += "ab \r"[rng() % 16 == 0 ? 3 : rng() % 3];
      raw += rng() % 4 == 0 ? "\r\n" : "\n";
    }
    std::string expected;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '\n' && (k == 0 || raw[k - 1] != '\r')) expected += '\r';
      expected += raw[k];
    }
    ASSERT_EQ(normalize_cut(raw, {}), expected);
    std::vector<std::size_t> cuts;
    for (std::size_t at = rng() % 5000; at < raw.size(); at += 1 + rng() % 5000) cuts.push_back(at);
    ASSERT_EQ(normalize_cut(raw, cuts), expected);
  }
}

// --- the streaming header reader ----------------------------------------------------------------

struct read_result {
  std::string block;
  std::string body;
  bool overflow = false;
  bool operator==(const read_result&) const = default;
};

read_result read_cut(std::string_view msg, std::size_t cap, const std::vector<std::size_t>& cuts) {
  detail::header_reader reader(cap);
  read_result r;
  bool in_body = false;
  std::size_t prev = 0;
  auto feed = [&](std::string_view piece) {
    if (in_body) {
      r.body.append(piece);
      return;
    }
    if (auto start = reader.feed(piece)) {
      in_body = true;
      r.body.append(piece.substr(std::min(*start, piece.size())));
    }
  };
  for (std::size_t c : cuts) {
    feed(msg.substr(prev, c - prev));
    prev = c;
  }
  feed(msg.substr(prev));
  r.block = std::string(reader.block());
  r.overflow = reader.overflow();
  return r;
}

// The reader finds the empty line wherever the cuts fall, including a cut inside "\r\n\r\n" and a
// message that starts with the empty line.
TEST(header_reader, independent_of_cuts) {
  const std::vector<std::string> messages = {
      "From: a\r\nTo: b\r\n\r\nbody\r\n\r\n",
      "\r\nonly body\r\n",
      "\r\n",
      "From: a\r\n\r\n",
      "From: a\r\n\r\n\r\n\r\nx",
      "A: \r\r\n\r\nx\r\n",
      "From: a\r\nTo: b\r\n",  // never ends
  };
  for (const std::string& msg : messages) {
    const read_result whole = read_cut(msg, 1024, {});
    auto view = parse_message(msg);
    ASSERT_TRUE(view);
    EXPECT_EQ(whole.body, view->body) << testing::PrintToString(msg);
    for (std::size_t a = 0; a <= msg.size(); ++a)
      for (std::size_t b = a; b <= msg.size(); ++b)
        ASSERT_EQ(read_cut(msg, 1024, {a, b}), whole)
            << testing::PrintToString(msg) << " cuts " << a << "," << b;
  }
}

// The header block is bounded: past the cap it is truncated and flagged, the body still found.
TEST(header_reader, cap_is_applied_whatever_the_cuts) {
  const std::string msg = "From: a\r\nSubject: something long\r\nTo: b\r\n\r\nbody\r\n";
  for (std::size_t cap : {5u, 20u, 40u, 44u, 60u}) {
    const read_result whole = read_cut(msg, cap, {});
    EXPECT_EQ(whole.body, "body\r\n") << "cap " << cap;
    EXPECT_EQ(whole.overflow, cap < 41u) << "cap " << cap;  // the block is 41 bytes
    EXPECT_EQ(whole.block, whole.overflow ? msg.substr(0, cap) : msg.substr(0, 41));
    for (std::size_t a = 0; a <= msg.size(); ++a)
      for (std::size_t b = a; b <= msg.size(); ++b) {
        const read_result r = read_cut(msg, cap, {a, b});
        ASSERT_EQ(r.body, whole.body) << "cap " << cap << " cuts " << a << "," << b;
        ASSERT_EQ(r.overflow, whole.overflow) << "cap " << cap << " cuts " << a << "," << b;
        ASSERT_EQ(r.block, whole.block) << "cap " << cap << " cuts " << a << "," << b;
      }
  }
}

// A header block of exactly the cap (or up to 2 bytes under it) is not "too large", however the
// input is cut: bytes of the terminating empty line are not header bytes.
TEST(header_reader, block_at_the_cap_is_not_overflow_whatever_the_cuts) {
  const std::string msg = "From: a\r\nSubject: something long\r\nTo: b\r\n\r\nbody\r\n";
  for (std::size_t cap : {41u, 42u, 43u}) {
    const read_result whole = read_cut(msg, cap, {});
    ASSERT_FALSE(whole.overflow);
    ASSERT_EQ(whole.block, msg.substr(0, 41));
    for (std::size_t a = 0; a <= msg.size(); ++a) {
      const read_result r = read_cut(msg, cap, {a});
      EXPECT_EQ(r, whole) << "cap " << cap << " cut " << a;
    }
  }
}

// Milter style: whole fields, each given a CRLF.
TEST(header_reader, add_field) {
  detail::header_reader reader(20);
  reader.add_field("From: a");
  reader.add_field("To: b");
  EXPECT_EQ(reader.block(), "From: a\r\nTo: b\r\n");
  EXPECT_FALSE(reader.overflow());
  reader.add_field("Subject: too long");
  EXPECT_TRUE(reader.overflow());
}

}  // namespace
}  // namespace dkimkit
