// dkimkit::check_key (dkimkit/key_check.hpp): the findings of `dkimkit check-key` for one key,
// and where a key stands in its rotation window.
#include <gtest/gtest.h>

#include <algorithm>
#include <dkimkit/key_check.hpp>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using test::kNow;

txt_answer found(std::vector<std::string> records) {
  return {dns_status::found, std::move(records), "", dnssec_status::unknown};
}
txt_answer nxdomain() { return {dns_status::nxdomain, {}, "", dnssec_status::unknown}; }
txt_answer temporary() { return {dns_status::temporary, {}, "timeout after 5 s", {}}; }

key_check_input input(const private_key* key, key_window w = {}) {
  key_check_input in;
  in.sdid = "example.com";
  in.selector = "s1";
  in.key = key;
  in.key_label = "s1.private";
  in.window = w;
  in.now = kNow;
  return in;
}

bool has(const key_check& c, check_level l, std::string_view text) {
  return std::any_of(c.findings.begin(), c.findings.end(), [&](const key_finding& f) {
    return f.level == l && f.message.find(text) != std::string::npos;
  });
}
bool has_level(const key_check& c, check_level l) {
  return std::any_of(c.findings.begin(), c.findings.end(),
                     [&](const key_finding& f) { return f.level == l; });
}

TEST(key_check, published_and_matching_is_good) {
  const private_key& k = test::rsa2048();
  key_check c = check_key(found({k.public_record()}), input(&k));
  EXPECT_EQ(c.name, "s1._domainkey.example.com");
  EXPECT_EQ(c.publication, key_publication::matching);
  EXPECT_EQ(c.schedule, key_schedule::unbounded);
  EXPECT_EQ(c.verdict, key_verdict::good);
  EXPECT_EQ(c.type, key_type::rsa);
  EXPECT_EQ(c.bits, 2048u);
  EXPECT_TRUE(has(c, check_level::ok, "the private key s1.private matches the published key"));
}

TEST(key_check, another_key_published_is_bad) {
  key_check c = check_key(found({test::ed25519().public_record()}), input(&test::rsa2048()));
  EXPECT_EQ(c.publication, key_publication::not_matching);
  EXPECT_EQ(c.verdict, key_verdict::bad);
  EXPECT_TRUE(has(c, check_level::error, "does NOT match the published key"));
}

TEST(key_check, without_a_private_key_the_record_alone_is_judged) {
  key_check c = check_key(found({test::rsa1024().public_record()}), input(nullptr));
  EXPECT_EQ(c.publication, key_publication::published);
  EXPECT_EQ(c.verdict, key_verdict::warnings);  // 2048 bits are advised
  EXPECT_TRUE(has(c, check_level::warning, "RSA key of 1024 bits"));
}

TEST(key_check, missing_several_unusable_and_temporary) {
  const private_key& k = test::ed25519();
  key_check missing = check_key(nxdomain(), input(&k));
  EXPECT_EQ(missing.publication, key_publication::not_published);
  EXPECT_EQ(missing.verdict, key_verdict::bad);
  key_check two = check_key(found({k.public_record(), test::rsa2048().public_record()}), input(&k));
  EXPECT_EQ(two.publication, key_publication::ambiguous);
  EXPECT_EQ(two.verdict, key_verdict::bad);
  key_check broken = check_key(found({"v=DKIM1; k=rsa; p=AAAA"}), input(&k));
  EXPECT_EQ(broken.publication, key_publication::unusable);
  EXPECT_EQ(broken.verdict, key_verdict::bad);
  key_check later = check_key(temporary(), input(&k));
  EXPECT_EQ(later.publication, key_publication::temporary);
  EXPECT_EQ(later.verdict, key_verdict::temperror);
  EXPECT_TRUE(has(later, check_level::error, "timeout after 5 s (try again)"));
}

TEST(key_check, schedule_follows_the_window) {
  EXPECT_EQ(schedule_at({}, kNow), key_schedule::unbounded);
  EXPECT_EQ(schedule_at({kNow, std::nullopt}, kNow), key_schedule::current);  // included
  EXPECT_EQ(schedule_at({kNow + 1, std::nullopt}, kNow), key_schedule::upcoming);
  EXPECT_EQ(schedule_at({std::nullopt, kNow}, kNow), key_schedule::expired);  // excluded
  EXPECT_EQ(schedule_at({std::nullopt, kNow + 1}, kNow), key_schedule::current);
}

// An upcoming key need not be published yet: a missing record is a warning naming the start.
TEST(key_check, upcoming_key_not_yet_published_is_a_warning) {
  const private_key& k = test::ed25519();
  key_check c = check_key(nxdomain(), input(&k, {kNow + 86400, std::nullopt}));
  EXPECT_EQ(c.schedule, key_schedule::upcoming);
  EXPECT_EQ(c.publication, key_publication::not_published);
  EXPECT_EQ(c.verdict, key_verdict::warnings);
  EXPECT_FALSE(has_level(c, check_level::error));
  EXPECT_TRUE(has(c, check_level::warning,
                  "due to start at 2026-01-02T00:00:00Z (not_before) and not yet published"));
}

TEST(key_check, upcoming_key_published_is_good_and_a_wrong_record_still_bad) {
  const private_key& k = test::ed25519();
  key_check ready = check_key(found({k.public_record()}), input(&k, {kNow + 86400, {}}));
  EXPECT_EQ(ready.verdict, key_verdict::good);
  EXPECT_TRUE(has(ready, check_level::ok, "the record is published"));
  key_check wrong =
      check_key(found({test::rsa2048().public_record()}), input(&k, {kNow + 86400, {}}));
  EXPECT_EQ(wrong.verdict, key_verdict::bad);
}

// An expired key signs no more: its record can go, and nothing about it is a problem.
TEST(key_check, expired_key_still_published_can_be_retired) {
  const private_key& k = test::rsa1024();  // a warning (1024 bits) when current
  key_check c = check_key(found({k.public_record()}), input(&k, {std::nullopt, kNow - 1}));
  EXPECT_EQ(c.schedule, key_schedule::expired);
  EXPECT_EQ(c.publication, key_publication::matching);
  EXPECT_EQ(c.verdict, key_verdict::good);
  EXPECT_FALSE(has_level(c, check_level::warning));
  EXPECT_TRUE(has(c, check_level::info,
                  "expired at 2025-12-31T23:59:59Z (not_after), the record can be retired"));
  key_check gone = check_key(nxdomain(), input(&k, {std::nullopt, kNow - 1}));
  EXPECT_EQ(gone.verdict, key_verdict::good);
  EXPECT_TRUE(has(gone, check_level::ok, "the record is retired"));
  key_check unknown = check_key(temporary(), input(&k, {std::nullopt, kNow - 1}));
  EXPECT_EQ(unknown.verdict, key_verdict::good);
}

TEST(key_check, current_key_with_an_end_says_when_it_expires) {
  const private_key& k = test::ed25519();
  key_check c = check_key(found({k.public_record()}), input(&k, {std::nullopt, kNow + 3600}));
  EXPECT_EQ(c.schedule, key_schedule::current);
  EXPECT_EQ(c.verdict, key_verdict::good);
  EXPECT_TRUE(has(c, check_level::info, "expires at 2026-01-01T01:00:00Z (not_after)"));
  key_check missing = check_key(nxdomain(), input(&k, {kNow - 3600, kNow + 3600}));
  EXPECT_EQ(missing.verdict, key_verdict::bad);  // it signs now: a missing record fails mail
}

TEST(key_check, key_table_rows_with_a_percent_are_not_checkable) {
  key_table_entry row{"n", "example.com", "s1", "/k/s1.private", std::nullopt, 1};
  EXPECT_EQ(why_not_checkable(row), std::nullopt);
  row.key = "/k/%.private";
  ASSERT_TRUE(why_not_checkable(row));
  EXPECT_NE(why_not_checkable(row)->find("its KEY holds \"%\""), std::string::npos);
  row.domain = "%";
  EXPECT_NE(why_not_checkable(row)->find("its DOMAIN and KEY hold"), std::string::npos);
}

TEST(key_check, the_worst_verdict_wins) {
  EXPECT_EQ(worse(key_verdict::good, key_verdict::warnings), key_verdict::warnings);
  EXPECT_EQ(worse(key_verdict::temperror, key_verdict::warnings), key_verdict::temperror);
  EXPECT_EQ(worse(key_verdict::temperror, key_verdict::bad), key_verdict::bad);
  EXPECT_EQ(worse(key_verdict::bad, key_verdict::good), key_verdict::bad);
  EXPECT_EQ(to_string(key_verdict::warnings), "good, with warnings");
}

}  // namespace
}  // namespace dkimkit
