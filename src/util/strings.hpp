// Small ASCII string helpers. Never locale-dependent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit::detail {

[[nodiscard]] constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
// White space as it may appear inside a folded header value: SP, HTAB, CR, LF.
[[nodiscard]] constexpr bool is_fws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
[[nodiscard]] constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

[[nodiscard]] std::string lowercase(std::string_view s);
// Two lower-case hex digits per octet: "\x01\xab" -> "01ab".
[[nodiscard]] std::string hex(std::string_view bytes);
[[nodiscard]] std::string_view trim_fws(std::string_view s) noexcept;
// Removes every SP, HTAB, CR and LF.
[[nodiscard]] std::string strip_fws(std::string_view s);
// Splits on `sep`, keeping empty pieces.
[[nodiscard]] std::vector<std::string_view> split(std::string_view s, char sep);
// 1..max_digits decimal digits, no sign, no white space; nullopt on anything else or overflow.
[[nodiscard]] std::optional<std::uint64_t> parse_decimal(std::string_view s,
                                                         std::size_t max_digits);
// A DNS name usable for a query: labels of letters, digits, '-' and '_' (1..63 octets each),
// 253 octets at most, no empty label. `min_labels` is 2 for d= (RFC 6376 domain-name).
[[nodiscard]] bool is_dns_name(std::string_view s, std::size_t min_labels) noexcept;
// Printable ASCII only (0x20..0x7E).
[[nodiscard]] bool is_printable_ascii(std::string_view s) noexcept;
// A value from a message or a DNS record, fit to be quoted in a reason: at most `max` characters,
// each a letter, digit or one of "-._/:+=@"; anything else (space, control, 8-bit, quotes) is
// written as "?", so that a reason can never carry text that looks like more fields or lines.
[[nodiscard]] std::string quotable(std::string_view v, std::size_t max = 40);

// RFC 6376 §2.11 dkim-quoted-printable (i=, z=): FWS is dropped, "=XX" becomes the octet XX
// (upper-case hex as RFC 2045 requires; lower case is accepted too). Anything else than a
// dkim-safe-char (0x21..0x3A, 0x3C, 0x3E..0x7E), or a "=" not followed by two hex digits: nullopt.
[[nodiscard]] std::optional<std::string> decode_dkim_qp(std::string_view s);
// The inverse: every octet that is not a dkim-safe-char (and, with `extra`, each octet listed
// there, e.g. "|" inside z=) is written as "=XX".
[[nodiscard]] std::string encode_dkim_qp(std::string_view s, std::string_view extra = {});
// RFC 2045 / RFC 6376 qp-section (key record n=): like dkim-quoted-printable, but SP and HTAB are
// text and ";" is a safe-char. nullopt when it does not decode.
[[nodiscard]] std::optional<std::string> decode_qp_section(std::string_view s);

}  // namespace dkimkit::detail
