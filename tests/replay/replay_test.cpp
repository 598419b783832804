// Replay detection's library side (dkimkit/replay.hpp): keys, networks, recipients, what a message
// counts, the verdict and how Authentication-Results shows it. The store is tested apart.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <dkimkit/auth_results.hpp>
#include <dkimkit/replay.hpp>
#include <memory>
#include <string>
#include <vector>

namespace dkimkit {
namespace {

TEST(replay_key, sha256_of_domain_selector_and_signature) {
  // python3: hashlib.sha256(b"example.com\0sel\0abc+/=").hexdigest()[:32]
  EXPECT_EQ(replay_key("example.com", "sel", "abc+/="), "5b2449098cff414aa600b9118d155f02");
  EXPECT_EQ(replay_key("Example.COM", "SEL", "abc+/="), replay_key("example.com", "sel", "abc+/="));
  EXPECT_NE(replay_key("example.com", "sel", "abc+/="), replay_key("example.com", "sel", "abd+/="));
  // The NUL separators keep "a"+"bc" apart from "ab"+"c".
  EXPECT_NE(replay_key("a.example", "bc", "x"), replay_key("a.exampleb", "c", "x"));
  EXPECT_EQ(replay_key("example.com", "sel", "").size(), 32u);
}

TEST(recipient_hash, hmac_sha256_truncated) {
  // RFC 4231 test case 2: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
  EXPECT_EQ(recipient_hash("Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e");
  EXPECT_NE(recipient_hash("k1", "a@example.com"), recipient_hash("k2", "a@example.com"));
  EXPECT_EQ(recipient_hash("", "").size(), 16u);
}

std::string network_of(int family, const char* text) {
  unsigned char addr[16] = {};
  EXPECT_EQ(::inet_pton(family, text, addr), 1) << text;
  return client_network(family, addr);
}

TEST(client_network, v4_slash_24_and_v6_slash_48) {
  EXPECT_EQ(network_of(AF_INET, "192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(network_of(AF_INET, "198.51.100.255"), "198.51.100.0/24");
  EXPECT_EQ(network_of(AF_INET6, "2001:db8:1:2:3::4"), "2001:db8:1::/48");
  EXPECT_EQ(network_of(AF_INET6, "2001:db8:ffff:ffff::1"), "2001:db8:ffff::/48");
  // An IPv4-mapped address is the IPv4 client it stands for.
  EXPECT_EQ(network_of(AF_INET6, "::ffff:192.0.2.9"), "192.0.2.0/24");
  EXPECT_EQ(client_network(AF_INET, nullptr), "");
  unsigned char any[16] = {};
  EXPECT_EQ(client_network(AF_UNIX, any), "");
}

TEST(envelope_recipient, rfc5321_paths) {
  const std::pair<const char*, const char*> cases[] = {
      {"<User@Example.COM>", "user@example.com"},
      {"user@example.com", "user@example.com"},
      {"<@relay.example,@b.example:Joe@C.example>", "joe@c.example"},
      {"<\"John Doe\"@example.com>", "john doe@example.com"},
      {"<\"a\\\"b\"@example.com>", "a\"b@example.com"},
      {"<Postmaster>", "postmaster"},
      {"<first.last+tag@sub.example.org>", "first.last+tag@sub.example.org"},
      {"<a@[192.0.2.1]>", "a@[192.0.2.1]"},
      {"<a@[IPv6:2001:db8::1]>", "a@[ipv6:2001:db8::1]"},
      // Not paths: nothing is counted.
      {"<>", ""},
      {"", ""},
      {"<a@example.com", ""},
      {"<a@example.com> x", ""},
      {"<a..b@example.com>", ""},
      {"<.a@example.com>", ""},
      {"<a.@example.com>", ""},
      {"<a@-example.com>", ""},
      {"<a@example-.com>", ""},
      {"<a@exa_mple.com>", ""},
      {"<a@example..com>", ""},
      {"<a@>", ""},
      {"<@example.com>", ""},
      {"<@relay.example:>", ""},
      {"<@relay.example a@b.example>", ""},
      {"<\"unterminated@example.com>", ""},
      {"<\"bad\x01\"@example.com>", ""},
      {"<a b@example.com>", ""},
      {"<a@b@example.com>", ""},
      {"<a@[]>", ""},
  };
  for (const auto& [path, want] : cases) EXPECT_EQ(envelope_recipient(path), want) << path;
}

verification passing(std::string sdid, std::string selector, std::string b64,
                     std::optional<std::uint64_t> expiration = std::nullopt) {
  auto sig = std::make_shared<signature>();
  sig->sdid = sdid;
  sig->selector = selector;
  sig->signature_b64 = std::move(b64);
  sig->expiration = expiration;
  verification v;
  v.status = status::pass;
  v.sdid = std::move(sdid);
  v.selector = std::move(selector);
  v.auid = "@" + v.sdid;
  v.parsed = std::move(sig);
  return v;
}

TEST(replay_message_of, counts_passing_signatures_network_and_recipients) {
  replay_settings s;
  s.trusted_domains = {"trusted.example"};
  std::vector<verification> results;
  results.push_back(passing("example.com", "sel", "AAAA"));
  verification failed = passing("example.net", "sel", "BBBB");
  failed.status = status::fail;
  results.push_back(failed);
  results.push_back(passing("mail.trusted.example", "s2", "CCCC"));
  results.push_back(passing("example.com", "sel", "AAAA"));  // the same signature again
  unsigned char addr[4] = {192, 0, 2, 7};
  const std::uint64_t now = 1'800'000'000;
  auto m = replay_message_of(results, AF_INET, addr,
                             {"<B@Example.com>", "<b@example.com>", "<>", "<c@example.com>"}, s,
                             now);
  EXPECT_EQ(m.now, now);
  EXPECT_EQ(m.network, "192.0.2.0/24");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"b@example.com", "c@example.com"}));
  ASSERT_EQ(m.signatures.size(), 2u);
  EXPECT_EQ(m.signatures[0].key, replay_key("example.com", "sel", "AAAA"));
  EXPECT_EQ(m.signatures[0].sdid, "example.com");
  EXPECT_EQ(m.signatures[0].result_index, 0u);
  EXPECT_FALSE(m.signatures[0].trusted);
  EXPECT_EQ(m.signatures[0].window_seconds, 86400u);
  EXPECT_EQ(m.signatures[1].result_index, 2u);
  EXPECT_TRUE(m.signatures[1].trusted);  // a subdomain of a trusted domain
}

TEST(replay_message_of, expiration_extends_the_window_up_to_max_window) {
  replay_settings s;
  const std::uint64_t now = 1'800'000'000;
  std::vector<verification> results;
  results.push_back(passing("a.example", "s", "A", now + 3600));         // sooner: the window
  results.push_back(passing("b.example", "s", "B", now + 3 * 86400));    // later: x=
  results.push_back(passing("c.example", "s", "C", now + 365 * 86400));  // capped
  results.push_back(passing("d.example", "s", "D", now - 10));           // passed: the window
  auto m = replay_message_of(results, AF_INET, nullptr, {}, s, now);
  ASSERT_EQ(m.signatures.size(), 4u);
  EXPECT_EQ(m.signatures[0].window_seconds, 86400u);
  EXPECT_EQ(m.signatures[1].window_seconds, 3 * 86400u);
  EXPECT_EQ(m.signatures[2].window_seconds, 7 * 86400u);
  EXPECT_EQ(m.signatures[3].window_seconds, 86400u);
  EXPECT_EQ(m.network, "");  // no address: the network is not counted
}

// The store counts at most max_replay_slices slices; the verdict's window says the same (a
// window of 3600 s in 24 slices of 150 s: at most 150 000 s, below max_window).
TEST(replay_message_of, window_capped_at_the_slices_the_store_counts) {
  replay_settings s;
  s.window = std::chrono::seconds(3600);
  s.buckets = 24;
  s.max_window = std::chrono::seconds(30 * 86400);
  const std::uint64_t now = 1'800'000'000;
  std::vector<verification> results;
  results.push_back(passing("a.example", "s", "A", now + 20 * 86400));
  results.push_back(passing("b.example", "s", "B", now + 100000));
  auto m = replay_message_of(results, AF_INET, nullptr, {}, s, now);
  ASSERT_EQ(m.signatures.size(), 2u);
  EXPECT_EQ(m.signatures[0].window_seconds, 150u * max_replay_slices);
  EXPECT_EQ(m.signatures[1].window_seconds, 100000u);
}

TEST(replay_message_of, bounded_per_message) {
  replay_settings s;
  s.max_signatures = 2;
  s.max_recipients = 3;
  std::vector<verification> results;
  for (int i = 0; i < 10; ++i) results.push_back(passing("example.com", "s", std::to_string(i)));
  std::vector<std::string> rcpts;
  for (int i = 0; i < 1000; ++i) rcpts.push_back("<u" + std::to_string(i) + "@example.com>");
  auto m = replay_message_of(results, AF_INET, nullptr, rcpts, s, 0);
  EXPECT_EQ(m.signatures.size(), 2u);
  EXPECT_EQ(m.recipients.size(), 3u);
}

TEST(replay_message_of, nothing_to_count_without_a_passing_signature) {
  replay_settings s;
  verification v = passing("example.com", "s", "A");
  v.status = status::temperror;
  unsigned char addr[4] = {192, 0, 2, 7};
  auto m = replay_message_of({v}, AF_INET, addr, {"<a@example.com>"}, s, 0);
  EXPECT_TRUE(m.signatures.empty());
  EXPECT_TRUE(m.recipients.empty());
  EXPECT_EQ(m.network, "");
}

TEST(replay_suspected, any_nonzero_limit_exceeded_never_trusted) {
  replay_thresholds t;  // networks 10
  replay_counts c;
  c.networks = 10;
  c.messages = 1'000'000;
  c.recipients = 1'000'000;
  EXPECT_FALSE(replay_suspected(c, t, false));  // a newsletter: many messages, one network
  c.networks = 11;
  EXPECT_TRUE(replay_suspected(c, t, false));
  EXPECT_FALSE(replay_suspected(c, t, true));
  t = {0, 5, 0};
  c = {5, 100, 0, 0};
  EXPECT_FALSE(replay_suspected(c, t, false));
  c.messages = 6;
  EXPECT_TRUE(replay_suspected(c, t, false));
  t = {0, 0, 2};
  c = {1, 1, 3, 0};
  EXPECT_TRUE(replay_suspected(c, t, false));
  t = {0, 0, 0};
  c = {~0ull, ~0ull, ~0ull, 0};
  EXPECT_FALSE(replay_suspected(c, t, false));  // no limit: never
}

TEST(replay_action, names_round_trip) {
  for (auto a : {replay_action::tag, replay_action::policy, replay_action::tempfail,
                 replay_action::reject})
    EXPECT_EQ(parse_replay_action(to_string(a)), a);
  EXPECT_FALSE(parse_replay_action("Tag"));
  EXPECT_FALSE(parse_replay_action(""));
}

struct applied {
  std::vector<verification> results;
  replay_message m;
};

applied message_with_two(const replay_settings& s) {
  applied a;
  a.results.push_back(passing("example.com", "sel", "AAAA"));
  a.results.push_back(passing("trusted.example", "sel", "BBBB"));
  unsigned char addr[4] = {192, 0, 2, 7};
  a.m = replay_message_of(a.results, AF_INET, addr, {"<a@example.org>"}, s, 1'800'000'000);
  return a;
}

TEST(apply_replay, tag_records_the_verdict_and_keeps_the_status) {
  replay_settings s;
  s.trusted_domains = {"trusted.example"};
  auto a = message_with_two(s);
  std::vector<replay_counts> counts = {{40, 12, 900, 1'799'990'000}, {40, 12, 900, 0}};
  EXPECT_EQ(apply_replay(a.results, a.m, counts, s, replay_action::tag), 1u);
  ASSERT_TRUE(a.results[0].replay);
  EXPECT_TRUE(a.results[0].replay->suspected);
  EXPECT_EQ(a.results[0].replay->messages, 40u);
  EXPECT_EQ(a.results[0].replay->networks, 12u);
  EXPECT_EQ(a.results[0].replay->recipients, 900u);
  EXPECT_EQ(a.results[0].replay->first_seen, 1'799'990'000u);
  EXPECT_EQ(a.results[0].replay->window_seconds, 86400u);
  EXPECT_EQ(a.results[0].status, status::pass);
  ASSERT_TRUE(a.results[1].replay);
  EXPECT_FALSE(a.results[1].replay->suspected);  // trusted: counted, never suspected
  EXPECT_EQ(overall(a.results), status::pass);
}

TEST(apply_replay, policy_turns_a_suspected_pass_into_policy) {
  replay_settings s;
  auto a = message_with_two(s);
  std::vector<replay_counts> counts = {{2, 11, 2, 0}, {2, 3, 2, 0}};
  EXPECT_EQ(apply_replay(a.results, a.m, counts, s, replay_action::policy), 1u);
  EXPECT_EQ(a.results[0].status, status::policy);
  EXPECT_EQ(a.results[0].code, errc::replay_suspected);
  EXPECT_EQ(a.results[0].reason, "replay suspected: 2 messages from 11 networks to 2 recipients in 24 h");
  EXPECT_EQ(a.results[1].status, status::pass);
  EXPECT_EQ(status_of(errc::replay_suspected), status::policy);
}

TEST(apply_replay, counts_of_another_size_record_nothing) {
  replay_settings s;
  auto a = message_with_two(s);
  EXPECT_EQ(apply_replay(a.results, a.m, {{1, 100, 1, 0}}, s, replay_action::policy), 0u);
  EXPECT_FALSE(a.results[0].replay);
  EXPECT_EQ(a.results[0].status, status::pass);
}

TEST(replay_summary, words_and_window_units) {
  replay_verdict r{1, 1, 1, 0, 3600, false};
  EXPECT_EQ(replay_summary(r), "replay counted: 1 message from 1 network to 1 recipient in 1 h");
  r = {3, 2, 0, 0, 90, true};
  EXPECT_EQ(replay_summary(r), "replay suspected: 3 messages from 2 networks to 0 recipients in 90 s");
  r.window_seconds = 1800;
  EXPECT_EQ(replay_summary(r), "replay suspected: 3 messages from 2 networks to 0 recipients in 30 min");
}

const auth_result& only_dkim(const auth_results_field& f, std::size_t i) {
  EXPECT_GT(f.results.size(), i);
  return f.results.at(i);
}

std::string property(const auth_result& r, const std::string& name) {
  for (const auto& [k, v] : r.properties)
    if (k == name) return v;
  return "(absent)";
}

TEST(format_auth_results, a_suspected_signature_says_so_and_reads_back) {
  replay_settings s;
  auto tagged = message_with_two(s);
  std::vector<replay_counts> counts = {{40, 12, 900, 0}, {1, 1, 1, 0}};
  ASSERT_EQ(apply_replay(tagged.results, tagged.m, counts, s, replay_action::tag), 1u);
  tagged.results[0].key_bits = 2048;
  tagged.results[0].key_type = key_type::rsa;
  std::string field = format_auth_results("mx.example.net", tagged.results);
  auto parsed = parse_auth_results(field.substr(field.find(':') + 1));
  ASSERT_TRUE(parsed) << field;
  const auth_result& first = only_dkim(*parsed, 0);
  EXPECT_EQ(first.result, "pass");
  EXPECT_EQ(first.comment,
            "2048-bit rsa key; replay suspected: 40 messages from 12 networks to 900 recipients "
            "in 24 h");
  EXPECT_EQ(property(first, "policy.dkim-replay"), "suspected");
  EXPECT_EQ(property(first, "header.d"), "example.com");
  const auth_result& second = only_dkim(*parsed, 1);
  EXPECT_EQ(property(second, "policy.dkim-replay"), "(absent)");  // counted, not suspected
  EXPECT_EQ(second.comment, "");

  auto as_policy = message_with_two(s);
  ASSERT_EQ(apply_replay(as_policy.results, as_policy.m, counts, s, replay_action::policy), 1u);
  field = format_auth_results("mx.example.net", as_policy.results);
  parsed = parse_auth_results(field.substr(field.find(':') + 1));
  ASSERT_TRUE(parsed) << field;
  EXPECT_EQ(only_dkim(*parsed, 0).result, "policy");
  EXPECT_EQ(only_dkim(*parsed, 0).comment,
            "replay suspected: 40 messages from 12 networks to 900 recipients in 24 h");
  EXPECT_EQ(property(only_dkim(*parsed, 0), "policy.dkim-replay"), "suspected");
}

TEST(replay_settings, checked) {
  replay_settings s;
  EXPECT_TRUE(check(s));
  auto bad = [](auto change) {
    replay_settings t;
    change(t);
    return !check(t);
  };
  EXPECT_TRUE(bad([](replay_settings& t) { t.window = std::chrono::seconds(59); }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.buckets = 0; }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.buckets = 25; }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.window = std::chrono::seconds(3601); }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.max_window = std::chrono::seconds(3600); }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.max_recipients = 0; }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.max_signatures = 0; }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.trusted_domains = {"not a domain"}; }));
  EXPECT_TRUE(bad([](replay_settings& t) { t.trusted_domains = {""}; }));
  EXPECT_FALSE(bad([](replay_settings& t) { t.trusted_domains = {"example.com", "com"}; }));
  auto e = check([] {
    replay_settings t;
    t.window = std::chrono::seconds(3601);
    return t;
  }());
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().detail.find("multiple of buckets"), std::string::npos) << e.error().detail;
}

}  // namespace
}  // namespace dkimkit
