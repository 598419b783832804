#include "crypto/crypto.hpp"

#include <new>

#include <openssl/err.h>

namespace dkimkit::detail {

const EVP_MD* evp_md(hash_algorithm h) noexcept {
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return h == hash_algorithm::sha1 ? sha1 : sha256;
}

std::string drain_openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

hasher::hasher(hash_algorithm h) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), evp_md(h), nullptr) != 1) throw std::bad_alloc();
}

void hasher::update(std::string_view data) noexcept {
  if (!data.empty()) EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
}

std::string hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

hasher hasher::copy() const {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), ctx_.get()) != 1) throw std::bad_alloc();
  return hasher(std::move(ctx));
}

std::string digest(hash_algorithm h, std::string_view data) {
  // One context per thread, initialised again for each digest: no allocation per message.
  thread_local const md_ctx_ptr ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), evp_md(h), nullptr) != 1 ||
      (!data.empty() && EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1) ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    throw std::bad_alloc();
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace dkimkit::detail
