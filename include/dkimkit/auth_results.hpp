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
// max_signatures), one entry for all of them with their count; "dkim=none" when there is none. Values that are not safe in a header
// (control characters, 8-bit) are left out.
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

struct auth_results_field {
  std::string authserv_id;
  std::optional<unsigned> version;
  std::vector<auth_result> results;  // empty for "; none"
};

// Parses the value of an Authentication-Results field (RFC 8601 §2.2): comments anywhere, quoted
// strings, versions, "none". Fails with invalid_argument naming the problem.
[[nodiscard]] result<auth_results_field> parse_auth_results(std::string_view value);

}  // namespace dkimkit
