#include <dkimkit/auth_results.hpp>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

// RFC 2045 tspecials plus SP: a value with any of them is written as a quoted-string.
bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (std::string_view("()<>@,;:\\\"/[]?= ").find(c) != std::string_view::npos) return true;
  return false;
}

// A property value, quoted when needed; nothing when it is not safe in a header at all.
void add_property(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty() || !detail::is_printable_ascii(value)) return;
  out += ' ';
  out += name;
  out += '=';
  // header.i may be a bare "@domain": RFC 8601 allows [local-part]@domain-name there.
  if (needs_quotes(value) && !(name == "header.i" && value.find_first_of(" \"\\;()") == std::string_view::npos)) {
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out += value;
  }
}

std::string comment(std::string_view text) {
  std::string out = "(";
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) continue;
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  out += ')';
  return out;
}

}  // namespace

std::string format_auth_results(std::string_view authserv_id,
                                const std::vector<verification>& results) {
  std::string out = "Authentication-Results: ";
  out += authserv_id;
  out += ';';
  if (results.empty()) {
    out += " dkim=none";
    return out;
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const verification& v = results[i];
    out += "\r\n\tdkim=";
    out += to_string(v.status);
    if (v.status == status::pass) {
      std::string what;
      if (v.key_bits) {
        what = std::to_string(v.key_bits) + "-bit " +
               std::string(v.key_type ? to_string(*v.key_type) : "") + " key";
      }
      if (v.testing) what += what.empty() ? "testing key" : ", testing";
      if (v.dnssec != dnssec_status::unknown)
        what += (what.empty() ? "DNSSEC " : "; DNSSEC ") + std::string(to_string(v.dnssec));
      if (!what.empty()) out += ' ' + comment(what);
    } else {
      std::string what = v.reason;
      if (v.dnssec != dnssec_status::unknown)
        what += (what.empty() ? "DNSSEC " : "; DNSSEC ") + std::string(to_string(v.dnssec));
      if (!what.empty()) out += ' ' + comment(what);
    }
    add_property(out, "header.d", v.sdid);
    add_property(out, "header.i", v.auid);
    add_property(out, "header.s", v.selector);
    add_property(out, "header.a", v.algorithm);
    add_property(out, "header.b", v.b_prefix);
    if (i + 1 < results.size()) out += ';';
  }
  return out;
}

}  // namespace dkimkit
