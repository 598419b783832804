#include "header_rules.hpp"

#include <algorithm>
#include <dkimkit/message.hpp>
#include <tuple>

namespace dkimkit::milter {

const std::vector<std::string>& opendkim_sign_headers() {
  static const std::vector<std::string> list = {"From",
                                                "Reply-To",
                                                "Subject",
                                                "Date",
                                                "To",
                                                "Cc",
                                                "Resent-Date",
                                                "Resent-From",
                                                "Resent-Sender",
                                                "Resent-To",
                                                "Resent-Cc",
                                                "In-Reply-To",
                                                "References",
                                                "List-Id",
                                                "List-Help",
                                                "List-Unsubscribe",
                                                "List-Subscribe",
                                                "List-Post",
                                                "List-Owner",
                                                "List-Archive"};
  return list;
}

const std::vector<std::string>& opendkim_omit_headers() {
  static const std::vector<std::string> list = {
      "Return-Path", "Received", "Comments", "Keywords", "Bcc", "Resent-Bcc", "DKIM-Signature"};
  return list;
}

result<void> check_header_rule_name(std::string_view name, bool glob) {
  if (name.empty()) return fail(errc::invalid_argument, "an empty header field name");
  if (name.size() > max_header_name_bytes)
    return fail(errc::invalid_argument, "a header field name longer than " +
                                            std::to_string(max_header_name_bytes) + " bytes");
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '*' && glob) continue;
    if (c == '*' || c < 33 || c > 126 || c == ':')
      return fail(errc::invalid_argument, "'" + std::string(name) + "' is not a header field name" +
                                              (glob ? " (letters, digits, '-' and '*')" : ""));
    if (std::string_view("+?()[]{}|^$\\").find(ch) != std::string_view::npos)
      return fail(errc::invalid_argument,
                  "'" + std::string(name) + "': OpenDKIM reads '" + std::string(1, ch) +
                      "' as part of a regular expression; dkimkit-milter takes names and '*' only");
  }
  return {};
}

namespace {

result<void> check_names(std::string_view list, const std::vector<std::string>& names, bool glob) {
  if (names.size() > max_header_rule_names)
    return fail(errc::invalid_argument, std::string(list) + ": more than " +
                                            std::to_string(max_header_rule_names) + " names");
  for (const auto& n : names)
    if (auto ok = check_header_rule_name(n, glob); !ok)
      return fail(errc::invalid_argument, std::string(list) + ": " + ok.error().detail);
  return {};
}

}  // namespace

result<void> check_header_rules(const header_rules& r) {
  for (auto [list, names, glob] :
       {std::tuple{"sign_headers", &r.sign, true}, std::tuple{"omit_headers", &r.omit, true},
        std::tuple{"oversign_headers", &r.oversign, false}})
    if (auto ok = check_names(list, *names, glob); !ok) return ok;
  for (const auto& o : r.omit)
    if (header_name_matches(o, "From"))
      return fail(errc::invalid_argument, "omit_headers: '" + o +
                                              "' omits From, which every signature must cover "
                                              "(OpenDKIM then signs nothing)");
  return {};
}

result<void> check_sender_headers(const std::vector<std::string>& names) {
  if (names.empty()) return fail(errc::invalid_argument, "sender_headers: no field named");
  return check_names("sender_headers", names, false);
}

result<std::vector<std::string>> opendkim_header_list(const std::vector<std::string>& entries,
                                                      const std::vector<std::string>& defaults) {
  if (entries.size() > max_header_rule_names)
    return fail(errc::invalid_argument,
                "more than " + std::to_string(max_header_rule_names) + " names");
  const bool delta = std::find(entries.begin(), entries.end(), "*") != entries.end();
  std::vector<std::string> out = delta ? defaults : std::vector<std::string>{};
  for (const auto& e : entries) {
    if (delta && e == "*") continue;
    const bool add = !e.empty() && e.front() == '+', remove = !e.empty() && e.front() == '-';
    if (delta && !add && !remove) continue;  // OpenDKIM ignores them
    if (!delta && add)
      return fail(errc::invalid_argument, "'" + e +
                                              "': a \"+\" entry adds to the default list "
                                              "only with \"*\" (OpenDKIM fails to start)");
    std::string name = delta ? e.substr(1) : e;
    if (auto ok = check_header_rule_name(name, true); !ok) return tl::unexpected(ok.error());
    if (delta && remove) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const std::string& x) { return iequals(x, name); });
      if (it != out.end()) out.erase(it);
      continue;
    }
    out.push_back(std::move(name));
  }
  return out;
}

bool header_name_matches(std::string_view pattern, std::string_view name) noexcept {
  // Iterative glob with one backtracking point: linear in practice, O(n*m) at worst (bounded by
  // max_header_name_bytes and the header limits).
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  auto low = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && low(pattern[p]) == low(name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> signed_header_names(const header_rules& r,
                                             const std::vector<std::string_view>& field_names) {
  auto any = [](const std::vector<std::string>& patterns, std::string_view name) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return header_name_matches(p, name); });
  };
  std::vector<std::string> out;
  for (std::string_view name : field_names)
    if ((iequals(name, "From") || any(r.sign, name)) && !any(r.omit, name)) out.emplace_back(name);
  out.insert(out.end(), r.oversign.begin(), r.oversign.end());
  return out;
}

}  // namespace dkimkit::milter
