// parse_redis_address (dkimkit/redis_replay.hpp): redis:// URLs and unix: socket paths, strictly.
#include <algorithm>
#include <arpa/inet.h>
#include <sys/un.h>

#include <dkimkit/redis_replay.hpp>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

constexpr std::size_t kMaxAddress = 1024;
constexpr std::size_t kMaxDbDigits = 9;

auto bad(std::string_view what) {
  return fail(errc::invalid_argument, "Redis store address: " + std::string(what));
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding of the user or the password; "%" without two hex digits is refused.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

result<int> parse_db(std::string_view digits) {
  if (digits.empty()) return bad("empty database number");
  const auto n = detail::parse_decimal(digits, kMaxDbDigits);
  if (!n) return bad("database number '" + detail::quotable(digits) + "' is not a number");
  return static_cast<int>(*n);
}

bool is_host_name(std::string_view h) noexcept {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    if (!(detail::is_alpha(c) || detail::is_digit(c) || c == '-' || c == '.' || c == '_'))
      return false;
  }
  return true;
}

result<redis_address> parse_unix(std::string_view rest) {
  redis_address a;
  std::string_view path = rest;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    const std::string_view query = rest.substr(q + 1);
    if (query.substr(0, 3) != "db=")
      return bad("unix socket: the only parameter is db=N");  // the rest may hold a secret
    auto db = parse_db(query.substr(3));
    if (!db) return tl::unexpected(db.error());
    a.db = *db;
  }
  if (path.empty() || path.front() != '/') return bad("unix socket path must be absolute");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return bad("unix socket path longer than " +
               std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  a.unix_path = std::string(path);
  a.port = 0;
  return a;
}

result<redis_address> parse_tcp(std::string_view rest) {
  redis_address a;
  // The user information ends at the last '@' (a password may hold '@', percent-encoded or not).
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return bad(
          "user information without ':' (write redis://:PASSWORD@HOST or "
          "redis://USER:PASSWORD@HOST)");
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return bad("bad percent-encoding in the user information");
    if (password->empty()) return bad("empty password");
    a.user = std::move(*user);
    a.password = std::move(*password);
  }
  std::string_view host_port = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    host_port = rest.substr(0, slash);
    auto db = parse_db(rest.substr(slash + 1));
    if (!db) return tl::unexpected(db.error());
    a.db = *db;
  }
  std::string_view port;
  bool has_port = false;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) return bad("'[' without ']' around an IPv6 address");
    a.host = std::string(host_port.substr(1, close - 1));
    in6_addr v6{};
    if (inet_pton(AF_INET6, a.host.c_str(), &v6) != 1)
      return bad("'" + detail::quotable(a.host) + "' is not an IPv6 address");
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ']'");
      has_port = true;
      port = after.substr(1);
    }
  } else {
    const auto colon = host_port.find(':');
    a.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port = host_port.substr(colon + 1);
    }
    if (a.host.empty()) return bad("no host");
    if (!is_host_name(a.host))
      return bad("'" + detail::quotable(a.host) +
                 "' is not a host name or IPv4 address "
                 "(an IPv6 address goes in [])");
  }
  if (has_port) {
    const auto p = detail::parse_decimal(port, 5);
    if (!p || *p == 0 || *p > 65535)
      // Not quoted: "redis://host:PASSWORD" (the "@" forgotten) puts a password here.
      return bad("the port is not a number 1..65535 (a password goes in redis://:PASSWORD@HOST)");
    a.port = static_cast<int>(*p);
  }
  return a;
}

}  // namespace

result<redis_address> parse_redis_address(std::string_view store) {
  if (store.size() > kMaxAddress)
    return bad("longer than " + std::to_string(kMaxAddress) + " characters");
  for (char c : store) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("white space, a control or 8-bit character");
  }
  constexpr std::string_view redis = "redis://", rediss = "rediss://", unix_scheme = "unix:";
  if (store.substr(0, rediss.size()) == rediss)
    return fail(errc::unsupported,
                "Redis store address: rediss:// (TLS) is not supported: Debian 12's hiredis "
                "0.14 has no TLS; use a unix: socket or redis:// on a trusted network");
  if (store.substr(0, redis.size()) == redis) return parse_tcp(store.substr(redis.size()));
  if (store.substr(0, unix_scheme.size()) == unix_scheme)
    return parse_unix(store.substr(unix_scheme.size()));
  // Only a scheme (letters before ':') is quoted: the rest may hold a password
  // ("Redis://:PASSWORD@HOST"), and so may text without one.
  const std::string_view scheme = store.substr(0, store.find(':'));
  const bool letters = !scheme.empty() && scheme.size() < store.size() && scheme.size() <= 8 &&
                       std::all_of(scheme.begin(), scheme.end(), detail::is_alpha);
  return bad((letters ? "scheme '" + std::string(scheme) + ":': " : std::string()) +
             "not redis://HOST[:PORT][/DB] nor unix:/PATH[?db=N]");
}

}  // namespace dkimkit
