#include "config.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

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

// Every key of `t` must be a setting of the table `where` (known_settings()): a misspelt setting
// is an error, not a silent default.
result<void> only_known(const problems& p, const toml::table& t, std::string_view where) {
  const std::vector<std::string_view>* known = nullptr;
  for (const auto& [table, names] : known_settings())
    if (table == where) known = &names;
  assert(known);
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto name : *known) ok = ok || k.str() == name;
    if (!ok)
      return tl::unexpected(p.at(v, "unknown setting '" + std::string(k.str()) + "'" +
                                        (where.empty() ? "" : " in [" + std::string(where) + "]")));
  }
  return {};
}

}  // namespace

const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& known_settings() {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> tables = {
      {"",
       {"authserv_id", "mode", "socket", "socket_mode", "socket_group", "peers", "pid_file", "sign",
        "dns", "limits", "policy"}},
      {"sign",
       {"internal_networks", "sign_authenticated", "canonicalization", "headers", "expire", "keys",
        "require_safe_keys"}},
      {"sign.keys", {"domain", "selector", "key_file", "algorithm"}},
      {"dns", {"resolvers", "timeout_ms", "message_timeout_ms", "trust_anchor"}},
      {"limits",
       {"max_signatures", "max_header_bytes", "max_field_bytes", "max_fields",
        "max_signature_bytes", "max_signed_headers", "max_key_record_bytes",
        "max_forged_auth_results", "min_rsa_bits", "max_rsa_bits", "allow_sha1"}},
      {"policy",
       {"on_no_pass", "on_dns_error", "on_internal_error", "on_forged_auth_results", "require"}},
      {"policy.require", {"from_domain", "signed_by"}},
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

result<void> check_key_file_safety(const std::string& path, std::string& warning) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_mode & (S_IROTH | S_IWOTH))
    return fail(errc::invalid_argument,
                path + ": the private key may be read or written by others (mode " + mode +
                    "); chmod o-rwx it (or set sign.require_safe_keys = false)");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return fail(errc::invalid_argument,
                path + ": the private key is owned by uid " + std::to_string(st.st_uid) +
                    ", neither the service user (uid " + std::to_string(::geteuid()) +
                    ") nor root (or set sign.require_safe_keys = false)");
  if ((st.st_mode & (S_IRGRP | S_IWGRP)) && st.st_gid != ::getegid())
    warning = path + ": the private key may be read by group " + std::to_string(st.st_gid) +
              " (mode " + mode + "), which is not the service's group";
  return {};
}

result<config> load_config(const std::string& path) {
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

  if (auto n = t.get("sign")) {
    const auto* s = n->as_table();
    if (!s) return tl::unexpected(p.at(*n, "[sign] must be a table"));
    if (auto ok = only_known(p, *s, "sign"); !ok) return tl::unexpected(ok.error());
    if (auto m = s->get("internal_networks")) {
      auto list = get_strings(p, *m, "internal_networks");
      if (!list) return tl::unexpected(list.error());
      for (const auto& cidr : *list) {
        auto net = parse_network(cidr);
        if (!net) return tl::unexpected(p.at(*m, "'" + cidr + "' is not a network (CIDR)"));
        c.internal_networks.push_back(*net);
      }
    } else {
      c.internal_networks = {*parse_network("127.0.0.0/8"), *parse_network("::1/128")};
    }
    if (auto m = s->get("require_safe_keys")) {
      auto b = m->value<bool>();
      if (!b) return tl::unexpected(p.at(*m, "require_safe_keys must be true or false"));
      c.require_safe_keys = *b;
    }
    if (auto m = s->get("sign_authenticated")) {
      auto b = m->value<bool>();
      if (!b) return tl::unexpected(p.at(*m, "sign_authenticated must be true or false"));
      c.sign_authenticated = *b;
    }
    if (auto m = s->get("canonicalization")) {
      auto v = get_string(p, *m, "canonicalization");
      if (!v) return tl::unexpected(v.error());
      auto one = [](std::string_view x) -> std::optional<canonicalization> {
        if (x == "simple") return canonicalization::simple;
        if (x == "relaxed") return canonicalization::relaxed;
        return std::nullopt;
      };
      std::size_t slash = v->find('/');
      auto h = one(std::string_view(*v).substr(0, slash));
      auto b = slash == std::string::npos ? std::optional(canonicalization::simple)
                                          : one(std::string_view(*v).substr(slash + 1));
      if (!h || !b)
        return tl::unexpected(p.at(*m, "canonicalization must be like relaxed/relaxed"));
      c.header_canon = *h;
      c.body_canon = *b;
    }
    if (auto m = s->get("headers")) {
      auto list = get_strings(p, *m, "headers");
      if (!list) return tl::unexpected(list.error());
      bool from = false;
      for (const auto& h : *list) from = from || iequals(h, "From");
      if (!from) return tl::unexpected(p.at(*m, "headers must include From"));
      c.headers = *list;
    }
    if (auto m = s->get("expire")) {
      auto v = m->value<std::int64_t>();
      if (!v || *v < 1) return tl::unexpected(p.at(*m, "expire must be a number of seconds >= 1"));
      c.expire_after = static_cast<std::uint64_t>(*v);
    }
    if (auto m = s->get("keys")) {
      const auto* arr = m->as_array();
      if (!arr) return tl::unexpected(p.at(*m, "[[sign.keys]] must be an array of tables"));
      for (const auto& e : *arr) {
        const auto* kt = e.as_table();
        if (!kt) return tl::unexpected(p.at(e, "each [[sign.keys]] must be a table"));
        if (auto ok = only_known(p, *kt, "sign.keys"); !ok) return tl::unexpected(ok.error());
        signing_key k;
        for (auto [name, dest] :
             {std::pair{"domain", &k.domain}, std::pair{"selector", &k.selector},
              std::pair{"key_file", &k.key_file}}) {
          auto v = kt->get(name);
          if (!v)
            return tl::unexpected(p.at(e, std::string(name) + " is required in [[sign.keys]]"));
          auto sv = get_string(p, *v, name);
          if (!sv) return tl::unexpected(sv.error());
          *dest = *sv;
        }
        for (char& ch : k.domain)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (auto a = kt->get("algorithm")) {
          auto sv = get_string(p, *a, "algorithm");
          if (!sv) return tl::unexpected(sv.error());
          auto alg = parse_algorithm(*sv);
          if (!alg || *alg == algorithm::rsa_sha1)
            return tl::unexpected(p.at(*a, "algorithm must be rsa-sha256 or ed25519-sha256"));
          k.algo = *alg;
        }
        std::string warning;
        if (auto safe = check_key_file_safety(k.key_file, warning); !safe) {
          if (c.require_safe_keys || safe.error().code == errc::io_error)
            return tl::unexpected(p.at(*kt->get("key_file"), safe.error().detail));
          warning = safe.error().detail;
        }
        if (!warning.empty()) c.warnings.push_back(warning);
        auto key = private_key::load_file(k.key_file);
        if (!key) return tl::unexpected(p.at(*kt->get("key_file"), key.error().detail));
        if (key->type() == key_type::rsa && key->bits() < rfc8301_min_rsa_bits)
          return tl::unexpected(p.at(
              *kt->get("key_file"),
              k.key_file + ": RSA key of " + std::to_string(key->bits()) + " bits; 1024 at least"));
        if (k.algo && key_type_of(*k.algo) != key->type())
          return tl::unexpected(p.at(e, "algorithm does not match the key in " + k.key_file));
        // Sign a test digest now: a key that cannot sign is refused at start, not per message.
        auto probe = key->sign_digest(hash_algorithm::sha256, std::string(32, '\0'));
        if (!probe) return tl::unexpected(p.at(e, k.key_file + ": " + probe.error().message()));
        k.key = std::move(*key);
        c.keys.push_back(std::move(k));
      }
    }
  } else {
    c.internal_networks = {*parse_network("127.0.0.0/8"), *parse_network("::1/128")};
  }
  if (c.mode == mode::sign && c.keys.empty())
    return tl::unexpected(p.plain("mode sign needs at least one [[sign.keys]]"));
  if (c.mode == mode::both && c.keys.empty()) {
    // As shipped: nothing to sign with yet, so the milter verifies until keys are named.
    c.mode = mode::verify;
    c.warnings.push_back(path + ": mode both with no [[sign.keys]]: verifying only");
  }

  if (auto n = t.get("dns")) {
    const auto* d = n->as_table();
    if (!d) return tl::unexpected(p.at(*n, "[dns] must be a table"));
    if (auto ok = only_known(p, *d, "dns"); !ok) return tl::unexpected(ok.error());
    if (auto m = d->get("resolvers")) {
      auto list = get_strings(p, *m, "resolvers");
      if (!list) return tl::unexpected(list.error());
      c.resolvers = *list;
    }
    for (auto [name, dest] : {std::pair{"timeout_ms", &c.dns_timeout},
                              std::pair{"message_timeout_ms", &c.dns_message_timeout}}) {
      if (auto m = d->get(name)) {
        auto v = m->value<std::int64_t>();
        if (!v || *v < 1 || *v > 600000)
          return tl::unexpected(p.at(*m, std::string(name) + " must be between 1 and 600000"));
        *dest = std::chrono::milliseconds(*v);
      }
    }
    if (auto m = d->get("trust_anchor")) {
      auto v = get_string(p, *m, "trust_anchor");
      if (!v) return tl::unexpected(v.error());
      c.trust_anchor = *v;
    }
  }
  if (auto n = t.get("limits")) {
    const auto* l = n->as_table();
    if (!l) return tl::unexpected(p.at(*n, "[limits] must be a table"));
    // Each limit: its name, the range accepted, and where it goes.
    struct size_limit {
      const char* name;
      std::int64_t lo, hi;
      std::size_t* dest;
    };
    const size_limit sizes[] = {
        {"max_signatures", 1, 100, &c.max_signatures},
        {"max_header_bytes", 4096, 64 * 1024 * 1024, &c.max_header_bytes},
        {"max_field_bytes", 1024, 64 * 1024 * 1024, &c.max_field_bytes},
        {"max_fields", 16, 1000000, &c.max_fields},
        {"max_signature_bytes", 1024, 1024 * 1024, &c.max_signature_bytes},
        {"max_signed_headers", 8, 100000, &c.max_signed_headers},
        {"max_key_record_bytes", 512, 65536, &c.max_key_record_bytes},
        {"max_forged_auth_results", 1, 1000, &c.max_forged_auth_results},
    };
    if (auto ok = only_known(p, *l, "limits"); !ok) return tl::unexpected(ok.error());
    auto number = [&](std::string_view name, std::int64_t lo,
                      std::int64_t hi) -> result<std::int64_t> {
      const auto* m = l->get(name);
      auto v = m->value<std::int64_t>();
      if (!v || *v < lo || *v > hi)
        return tl::unexpected(p.at(*m, std::string(name) + " must be between " +
                                           std::to_string(lo) + " and " + std::to_string(hi)));
      return *v;
    };
    for (const auto& s : sizes) {
      if (!l->get(s.name)) continue;
      auto v = number(s.name, s.lo, s.hi);
      if (!v) return tl::unexpected(v.error());
      *s.dest = static_cast<std::size_t>(*v);
    }
    for (auto [name, dest] :
         {std::pair{"min_rsa_bits", &c.min_rsa_bits}, std::pair{"max_rsa_bits", &c.max_rsa_bits}}) {
      if (!l->get(name)) continue;
      auto v = number(name, 512, 16384);
      if (!v) return tl::unexpected(v.error());
      *dest = static_cast<unsigned>(*v);
    }
    if (c.min_rsa_bits > c.max_rsa_bits)
      return tl::unexpected(p.at(*n, "min_rsa_bits is above max_rsa_bits"));
    if (auto m = l->get("allow_sha1")) {
      auto b = m->value<bool>();
      if (!b) return tl::unexpected(p.at(*m, "allow_sha1 must be true or false"));
      c.allow_sha1 = *b;
    }
  }
  if (auto n = t.get("policy")) {
    const auto* pol = n->as_table();
    if (!pol) return tl::unexpected(p.at(*n, "[policy] must be a table"));
    if (auto ok = only_known(p, *pol, "policy"); !ok) return tl::unexpected(ok.error());
    if (auto m = pol->get("on_no_pass")) {
      auto a = get_action(p, *m, "on_no_pass", {action::accept, action::reject});
      if (!a) return tl::unexpected(a.error());
      c.on_no_pass = *a;
    }
    if (auto m = pol->get("on_dns_error")) {
      auto a = get_action(p, *m, "on_dns_error", {action::accept, action::tempfail});
      if (!a) return tl::unexpected(a.error());
      c.on_dns_error = *a;
    }
    if (auto m = pol->get("on_forged_auth_results")) {
      auto a = get_action(p, *m, "on_forged_auth_results", {action::reject, action::tempfail});
      if (!a) return tl::unexpected(a.error());
      c.on_forged_auth_results = *a;
    }
    if (auto m = pol->get("on_internal_error")) {
      auto a = get_action(p, *m, "on_internal_error", {action::accept, action::tempfail});
      if (!a) return tl::unexpected(a.error());
      c.on_internal_error = *a;
    }
    if (auto m = pol->get("require")) {
      const auto* arr = m->as_array();
      if (!arr) return tl::unexpected(p.at(*m, "[[policy.require]] must be an array of tables"));
      for (const auto& e : *arr) {
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
        c.requirements.push_back(std::move(r));
      }
    }
  }
  return c;
}

verify_options verify_options_of(const config& cfg) {
  verify_options o;
  o.max_signatures = cfg.max_signatures;
  o.min_rsa_bits = cfg.min_rsa_bits;
  o.allow_sha1 = cfg.allow_sha1;
  o.dns_message_timeout = cfg.dns_message_timeout;
  o.header.max_header_bytes = cfg.max_header_bytes;
  o.header.max_field_bytes = cfg.max_field_bytes;
  o.header.max_fields = cfg.max_fields;
  o.signature.max_field_bytes = cfg.max_signature_bytes;
  o.signature.max_signed_headers = cfg.max_signed_headers;
  o.key.max_record_bytes = cfg.max_key_record_bytes;
  o.key.max_rsa_bits = cfg.max_rsa_bits;
  return o;
}

}  // namespace dkimkit::milter
