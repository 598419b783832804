// Failures in src/crypto leave OpenSSL's error queue empty: the queue is per thread, and what one
// message's bad key or signature left in it would otherwise be reported with a later, unrelated
// failure of the same thread (or grow in a long-running milter thread).
#include <gtest/gtest.h>

#include <dkimkit/key_record.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <string>

#include <openssl/err.h>

#include "crypto/crypto.hpp"
#include "record/der_builder.hpp"
#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;

// Starts each test with an empty queue, so that what is found after the step was left by it.
class openssl_errors : public ::testing::Test {
 protected:
  void SetUp() override { ERR_clear_error(); }
};

TEST_F(openssl_errors, a_bad_rsa_key_leaves_the_queue_empty) {
  const std::string bad_keys[] = {
      test::rsa_spki_der("\xff\xff"s),                       // the RSAPublicKey is no DER
      test::rsa_spki_der(test::der_tlv(0x30, "\x02\x01"s)),  // a truncated SEQUENCE
      test::rsa_spki_der(test::rsa_public_key_der(std::string(128, '\x5a'), "\x02")),  // even e
      test::rsa_public_key_der(std::string(128, '\x5a'), "\x01"),  // bare PKCS#1, e = 1
      test::pkcs1_of(test::rsa1024()) + "x",                       // trailing bytes
      std::string(20000, '\x30'),
      "",
      "\x30\x03\x02\x01\x01"s,
  };
  for (const std::string& der : bad_keys) {
    EXPECT_FALSE(public_key::from_der(key_type::rsa, der));
    EXPECT_EQ(ERR_peek_error(), 0u) << testing::PrintToString(der);
    ERR_clear_error();
    EXPECT_FALSE(parse_key_record(test::record_with_p(der)));
    EXPECT_EQ(ERR_peek_error(), 0u) << testing::PrintToString(der);
    ERR_clear_error();
  }
}

TEST_F(openssl_errors, a_bad_ed25519_key_leaves_the_queue_empty) {
  EXPECT_FALSE(public_key::from_der(key_type::ed25519, std::string(31, 'k')));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(openssl_errors, a_bad_signature_leaves_the_queue_empty) {
  const std::string digest = detail::digest(hash_algorithm::sha256, "hello");
  for (const private_key* k : {&test::rsa1024(), &test::ed25519()}) {
    auto rec = parse_key_record(k->public_record());
    ASSERT_TRUE(rec);
    for (const std::string& sig : {std::string(), std::string(128, '\x01'), std::string(7, 'x'),
                                   std::string(64, '\xff'), std::string(4096, '\x42')}) {
      EXPECT_FALSE(rec->key->verify_digest(hash_algorithm::sha256, digest, sig));
      EXPECT_EQ(ERR_peek_error(), 0u);
      ERR_clear_error();
    }
  }
}

TEST_F(openssl_errors, an_unreadable_private_key_leaves_the_queue_empty) {
  for (const std::string& pem :
       {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"s,
        "-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----\n"s,
        // a 64-byte Ed25519 key whose halves do not match
        detail::base64_encode(std::string(64, '\x07'))}) {
    EXPECT_FALSE(private_key::load(pem));
    EXPECT_EQ(ERR_peek_error(), 0u) << pem;
    ERR_clear_error();
  }
}

// Through the verifier: a message whose key is bad, and one whose signature is bad.
TEST_F(openssl_errors, failing_verifications_leave_the_queue_empty) {
  static_resolver dns;
  dns.add("bad._domainkey.example.com",
          test::record_with_p(test::rsa_spki_der("\x30\x03\x02\x01"s)));
  dns.add("rsa._domainkey.example.com", test::rsa1024().public_record());
  const verify_options o = test::options_for(dns);
  const std::string bad_key = test::sign_with(test::sample_message(), test::rsa1024(), "bad");
  std::string bad_sig = test::sign_with(test::sample_message(), test::rsa1024(), "rsa");
  const auto b = bad_sig.find(" b=");
  ASSERT_NE(b, std::string::npos);
  bad_sig[b + 10] = bad_sig[b + 10] == 'A' ? 'B' : 'A';
  const auto key_result = verify(bad_key, o);
  ASSERT_EQ(key_result.size(), 1u);
  EXPECT_EQ(key_result[0].status, status::permerror);
  EXPECT_EQ(ERR_peek_error(), 0u);
  const auto sig_result = verify(bad_sig, o);
  ASSERT_EQ(sig_result.size(), 1u);
  EXPECT_EQ(sig_result[0].status, status::fail);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// The per-thread digest context works call after call (it is set up again when a call finds it
// missing; an allocation failure cannot be made here).
TEST_F(openssl_errors, digest_again_and_again) {
  const std::string first = detail::digest(hash_algorithm::sha256, "abc");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(detail::digest(hash_algorithm::sha256, "abc"), first);
    EXPECT_EQ(detail::digest(hash_algorithm::sha1, "abc").size(), 20u);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace dkimkit
