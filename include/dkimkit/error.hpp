// dkimkit/error.hpp: error codes, the `error` type and the `result<T>` alias used by every API.
//
//   dkimkit::result<dkimkit::signature> r = dkimkit::parse_signature(value);
//   if (!r) std::cerr << dkimkit::to_string(r.error().code) << ": " << r.error().detail;
//
// `to_string(errc)` returns a fixed phrase with static lifetime; `detail` carries the specifics.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace dkimkit {

// Stable DKIM reasons. The status word each one maps to is in status_of(errc) (verifier.hpp).
enum class errc {
  ok = 0,
  // DKIM-Signature syntax (neutral)
  tag_syntax,            // the tag list does not follow RFC 6376 §3.2
  tag_duplicate,         // a tag appears twice
  tag_missing,           // a required tag is absent
  bad_version,           // v= is not 1
  unsupported_algorithm, // a= is unknown
  bad_base64,            // b= or bh= is not valid base64
  bad_body_hash_length,  // bh= does not decode to the digest size
  bad_canonicalization,  // c= is unknown or malformed
  bad_domain,            // d= is not a domain name
  bad_selector,          // s= is not a selector
  bad_header_list,       // h= is malformed
  bad_auid,              // i= is malformed
  bad_length,            // l= is not a number that fits
  bad_timestamp,         // t= or x= is malformed, or x= is not after t=
  unsupported_query_method,  // q= names no method we know
  signature_too_large,   // the DKIM-Signature field exceeds its limit
  // Local checks and message structure (permerror)
  from_not_signed,       // h= does not list From
  auid_outside_sdid,     // i= is not d= nor a subdomain of it
  no_from,               // the message has no From field
  multiple_from,         // the message has more than one From field (RFC 6376 §8.15)
  malformed_header,      // the header block is not a sequence of fields
  header_too_large,      // a header limit was reached
  // Key record (permerror)
  key_not_found,         // NXDOMAIN or no DKIM key record
  key_revoked,           // p= is empty
  key_syntax,            // the key record is malformed
  key_ambiguous,         // more than one DKIM key record at the name
  key_type_mismatch,     // k= does not match a=
  key_hash_mismatch,     // the key's h= does not allow a='s hash
  key_service_mismatch,  // the key's s= allows neither * nor email
  key_strict_subdomain,  // key t=s and i= is in a subdomain of d=
  key_too_large,         // RSA key above the maximum size
  key_bad,               // the public key data cannot be used
  // Local policy (policy)
  sha1_not_allowed,      // rsa-sha1 is refused (RFC 8301)
  key_too_small,         // RSA key below the minimum size (RFC 8301)
  signature_expired,     // x= has passed
  signature_in_future,   // t= is beyond the allowed clock skew
  body_length_partial,   // l= leaves part of the body unsigned
  not_evaluated,         // beyond the limit of signatures evaluated per message
  replay_suspected,      // the signature was seen too often (dkimkit/replay.hpp)
  // Cryptographic result (fail)
  body_hash_mismatch,    // bh= does not match the body
  body_length_exceeds,   // l= is larger than the canonicalized body
  signature_mismatch,    // b= does not verify
  // Transient (temperror)
  dns_temporary,         // the key could not be fetched for now
  // Not verification results: used by the signer, key loading and tools
  invalid_argument,
  io_error,
  crypto_error,
  unsupported,
};

// A fixed phrase, e.g. "body hash mismatch".
[[nodiscard]] std::string_view to_string(errc code) noexcept;

struct error {
  errc code = errc::ok;
  std::string detail;  // specifics, e.g. "tag 'd' appears twice"

  // "phrase: detail", or the phrase alone when detail is empty.
  [[nodiscard]] std::string message() const;
};

template <class T>
using result = tl::expected<T, error>;

// Shorthand for returning an error: `return fail(errc::tag_missing, "no 'b' tag");`
[[nodiscard]] inline tl::unexpected<error> fail(errc code, std::string detail = {}) {
  return tl::unexpected<error>(error{code, std::move(detail)});
}

}  // namespace dkimkit
