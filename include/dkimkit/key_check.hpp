// dkimkit/key_check.hpp: is the key record published for a signing key right? What `dkimkit
// check-key` says, for one key (-d/-s/-k) or for every key of a configuration (--config).
//
//   dkimkit::key_check_input in{.sdid = "example.com", .selector = "s1", .key = &priv};
//   auto c = dkimkit::check_key(resolver.lookup_txt(dkimkit::key_name("s1", "example.com")), in);
//   for (const auto& f : c.findings) std::cout << to_string(f.level) << " " << f.message << "\n";
//
// Findings, in order: DNSSEC, TXT records that are not key records, whether a key record is
// published and usable (one record, its syntax, its size), the key's type and size, its flags
// (t=y, t=s, an h= that allows only sha1), whether the private key matches the published key,
// then where the key stands in its rotation window (key_window, dkimkit/key_rotation.hpp). A key
// that has expired signs no more: what is wrong with its record is then only information. A key
// due to start later is not yet needed in DNS: a missing record is a warning, not an error.
//
// A key_check owns its data.
#pragma once

#include <cstdint>
#include <dkimkit/key_record.hpp>
#include <dkimkit/key_rotation.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/signing_table.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

enum class check_level { ok, info, warning, error };
[[nodiscard]] std::string_view to_string(check_level l) noexcept;  // "ok", "info", ...

struct key_finding {
  check_level level = check_level::info;
  std::string message;  // may quote the DNS answer: hostile text, escape it before printing
};

// What is published at the key's name.
enum class key_publication {
  matching,       // one usable key record, and it is the private key's public key
  not_matching,   // one usable key record, not the private key's
  published,      // one usable key record (no private key to compare)
  unusable,       // one key record that does not parse (syntax, p= empty, too large ...)
  ambiguous,      // several key records: verifiers refuse them
  not_published,  // NXDOMAIN, no TXT record, or no TXT record that is a key record
  temporary,      // the answer could not be had (try again)
};
// "matching", "not_matching", "published", "unusable", "ambiguous", "not_published", "temporary".
[[nodiscard]] std::string_view to_string(key_publication p) noexcept;
// "published and matching", "published but not matching", "published", "published but not
// usable", "several key records", "not published", "not fetched (temporary DNS failure)".
[[nodiscard]] std::string_view describe(key_publication p) noexcept;

enum class key_verdict { good, warnings, bad, temperror };
// "good", "good, with warnings", "bad", "temperror".
[[nodiscard]] std::string_view to_string(key_verdict v) noexcept;

struct key_check_input {
  std::string sdid;  // d=
  std::string selector;
  const private_key* key = nullptr;  // compared with the published key when set
  std::string key_label;             // how the findings name the private key (its file)
  key_window window;
  std::uint64_t now = 0;  // the time the window is judged at (unused without a window)
};

struct key_check {
  std::string name;  // selector._domainkey.sdid
  key_publication publication = key_publication::not_published;
  key_schedule schedule = key_schedule::unbounded;
  std::optional<key_type> type;  // of the published key, when usable
  unsigned bits = 0;             // of the published key, when usable
  std::vector<key_finding> findings;
  // temperror when the record could not be fetched and the key still matters (not expired);
  // else bad with any error finding, good with warnings with any warning, else good.
  key_verdict verdict = key_verdict::good;
};

// Judges `answer`, the resolver's answer for key_name(in.selector, in.sdid), for the key `in`
// describes. Never fails: every problem is a finding.
[[nodiscard]] key_check check_key(const txt_answer& answer, const key_check_input& in);

// Why a KeyTable row cannot be checked ahead of time: its DOMAIN, SELECTOR or KEY holds "%",
// which stands for the sender's domain; nullopt when it can be.
[[nodiscard]] std::optional<std::string> why_not_checkable(const key_table_entry& row);

// The worse of two verdicts over several keys: bad, then temperror, then good with warnings.
[[nodiscard]] key_verdict worse(key_verdict a, key_verdict b) noexcept;

}  // namespace dkimkit
