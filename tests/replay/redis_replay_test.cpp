// redis_replay_store and list_replay_signatures (dkimkit/redis_replay.hpp) against a
// redis-server of the test's own (tests/support/redis_server.hpp), and against hostile fakes.
// Issue 17: counting per signature over a sliding window, distinct networks and recipients as
// HyperLogLogs, fail open within the budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <dkimkit/redis_replay.hpp>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "support/redis_server.hpp"

namespace dkimkit {
namespace {

using std::chrono::milliseconds;
using test::redis_server;

constexpr std::uint64_t kSlice = 900;             // window 3600 s in 4 slices
constexpr std::uint64_t kNow = kSlice * 2000000;  // the start of a slice
constexpr milliseconds kBudget{2000};             // generous: the machine may be loaded
const std::string kKeyA = "0123456789abcdef0123456789abcdef";
const std::string kKeyB = "fedcba9876543210fedcba9876543210";
const std::string kKeyC = "00000000000000000000000000000001";
// The server's failures in a row that mark the store down (kFailuresToDown,
// src/replay_redis/redis_replay_store.cpp).
constexpr int kFailuresToDown = 3;

replay_signature sig(const std::string& key, std::uint64_t window = 3600, bool trusted = false) {
  replay_signature s;
  s.key = key;
  s.sdid = "example.com";
  s.selector = "sel";
  s.window_seconds = window;
  s.trusted = trusted;
  return s;
}

replay_message message(std::uint64_t now, std::string network, std::vector<std::string> rcpts,
                       std::vector<replay_signature> sigs) {
  replay_message m;
  m.now = now;
  m.network = std::move(network);
  m.recipients = std::move(rcpts);
  m.signatures = std::move(sigs);
  return m;
}

std::string net(int i) { return "198.51." + std::to_string(i) + ".0/24"; }
std::vector<std::string> rcpts(int from, int n) {
  std::vector<std::string> out;
  for (int i = from; i < from + n; ++i) out.push_back("user" + std::to_string(i) + "@example.net");
  return out;
}

replay_settings settings() {
  replay_settings s;
  s.window = std::chrono::seconds(3600);
  s.buckets = 4;
  return s;
}

class redis_replay : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::redis_missing(); !why.empty()) GTEST_SKIP() << why;
    std::string why;
    server_ = redis_server::start(extra_args(), why);
    ASSERT_TRUE(server_) << why;
  }
  virtual std::vector<std::string> extra_args() { return {}; }

  redis_replay_options options(std::string host = "mx1") {
    redis_replay_options o;
    o.store = server_->url();
    o.settings = settings();
    o.host_name = std::move(host);
    o.min_backoff = milliseconds(100);
    o.max_backoff = milliseconds(400);
    o.on_state_change = [this](bool up, const std::string& why) {
      std::lock_guard<std::mutex> lk(mu_);
      changes_.emplace_back(up, why);
    };
    return o;
  }
  std::unique_ptr<redis_replay_store> store(redis_replay_options o) {
    auto s = redis_replay_store::create(std::move(o));
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  replay_counts one(redis_replay_store& s, const replay_message& m) {
    auto c = s.record(m, kBudget);
    EXPECT_TRUE(c) << c.error().message();
    if (!c || c->size() != 1) {
      ADD_FAILURE() << "no counts";
      return {};
    }
    return (*c)[0];
  }
  std::vector<std::pair<bool, std::string>> changes() {
    std::lock_guard<std::mutex> lk(mu_);
    return changes_;
  }
  std::string flagged(const std::string& key) {
    return server_->command({"HGET", "dkimkit:replay:s:" + key, "flagged"});
  }

  std::unique_ptr<redis_server> server_;
  std::mutex mu_;
  std::vector<std::pair<bool, std::string>> changes_;
};

TEST_F(redis_replay, counts_grow_per_message) {
  auto s = store(options());
  ASSERT_TRUE(s);
  for (std::uint64_t i = 1; i <= 3; ++i) {
    const auto c = one(*s, message(kNow + i, net(1), rcpts(0, 2), {sig(kKeyA)}));
    EXPECT_EQ(c.messages, i);
    EXPECT_EQ(c.networks, 1u);
    EXPECT_EQ(c.recipients, 2u);
    EXPECT_EQ(c.first_seen, kNow + 1);
  }
  EXPECT_EQ(s->stats().counted, 3u);
  EXPECT_EQ(s->stats().uncounted, 0u);
  EXPECT_TRUE(s->stats().up);
  EXPECT_TRUE(changes().empty());
  EXPECT_EQ(server_->command({"HGET", "dkimkit:replay:s:" + kKeyA, "d"}), "example.com");
  EXPECT_EQ(server_->command({"HGET", "dkimkit:replay:s:" + kKeyA, "last"}),
            std::to_string(kNow + 3));
  // Recipients are stored as keyed hashes, never as addresses.
  EXPECT_EQ(server_->command({"KEYS", "*example.net*"}), "");
}

TEST_F(redis_replay, all_signatures_of_a_message_in_one_call) {
  auto s = store(options());
  ASSERT_TRUE(s);
  auto c = s->record(message(kNow, net(1), rcpts(0, 1), {sig(kKeyA), sig(kKeyB)}), kBudget);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 2u);
  c = s->record(message(kNow, net(2), rcpts(0, 1), {sig(kKeyB)}), kBudget);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)[0].messages, 2u);
  EXPECT_EQ((*c)[0].networks, 2u);
  auto none = s->record(message(kNow, net(1), {}, {}), kBudget);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(s->stats().counted, 2u);
}

// A newsletter: many recipients, one network. Not replay (issue 17: sane defaults).
TEST_F(redis_replay, newsletter_one_network_many_recipients_not_flagged) {
  auto s = store(options());
  ASSERT_TRUE(s);
  replay_counts c;
  for (int i = 0; i < 4; ++i)
    c = one(*s,
            message(kNow + static_cast<std::uint64_t>(i), net(7), rcpts(50 * i, 50), {sig(kKeyA)}));
  EXPECT_EQ(c.messages, 4u);
  EXPECT_EQ(c.networks, 1u);
  EXPECT_GE(c.recipients, 194u);  // HyperLogLog: 0.81 % standard error
  EXPECT_LE(c.recipients, 206u);
  EXPECT_FALSE(replay_suspected(c, settings().thresholds, false));
  EXPECT_EQ(flagged(kKeyA), "0");
}

// A replay: the same signature from many networks. Flagged once more than 10 networks (the
// default threshold) have sent it, not before.
TEST_F(redis_replay, replay_from_many_networks_flagged_past_threshold) {
  auto s = store(options());
  ASSERT_TRUE(s);
  for (int i = 1; i <= 20; ++i) {
    const auto c =
        one(*s, message(kNow + static_cast<std::uint64_t>(i), net(i), rcpts(i, 1), {sig(kKeyA)}));
    EXPECT_EQ(c.networks, static_cast<std::uint64_t>(i));
    EXPECT_EQ(flagged(kKeyA), i > 10 ? "1" : "0") << "after " << i << " networks";
    EXPECT_EQ(replay_suspected(c, settings().thresholds, false), i > 10);
  }
  EXPECT_EQ(s->stats().suspected, 10u);
  auto l = list_replay_signatures(options(), 10, kNow + 30, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_TRUE(l->top[0].flagged);
  EXPECT_EQ(l->top[0].counts.networks, 20u);
  EXPECT_EQ(l->top[0].counts.messages, 20u);
  ASSERT_EQ(l->hosts.size(), 1u);
  EXPECT_EQ(l->hosts[0].first, "mx1");
  EXPECT_EQ(l->hosts[0].second.suspected, 10u);
  EXPECT_EQ(l->hosts[0].second.counted, 20u);
}

TEST_F(redis_replay, messages_and_recipients_thresholds) {
  auto o = options();
  o.settings.thresholds = {0, 3, 0};  // networks unlimited, more than 3 messages
  auto s = store(o);
  ASSERT_TRUE(s);
  for (int i = 1; i <= 4; ++i) (void)one(*s, message(kNow, net(1), rcpts(0, 1), {sig(kKeyA)}));
  EXPECT_EQ(flagged(kKeyA), "1");
  o.settings.thresholds = {0, 0, 5};
  auto r = store(o);
  ASSERT_TRUE(r);
  (void)one(*r, message(kNow, net(1), rcpts(0, 5), {sig(kKeyB)}));
  EXPECT_EQ(flagged(kKeyB), "0");
  (void)one(*r, message(kNow, net(1), rcpts(5, 1), {sig(kKeyB)}));
  EXPECT_EQ(flagged(kKeyB), "1");
}

TEST_F(redis_replay, trusted_domain_counted_never_flagged) {
  auto s = store(options());
  ASSERT_TRUE(s);
  replay_counts c;
  for (int i = 1; i <= 20; ++i)
    c = one(*s, message(kNow, net(i), rcpts(i, 1), {sig(kKeyA, 3600, true)}));
  EXPECT_EQ(c.networks, 20u);
  EXPECT_EQ(flagged(kKeyA), "0");
  EXPECT_EQ(s->stats().suspected, 0u);
}

TEST_F(redis_replay, every_key_has_a_ttl_within_window_and_slice) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), rcpts(0, 3), {sig(kKeyA)}));
  const std::string keys = server_->command({"KEYS", "dkimkit:replay:*"});
  int n = 0;
  for (const auto& k : {"dkimkit:replay:s:" + kKeyA,
                        "dkimkit:replay:n:" + kKeyA + ":" + std::to_string(kNow / kSlice),
                        "dkimkit:replay:r:" + kKeyA + ":" + std::to_string(kNow / kSlice),
                        std::string("dkimkit:replay:host:mx1")}) {
    EXPECT_NE(keys.find(k), std::string::npos) << k << " not in\n" << keys;
    const long long ttl = server_->integer({"TTL", k});
    EXPECT_GT(ttl, 0) << k;
    ++n;
  }
  for (const auto& k : {"dkimkit:replay:s:" + kKeyA,
                        "dkimkit:replay:n:" + kKeyA + ":" + std::to_string(kNow / kSlice)})
    EXPECT_LE(server_->integer({"TTL", k}), 3600 + 900) << k;
  // Only the fleet key lives on (the hosts' recipient hashes depend on it).
  EXPECT_EQ(std::count(keys.begin(), keys.end(), '\n') + 1, n + 1) << keys;
  EXPECT_EQ(server_->integer({"TTL", "dkimkit:replay:key"}), -1);
}

TEST_F(redis_replay, keys_expire) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), rcpts(0, 3), {sig(kKeyA)}));
  // The real TTLs are 75 min; shortened, Redis removes them like any key with a TTL it set.
  for (const auto& k : {"dkimkit:replay:s:" + kKeyA,
                        "dkimkit:replay:n:" + kKeyA + ":" + std::to_string(kNow / kSlice)}) {
    EXPECT_EQ(server_->integer({"PEXPIRE", k, "50", "XX"}), 1);
  }
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(server_->integer({"EXISTS", "dkimkit:replay:s:" + kKeyA}), 0);
  const auto c = one(*s, message(kNow, net(2), rcpts(0, 1), {sig(kKeyA)}));
  EXPECT_EQ(c.messages, 1u);
  EXPECT_EQ(c.networks, 1u);
}

// Counts cover the current slice and the 3 before it (window 3600 s, 4 slices of 900 s).
TEST_F(redis_replay, sliding_window_drops_slices_older_than_the_window) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), rcpts(0, 1), {sig(kKeyA)}));
  (void)one(*s, message(kNow + 10, net(1), rcpts(1, 1), {sig(kKeyA)}));
  auto c = one(*s, message(kNow + 3 * kSlice, net(2), rcpts(2, 1), {sig(kKeyA)}));
  EXPECT_EQ(c.messages, 3u);
  EXPECT_EQ(c.networks, 2u);
  EXPECT_EQ(c.recipients, 3u);
  c = one(*s, message(kNow + 4 * kSlice, net(3), rcpts(3, 1), {sig(kKeyA)}));
  EXPECT_EQ(c.messages, 2u);
  EXPECT_EQ(c.networks, 2u);  // networks 2 and 3; network 1 only in the dropped slice
  EXPECT_EQ(c.recipients, 2u);
  EXPECT_EQ(c.first_seen, kNow);
  EXPECT_EQ(server_->integer(
                {"HEXISTS", "dkimkit:replay:s:" + kKeyA, "m:" + std::to_string(kNow / kSlice)}),
            0);
  auto l = list_replay_signatures(options(), 5, kNow + 4 * kSlice, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_EQ(l->top[0].counts.messages, 2u);
  EXPECT_EQ(l->top[0].counts.networks, 2u);
  // Read later, the listing slides too.
  l = list_replay_signatures(options(), 5, kNow + 8 * kSlice, kBudget);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_EQ(l->top[0].counts.messages, 0u);
  EXPECT_EQ(l->top[0].counts.networks, 0u);
}

// A signature whose x= is 2 h away is counted over 2 h (8 slices), not the 1 h window.
TEST_F(redis_replay, x_extends_the_window) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), rcpts(0, 1), {sig(kKeyA, 7200)}));
  (void)one(*s, message(kNow + 3 * kSlice, net(2), rcpts(1, 1), {sig(kKeyA, 7200)}));
  auto c = one(*s, message(kNow + 4 * kSlice, net(3), rcpts(2, 1), {sig(kKeyA, 7200)}));
  EXPECT_EQ(c.messages, 3u);
  EXPECT_EQ(c.networks, 3u);
  EXPECT_GT(server_->integer({"TTL", "dkimkit:replay:s:" + kKeyA}), 3600 + 900);
  c = one(*s, message(kNow + 8 * kSlice, net(4), rcpts(3, 1), {sig(kKeyA, 7200)}));
  EXPECT_EQ(c.messages, 3u);  // the first slice is out of the 8
  // A window shorter than the configured one counts as the configured one.
  c = one(*s, message(kNow, net(1), rcpts(0, 1), {sig(kKeyB, 60)}));
  c = one(*s, message(kNow + 3 * kSlice, net(1), rcpts(0, 1), {sig(kKeyB, 60)}));
  EXPECT_EQ(c.messages, 2u);
}

// Two hosts (two stores, as two milters would have) count into the same totals.
TEST_F(redis_replay, two_hosts_count_into_the_same_totals) {
  auto a = store(options("mx1"));
  auto b = store(options("mx2"));
  ASSERT_TRUE(a && b);
  replay_counts c;
  for (int i = 1; i <= 12; ++i)
    c = one(i % 2 ? *a : *b, message(kNow + static_cast<std::uint64_t>(i), net(i),
                                     {"same@example.net"}, {sig(kKeyA)}));
  EXPECT_EQ(c.messages, 12u);
  EXPECT_EQ(c.networks, 12u);
  EXPECT_EQ(c.recipients, 1u);  // both hosts hash with the fleet's key
  EXPECT_EQ(flagged(kKeyA), "1");
  const std::string fleet = server_->command({"GET", "dkimkit:replay:key"});
  EXPECT_EQ(fleet.size(), 64u);
  auto l = list_replay_signatures(options(), 5, kNow + 20, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->hosts.size(), 2u);
  EXPECT_EQ(l->hosts[0].first, "mx1");
  EXPECT_EQ(l->hosts[0].second.counted, 6u);
  EXPECT_EQ(l->hosts[1].first, "mx2");
  EXPECT_EQ(l->hosts[1].second.counted, 6u);
}

TEST_F(redis_replay, listing_sorted_by_messages_then_networks) {
  auto s = store(options());
  ASSERT_TRUE(s);
  for (int i = 0; i < 3; ++i) (void)one(*s, message(kNow + 5, net(1), {}, {sig(kKeyA)}));
  for (int i = 0; i < 3; ++i) (void)one(*s, message(kNow + 6, net(i), {}, {sig(kKeyB)}));
  (void)one(*s, message(kNow + 7, net(1), {}, {sig(kKeyC)}));
  auto l = list_replay_signatures(options(), 2, kNow + 10, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->tracked, 3u);
  ASSERT_EQ(l->top.size(), 2u);
  EXPECT_EQ(l->top[0].key, kKeyB);
  EXPECT_EQ(l->top[0].counts.networks, 3u);
  EXPECT_EQ(l->top[1].key, kKeyA);
  EXPECT_EQ(l->top[1].counts.messages, 3u);
  EXPECT_EQ(l->top[1].sdid, "example.com");
  EXPECT_EQ(l->top[1].selector, "sel");
  EXPECT_EQ(l->top[1].first_seen, kNow + 5);
  EXPECT_EQ(l->top[1].last_seen, kNow + 5);
  EXPECT_FALSE(l->top[1].flagged);
}

// A listing needs not know the settings that counted: each signature's hash holds its window and
// slice length. Counted with 1200 s in 2 slices of 600 s, listed with the defaults (1 day in 4
// slices of 6 h, as `dkimkit replay-stats --store` without --config): the counts are those the
// counting host saw.
TEST_F(redis_replay, listing_uses_the_stored_window_and_slice) {
  auto o = options();
  o.settings.window = std::chrono::seconds(1200);
  o.settings.buckets = 2;
  auto s = store(o);
  ASSERT_TRUE(s);
  // The start of a slice of 600 s and of one of 6 h.
  constexpr std::uint64_t kBase = std::uint64_t{21600} * 100000;
  (void)one(*s, message(kBase, net(1), rcpts(0, 4), {sig(kKeyA, 1200)}));
  for (int i = 2; i <= 3; ++i)
    (void)one(*s, message(kBase + 600, net(i), rcpts(i, 1), {sig(kKeyA, 1200)}));
  (void)one(*s, message(kBase + 1200, net(4), rcpts(10, 2), {sig(kKeyA, 1200)}));
  const replay_counts seen = one(*s, message(kBase + 1201, net(4), {}, {sig(kKeyA, 1200)}));
  // The slice at kBase is out of the window: slices kBase+600 and kBase+1200 only.
  EXPECT_EQ(seen.messages, 4u);
  EXPECT_EQ(seen.networks, 3u);
  EXPECT_EQ(seen.recipients, 4u);
  EXPECT_EQ(server_->command({"HGET", "dkimkit:replay:s:" + kKeyA, "slice"}), "600");

  redis_replay_options defaults;
  defaults.store = server_->url();
  ASSERT_EQ(defaults.settings.window, std::chrono::seconds(86400));
  auto l = list_replay_signatures(defaults, 5, kBase + 1201, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_EQ(l->top[0].counts.messages, seen.messages);
  EXPECT_EQ(l->top[0].counts.networks, seen.networks);
  EXPECT_EQ(l->top[0].counts.recipients, seen.recipients);
  EXPECT_EQ(l->malformed, 0u);

  // A hash written without "slice" (before it was stored) is read with the caller's settings.
  EXPECT_EQ(server_->integer({"HDEL", "dkimkit:replay:s:" + kKeyA, "slice"}), 1);
  l = list_replay_signatures(o, 5, kBase + 1201, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_EQ(l->top[0].counts.messages, seen.messages);
  EXPECT_EQ(l->top[0].counts.networks, seen.networks);
  // A slice of 0 is not what the store writes.
  server_->command({"HSET", "dkimkit:replay:s:" + kKeyA, "slice", "0"});
  l = list_replay_signatures(defaults, 5, kBase + 1201, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->malformed, 1u);
  EXPECT_TRUE(l->top.empty());
}

// Keys not as the store writes them are skipped and counted; the rest are listed.
TEST_F(redis_replay, listing_skips_and_counts_malformed_keys) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow + 5, net(1), rcpts(0, 1), {sig(kKeyA)}));
  (void)one(*s, message(kNow + 5, net(1), rcpts(0, 1), {sig(kKeyB)}));
  server_->command(
      {"HSET", "dkimkit:replay:s:bad", "d", "x", "first", "yesterday", "window", "3600"});
  server_->command({"HSET", "dkimkit:replay:s:nofields", "d", "x"});
  server_->command({"SET", "dkimkit:replay:s:string", "x"});
  // kKeyB's network counter is not a HyperLogLog.
  const std::string n_b = "dkimkit:replay:n:" + kKeyB + ":" + std::to_string(kNow / kSlice);
  server_->command({"DEL", n_b});
  server_->command({"SET", n_b, "x"});
  server_->command({"SET", "dkimkit:replay:host:broken", "x"});
  auto l = list_replay_signatures(options(), 5, kNow + 10, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->malformed, 5u);
  EXPECT_EQ(l->tracked, 1u);
  ASSERT_EQ(l->top.size(), 1u);
  EXPECT_EQ(l->top[0].key, kKeyA);
  EXPECT_EQ(l->top[0].counts.messages, 1u);
  ASSERT_EQ(l->hosts.size(), 1u);
  EXPECT_EQ(l->hosts[0].first, "mx1");
}

TEST_F(redis_replay, listing_checks_the_prefix) {
  auto o = options();
  o.prefix = "";
  auto l = list_replay_signatures(o, 5, kNow, kBudget);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, errc::invalid_argument);
  o.prefix = "bad\nprefix";
  o.prefix[3] = '\n';
  EXPECT_FALSE(list_replay_signatures(o, 5, kNow, kBudget));
}

// A host given by name is resolved (by create()) and reached.
TEST_F(redis_replay, host_name_resolved) {
  auto o = options();
  o.store = "redis://localhost:" + std::to_string(server_->port()) + "/0";
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  EXPECT_TRUE(changes().empty());
}

// The fleet key is made once: a store that finds it does not replace it.
TEST_F(redis_replay, fleet_key_made_by_the_first_host_only) {
  server_->command({"SET", "dkimkit:replay:key", std::string(64, 'a')});
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), rcpts(0, 1), {sig(kKeyA)}));
  EXPECT_EQ(server_->command({"GET", "dkimkit:replay:key"}), std::string(64, 'a'));
}

TEST_F(redis_replay, many_threads_share_a_few_connections) {
  auto o = options();
  o.connections = 3;
  auto s = store(o);
  ASSERT_TRUE(s);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto c = s->record(message(kNow, net(t), rcpts(i, 1), {sig(kKeyA)}), kBudget);
        if (!c) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(s->stats().counted, 200u);
  EXPECT_EQ(
      server_->command({"HGET", "dkimkit:replay:s:" + kKeyA, "m:" + std::to_string(kNow / kSlice)}),
      "200");
  const std::string clients = server_->command({"CLIENT", "LIST"});
  EXPECT_LE(std::count(clients.begin(), clients.end(), '\n'), 3 + 1) << clients;
}

// Many requests with a budget of 1 ms sharing one connection, against a healthy server: those
// that run out of budget before the server is asked go on uncounted, and the store never goes
// down.
TEST_F(redis_replay, tiny_budgets_under_load_never_go_down) {
  auto o = options();
  o.connections = 1;
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));  // connection, key and script ready
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        (void)s->record(message(kNow, net(t), rcpts(i, 1), {sig(kKeyA)}), milliseconds(1));
      (void)s->record(message(kNow, net(t), {}, {sig(kKeyA)}), milliseconds(0));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& [up, why] : changes()) EXPECT_TRUE(up) << why;
  EXPECT_TRUE(changes().empty());
  EXPECT_TRUE(s->stats().up);
  EXPECT_EQ(s->stats().counted + s->stats().uncounted, 1u + 8 * 51);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
}

// Messages that went on uncounted while down are pushed to the host's stats once, even when
// many requests run at once after the recovery.
TEST_F(redis_replay, uncounted_pushed_once_by_concurrent_requests) {
  auto o = options();
  o.connections = 4;
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  server_->stop();
  for (int i = 0; i < 10; ++i)
    (void)s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
  ASSERT_TRUE(server_->restart());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!s->stats().up && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(20));
    (void)s->record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget);
  }
  ASSERT_TRUE(s->stats().up);
  // Uncounted again, all pushed at once by whichever requests come next.
  const std::uint64_t before = s->stats().uncounted;
  ASSERT_GE(before, 10u);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        (void)s->record(message(kNow, net(t), {}, {sig(kKeyA)}), kBudget);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(s->stats().uncounted, before);
  EXPECT_EQ(server_->command({"HGET", "dkimkit:replay:host:mx1", "uncounted"}),
            std::to_string(before));
}

// A callback that throws does not keep later changes from being told.
TEST_F(redis_replay, throwing_callback_does_not_block_later_changes) {
  auto o = options();
  std::atomic<int> calls{0};
  o.on_state_change = [&](bool, const std::string&) {
    if (++calls == 1) throw std::runtime_error("callback failed");
  };
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  server_->stop();
  for (int i = 1; i < kFailuresToDown; ++i)
    EXPECT_FALSE(s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50)));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_THROW((void)s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50)),
               std::runtime_error);
  EXPECT_FALSE(s->stats().up);
  ASSERT_TRUE(server_->restart());
  std::atomic<bool> done{false};
  std::thread t([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!s->stats().up && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(20));
      (void)s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(500));
    }
    done = true;
  });
  t.join();
  EXPECT_TRUE(done);
  EXPECT_TRUE(s->stats().up);
  EXPECT_EQ(calls.load(), 2);
}

// Redis stopped in the middle: errors at once, one "down", then "up" once it is back.
TEST_F(redis_replay, redis_stopped_fails_fast_and_recovers_after_backoff) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  server_->stop();
  const auto budget = milliseconds(50);
  auto t0 = std::chrono::steady_clock::now();
  auto c = s->record(message(kNow, net(1), {}, {sig(kKeyA)}), budget);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(c);
  EXPECT_LT(took, milliseconds(500));
  for (int i = 0; i < 20; ++i) {
    t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(s->record(message(kNow, net(1), {}, {sig(kKeyA)}), budget));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
  }
  ASSERT_EQ(changes().size(), 1u);
  EXPECT_FALSE(changes()[0].first);
  EXPECT_FALSE(changes()[0].second.empty());
  EXPECT_FALSE(s->stats().up);
  EXPECT_EQ(s->stats().uncounted, 21u);

  ASSERT_TRUE(server_->restart());
  bool counted = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!counted && std::chrono::steady_clock::now() < until) {
    counted = static_cast<bool>(s->record(message(kNow, net(1), {}, {sig(kKeyA)}), budget));
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(counted);
  (void)one(*s, message(kNow, net(2), {}, {sig(kKeyA)}));
  const auto ch = changes();
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_TRUE(ch[1].first);
  EXPECT_TRUE(s->stats().up);
  EXPECT_EQ(s->stats().counted, 3u);
  // The messages that went on uncounted reach the host's stats with the next round trip.
  auto l = list_replay_signatures(options(), 5, kNow, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->hosts.size(), 1u);
  EXPECT_EQ(l->hosts[0].second.uncounted, s->stats().uncounted);
  EXPECT_EQ(l->hosts[0].second.counted, 2u);
}

// CLIENT PAUSE: the server answers nothing for `ms`, then everything it was sent.
void pause_server(const redis_server& server, int ms) {
  ASSERT_EQ(server.command({"CLIENT", "PAUSE", std::to_string(ms)}), "OK");
}
// Waits for the pause to end: the server answers PING only then.
void wait_unpaused(const redis_server& server) { ASSERT_EQ(server.command({"PING"}), "PONG"); }

// One answer slower than the budget (the whole budget on the connection: it counts against the
// server), then fast ones: the store stays up.
TEST_F(redis_replay, one_slow_answer_does_not_mark_it_down) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  pause_server(*server_, 300);
  auto c = s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("timeout after 50 ms"), std::string::npos) << c.error().detail;
  EXPECT_TRUE(s->stats().up);
  wait_unpaused(*server_);
  for (int i = 0; i < 5; ++i) (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  EXPECT_TRUE(changes().empty());
  EXPECT_TRUE(s->stats().up);
  EXPECT_EQ(s->stats().uncounted, 1u);
}

// kFailuresToDown slow answers in a row mark it down; fewer, then a counted message, then fewer
// again do not: a counted message starts the count over.
TEST_F(redis_replay, failures_in_a_row_mark_it_down_a_success_starts_over) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  auto slow = [&] {
    auto c = s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().detail.find("timeout"), std::string::npos) << c.error().detail;
  };
  pause_server(*server_, 400);
  for (int i = 1; i < kFailuresToDown; ++i) slow();
  EXPECT_TRUE(s->stats().up);
  wait_unpaused(*server_);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  pause_server(*server_, 400);
  for (int i = 1; i < kFailuresToDown; ++i) slow();
  EXPECT_TRUE(s->stats().up);
  EXPECT_TRUE(changes().empty());
  slow();
  EXPECT_FALSE(s->stats().up);
  const auto ch = changes();
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_FALSE(ch[0].first);
  EXPECT_NE(ch[0].second.find("timeout after 50 ms"), std::string::npos) << ch[0].second;
  wait_unpaused(*server_);
}

// One pause of the server, longer than the budget, while several requests are in flight: they
// fail together, and that is one failure, not one per connection (the store stays up). Failures
// one after the other still count, each: two more mark it down.
TEST_F(redis_replay, one_pause_under_concurrent_requests_is_one_failure) {
  constexpr int kThreads = 6;
  auto o = options();
  o.connections = kThreads;
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  pause_server(*server_, 800);
  std::latch start(kThreads);
  std::atomic<int> timeouts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto c = s->record(message(kNow, net(t), {}, {sig(kKeyA)}), milliseconds(200));
      if (!c && c.error().detail.find("timeout after 200 ms") != std::string::npos) ++timeouts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(timeouts.load(), kThreads);
  EXPECT_TRUE(s->stats().up);
  EXPECT_TRUE(changes().empty());
  // Still paused: one failure after the other.
  for (int i = 2; i <= kFailuresToDown; ++i) {
    EXPECT_TRUE(s->stats().up) << i;
    EXPECT_FALSE(s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50)));
  }
  EXPECT_FALSE(s->stats().up);
  ASSERT_EQ(changes().size(), 1u);
  EXPECT_FALSE(changes()[0].first);
  wait_unpaused(*server_);
}

// A request that waited for the only connection most of its budget, and timed out soon after
// getting it, had it for less than half its budget: not counted against the server. Here it
// would be the kFailuresToDown-th failure in a row.
TEST_F(redis_replay, timeout_after_waiting_for_a_connection_is_not_blamed) {
  auto o = options();
  o.connections = 1;
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  pause_server(*server_, 800);
  for (int i = 2; i < kFailuresToDown; ++i)
    EXPECT_FALSE(s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50)));
  ASSERT_TRUE(s->stats().up);
  // The holder has the connection its whole budget (counted: one short of down); the waiter
  // comes 60 ms later with the same budget, gets the connection when the holder gives up, and
  // has it for the last 60 ms of its 400 (half of it, 200 ms, would be blamed: a late start of
  // up to 140 ms on a loaded machine still passes).
  std::string waited;
  std::thread waiter([&] {
    std::this_thread::sleep_for(milliseconds(60));
    auto c = s->record(message(kNow, net(2), {}, {sig(kKeyA)}), milliseconds(400));
    waited = c ? "counted" : c.error().detail;
  });
  auto held = s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(400));
  waiter.join();
  ASSERT_FALSE(held);
  EXPECT_NE(held.error().detail.find("timeout after 400 ms"), std::string::npos);
  EXPECT_NE(waited.find("timeout after 400 ms"), std::string::npos) << waited;
  EXPECT_TRUE(s->stats().up);
  EXPECT_TRUE(changes().empty());
  wait_unpaused(*server_);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  EXPECT_TRUE(changes().empty());
}

// The back-off of an outage, read from record()'s error while down ("next try in N ms").
long long next_try_ms(redis_replay_store& s) {
  auto c = s.record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
  if (c) return -1;
  const auto at = c.error().detail.rfind("next try in ");
  if (at == std::string::npos) return -1;
  return std::stoll(c.error().detail.substr(at + 12));
}

// A server that fails again soon after coming back (flapping): each outage waits longer
// (doubling up to max_backoff), not min_backoff again; after the store stays up for 2 x
// max_backoff, an outage starts at min_backoff again. The server fails on demand: the
// signature's hash replaced by a string (the script fails with WRONGTYPE).
class redis_replay_flapping : public redis_replay {
 protected:
  void break_server() {
    server_->command({"DEL", key_});
    ASSERT_EQ(server_->command({"SET", key_, "x"}), "OK");
  }
  void mend_server() { server_->command({"DEL", key_}); }
  // Fails kFailuresToDown messages (down) and returns the back-off.
  long long go_down(redis_replay_store& s) {
    break_server();
    for (int i = 0; i < kFailuresToDown; ++i)
      EXPECT_FALSE(s.record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget));
    EXPECT_FALSE(s.stats().up);
    return next_try_ms(s);
  }
  // Mends the server and waits out the back-off: the next message is counted (up).
  void come_up(redis_replay_store& s, long long backoff) {
    mend_server();
    std::this_thread::sleep_for(milliseconds(backoff + 5));
    auto c = s.record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget);
    EXPECT_TRUE(c) << c.error().message();
    EXPECT_TRUE(s.stats().up);
  }
  // A store with that back-off, one message counted.
  std::unique_ptr<redis_replay_store> counting_store(milliseconds min, milliseconds max) {
    auto o = options();
    o.min_backoff = min;
    o.max_backoff = max;
    auto s = store(o);
    if (s) (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
    return s;
  }
  // `n` outages, each as soon as the store is up again: their back-offs.
  std::vector<long long> outages(redis_replay_store& s, int n) {
    std::vector<long long> out;
    for (int i = 0; i < n; ++i) {
      if (i > 0) come_up(s, out.back());
      out.push_back(go_down(s));
    }
    return out;
  }
  const std::string key_ = "dkimkit:replay:s:" + kKeyA;
};

TEST_F(redis_replay_flapping, back_off_goes_on_doubling) {
  auto s = counting_store(milliseconds(100), milliseconds(5000));  // starts over after 10 s up
  ASSERT_TRUE(s);
  // Each outage's back-off is in (limit / 2, limit]: 100, then 200, then 400.
  const auto b = outages(*s, 3);
  const long long limits[] = {100, 200, 400};
  ASSERT_EQ(b.size(), 3u);
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_GT(b[i], i == 0 ? 0 : limits[i] / 2) << i;
    EXPECT_LE(b[i], limits[i]) << i;
  }
  const auto ch = changes();
  ASSERT_EQ(ch.size(), 5u);
  for (std::size_t i = 0; i < ch.size(); ++i) EXPECT_EQ(ch[i].first, i % 2 == 1) << i;
}

TEST_F(redis_replay_flapping, back_off_starts_over_after_staying_up) {
  auto s = counting_store(milliseconds(100), milliseconds(200));  // starts over after 400 ms up
  ASSERT_TRUE(s);
  const auto b = outages(*s, 3);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_LE(b[0], 100);
  EXPECT_GT(b[1], 100);
  EXPECT_GT(b[2], 100);
  EXPECT_LE(std::max(b[1], b[2]), 200);  // capped
  come_up(*s, b[2]);
  std::this_thread::sleep_for(milliseconds(450));
  EXPECT_LE(go_down(*s), 100);
  EXPECT_EQ(changes().size(), 7u);
}

// Refused from the start: down after kFailuresToDown messages, each refused at once.
TEST_F(redis_replay, refused_connection_is_down_at_start_without_delay) {
  auto o = options();
  o.store = "redis://127.0.0.1:" + std::to_string(test::free_tcp_port()) + "/0";
  auto s = store(o);
  ASSERT_TRUE(s);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= kFailuresToDown; ++i) {
    EXPECT_EQ(changes().size(), 0u) << "message " << i;
    auto c = s->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().detail.find("refused"), std::string::npos) << c.error().detail;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));
  ASSERT_EQ(changes().size(), 1u);
  EXPECT_NE(changes()[0].second.find("refused"), std::string::npos);
  EXPECT_FALSE(s->stats().up);
}

// A server that closes clients idle for more than a second (its `timeout` setting): the
// store's pooled connections die while idle. Reused, each would fail (closed by the server),
// counted against it; they are checked first and dropped, and every message is counted.
class redis_replay_idle_timeout : public redis_replay {
  std::vector<std::string> extra_args() override { return {"--timeout", "1"}; }
};

TEST_F(redis_replay_idle_timeout, dead_pooled_connections_are_not_failures) {
  constexpr int kThreads = 4, kEach = 5;
  auto o = options();
  o.connections = kThreads;
  auto s = store(o);
  ASSERT_TRUE(s);
  std::atomic<int> errors{0};
  auto burst = [&] {
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kEach; ++i)
          if (!s->record(message(kNow, net(t), rcpts(i, 1), {sig(kKeyA)}), kBudget)) ++errors;
      });
    }
    for (auto& t : threads) t.join();
  };
  burst();
  ASSERT_EQ(errors.load(), 0);
  auto clients = [&] {
    const std::string list = server_->command({"CLIENT", "LIST"});
    int n = 0;  // this command's own included
    for (auto at = list.find(" addr="); at != std::string::npos; at = list.find(" addr=", at + 1))
      ++n;
    return n;
  };
  ASSERT_GE(clients(), 2);
  // Until the server has closed the store's connections (idle for more than a second).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (clients() > 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(milliseconds(100));
  ASSERT_EQ(clients(), 1);
  burst();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(s->stats().counted, 2u * kThreads * kEach);
  EXPECT_EQ(s->stats().uncounted, 0u);
  EXPECT_TRUE(s->stats().up);
  EXPECT_TRUE(changes().empty());
}

class redis_replay_password : public redis_replay {
  std::vector<std::string> extra_args() override { return {"--requirepass", "s3cr@t"}; }
};

TEST_F(redis_replay_password, auth_with_the_password_in_the_url_or_the_options) {
  auto o = options();
  o.store = "redis://:s3cr%40t@127.0.0.1:" + std::to_string(server_->port()) + "/0";
  auto s = store(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(one(*s, message(kNow, net(1), {}, {sig(kKeyA)})).messages, 1u);
  o = options();
  o.password = "s3cr@t";
  auto p = store(o);
  ASSERT_TRUE(p);
  EXPECT_EQ(one(*p, message(kNow, net(1), {}, {sig(kKeyA)})).messages, 2u);
  o = options();
  o.password = "wrong";
  auto w = store(o);
  ASSERT_TRUE(w);
  auto c = w->record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("AUTH"), std::string::npos) << c.error().detail;
  auto none = store(options());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget));
}

class redis_replay_unix : public redis_replay {
  std::vector<std::string> extra_args() override {
    path_ = "/tmp/dk-redis-" + std::to_string(getpid()) + "-" + std::to_string(++serial_) + ".sock";
    return {"--unixsocket", path_, "--unixsocketperm", "700"};
  }

 protected:
  std::string path_;
  static inline int serial_ = 0;
};

TEST_F(redis_replay_unix, unix_socket_and_database) {
  auto o = options();
  o.store = "unix:" + path_ + "?db=2";
  auto s = store(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(one(*s, message(kNow, net(1), {}, {sig(kKeyA)})).messages, 1u);
  EXPECT_EQ(server_->integer({"EXISTS", "dkimkit:replay:s:" + kKeyA}, 2), 1);
  EXPECT_EQ(server_->integer({"EXISTS", "dkimkit:replay:s:" + kKeyA}, 0), 0);
  auto l = list_replay_signatures(o, 5, kNow, kBudget);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->tracked, 1u);
}

TEST_F(redis_replay, select_database_over_tcp) {
  auto o = options();
  o.store = server_->url(3);
  auto s = store(o);
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  EXPECT_EQ(server_->integer({"EXISTS", "dkimkit:replay:s:" + kKeyA}, 3), 1);
  EXPECT_EQ(server_->integer({"EXISTS", "dkimkit:replay:s:" + kKeyA}, 0), 0);
  o.store = "redis://127.0.0.1:" + std::to_string(server_->port()) + "/999";
  auto bad = store(o);
  ASSERT_TRUE(bad);
  auto c = bad->record(message(kNow, net(1), {}, {sig(kKeyA)}), kBudget);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("SELECT"), std::string::npos) << c.error().detail;
}

TEST_F(redis_replay, script_reloaded_after_script_flush) {
  auto s = store(options());
  ASSERT_TRUE(s);
  (void)one(*s, message(kNow, net(1), {}, {sig(kKeyA)}));
  EXPECT_EQ(server_->command({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(one(*s, message(kNow, net(1), {}, {sig(kKeyA)})).messages, 2u);
  EXPECT_TRUE(changes().empty());
}

TEST(redis_replay_options, create_refuses_bad_options) {
  redis_replay_options o;
  o.store = "rediss://127.0.0.1";
  EXPECT_FALSE(redis_replay_store::create(o));
  o = {};
  o.connections = 0;
  EXPECT_FALSE(redis_replay_store::create(o));
  o = {};
  o.prefix = "";
  EXPECT_FALSE(redis_replay_store::create(o));
  o = {};
  o.min_backoff = milliseconds(500);
  o.max_backoff = milliseconds(100);
  EXPECT_FALSE(redis_replay_store::create(o));
  o = {};
  o.settings.buckets = 0;
  EXPECT_FALSE(redis_replay_store::create(o));
  o = {};
  EXPECT_TRUE(redis_replay_store::create(o));  // does not connect
}

// Options for a store that talks to a fake server, as host "mx1".
redis_replay_options fake_options(const test::fake_redis& fake) {
  redis_replay_options o;
  o.store = fake.url();
  o.settings = settings();
  o.host_name = "mx1";
  return o;
}

// Hostile servers: every failure is an error within the budget (plus slack), never a crash or
// a hang, and the store is down once.
// (mode, what the error says)
class redis_replay_hostile : public ::testing::TestWithParam<std::pair<const char*, const char*>> {
};

TEST_P(redis_replay_hostile, fails_open_within_budget) {
  std::string why;
  auto fake = test::fake_redis::start(GetParam().first, why);
  ASSERT_TRUE(fake) << why;
  int downs = 0;
  redis_replay_options o = fake_options(*fake);
  o.on_state_change = [&](bool up, const std::string&) { downs += up ? 0 : 1; };
  auto s = redis_replay_store::create(o);
  ASSERT_TRUE(s);
  // Each failure is the server's: the kFailuresToDown-th in a row marks the store down.
  for (int i = 1; i <= kFailuresToDown; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto c = (*s)->record(message(kNow, net(1), rcpts(0, 1), {sig(kKeyA)}), milliseconds(50));
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(c);
    EXPECT_FALSE(c.error().detail.empty());
    EXPECT_LT(took, milliseconds(500)) << c.error().detail;
    EXPECT_NE(c.error().detail.find(GetParam().second), std::string::npos) << c.error().detail;
    EXPECT_EQ(downs, i == kFailuresToDown ? 1 : 0) << "message " << i;
  }
  EXPECT_EQ((*s)->stats().uncounted, static_cast<std::uint64_t>(kFailuresToDown));
  auto c = (*s)->record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("Redis store down"), std::string::npos) << c.error().detail;
  EXPECT_EQ(downs, 1);
  const auto t1 = std::chrono::steady_clock::now();
  auto l = list_replay_signatures(o, 5, kNow, milliseconds(200));
  EXPECT_FALSE(l);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, milliseconds(1500));
}

// Many small arrays nested in one reply: refused past 2^20 elements in all, although no array
// is large and the unparsed bytes stay small.
TEST(redis_replay_nested, many_small_arrays_refused) {
  std::string why;
  auto fake = test::fake_redis::start("nested", why);
  ASSERT_TRUE(fake) << why;
  redis_replay_options o = fake_options(*fake);
  auto s = redis_replay_store::create(o);
  ASSERT_TRUE(s);
  auto c = (*s)->record(message(kNow, net(1), rcpts(0, 1), {sig(kKeyA)}), milliseconds(10000));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("array elements in all"), std::string::npos)
      << c.error().detail;
}

// Requests waiting for the only connection while the request holding it finds the server
// silent (the kFailuresToDown-th failure in a row): once the store is down they all fail at
// once, none opens a connection of its own (each would wait its whole budget on the silent
// server).
TEST(redis_replay_waiters, fail_at_once_when_the_store_goes_down) {
  std::string why;
  auto fake = test::fake_redis::start("silent", why);
  ASSERT_TRUE(fake) << why;
  redis_replay_options o = fake_options(*fake);
  o.connections = 1;
  o.min_backoff = milliseconds(10000);
  o.max_backoff = milliseconds(10000);
  auto s = redis_replay_store::create(o);
  ASSERT_TRUE(s);
  redis_replay_store& store = **s;
  for (int i = 1; i < kFailuresToDown; ++i)
    EXPECT_FALSE(store.record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(50)));
  ASSERT_TRUE(store.stats().up);
  std::thread holder([&] {
    EXPECT_FALSE(store.record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(300)));
  });
  std::this_thread::sleep_for(milliseconds(100));
  std::vector<std::thread> waiters;
  std::mutex mu;
  std::vector<std::string> errors;
  std::atomic<int> slow{0};
  for (int t = 0; t < 4; ++t) {
    waiters.emplace_back([&] {
      const auto t0 = std::chrono::steady_clock::now();
      auto c = store.record(message(kNow, net(2), {}, {sig(kKeyA)}), milliseconds(3000));
      if (std::chrono::steady_clock::now() - t0 > milliseconds(1500)) ++slow;
      std::lock_guard<std::mutex> lk(mu);
      errors.push_back(c ? "counted" : c.error().detail);
    });
  }
  holder.join();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(slow.load(), 0);
  ASSERT_EQ(errors.size(), 4u);
  for (const auto& e : errors) EXPECT_NE(e.find("Redis store down"), std::string::npos) << e;
  EXPECT_EQ(store.stats().uncounted, static_cast<std::uint64_t>(kFailuresToDown - 1 + 1 + 4));
}

// A request that began before an outage and fails after the recovery changes the state no
// more: down once, up once.
TEST(redis_replay_stale, old_request_does_not_flip_the_state) {
  std::string why;
  auto fake = test::fake_redis::start("stale", why);
  ASSERT_TRUE(fake) << why;
  std::mutex mu;
  std::vector<bool> changes;
  redis_replay_options o = fake_options(*fake);
  o.connections = 2;
  o.min_backoff = milliseconds(100);
  o.max_backoff = milliseconds(100);
  o.on_state_change = [&](bool up, const std::string&) {
    std::lock_guard<std::mutex> lk(mu);
    changes.push_back(up);
  };
  auto s = redis_replay_store::create(o);
  ASSERT_TRUE(s);
  redis_replay_store& store = **s;
  std::thread old([&] {  // first connection: answered by closing after 0.8 s
    EXPECT_FALSE(store.record(message(kNow, net(1), {}, {sig(kKeyA)}), milliseconds(3000)));
  });
  std::this_thread::sleep_for(milliseconds(200));
  // The next kFailuresToDown connections: closed at once (down); then, after the back-off,
  // another (up).
  for (int i = 0; i < kFailuresToDown; ++i)
    EXPECT_FALSE(store.record(message(kNow, net(2), {}, {sig(kKeyA)}), milliseconds(3000)));
  EXPECT_FALSE(store.stats().up);
  std::this_thread::sleep_for(milliseconds(150));
  auto c = store.record(message(kNow, net(3), {}, {sig(kKeyA)}), milliseconds(3000));
  EXPECT_TRUE(c) << c.error().message();
  old.join();
  EXPECT_TRUE(store.stats().up);
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(changes, (std::vector<bool>{false, true}));
}

INSTANTIATE_TEST_SUITE_P(
    modes, redis_replay_hostile,
    ::testing::Values(std::pair("int", "unexpected reply to SET NX of the fleet key: integer 42"),
                      std::pair("huge", "unexpected reply: larger than"),
                      std::pair("hugearray", "unexpected reply: an array of 2000000000 elements"),
                      std::pair("silent", "timeout after 50 ms"),
                      std::pair("close", "connection closed by the server"),
                      std::pair("badscript", "unexpected reply to the replay script: array of 2")),
    [](const auto& p) { return std::string(p.param.first); });

}  // namespace
}  // namespace dkimkit
