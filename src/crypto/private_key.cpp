#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <dkimkit/signer.hpp>

#include "crypto/keys.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

// Never prompt: an encrypted key fails to load.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

result<private_key> private_key::load(std::string_view data) {
  auto impl = std::make_shared<detail::private_key_impl>();
  if (data.find("-----BEGIN") != std::string_view::npos) {
    if (data.find("ENCRYPTED") != std::string_view::npos)
      return fail(errc::invalid_argument,
                  "the private key is encrypted; dkimkit needs an unencrypted key");
    bio_ptr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) detail::out_of_memory();
    impl->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!impl->pkey) {
      std::string why = detail::drain_openssl_errors();
      return fail(errc::invalid_argument, "not a readable PEM private key" +
                                              (why.empty() ? std::string() : " (" + why + ")"));
    }
  } else {
    // The raw base64 Ed25519 seed of dkimpy and rspamd (32 bytes, or 64: seed then public key).
    auto raw = detail::base64_decode(detail::strip_fws(data));
    if (!raw || (raw->size() != 32 && raw->size() != 64))
      return fail(errc::invalid_argument,
                  "neither a PEM private key nor a base64 Ed25519 seed of 32 bytes");
    impl->pkey.reset(EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw->data()), 32));
    if (!impl->pkey)
      return fail(errc::invalid_argument, "unusable Ed25519 seed: " + detail::drain_openssl_errors());
    if (raw->size() == 64) {
      unsigned char pub[32];
      std::size_t len = sizeof pub;
      if (EVP_PKEY_get_raw_public_key(impl->pkey.get(), pub, &len) != 1 ||
          std::string_view(reinterpret_cast<char*>(pub), len) != std::string_view(*raw).substr(32)) {
        ERR_clear_error();
        return fail(errc::invalid_argument, "the 64-byte Ed25519 key's halves do not match");
      }
    }
  }
  private_key k;
  switch (EVP_PKEY_get_base_id(impl->pkey.get())) {
    case EVP_PKEY_RSA: k.type_ = key_type::rsa; break;
    case EVP_PKEY_ED25519: k.type_ = key_type::ed25519; break;
    default: return fail(errc::unsupported, "the private key is neither RSA nor Ed25519");
  }
  k.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(impl->pkey.get()));
  k.impl_ = std::move(impl);
  return k;
}

result<private_key> private_key::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(errc::io_error, path + ": read error");
  auto k = load(ss.str());
  if (!k) return fail(k.error().code, path + ": " + k.error().detail);
  return k;
}

result<private_key> private_key::generate(key_type type, unsigned rsa_bits) {
  auto impl = std::make_shared<detail::private_key_impl>();
  if (type == key_type::rsa)
    impl->pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits)));
  else
    impl->pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!impl->pkey) return fail(errc::crypto_error, detail::drain_openssl_errors());
  private_key k;
  k.type_ = type;
  k.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(impl->pkey.get()));
  k.impl_ = std::move(impl);
  return k;
}

std::string private_key::to_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1)
    detail::out_of_memory();
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

std::string private_key::public_record_value() const {
  if (type_ == key_type::ed25519) {
    unsigned char pub[32];
    std::size_t len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(impl_->pkey.get(), pub, &len) != 1) detail::out_of_memory();
    return detail::base64_encode(std::string_view(reinterpret_cast<char*>(pub), len));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(impl_->pkey.get(), &der);
  if (n <= 0) detail::out_of_memory();
  std::string out = detail::base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return out;
}

std::string private_key::public_record() const {
  return std::string("v=DKIM1; k=") + std::string(to_string(type_)) + "; p=" + public_record_value();
}

result<std::string> private_key::sign_digest(hash_algorithm hash, std::string_view digest) const {
  if (!impl_) return fail(errc::invalid_argument, "no private key");
  const auto* dig = reinterpret_cast<const unsigned char*>(digest.data());
  std::size_t len = 0;
  std::string sig;
  if (type_ == key_type::ed25519) {
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, dig, digest.size()) != 1)
      return fail(errc::crypto_error, detail::drain_openssl_errors());
    sig.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, dig,
                       digest.size()) != 1)
      return fail(errc::crypto_error, detail::drain_openssl_errors());
  } else {
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), detail::evp_md(hash)) != 1 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &len, dig, digest.size()) != 1)
      return fail(errc::crypto_error, detail::drain_openssl_errors());
    sig.resize(len);
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, dig,
                      digest.size()) != 1)
      return fail(errc::crypto_error, detail::drain_openssl_errors());
  }
  sig.resize(len);
  return sig;
}

}  // namespace dkimkit
