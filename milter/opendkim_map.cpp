#include "opendkim_map.hpp"

#include <unistd.h>

#include <array>
#include <cctype>
#include <dkimkit/limits.hpp>
#include <dkimkit/message.hpp>
#include <fstream>
#include <map>
#include <tuple>

#include "opendkim_conf.hpp"
#include "opendkim_default.hpp"

namespace dkimkit::milter {
namespace {

namespace od = opendkim;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string where(const od::setting& s) { return s.file + ":" + std::to_string(s.line) + ": "; }

error bad(const od::setting& s, const std::string& what) {
  return error{errc::invalid_argument, where(s) + s.name + ": " + what};
}

// The entries of a data set that is a list of names: a comma-separated list, or a file holding
// one entry a line (the first word; "#" comments and blank lines skipped). refile: is refused.
result<std::vector<std::string>> list_of(const od::setting& s) {
  auto ds = od::parse_data_set(s.value);
  if (!ds) return tl::unexpected(bad(s, ds.error().detail));
  std::vector<std::string> out;
  if (ds->type == od::data_set::type::csl) {
    for (const auto& e : ds->entries)
      if (!e.key.empty()) out.push_back(e.key);
    return out;
  }
  if (ds->type == od::data_set::type::refile)
    return tl::unexpected(bad(s, "a refile: data set cannot be a list here; use file: or a list"));
  std::ifstream in(ds->path);
  if (!in) return tl::unexpected(bad(s, ds->path + ": cannot read"));
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    out.push_back(line.substr(b, line.find_first_of(" \t\r", b) - b));
    if (out.size() > od::max_host_list_entries)
      return tl::unexpected(bad(s, ds->path + ": more than " +
                                       std::to_string(od::max_host_list_entries) + " entries"));
  }
  return out;
}

// A number for one of dkimkit::verify_limits() (the milter's key `key`), range-checked.
result<void> set_limit(config& c, const od::setting& s, std::string_view key) {
  auto v = od::parse_integer(s.value);
  if (!v) return tl::unexpected(bad(s, v.error().detail));
  for (const auto& l : verify_limits()) {
    if (l.key != key) continue;
    if (*v < 0 || static_cast<std::uint64_t>(*v) < l.min || static_cast<std::uint64_t>(*v) > l.max)
      return tl::unexpected(bad(s, "must be between " + std::to_string(l.min) + " and " +
                                       std::to_string(l.max)));
    l.set(c.verify, static_cast<std::uint64_t>(*v));
    return {};
  }
  return tl::unexpected(bad(s, "no such limit"));
}

// ---- On-* ----

enum class od_action { accept, discard, quarantine, reject, tempfail };
constexpr std::array<std::string_view, 5> action_names = {"accept", "discard", "quarantine",
                                                          "reject", "tempfail"};

result<od_action> parse_action(const od::setting& s) {
  std::string v = lower(s.value);
  for (std::size_t i = 0; i < action_names.size(); ++i)
    if (v == action_names[i] || (v.size() == 1 && v[0] == action_names[i][0]))
      return static_cast<od_action>(i);
  return tl::unexpected(bad(s, "unknown action '" + s.value +
                                   "' (accept, discard, quarantine, reject or tempfail)"));
}

// One On-* class: its value in force and the setting that gave it (null: OpenDKIM's default).
struct handling {
  std::string_view name;
  od_action value;
  const od::setting* from = nullptr;
  std::string_view what() const { return action_names[static_cast<std::size_t>(value)]; }
};

result<void> map_actions(const od::conf& conf, config& c) {
  std::array<handling, 7> h = {{{"On-BadSignature", od_action::accept},
                                {"On-KeyNotFound", od_action::accept},
                                {"On-NoSignature", od_action::accept},
                                {"On-DNSError", od_action::tempfail},
                                {"On-InternalError", od_action::tempfail},
                                {"On-Security", od_action::tempfail},
                                {"On-SignatureError", od_action::reject}}};
  // On-Default first, then the specific ones (opendkim.conf(5)).
  if (const auto* d = conf.get("On-Default")) {
    auto a = parse_action(*d);
    if (!a) return tl::unexpected(a.error());
    for (auto& e : h) e = {e.name, *a, d};
  }
  for (auto& e : h)
    if (const auto* s = conf.get(e.name)) {
      auto a = parse_action(*s);
      if (!a) return tl::unexpected(a.error());
      e = {e.name, *a, s};
    }
  auto refuse = [](const handling& e, const std::string& why) {
    const od::setting& s = *e.from;
    return tl::unexpected(error{errc::invalid_argument,
                                where(s) + s.name + ": " + std::string(e.name) + " " +
                                    std::string(e.what()) + ": " + why});
  };
  // Bad signature, key not found and no signature are one class for dkimkit-milter: on_no_pass.
  const handling& nopass = h[0];
  for (std::size_t i = 1; i < 3; ++i)
    if (h[i].value != nopass.value) {
      const handling& e = h[i].from ? h[i] : nopass;
      return refuse(e, "dkimkit-milter has one action (on_no_pass) for a bad signature, a key not "
                       "found and no signature; give On-BadSignature, On-KeyNotFound and "
                       "On-NoSignature the same value, accept or reject");
    }
  if (nopass.value != od_action::accept && nopass.value != od_action::reject) {
    const handling& e = nopass.from ? nopass : h[1].from ? h[1] : h[2];
    return refuse(e, "a message without a passing signature can only be accepted or rejected");
  }
  c.on_no_pass = nopass.value == od_action::reject ? action::reject : action::accept;
  for (auto [e, dest] : {std::pair{&h[3], &c.on_dns_error}, std::pair{&h[4], &c.on_internal_error}}) {
    if (e->value != od_action::accept && e->value != od_action::tempfail)
      return refuse(*e, "dkimkit-milter can only accept or tempfail here");
    *dest = e->value == od_action::accept ? action::accept : action::tempfail;
  }
  const handling& security = h[5];
  if (security.from && security.value != nopass.value)
    return refuse(security,
                  "dkimkit-milter has no separate action for messages with security concerns "
                  "(several From fields, ...): they get the no-pass action; give On-Security "
                  "the value of On-NoSignature");
  if (!security.from && security.value != nopass.value)
    c.warnings.push_back(
        "On-Security: OpenDKIM's default tempfail is not kept: messages with security concerns "
        "get the no-pass action (" + std::string(nopass.what()) + ")");
  const handling& sigerr = h[6];
  if (sigerr.from && sigerr.value != od_action::tempfail)
    return refuse(sigerr, "dkimkit-milter temp-fails a message it cannot sign; only tempfail");
  if (!sigerr.from)
    c.warnings.push_back(
        "On-SignatureError: a message dkimkit-milter cannot sign is temp-failed (OpenDKIM's "
        "default rejects it)");
  return {};
}

// ---- The rest ----

result<void> map_socket(const od::setting& s, config& c) {
  std::string v = s.value;
  if (!v.empty() && v[0] == '/') v = "local:" + v;  // libmilter: a bare path is a unix socket
  auto colon = v.find(':');
  std::string type = colon == std::string::npos ? "" : lower(v.substr(0, colon));
  std::string rest = colon == std::string::npos ? "" : v.substr(colon + 1);
  if ((type == "local" || type == "unix") && !rest.empty() && rest[0] == '/') {
    c.socket = "unix:" + rest;
    return {};
  }
  if (type == "inet" || type == "inet6") {
    std::string port = rest.substr(0, rest.find('@'));
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      return tl::unexpected(bad(s, "'" + s.value + "': the port must be a number from 1 to 65535"));
    c.socket = type + ":" + rest;
    return {};
  }
  return tl::unexpected(
      bad(s, "'" + s.value + "' is not local:/PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"));
}

// UMask as it applies to the unix socket libmilter creates (mode 0777 & ~UMask).
result<void> map_umask(const od::setting& s, config& c) {
  auto v = od::parse_integer(s.value);
  if (!v) return tl::unexpected(bad(s, v.error().detail));
  if (*v < 0 || *v > 0777) return tl::unexpected(bad(s, "must be a mode mask from 0 to 0777"));
  unsigned mode = 0777u & ~static_cast<unsigned>(*v);
  if (mode & 0002)
    return tl::unexpected(bad(s, "would let anyone connect to the socket (and have mail signed); "
                                 "use 007"));
  c.socket_mode = mode & 0770u;
  return {};
}

// InternalHosts, PeerList: the whole host list syntax, as OpenDKIM matches it (origin.hpp).
result<host_set> host_set_of(const od::setting& s) {
  auto hosts = load_host_set(s.value);
  if (!hosts) return tl::unexpected(bad(s, hosts.error().detail));
  return hosts;
}

result<void> map_internal_hosts(const od::setting& s, config& c) {
  auto hosts = host_set_of(s);
  if (!hosts) return tl::unexpected(hosts.error());
  // Only "!" entries: nothing is internal, not even 127.0.0.1 ("!" only excludes).
  bool positive = false;
  for (const auto& e : hosts->entries) positive = positive || (!e.empty() && e.front() != '!');
  if (!positive && !hosts->entries.empty())
    return tl::unexpected(bad(s, "'" + hosts->entries.front() +
                                     "': a list of \"!\" entries only matches no host (\"!\" "
                                     "excludes from the other entries); list the internal hosts"));
  c.internal_networks = plain_networks(*hosts);
  c.internal_hosts = std::move(*hosts);
  return {};
}

// MTA: the {daemon_name} values whose mail is signed, compared case-sensitively.
result<void> map_mta(const od::setting& s, config& c) {
  auto names = list_of(s);
  if (!names) return tl::unexpected(names.error());
  c.daemon_names = std::move(*names);
  return {};
}

result<void> map_macro_list(const od::setting& s, config& c) {
  auto rules = load_macro_rules(s.value);
  if (!rules) return tl::unexpected(bad(s, rules.error().detail));
  c.sign_macros = std::move(*rules);
  return {};
}

// Domain, Selector, KeyFile, SignatureAlgorithm: every domain signs with the one key.
result<void> map_single_key(const od::conf& conf, config& c) {
  const auto* domain = conf.get("Domain");
  const auto* selector = conf.get("Selector");
  const auto* key_file = conf.get("KeyFile");
  const auto* algo = conf.get("SignatureAlgorithm");
  std::optional<algorithm> alg;
  if (algo) {
    auto a = parse_algorithm(lower(algo->value));
    if (a && *a == algorithm::rsa_sha1)
      return tl::unexpected(bad(*algo,
                                "rsa-sha1 is refused: RFC 8301 forbids signing with "
                                "SHA-1; use rsa-sha256 (OpenDKIM's default)"));
    if (!a)
      return tl::unexpected(bad(
          *algo, "unknown signing algorithm '" + algo->value + "' (rsa-sha256 or ed25519-sha256)"));
    alg = *a;
  }
  if (conf.get("KeyTable")) {
    for (const auto* s : {key_file, selector})
      if (s) return tl::unexpected(bad(*s, "cannot be used with KeyTable (opendkim.conf(5), Mode)"));
    if (domain) c.warnings.push_back(where(*domain) + "Domain: ignored, KeyTable is set");
    if (algo)
      c.warnings.push_back(where(*algo) +
                           "SignatureAlgorithm: ignored with KeyTable (the key decides)");
    return {};
  }
  if (!domain && !selector && !key_file) return {};
  for (auto [s, name] : {std::pair{domain, "Domain"}, std::pair{selector, "Selector"},
                         std::pair{key_file, "KeyFile"}})
    if (!s)
      return tl::unexpected(error{errc::invalid_argument,
                                  conf.settings.front().file + ": " + name +
                                      " is required with Domain, Selector and KeyFile"});
  auto domains = list_of(*domain);
  if (!domains) return tl::unexpected(domains.error());
  for (const auto& d : *domains) {
    signing_key k;
    k.domain = lower(d);
    k.selector = selector->value;
    k.key_file = key_file->value;
    k.algo = alg;
    bool about_entry = false;
    if (auto ok = load_signing_key(k, c, &about_entry); !ok)
      return tl::unexpected(bad(about_entry && algo ? *algo : *key_file, ok.error().detail));
    // OpenDKIM signs a=rsa-sha256 whatever the key: an Ed25519 key then makes signatures no one
    // can verify. dkimkit-milter signs with the key's own algorithm.
    if (!alg && k.key.type() == key_type::ed25519 && c.keys.empty())
      c.warnings.push_back(where(*key_file) +
                           "KeyFile: an Ed25519 key without SignatureAlgorithm ed25519-sha256: "
                           "OpenDKIM would label its signatures rsa-sha256 (unverifiable); "
                           "dkimkit-milter signs ed25519-sha256");
    c.keys.push_back(std::move(k));
  }
  return {};
}

// SignHeaders, OmitHeaders, OversignHeaders: h= as OpenDKIM 2.11 makes it (header_rules.hpp),
// its defaults included, so [sign] sign_rules is always set.
result<void> map_header_rules(const od::conf& conf, config& c) {
  header_rules r{opendkim_sign_headers(), opendkim_omit_headers(), {}};
  for (auto [name, dest, defaults] :
       {std::tuple{"SignHeaders", &r.sign, &opendkim_sign_headers()},
        std::tuple{"OmitHeaders", &r.omit, &opendkim_omit_headers()},
        std::tuple{"OversignHeaders", &r.oversign,
                   static_cast<const std::vector<std::string>*>(nullptr)}}) {
    const auto* s = conf.get(name);
    if (!s) continue;
    auto list = list_of(*s);
    if (!list) return tl::unexpected(list.error());
    if (!defaults) {
      *dest = std::move(*list);  // a plain list: "*", "+" and "-" are refused below
      continue;
    }
    auto names = opendkim_header_list(*list, *defaults);
    if (!names) return tl::unexpected(bad(*s, names.error().detail));
    *dest = std::move(*names);
  }
  if (auto ok = check_header_rules(r); !ok) {
    std::string_view list = ok.error().detail;
    const char* name = list.rfind("omit", 0) == 0   ? "OmitHeaders"
                       : list.rfind("over", 0) == 0 ? "OversignHeaders"
                                                    : "SignHeaders";
    return tl::unexpected(bad(*conf.get(name), ok.error().detail));
  }
  c.sign_rules = std::move(r);
  return {};
}

result<void> map_tables(const od::conf& conf, config& c) {
  const auto* kt = conf.get("KeyTable");
  const auto* st = conf.get("SigningTable");
  if (!kt && !st) return {};
  if (!kt || !st)
    return tl::unexpected(bad(kt ? *kt : *st, "KeyTable and SigningTable go together"));
  for (const auto* s : {kt, st}) {
    auto ds = od::parse_data_set(s->value);
    if (!ds) return tl::unexpected(bad(*s, ds.error().detail));
    if (ds->type == od::data_set::type::csl)
      return tl::unexpected(bad(*s, "must be a file (\"file:/PATH\" or \"refile:/PATH\")"));
  }
  auto keys = key_table::load(kt->value);
  if (!keys) return tl::unexpected(bad(*kt, keys.error().detail));
  auto signing = signing_table::load(st->value);
  if (!signing) return tl::unexpected(bad(*st, signing.error().detail));
  // The keys, as a TOML configuration's key_table has them (RequireSafeKeys is read by now).
  if (auto ok = load_table_keys(*keys, parse_table_source(kt->value).path, c); !ok)
    return tl::unexpected(bad(*kt, ok.error().detail));
  c.key_table = std::move(*keys);
  c.signing_table = std::move(*signing);
  return {};
}

// The settings read here, beyond those map_actions, map_single_key and map_tables read.
result<void> map_one(const od::setting& s, config& c, bool& have_socket) {
  const std::string& n = s.name;
  auto boolean = [&](bool& dest) -> result<void> {
    auto b = od::parse_boolean(s.value);
    if (!b) return tl::unexpected(bad(s, b.error().detail));
    dest = *b;
    return {};
  };
  if (n == "Mode") {
    std::string v = lower(s.value);
    bool sign = false, verify = false;
    for (char ch : v) {
      if (ch == 's')
        sign = true;
      else if (ch == 'v')
        verify = true;
      else
        return tl::unexpected(bad(s, "'" + s.value + "': only s (sign) and v (verify)"));
    }
    c.mode = sign && verify ? mode::both : sign ? mode::sign : mode::verify;
    if (!sign && !verify) return tl::unexpected(bad(s, "empty"));
  } else if (n == "Socket") {
    have_socket = true;
    return map_socket(s, c);
  } else if (n == "UMask") {
    return map_umask(s, c);
  } else if (n == "PidFile") {
    c.pid_file = s.value;
  } else if (n == "UserID") {
    // userid[:group], as opendkim -u takes it: names, or numbers /etc/passwd and /etc/group know.
    auto colon = s.value.find(':');
    std::string user = s.value.substr(0, colon);
    std::string group = colon == std::string::npos ? std::string() : s.value.substr(colon + 1);
    if (user.empty() || (colon != std::string::npos && group.empty()))
      return tl::unexpected(bad(s, "'" + s.value + "': must be user or user:group"));
    if (auto ok = set_run_as(c, user, group, "UserID " + s.value); !ok)
      return tl::unexpected(bad(s, ok.error().detail));
  } else if (n == "AuthservID") {
    c.authserv_id_from_mta = false;  // a name, or HOSTNAME: this host's name
    if (s.value != "HOSTNAME") {
      if (s.value.find_first_of(" \t;()") != std::string::npos)
        return tl::unexpected(bad(s, "must be a host name"));
      c.authserv_id = s.value;
    }
  } else if (n == "RequireSafeKeys") {
    return boolean(c.require_safe_keys);
  } else if (n == "MultipleSignatures") {
    return boolean(c.multiple_signatures);
  } else if (n == "Canonicalization") {
    auto canon = parse_canonicalization(lower(s.value));
    if (!canon) return tl::unexpected(bad(s, "must be simple or relaxed, or two of them as relaxed/simple"));
    c.header_canon = canon->header;
    c.body_canon = canon->body;
  } else if (n == "SenderHeaders") {
    auto list = list_of(s);
    if (!list) return tl::unexpected(list.error());
    if (auto ok = check_sender_headers(*list); !ok)
      return tl::unexpected(bad(s, ok.error().detail));
    c.sender_headers = std::move(*list);
  } else if (n == "SubDomains") {
    return boolean(c.subdomains);
  } else if (n == "AlwaysAddARHeader") {
    return boolean(c.always_add_auth_results);
  } else if (n == "RemoveARAll") {
    bool all = false;
    if (auto ok = boolean(all); !ok) return ok;
    c.remove_auth_results = all ? ar_removal::any_result : ar_removal::dkim;
  } else if (n == "SignatureTTL") {
    auto v = od::parse_integer(s.value);
    if (!v || *v < 0) return tl::unexpected(bad(s, "must be a number of seconds"));
    if (*v > 0) c.expire_after = static_cast<std::uint64_t>(*v);
  } else if (n == "MinimumKeyBits") {
    return set_limit(c, s, "min_rsa_bits");
  } else if (n == "MaximumSignaturesToVerify") {
    return set_limit(c, s, "max_signatures");
  } else if (n == "MaximumHeaders") {
    return set_limit(c, s, "max_header_bytes");
  } else if (n == "ClockDrift") {
    return set_limit(c, s, "max_clock_skew");
  } else if (n == "DNSTimeout") {
    auto v = od::parse_integer(s.value);
    if (!v || *v < 1 || *v > 600)
      return tl::unexpected(bad(s, "must be 1 to 600 seconds (dkimkit-milter never waits forever)"));
    c.dns_timeout = std::chrono::seconds(*v);
  } else if (n == "Nameservers") {
    c.resolvers.clear();
    std::string v = s.value;
    for (std::size_t pos = 0; pos <= v.size();) {
      auto comma = v.find(',', pos);
      std::string one = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      auto b = one.find_first_not_of(" \t"), e = one.find_last_not_of(" \t");
      if (b == std::string::npos) return tl::unexpected(bad(s, "an empty address"));
      c.resolvers.push_back(one.substr(b, e - b + 1));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  } else if (n == "TrustAnchorFile") {
    c.trust_anchor = s.value;
  } else if (n == "InternalHosts") {
    return map_internal_hosts(s, c);
  } else if (n == "PeerList") {
    auto hosts = host_set_of(s);
    if (!hosts) return tl::unexpected(hosts.error());
    c.skip_hosts = std::move(*hosts);
  } else if (n == "MTA") {
    return map_mta(s, c);
  } else if (n == "MacroList") {
    return map_macro_list(s, c);
  }
  return {};
}

// Debian's SOCKET= as a setting (named SOCKET, where it stands), if the file sets it.
result<std::optional<od::setting>> default_socket(const std::string& default_file) {
  auto v = opendkim_default_socket(default_file);
  if (!v) return tl::unexpected(v.error());
  if (!*v) return std::optional<od::setting>{};
  return std::optional<od::setting>{od::setting{"SOCKET", (*v)->value, default_file, (*v)->line}};
}

// Read elsewhere (map_actions, map_single_key, map_tables) or by the parser (Include).
bool read_elsewhere(std::string_view n) {
  for (std::string_view x :
       {"Domain", "Selector", "KeyFile", "SignatureAlgorithm", "KeyTable", "SigningTable",
        "Include", "SignHeaders", "OmitHeaders", "OversignHeaders", "On-Default", "On-BadSignature",
        "On-DNSError", "On-InternalError", "On-KeyNotFound", "On-NoSignature", "On-Security",
        "On-SignatureError"})
    if (n == x) return true;
  return false;
}

}  // namespace

result<config> config_from_opendkim(const std::string& path) {
  return config_from_opendkim(path, std::string());
}

result<config> config_from_opendkim(const std::string& path, const std::string& default_file) {
  auto conf = od::parse_opendkim_conf(path);
  if (!conf) return tl::unexpected(conf.error());
  config c;
  c.path = path;
  c.warnings = conf->warnings;
  // OpenDKIM's defaults where they differ from dkimkit-milter's.
  c.header_canon = c.body_canon = canonicalization::simple;
  c.internal_hosts = load_host_set(std::vector<std::string>{"127.0.0.1"}).value();
  c.internal_networks = plain_networks(*c.internal_hosts);
  c.verify.max_signatures = 3;
  c.subdomains = false;                      // SubDomains
  c.authserv_id_from_mta = true;             // AuthservID: the MTA's name (the j macro)
  c.first_sender_mailbox = true;             // the first address of the sender field signs
  c.always_add_auth_results = false;         // AlwaysAddARHeader
  c.remove_auth_results = ar_removal::dkim;  // RemoveARAll no
  bool have_socket = false;
  for (const auto& s : conf->settings) {
    const auto* info = od::find_setting(s.name);
    if (!info) return tl::unexpected(bad(s, "unknown setting"));
    if (info->status == od::support::refused)
      return tl::unexpected(bad(s, "not supported by dkimkit-milter: " + std::string(info->reason)));
    if (info->status == od::support::ignored) {
      // ExternalIgnoreList only silences a log line, but a broken list stops OpenDKIM.
      if (s.name == "ExternalIgnoreList" && conf->get(s.name) == &s)
        if (auto ok = host_set_of(s); !ok) return tl::unexpected(ok.error());
      c.warnings.push_back(where(s) + s.name + ": ignored: " + std::string(info->reason));
      continue;
    }
    // Only the occurrence in force counts (OpenDKIM: the last one).
    if (conf->get(s.name) != &s || read_elsewhere(s.name)) continue;
    if (auto ok = map_one(s, c, have_socket); !ok) return tl::unexpected(ok.error());
  }
  if (!default_file.empty()) {
    // Debian's SOCKET=, passed as opendkim -p: it wins over the file's Socket.
    auto sock = default_socket(default_file);
    if (!sock) return tl::unexpected(sock.error());
    if (*sock) {
      const od::setting* in_file = conf->get("Socket");
      if (auto ok = map_socket(**sock, c); !ok) return tl::unexpected(ok.error());
      if (in_file && in_file->value != (*sock)->value)
        c.warnings.push_back(where(**sock) + "SOCKET: overrides Socket at " + in_file->file + ":" +
                             std::to_string(in_file->line) + " (" + in_file->value +
                             "), as opendkim -p does");
      have_socket = true;
    }
  }
  if (!have_socket)
    return fail(errc::invalid_argument,
                path + ": Socket is required (opendkim.conf(5): OpenDKIM has no default)");
  const bool unix_socket = c.socket.rfind("unix:", 0) == 0;
  if (!unix_socket && conf->get("UMask"))
    c.warnings.push_back(where(*conf->get("UMask")) + "UMask: ignored for an inet socket");
  if (c.authserv_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
      return fail(errc::invalid_argument, path + ": AuthservID is needed (no host name)");
    c.authserv_id = host;
  }
  if (c.verify.min_rsa_bits > c.verify.key.max_rsa_bits)
    return fail(errc::invalid_argument, path + ": MinimumKeyBits is above max_rsa_bits");
  if (auto ok = map_actions(*conf, c); !ok) return tl::unexpected(ok.error());
  if (auto ok = map_single_key(*conf, c); !ok) return tl::unexpected(ok.error());
  if (auto ok = map_tables(*conf, c); !ok) return tl::unexpected(ok.error());
  if (auto ok = map_header_rules(*conf, c); !ok) return tl::unexpected(ok.error());
  const bool can_sign = !c.keys.empty() || c.key_table.has_value();
  if (c.mode == mode::sign && !can_sign)
    return fail(errc::invalid_argument,
                path + ": Mode s needs Domain, Selector and KeyFile, or KeyTable and SigningTable");
  if (c.mode == mode::both && !can_sign) {
    c.mode = mode::verify;
    c.warnings.push_back(path + ": Mode sv with no signing keys: verifying only");
  }
  return c;
}

}  // namespace dkimkit::milter
