#include "origin.hpp"

#include <algorithm>
#include <optional>

#include "config.hpp"

namespace dkimkit::milter {
namespace {

constexpr std::size_t kMaxMacroFileBytes = 1 << 20;
constexpr std::size_t kMaxMacroLine = 1023;  // OpenDKIM reads 1024-byte lines

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// "v1|v2" split as strtok(3) does (empty pieces dropped), each piece trimmed.
std::vector<std::string> split_values(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    std::size_t bar = v.find('|');
    std::string_view piece = trim(v.substr(0, bar));
    if (!piece.empty()) out.emplace_back(piece);
    v = bar == std::string_view::npos ? std::string_view{} : v.substr(bar + 1);
  }
  return out;
}

result<std::string> check_macro_name(std::string_view name) {
  if (name.empty()) return fail(errc::invalid_argument, "a macro with no name");
  if (name.find_first_of("{} \t\r\n") != std::string_view::npos)
    return fail(errc::invalid_argument,
                "'" + std::string(name) +
                    "' is not a macro name: write it without braces or blanks (auth_type, not "
                    "{auth_type}), as it could never be set otherwise");
  return std::string(name);
}

}  // namespace

result<host_set> load_host_set(const std::vector<std::string>& entries) {
  host_set out;
  for (const auto& e : entries) {
    if (auto ok = out.list.add(e); !ok) return tl::unexpected(ok.error());
    out.entries.push_back(e);
  }
  return out;
}

result<host_set> load_host_set(std::string_view data_set_value) {
  host_set out;
  auto list = opendkim::load_host_list(data_set_value, &out.entries);
  if (!list) return tl::unexpected(list.error());
  out.list = std::move(*list);
  auto ds = opendkim::parse_data_set(data_set_value);
  if (ds && ds->type != opendkim::data_set::type::csl) out.file = std::string(data_set_value);
  return out;
}

std::vector<network> plain_networks(const host_set& hosts) {
  std::vector<network> out;
  for (std::string e : hosts.entries) {
    if (e.size() > 2 && e.front() == '[') {
      auto close = e.find(']');
      if (close == std::string::npos) return {};
      e = e.substr(1, close - 1) + e.substr(close + 1);
    }
    auto net = e.empty() || e.front() == '!' ? std::nullopt : parse_network(e);
    if (!net) return {};
    out.push_back(*net);
  }
  return out;
}

result<std::optional<macro_rule>> parse_macro_rule(std::string_view entry) {
  std::size_t eq = entry.find('=');
  auto name = check_macro_name(trim(entry.substr(0, eq)));
  if (!name) return tl::unexpected(name.error());
  macro_rule r{std::move(*name), {}};
  if (eq != std::string_view::npos) {
    r.values = split_values(entry.substr(eq + 1));
    if (r.values.empty()) return std::optional<macro_rule>{};  // OpenDKIM lists nothing for it
  }
  return std::optional<macro_rule>{std::move(r)};
}

result<std::vector<macro_rule>> load_macro_rules(std::string_view value) {
  auto ds = opendkim::parse_data_set(value);
  if (!ds) return tl::unexpected(ds.error());
  std::vector<macro_rule> out;
  auto add = [&](std::optional<macro_rule> r) -> result<void> {
    if (!r) return {};
    if (out.size() >= max_macro_rules)
      return fail(errc::invalid_argument,
                  "more than " + std::to_string(max_macro_rules) + " macros");
    out.push_back(std::move(*r));
    return {};
  };
  if (ds->type == opendkim::data_set::type::refile)
    return fail(errc::invalid_argument,
                "must be a file or a comma-separated list (opendkim.conf(5))");
  if (ds->type == opendkim::data_set::type::csl) {
    // Split here rather than by parse_data_set(): "name" and "name=" differ.
    std::string_view rest = value;
    if (auto colon = rest.find(':'), comma = rest.find(',');
        colon != std::string_view::npos && colon < comma)
      rest = rest.substr(colon + 1);
    while (!rest.empty()) {
      std::size_t c = rest.find(',');
      std::string_view item = rest.substr(0, c);
      rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
      if (item.empty()) continue;  // strtok(3): empty items are skipped
      auto r = parse_macro_rule(item);
      if (!r) return tl::unexpected(r.error());
      if (auto ok = add(std::move(*r)); !ok) return tl::unexpected(ok.error());
    }
  } else {
    auto text = opendkim::read_bounded_file(ds->path, kMaxMacroFileBytes);
    if (!text) return tl::unexpected(text.error());
    std::string_view lines = *text;
    for (unsigned line_no = 1; !lines.empty(); ++line_no) {
      std::size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl);
      lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
      const std::string here = ds->path + ":" + std::to_string(line_no) + ": ";
      if (line.size() > kMaxMacroLine)
        return fail(errc::invalid_argument,
                    here + "line longer than " + std::to_string(kMaxMacroLine) + " bytes");
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      // "name value": the first word, then everything after the blanks that follow it.
      std::size_t gap = 0;
      while (gap < line.size() && !is_space(line[gap])) ++gap;
      auto name = check_macro_name(line.substr(0, gap));
      if (!name) return fail(errc::invalid_argument, here + name.error().detail);
      std::optional<macro_rule> r = macro_rule{std::move(*name), {}};
      if (std::string_view v = trim(line.substr(gap)); !v.empty()) {
        r->values = split_values(v);
        if (r->values.empty()) r.reset();
      }
      if (auto ok = add(std::move(r)); !ok)
        return fail(errc::invalid_argument, here + ok.error().detail);
    }
  }
  if (out.empty())
    return fail(errc::invalid_argument, "lists no macro (OpenDKIM would fail on every message)");
  if (auto ok = check_macro_rules(out); !ok) return tl::unexpected(ok.error());
  return out;
}

std::string to_string(const macro_rule& rule) {
  std::string out = rule.name;
  for (std::size_t i = 0; i < rule.values.size(); ++i) out += (i ? "|" : "=") + rule.values[i];
  return out;
}

std::vector<std::string> wanted_macros(const config& cfg) {
  std::vector<std::string> out{"{auth_type}"};
  if (!cfg.daemon_names.empty()) out.emplace_back("{daemon_name}");
  for (const auto& r : cfg.sign_macros) {
    std::string name = "{" + r.name + "}";
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

std::string requested_macro_list(const std::vector<macro_rule>& rules) {
  if (rules.empty()) return {};
  std::string out = "i {daemon_name} {auth_type}";
  for (const auto& r : rules) out += " {" + r.name + "}";
  return out;
}

result<void> check_macro_rules(const std::vector<macro_rule>& rules) {
  if (rules.size() > max_macro_rules)
    return fail(errc::invalid_argument, "more than " + std::to_string(max_macro_rules) + " macros");
  if (requested_macro_list(rules).size() > max_macro_request_bytes)
    return fail(errc::invalid_argument,
                "the macro names are too long together: OpenDKIM asks the MTA for them in " +
                    std::to_string(max_macro_request_bytes) +
                    " bytes and refuses every connection past that");
  return {};
}

bool signing_origin(const config& cfg, bool internal, bool authenticated,
                    const macro_values* macros) {
  bool ok = false;
  if (macros && !cfg.daemon_names.empty()) {
    if (auto it = macros->find("{daemon_name}"); it != macros->end())
      ok = std::find(cfg.daemon_names.begin(), cfg.daemon_names.end(), it->second) !=
           cfg.daemon_names.end();
  }
  if (macros) {
    for (const auto& rule : cfg.sign_macros) {
      auto it = macros->find("{" + rule.name + "}");
      if (it == macros->end()) continue;
      // Every rule of this name counts (OpenDKIM looks the name up in the whole list).
      ok = false;
      for (const auto& r : cfg.sign_macros)
        if (r.name == rule.name && (r.values.empty() || std::find(r.values.begin(), r.values.end(),
                                                                  it->second) != r.values.end()))
          ok = true;
    }
  }
  return ok || internal || (authenticated && cfg.sign_authenticated);
}

}  // namespace dkimkit::milter
