// Which clients' mail is signed, and which connections are skipped, by OpenDKIM's rules
// (opendkim.conf(5) InternalHosts, PeerList, MTA, MacroList; opendkim(8) mlfi_connect/mlfi_eoh):
// host lists, MTA daemon names and MTA macros, for the TOML configuration and the OpenDKIM one.
//
//   auto hosts = dkimkit::milter::load_host_set({"127.0.0.1", ".example.com", "!10.1.2.3"});
//   bool internal = hosts && hosts->list.matches("mail.example.com", "192.0.2.1");
//   bool sign = dkimkit::milter::signing_origin(cfg, internal, authenticated, &macros);
//
// Everything here is a plain value; nothing is read after loading.
#pragma once

#include <cstddef>
#include <dkimkit/error.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opendkim_conf.hpp"

namespace dkimkit::milter {

struct config;
struct network;

// A host list as configured ([sign] internal_hosts, skip_hosts; OpenDKIM's InternalHosts,
// PeerList): host names, ".domain" suffixes, addresses, networks, "!" exclusions, matched as
// opendkim::host_list says.
struct host_set {
  std::string file;                  // the data set as written ("/path", "file:/path") if a file
  std::vector<std::string> entries;  // the entries in the order written (of the file too)
  opendkim::host_list list;
};

// A host set from listed entries, or from a data set reference (a file: "/path" or
// "file:/path", one entry a line; or "csl:a,b"). Errors name the entry or the file and line.
[[nodiscard]] result<host_set> load_host_set(const std::vector<std::string>& entries);
[[nodiscard]] result<host_set> load_host_set(std::string_view data_set_value);

// The networks of a host set whose entries are all plain addresses or networks (no names, no
// "!"; "[192.0.2.1]" counts): what internal_networks would hold. Empty otherwise.
[[nodiscard]] std::vector<network> plain_networks(const host_set& hosts);

// One MacroList entry: "name" (the macro must be set, to any value) or "name=v1|v2" (set to one
// of the values, compared case-sensitively). The name is written without braces.
struct macro_rule {
  std::string name;
  std::vector<std::string> values;  // empty: any value
};

// At most this many macro rules (OpenDKIM asks the MTA for them in one list of 1024 bytes).
inline constexpr std::size_t max_macro_rules = 100;

// One entry as OpenDKIM's comma-separated form has it ("name", "name=v1|v2"; blanks around the
// name and each value removed, empty values dropped). Nullopt for an entry OpenDKIM drops: one
// with "=" but no value ("name=", "name=|"). An error for an empty name, or one with braces or
// blanks in it (the macro could never be set).
[[nodiscard]] result<std::optional<macro_rule>> parse_macro_rule(std::string_view entry);
// A MacroList data set: "csl:a,b=x|y" (or a list without "csl:"), or a file ("/path",
// "file:/path") of lines "name [v1|v2]" ("#" comments). refile: and databases are refused, so is
// a list with no rule (OpenDKIM would crash on it). Errors name the file and line.
[[nodiscard]] result<std::vector<macro_rule>> load_macro_rules(std::string_view data_set_value);
// The same rule written back as one entry ("name=v1|v2").
[[nodiscard]] std::string to_string(const macro_rule& rule);

// The MTA's macros a signing decision reads, by name as smfi_getsymval() takes it ("{auth_type}");
// an absent macro is not listed (an empty value is a value).
using macro_values = std::map<std::string, std::string, std::less<>>;

// The macros to ask the MTA for at the end of the header: {auth_type}, then {daemon_name} when
// daemon_names is set, then each of sign_macros' names.
[[nodiscard]] std::vector<std::string> wanted_macros(const config& cfg);
// The list OpenDKIM requests with smfi_setsymlist(SMFIM_EOH) when MacroList is set ("i
// {daemon_name} {auth_type} {name}..."); empty when `rules` is.
[[nodiscard]] std::string requested_macro_list(const std::vector<macro_rule>& rules);
// OpenDKIM's buffer for that list: a longer one makes it refuse every connection, so a
// configuration whose list is longer is refused (check_macro_rules()).
inline constexpr std::size_t max_macro_request_bytes = 1023;
[[nodiscard]] result<void> check_macro_rules(const std::vector<macro_rule>& rules);

// Whether a message's source is one whose mail is signed (OpenDKIM 2.11's mlfi_eoh, in order):
//  1. daemon_names set and {daemon_name} one of them (case-sensitive): yes so far;
//  2. then each sign_macros rule in order whose macro the MTA set decides afresh: yes when some
//     rule of that name allows its value (so the last macro set decides, and may undo step 1);
//  3. if not yet: an internal client, or an authenticated one ({auth_type} not empty) when
//     sign_authenticated.
// `macros` null: no macro is known (steps 1 and 2 never say yes).
[[nodiscard]] bool signing_origin(const config& cfg, bool internal, bool authenticated,
                                  const macro_values* macros);

}  // namespace dkimkit::milter
