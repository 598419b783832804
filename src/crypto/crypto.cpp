#include "crypto/crypto.hpp"

#include <new>

#include <openssl/err.h>
#include <openssl/hmac.h>

namespace dkimkit::detail {

namespace {

EVP_MD* fetch(const char* name) noexcept {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) ERR_clear_error();
  return md;
}

}  // namespace

const EVP_MD* evp_md(hash_algorithm h) noexcept {
  static EVP_MD* const sha1 = fetch("SHA1");
  static EVP_MD* const sha256 = fetch("SHA256");
  return h == hash_algorithm::sha1 ? sha1 : sha256;
}

void out_of_memory() {
  ERR_clear_error();
  throw std::bad_alloc();
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
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), evp_md(h), nullptr) != 1) out_of_memory();
}

void hasher::update(std::string_view data) noexcept {
  if (!data.empty() && EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
    ERR_clear_error();
}

std::string hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) ERR_clear_error();
  return std::string(reinterpret_cast<const char*>(md), len);
}

hasher hasher::copy() const {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), ctx_.get()) != 1) out_of_memory();
  return hasher(std::move(ctx));
}

std::string digest(hash_algorithm h, std::string_view data) {
  // One context per thread, initialised again for each digest: no allocation per message. Made
  // on the first call, and on the next one when that failed.
  thread_local md_ctx_ptr ctx;
  if (!ctx) ctx.reset(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), evp_md(h), nullptr) != 1 ||
      (!data.empty() && EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1) ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    out_of_memory();
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key or data still needs a valid pointer.
  static const unsigned char empty = 0;
  const void* k = key.empty() ? &empty : static_cast<const void*>(key.data());
  const auto* d = data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data());
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), md, &len)) {
    ERR_clear_error();
    out_of_memory();
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace dkimkit::detail
