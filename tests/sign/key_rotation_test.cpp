// Key rotation (dkimkit/key_rotation.hpp): of the closest domain's keys, those whose window holds
// the time sign; not_before is included, not_after excluded; keys of another domain never stand
// in for a domain whose keys are all out of their window.
#include <gtest/gtest.h>

#include <dkimkit/key_rotation.hpp>
#include <optional>
#include <vector>

namespace dkimkit {
namespace {

constexpr std::uint64_t kT = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr std::uint64_t kDay = 86400;
const std::optional<std::uint64_t> kNone;

using indices = std::vector<std::size_t>;

TEST(key_rotation, window_bounds) {
  const key_window w{kT, kT + kDay};
  EXPECT_FALSE(in_force(w, kT - 1));
  EXPECT_TRUE(in_force(w, kT));  // not_before is included
  EXPECT_TRUE(in_force(w, kT + kDay - 1));
  EXPECT_FALSE(in_force(w, kT + kDay));  // not_after is excluded
  EXPECT_EQ(schedule_at(w, kT - 1), key_schedule::upcoming);
  EXPECT_EQ(schedule_at(w, kT + kDay), key_schedule::expired);
  EXPECT_TRUE(in_force({}, 0));
  EXPECT_TRUE(in_force({kNone, kT}, 0));
  EXPECT_TRUE(in_force({kT, kNone}, UINT64_MAX));
  // A window that has ended is expired even when it has not begun (never in force).
  EXPECT_EQ(schedule_at({kT + kDay, kT}, kT + 1), key_schedule::expired);
  EXPECT_FALSE(in_force({kT + kDay, kT}, kT + 1));
  EXPECT_FALSE(in_force({kT + kDay, kT}, kT - 1));
}

TEST(key_rotation, the_window_decides_at_its_boundaries) {
  // s1 until kT, s2 from kT: exactly one signs at every second around the change.
  const std::vector<rotating_key> keys = {{"example.com", {kNone, kT}},
                                          {"example.com", {kT, kNone}}};
  auto before = choose_signing_keys(keys, "example.com", true, kT - 1);
  EXPECT_EQ(before.in_force, indices{0});
  EXPECT_EQ(before.outside, indices{1});
  auto at = choose_signing_keys(keys, "example.com", true, kT);
  EXPECT_EQ(at.in_force, indices{1});
  EXPECT_EQ(at.outside, indices{0});
  EXPECT_EQ(at.domain, "example.com");
}

TEST(key_rotation, overlapping_windows_all_sign) {
  const std::vector<rotating_key> keys = {{"example.com", {kNone, kT + kDay}},
                                          {"example.com", {kT, kNone}},
                                          {"example.com", {kT + kDay, kT + 2 * kDay}}};
  auto c = choose_signing_keys(keys, "example.com", true, kT);
  EXPECT_EQ(c.in_force, (indices{0, 1}));
  EXPECT_EQ(c.outside, indices{2});
  auto later = choose_signing_keys(keys, "example.com", true, kT + kDay);
  EXPECT_EQ(later.in_force, (indices{1, 2}));
  EXPECT_EQ(later.outside, indices{0});
}

TEST(key_rotation, none_in_force_is_not_replaced_by_a_parent) {
  const std::vector<rotating_key> keys = {{"example.com", {}},
                                          {"mail.example.com", {kNone, kT}},
                                          {"MAIL.example.com", {kT + kDay, kNone}}};
  auto c = choose_signing_keys(keys, "mail.example.com", true, kT);
  EXPECT_TRUE(c.in_force.empty());
  EXPECT_EQ(c.outside, (indices{1, 2}));
  EXPECT_EQ(c.domain, "mail.example.com");  // as the first of its keys spells it
  EXPECT_EQ(schedule_at(keys[1].window, kT), key_schedule::expired);
  EXPECT_EQ(schedule_at(keys[2].window, kT), key_schedule::upcoming);
}

TEST(key_rotation, the_closest_domain_signs) {
  const std::vector<rotating_key> keys = {{"com", {}},
                                          {"example.com", {}},
                                          {"other.example", {}},
                                          {"Example.COM", {}},
                                          {"a.example.com", {}}};
  // The domain itself, ASCII case ignored: every key of it.
  auto own = choose_signing_keys(keys, "example.com", true, kT);
  EXPECT_EQ(own.in_force, (indices{1, 3}));
  EXPECT_EQ(own.domain, "example.com");
  // A subdomain: its nearest parent with keys.
  EXPECT_EQ(choose_signing_keys(keys, "x.b.example.com", true, kT).in_force, (indices{1, 3}));
  EXPECT_EQ(choose_signing_keys(keys, "x.a.example.com", true, kT).in_force, indices{4});
  // Without subdomains, the domain itself only.
  auto exact = choose_signing_keys(keys, "x.b.example.com", false, kT);
  EXPECT_TRUE(exact.in_force.empty());
  EXPECT_TRUE(exact.outside.empty());
  EXPECT_EQ(exact.domain, "");
  EXPECT_EQ(choose_signing_keys(keys, "a.example.com", false, kT).in_force, indices{4});
  // No key covers it: nothing at all (not "none in force").
  auto none = choose_signing_keys(keys, "example.org", true, kT);
  EXPECT_TRUE(none.in_force.empty());
  EXPECT_TRUE(none.outside.empty());
  // A name that only ends like a key's domain is not under it.
  EXPECT_EQ(choose_signing_keys(keys, "badexample.com", true, kT).in_force, indices{0});
}

}  // namespace
}  // namespace dkimkit
