// Header canonicalization (RFC 6376 §3.4.1 simple, §3.4.2 relaxed), header selection (§5.4.2)
// and the DKIM-Signature field with b= emptied (§3.7).
#include "canon/header_canon.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>

#include "tag_list/tag_list.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;

constexpr canonicalization kSimple = canonicalization::simple;
constexpr canonicalization kRelaxed = canonicalization::relaxed;

std::vector<header_field> fields_of(const std::string& block) {
  auto f = parse_header_block(block);
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  return f ? *f : std::vector<header_field>{};
}

std::string one(canonicalization c, const std::string& field) {
  const std::string block = field + "\r\n";  // the fields point into it
  auto fields = fields_of(block);
  EXPECT_EQ(fields.size(), 1u);
  std::string out;
  if (!fields.empty()) detail::canonicalize_header(c, fields[0], out);
  return out;
}

std::string selected(canonicalization c, const std::string& block,
                     const std::vector<std::string>& names) {
  auto fields = fields_of(block);
  std::string out;
  detail::canonicalize_signed_headers(c, fields, names, out);
  return out;
}

// --- simple (§3.4.1) ----------------------------------------------------------------------------

// §3.4.1: "The "simple" header canonicalization algorithm does not change header fields in any
// way."
TEST(header_canon, simple_is_byte_exact) {
  EXPECT_EQ(one(kSimple, "SubJect :  Hi  There\t"), "SubJect :  Hi  There\t\r\n");
  EXPECT_EQ(one(kSimple, "Subject: a\r\n\tb\r\n  c"), "Subject: a\r\n\tb\r\n  c\r\n");
  EXPECT_EQ(one(kSimple, "X-8bit: \xc3\xa9\0x"s), "X-8bit: \xc3\xa9\0x\r\n"s);
  EXPECT_EQ(one(kSimple, "Empty:"), "Empty:\r\n");
}

// --- relaxed (§3.4.2) ---------------------------------------------------------------------------

// §3.4.2: "Convert all header field names (not the header field values) to lowercase."
TEST(header_canon, relaxed_lowercases_names_only) {
  EXPECT_EQ(one(kRelaxed, "SUBJECT: HeLLo WORLD"), "subject:HeLLo WORLD\r\n");
  EXPECT_EQ(one(kRelaxed, "Message-ID: <ABC@X>"), "message-id:<ABC@X>\r\n");
}

// Lowercasing is ASCII only and never locale-dependent: 8-bit bytes in names stay as they are.
TEST(header_canon, relaxed_lowercases_ascii_only) {
  EXPECT_EQ(one(kRelaxed, "X-\xC3\x84Z\xC9: V\xC3\x84"), "x-\xC3\x84z\xC9:V\xC3\x84\r\n");
}

// §3.4.2: "Unfold all header field continuation lines", then WSP runs become one SP.
TEST(header_canon, relaxed_unfolds) {
  EXPECT_EQ(one(kRelaxed, "Subject: a\r\n b\r\n\tc"), "subject:a b c\r\n");
  EXPECT_EQ(one(kRelaxed, "Subject:\r\n  first"), "subject:first\r\n");
  EXPECT_EQ(one(kRelaxed, "Subject: a \r\n \t b"), "subject:a b\r\n");
}

// §3.4.2: "Convert all sequences of one or more WSP characters to a single SP character" and
// "Delete all WSP characters at the end of each unfolded header field value."
TEST(header_canon, relaxed_collapses_and_strips_wsp) {
  EXPECT_EQ(one(kRelaxed, "Subject: a \t  b\t\tc \t "), "subject:a b c\r\n");
  EXPECT_EQ(one(kRelaxed, "Subject:   "), "subject:\r\n");
  EXPECT_EQ(one(kRelaxed, "Subject:"), "subject:\r\n");
}

// §3.4.2: "Delete any WSP characters remaining before and after the colon separating the header
// field name from the header field value."
TEST(header_canon, relaxed_removes_wsp_around_colon) {
  EXPECT_EQ(one(kRelaxed, "Subject \t: \t x"), "subject:x\r\n");
  EXPECT_EQ(one(kRelaxed, "From :x"), "from:x\r\n");
}

// Bytes in values are hashed as they are: NUL, 8-bit, a colon in the value.
TEST(header_canon, relaxed_keeps_value_bytes) {
  EXPECT_EQ(one(kRelaxed, "X: a\0b \xff  c:d"s), "x:a\0b \xff c:d\r\n"s);
}

// RFC 6376 §3.4.5 (§3.4.6 in RFC 4871), "Canonicalization Examples": the header part, exactly.
TEST(header_canon, rfc6376_canonicalization_example) {
  const std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  auto view = parse_message(message);
  ASSERT_TRUE(view);
  ASSERT_EQ(view->fields.size(), 2u);
  std::string relaxed, simple;
  for (const auto& f : view->fields) {
    detail::canonicalize_header(kRelaxed, f, relaxed);
    detail::canonicalize_header(kSimple, f, simple);
  }
  EXPECT_EQ(relaxed, "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(simple, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  detail::canonicalize_signed_headers(kRelaxed, view->fields, {"a", "b"}, relaxed);
  EXPECT_EQ(relaxed, "a:X\r\nb:Y Z\r\na:X\r\nb:Y Z\r\n");
}

// --- selection (§5.4.2) -------------------------------------------------------------------------

// §5.4.2: repeated names are taken from the bottom up, one instance per listing.
TEST(header_select, bottom_up_for_repeated_names) {
  const std::string block = "X: 1\r\nY: a\r\nX: 2\r\nX: 3\r\n";
  EXPECT_EQ(selected(kRelaxed, block, {"x"}), "x:3\r\n");
  EXPECT_EQ(selected(kRelaxed, block, {"x", "x"}), "x:3\r\nx:2\r\n");
  EXPECT_EQ(selected(kRelaxed, block, {"x", "y", "x", "x"}), "x:3\r\ny:a\r\nx:2\r\nx:1\r\n");
}

// §5.4.2 / §8.15: a name listed more often than it occurs adds nothing (over-signing).
TEST(header_select, oversigned_names_contribute_nothing) {
  const std::string block = "From: a\r\nTo: b\r\n";
  EXPECT_EQ(selected(kRelaxed, block, {"from", "from", "from"}), "from:a\r\n");
  EXPECT_EQ(selected(kSimple, block, {"from", "to", "from", "to"}), "From: a\r\nTo: b\r\n");
}

// §5.4.2: names absent from the message contribute nothing (not even an empty line).
TEST(header_select, absent_names_contribute_nothing) {
  const std::string block = "From: a\r\nTo: b\r\n";
  EXPECT_EQ(selected(kRelaxed, block, {"from", "cc", "to", "reply-to"}), "from:a\r\nto:b\r\n");
  EXPECT_EQ(selected(kRelaxed, block, {}), "");
}

// §3.4.2/§5.4.2: h= names match field names case-insensitively, with one cursor per name
// whatever case each listing uses.
TEST(header_select, names_match_case_insensitively_with_one_cursor) {
  const std::string block = "SUBJECT: first\r\nsubject: second\r\nSubJect: third\r\n";
  EXPECT_EQ(selected(kSimple, block, {"Subject", "SUBJECT", "subject", "sUbJeCt"}),
            "SubJect: third\r\nsubject: second\r\nSUBJECT: first\r\n");
  EXPECT_EQ(selected(kRelaxed, block, {"SUBJECT"}), "subject:third\r\n");
}

// The cursor is per name: listing other names in between does not move it.
TEST(header_select, cursors_are_independent) {
  const std::string block = "A: 1\r\nB: 1\r\nA: 2\r\nB: 2\r\n";
  EXPECT_EQ(selected(kRelaxed, block, {"a", "b", "b", "a", "b", "a"}),
            "a:2\r\nb:2\r\nb:1\r\na:1\r\n");
}

// Names are compared whole: "From" does not select "From-X" nor "X-From".
TEST(header_select, whole_name_match_only) {
  const std::string block = "From-X: 1\r\nX-From: 2\r\nFrom: 3\r\n";
  EXPECT_EQ(selected(kRelaxed, block, {"from", "from"}), "from:3\r\n");
}

// --- the signature field itself (§3.7) ----------------------------------------------------------

// `block` is one field with its CRLF; the result points into it.
header_field sig_field(const std::string& block) {
  auto fields = fields_of(block);
  EXPECT_EQ(fields.size(), 1u);
  return fields.empty() ? header_field{} : fields[0];
}

// §3.7: the DKIM-Signature field with the b= value emptied, canonicalized, no trailing CRLF.
TEST(signature_field_canon, b_value_removed_relaxed_and_simple) {
  const std::string raw = "DKIM-Signature: v=1; d=example.com;\r\n\tbh=abc; b=SIGN\r\n\t ATURE\r\n";
  header_field f = sig_field(raw);
  const std::size_t b = f.value.find("SIGN");
  const std::size_t len = f.value.size() - b;
  std::string relaxed, simple;
  detail::canonicalize_signature_field(kRelaxed, f, b, len, relaxed);
  detail::canonicalize_signature_field(kSimple, f, b, len, simple);
  EXPECT_EQ(relaxed, "dkim-signature:v=1; d=example.com; bh=abc; b=");
  EXPECT_EQ(simple, "DKIM-Signature: v=1; d=example.com;\r\n\tbh=abc; b=");
}

// §3.7: b= need not be the last tag; what follows it is kept.
TEST(signature_field_canon, b_not_last) {
  const std::string raw = "dkim-signature:v=1; b=XYZ; bh=abc;\r\n";
  header_field f = sig_field(raw);
  const std::size_t b = f.value.find("XYZ");
  std::string relaxed, simple;
  detail::canonicalize_signature_field(kRelaxed, f, b, 3, relaxed);
  detail::canonicalize_signature_field(kSimple, f, b, 3, simple);
  EXPECT_EQ(relaxed, "dkim-signature:v=1; b=; bh=abc;");
  EXPECT_EQ(simple, "dkim-signature:v=1; b=; bh=abc;");
}

// The b= location found by the tag-list parser fits the canonicalizer (offsets into the value).
TEST(signature_field_canon, offsets_from_tag_list) {
  const std::string raw = "DKIM-Signature: a=rsa-sha256; b= AAAA\r\n BBBB ; c=simple\r\n";
  header_field f = sig_field(raw);
  auto tags = detail::parse_tag_list(f.value);
  ASSERT_TRUE(tags);
  const auto* b = detail::find_tag(*tags, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->value, "AAAA\r\n BBBB");
  EXPECT_EQ(f.value.substr(b->value_offset, b->value.size()), b->value);
  std::string simple;
  detail::canonicalize_signature_field(kSimple, f, b->value_offset, b->value.size(), simple);
  EXPECT_EQ(simple, "DKIM-Signature: a=rsa-sha256; b=  ; c=simple");
}

}  // namespace
}  // namespace dkimkit
