// parse_canonicalization(): the one reader of c=-style values (RFC 6376 §3.5).
#include <gtest/gtest.h>

#include <dkimkit/signature.hpp>
#include <string>

namespace dkimkit {
namespace {

constexpr auto simple = canonicalization::simple;
constexpr auto relaxed = canonicalization::relaxed;

// §3.5 c=: sig-c-tag-alg ["/" sig-c-tag-alg]; a lone name is the header's, the body's is simple.
TEST(parse_canonicalization, header_and_body) {
  struct row {
    const char* c;
    canonicalization header, body;
  };
  for (row r : {row{"simple", simple, simple}, row{"relaxed", relaxed, simple},
                row{"simple/simple", simple, simple}, row{"simple/relaxed", simple, relaxed},
                row{"relaxed/simple", relaxed, simple}, row{"relaxed/relaxed", relaxed, relaxed}}) {
    auto c = parse_canonicalization(r.c);
    ASSERT_TRUE(c) << r.c;
    EXPECT_EQ(c->header, r.header) << r.c;
    EXPECT_EQ(c->body, r.body) << r.c;
  }
}

// §3.5 c=: a slash must be followed by a name; names are exactly "simple" or "relaxed". The
// error is bad_canonicalization and names the part that is not a canonicalization.
TEST(parse_canonicalization, malformed_values_name_the_bad_part) {
  struct row {
    const char* c;
    const char* part;
  };
  for (row r : {row{"", ""}, row{"relaxed/", ""}, row{"/relaxed", ""}, row{"foo", "foo"},
                row{"relaxed/foo", "foo"}, row{"simple/relaxed/x", "relaxed/x"},
                row{"relaxed//simple", "/simple"}}) {
    auto c = parse_canonicalization(r.c);
    ASSERT_FALSE(c) << r.c;
    EXPECT_EQ(c.error().code, errc::bad_canonicalization) << r.c;
    EXPECT_EQ(c.error().detail, "unknown canonicalization '" + std::string(r.part) + "'") << r.c;
  }
}

// Names are compared exactly, as signatures have always been read: another case is refused.
TEST(parse_canonicalization, case_is_exact) {
  for (const char* c : {"Relaxed", "SIMPLE", "simple/Relaxed", "RELAXED/relaxed"})
    EXPECT_FALSE(parse_canonicalization(c)) << c;
}

// White space is not part of a name: a value holds none (the tag-list parser strips the white
// space around a tag value before c= is read, and keeps the white space inside it).
TEST(parse_canonicalization, white_space_is_refused) {
  for (const char* c : {" relaxed", "relaxed ", "relaxed /simple", "relaxed/ simple", "relaxed\t",
                        "relaxed\r\n\t/simple"})
    EXPECT_FALSE(parse_canonicalization(c)) << c;
}

// A DKIM-Signature's c= is read by the same function: around the value, folding white space is
// the tag list's and is accepted; inside, it is refused.
TEST(parse_canonicalization, signature_c_tag_agrees) {
  const std::string bh = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  auto with_c = [&](const std::string& c) {
    return parse_signature("v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" + bh +
                           "; b=c2lnbmF0dXJl; c=" + c);
  };
  for (const char* c : {"simple", "relaxed", "simple/relaxed", "relaxed/relaxed", "relaxed/",
                        "Relaxed", "relaxed/simple/x", "relaxed /simple", "/simple"}) {
    auto direct = parse_canonicalization(c);
    auto sig = with_c(c);
    ASSERT_EQ(bool(direct), bool(sig)) << c;
    if (direct) {
      EXPECT_EQ(sig->header_canon, direct->header) << c;
      EXPECT_EQ(sig->body_canon, direct->body) << c;
    } else {
      EXPECT_EQ(sig.error().code, errc::bad_canonicalization) << c;
      EXPECT_EQ(sig.error().detail, direct.error().detail) << c;
    }
  }
  auto folded = with_c("\r\n\trelaxed/simple \r\n ");
  ASSERT_TRUE(folded) << folded.error().detail;
  EXPECT_EQ(folded->header_canon, relaxed);
  EXPECT_EQ(folded->body_canon, simple);
}

}  // namespace
}  // namespace dkimkit
