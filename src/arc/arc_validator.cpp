// ARC chain validation (RFC 8617 §5.2) on top of the DKIM verifier's parts: the tag-list and
// signature parsers, header and body canonicalization, key records and the crypto.
#include <algorithm>
#include <array>
#include <chrono>
#include <dkimkit/arc.hpp>
#include <future>
#include <map>

#include "arc/arc_bodies.hpp"
#include "arc/arc_fields.hpp"
#include "canon/header_canon.hpp"
#include "message/fields.hpp"
#include "message/line_endings.hpp"
#include "message/reader.hpp"
#include "record/signature_tags.hpp"
#include "util/strings.hpp"
#include "verify/checks.hpp"

namespace dkimkit {

std::string_view to_string(arc_result r) noexcept {
  switch (r) {
    case arc_result::pass:
      return "pass";
    case arc_result::fail:
      return "fail";
    case arc_result::none:
      break;
  }
  return "none";
}

namespace {

constexpr std::size_t kNoBody = static_cast<std::size_t>(-1);

// One ARC set's fields and what parsing them gave.
struct arc_set {
  std::array<std::size_t, 3> field{};  // indexed by detail::arc_kind: positions in the header
  result<signature> ams = fail(errc::tag_missing);
  std::optional<error> ams_local;   // a local check the AMS fails (From, rsa-sha1, x=, t=)
  bool ams_beyond_lookups = false;  // not evaluated: its key is beyond max_arc_key_lookups
  std::size_t ams_b_offset = 0, ams_b_length = 0;
  std::size_t body = kNoBody;  // the AMS's body hasher
  result<detail::arc_seal> seal = fail(errc::tag_missing);
  std::size_t seal_b_offset = 0, seal_b_length = 0;
};

std::string set_name(detail::arc_kind k, unsigned instance) {
  return std::string(detail::arc_field_name(k)) + " i=" + std::to_string(instance);
}

// A status and its reason for an AMS or AS: pass, or what `why` gives (never none or pass).
void record(status& st, errc& code, std::string& reason, const std::optional<error>& why) {
  st = why ? status_of(why->code) : status::pass;
  if (st == status::none || (why && st == status::pass)) st = status::fail;
  code = why ? why->code : errc::ok;
  reason = why ? why->message() : std::string();
}

std::optional<error> sha1_problem(const signature& s, const verify_options& opts) {
  if (s.algo == algorithm::rsa_sha1 && !opts.allow_sha1)
    return error{errc::sha1_not_allowed, "RFC 8301 §3.1"};
  return std::nullopt;
}

// The message-level checks a DKIM verifier makes before any DNS query: one From field (RFC 6376
// §6.1.1, §8.15).
std::optional<error> from_problem(const std::vector<header_field>& fields) {
  const auto from = std::count_if(fields.begin(), fields.end(),
                                  [](const header_field& f) { return iequals(f.name, "From"); });
  if (from == 0) return error{errc::no_from, ""};
  if (from > 1) return error{errc::multiple_from, std::to_string(from) + " From fields"};
  return std::nullopt;
}

}  // namespace

struct arc_validator::state {
  explicit state(verify_options o)
      : opts(std::move(o)), reader(opts.header.max_header_bytes), bodies(opts.allow_partial_body) {}

  verify_options opts;
  detail::crlf_normalizer norm;
  detail::header_reader reader;
  bool in_body = false;
  bool decided = false;  // out is final (none, or a failure found in the header)
  arc_validation out;
  std::vector<header_field> fields;
  std::vector<arc_set> sets;  // index 0 is i=1
  detail::arc_bodies bodies;
  std::map<std::string, std::shared_future<txt_answer>> lookups;
  std::chrono::steady_clock::time_point lookups_started;
  std::map<std::string, result<key_record>> keys;
  std::optional<detail::header_index> index;
  std::string scratch, data;

  void feed(std::string_view piece) {
    if (!in_body) {
      auto body_start = reader.feed(piece);
      if (!body_start) return;
      start_body();
      piece.remove_prefix(std::min(*body_start, piece.size()));
    }
    bodies.update(piece, scratch);
  }

  void decide(errc code, std::string reason) {
    decided = true;
    out.result = arc_result::fail;
    out.code = code;
    out.reason = std::move(reason);
  }

  // Fails the chain on the AMS or AS of set `i` (0-based), recording why in its result.
  void decide_set(std::size_t i, detail::arc_kind k, const error& why) {
    arc_set_result& r = out.set_results[i];
    if (k == detail::arc_kind::seal)
      record(r.seal, r.seal_code, r.seal_reason, why);
    else
      record(r.ams, r.ams_code, r.ams_reason, why);
    decide(why.code, set_name(k, static_cast<unsigned>(i + 1)) + ": " + why.message());
  }

  void start_body();
  bool collect_sets();
  void parse_sets();
  void start_lookups();
  void start_lookup(const std::string& name);
  arc_validation finish();
  const result<key_record>& key_for(const signature& s);
  std::optional<error> check_ams(const arc_set& set);
  std::vector<std::string> seal_digests() const;
  std::optional<error> check_seal(std::size_t upto, const std::string& digest);
};

// RFC 8617 §5.2 steps 1 to 3: the sets, their structure and cv=; then every key lookup starts.
void arc_validator::state::start_body() {
  in_body = true;
  std::optional<error> header_error;
  if (reader.overflow()) {
    header_error =
        error{errc::header_too_large, "the header block exceeds the limit of " +
                                          std::to_string(opts.header.max_header_bytes) + " bytes"};
  } else if (auto parsed = parse_header_block(reader.block(), opts.header)) {
    fields = std::move(*parsed);
  } else {
    header_error = parsed.error();
  }
  if (header_error) fields = detail::split_fields_lenient(reader.block(), opts.header.max_fields);
  const bool any = std::any_of(fields.begin(), fields.end(), [](const header_field& f) {
    return detail::arc_kind_of(f.name).has_value();
  });
  if (!any) {  // step 1: no ARC set
    decided = true;
    return;
  }
  if (header_error) return decide(header_error->code, header_error->message());
  if (!collect_sets()) return;
  parse_sets();
}

// Groups the ARC fields by instance: each instance 1..N exactly once per kind (steps 1 and 3).
bool arc_validator::state::collect_sets() {
  std::vector<std::array<std::size_t, 3>> found;  // per instance: count of each kind
  std::size_t arc_fields = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto kind = detail::arc_kind_of(fields[i].name);
    if (!kind) continue;
    // Bounded before any parsing: more fields than 50 complete sets is a failed chain.
    if (++arc_fields > 3 * arc_max_sets) {
      decide(errc::malformed_header,
             "more than " + std::to_string(arc_max_sets) + " ARC sets (RFC 8617 §5.2 step 1)");
      return false;
    }
    const auto instance = detail::arc_instance_of(*kind, fields[i].value);
    if (!instance) {
      decide(instance.error().code, std::string(detail::arc_field_name(*kind)) + " field " +
                                        std::to_string(arc_fields) + ": " +
                                        instance.error().message());
      return false;
    }
    if (*instance > arc_max_sets) {
      decide(errc::malformed_header, "instance i=" + std::to_string(*instance) + " exceeds " +
                                         std::to_string(arc_max_sets) +
                                         " ARC sets (RFC 8617 §5.2 step 1)");
      return false;
    }
    if (found.size() < *instance) {
      found.resize(*instance, {0, 0, 0});
      sets.resize(*instance);
    }
    const auto k = static_cast<std::size_t>(*kind);
    if (++found[*instance - 1][k] > 1) {
      decide(errc::malformed_header,
             "two " + set_name(*kind, *instance) + " fields (RFC 8617 §5.2 step 3.2)");
      return false;
    }
    sets[*instance - 1].field[k] = i;
  }
  out.sets = sets.size();
  for (std::size_t n = 0; n < found.size(); ++n)
    for (std::size_t k = 0; k < 3; ++k)
      if (found[n][k] == 0) {
        decide(errc::malformed_header,
               "no " + set_name(static_cast<detail::arc_kind>(k), static_cast<unsigned>(n + 1)) +
                   ": the instances must run 1..N without gaps (RFC 8617 §5.2 step 3)");
        return false;
      }
  return true;
}

// Parses every AMS and AS; checks cv= (steps 2 and 3.3), the newest AMS and every AS as far as
// possible without DNS; starts the body hashes and key lookups.
void arc_validator::state::parse_sets() {
  const std::size_t n = sets.size();
  for (std::size_t i = 0; i < n; ++i) {
    arc_set& set = sets[i];
    const auto instance = static_cast<unsigned>(i + 1);
    arc_set_result r;
    r.instance = instance;
    const header_field& aar = fields[set.field[0]];
    if (auto parsed = detail::parse_arc_authentication_results(aar.value))
      r.aar = std::move(*parsed);
    else
      r.aar_error = parsed.error();

    const header_field& ams = fields[set.field[1]];
    set.ams = detail::parse_arc_message_signature(ams.value, opts.signature, set.ams_b_offset,
                                                  set.ams_b_length);
    if (set.ams) {
      r.ams_domain = set.ams->sdid;
      r.ams_selector = set.ams->selector;
      r.ams_signed_headers = set.ams->signed_headers;
      r.ams_timestamp = set.ams->timestamp;
    }
    const header_field& as = fields[set.field[2]];
    set.seal =
        detail::parse_arc_seal(as.value, opts.signature, set.seal_b_offset, set.seal_b_length);
    if (set.seal) {
      r.seal_domain = set.seal->sig.sdid;
      r.seal_selector = set.seal->sig.selector;
      r.cv = set.seal->cv;
      r.seal_timestamp = set.seal->sig.timestamp;
    }
    out.set_results.push_back(std::move(r));
  }
  // Step 2: the newest seal says the chain had already failed.
  if (sets.back().seal && sets.back().seal->cv == "fail")
    return decide(errc::signature_mismatch,
                  "ARC-Seal i=" + std::to_string(n) + " has cv=fail: the chain failed before");
  // Step 3.3: cv=none on i=1 only, cv=pass on every later set.
  for (std::size_t i = 0; i < n; ++i) {
    if (!sets[i].seal) continue;  // a malformed seal fails in step 6
    const std::string& cv = sets[i].seal->cv;
    const char* want = i == 0 ? "none" : "pass";
    if (cv != want)
      return decide(errc::malformed_header, "ARC-Seal i=" + std::to_string(i + 1) +
                                                " has cv=" + detail::quotable(cv, 10) + ", not " +
                                                want + " (RFC 8617 §5.2 step 3.3)");
  }
  // The checks of an AMS that need no key, as a DKIM verifier makes them (RFC 6376 §6.1.1).
  const std::optional<error> from = from_problem(fields);
  std::optional<std::uint64_t> now;
  if (opts.now) now = opts.now();
  for (arc_set& set : sets) {
    if (!set.ams) continue;
    set.ams_local = from;
    if (!set.ams_local) set.ams_local = sha1_problem(*set.ams, opts);
    if (!set.ams_local) set.ams_local = detail::time_problem(*set.ams, now, opts.max_clock_skew);
  }
  // Step 4 needs the newest AMS and step 6 every AS: one that does not parse, or fails a check
  // that needs no key, fails the chain here, before any DNS query.
  if (!sets.back().ams)
    return decide_set(n - 1, detail::arc_kind::message_signature, sets.back().ams.error());
  if (sets.back().ams_local)
    return decide_set(n - 1, detail::arc_kind::message_signature, *sets.back().ams_local);
  for (std::size_t i = n; i-- > 0;) {
    if (!sets[i].seal) return decide_set(i, detail::arc_kind::seal, sets[i].seal.error());
    if (auto why = sha1_problem(sets[i].seal->sig, opts))
      return decide_set(i, detail::arc_kind::seal, *why);
  }
  start_lookups();
}

// The key lookups (at most opts.max_arc_key_lookups distinct names) and body hashers: the newest
// AMS's and every AS's keys first, as the chain needs them all; then older AMSs newest first,
// down to the first that fails without DNS (oldest-pass stops there) or whose key is beyond the
// limit (not evaluated: oldest-pass stops there too).
void arc_validator::state::start_lookups() {
  std::vector<std::string> names;
  auto known = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  auto want = [&](const signature& s) {
    if (std::string name = s.key_name(); !known(name)) names.push_back(std::move(name));
  };
  want(*sets.back().ams);
  for (const arc_set& set : sets) want(set.seal->sig);
  if (names.size() > opts.max_arc_key_lookups)
    return decide(errc::not_evaluated,
                  "the newest ARC-Message-Signature and the ARC-Seals name " +
                      std::to_string(names.size()) + " distinct keys, more than " +
                      std::to_string(opts.max_arc_key_lookups) + " (max_arc_key_lookups)");
  sets.back().body = bodies.add(*sets.back().ams);
  for (std::size_t i = sets.size() - 1; i-- > 0;) {
    arc_set& set = sets[i];
    if (!set.ams || set.ams_local) break;
    if (names.size() >= opts.max_arc_key_lookups && !known(set.ams->key_name())) {
      set.ams_beyond_lookups = true;
      break;
    }
    want(*set.ams);
    set.body = bodies.add(*set.ams);
  }
  for (const std::string& name : names) start_lookup(name);
}

void arc_validator::state::start_lookup(const std::string& name) {
  if (!opts.resolver || lookups.count(name)) return;
  if (lookups.empty()) lookups_started = std::chrono::steady_clock::now();
  lookups.emplace(name, opts.resolver->lookup_txt_async(name));
}

// The key record for `s`, fetched and parsed once per key name (RFC 6376 §6.1.2).
const result<key_record>& arc_validator::state::key_for(const signature& s) {
  const std::string name = s.key_name();
  auto it = keys.find(name);
  if (it != keys.end()) return it->second;
  result<key_record> rec = fail(errc::dns_temporary, "no resolver configured");
  if (auto lk = lookups.find(name); lk != lookups.end()) {
    dnssec_status dnssec = dnssec_status::unknown;
    rec = detail::await_key_record(lk->second, lookups_started, name, opts, dnssec);
  }
  return keys.emplace(name, std::move(rec)).first->second;
}

// The key rules shared with DKIM: RFC 8301 (no rsa-sha1, min_rsa_bits), k= and h= of the record.
namespace {
std::optional<error> key_problem(const result<key_record>& rec, const signature& s,
                                 const verify_options& opts) {
  if (!rec) return rec.error();
  std::vector<error> problems = key_record_problems(*rec, s, opts.min_rsa_bits);
  if (!problems.empty()) return problems.front();
  return std::nullopt;
}
}  // namespace

// An AMS (RFC 8617 §4.1.2): a DKIM signature without v=, i= the instance; never over ARC-Seal.
std::optional<error> arc_validator::state::check_ams(const arc_set& set) {
  if (!set.ams) return set.ams.error();
  if (set.ams_local) return set.ams_local;
  const signature& s = *set.ams;
  const result<key_record>& rec = key_for(s);
  if (auto why = key_problem(rec, s, opts)) return why;
  if (auto why = detail::body_problem(s, bodies[set.body], opts.allow_partial_body)) return why;
  data.clear();
  if (!index) index.emplace(fields);  // once per message, shared by all its AMSs
  detail::canonicalize_signed_headers(s.header_canon, *index, s.signed_headers, data);
  detail::canonicalize_signature_field(s.header_canon, fields[set.field[1]], set.ams_b_offset,
                                       set.ams_b_length, data);
  const hash_algorithm h = hash_of(s.algo);
  if (!rec->key->verify_digest(h, detail::digest(h, data), s.signature_data))
    return error{errc::signature_mismatch,
                 "the signed header fields were changed or the key does not match"};
  return std::nullopt;
}

// The digest each AS signs (RFC 8617 §5.1.1): relaxed canonicalization of the ARC sets 1..K in
// instance order, AAR, AMS, AS each, the last AS with its b= value emptied. One pass over the
// sets: a running hash per algorithm over the complete sets so far, copied for each seal.
std::vector<std::string> arc_validator::state::seal_digests() const {
  std::vector<std::pair<hash_algorithm, detail::hasher>> running;
  for (const arc_set& set : sets) {
    const hash_algorithm h = hash_of(set.seal->sig.algo);
    if (std::none_of(running.begin(), running.end(), [h](const auto& r) { return r.first == h; }))
      running.emplace_back(h, detail::hasher(h));
  }
  std::vector<std::string> digests;
  std::string pair, seal, own;
  for (const arc_set& set : sets) {
    pair.clear();
    seal.clear();
    own.clear();
    detail::canonicalize_header(canonicalization::relaxed, fields[set.field[0]], pair);
    detail::canonicalize_header(canonicalization::relaxed, fields[set.field[1]], pair);
    detail::canonicalize_header(canonicalization::relaxed, fields[set.field[2]], seal);
    detail::canonicalize_signature_field(canonicalization::relaxed, fields[set.field[2]],
                                         set.seal_b_offset, set.seal_b_length, own);
    const hash_algorithm want = hash_of(set.seal->sig.algo);
    for (auto& [h, ctx] : running) {
      ctx.update(pair);
      if (h == want) {
        detail::hasher mine = ctx.copy();
        mine.update(own);
        digests.push_back(mine.finish());
      }
      ctx.update(seal);
    }
  }
  return digests;
}

// The AS of set `upto` (0-based) against its digest (seal_digests()).
std::optional<error> arc_validator::state::check_seal(std::size_t upto, const std::string& digest) {
  const arc_set& set = sets[upto];
  if (!set.seal) return set.seal.error();
  const signature& s = set.seal->sig;
  if (auto why = sha1_problem(s, opts)) return why;
  const result<key_record>& rec = key_for(s);
  if (auto why = key_problem(rec, s, opts)) return why;
  if (!rec->key->verify_digest(hash_of(s.algo), digest, s.signature_data))
    return error{errc::signature_mismatch, "the ARC sets were changed or the key does not match"};
  return std::nullopt;
}

// Steps 4 to 7: the newest AMS, then older AMSs down to the first failure (oldest-pass), then
// every AS from the newest down.
arc_validation arc_validator::state::finish() {
  if (!in_body) start_body();
  if (decided) return std::move(out);
  bodies.finish(scratch);
  const std::size_t n = sets.size();
  unsigned oldest = 0;
  for (std::size_t i = n; i-- > 0;) {
    arc_set_result& r = out.set_results[i];
    if (sets[i].ams_beyond_lookups) {  // not evaluated: status none
      r.ams_code = errc::not_evaluated;
      r.ams_reason = "not evaluated: its key is beyond the " +
                     std::to_string(opts.max_arc_key_lookups) +
                     " key lookups of a message (max_arc_key_lookups)";
      break;
    }
    const auto why = check_ams(sets[i]);
    record(r.ams, r.ams_code, r.ams_reason, why);
    if (why) {
      if (i + 1 == n) {  // step 4: the newest AMS must pass
        decide(why->code, "ARC-Message-Signature i=" + std::to_string(n) + ": " + why->message());
        return std::move(out);
      }
      break;  // step 5: oldest-pass is the set after this one
    }
    oldest = static_cast<unsigned>(i + 1);
  }
  const std::vector<std::string> digests = seal_digests();
  for (std::size_t i = n; i-- > 0;) {  // step 6
    arc_set_result& r = out.set_results[i];
    const auto why = check_seal(i, digests[i]);
    record(r.seal, r.seal_code, r.seal_reason, why);
    if (why) {
      decide(why->code, "ARC-Seal i=" + std::to_string(i + 1) + ": " + why->message());
      return std::move(out);
    }
  }
  out.result = arc_result::pass;  // step 7
  out.oldest_pass = oldest;
  return std::move(out);
}

arc_validator::arc_validator(verify_options opts) : s_(std::make_unique<state>(std::move(opts))) {}
arc_validator::arc_validator(arc_validator&&) noexcept = default;
arc_validator& arc_validator::operator=(arc_validator&&) noexcept = default;
arc_validator::~arc_validator() = default;

void arc_validator::update(std::string_view chunk) {
  if (s_->in_body && s_->bodies.size() == 0) return;  // no body hash to compute (no ARC set)
  s_->norm.update(chunk, [this](std::string_view piece) { s_->feed(piece); });
}

void arc_validator::add_header_field(std::string_view raw_field) {
  s_->reader.add_field(normalize_line_endings(raw_field));
}

void arc_validator::end_of_header() {
  if (!s_->in_body) s_->start_body();
}

void arc_validator::add_body(std::string_view chunk) {
  if (!s_->in_body) s_->start_body();
  if (s_->bodies.size() == 0) return;  // no body hash to compute (no ARC set)
  s_->norm.update(chunk, [this](std::string_view piece) { s_->bodies.update(piece, s_->scratch); });
}

arc_validation arc_validator::finish() { return s_->finish(); }

arc_validation validate_arc(std::string_view message, const verify_options& opts) {
  arc_validator v(opts);
  v.update(message);
  return v.finish();
}

}  // namespace dkimkit
