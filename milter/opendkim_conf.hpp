// OpenDKIM's configuration files read as OpenDKIM reads them (opendkim.conf(5), opendkim(8)):
// the file syntax with Include, every setting opendkim.conf(5) lists (with what dkimkit-milter
// makes of it), data set references and host lists (InternalHosts, ExternalIgnoreList, PeerList).
//
//   auto conf = dkimkit::milter::opendkim::parse_opendkim_conf("/etc/opendkim.conf");
//   const auto* s = conf ? conf->get("InternalHosts") : nullptr;
//   auto hosts = s ? load_host_list(*s) : dkimkit::milter::opendkim::default_internal_hosts();
//
// opendkim_map.hpp maps the settings onto dkimkit-milter's own configuration. The settings
// table is static; everything else is a plain value.
#pragma once

#include <cstddef>
#include <dkimkit/error.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

struct sockaddr;

namespace dkimkit::milter::opendkim {

// ---- The settings opendkim.conf(5) lists ----

// The type opendkim.conf(5) gives a setting ("(Boolean)", "(integer)", ...). A boolean or an
// integer is checked when the file is read, as OpenDKIM does; the others are strings.
enum class value_kind { boolean, integer, string, dataset, include };

// What dkimkit-milter does with a setting found in the file.
enum class support {
  supported,  // to be mapped onto dkimkit-milter's configuration
  ignored,    // read and ignored with a warning: ignoring it is safe (`reason` says why)
  refused,    // start-up error: dkimkit-milter cannot do it, and ignoring it is not safe
};

struct setting_info {
  std::string_view name;  // as opendkim.conf(5) spells it ("InternalHosts")
  value_kind kind = value_kind::string;
  support status = support::refused;
  std::string_view reason;  // why ignored or refused, or what the mapping is ("" if obvious)
};

// Every setting opendkim.conf(5) (OpenDKIM 2.11) lists, and those of Debian 12's build, sorted by
// name (case-insensitively).
[[nodiscard]] std::span<const setting_info> settings_table() noexcept;
// The entry named `name`, compared case-insensitively; null when opendkim.conf(5) has none.
[[nodiscard]] const setting_info* find_setting(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(value_kind kind) noexcept;
[[nodiscard]] std::string_view to_string(support status) noexcept;

// ---- The file ----

struct setting {
  std::string name;   // canonical case, from settings_table() ("InternalHosts")
  std::string value;  // without surrounding blanks; never empty
  std::string file;   // the file it was read from (an Include's path as written)
  unsigned line = 0;
};

struct conf {
  // In reading order, an included file's settings where its Include stands. Include lines
  // themselves are not listed. A setting may appear more than once.
  std::vector<setting> settings;
  // Things worth saying at start-up that do not stop it (a setting given twice).
  std::vector<std::string> warnings;

  // The setting in force: OpenDKIM uses the last occurrence in reading order. Null if absent.
  [[nodiscard]] const setting* get(std::string_view name) const noexcept;
};

struct parse_options {
  // Where a relative Include path is looked up. OpenDKIM opens it as given, that is against the
  // working directory of the process; empty means just that.
  std::string working_directory;
};

// Lines are "Name value"; names are case-insensitive; "#" starts a comment, a CR ends the line;
// blank lines are skipped. Errors name FILE:LINE and the setting: an unknown setting, a missing
// value, a bad boolean or integer, an Include nested deeper than five levels (OpenDKIM's limit),
// an Include loop, an unreadable or oversized file.
[[nodiscard]] result<conf> parse_opendkim_conf(const std::string& path,
                                               const parse_options& options = {});

// OpenDKIM's booleans: only the first byte counts. True: T t Y y 1; false: F f N n 0 (so "yes",
// "True" and "no" work). Anything else is an error.
[[nodiscard]] result<bool> parse_boolean(std::string_view value);
// OpenDKIM's integers: strtol with base 0 ("007" is octal, "0x10" hex), the whole value, and
// within the range of an int.
[[nodiscard]] result<long> parse_integer(std::string_view value);

// ---- Data sets (opendkim(8), DATA SETS) ----

struct data_set {
  enum class type { file, refile, csl };
  struct entry {
    std::string key;
    std::string value;  // "" when the entry has none ("x=y" in a list; "key value" in a file)
  };
  data_set::type type = type::csl;
  std::string path;            // file and refile
  std::vector<entry> entries;  // csl: the list's elements, blanks around them removed
};

// Reads a data set reference as opendkim(8) does: "file:PATH", "refile:PATH", "csl:a,b"; with no
// "type:" prefix (or a comma before the first colon) a value starting with "/" is a file and
// anything else a comma-separated list. A name ending in ".db" (Berkeley DB) and the database
// types ("db:", "dsn:", "ldap:", "ldaps:", "ldapi:", "lua:", "memcache:", "redis:", "erlang:",
// "mdb:", "socket:") are refused with a message saying what to use instead; the message names
// only the type, never the rest (a DSN may hold a password).
[[nodiscard]] result<data_set> parse_data_set(std::string_view value);

// The whole file, or an error naming it when it cannot be opened or read ("PATH: cannot open:
// REASON") or holds more than `limit` bytes. Every file of an OpenDKIM configuration (the file,
// its Includes, host lists, macro lists, /etc/default/opendkim) is read through it.
[[nodiscard]] result<std::string> read_bounded_file(const std::string& path, std::size_t limit);

// ---- Host lists (InternalHosts, ExternalIgnoreList, PeerList) ----

// A set of host names, ".domain" suffixes, IPv4 and IPv6 addresses and CIDR networks, each of
// which "!" may negate, matched as OpenDKIM matches them (opendkim.conf(5), PeerList):
//  - the host name first: the name itself, then each of its "." suffixes, most specific first
//    ("mail.example.com", ".example.com", ".com"); at each step a "!" entry means no match
//    by name, a plain one a match;
//  - if the name did not match, the address: the address itself, then its networks from the
//    longest prefix to /0 ("192.0.2.1", "192.0.2.0/32" ... "0.0.0.0/0"); at each step a "!"
//    entry means no match, a plain one a match. Bracketed entries ("[192.0.2.1]") count too.
// So the more precise entry wins, and at the same precision "!" wins. A client reached over
// IPv6 is matched against IPv6 entries only, IPv4-mapped ones ("::ffff:192.0.2.0/120")
// included. Names and IPv6 addresses are compared without regard to case. A list holds at most
// max_host_list_entries entries; a match costs a bounded number of set look-ups (at most 520).
class host_list {
 public:
  // Whether a client called `host_name` (may be empty) at `ip` (text: "192.0.2.1", "2001:db8::1";
  // may be empty) is in the list.
  [[nodiscard]] bool matches(std::string_view host_name, std::string_view ip) const;
  // The same for an AF_INET or AF_INET6 address (any other family: the name alone).
  [[nodiscard]] bool matches(std::string_view host_name, const sockaddr* ip) const;

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  // Adds one entry ("!10.1.0.0/16", ".example.com"). An entry written as an address or network
  // that OpenDKIM could never match ("192.0.2.1/24", "192.0.2/24", "2001:0db8::/32";
  // "2001:DB8::/32" is fine) is an error saying what to write instead.
  result<void> add(std::string_view entry);

 private:
  bool has(std::string_view key, bool negated) const;
  std::unordered_set<std::string> entries_;  // lowercased, "!" kept
};

inline constexpr std::size_t max_host_list_entries = 100000;

// A host list from a data set value (a file with one entry per line, "#" comments, blank lines
// skipped, the first word of a line the entry; or a comma-separated list). refile: is refused
// (patterns do not apply to host lists). Errors name the file and line. `entries`, when given,
// receives the entries as written, in order.
[[nodiscard]] result<host_list> load_host_list(std::string_view data_set_value,
                                               std::vector<std::string>* entries = nullptr);
// The same for the value of a setting, errors also naming where the setting stands.
[[nodiscard]] result<host_list> load_host_list(const setting& s);
// InternalHosts when the file does not set it: 127.0.0.1 (opendkim.conf(5)).
[[nodiscard]] host_list default_internal_hosts();

}  // namespace dkimkit::milter::opendkim
