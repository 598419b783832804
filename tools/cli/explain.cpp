// dkimkit explain: the DKIM signatures of one message in plain words, with the
// verification result, the likely cause of a failure and what to check.
#include <ctime>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/verifier.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

// Internal pieces of the library, shared so that explain reads tags and
// canonicalizes exactly as the verifier does.
#include "canon/body_canon.hpp"
#include "common.hpp"
#include "message/fields.hpp"
#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"

namespace dkimkit::cli {
namespace {

struct explain_args {
  std::string file = "-";
  dns_args dns;
  bool json = false;
  colour_mode colour = colour_mode::automatic;
  verify_settings check;
};

// ---- words
// -------------------------------------------------------------------------------------

std::string plural(std::uint64_t n, std::string_view unit) {
  return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
}

// "3 days", "5 hours", "12 minutes", "40 seconds".
std::string duration(std::uint64_t s) {
  if (s >= 2 * 86400) return plural(s / 86400, "day");
  if (s >= 2 * 3600) return plural(s / 3600, "hour");
  if (s >= 2 * 60) return plural(s / 60, "minute");
  return plural(s, "second");
}

// "2026-11-30 03:00:00 UTC".
std::string date(std::uint64_t t) {
  constexpr std::uint64_t kYear9999 = 253402300799ULL;
  if (t > kYear9999) return "after the year 9999";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string relative(std::uint64_t t, std::uint64_t now) {
  if (t == now) return "now";
  return t < now ? duration(now - t) + " ago" : "in " + duration(t - now);
}

// Tag values as shown: folding collapsed to one space, and control bytes
// escaped (terminal_safe).
std::string printable(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (detail::is_fws(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return terminal_safe(out);
}

std::string_view canon_words(std::string_view c, bool header) {
  if (c == "simple")
    return header ? "simple: the signed header fields must arrive exactly as signed; re-folding or "
                    "a change of spacing breaks the signature"
                  : "simple: the body must arrive byte for byte (only empty lines at the end are "
                    "ignored)";
  if (c == "relaxed")
    return header
               ? "relaxed: changes of letter case in field names and of white space are tolerated"
               : "relaxed: changes of white space within and at the end of lines are tolerated";
  return "unknown: verifiers cannot check this signature";
}

// What one tag means, in plain words.
std::string tag_meaning(std::string_view name, std::string_view value, std::uint64_t now) {
  if (name == "v") return value == "1" ? "DKIM version 1, the only one" : "unknown DKIM version";
  if (name == "a") {
    if (value == "rsa-sha256") return "algorithm: an RSA key signed a SHA-256 hash";
    if (value == "ed25519-sha256")
      return "algorithm: an Ed25519 key (RFC 8463) signed a SHA-256 hash";
    if (value == "rsa-sha1")
      return "algorithm: RSA with SHA-1, retired by RFC 8301 (2017); verifiers refuse it";
    return "unknown algorithm: verifiers cannot check this signature";
  }
  if (name == "b")
    return "the signature itself (" + std::to_string(detail::strip_fws(value).size()) +
           " base64 characters), over the signed header fields and this field";
  if (name == "bh") return "hash of the body as signed, compared with the body as received";
  if (name == "c") {
    std::string_view h = value, b = "simple";
    if (auto slash = value.find('/'); slash != std::string_view::npos) {
      h = value.substr(0, slash);
      b = value.substr(slash + 1);
    }
    return "canonicalization: header " + std::string(canon_words(h, true)) + "; body " +
           std::string(canon_words(b, false));
  }
  if (name == "d") return "signing domain: the domain that takes responsibility for the message";
  if (name == "s") return "selector: which of the domain's keys signed";
  if (name == "h") return "the header fields the signature covers, in the order they are hashed";
  if (name == "i") {
    std::string out =
        "agent or user identifier: on whose behalf the domain signed (d= or a subdomain)";
    auto decoded = detail::decode_dkim_qp(value);
    if (!decoded) return out + "; not valid dkim-quoted-printable";
    if (*decoded != value) out += "; decoded: " + printable(*decoded);
    return out;
  }
  if (name == "l")
    return "body length: only the first " + std::string(value) +
           " bytes of the canonicalized body are signed";
  if (name == "q") return "how to fetch the key: dns/txt, a TXT record in DNS";
  if (name == "t" || name == "x") {
    std::uint64_t t = 0;
    bool ok = !value.empty() && value.size() <= 19;
    for (char c : value) ok = ok && c >= '0' && c <= '9';
    if (ok)
      for (char c : value) t = t * 10 + static_cast<std::uint64_t>(c - '0');
    if (!ok)
      return name == "t" ? "signing time (not a valid number)" : "expiry (not a valid number)";
    if (name == "t") return "signed at " + date(t) + " (" + relative(t, now) + ")";
    return "expires at " + date(t) +
           (t < now ? " (has passed, " + relative(t, now) + ")"
                    : " (not yet: " + relative(t, now) + ")");
  }
  if (name == "z") {
    std::string out = "copies of the header fields as signed, for diagnosis";
    auto copies = decode_copied_headers(value);
    if (!copies) return out + " (they do not decode; verifiers ignore z=)";
    for (std::size_t i = 0; i < copies->size(); ++i)
      out += (i == 0 ? ": " : " | ") + printable((*copies)[i]);
    return out;
  }
  return "not defined by RFC 6376: ignored";
}

struct advice {
  std::string cause, check;
};

// The likely cause of a result that is not pass, and what to check.
advice advice_for(const verification& v, const std::string& key_name, std::size_t max_sigs) {
  std::string ck = "dkimkit check-key -d " + v.sdid + " -s " + v.selector;
  if (v.status == status::neutral && v.code != errc::unsupported_algorithm)
    return {
        "the DKIM-Signature field is malformed, so it cannot be checked: a bug in the signing "
        "software, or a relay that damaged the field",
        "the raw field in the message as received, and the signer's software and version"};
  switch (v.code) {
    case errc::ok:
      if (v.status == status::none)
        return {"the message is not signed",
                "whether the sending system signs mail for its domain"};
      return {};
    default:  // the syntax errors: handled above
      return {};
    case errc::unsupported_algorithm:
      return {"the signer used an algorithm this verifier does not know",
              "sign with rsa-sha256 (and ed25519-sha256 beside it)"};
    case errc::from_not_signed:
      return {"h= does not list From, which every signature must cover (RFC 6376 §5.4)",
              "add from to the signer's list of signed header fields"};
    case errc::auid_outside_sdid:
      return {"i= names a domain outside d=",
              "the signer's i= setting: it must be d= or a subdomain of d="};
    case errc::no_from:
      return {"the message has no From field, so no author to tie the signature to",
              "the software that composed the message"};
    case errc::multiple_from:
      return {
          "the message has two From fields: a known trick to show one author while the signature "
          "covers another (RFC 6376 §8.15)",
          "where the message came from; legitimate senders never send two From fields"};
    case errc::malformed_header:
    case errc::header_too_large:
      return {"the header block cannot be read as a sequence of header fields",
              "the software that composed or relayed the message"};
    case errc::key_not_found:
      return {
          "no key record is published at " + key_name,
          "that the selector is spelt as the signer uses it, that the record is published at "
          "exactly that name (a zone file with a missing final dot adds the domain twice), and " +
              ck};
    case errc::key_revoked:
      return {"the domain revoked this key (its record has an empty p=)",
              "if the signer still uses selector " + v.selector + ", move it to the current key"};
    case errc::key_syntax:
    case errc::key_ambiguous:
    case errc::key_type_mismatch:
    case errc::key_hash_mismatch:
    case errc::key_service_mismatch:
    case errc::key_strict_subdomain:
    case errc::key_too_large:
    case errc::key_bad:
      return {"the key record at " + key_name + " cannot be used for this signature: " + v.reason,
              ck + " shows what is wrong with the record"};
    case errc::sha1_not_allowed:
      return {"the message is signed with rsa-sha1, which RFC 8301 retired",
              "configure the signer for rsa-sha256"};
    case errc::key_too_small:
      return {"the key has " + std::to_string(v.key_bits) +
                  " bits: verifiers refuse RSA keys under 1024 bits (RFC 8301)",
              "generate a 2048-bit key (dkimkit keygen) and publish it under a new selector"};
    case errc::signature_expired:
      return {"the message was checked after the expiry the signer set (x=)",
              "whether the message was delayed or sent again later; an expiry of hours is too "
              "short for mail that may wait in queues, use days"};
    case errc::signature_in_future:
      return {"the signing time (t=) is in the future: the signer's clock is ahead",
              "the clock of the signing host (NTP)"};
    case errc::body_length_partial:
      return {"l= signs only part of the body; the rest could have been added by anyone",
              "stop using l= in the signer (or accept such mail with --allow-partial-body)"};
    case errc::not_evaluated:
      return {"the message carries more signatures than the " + std::to_string(max_sigs) +
                  " evaluated; this one was not checked",
              "--max-signatures, if such messages are legitimate"};
    case errc::body_hash_mismatch:
      return {
          "the body changed after it was signed: typically a mailing-list footer, a disclaimer or "
          "virus-scan note added by a gateway, or a conversion of the encoding (8bit to "
          "quoted-printable) or of line endings",
          "the body as sent against the body as received; sign after every system that changes the "
          "body (relaxed body canonicalization tolerates white space only)"};
    case errc::body_length_exceeds:
      return {"the body is shorter than l= says: it was cut in transit",
              "relays or filters that truncate messages"};
    case errc::signature_mismatch:
      return {
          "the body is intact, but a signed header field changed in transit, or the key in DNS is "
          "not the one the message was signed with",
          ck + " -k PRIVATE.pem on the signing host; relays that rewrite Subject (list tags), To "
               "or Reply-To, or re-fold header lines (with simple header canonicalization)"};
    case errc::dns_temporary:
      return {"the key could not be fetched just now: " + v.reason,
              "again later; whether the domain's DNS servers answer for " + key_name +
                  " (a receiving MTA defers such mail with 451 4.7.5)"};
    case errc::invalid_argument:
    case errc::io_error:
    case errc::crypto_error:
    case errc::unsupported:
      return {v.reason, ""};
  }
  return {};
}

// ---- the explanation
// ---------------------------------------------------------------------------

struct field_count {
  std::string name;  // lowercased
  std::size_t signed_times = 0, present = 0;
};

// Fields whose change or addition matters to a reader.
constexpr std::string_view kImportant[] = {"from",
                                           "to",
                                           "cc",
                                           "subject",
                                           "date",
                                           "reply-to",
                                           "message-id",
                                           "sender",
                                           "mime-version",
                                           "content-type",
                                           "content-transfer-encoding"};

nlohmann::json explain_signature(const header_field& field, const verification* v,
                                 const std::vector<header_field>& fields, std::string_view body,
                                 const std::string& from_domain, std::uint64_t now,
                                 std::size_t max_sigs) {
  nlohmann::json j;
  nlohmann::json tags = nlohmann::json::array();
  auto parsed_tags = detail::parse_tag_list(field.value);
  if (parsed_tags) {
    for (const auto& t : *parsed_tags) {
      std::string value =
          (t.name == "b" || t.name == "bh") ? detail::strip_fws(t.value) : printable(t.value);
      tags.push_back({{"tag", printable(t.name)},
                      {"value", value},
                      {"meaning", tag_meaning(t.name, t.value, now)}});
    }
  } else {
    j["tag_error"] = parsed_tags.error().message();
  }
  j["tags"] = std::move(tags);

  auto sig = parse_signature(field.value);
  if (!sig) j["signature_error"] = sig.error().message();
  std::string key_name;
  if (sig) {
    key_name = sig->key_name();
    j["key_name"] = key_name;
    j["signing_domain"] = sig->sdid;
    j["selector"] = sig->selector;
    j["identity"] = sig->auid ? *sig->auid : "@" + sig->sdid;
    j["identity_default"] = !sig->auid.has_value();

    // Signed header fields against the fields present.
    std::vector<field_count> counts;
    auto count_of = [&](std::string_view name) -> field_count& {
      std::string n = detail::lowercase(name);
      for (auto& c : counts)
        if (c.name == n) return c;
      counts.push_back({n, 0, 0});
      return counts.back();
    };
    for (const auto& h : sig->signed_headers) ++count_of(h).signed_times;
    for (auto& c : counts)
      for (const auto& f : fields)
        if (iequals(f.name, c.name)) ++c.present;
    nlohmann::json sh = nlohmann::json::array();
    std::vector<std::string> oversigned, partly;
    for (const auto& c : counts) {
      nlohmann::json e = {{"name", c.name}, {"signed", c.signed_times}, {"present", c.present}};
      if (c.signed_times > c.present) {
        e["note"] = c.present == 0 ? "signed as absent: adding one breaks the signature"
                                   : "over-signed: adding another breaks the signature";
        oversigned.push_back(c.name);
      } else if (c.present > c.signed_times) {
        e["note"] = "only the lowest " + plural(c.signed_times, "instance") + " signed";
        partly.push_back(c.name);
      }
      sh.push_back(std::move(e));
    }
    j["signed_headers"] = std::move(sh);
    j["oversigned"] = oversigned;
    nlohmann::json unsigned_fields = nlohmann::json::array();
    for (std::string_view imp : kImportant) {
      bool present = false, covered = false;
      for (const auto& f : fields) present = present || iequals(f.name, imp);
      for (const auto& c : counts) covered = covered || c.name == imp;
      if (present && !covered) unsigned_fields.push_back(std::string(imp));
    }
    j["unsigned_fields"] = std::move(unsigned_fields);

    if (sig->timestamp) {
      j["timestamp"] = {{"unix", *sig->timestamp},
                        {"date", date(*sig->timestamp)},
                        {"in_future", *sig->timestamp > now}};
    }
    if (sig->expiration) {
      j["expiration"] = {{"unix", *sig->expiration},
                         {"date", date(*sig->expiration)},
                         {"passed", *sig->expiration < now}};
    }
    if (sig->body_length) {
      detail::body_canonicalizer canon(sig->body_canon);
      std::uint64_t total = 0;
      std::string out;
      for (std::size_t at = 0; at < body.size(); at += 64 * 1024) {
        canon.update(body.substr(at, 64 * 1024), out);
        total += out.size();
        out.clear();
      }
      canon.finish(out);
      total += out.size();
      std::uint64_t l = *sig->body_length;
      nlohmann::json bl = {{"signed", l}, {"body", total}};
      if (l < total) {
        bl["unsigned"] = total - l;
        bl["risk"] = "the last " + plural(total - l, "byte") +
                     " of the body are not covered: anyone can append text or links and the "
                     "signature still verifies";
      } else if (l > total) {
        bl["risk"] = "the body is shorter than l=: it was cut after signing";
      } else {
        bl["risk"] = "the whole body is signed now, but l= would let anyone append to it";
      }
      j["body_length"] = std::move(bl);
    }
    j["aligned"] = to_string(align(sig->sdid, from_domain));
  }

  if (v) {
    j["result"] = to_string(v->status);
    j["reason"] = v->reason;
    if (v->key_bits) j["key_bits"] = v->key_bits;
    if (v->key_type) j["key_type"] = to_string(*v->key_type);
    if (v->testing) j["testing"] = true;
    if (v->dnssec != dnssec_status::unknown) j["dnssec"] = to_string(v->dnssec);
    if (v->status != status::pass) {
      advice a = advice_for(
          *v, key_name.empty() ? v->selector + "._domainkey." + v->sdid : key_name, max_sigs);
      if (!a.cause.empty()) j["likely_cause"] = a.cause;
      if (!a.check.empty()) j["what_to_check"] = a.check;
    }
  }
  return j;
}

nlohmann::json earlier_results(const std::vector<header_field>& fields) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : fields) {
    if (!iequals(f.name, "Authentication-Results")) continue;
    auto ar = parse_auth_results(f.value);
    if (!ar) {
      out.push_back({{"error", ar.error().message()}, {"raw", printable(f.value)}});
      continue;
    }
    nlohmann::json results = nlohmann::json::array();
    for (const auto& r : ar->results) {
      nlohmann::json e = {{"method", r.method}, {"result", r.result}};
      if (!r.reason.empty()) e["reason"] = r.reason;
      if (!r.comment.empty()) e["comment"] = r.comment;
      nlohmann::json props = nlohmann::json::object();
      for (const auto& [k, val] : r.properties) props[k] = val;
      if (!props.empty()) e["properties"] = std::move(props);
      results.push_back(std::move(e));
    }
    out.push_back({{"authserv_id", ar->authserv_id}, {"results", std::move(results)}});
  }
  return out;
}

// ---- human output
// ------------------------------------------------------------------------------

// A value of the document as printed: strings made terminal_safe (they hold text of the message
// and of DNS records), numbers as JSON.
std::string text(const nlohmann::json& j) {
  return j.is_string() ? terminal_safe(j.get<std::string>()) : j.dump();
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? std::string() : text(*it);
}

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

void print_human(const nlohmann::json& doc, bool colour, std::ostream& os) {
  auto label = [&](std::string_view l, const std::string& text) {
    std::string lab(l);
    lab.resize(16, ' ');
    os << "  " << paint(colour, tone::dim, lab) << text << "\n";
  };
  auto plain_label = [&](std::string_view l, const std::string& text) { label(l, wrap(text, 18)); };
  const auto& sigs = doc["signatures"];
  std::string from = str(doc, "from_domain");
  os << "From domain: "
     << (from.empty() ? "(none: " + str(doc, "from_error") + "; no signature aligns)" : from)
     << "\n";
  if (sigs.empty()) os << "No DKIM-Signature field: the message is not signed.\n";
  std::size_t n = 0;
  for (const auto& s : sigs) {
    ++n;
    std::string result = str(s, "result");
    os << "\nDKIM-Signature " << n << " of " << sigs.size() << ": "
       << paint(colour, tone_of_word((result)), result.empty() ? "?" : result) << "\n";
    if (s.contains("tag_error")) plain_label("unreadable", str(s, "tag_error"));
    for (const auto& t : s["tags"]) {
      std::string tag = text(t["tag"]) + "=";
      tag.resize(4, ' ');
      std::string value = clip(text(t["value"]), 28);
      value.resize(30, ' ');
      os << "  " << tag << value << wrap(text(t["meaning"]), 36) << "\n";
    }
    if (s.contains("signature_error")) plain_label("not usable", str(s, "signature_error"));
    if (s.contains("key_name")) {
      std::string key = "TXT record at " + str(s, "key_name");
      if (s.contains("key_bits"))
        key += " (" + str(s, "key_bits") + "-bit " + str(s, "key_type") + " key" +
               (s.contains("testing") ? ", t=y: the domain is testing DKIM" : "") + ")";
      if (s.contains("dnssec")) key += ", DNSSEC " + str(s, "dnssec");
      plain_label("key", key);
    }
    if (s.contains("identity"))
      label("identity",
            str(s, "identity") +
                (s["identity_default"].get<bool>() ? " (no i=: the signing domain)" : ""));
    if (s.contains("signed_headers")) {
      std::string list;
      for (const auto& h : s["signed_headers"]) {
        if (!list.empty()) list += ", ";
        list += text(h["name"]);
        if (h["signed"].get<std::size_t>() > 1) list += " x" + h["signed"].dump();
      }
      label("signed fields", list);
      for (const auto& h : s["signed_headers"])
        if (h.contains("note"))
          label("", text(h["name"]) + ": signed " + h["signed"].dump() + ", present " +
                        h["present"].dump() + ": " + text(h["note"]));
      if (!s["unsigned_fields"].empty()) {
        std::string u;
        for (const auto& f : s["unsigned_fields"]) u += (u.empty() ? "" : ", ") + text(f);
        plain_label("not signed", u + ": present but not covered; they can be changed freely");
      }
    }
    if (s.contains("body_length")) {
      const auto& b = s["body_length"];
      label("body length",
            "l=" + b["signed"].dump() + " of a " + b["body"].dump() + "-byte canonicalized body");
      label("", paint(colour, tone::warn, wrap(text(b["risk"]), 18)));
    }
    if (s.contains("aligned")) {
      std::string a = str(s, "aligned");
      std::string words = a == "strict" ? "strict (d= is the From domain)"
                          : a == "relaxed"
                              ? "relaxed (d= and the From domain share an organizational domain)"
                          : from.empty() ? "no (there is no single From domain)"
                                         : "no (d= is not the From domain's organization)";
      if (result != "pass") words += "; only a passing signature counts";
      plain_label("alignment", words);
    }
    std::string reason = str(s, "reason");
    label("result", paint(colour, tone_of_word((result)), result) +
                        (reason.empty() ? "" : " (" + reason + ")"));
    if (s.contains("likely_cause")) plain_label("likely cause", str(s, "likely_cause"));
    if (s.contains("what_to_check")) plain_label("check", str(s, "what_to_check"));
  }
  const auto& earlier = doc["earlier_results"];
  if (!earlier.empty()) {
    os << "\nWhat earlier hops said (Authentication-Results, newest first):\n";
    for (const auto& e : earlier) {
      if (e.contains("error")) {
        label("unreadable", str(e, "error"));
        continue;
      }
      std::string line;
      for (const auto& r : e["results"]) {
        if (!line.empty()) line += "; ";
        std::string word = text(r["result"]);
        line += text(r["method"]) + "=" + paint(colour, tone_of_word((word)), word);
        if (r.contains("properties"))
          for (const auto& [k, v] : r["properties"].items())
            line += " " + terminal_safe(k) + "=" + text(v);
      }
      label(str(e, "authserv_id"), line.empty() ? "none" : line);
    }
  }
  std::string overall = str(doc, "result");
  os << "\nResult: " << paint(colour, tone_of_word((overall)), overall) << "\n";
}

int run_explain(const explain_args& a) {
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

  verify_options opts = to_verify_options(a.check);
  opts.resolver = resolver.get();
  const std::uint64_t now = opts.now();
  verifier v(opts);
  v.update(msg);
  std::vector<verification> results = v.finish();

  std::vector<header_field> fields;
  std::string_view body;
  if (auto view = parse_message(msg, opts.header)) {
    fields = std::move(view->fields);
    body = view->body;
  } else {
    std::size_t end = msg.find("\r\n\r\n");
    std::string_view block(msg);
    if (end != std::string::npos) {
      block = block.substr(0, end + 2);
      body = std::string_view(msg).substr(end + 4);
    }
    fields = detail::split_fields_lenient(block, opts.header.max_fields);
  }
  std::vector<std::string_view> from_values;
  for (const auto& f : fields)
    if (iequals(f.name, "From")) from_values.push_back(f.value);
  // No single author domain (From unparsable, or not exactly one mailbox): nothing aligns.
  result<std::string> author = author_domain(from_values);
  const std::string from_domain = author.value_or(std::string());

  nlohmann::json doc = {{"file", a.file}, {"result", to_string(overall(results))}};
  if (author)
    doc["from_domain"] = *author;
  else
    doc["from_error"] = author.error().message();
  nlohmann::json sigs = nlohmann::json::array();
  std::vector<bool> used(results.size(), false);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!iequals(fields[i].name, "DKIM-Signature")) continue;
    const verification* match = nullptr;
    for (std::size_t r = 0; r < results.size(); ++r)
      if (!used[r] && results[r].field_index == i) {
        match = &results[r];
        used[r] = true;
        break;
      }
    sigs.push_back(explain_signature(fields[i], match, fields, body, from_domain, now,
                                     a.check.opts.max_signatures));
  }
  // A result with no field of its own: the header could not be read far enough.
  for (std::size_t r = 0; r < results.size(); ++r)
    if (!used[r]) {
      advice adv = advice_for(results[r], "", a.check.opts.max_signatures);
      sigs.push_back({{"tags", nlohmann::json::array()},
                      {"result", to_string(results[r].status)},
                      {"reason", results[r].reason},
                      {"likely_cause", adv.cause},
                      {"what_to_check", adv.check}});
    }
  doc["signatures"] = std::move(sigs);
  doc["earlier_results"] = earlier_results(fields);

  if (a.json)
    std::cout << json_line(doc) << "\n";
  else
    print_human(doc, use_colour(a.colour), std::cout);
  return exit_ok;
}

}  // namespace

void add_explain_command(CLI::App& app, int& status) {
  auto args = std::make_shared<explain_args>();
  CLI::App* cmd =
      app.add_subcommand("explain",
                         "Explain the DKIM signatures of a message in plain words: every tag, the "
                         "result, and on a failure its likely cause and what to check");
  cmd->add_option("FILE", args->file, "the message (default: standard input)");
  add_dns_options(*cmd, args->dns);
  cmd->add_flag("--json", args->json,
                "one JSON object: {file, result, from_domain or from_error, signatures: [...], "
                "earlier_results: [...]}");
  add_colour_option(*cmd, args->colour);
  add_verify_settings(*cmd, args->check);
  cmd->footer(
      "Exit status: 0 the message was read and explained, whatever its DKIM result;\n66 it cannot "
      "be read; 64/65 as for verify.");
  cmd->callback([args, &status] { status = run_explain(*args); });
}

}  // namespace dkimkit::cli
