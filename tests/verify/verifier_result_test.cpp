// The verifier's result for each kind of signature (RFC 6376 §6, RFC 8301, RFC 8463, RFC 8601
// §2.7.1): one verification per DKIM-Signature, with the documented status and errc.
#include <dkimkit/verifier.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/auth_results.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>

#include "record/der_builder.hpp"
#include "support/test_keys.hpp"
#include "verify/craft.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;
using test::craft;
using test::crafted;
using test::kNow;

// Keys published under example.com: ed (Ed25519), rsa (2048), rsa1024, small512, small768.
void publish(static_resolver& dns) {
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  dns.add("rsa._domainkey.example.com", test::rsa2048().public_record());
  dns.add("rsa1024._domainkey.example.com", test::rsa1024().public_record());
  dns.add("small512._domainkey.example.com", test::rsa_small(512).public_record());
  dns.add("small768._domainkey.example.com", test::rsa_small(768).public_record());
}

craft ed(craft c = {}) {
  c.algo = algorithm::ed25519_sha256;
  c.s = "ed";
  return c;
}
craft rsa(craft c = {}) {
  c.algo = algorithm::rsa_sha256;
  c.s = "rsa";
  return c;
}

// The relaxed canonicalized body length of `message`: what l= counts for ed() and rsa().
std::uint64_t canonical_body_length(std::string_view message) {
  const std::string msg = normalize_line_endings(message);
  auto view = parse_message(msg);
  EXPECT_TRUE(view);
  if (!view) return 0;
  detail::body_hasher body(canonicalization::relaxed, hash_algorithm::sha256, std::nullopt);
  std::string scratch;
  body.update(view->body, scratch);
  body.finish(scratch);
  return body.canonical_length();
}

// Verifies a message expected to carry exactly one signature.
verification one(const std::string& message, const static_resolver& dns,
                 verify_options o = {}) {
  if (!o.resolver) o = test::options_for(dns);
  auto r = verify(message, o);
  EXPECT_EQ(r.size(), 1u);
  return r.empty() ? verification{} : r[0];
}

verify_options opts(const static_resolver& dns) { return test::options_for(dns); }

std::string replace(std::string s, std::string_view from, std::string_view to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

testing::AssertionResult is(const verification& v, status st, errc c) {
  if (v.status == st && v.code == c) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "got " << to_string(v.status) << "/" << to_string(v.code)
                                     << " (" << v.reason << "), expected " << to_string(st) << "/"
                                     << to_string(c);
}
#define EXPECT_RESULT(v, st, c) EXPECT_TRUE(is((v), (st), (c)))

// --- pass ---------------------------------------------------------------------------------------

// RFC 8463: an Ed25519 signature passes, and the result names what was verified.
TEST(verify_result, ed25519_pass_reports_details) {
  static_resolver dns;
  publish(dns);
  const std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  verification v = one(msg, dns);
  EXPECT_RESULT(v, status::pass, errc::ok);
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.field_index, 0u);
  EXPECT_EQ(v.sdid, "example.com");
  EXPECT_EQ(v.selector, "ed");
  EXPECT_EQ(v.auid, "@example.com");
  EXPECT_EQ(v.algorithm, "ed25519-sha256");
  const std::size_t b = msg.find("b=", msg.find("bh=") + 3);
  EXPECT_EQ(v.b_prefix, msg.substr(b + 2, 8));
  EXPECT_EQ(v.key_type, key_type::ed25519);
  EXPECT_EQ(v.key_bits, 256u);
  EXPECT_FALSE(v.testing);
  EXPECT_FALSE(v.body_length);
  EXPECT_EQ(dns.queries(), 1u);
}

// RFC 6376 §6: the library's own signer output passes (RSA, all canonicalizations).
TEST(verify_result, rsa_pass) {
  static_resolver dns;
  publish(dns);
  for (auto h : {canonicalization::simple, canonicalization::relaxed})
    for (auto b : {canonicalization::simple, canonicalization::relaxed}) {
      verification v = one(test::sign_with(test::sample_message(), test::rsa2048(), "rsa", h, b), dns);
      EXPECT_RESULT(v, status::pass, errc::ok);
      EXPECT_EQ(v.key_bits, 2048u);
      EXPECT_EQ(v.key_type, key_type::rsa);
      EXPECT_EQ(v.algorithm, "rsa-sha256");
    }
}

// RFC 6376 §3.2 and §3.5: unknown tags are ignored, a trailing ";" is allowed, b= need not be the
// last tag (hostile input #5), with either header canonicalization.
TEST(verify_result, unknown_tags_trailing_semicolon_and_b_not_last) {
  static_resolver dns;
  publish(dns);
  for (auto h : {canonicalization::simple, canonicalization::relaxed}) {
    craft c = ed();
    c.header = h;
    c.extra = " zz=unknown; q=dns/txt;";
    c.after_b = ";";
    const std::string trailing = crafted(test::sample_message(), test::ed25519(), c);
    ASSERT_NE(trailing.find(";\r\nFrom:"), std::string::npos);
    EXPECT_RESULT(one(trailing, dns), status::pass, errc::ok) << to_string(h);
    c.after_b = ";\r\n\tyy=after-b; ";
    EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::pass, errc::ok)
        << to_string(h);
    c.after_b = "; bogus";  // the tag list is broken after b=
    EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::neutral,
                  errc::tag_syntax);
  }
}

// RFC 6376 §6.1: a message with no signature gives no result; its overall result is none.
TEST(verify_result, unsigned_message_is_none) {
  static_resolver dns;
  publish(dns);
  auto r = verify(test::sample_message(), opts(dns));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(overall(r), status::none);
  EXPECT_EQ(dns.queries(), 0u);
}

// --- message structure (permerror) --------------------------------------------------------------

std::string without_line(std::string msg, std::string_view starting) {
  auto pos = msg.find("\r\n" + std::string(starting));
  EXPECT_NE(pos, std::string::npos);
  auto end = msg.find("\r\n", pos + 2);
  msg.erase(pos, end - pos);
  return msg;
}

// RFC 6376 §6.1.1: From must be signed, so a message without From cannot verify.
TEST(verify_result, no_from_is_permerror_without_dns) {
  static_resolver dns;
  publish(dns);
  const std::string msg = without_line(crafted(test::sample_message(), test::ed25519(), ed()), "From:");
  ASSERT_EQ(msg.find("From:"), std::string::npos);
  EXPECT_RESULT(one(msg, dns), status::permerror, errc::no_from);
  EXPECT_EQ(dns.queries(), 0u);
}

// RFC 6376 §8.15: a message with two From fields is refused.
TEST(verify_result, two_from_is_permerror) {
  static_resolver dns;
  publish(dns);
  std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  msg = replace(msg, "Message-ID:", "From: Mallory <m@example.net>\r\nMessage-ID:");
  EXPECT_RESULT(one(msg, dns), status::permerror, errc::multiple_from);
  EXPECT_EQ(dns.queries(), 0u);
}

// RFC 6376 §8.15: a From added above the (over-)signed one makes two From fields: permerror.
TEST(verify_result, from_prepended_above_oversigned_from) {
  static_resolver dns;
  publish(dns);
  const std::string signed_msg = test::sign_with(test::sample_message(), test::rsa2048(), "rsa");
  ASSERT_NE(signed_msg.find("from:from"), std::string::npos) << signed_msg;
  const std::string msg = replace(signed_msg, "From: Alice", "From: Mallory <m@example.net>\r\nFrom: Alice");
  EXPECT_RESULT(one(msg, dns), status::permerror, errc::multiple_from);
}

// RFC 5322 §2.2: a header line without a colon is not a field.
TEST(verify_result, header_line_without_colon) {
  static_resolver dns;
  publish(dns);
  std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  msg = replace(msg, "Subject:", "this line has no colon\r\nSubject:");
  verification v = one(msg, dns);
  EXPECT_RESULT(v, status::permerror, errc::malformed_header);
  EXPECT_EQ(v.sdid, "example.com");  // the signature is still found and reported
  EXPECT_EQ(dns.queries(), 0u);
}

// RFC 5322 §2.2.3: a continuation line cannot come first.
TEST(verify_result, continuation_line_first) {
  static_resolver dns;
  publish(dns);
  const std::string msg = " folded\r\n" + crafted(test::sample_message(), test::ed25519(), ed());
  verification v = one(msg, dns);
  EXPECT_RESULT(v, status::permerror, errc::malformed_header);
  EXPECT_EQ(v.field_index, 0u);
}

// Documented header limits (header_limits): each one reached gives header_too_large.
TEST(verify_result, header_limits) {
  static_resolver dns;
  publish(dns);
  const std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  {
    verify_options o = opts(dns);
    o.header.max_fields = 3;
    EXPECT_RESULT(one(msg, dns, o), status::permerror, errc::header_too_large);
  }
  {
    verify_options o = opts(dns);
    o.header.max_field_bytes = 60;
    EXPECT_RESULT(one(msg, dns, o), status::permerror, errc::header_too_large);
  }
  {
    verify_options o = opts(dns);
    o.header.max_header_bytes = 400;
    ASSERT_GT(msg.find("\r\n\r\n"), 400u);
    auto r = verify(msg, o);
    ASSERT_FALSE(r.empty());
    for (const auto& v : r) EXPECT_RESULT(v, status::permerror, errc::header_too_large);
  }
  EXPECT_EQ(dns.queries(), 0u);
}

// --- local checks -------------------------------------------------------------------------------

// RFC 6376 §5.4: "The From header field MUST be signed"; refused before any DNS query.
TEST(verify_result, h_without_from_is_permerror_without_dns) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.h = "to:subject";
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::permerror,
                errc::from_not_signed);
  EXPECT_EQ(dns.queries(), 0u);
  c.h = "to:FROM:subject";  // any case
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::pass, errc::ok);
}

// RFC 6376 §3.5 i=: "the domain part ... MUST be the same as, or a subdomain of, the value of the
// d= tag".
TEST(verify_result, auid_outside_sdid_is_permerror) {
  for (const char* i : {"@badexample.com", "@example.org", "user@com", "@example.com.evil.net"}) {
    static_resolver dns;
  publish(dns);
    craft c = ed();
    c.i = i;
    EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::permerror,
                  errc::auid_outside_sdid)
        << i;
    EXPECT_EQ(dns.queries(), 0u);
  }
  for (const char* i : {"@example.com", "alice@EXAMPLE.COM", "a@b.sub.example.com"}) {
    static_resolver dns;
  publish(dns);
    craft c = ed();
    c.i = i;
    verification v = one(crafted(test::sample_message(), test::ed25519(), c), dns);
    EXPECT_RESULT(v, status::pass, errc::ok) << i;
    EXPECT_EQ(v.auid, i);
  }
}

// RFC 8301 §3.1: rsa-sha1 MUST NOT be accepted... unless explicitly allowed (pass then).
TEST(verify_result, rsa_sha1_is_policy_unless_allowed) {
  static_resolver dns;
  publish(dns);
  craft c = rsa();
  c.algo = algorithm::rsa_sha1;
  const std::string msg = crafted(test::sample_message(), test::rsa2048(), c);
  ASSERT_NE(msg.find("a=rsa-sha1;"), std::string::npos);
  EXPECT_RESULT(one(msg, dns), status::policy, errc::sha1_not_allowed);
  EXPECT_EQ(dns.queries(), 0u);
  verify_options o = opts(dns);
  o.allow_sha1 = true;
  verification v = one(msg, dns, o);
  EXPECT_RESULT(v, status::pass, errc::ok);
  EXPECT_EQ(v.algorithm, "rsa-sha1");
  // Tampering is still detected with sha1.
  EXPECT_RESULT(one(replace(msg, "Lunch", "Dinner"), dns, o), status::fail, errc::signature_mismatch);
}

// RFC 8301 §3.2: RSA keys under 1024 bits are refused (policy), whatever the signature.
TEST(verify_result, small_rsa_keys_are_policy) {
  for (unsigned bits : {512u, 768u}) {
    static_resolver dns;
  publish(dns);
    craft c = rsa();
    c.s = "small" + std::to_string(bits);
    c.algo = algorithm::rsa_sha256;
    const std::string msg = crafted(test::sample_message(), test::rsa_small(bits), c);
    verification v = one(msg, dns);
    EXPECT_RESULT(v, status::policy, errc::key_too_small);
    EXPECT_EQ(v.key_bits, bits);
    verify_options o = opts(dns);
    o.min_rsa_bits = 512;  // the signature itself is good
    EXPECT_RESULT(one(msg, dns, o), status::pass, errc::ok);
  }
  static_resolver dns;
  publish(dns);
  craft c = rsa();
  c.s = "rsa1024";
  const std::string msg = crafted(test::sample_message(), test::rsa1024(), c);
  EXPECT_RESULT(one(msg, dns), status::pass, errc::ok);
  verify_options o = opts(dns);
  o.min_rsa_bits = 2048;
  EXPECT_RESULT(one(msg, dns, o), status::policy, errc::key_too_small);
}

// RFC 6376 §3.5 x=: "Signatures MAY be considered invalid if the verification time at the verifier
// is past the expiration date" (with the documented clock-skew tolerance).
TEST(verify_result, expired_is_policy) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.t = kNow - 7200;
  c.x = kNow - 3600;
  const std::string msg = crafted(test::sample_message(), test::ed25519(), c);
  EXPECT_RESULT(one(msg, dns), status::policy, errc::signature_expired);
  EXPECT_EQ(dns.queries(), 0u);
  verify_options no_clock = opts(dns);
  no_clock.now = nullptr;  // unset: x= is not checked
  EXPECT_RESULT(one(msg, dns, no_clock), status::pass, errc::ok);

  c.x = kNow - 100;  // inside the default 300 s tolerance
  const std::string recent = crafted(test::sample_message(), test::ed25519(), c);
  EXPECT_RESULT(one(recent, dns), status::pass, errc::ok);
  verify_options strict = opts(dns);
  strict.max_clock_skew = 0;
  EXPECT_RESULT(one(recent, dns, strict), status::policy, errc::signature_expired);
  c.x = kNow;  // expires right now: not yet past
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns, strict), status::pass,
                errc::ok);
}

// RFC 6376 §3.5 t=: "Implementations MAY ignore signatures that have a timestamp in the future".
TEST(verify_result, future_timestamp_is_policy) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.t = kNow + 3600;
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::policy,
                errc::signature_in_future);
  EXPECT_EQ(dns.queries(), 0u);
  c.t = kNow + 300;  // at the tolerance
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::pass, errc::ok);
  c.t = kNow + 301;
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::policy,
                errc::signature_in_future);
}

// verify_options::max_clock_skew is a tolerance: a larger one never rejects more signatures. A huge
// tolerance (a caller disabling time checks) must not wrap around.
TEST(verify_result, huge_clock_skew_does_not_wrap) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.t = kNow;
  c.x = kNow + 3600;
  const std::string msg = crafted(test::sample_message(), test::ed25519(), c);
  verify_options o = opts(dns);
  EXPECT_RESULT(one(msg, dns, o), status::pass, errc::ok);
  o.max_clock_skew = UINT64_MAX;
  const verification v = one(msg, dns, o);
  EXPECT_RESULT(v, status::pass, errc::ok);
}

// RFC 6376 §3.5 l=, §8.2: a body longer than l= is a local policy decision.
TEST(verify_result, body_length_shorter_than_body) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.l = 10;
  const std::string msg = crafted(test::sample_message(), test::ed25519(), c);
  verification v = one(msg, dns);
  EXPECT_RESULT(v, status::policy, errc::body_length_partial);
  EXPECT_EQ(v.body_length, 10u);
  verify_options o = opts(dns);
  o.allow_partial_body = true;
  EXPECT_RESULT(one(msg, dns, o), status::pass, errc::ok);
  // Content appended beyond l= does not break the hash.
  EXPECT_RESULT(one(msg + "Appended by a list\r\n", dns, o), status::pass, errc::ok);
  // ... but a change inside the first l= octets does.
  EXPECT_RESULT(one(replace(msg, "Shall", "Shalt"), dns, o), status::fail, errc::body_hash_mismatch);
}

// RFC 6376 §3.5 l=: exactly the canonical body length passes.
TEST(verify_result, body_length_exact) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.l = std::string("Shall we meet at noon?\r\n\r\nAlice\r\n").size();
  verification v = one(crafted(test::sample_message(), test::ed25519(), c), dns);
  EXPECT_RESULT(v, status::pass, errc::ok);
  c.l = 0;  // zero is a value: the signature covers no body octet
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::policy,
                errc::body_length_partial);
}

// RFC 6376 §3.5 l= "MUST NOT be larger than the actual number of octets in the canonicalized
// message body": an inconsistent tag value, so PERMFAIL (§6.1.1), permerror; the reason gives
// both numbers.
TEST(verify_result, body_length_longer_than_body) {
  static_resolver dns;
  publish(dns);
  craft c = ed();
  c.l = 1000;
  verification v = one(crafted(test::sample_message(), test::ed25519(), c), dns);
  EXPECT_RESULT(v, status::permerror, errc::body_length_exceeds);
  const std::string body_len = std::to_string(canonical_body_length(test::sample_message()));
  EXPECT_NE(v.reason.find("l=1000"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find(" " + body_len + " octets"), std::string::npos) << v.reason;
  verify_options o = opts(dns);
  o.allow_partial_body = true;
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns, o),
                status::permerror, errc::body_length_exceeds);
  // One octet over is as wrong as 1000; exactly the body's length passes.
  c.l = std::stoull(body_len) + 1;
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns),
                status::permerror, errc::body_length_exceeds);
  c.l = std::stoull(body_len);
  EXPECT_EQ(one(crafted(test::sample_message(), test::ed25519(), c), dns).status, status::pass);
}

// --- cryptographic results (fail) ---------------------------------------------------------------

// RFC 6376 §6.1.3: a body changed after signing fails the body hash.
TEST(verify_result, tampered_body_fails) {
  static_resolver dns;
  publish(dns);
  const std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  EXPECT_RESULT(one(replace(msg, "noon", "nine"), dns), status::fail, errc::body_hash_mismatch);
  EXPECT_RESULT(one(msg + "P.S.\r\n", dns), status::fail, errc::body_hash_mismatch);
  // Trailing empty lines are not part of the canonical body.
  EXPECT_RESULT(one(msg + "\r\n\r\n", dns), status::pass, errc::ok);
}

// RFC 6376 §6.1.3: a changed signed header field fails the signature.
TEST(verify_result, tampered_signed_header_fails) {
  static_resolver dns;
  publish(dns);
  const std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  EXPECT_RESULT(one(replace(msg, "Subject: Lunch", "Subject: Munch"), dns), status::fail,
                errc::signature_mismatch);
  EXPECT_RESULT(one(replace(msg, "To: Bob", "To: Rob"), dns), status::fail, errc::signature_mismatch);
  // A field that is not signed may change.
  EXPECT_RESULT(one(replace(msg, "Date: Thu", "Date: Fri"), dns), status::pass, errc::ok);
  // Relaxed header canonicalization tolerates case in names and white space.
  EXPECT_RESULT(one(replace(msg, "Subject: Lunch", "SUBJECT:\r\n \t Lunch  "), dns), status::pass,
                errc::ok);
  // The signature field itself is signed (with b= emptied).
  EXPECT_RESULT(one(replace(msg, "t=" + std::to_string(kNow), "t=" + std::to_string(kNow - 1)), dns),
                status::fail, errc::signature_mismatch);
}

// RFC 6376 §3.5 b=: a signature that does not match.
TEST(verify_result, tampered_b_fails) {
  static_resolver dns;
  publish(dns);
  std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  const std::size_t b = msg.find("b=", msg.find("bh=") + 3) + 2;
  msg[b + 5] = msg[b + 5] == 'A' ? 'B' : 'A';
  EXPECT_RESULT(one(msg, dns), status::fail, errc::signature_mismatch);
}

// --- DNS and key records ------------------------------------------------------------------------

std::string with_selector(std::string_view s, const private_key& key = test::ed25519()) {
  craft c = key.type() == key_type::ed25519 ? ed() : rsa();
  c.s = std::string(s);
  return crafted(test::sample_message(), key, c);
}

// RFC 6376 §6.1.2: NXDOMAIN, or no key record at the name: PERMFAIL (no key for signature).
TEST(verify_result, key_not_found) {
  static_resolver dns;
  publish(dns);
  dns.add_name("empty._domainkey.example.com");
  dns.add("spf._domainkey.example.com", "v=spf1 -all");
  EXPECT_RESULT(one(with_selector("missing"), dns), status::permerror, errc::key_not_found);
  EXPECT_RESULT(one(with_selector("empty"), dns), status::permerror, errc::key_not_found);
  EXPECT_RESULT(one(with_selector("spf"), dns), status::permerror, errc::key_not_found);
}

// RFC 6376 §6.1.2: "If the query for the public key fails to respond, the Verifier MAY seek a
// later verification attempt by returning TEMPFAIL".
TEST(verify_result, temporary_dns_failure_is_temperror) {
  static_resolver dns;
  publish(dns);
  dns.set_temporary("slow._domainkey.example.com", "timeout after 5 s");
  verification v = one(with_selector("slow"), dns);
  EXPECT_RESULT(v, status::temperror, errc::dns_temporary);
  EXPECT_NE(v.reason.find("timeout after 5 s"), std::string::npos) << v.reason;
}

// No resolver configured: nothing can be fetched (documented: temperror).
TEST(verify_result, no_resolver_is_temperror) {
  verify_options o;
  o.now = [] { return kNow; };
  auto r = verify(with_selector("ed"), o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_RESULT(r[0], status::temperror, errc::dns_temporary);
}

// RFC 6376 §3.6.2.2: several DKIM key records at the name are ambiguous (documented: permerror);
// other TXT records there are ignored.
TEST(verify_result, key_records_at_the_name) {
  static_resolver dns;
  publish(dns);
  dns.add("two._domainkey.example.com", test::ed25519().public_record());
  dns.add("two._domainkey.example.com", test::ed25519().public_record());
  dns.add("mixed._domainkey.example.com", "v=spf1 -all");
  dns.add("mixed._domainkey.example.com", "google-site-verification=xyz");
  dns.add("mixed._domainkey.example.com", test::ed25519().public_record());
  EXPECT_RESULT(one(with_selector("two"), dns), status::permerror, errc::key_ambiguous);
  EXPECT_RESULT(one(with_selector("mixed"), dns), status::pass, errc::ok);
}

// RFC 6376 §3.6.1: an empty p= means the key was revoked.
TEST(verify_result, revoked_key) {
  static_resolver dns;
  publish(dns);
  dns.add("revoked._domainkey.example.com", "v=DKIM1; k=ed25519; p=");
  EXPECT_RESULT(one(with_selector("revoked"), dns), status::permerror, errc::key_revoked);
}

// RFC 6376 §6.1.2 and §3.6.1: the key record's checks.
TEST(verify_result, key_record_checks) {
  static_resolver dns;
  publish(dns);
  const std::string ed_p = test::ed25519().public_record_value();
  const std::string rsa_p = test::rsa2048().public_record_value();
  dns.add("edasrsa._domainkey.example.com", "v=DKIM1; k=rsa; p=" + rsa_p);
  dns.add("rsaased._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + ed_p);
  dns.add("sha1only._domainkey.example.com", "v=DKIM1; k=ed25519; h=sha1; p=" + ed_p);
  dns.add("sha256only._domainkey.example.com", "v=DKIM1; k=ed25519; h=sha256; p=" + ed_p);
  dns.add("notemail._domainkey.example.com", "v=DKIM1; k=ed25519; s=web; p=" + ed_p);
  dns.add("anysvc._domainkey.example.com", "v=DKIM1; k=ed25519; s=*; p=" + ed_p);
  dns.add("v2._domainkey.example.com", "v=DKIM2; k=ed25519; p=" + ed_p);
  dns.add("vlast._domainkey.example.com", "k=ed25519; p=" + ed_p + "; v=DKIM1");
  dns.add("badk._domainkey.example.com", "v=DKIM1; k=ed2025; p=" + ed_p);
  dns.add("short._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + ed_p.substr(0, 40));
  dns.add("trunc._domainkey.example.com", "v=DKIM1; k=rsa; p=" + rsa_p.substr(0, 200));
  dns.add("b64._domainkey.example.com", "v=DKIM1; k=ed25519; p=***");

  // RFC 8463 §4 / RFC 6376 §3.6.1 k=: the key type must match a=.
  EXPECT_RESULT(one(with_selector("edasrsa"), dns), status::permerror, errc::key_type_mismatch);
  EXPECT_RESULT(one(with_selector("rsaased", test::rsa2048()), dns), status::permerror,
                errc::key_type_mismatch);
  // §3.6.1 h=: the signature's hash must be listed.
  EXPECT_RESULT(one(with_selector("sha1only"), dns), status::permerror, errc::key_hash_mismatch);
  EXPECT_RESULT(one(with_selector("sha256only"), dns), status::pass, errc::ok);
  // §3.6.1 s=: the key must be for email.
  EXPECT_RESULT(one(with_selector("notemail"), dns), status::permerror, errc::key_service_mismatch);
  EXPECT_RESULT(one(with_selector("anysvc"), dns), status::pass, errc::ok);
  // §3.6.1 v=, k=, p=: malformed records.
  EXPECT_RESULT(one(with_selector("v2"), dns), status::permerror, errc::key_syntax);
  EXPECT_RESULT(one(with_selector("vlast"), dns), status::permerror, errc::key_syntax);
  EXPECT_RESULT(one(with_selector("badk"), dns), status::permerror, errc::key_syntax);
  EXPECT_RESULT(one(with_selector("b64"), dns), status::permerror, errc::key_syntax);
  EXPECT_RESULT(one(with_selector("short"), dns), status::permerror, errc::key_bad);
  EXPECT_RESULT(one(with_selector("trunc", test::rsa2048()), dns), status::permerror, errc::key_bad);
}

// RFC 8301 §3.2 / documented cap: RSA keys above key_limits::max_rsa_bits are refused.
TEST(verify_result, oversized_rsa_key_is_permerror) {
  static_resolver dns;
  publish(dns);
  std::string n(2048, '\x5a');
  n.front() = '\xc3';
  n.back() = '\x01';
  dns.add("huge._domainkey.example.com",
          test::record_with_p(test::rsa_spki_der(test::rsa_public_key_der(n, std::string("\x01\x00\x01", 3)))));
  EXPECT_RESULT(one(with_selector("huge", test::rsa2048()), dns), status::permerror,
                errc::key_too_large);
}

// A bare PKCS#1 RSAPublicKey in p= verifies like the SubjectPublicKeyInfo form.
TEST(verify_result, pkcs1_key_record_passes) {
  static_resolver dns;
  publish(dns);
  dns.add("pkcs1._domainkey.example.com", test::record_with_p(test::pkcs1_of(test::rsa2048())));
  EXPECT_RESULT(one(with_selector("pkcs1", test::rsa2048()), dns), status::pass, errc::ok);
}

// RFC 6376 §3.6.1 t=s: "the "i=" domain MUST NOT be a subdomain of "d="".
TEST(verify_result, strict_key_refuses_subdomain_auid) {
  static_resolver dns;
  publish(dns);
  dns.add("strict._domainkey.example.com",
          "v=DKIM1; k=ed25519; t=s; p=" + test::ed25519().public_record_value());
  craft c = ed();
  c.s = "strict";
  c.i = "user@sub.example.com";
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::permerror,
                errc::key_strict_subdomain);
  c.i = "user@Example.com";
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::pass, errc::ok);
  c.i.reset();
  EXPECT_RESULT(one(crafted(test::sample_message(), test::ed25519(), c), dns), status::pass, errc::ok);
}

// RFC 6376 §3.6.1 t=y: the domain is testing DKIM; results are reported as usual, flagged.
TEST(verify_result, testing_key_passes_with_flag) {
  static_resolver dns;
  publish(dns);
  dns.add("testing._domainkey.example.com",
          "v=DKIM1; k=ed25519; t=y; p=" + test::ed25519().public_record_value());
  verification v = one(with_selector("testing"), dns);
  EXPECT_RESULT(v, status::pass, errc::ok);
  EXPECT_TRUE(v.testing);
  const std::string tampered = replace(with_selector("testing"), "noon", "nine");
  verification f = one(tampered, dns);
  EXPECT_RESULT(f, status::fail, errc::body_hash_mismatch);
  EXPECT_TRUE(f.testing);
}

// A resolver that records the names it is asked for and answers with a DNSSEC state.
class recording_resolver final : public txt_resolver {
 public:
  explicit recording_resolver(std::string record) : record_(std::move(record)) {}
  txt_answer lookup_txt(const std::string& name) const override {
    names.push_back(name);
    txt_answer a;
    a.status = dns_status::found;
    a.records = {"v=spf1 -all", record_};
    a.dnssec = dnssec_status::secure;
    return a;
  }
  mutable std::vector<std::string> names;

 private:
  std::string record_;
};

// RFC 6376 §3.6.2.1: the query is "selector._domainkey.domain" (d= and s= lowercased, no trailing
// dot); the DNSSEC state of the answer is reported with the result.
TEST(verify_result, query_name_and_dnssec_state) {
  recording_resolver dns(test::ed25519().public_record());
  craft c = ed();
  c.s = "Sel.Two";
  c.d = "Example.COM";
  verify_options o;
  o.resolver = &dns;
  o.now = [] { return kNow; };
  auto r = verify(crafted(test::sample_message(), test::ed25519(), c), o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_RESULT(r[0], status::pass, errc::ok);
  EXPECT_EQ(r[0].dnssec, dnssec_status::secure);
  EXPECT_EQ(r[0].sdid, "example.com");
  EXPECT_EQ(dns.names, (std::vector<std::string>{"sel.two._domainkey.example.com"}));
}

// Two signatures with the same key: one query, and both report its DNSSEC state (not only the
// first, which fetched it).
TEST(verify_result, dnssec_state_for_every_signature_of_a_shared_key) {
  recording_resolver dns(test::ed25519().public_record());
  craft simple = ed();
  simple.header = canonicalization::simple;
  const std::string once = crafted(test::sample_message(), test::ed25519(), ed());
  const std::string twice = crafted(once, test::ed25519(), simple);
  verify_options o;
  o.resolver = &dns;
  o.now = [] { return kNow; };
  auto r = verify(twice, o);
  ASSERT_EQ(r.size(), 2u);
  for (const auto& v : r) {
    EXPECT_RESULT(v, status::pass, errc::ok);
    EXPECT_EQ(v.dnssec, dnssec_status::secure);
  }
  EXPECT_EQ(dns.names.size(), 1u);
}

// resolver.hpp: static_resolver names are case-insensitive and may carry a trailing dot.
TEST(verify_result, static_resolver_names_case_insensitive) {
  static_resolver dns;
  dns.add("ED._domainkey.Example.COM.", test::ed25519().public_record());
  EXPECT_RESULT(one(with_selector("ed"), dns), status::pass, errc::ok);
}

// RFC 6376 §3.5 s=: a dotted selector is queried as is, below _domainkey.
TEST(verify_result, dotted_selector) {
  static_resolver dns;
  publish(dns);
  dns.add("a.b._domainkey.example.com", test::ed25519().public_record());
  verification v = one(with_selector("a.b"), dns);
  EXPECT_RESULT(v, status::pass, errc::ok);
  EXPECT_EQ(v.selector, "a.b");
}

// --- DKIM-Signature syntax (neutral), never a DNS query -----------------------------------------

// RFC 6376 §6.1.1 (and README mapping): a DKIM-Signature that cannot be parsed is neutral.
TEST(verify_result, syntax_errors_are_neutral_without_dns) {
  const std::string bh = "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  const std::string good_rest = "d=example.com; s=ed; h=from:to; " + bh + "; b=AAAA";
  struct row {
    std::string value;
    errc code;
  };
  const std::vector<row> rows = {
      {" a=ed25519-sha256; " + good_rest, errc::tag_missing},
      {" v=2; a=ed25519-sha256; " + good_rest, errc::bad_version},
      {" v=1.0; a=ed25519-sha256; " + good_rest, errc::bad_version},
      {" v=1; v=1; a=ed25519-sha256; " + good_rest, errc::tag_duplicate},
      {" v=1; a=ed25519-sha256; d=a.com; d=b.com; s=ed; h=from; " + bh + "; b=AAAA", errc::tag_duplicate},
      {" v=1; a=ed25519-sha256; foo; " + good_rest, errc::tag_syntax},
      {" v=1; a=ed25519-sha256; d-x=1; " + good_rest, errc::tag_syntax},
      {" v=1; 1d=1; a=ed25519-sha256; " + good_rest, errc::tag_syntax},
      {" ;", errc::tag_syntax},
      {" \t ", errc::tag_syntax},
      {" v=1; a=rsa-sha512; " + good_rest, errc::unsupported_algorithm},
      {" v=1; a=foo; " + good_rest, errc::unsupported_algorithm},
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; " + bh + "; b=AA*A", errc::bad_base64},
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; " + bh + "; b=", errc::bad_base64},
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; bh=QUFB; b=AAAA", errc::bad_body_hash_length},
      {" v=1; a=ed25519-sha256; c=relaxed/foo; " + good_rest, errc::bad_canonicalization},
      {" v=1; a=ed25519-sha256; c=simple/relaxed/x; " + good_rest, errc::bad_canonicalization},
      {" v=1; a=ed25519-sha256; d=exa\\mple.com; s=ed; h=from; " + bh + "; b=AAAA", errc::bad_domain},
      {" v=1; a=ed25519-sha256; d=" + std::string(64, 'a') + ".com; s=ed; h=from; " + bh + "; b=AAAA",
       errc::bad_domain},
      {" v=1; a=ed25519-sha256; d=example.com; s=a..b; h=from; " + bh + "; b=AAAA", errc::bad_selector},
      {" v=1; a=ed25519-sha256; d=example.com; s=.ed; h=from; " + bh + "; b=AAAA", errc::bad_selector},
      {" v=1; a=ed25519-sha256; d=example.com; s=evil.com.\0.x; h=from; "s + bh + "; b=AAAA",
       errc::tag_syntax},
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; h=from::to; " + bh + "; b=AAAA",
       errc::bad_header_list},
      {" v=1; a=ed25519-sha256; i=nobody; " + good_rest, errc::bad_auid},
      {" v=1; a=ed25519-sha256; l=-1; " + good_rest, errc::bad_length},
      {" v=1; a=ed25519-sha256; l=" + std::string(77, '9') + "; " + good_rest, errc::bad_length},
      {" v=1; a=ed25519-sha256; t=abc; " + good_rest, errc::bad_timestamp},
      {" v=1; a=ed25519-sha256; t=100; x=100; " + good_rest, errc::bad_timestamp},
      {" v=1; a=ed25519-sha256; x=" + std::string(20, '9') + "; " + good_rest, errc::bad_timestamp},
      {" v=1; a=ed25519-sha256; q=http; " + good_rest, errc::unsupported_query_method},
      {" v=1; a=ed25519-sha256; zz=" + std::string(70000, 'z') + "; " + good_rest,
       errc::signature_too_large},
  };
  for (const row& r : rows) {
    static_resolver dns;
  publish(dns);
    const std::string msg = "DKIM-Signature:" + r.value + "\r\n" + test::sample_message();
    verification v = one(msg, dns);
    EXPECT_RESULT(v, status::neutral, r.code) << testing::PrintToString(r.value.substr(0, 100));
    EXPECT_EQ(dns.queries(), 0u) << r.value.substr(0, 100);
  }
}

// Field names are case-insensitive: "dkim-signature:" and "DKIM-SIGNATURE:" are recognised.
TEST(verify_result, signature_field_name_any_case) {
  static_resolver dns;
  publish(dns);
  const std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  ASSERT_EQ(msg.rfind("DKIM-Signature:", 0), 0u);
  for (const char* name : {"dkim-signature:", "DKIM-SIGNATURE:", "Dkim-Signature :"}) {
    EXPECT_RESULT(one(name + msg.substr(15), dns), status::pass, errc::ok) << name;
  }
}

// --- several signatures -------------------------------------------------------------------------

// One malformed signature never stops the others; results come in header order.
TEST(verify_result, each_signature_has_its_own_result) {
  static_resolver dns;
  publish(dns);
  const std::string good = crafted(test::sample_message(), test::ed25519(), ed());
  const std::string msg = "DKIM-Signature: v=2; garbage=1\r\nX-Other: 1\r\n" + good;
  auto r = verify(msg, opts(dns));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, status::neutral);
  EXPECT_EQ(r[0].field_index, 0u);
  EXPECT_RESULT(r[1], status::pass, errc::ok);
  EXPECT_EQ(r[1].field_index, 2u);
  EXPECT_EQ(overall(r), status::pass);
}

// Issue 10, RFC 6376 §2.11/§3.5: i= is dkim-quoted-printable. Valid signatures whose i= encodes
// characters pass, and what is reported (JSON, Authentication-Results) is the decoded identity.
TEST(verify_result, auid_is_decoded_before_checks_and_reports) {
  static_resolver dns;
  publish(dns);
  for (const char* i : {"jlong@example=2Ecom", "jlong=40example.com", "=6Along@example.com",
                        "jlong@mail=2Eexample.com"}) {
    craft c = ed();
    c.i = i;
    auto r = verify(crafted(test::sample_message(), test::ed25519(), c), opts(dns));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_RESULT(r[0], status::pass, errc::ok) << i;
    const std::string want = std::string(i) == "jlong@mail=2Eexample.com" ? "jlong@mail.example.com"
                                                                          : "jlong@example.com";
    EXPECT_EQ(r[0].auid, want) << i;
    const std::string ar = format_auth_results("mx.example.net", r);
    EXPECT_NE(ar.find("header.i=" + want), std::string::npos) << ar;
    EXPECT_EQ(ar.find('='  + std::string("6A")), std::string::npos) << ar;
  }
  // The decoded domain is what must be d= or under it.
  craft c = ed();
  c.i = "jlong@evil=2Eexample";
  auto r = verify(crafted(test::sample_message(), test::ed25519(), c), opts(dns));
  EXPECT_RESULT(r[0], status::permerror, errc::auid_outside_sdid);
  // Not decodable: neutral, and no identity reported.
  c.i = "jlong=4@example.com";
  r = verify(crafted(test::sample_message(), test::ed25519(), c), opts(dns));
  EXPECT_RESULT(r[0], status::neutral, errc::bad_auid);
  EXPECT_EQ(r[0].auid, "");
}

// Documented: at most max_signatures (default 5) are evaluated; the rest are policy
// (not_evaluated) with no DNS query.
TEST(verify_result, signatures_beyond_the_limit_not_evaluated) {
  static_resolver dns;
  publish(dns);
  std::string msg = test::sample_message();
  for (int i = 6; i >= 0; --i) {
    const std::string sel = "s" + std::to_string(i);
    dns.add(sel + "._domainkey.example.com", test::ed25519().public_record());
    craft c = ed();
    c.s = sel;
    msg = crafted(msg, test::ed25519(), c);
  }
  auto r = verify(msg, opts(dns));
  ASSERT_EQ(r.size(), 7u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_RESULT(r[i], status::pass, errc::ok);
    EXPECT_EQ(r[i].selector, "s" + std::to_string(i));
  }
  for (std::size_t i = 5; i < 7; ++i) {
    EXPECT_RESULT(r[i], status::policy, errc::not_evaluated);
    EXPECT_EQ(r[i].selector, "s" + std::to_string(i));  // still reported
  }
  EXPECT_EQ(dns.queries(), 5u);

  static_resolver dns2;
  publish(dns2);
  for (int i = 0; i < 7; ++i)
    dns2.add("s" + std::to_string(i) + "._domainkey.example.com", test::ed25519().public_record());
  verify_options o = opts(dns2);
  o.max_signatures = 2;
  r = verify(msg, o);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[1].status, status::pass);
  EXPECT_EQ(r[2].code, errc::not_evaluated);
  EXPECT_EQ(dns2.queries(), 2u);
}

// Hostile input #31: 50 signatures with the same d= and s= make one DNS query.
TEST(verify_result, same_key_queried_once) {
  static_resolver dns;
  publish(dns);
  std::string msg = test::sample_message();
  for (int i = 0; i < 50; ++i) msg = crafted(msg, test::ed25519(), ed());
  verify_options o = opts(dns);
  o.max_signatures = 50;
  auto r = verify(msg, o);
  ASSERT_EQ(r.size(), 50u);
  for (const auto& v : r) EXPECT_RESULT(v, status::pass, errc::ok);
  EXPECT_EQ(dns.queries(), 1u);
}

// Hostile input #30: 1000 DKIM-Signature fields: each reported, at most max_signatures queries.
TEST(verify_result, thousand_signatures_bounded_work) {
  static_resolver dns;
  publish(dns);
  const std::string one_sig = test::craft_field(test::sample_message(), test::ed25519(), ed());
  std::string msg;
  for (int i = 0; i < 1000; ++i) {
    std::string f = one_sig;
    f.replace(f.find("s=ed;"), 5, "s=s" + std::to_string(i) + ";");
    msg += f + "\r\n";
  }
  msg += test::sample_message();
  auto r = verify(msg, opts(dns));
  ASSERT_EQ(r.size(), 1000u);
  EXPECT_LE(dns.queries(), 5u);
  for (std::size_t i = 5; i < r.size(); ++i) EXPECT_RESULT(r[i], status::policy, errc::not_evaluated);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(r[i].status, status::permerror);  // s<i> not published
  EXPECT_EQ(r[999].selector, "s999");
  // Issue 10: the 995 signatures not evaluated (policy) do not lift the message above its five
  // evaluated permerrors.
  EXPECT_EQ(overall(r), status::permerror);
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].evaluated(), i < 5) << i;
  // Our Authentication-Results: the five evaluated entries and one for the rest together.
  const std::string ar = format_auth_results("mx.example.net", r);
  EXPECT_LT(ar.size(), 4096u);
  auto parsed = parse_auth_results(ar.substr(ar.find(':') + 1));
  ASSERT_TRUE(parsed) << parsed.error().message() << "\n" << ar;
  ASSERT_EQ(parsed->results.size(), 6u) << ar;
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(parsed->results[i].result, "permerror");
  EXPECT_EQ(parsed->results[5].result, "policy");
  EXPECT_NE(parsed->results[5].comment.find("995 signatures not evaluated"), std::string::npos)
      << parsed->results[5].comment;
}

// Issue 10: the message's result comes from the evaluated signatures only, whatever they gave;
// a pass among the evaluated ones still wins, and a message none of whose signatures could be
// evaluated (max_signatures = 0) is policy, not none.
TEST(verify_result, not_evaluated_never_lifts_the_message) {
  static_resolver dns;
  publish(dns);
  const std::string good = test::craft_field(test::sample_message(), test::ed25519(), ed());
  std::string msg;
  // Two signatures with a d= that has no key (permerror), then five good ones.
  std::string unknown = good;
  unknown.replace(unknown.find("s=ed;"), 5, "s=nokey;");
  msg = unknown + "\r\n" + unknown + "\r\n";
  for (int i = 0; i < 5; ++i) msg += good + "\r\n";
  msg += test::sample_message();
  verify_options o = opts(dns);
  o.max_signatures = 2;
  auto r = verify(msg, o);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].status, status::permerror);
  EXPECT_EQ(r[1].status, status::permerror);
  EXPECT_EQ(overall(r), status::permerror);  // before the fix: policy
  o.max_signatures = 3;
  r = verify(msg, o);
  EXPECT_EQ(overall(r), status::pass);
  o.max_signatures = 0;
  r = verify(msg, o);
  for (const auto& v : r) EXPECT_FALSE(v.evaluated());
  EXPECT_EQ(overall(r), status::policy);
  verification not_evaluated;
  not_evaluated.status = status::policy;
  not_evaluated.code = errc::not_evaluated;
  verification temp;
  temp.status = status::temperror;
  temp.code = errc::dns_temporary;
  verification neutral;
  neutral.status = status::neutral;
  neutral.code = errc::tag_syntax;
  EXPECT_EQ(overall({neutral, not_evaluated}), status::neutral);
  EXPECT_EQ(overall({temp, not_evaluated}), status::temperror);
}

// Hostile input #63: one header line of 1.5 MiB: the documented cap applies, signatures permerror.
TEST(verify_result, huge_header_line) {
  static_resolver dns;
  publish(dns);
  std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  msg = replace(msg, "Date:", "X-Huge: " + std::string(1536 * 1024, 'h') + "\r\nDate:");
  auto r = verify(msg, opts(dns));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_RESULT(r[0], status::permerror, errc::header_too_large);
  EXPECT_EQ(dns.queries(), 0u);
}

// Hostile input #57: CR-only line endings are not line endings; no crash, a deterministic result.
TEST(verify_result, cr_only_line_endings) {
  static_resolver dns;
  publish(dns);
  std::string msg = crafted(test::sample_message(), test::ed25519(), ed());
  for (std::size_t p; (p = msg.find("\r\n")) != std::string::npos;) msg.erase(p + 1, 1);
  const auto a = verify(msg, opts(dns));
  const auto b = verify(msg, opts(dns));
  ASSERT_EQ(a.size(), b.size());
  // The whole message is one header field (no CRLF anywhere): the DKIM-Signature field.
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status, b[0].status);
  EXPECT_NE(a[0].status, status::pass);
}

// --- message content ----------------------------------------------------------------------------

// A message that ends inside its header block has an empty body (hostile input #61).
TEST(verify_result, message_ending_inside_header) {
  static_resolver dns;
  publish(dns);
  const std::string header_only = "From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n";
  for (auto body : {canonicalization::simple, canonicalization::relaxed}) {
    craft c = ed();
    c.body = body;
    const std::string field = test::craft_field(header_only + "\r\n", test::ed25519(), c);
    EXPECT_RESULT(one(field + "\r\n" + header_only + "\r\n", dns), status::pass, errc::ok);
    EXPECT_RESULT(one(field + "\r\n" + header_only, dns), status::pass, errc::ok);
    const std::string no_crlf = field + "\r\n" + header_only.substr(0, header_only.size() - 2);
    EXPECT_RESULT(one(no_crlf, dns), status::pass, errc::ok);
  }
}

// Hostile input #58: NUL bytes in the body and in header values are hashed as bytes.
TEST(verify_result, nul_bytes_hashed_as_bytes) {
  static_resolver dns;
  publish(dns);
  const std::string message =
      "From: a@example.com\r\nTo: b@example.org\r\nSubject: x\0tail\r\n\r\nbody\0more\r\n"s;
  for (auto h : {canonicalization::simple, canonicalization::relaxed}) {
    craft c = ed();
    c.header = h;
    c.body = h;
    const std::string msg = crafted(message, test::ed25519(), c);
    EXPECT_RESULT(one(msg, dns), status::pass, errc::ok);
    EXPECT_RESULT(one(replace(msg, "more", "mire"), dns), status::fail, errc::body_hash_mismatch);
    EXPECT_RESULT(one(replace(msg, "tail", "tall"), dns), status::fail, errc::signature_mismatch);
  }
}

// Hostile input #56: LF-only line endings are normalised to CRLF, then verified.
TEST(verify_result, lf_only_message_verifies) {
  static_resolver dns;
  publish(dns);
  for (auto h : {canonicalization::simple, canonicalization::relaxed})
    for (auto b : {canonicalization::simple, canonicalization::relaxed}) {
      std::string msg = test::sign_with(test::sample_message(), test::rsa2048(), "rsa", h, b);
      std::string lf;
      for (std::size_t i = 0; i < msg.size(); ++i)
        if (!(msg[i] == '\r' && i + 1 < msg.size() && msg[i + 1] == '\n')) lf += msg[i];
      ASSERT_EQ(lf.find('\r'), std::string::npos);
      EXPECT_RESULT(one(lf, dns), status::pass, errc::ok);
    }
}

// 8-bit header values are hashed as bytes (hostile input #59).
TEST(verify_result, eight_bit_headers) {
  static_resolver dns;
  publish(dns);
  const std::string message =
      "From: \xc3\x89lodie <e@example.com>\r\nTo: b@example.org\r\nSubject: Caf\xc3\xa9\r\n\r\nx\r\n";
  const std::string msg = crafted(message, test::ed25519(), ed());
  EXPECT_RESULT(one(msg, dns), status::pass, errc::ok);
  EXPECT_RESULT(one(replace(msg, "Caf\xc3\xa9", "Caf\xc3\x89"), dns), status::fail,
                errc::signature_mismatch);
}

// --- result words ------------------------------------------------------------------------------

// The README's mapping from each reason to an RFC 8601 result word.
TEST(verify_status, status_of_every_code) {
  for (errc c : {errc::tag_syntax, errc::tag_duplicate, errc::tag_missing, errc::bad_version,
                 errc::unsupported_algorithm, errc::bad_base64, errc::bad_body_hash_length,
                 errc::bad_canonicalization, errc::bad_domain, errc::bad_selector,
                 errc::bad_header_list, errc::bad_auid, errc::bad_length, errc::bad_timestamp,
                 errc::unsupported_query_method, errc::signature_too_large})
    EXPECT_EQ(status_of(c), status::neutral) << to_string(c);
  for (errc c : {errc::from_not_signed, errc::auid_outside_sdid,
                 errc::no_from, errc::multiple_from, errc::malformed_header,
                 errc::header_too_large, errc::key_not_found, errc::key_revoked, errc::key_syntax,
                 errc::key_ambiguous, errc::key_type_mismatch, errc::key_hash_mismatch,
                 errc::key_service_mismatch, errc::key_strict_subdomain, errc::key_too_large,
                 errc::key_bad, errc::body_length_exceeds})
    EXPECT_EQ(status_of(c), status::permerror) << to_string(c);
  for (errc c : {errc::sha1_not_allowed, errc::key_too_small, errc::signature_expired,
                 errc::signature_in_future, errc::body_length_partial, errc::not_evaluated})
    EXPECT_EQ(status_of(c), status::policy) << to_string(c);
  for (errc c : {errc::body_hash_mismatch, errc::signature_mismatch})
    EXPECT_EQ(status_of(c), status::fail) << to_string(c);
  EXPECT_EQ(status_of(errc::dns_temporary), status::temperror);
  EXPECT_EQ(status_of(errc::ok), status::pass);
}

// Every code has its own fixed phrase; error::message() joins phrase and detail.
TEST(verify_status, phrases) {
  EXPECT_EQ(to_string(errc::body_hash_mismatch), "body hash mismatch");
  EXPECT_EQ((error{errc::tag_missing, "no 'b' tag"}.message()), "missing required tag: no 'b' tag");
  EXPECT_EQ((error{errc::key_revoked, ""}.message()), "key revoked");
  for (status s : {status::none, status::pass, status::fail, status::policy, status::neutral,
                   status::temperror, status::permerror})
    EXPECT_FALSE(to_string(s).empty());
  EXPECT_EQ(to_string(status::permerror), "permerror");
}

verification with_status(status s) {
  verification v;
  v.status = s;
  return v;
}

// Documented ranking: pass > temperror > policy > fail > neutral > permerror; none if empty.
TEST(verify_status, overall_ranking) {
  const std::vector<status> order = {status::pass, status::temperror, status::policy,
                                     status::fail, status::neutral, status::permerror};
  EXPECT_EQ(overall({}), status::none);
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(overall({with_status(order[i])}), order[i]);
    for (std::size_t j = i; j < order.size(); ++j) {
      EXPECT_EQ(overall({with_status(order[i]), with_status(order[j])}), order[i]);
      EXPECT_EQ(overall({with_status(order[j]), with_status(order[i])}), order[i]);
      if (j > i) {
        EXPECT_GT(rank(order[i]), rank(order[j]));
      }
    }
  }
  EXPECT_EQ(overall({with_status(status::permerror), with_status(status::neutral),
                     with_status(status::fail), with_status(status::temperror)}),
            status::temperror);
}

// Issue 11, finding 10: a signature that fails to parse reports only values that pass the checks
// parse_signature makes (d= a domain name, s= a selector, a= a short token, b= base64), so that
// no text of it reaches a log line, JSON or our Authentication-Results field as a value.
TEST(verify_result, broken_signature_reports_only_validated_values) {
  static_resolver dns;
  publish(dns);
  struct bad_tags {
    std::string d, s, a = "ed25519-sha256", b = "AAAA";
  };
  const bad_tags cases[] = {
      {"evil.example dir=sign result=signed", "ed"},
      {"evil.example\r\n\tresult=signed", "ed"},
      {"evil]example.com", "ed"},
      {"a=b.example", "ed"},
      {"example.com", "e d result=signed"},
      {"example.com", "e]d"},
      {"example.com", "e=d"},
      {"example.com", "ed\r\n\tdir=sign"},
      {"example.com", "ed", "rsa-sha256 result=signed", "AB]CD=x"},
      {"example.com", "ed", "rsa=sha256", "AB CD]E"},
  };
  for (const auto& c : cases) {
    // bh= of the wrong length: the signature does not parse (neutral).
    const std::string msg = "DKIM-Signature: v=1; a=" + c.a + "; d=" + c.d + "; s=" + c.s +
                            "; h=from; bh=AAAA; b=" + c.b + "\r\n" + test::sample_message();
    verification v = one(msg, dns);
    EXPECT_EQ(v.status, status::neutral) << c.d << " " << c.s;
    const bool d_ok = c.d == "example.com", s_ok = c.s == "ed";
    EXPECT_EQ(v.sdid, d_ok ? "example.com" : "") << c.d;
    EXPECT_EQ(v.selector, s_ok ? "ed" : "") << c.s;
    EXPECT_EQ(v.auid, d_ok ? "@example.com" : "") << c.d;
    EXPECT_EQ(v.algorithm, c.a == "ed25519-sha256" ? c.a : "") << c.a;
    EXPECT_EQ(v.b_prefix, c.b == "AAAA" ? "AAAA" : "") << c.b;
    const std::string ar = format_auth_results("mx.example.net", {v});
    const char* injected[] = {"dir=sign", "result=signed", "]", "e=d", "a=b", "rsa=sha256"};
    if (v.algorithm == c.a) {  // (a reason may quote a= inside the comment, not as a value)
      for (const char* text : injected) EXPECT_EQ(ar.find(text), std::string::npos) << ar;
    }
    auto parsed = parse_auth_results(std::string_view(ar).substr(ar.find(':') + 1));
    ASSERT_TRUE(parsed) << ar;
    std::map<std::string, std::string> props(parsed->results.at(0).properties.begin(),
                                             parsed->results.at(0).properties.end());
    for (const auto& [name, value] : props)
      for (const char* text : injected) EXPECT_EQ(value.find(text), std::string::npos) << ar;
    EXPECT_EQ(props.count("header.d"), d_ok ? 1u : 0u) << ar;
    EXPECT_EQ(props.count("header.s"), s_ok ? 1u : 0u) << ar;
    EXPECT_EQ(props.count("header.a"), v.algorithm.empty() ? 0u : 1u) << ar;
    EXPECT_EQ(props.count("header.b"), v.b_prefix.empty() ? 0u : 1u) << ar;
  }
  // i= of a broken signature: reported only as [local-part]@domain-name.
  const std::string msg =
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=ed; "
      "i=x=20dir=3Dsign; h=from; bh=AAAA; b=AAAA\r\n" +
      test::sample_message();
  EXPECT_EQ(one(msg, dns).auid, "");
}

}  // namespace
}  // namespace dkimkit
