#include "verify/checks.hpp"

#include <openssl/crypto.h>

#include <cstdint>

namespace dkimkit::detail {

namespace {

// The answer of `lookup`, or the error of one not there by started + opts.dns_message_timeout.
result<const txt_answer*> await_answer(const std::shared_future<txt_answer>& lookup,
                                       std::chrono::steady_clock::time_point started,
                                       const std::string& name, const verify_options& opts) {
  if (opts.dns_message_timeout.count() > 0 &&
      lookup.wait_until(started + opts.dns_message_timeout) == std::future_status::timeout)
    return fail(errc::dns_temporary, name + ": no answer within the DNS time for the message (" +
                                         std::to_string(opts.dns_message_timeout.count()) +
                                         " ms, dns_message_timeout)");
  return &lookup.get();  // the shared answer, not a copy per message
}

}  // namespace

result<key_record> await_key_record(const std::shared_future<txt_answer>& lookup,
                                    std::chrono::steady_clock::time_point started,
                                    const std::string& name, const verify_options& opts,
                                    dnssec_status& dnssec) {
  const auto ans = await_answer(lookup, started, name, opts);
  if (!ans) return tl::unexpected(ans.error());
  dnssec = (*ans)->dnssec;
  return key_record_from_answer(**ans, name, opts.key, opts.keys);
}

started_lookup start_lookup(const txt_resolver& resolver, const std::string& name) {
  if (resolver.answers_at_once()) return {resolver.lookup_txt(name), {}};
  return {std::nullopt, resolver.lookup_txt_async(name)};
}

shared_key_record await_shared_key_record(const started_lookup& lookup,
                                          std::chrono::steady_clock::time_point started,
                                          const std::string& name, const verify_options& opts,
                                          dnssec_status& dnssec) {
  const txt_answer* ans = lookup.answer ? &*lookup.answer : nullptr;
  if (!ans) {
    const auto waited = await_answer(lookup.future, started, name, opts);
    if (!waited) return tl::unexpected(waited.error());
    ans = *waited;
  }
  dnssec = ans->dnssec;
  return shared_key_record_from_answer(*ans, name, opts.key, opts.keys);
}

namespace {
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
}  // namespace

std::optional<error> time_problem(const signature& s, std::optional<std::uint64_t> now,
                                  std::uint64_t max_clock_skew) {
  if (now && s.expiration && *now > saturating_add(*s.expiration, max_clock_skew))
    return error{errc::signature_expired, "x=" + std::to_string(*s.expiration) + " passed " +
                                              std::to_string(*now - *s.expiration) + " s ago"};
  if (now && s.timestamp && *s.timestamp > saturating_add(*now, max_clock_skew))
    return error{errc::signature_in_future, "t=" + std::to_string(*s.timestamp) + " is " +
                                                std::to_string(*s.timestamp - *now) +
                                                " s ahead, more than the allowed " +
                                                std::to_string(max_clock_skew)};
  return std::nullopt;
}

std::optional<error> body_problem(const signature& s, const body_hasher& body,
                                  bool allow_partial_body) {
  const std::uint64_t length = body.canonical_length();
  if (s.body_length && *s.body_length > length)
    return error{errc::body_length_exceeds, "l=" + std::to_string(*s.body_length) +
                                                " but the canonicalized body has " +
                                                std::to_string(length) + " octets"};
  if (s.body_length && *s.body_length < length && !allow_partial_body)
    return error{errc::body_length_partial, "l=" + std::to_string(*s.body_length) + " signs " +
                                                std::to_string(*s.body_length) + " of " +
                                                std::to_string(length) + " octets"};
  if (body.digest().size() != s.body_hash.size() ||
      CRYPTO_memcmp(body.digest().data(), s.body_hash.data(), s.body_hash.size()) != 0)
    return error{errc::body_hash_mismatch, "the body was changed after signing"};
  return std::nullopt;
}

}  // namespace dkimkit::detail
