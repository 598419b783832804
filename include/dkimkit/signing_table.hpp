// dkimkit/signing_table.hpp: which keys sign a message, chosen by its sender the way OpenDKIM's
// KeyTable and SigningTable choose them (opendkim.conf(5), opendkim(8) "DATA SETS").
//
//   auto keys = dkimkit::key_table::load("/etc/dkimkeys/KeyTable");            // or "refile:..."
//   auto table = dkimkit::signing_table::load("refile:/etc/dkimkeys/SigningTable");
//   auto picked = dkimkit::select_keys(*table, *keys, "user", "mail.example.com", true);
//
// Both tables are immutable once loaded, cheap to copy (they share their rows) and may be used
// from several threads at once. A selected_key owns its strings.
//
// Table files (a data set "file:PATH", "PATH", or "refile:PATH"):
//   - one row a line; "#" starts a comment to the end of the line; blank lines are ignored; a line
//     ends with LF or CRLF;
//   - a row is a key, then whitespace (spaces or tabs), then the value; the value's entries are
//     separated by colons;
//   - a control character (NUL included) anywhere, a row without a value, a line longer than
//     table_limits::max_line, a file larger than max_bytes or with more than max_rows rows is an
//     error naming "FILE:LINE".
//
// KeyTable: "NAME DOMAIN:SELECTOR:KEY[:ALGORITHM]". DOMAIN (d=) "%" alone stands for the sender's
// domain; KEY is a file when it starts with "/", "./" or "../", else the key itself (base64 DER);
// every "%" in KEY stands for the sender's domain; ALGORITHM (dkimkit's fourth field) is
// "rsa-sha256" or "ed25519-sha256". NAME is matched exactly (case matters); in a "refile:" table
// it is matched against the patterns in file order (ASCII case ignored).
//
// SigningTable: "KEY NAME[:SIGNER]". NAME "%" alone stands for the sender's domain; every "%" in
// SIGNER does too; SIGNER becomes i= when it is d= or within it (else no i=, as OpenDKIM does).
// Keys and the sender are compared without regard to ASCII case. A plain table is looked up with
// the sender user@host.example.com as, in this order:
//   "user@host.example.com", "host.example.com",
//   "user@.example.com", "user@.com"     (each parent of the host, nearest first),
//   ".example.com", ".com",              (likewise),
//   "user@*", "*".
// A "refile:" table's keys are patterns matched against "user@host.example.com" in file order;
// "*" matches any string (the empty one too), every other character only itself. Matching takes
// time linear in the pattern and the address, whatever the pattern.
// Several rows may have the same key (a plain table keeps them in file order): a domain with an
// RSA and an Ed25519 row. With `multiple` (OpenDKIM's MultipleSignatures) every matching row
// signs, each key name once, in lookup order; without, the first match alone.
#pragma once

#include <cstddef>
#include <dkimkit/error.hpp>
#include <dkimkit/signature.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

// Bounds on what loading a table may cost.
struct table_limits {
  std::size_t max_bytes = 64u << 20;  // the whole file
  std::size_t max_line = 8192;        // one line, without its line ending
  std::size_t max_rows = 1'000'000;   // rows of a plain table
  std::size_t max_patterns = 10'000;  // rows of a "refile:" table (each is tried per message)
};

// One KeyTable row.
struct key_table_entry {
  std::string name;      // the key name the SigningTable gives
  std::string domain;    // d=; "%": the sender's domain
  std::string selector;  // s=
  std::string key;       // a file name or the key itself; "%" stands for the sender's domain
  std::optional<algorithm> algo;  // the fourth field; nullopt: from the key
  std::size_t line = 0;           // where it was read
  // KEY names a file: it starts with "/", "./" or "../".
  [[nodiscard]] bool key_is_file() const noexcept;
  bool operator==(const key_table_entry&) const = default;
};

// One SigningTable row.
struct signing_table_entry {
  std::string key;                    // the address, domain or pattern, lowercased
  std::string key_name;               // a KeyTable name; "%": the sender's domain
  std::optional<std::string> signer;  // i=, with "%" for the sender's domain
  std::size_t line = 0;
  bool operator==(const signing_table_entry&) const = default;
};

enum class table_kind { plain, refile };

// "refile:PATH" -> {refile, PATH}; "file:PATH" and "PATH" -> {plain, PATH}.
struct table_source {
  table_kind kind = table_kind::plain;
  std::string path;
};
[[nodiscard]] table_source parse_table_source(std::string_view spec);

namespace detail {
struct key_table_impl;
struct signing_table_impl;
}  // namespace detail

class key_table {
 public:
  key_table();  // empty
  // `source` names the text in errors ("KeyTable" gives "KeyTable:3: ...").
  [[nodiscard]] static result<key_table> parse(std::string_view text, table_kind kind,
                                               std::string_view source,
                                               const table_limits& limits = {});
  // `spec` is a data set: "PATH", "file:PATH" or "refile:PATH".
  [[nodiscard]] static result<key_table> load(std::string_view spec,
                                              const table_limits& limits = {});
  // The row of `name` (plain: equal; refile: the first pattern matching it); null when none.
  [[nodiscard]] const key_table_entry* find(std::string_view name) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] table_kind kind() const noexcept;
  // Every row, in file order (to load the keys it names ahead of time).
  [[nodiscard]] std::span<const key_table_entry> rows() const noexcept;

 private:
  std::shared_ptr<const detail::key_table_impl> impl_;
};

class signing_table {
 public:
  signing_table();  // empty: matches nothing
  [[nodiscard]] static result<signing_table> parse(std::string_view text, table_kind kind,
                                                   std::string_view source,
                                                   const table_limits& limits = {});
  [[nodiscard]] static result<signing_table> load(std::string_view spec,
                                                  const table_limits& limits = {});
  // The rows that apply to the sender local_part@domain, in the order above; with `multiple`
  // false, at most one. `domain` is a DNS name (as parse_mailbox_list gives it).
  [[nodiscard]] std::vector<const signing_table_entry*> lookup(std::string_view local_part,
                                                               std::string_view domain,
                                                               bool multiple) const;
  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] table_kind kind() const noexcept;

 private:
  std::shared_ptr<const detail::signing_table_impl> impl_;
};

// One key to sign with, its "%"s replaced by the sender's domain.
struct selected_key {
  std::string key_name;  // the KeyTable name
  std::string sdid;      // d=
  std::string selector;  // s=
  std::string key;       // a file name or the key itself (key_is_file)
  bool key_is_file = false;
  std::optional<algorithm> algo;
  std::optional<std::string> auid;  // i=: the row's signer when it is d= or within it
  std::size_t signing_line = 0;     // the SigningTable row and the KeyTable row that chose it
  std::size_t key_line = 0;
  bool operator==(const selected_key&) const = default;
};

// The keys that sign mail from local_part@domain (already parsed: see select_keys_for_from), in
// order; empty when no row matches (the message is not signed). An error (invalid_argument) when
// a matching row names a key the KeyTable does not hold (fail closed, as OpenDKIM does), or when
// a "%" is to be replaced and `domain` is not a DNS name (letters, digits, "-", "_", dots).
[[nodiscard]] result<std::vector<selected_key>> select_keys(const signing_table& signing,
                                                            const key_table& keys,
                                                            std::string_view local_part,
                                                            std::string_view domain, bool multiple);

// The same for a message's From field value, parsed by parse_mailbox_list (dkimkit/policy.hpp):
// an error when it does not parse, or holds no mailbox or several. Defined in the dkimkit::policy
// library (link it to use this one).
[[nodiscard]] result<std::vector<selected_key>> select_keys_for_from(const signing_table& signing,
                                                                     const key_table& keys,
                                                                     std::string_view from_value,
                                                                     bool multiple);

}  // namespace dkimkit
