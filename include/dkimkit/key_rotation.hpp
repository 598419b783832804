// dkimkit/key_rotation.hpp: which of a signer's keys sign mail of a domain at a given time: the
// keys of the closest domain (the domain itself, else its nearest parent), and of those the ones
// whose rotation window (not_before / not_after) holds the time. dkimkit-milter's [[sign.keys]].
//
// clang-format off
//   std::vector<dkimkit::rotating_key> keys = {{"example.com", {t0, t1}},
//                                              {"example.com", {t1, {}}}};
//   auto c = dkimkit::choose_signing_keys(keys, "mail.example.com", true, now);
//   for (std::size_t i : c.in_force) sign_with(i);  // none in force but some outside: defer
// clang-format on
//
// Keys are named by their index in the caller's list; a rotation_choice owns its data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

// A key's rotation window: it signs from not_before (included) until not_after (excluded), Unix
// seconds; unset: no bound.
struct key_window {
  std::optional<std::uint64_t> not_before;
  std::optional<std::uint64_t> not_after;
};

// Where a key stands in its window at some time.
enum class key_schedule {
  unbounded,  // neither bound is set: the key always signs
  current,    // inside its window
  upcoming,   // not_before is later
  expired,    // not_after has passed
};
// "unbounded", "current", "upcoming", "expired".
[[nodiscard]] std::string_view to_string(key_schedule s) noexcept;
// A window that has ended is `expired`, even when it has not begun either.
[[nodiscard]] key_schedule schedule_at(const key_window& w, std::uint64_t now) noexcept;

// Whether a key with window `w` signs at `now`: not_before <= now < not_after, an unset bound
// holding any time (schedule_at() is unbounded or current).
[[nodiscard]] bool in_force(const key_window& w, std::uint64_t now) noexcept;

// One of a signer's keys, as choose_signing_keys() sees it. The view must outlive the call.
struct rotating_key {
  std::string_view domain;  // d=: signs mail of this domain (and of its subdomains)
  key_window window;
};

struct rotation_choice {
  // The closest domain, as the first of its keys spells it; "" when no key covers the domain.
  std::string domain;
  std::vector<std::size_t> in_force;  // its keys whose window holds the time, in order: they sign
  std::vector<std::size_t> outside;   // its other keys (schedule_at(): expired or upcoming)
};

// The keys that sign mail of `domain` at Unix time `now`, as indices into `keys`:
//   - the closest domain: of the keys whose domain is `domain` or (with `subdomains`) a parent
//     of it, ASCII case ignored, those with the longest domain;
//   - of its keys, those in force at `now` sign: all of them where windows overlap (a rotation in
//     progress). The keys of other domains are never used in their place: in_force empty with
//     outside not empty is a domain whose keys are all out of their window (dkimkit-milter defers
//     its mail rather than pass it unsigned).
[[nodiscard]] rotation_choice choose_signing_keys(std::span<const rotating_key> keys,
                                                  std::string_view domain, bool subdomains,
                                                  std::uint64_t now);

}  // namespace dkimkit
