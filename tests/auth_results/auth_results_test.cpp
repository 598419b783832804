// The Authentication-Results header field (RFC 8601 §2.2, §2.7.1; RFC 6008 header.b).
#include <dkimkit/auth_results.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>

#include "support/test_keys.hpp"
#include "verify/craft.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;

verification passing() {
  verification v;
  v.status = status::pass;
  v.sdid = "example.com";
  v.selector = "sel";
  v.auid = "@example.com";
  v.algorithm = "rsa-sha256";
  v.b_prefix = "abcdEFGH";
  v.key_type = key_type::rsa;
  v.key_bits = 2048;
  return v;
}

// RFC 8601 §2.2: "dkim=none" when no signature was found.
TEST(auth_results, none_when_empty) {
  EXPECT_EQ(format_auth_results("mx.example.net", {}), "Authentication-Results: mx.example.net; dkim=none");
}

// RFC 8601 §2.2, §2.7.1; RFC 6008 §4: one entry with header.d/i/s/a/b and a comment.
TEST(auth_results, one_pass_entry) {
  EXPECT_EQ(format_auth_results("mx.example.net", {passing()}),
            "Authentication-Results: mx.example.net;\r\n"
            "\tdkim=pass (2048-bit rsa key) header.d=example.com header.i=@example.com "
            "header.s=sel header.a=rsa-sha256 header.b=abcdEFGH");
}

// One entry per signature, separated by ";" and folded with CRLF TAB; no final CRLF.
TEST(auth_results, one_entry_per_signature) {
  verification fail = passing();
  fail.status = status::fail;
  fail.code = errc::body_hash_mismatch;
  fail.reason = "body hash mismatch";
  fail.key_bits = 0;
  fail.key_type.reset();
  verification neutral;
  neutral.status = status::neutral;
  neutral.reason = "signature syntax error";
  const std::string f = format_auth_results("mx", {passing(), fail, neutral});
  EXPECT_EQ(f,
            "Authentication-Results: mx;\r\n"
            "\tdkim=pass (2048-bit rsa key) header.d=example.com header.i=@example.com header.s=sel "
            "header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
            "\tdkim=fail (body hash mismatch) header.d=example.com header.i=@example.com header.s=sel "
            "header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
            "\tdkim=neutral (signature syntax error)");
  EXPECT_NE(f.substr(f.size() - 2), "\r\n");
}

// RFC 8601 §2.7.1: each status word.
TEST(auth_results, status_words) {
  for (status s : {status::fail, status::policy, status::neutral, status::temperror, status::permerror}) {
    verification v;
    v.status = s;
    EXPECT_EQ(format_auth_results("mx", {v}), "Authentication-Results: mx;\r\n\tdkim=" + std::string(to_string(s)));
  }
}

// RFC 6376 §3.6.1 t=y is worth saying in the comment.
TEST(auth_results, testing_flag_in_comment) {
  verification v = passing();
  v.testing = true;
  EXPECT_NE(format_auth_results("mx", {v}).find("dkim=pass (2048-bit rsa key, testing)"), std::string::npos);
  v.key_bits = 0;
  EXPECT_NE(format_auth_results("mx", {v}).find("dkim=pass (testing key)"), std::string::npos);
  v.testing = false;
  EXPECT_NE(format_auth_results("mx", {v}).find("dkim=pass header.d="), std::string::npos);
}

// RFC 5322 §3.2.2: "(", ")" and "\" inside a comment are quoted-pairs.
TEST(auth_results, reason_comment_escaped) {
  verification v;
  v.status = status::permerror;
  v.reason = "key (sel) \\ bad) ((";
  EXPECT_EQ(format_auth_results("mx", {v}),
            "Authentication-Results: mx;\r\n\tdkim=permerror (key \\(sel\\) \\\\ bad\\) \\(\\()");
}

// Control characters and 8-bit bytes never reach the header: left out of comments.
TEST(auth_results, reason_control_and_8bit_left_out) {
  verification v;
  v.status = status::fail;
  v.reason = "bad\r\nInjected: yes\0\x7f\xc3\xa9\t!"s;
  const std::string f = format_auth_results("mx", {v});
  EXPECT_EQ(f, "Authentication-Results: mx;\r\n\tdkim=fail (badInjected: yes!)");
}

// Values that are not safe in a header are left out entirely.
TEST(auth_results, unsafe_values_left_out) {
  verification v = passing();
  v.sdid = "exa\r\nmple.com";
  v.selector = "s\xc3\xa9l";
  v.auid = "@ex\0ample.com"s;
  v.algorithm = "rsa\x7f";
  v.b_prefix = "ab\tcd";
  const std::string f = format_auth_results("mx", {v});
  EXPECT_EQ(f, "Authentication-Results: mx;\r\n\tdkim=pass (2048-bit rsa key)");
  for (char c : f.substr(f.find('\t') + 1)) {
    EXPECT_GE(c, 0x20);
    EXPECT_LE(c, 0x7e);
  }
}

// RFC 8601 §2.2 / RFC 2045: a value with tspecials is a quoted-string; header.i may be a bare
// [local-part]@domain.
TEST(auth_results, values_quoted_when_needed) {
  verification v = passing();
  v.b_prefix = "ab+/cd==";
  v.auid = "user@example.com";
  v.selector = "a\"b";
  const std::string f = format_auth_results("mx", {v});
  EXPECT_NE(f.find(" header.b=\"ab+/cd==\""), std::string::npos) << f;
  EXPECT_NE(f.find(" header.i=user@example.com "), std::string::npos) << f;
  EXPECT_NE(f.find(" header.s=\"a\\\"b\""), std::string::npos) << f;
  v.auid = "a b@example.com";
  EXPECT_NE(format_auth_results("mx", {v}).find(" header.i=\"a b@example.com\""), std::string::npos);
  v.auid = "a\\b@example.com";
  EXPECT_NE(format_auth_results("mx", {v}).find(" header.i=\"a\\\\b@example.com\""), std::string::npos);
}

// Each entry is format_auth_result()'s for the verification.
TEST(auth_results, entries_are_format_auth_result) {
  verification v = passing();
  v.status = status::fail;
  v.reason = "body hash mismatch";
  v.auid = "ceo x@example.com";
  auth_result r;
  r.method = "dkim";
  r.result = "fail";
  r.comment = v.reason;
  r.properties = {{"header.d", v.sdid},
                  {"header.i", v.auid},
                  {"header.s", v.selector},
                  {"header.a", v.algorithm},
                  {"header.b", v.b_prefix}};
  EXPECT_EQ(format_auth_results("mx", {v, v}),
            "Authentication-Results: mx;\r\n\t" + *format_auth_result(r) + ";\r\n\t" +
                *format_auth_result(r));
}

// End to end: what the verifier reports fits in the field.
TEST(auth_results, from_real_verification) {
  static_resolver dns;
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  const std::string msg = test::sign_with(test::sample_message(), test::ed25519(), "ed");
  auto r = verify(msg, test::options_for(dns));
  ASSERT_EQ(r.size(), 1u);
  const std::string f = format_auth_results("mx.example.net", r);
  EXPECT_EQ(f.rfind("Authentication-Results: mx.example.net;\r\n\tdkim=pass (256-bit ed25519 key) "
                    "header.d=example.com header.i=@example.com header.s=ed header.a=ed25519-sha256 "
                    "header.b=",
                    0),
            0u)
      << f;
  EXPECT_NE(f.find(r[0].b_prefix), std::string::npos);
  EXPECT_EQ(r[0].b_prefix.size(), 8u);
}

// The header.i value of the first entry of a field format_auth_results() wrote, as
// parse_auth_results() reads it; nullopt when the field does not parse or has no header.i.
std::optional<std::string> header_i_read_back(const std::string& field) {
  auto parsed = parse_auth_results(std::string_view(field).substr(field.find(':') + 1));
  EXPECT_TRUE(parsed) << field << ": " << parsed.error().message();
  if (!parsed || parsed->results.empty()) return std::nullopt;
  for (const auto& [name, value] : parsed->results[0].properties)
    if (name == "header.i") return value;
  return std::nullopt;
}

// Issue 11, finding 11; RFC 8601 §2.2, RFC 5322 §3.4.1: header.i is [local-part] "@" domain as it
// is when the local-part is a dot-atom, else the whole identity as one quoted-string (quoted-pairs
// for '"' and '\'). Whatever i= held, a strict reader (ours) gets the same identity back.
TEST(auth_results, header_i_round_trips_through_the_parser) {
  for (const char* id : {"@example.com",
                         "user@example.com",
                         "first.last@mail.example.com",
                         "a=b?c/d@example.com",
                         "!#$%&'*+-/=?^_`{|}~@example.com",
                         "ceo x@bank.example",
                         "<a,b>[c]:d=e@evil.example",
                         "q\"uo\\te@example.com",
                         "\"quoted\"@example.com",
                         ".lead@example.com",
                         "a..b@example.com",
                         "trail.@example.com",
                         "semi;colon@example.com",
                         "(paren)@example.com",
                         "a@b@example.com",
                         "x dir=sign result=signed@example.com",
                         "a\\@example.com",
                         "\\\"@example.com",
                         " @example.com",
                         "nobody",
                         "user@[192.0.2.1]"}) {
    verification v = passing();
    v.auid = id;
    const std::string f = format_auth_results("mx.example.net", {v, v});
    EXPECT_EQ(header_i_read_back(f), id) << f;
    EXPECT_NE(f.find(" header.s=sel "), std::string::npos) << f;  // nothing after header.i lost
  }
  verification v = passing();
  v.auid = "<a,b>[c]:d=e@evil.example";
  EXPECT_NE(format_auth_results("mx", {v}).find(" header.i=\"<a,b>[c]:d=e@evil.example\" "),
            std::string::npos);
  v.auid = "a=b?c/d@example.com";  // a dot-atom: as it is
  EXPECT_NE(format_auth_results("mx", {v}).find(" header.i=a=b?c/d@example.com "),
            std::string::npos);
}

// The same end to end: a passing signature whose i= (dkim-quoted-printable) decodes to an
// identity full of RFC 5322 specials.
TEST(auth_results, header_i_of_a_real_verification_reads_back) {
  static_resolver dns;
  dns.add("sel._domainkey.example.com", test::ed25519().public_record());
  test::craft c;
  c.i = "<a,b>[c]:d=3De@example.com";
  auto r =
      verify(test::crafted(test::sample_message(), test::ed25519(), c), test::options_for(dns));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[0].auid, "<a,b>[c]:d=e@example.com");
  EXPECT_EQ(header_i_read_back(format_auth_results("mx.example.net", r)), r[0].auid);
}

}  // namespace
}  // namespace dkimkit
