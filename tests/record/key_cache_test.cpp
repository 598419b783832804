// key_cache: parsed key records reused across messages (RFC 6376 §3.6.1 records).
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <dkimkit/key_record.hpp>
#include <dkimkit/verifier.hpp>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

TEST(key_cache, second_parse_of_the_same_record_is_a_hit) {
  key_cache cache;
  std::string rec = test::ed25519().public_record();
  auto a = cache.parse(rec);
  auto b = cache.parse(rec);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->key, b->key);  // the same decoded key object
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(key_cache, errors_are_cached_with_their_code) {
  key_cache cache;
  auto a = cache.parse("v=DKIM1; p=");
  auto b = cache.parse("v=DKIM1; p=");
  ASSERT_FALSE(a);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::key_revoked);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(key_cache, limits_are_part_of_the_key) {
  key_cache cache;
  std::string rec = test::rsa2048().public_record();
  key_limits small;
  small.max_rsa_bits = 1024;
  EXPECT_TRUE(cache.parse(rec));
  auto r = cache.parse(rec, small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_too_large);
}

TEST(key_cache, evicts_the_least_recently_used_beyond_capacity) {
  key_cache cache(2);
  std::string a = "v=DKIM1; p=";
  std::string b = "v=DKIM1; k=rsa; p=";
  std::string c = "v=DKIM1; k=ed25519; p=";
  (void)cache.parse(a);
  (void)cache.parse(b);
  (void)cache.parse(a);  // a is now the most recent
  (void)cache.parse(c);  // evicts b
  (void)cache.parse(a);
  EXPECT_EQ(cache.hits(), 2u);
  (void)cache.parse(b);
  EXPECT_EQ(cache.misses(), 4u);
}

TEST(key_cache, shared_between_threads) {
  key_cache cache;
  std::string rec = test::rsa2048().public_record();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (cache.parse(rec)) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(cache.hits() + cache.misses(), 200u);
  EXPECT_LE(cache.misses(), 4u);
}

// Publishes `key` at sel._domainkey.example.com in `dns`; options verifying with `cache`, and the
// sample message signed with `key`.
std::pair<verify_options, std::string> with_cache(static_resolver& dns, key_cache& cache,
                                                  const private_key& key) {
  dns.add("sel._domainkey.example.com", key.public_record());
  verify_options o = test::options_for(dns);
  o.keys = &cache;
  return {o, test::sign_with(test::sample_message(), key, "sel")};
}

TEST(key_cache, verifier_uses_it_across_messages) {
  static_resolver dns;
  key_cache cache;
  const auto [o, signed_msg] = with_cache(dns, cache, test::rsa2048());
  for (int i = 0; i < 3; ++i) {
    auto r = verify(signed_msg, o);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  }
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 2u);
}

// parse_shared(): a hit hands out the cached record itself, not a copy; parse() copies it.
TEST(key_cache, parse_shared_hands_out_the_cached_record) {
  key_cache cache;
  const std::string rec = test::ed25519().public_record();
  auto a = cache.parse_shared(rec);
  auto b = cache.parse_shared(rec);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
  auto copy = cache.parse(rec);
  ASSERT_TRUE(copy);
  EXPECT_NE(&*copy, a->get());
  EXPECT_EQ(copy->key, (*a)->key);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 2u);
  auto revoked = cache.parse_shared("v=DKIM1; p=");
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, errc::key_revoked);
}

// A record handed out stays valid after the cache has evicted it.
TEST(key_cache, shared_record_outlives_its_eviction) {
  key_cache cache(1);
  auto ed = cache.parse_shared(test::ed25519().public_record());
  ASSERT_TRUE(ed);
  ASSERT_TRUE(cache.parse_shared(test::rsa2048().public_record()));  // evicts the Ed25519 record
  EXPECT_EQ((*ed)->type, key_type::ed25519);
  EXPECT_EQ((*ed)->key->bits(), 256u);
  EXPECT_TRUE(cache.parse_shared(test::ed25519().public_record()));
  EXPECT_EQ(cache.misses(), 3u);
}

// The verifier reports the cache's record (verification::key) without copying it: every message
// verified with the cache shows the same record.
TEST(key_cache, verifications_share_the_cached_record) {
  static_resolver dns;
  key_cache cache;
  const auto [o, signed_msg] = with_cache(dns, cache, test::ed25519());
  auto first = verify(signed_msg, o);
  auto second = verify(signed_msg, o);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].status, status::pass) << first[0].reason;
  ASSERT_NE(first[0].key, nullptr);
  EXPECT_EQ(first[0].key, second[0].key);
  EXPECT_EQ(first[0].key, *cache.parse_shared(test::ed25519().public_record()));
}

}  // namespace
}  // namespace dkimkit
