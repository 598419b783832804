// dkimkit explain --sent: the comparison of the copy as sent with the copy as received.
#include "explain_changes.hpp"

#include <dkimkit/changes.hpp>
#include <optional>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

constexpr std::size_t kShownFieldBytes = 300;  // of a header field, in text

nlohmann::json optional_string(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

// A value of the message made terminal_safe, with trailing white space made visible ("\x20",
// "\x09"): it is often the whole difference.
std::string visible(std::string_view v) {
  std::size_t end = v.size();
  while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t')) --end;
  std::string out = terminal_safe(v.substr(0, end));
  for (char c : v.substr(end)) out += c == ' ' ? "\\x20" : "\\x09";
  return out;
}

std::string shown(const nlohmann::json& j, std::size_t max_bytes) {
  const std::string v = j.get<std::string>();
  if (v.size() <= max_bytes) return visible(v);
  return visible(std::string_view(v).substr(0, max_bytes)) + "...";
}

std::string lines_of(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " line" : " lines"); }

}  // namespace

std::vector<nlohmann::json> compare_copies_of(const explanation& e, std::string_view sent,
                                              std::string_view received,
                                              const std::string& sent_name,
                                              const header_limits& limits) {
  std::vector<nlohmann::json> out(e.signatures.size());
  auto view = parse_message(received, limits);
  if (!view) return out;  // no signature can be read either
  // The DKIM-Signature number of each field position.
  std::vector<std::size_t> number(view->fields.size(), 0);
  std::size_t count = 0;
  for (std::size_t i = 0; i < view->fields.size(); ++i)
    if (iequals(view->fields[i].name, "DKIM-Signature")) number[i] = count++;
  std::vector<std::size_t> chosen;
  std::optional<std::size_t> first;
  for (std::size_t i = 0; i < e.signatures.size(); ++i) {
    const verification& v = e.signatures[i].result;
    if (!e.signatures[i].has_field || v.field_index >= number.size()) continue;
    if (!first) first = i;
    if (v.status != status::pass) chosen.push_back(i);
  }
  if (chosen.empty() && first) chosen.push_back(*first);
  for (std::size_t i : chosen)
    out[i] =
        changes_json(sent, received, number[e.signatures[i].result.field_index], sent_name, limits);
  return out;
}

nlohmann::json changes_json(std::string_view sent, std::string_view received, std::size_t n,
                            const std::string& sent_name, const header_limits& limits) {
  auto c = compare_copies(sent, received, n, {}, limits);
  if (!c) return {{"changes_error", c.error().message()}};
  const std::string relaxed(to_string(canonicalization::relaxed));
  nlohmann::json changes = nlohmann::json::array();
  for (const header_change& h : c->headers) {
    nlohmann::json e = {{"part", "header"},
                        {"field", h.field},
                        {"instance", h.instance},
                        {"sent", optional_string(h.sent)},
                        {"received", optional_string(h.received)}};
    if (h.relaxed_equal) e["tolerated_by"] = relaxed;
    changes.push_back(std::move(e));
  }
  for (const body_line_change& l : c->body.lines) {
    nlohmann::json e = {{"part", "body"},
                        {"line", l.line},
                        {"sent", optional_string(l.sent)},
                        {"received", optional_string(l.received)}};
    if (c->body.relaxed_equal) e["tolerated_by"] = relaxed;
    if (l.sent_clipped) e["sent_clipped"] = true;
    if (l.received_clipped) e["received_clipped"] = true;
    if (l.sent_unterminated) e["sent_unterminated"] = true;
    if (l.received_unterminated) e["received_unterminated"] = true;
    changes.push_back(std::move(e));
  }
  nlohmann::json header = {{"changed", c->headers.size()}};
  if (c->headers_relaxed_equal()) header["tolerated_by"] = relaxed;
  nlohmann::json body = {{"changed", c->body.differs},
                         {"sent_bytes", c->body.sent_bytes},
                         {"received_bytes", c->body.received_bytes}};
  if (c->body.differs) {
    body["first_line"] = c->body.first_line;
    body["sent_lines"] = c->body.sent_lines;
    body["received_lines"] = c->body.received_lines;
    body["truncated"] = c->body.truncated;
    body["more_differences"] = c->body.more_differences;
    if (c->body.relaxed_equal) body["tolerated_by"] = relaxed;
  }
  nlohmann::json comparison = {{"sent", sent_name},
                               {"unchanged", c->unchanged()},
                               {"canonicalization", std::string(to_string(c->header_canon)) + "/" +
                                                        std::string(to_string(c->body_canon))},
                               {"header", std::move(header)},
                               {"body", std::move(body)}};
  if (c->body_length) comparison["body_length"] = *c->body_length;
  return {{"changes", std::move(changes)}, {"comparison", std::move(comparison)}};
}

void print_changes(const nlohmann::json& s, bool colour, std::ostream& os) {
  if (s.is_null()) return;
  if (s.contains("changes_error")) {
    os << "  What changed between the copies: cannot compare them: "
       << terminal_safe(s["changes_error"].get<std::string>()) << "\n";
    return;
  }
  if (!s.contains("comparison")) return;
  const nlohmann::json& cmp = s["comparison"];
  const std::string how = "as c=" + cmp["canonicalization"].get<std::string>() +
                          (cmp.contains("body_length") ? "; l=" + cmp["body_length"].dump() : "") +
                          " hashes them";
  if (cmp["unchanged"].get<bool>()) {
    os << "  What changed between the copies: " << paint(colour, tone::good, "nothing changed")
       << " (" << terminal_safe(cmp["sent"].get<std::string>())
       << " and this message are identical " << how << ")\n";
    return;
  }
  os << "  What changed between the copies (" << terminal_safe(cmp["sent"].get<std::string>())
     << " as sent, this message as received, " << how << "):\n";
  const bool all_headers_tolerated = cmp["header"].contains("tolerated_by");
  for (const auto& e : s["changes"]) {
    if (e["part"] != "header") continue;
    const std::size_t instance = e["instance"].get<std::size_t>();
    os << "    header field " << terminal_safe(e["field"].get<std::string>())
       << (instance > 0 ? " (instance " + std::to_string(instance + 1) + " from the bottom)" : "");
    if (e["sent"].is_null())
      os << ": only in the copy as received";
    else if (e["received"].is_null())
      os << ": only in the copy as sent";
    os << "\n";
    if (!e["sent"].is_null())
      os << "      "
         << paint(colour, tone::bad, "- sent      " + shown(e["sent"], kShownFieldBytes)) << "\n";
    if (!e["received"].is_null())
      os << "      "
         << paint(colour, tone::good, "+ received  " + shown(e["received"], kShownFieldBytes))
         << "\n";
    if (e.contains("tolerated_by") && !all_headers_tolerated)
      os << "      white space or letter case only: relaxed header canonicalization would have "
            "tolerated this field\n";
  }
  if (all_headers_tolerated)
    os << "    "
       << paint(colour, tone::warn,
                "white space or letter case only: relaxed header canonicalization would "
                "have passed")
       << "\n";
  const nlohmann::json& body = cmp["body"];
  if (!body["changed"].get<bool>()) return;
  const auto first = body["first_line"].get<std::uint64_t>();
  const auto sent_lines = body["sent_lines"].get<std::uint64_t>();
  const auto received_lines = body["received_lines"].get<std::uint64_t>();
  os << "    body, from line " << first << ": " << lines_of(sent_lines) << " as sent, "
     << lines_of(received_lines) << " as received (@@ -" << first << "," << sent_lines << " +"
     << first << "," << received_lines << " @@)\n";
  for (const char* side : {"sent", "received"}) {
    const bool sent = side[0] == 's';
    for (const auto& e : s["changes"]) {
      if (e["part"] != "body" || e[side].is_null()) continue;
      std::string line =
          (sent ? "-" : "+") + e["line"].dump() + "  " + visible(e[side].get<std::string>());
      if (e.contains(std::string(side) + "_clipped")) line += "...";
      if (e.contains(std::string(side) + "_unterminated")) line += " (no line end: l= cuts here)";
      os << "      " << paint(colour, sent ? tone::bad : tone::good, line) << "\n";
    }
  }
  if (body["truncated"].get<bool>()) os << "      (cut short: more of the lines differ)\n";
  if (body["more_differences"].get<bool>())
    os << "      (and further down the bodies differ again: only the first difference is shown)\n";
  if (body.contains("tolerated_by"))
    os << "    "
       << paint(colour, tone::warn,
                "whitespace only: relaxed body canonicalization would have passed")
       << "\n";
}

}  // namespace dkimkit::cli
