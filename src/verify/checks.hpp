// Steps of RFC 6376 §6.1.2 and §6.1.3 shared by the DKIM verifier and the ARC validator.
#pragma once

#include <chrono>
#include <dkimkit/error.hpp>
#include <dkimkit/key_record.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/verifier.hpp>
#include <future>
#include <optional>
#include <string>

#include "canon/body_hasher.hpp"
#include "record/key_lookup.hpp"

namespace dkimkit::detail {

// The key record a started lookup of `name` answers (RFC 6376 §6.1.2), waiting at most until
// `started` + opts.dns_message_timeout (when not zero); the answer's DNSSEC state goes to `dnssec`.
[[nodiscard]] result<key_record> await_key_record(const std::shared_future<txt_answer>& lookup,
                                                  std::chrono::steady_clock::time_point started,
                                                  const std::string& name,
                                                  const verify_options& opts,
                                                  dnssec_status& dnssec);

// A key lookup started when the header ended: the answer itself from a resolver that
// answers_at_once() (no promise, no future), else the future of lookup_txt_async().
struct started_lookup {
  std::optional<txt_answer> answer;
  std::shared_future<txt_answer> future;
};
[[nodiscard]] started_lookup start_lookup(const txt_resolver& resolver, const std::string& name);

// await_key_record() for a started_lookup, the record shared (a key-cache hit is not copied).
[[nodiscard]] shared_key_record await_shared_key_record(const started_lookup& lookup,
                                                        std::chrono::steady_clock::time_point started,
                                                        const std::string& name,
                                                        const verify_options& opts,
                                                        dnssec_status& dnssec);

// x= passed or t= in the future at `now`, beyond `max_clock_skew` seconds (RFC 6376 §3.5, local
// policy); nullopt without `now` or when the times are fine.
[[nodiscard]] std::optional<error> time_problem(const signature& s,
                                                std::optional<std::uint64_t> now,
                                                std::uint64_t max_clock_skew);

// l= against the canonicalized body, then the body hash compared in constant time (RFC 6376
// §6.1.3, first part); nullopt when the body matches.
[[nodiscard]] std::optional<error> body_problem(const signature& s, const body_hasher& body,
                                                bool allow_partial_body);

}  // namespace dkimkit::detail
