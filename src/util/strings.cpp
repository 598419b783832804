#include "util/strings.hpp"

#include <dkimkit/message.hpp>

namespace dkimkit::detail {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += kDigits[u >> 4];
    out += kDigits[u & 15];
  }
  return out;
}

std::string_view trim_fws(std::string_view s) noexcept {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string strip_fws(std::string_view s) {
  std::string out(s.size(), '\0');
  char* w = out.data();
  for (char c : s)
    if (!is_fws(c)) *w++ = c;
  out.resize(static_cast<std::size_t>(w - out.data()));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

bool is_dns_name(std::string_view s, std::size_t min_labels) noexcept {
  if (s.empty() || s.size() > 253) return false;
  std::size_t labels = 0, len = 0;
  for (char c : s) {
    if (c == '.') {
      if (len == 0) return false;
      ++labels;
      len = 0;
      continue;
    }
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_')) return false;
    if (++len > 63) return false;
  }
  if (len == 0) return false;
  return labels + 1 >= min_labels;
}

std::string quotable(std::string_view v, std::size_t max) {
  std::string out;
  for (char c : v.substr(0, max))
    out += is_alpha(c) || is_digit(c) || std::string_view("-._/:+=@").find(c) != std::string_view::npos
               ? c
               : '?';
  if (v.size() > max) out += "...";
  return out;
}

bool is_printable_ascii(std::string_view s) noexcept {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes "=XX" escapes; `text` says which other octets stand for themselves and `skip` which
// are dropped (folding white space).
template <class Text, class Skip>
std::optional<std::string> decode_qp(std::string_view s, Text text, Skip skip) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (skip(c)) {
      continue;
    } else if (text(c)) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

constexpr bool is_dkim_safe_char(char c) noexcept {
  return (c >= 0x21 && c <= 0x3a) || c == 0x3c || (c >= 0x3e && c <= 0x7e);
}

}  // namespace

std::optional<std::string> decode_dkim_qp(std::string_view s) {
  return decode_qp(s, is_dkim_safe_char, is_fws);
}

std::string encode_dkim_qp(std::string_view s, std::string_view extra) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_dkim_safe_char(c) && extra.find(c) == std::string_view::npos) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '=';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::optional<std::string> decode_qp_section(std::string_view s) {
  return decode_qp(
      s, [](char c) { return (c >= 0x21 && c <= 0x3c) || (c >= 0x3e && c <= 0x7e) || is_wsp(c); },
      [](char) { return false; });
}

}  // namespace dkimkit::detail

namespace dkimkit {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (detail::to_lower(a[i]) != detail::to_lower(b[i])) return false;
  return true;
}

}  // namespace dkimkit
