// dkimkit/signature.hpp: the DKIM-Signature header field (RFC 6376 §3.5), parsed.
//
//   auto sig = dkimkit::parse_signature(field.value);
//   if (sig) std::cout << sig->sdid << " " << sig->selector << "\n";
//   else std::cout << sig.error().message() << "\n";   // the signature is neutral
//
// A parsed signature owns its strings; it does not point into the message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>

namespace dkimkit {

enum class algorithm { rsa_sha1, rsa_sha256, ed25519_sha256 };
enum class canonicalization { simple, relaxed };
enum class key_type { rsa, ed25519 };
enum class hash_algorithm { sha1, sha256 };

[[nodiscard]] std::string_view to_string(algorithm a) noexcept;         // "rsa-sha256"
[[nodiscard]] std::string_view to_string(canonicalization c) noexcept;  // "relaxed"
[[nodiscard]] std::string_view to_string(key_type k) noexcept;          // "ed25519"
[[nodiscard]] std::string_view to_string(hash_algorithm h) noexcept;    // "sha256"
[[nodiscard]] std::optional<algorithm> parse_algorithm(std::string_view s) noexcept;
[[nodiscard]] hash_algorithm hash_of(algorithm a) noexcept;
[[nodiscard]] key_type key_type_of(algorithm a) noexcept;
[[nodiscard]] std::size_t digest_size(hash_algorithm h) noexcept;  // 20 or 32

// The two canonicalizations a c= value names (RFC 6376 §3.5).
struct canonicalizations {
  canonicalization header = canonicalization::simple;  // before the slash
  canonicalization body = canonicalization::simple;    // after the slash; simple when absent
};
// Parses a c= value, "header" or "header/body", each "simple" or "relaxed" exactly (lower case,
// no white space): "relaxed" is relaxed/simple. Anything else ("", "relaxed/", "/relaxed",
// "Relaxed", "relaxed/simple/x") fails with bad_canonicalization naming the unknown part. The
// signature parser, the signer's command line and dkimkit-milter's configuration all read c= here.
[[nodiscard]] result<canonicalizations> parse_canonicalization(std::string_view c);

struct signature_limits {
  std::size_t max_field_bytes = 64 * 1024;  // the DKIM-Signature field
  std::size_t max_signed_headers = 1024;    // names in h=
};

struct signature {
  algorithm algo = algorithm::rsa_sha256;   // a=
  std::string signature_data;               // b=, decoded
  std::string signature_b64;                // b=, base64 without white space (for header.b)
  std::string body_hash;                    // bh=, decoded
  canonicalization header_canon = canonicalization::simple;  // c=, before the slash
  canonicalization body_canon = canonicalization::simple;    // c=, after the slash
  std::string sdid;                         // d=, lowercased
  std::string selector;                     // s=, lowercased
  std::vector<std::string> signed_headers;  // h=, in order, as written
  std::optional<std::string> auid;          // i=, decoded (dkim-quoted-printable)
  std::optional<std::uint64_t> body_length; // l=
  std::optional<std::uint64_t> timestamp;   // t=
  std::optional<std::uint64_t> expiration;  // x=
  bool query_dns_txt = true;                // q= (only dns/txt exists)

  // "selector._domainkey.sdid": where the key record lives (dkimkit::key_name).
  [[nodiscard]] std::string key_name() const;
  // The domain part of auid, or sdid when i= is absent.
  [[nodiscard]] std::string auid_domain() const;
};

// "selector._domainkey.domain": the DNS name of the key record for `selector` in `domain`
// (RFC 6376 §3.6.2.1), without a trailing dot. Joins the parts as given: no check, no case folding.
[[nodiscard]] std::string key_name(std::string_view selector, std::string_view domain);

// One tag-spec of a tag list (RFC 6376 §3.2) as written: the value without surrounding white
// space, its inner folding kept.
struct tag_spec {
  std::string name;
  std::string value;
};

// Parses the value of a DKIM-Signature field (everything after the colon, folding included).
// Every error here is a syntax error: the signature's result is neutral.
[[nodiscard]] result<signature> parse_signature(std::string_view value,
                                                const signature_limits& limits = {});

// Decodes the value of z= (RFC 6376 §3.5: copied header fields, "|"-separated,
// dkim-quoted-printable) into "Name:value" strings. z= is for diagnosis only: the verifier ignores
// it, and a z= that does not decode does not change a signature's result.
[[nodiscard]] result<std::vector<std::string>> decode_copied_headers(std::string_view value);

// Whether `sub` equals `domain` or is a subdomain of it (case-insensitive).
[[nodiscard]] bool is_same_or_subdomain(std::string_view sub, std::string_view domain) noexcept;

}  // namespace dkimkit
