// Private keys for signing: PEM (PKCS#8, PKCS#1), raw Ed25519 seeds (RFC 8463 §4 keys as dkimpy
// and rspamd write them), and what is refused (hostile inputs #66-#68).
#include <dkimkit/signer.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <dkimkit/key_record.hpp>

#include "crypto/crypto.hpp"
#include "support/test_keys.hpp"
#include "util/base64.hpp"

namespace dkimkit {
namespace {

errc load_error(std::string_view data) {
  auto k = private_key::load(data);
  return k ? errc::ok : k.error().code;
}

// PKCS#8 PEM round trip: the loaded key is the same key.
TEST(private_key, pkcs8_pem_round_trip) {
  for (const private_key* key : {&test::rsa1024(), &test::ed25519()}) {
    const std::string pem = key->to_pem();
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
    auto again = private_key::load(pem);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->type(), key->type());
    EXPECT_EQ(again->bits(), key->bits());
    EXPECT_EQ(again->public_record(), key->public_record());
  }
}

// PKCS#1 "RSA PRIVATE KEY" PEM (RFC 8463 A.1's key).
TEST(private_key, pkcs1_pem) {
  auto k = private_key::load(test::read_data("rfc/rfc8463-rsa.pem"));
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(k->type(), key_type::rsa);
  EXPECT_EQ(k->bits(), 1024u);
}

// The raw base64 seed (32 bytes) and seed+public (64 bytes) forms for Ed25519.
TEST(private_key, raw_ed25519_seed) {
  const std::string seed = test::read_data("rfc/rfc8463-ed25519.seed");
  auto k = private_key::load(seed);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(k->type(), key_type::ed25519);
  EXPECT_EQ(k->public_record(), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  const auto raw_seed = detail::base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
  const auto raw_pub = detail::base64_decode("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(raw_seed && raw_pub);
  EXPECT_EQ(load_error(detail::base64_encode(*raw_seed + *raw_pub)), errc::ok);
  std::string wrong_pub = *raw_pub;
  wrong_pub[0] = static_cast<char>(wrong_pub[0] ^ 1);
  EXPECT_EQ(load_error(detail::base64_encode(*raw_seed + wrong_pub)), errc::invalid_argument);
  EXPECT_EQ(load_error(detail::base64_encode(raw_seed->substr(0, 31))), errc::invalid_argument);
  EXPECT_EQ(load_error(detail::base64_encode(*raw_seed + "x")), errc::invalid_argument);
  // White space around and inside the base64 is tolerated.
  EXPECT_EQ(load_error("  nWGxne/9WmC6hEr0kuwsxERJ\n xWl7MmkZcDusAxyuf2A=\n"), errc::ok);
}

// Hostile input #66: broken PEM is refused with a clear error.
TEST(private_key, broken_pem_refused) {
  const std::string pem = test::rsa1024().to_pem();
  const std::size_t body = pem.find('\n') + 1;
  std::string bad_b64 = pem;
  bad_b64[body + 10] = '*';
  EXPECT_EQ(load_error(bad_b64), errc::invalid_argument);
  EXPECT_EQ(load_error(pem.substr(0, pem.size() / 2)), errc::invalid_argument);  // truncated
  std::string wrong_armor = pem;
  wrong_armor.replace(wrong_armor.find("PRIVATE KEY"), 11, "PUBLIC KEY!");
  EXPECT_EQ(load_error(wrong_armor), errc::invalid_argument);
  EXPECT_EQ(load_error("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"),
            errc::invalid_argument);
  EXPECT_EQ(load_error(""), errc::invalid_argument);
  EXPECT_EQ(load_error("not a key"), errc::invalid_argument);
  auto k = private_key::load(bad_b64);
  ASSERT_FALSE(k);
  EXPECT_FALSE(k.error().detail.empty());
}

// Hostile input #67: an encrypted key is refused, never prompted for.
TEST(private_key, encrypted_pem_refused) {
  auto pkey = test::rsa1024().to_pem();
  detail::pkey_ptr p;
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(pkey.data(), static_cast<int>(pkey.size())),
                                                 &BIO_free);
    p.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  }
  ASSERT_TRUE(p);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), p.get(), EVP_aes_128_cbc(), pass, 6, nullptr, nullptr), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  const std::string encrypted(data, static_cast<std::size_t>(n));
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  auto k = private_key::load(encrypted);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, errc::invalid_argument);
  EXPECT_NE(k.error().detail.find("encrypted"), std::string::npos) << k.error().detail;
}

// Keys that are neither RSA nor Ed25519 are refused.
TEST(private_key, other_key_types_unsupported) {
  detail::pkey_ptr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(out.get(), ec.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  auto k = private_key::load(std::string(data, static_cast<std::size_t>(n)));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, errc::unsupported);
}

// load_file names the file in its errors.
TEST(private_key, load_file_errors_name_the_file) {
  auto missing = private_key::load_file("/nonexistent/dir/key.pem");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::io_error);
  EXPECT_NE(missing.error().detail.find("/nonexistent/dir/key.pem"), std::string::npos);
  const std::string bad = std::string(DKIMKIT_TEST_DATA_DIR) + "/rfc/rfc8463.zone";
  auto junk = private_key::load_file(bad);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, errc::invalid_argument);
  EXPECT_NE(junk.error().detail.find("rfc8463.zone"), std::string::npos);
  auto ok = private_key::load_file(std::string(DKIMKIT_TEST_DATA_DIR) + "/rfc/rfc8463-rsa.pem");
  EXPECT_TRUE(ok);
}

// The published record for each key type parses back into the same public key.
TEST(private_key, public_record_parses) {
  for (const private_key* key : {&test::rsa2048(), &test::ed25519()}) {
    auto rec = parse_key_record(key->public_record());
    ASSERT_TRUE(rec) << rec.error().message();
    EXPECT_EQ(rec->type, key->type());
    EXPECT_EQ(rec->key->bits(), key->type() == key_type::rsa ? key->bits() : 256u);
    const std::string digest = detail::digest(hash_algorithm::sha256, "data");
    auto sig = key->sign_digest(hash_algorithm::sha256, digest);
    ASSERT_TRUE(sig);
    EXPECT_TRUE(rec->key->verify_digest(hash_algorithm::sha256, digest, *sig));
  }
  EXPECT_EQ(test::rsa2048().public_record().rfind("v=DKIM1; k=rsa; p=MII", 0), 0u);
}

// A default-constructed key signs nothing.
TEST(private_key, empty_key_refuses_to_sign) {
  private_key none;
  EXPECT_EQ(none.bits(), 0u);
  auto s = none.sign_digest(hash_algorithm::sha256, std::string(32, 'x'));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace dkimkit
