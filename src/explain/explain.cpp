// dkimkit/explain.hpp: the explanation of a message's DKIM signatures, built from the verifier's
// own parse and results. The wording here is the DKIM knowledge; renderers only lay it out.
#include <dkimkit/explain.hpp>

#include <ctime>

#include "arc/arc_fields.hpp"
#include "canon/body_canon.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

// ---- words ------------------------------------------------------------------------------------

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

// Folding (any run of SP, HTAB, CR, LF) collapsed to one space, none at either end.
std::string collapse_fws(std::string_view v) {
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
  return out;
}

std::string_view canon_words(canonicalization c, bool header) {
  if (c == canonicalization::simple)
    return header ? "simple: the signed header fields must arrive exactly as signed; re-folding or "
                    "a change of spacing breaks the signature"
                  : "simple: the body must arrive byte for byte (only empty lines at the end are "
                    "ignored)";
  return header ? "relaxed: changes of letter case in field names and of white space are tolerated"
                : "relaxed: changes of white space within and at the end of lines are tolerated";
}

std::string time_meaning(std::string_view name, std::string_view value,
                         std::optional<std::uint64_t> now) {
  std::uint64_t t = 0;
  bool ok = !value.empty() && value.size() <= 19;
  for (char c : value) ok = ok && c >= '0' && c <= '9';
  if (!ok) return name == "t" ? "signing time (not a valid number)" : "expiry (not a valid number)";
  for (char c : value) t = t * 10 + static_cast<std::uint64_t>(c - '0');
  if (name == "t") return "signed at " + date(t) + (now ? " (" + relative(t, *now) + ")" : "");
  if (!now) return "expires at " + date(t);
  return "expires at " + date(t) +
         (t < *now ? " (has passed, " + relative(t, *now) + ")"
                   : " (not yet: " + relative(t, *now) + ")");
}

// What one tag means, in plain words.
std::string tag_meaning(std::string_view name, std::string_view value,
                        std::optional<std::uint64_t> now) {
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
    // The verifier's own reading of c= (parse_canonicalization is its only parser).
    auto c = parse_canonicalization(value);
    if (!c)
      return "canonicalization: " + c.error().detail + ": verifiers cannot check this signature";
    return "canonicalization: header " + std::string(canon_words(c->header, true)) + "; body " +
           std::string(canon_words(c->body, false));
  }
  if (name == "d") return "signing domain: the domain that takes responsibility for the message";
  if (name == "s") return "selector: which of the domain's keys signed";
  if (name == "h") return "the header fields the signature covers, in the order they are hashed";
  if (name == "i") {
    std::string out =
        "agent or user identifier: on whose behalf the domain signed (d= or a subdomain)";
    auto decoded = detail::decode_dkim_qp(value);
    if (!decoded) return out + "; not valid dkim-quoted-printable";
    if (*decoded != value) out += "; decoded: " + collapse_fws(*decoded);
    return out;
  }
  if (name == "l")
    return "body length: only the first " + std::string(value) +
           " bytes of the canonicalized body are signed";
  if (name == "q") return "how to fetch the key: dns/txt, a TXT record in DNS";
  if (name == "t" || name == "x") return time_meaning(name, value, now);
  if (name == "z") {
    std::string out = "copies of the header fields as signed, for diagnosis";
    auto copies = decode_copied_headers(value);
    if (!copies) return out + " (they do not decode; verifiers ignore z=)";
    for (std::size_t i = 0; i < copies->size(); ++i)
      out += (i == 0 ? ": " : " | ") + collapse_fws((*copies)[i]);
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
                  " bits: verifiers refuse RSA keys under " + std::to_string(rfc8301_min_rsa_bits) +
                  " bits (RFC 8301)",
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

std::string alignment_words(alignment a, bool has_from_domain, bool passed) {
  std::string words = a == alignment::strict ? "strict (d= is the From domain)"
                      : a == alignment::relaxed
                          ? "relaxed (d= and the From domain share an organizational domain)"
                      : !has_from_domain ? "no (there is no single From domain)"
                                         : "no (d= is not the From domain's organization)";
  if (!passed) words += "; only a passing signature counts";
  return words;
}

// ---- the message ------------------------------------------------------------------------------

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

// The body of a message (as parse_message() splits it), CRLF line endings.
std::string body_of(std::string_view message) {
  std::string msg = normalize_line_endings(message);
  if (msg.substr(0, 2) == "\r\n") return msg.substr(2);
  std::size_t end = msg.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : msg.substr(end + 4);
}

// Octets of `body` after canonicalization `c` (for a signature the verifier did not hash the body
// for: it was decided before).
std::uint64_t canonical_length(std::string_view body, canonicalization c) {
  detail::body_canonicalizer canon(c);
  std::uint64_t total = 0;
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += 64 * 1024) {
    canon.update(body.substr(at, 64 * 1024), out);
    total += out.size();
    out.clear();
  }
  canon.finish(out);
  return total + out.size();
}

explained_time at(std::uint64_t t, std::optional<std::uint64_t> now) {
  return {t, date(t), now && t > *now, now && t < *now};
}

explained_body_length body_length_facts(std::uint64_t l, std::uint64_t total) {
  explained_body_length bl{l, total, {}};
  if (l < total)
    bl.risk = "the last " + plural(total - l, "byte") +
              " of the body are not covered: anyone can append text or links and the "
              "signature still verifies";
  else if (l > total)
    bl.risk = "the body is shorter than l=: it was cut after signing";
  else
    bl.risk = "the whole body is signed now, but l= would let anyone append to it";
  return bl;
}

// h= against the fields present: counts, over-signed names and important fields left out.
void signed_field_facts(const signature& sig, const std::vector<header_field>& fields,
                        signature_explanation& out) {
  auto count_of = [&](std::string_view name) -> explained_field& {
    std::string n = detail::lowercase(name);
    for (auto& c : out.signed_fields)
      if (c.name == n) return c;
    out.signed_fields.push_back({n, 0, 0, {}});
    return out.signed_fields.back();
  };
  for (const auto& h : sig.signed_headers) ++count_of(h).signed_times;
  for (auto& c : out.signed_fields) {
    for (const auto& f : fields)
      if (iequals(f.name, c.name)) ++c.present;
    if (c.signed_times > c.present) {
      c.note = c.present == 0 ? "signed as absent: adding one breaks the signature"
                              : "over-signed: adding another breaks the signature";
      out.oversigned.push_back(c.name);
    } else if (c.present > c.signed_times) {
      c.note = "only the lowest " + plural(c.signed_times, "instance") + " signed";
    }
  }
  for (std::string_view imp : kImportant) {
    bool present = false, covered = false;
    for (const auto& f : fields) present = present || iequals(f.name, imp);
    for (const auto& c : out.signed_fields) covered = covered || c.name == imp;
    if (present && !covered) out.unsigned_fields.emplace_back(imp);
  }
}

struct context {
  const std::vector<header_field>& fields;
  std::string_view message;
  std::optional<std::string> body;  // computed when a signature needs it
  std::string from_domain;
  std::optional<std::uint64_t> now;
  std::size_t max_signatures;
};

signature_explanation explain_signature(const verification& v, context& cx) {
  signature_explanation out;
  out.result = v;
  if (v.tags) {
    for (const auto& t : *v.tags) {
      std::string value =
          (t.name == "b" || t.name == "bh") ? detail::strip_fws(t.value) : collapse_fws(t.value);
      out.tags.push_back({t.name, std::move(value), tag_meaning(t.name, t.value, cx.now)});
    }
  } else {
    out.tag_error = v.tags.error().message();
  }
  if (v.signature_error) out.signature_error = v.signature_error->message();

  if (const signature* sig = v.parsed.get()) {
    out.key_name = sig->key_name();
    out.identity = sig->auid ? *sig->auid : "@" + sig->sdid;
    out.identity_default = !sig->auid.has_value();
    signed_field_facts(*sig, cx.fields, out);
    if (sig->timestamp) out.timestamp = at(*sig->timestamp, cx.now);
    if (sig->expiration) out.expiration = at(*sig->expiration, cx.now);
    if (sig->body_length) {
      std::uint64_t total = 0;
      if (v.canonical_body_length) {
        total = *v.canonical_body_length;
      } else {
        if (!cx.body) cx.body = body_of(cx.message);
        total = canonical_length(*cx.body, sig->body_canon);
      }
      out.body_length = body_length_facts(*sig->body_length, total);
    }
    out.aligned = align(sig->sdid, cx.from_domain);
    out.alignment_meaning =
        alignment_words(*out.aligned, !cx.from_domain.empty(), v.status == status::pass);
  }

  if (v.status != status::pass) {
    advice a = advice_for(v, out.key_name.empty() ? key_name(v.selector, v.sdid) : out.key_name,
                          cx.max_signatures);
    out.likely_cause = std::move(a.cause);
    out.what_to_check = std::move(a.check);
  }
  return out;
}

std::vector<earlier_result> earlier_results(const std::vector<header_field>& fields) {
  std::vector<earlier_result> out;
  for (const auto& f : fields) {
    if (!iequals(f.name, "Authentication-Results")) continue;
    earlier_result e;
    auto ar = parse_auth_results(f.value);
    if (ar)
      e.field = std::move(*ar);
    else
      e.error = ar.error().message();
    e.raw = collapse_fws(f.value);
    out.push_back(std::move(e));
  }
  return out;
}

// ---- ARC ----------------------------------------------------------------------------------------

std::string instance_name(std::string_view field, std::size_t instance) {
  return std::string(field) + " i=" + std::to_string(instance);
}

// What a seal's cv= says about the hop that wrote it (RFC 8617 §4.1.3, §5.2 step 3.3).
std::string cv_words(const std::string& cv, unsigned instance) {
  if (cv == "none")
    return instance == 1 ? "the first hop to seal: there was no chain before it to check"
                         : "only i=1 may say none, a later hop must say pass: the chain fails";
  if (cv == "pass")
    return instance == 1 ? "i=1 starts the chain and must say none: the chain fails"
                         : "this hop found the chain it received valid";
  if (cv == "fail")
    return "this hop found the chain it received broken; a chain once failed stays failed, no "
           "later hop can repair it";
  if (cv.empty()) return "unknown: the ARC-Seal does not parse";
  return "not a value RFC 8617 defines (none, pass, fail): the chain fails";
}

// Why a field of set `i` (0-based) was not checked: a newer one failed first, or the chain failed
// before any signature was checked.
std::string not_evaluated_words(const arc_validation& v, std::size_t i, bool seal) {
  const auto& sets = v.set_results;
  for (std::size_t j = sets.size(); j-- > i + 1;) {
    const status newer = seal ? sets[j].seal : sets[j].ams;
    if (newer == status::none || newer == status::pass) continue;
    if (seal) return "not checked: the newer " + instance_name("ARC-Seal", j + 1) + " failed first";
    if (j + 1 == sets.size())
      return "not checked: the newest " + instance_name("ARC-Message-Signature", j + 1) +
             " failed, which fails the chain";
    return "not checked: the newer " + instance_name("ARC-Message-Signature", j + 1) +
           " failed already; ARC checks the message signatures only down to the first that fails "
           "(RFC 8617 §5.2 step 5)";
  }
  if (seal && !sets.empty() && sets.back().ams != status::none && sets.back().ams != status::pass)
    return "not checked: the chain failed at the newest " +
           instance_name("ARC-Message-Signature", sets.size()) + ", before the seals";
  if (!sets.empty() && sets.back().cv == "fail")
    return "not checked: the newest ARC-Seal says cv=fail, so the chain has failed whatever the "
           "signatures say (RFC 8617 §5.2 step 2)";
  return "not checked: the chain failed before its signatures were checked (" + v.reason + ")";
}

// The likely cause of an ARC-Seal or ARC-Message-Signature that was checked and did not pass.
advice arc_advice(const explained_arc_signature& e, bool seal, unsigned instance) {
  const std::string what = seal ? "ARC-Seal" : "ARC-Message-Signature";
  const std::string ck = "dkimkit check-key -d " + e.domain + " -s " + e.selector;
  if (e.key_name.empty() || status_of(e.code) == status::neutral)
    return {"the " + what + " of i=" + std::to_string(instance) +
                " is malformed, so it cannot be checked: " + e.reason,
            "the sealing software of that hop (the raw field in the message as received)"};
  if (e.code == errc::body_hash_mismatch)
    return {
        "the body changed after this hop sealed it: a mailing-list footer, a disclaimer or "
        "virus-scan note, or a conversion of the encoding by a system after it",
        "the systems that handled the message after this hop; a hop that changes the body "
        "should seal after changing it"};
  if (e.code == errc::signature_mismatch)
    return seal ? advice{"the ARC fields of sets 1 to " + std::to_string(instance) +
                             " were altered after this hop sealed (a relay rewrote, re-folded, "
                             "removed or reordered one), or the seal's key at " +
                             e.key_name + " changed",
                         "relays after this hop that touch ARC-* fields; " + ck}
                : advice{
                      "a header field the ARC-Message-Signature covers (h=) changed after "
                      "this hop sealed, or the key at " +
                          e.key_name + " is not the one it signed with",
                      "which of the fields in h= a later hop rewrote (Subject tags, "
                      "re-folding); " +
                          ck};
  // The key and DNS problems read as for a DKIM signature of the same domain and selector.
  verification v;
  v.status = e.result;
  v.code = e.code;
  v.reason = e.reason;
  v.sdid = e.domain;
  v.selector = e.selector;
  return advice_for(v, e.key_name, 0);
}

explained_arc_signature arc_signature(status st, errc code, const std::string& reason,
                                      const std::string& domain, const std::string& selector,
                                      std::optional<std::uint64_t> t,
                                      std::optional<std::uint64_t> now) {
  return {st,
          code,
          reason,
          domain,
          selector,
          domain.empty() ? std::string() : key_name(selector, domain),
          t ? std::optional<explained_time>(at(*t, now)) : std::nullopt,
          {},
          {},
          {}};
}

// The ARC-Authentication-Results value of `instance`, folding collapsed ("" when absent).
std::string aar_value(const std::vector<header_field>& fields, unsigned instance) {
  for (const auto& f : fields) {
    const auto kind = detail::arc_kind_of(f.name);
    if (kind != detail::arc_kind::authentication_results) continue;
    const auto i = detail::arc_instance_of(*kind, f.value);
    if (i && *i == instance) return collapse_fws(f.value);
  }
  return {};
}

arc_explanation explain_arc(const arc_validation& v, const std::vector<header_field>& fields,
                            std::optional<std::uint64_t> now) {
  arc_explanation out{v.result, v.sets, v.oldest_pass, v.code, v.reason, {}, {}};
  if (v.result == arc_result::pass) {
    out.meaning =
        "every ARC-Seal verifies and the newest hop's ARC-Message-Signature passes: the chain "
        "of custody is intact, and a receiver that trusts the sealers may use what they "
        "recorded (their ARC-Authentication-Results) when DKIM, SPF or DMARC fail after "
        "forwarding";
    if (v.oldest_pass > 1)
      out.meaning += "; the message changed after hop i=" + std::to_string(v.oldest_pass - 1) +
                     " sealed it (its ARC-Message-Signature no longer verifies): what the hops "
                     "before i=" +
                     std::to_string(v.oldest_pass) +
                     " recorded is about the message before that change";
  } else {
    out.meaning =
        "the chain is broken: what its hops recorded cannot be trusted, and a hop that seals "
        "this message must say cv=fail";
    if (!v.set_results.empty() && v.set_results.back().cv == "fail")
      out.meaning += "; the newest hop (i=" + std::to_string(v.set_results.size()) +
                     ") already found it broken when it sealed";
  }
  for (std::size_t i = v.set_results.size(); i-- > 0;) {
    const arc_set_result& r = v.set_results[i];
    explained_arc_set set;
    set.instance = r.instance;
    set.cv = r.cv;
    set.cv_meaning = cv_words(r.cv, r.instance);
    set.seal = arc_signature(r.seal, r.seal_code, r.seal_reason, r.seal_domain, r.seal_selector,
                             r.seal_timestamp, now);
    set.ams = arc_signature(r.ams, r.ams_code, r.ams_reason, r.ams_domain, r.ams_selector,
                            r.ams_timestamp, now);
    for (const auto& h : r.ams_signed_headers)
      set.ams_signed_fields.push_back(detail::lowercase(h));
    for (auto* e : {&set.seal, &set.ams}) {
      const bool seal = e == &set.seal;
      if (e->result == status::none) {
        e->not_evaluated = not_evaluated_words(v, i, seal);
      } else if (e->result != status::pass) {
        advice a = arc_advice(*e, seal, r.instance);
        e->likely_cause = std::move(a.cause);
        e->what_to_check = std::move(a.check);
      }
    }
    set.said.field = r.aar;
    if (r.aar_error) set.said.error = r.aar_error->message();
    set.said.raw = aar_value(fields, r.instance);
    out.newest_first.push_back(std::move(set));
  }
  return out;
}

}  // namespace

explanation explain(std::string_view message, const verify_options& opts) {
  explanation out;
  if (opts.now) out.now = opts.now();
  verifier ver(opts);
  ver.update(message);
  const std::vector<verification> results = ver.finish();
  const std::vector<header_field>& fields = ver.header_fields();
  out.result = overall(results);

  std::vector<std::string_view> from_values;
  for (const auto& f : fields)
    if (iequals(f.name, "From")) from_values.push_back(f.value);
  // No single author domain (From unparsable, or not exactly one mailbox): nothing aligns.
  result<std::string> author = author_domain(from_values);
  if (author)
    out.from_domain = *author;
  else
    out.from_error = author.error().message();

  context cx{fields, message, std::nullopt, out.from_domain, out.now, opts.max_signatures};
  std::vector<bool> used(results.size(), false);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!iequals(fields[i].name, "DKIM-Signature")) continue;
    for (std::size_t r = 0; r < results.size(); ++r)
      if (!used[r] && results[r].field_index == i) {
        used[r] = true;
        out.signatures.push_back(explain_signature(results[r], cx));
        break;
      }
  }
  // A result with no field of its own: the header could not be read far enough.
  for (std::size_t r = 0; r < results.size(); ++r)
    if (!used[r]) {
      signature_explanation s;
      s.result = results[r];
      s.has_field = false;
      advice a = advice_for(results[r], "", opts.max_signatures);
      s.likely_cause = std::move(a.cause);
      s.what_to_check = std::move(a.check);
      out.signatures.push_back(std::move(s));
    }
  out.earlier_results = earlier_results(fields);
  const arc_validation arc = validate_arc(message, opts);
  if (arc.result != arc_result::none) out.arc = explain_arc(arc, fields, out.now);
  return out;
}

}  // namespace dkimkit
