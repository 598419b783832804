// dkimkit/key_record.hpp: the DKIM key record published in DNS (RFC 6376 §3.6.1), parsed.
//
//   auto rec = dkimkit::parse_key_record("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
//   if (rec && rec->key) std::cout << dkimkit::to_string(rec->type) << " " << rec->key->bits();
//   if (!rec) std::cout << rec.error().message();   // the signature's result is permerror
//
// key_record_from_answer() turns a resolver's answer into a key record; key_record_problems() says
// whether a key record may verify a given signature. The verifier uses both, as `dkimkit check-key`
// does.
//
// A key_record owns its data. public_key is immutable and may be shared between threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit {

// The smallest RSA key, in bits, that verifiers accept (RFC 8301 §3.2): the default of
// verify_options::min_rsa_bits, and the least dkimkit generates, signs with or calls good.
inline constexpr unsigned rfc8301_min_rsa_bits = 1024;

namespace detail {
struct public_key_impl;
}

// A public key ready for verification (RSA or Ed25519). Opaque: no OpenSSL type is exposed.
class public_key {
 public:
  // RSA: SubjectPublicKeyInfo DER, or (tolerated) a bare PKCS#1 RSAPublicKey.
  // Ed25519: the raw 32-byte key. Trailing bytes after the DER structure are refused.
  [[nodiscard]] static result<std::shared_ptr<const public_key>> from_der(key_type type,
                                                                          std::string_view data);
  [[nodiscard]] key_type type() const noexcept { return type_; }
  [[nodiscard]] unsigned bits() const noexcept { return bits_; }  // 256 for Ed25519
  // Verifies `sig` over `digest` (the hash of the header data, already computed with `hash`):
  // RSASSA-PKCS1-v1_5 for RSA, Ed25519 over the digest bytes for Ed25519 (RFC 8463 §3).
  [[nodiscard]] bool verify_digest(hash_algorithm hash, std::string_view digest,
                                   std::string_view sig) const;
  // Whether both are the same key (type and parameters).
  [[nodiscard]] bool same_as(const public_key& other) const;

  public_key(std::shared_ptr<detail::public_key_impl> impl, key_type type, unsigned bits)
      : impl_(std::move(impl)), type_(type), bits_(bits) {}

 private:
  std::shared_ptr<detail::public_key_impl> impl_;
  key_type type_;
  unsigned bits_;
};

struct key_limits {
  std::size_t max_record_bytes = 8192;  // the joined TXT record
  unsigned max_rsa_bits = 8192;         // larger RSA keys are refused (denial-of-service guard)
};

struct key_record {
  key_type type = key_type::rsa;             // k= (default rsa)
  std::vector<hash_algorithm> hashes;        // h= (known ones only); empty means any
  bool testing = false;                      // t=y
  bool strict = false;                       // t=s: i= must not be a subdomain of d=
  std::string notes;                         // n=, qp-section decoded
  std::shared_ptr<const public_key> key;     // p=, decoded
};

// Parses one TXT record. Every error is permanent (permerror); an empty p= gives key_revoked.
[[nodiscard]] result<key_record> parse_key_record(std::string_view txt,
                                                  const key_limits& limits = {});

// A bounded, thread-safe cache of parsed key records keyed by the record's text, so that a key
// many messages use is decoded once (decoding an RSA key costs about as much as verifying with it).
// Errors are cached too. Share one between verifiers through verify_options::keys.
class key_cache {
 public:
  explicit key_cache(std::size_t capacity = 1024);
  key_cache(const key_cache&) = delete;
  key_cache& operator=(const key_cache&) = delete;
  ~key_cache();
  // parse_key_record(txt, limits), or the cached outcome of an earlier call.
  [[nodiscard]] result<key_record> parse(std::string_view txt, const key_limits& limits = {});
  // The same outcome, shared: a hit hands out the cached record itself (immutable, safe to keep
  // and to read from any thread after it leaves the cache), not a copy.
  [[nodiscard]] result<std::shared_ptr<const key_record>> parse_shared(
      std::string_view txt, const key_limits& limits = {});
  [[nodiscard]] std::size_t hits() const noexcept;
  [[nodiscard]] std::size_t misses() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Whether a TXT record at a key name is meant as a DKIM key record (starts with v=DKIM or has a
// p= tag). Other TXT records at the name are ignored (RFC 6376 §3.6.2.2).
[[nodiscard]] bool looks_like_key_record(std::string_view txt) noexcept;

// The key record in `answer`, the resolver's answer for the key name `name` (RFC 6376 §6.1.2):
//   temporary                                 dns_temporary  "NAME: <answer.detail>"
//   nxdomain                                  key_not_found  "NAME does not exist (NXDOMAIN)"
//   nodata                                    key_not_found  "NAME has no TXT record"
//   no record that looks_like_key_record()    key_not_found  "NAME has no DKIM key record"
//   several such records                      key_ambiguous  "NAME has N DKIM key records"
// otherwise the one key record parsed: parse_key_record(record, limits), or cache->parse() when
// a cache is given. Other TXT records at the name are ignored. The error details name `name`.
[[nodiscard]] result<key_record> key_record_from_answer(const txt_answer& answer,
                                                        std::string_view name,
                                                        const key_limits& limits = {},
                                                        key_cache* cache = nullptr);

// Every reason the key record `rec` cannot verify the signature `sig`, in the order the verifier
// checks them (it reports the first); empty when the key fits:
//   k= is not the key type of a=                         key_type_mismatch  (RFC 6376 §6.1.2)
//   h= is present and does not list the hash of a=       key_hash_mismatch  (RFC 6376 §6.1.2)
//   t=s and i= is in a subdomain of d=                   key_strict_subdomain (RFC 6376 §3.6.1)
//   an RSA key of fewer than min_rsa_bits bits           key_too_small      (RFC 8301 §3.2)
// Faults of the record alone (empty p=: key_revoked; s= without email: key_service_mismatch; an
// RSA key above key_limits::max_rsa_bits: key_too_large) are found by parse_key_record().
// `rec.key` must be set (parse_key_record always sets it).
[[nodiscard]] std::vector<error> key_record_problems(const key_record& rec, const signature& sig,
                                                     unsigned min_rsa_bits = rfc8301_min_rsa_bits);

}  // namespace dkimkit
