// dkimkit/replay.hpp: DKIM replay detection (draft-ietf-dkim-replay-problem). A replayed message
// is one signed message resent, unchanged, to many recipients from many networks: every copy
// passes. Each passing signature is counted, by a key derived from its d=, s= and b= (hashed),
// in a store every inbound host shares (dkimkit/redis_replay.hpp): the messages seen, the distinct
// client networks (/24, /48) and the distinct envelope recipients over a sliding window. A
// signature whose counts exceed the thresholds is "replay suspected".
//
//   dkimkit::replay_message m = dkimkit::replay_message_of(results, client, rcpts, settings, now);
//   auto counts = store.record(m, std::chrono::milliseconds(50));  // one round trip
//   if (counts) dkimkit::apply_replay(results, m, *counts, settings, dkimkit::replay_action::tag);
//
// Nothing here touches the network; a store does. Results own their strings.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit {

// When a signature is suspected: one of its counts over the window exceeds its limit (0: that
// count is not limited). The default flags a message seen from more than 10 client networks: a
// newsletter reaches many recipients from one or a few networks (each copy has its own To: and
// so its own signature anyway), a replay reaches them from many.
struct replay_thresholds {
  std::uint64_t networks = 10;
  std::uint64_t messages = 0;
  std::uint64_t recipients = 0;
};

// At most this many slices are counted for one signature: a window (x= included) is cut to
// max_replay_slices slices of window / buckets seconds.
inline constexpr unsigned max_replay_slices = 1000;

struct replay_settings {
  // The sliding window. It is cut into `buckets` equal slices; counts cover the current slice and
  // those before it within the window, so the window slides by one slice at a time.
  std::chrono::seconds window{24 * 3600};
  unsigned buckets = 4;
  // A signature whose x= lies further ahead than `window` is counted over the time left to x=
  // instead, up to max_window and up to max_replay_slices slices.
  std::chrono::seconds max_window{7 * 24 * 3600};
  replay_thresholds thresholds;
  // Signing domains (d= equal to one of these or under it, ASCII case ignored) that are counted
  // but never suspected.
  std::vector<std::string> trusted_domains;
  // Per-message bounds: envelope recipients counted (the rest are not), signatures counted (the
  // passing ones, in order).
  std::size_t max_recipients = 100;
  std::size_t max_signatures = 5;
};

// The settings make sense: window ≥ 60 s and a multiple of buckets seconds, 1 ≤ buckets ≤ 24,
// max_window ≥ window, bounds ≥ 1, trusted domains are domain names. The error says which.
[[nodiscard]] result<void> check(const replay_settings& s);

// The replay key of a signature: the first 16 bytes of SHA-256 over d= (lowercased), NUL, s=
// (lowercased), NUL, b= (base64 without white space), as 32 lowercase hex digits.
[[nodiscard]] std::string replay_key(std::string_view sdid, std::string_view selector,
                                     std::string_view b64_signature);

// The client network counted: "192.0.2.0/24" for an IPv4 address, "2001:db8:1::/48" for IPv6
// (an IPv4-mapped IPv6 address counts as IPv4). family AF_INET (4 bytes) or AF_INET6 (16 bytes,
// network order); empty for any other family or a null address (the message's network is then
// not counted).
[[nodiscard]] std::string client_network(int family, const unsigned char* addr);

// An envelope recipient as counted: the RFC 5321 Path of RCPT TO ("<User@Example.COM>", a source
// route dropped, ESMTP parameters not included) as "user@example.com", lowercased; a quoted local
// part is unquoted. Empty when the path does not parse (such a recipient is not counted).
[[nodiscard]] std::string envelope_recipient(std::string_view path);

// The keyed hash a recipient is stored as: HMAC-SHA256(key, recipient), first 8 bytes, 16 hex
// digits. The store holds the key; the address itself is never stored.
[[nodiscard]] std::string recipient_hash(std::string_view key, std::string_view recipient);

// One signature of a message, to be counted.
struct replay_signature {
  std::string key;  // replay_key()
  std::string sdid;
  std::string selector;
  std::uint64_t window_seconds = 0;  // settings.window, or the time left to x= (capped, see above)
  bool trusted = false;              // d= is one of settings.trusted_domains or under one
  std::size_t result_index = 0;      // its index among the verifications it came from
};

// What one message adds to the counts.
struct replay_message {
  std::uint64_t now = 0;                // Unix seconds
  std::string network;                  // client_network(); empty: not counted
  std::vector<std::string> recipients;  // envelope_recipient() values, deduplicated, non-empty
  std::vector<replay_signature> signatures;
};

// The message's passing signatures (status pass; at most settings.max_signatures, in order) and
// its network and recipients (at most settings.max_recipients). No signature: nothing to count.
// `recipient_paths` are RCPT TO paths as the MTA gave them.
[[nodiscard]] replay_message replay_message_of(const std::vector<verification>& results,
                                               int family, const unsigned char* addr,
                                               const std::vector<std::string>& recipient_paths,
                                               const replay_settings& settings,
                                               std::uint64_t now);

// A signature's counts over its window, this message included.
struct replay_counts {
  std::uint64_t messages = 0;
  std::uint64_t networks = 0;    // HyperLogLog estimate
  std::uint64_t recipients = 0;  // HyperLogLog estimate
  std::uint64_t first_seen = 0;  // Unix seconds, within the key's lifetime
};

// Whether counts exceed the thresholds (any limit that is not 0). Trusted signatures never are.
[[nodiscard]] bool replay_suspected(const replay_counts& c, const replay_thresholds& t,
                                    bool trusted) noexcept;

// What the milter does with a suspected signature: record it in Authentication-Results only
// (tag); also count it as not passing (policy: its status becomes policy, errc::replay_suspected);
// or answer 451 4.7.1 / 550 5.7.1 (tempfail, reject: the caller's SMTP reply).
enum class replay_action { tag, policy, tempfail, reject };
[[nodiscard]] std::string_view to_string(replay_action a) noexcept;  // "tag", "policy", ...
[[nodiscard]] std::optional<replay_action> parse_replay_action(std::string_view s) noexcept;

// Records the counts (in order of m.signatures, as a store returns them) on the verifications
// they belong to (verification::replay) and, with action policy, turns a suspected pass into
// policy. Returns how many signatures are suspected. Counts of another size: nothing is recorded
// (0).
std::size_t apply_replay(std::vector<verification>& results, const replay_message& m,
                         const std::vector<replay_counts>& counts, const replay_settings& settings,
                         replay_action action);

// The counts in words, for a log line or an Authentication-Results comment:
// "replay suspected: 250 messages from 40 networks to 900 recipients in 24 h" ("replay counted:
// ..." when not suspected).
[[nodiscard]] std::string replay_summary(const replay_verdict& r);

// Where counts are kept. record() is called from many threads at once.
class replay_store {
 public:
  virtual ~replay_store() = default;
  // Adds the message to the counts of each of its signatures and returns their counts, in order,
  // within `budget`. An error (store down, budget spent, an answer not understood): nothing is
  // known, and the caller goes on as if the message had not been counted.
  [[nodiscard]] virtual result<std::vector<replay_counts>> record(
      const replay_message& m, std::chrono::milliseconds budget) = 0;
};

}  // namespace dkimkit
