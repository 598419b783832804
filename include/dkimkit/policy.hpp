// dkimkit/policy.hpp: the author domain of a message (its From field parsed as an RFC 5322
// address list), DMARC-style alignment of d= with it, and the SMTP reply an MTA should give for a
// message's DKIM results under a local policy (RFC 7372 codes): smtp_reply_for() for one author
// domain, apply_policy() for an MTA's per-From-domain requirements (dkimkit-milter's [policy]).
//
//   auto from = dkimkit::author_domain(v.from_field());  // "example.co.uk", or an error saying why
//   auto r = dkimkit::smtp_reply_for(results, from.value_or(""), {dkimkit::requirement::aligned});
//   if (r) std::cout << r->code << " " << r->enhanced << " " << r->text;  // else: accept
//
// Organizational domains come from the Public Suffix List through libpsl (the newest of the list
// Debian ships in /usr/share/publicsuffix and the one built into libpsl). Thread-safe. Results own
// their strings: nothing refers to the input after a call returns.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit {

enum class alignment { no, relaxed, strict };
[[nodiscard]] std::string_view to_string(alignment a) noexcept;  // "no", "relaxed", "strict"

// The organizational domain (registrable domain) of `domain`, lowercased: "example.co.uk" for
// "mail.example.co.uk". Empty when the name is itself a public suffix or not a domain name.
[[nodiscard]] std::string organizational_domain(std::string_view domain);

// strict: equal (case-insensitive); relaxed: same organizational domain; else no.
[[nodiscard]] alignment align(std::string_view sdid, std::string_view from_domain);

// One mailbox of an address list (RFC 5322 §3.4).
struct mailbox {
  std::string display_name;  // the phrase: quoted strings unquoted, comments dropped, words joined
                             // by one space where the field separates them; encoded-words
                             // (RFC 2047) are left encoded; "" when there is none
  std::string local_part;    // unquoted: "a b" for "\"a b\"@example.com"
  std::string domain;        // lowercased, without a trailing dot; a domain-literal keeps its
                             // brackets ("[192.0.2.1]") and is no DNS name
  bool operator==(const mailbox&) const = default;
};

// Every mailbox of one From field's value (RFC 5322 §3.4 address-list, groups allowed as RFC 6854
// allows them in From, their members flattened; an empty group adds none). The grammar, with:
//   - CFWS (nested comments, quoted-pairs, folding with CRLF or LF) wherever RFC 5322 allows it;
//   - RFC 6532 UTF-8 in atoms, quoted strings, comments and domain-literals; any other 8-bit byte,
//     and any control character, is an error;
//   - the obsolete forms obs-phrase ("John Q. Public"), obs-local-part and obs-domain (CFWS around
//     dots), null members of a list ("a@x.example,,b@y.example"), and a single trailing dot on the
//     domain (removed); dots of an unquoted local-part may also be leading, trailing or doubled
//     ("taro.@example.jp");
//   - refused: obs-route ("<@relay.example:a@example.com>"), quoted-pairs in a domain-literal,
//     a group inside a group, and values over 16384 bytes.
// A trailing line ending (CRLF or LF) is ignored. An error (errc::invalid_argument) names the
// problem and its byte offset; it never quotes the input.
[[nodiscard]] result<std::vector<mailbox>> parse_mailbox_list(std::string_view field_value);

// The author domain for alignment: the domain of the single mailbox of the message's single From
// field (`from_values`: the value of each From field, in order). An error when there is no From
// field (errc::no_from) or several (errc::multiple_from); when the field does not parse, has no
// mailbox or several (RFC 7489 §6.6.1), or its domain is not a DNS name (a domain-literal, or one
// with non-ASCII labels: IDNA is not done) (errc::invalid_argument). Never a guessed domain.
[[nodiscard]] result<std::string> author_domain(std::span<const std::string_view> from_values);
// The same for one From field's value as verifier::from_field() gives it; "" (that function's
// answer for a message with no From field or several) is an error saying so.
[[nodiscard]] result<std::string> author_domain(std::string_view from_value);

// Every distinct domain of every mailbox of every From field, lowercased, in order of appearance:
// for a policy that applies when any author's domain matches. An error when there is no From
// field, when a field does not parse, when there is no mailbox at all, or when a mailbox's domain
// is not a DNS name: a domain that cannot be named is not silently left out.
[[nodiscard]] result<std::vector<std::string>> author_domains(
    std::span<const std::string_view> from_values);

enum class requirement {
  any,      // some signature must pass
  aligned,  // some passing signature must be aligned (relaxed) with the From domain
  domains,  // some passing signature must be from one of `domains`
};

struct local_policy {
  requirement require = requirement::any;
  std::vector<std::string> domains;  // for requirement::domains
};

struct smtp_reply {
  int code = 0;           // 550 or 451
  std::string enhanced;   // "5.7.20"
  std::string text;       // "No passing DKIM signature found"
  [[nodiscard]] std::string line() const;  // "550 5.7.20 No passing DKIM signature found"
};

// The reply for a message that does not meet the policy, or nullopt to accept it:
//   451 4.7.5 a key could not be fetched (a temperror, and nothing else passes);
//   550 5.7.20 no passing signature;
//   550 5.7.21 signatures pass, but none is acceptable (requirement::domains);
//   550 5.7.22 signatures pass, but none is aligned with the author's domain
//   (requirement::aligned).
// RFC 7372 §3.1 gives the codes and texts.
[[nodiscard]] std::optional<smtp_reply> smtp_reply_for(const std::vector<verification>& results,
                                                       std::string_view from_domain,
                                                       const local_policy& policy);

// A receiving MTA's policy (dkimkit-milter's [policy]): per-From-domain requirements, what to do
// with mail that has no passing signature and with keys that could not be fetched.
struct domain_requirement {
  std::string from_domain;  // applies when any mailbox of any From field is in this domain
  std::string sdid;         // which must have signed: some signature with this d= passes
};

struct mta_policy {
  bool reject_without_pass = false;  // no passing signature: 550 5.7.20 (else accepted)
  bool accept_on_dns_error = false;  // a key that could not be fetched: accepted (else 451 4.7.5)
  std::vector<domain_requirement> requirements;  // unmet: 550 5.7.22 (sdid is the From domain)
                                                 // or 550 5.7.21 (another sdid)
};

enum class policy_verdict { accept, tempfail, reject };

struct policy_outcome {
  policy_verdict verdict = policy_verdict::accept;
  std::optional<smtp_reply> reply;  // set for tempfail (451 4.7.5) and reject (550 5.7.2x)
  // For the log: the requirement not met ("requirement=example.com:example.com") or why the
  // From field named no author ("from_error=\"...\""), for a rejection; else empty.
  std::string reason;
  // A key that could not be fetched was let pass (accept_on_dns_error) on the way to the verdict.
  bool dns_error_accepted = false;
};

// The verdict on a message's results under `policy`; `from_domains` is author_domains() of its
// From fields (an error when they name no author). In this order:
//   - no signature passes and one is a temperror: 451 4.7.5 (with accept_on_dns_error: on to
//     the next step); else no passing signature and reject_without_pass: 550 5.7.20;
//   - requirements and no author domain: 550 5.7.22 (fail closed: RFC 7489 §6.6.1), but 451
//     4.7.5 when a signature is a temperror and accept_on_dns_error is off;
//   - each requirement whose from_domain is an author domain (ASCII case ignored), in order, is
//     met by a passing signature of its sdid; unmet with a temperror of that sdid: 451 4.7.5
//     (with accept_on_dns_error: on to the next); unmet otherwise: 550 5.7.22 or 5.7.21;
//   - else accept.
// Two rules follow and hold whatever the input:
//   - a DNS failure never gives a 5xx: a requirement (or reject_without_pass) that a signature
//     whose key could not be fetched might have met gives 451 4.7.5, or accept;
//   - a testing key (t=y, RFC 6376 §3.6.1) never rejects: a pass meets, a temperror softens, any
//     other result (a testing key's is never a temperror: its key was fetched) counts as no
//     signature, so the message gets what unsigned mail gets, no more and no less.
[[nodiscard]] policy_outcome apply_policy(const std::vector<verification>& results,
                                          const result<std::vector<std::string>>& from_domains,
                                          const mta_policy& policy);

}  // namespace dkimkit
