// OpenSSL 3 EVP wrappers: RAII handles, fetched digests and an incremental hash.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include <dkimkit/signature.hpp>

namespace dkimkit::detail {

struct evp_md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct evp_pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct evp_pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, evp_pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, evp_pkey_ctx_deleter>;

// The digest, fetched once per process (an explicit fetch avoids OpenSSL 3's per-call lookup).
[[nodiscard]] const EVP_MD* evp_md(hash_algorithm h) noexcept;

// The OpenSSL error queue, drained, as text ("" when empty).
[[nodiscard]] std::string drain_openssl_errors();

// An OpenSSL call that only fails for want of memory failed: throws std::bad_alloc with the
// OpenSSL error queue emptied (it is per thread, and a later failure would report it).
[[noreturn]] void out_of_memory();

// An incremental hash.
class hasher {
 public:
  explicit hasher(hash_algorithm h);
  void update(std::string_view data) noexcept;
  [[nodiscard]] std::string finish();  // the raw digest
  // A hasher that goes on from this one's state (what it was given so far), this one unchanged.
  [[nodiscard]] hasher copy() const;

 private:
  explicit hasher(md_ctx_ptr ctx) noexcept : ctx_(std::move(ctx)) {}
  md_ctx_ptr ctx_;
};

[[nodiscard]] std::string digest(hash_algorithm h, std::string_view data);
// HMAC-SHA256 of `data` under `key` (RFC 2104), the raw 32 bytes.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace dkimkit::detail
