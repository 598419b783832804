// dkimkit/arc.hpp: validating an Authenticated Received Chain (ARC, RFC 8617 §5.2) and adding
// a set to it (sealing, RFC 8617 §5.1).
//
//   dkimkit::arc_validation v = dkimkit::validate_arc(message, verify_opts);
//   std::cout << "arc=" << dkimkit::to_string(v.result) << " " << v.reason << "\n";
//   auto set = dkimkit::arc_seal(message, v, seal_opts, now);  // 3 fields for the top
//
// The validator shares the DKIM verifier's parsing, canonicalization, body hashing, key lookup
// (verify_options::resolver, ::keys), key rules (RFC 8301: no rsa-sha1, min_rsa_bits, h= of the key
// record, key_limits) and crypto. Whether a chain validated is data, not an error. The resolver
// given in the options must outlive the validator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/error.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/verifier.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

// The Chain Validation Status (RFC 8617 §4.4): "none", "pass" or "fail".
enum class arc_result { none, pass, fail };
[[nodiscard]] std::string_view to_string(arc_result r) noexcept;

// The most ARC sets a message may carry (RFC 8617 §5.2 step 1): more is a failed chain.
inline constexpr std::size_t arc_max_sets = 50;

// One ARC set (RFC 8617 §4.1): ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal
// with the same instance (i=).
struct arc_set_result {
  unsigned instance = 0;  // i=, 1..N
  // The ARC-Message-Signature (AMS): pass, fail, or none when it was not evaluated (an AMS newer
  // than it failed first, RFC 8617 §5.2 step 5, or the chain failed before). `ams_code` and
  // `ams_reason` say why it did not pass; the reason is empty on pass.
  status ams = status::none;
  errc ams_code = errc::ok;
  std::string ams_reason;
  std::string ams_domain, ams_selector;         // d=, s= when the AMS parsed
  std::vector<std::string> ams_signed_headers;  // h= as written, when the AMS parsed
  std::optional<std::uint64_t> ams_timestamp;   // t= of the AMS, when it parsed and has one
  // The ARC-Seal (AS), likewise.
  status seal = status::none;
  errc seal_code = errc::ok;
  std::string seal_reason;
  std::string seal_domain, seal_selector;       // d=, s= when the AS parsed
  std::string cv;                               // the AS's cv= as written ("none", "pass", "fail")
  std::optional<std::uint64_t> seal_timestamp;  // t= of the AS, when it parsed and has one
  // The ARC-Authentication-Results after its "i=N;" prefix, parsed (RFC 8601), or why not. A
  // value that does not parse does not fail the chain: the seal covers it as it is.
  std::optional<auth_results_field> aar;
  std::optional<error> aar_error;
};

struct arc_validation {
  arc_result result = arc_result::none;
  std::size_t sets = 0;  // N, the highest instance (0 without ARC fields)
  // When the chain passes: the lowest instance K such that the AMSs of sets K..N all pass
  // (RFC 8617 §5.2 step 5 and the header.oldest-pass of §7.2; 1 when every AMS passes). 0 when
  // the chain does not pass.
  unsigned oldest_pass = 0;
  // Why the chain failed (ok on pass and none). A key that could not be fetched for now fails the
  // chain too (RFC 8617 has no temperror for arc=), with a code whose status_of() is temperror
  // (dns_temporary): a caller may try again later, and arc_seal() refuses to seal it.
  errc code = errc::ok;
  std::string reason;    // human-readable; empty on pass and none
  // The sets in instance order (index 0 is i=1), once the structure was checked: empty when the
  // chain failed on its structure (RFC 8617 §5.2 steps 1 to 3).
  std::vector<arc_set_result> set_results;
};

// Streaming validator: fed like dkimkit::verifier (raw bytes, or milter-style fields then body),
// then finish(). The result never depends on how the input was cut. Only the header is buffered;
// costs are bounded by verify_options::header (fields), arc_max_sets,
// verify_options::signature (h= names, field size) and verify_options::max_arc_key_lookups
// (distinct keys fetched); the body is hashed once per (c=, hash), and once per l= too only
// with verify_options::allow_partial_body. Each ARC-Message-Signature gets the DKIM verifier's
// checks that need no key: exactly one From field (no_from, multiple_from; RFC 6376 §8.15),
// rsa-sha1 (RFC 8301), and x= and t= against verify_options::now when it is set. The newest
// AMS or any AS that does not parse or fails those checks fails the chain with no DNS query.
class arc_validator {
 public:
  explicit arc_validator(verify_options opts);
  arc_validator(arc_validator&&) noexcept;
  arc_validator& operator=(arc_validator&&) noexcept;
  ~arc_validator();

  void update(std::string_view chunk);  // raw message bytes (CRLF or bare LF)
  void add_header_field(std::string_view raw_field);
  void end_of_header();
  void add_body(std::string_view chunk);

  [[nodiscard]] arc_validation finish();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

// One-shot wrapper around arc_validator.
[[nodiscard]] arc_validation validate_arc(std::string_view message, const verify_options& opts);

// The header fields an ARC-Message-Signature signs by default, when present: those of a DKIM
// signature (default_signed_headers(), From over-signed when sign_options::oversign_from) and
// DKIM-Signature, each as often as present. DKIM-Signature is not over-signed: a later hop may
// add a DKIM signature above it without breaking this AMS.
[[nodiscard]] const std::vector<std::string>& default_arc_signed_headers();

struct arc_seal_options {
  // d=, s=, the key, a=, c= and h= of the ARC-Message-Signature and t= (when `timestamp`), as for
  // a DKIM signature (h= must list From, and may not list ARC-Seal; unset:
  // default_arc_signed_headers()). i= and l= are not ARC's: refused. The ARC-Seal uses the same
  // domain, selector, key and algorithm.
  sign_options signing;
  std::string authserv_id;  // this server's, for the ARC-Authentication-Results
  // The results for the ARC-Authentication-Results after the authserv-id ("spf=pass ...;
  // dkim=pass ..."). Unset: those of the message's Authentication-Results fields of authserv_id,
  // all of them, topmost first, joined with ";" (there must be one).
  std::optional<std::string> results;
  // Whether a chain whose newest set comes from authserv_id may get another set (refused by
  // default: a message sealed here coming back is a loop, or a forgery of our seal).
  bool allow_resealing = false;
};

// The ARC set i=N+1 for `message`, whose chain `chain` is (validate_arc() of the same message):
// ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results, in the order they go on top of
// the message, each folded with CRLF without a final CRLF. The seal has cv= from the validation;
// on a failed chain (cv=fail) it covers only its own set. Both carry d= lowercased. Refused
// (invalid_argument): a chain whose newest seal already says cv=fail (nothing to add, RFC 8617
// §5.1), a chain of 50 sets, a chain whose newest set comes from authserv_id (unless
// allow_resealing), a validation that does not match the message (another count of sets, or a
// pass for a message missing one of its fields), no Authentication-Results of authserv_id when
// `results` is unset. Refused as the DKIM signer refuses: a message without a From field
// (no_from) or with more than one (multiple_from). Refused with dns_temporary: a chain that
// failed because a key could not be fetched for now (status_of(chain.code) is temperror), which
// cv=fail would fail for good: try again later.
[[nodiscard]] result<std::vector<std::string>> arc_seal(std::string_view message,
                                                        const arc_validation& chain,
                                                        const arc_seal_options& opts,
                                                        std::uint64_t now);

}  // namespace dkimkit
