// DKIM key records (RFC 6376 §3.6.1, RFC 8301, RFC 8463 §4) and public keys.
#include <dkimkit/key_record.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "crypto/crypto.hpp"
#include "record/der_builder.hpp"
#include "support/test_keys.hpp"
#include "util/base64.hpp"

namespace dkimkit {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;
using test::der_tlv;
using test::record_with_p;
using test::rsa_public_key_der;
using test::rsa_spki_der;

const std::string& rsa_p() {
  static const std::string p = test::rsa1024().public_record_value();
  return p;
}
const std::string& ed_p() {
  static const std::string p = test::ed25519().public_record_value();
  return p;
}

errc code_of(std::string_view txt, const key_limits& limits = {}) {
  auto r = parse_key_record(txt, limits);
  return r ? errc::ok : r.error().code;
}

// §3.6.1: a plain RSA record; k= defaults to rsa, h= to any, no flags.
TEST(key_record, rsa_record) {
  auto r = parse_key_record("v=DKIM1; p=" + rsa_p());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->type, key_type::rsa);
  EXPECT_TRUE(r->hashes.empty());
  EXPECT_FALSE(r->testing);
  EXPECT_FALSE(r->strict);
  ASSERT_TRUE(r->key);
  EXPECT_EQ(r->key->type(), key_type::rsa);
  EXPECT_EQ(r->key->bits(), 1024u);
}

// RFC 8463 §4: k=ed25519 with the raw 32-byte key in p=.
TEST(key_record, ed25519_record) {
  auto r = parse_key_record("v=DKIM1; k=ed25519; p=" + ed_p());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->type, key_type::ed25519);
  EXPECT_EQ(r->key->type(), key_type::ed25519);
  EXPECT_EQ(r->key->bits(), 256u);
}

// §3.6.1: v= is optional, but when present it is "DKIM1" and the first tag.
TEST(key_record, version_tag) {
  EXPECT_EQ(code_of("p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("k=rsa; p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM2; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1x; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=dkim1; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("k=rsa; v=DKIM1; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("p=" + rsa_p() + "; v=DKIM1"), errc::key_syntax);
  EXPECT_EQ(code_of(" v = DKIM1 ;p=" + rsa_p()), errc::ok);
}

// §3.6.1 k=: rsa or ed25519; anything else is refused.
TEST(key_record, key_types) {
  EXPECT_EQ(code_of("v=DKIM1; k=rsa; p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM1; k=ed25519; p=" + ed_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM1; k=ed2025; p=" + ed_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; k=RSA; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; k=; p=" + rsa_p()), errc::key_syntax);
}

// §3.6.1 h=: known hash names listed; unknown ones ignored; none known at all is unusable.
TEST(key_record, hash_lists) {
  auto one = parse_key_record("v=DKIM1; h=sha256; p=" + rsa_p());
  ASSERT_TRUE(one);
  EXPECT_EQ(one->hashes, (std::vector<hash_algorithm>{hash_algorithm::sha256}));
  auto two = parse_key_record("v=DKIM1; h = sha1 :\r\n sha256; p=" + rsa_p());
  ASSERT_TRUE(two);
  EXPECT_EQ(two->hashes, (std::vector<hash_algorithm>{hash_algorithm::sha1, hash_algorithm::sha256}));
  auto unknown = parse_key_record("v=DKIM1; h=sha512:sha256; p=" + rsa_p());
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->hashes, (std::vector<hash_algorithm>{hash_algorithm::sha256}));
  EXPECT_EQ(code_of("v=DKIM1; h=sha512; p=" + rsa_p()), errc::key_hash_mismatch);
}

// §3.6.1 s=: "*" or a list containing "email"; otherwise the key is not for email.
TEST(key_record, service_types) {
  EXPECT_EQ(code_of("v=DKIM1; s=email; p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM1; s=*; p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM1; s=foo : email; p=" + rsa_p()), errc::ok);
  EXPECT_EQ(code_of("v=DKIM1; s=foo; p=" + rsa_p()), errc::key_service_mismatch);
  EXPECT_EQ(code_of("v=DKIM1; s=emails; p=" + rsa_p()), errc::key_service_mismatch);
  EXPECT_EQ(code_of("v=DKIM1; s=; p=" + rsa_p()), errc::key_service_mismatch);
}

// §3.6.1 t=: y (testing) and s (no subdomains in i=); unknown flags ignored.
TEST(key_record, flags) {
  auto y = parse_key_record("v=DKIM1; t=y; p=" + rsa_p());
  ASSERT_TRUE(y);
  EXPECT_TRUE(y->testing);
  EXPECT_FALSE(y->strict);
  auto s = parse_key_record("v=DKIM1; t=s; p=" + rsa_p());
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->testing);
  EXPECT_TRUE(s->strict);
  auto both = parse_key_record("v=DKIM1; t=y : s:zz; n=some notes; p=" + rsa_p());
  ASSERT_TRUE(both);
  EXPECT_TRUE(both->testing);
  EXPECT_TRUE(both->strict);
  EXPECT_EQ(both->notes, "some notes");
}

// §3.6.1 p=: "An empty value means that this public key has been revoked."
TEST(key_record, empty_p_is_revoked) {
  EXPECT_EQ(code_of("v=DKIM1; p="), errc::key_revoked);
  EXPECT_EQ(code_of("v=DKIM1; k=rsa; p= ;"), errc::key_revoked);
  EXPECT_EQ(code_of("v=DKIM1; k=ed25519; p=\r\n "), errc::key_revoked);
}

// §3.6.1: p= is required.
TEST(key_record, missing_p) {
  EXPECT_EQ(code_of("v=DKIM1; k=rsa"), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1"), errc::key_syntax);
}

// §3.6.1/§3.2: tag-list errors in the record.
TEST(key_record, tag_list_errors) {
  EXPECT_EQ(code_of(""), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; p=" + rsa_p() + "; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; junk; p=" + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; n=a\0b; p="s + rsa_p()), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; n=\xc3\xa9; p=" + rsa_p()), errc::key_syntax);
}

// Base64 in p= may carry white space (TXT strings joined with spaces by some tools).
TEST(key_record, p_with_white_space) {
  std::string p = rsa_p();
  p.insert(40, " \t");
  p.insert(80, "\r\n ");
  EXPECT_EQ(code_of("v=DKIM1; p=" + p), errc::ok);
}

// p= that is not base64.
TEST(key_record, bad_base64) {
  EXPECT_EQ(code_of("v=DKIM1; p=MIGf*MA0G"), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; p=" + rsa_p().substr(0, rsa_p().size() - 1) + "-"), errc::key_syntax);
  EXPECT_EQ(code_of("v=DKIM1; p=A"), errc::key_syntax);
}

// Truncated DER, DER with trailing junk: unusable keys.
TEST(key_record, truncated_or_padded_der) {
  const std::string spki = test::spki_of(test::rsa1024());
  ASSERT_FALSE(spki.empty());
  EXPECT_EQ(code_of(record_with_p(spki)), errc::ok);
  EXPECT_EQ(code_of(record_with_p(spki.substr(0, spki.size() - 10))), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(spki.substr(0, 20))), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(spki + std::string(1, '\0'))), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(spki + "junk")), errc::key_bad);
  const std::string pkcs1 = test::pkcs1_of(test::rsa1024());
  ASSERT_FALSE(pkcs1.empty());
  EXPECT_EQ(code_of(record_with_p(pkcs1 + "junk")), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(pkcs1.substr(0, pkcs1.size() - 3))), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p("not a key at all")), errc::key_bad);
}

// A bare PKCS#1 RSAPublicKey is tolerated (many publishers use it), with the same key size.
TEST(key_record, bare_pkcs1_accepted) {
  const std::string pkcs1 = test::pkcs1_of(test::rsa2048());
  ASSERT_FALSE(pkcs1.empty());
  EXPECT_EQ(static_cast<unsigned char>(pkcs1[0]), 0x30);
  auto r = parse_key_record(record_with_p(pkcs1));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->key->bits(), 2048u);
  // And the same structure built by hand.
  auto hand = parse_key_record(
      record_with_p(rsa_public_key_der(test::modulus_of(test::rsa2048()), "\x01\x00\x01"sv)));
  ASSERT_TRUE(hand) << hand.error().message();
  EXPECT_EQ(hand->key->bits(), 2048u);
}

// RFC 8463 §4: the Ed25519 p= is exactly 32 bytes.
TEST(key_record, ed25519_wrong_size) {
  const auto raw = detail::base64_decode(ed_p());
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), 32u);
  EXPECT_EQ(code_of(record_with_p(raw->substr(0, 31), "ed25519")), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(*raw + "x", "ed25519")), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(std::string(64, 'x'), "ed25519")), errc::key_bad);
  // An Ed25519 SubjectPublicKeyInfo is not the raw key RFC 8463 asks for.
  EXPECT_EQ(code_of(record_with_p(test::ed25519_spki_der(*raw), "ed25519")), errc::key_bad);
  // An RSA key under k=ed25519.
  EXPECT_EQ(code_of("v=DKIM1; k=ed25519; p=" + rsa_p()), errc::key_bad);
}

// k=rsa (or no k=) with p= holding a non-RSA key.
TEST(key_record, rsa_tag_with_other_key) {
  const auto raw = detail::base64_decode(ed_p());
  ASSERT_TRUE(raw);
  EXPECT_EQ(code_of(record_with_p(test::ed25519_spki_der(*raw))), errc::key_type_mismatch);
  EXPECT_EQ(code_of("v=DKIM1; p=" + ed_p()), errc::key_bad);
}

// RFC 8017 §3.1: e is odd and at least 3; a huge exponent only costs time and is refused.
TEST(key_record, rsa_exponent_checks) {
  const std::string n = test::modulus_of(test::rsa1024());
  ASSERT_EQ(n.size(), 128u);
  auto with_e = [&](std::string_view e) { return record_with_p(rsa_spki_der(rsa_public_key_der(n, e))); };
  EXPECT_EQ(code_of(with_e("\x01\x00\x01"sv)), errc::ok);
  EXPECT_EQ(code_of(with_e("\x03")), errc::ok);
  EXPECT_EQ(code_of(with_e("\x01")), errc::key_bad);
  EXPECT_EQ(code_of(with_e(std::string(1, '\0'))), errc::key_bad);
  EXPECT_EQ(code_of(with_e("\x01\x00\x00"sv)), errc::key_bad);  // 65536: even
  EXPECT_EQ(code_of(with_e("\x02")), errc::key_bad);
  // An odd exponent of about 1000 decimal digits (3322 bits).
  std::string huge(416, '\x5a');
  huge.back() = '\x5b';
  EXPECT_EQ(code_of(with_e(huge)), errc::key_bad);
  // Also as a bare PKCS#1 structure.
  EXPECT_EQ(code_of(record_with_p(rsa_public_key_der(n, "\x01"))), errc::key_bad);
  EXPECT_EQ(code_of(record_with_p(rsa_public_key_der(n, huge))), errc::key_bad);
}

// A documented upper cap on RSA key sizes (key_limits::max_rsa_bits, default 8192).
TEST(key_record, rsa_size_cap) {
  std::string n16k(2048, '\x5a');
  n16k.front() = '\xc3';
  n16k.back() = '\x01';
  const std::string rec = record_with_p(rsa_spki_der(rsa_public_key_der(n16k, "\x01\x00\x01"sv)));
  EXPECT_EQ(code_of(rec), errc::key_too_large);
  key_limits big;
  big.max_rsa_bits = 16384;
  big.max_record_bytes = 65536;
  auto r = parse_key_record(rec, big);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->key->bits(), 16384u);
  std::string n8k(1024, '\x5a');
  n8k.front() = '\xc3';
  EXPECT_EQ(code_of(record_with_p(rsa_spki_der(rsa_public_key_der(n8k, "\x01\x00\x01"sv)))),
            errc::ok);
}

// A documented cap on the joined TXT record (key_limits::max_record_bytes, default 8192).
TEST(key_record, record_size_cap) {
  const std::string padded = "v=DKIM1; n=" + std::string(9000, 'x') + "; p=" + rsa_p();
  EXPECT_EQ(code_of(padded), errc::key_syntax);
  key_limits big;
  big.max_record_bytes = 20000;
  EXPECT_EQ(code_of(padded, big), errc::ok);
}

// public_key::from_der directly.
TEST(public_key, from_der) {
  auto rsa = public_key::from_der(key_type::rsa, test::spki_of(test::rsa2048()));
  ASSERT_TRUE(rsa);
  EXPECT_EQ((*rsa)->bits(), 2048u);
  EXPECT_EQ((*rsa)->type(), key_type::rsa);
  EXPECT_FALSE(public_key::from_der(key_type::rsa, ""));
  EXPECT_FALSE(public_key::from_der(key_type::ed25519, ""));
  EXPECT_FALSE(public_key::from_der(key_type::rsa, std::string(20000, '\x30')));
}

// RFC 8463 §3 / RFC 8017 §8.2: verify_digest checks a signature over a digest.
TEST(public_key, verify_digest) {
  const std::string digest = detail::digest(hash_algorithm::sha256, "hello");
  for (const private_key* k : {&test::rsa1024(), &test::ed25519()}) {
    auto sig = k->sign_digest(hash_algorithm::sha256, digest);
    ASSERT_TRUE(sig);
    auto rec = parse_key_record(k->public_record());
    ASSERT_TRUE(rec) << rec.error().message();
    EXPECT_TRUE(rec->key->verify_digest(hash_algorithm::sha256, digest, *sig));
    std::string bad = *sig;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 1);
    EXPECT_FALSE(rec->key->verify_digest(hash_algorithm::sha256, digest, bad));
    EXPECT_FALSE(rec->key->verify_digest(hash_algorithm::sha256,
                                         detail::digest(hash_algorithm::sha256, "hellO"), *sig));
    EXPECT_FALSE(rec->key->verify_digest(hash_algorithm::sha256, digest, ""));
  }
}

// §3.6.2.2: only TXT records meant as DKIM keys are considered at a key name.
TEST(key_record, looks_like_key_record) {
  EXPECT_TRUE(looks_like_key_record("v=DKIM1; k=rsa; p=abc"));
  EXPECT_TRUE(looks_like_key_record("v=DKIM2; p=abc"));  // a DKIM record, refused when parsed
  EXPECT_TRUE(looks_like_key_record("  v = DKIM1"));
  EXPECT_TRUE(looks_like_key_record("k=rsa; p=abc"));
  EXPECT_TRUE(looks_like_key_record("p=abc"));
  EXPECT_TRUE(looks_like_key_record("p="));
  EXPECT_TRUE(looks_like_key_record("k=rsa;p =abc"));
  EXPECT_FALSE(looks_like_key_record("v=spf1 include:_spf.example.com ~all"));
  EXPECT_FALSE(looks_like_key_record("v=spf1 ip4=1.2.3.4 -all"));
  EXPECT_FALSE(looks_like_key_record("v=DMARC1; p=reject"));
  EXPECT_FALSE(looks_like_key_record("google-site-verification=abcdef"));
  EXPECT_FALSE(looks_like_key_record("hello world"));
  EXPECT_FALSE(looks_like_key_record("ip=1"));
  EXPECT_FALSE(looks_like_key_record(""));
  EXPECT_FALSE(looks_like_key_record("v"));
}

}  // namespace
}  // namespace dkimkit
