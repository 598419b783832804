// The verifier's steps in RFC 6376 §6.1 order: §6.1.1 (the signature field), §6.1.2 (the key),
// §6.1.3 (body hash, then header hash and signature). When several things are wrong, the first
// step that fails gives the reason; the key step's reasons are those of key_record_from_answer()
// and key_record_problems().
#include <dkimkit/verifier.hpp>

#include <gtest/gtest.h>

#include <string>

#include <dkimkit/key_record.hpp>
#include <dkimkit/resolver.hpp>

#include "support/test_keys.hpp"
#include "verify/craft.hpp"

namespace dkimkit {
namespace {

using test::craft;
using test::crafted;

const std::string kName = "sel._domainkey.example.com";

verification only(const std::string& message, const txt_resolver& dns) {
  auto v = verify(message, test::options_for(dns));
  EXPECT_EQ(v.size(), 1u);
  return v.empty() ? verification{} : v[0];
}

std::string tamper_body(std::string message) { return message + "P.S. changed\r\n"; }

std::string tamper_subject(std::string message) {
  const auto at = message.find("Subject: Lunch");
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) message.replace(at, 14, "Subject: Lunch?");
  return message;
}

craft rsa() {
  craft c;
  c.algo = algorithm::rsa_sha256;
  return c;
}

// §6.1.1 before §6.1.2: a signature refused without a key is never looked up.
TEST(verifier_steps, field_checks_come_before_the_key) {
  static_resolver dns;
  dns.set_temporary(kName);
  craft c;
  c.h = "to:subject";  // From not signed
  const verification v = only(crafted(test::sample_message(), test::ed25519(), c), dns);
  EXPECT_EQ(v.code, errc::from_not_signed);
  EXPECT_EQ(dns.queries(), 0u);
}

// §6.1.2 before §6.1.3: a missing, unusable or unfit key is the reason even when the body and the
// header were changed too.
TEST(verifier_steps, key_comes_before_the_hashes) {
  const std::string broken =
      tamper_subject(tamper_body(crafted(test::sample_message(), test::rsa_small(512), rsa())));
  static_resolver none;
  EXPECT_EQ(only(broken, none).code, errc::key_not_found);

  static_resolver revoked;
  revoked.add(kName, "v=DKIM1; p=");
  EXPECT_EQ(only(broken, revoked).code, errc::key_revoked);

  static_resolver small;
  small.add(kName, test::rsa_small(512).public_record());
  const verification v = only(broken, small);
  EXPECT_EQ(v.status, status::policy);
  EXPECT_EQ(v.code, errc::key_too_small);
  EXPECT_EQ(v.key_bits, 512u);  // the key that was refused is still described
}

// §6.1.3: the body hash before the header hash and signature.
TEST(verifier_steps, body_hash_comes_before_the_signature) {
  static_resolver dns;
  dns.add(kName, test::ed25519().public_record());
  const std::string signed_message = crafted(test::sample_message(), test::ed25519());
  EXPECT_EQ(only(signed_message, dns).status, status::pass);
  EXPECT_EQ(only(tamper_subject(signed_message), dns).code, errc::signature_mismatch);
  EXPECT_EQ(only(tamper_body(signed_message), dns).code, errc::body_hash_mismatch);
  EXPECT_EQ(only(tamper_subject(tamper_body(signed_message)), dns).code, errc::body_hash_mismatch);
}

// The verifier reads an answer as key_record_from_answer() does: same code, same text.
TEST(verifier_steps, answer_reasons_are_key_record_from_answer_s) {
  const std::string message = crafted(test::sample_message(), test::ed25519());
  const std::string ed = test::ed25519().public_record();
  static_resolver dns;
  dns.add(kName, ed);
  dns.add(kName, "v=spf1 -all");
  dns.add(kName, ed);
  const verification v = only(message, dns);
  auto expected = key_record_from_answer(dns.lookup_txt(kName), kName);
  ASSERT_FALSE(expected);
  EXPECT_EQ(v.code, errc::key_ambiguous);
  EXPECT_EQ(v.reason, expected.error().message());
}

// A key with several faults: the verifier reports the first of key_record_problems().
TEST(verifier_steps, key_reason_is_the_first_problem) {
  const std::string message = crafted(test::sample_message(), test::rsa_small(512), rsa());
  static_resolver dns;
  const std::string txt = "v=DKIM1; k=rsa; h=sha1; p=" + test::rsa_small(512).public_record_value();
  dns.add(kName, txt);
  const verification v = only(message, dns);
  signature sig;
  sig.algo = algorithm::rsa_sha256;
  const auto problems = key_record_problems(*parse_key_record(txt), sig);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(v.code, errc::key_hash_mismatch);
  EXPECT_EQ(v.reason, problems.front().message());

  // With the floor raised, an RSA key that fits otherwise is refused with the same text.
  static_resolver ok;
  ok.add(kName, test::rsa1024().public_record());
  auto o = test::options_for(ok);
  o.min_rsa_bits = 2048;
  const auto results = verify(crafted(test::sample_message(), test::rsa1024(), rsa()), o);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code, errc::key_too_small);
  EXPECT_EQ(results[0].reason,
            key_record_problems(*parse_key_record(test::rsa1024().public_record()), sig, 2048)
                .front()
                .message());
}

// What a parsed signature reports comes from the parsed values: d= and s= lowercased, i= decoded.
TEST(verifier_steps, parsed_signature_reports_its_values) {
  static_resolver dns;
  dns.add(kName, test::ed25519().public_record());
  craft c;
  c.d = "Example.COM";
  c.s = "SEL";
  c.i = "=61lice@mail.example.com";  // dkim-quoted-printable for "alice@..."
  c.l = 0;
  const verification v = only(crafted(test::sample_message(), test::ed25519(), c), dns);
  EXPECT_EQ(v.code, errc::body_length_partial);
  EXPECT_EQ(v.sdid, "example.com");
  EXPECT_EQ(v.selector, "sel");
  EXPECT_EQ(v.auid, "alice@mail.example.com");
  EXPECT_EQ(v.algorithm, "ed25519-sha256");
  ASSERT_TRUE(v.body_length);
  EXPECT_EQ(*v.body_length, 0u);
  EXPECT_EQ(v.b_prefix.size(), 8u);
}

}  // namespace
}  // namespace dkimkit
