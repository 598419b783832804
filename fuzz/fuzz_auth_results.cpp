// Fuzz target: dkimkit::parse_auth_results, the value of an Authentication-Results field
// (RFC 8601 §2.2): comments, quoted strings, versions, "none". Parsed methods, results and
// property names come out lowercased, and a version has at most six digits; the authserv-id
// lexer (auth_results_authserv_id) agrees with the parser on every field the parser accepts.
#include <cstddef>
#include <cstdint>
#include <dkimkit/auth_results.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  // The authserv-id alone (what the milter matches forged fields with) is read whenever the whole
  // field parses, and agrees with the full parser.
  auto id = dkimkit::auth_results_authserv_id(value);
  if (id) check(dkimkit::same_authserv_id(*id, *id));
  auto ar = dkimkit::parse_auth_results(value);
  if (ar) check(id && dkimkit::same_authserv_id(*id, ar->authserv_id));
  if (!ar) {
    check(ar.error().code == dkimkit::errc::invalid_argument && !ar.error().detail.empty());
    return 0;
  }
  if (ar->version) check(*ar->version <= 999999);
  for (const dkimkit::auth_result& r : ar->results) {
    // Not checked: that method and result are non-empty. The parser takes a quoted-string there
    // too, so `dkim=""` gives an empty result (RFC 8601 says Keyword); harmless, reported.
    check(!has_upper(r.method) && !has_upper(r.result));
    for (const auto& property : r.properties)
      check(!property.first.empty() && !has_upper(property.first));
  }
  return 0;
}
