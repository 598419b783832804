#include "opendkim_conf.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

namespace dkimkit::milter::opendkim {
namespace {

using enum value_kind;
using enum support;

// Every setting of opendkim.conf(5), OpenDKIM 2.11, and those Debian 12's build (2.11.0~beta2)
// also knows (ATPS, X-Header), sorted case-insensitively. Settings compiled out of Debian's
// build (Reputation*, FlowData*, RateLimits, ConditionalSignatures, DefaultSender,
// LuaOnlySigning) are unknown to it and so here too: refused as unknown settings.
constexpr setting_info table[] = {
    {"AllowSHA1Only", boolean, refused, "rsa-sha1 is refused by RFC 8301; no switch for it"},
    {"AlwaysAddARHeader", boolean, supported,
     "policy add_auth_results: \"always\" when yes, else \"signed\" (no field on unsigned mail)"},
    {"ATPSDomains", dataset, refused, "no ATPS (RFC 6541, experimental)"},
    {"ATPSHashAlgorithm", string, refused, "no ATPS (RFC 6541, experimental)"},
    {"AuthservID", string, supported, "authserv_id"},
    {"AuthservIDWithJobID", boolean, refused, "authserv-id is never decorated"},
    {"AutoRestart", boolean, ignored, "restarts are systemd's job (Restart=)"},
    {"AutoRestartCount", integer, ignored, "restarts are systemd's job (StartLimitBurst=)"},
    {"AutoRestartRate", string, ignored, "restarts are systemd's job (StartLimitIntervalSec=)"},
    {"Background", boolean, ignored, "dkimkit-milter runs in the foreground under systemd"},
    {"BaseDirectory", string, refused, "not mapped: write absolute paths"},
    {"BodyLengthDB", dataset, refused, "dkimkit never signs with l="},
    {"BogusKey", string, refused, "no per-result override"},
    {"Canonicalization", string, supported, "sign.canonicalization"},
    {"CaptureUnknownErrors", boolean, refused, "no quarantine"},
    {"ChangeRootDirectory", string, refused, "no chroot; use systemd's RootDirectory="},
    {"ClockDrift", integer, supported, "limits max_clock_skew"},
    {"DiagnosticDirectory", string, refused, "no z= diagnostics"},
    {"Diagnostics", boolean, refused, "dkimkit never signs with z="},
    {"DisableCryptoInit", boolean, ignored, "OpenSSL 3 needs no set-up"},
    {"DNSConnect", boolean, ignored, "the resolver chooses UDP or TCP"},
    {"DNSTimeout", integer, supported, "dns timeout"},
    {"Domain", dataset, supported, "sign.keys domain"},
    {"DomainKeysCompat", boolean, refused, "DomainKeys (RFC 4870) keys are not read"},
    {"DontSignMailTo", dataset, refused, "no per-recipient signing"},
    {"EnableCoredumps", boolean, ignored, "core dumps are systemd's setting"},
    {"ExemptDomains", dataset, refused, "no per-sender exemption"},
    {"ExternalIgnoreList", dataset, ignored, "checked as a host list; it only silences OpenDKIM's \"external host ... attempted to send as\" log line, which dkimkit-milter never writes"},
    {"FinalPolicyScript", string, refused, "no Lua"},
    {"FixCRLF", boolean, refused, "bare CR and LF are canonicalized as RFC 6376 says"},
    {"IdentityHeader", string, refused, "not in OpenDKIM's default build either"},
    {"IdentityHeaderRemove", boolean, refused, "not in OpenDKIM's default build either"},
    {"IgnoreMalformedMail", boolean, refused, "malformed mail is handled by the milter's policy"},
    {"Include", include, supported, "read in place"},
    {"InternalHosts", dataset, supported, "sign.internal_hosts (names, .domains, addresses, networks, \"!\")"},
    {"KeepAuthResults", boolean, refused, "no switch for it"},
    {"KeepTemporaryFiles", boolean, ignored, "dkimkit writes no temporary files"},
    {"KeyFile", string, supported, "sign.keys key_file"},
    {"KeyTable", dataset, supported, "sign.keys (file or refile only)"},
    {"LDAPAuthMechanism", string, refused, "no LDAP data sets"},
    {"LDAPAuthName", string, refused, "no LDAP data sets"},
    {"LDAPAuthRealm", string, refused, "no LDAP data sets"},
    {"LDAPAuthUser", string, refused, "no LDAP data sets"},
    {"LDAPBindPassword", string, refused, "no LDAP data sets"},
    {"LDAPBindUser", string, refused, "no LDAP data sets"},
    {"LDAPDisableCache", boolean, refused, "no LDAP data sets"},
    {"LDAPKeepaliveIdle", integer, refused, "no LDAP data sets"},
    {"LDAPKeepaliveInterval", integer, refused, "no LDAP data sets"},
    {"LDAPKeepaliveProbes", integer, refused, "no LDAP data sets"},
    {"LDAPTimeout", integer, refused, "no LDAP data sets"},
    {"LDAPUseTLS", boolean, refused, "no LDAP data sets"},
    {"LogResults", boolean, ignored, "logging differs"},
    {"LogWhy", boolean, ignored, "dkimkit always logs why"},
    {"MacroList", dataset, supported, "sign.macros (file or list)"},
    {"MaximumHeaders", integer, supported, "limits max_header_bytes"},
    {"MaximumSignaturesToVerify", integer, supported, "limits max_signatures"},
    {"MaximumSignedBytes", integer, refused, "dkimkit never signs with l="},
    {"MilterDebug", integer, ignored, "libmilter debugging only"},
    {"Minimum", string, refused, "l= is never trusted partially"},
    {"MinimumKeyBits", integer, supported, "rfc8301_min_rsa_bits"},
    {"Mode", string, supported, "mode"},
    {"MTA", dataset, supported, "sign.daemon_names ({daemon_name})"},
    {"MTACommand", string, refused, "dkimkit sends no mail"},
    {"MultipleSignatures", boolean, supported, "every matching SigningTable row signs"},
    {"MustBeSigned", dataset, refused, "no per-field signing requirement"},
    {"Nameservers", string, supported, "dns"},
    {"NoHeaderB", boolean, refused, "no switch for it"},
    {"OmitHeaders", dataset, supported,
     "sign omit_headers (\"*\", \"+\" and \"-\" as in 2.11; names and * only)"},
    {"On-BadSignature", string, supported, "policy action"},
    {"On-Default", string, supported, "policy action"},
    {"On-DNSError", string, supported, "policy action"},
    {"On-InternalError", string, supported, "policy action"},
    {"On-KeyNotFound", string, supported, "policy action"},
    {"On-NoSignature", string, supported, "policy action"},
    {"On-Security", string, supported, "policy action"},
    {"On-SignatureError", string, supported, "policy action"},
    {"OversignHeaders", dataset, supported, "sign oversign_headers"},
    {"PeerList", dataset, supported, "skip_hosts"},
    {"PidFile", string, supported, "pid_file"},
    {"POPDBFile", dataset, refused, "no POP-before-SMTP"},
    {"Quarantine", boolean, refused, "no quarantine"},
    {"QueryCache", boolean, ignored, "the resolver caches"},
    {"RedirectFailuresTo", string, refused, "no redirection"},
    {"RemoveARAll", boolean, supported,
     "policy remove_auth_results: \"any_result\" when yes, else \"dkim\""},
    {"RemoveARFrom", dataset, refused, "no Authentication-Results removal"},
    {"RemoveOldSignatures", boolean, refused, "signatures are never removed"},
    {"ReplaceHeaders", dataset, refused, "no header rewriting"},
    {"ReplaceRules", string, refused, "no header rewriting"},
    {"ReportAddress", string, refused, "no failure reports"},
    {"ReportBccAddress", string, refused, "no failure reports"},
    {"RequestReports", boolean, refused, "no failure reports"},
    {"RequiredHeaders", boolean, refused, "no RFC 5322 header count check"},
    {"RequireSafeKeys", boolean, supported, "key file permission check"},
    {"ResignAll", boolean, refused, "no re-signing"},
    {"ResignMailTo", dataset, refused, "no re-signing"},
    {"ResolverConfiguration", string, refused, "not mapped: use Nameservers and TrustAnchorFile"},
    {"ResolverTracing", boolean, ignored, "debugging only"},
    {"ScreenPolicyScript", string, refused, "no Lua"},
    {"SelectCanonicalizationHeader", string, refused, "no per-message canonicalization"},
    {"Selector", string, supported, "sign.keys selector"},
    {"SenderHeaders", dataset, supported, "sign sender_headers"},
    {"SenderMacro", string, refused, "the From field decides"},
    {"SendReports", boolean, refused, "no failure reports"},
    {"SetupPolicyScript", string, refused, "no Lua"},
    {"SignatureAlgorithm", string, supported, "sign.keys algorithm (rsa-sha1 refused: RFC 8301)"},
    {"SignatureTTL", integer, supported, "sign.expire_after"},
    {"SignHeaders", dataset, supported,
     "sign sign_headers (\"*\", \"+\" and \"-\" as in 2.11; names and * only)"},
    {"SigningTable", dataset, supported, "sign.keys (file or refile only)"},
    {"SMTPURI", string, refused, "dkimkit sends no mail"},
    {"Socket", string, supported, "socket (local: and inet: forms)"},
    {"SoftStart", boolean, ignored, "only for SQL and LDAP data sets, which are refused"},
    {"SoftwareHeader", boolean, ignored, "no DKIM-Filter field is added"},
    {"Statistics", string, refused, "no statistics"},
    {"StatisticsName", string, refused, "no statistics"},
    {"StatisticsPolicyScript", string, refused, "no Lua"},
    {"StatisticsPrefix", string, refused, "no statistics"},
    {"StrictHeaders", boolean, refused, "no RFC 5322 header count check"},
    {"StrictTestMode", boolean, ignored, "test mode (-t) only"},
    {"SubDomains", boolean, supported, "sign subdomains"},
    {"Syslog", boolean, ignored, "dkimkit-milter logs to the journal"},
    {"SyslogFacility", string, ignored, "dkimkit-milter logs to the journal"},
    {"SyslogName", string, ignored, "dkimkit-milter logs to the journal"},
    {"SyslogSuccess", boolean, ignored, "dkimkit-milter logs to the journal"},
    {"TemporaryDirectory", string, ignored, "dkimkit writes no temporary files"},
    {"TestDNSData", dataset, refused, "testing only"},
    {"TestPublicKeys", string, refused, "testing only"},
    {"TrustAnchorFile", string, supported, "dns trust anchor"},
    {"TrustSignaturesFrom", dataset, refused, "every signature is reported"},
    {"UMask", integer, supported, "socket_mode (0777 & ~UMask, others never)"},
    {"UnprotectedKey", string, refused, "no per-result override"},
    {"UserID", string, supported, "user, group (the switch once the socket is open)"},
    {"VBR-Certifiers", string, refused, "no VBR"},
    {"VBR-PurgeFields", string, refused, "no VBR"},
    {"VBR-TrustedCertifiers", string, refused, "no VBR"},
    {"VBR-TrustedCertifiersOnly", boolean, refused, "no VBR"},
    {"VBR-Type", string, refused, "no VBR"},
    {"WeakSyntaxChecks", boolean, refused, "no switch for it"},
    {"X-Header", boolean, ignored, "no DKIM-Filter field is added"},
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string_view trim(std::string_view s, bool (*blank)(char)) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string where(const std::string& file, unsigned line) {
  return file + ":" + std::to_string(line) + ": ";
}

constexpr std::size_t max_conf_bytes = 1 << 20;   // one configuration file
constexpr std::size_t max_list_bytes = 16 << 20;  // one host list file
constexpr std::size_t max_list_line = 1023;       // OpenDKIM reads 1024-byte lines
constexpr int max_include_depth = 5;
constexpr std::size_t max_conf_files =
    256;  // files read, Includes counted each time              // opendkim.conf(5), Include

// The lines of a file's text, numbered from 1; the last one may lack its newline.
struct line_reader {
  std::string_view rest;
  unsigned number = 0;
  bool next(std::string_view& line) {
    if (rest.empty()) return false;
    ++number;
    std::size_t nl = rest.find('\n');
    line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    return true;
  }
};

struct reader {
  const parse_options& options;
  conf out;
  std::vector<std::string> open_files;  // real paths of the files being read, outermost first
  std::size_t files_read = 0, total_bytes = 0;

  result<void> read(const std::string& path, int depth) {
    std::string resolved = path;
    if (!path.empty() && path.front() != '/' && !options.working_directory.empty())
      resolved = options.working_directory + "/" + path;
    char real[PATH_MAX];
    std::string id = ::realpath(resolved.c_str(), real) ? std::string(real) : resolved;
    if (std::find(open_files.begin(), open_files.end(), id) != open_files.end())
      return fail(errc::invalid_argument, path + ": Include loop (the file includes itself)");
    auto text = read_bounded_file(resolved, max_conf_bytes);
    if (!text) return tl::unexpected(text.error());
    // Includes may repeat a file without looping: bound what all of them read together.
    total_bytes += text->size();
    if (++files_read > max_conf_files || total_bytes > max_conf_bytes * 4)
      return fail(errc::invalid_argument, path + ": the configuration and its Includes exceed " +
                                              std::to_string(max_conf_files) + " files or " +
                                              std::to_string(max_conf_bytes * 4) + " bytes");
    open_files.push_back(id);
    line_reader lines{*text};
    for (std::string_view line; lines.next(line);) {
      unsigned line_no = lines.number;
      if (line.find('\0') != std::string_view::npos)
        return fail(errc::invalid_argument, where(path, line_no) + "NUL byte in the line");
      line = line.substr(0, std::min(line.find('#'), line.find('\r')));
      line = trim(line, is_blank);
      if (line.empty()) continue;
      std::size_t gap = std::min(line.find(' '), line.find('\t'));
      std::string_view name = line.substr(0, gap);
      std::string_view value =
          gap == std::string_view::npos ? std::string_view{} : trim(line.substr(gap), is_blank);
      const setting_info* info = find_setting(name);
      if (!info)
        return fail(errc::invalid_argument,
                    where(path, line_no) + std::string(name) +
                        ": unknown setting (opendkim.conf(5) has none of this name)");
      std::string here = where(path, line_no) + std::string(info->name) + ": ";
      if (value.empty()) return fail(errc::invalid_argument, here + "no value");
      if (info->kind == boolean) {
        if (auto b = parse_boolean(value); !b)
          return fail(errc::invalid_argument, here + b.error().detail);
      } else if (info->kind == integer) {
        if (auto n = parse_integer(value); !n)
          return fail(errc::invalid_argument, here + n.error().detail);
      } else if (info->kind == include) {
        if (depth + 1 > max_include_depth)
          return fail(errc::invalid_argument, here + "Include nested deeper than " +
                                                  std::to_string(max_include_depth) + " levels");
        auto r = read(std::string(value), depth + 1);
        if (!r) {
          // Say where the Include stands, then what went wrong inside.
          return fail(r.error().code, here + r.error().detail);
        }
        continue;
      }
      if (const setting* before = out.get(info->name))
        out.warnings.push_back(here + "set again (first at " + before->file + ":" +
                               std::to_string(before->line) + "); the last one counts");
      out.settings.push_back({std::string(info->name), std::string(value), path, line_no});
    }
    open_files.pop_back();
    return {};
  }
};

// The text form OpenDKIM generates for an address, lowercase ("192.0.2.1", "2001:db8::1").
std::optional<std::string> canonical_address(int family, const unsigned char* bytes) {
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(family, bytes, buf, sizeof buf)) return std::nullopt;
  return lowercase(buf);
}

void clear_host_bits(unsigned char* bytes, std::size_t len, unsigned prefix) {
  for (std::size_t i = 0; i < len; ++i) {
    unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= prefix)
      bytes[i] = 0;
    else if (prefix - first_bit < 8)
      bytes[i] &= static_cast<unsigned char>(0xff << (8 - (prefix - first_bit)));
  }
}

bool looks_numeric_v4(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789.") == std::string_view::npos;
}

}  // namespace

result<std::string> read_bounded_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit)
      return fail(errc::invalid_argument,
                  path + ": larger than " + std::to_string(limit) + " bytes");
  }
  if (in.bad()) return fail(errc::io_error, path + ": read error");
  return text;
}

std::span<const setting_info> settings_table() noexcept { return table; }

const setting_info* find_setting(std::string_view name) noexcept {
  for (const setting_info& s : table)
    if (iequals(s.name, name)) return &s;
  return nullptr;
}

std::string_view to_string(value_kind kind) noexcept {
  switch (kind) {
    case boolean:
      return "Boolean";
    case integer:
      return "integer";
    case string:
      return "string";
    case dataset:
      return "dataset";
    case include:
      return "include";
  }
  return "?";
}

std::string_view to_string(support status) noexcept {
  switch (status) {
    case supported:
      return "supported";
    case ignored:
      return "ignored";
    case refused:
      return "refused";
  }
  return "?";
}

const setting* conf::get(std::string_view name) const noexcept {
  for (auto it = settings.rbegin(); it != settings.rend(); ++it)
    if (iequals(it->name, name)) return &*it;
  return nullptr;
}

result<conf> parse_opendkim_conf(const std::string& path, const parse_options& options) {
  reader r{options, {}, {}, 0, 0};
  if (auto ok = r.read(path, 0); !ok) return tl::unexpected(ok.error());
  return std::move(r.out);
}

result<bool> parse_boolean(std::string_view value) {
  if (!value.empty()) {
    switch (value.front()) {
      case 'T':
      case 't':
      case 'Y':
      case 'y':
      case '1':
        return true;
      case 'F':
      case 'f':
      case 'N':
      case 'n':
      case '0':
        return false;
      default:
        break;
    }
  }
  return fail(errc::invalid_argument,
              "'" + std::string(value) + "' is not a boolean (yes/no, true/false, 1/0)");
}

result<long> parse_integer(std::string_view value) {
  std::string text(value);
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(text.c_str(), &end, 0);
  if (text.empty() || *end != '\0' || errno == ERANGE || n < INT_MIN || n > INT_MAX)
    return fail(errc::invalid_argument, "'" + text + "' is not an integer");
  return n;
}

result<data_set> parse_data_set(std::string_view value) {
  std::size_t colon = value.find(':');
  std::size_t comma = value.find(',');
  if (comma < colon) colon = std::string_view::npos;  // a list whose later entries hold colons
  data_set out;
  std::string_view rest = value;
  if (colon == std::string_view::npos) {
    if (value.size() >= 3 && value.substr(value.size() - 3) == ".db")
      return fail(errc::unsupported,
                  "'" + std::string(value) +
                      "' names a Berkeley DB file, which dkimkit-milter does not read: dump it "
                      "to a flat file (one \"key value\" per line) and name that file instead");
    out.type = !value.empty() && value.front() == '/' ? data_set::type::file : data_set::type::csl;
  } else {
    std::string scheme = lowercase(value.substr(0, colon));
    rest = value.substr(colon + 1);
    if (scheme == "file")
      out.type = data_set::type::file;
    else if (scheme == "refile")
      out.type = data_set::type::refile;
    else if (scheme == "csl")
      out.type = data_set::type::csl;
    else {
      static constexpr std::pair<std::string_view, std::string_view> databases[] = {
          {"db", "a Berkeley DB file"},       {"dsn", "an SQL database"},
          {"ldap", "an LDAP directory"},      {"ldaps", "an LDAP directory"},
          {"ldapi", "an LDAP directory"},     {"lua", "a Lua script"},
          {"memcache", "a memcached server"}, {"redis", "a Redis server"},
          {"erlang", "an Erlang node"},       {"mdb", "an LMDB database"},
          {"socket", "a socket service"},
      };
      for (const auto& [name, what] : databases)
        if (scheme == name)
          return fail(errc::unsupported,
                      "data set type '" + scheme + ":' (" + std::string(what) +
                          ") is not supported by dkimkit-milter: put the data in a flat file "
                          "and name it as file:/path (or /path), use refile:/path for "
                          "wildcard patterns, or list the entries as csl:a,b");
      return fail(errc::invalid_argument,
                  "unknown data set type '" + scheme +
                      ":' (opendkim(8) knows file:, refile:, csl: and database types)");
    }
  }
  if (out.type == data_set::type::csl) {
    while (!rest.empty()) {
      std::size_t c = rest.find(',');
      std::string_view item = rest.substr(0, c);
      rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
      std::size_t eq = item.find('=');
      std::string_view key = trim(item.substr(0, eq), is_space);
      std::string_view val =
          eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1), is_space);
      if (key.empty() && val.empty()) continue;
      out.entries.push_back({std::string(key), std::string(val)});
    }
  } else {
    out.path = std::string(rest);
    if (out.path.empty())
      return fail(errc::invalid_argument, "'" + std::string(value) + "' names no file");
  }
  return out;
}

bool host_list::has(std::string_view key, bool negated) const {
  std::string k;
  k.reserve(key.size() + 1);
  if (negated) k.push_back('!');
  k.append(key);
  return entries_.count(k) != 0;
}

result<void> host_list::add(std::string_view entry) {
  std::string key = lowercase(trim(entry, is_space));
  std::string_view body = key;
  if (!body.empty() && body.front() == '!') body.remove_prefix(1);
  if (body.empty()) return fail(errc::invalid_argument, "empty host list entry");
  std::string_view addr = body, prefix_text;
  if (std::size_t slash = body.find('/'); slash != std::string_view::npos) {
    addr = body.substr(0, slash);
    prefix_text = body.substr(slash + 1);
  }
  bool bracketed = addr.size() >= 2 && addr.front() == '[' && addr.back() == ']';
  if (bracketed) addr = addr.substr(1, addr.size() - 2);
  bool has_prefix = body.find('/') != std::string_view::npos;
  bool v6 = addr.find(':') != std::string_view::npos;
  if (has_prefix || v6 || looks_numeric_v4(addr)) {
    // An address or a network: OpenDKIM compares the text with the forms it generates, so an
    // entry in any other form can never match.
    int family = v6 ? AF_INET6 : AF_INET;
    unsigned max_prefix = v6 ? 128 : 32;
    unsigned char bytes[16] = {};
    std::string a(addr);
    bool ok = ::inet_pton(family, a.c_str(), bytes) == 1;
    unsigned prefix = max_prefix;
    if (ok && has_prefix) {
      ok = !prefix_text.empty() && prefix_text.size() <= 3 &&
           prefix_text.find_first_not_of("0123456789") == std::string_view::npos &&
           (prefix_text.size() == 1 || prefix_text.front() != '0');
      if (ok) prefix = static_cast<unsigned>(std::stoul(std::string(prefix_text)));
      ok = ok && prefix <= max_prefix;
    }
    if (!ok)
      return fail(errc::invalid_argument,
                  "'" + std::string(entry) + "' is not an " + (v6 ? "IPv6" : "IPv4") +
                      " address or network (write 192.0.2.0/24 or 2001:db8::/32)");
    clear_host_bits(bytes, v6 ? 16 : 4, prefix);
    auto canon = canonical_address(family, bytes);
    std::string want = *canon;
    if (has_prefix) want += "/" + std::to_string(prefix);
    std::string got = std::string(addr) + (has_prefix ? "/" + std::string(prefix_text) : "");
    if (got != want)
      return fail(errc::invalid_argument,
                  "'" + std::string(entry) + "' would never match (OpenDKIM compares addresses " +
                      "in their usual text form): write " + (key.front() == '!' ? "!" : "") + want);
  }
  if (entries_.size() >= max_host_list_entries)
    return fail(errc::invalid_argument,
                "more than " + std::to_string(max_host_list_entries) + " host list entries");
  entries_.insert(std::move(key));
  return {};
}

bool host_list::matches(std::string_view host_name, std::string_view ip) const {
  // By name: the name, then each "." suffix.
  std::string name = lowercase(host_name);
  for (std::size_t at = 0; at < name.size() && !name.empty();) {
    std::string_view p = std::string_view(name).substr(at);
    if (has(p, true)) break;
    if (has(p, false)) return true;
    at = name.find('.', at + 1);
    if (at == std::string::npos) break;
  }
  // By address: the address, then its networks from the longest prefix down to /0.
  unsigned char bytes[16] = {};
  std::string text(ip);
  int family = AF_INET;
  if (::inet_pton(AF_INET, text.c_str(), bytes) != 1) {
    family = AF_INET6;
    if (::inet_pton(AF_INET6, text.c_str(), bytes) != 1) return false;
  }
  std::size_t len = family == AF_INET ? 4 : 16;
  unsigned bits = family == AF_INET ? 32 : 128;
  auto canon = canonical_address(family, bytes);
  if (!canon) return false;
  // Returns 1 for a match, 0 for a "!" match, -1 for neither.
  auto look = [&](const std::string& key) {
    if (has(key, true)) return 0;
    if (has(key, false)) return 1;
    return -1;
  };
  if (int r = look(*canon); r >= 0) return r == 1;
  if (int r = look("[" + *canon + "]"); r >= 0) return r == 1;
  for (unsigned prefix = bits + 1; prefix-- > 0;) {
    clear_host_bits(bytes, len, prefix);
    auto net = canonical_address(family, bytes);
    if (!net) return false;
    std::string suffix = "/" + std::to_string(prefix);
    if (int r = look(*net + suffix); r >= 0) return r == 1;
    if (int r = look("[" + *net + "]" + suffix); r >= 0) return r == 1;
  }
  return false;
}

bool host_list::matches(std::string_view host_name, const sockaddr* ip) const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip && ip->sa_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ip)->sin_addr, buf, sizeof buf);
  else if (ip && ip->sa_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ip)->sin6_addr, buf, sizeof buf);
  return matches(host_name, std::string_view(buf));
}

result<host_list> load_host_list(std::string_view value, std::vector<std::string>* entries) {
  auto ds = parse_data_set(value);
  if (!ds) return tl::unexpected(ds.error());
  host_list out;
  if (ds->type == data_set::type::csl) {
    for (const auto& e : ds->entries) {
      if (auto ok = out.add(e.key); !ok) return tl::unexpected(ok.error());
      if (entries) entries->push_back(e.key);
    }
    return out;
  }
  if (ds->type == data_set::type::refile)
    return fail(errc::unsupported,
                "refile: patterns do not apply to host lists: list the hosts, .domains and "
                "networks (192.0.2.0/24) in a flat file and name it as file:" +
                    ds->path);
  auto text = read_bounded_file(ds->path, max_list_bytes);
  if (!text) return tl::unexpected(text.error());
  line_reader lines{*text};
  for (std::string_view line; lines.next(line);) {
    unsigned line_no = lines.number;
    if (line.size() > max_list_line)
      return fail(errc::invalid_argument, where(ds->path, line_no) + "line longer than " +
                                              std::to_string(max_list_line) + " bytes");
    if (line.find('\0') != std::string_view::npos)
      return fail(errc::invalid_argument, where(ds->path, line_no) + "NUL byte in the line");
    line = trim(line.substr(0, line.find('#')), is_space);
    if (line.empty()) continue;
    std::string_view key = line.substr(
        0,
        static_cast<std::size_t>(std::find_if(line.begin(), line.end(), is_space) - line.begin()));
    if (auto ok = out.add(key); !ok)
      return fail(ok.error().code, where(ds->path, line_no) + ok.error().detail);
    if (entries) entries->emplace_back(key);
  }
  return out;
}

result<host_list> load_host_list(const setting& s) {
  auto list = load_host_list(s.value);
  if (!list)
    return fail(list.error().code, where(s.file, s.line) + s.name + ": " + list.error().detail);
  return list;
}

host_list default_internal_hosts() {
  host_list out;
  (void)out.add("127.0.0.1");
  return out;
}

}  // namespace dkimkit::milter::opendkim
