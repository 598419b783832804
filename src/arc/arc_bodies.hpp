// The body hashes of an ARC chain's ARC-Message-Signatures (RFC 8617 §4.1.2, RFC 6376 §3.7),
// kept few: up to 50 AMSs may each carry another l=.
#pragma once

#include <cstddef>
#include <dkimkit/signature.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canon/body_hasher.hpp"

namespace dkimkit::detail {

class arc_bodies {
 public:
  // Unless partial bodies are allowed, an l= shorter than the body fails whatever the hash says
  // and any other l= signs the whole body: every AMS then shares the hasher of its (c=, hash),
  // l= being compared with the canonicalized length only (body_problem()). Otherwise one hasher
  // per (c=, hash, l=).
  explicit arc_bodies(bool allow_partial_body) : allow_partial_body_(allow_partial_body) {}

  // The index of the hasher for `s`, added when there is none yet.
  std::size_t add(const signature& s) {
    const hash_algorithm h = hash_of(s.algo);
    const std::optional<std::uint64_t> limit =
        allow_partial_body_ ? s.body_length : std::optional<std::uint64_t>();
    std::size_t idx = 0;
    while (idx < hashers_.size() && !hashers_[idx].matches(s.body_canon, h, limit)) ++idx;
    if (idx == hashers_.size()) hashers_.emplace_back(s.body_canon, h, limit);
    return idx;
  }
  void update(std::string_view body, std::string& scratch) {
    for (auto& b : hashers_) b.update(body, scratch);
  }
  void finish(std::string& scratch) {
    for (auto& b : hashers_) b.finish(scratch);
  }
  [[nodiscard]] const body_hasher& operator[](std::size_t idx) const { return hashers_[idx]; }
  [[nodiscard]] std::size_t size() const noexcept { return hashers_.size(); }

 private:
  bool allow_partial_body_;
  std::vector<body_hasher> hashers_;
};

}  // namespace dkimkit::detail
