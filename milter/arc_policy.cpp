#include "arc_policy.hpp"

#include <dkimkit/auth_results.hpp>
#include <dkimkit/message.hpp>

namespace dkimkit::milter {
namespace {

// A domain as compared here: one trailing dot ignored (case is ignored by iequals).
std::string_view without_dot(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  return d;
}

bool same_domain(std::string_view a, std::string_view b) {
  a = without_dot(a);
  b = without_dot(b);
  return !a.empty() && iequals(a, b);
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Printable ASCII and spaces: safe in a quoted-string.
bool is_text(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// RFC 2045 token characters only (no tspecials, SP or controls): written bare.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c <= 0x20 || c > 0x7e || std::string_view("()<>@,;:\\\"/[]?=").find(c) != s.npos)
      return false;
  return true;
}

// A property value: bare when a token or a plain address (token "@" token), else quoted.
std::string pvalue(std::string_view v) {
  const auto at = v.rfind('@');
  if (is_token(v) || (at != v.npos && (at == 0 || is_token(v.substr(0, at))) &&
                      is_token(v.substr(at + 1)) && v.find('@') == at))
    return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::optional<std::string> arc_override(const arc_validation& chain,
                                        const std::vector<verification>& results,
                                        const result<std::vector<std::string>>& from_domains,
                                        const std::vector<std::string>& trusted) {
  if (trusted.empty() || chain.result != arc_result::pass || chain.set_results.empty())
    return std::nullopt;
  if (!from_domains || from_domains->size() != 1) return std::nullopt;
  const std::string& author = from_domains->front();
  for (const auto& v : results)
    if (v.status == status::pass && same_domain(v.sdid, author)) return std::nullopt;
  const arc_set_result& newest = chain.set_results.back();
  bool is_trusted = false;
  for (const auto& t : trusted) is_trusted = is_trusted || same_domain(newest.seal_domain, t);
  if (!is_trusted || !newest.aar) return std::nullopt;
  for (const auto& r : newest.aar->results) {
    if (!iequals(r.method, "dkim") || !iequals(r.result, "pass")) continue;
    for (const auto& [name, value] : r.properties) {
      std::string_view domain = value;
      if (iequals(name, "header.i")) {
        const auto at = domain.rfind('@');
        if (at == domain.npos) continue;
        domain = domain.substr(at + 1);
      } else if (!iequals(name, "header.d")) {
        continue;
      }
      if (same_domain(domain, author)) {
        std::string sealer(without_dot(newest.seal_domain));
        for (char& c : sealer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return sealer;
      }
    }
  }
  return std::nullopt;
}

std::string arc_entry(const arc_validation& chain, std::string_view remote_ip,
                      std::string_view override_sealer) {
  std::string out = "arc=" + std::string(to_string(chain.result));
  if (chain.result == arc_result::pass) {
    out += " header.oldest-pass=" + std::to_string(chain.oldest_pass);
  } else if (chain.result == arc_result::fail) {
    std::string why;
    for (char c : chain.reason) {
      if (why.size() >= 200) break;
      if (c < 0x20 || c > 0x7e) continue;
      if (c == '(' || c == ')' || c == '\\') why += '\\';
      why += c;
    }
    if (!why.empty()) out += " (" + why + ")";
  }
  if (!remote_ip.empty() && printable(remote_ip)) out += " smtp.remote-ip=" + pvalue(remote_ip);
  if (!override_sealer.empty() && printable(override_sealer))
    out += " policy.arc-override=" + pvalue(override_sealer);
  return out;
}

std::optional<std::string> rewritten_results(const std::vector<std::string>& values) {
  bool parsed = false;
  std::string out;
  for (const auto& value : values) {
    auto f = parse_auth_results(value);
    if (!f) continue;
    parsed = true;
    for (const auto& r : f->results) {
      if (!is_token(r.method) || !is_token(r.result)) continue;
      if (!out.empty()) out += ";\r\n\t";
      out += r.method + "=" + r.result;
      if (!r.reason.empty() && is_text(r.reason)) out += " reason=" + pvalue(r.reason);
      for (const auto& [name, v] : r.properties)
        if (is_token(name) && !v.empty() && is_text(v)) out += " " + name + "=" + pvalue(v);
    }
  }
  if (!parsed) return std::nullopt;
  return out.empty() ? std::string("none") : out;
}

}  // namespace dkimkit::milter
