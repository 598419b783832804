// Header canonicalization (RFC 6376 §3.4.1 simple, §3.4.2 relaxed), header selection (§5.4.2)
// and the DKIM-Signature field with b= emptied (§3.7).
#include "canon/header_canon.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>

#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"

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

// --- the index behind selection (§5.4.2; issue 11) -----------------------------------------------

// §5.4.2 as worded: for each name, the last instance not yet used, found by scanning upwards
// from the bottom with iequals(). Written without cursors or an index, so that it checks both.
std::string reference_selected(canonicalization c, const std::vector<header_field>& fields,
                               const std::vector<std::string>& names) {
  std::vector<bool> used(fields.size(), false);
  std::string out;
  for (const std::string& name : names) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (used[i] || !iequals(fields[i].name, name)) continue;
      used[i] = true;
      detail::canonicalize_header(c, fields[i], out);
      break;
    }
  }
  return out;
}

// The index groups names ASCII-case-insensitively and lists each group's fields bottom first.
TEST(header_index, groups_names_case_insensitively_bottom_first) {
  const std::string block = "X: 1\r\nFrom: a\r\nx: 2\r\nXY: 3\r\nX: 4\r\n";
  const auto fields = fields_of(block);
  const detail::header_index index(fields);
  EXPECT_EQ(&index.fields(), &fields);
  EXPECT_EQ(index.name_count(), 3u);
  const std::size_t x = index.find("x");
  ASSERT_LT(x, index.name_count());
  EXPECT_EQ(index.find("X"), x);
  const auto xs = index.instances(x);
  EXPECT_EQ(std::vector<std::size_t>(xs.begin(), xs.end()), (std::vector<std::size_t>{4, 2, 0}));
  const auto from = index.instances(index.find("FROM"));
  EXPECT_EQ(std::vector<std::size_t>(from.begin(), from.end()), std::vector<std::size_t>{1});
  EXPECT_EQ(index.instances(index.find("xy")).size(), 1u);
  EXPECT_EQ(index.find("to"), index.name_count());
  EXPECT_EQ(index.find(""), index.name_count());
  EXPECT_TRUE(index.instances(index.find("to")).empty());
}

// Only ASCII letters fold: 8-bit bytes in names (Latin-1 "Ä" 0xC4, "ä" 0xE4) match only
// themselves, as iequals() has it.
TEST(header_index, folds_ascii_only) {
  const std::string block = "X-\xC4: 1\r\nX-\xE4: 2\r\n";
  const auto fields = fields_of(block);
  const detail::header_index index(fields);
  EXPECT_EQ(index.name_count(), 2u);
  EXPECT_EQ(selected(kSimple, block, {"x-\xC4"}), "X-\xC4: 1\r\n");
  EXPECT_EQ(selected(kSimple, block, {"x-\xE4", "X-\xE4"}), "X-\xE4: 2\r\n");
  EXPECT_LT(index.find("x-\xC4"), index.name_count());
  EXPECT_LT(index.find("x-\xE4"), index.name_count());
  EXPECT_NE(index.find("x-\xC4"), index.find("x-\xE4"));
}

// No header at all: every name is absent.
TEST(header_index, empty_header) {
  const std::vector<header_field> none;
  const detail::header_index index(none);
  EXPECT_EQ(index.name_count(), 0u);
  EXPECT_EQ(index.find("from"), 0u);
  std::string out;
  detail::canonicalize_signed_headers(kRelaxed, index, {"from", "from"}, out);
  EXPECT_EQ(out, "");
}

// One index serves every signature of a message: each call has its own cursors, so a second
// signature with the same h= selects the same fields again.
TEST(header_select, one_index_serves_many_signatures) {
  const std::string block = "From: a\r\nTo: b\r\nTo: c\r\n";
  const auto fields = fields_of(block);
  const detail::header_index index(fields);
  for (int signature = 0; signature < 3; ++signature) {
    std::string out;
    detail::canonicalize_signed_headers(kRelaxed, index, {"to", "from", "To", "to"}, out);
    EXPECT_EQ(out, "to:c\r\nfrom:a\r\nto:b\r\n") << "signature " << signature;
  }
}

// Random headers and h= lists: repeated names, names in other cases, names absent, names listed
// more often than they occur, names that differ by one byte or in length, 8-bit bytes. The
// indexed selection (one index, several h= lists, as the signatures of one message) equals the
// reference, and so does the overload that builds its own index.
TEST(header_select, index_matches_reference_on_random_headers) {
  static const std::vector<std::string> present = {
      "From", "To", "Subject", "X-A", "X-AB", "X-B", "Received", "DKIM-Signature", "X-\xC4"};
  static const std::vector<std::string> absent = {"Cc", "X-C", "X-AC", "X-", "X-\xE4", "", "Fro"};
  std::mt19937 rng(20240611);
  auto pick = [&](const std::vector<std::string>& from) {
    std::string name = from[rng() % from.size()];
    for (char& ch : name)  // random case, ASCII letters only
      if (detail::is_alpha(ch) && rng() % 2 == 0) ch = static_cast<char>(ch ^ 0x20);
    return name;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string block;
    const std::size_t field_count = rng() % 25;
    for (std::size_t i = 0; i < field_count; ++i)
      block +=
          pick(present) + ": v" + std::to_string(i) + (rng() % 4 == 0 ? "\r\n\tfold" : "") + "\r\n";
    const auto fields = fields_of(block);
    ASSERT_EQ(fields.size(), field_count);
    const detail::header_index index(fields);
    for (int signature = 0; signature < 3; ++signature) {
      std::vector<std::string> names;
      const std::size_t name_count = rng() % 40;
      for (std::size_t i = 0; i < name_count; ++i)
        names.push_back(pick(rng() % 4 == 0 ? absent : present));
      for (canonicalization c : {kSimple, kRelaxed}) {
        const std::string expected = reference_selected(c, fields, names);
        std::string indexed, own_index;
        detail::canonicalize_signed_headers(c, index, names, indexed);
        detail::canonicalize_signed_headers(c, fields, names, own_index);
        ASSERT_EQ(indexed, expected) << "round " << round << ", signature " << signature;
        ASSERT_EQ(own_index, expected) << "round " << round << ", signature " << signature;
      }
    }
  }
}

// At the limits (2000 fields, 1024 names; the crafted case of issue 11 with long names that
// differ only at the end), the selection still equals the reference.
TEST(header_select, limits_match_reference) {
  auto name = [](std::size_t n, char kind) {
    std::string s(44, '-');
    s.replace(0, 8, "X-Limit-");
    return s + std::to_string(100 + n % 500) + kind;
  };
  std::string block;
  for (std::size_t i = 0; i < 2000; ++i) block += name(i, 'h') + ": " + std::to_string(i) + "\r\n";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < 1024; ++i) names.push_back(name(i / 2, i % 2 == 0 ? 'H' : 'n'));
  const auto fields = fields_of(block);
  ASSERT_EQ(fields.size(), 2000u);
  const detail::header_index index(fields);
  std::string out;
  detail::canonicalize_signed_headers(kSimple, index, names, out);
  EXPECT_EQ(out, reference_selected(kSimple, fields, names));
  EXPECT_EQ(out.substr(0, out.find("\r\n")), name(0, 'h') + ": 1500");
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
