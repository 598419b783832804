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
  auth_result r;
  r.method = "arc";
  r.result = to_string(chain.result);
  if (chain.result == arc_result::pass) {
    r.properties.emplace_back("header.oldest-pass", std::to_string(chain.oldest_pass));
  } else if (chain.result == arc_result::fail) {
    // The reason as a comment of at most 200 characters as written ('(', ')' and '\' take two).
    std::size_t written = 0;
    for (char c : chain.reason) {
      if (written >= 200) break;
      if (c < 0x20 || c > 0x7e) continue;
      written += c == '(' || c == ')' || c == '\\' ? 2 : 1;
      r.comment += c;
    }
  }
  if (!remote_ip.empty() && printable(remote_ip))
    r.properties.emplace_back("smtp.remote-ip", remote_ip);
  if (!override_sealer.empty() && printable(override_sealer))
    r.properties.emplace_back("policy.arc-override", override_sealer);
  return *format_auth_result(r);  // "arc" and an arc_result: tokens
}

std::optional<std::string> rewritten_results(const std::vector<std::string>& values) {
  bool parsed = false;
  std::string out;
  for (const auto& value : values) {
    auto f = parse_auth_results(value);
    if (!f) continue;
    parsed = true;
    for (auto& r : f->results) {
      r.comment.clear();  // comments are not passed on
      auto entry = format_auth_result(r);
      if (!entry) continue;  // a method or result that is not a token
      if (!out.empty()) out += ";\r\n\t";
      out += *entry;
    }
  }
  if (!parsed) return std::nullopt;
  return out.empty() ? std::string("none") : out;
}

}  // namespace dkimkit::milter
