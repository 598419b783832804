// dkimkit explain: the DKIM signatures of one message in plain words, with the
// verification result, the likely cause of a failure and what to check. The
// library builds the explanation (dkimkit/explain.hpp); this file lays it out as
// text or JSON.
#include <dkimkit/explain.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "explain_changes.hpp"

namespace dkimkit::cli {
namespace {

struct explain_args {
  std::string file = "-";
  std::string sent;  // --sent: the copy as sent, compared with FILE
  dns_args dns;
  bool json = false;
  colour_mode colour = colour_mode::automatic;
  verify_settings check;
};

// ---- JSON
// --------------------------------------------------------------------------------------
// Text of the message (tag values, meanings quoting i= or z=) is made terminal_safe as in the
// human output; the rest is written as the library gives it (json_line keeps it valid).

nlohmann::json to_json(const explained_time& t, const char* flag, bool value) {
  return {{"unix", t.unix_time}, {"date", t.date}, {flag, value}};
}

nlohmann::json to_json(const signature_explanation& s) {
  const verification& v = s.result;
  nlohmann::json j = {
      {"tags", nlohmann::json::array()}, {"result", to_string(v.status)}, {"reason", v.reason}};
  if (!s.has_field) {
    j["likely_cause"] = s.likely_cause;
    j["what_to_check"] = s.what_to_check;
    return j;
  }
  for (const auto& t : s.tags)
    j["tags"].push_back({{"tag", terminal_safe(t.name)},
                         {"value", terminal_safe(t.value)},
                         {"meaning", terminal_safe(t.meaning)}});
  if (!s.tag_error.empty()) j["tag_error"] = s.tag_error;
  if (!s.signature_error.empty()) j["signature_error"] = s.signature_error;
  if (v.parsed) {
    j["key_name"] = s.key_name;
    j["signing_domain"] = v.parsed->sdid;
    j["selector"] = v.parsed->selector;
    j["identity"] = s.identity;
    j["identity_default"] = s.identity_default;
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : s.signed_fields) {
      nlohmann::json e = {{"name", f.name}, {"signed", f.signed_times}, {"present", f.present}};
      if (!f.note.empty()) e["note"] = f.note;
      fields.push_back(std::move(e));
    }
    j["signed_headers"] = std::move(fields);
    j["oversigned"] = s.oversigned;
    j["unsigned_fields"] = s.unsigned_fields;
    if (s.timestamp) j["timestamp"] = to_json(*s.timestamp, "in_future", s.timestamp->in_future);
    if (s.expiration) j["expiration"] = to_json(*s.expiration, "passed", s.expiration->passed);
    if (const auto& b = s.body_length) {
      j["body_length"] = {
          {"signed", b->signed_length}, {"body", b->body_length}, {"risk", b->risk}};
      if (b->signed_length < b->body_length)
        j["body_length"]["unsigned"] = b->body_length - b->signed_length;
    }
    if (s.aligned) j["aligned"] = to_string(*s.aligned);
  }
  if (v.key_bits) j["key_bits"] = v.key_bits;
  if (v.key_type) j["key_type"] = to_string(*v.key_type);
  if (v.testing) j["testing"] = true;
  if (v.dnssec != dnssec_status::unknown) j["dnssec"] = to_string(v.dnssec);
  if (!s.likely_cause.empty()) j["likely_cause"] = s.likely_cause;
  if (!s.what_to_check.empty()) j["what_to_check"] = s.what_to_check;
  return j;
}

nlohmann::json to_json(const earlier_result& e) {
  if (!e.field) return {{"error", e.error}, {"raw", terminal_safe(e.raw)}};
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : e.field->results) {
    nlohmann::json o = {{"method", r.method}, {"result", r.result}};
    if (!r.reason.empty()) o["reason"] = r.reason;
    if (!r.comment.empty()) o["comment"] = r.comment;
    nlohmann::json props = nlohmann::json::object();
    for (const auto& [k, val] : r.properties) props[k] = val;
    if (!props.empty()) o["properties"] = std::move(props);
    results.push_back(std::move(o));
  }
  return {{"authserv_id", e.field->authserv_id}, {"results", std::move(results)}};
}

// An ARC-Seal or ARC-Message-Signature: names from the message are made terminal_safe.
nlohmann::json to_json(const explained_arc_signature& a) {
  nlohmann::json j = {{"result", to_string(a.result)}, {"reason", terminal_safe(a.reason)}};
  if (!a.domain.empty()) {
    j["domain"] = terminal_safe(a.domain);
    j["selector"] = terminal_safe(a.selector);
    j["key_name"] = terminal_safe(a.key_name);
  }
  if (a.timestamp) j["timestamp"] = to_json(*a.timestamp, "in_future", a.timestamp->in_future);
  if (!a.not_evaluated.empty()) j["not_evaluated"] = terminal_safe(a.not_evaluated);
  if (!a.likely_cause.empty()) j["likely_cause"] = terminal_safe(a.likely_cause);
  if (!a.what_to_check.empty()) j["what_to_check"] = terminal_safe(a.what_to_check);
  return j;
}

// "arc": the chain and its sets, newest first.
nlohmann::json to_json(const arc_explanation& arc) {
  nlohmann::json j = {{"result", to_string(arc.result)}, {"sets", arc.sets}};
  if (arc.result == arc_result::pass) j["oldest_pass"] = arc.oldest_pass;
  j["reason"] = terminal_safe(arc.reason);
  j["meaning"] = arc.meaning;
  j["newest_first"] = nlohmann::json::array();
  for (const auto& s : arc.newest_first) {
    nlohmann::json set = {{"instance", s.instance},
                          {"cv", terminal_safe(s.cv)},
                          {"cv_meaning", terminal_safe(s.cv_meaning)},
                          {"seal", to_json(s.seal)},
                          {"ams", to_json(s.ams)},
                          {"said", to_json(s.said)}};
    set["ams"]["signed_headers"] = nlohmann::json::array();
    for (const auto& h : s.ams_signed_fields)
      set["ams"]["signed_headers"].push_back(terminal_safe(h));
    j["newest_first"].push_back(std::move(set));
  }
  return j;
}

// `changes`: for each signature, the members explain --sent adds (null: not compared).
nlohmann::json to_json(const explanation& e, const std::string& file,
                       const std::vector<nlohmann::json>& changes) {
  nlohmann::json doc = {{"file", file}, {"result", to_string(e.result)}};
  if (!e.from_domain.empty())
    doc["from_domain"] = e.from_domain;
  else
    doc["from_error"] = e.from_error;
  doc["signatures"] = nlohmann::json::array();
  for (std::size_t i = 0; i < e.signatures.size(); ++i) {
    doc["signatures"].push_back(to_json(e.signatures[i]));
    if (i < changes.size() && !changes[i].is_null()) doc["signatures"].back().update(changes[i]);
  }
  doc["earlier_results"] = nlohmann::json::array();
  for (const auto& r : e.earlier_results) doc["earlier_results"].push_back(to_json(r));
  if (e.arc) doc["arc"] = to_json(*e.arc);  // only for a message with ARC fields
  return doc;
}

// ---- human output
// ------------------------------------------------------------------------------

std::string clip(const std::string& s, std::size_t width) {
  if (s.size() <= width) return s;
  return s.substr(0, width - 3) + "...";
}

// `text` broken at spaces into lines of at most `width` columns after an indent
// of `indent` (the first line continues whatever precedes it). Colour codes are
// not in `text`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width = 100) {
  std::size_t room = width > indent + 20 ? width - indent : 20;
  std::string out, line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t sp = text.find(' ', pos);
    std::string word = text.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    pos = sp == std::string::npos ? text.size() : sp + 1;
    if (!line.empty() && line.size() + 1 + word.size() > room) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

// Every string of the explanation is made terminal_safe before it is painted or printed.
class text_renderer {
 public:
  text_renderer(bool colour, std::ostream& os, const std::vector<nlohmann::json>& changes)
      : colour_(colour), os_(os), changes_(changes) {}

  void render(const explanation& e) {
    os_ << "From domain: "
        << (e.from_domain.empty()
                ? "(none: " + terminal_safe(e.from_error) + "; no signature aligns)"
                : terminal_safe(e.from_domain))
        << "\n";
    if (e.signatures.empty()) os_ << "No DKIM-Signature field: the message is not signed.\n";
    for (std::size_t n = 0; n < e.signatures.size(); ++n)
      signature(e.signatures[n], n + 1, e.signatures.size());
    if (e.arc) arc(*e.arc);
    if (!e.earlier_results.empty()) {
      os_ << "\nWhat earlier hops said (Authentication-Results, newest first):\n";
      for (const auto& r : e.earlier_results) earlier(r);
    }
    std::string overall(to_string(e.result));
    os_ << "\nResult: " << paint(colour_, tone_of_word(overall), overall) << "\n";
  }

 private:
  void label(std::string_view l, const std::string& text) {
    std::string lab(l);
    lab.resize(16, ' ');
    os_ << "  " << paint(colour_, tone::dim, lab) << text << "\n";
  }
  void plain_label(std::string_view l, std::string_view text) {
    label(l, wrap(terminal_safe(text), 18));
  }

  void signature(const signature_explanation& s, std::size_t n, std::size_t count) {
    const verification& v = s.result;
    std::string result(to_string(v.status));
    os_ << "\nDKIM-Signature " << n << " of " << count << ": "
        << paint(colour_, tone_of_word(result), result) << "\n";
    if (!s.tag_error.empty()) plain_label("unreadable", s.tag_error);
    for (const auto& t : s.tags) {
      std::string tag = terminal_safe(t.name) + "=";
      tag.resize(4, ' ');
      std::string value = clip(terminal_safe(t.value), 28);
      value.resize(30, ' ');
      os_ << "  " << tag << value << wrap(terminal_safe(t.meaning), 36) << "\n";
    }
    if (!s.signature_error.empty()) plain_label("not usable", s.signature_error);
    if (v.parsed) parsed_facts(s);
    std::string reason = terminal_safe(v.reason);
    label("result", paint(colour_, tone_of_word(result), result) +
                        (reason.empty() ? "" : " (" + reason + ")"));
    // A result without a field of its own always shows both lines.
    if (!s.likely_cause.empty() || !s.has_field) plain_label("likely cause", s.likely_cause);
    if (!s.what_to_check.empty() || !s.has_field) plain_label("check", s.what_to_check);
    if (n - 1 < changes_.size()) print_changes(changes_[n - 1], colour_, os_);
  }

  void parsed_facts(const signature_explanation& s) {
    const verification& v = s.result;
    std::string key = "TXT record at " + s.key_name;
    if (v.key_bits)
      key += " (" + std::to_string(v.key_bits) + "-bit " +
             (v.key_type ? std::string(to_string(*v.key_type)) : "") + " key" +
             (v.testing ? ", t=y: the domain is testing DKIM" : "") + ")";
    if (v.dnssec != dnssec_status::unknown) key += ", DNSSEC " + std::string(to_string(v.dnssec));
    plain_label("key", key);
    label("identity",
          terminal_safe(s.identity) + (s.identity_default ? " (no i=: the signing domain)" : ""));
    std::string list;
    for (const auto& f : s.signed_fields) {
      if (!list.empty()) list += ", ";
      list += terminal_safe(f.name);
      if (f.signed_times > 1) list += " x" + std::to_string(f.signed_times);
    }
    label("signed fields", list);
    for (const auto& f : s.signed_fields)
      if (!f.note.empty())
        label("", terminal_safe(f.name) + ": signed " + std::to_string(f.signed_times) +
                      ", present " + std::to_string(f.present) + ": " + f.note);
    if (!s.unsigned_fields.empty()) {
      std::string u;
      for (const auto& f : s.unsigned_fields) u += (u.empty() ? "" : ", ") + f;
      plain_label("not signed", u + ": present but not covered; they can be changed freely");
    }
    if (const auto& b = s.body_length) {
      label("body length", "l=" + std::to_string(b->signed_length) + " of a " +
                               std::to_string(b->body_length) + "-byte canonicalized body");
      label("", paint(colour_, tone::warn, wrap(terminal_safe(b->risk), 18)));
    }
    if (s.aligned) plain_label("alignment", s.alignment_meaning);
  }

  // The ARC chain, then its sets newest first (only for a message with ARC fields).
  void arc(const arc_explanation& a) {
    std::string word(to_string(a.result));
    std::string head = paint(colour_, tone_of_word(word), word) + " (" + std::to_string(a.sets) +
                       (a.sets == 1 ? " set" : " sets");
    if (a.result == arc_result::pass) head += ", oldest-pass " + std::to_string(a.oldest_pass);
    os_ << "\nARC chain: " << head << ")\n";
    if (!a.reason.empty()) plain_label("reason", a.reason);
    plain_label("meaning", a.meaning);
    for (const auto& s : a.newest_first) arc_set(s, a.sets);
  }

  void arc_set(const explained_arc_set& s, std::size_t count) {
    os_ << "\nARC set i=" << s.instance << " of " << count
        << (s.instance == count ? " (newest)"
            : s.instance == 1   ? " (oldest)"
                                : "")
        << ": sealed by "
        << (s.seal.domain.empty() ? "? (the ARC-Seal does not parse)"
                                  : terminal_safe(s.seal.domain))
        << "\n";
    plain_label("cv=" + terminal_safe(s.cv), s.cv_meaning);
    arc_signature(s.seal, "ARC-Seal", "sealer", "sealed at", nullptr);
    arc_signature(s.ams, "AMS", "AMS signer", "AMS signed at", &s.ams_signed_fields);
    if (s.said.field) {
      earlier(s.said, "hop said");
    } else {
      plain_label("hop said", "(ARC-Authentication-Results does not parse: " + s.said.error + ")");
      plain_label("", s.said.raw);
    }
  }

  void arc_signature(const explained_arc_signature& a, std::string_view name,
                     std::string_view signer, std::string_view when,
                     const std::vector<std::string>* fields) {
    std::string word(to_string(a.result));
    std::string reason = terminal_safe(a.reason);
    label(name,
          paint(colour_, tone_of_word(word), word) + (reason.empty() ? "" : " (" + reason + ")"));
    if (!a.not_evaluated.empty()) plain_label("", a.not_evaluated);
    if (!a.domain.empty())
      plain_label(signer,
                  "d=" + a.domain + " s=" + a.selector + ", key: TXT record at " + a.key_name);
    if (a.timestamp) label(when, a.timestamp->date);
    if (fields && !fields->empty()) {
      std::string list;
      for (const auto& f : *fields) list += (list.empty() ? "" : ", ") + f;
      plain_label("AMS fields", list);
    }
    if (!a.likely_cause.empty()) plain_label("likely cause", a.likely_cause);
    if (!a.what_to_check.empty()) plain_label("check", a.what_to_check);
  }

  // One Authentication-Results (or ARC-Authentication-Results) field; its label is the
  // authserv-id unless `lab` is given, which then prefixes the authserv-id to the line.
  void earlier(const earlier_result& r, std::string_view lab = {}) {
    if (!r.field) return label("unreadable", terminal_safe(r.error));
    std::string line;
    for (const auto& a : r.field->results) {
      if (!line.empty()) line += "; ";
      std::string word = terminal_safe(a.result);
      line += terminal_safe(a.method) + "=" + paint(colour_, tone_of_word(word), word);
      // As the JSON object has them: sorted by name, the last of a repeated name.
      std::map<std::string, std::string> props;
      for (const auto& [k, val] : a.properties) props[k] = val;
      for (const auto& [k, val] : props) line += " " + terminal_safe(k) + "=" + terminal_safe(val);
    }
    if (lab.empty())
      return label(terminal_safe(r.field->authserv_id), line.empty() ? "none" : line);
    label(lab, terminal_safe(r.field->authserv_id) + ": " + (line.empty() ? "none" : line));
  }

  bool colour_;
  std::ostream& os_;
  const std::vector<nlohmann::json>& changes_;
};

int run_explain(const explain_args& a) {
  if (a.sent == "-" && a.file == "-") {
    complain("--sent and FILE cannot both be standard input");
    return exit_usage;
  }
  int status = exit_ok;
  std::unique_ptr<txt_resolver> resolver = make_resolver(a.dns, status);
  if (!resolver) return status;
  std::string why;
  auto raw = read_input(a.file, why);
  if (!raw) {
    complain(why);
    return exit_noinput;
  }
  std::string msg = normalize_line_endings(*raw);
  raw->clear();
  std::optional<std::string> sent;
  if (!a.sent.empty() && !(sent = read_input(a.sent, why))) {
    complain(why);
    return exit_noinput;
  }

  verify_options opts = to_verify_options(a.check);
  opts.resolver = resolver.get();
  const explanation e = explain(msg, opts);
  const std::vector<nlohmann::json> changes =
      sent ? compare_copies_of(e, *sent, msg, a.sent, opts.header) : std::vector<nlohmann::json>();
  if (a.json)
    std::cout << json_line(to_json(e, a.file, changes)) << "\n";
  else
    text_renderer(use_colour(a.colour), std::cout, changes).render(e);
  return exit_ok;
}

}  // namespace

void add_explain_command(CLI::App& app, int& status) {
  auto args = std::make_shared<explain_args>();
  CLI::App* cmd =
      app.add_subcommand("explain",
                         "Explain the DKIM signatures of a message in plain words: every tag, the "
                         "result, and on a failure its likely cause and what to check; and its "
                         "ARC chain set by set, newest first");
  cmd->add_option("FILE", args->file, "the message (default: standard input)");
  cmd->add_option("--sent", args->sent,
                  "the copy as sent: show what changed between it and FILE, as each failing "
                  "signature of FILE hashes them");
  add_dns_options(*cmd, args->dns);
  cmd->add_flag("--json", args->json,
                "one JSON object: {file, result, from_domain or from_error, signatures: [...], "
                "earlier_results: [...], and for a message with ARC fields arc: {result, sets, "
                "oldest_pass, reason, meaning, newest_first: [...]}}");
  add_colour_option(*cmd, args->colour);
  add_verify_settings(*cmd, args->check);
  cmd->footer(
      "Exit status: 0 the message was read and explained, whatever its DKIM result;\n66 it cannot "
      "be read; 64/65 as for verify.");
  cmd->callback([args, &status] { status = run_explain(*args); });
}

}  // namespace dkimkit::cli
