#include "opendkim_migrate.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdio>
#include <dkimkit/limits.hpp>
#include <dkimkit/signature.hpp>

#include "opendkim_conf.hpp"
#include "opendkim_map.hpp"

namespace dkimkit::milter {
namespace {

// The length of the UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF); 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  unsigned char c1 = b(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 > 0x8F))
    return 0;
  return n;
}

// A comment line's text: control characters (a newline would end the comment) become blanks.
std::string comment_text(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  return out;
}

std::string cidr(const network& n) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(n.family, n.addr, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(n.prefix);
}

std::string_view action_name(action a) {
  return a == action::accept ? "accept" : a == action::reject ? "reject" : "tempfail";
}

std::string_view mode_name(mode m) {
  return m == mode::sign ? "sign" : m == mode::verify ? "verify" : "both";
}

// Where a setting stands ("/etc/opendkim.conf:12"), or "OpenDKIM's default" when it is absent.
std::string origin(const opendkim::conf& conf, std::string_view name) {
  const auto* s = conf.get(name);
  if (!s) return "OpenDKIM's default";
  return std::string(name) + " at " + s->file + ":" + std::to_string(s->line);
}

// Builds the text, remembering the first string that TOML cannot hold.
class writer {
 public:
  std::string out;
  std::optional<error> failed;

  std::string q(std::string_view s) {
    auto v = toml_quote(s);
    if (!v) {
      if (!failed) failed = v.error();
      return "\"\"";
    }
    return *v;
  }
  std::string list(const std::vector<std::string>& items) {
    std::string o = "[";
    for (std::size_t i = 0; i < items.size(); ++i) o += (i ? ", " : "") + q(items[i]);
    return o + "]";
  }
  void comment(std::string_view text) { out += "# " + comment_text(text) + "\n"; }
  void line(std::string_view key, const std::string& value) {
    out += std::string(key) + " = " + value + "\n";
  }
};

// A host list as written: the file it names (read again at each load), else its entries.
std::string hosts(writer& w, const host_set& h) {
  return h.file.empty() ? w.list(h.entries) : w.q(h.file);
}

}  // namespace

result<std::string> toml_quote(std::string_view s) {
  std::string o = "\"";
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = utf8_length(s, i);
    if (n == 0) return fail(errc::invalid_argument, "a value is not UTF-8, which TOML requires");
    if (n > 1) {
      o.append(s.substr(i, n));
    } else if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c == '\r') {
      o += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
    i += n;
  }
  return o + "\"";
}

result<std::string> migrate_opendkim(const std::string& path, const std::string& default_file) {
  auto cfg = config_from_opendkim(path, default_file);
  if (!cfg) return tl::unexpected(cfg.error());
  auto conf = opendkim::parse_opendkim_conf(path);  // for the table specs and the positions
  if (!conf) return tl::unexpected(conf.error());
  const config& c = *cfg;
  const verify_options defaults{};
  writer w;

  w.comment("dkimkit-milter configuration (man dkimkit-milter.toml), migrated from " + path + ".");
  w.comment("Check it with: dkimkit-milter --check-config FILE");
  if (!c.warnings.empty()) w.out += "#\n";
  for (const auto& warning : c.warnings)
    w.comment((warning.find(": ignored") != std::string::npos ? "dropped: " : "differs: ") + warning);
  w.out += "\n";

  if (c.authserv_id_from_mta)
    w.comment("no AuthservID: the MTA's name for itself (its j macro) is the authserv-id, as in "
              "OpenDKIM; this host's name when the MTA sends none");
  else if (conf->get("AuthservID")->value == "HOSTNAME")
    w.comment("AuthservID HOSTNAME: this host's name");
  w.line("authserv_id", w.q(c.authserv_id));
  if (c.authserv_id_from_mta) w.line("authserv_id_from_mta", "true");
  w.line("mode", w.q(mode_name(c.mode)));
  w.line("socket", w.q(c.socket));
  if (c.socket.rfind("unix:", 0) == 0) {
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "%04o", c.socket_mode);
    w.line("socket_mode", w.q(mode_text));
  }
  if (!c.pid_file.empty()) w.line("pid_file", w.q(c.pid_file));
  if (!c.user.empty()) w.line("user", w.q(c.user));  // UserID
  if (!c.group.empty()) w.line("group", w.q(c.group));
  if (c.skip_hosts) w.line("skip_hosts", hosts(w, *c.skip_hosts));  // PeerList

  w.out += "\n[sign]\n";
  if (!conf->get("InternalHosts"))
    w.comment("differs: dkimkit-milter's default is 127.0.0.0/8 and ::1/128; OpenDKIM's "
              "127.0.0.1 is kept");
  if (c.internal_hosts) {
    w.line("internal_hosts", hosts(w, *c.internal_hosts));
  } else {
    std::vector<std::string> nets;
    for (const auto& n : c.internal_networks) nets.push_back(cidr(n));
    w.line("internal_networks", w.list(nets));
  }
  if (!c.daemon_names.empty()) w.line("daemon_names", w.list(c.daemon_names));  // MTA
  if (!c.sign_macros.empty()) {  // MacroList
    std::vector<std::string> rules;
    for (const auto& r : c.sign_macros) rules.push_back(to_string(r));
    w.line("macros", w.list(rules));
  }
  std::string canon = std::string(to_string(c.header_canon)) + "/" + std::string(to_string(c.body_canon));
  if (canon != "relaxed/relaxed")
    w.comment("differs: dkimkit-milter's default is relaxed/relaxed; " + origin(*conf, "Canonicalization") +
              " is kept");
  w.line("canonicalization", w.q(canon));
  if (c.expire_after) w.line("expire", std::to_string(*c.expire_after));
  if (c.sender_headers != config{}.sender_headers)
    w.line("sender_headers", w.list(c.sender_headers));
  if (c.first_sender_mailbox) {
    w.comment("differs: dkimkit-milter's default is \"only\" (a sender field with several "
              "domains is not signed); OpenDKIM signs for the first address");
    w.line("sender_mailbox", w.q("first"));
  }
  if (!c.subdomains)
    w.comment("differs: dkimkit-milter's default is true; " + origin(*conf, "SubDomains") +
              " (no) is kept: [[sign.keys]] do not sign subdomains");
  w.line("subdomains", c.subdomains ? "true" : "false");
  if (c.sign_rules) {
    w.comment("h= as OpenDKIM makes it (" + origin(*conf, "SignHeaders") + ", " +
              origin(*conf, "OmitHeaders") + ", " + origin(*conf, "OversignHeaders") +
              "); dkimkit-milter's default list differs");
    w.line("sign_headers", w.list(c.sign_rules->sign));
    w.line("omit_headers", w.list(c.sign_rules->omit));
    w.line("oversign_headers", w.list(c.sign_rules->oversign));
  }
  w.line("require_safe_keys", c.require_safe_keys ? "true" : "false");
  if (c.key_table && c.signing_table) {
    // The data sets as OpenDKIM names them: load_config() reads them as config_from_opendkim() did.
    w.line("key_table", w.q(conf->get("KeyTable")->value));
    w.line("signing_table", w.q(conf->get("SigningTable")->value));
    w.line("multiple_signatures", c.multiple_signatures ? "true" : "false");
  }
  for (const auto& k : c.keys) {
    w.out += "\n[[sign.keys]]\n";
    w.line("domain", w.q(k.domain));
    w.line("selector", w.q(k.selector));
    w.line("key_file", w.q(k.key_file));
    if (k.algo) w.line("algorithm", w.q(to_string(*k.algo)));
  }

  w.out += "\n[dns]\n";
  w.line("resolvers", w.list(c.resolvers));
  w.line("timeout_ms", std::to_string(c.dns_timeout.count()));
  if (!c.trust_anchor.empty()) w.line("trust_anchor", w.q(c.trust_anchor));
  std::string limits;
  for (const auto& l : verify_limits()) {
    if (l.key.empty() || l.get(c.verify) == l.get(defaults)) continue;
    std::string value = l.is_switch() ? (l.get(c.verify) ? "true" : "false")
                                      : std::to_string(l.get(c.verify));
    std::string text;
    if (l.key == "max_signatures" && !conf->get("MaximumSignaturesToVerify"))
      text = "# differs: dkimkit-milter's default is " + std::to_string(l.get(defaults)) +
             "; OpenDKIM's " + value + " is kept\n";
    text += std::string(l.key) + " = " + value + "\n";
    if (l.table == "dns")
      w.out += text;
    else if (l.table == "limits")
      limits += text;
  }
  if (c.max_forged_auth_results != config{}.max_forged_auth_results)
    limits += "max_forged_auth_results = " + std::to_string(c.max_forged_auth_results) + "\n";
  if (!limits.empty()) w.out += "\n[limits]\n" + limits;

  w.out += "\n[policy]\n";
  w.line("on_no_pass", w.q(action_name(c.on_no_pass)));
  w.line("on_dns_error", w.q(action_name(c.on_dns_error)));
  w.line("on_internal_error", w.q(action_name(c.on_internal_error)));
  w.line("on_forged_auth_results", w.q(action_name(c.on_forged_auth_results)));
  if (c.remove_auth_results != ar_removal::all)
    w.comment("differs: dkimkit-milter's default is \"all\" (both directions); " +
              origin(*conf, "RemoveARAll") + " is kept: verified mail only");
  w.line("remove_auth_results", w.q(to_string(c.remove_auth_results)));
  if (!c.always_add_auth_results)
    w.comment("differs: dkimkit-milter's default is \"always\"; " +
              origin(*conf, "AlwaysAddARHeader") + " is kept: no field on unsigned mail");
  w.line("add_auth_results", w.q(c.always_add_auth_results ? "always" : "signed"));
  if (w.failed) return tl::unexpected(error{w.failed->code, path + ": " + w.failed->detail});
  return w.out;
}

}  // namespace dkimkit::milter
