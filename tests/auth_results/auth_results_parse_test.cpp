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
                          " mx; dkim=\"\"", " mx; \"\"=pass", " mx; dkim=pass \"header\".d=x",
                          // Found by fuzzing the authserv-id lexer against the parser: an empty
                          // authserv-id, and a field ending in an unterminated comment.
                          " \"\"; none", " \"\" (unterminated; none", " mx; none (open", " .; none",
                          " \".\"; dkim=pass",
                          " mx; dkim=pass (open (nested)"})
    EXPECT_FALSE(parse_auth_results(bad)) << bad;
}

// Issue 11, finding 1, RFC 8601 §2.2: pvalue = [CFWS] ( value / [ [ local-part ] "@" ]
// domain-name ) [CFWS], and an RFC 5322 local-part may be a quoted-string. The address comes back
// as local-part (unquoted) "@" domain, the form of verification::auid.
TEST(auth_results_parse, pvalue_address_with_quoted_local_part) {
  auto a = parse_auth_results(
      "\"mx.ours.example\"; dkim=pass header.d=bank.example header.i=\"ceo x\"@bank.example");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->authserv_id, "mx.ours.example");
  ASSERT_EQ(a->results.size(), 1u);
  ASSERT_EQ(a->results[0].properties.size(), 2u);
  EXPECT_EQ(a->results[0].properties[1].first, "header.i");
  EXPECT_EQ(a->results[0].properties[1].second, "ceo x@bank.example");

  const std::pair<const char*, const char*> cases[] = {
      {"\"ceo x\"@bank.example", "ceo x@bank.example"},
      {"\"ceo x@bank.example\"", "ceo x@bank.example"},              // a quoted-string value
      {"\"q\\\"uo\\\\te\"@bank.example", "q\"uo\\te@bank.example"},  // quoted-pairs
      {"\"a;b\" (comment) @bank.example", "a;b@bank.example"},       // CFWS before "@"
      {"\"\"@bank.example", "@bank.example"},
      {"a=b?c@bank.example", "a=b?c@bank.example"},  // a dot-atom local-part may hold = and ?
      {"first.last@bank.example", "first.last@bank.example"},
      {"@bank.example", "@bank.example"},
  };
  for (const auto& [pvalue, want] : cases) {
    const std::string field = " mx; dkim=pass header.i=" + std::string(pvalue) + " header.s=sel";
    auto r = parse_auth_results(field);
    ASSERT_TRUE(r) << field << ": " << r.error().message();
    ASSERT_EQ(r->results[0].properties.size(), 2u) << field;
    EXPECT_EQ(r->results[0].properties[0].second, want) << field;
    EXPECT_EQ(r->results[0].properties[1].second, "sel") << field;
  }
  // Still refused: "@" with no domain-name, '=' outside a local-part, an address literal.
  for (const char* bad : {" mx; dkim=pass header.i=\"x\"@", " mx; dkim=pass header.i=\"x\"@;",
                          " mx; dkim=pass header.d=a=b", " mx; dkim=pass header.i=x@a=b",
                          " mx; dkim=pass header.i=\"x\"@[192.0.2.1]"})
    EXPECT_FALSE(parse_auth_results(bad)) << bad;
}

// Issue 11, finding 1: the authserv-id alone, for removing fields that claim to be ours (RFC 8601
// §5) whether or not the rest parses.
TEST(auth_results_authserv_id, read_even_when_the_rest_does_not_parse) {
  for (const char* forged : {"\"mx.ours.example\"; dkim=pass header.d=good.example; x=\"y\"",
                             "\"mx.ours.example\"; dkim=pass header.d=good.example; @",
                             "(c) mx.ours.example. ; dkim=pass", "MX.OURS.EXAMPLE; ...",
                             " (a (nested \\) comment) b) mx.ours.example;dkim=pass",
                             "\r\n\t\"mx.ours\\.example\" 1; none", "mx.ours.example"}) {
    auto id = auth_results_authserv_id(forged);
    ASSERT_TRUE(id) << forged;
    EXPECT_TRUE(same_authserv_id(*id, "mx.ours.example")) << forged << " -> " << *id;
  }
  EXPECT_FALSE(parse_auth_results("\"mx.ours.example\"; dkim=pass header.d=good.example; @"));
  EXPECT_EQ(auth_results_authserv_id(" \"a \\\"b\\\" c\" ; none"), "a \"b\" c");
  EXPECT_EQ(auth_results_authserv_id("user@mx.example; none"), "user@mx.example");
  // Someone else's id: not ours.
  for (const char* other : {"mx.ours.example.evil.example; dkim=pass", "xmx.ours.example; none",
                            "(mx.ours.example) mx.evil.example; none", "mx.ours.example..; none",
                            "\"mx.ours.example \"; none"}) {
    auto id = auth_results_authserv_id(other);
    ASSERT_TRUE(id) << other;
    EXPECT_FALSE(same_authserv_id(*id, "mx.ours.example")) << other << " -> " << *id;
  }
  // Nothing that lexes as a token or a quoted-string.
  for (const char* bad : {"", "   ", "(unterminated mx.ours.example; dkim=pass", "(c)",
                          "\"mx.ours.example; dkim=pass", "; dkim=pass", "=mx.ours.example",
                          // An empty id, or a lone dot, is no id (found by fuzzing).
                          "\"\"; dkim=pass", " (c) \"\" (x", ". ; dkim=pass", "\".\""})
    EXPECT_FALSE(auth_results_authserv_id(bad)) << bad;
}

TEST(auth_results_authserv_id, same_ignores_case_and_one_trailing_dot) {
  EXPECT_TRUE(same_authserv_id("MX.Ours.Example", "mx.ours.example"));
  EXPECT_TRUE(same_authserv_id("mx.ours.example.", "mx.ours.example"));
  EXPECT_TRUE(same_authserv_id("mx.ours.example", "MX.OURS.EXAMPLE."));
  EXPECT_FALSE(same_authserv_id("mx.ours.example..", "mx.ours.example"));
  EXPECT_FALSE(same_authserv_id("mx.ours.exampl", "mx.ours.example"));
  EXPECT_FALSE(same_authserv_id("", ""));
  EXPECT_FALSE(same_authserv_id(".", ""));
}

// Both steps in one: the fields a server removes as forged (RFC 8601 §5).
TEST(auth_results_authserv_id, claims_authserv_id_recognises_our_fields_only) {
  for (const char* ours : {"mx.ours.example; dkim=pass", "\"MX.ours.example.\"; dkim=pass; @",
                           " (c) mx.ours.example", "\r\n\t\"mx.ours\\.example\" 1; none"})
    EXPECT_TRUE(claims_authserv_id(ours, "mx.ours.example")) << ours;
  for (const char* other :
       {"mx.ours.example.evil.example; dkim=pass", "(mx.ours.example) x; none",
        "(unterminated mx.ours.example", "", "; mx.ours.example", "\"mx.ours.example \"; none"})
    EXPECT_FALSE(claims_authserv_id(other, "mx.ours.example")) << other;
  // An empty id of ours claims nothing.
  EXPECT_FALSE(claims_authserv_id("\"\"; none", ""));
  EXPECT_FALSE(claims_authserv_id("mx.ours.example; none", ""));
}

}  // namespace
}  // namespace dkimkit
