// dkimkit/signer.hpp: signing messages (RFC 6376 §5, RFC 8463).
//
//   auto key = dkimkit::private_key::load_file("sel.private");
//   dkimkit::sign_options o{.sdid = "example.com", .selector = "sel", .key = *key};
//   auto fields = dkimkit::sign(message, {o}, unix_time_now);  // "DKIM-Signature: ..." each
//
// Every returned field is folded with CRLF and has no final CRLF; put it on top of the message.
// A private_key is immutable once loaded and may be shared by signers in several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit {

namespace detail {
struct private_key_impl;
class body_hasher;
}

class private_key {
 public:
  // PEM: PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") for RSA, PKCS#8 for Ed25519; or the
  // raw base64 32-byte Ed25519 seed (64 bytes seed+public also accepted) that dkimpy and rspamd
  // write. Encrypted PEM is refused (a daemon never prompts).
  [[nodiscard]] static result<private_key> load(std::string_view data);
  [[nodiscard]] static result<private_key> load_file(const std::string& path);
  [[nodiscard]] static result<private_key> generate(key_type type, unsigned rsa_bits = 2048);

  [[nodiscard]] key_type type() const noexcept { return type_; }
  [[nodiscard]] unsigned bits() const noexcept { return bits_; }
  [[nodiscard]] std::string to_pem() const;  // PKCS#8
  // The p= value to publish: base64 SubjectPublicKeyInfo (RSA) or base64 raw key (Ed25519).
  [[nodiscard]] std::string public_record_value() const;
  // The whole TXT record value: "v=DKIM1; k=rsa; p=...".
  [[nodiscard]] std::string public_record() const;
  // Signs `digest` (computed with `hash`): RSASSA-PKCS1-v1_5 or Ed25519 over the digest bytes.
  [[nodiscard]] result<std::string> sign_digest(hash_algorithm hash, std::string_view digest) const;

 private:
  std::shared_ptr<const detail::private_key_impl> impl_;
  key_type type_ = key_type::rsa;
  unsigned bits_ = 0;
};

// The header fields signed by default, when present (From is also signed once more than it
// occurs, so that no From can be added).
[[nodiscard]] const std::vector<std::string>& default_signed_headers();

struct sign_options {
  std::string sdid;                    // d=, lowercased when signing
  std::string selector;                // s=
  private_key key;
  std::optional<algorithm> algo;       // a=; default from the key: rsa-sha256 or ed25519-sha256
  canonicalization header_canon = canonicalization::relaxed;
  canonicalization body_canon = canonicalization::relaxed;
  // h= exactly as given (list a name twice to over-sign it); unset: default_signed_headers(),
  // those present, as often as present, with From over-signed when oversign_from.
  std::optional<std::vector<std::string>> headers;
  bool oversign_from = true;
  bool timestamp = true;               // t=
  std::optional<std::uint64_t> expire_after;  // x= = t + this many seconds
  std::optional<std::string> auid;     // i=, plain ("a=b@x.example"); written encoded (§2.11)
  bool body_length = false;            // l= (off by default: RFC 6376 §8.2)
};

// Streaming signer: feed the message in chunks of any size, then finish().
class signer {
 public:
  // `now` is the Unix time used for t= and x=.
  [[nodiscard]] static result<signer> create(std::vector<sign_options> opts, std::uint64_t now,
                                             header_limits limits = {});
  signer(signer&&) noexcept;
  signer& operator=(signer&&) noexcept;
  ~signer();

  // Raw message bytes (CRLF or LF line endings), in chunks of any size.
  void update(std::string_view chunk);
  // Or, as a milter does: each header field ("Name: value", folding included, no final line
  // ending), then end_of_header(), then body chunks.
  void add_header_field(std::string_view raw_field);
  void end_of_header();
  void add_body(std::string_view chunk);

  // One DKIM-Signature field per sign_options, in the order given, for the top of the message.
  [[nodiscard]] result<std::vector<std::string>> finish();

 private:
  signer();
  struct state;
  std::unique_ptr<state> s_;
};

// One-shot wrapper around signer.
[[nodiscard]] result<std::vector<std::string>> sign(std::string_view message,
                                                    std::vector<sign_options> opts,
                                                    std::uint64_t now);

}  // namespace dkimkit
