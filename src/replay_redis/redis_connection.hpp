// One hiredis connection whose every exchange ends by a deadline, and strict checks of the
// replies. Internal to dkimkit_redis.
#pragma once

#include <chrono>
#include <cstddef>
#include <dkimkit/error.hpp>
#include <dkimkit/redis_replay.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace dkimkit::detail {

using steady_clock = std::chrono::steady_clock;

// When an operation must be over, and the budget it came from (for "timeout after N ms").
struct redis_deadline {
  steady_clock::time_point at;
  std::chrono::milliseconds budget;
  static redis_deadline after(std::chrono::milliseconds budget) {
    return {steady_clock::now() + budget, budget};
  }
};

struct redis_context_deleter {
  void operator()(redisContext* c) const noexcept;
};
struct redis_reply_deleter {
  void operator()(redisReply* r) const noexcept;
};
using redis_reply_ptr = std::unique_ptr<redisReply, redis_reply_deleter>;
using redis_command = std::vector<std::string>;

class redis_connection {
 public:
  // Connects (TCP or unix socket), then AUTH when there is a password and SELECT when db is not
  // 0, all before the deadline. errc::io_error with the reason ("connection refused", "timeout
  // after 50 ms", "unexpected reply to AUTH: ..."). A TCP host should be an address (see
  // resolve_redis_host): a name is resolved by hiredis, with no bound on the time it takes.
  [[nodiscard]] static result<redis_connection> open(const redis_address& a,
                                                     const redis_deadline& d);
  // Sends the commands in one write (pipelined) and reads one reply for each before the
  // deadline. A reply the server is still sending past max_reply_bytes, or replies with more
  // than 2^20 array elements in all, are an error. After an error the connection is unusable
  // (the caller drops it) unless sent_nothing(). Error replies are replies: the caller checks
  // them.
  [[nodiscard]] result<std::vector<redis_reply_ptr>> exchange(
      const std::vector<redis_command>& commands, const redis_deadline& d,
      std::size_t max_reply_bytes = std::size_t{1} << 20);
  // After an exchange() error: nothing of it was written (the deadline passed first), so the
  // connection is as before and can be used again.
  [[nodiscard]] bool sent_nothing() const noexcept { return sent_nothing_; }
  // Between exchanges: whether the server has closed the connection (or reset it), seen without
  // waiting (poll). Between exchanges a RESP2 server without pub/sub sends nothing: anything
  // readable is its end of the connection.
  [[nodiscard]] bool closed_by_server() const noexcept;

 private:
  explicit redis_connection(redisContext* c) : ctx_(c) {}
  bool sent_nothing_ = false;
  std::unique_ptr<redisContext, redis_context_deleter> ctx_;
};

// A host name resolved once (getaddrinfo, IPv4 addresses first as hiredis does) to a numeric
// address; the name itself when it is an address already or does not resolve (hiredis then
// resolves it at each connect, unbounded by any deadline).
[[nodiscard]] std::string resolve_redis_host(const std::string& host);
// A "timeout after N ms" error.
[[nodiscard]] bool is_timeout(const error& e) noexcept;

// A reply in a few words for an error: "integer 5", "error 'NOSCRIPT No matching script'",
// "bulk string of 12 bytes", "array of 3", "nil", "status 'QUEUED'".
[[nodiscard]] std::string describe(const redisReply& r);
// "unexpected reply to WHAT: <describe>"
[[nodiscard]] error unexpected_reply(std::string_view what, const redisReply& r);

[[nodiscard]] bool is_status(const redisReply& r, std::string_view text) noexcept;
[[nodiscard]] bool is_error(const redisReply& r) noexcept;
[[nodiscard]] bool is_nil(const redisReply& r) noexcept;
[[nodiscard]] bool is_integer(const redisReply& r) noexcept;
[[nodiscard]] bool is_string(const redisReply& r) noexcept;  // a bulk string
[[nodiscard]] bool is_array(const redisReply& r) noexcept;
[[nodiscard]] std::string_view string_of(const redisReply& r) noexcept;  // bulk, status, error
[[nodiscard]] long long integer_of(const redisReply& r) noexcept;
[[nodiscard]] std::size_t size_of(const redisReply& r) noexcept;  // array elements
[[nodiscard]] const redisReply& element(const redisReply& r, std::size_t i) noexcept;

}  // namespace dkimkit::detail
