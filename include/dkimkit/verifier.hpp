// dkimkit/verifier.hpp: verifying the DKIM signatures of a message (RFC 6376 §6).
//
//   dkimkit::verify_options o; o.resolver = &dns; o.now = [] { return std::uint64_t(time(nullptr)); };
//   for (const auto& v : dkimkit::verify(message, o))
//     std::cout << dkimkit::to_string(v.status) << " " << v.sdid << " " << v.reason << "\n";
//
// One verification per DKIM-Signature field, in header order (topmost first); a message whose
// header exceeds a limit and shows no signature in the part read gets one permerror
// (header_too_large) instead of none. Whether a signature verified is data, not an error. The resolver given in the options must outlive the verifier.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/key_record.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit {

// RFC 8601 §2.7.1 result words.
enum class status { none, pass, fail, policy, neutral, temperror, permerror };
[[nodiscard]] std::string_view to_string(status s) noexcept;
// The word each reason gives (README: "Results").
[[nodiscard]] status status_of(errc code) noexcept;
// Rank for choosing a message's overall result: pass, temperror, policy, fail, neutral, permerror.
[[nodiscard]] int rank(status s) noexcept;

struct verify_options {
  const txt_resolver* resolver = nullptr;  // required to verify anything; null: temperror
  key_cache* keys = nullptr;               // optional: reuse parsed keys across messages
  std::function<std::uint64_t()> now;      // Unix time; unset: t= and x= are not checked
  std::size_t max_signatures = 5;          // evaluated per message; the rest: policy, no DNS query
  unsigned min_rsa_bits = rfc8301_min_rsa_bits;  // smaller keys: policy (RFC 8301)
  bool allow_sha1 = false;                 // rsa-sha1: policy unless allowed (RFC 8301)
  bool allow_partial_body = false;         // l= shorter than the body: policy unless allowed
  std::uint64_t max_clock_skew = 300;      // seconds of tolerance on t= and x=
  // Time for all the key lookups of one message, counted from the end of its header (when they
  // start, concurrently): a lookup still unanswered then is a temperror naming this limit. The
  // resolver's own per-query deadline applies too. Zero: no limit beyond the resolver's.
  std::chrono::milliseconds dns_message_timeout{10000};
  // ARC (dkimkit/arc.hpp): distinct key names looked up per message. The newest
  // ARC-Message-Signature's and every ARC-Seal's are required: more of them than this fails the
  // chain (not_evaluated) with no query. Older ARC-Message-Signatures are looked up within what
  // is left; the first beyond it is not evaluated, where oldest-pass stops.
  std::size_t max_arc_key_lookups = 10;
  header_limits header{};
  signature_limits signature{};
  key_limits key{};
};

// A signature's replay counts over its window (dkimkit/replay.hpp), this message included.
struct replay_verdict {
  std::uint64_t messages = 0;
  std::uint64_t networks = 0;    // distinct client networks (estimate)
  std::uint64_t recipients = 0;  // distinct envelope recipients (estimate)
  std::uint64_t first_seen = 0;  // Unix seconds
  std::uint64_t window_seconds = 0;
  bool suspected = false;  // the counts exceed the thresholds (never for a trusted domain)
};

struct verification {
  dkimkit::status status = dkimkit::status::none;
  errc code = errc::ok;       // the reason, as a stable code
  std::string reason;         // human-readable; empty on pass
  std::size_t field_index = 0;  // index of the DKIM-Signature among the header fields
  // Known as far as the signature could be parsed (empty otherwise):
  std::string sdid;           // d=
  std::string selector;       // s=
  std::string auid;           // i= (or "@" + d= when absent)
  std::string algorithm;      // a=, as written when unknown
  std::string b_prefix;       // the first 8 characters of b= (RFC 6008 header.b)
  std::optional<dkimkit::key_type> key_type;
  unsigned key_bits = 0;      // 0 when no key was used
  bool testing = false;       // the key record has t=y
  std::optional<std::uint64_t> body_length;  // l=
  dnssec_status dnssec = dnssec_status::unknown;

  // The verifier's own parse, for explanations (dkimkit/explain.hpp) and diagnosis. Set for
  // signatures not evaluated too (parsing costs no DNS query and no crypto). Values as written:
  // they may hold any text of the field.
  result<std::vector<tag_spec>> tags;       // the field's tag list, or why it does not parse
  std::shared_ptr<const signature> parsed;  // null when the field is not a usable signature:
  std::optional<error> signature_error;     // why (the first error parse_signature() reports)
  std::shared_ptr<const key_record> key;    // the key record, when one was fetched and parsed
  // Replay detection (dkimkit/replay.hpp, apply_replay()): set when the message was counted and
  // this signature with it.
  std::optional<replay_verdict> replay;
  // Octets of canonicalized body received (the whole body, beyond l= too), when the body was
  // hashed for this signature (not for one decided before: malformed, expired, not evaluated...).
  std::optional<std::uint64_t> canonical_body_length;

  // False for a signature beyond max_signatures (code not_evaluated): no DNS query, no crypto.
  [[nodiscard]] bool evaluated() const noexcept { return code != errc::not_evaluated; }
};

// The best status of a message's evaluated signatures: pass, temperror, policy, fail, neutral,
// permerror; none if there is no signature. Signatures that were not evaluated never count
// (policy only when no signature at all was evaluated).
[[nodiscard]] status overall(const std::vector<verification>& results) noexcept;

// Streaming verifier: feed the message in chunks of any size, then finish(). The result never
// depends on how the input was cut. Only the header block is buffered.
class verifier {
 public:
  explicit verifier(verify_options opts);
  verifier(verifier&&) noexcept;
  verifier& operator=(verifier&&) noexcept;
  ~verifier();

  // Raw message bytes (CRLF or bare-LF line endings).
  void update(std::string_view chunk);
  // Or, as a milter does: header fields one by one ("Name: value", folding included, without
  // the final line ending), then end_of_header(), then body chunks.
  void add_header_field(std::string_view raw_field);
  void end_of_header();
  void add_body(std::string_view chunk);

  [[nodiscard]] std::vector<verification> finish();

  // The header fields as the verifier split them (after the header has ended; empty before),
  // views into the verifier's own copy of the header: valid while the verifier lives. A header
  // that does not parse is split leniently, as far as the limits allow.
  // verification::field_index indexes this list.
  [[nodiscard]] const std::vector<header_field>& header_fields() const noexcept;

  // The value of the message's From field as received (after the header has ended), or "" when
  // there is none or more than one. For alignment and local policy (dkimkit/policy.hpp).
  [[nodiscard]] std::string from_field() const;

 private:
  struct state;
  std::unique_ptr<state> s_;
};

// One-shot wrapper around verifier.
[[nodiscard]] std::vector<verification> verify(std::string_view message,
                                               const verify_options& opts);

}  // namespace dkimkit
