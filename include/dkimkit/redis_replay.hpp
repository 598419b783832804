// dkimkit/redis_replay.hpp: replay counts (dkimkit/replay.hpp) kept in Redis through hiredis,
// shared by every host that counts into the same server: library dkimkit::redis (dkimkit_redis).
//
//   auto store = dkimkit::redis_replay_store::create({.store = "redis://127.0.0.1:6379/0"});
//   if (!store) die(store.error().message());
//   auto counts = (*store)->record(message, std::chrono::milliseconds(50));
//
// One round trip per message: a server-side Lua script (EVALSHA) adds the message to the
// counters of all its signatures and returns their counts. Every key expires on its own.
// Key layout, under `prefix` (default "dkimkit:replay:"), K a replay_key(), T a slice number
// (Unix seconds / slice length):
//   PREFIX "s:" K              hash: d, s, first (Unix s), last, flagged (0/1), window (s),
//                              slice (s, the slice length of its T), and one field "m:" T per
//                              slice: messages in that slice
//   PREFIX "n:" K ":" T        HyperLogLog of the client networks in slice T
//   PREFIX "r:" K ":" T        HyperLogLog of the recipient hashes in slice T
//   PREFIX "key"               the fleet's recipient-hash key (random, made by the first host)
//   PREFIX "host:" NAME        hash: counted, uncounted, suspected (per host, pushed with each
//                              round trip)
// A failure (server down or silent, an answer of the wrong shape) drops that connection and
// leaves the message uncounted; three such failures in a row (no message counted between) make
// the store "down", so that one slow answer, or a server whose latency sits near the budget, does
// not. A failure counts only when its request got its connection after the last counted one:
// the requests in flight during one pause of the server are one failure, not one each. Down, it
// tries again after a back-off (doubling from min_backoff to max_backoff); while down, record()
// answers an error at once, without waiting. When it goes down again less than
// 2 x max_backoff after coming up (a minute with the defaults), the back-off goes on from where
// it was instead of starting at min_backoff again. on_state_change is called once per change
// (up -> down, down -> up), never per message; a request that began before the last change (an
// outage or a recovery) no longer changes the state, nor counts towards one, when it ends.
// A budget spent before the server was asked (waiting for a free connection, or a budget of 0)
// leaves the message uncounted and is not counted against the server; nor is a timeout when the
// request had its connection for less than half its budget, or less than 10 ms (too little to
// tell a slow server from a silent one: with budgets that short, a silent server costs each
// message its budget). A pooled connection idle for a second or more is checked before it is
// used: one the server has closed meanwhile (its `timeout` setting, a restart) is dropped, and
// counts for nothing.
// A TCP host given as a name is resolved once, by create() (getaddrinfo, which may block); when
// that fails, hiredis resolves the name at each connect, unbounded by the budget. Prefer an
// address or a unix socket.
// Each host's clock decides the slice a message counts in: the hosts sharing a server must keep
// the same time (NTP); a host whose clock is off counts into other slices than the rest.
// All members are safe to call from several threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/replay.hpp>

namespace dkimkit {

// Where the server is: "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" (HOST a name, an IPv4
// address or [IPv6]; PORT 6379 by default; DB 0), or "unix:/PATH[?db=N]". "rediss://" (TLS) is
// refused: Debian 12's hiredis (0.14) has no TLS.
struct redis_address {
  std::string host;  // empty for a unix socket
  int port = 6379;
  std::string unix_path;  // empty for TCP
  int db = 0;
  std::string user;      // empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
};
[[nodiscard]] result<redis_address> parse_redis_address(std::string_view store);

struct redis_replay_options {
  std::string store = "redis://127.0.0.1:6379/0";
  std::string password;  // when set, replaces the address's
  std::string prefix = "dkimkit:replay:";
  replay_settings settings;  // window, slices and thresholds (for the stored `flagged`)
  std::string host_name;     // this host in PREFIX "host:" NAME; empty: gethostname()
  std::size_t connections = 16;  // at most this many at once; record() waits for a free one
                                // within its budget
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{30000};
  // Called (from the thread of the record() that saw it) with `up` and, for a change to down, why
  // ("connection refused", "timeout after 50 ms", "unexpected reply: ..."), one change at a time
  // in order. It must not call record() (a later change would wait for it) and should not throw:
  // an exception propagates out of that record() (the store's state is consistent).
  std::function<void(bool up, const std::string& why)> on_state_change;
};

struct replay_store_stats {
  std::uint64_t counted = 0;    // messages counted
  std::uint64_t uncounted = 0;  // messages that went on uncounted (down, budget spent, errors)
  std::uint64_t suspected = 0;  // suspected signatures seen
  bool up = true;
};

class redis_replay_store final : public replay_store {
 public:
  // Checks the options (parse_redis_address, check(settings)); does not connect: the first
  // record() does, so that a server down at start loses no mail.
  [[nodiscard]] static result<std::unique_ptr<redis_replay_store>> create(
      redis_replay_options opts);
  ~redis_replay_store() override;
  redis_replay_store(const redis_replay_store&) = delete;
  redis_replay_store& operator=(const redis_replay_store&) = delete;

  [[nodiscard]] result<std::vector<replay_counts>> record(
      const replay_message& m, std::chrono::milliseconds budget) override;
  [[nodiscard]] replay_store_stats stats() const;

 private:
  struct impl;
  explicit redis_replay_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// One tracked signature, for operators (dkimkit replay-stats).
struct replay_entry {
  std::string key;  // replay_key()
  std::string sdid;
  std::string selector;
  std::uint64_t first_seen = 0;
  std::uint64_t last_seen = 0;
  replay_counts counts;  // over the signature's window, at `now`
  bool flagged = false;  // suspected when last counted
};

struct replay_listing {
  std::vector<replay_entry> top;       // by messages, then networks, most first
  std::size_t tracked = 0;             // signatures tracked in all
  // Keys skipped because their data is not what the store writes (not a hash, a hash missing
  // "first" or "window" or with a field that is not a number, a "slice" of 0, an n: or r: key
  // that is not a HyperLogLog, a host hash with a non-number). Errors talking to the server
  // still fail the listing.
  std::size_t malformed = 0;
  std::vector<std::pair<std::string, replay_store_stats>> hosts;  // per host, by name
};

// The `top` signatures seen most, read with SCAN (never KEYS), bounded by `timeout` in all. Each
// signature's counts use the window and slice length stored with it (by whichever settings
// counted it); opts.settings give the slice length only for hashes written without one (by
// dkimkit before the "slice" field).
[[nodiscard]] result<replay_listing> list_replay_signatures(const redis_replay_options& opts,
                                                            std::size_t top, std::uint64_t now,
                                                            std::chrono::milliseconds timeout);

}  // namespace dkimkit
