#include "replay_redis/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "util/strings.hpp"

namespace dkimkit::detail {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

auto timed_out(const redis_deadline& d) {
  return fail(errc::io_error, "timeout after " + std::to_string(d.budget.count()) + " ms");
}

// The time left, at least 1 ms (hiredis treats a zero timeout as none); nullopt when none is.
std::optional<timeval> left(const redis_deadline& d) {
  const auto now = steady_clock::now();
  if (now >= d.at) return std::nullopt;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d.at - now).count();
  if (us < 1000) us = 1000;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  return tv;
}

// Waits until fd is ready for `events` or the deadline passes (false).
bool wait_for(int fd, short events, const redis_deadline& d) {
  for (;;) {
    const auto now = steady_clock::now();
    if (now >= d.at) return false;
    auto ms = duration_cast<milliseconds>(d.at - now).count() + 1;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // the read or write that follows reports it
  }
}

// hiredis 0.14 has no limit on the elements of an array reply: "*2000000000" would have it
// allocate 16 GB of pointers, and many small nested arrays build a reply tree far larger than
// the unparsed bytes max_reply_bytes bounds. Its reply functions, with createArray refusing a
// large array, and any array past kMaxArrayElements elements in all in one exchange (counted
// per thread: an exchange runs on one thread). The reader then reports an error and the
// exchange says why.
constexpr long long kMaxArrayElements = 1 << 20;
const redisReplyObjectFunctions* hiredis_functions = nullptr;
thread_local long long refused_array = -1;
thread_local long long exchange_elements = 0;  // array elements made in this exchange
thread_local bool refused_total = false;

void* bounded_array(const redisReadTask* task, int elements) {
  if (elements > kMaxArrayElements) {
    refused_array = elements;
    return nullptr;
  }
  if (elements > 0 && exchange_elements + elements > kMaxArrayElements) {
    refused_total = true;
    return nullptr;
  }
  if (elements > 0) exchange_elements += elements;
  return hiredis_functions->createArray(task, elements);
}

redisReplyObjectFunctions* bounded_functions(const redisReplyObjectFunctions* hiredis) {
  static redisReplyObjectFunctions bounded = [&] {
    hiredis_functions = hiredis;
    redisReplyObjectFunctions f = *hiredis;
    f.createArray = bounded_array;
    return f;
  }();
  return &bounded;
}

std::string lower_reason(const char* s) {
  std::string r = lowercase(s);
  return r.empty() ? "connection error" : r;
}

}  // namespace

void redis_context_deleter::operator()(redisContext* c) const noexcept { redisFree(c); }
void redis_reply_deleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

result<redis_connection> redis_connection::open(const redis_address& a, const redis_deadline& d) {
  const auto tv = left(d);
  if (!tv) return timed_out(d);
  redisContext* raw = a.unix_path.empty() ? redisConnectWithTimeout(a.host.c_str(), a.port, *tv)
                                          : redisConnectUnixWithTimeout(a.unix_path.c_str(), *tv);
  if (raw == nullptr) return fail(errc::io_error, "cannot allocate a hiredis context");
  redis_connection c(raw);
  if (raw->reader != nullptr && raw->reader->fn != nullptr)
    raw->reader->fn = bounded_functions(raw->reader->fn);
  if (raw->err != 0) {
    // hiredis says "Connection timed out" for its own connect timeout.
    if (raw->err == REDIS_ERR_IO && std::strstr(raw->errstr, "timed out") != nullptr)
      return timed_out(d);
    return fail(errc::io_error, lower_reason(raw->errstr));
  }
  // Non-blocking from here on: exchange() writes at once and waits (poll) only when the socket
  // is not ready, with no socket timeouts to set before each write and read.
  if (const int fl = fcntl(raw->fd, F_GETFL); fl < 0 || fcntl(raw->fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return fail(errc::io_error, std::string("cannot make the socket non-blocking: ") +
                                    std::strerror(errno));
  raw->flags &= ~REDIS_BLOCK;
  std::vector<redis_command> setup;
  if (!a.password.empty()) {
    if (a.user.empty()) {
      setup.push_back({"AUTH", a.password});
    } else {
      setup.push_back({"AUTH", a.user, a.password});
    }
  }
  if (a.db != 0) setup.push_back({"SELECT", std::to_string(a.db)});
  if (setup.empty()) return c;
  auto replies = c.exchange(setup, d, 4096);
  if (!replies) return tl::unexpected(replies.error());
  for (std::size_t i = 0; i < setup.size(); ++i) {
    const redisReply& r = *(*replies)[i];
    if (!is_status(r, "OK")) {
      auto e = unexpected_reply(setup[i][0], r);
      return tl::unexpected(e);
    }
  }
  return c;
}

result<std::vector<redis_reply_ptr>> redis_connection::exchange(
    const std::vector<redis_command>& commands, const redis_deadline& d,
    std::size_t max_reply_bytes) {
  redisContext* c = ctx_.get();
  assert(c != nullptr);
  sent_nothing_ = true;
  // Out of time before anything is written: the connection stays as it was (usable).
  if (!left(d)) return timed_out(d);
  for (const auto& cmd : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(cmd.size());
    lens.reserve(cmd.size());
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      sent_nothing_ = false;  // the commands before it are queued: the connection is dropped
      return fail(errc::io_error, "cannot format a command: " + lower_reason(c->errstr));
    }
  }
  // The socket is non-blocking: write what it takes at once, and wait for it to take more only
  // when it did not take all.
  int done = 0;
  for (bool first = true; done == 0; first = false) {
    if (!first && !wait_for(c->fd, POLLOUT, d)) {
      // Unsent: the next exchange must not send it. sdsclear() by hand (sds.h declares it
      // without C linkage).
      if (sent_nothing_) {
        sdssetlen(c->obuf, 0);
        c->obuf[0] = '\0';
      }
      return timed_out(d);
    }
    const std::size_t pending = sdslen(c->obuf);
    if (redisBufferWrite(c, &done) != REDIS_OK) {
      sent_nothing_ = false;  // maybe part of it: the connection is dropped
      return fail(errc::io_error, lower_reason(c->errstr));
    }
    if (sdslen(c->obuf) != pending || done != 0) sent_nothing_ = false;
  }
  std::vector<redis_reply_ptr> replies;
  replies.reserve(commands.size());
  exchange_elements = 0;
  while (replies.size() < commands.size()) {
    void* reply = nullptr;
    refused_array = -1;
    refused_total = false;
    if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
      if (refused_array >= 0)
        return fail(errc::io_error,
                    "unexpected reply: an array of " + std::to_string(refused_array) + " elements");
      if (refused_total)
        return fail(errc::io_error, "unexpected reply: more than " +
                                        std::to_string(kMaxArrayElements) +
                                        " array elements in all");
      return fail(errc::io_error, "unexpected reply: " + lower_reason(c->errstr));
    }
    if (reply != nullptr) {
      replies.emplace_back(static_cast<redisReply*>(reply));
      continue;
    }
    if (c->reader->len > max_reply_bytes)
      return fail(errc::io_error,
                  "unexpected reply: larger than " + std::to_string(max_reply_bytes) + " bytes");
    if (!wait_for(c->fd, POLLIN, d)) return timed_out(d);
    if (redisBufferRead(c) != REDIS_OK) {  // nothing read yet (EAGAIN) is not an error here
      if (c->err == REDIS_ERR_EOF) return fail(errc::io_error, "connection closed by the server");
      return fail(errc::io_error, lower_reason(c->errstr));
    }
  }
  return replies;
}

bool redis_connection::closed_by_server() const noexcept {
  pollfd p{ctx_->fd, POLLIN, 0};
  int n = 0;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n != 0;  // readable, hung up, in error, or poll itself failed
}

std::string resolve_redis_host(const std::string& host) {
  for (const int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) continue;
    char numeric[NI_MAXHOST] = {};
    const int rc = getnameinfo(found->ai_addr, found->ai_addrlen, numeric, sizeof numeric,
                               nullptr, 0, NI_NUMERICHOST);
    freeaddrinfo(found);
    if (rc == 0 && numeric[0] != '\0') return numeric;
  }
  return host;
}

bool is_timeout(const error& e) noexcept { return e.detail.rfind("timeout after ", 0) == 0; }

std::string describe(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return "integer " + std::to_string(r.integer);
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STRING:
      return "bulk string of " + std::to_string(r.len) + " bytes";
    case REDIS_REPLY_ARRAY:
      return "array of " + std::to_string(r.elements);
    case REDIS_REPLY_STATUS:
      return "status '" + quotable(string_of(r), 60) + "'";
    case REDIS_REPLY_ERROR:
      return "error '" + quotable(string_of(r), 60) + "'";
    default:
      return "reply of type " + std::to_string(r.type);
  }
}

error unexpected_reply(std::string_view what, const redisReply& r) {
  return error{errc::io_error, "unexpected reply to " + std::string(what) + ": " + describe(r)};
}

bool is_status(const redisReply& r, std::string_view text) noexcept {
  return r.type == REDIS_REPLY_STATUS && string_of(r) == text;
}
bool is_error(const redisReply& r) noexcept { return r.type == REDIS_REPLY_ERROR; }
bool is_nil(const redisReply& r) noexcept { return r.type == REDIS_REPLY_NIL; }
bool is_integer(const redisReply& r) noexcept { return r.type == REDIS_REPLY_INTEGER; }
bool is_string(const redisReply& r) noexcept { return r.type == REDIS_REPLY_STRING; }
bool is_array(const redisReply& r) noexcept { return r.type == REDIS_REPLY_ARRAY; }
std::string_view string_of(const redisReply& r) noexcept {
  if (r.str == nullptr) return {};
  return {r.str, r.len};
}
long long integer_of(const redisReply& r) noexcept { return r.integer; }
std::size_t size_of(const redisReply& r) noexcept {
  return r.type == REDIS_REPLY_ARRAY ? r.elements : 0;
}
const redisReply& element(const redisReply& r, std::size_t i) noexcept {
  assert(r.type == REDIS_REPLY_ARRAY && i < r.elements);
  return *r.element[i];
}

}  // namespace dkimkit::detail
