// dkimkit/auth_results.hpp: the Authentication-Results header field (RFC 8601).
//
//   std::string f = dkimkit::format_auth_results("mx.example.net", results);
//   // "Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=example.com ..."
//
// The field is folded with CRLF and has no final CRLF.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dkimkit/verifier.hpp>

namespace dkimkit {

// One dkim= entry per evaluated verification with header.d, header.i, header.s, header.a and
// header.b, and the reason as a comment; then, when signatures were not evaluated (beyond
// max_signatures), one entry for all of them with their count; "dkim=none" when there is none.
// A signature whose replay detection suspects it (verification::replay, dkimkit/replay.hpp) has
// replay_summary() in its comment (after the key size) and the property
// policy.dkim-replay=suspected:
//   dkim=pass (2048-bit rsa key; replay suspected: 40 messages from 12 networks to 900
//   recipients in 24 h) header.d=example.com ... policy.dkim-replay=suspected
// Each entry is written as format_auth_result() below writes it: values that are not safe in a
// header (control characters, 8-bit) are left out; header.i is local-part "@" domain as it is
// when the local-part is an RFC 5322 dot-atom (or empty), else the whole identity as one
// quoted-string (quoted-pairs for '"' and '\'), e.g.
//   header.i="ceo x@bank.example"
// which parse_auth_results() and parsers without address support (Mail::AuthenticationResults)
// read back as the same identity.
[[nodiscard]] std::string format_auth_results(std::string_view authserv_id,
                                              const std::vector<verification>& results);

// One "method=result" entry of an Authentication-Results field.
struct auth_result {
  std::string method;   // "dkim", "spf", ... lowercased
  std::string result;   // "pass", ... lowercased
  std::string reason;   // reason=... (unquoted)
  std::string comment;  // the first comment after the result, e.g. "2048-bit rsa key"
  std::vector<std::pair<std::string, std::string>> properties;  // {"header.d", "example.com"}
};

// One entry (resinfo) of an Authentication-Results field as format_auth_results() writes its
// entries: "method=result", the comment as " (comment)" (control characters and 8-bit left out,
// '(' ')' '\' as quoted-pairs), then " reason=..." and " name=value" for each property, in order.
// A value is written as it is when it is an RFC 2045 token or (a property's, RFC 8601 pvalue) an
// address [local-part] "@" domain-name with a dot-atom local-part, else as a quoted-string ('"'
// and '\' as quoted-pairs):
//   dkim=pass (2048-bit rsa key) header.d=example.com header.i="ceo x@bank.example"
// An empty value, one with a control character or 8-bit, and a property whose name is not a
// token are left out. nullopt when the method or the result is not a token (nothing to write).
// parse_auth_results() reads the values back as they were.
[[nodiscard]] std::optional<std::string> format_auth_result(const auth_result& r);

struct auth_results_field {
  std::string authserv_id;
  std::optional<unsigned> version;
  std::vector<auth_result> results;  // empty for "; none"
};

// Parses the value of an Authentication-Results field (RFC 8601 §2.2): comments anywhere, quoted
// strings, versions, "none". Fails with invalid_argument naming the problem.
// A property value (pvalue) is a token, a quoted-string or an address [[local-part] "@"]
// domain-name whose local-part is a dot-atom or a quoted-string; it is returned unquoted, an
// address as local-part "@" domain with the local-part's quotes and quoted-pairs removed:
// header.i="ceo x"@bank.example and header.i="ceo x@bank.example" both give "ceo x@bank.example",
// the form of verification::auid.
[[nodiscard]] result<auth_results_field> parse_auth_results(std::string_view value);

// The authserv-id of an Authentication-Results field value, whether or not the rest of it parses:
// CFWS (nested comments, quoted-pairs), then a token or a quoted-string (unquoted, quoted-pairs
// removed), as parse_auth_results() reads it. nullopt when even that does not lex (nothing, an
// unterminated comment or quoted-string, a special character first). To tell
// whether a field claims to be ours, claims_authserv_id() below.
[[nodiscard]] std::optional<std::string> auth_results_authserv_id(std::string_view value);

// Whether two authserv-ids name the same server: equal ignoring ASCII case and one trailing dot
// on either ("MX.Example.NET." is "mx.example.net"). An empty id is nobody's.
[[nodiscard]] bool same_authserv_id(std::string_view a, std::string_view b) noexcept;

// Whether an Authentication-Results field value claims to come from the server `ours`: its
// authserv-id (auth_results_authserv_id(), whether or not the rest parses) is the same
// (same_authserv_id()). Such a field arriving from outside is forged and is removed (RFC 8601 §5):
//   if (dkimkit::claims_authserv_id(value, "mx.example.net")) ...  // delete the field
[[nodiscard]] bool claims_authserv_id(std::string_view value, std::string_view ours);

}  // namespace dkimkit
