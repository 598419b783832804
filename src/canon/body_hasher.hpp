// One body hash: canonicalization, hash algorithm and optional length limit (RFC 6376 §3.7).
// The verifier and the signer keep one per distinct (canonicalization, hash, l=).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "canon/body_canon.hpp"
#include "crypto/crypto.hpp"

namespace dkimkit::detail {

class body_hasher {
 public:
  // `ends`: line_ends::crlf_or_bare_lf lets update() take bytes that were not CRLF-normalised.
  body_hasher(canonicalization c, hash_algorithm h, std::optional<std::uint64_t> limit,
              line_ends ends = line_ends::crlf)
      : canon_(c, ends), hash_(h), c_(c), h_(h), limit_(limit) {}

  [[nodiscard]] bool matches(canonicalization c, hash_algorithm h,
                             std::optional<std::uint64_t> limit) const noexcept {
    return c == c_ && h == h_ && limit == limit_;
  }
  // Body bytes (CRLF-normalised unless made with crlf_or_bare_lf). `scratch` is a buffer the caller
  // reuses between calls. A long piece goes through in slices of kSlice bytes, each hashed while it
  // is still in the cache (and `scratch` stays small).
  void update(std::string_view body, std::string& scratch) {
    while (!body.empty()) {
      const std::string_view slice = body.substr(0, kSlice);
      body.remove_prefix(slice.size());
      const std::size_t len = canon_.update_into(slice, scratch);
      consume(std::string_view(scratch.data(), len));
    }
  }
  void finish(std::string& scratch) {
    scratch.clear();
    canon_.finish(scratch);
    consume(scratch);
    digest_ = hash_.finish();
  }
  [[nodiscard]] const std::string& digest() const noexcept { return digest_; }
  // Octets of canonicalized body seen in all, counting those beyond the limit.
  [[nodiscard]] std::uint64_t canonical_length() const noexcept { return total_; }

 private:
  static constexpr std::size_t kSlice = 16 * 1024;

  void consume(std::string_view canon) {
    std::uint64_t n = canon.size();
    if (limit_ && total_ < *limit_) {
      std::uint64_t take = std::min<std::uint64_t>(n, *limit_ - total_);
      hash_.update(canon.substr(0, static_cast<std::size_t>(take)));
    } else if (!limit_) {
      hash_.update(canon);
    }
    total_ += n;
  }

  body_canonicalizer canon_;
  hasher hash_;
  canonicalization c_;
  hash_algorithm h_;
  std::optional<std::uint64_t> limit_;
  std::uint64_t total_ = 0;
  std::string digest_;
};

}  // namespace dkimkit::detail
