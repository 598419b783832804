#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <dkimkit/key_record.hpp>

#include "crypto/keys.hpp"

namespace dkimkit {
namespace {

struct seq_deleter {
  void operator()(ASN1_SEQUENCE_ANY* p) const noexcept { sk_ASN1_TYPE_pop_free(p, ASN1_TYPE_free); }
};
using seq_ptr = std::unique_ptr<ASN1_SEQUENCE_ANY, seq_deleter>;

enum class spki_outcome { rsa, other_algorithm, bad_exponent, not_spki };

result<void> check_rsa_exponent(const unsigned char* der, long len);

// Reads a SubjectPublicKeyInfo with OpenSSL's generic DER parser and hands the RSAPublicKey inside
// to d2i_PublicKey(). OpenSSL 3.0's d2i_PUBKEY() goes through the decoder framework and costs
// about 100 us per key, five times an RSA-2048 verification; this path costs about 1.5 us.
spki_outcome parse_rsa_spki(const unsigned char* der, long len, detail::pkey_ptr& out,
                            error& why) {
  const unsigned char* p = der;
  seq_ptr spki(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, len));
  if (!spki || p != der + len || sk_ASN1_TYPE_num(spki.get()) != 2) return spki_outcome::not_spki;
  const ASN1_TYPE* alg = sk_ASN1_TYPE_value(spki.get(), 0);
  const ASN1_TYPE* bits = sk_ASN1_TYPE_value(spki.get(), 1);
  if (alg->type != V_ASN1_SEQUENCE || bits->type != V_ASN1_BIT_STRING) return spki_outcome::not_spki;
  const unsigned char* q = alg->value.sequence->data;
  seq_ptr algo(d2i_ASN1_SEQUENCE_ANY(nullptr, &q, alg->value.sequence->length));
  if (!algo || sk_ASN1_TYPE_num(algo.get()) < 1) return spki_outcome::not_spki;
  const ASN1_TYPE* oid = sk_ASN1_TYPE_value(algo.get(), 0);
  if (oid->type != V_ASN1_OBJECT) return spki_outcome::not_spki;
  if (OBJ_obj2nid(oid->value.object) != NID_rsaEncryption) return spki_outcome::other_algorithm;
  const unsigned char* r = bits->value.bit_string->data;
  const long rlen = bits->value.bit_string->length;
  if (auto ok = check_rsa_exponent(r, rlen); !ok) {
    why = ok.error();
    return spki_outcome::bad_exponent;
  }
  out.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &r, rlen));
  if (!out || r != bits->value.bit_string->data + rlen) {
    out.reset();
    return spki_outcome::not_spki;
  }
  return spki_outcome::rsa;
}

// RFC 8017 allows any odd e >= 3; we also bound its size, since a huge exponent only costs time.
// Read from the RSAPublicKey DER (SEQUENCE { n INTEGER, e INTEGER }) with OpenSSL's generic
// parser: EVP_PKEY_get_bn_param() on the decoded key costs several microseconds.
result<void> check_rsa_exponent(const unsigned char* der, long len) {
  const unsigned char* p = der;
  seq_ptr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, len));
  if (!seq || sk_ASN1_TYPE_num(seq.get()) != 2)
    return fail(errc::key_bad, "the RSA key is not a SEQUENCE of modulus and exponent");
  const ASN1_TYPE* e = sk_ASN1_TYPE_value(seq.get(), 1);
  if (e->type != V_ASN1_INTEGER) return fail(errc::key_bad, "the RSA exponent is not positive");
  const unsigned char* d = e->value.integer->data;
  int n = e->value.integer->length;
  while (n > 0 && *d == 0) {
    ++d;
    --n;
  }
  if (n == 0 || (d[n - 1] & 1) == 0 || (n == 1 && d[0] == 1))
    return fail(errc::key_bad, "RSA public exponent must be odd and at least 3");
  if (n > 8)
    return fail(errc::key_bad,
                "RSA public exponent of " + std::to_string(n * 8) + " bits is too large");
  return {};
}

}  // namespace

result<std::shared_ptr<const public_key>> public_key::from_der(key_type type,
                                                               std::string_view data) {
  auto impl = std::make_shared<detail::public_key_impl>();
  if (type == key_type::ed25519) {
    if (data.size() != 32)
      return fail(errc::key_bad, "an Ed25519 key must be 32 bytes, this one has " +
                                     std::to_string(data.size()));
    impl->pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(data.data()), 32));
    if (!impl->pkey)
      return fail(errc::key_bad, "unusable Ed25519 key: " + detail::drain_openssl_errors());
    return std::make_shared<const public_key>(std::move(impl), type, 256u);
  }
  if (data.empty() || data.size() > 16384) return fail(errc::key_bad, "RSA key of impossible size");
  const auto* begin = reinterpret_cast<const unsigned char*>(data.data());
  const long len = static_cast<long>(data.size());
  // SubjectPublicKeyInfo first, then a bare PKCS#1 RSAPublicKey as many verifiers tolerate.
  error why;
  switch (parse_rsa_spki(begin, len, impl->pkey, why)) {
    case spki_outcome::rsa:
      break;
    case spki_outcome::bad_exponent:
      ERR_clear_error();
      return tl::unexpected(why);
    case spki_outcome::other_algorithm:
      ERR_clear_error();
      return fail(errc::key_type_mismatch, "p= holds a key that is not RSA, but k= says rsa");
    case spki_outcome::not_spki: {
      ERR_clear_error();
      const unsigned char* p = begin;
      impl->pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
      if (!impl->pkey) {
        ERR_clear_error();
        return fail(errc::key_bad,
                    "p= is neither an RSA SubjectPublicKeyInfo nor an RSAPublicKey");
      }
      if (p != begin + len) {
        ERR_clear_error();
        return fail(errc::key_bad, "trailing bytes after the RSA key");
      }
      if (auto ok = check_rsa_exponent(begin, len); !ok) {
        ERR_clear_error();
        return tl::unexpected(ok.error());
      }
      break;
    }
  }
  if (EVP_PKEY_get_base_id(impl->pkey.get()) != EVP_PKEY_RSA) {
    ERR_clear_error();
    return fail(errc::key_type_mismatch, "p= holds a key that is not RSA, but k= says rsa");
  }
  int bits = EVP_PKEY_get_bits(impl->pkey.get());
  if (bits <= 0) {
    ERR_clear_error();
    return fail(errc::key_bad, "cannot tell the RSA key size");
  }
  // The key came in through the legacy decoder; export it to the provider now, once, so that
  // verifications in several threads share the exported form instead of racing to make it. The
  // context made for that is the first in the key's pool (rsa-sha256 is what signers use).
  detail::pkey_ctx_ptr warm(EVP_PKEY_CTX_new_from_pkey(nullptr, impl->pkey.get(), nullptr));
  if (!warm || EVP_PKEY_verify_init(warm.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(warm.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(warm.get(), detail::evp_md(hash_algorithm::sha256)) != 1)
    return fail(errc::key_bad, "unusable RSA key: " + detail::drain_openssl_errors());
  impl->pool[1].push_back(std::move(warm));
  return std::make_shared<const public_key>(std::move(impl), type, static_cast<unsigned>(bits));
}

bool public_key::same_as(const public_key& other) const {
  bool eq = type_ == other.type_ && EVP_PKEY_eq(impl_->pkey.get(), other.impl_->pkey.get()) == 1;
  ERR_clear_error();
  return eq;
}

bool public_key::verify_digest(hash_algorithm hash, std::string_view digest,
                               std::string_view sig) const {
  const auto* sig_p = reinterpret_cast<const unsigned char*>(sig.data());
  const auto* dig_p = reinterpret_cast<const unsigned char*>(digest.data());
  bool ok = false;
  if (type_ == key_type::ed25519) {
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    ok = ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), sig_p, sig.size(), dig_p, digest.size()) == 1;
  } else {
    auto& pool = impl_->pool[hash == hash_algorithm::sha1 ? 0 : 1];
    detail::pkey_ctx_ptr ctx;
    {
      std::lock_guard lock(impl_->pool_mutex);
      if (!pool.empty()) {
        ctx = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!ctx) {
      ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->pkey.get(), nullptr));
      if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
          EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
          EVP_PKEY_CTX_set_signature_md(ctx.get(), detail::evp_md(hash)) != 1)
        ctx.reset();
    }
    ok = ctx && EVP_PKEY_verify(ctx.get(), sig_p, sig.size(), dig_p, digest.size()) == 1;
    if (ctx) {
      std::lock_guard lock(impl_->pool_mutex);
      if (pool.size() < 16) pool.push_back(std::move(ctx));
    }
  }
  ERR_clear_error();
  return ok;
}

}  // namespace dkimkit
