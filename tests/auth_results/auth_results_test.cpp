// The Authentication-Results header field (RFC 8601 §2.2, §2.7.1; RFC 6008 header.b).
#include <dkimkit/auth_results.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>

#include "support/test_keys.hpp"

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

}  // namespace
}  // namespace dkimkit
