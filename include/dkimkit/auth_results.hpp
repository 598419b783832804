// dkimkit/auth_results.hpp: the Authentication-Results header field (RFC 8601).
//
//   std::string f = dkimkit::format_auth_results("mx.example.net", results);
//   // "Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=example.com ..."
//
// The field is folded with CRLF and has no final CRLF.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/verifier.hpp>

namespace dkimkit {

// One dkim= entry per verification with header.d, header.i, header.s, header.a and header.b, and
// the reason as a comment; "dkim=none" when there is none. Values that are not safe in a header
// (control characters, 8-bit) are left out.
[[nodiscard]] std::string format_auth_results(std::string_view authserv_id,
                                              const std::vector<verification>& results);

}  // namespace dkimkit
