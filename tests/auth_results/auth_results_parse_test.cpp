// Reading Authentication-Results fields (RFC 8601 §2.2).
#include <gtest/gtest.h>

#include <dkimkit/auth_results.hpp>

namespace dkimkit {
namespace {

// RFC 8601 Appendix B.2 and B.4 style fields.
TEST(auth_results_parse, rfc8601_examples) {
  auto a = parse_auth_results(" example.org 1; none");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->authserv_id, "example.org");
  EXPECT_EQ(a->version, 1u);
  EXPECT_TRUE(a->results.empty());

  auto b = parse_auth_results(
      " example.com;\r\n\tspf=pass smtp.mailfrom=example.net;\r\n"
      "\tdkim=pass (good signature) header.d=example.net header.i=@mail.example.net");
  ASSERT_TRUE(b) << b.error().message();
  ASSERT_EQ(b->results.size(), 2u);
  EXPECT_EQ(b->results[0].method, "spf");
  EXPECT_EQ(b->results[1].comment, "good signature");
  ASSERT_EQ(b->results[1].properties.size(), 2u);
  EXPECT_EQ(b->results[1].properties[1].first, "header.i");
  EXPECT_EQ(b->results[1].properties[1].second, "@mail.example.net");

  auto c = parse_auth_results(" mail-router.example.net; dkim=pass (good signature) "
                              "header.d=newyork.example.com header.b=oINEO8hg;\r\n\t"
                              "dkim=fail (bad signature) header.d=newyork.example.com "
                              "reason=\"signature mismatch\"");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->results.size(), 2u);
  EXPECT_EQ(c->results[1].result, "fail");
  EXPECT_EQ(c->results[1].reason, "signature mismatch");
}

TEST(auth_results_parse, comments_and_quotes_anywhere) {
  auto a = parse_auth_results(" (first) \"mx.example.org\" (x (nested) y) ; dkim (m) = pass (ok)");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->authserv_id, "mx.example.org");
  ASSERT_EQ(a->results.size(), 1u);
  EXPECT_EQ(a->results[0].result, "pass");
  EXPECT_EQ(a->results[0].comment, "ok");
}

TEST(auth_results_parse, reads_what_format_auth_results_writes) {
  verification v;
  v.status = status::fail;
  v.reason = "body hash mismatch: (changed) \\ after";
  v.sdid = "example.com";
  v.auid = "@example.com";
  v.selector = "sel";
  v.algorithm = "rsa-sha256";
  v.b_prefix = "Z/+6GkiU";
  std::string field = format_auth_results("mx.example.org", {v, v});
  auto a = parse_auth_results(std::string_view(field).substr(sizeof("Authentication-Results:") - 1));
  ASSERT_TRUE(a) << a.error().message() << "\n" << field;
  ASSERT_EQ(a->results.size(), 2u);
  EXPECT_EQ(a->results[0].comment, v.reason);
  EXPECT_EQ(a->results[0].properties.size(), 5u);
  EXPECT_EQ(a->results[0].properties[4].second, "Z/+6GkiU");
  auto none = parse_auth_results(std::string_view(format_auth_results("mx", {})).substr(23));
  ASSERT_TRUE(none);  // "dkim=none": one result whose word is none
  ASSERT_EQ(none->results.size(), 1u);
  EXPECT_EQ(none->results[0].method, "dkim");
  EXPECT_EQ(none->results[0].result, "none");
}

TEST(auth_results_parse, malformed_fields_are_refused) {
  for (const char* bad : {"", " ;", " mx.example.org", " mx; dkim", " mx; dkim=", " mx; (open",
                          " mx; dkim=pass header.d", " mx; dkim=pass header=x", " mx x; none",
                          " mx; dkim=pass header.d=\"unterminated",
                          // An empty quoted version once threw from std::stoul (found by fuzzing).
                          " mx \"\" ; none", " mx \"\"; dkim=pass",
                          // Methods, results and properties are keywords, never quoted strings.
                          " mx; dkim=\"\"", " mx; \"\"=pass", " mx; dkim=pass \"header\".d=x"})
    EXPECT_FALSE(parse_auth_results(bad)) << bad;
}

}  // namespace
}  // namespace dkimkit
