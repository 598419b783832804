// The tag-list grammar of RFC 6376 §3.2 (DKIM-Signature fields and key records).
#include "tag_list/tag_list.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {
namespace {

using detail::find_tag;
using detail::parse_tag_list;
using namespace std::string_literals;

errc code_of(std::string_view text) {
  auto r = parse_tag_list(text);
  return r ? errc::ok : r.error().code;
}

// §3.2: tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]; values keep inner FWS.
TEST(tag_list, parses_names_and_values) {
  auto r = parse_tag_list("v=1; a=rsa-sha256;d=example.com");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "v");
  EXPECT_EQ((*r)[0].value, "1");
  EXPECT_EQ((*r)[1].name, "a");
  EXPECT_EQ((*r)[1].value, "rsa-sha256");
  EXPECT_EQ((*r)[2].name, "d");
  EXPECT_EQ((*r)[2].value, "example.com");
}

// §3.2: FWS is allowed around "=" and ";" and is not part of the name or value.
TEST(tag_list, fws_around_equals_and_semicolon) {
  const std::string text = " \t v \t= \t 1 \t;\r\n\ta\r\n =\r\n rsa-sha256\r\n ;  ";
  auto r = parse_tag_list(text);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "v");
  EXPECT_EQ((*r)[0].value, "1");
  EXPECT_EQ((*r)[1].name, "a");
  EXPECT_EQ((*r)[1].value, "rsa-sha256");
  for (const auto& t : *r) EXPECT_EQ(text.substr(t.value_offset, t.value.size()), t.value);
}

// §3.2: tag-value = [ tval *( 1*(WSP / FWS) tval ) ]: a folded value keeps its inner FWS.
TEST(tag_list, folded_value_keeps_inner_fws) {
  auto r = parse_tag_list("b=abc\r\n\tdef  ghi\r\n jkl;");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].value, "abc\r\n\tdef  ghi\r\n jkl");
}

// §3.2: tag-list = tag-spec *( ";" tag-spec ) [ ";" ]: one trailing ";" is allowed.
TEST(tag_list, trailing_semicolon_allowed) {
  auto r = parse_tag_list("a=1; b=2;");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_TRUE(parse_tag_list("a=1;  \r\n "));
}

// §3.2: an empty value is allowed ("p=" in a revoked key record).
TEST(tag_list, empty_value_allowed) {
  auto r = parse_tag_list("p=; q= ;r=");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  for (const auto& t : *r) EXPECT_EQ(t.value, "");
  // The offset of an empty value points just after its "=".
  EXPECT_EQ((*r)[0].value_offset, 2u);
}

// §3.2: "Tags MUST be interpreted in a case-sensitive manner"; "=" inside a value is a VALCHAR.
TEST(tag_list, names_case_sensitive_and_equals_in_value) {
  auto r = parse_tag_list("b=QUE=; B=x; bh=Zm9v==");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(find_tag(*r, "b")->value, "QUE=");
  EXPECT_EQ(find_tag(*r, "B")->value, "x");
  EXPECT_EQ(find_tag(*r, "bh")->value, "Zm9v==");
  EXPECT_EQ(find_tag(*r, "x"), nullptr);
}

// §3.2: "Tags with duplicate names MUST NOT occur within a single tag-list; if a tag name does
// occur more than once, the entire tag-list is invalid."
TEST(tag_list, duplicate_tag_rejected) {
  EXPECT_EQ(code_of("d=a.com; d=b.com"), errc::tag_duplicate);
  EXPECT_EQ(code_of("d=a.com; s=x; d=a.com"), errc::tag_duplicate);
  EXPECT_EQ(code_of("d=a.com; D=b.com"), errc::ok);  // different names
}

// §3.2: tag-name = ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_").
TEST(tag_list, bad_names_rejected) {
  EXPECT_EQ(code_of("d-x=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("1d=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("_d=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("d x=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("d.x=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("\xc3\xa9=1"), errc::tag_syntax);
  EXPECT_EQ(code_of("d_2x=1"), errc::ok);
}

// §3.2: every tag-spec needs "=".
TEST(tag_list, missing_equals_rejected) {
  EXPECT_EQ(code_of("a=1; foo; b=2"), errc::tag_syntax);
  EXPECT_EQ(code_of("foo"), errc::tag_syntax);
}

// §3.2: the list is not empty, and there is no empty tag-spec between semicolons.
TEST(tag_list, empty_lists_and_specs_rejected) {
  EXPECT_EQ(code_of(""), errc::tag_syntax);
  EXPECT_EQ(code_of("   "), errc::tag_syntax);
  EXPECT_EQ(code_of(" \r\n "), errc::tag_syntax);
  EXPECT_EQ(code_of(";"), errc::tag_syntax);
  EXPECT_EQ(code_of("a=1;;b=2"), errc::tag_syntax);
  EXPECT_EQ(code_of("a=1; ;"), errc::tag_syntax);
  EXPECT_EQ(code_of("; a=1"), errc::tag_syntax);
}

// §3.2: VALCHAR = %x21-3A / %x3C-7E: NUL, control characters, DEL and 8-bit bytes are invalid.
TEST(tag_list, invalid_value_bytes_rejected) {
  EXPECT_EQ(code_of("s=evil.com.\0.x"s), errc::tag_syntax);
  EXPECT_EQ(code_of("s=a\x01"), errc::tag_syntax);
  EXPECT_EQ(code_of("s=a\x7f"), errc::tag_syntax);
  EXPECT_EQ(code_of("s=\xc3\xa9"), errc::tag_syntax);
  EXPECT_EQ(code_of("s=a\x0b" "b"), errc::tag_syntax);
  EXPECT_EQ(code_of("s=a\x0c" "b"), errc::tag_syntax);
  EXPECT_EQ(code_of("s=~!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}"), errc::ok);
}

// RFC 5322 FWS: a line break must be followed by WSP; a bare CR, or CRLF not followed by WSP, is
// not folding white space.
TEST(tag_list, line_breaks_must_be_folds) {
  EXPECT_EQ(code_of("a=1;\r\nb=2"), errc::tag_syntax);   // CRLF then no WSP
  EXPECT_EQ(code_of("a=1\rb"), errc::tag_syntax);        // bare CR
  EXPECT_EQ(code_of("a=1;\r"), errc::tag_syntax);        // CR at the end
  EXPECT_EQ(code_of("a=1;\r\n"), errc::tag_syntax);      // CRLF at the end
  EXPECT_EQ(code_of("a=1;\r\n\tb=2"), errc::ok);
  EXPECT_EQ(code_of("a=1;\n\tb=2"), errc::ok);           // LF-only input, folded
  EXPECT_EQ(code_of("a=1;\nb=2"), errc::tag_syntax);
  // Without ";", what follows a fold is more of the same value ("=" is a VALCHAR).
  auto r = parse_tag_list("a=1\r\n b=2");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].value, "1\r\n b=2");
}

// A bounded number of tags (documented cap of 128).
TEST(tag_list, tag_count_capped) {
  std::string text;
  for (int i = 0; i < 128; ++i) text += "t" + std::to_string(i) + "=x;";
  EXPECT_EQ(code_of(text), errc::ok);
  text += "z=1";
  EXPECT_EQ(code_of(text), errc::tag_syntax);
}

// Offsets locate each value inside the parsed text (used to blank b= for §3.7).
TEST(tag_list, value_offsets_point_into_text) {
  const std::string text = "v=1;\r\n\tb = QUFB\r\n\t QUFB ;bh=x";
  auto r = parse_tag_list(text);
  ASSERT_TRUE(r);
  const auto* b = find_tag(*r, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->value, "QUFB\r\n\t QUFB");
  EXPECT_EQ(b->value.data(), text.data() + b->value_offset);
}

}  // namespace
}  // namespace dkimkit
