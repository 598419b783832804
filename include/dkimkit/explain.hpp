// dkimkit/explain.hpp: the DKIM signatures of one message in plain words, as data: every tag with
// its meaning, the key's DNS name, the dates, the l= facts, the signed and over-signed header
// fields, alignment with the From domain, the result, and for a failure its likely cause and what
// to check; plus what earlier hops said (the Authentication-Results fields already in the message)
// and, for a message with ARC fields, the ARC chain (RFC 8617) set by set, newest first.
//
//   dkimkit::verify_options o; o.resolver = &dns; o.now = [] { return unix_time_now; };
//   dkimkit::explanation e = dkimkit::explain(message, o);
//   for (const auto& s : e.signatures) std::cout << s.likely_cause << "\n";
//
// Built from the verifier's own parse and results (verification::tags, parsed, key,
// canonical_body_length; verifier::header_fields()) and the ARC validator's
// (arc_validation::set_results): nothing is parsed twice. Part of the
// dkimkit::policy library (alignment needs the Public Suffix List). An explanation owns its
// strings. They may hold bytes of the message and of DNS records (tag values, i=, z=, reasons):
// escape control characters before printing them to a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit {

// One tag of the DKIM-Signature field, in the order written.
struct explained_tag {
  std::string name;
  std::string value;    // folding collapsed to one space; b= and bh= without white space
  std::string meaning;  // what the tag says, in plain words
};

// t= or x= as a date, against the clock of the explanation.
struct explained_time {
  std::uint64_t unix_time = 0;
  std::string date;        // "2026-11-30 03:00:00 UTC"
  bool in_future = false;  // later than now (false without a clock)
  bool passed = false;     // earlier than now (false without a clock)
};

// One header field name of h= against the fields of the message.
struct explained_field {
  std::string name;              // lowercased
  std::size_t signed_times = 0;  // how often h= names it
  std::size_t present = 0;       // how many fields of that name the message has
  std::string note;  // "" when h= names it as often as it is present; otherwise what that means
};

// The l= facts: the signed length against the canonicalized body received.
struct explained_body_length {
  std::uint64_t signed_length = 0;  // l=
  std::uint64_t body_length = 0;    // octets of the canonicalized body as received
  std::string risk;                 // what l= lets a third party do with this message
};

struct signature_explanation {
  verification result;  // the verifier's result for this field (parse included)
  // False for a result with no DKIM-Signature field of its own (the header could not be read far
  // enough); only result, likely_cause and what_to_check are set then.
  bool has_field = true;
  std::vector<explained_tag> tags;  // empty when the tag list does not parse
  std::string tag_error;            // why the tag list does not parse; "" when it does
  std::string signature_error;      // why the field is not a usable signature; "" when it is

  // When the signature parsed (result.parsed is set):
  std::string key_name;           // "selector._domainkey.sdid": where the key record lives
  std::string identity;           // i=, decoded, or "@" + d= when there is no i=
  bool identity_default = false;  // no i=: the identity is the signing domain
  std::vector<explained_field> signed_fields;        // h=, one entry per distinct name, in h= order
  std::vector<std::string> oversigned;               // names h= lists more often than present
  std::vector<std::string> unsigned_fields;          // important fields present but not covered
  std::optional<explained_time> timestamp;           // t=
  std::optional<explained_time> expiration;          // x=
  std::optional<explained_body_length> body_length;  // l=
  std::optional<dkimkit::alignment> aligned;         // d= against the From domain
  std::string alignment_meaning;                     // the same in plain words

  // When the result is not pass: the likely cause and what to check ("" when there is nothing to
  // say).
  std::string likely_cause;
  std::string what_to_check;
};

// One Authentication-Results field already in the message (what an earlier hop said).
struct earlier_result {
  std::optional<auth_results_field> field;  // parsed; nullopt when it does not parse:
  std::string error;                        // why
  std::string raw;                          // the field's value, folding collapsed
};

// The ARC-Seal or the ARC-Message-Signature of one ARC set.
struct explained_arc_signature {
  status result = status::none;  // pass, fail, or none: not evaluated (not_evaluated says why)
  errc code = errc::ok;
  std::string reason;            // the validator's; "" on pass
  std::string domain, selector;  // d=, s=; "" when the field does not parse
  std::string key_name;          // "selector._domainkey.domain"; "" when it does not parse
  std::optional<explained_time> timestamp;  // t=
  std::string not_evaluated;  // result none: why this field was not checked; "" otherwise
  std::string likely_cause;   // result fail: the likely cause and what to check; "" otherwise
  std::string what_to_check;
};

// One ARC set (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal of one instance): one
// hop that sealed the message.
struct explained_arc_set {
  unsigned instance = 0;         // i=
  std::string cv;                // the ARC-Seal's cv= as written; "" when the seal does not parse
  std::string cv_meaning;        // what this hop found, in plain words
  explained_arc_signature seal;  // the ARC-Seal: who sealed (d=, s=) and whether the seal holds
  explained_arc_signature ams;   // the ARC-Message-Signature: the message as this hop saw it
  std::vector<std::string> ams_signed_fields;  // h= of the AMS, lowercased, in order
  earlier_result said;  // the ARC-Authentication-Results: what this hop found (after "i=N;")
};

// The Authenticated Received Chain (RFC 8617), from dkimkit::validate_arc.
struct arc_explanation {
  arc_result result = arc_result::none;
  std::size_t sets = 0;      // N, the highest instance
  unsigned oldest_pass = 0;  // on pass (RFC 8617 §7.2 header.oldest-pass); 0 otherwise
  errc code = errc::ok;
  std::string reason;   // why the chain failed; "" on pass
  std::string meaning;  // the result in plain words
  // One per set, NEWEST FIRST (i=N down to i=1); empty when the chain failed on its structure
  // (missing or duplicate members, gaps), which `reason` then names.
  std::vector<explained_arc_set> newest_first;
};

struct explanation {
  status result = status::none;      // overall(): the message's result
  std::optional<std::uint64_t> now;  // the clock used (verify_options::now); nullopt without one
  std::string from_domain;           // the author domain; "" when there is none, and then:
  std::string from_error;            // why there is no single author domain
  // One per DKIM-Signature field in header order (topmost first), then results without a field.
  std::vector<signature_explanation> signatures;
  std::vector<earlier_result>
      earlier_results;  // the Authentication-Results fields, in header order
  // The ARC chain; nullopt for a message without ARC fields (arc=none, nothing to explain).
  std::optional<arc_explanation> arc;
  // (A comparison with the message as sent, `changes`, belongs here.)
};

// Verifies `message` (raw bytes, CRLF or bare-LF line endings) with `opts` and explains the
// result. Never fails: what cannot be read is explained as such.
[[nodiscard]] explanation explain(std::string_view message, const verify_options& opts);

}  // namespace dkimkit
