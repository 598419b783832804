// The keys of the closest domain in force at a time (dkimkit/key_rotation.hpp).
#include <dkimkit/key_rotation.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit {

std::string_view to_string(key_schedule s) noexcept {
  switch (s) {
    case key_schedule::unbounded:
      return "unbounded";
    case key_schedule::current:
      return "current";
    case key_schedule::upcoming:
      return "upcoming";
    case key_schedule::expired:
      return "expired";
  }
  return "?";
}

key_schedule schedule_at(const key_window& w, std::uint64_t now) noexcept {
  if (w.not_after && *w.not_after <= now) return key_schedule::expired;
  if (w.not_before && now < *w.not_before) return key_schedule::upcoming;
  return w.not_before || w.not_after ? key_schedule::current : key_schedule::unbounded;
}

bool in_force(const key_window& w, std::uint64_t now) noexcept {
  const key_schedule s = schedule_at(w, now);
  return s == key_schedule::unbounded || s == key_schedule::current;
}

rotation_choice choose_signing_keys(std::span<const rotating_key> keys, std::string_view domain,
                                    bool subdomains, std::uint64_t now) {
  rotation_choice out;
  std::vector<std::size_t> closest;
  std::size_t closest_len = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string_view d = keys[i].domain;
    if (!is_same_or_subdomain(domain, d)) continue;
    if (!subdomains && !iequals(domain, d)) continue;
    if (d.size() > closest_len) {
      closest.clear();
      closest_len = d.size();
    }
    if (d.size() == closest_len) closest.push_back(i);
  }
  if (closest.empty()) return out;
  out.domain = keys[closest.front()].domain;
  for (std::size_t i : closest)
    (in_force(keys[i].window, now) ? out.in_force : out.outside).push_back(i);
  return out;
}

}  // namespace dkimkit
