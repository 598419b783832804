#include <dkimkit/error.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::tag_syntax: return "signature syntax error";
    case errc::tag_duplicate: return "duplicate tag";
    case errc::tag_missing: return "missing required tag";
    case errc::bad_version: return "unsupported signature version";
    case errc::unsupported_algorithm: return "unsupported algorithm";
    case errc::bad_base64: return "invalid base64";
    case errc::bad_body_hash_length: return "body hash of wrong length";
    case errc::bad_canonicalization: return "unknown canonicalization";
    case errc::bad_domain: return "invalid signing domain";
    case errc::bad_selector: return "invalid selector";
    case errc::bad_header_list: return "invalid signed header list";
    case errc::bad_auid: return "invalid agent or user identifier";
    case errc::bad_length: return "invalid body length";
    case errc::bad_timestamp: return "invalid timestamp";
    case errc::unsupported_query_method: return "unsupported query method";
    case errc::signature_too_large: return "signature field too large";
    case errc::from_not_signed: return "From field not signed";
    case errc::auid_outside_sdid: return "identity outside the signing domain";
    case errc::no_from: return "message has no From field";
    case errc::multiple_from: return "message has more than one From field";
    case errc::malformed_header: return "malformed message header";
    case errc::header_too_large: return "message header exceeds a limit";
    case errc::key_not_found: return "no key for signature";
    case errc::key_revoked: return "key revoked";
    case errc::key_syntax: return "invalid key record";
    case errc::key_ambiguous: return "more than one key record";
    case errc::key_type_mismatch: return "key type does not match algorithm";
    case errc::key_hash_mismatch: return "key does not allow this hash algorithm";
    case errc::key_service_mismatch: return "key not for email";
    case errc::key_strict_subdomain: return "key forbids subdomain identities";
    case errc::key_too_large: return "key too large";
    case errc::key_bad: return "unusable public key";
    case errc::sha1_not_allowed: return "rsa-sha1 not accepted";
    case errc::key_too_small: return "key too small";
    case errc::signature_expired: return "signature expired";
    case errc::signature_in_future: return "signature timestamp in the future";
    case errc::body_length_partial: return "body length limit leaves part of the body unsigned";
    case errc::not_evaluated: return "signature not evaluated";
    case errc::replay_suspected: return "DKIM replay suspected";
    case errc::body_hash_mismatch: return "body hash mismatch";
    case errc::body_length_exceeds: return "l= larger than the body";
    case errc::signature_mismatch: return "signature did not verify";
    case errc::dns_temporary: return "key lookup failed temporarily";
    case errc::invalid_argument: return "invalid argument";
    case errc::io_error: return "input/output error";
    case errc::crypto_error: return "cryptographic library error";
    case errc::unsupported: return "unsupported";
  }
  return "unknown error";
}

std::string error::message() const {
  std::string out(to_string(code));
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::none: return "none";
    case status::pass: return "pass";
    case status::fail: return "fail";
    case status::policy: return "policy";
    case status::neutral: return "neutral";
    case status::temperror: return "temperror";
    case status::permerror: return "permerror";
  }
  return "none";
}

status status_of(errc code) noexcept {
  switch (code) {
    case errc::ok: return status::pass;
    case errc::tag_syntax:
    case errc::tag_duplicate:
    case errc::tag_missing:
    case errc::bad_version:
    case errc::unsupported_algorithm:
    case errc::bad_base64:
    case errc::bad_body_hash_length:
    case errc::bad_canonicalization:
    case errc::bad_domain:
    case errc::bad_selector:
    case errc::bad_header_list:
    case errc::bad_auid:
    case errc::bad_length:
    case errc::bad_timestamp:
    case errc::unsupported_query_method:
    case errc::signature_too_large: return status::neutral;
    case errc::sha1_not_allowed:
    case errc::key_too_small:
    case errc::signature_expired:
    case errc::signature_in_future:
    case errc::body_length_partial:
    case errc::not_evaluated:
    case errc::replay_suspected: return status::policy;
    case errc::body_hash_mismatch:
    case errc::signature_mismatch: return status::fail;
    case errc::dns_temporary: return status::temperror;
    default: return status::permerror;
  }
}

int rank(status s) noexcept {
  switch (s) {
    case status::pass: return 6;
    case status::temperror: return 5;
    case status::policy: return 4;
    case status::fail: return 3;
    case status::neutral: return 2;
    case status::permerror: return 1;
    case status::none: return 0;
  }
  return 0;
}

status overall(const std::vector<verification>& results) noexcept {
  // Signatures that were not evaluated (beyond max_signatures) say nothing about the message:
  // they must not lift it above what the evaluated ones gave.
  status best = status::none;
  bool any_evaluated = false;
  for (const auto& v : results) {
    if (!v.evaluated()) continue;
    any_evaluated = true;
    if (rank(v.status) > rank(best)) best = v.status;
  }
  return any_evaluated || results.empty() ? best : status::policy;
}

}  // namespace dkimkit
