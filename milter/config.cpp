#include "config.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <dkimkit/limits.hpp>
#include <dkimkit/redis_replay.hpp>
#include <fstream>

namespace dkimkit::milter {
namespace {

// "FILE:LINE: problem" for a node, or "FILE: problem" when the node has no position.
struct problems {
  std::string file;
  template <class Node>
  error at(const Node& node, const std::string& what) const {
    auto line = node.source().begin.line;
    return error{errc::invalid_argument,
                 line ? file + ":" + std::to_string(line) + ": " + what : file + ": " + what};
  }
  error plain(const std::string& what) const {
    return error{errc::invalid_argument, file + ": " + what};
  }
};

result<std::string> get_string(const problems& p, const toml::node& n, std::string_view name) {
  if (auto v = n.value<std::string>()) return *v;
  return tl::unexpected(p.at(n, std::string(name) + " must be a string"));
}

result<action> get_action(const problems& p, const toml::node& n, std::string_view name,
                          std::initializer_list<action> allowed) {
  auto s = get_string(p, n, name);
  if (!s) return tl::unexpected(s.error());
  action a;
  if (*s == "accept")
    a = action::accept;
  else if (*s == "tempfail")
    a = action::tempfail;
  else if (*s == "reject")
    a = action::reject;
  else
    return tl::unexpected(p.at(n, std::string(name) + ": unknown action '" + *s + "'"));
  for (action ok : allowed)
    if (ok == a) return a;
  return tl::unexpected(p.at(n, std::string(name) + " cannot be '" + *s + "'"));
}

result<std::vector<std::string>> get_strings(const problems& p, const toml::node& n,
                                             std::string_view name) {
  const auto* arr = n.as_array();
  if (!arr) return tl::unexpected(p.at(n, std::string(name) + " must be an array of strings"));
  std::vector<std::string> out;
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) return tl::unexpected(p.at(e, std::string(name) + " must hold strings only"));
    out.push_back(*s);
  }
  return out;
}

// A host list (OpenDKIM's rules): an array of entries, or a file named as "/path" or "file:/path".
result<host_set> get_host_set(const problems& p, const toml::node& n, std::string_view name) {
  const std::string what(name);
  if (n.is_string()) {
    std::string v = *n.value<std::string>();
    auto ds = opendkim::parse_data_set(v);
    if (ds && ds->type == opendkim::data_set::type::csl)
      return tl::unexpected(
          p.at(n, what + " must be a list of hosts or a file (\"/path\" or \"file:/path\")"));
    auto hosts = load_host_set(v);
    if (!hosts) return tl::unexpected(p.at(n, what + ": " + hosts.error().detail));
    return hosts;
  }
  auto list = get_strings(p, n, name);
  if (!list) return tl::unexpected(list.error());
  auto hosts = load_host_set(*list);
  if (!hosts) return tl::unexpected(p.at(n, what + ": " + hosts.error().detail));
  return hosts;
}

// toml++'s value<T>() converts between booleans, integers and whole floats (`seal = 1` would be
// true, `timeout_ms = true` 1 ms, `buckets = 2.0` 2), so the node's own type is checked first.
result<bool> get_bool(const problems& p, const toml::node& n, std::string_view name) {
  if (n.is_boolean()) return *n.value<bool>();
  return tl::unexpected(p.at(n, std::string(name) + " must be true or false"));
}

// The node's integer; nullopt for any other type (a boolean or a whole float included).
std::optional<std::int64_t> integer_of(const toml::node& n) {
  return n.is_integer() ? n.value<std::int64_t>() : std::nullopt;
}

result<std::int64_t> get_number(const problems& p, const toml::node& n, std::string_view name,
                                std::int64_t lo, std::int64_t hi) {
  auto v = integer_of(n);
  if (!v || *v < lo || *v > hi)
    return tl::unexpected(p.at(n, std::string(name) + " must be between " + std::to_string(lo) +
                                      " and " + std::to_string(hi)));
  return *v;
}

// Every key of `t` must be a setting of the table `where` (known_settings()): a misspelt setting
// is an error, not a silent default. `shown`, when given, names the table in the message instead.
result<void> only_known(const problems& p, const toml::table& t, std::string_view where,
                        std::string_view shown = {}) {
  const std::vector<std::string_view>* known = nullptr;
  for (const auto& [table, names] : known_settings())
    if (table == where) known = &names;
  assert(known);
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto name : *known) ok = ok || k.str() == name;
    if (!ok)
      return tl::unexpected(p.at(v, "unknown setting '" + std::string(k.str()) + "'" +
                                        (!shown.empty()  ? " in " + std::string(shown)
                                         : where.empty() ? ""
                                                         : " in [" + std::string(where) + "]")));
  }
  return {};
}

// The table `name` of the file, checked by only_known(); an empty table when the file has none.
result<const toml::table*> section(const problems& p, const toml::table& file,
                                   std::string_view name) {
  static const toml::table none;
  const toml::node* n = file.get(name);
  if (!n) return &none;
  const auto* t = n->as_table();
  if (!t) return tl::unexpected(p.at(*n, "[" + std::string(name) + "] must be a table"));
  if (auto ok = only_known(p, *t, name); !ok) return tl::unexpected(ok.error());
  return t;
}

// The settings of dkimkit::verify_limits() in table `name` (see dkimkit/limits.hpp).
std::vector<std::string_view> limit_keys(std::string_view name) {
  std::vector<std::string_view> keys;
  for (const auto& l : verify_limits())
    if (l.table == name) keys.push_back(l.key);
  return keys;
}

// Unix seconds up to 9999-12-31T23:59:59Z.
constexpr std::int64_t kMaxUnixTime = 253402300799;

// not_before / not_after: a TOML offset date-time (2027-01-15T00:00:00Z, 2027-01-15T02:00:00+02:00)
// or Unix seconds. A local date-time, date or time (no offset) is refused: which zone is meant?
result<std::uint64_t> get_time(const problems& p, const toml::node& n, std::string_view name) {
  const std::string what(name);
  if (auto v = integer_of(n)) {
    if (*v < 0 || *v > kMaxUnixTime)
      return tl::unexpected(p.at(
          n, what + " must be between 0 and " + std::to_string(kMaxUnixTime) + " (Unix seconds)"));
    return static_cast<std::uint64_t>(*v);
  }
  const auto* dt = n.as_date_time();
  if (!dt) {
    if (n.is_date() || n.is_time())
      return tl::unexpected(
          p.at(n, what + " must be a date and time with an offset, such as 2027-01-15T00:00:00Z"));
    return tl::unexpected(p.at(n, what +
                                      " must be a date-time with an offset (2027-01-15T00:00:00Z) "
                                      "or Unix seconds"));
  }
  const toml::date_time& t = dt->get();
  if (!t.offset)
    return tl::unexpected(p.at(n, what + " has no offset, which is ambiguous: add Z (UTC) or "
                                         "an offset such as +02:00"));
  namespace ch = std::chrono;
  ch::year_month_day ymd{ch::year{t.date.year}, ch::month{t.date.month}, ch::day{t.date.day}};
  std::int64_t days = ymd.ok() ? ch::sys_days{ymd}.time_since_epoch().count() : -1;
  std::int64_t secs = days * 86400 + t.time.hour * 3600 + t.time.minute * 60 + t.time.second -
                      std::int64_t{t.offset->minutes} * 60;
  if (days < 0 || secs < 0 || secs > kMaxUnixTime)
    return tl::unexpected(p.at(n, what + " must be from 1970 to 9999"));
  return static_cast<std::uint64_t>(secs);
}

}  // namespace

std::string_view to_string(ar_removal r) noexcept {
  return r == ar_removal::all ? "all" : r == ar_removal::dkim ? "dkim" : "any_result";
}

std::optional<ar_removal> parse_ar_removal(std::string_view s) noexcept {
  for (auto r : {ar_removal::all, ar_removal::dkim, ar_removal::any_result})
    if (s == to_string(r)) return r;
  return std::nullopt;
}

const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& known_settings() {
  auto with = [](std::vector<std::string_view> keys, std::initializer_list<std::string_view> more) {
    keys.insert(keys.end(), more);
    return keys;
  };
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> tables = {
      {"",
       {"authserv_id", "authserv_id_from_mta", "mode", "socket", "socket_mode", "socket_group",
        "peers", "pid_file", "user", "group", "sign", "dns", "limits", "policy", "skip_hosts",
        "arc", "replay"}},
      {"sign",
       {"internal_networks", "sign_authenticated", "canonicalization", "headers", "expire", "keys",
        "require_safe_keys", "key_table", "signing_table", "multiple_signatures", "sign_headers",
        "omit_headers", "oversign_headers", "sender_headers", "sender_mailbox", "subdomains",
        "internal_hosts", "daemon_names", "macros"}},
      {"sign.keys", {"domain", "selector", "key_file", "algorithm", "not_before", "not_after"}},
      {"dns", with(limit_keys("dns"), {"resolvers", "timeout_ms", "trust_anchor"})},
      {"limits", with(limit_keys("limits"), {"max_forged_auth_results"})},
      {"policy",
       {"on_no_pass", "on_dns_error", "on_internal_error", "on_forged_auth_results", "require",
        "remove_auth_results", "add_auth_results"}},
      {"policy.require", {"from_domain", "signed_by"}},
      {"arc", {"verify", "trusted_sealers", "seal", "seal_keys", "max_seal_bytes"}},
      {"replay",
       {"store", "password", "password_file", "window", "buckets", "networks", "messages",
        "recipients", "trusted_domains", "on_replay", "budget_ms", "connections", "host_name"}},
  };
  return tables;
}

std::optional<network> parse_network(std::string_view cidr) {
  network n;
  std::string s(cidr);
  std::size_t slash = s.find('/');
  std::string addr = s.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), n.addr) == 1) {
    n.family = AF_INET;
    n.prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), n.addr) == 1) {
    n.family = AF_INET6;
    n.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    std::string bits = s.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        bits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    unsigned b = static_cast<unsigned>(std::stoul(bits));
    if (b > n.prefix) return std::nullopt;
    n.prefix = b;
  }
  return n;
}

bool in_networks(const std::vector<network>& nets, int family, const unsigned char* addr) {
  unsigned char mapped[16];
  for (const auto& n : nets) {
    const unsigned char* a = addr;
    if (n.family == AF_INET && family == AF_INET6) {
      // ::ffff:a.b.c.d counts as a.b.c.d
      static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(addr, prefix, 12) != 0) continue;
      std::memcpy(mapped, addr + 12, 4);
      a = mapped;
    } else if (n.family != family) {
      continue;
    }
    unsigned full = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(a, n.addr, full) != 0) continue;
    if (rest != 0) {
      auto mask = static_cast<unsigned char>(0xff << (8 - rest));
      if ((a[full] & mask) != (n.addr[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

service_ids service_ids_of(const config& c) noexcept {
  if (!c.user.empty()) return {c.uid, c.gid};
  return {::geteuid(), ::getegid()};
}

result<void> set_run_as(config& c, const std::string& user, const std::string& group,
                        const std::string& setting) {
  auto number = [](const std::string& s) -> std::optional<unsigned long> {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoul(s);
  };
  const ::passwd* pw = user.empty() ? nullptr : ::getpwnam(user.c_str());
  if (!pw)
    if (auto n = number(user)) pw = ::getpwuid(static_cast<uid_t>(*n));
  if (!pw) return fail(errc::invalid_argument, "no user '" + user + "'");
  gid_t gid = pw->pw_gid;
  if (!group.empty()) {
    const ::group* gr = ::getgrnam(group.c_str());
    if (!gr)
      if (auto n = number(group)) gr = ::getgrgid(static_cast<gid_t>(*n));
    if (!gr) return fail(errc::invalid_argument, "no group '" + group + "'");
    gid = gr->gr_gid;
  }
  c.user = user;
  c.group = group;
  c.uid = pw->pw_uid;
  c.gid = gid;
  c.user_setting = setting;
  return {};
}

result<void> check_key_file_safety(const std::string& path, std::string& warning,
                                   service_ids service, std::string_view what) {
  const std::string it(what);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_mode & (S_IROTH | S_IWOTH))
    return fail(errc::invalid_argument,
                path + ": " + it + " may be read or written by others (mode " + mode +
                    "); chmod o-rwx it (or set sign.require_safe_keys = false)");
  if (st.st_uid != service.uid && st.st_uid != 0)
    return fail(errc::invalid_argument,
                path + ": " + it + " is owned by uid " + std::to_string(st.st_uid) +
                    ", neither the service user (uid " + std::to_string(service.uid) +
                    ") nor root (or set sign.require_safe_keys = false)");
  if ((st.st_mode & (S_IRGRP | S_IWGRP)) && st.st_gid != service.gid)
    warning = path + ": " + it + " may be read by group " + std::to_string(st.st_gid) + " (mode " +
              mode + "), which is not the service's group";
  return {};
}

result<void> load_signing_key(signing_key& k, config& c, bool* about_entry) {
  auto problem = [&](bool entry, const std::string& what) {
    if (about_entry) *about_entry = entry;
    return fail(errc::invalid_argument, what);
  };
  std::string warning;
  if (auto safe = check_key_file_safety(k.key_file, warning, service_ids_of(c)); !safe) {
    if (c.require_safe_keys || safe.error().code == errc::io_error)
      return problem(false, safe.error().detail);
    warning = safe.error().detail;
  }
  if (!warning.empty()) c.warnings.push_back(warning);
  auto key = private_key::load_file(k.key_file);
  if (!key) return problem(false, key.error().detail);
  if (key->type() == key_type::rsa && key->bits() < rfc8301_min_rsa_bits)
    return problem(false, k.key_file + ": RSA key of " + std::to_string(key->bits()) + " bits; " +
                              std::to_string(rfc8301_min_rsa_bits) + " at least");
  if (k.algo && key_type_of(*k.algo) != key->type())
    return problem(true, "algorithm does not match the key in " + k.key_file);
  // Sign a test digest now: a key that cannot sign is refused at start, not per message.
  auto probe = key->sign_digest(hash_algorithm::sha256, std::string(32, '\0'));
  if (!probe) return problem(true, k.key_file + ": " + probe.error().message());
  k.key = std::move(*key);
  return {};
}

namespace {

// The key itself in a key table: what private_key::load reads, else base64 DER (PKCS#8, then
// PKCS#1 RSA) as OpenDKIM takes it.
result<private_key> load_inline_key(const std::string& key) {
  auto k = private_key::load(key);
  if (k) return k;
  if (key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      std::string::npos)
    return k;
  std::string lines;
  for (std::size_t i = 0; i < key.size(); i += 64) lines += key.substr(i, 64) + "\n";
  for (const char* label : {"PRIVATE KEY", "RSA PRIVATE KEY"}) {
    auto pem = private_key::load(std::string("-----BEGIN ") + label + "-----\n" + lines +
                                 "-----END " + label + "-----\n");
    if (pem) return pem;
  }
  return fail(errc::invalid_argument, "the key in the key table is not a private key");
}

}  // namespace

result<private_key> load_table_key(const std::string& key, bool is_file,
                                   std::optional<algorithm> algo, bool require_safe,
                                   std::string& warning, std::optional<service_ids> service) {
  result<private_key> k = fail(errc::invalid_argument, "no key");
  std::string what = is_file ? key : std::string("the key");
  if (is_file) {
    if (auto safe = check_key_file_safety(key, warning,
                                          service.value_or(service_ids{::geteuid(), ::getegid()}));
        !safe) {
      if (require_safe || safe.error().code == errc::io_error) return tl::unexpected(safe.error());
      warning = safe.error().detail;
    }
    k = private_key::load_file(key);
  } else {
    k = load_inline_key(key);
  }
  if (!k) return k;
  if (k->type() == key_type::rsa && k->bits() < rfc8301_min_rsa_bits)
    return fail(errc::invalid_argument, what + ": RSA key of " + std::to_string(k->bits()) +
                                            " bits; " + std::to_string(rfc8301_min_rsa_bits) +
                                            " at least");
  if (algo && key_type_of(*algo) != k->type())
    return fail(errc::invalid_argument, what + ": the algorithm does not match the key");
  return k;
}

namespace {

// The top level: who we are and where we listen.
result<void> load_top(const problems& p, const toml::table& t, config& c) {
  if (auto ok = only_known(p, t, ""); !ok) return tl::unexpected(ok.error());
  if (auto n = t.get("authserv_id")) {
    auto s = get_string(p, *n, "authserv_id");
    if (!s) return tl::unexpected(s.error());
    if (s->empty() || s->find_first_of(" \t\r\n;()") != std::string::npos)
      return tl::unexpected(p.at(*n, "authserv_id must be a host name"));
    c.authserv_id = *s;
  } else {
    return tl::unexpected(p.plain("authserv_id is required (the name of this mail server)"));
  }
  if (auto n = t.get("authserv_id_from_mta")) {
    auto b = get_bool(p, *n, "authserv_id_from_mta");
    if (!b) return tl::unexpected(b.error());
    c.authserv_id_from_mta = *b;
  }
  if (auto n = t.get("mode")) {
    auto s = get_string(p, *n, "mode");
    if (!s) return tl::unexpected(s.error());
    if (*s == "sign")
      c.mode = mode::sign;
    else if (*s == "verify")
      c.mode = mode::verify;
    else if (*s == "both")
      c.mode = mode::both;
    else
      return tl::unexpected(p.at(*n, "mode must be sign, verify or both"));
  }
  if (auto n = t.get("socket")) {
    auto s = get_string(p, *n, "socket");
    if (!s) return tl::unexpected(s.error());
    if (s->rfind("inet:", 0) != 0 && s->rfind("inet6:", 0) != 0 && s->rfind("unix:", 0) != 0 &&
        s->rfind("local:", 0) != 0)
      return tl::unexpected(
          p.at(*n, "socket must be inet:PORT@HOST, inet6:PORT@HOST or unix:PATH"));
    c.socket = *s;
  }
  const bool unix_socket = c.socket.rfind("unix:", 0) == 0 || c.socket.rfind("local:", 0) == 0;
  if (auto n = t.get("socket_mode")) {
    auto s = get_string(p, *n, "socket_mode");
    if (!s) return tl::unexpected(s.error());
    if (s->size() < 3 || s->size() > 4 || s->find_first_not_of("01234567") != std::string::npos)
      return tl::unexpected(p.at(*n, "socket_mode must be an octal mode such as \"0660\""));
    c.socket_mode = static_cast<unsigned>(std::stoul(*s, nullptr, 8));
    if (c.socket_mode & 0007)
      return tl::unexpected(p.at(*n,
                                 "socket_mode must give others no access (anyone who can "
                                 "connect can have mail signed)"));
    if (!unix_socket) return tl::unexpected(p.at(*n, "socket_mode is for unix sockets"));
  }
  if (auto n = t.get("socket_group")) {
    auto s = get_string(p, *n, "socket_group");
    if (!s) return tl::unexpected(s.error());
    if (!unix_socket) return tl::unexpected(p.at(*n, "socket_group is for unix sockets"));
    if (s->empty() ||
        (!::getgrnam(s->c_str()) && s->find_first_not_of("0123456789") != std::string::npos))
      return tl::unexpected(p.at(*n, "socket_group: no group '" + *s + "'"));
    c.socket_group = *s;
  }
  if (auto n = t.get("peers")) {
    auto list = get_strings(p, *n, "peers");
    if (!list) return tl::unexpected(list.error());
    if (unix_socket)
      return tl::unexpected(p.at(*n, "peers is for inet sockets (a unix socket has socket_mode)"));
    for (const auto& cidr : *list) {
      auto net = parse_network(cidr);
      if (!net) return tl::unexpected(p.at(*n, "'" + cidr + "' is not a network (CIDR)"));
      c.peers.push_back(*net);
    }
  }
  if (auto n = t.get("pid_file")) {
    auto s = get_string(p, *n, "pid_file");
    if (!s) return tl::unexpected(s.error());
    c.pid_file = *s;
  }
  if (auto n = t.get("user")) {
    auto s = get_string(p, *n, "user");
    if (!s) return tl::unexpected(s.error());
    std::string group;
    if (auto g = t.get("group")) {
      auto gs = get_string(p, *g, "group");
      if (!gs) return tl::unexpected(gs.error());
      if (gs->empty()) return tl::unexpected(p.at(*g, "group: empty"));
      group = *gs;
    }
    if (s->empty()) return tl::unexpected(p.at(*n, "user: empty"));
    if (auto ok = set_run_as(c, *s, group, "user " + *s + (group.empty() ? "" : ":" + group)); !ok)
      return tl::unexpected(p.at(*n, "user: " + ok.error().detail));
  } else if (auto g = t.get("group")) {
    return tl::unexpected(p.at(*g, "group goes with user"));
  }
  if (auto n = t.get("skip_hosts")) {
    auto hosts = get_host_set(p, *n, "skip_hosts");
    if (!hosts) return tl::unexpected(hosts.error());
    c.skip_hosts = std::move(*hosts);
  }
  return {};
}

// One [[sign.keys]] table: the key file is checked, loaded and made to sign once.
// One [[sign.keys]] table, or (`table` "arc.seal_keys") one [[arc.seal_keys]] table, which has
// the same settings except the validity window.
result<signing_key> load_key(const problems& p, const toml::node& e, config& c,
                             std::string_view table = "sign.keys") {
  const std::string where = "[[" + std::string(table) + "]]";
  const auto* kt = e.as_table();
  if (!kt) return tl::unexpected(p.at(e, "each " + where + " must be a table"));
  if (auto ok = only_known(p, *kt, "sign.keys", table == "sign.keys" ? "" : where); !ok)
    return tl::unexpected(ok.error());
  if (table != "sign.keys")
    for (const char* name : {"not_before", "not_after"})
      if (auto v = kt->get(name))
        return tl::unexpected(p.at(*v, "unknown setting '" + std::string(name) + "' in " + where));
  signing_key k;
  for (auto [name, dest] : {std::pair{"domain", &k.domain}, std::pair{"selector", &k.selector},
                            std::pair{"key_file", &k.key_file}}) {
    auto v = kt->get(name);
    if (!v) return tl::unexpected(p.at(e, std::string(name) + " is required in " + where));
    auto sv = get_string(p, *v, name);
    if (!sv) return tl::unexpected(sv.error());
    *dest = *sv;
  }
  for (char& ch : k.domain) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (auto a = kt->get("algorithm")) {
    auto sv = get_string(p, *a, "algorithm");
    if (!sv) return tl::unexpected(sv.error());
    auto alg = parse_algorithm(*sv);
    if (!alg || *alg == algorithm::rsa_sha1)
      return tl::unexpected(p.at(*a, "algorithm must be rsa-sha256 or ed25519-sha256"));
    k.algo = *alg;
  }
  for (auto [name, dest] :
       {std::pair{"not_before", &k.not_before}, std::pair{"not_after", &k.not_after}}) {
    if (auto v = kt->get(name)) {
      auto when = get_time(p, *v, name);
      if (!when) return tl::unexpected(when.error());
      *dest = *when;
    }
  }
  if (k.not_before && k.not_after && *k.not_before >= *k.not_after)
    return tl::unexpected(p.at(*kt->get("not_after"), "not_after (" + utc_time(*k.not_after) +
                                                          ") must be after not_before (" +
                                                          utc_time(*k.not_before) + ")"));
  const toml::node& file = *kt->get("key_file");
  bool about_entry = false;
  if (auto ok = load_signing_key(k, c, &about_entry); !ok)
    return tl::unexpected(p.at(about_entry ? e : file, ok.error().detail));
  return k;
}

}  // namespace

result<void> load_table_keys(const key_table& keys, const std::string& source, config& c) {
  std::size_t more_warnings = 0;
  for (const key_table_entry& row : keys.rows()) {
    if (row.key.find('%') != std::string::npos || c.table_keys.contains(row.key)) continue;
    std::string warning;
    auto k = load_table_key(row.key, row.key_is_file(), row.algo, c.require_safe_keys, warning,
                            service_ids_of(c));
    if (!k)
      return fail(errc::invalid_argument,
                  source + ":" + std::to_string(row.line) + ": " + k.error().detail);
    if (!warning.empty() && more_warnings++ == 0) c.warnings.push_back(warning);
    c.table_keys.emplace(row.key, std::move(*k));
  }
  if (more_warnings > 1)
    c.warnings.push_back(std::to_string(more_warnings - 1) +
                         " more key files of the key table have the same warning");
  return {};
}

namespace {

// [sign] key_table and signing_table (together, instead of [[sign.keys]]) and
// multiple_signatures. Every key the key table names is loaded now, but those whose KEY holds a
// "%" (which depends on the sender): those are loaded per message, and a failure then tempfails
// the message. Keys are not made to sign a probe here (thousands of RSA keys would take minutes);
// a key that loads but cannot sign tempfails the messages it is chosen for.
result<void> load_tables(const problems& p, const toml::table& sign, config& c) {
  if (auto m = sign.get("multiple_signatures")) {
    auto b = get_bool(p, *m, "multiple_signatures");
    if (!b) return tl::unexpected(b.error());
    c.multiple_signatures = *b;
  }
  const toml::node* kt = sign.get("key_table");
  const toml::node* st = sign.get("signing_table");
  if (!kt && !st) return {};
  if (!kt || !st)
    return tl::unexpected(p.at(kt ? *kt : *st, "key_table and signing_table go together"));
  if (const toml::node* keys = sign.get("keys"))
    return tl::unexpected(
        p.at(*keys, "[[sign.keys]] and key_table/signing_table exclude each other"));
  auto kspec = get_string(p, *kt, "key_table");
  if (!kspec) return tl::unexpected(kspec.error());
  auto sspec = get_string(p, *st, "signing_table");
  if (!sspec) return tl::unexpected(sspec.error());
  auto keys = key_table::load(*kspec);
  if (!keys) return tl::unexpected(p.at(*kt, "key_table: " + keys.error().detail));
  auto signing = signing_table::load(*sspec);
  if (!signing) return tl::unexpected(p.at(*st, "signing_table: " + signing.error().detail));
  if (auto ok = load_table_keys(*keys, parse_table_source(*kspec).path, c); !ok)
    return tl::unexpected(p.at(*kt, "key_table: " + ok.error().detail));
  c.key_table = std::move(*keys);
  c.signing_table = std::move(*signing);
  return {};
}

// [sign] and its [[sign.keys]]; then whether the mode has what it needs.
result<void> load_sign(const problems& p, const toml::table& sign, config& c) {
  c.internal_networks = {*parse_network("127.0.0.0/8"), *parse_network("::1/128")};
  if (auto m = sign.get("internal_networks")) {
    auto list = get_strings(p, *m, "internal_networks");
    if (!list) return tl::unexpected(list.error());
    c.internal_networks.clear();
    for (const auto& cidr : *list) {
      auto net = parse_network(cidr);
      if (!net) return tl::unexpected(p.at(*m, "'" + cidr + "' is not a network (CIDR)"));
      c.internal_networks.push_back(*net);
    }
  }
  if (auto m = sign.get("internal_hosts")) {
    if (sign.get("internal_networks"))
      return tl::unexpected(p.at(*m, "internal_hosts and internal_networks exclude each other"));
    auto hosts = get_host_set(p, *m, "internal_hosts");
    if (!hosts) return tl::unexpected(hosts.error());
    c.internal_networks = plain_networks(*hosts);
    c.internal_hosts = std::move(*hosts);
  }
  if (auto m = sign.get("daemon_names")) {
    auto list = get_strings(p, *m, "daemon_names");
    if (!list) return tl::unexpected(list.error());
    for (const auto& name : *list)
      if (name.empty()) return tl::unexpected(p.at(*m, "daemon_names: an empty name"));
    c.daemon_names = std::move(*list);
  }
  if (auto m = sign.get("macros")) {
    auto list = get_strings(p, *m, "macros");
    if (!list) return tl::unexpected(list.error());
    for (const auto& entry : *list) {
      auto rule = parse_macro_rule(entry);
      if (!rule) return tl::unexpected(p.at(*m, "macros: " + rule.error().detail));
      if (!*rule)
        return tl::unexpected(p.at(*m, "macros: '" + entry +
                                           "' lists no value (write the name "
                                           "alone for any value)"));
      c.sign_macros.push_back(std::move(**rule));
    }
    if (auto ok = check_macro_rules(c.sign_macros); !ok)
      return tl::unexpected(p.at(*m, "macros: " + ok.error().detail));
  }
  for (auto [name, dest] : {std::pair{"require_safe_keys", &c.require_safe_keys},
                            std::pair{"sign_authenticated", &c.sign_authenticated}}) {
    if (auto m = sign.get(name)) {
      auto b = get_bool(p, *m, name);
      if (!b) return tl::unexpected(b.error());
      *dest = *b;
    }
  }
  if (auto m = sign.get("canonicalization")) {
    auto v = get_string(p, *m, "canonicalization");
    if (!v) return tl::unexpected(v.error());
    auto canon = parse_canonicalization(*v);
    if (!canon) return tl::unexpected(p.at(*m, "canonicalization must be like relaxed/relaxed"));
    c.header_canon = canon->header;
    c.body_canon = canon->body;
  }
  if (auto m = sign.get("headers")) {
    auto list = get_strings(p, *m, "headers");
    if (!list) return tl::unexpected(list.error());
    bool from = false;
    for (const auto& h : *list) from = from || iequals(h, "From");
    if (!from) return tl::unexpected(p.at(*m, "headers must include From"));
    c.headers = *list;
  }
  // OpenDKIM's rules: h= from the fields present (header_rules.hpp).
  for (auto [name, dest] : {std::pair{"sign_headers", &header_rules::sign},
                            std::pair{"omit_headers", &header_rules::omit},
                            std::pair{"oversign_headers", &header_rules::oversign}}) {
    auto m = sign.get(name);
    if (!m) continue;
    if (c.headers) return tl::unexpected(p.at(*m, std::string(name) + " excludes headers"));
    auto list = get_strings(p, *m, name);
    if (!list) return tl::unexpected(list.error());
    if (!c.sign_rules)
      c.sign_rules = header_rules{opendkim_sign_headers(), opendkim_omit_headers(), {}};
    (*c.sign_rules).*dest = std::move(*list);
    if (auto ok = check_header_rules(*c.sign_rules); !ok)
      return tl::unexpected(p.at(*m, ok.error().detail));
  }
  if (auto m = sign.get("sender_headers")) {
    auto list = get_strings(p, *m, "sender_headers");
    if (!list) return tl::unexpected(list.error());
    if (auto ok = check_sender_headers(*list); !ok)
      return tl::unexpected(p.at(*m, ok.error().detail));
    c.sender_headers = std::move(*list);
  }
  if (auto m = sign.get("sender_mailbox")) {
    auto v = get_string(p, *m, "sender_mailbox");
    if (!v) return tl::unexpected(v.error());
    if (*v != "only" && *v != "first")
      return tl::unexpected(p.at(*m, "sender_mailbox must be \"only\" or \"first\""));
    c.first_sender_mailbox = *v == "first";
  }
  if (auto m = sign.get("subdomains")) {
    auto b = get_bool(p, *m, "subdomains");
    if (!b) return tl::unexpected(b.error());
    c.subdomains = *b;
  }
  if (auto m = sign.get("expire")) {
    auto v = integer_of(*m);
    if (!v || *v < 1) return tl::unexpected(p.at(*m, "expire must be a number of seconds >= 1"));
    c.expire_after = static_cast<std::uint64_t>(*v);
  }
  if (auto m = sign.get("keys")) {
    const auto* arr = m->as_array();
    if (!arr) return tl::unexpected(p.at(*m, "[[sign.keys]] must be an array of tables"));
    for (const auto& e : *arr) {
      auto k = load_key(p, e, c);
      if (!k) return tl::unexpected(k.error());
      c.keys.push_back(std::move(*k));
    }
  }
  if (auto ok = load_tables(p, sign, c); !ok) return ok;
  if (c.mode == mode::sign && c.keys.empty() && !c.signing_table)
    return tl::unexpected(
        p.plain("mode sign needs at least one [[sign.keys]] (or key_table and signing_table)"));
  if (c.mode == mode::both && c.keys.empty() && !c.signing_table) {
    // As shipped: nothing to sign with yet, so the milter verifies until keys are named.
    c.mode = mode::verify;
    c.warnings.push_back(p.file + ": mode both with no [[sign.keys]]: verifying only");
  }
  return {};
}

// The settings of dkimkit::verify_limits() that table `name` holds, the numbers or the switches,
// into c.verify.
result<void> load_verify_limits(const problems& p, const toml::table& t, std::string_view name,
                                bool switches, config& c) {
  for (const auto& l : verify_limits()) {
    const toml::node* m = l.table == name ? t.get(l.key) : nullptr;
    if (!m || l.is_switch() != switches) continue;
    auto v = switches ? get_bool(p, *m, l.key).map([](bool b) { return std::int64_t{b}; })
                      : get_number(p, *m, l.key, static_cast<std::int64_t>(l.min),
                                   static_cast<std::int64_t>(l.max));
    if (!v) return tl::unexpected(v.error());
    l.set(c.verify, static_cast<std::uint64_t>(*v));
  }
  return {};
}

result<void> load_dns(const problems& p, const toml::table& dns, config& c) {
  if (auto m = dns.get("resolvers")) {
    auto list = get_strings(p, *m, "resolvers");
    if (!list) return tl::unexpected(list.error());
    c.resolvers = *list;
  }
  if (auto m = dns.get("timeout_ms")) {
    auto v = get_number(p, *m, "timeout_ms", 1, 600000);
    if (!v) return tl::unexpected(v.error());
    c.dns_timeout = std::chrono::milliseconds(*v);
  }
  for (bool switches : {false, true})
    if (auto ok = load_verify_limits(p, dns, "dns", switches, c); !ok) return ok;
  if (auto m = dns.get("trust_anchor")) {
    auto v = get_string(p, *m, "trust_anchor");
    if (!v) return tl::unexpected(v.error());
    c.trust_anchor = *v;
  }
  return {};
}

result<void> load_limits(const problems& p, const toml::table& limits, config& c) {
  if (auto ok = load_verify_limits(p, limits, "limits", false, c); !ok) return ok;
  if (auto m = limits.get("max_forged_auth_results")) {
    auto v = get_number(p, *m, "max_forged_auth_results", 1, 1000);
    if (!v) return tl::unexpected(v.error());
    c.max_forged_auth_results = static_cast<std::size_t>(*v);
  }
  if (c.verify.min_rsa_bits > c.verify.key.max_rsa_bits)
    return tl::unexpected(p.at(limits, "min_rsa_bits is above max_rsa_bits"));
  return load_verify_limits(p, limits, "limits", true, c);
}

// One [[policy.require]] table.
result<requirement> load_requirement(const problems& p, const toml::node& e) {
  const auto* rt = e.as_table();
  if (!rt) return tl::unexpected(p.at(e, "each [[policy.require]] must be a table"));
  if (auto ok = only_known(p, *rt, "policy.require"); !ok) return tl::unexpected(ok.error());
  requirement r;
  auto fd = rt->get("from_domain");
  if (!fd) return tl::unexpected(p.at(e, "from_domain is required in [[policy.require]]"));
  auto v = get_string(p, *fd, "from_domain");
  if (!v) return tl::unexpected(v.error());
  r.from_domain = *v;
  r.sdid = *v;
  if (auto sb = rt->get("signed_by")) {
    auto w = get_string(p, *sb, "signed_by");
    if (!w) return tl::unexpected(w.error());
    r.sdid = *w;
  }
  for (auto* s : {&r.from_domain, &r.sdid})
    for (char& ch : *s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

result<void> load_policy(const problems& p, const toml::table& pol, config& c) {
  struct choice {
    const char* name;
    action* dest;
    action allowed, or_allowed;
  };
  for (const auto& [name, dest, allowed, or_allowed] :
       {choice{"on_no_pass", &c.on_no_pass, action::accept, action::reject},
        choice{"on_dns_error", &c.on_dns_error, action::accept, action::tempfail},
        choice{"on_forged_auth_results", &c.on_forged_auth_results, action::reject,
               action::tempfail},
        choice{"on_internal_error", &c.on_internal_error, action::accept, action::tempfail}}) {
    if (auto m = pol.get(name)) {
      auto a = get_action(p, *m, name, {allowed, or_allowed});
      if (!a) return tl::unexpected(a.error());
      *dest = *a;
    }
  }
  if (auto m = pol.get("remove_auth_results")) {
    auto v = get_string(p, *m, "remove_auth_results");
    if (!v) return tl::unexpected(v.error());
    auto r = parse_ar_removal(*v);
    if (!r)
      return tl::unexpected(
          p.at(*m, "remove_auth_results must be \"all\", \"dkim\" or \"any_result\""));
    c.remove_auth_results = *r;
  }
  if (auto m = pol.get("add_auth_results")) {
    auto v = get_string(p, *m, "add_auth_results");
    if (!v) return tl::unexpected(v.error());
    if (*v != "always" && *v != "signed")
      return tl::unexpected(p.at(*m, "add_auth_results must be \"always\" or \"signed\""));
    c.always_add_auth_results = *v == "always";
  }
  if (auto m = pol.get("require")) {
    const auto* arr = m->as_array();
    if (!arr) return tl::unexpected(p.at(*m, "[[policy.require]] must be an array of tables"));
    for (const auto& e : *arr) {
      auto r = load_requirement(p, e);
      if (!r) return tl::unexpected(r.error());
      c.requirements.push_back(std::move(*r));
    }
  }
  return {};
}

// [arc] and its [[arc.seal_keys]].
result<void> load_arc(const problems& p, const toml::table& arc, config& c) {
  arc_settings& a = c.arc;
  for (auto [name, dest] : {std::pair{"verify", &a.verify}, std::pair{"seal", &a.seal}}) {
    if (auto m = arc.get(name)) {
      auto b = get_bool(p, *m, name);
      if (!b) return tl::unexpected(b.error());
      *dest = *b;
    }
  }
  if (auto m = arc.get("trusted_sealers")) {
    auto list = get_strings(p, *m, "trusted_sealers");
    if (!list) return tl::unexpected(list.error());
    for (std::string d : *list) {
      for (char& ch : d) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!d.empty() && d.back() == '.') d.pop_back();
      if (d.empty() || d.size() > 253 ||
          d.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos ||
          d.front() == '.' || d.find("..") != std::string::npos)
        return tl::unexpected(p.at(*m, "trusted_sealers: '" + d + "' is not a domain name"));
      a.trusted_sealers.push_back(std::move(d));
    }
    if (!a.trusted_sealers.empty() && !a.verify)
      return tl::unexpected(p.at(*m, "trusted_sealers needs verify = true"));
  }
  if (auto m = arc.get("max_seal_bytes")) {
    auto v = get_number(p, *m, "max_seal_bytes", 65536, std::int64_t{1} << 30);
    if (!v) return tl::unexpected(v.error());
    a.max_seal_bytes = static_cast<std::size_t>(*v);
  }
  if (auto m = arc.get("seal_keys")) {
    const auto* arr = m->as_array();
    if (!arr) return tl::unexpected(p.at(*m, "[[arc.seal_keys]] must be an array of tables"));
    for (const auto& e : *arr) {
      auto k = load_key(p, e, c, "arc.seal_keys");
      if (!k) return tl::unexpected(k.error());
      if (k->key.type() == key_type::ed25519)
        c.warnings.push_back(p.file + ": [[arc.seal_keys]] d=" + k->domain + " s=" + k->selector +
                             ": an Ed25519 seal is not validated by every ARC verifier (dkimpy "
                             "fails it); rsa-sha256 is what RFC 8617 verifiers know");
      a.seal_keys.push_back(std::move(*k));
    }
  }
  if (a.seal) {
    const toml::node& at = *arc.get("seal");
    if (a.seal_keys.empty())
      return tl::unexpected(p.at(at, "seal = true needs at least one [[arc.seal_keys]]"));
    if (!a.verify)
      return tl::unexpected(
          p.at(at, "seal = true needs verify = true (the new set records the arc= result)"));
  } else if (!a.seal_keys.empty()) {
    c.warnings.push_back(p.file + ": [[arc.seal_keys]] without seal = true: nothing is sealed");
  }
  return {};
}

// [replay]: present, even empty, turns replay counting on.
result<void> load_replay(const problems& p, const toml::table& t, config& c) {
  replay_config& r = c.replay;
  r.enabled = true;
  if (auto m = t.get("store")) {
    auto v = get_string(p, *m, "store");
    if (!v) return tl::unexpected(v.error());
    if (auto a = parse_redis_address(*v); !a)
      return tl::unexpected(p.at(*m, "store: " + a.error().detail));
    r.store = *v;
  }
  const toml::node* pw = t.get("password");
  const toml::node* pw_file = t.get("password_file");
  if (pw && pw_file)
    return tl::unexpected(p.at(*pw_file, "password and password_file exclude each other"));
  if (pw) {
    auto v = get_string(p, *pw, "password");
    if (!v) return tl::unexpected(v.error());
    r.password = *v;
  }
  if (pw_file) {
    auto v = get_string(p, *pw_file, "password_file");
    if (!v) return tl::unexpected(v.error());
    // A secret like a private key, and re-read on SIGHUP by the service user: the same rules.
    std::string warning;
    if (auto safe = check_key_file_safety(*v, warning, service_ids_of(c), "the password file");
        !safe) {
      if (c.require_safe_keys && safe.error().code != errc::io_error)
        return tl::unexpected(p.at(*pw_file, "password_file: " + safe.error().detail));
      if (safe.error().code != errc::io_error) warning = safe.error().detail;
    }
    if (!warning.empty()) c.warnings.push_back(warning);
    std::ifstream in(*v);
    std::string line;
    // An empty file reads no line: "is empty" below, not "cannot read".
    if (!in || (!std::getline(in, line) && !in.eof()))
      return tl::unexpected(p.at(*pw_file, "password_file: cannot read " + *v));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return tl::unexpected(p.at(*pw_file, "password_file: " + *v + " is empty"));
    r.password_file = *v;
    r.password = std::move(line);
  }
  replay_settings& s = r.settings;
  if (auto m = t.get("window")) {
    auto v = get_number(p, *m, "window (seconds)", 60, 366 * 86400);
    if (!v) return tl::unexpected(v.error());
    s.window = std::chrono::seconds(*v);
    if (s.max_window < s.window) s.max_window = s.window;
  }
  struct count {
    const char* name;
    std::int64_t lo, hi;
    std::uint64_t* dest;
  };
  std::uint64_t buckets = s.buckets;
  for (const auto& [name, lo, hi, dest] :
       {count{"buckets", 1, 24, &buckets}, count{"networks", 0, 1000000000, &s.thresholds.networks},
        count{"messages", 0, 1000000000, &s.thresholds.messages},
        count{"recipients", 0, 1000000000, &s.thresholds.recipients}}) {
    if (auto m = t.get(name)) {
      auto v = get_number(p, *m, name, lo, hi);
      if (!v) return tl::unexpected(v.error());
      *dest = static_cast<std::uint64_t>(*v);
    }
  }
  s.buckets = static_cast<unsigned>(buckets);
  if (auto m = t.get("trusted_domains")) {
    auto list = get_strings(p, *m, "trusted_domains");
    if (!list) return tl::unexpected(list.error());
    s.trusted_domains = std::move(*list);
  }
  if (auto m = t.get("on_replay")) {
    auto v = get_string(p, *m, "on_replay");
    if (!v) return tl::unexpected(v.error());
    auto a = parse_replay_action(*v);
    if (!a)
      return tl::unexpected(
          p.at(*m, "on_replay must be \"tag\", \"policy\", \"tempfail\" or \"reject\""));
    r.on_replay = *a;
  }
  if (auto m = t.get("budget_ms")) {
    auto v = get_number(p, *m, "budget_ms", 1, 10000);
    if (!v) return tl::unexpected(v.error());
    r.budget = std::chrono::milliseconds(*v);
  }
  if (auto m = t.get("connections")) {
    auto v = get_number(p, *m, "connections", 1, 256);
    if (!v) return tl::unexpected(v.error());
    r.connections = static_cast<std::size_t>(*v);
  }
  if (auto m = t.get("host_name")) {
    auto v = get_string(p, *m, "host_name");
    if (!v) return tl::unexpected(v.error());
    if (v->empty() || v->size() > 253 ||
        v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
            std::string::npos)
      return tl::unexpected(p.at(*m, "host_name must be a host name"));
    r.host_name = *v;
  }
  // The library's own rules (window a multiple of buckets seconds, domain names...).
  if (auto ok = check(s); !ok) return tl::unexpected(p.at(t, "[replay]: " + ok.error().detail));
  // A deferred message comes back, and its retry is counted again: with a messages threshold,
  // the deferrals alone keep the signature over it, and it is deferred until it expires.
  if (r.on_replay == replay_action::tempfail && s.thresholds.messages > 0)
    c.warnings.push_back(p.file + ": [replay] on_replay = \"tempfail\" with messages = " +
                         std::to_string(s.thresholds.messages) +
                         ": each retry of a deferred message is counted again, so the "
                         "deferrals alone can keep the signature suspected until the sender "
                         "gives up; use networks or recipients, or on_replay = \"reject\"");
  if (c.mode == mode::sign)
    c.warnings.push_back(p.file +
                         ": [replay] with mode sign: nothing is verified, so nothing "
                         "is counted");
  return {};
}

// Warnings for [[sign.keys]] keys outside their window at `now`, and for domains whose keys have
// all expired (their mail is deferred until the configuration names a valid key).
void warn_about_windows(config& c, std::uint64_t now) {
  std::map<std::string, bool, std::less<>> all_expired;  // by domain
  for (const auto& k : c.keys) {
    std::string who = c.path + ": key d=" + k.domain + " s=" + k.selector + " ";
    const key_schedule when = schedule_at(k.window(), now);  // not_before < not_after here
    const bool expired = when == key_schedule::expired;
    if (expired)
      c.warnings.push_back(who + "expired at " + utc_time(*k.not_after) + " (not_after)");
    if (when == key_schedule::upcoming)
      c.warnings.push_back(who + "is not valid until " + utc_time(*k.not_before) + " (not_before)");
    auto [it, fresh] = all_expired.try_emplace(k.domain, expired);
    if (!fresh) it->second = it->second && expired;
  }
  for (const auto& [domain, expired] : all_expired)
    if (expired)
      c.warnings.push_back(c.path + ": every key of " + domain +
                           " has expired: its mail is deferred (451) until a valid key is named");
}

}  // namespace

bool valid_at(const signing_key& k, std::uint64_t now) noexcept {
  return in_force(k.window(), now);
}

std::string utc_time(std::uint64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char out[32] = "?";
  if (::gmtime_r(&t, &tm)) std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

result<config> load_config(const std::string& path) {
  return load_config(path, static_cast<std::uint64_t>(std::time(nullptr)));
}

result<config> load_config(const std::string& path, std::uint64_t now) {
  problems p{path};
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    auto line = e.source().begin.line;
    std::string where = line ? path + ":" + std::to_string(line) : path;
    std::string what(e.description());
    if (what.find("ould not open") != std::string::npos ||
        what.find("not exist") != std::string::npos)
      return fail(errc::io_error, path + ": cannot read the configuration file");
    return fail(errc::invalid_argument, where + ": " + what);
  }
  config c;
  c.path = path;
  if (auto ok = load_top(p, t, c); !ok) return tl::unexpected(ok.error());
  // Each table in turn (absent: empty), checked for unknown settings first.
  using loader = result<void> (*)(const problems&, const toml::table&, config&);
  for (auto [name, load] : {std::pair<std::string_view, loader>{"sign", &load_sign},
                            {"dns", &load_dns},
                            {"limits", &load_limits},
                            {"policy", &load_policy},
                            {"arc", &load_arc}}) {
    auto s = section(p, t, name);
    if (!s) return tl::unexpected(s.error());
    if (auto ok = load(p, **s, c); !ok) return tl::unexpected(ok.error());
  }
  // [replay] only when present: its absence means off.
  if (t.contains("replay")) {
    auto s = section(p, t, "replay");
    if (!s) return tl::unexpected(s.error());
    if (auto ok = load_replay(p, **s, c); !ok) return tl::unexpected(ok.error());
  }
  warn_about_windows(c, now);
  return c;
}

verify_options verify_options_of(const config& cfg) { return cfg.verify; }

bool same_store(const replay_config& a, const replay_config& b) noexcept {
  const replay_settings &x = a.settings, &y = b.settings;
  return a.enabled == b.enabled && a.store == b.store && a.password == b.password &&
         a.connections == b.connections && a.host_name == b.host_name && x.window == y.window &&
         x.buckets == y.buckets && x.max_window == y.max_window &&
         x.thresholds.networks == y.thresholds.networks &&
         x.thresholds.messages == y.thresholds.messages &&
         x.thresholds.recipients == y.thresholds.recipients &&
         x.trusted_domains == y.trusted_domains && x.max_recipients == y.max_recipients &&
         x.max_signatures == y.max_signatures;
}

}  // namespace dkimkit::milter
