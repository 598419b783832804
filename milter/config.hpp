// dkimkit-milter's configuration: a TOML file, checked in full before anything starts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <dkimkit/error.hpp>
#include <dkimkit/key_rotation.hpp>
#include <dkimkit/replay.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/signing_table.hpp>
#include <dkimkit/verifier.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "header_rules.hpp"
#include "origin.hpp"

namespace dkimkit::milter {

enum class mode { sign, verify, both };
enum class action { accept, tempfail, reject };

// Which Authentication-Results fields claiming our authserv-id are removed ([policy]
// remove_auth_results): `all` of them, whichever the direction (RFC 8601 §5; the default); or, as
// OpenDKIM does, only on mail that is verified (none when signing), those holding a dkim result
// (`dkim`, OpenDKIM's default) or any result (`any_result`, OpenDKIM's RemoveARAll). A field
// counts only when parse_auth_results() reads it.
enum class ar_removal { all, dkim, any_result };
[[nodiscard]] std::string_view to_string(ar_removal r) noexcept;  // "all", "dkim", "any_result"
[[nodiscard]] std::optional<ar_removal> parse_ar_removal(std::string_view s) noexcept;

// A network in CIDR notation (IPv4 or IPv6).
struct network {
  int family = 0;               // AF_INET or AF_INET6
  unsigned char addr[16] = {};  // network byte order
  unsigned prefix = 0;
};

struct signing_key {
  std::string domain;  // signs mail whose From domain is this one or under it
  std::string selector;
  std::string key_file;
  std::optional<algorithm> algo;
  private_key key;  // loaded
  // Key rotation: the key signs from not_before (included) until not_after (excluded), Unix
  // seconds; unset: no bound. not_before < not_after when both are set.
  std::optional<std::uint64_t> not_before;
  std::optional<std::uint64_t> not_after;
  [[nodiscard]] key_window window() const { return {not_before, not_after}; }
};

// Whether `k` may sign at Unix time `now` (its not_before/not_after window holds it: in_force()).
[[nodiscard]] bool valid_at(const signing_key& k, std::uint64_t now) noexcept;
// Unix seconds as an RFC 3339 UTC time: "2027-01-15T00:00:00Z".
[[nodiscard]] std::string utc_time(std::uint64_t unix_seconds);

// "Mail whose From domain is `from_domain` must carry a passing signature of `sdid`."
struct requirement {
  std::string from_domain;
  std::string sdid;
};

// [arc]: ARC (RFC 8617) on the milter's messages.
struct arc_settings {
  // verify: the chain of verified mail is validated with its DKIM signatures, and the
  // Authentication-Results field gets an arc= entry.
  bool verify = false;
  // trusted_sealers: a LOCAL policy. Sealing domains (ARC-Seal d=, exact match, ASCII case
  // ignored, lowercased without a trailing dot) whose word that DKIM passed for the From domain
  // (the newest set's ARC-Authentication-Results) stands in for the broken signature; see
  // arc_override() in arc_policy.hpp. Empty: off.
  std::vector<std::string> trusted_sealers;
  // seal: a set is added (arc_seal) to the messages described in the man page, with the first
  // of seal_keys (the others are loaded and checked only: a rotation can be staged).
  bool seal = false;
  std::vector<signing_key> seal_keys;
  // A message larger than this (header fields and body as received) is not sealed: it is passed
  // on unsealed, and the log says so. Only messages that may be sealed are buffered.
  std::size_t max_seal_bytes = 32u << 20;
};

// [replay]: DKIM replay detection (dkimkit/replay.hpp), counted in a Redis store every inbound
// host shares (dkimkit/redis_replay.hpp). Absent: off.
struct replay_config {
  bool enabled = false;
  // store: "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" or "unix:/PATH[?db=N]", checked by
  // parse_redis_address() (a password in the URL is kept there; never logged).
  std::string store = "redis://127.0.0.1:6379/0";
  // password, or the first line of password_file (read when the file is loaded); replaces the
  // URL's. Never logged.
  std::string password;
  std::string password_file;
  // window (seconds), buckets, thresholds (networks, messages, recipients) and trusted_domains;
  // checked by dkimkit::check().
  replay_settings settings;
  // on_replay: what a suspected signature does (tag: only recorded in Authentication-Results).
  replay_action on_replay = replay_action::tag;
  // budget_ms: the time one message may spend on the store; then it goes on uncounted.
  std::chrono::milliseconds budget{50};
  std::size_t connections = 16;  // to the store, at most, at once
  // host_name: this host in the store's per-host counters; empty: the system's host name.
  std::string host_name;
};
// Whether two [replay] sections make the same store (a reload keeps the store when they do).
[[nodiscard]] bool same_store(const replay_config& a, const replay_config& b) noexcept;

struct config {
  std::string path;
  std::string authserv_id;
  // authserv_id_from_mta: the MTA's name for itself (its "j" macro; Postfix: myhostname) is the
  // authserv-id, as in OpenDKIM without AuthservID; authserv_id when the MTA sends none or one
  // that is not a host name.
  bool authserv_id_from_mta = false;
  milter::mode mode = milter::mode::both;
  // A unix socket by default: only the service's group (Postfix added to it) may connect. Anyone
  // who can connect can have mail signed, so an inet socket should have `peers`.
  std::string socket = "unix:/run/dkimkit/milter.sock";
  unsigned socket_mode = 0660;  // of a unix socket
  std::string socket_group;     // of a unix socket (name or number); empty: our group
  std::vector<network> peers;   // inet sockets: the MTA addresses allowed; empty: any
  // skip_hosts (OpenDKIM's PeerList): SMTP clients whose connections are accepted untouched (no
  // signing, no verifying, no field added), by host name (not "[address]") or address.
  std::optional<host_set> skip_hosts;
  std::string pid_file;
  // user and group (OpenDKIM's UserID user[:group]): started as root, dkimkit-milter becomes this
  // user once the socket is open and the pid file written; started as another user, it refuses
  // to start. Empty: no switch. Resolved when the file is read (uid, gid: the group, else the
  // user's login group); `user_setting` names the setting in messages ("UserID opendkim").
  std::string user;
  std::string group;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_setting;
  std::vector<std::string> warnings;  // said at start and on reload (e.g. group-readable keys)
  // Signing
  std::vector<network> internal_networks;
  // [sign] internal_hosts (OpenDKIM's InternalHosts): when set, it decides which clients are
  // internal instead of internal_networks (which then holds its plain networks, if that is all it
  // lists), by host name and address; a client of unknown address counts as 127.0.0.1.
  std::optional<host_set> internal_hosts;
  bool sign_authenticated = true;  // {auth_type} set
  // [sign] daemon_names (OpenDKIM's MTA) and macros (MacroList): see signing_origin().
  std::vector<std::string> daemon_names;
  std::vector<macro_rule> sign_macros;
  canonicalization header_canon = canonicalization::relaxed;
  canonicalization body_canon = canonicalization::relaxed;
  std::optional<std::vector<std::string>> headers;
  // [sign] sign_headers / omit_headers / oversign_headers: h= worked out per message as OpenDKIM
  // does (header_rules.hpp); set when any of them is (each defaulting to OpenDKIM's list, over-
  // signing to none). Excludes `headers`.
  std::optional<milter::header_rules> sign_rules;
  // [sign] sender_headers: the fields, in order, the first present of which gives the signing
  // domain and the signing table's address (OpenDKIM's SenderHeaders). The From field still
  // decides the policy when verifying.
  std::vector<std::string> sender_headers = {"From"};
  // [sign] sender_mailbox: "only" (false): the sender field's mailboxes must all be in one
  // domain, which signs, and the signing table looks up the one mailbox ("a@x, b@x" is not
  // looked up); "first" (true): the first mailbox of the first sender field decides alone, as in
  // OpenDKIM ("From: a@example.org, b@example.com" is signed for example.org).
  bool first_sender_mailbox = false;
  // [sign] subdomains: a [[sign.keys]] key also signs mail of its domain's subdomains (OpenDKIM's
  // SubDomains, whose default is no). Not for the signing table, whose rows say it themselves.
  bool subdomains = true;
  std::optional<std::uint64_t> expire_after;
  std::vector<signing_key> keys;
  // [sign] key_table / signing_table: OpenDKIM-format KeyTable and SigningTable data sets
  // ("/path", "file:/path" or "refile:/path"); multiple_signatures: every matching row signs.
  std::optional<dkimkit::key_table> key_table;
  std::optional<dkimkit::signing_table> signing_table;
  bool multiple_signatures = false;
  bool require_safe_keys = true;  // refuse key files readable by others or not owned by us/root
  // DNS
  std::vector<std::string> resolvers;
  std::chrono::milliseconds dns_timeout{5000};  // one key lookup
  std::string trust_anchor;
  // Limits and verification: the settings of dkimkit::verify_limits() ([limits] and [dns]
  // message_timeout_ms), the library's defaults otherwise. Resolver, key cache and clock unset.
  verify_options verify;
  // Authentication-Results claiming our authserv-id are removed; above this many the message is
  // not edited but refused (on_forged_auth_results): each removal costs the MTA a header scan.
  std::size_t max_forged_auth_results = 20;
  ar_removal remove_auth_results = ar_removal::all;
  // [policy] add_auth_results: "always" (the default), or "signed": only to mail that carries a
  // DKIM-Signature (OpenDKIM without AlwaysAddARHeader).
  bool always_add_auth_results = true;
  // Policy
  action on_no_pass = action::accept;      // accept or reject (550 5.7.20)
  action on_dns_error = action::tempfail;  // tempfail (451 4.7.5) or accept
  action on_internal_error = action::tempfail;
  action on_forged_auth_results = action::reject;  // reject (550 5.7.1) or tempfail (451 4.7.1)
  std::vector<requirement> requirements;           // 550 5.7.22 / 5.7.21 when unmet
  // The keys the key table names, loaded at start by their KEY column (a file name or the key
  // itself); a KEY with "%" depends on the sender and is loaded when a message needs it.
  std::map<std::string, private_key, std::less<>> table_keys;
  arc_settings arc;
  replay_config replay;
};

// Reads and checks the whole file: every key file is loaded. Errors read "FILE:LINE: problem".
// `mode = "both"` with no [[sign.keys]] verifies only (mode verify, with a warning); `mode =
// "sign"` with no keys is an error.
// A [[sign.keys]] key outside its not_before/not_after window at `now` (Unix seconds; the system
// clock by default) gives a warning with the time; so does a domain whose keys have all expired.
[[nodiscard]] result<config> load_config(const std::string& path);
[[nodiscard]] result<config> load_config(const std::string& path, std::uint64_t now);

// The settings load_config accepts, per table: "" (the top level), "sign", "sign.keys", "dns",
// "limits", "policy", "policy.require", "arc" and "replay" (those of dkimkit::verify_limits()
// included; an [[arc.seal_keys]] table takes the settings of "sign.keys" except not_before and
// not_after). A name that is itself a table here ("sign", "sign.keys") is that table. Anything else
// in the file is refused as an unknown setting.
[[nodiscard]] const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>&
known_settings();

// The verifier's settings (limits and local policy) from the configuration; the resolver, key
// cache and clock are left for the caller to set.
[[nodiscard]] verify_options verify_options_of(const config& cfg);

// Whether the address (AF_INET/AF_INET6 bytes) is in one of the networks.
[[nodiscard]] bool in_networks(const std::vector<network>& nets, int family,
                               const unsigned char* addr);
[[nodiscard]] std::optional<network> parse_network(std::string_view cidr);

// The user and group the service runs as: c.uid and c.gid when c.user is set, else the effective
// user and group.
struct service_ids {
  uid_t uid;
  gid_t gid;
};
[[nodiscard]] service_ids service_ids_of(const config& c) noexcept;

// Whether a private key file (or another secret, `what` in messages: [replay] password_file) is
// safe to use as the service user: refused (an error naming the file and what to change) when
// others may read or write it, or when it is owned by neither the service's user nor root; a
// warning (in `warning`) when its group may read it and is not the service's group.
[[nodiscard]] result<void> check_key_file_safety(const std::string& path, std::string& warning,
                                                 service_ids service,
                                                 std::string_view what = "the private key");

// Sets c.user, c.group, c.uid and c.gid from a user (a name, or a number that /etc/passwd knows)
// and an optional group (likewise); `setting` names it in messages. The error (no position) names
// what is unknown.
[[nodiscard]] result<void> set_run_as(config& c, const std::string& user, const std::string& group,
                                      const std::string& setting);

// A key of the key table: KEY is a file (`is_file`: checked by check_key_file_safety when
// `require_safe`, for `service`, by default the effective ids; then read) or the key itself (PEM,
// base64 DER as OpenDKIM takes it, or a raw Ed25519 seed). Refused as [[sign.keys]] keys are:
// RSA under 1024 bits, or not of `algo`.
[[nodiscard]] result<private_key> load_table_key(const std::string& key, bool is_file,
                                                 std::optional<algorithm> algo, bool require_safe,
                                                 std::string& warning,
                                                 std::optional<service_ids> service = std::nullopt);
// Loads every key `keys` names into c.table_keys, each KEY once, as load_table_key() does (per
// c.require_safe_keys; one warning into c.warnings, and a count of the others), except those whose
// KEY holds "%": they depend on the sender and are loaded per message. The error reads
// "SOURCE:LINE: problem" (`source`: the key table's file).
[[nodiscard]] result<void> load_table_keys(const key_table& keys, const std::string& source,
                                           config& c);

// Loads k.key from k.key_file as a configuration does: checked by check_key_file_safety() (per
// c.require_safe_keys; warnings into c.warnings), RSA of rfc8301_min_rsa_bits at least, of
// k.algo's type when set, and able to sign. The error names the file but no position;
// `about_entry` (when given) says whether it is about the key's entry as a whole (the algorithm,
// signing) rather than its file.
[[nodiscard]] result<void> load_signing_key(signing_key& k, config& c, bool* about_entry = nullptr);

}  // namespace dkimkit::milter
