// redis_replay_store and list_replay_signatures (dkimkit/redis_replay.hpp).
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <condition_variable>
#include <dkimkit/redis_replay.hpp>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "replay_redis/record_script.hpp"
#include "replay_redis/redis_connection.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

using detail::redis_command;
using detail::redis_connection;
using detail::redis_deadline;
using detail::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxPrefix = 200;
constexpr std::size_t kFleetKeyBytes = 32;
constexpr std::size_t kMaxRecordReply = std::size_t{1} << 16;
constexpr std::size_t kMaxListReply = std::size_t{1} << 24;

// Raw bytes (OpenSSL's unsigned char buffers) as lower-case hex.
std::string hex(const unsigned char* p, std::size_t n) {
  return detail::hex(std::string_view(reinterpret_cast<const char*>(p), n));
}

std::string sha1_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
  assert(ok == 1);
  (void)ok;
  return hex(md, len);
}

// The slice length in seconds, and the window a signature is counted over (at most
// kMaxReplaySlices slices).
std::uint64_t slice_of(const replay_settings& s) {
  return static_cast<std::uint64_t>(s.window.count()) / s.buckets;
}
std::uint64_t window_of(std::uint64_t requested, const replay_settings& s) {
  const std::uint64_t slice = slice_of(s);
  const auto base = static_cast<std::uint64_t>(s.window.count());
  return std::min(std::max(requested, base), slice * detail::kMaxReplaySlices);
}

// A glob (SCAN MATCH) that matches `literal` itself, then "*".
std::string glob_prefix(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out + '*';
}

result<std::uint64_t> count_of(const redisReply& r, std::string_view what) {
  if (!detail::is_integer(r) || detail::integer_of(r) < 0)
    return tl::unexpected(detail::unexpected_reply(what, r));
  return static_cast<std::uint64_t>(detail::integer_of(r));
}

result<std::uint64_t> number_field(std::string_view value, std::string_view key,
                                   std::string_view field) {
  const auto n = detail::parse_decimal(value, 19);
  if (!n)
    return fail(errc::io_error, "unexpected data in " + detail::quotable(key, 80) + ": field '" +
                                    detail::quotable(field) + "' is '" + detail::quotable(value) +
                                    "', not a number");
  return *n;
}

// What marks the store down: kFailuresToDown failures in a row that are the server's (no
// success between), so that one slow answer, or a server whose latency sits near the budget,
// does not flip it. Any counted message starts the count again. A failure counts only when its
// request got its connection after the last counted failure: the requests in flight during one
// pause of the server fail together, and are one failure, not one per connection.
constexpr unsigned kFailuresToDown = 3;
// A timeout counts against the server only when the request had its connection for at least
// half its budget, and at least kMinBlamedTimeout: with less (a budget of a few ms, or most of
// it spent waiting for a free connection) a slow answer cannot be told from none. Anything else
// the server did (refused, closed, an answer of the wrong shape) counts.
constexpr milliseconds kMinBlamedTimeout{10};
bool server_to_blame(const error& e, const redis_deadline& d, steady_clock::time_point lent) {
  if (!detail::is_timeout(e)) return true;
  return d.at - lent >= std::max(kMinBlamedTimeout, d.budget / 2);
}
// A pooled connection idle this long is checked before it is lent (redis_connection::
// closed_by_server): the server may have closed it meanwhile (its `timeout` setting, a
// restart), and a request on it would fail, counted against the server.
constexpr milliseconds kCheckIdleAfter{1000};

result<void> check_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix.size() > kMaxPrefix || !detail::is_printable_ascii(prefix))
    return fail(errc::invalid_argument, "Redis key prefix: 1.." + std::to_string(kMaxPrefix) +
                                            " printable ASCII characters");
  return {};
}

}  // namespace

struct redis_replay_store::impl {
  redis_replay_options opts;
  redis_address address;
  std::uint64_t slice = 0;
  std::string script_sha;

  std::mutex mu;
  std::condition_variable freed;
  // A connection in the pool, and since when it is there.
  struct pooled {
    std::unique_ptr<redis_connection> conn;
    steady_clock::time_point since;
  };
  std::vector<pooled> idle;
  std::size_t open = 0;  // idle and lent
  bool up = true;
  bool probing = false;  // a record() is trying the server again while down
  unsigned failures = 0;  // the server's failures in a row while up (kFailuresToDown)
  steady_clock::time_point last_failure{};  // when the last of them was counted
  // The last back-off (0: none yet): a store that goes down again within stable_after() of
  // coming up continues from it (doubling, capped) instead of starting at min_backoff.
  milliseconds backoff{0};
  steady_clock::time_point retry_at{};
  steady_clock::time_point up_since{};  // the last change to up
  std::string down_why;
  std::string fleet_key;  // empty until read from the server
  replay_store_stats stats;
  std::uint64_t unpushed = 0;  // uncounted messages not yet added to PREFIX "host:" NAME
  std::uint64_t generation = 0;  // state changes so far (up -> down, down -> up)

  // on_state_change calls, in the order of the changes, without holding `mu`.
  std::mutex notify_mu;
  std::condition_variable notify_turn;
  std::uint64_t changes = 0, delivered = 0;

  // A connection lent to one record(), and the state's generation when it was lent: a lease
  // older than the last state change (its request began before an outage or a recovery) changes
  // the state no more. Every error acquire() returns has counted the message as uncounted (and,
  // for a failed connection, changed the state).
  struct lease {
    std::unique_ptr<redis_connection> conn;
    bool probe = false;
    std::uint64_t generation = 0;
    steady_clock::time_point lent{};
  };

  // How long the store must stay up for its next outage to start at min_backoff again: twice
  // max_backoff (a minute with the defaults).
  milliseconds stable_after() const { return 2 * opts.max_backoff; }
  result<lease> acquire(const redis_deadline& d);
  result<void> fetch_fleet_key(redis_connection& c, const redis_deadline& d);
  void succeeded(lease l, std::uint64_t suspected);
  // The lease's request failed: the message goes on uncounted and `pushed` waits for the next
  // round trip. `blame` false (nothing was sent, or too little of the budget was left to blame
  // the server): no state change, the failure is not counted, and a connection still usable
  // goes back to the pool. Blamed: counted when the lease is younger than the last counted
  // failure; the kFailuresToDown-th counted in a row marks the store down.
  void failed(lease l, std::uint64_t pushed, bool blame, const std::string& why);
  void notify(std::unique_lock<std::mutex>& lk, bool now_up, const std::string& why);
  result<std::vector<replay_counts>> round_trip(redis_connection& c, const replay_message& m,
                                                std::uint64_t pushed, std::uint64_t& suspected,
                                                const redis_deadline& d);
};

void redis_replay_store::impl::notify(std::unique_lock<std::mutex>& lk, bool now_up,
                                      const std::string& why) {
  const std::uint64_t turn = ++changes;
  lk.unlock();
  std::unique_lock<std::mutex> n(notify_mu);
  notify_turn.wait(n, [&] { return delivered + 1 == turn; });
  // This turn is over even when the callback throws: later notifiers must not wait forever.
  struct advance {
    impl& self;
    std::unique_lock<std::mutex>& n;
    std::uint64_t turn;
    ~advance() {
      if (!n.owns_lock()) n.lock();
      self.delivered = turn;
      self.notify_turn.notify_all();
    }
  } guard{*this, n, turn};
  if (!opts.on_state_change) return;
  n.unlock();
  opts.on_state_change(now_up, why);
}

result<redis_replay_store::impl::lease> redis_replay_store::impl::acquire(const redis_deadline& d) {
  std::unique_lock<std::mutex> lk(mu);
  lease l;
  // The state is checked again after every wait: the store may have gone down meanwhile.
  for (;;) {
    if (!up && !l.probe) {
      const auto now = steady_clock::now();
      if (probing || now < retry_at) {
        ++stats.uncounted;
        ++unpushed;
        const auto wait = std::chrono::duration_cast<milliseconds>(retry_at - now).count();
        return fail(errc::io_error, "Redis store down (" + down_why + "); next try in " +
                                        std::to_string(std::max<long long>(wait, 0)) + " ms");
      }
      probing = true;
      l.probe = true;
    }
    if (!idle.empty() || open < opts.connections) break;
    if (freed.wait_until(lk, d.at) == std::cv_status::timeout && idle.empty() &&
        open >= opts.connections) {
      // The budget ran out waiting: says nothing about the server (no state change).
      if (l.probe) probing = false;
      ++stats.uncounted;
      ++unpushed;
      return fail(errc::io_error,
                  "no free Redis connection within " + std::to_string(d.budget.count()) + " ms");
    }
  }
  l.generation = generation;
  l.lent = steady_clock::now();
  while (!idle.empty()) {
    pooled p = std::move(idle.back());
    idle.pop_back();
    if (l.lent - p.since >= kCheckIdleAfter && p.conn->closed_by_server()) {
      --open;  // dead: not the server failing now, nothing counted
      continue;
    }
    l.conn = std::move(p.conn);
    return l;
  }
  ++open;
  lk.unlock();
  auto c = redis_connection::open(address, d);
  if (!c) {
    const bool blame = server_to_blame(c.error(), d, l.lent);
    failed(std::move(l), 0, blame, c.error().detail);
    return tl::unexpected(c.error());
  }
  l.conn = std::make_unique<redis_connection>(std::move(*c));
  return l;
}

void redis_replay_store::impl::failed(lease l, std::uint64_t pushed, bool blame,
                                      const std::string& why) {
  std::unique_lock<std::mutex> lk(mu);
  ++stats.uncounted;
  unpushed += pushed + 1;
  if (l.probe) probing = false;
  if (l.conn && l.conn->sent_nothing() && l.generation == generation) {
    idle.push_back({std::move(l.conn), steady_clock::now()});  // nothing of it went out
  } else {
    l.conn.reset();
    --open;
  }
  freed.notify_one();
  if (!blame || l.generation != generation) return;  // not the server's fault, or old news
  if (up) {
    // In flight when the last counted failure happened: the same event, not one more.
    if (l.lent < last_failure) return;
    last_failure = steady_clock::now();
    if (++failures < kFailuresToDown) return;
    failures = 0;
    up = false;
    stats.up = false;
    ++generation;
    down_why = why;
    const auto now = steady_clock::now();
    // Down again soon after a recovery: the server is flapping; the back-off goes on doubling.
    const bool flapping = backoff.count() > 0 && now - up_since < stable_after();
    backoff = flapping ? std::min(backoff * 2, opts.max_backoff) : opts.min_backoff;
    retry_at = now + backoff;
    open -= idle.size();
    idle.clear();  // the others are most likely broken too
    freed.notify_all();  // waiters see the store down
    notify(lk, false, why);
    return;
  }
  if (l.probe) {
    down_why = why;
    backoff = std::min(backoff * 2, opts.max_backoff);
    retry_at = steady_clock::now() + backoff;
  }
}

void redis_replay_store::impl::succeeded(lease l, std::uint64_t suspected) {
  std::unique_lock<std::mutex> lk(mu);
  ++stats.counted;
  stats.suspected += suspected;
  if (l.probe) probing = false;
  if (up || l.generation == generation) {
    idle.push_back({std::move(l.conn), steady_clock::now()});
  } else {
    --open;  // an old request that ended after the store went down: not a probe, keep none
  }
  freed.notify_one();
  if (l.generation != generation) return;  // old news: neither a recovery nor a reset count
  failures = 0;
  if (!up) {
    up = true;
    stats.up = true;
    ++generation;
    up_since = steady_clock::now();  // `backoff` is kept: see stable_after()
    notify(lk, true, "");
  }
}

result<void> redis_replay_store::impl::fetch_fleet_key(redis_connection& c,
                                                       const redis_deadline& d) {
  {
    std::lock_guard<std::mutex> lk(mu);
    if (!fleet_key.empty()) return {};
  }
  unsigned char random[kFleetKeyBytes];
  if (RAND_bytes(random, sizeof random) != 1)
    return fail(errc::crypto_error, "no random bytes for the fleet key");
  const std::string key_name = opts.prefix + "key";
  auto replies = c.exchange(
      {{"SET", key_name, hex(random, sizeof random), "NX"}, {"GET", key_name}}, d, kMaxRecordReply);
  if (!replies) return tl::unexpected(replies.error());
  const redisReply& set = *(*replies)[0];
  const redisReply& get = *(*replies)[1];
  if (!detail::is_status(set, "OK") && !detail::is_nil(set))
    return tl::unexpected(detail::unexpected_reply("SET NX of the fleet key", set));
  if (!detail::is_string(get) || detail::string_of(get).size() < 16 ||
      detail::string_of(get).size() > 1024)
    return tl::unexpected(detail::unexpected_reply("GET of the fleet key", get));
  std::lock_guard<std::mutex> lk(mu);
  if (fleet_key.empty()) fleet_key = std::string(detail::string_of(get));
  return {};
}

result<std::vector<replay_counts>> redis_replay_store::impl::round_trip(redis_connection& c,
                                                                        const replay_message& m,
                                                                        std::uint64_t pushed,
                                                                        std::uint64_t& suspected,
                                                                        const redis_deadline& d) {
  std::string key;
  {
    std::lock_guard<std::mutex> lk(mu);
    key = fleet_key;
  }
  const replay_settings& s = opts.settings;
  const auto base = static_cast<std::uint64_t>(s.window.count());
  const std::uint64_t host_ttl =
      std::max(base, static_cast<std::uint64_t>(s.max_window.count())) + slice;
  redis_command cmd = {"EVALSHA",
                       script_sha,
                       "0",
                       opts.prefix,
                       std::to_string(m.now),
                       std::to_string(slice),
                       std::to_string(base),
                       m.network,
                       std::to_string(s.thresholds.networks),
                       std::to_string(s.thresholds.messages),
                       std::to_string(s.thresholds.recipients),
                       opts.host_name,
                       std::to_string(host_ttl),
                       std::to_string(pushed),
                       std::to_string(m.signatures.size()),
                       std::to_string(m.recipients.size())};
  for (const auto& sig : m.signatures) {
    cmd.push_back(sig.key);
    cmd.push_back(sig.sdid);
    cmd.push_back(sig.selector);
    cmd.push_back(std::to_string(window_of(sig.window_seconds, s)));
    cmd.push_back(sig.trusted ? "1" : "0");
  }
  for (const auto& r : m.recipients) cmd.push_back(recipient_hash(key, r));

  auto replies = c.exchange({cmd}, d, kMaxRecordReply);
  if (!replies) return tl::unexpected(replies.error());
  if (detail::is_error(*(*replies)[0]) &&
      detail::string_of(*(*replies)[0]).substr(0, 8) == "NOSCRIPT") {
    cmd[0] = "EVAL";
    cmd[1] = std::string(detail::kRecordScript);
    replies = c.exchange({cmd}, d, kMaxRecordReply);
    if (!replies) return tl::unexpected(replies.error());
  }
  const redisReply& r = *(*replies)[0];
  const std::size_t n = m.signatures.size();
  if (!detail::is_array(r) || detail::size_of(r) != 5 * n)
    return tl::unexpected(detail::unexpected_reply("the replay script", r));
  std::vector<replay_counts> out(n);
  suspected = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t v[5];
    for (std::size_t j = 0; j < 5; ++j) {
      auto x = count_of(detail::element(r, 5 * i + j), "the replay script");
      if (!x) return tl::unexpected(x.error());
      v[j] = *x;
    }
    if (v[4] > 1) return tl::unexpected(detail::unexpected_reply("the replay script", r));
    out[i] = replay_counts{v[0], v[1], v[2], v[3]};
    suspected += v[4];
  }
  return out;
}

redis_replay_store::redis_replay_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
redis_replay_store::~redis_replay_store() = default;

result<std::unique_ptr<redis_replay_store>> redis_replay_store::create(redis_replay_options opts) {
  auto address = parse_redis_address(opts.store);
  if (!address) return tl::unexpected(address.error());
  if (!opts.password.empty()) address->password = opts.password;
  if (auto ok = check(opts.settings); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_prefix(opts.prefix); !ok) return tl::unexpected(ok.error());
  if (opts.connections < 1) return fail(errc::invalid_argument, "connections must be at least 1");
  if (opts.min_backoff.count() < 1 || opts.max_backoff < opts.min_backoff)
    return fail(errc::invalid_argument, "back-off: 1 ms <= min_backoff <= max_backoff");
  if (opts.host_name.empty()) {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
      return fail(errc::invalid_argument, "no host_name given and gethostname() failed");
    opts.host_name = name;
  }
  if (opts.host_name.size() > 255 || !detail::is_printable_ascii(opts.host_name))
    return fail(errc::invalid_argument, "host_name: at most 255 printable ASCII characters");
  auto p = std::make_unique<impl>();
  p->slice = slice_of(opts.settings);
  p->opts = std::move(opts);
  p->address = std::move(*address);
  if (!p->address.host.empty()) p->address.host = detail::resolve_redis_host(p->address.host);
  p->script_sha = sha1_hex(detail::kRecordScript);
  return std::unique_ptr<redis_replay_store>(new redis_replay_store(std::move(p)));
}

result<std::vector<replay_counts>> redis_replay_store::record(const replay_message& m,
                                                              std::chrono::milliseconds budget) {
  if (m.signatures.empty()) return std::vector<replay_counts>{};
  const auto d = redis_deadline::after(budget);
  auto l = impl_->acquire(d);
  if (!l) return tl::unexpected(l.error());
  std::uint64_t pushed = 0;
  {
    // Taken, so that concurrent requests do not push the same messages twice; given back on
    // failure.
    std::lock_guard<std::mutex> lk(impl_->mu);
    pushed = std::exchange(impl_->unpushed, 0);
  }
  std::uint64_t suspected = 0;
  auto counts = impl_->fetch_fleet_key(*l->conn, d).and_then([&] {
    return impl_->round_trip(*l->conn, m, pushed, suspected, d);
  });
  if (!counts) {
    const bool blame =
        !l->conn->sent_nothing() && server_to_blame(counts.error(), d, l->lent);
    impl_->failed(std::move(*l), pushed, blame, counts.error().detail);
    return tl::unexpected(counts.error());
  }
  impl_->succeeded(std::move(*l), suspected);
  return counts;
}

replay_store_stats redis_replay_store::stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->stats;
}

namespace {

// Reads the keys of one SCAN pattern, page by page, before the deadline; `page` is called with
// each page's new keys.
template <class Page>
result<void> scan(redis_connection& c, const std::string& pattern, const redis_deadline& d,
                  std::set<std::string>& seen, Page&& page) {
  std::string cursor = "0";
  do {
    auto replies =
        c.exchange({{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}}, d, kMaxListReply);
    if (!replies) return tl::unexpected(replies.error());
    const redisReply& r = *(*replies)[0];
    if (!detail::is_array(r) || detail::size_of(r) != 2 ||
        !detail::is_string(detail::element(r, 0)) || !detail::is_array(detail::element(r, 1)) ||
        !detail::parse_decimal(detail::string_of(detail::element(r, 0)), 20))
      return tl::unexpected(detail::unexpected_reply("SCAN", r));
    cursor = std::string(detail::string_of(detail::element(r, 0)));
    const redisReply& keys = detail::element(r, 1);
    std::vector<std::string> fresh;
    for (std::size_t i = 0; i < detail::size_of(keys); ++i) {
      const redisReply& k = detail::element(keys, i);
      if (!detail::is_string(k)) return tl::unexpected(detail::unexpected_reply("SCAN", k));
      std::string name(detail::string_of(k));
      if (seen.insert(name).second) fresh.push_back(std::move(name));
    }
    if (!fresh.empty()) {
      if (auto ok = page(fresh); !ok) return ok;
    }
  } while (cursor != "0");
  return {};
}

// HGETALL of each key, pipelined: field -> value per key; an empty map for a key gone since,
// nullopt for a key that is not a hash (an error reply such as WRONGTYPE).
using hash_fields = std::optional<std::vector<std::pair<std::string, std::string>>>;
result<std::vector<hash_fields>> hashes(
    redis_connection& c, const std::vector<std::string>& keys, const redis_deadline& d) {
  std::vector<redis_command> cmds;
  cmds.reserve(keys.size());
  for (const auto& k : keys) cmds.push_back({"HGETALL", k});
  auto replies = c.exchange(cmds, d, kMaxListReply);
  if (!replies) return tl::unexpected(replies.error());
  std::vector<hash_fields> out(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const redisReply& r = *(*replies)[i];
    if (detail::is_error(r)) continue;
    out[i].emplace();
    if (!detail::is_array(r) || detail::size_of(r) % 2 != 0)
      return tl::unexpected(
          detail::unexpected_reply("HGETALL " + detail::quotable(keys[i], 80), r));
    for (std::size_t j = 0; j < detail::size_of(r); j += 2) {
      const redisReply& f = detail::element(r, j);
      const redisReply& v = detail::element(r, j + 1);
      if (!detail::is_string(f) || !detail::is_string(v))
        return tl::unexpected(
            detail::unexpected_reply("HGETALL " + detail::quotable(keys[i], 80), r));
      out[i]->emplace_back(detail::string_of(f), detail::string_of(v));
    }
  }
  return out;
}

// One tracked signature from its hash: the entry, and the slices whose HyperLogLogs count.
result<std::optional<std::pair<replay_entry, std::vector<std::uint64_t>>>> entry_of(
    std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
    std::string_view prefix_s, const replay_settings& s, std::uint64_t now) {
  if (fields.empty()) return std::nullopt;  // expired between SCAN and HGETALL
  replay_entry e;
  e.key = std::string(key.substr(prefix_s.size()));
  std::uint64_t window = 0, stored_slice = 0;
  bool have_window = false, have_first = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> per_slice;
  for (const auto& [f, v] : fields) {
    auto number = [&]() { return number_field(v, key, f); };
    if (f == "d") {
      e.sdid = v;
    } else if (f == "s") {
      e.selector = v;
    } else if (f == "first" || f == "last" || f == "window" || f == "slice" || f == "flagged") {
      auto n = number();
      if (!n) return tl::unexpected(n.error());
      if (f == "first") e.first_seen = *n, have_first = true;
      if (f == "last") e.last_seen = *n;
      if (f == "window") window = *n, have_window = true;
      if (f == "slice") {
        if (*n == 0)
          return fail(errc::io_error,
                      "unexpected data in " + detail::quotable(key, 80) + ": field 'slice' is 0");
        stored_slice = *n;
      }
      if (f == "flagged") {
        if (*n > 1) return tl::unexpected(number_field("x", key, f).error());
        e.flagged = *n == 1;
      }
    } else if (f.rfind("m:", 0) == 0) {
      auto slice_no = number_field(std::string_view(f).substr(2), key, f);
      auto n = number();
      if (!slice_no) return tl::unexpected(slice_no.error());
      if (!n) return tl::unexpected(n.error());
      per_slice.emplace_back(*slice_no, *n);
    }
  }
  if (!have_window || !have_first)
    return fail(errc::io_error, "unexpected data in " + detail::quotable(key, 80) +
                                    ": no 'first' or 'window' field");
  // The hash says how it was counted (the settings of the host that wrote it); one written
  // without "slice" is read with the caller's settings.
  const std::uint64_t slice = stored_slice != 0 ? stored_slice : slice_of(s);
  if (stored_slice == 0) window = window_of(window, s);
  const std::uint64_t slices =
      std::min<std::uint64_t>(window / slice + (window % slice != 0), detail::kMaxReplaySlices);
  const std::uint64_t t = now / slice;
  std::vector<std::uint64_t> counted;
  for (const auto& [n, messages] : per_slice) {
    if (n <= t && n + slices > t) {
      e.counts.messages += messages;
      counted.push_back(n);
    }
  }
  e.counts.first_seen = e.first_seen;
  return std::make_pair(std::move(e), std::move(counted));
}

void keep_top(std::vector<replay_entry>& entries, std::size_t top) {
  const auto more = [](const replay_entry& a, const replay_entry& b) {
    if (a.counts.messages != b.counts.messages) return a.counts.messages > b.counts.messages;
    if (a.counts.networks != b.counts.networks) return a.counts.networks > b.counts.networks;
    return a.key < b.key;
  };
  const std::size_t n = std::min(top, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n),
                    entries.end(), more);
  entries.resize(n);
}

}  // namespace

result<replay_listing> list_replay_signatures(const redis_replay_options& opts, std::size_t top,
                                              std::uint64_t now,
                                              std::chrono::milliseconds timeout) {
  auto address = parse_redis_address(opts.store);
  if (!address) return tl::unexpected(address.error());
  if (!opts.password.empty()) address->password = opts.password;
  if (auto ok = check(opts.settings); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_prefix(opts.prefix); !ok) return tl::unexpected(ok.error());
  const auto d = redis_deadline::after(timeout);
  auto c = redis_connection::open(*address, d);
  if (!c) return tl::unexpected(c.error());

  replay_listing out;
  std::set<std::string> seen;
  const std::string prefix_s = opts.prefix + "s:";
  auto signatures = [&](const std::vector<std::string>& keys) -> result<void> {
    auto fields = hashes(*c, keys, d);
    if (!fields) return tl::unexpected(fields.error());
    std::vector<redis_command> counts;
    std::vector<replay_entry> fresh;
    std::vector<bool> has_counts;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].substr(0, prefix_s.size()) != prefix_s)
        return fail(errc::io_error, "SCAN returned a key outside its pattern");
      if (!(*fields)[i]) {
        ++out.malformed;
        continue;
      }
      auto e = entry_of(keys[i], *(*fields)[i], prefix_s, opts.settings, now);
      if (!e) {
        ++out.malformed;
        continue;
      }
      if (!*e) continue;
      auto& [entry, slices] = **e;
      if (!slices.empty()) {
        redis_command n = {"PFCOUNT"}, r = {"PFCOUNT"};
        for (auto t : slices) {
          n.push_back(opts.prefix + "n:" + entry.key + ":" + std::to_string(t));
          r.push_back(opts.prefix + "r:" + entry.key + ":" + std::to_string(t));
        }
        counts.push_back(std::move(n));
        counts.push_back(std::move(r));
      }
      has_counts.push_back(!slices.empty());
      fresh.push_back(std::move(entry));
    }
    std::vector<bool> bad(fresh.size(), false);
    if (!counts.empty()) {
      auto replies = c->exchange(counts, d, kMaxListReply);
      if (!replies) return tl::unexpected(replies.error());
      std::size_t next = 0;
      for (std::size_t i = 0; i < fresh.size(); ++i) {
        if (!has_counts[i]) continue;
        replay_entry& e = fresh[i];
        const redisReply& nr = *(*replies)[next++];
        const redisReply& rr = *(*replies)[next++];
        // An n: or r: key that is not a HyperLogLog (WRONGTYPE): that signature is skipped.
        if (detail::is_error(nr) || detail::is_error(rr)) {
          bad[i] = true;
          continue;
        }
        auto n = count_of(nr, "PFCOUNT");
        auto r = count_of(rr, "PFCOUNT");
        if (!n) return tl::unexpected(n.error());
        if (!r) return tl::unexpected(r.error());
        e.counts.networks = *n;
        e.counts.recipients = *r;
      }
    }
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      if (bad[i]) {
        ++out.malformed;
        continue;
      }
      ++out.tracked;
      out.top.push_back(std::move(fresh[i]));
    }
    if (out.top.size() > 2 * top + 1000) keep_top(out.top, top);
    return {};
  };
  if (auto ok = scan(*c, glob_prefix(prefix_s), d, seen, signatures); !ok)
    return tl::unexpected(ok.error());
  keep_top(out.top, top);

  const std::string prefix_host = opts.prefix + "host:";
  auto hosts = [&](const std::vector<std::string>& keys) -> result<void> {
    auto fields = hashes(*c, keys, d);
    if (!fields) return tl::unexpected(fields.error());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].substr(0, prefix_host.size()) != prefix_host)
        return fail(errc::io_error, "SCAN returned a key outside its pattern");
      if (!(*fields)[i]) {
        ++out.malformed;
        continue;
      }
      if ((*fields)[i]->empty()) continue;
      replay_store_stats st;
      bool ok = true;
      for (const auto& [f, v] : *(*fields)[i]) {
        auto n = number_field(v, keys[i], f);
        if (!n) {
          ok = false;
          break;
        }
        if (f == "counted") st.counted = *n;
        if (f == "uncounted") st.uncounted = *n;
        if (f == "suspected") st.suspected = *n;
      }
      if (!ok) {
        ++out.malformed;
        continue;
      }
      out.hosts.emplace_back(keys[i].substr(prefix_host.size()), st);
    }
    return {};
  };
  if (auto ok = scan(*c, glob_prefix(prefix_host), d, seen, hosts); !ok)
    return tl::unexpected(ok.error());
  std::sort(out.hosts.begin(), out.hosts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace dkimkit
