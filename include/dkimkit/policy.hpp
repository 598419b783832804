// dkimkit/policy.hpp: DMARC-style alignment of d= with the From domain, and the SMTP reply an MTA
// should give for a message's DKIM results under a local policy (RFC 7372 codes).
//
//   auto a = dkimkit::align("mail.example.co.uk", "example.co.uk");   // alignment::relaxed
//   auto r = dkimkit::smtp_reply_for(results, "example.com", {dkimkit::requirement::aligned});
//   if (r) std::cout << r->code << " " << r->enhanced << " " << r->text;  // else: accept
//
// Organizational domains come from the Public Suffix List through libpsl (the newest of the list
// Debian ships in /usr/share/publicsuffix and the one built into libpsl). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/verifier.hpp>

namespace dkimkit {

enum class alignment { no, relaxed, strict };
[[nodiscard]] std::string_view to_string(alignment a) noexcept;  // "no", "relaxed", "strict"

// The organizational domain (registrable domain) of `domain`, lowercased: "example.co.uk" for
// "mail.example.co.uk". Empty when the name is itself a public suffix or not a domain name.
[[nodiscard]] std::string organizational_domain(std::string_view domain);

// strict: equal (case-insensitive); relaxed: same organizational domain; else no.
[[nodiscard]] alignment align(std::string_view sdid, std::string_view from_domain);

// The domain of the first address in a From field value ("Alice <a@Example.COM>" ->
// "example.com"); empty when there is none.
[[nodiscard]] std::string from_domain_of(std::string_view from_value);

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

}  // namespace dkimkit
