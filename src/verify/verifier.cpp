#include <dkimkit/verifier.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <utility>

#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "message/fields.hpp"
#include "message/line_endings.hpp"
#include "message/reader.hpp"
#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"
#include "verify/checks.hpp"

namespace dkimkit {
namespace {

constexpr std::size_t kNoBody = static_cast<std::size_t>(-1);

// A value fit to be reported (JSON, Authentication-Results): printable ASCII, not too long.
std::string reportable(std::string_view v, std::size_t max = 253) {
  if (v.size() > max || !detail::is_printable_ascii(v)) return {};
  return std::string(v);
}

// An a= value fit to be reported: a short token of lower-case letters, digits and '-'.
bool is_short_token(std::string_view v) {
  return !v.empty() && v.size() <= 32 && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || detail::is_digit(c) || c == '-';
  });
}

// Base64 characters only (RFC 4648 §4), as the prefix of b= reported.
bool is_base64(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    return detail::is_alpha(c) || detail::is_digit(c) || c == '+' || c == '/' || c == '=';
  });
}

// Buffers that each call fills and uses up before it returns (body slices canonicalized, the
// header data hashed): one set per thread, shared by its messages, so that a message does not
// allocate (and zero-fill) its own. One grown large by an unusual message (held line ends written
// at once) is released at the end of the call that grew it, so that a message abandoned before
// finish() (a milter client gone, RSET) leaves no large buffer on its thread.
struct work_buffers {
  static constexpr std::size_t kKeep = 64 * 1024;
  std::string scratch, data;
  void release_large() {
    for (std::string* s : {&scratch, &data})
      if (s->capacity() > kKeep) std::string().swap(*s);
  }
};

work_buffers& buffers() {
  thread_local work_buffers b;
  return b;
}

// The key of one key name: its lookup, started when the header ends, and the outcome of §6.1.2.
struct key_fetch {
  std::string name;
  std::optional<detail::started_lookup> lookup;      // none without a resolver
  std::optional<detail::shared_key_record> outcome;  // once the answer has been awaited
  // The answer's DNSSEC state, for every signature that uses this key (not only the first).
  dnssec_status dnssec = dnssec_status::unknown;
};

struct pending_signature {
  verification result;
  bool decided = false;  // result is final (§6.1.1 refused it, or it has been verified)
  // Set once §6.1.1 has parsed the field: the signature result.parsed shares (not a copy).
  std::shared_ptr<const signature> sig;
  std::size_t b_offset = 0, b_length = 0;  // the b= value inside the field's value
  std::size_t body = kNoBody;              // index into the body hashers
  std::size_t fetch = kNoBody;  // index into the key fetches
  const key_record* key = nullptr;  // set once §6.1.2 has accepted the key record
};

void decide(pending_signature& p, errc code, std::string detail) {
  p.decided = true;
  p.result.status = status_of(code);
  p.result.code = code;
  p.result.reason = error{code, std::move(detail)}.message();
}

void decide(pending_signature& p, const error& e) { decide(p, e.code, e.detail); }

// What can be reported of a signature that was not parsed (broken, or beyond max_signatures): only
// values that pass the checks signature parsing makes, so that no text of a signature that failed
// to parse reaches a log line, JSON or an Authentication-Results field ("d=evil.example
// dir=sign result=signed").
void report_unparsed(verification& r, const std::vector<detail::tag>& tags) {
  auto raw = [&](std::string_view n) -> std::string_view {
    const auto* t = detail::find_tag(tags, n);
    return t ? t->value : std::string_view();
  };
  if (detail::is_dns_name(raw("d"), 2)) r.sdid = detail::lowercase(raw("d"));
  if (detail::is_dns_name(raw("s"), 1)) r.selector = detail::lowercase(raw("s"));
  if (is_short_token(raw("a"))) r.algorithm = raw("a");
  if (const auto* itag = detail::find_tag(tags, "i")) {  // dkim-quoted-printable
    auto decoded = detail::decode_dkim_qp(itag->value);
    std::size_t at = decoded ? decoded->rfind('@') : std::string::npos;
    if (at != std::string::npos &&
        detail::is_dns_name(std::string_view(*decoded).substr(at + 1), 1))
      r.auid = reportable(*decoded);
  } else if (!r.sdid.empty()) {
    r.auid = "@" + r.sdid;  // the default (RFC 6376 §3.5)
  }
  if (const auto* b = detail::find_tag(tags, "b")) {
    std::string prefix;  // the first 8 characters of b=, white space skipped
    for (char c : b->value) {
      if (prefix.size() == 8) break;
      if (!detail::is_fws(c)) prefix += c;
    }
    if (is_base64(prefix)) r.b_prefix = prefix;
  }
}

// The same fields of a parsed signature: parsing has checked them already.
void report_parsed(verification& r, const signature& s) {
  r.sdid = s.sdid;
  r.selector = s.selector;
  r.algorithm = to_string(s.algo);
  r.auid = s.auid ? reportable(*s.auid) : "@" + s.sdid;  // the default (RFC 6376 §3.5)
  r.b_prefix = s.signature_b64.substr(0, 8);
  r.body_length = s.body_length;
}

}  // namespace

struct verifier::state {
  explicit state(verify_options o) : opts(std::move(o)), reader(opts.header.max_header_bytes) {}

  verify_options opts;
  detail::crlf_normalizer norm;
  detail::header_reader reader;
  bool in_body = false;
  std::vector<header_field> fields;
  std::string from_value;  // the single From field's value
  std::vector<pending_signature> sigs;
  std::vector<detail::body_hasher> bodies;
  // One per key name; a few per message (max_signatures), so searched in order.
  std::vector<key_fetch> fetches;
  std::chrono::steady_clock::time_point lookups_started;
  // h= selection: the fields indexed once per message, shared by all its signatures (O(fields +
  // names) per signature, not fields x names).
  std::optional<detail::header_index> index;

  void feed(std::string_view piece) {
    if (!in_body) {
      auto body_start = reader.feed(piece);
      if (!body_start) return;
      start_body();
      piece.remove_prefix(std::min(*body_start, piece.size()));
    }
    for (auto& b : bodies) b.update(piece, buffers().scratch);
  }

  // At the end of the header: §6.1.1 for every signature, then its key lookup starts.
  void start_body();
  std::optional<error> read_header();
  pending_signature validate_signature(std::size_t field_index,
                                       const std::optional<error>& message_error,
                                       std::optional<std::uint64_t> now) const;
  std::optional<error> local_checks(const signature& s, std::optional<std::uint64_t> now) const;
  void start_key_lookup(pending_signature& p);
  // At the end of the message: §6.1.2 and §6.1.3 for every signature §6.1.1 accepted.
  std::vector<verification> finish();
  void get_public_key(pending_signature& p);
  detail::shared_key_record fetch_key_record(key_fetch& f);
  void check_body_hash(pending_signature& p);
  void check_signature(pending_signature& p);
};

void verifier::state::start_body() {
  in_body = true;
  const std::optional<error> message_error = read_header();
  std::optional<std::uint64_t> now;
  if (opts.now) now = opts.now();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!iequals(fields[i].name, "DKIM-Signature")) continue;
    pending_signature p = validate_signature(i, message_error, now);  // §6.1.1
    if (!p.decided) start_key_lookup(p);  // §6.1.2 begins: all the message's lookups at once
    sigs.push_back(std::move(p));
  }
  // A header over a limit may hide signatures beyond the part read: say so rather than "none".
  if (sigs.empty() && message_error && message_error->code == errc::header_too_large) {
    pending_signature p;
    p.result.field_index = fields.size();
    decide(p, *message_error);
    sigs.push_back(std::move(p));
  }
}

// The header fields, and what is wrong with the message as a whole (limits, From), if anything.
std::optional<error> verifier::state::read_header() {
  std::string_view block = reader.block();
  std::optional<error> message_error;
  if (reader.overflow()) {
    message_error = error{errc::header_too_large, "the header block exceeds the limit of " +
                                                      std::to_string(opts.header.max_header_bytes) +
                                                      " bytes (max_header_bytes)"};
  }
  if (!message_error) {
    auto parsed = parse_header_block(block, opts.header);
    if (parsed)
      fields = std::move(*parsed);
    else
      message_error = parsed.error();
  }
  if (message_error) {
    fields = detail::split_fields_lenient(block, opts.header.max_fields);
    return message_error;
  }
  std::size_t from = 0;
  std::string_view value;
  for (const auto& f : fields) {
    if (!iequals(f.name, "From")) continue;
    ++from;
    value = f.value;
  }
  if (from == 1) from_value = std::string(value);
  if (from == 0) return error{errc::no_from, ""};
  if (from > 1) return error{errc::multiple_from, std::to_string(from) + " From fields"};
  return std::nullopt;
}

// RFC 6376 §6.1.1: parse the DKIM-Signature field and make the checks that need no key (decided
// when one fails), after those of the message as a whole and the limit on signatures.
pending_signature verifier::state::validate_signature(std::size_t field_index,
                                                      const std::optional<error>& message_error,
                                                      std::optional<std::uint64_t> now) const {
  const header_field& f = fields[field_index];
  pending_signature p;
  p.result.field_index = field_index;
  auto tags = detail::parse_tag_list(f.value);  // once: signature_from_tags() takes it as is
  if (!tags) p.result.tags = tl::unexpected(tags.error());
  if (tags) {
    p.result.tags->reserve(tags->size());
    for (const auto& t : *tags)
      p.result.tags->push_back({std::string(t.name), std::string(t.value)});
    if (const auto range = detail::find_b_value(*tags, f.value)) {
      p.b_offset = range->offset;
      p.b_length = range->length;
    }
  }
  // The signature is parsed here, even beyond max_signatures (parsing costs no DNS query and no
  // crypto): explanations show it.
  auto sig = f.value.size() > opts.signature.max_field_bytes
                 ? parse_signature(f.value, opts.signature)  // reports the size limit
             : !tags ? result<signature>(tl::unexpected(tags.error()))
                     : detail::signature_from_tags(*tags, opts.signature);
  if (sig)
    p.result.parsed = std::make_shared<const signature>(std::move(*sig));
  else
    p.result.signature_error = sig.error();
  if (sigs.size() >= opts.max_signatures) {
    if (tags) report_unparsed(p.result, *tags);
    decide(p, errc::not_evaluated,
           "more than " + std::to_string(opts.max_signatures) +
               " signatures in the message (max_signatures)");
    return p;
  }
  if (!sig) {
    if (tags) report_unparsed(p.result, *tags);
    decide(p, sig.error());
    return p;
  }
  p.sig = p.result.parsed;
  report_parsed(p.result, *p.sig);
  if (message_error)
    decide(p, *message_error);
  else if (auto why = local_checks(*p.sig, now))
    decide(p, *why);
  return p;
}

// The checks of §6.1.1 beyond the syntax, and the local policy on algorithms and times; the first
// that fails is the reason.
std::optional<error> verifier::state::local_checks(const signature& s,
                                                   std::optional<std::uint64_t> now) const {
  const bool from_signed = std::any_of(s.signed_headers.begin(), s.signed_headers.end(),
                                       [](const std::string& n) { return iequals(n, "From"); });
  if (!from_signed) return error{errc::from_not_signed, "h= does not list From (RFC 6376 §5.4)"};
  if (s.auid && !is_same_or_subdomain(s.auid_domain(), s.sdid))
    return error{errc::auid_outside_sdid, "i= domain " + reportable(s.auid_domain()) +
                                              " is not d=" + s.sdid + " nor under it"};
  if (s.algo == algorithm::rsa_sha1 && !opts.allow_sha1)
    return error{errc::sha1_not_allowed, "RFC 8301 §3.1"};
  return detail::time_problem(s, now, opts.max_clock_skew);
}

// Picks the signature's body hasher (one per canonicalization, hash and l=) and starts the lookup
// of its key (one per key name).
void verifier::state::start_key_lookup(pending_signature& p) {
  const signature& s = *p.sig;
  hash_algorithm h = hash_of(s.algo);
  std::size_t idx = 0;
  while (idx < bodies.size() && !bodies[idx].matches(s.body_canon, h, s.body_length)) ++idx;
  if (idx == bodies.size())
    bodies.emplace_back(s.body_canon, h, s.body_length, detail::line_ends::crlf_or_bare_lf);
  p.body = idx;
  std::string name = s.key_name();
  p.fetch = 0;
  while (p.fetch < fetches.size() && fetches[p.fetch].name != name) ++p.fetch;
  if (p.fetch < fetches.size()) return;
  key_fetch& f = fetches.emplace_back();
  f.name = std::move(name);
  if (opts.resolver) {
    if (p.fetch == 0) lookups_started = std::chrono::steady_clock::now();
    f.lookup = detail::start_lookup(*opts.resolver, f.name);
  }
}

std::vector<verification> verifier::state::finish() {
  if (!in_body) start_body();  // §6.1.1 ran there, for each signature
  for (auto& b : bodies) b.finish(buffers().scratch);
  std::vector<verification> out;
  out.reserve(sigs.size());
  for (pending_signature& p : sigs) {
    // Kept for explanations: the canonicalized body received, when hashed for this signature.
    if (p.body != kNoBody) p.result.canonical_body_length = bodies[p.body].canonical_length();
    if (!p.decided) get_public_key(p);   // §6.1.2 get the public key
    if (!p.decided) check_body_hash(p);  // §6.1.3 compute the verification: the body hash,
    if (!p.decided) check_signature(p);  // then the header hash and the signature
    out.push_back(std::move(p.result));
  }
  buffers().release_large();
  return out;
}

// RFC 6376 §6.1.2: the key record (fetched and parsed once per key name), checked against the
// signature.
void verifier::state::get_public_key(pending_signature& p) {
  key_fetch& f = fetches[p.fetch];
  if (!f.outcome) f.outcome = fetch_key_record(f);
  p.result.dnssec = f.dnssec;
  const detail::shared_key_record* found = &*f.outcome;
  if (!*found) return decide(p, found->error());
  const key_record& rec = ***found;
  p.result.key = **found;  // kept for explanations: shared, not copied
  p.result.key_type = rec.type;
  p.result.key_bits = rec.key->bits();
  p.result.testing = rec.testing;
  const std::vector<error> problems = key_record_problems(rec, *p.sig, opts.min_rsa_bits);
  if (!problems.empty()) return decide(p, problems.front());
  p.key = &rec;
}

// The answer to the lookup start_key_lookup() began, as a key record: the key is parsed here.
detail::shared_key_record verifier::state::fetch_key_record(key_fetch& f) {
  if (!f.lookup) return fail(errc::dns_temporary, "no resolver configured");
  return detail::await_shared_key_record(*f.lookup, lookups_started, f.name, opts, f.dnssec);
}

// RFC 6376 §6.1.3, first part: l= against the canonicalized body, then the body hash (compared
// in constant time).
void verifier::state::check_body_hash(pending_signature& p) {
  if (auto why = detail::body_problem(*p.sig, bodies[p.body], opts.allow_partial_body))
    decide(p, *why);
}

// RFC 6376 §6.1.3, second part: hash the h= fields and the signature's own field (b= emptied),
// then verify b= with the key.
void verifier::state::check_signature(pending_signature& p) {
  const signature& s = *p.sig;
  std::string& data = buffers().data;
  data.clear();
  data.reserve(reader.block().size());  // about what the fields signed come to
  if (!index) index.emplace(fields);
  detail::canonicalize_signed_headers(s.header_canon, *index, s.signed_headers, data);
  detail::canonicalize_signature_field(s.header_canon, fields[p.result.field_index], p.b_offset,
                                       p.b_length, data);
  const hash_algorithm h = hash_of(s.algo);
  const std::string digest = detail::digest(h, data);
  if (!p.key->key->verify_digest(h, digest, s.signature_data))
    return decide(p, errc::signature_mismatch,
                  "the signed header fields were changed or the key does not match");
  p.decided = true;
  p.result.status = status::pass;
  p.result.code = errc::ok;
}

verifier::verifier(verify_options opts) : s_(std::make_unique<state>(std::move(opts))) {}
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;
verifier::~verifier() = default;

void verifier::update(std::string_view chunk) {
  chunk = s_->norm.update_while(
      chunk, [this] { return !s_->in_body; }, [this](std::string_view piece) { s_->feed(piece); });
  for (auto& b : s_->bodies) b.update(chunk, buffers().scratch);  // bare LFs read as line ends
  buffers().release_large();  // not kept past the call: a message may never reach finish()
}

void verifier::add_header_field(std::string_view raw_field) {
  std::string norm = normalize_line_endings(raw_field);
  s_->reader.add_field(norm);
}

void verifier::end_of_header() {
  if (!s_->in_body) s_->start_body();
}

void verifier::add_body(std::string_view chunk) {
  if (!s_->in_body) s_->start_body();
  for (auto& b : s_->bodies) b.update(chunk, buffers().scratch);  // bare LFs read as line ends
  buffers().release_large();
}

std::vector<verification> verifier::finish() { return s_->finish(); }

const std::vector<header_field>& verifier::header_fields() const noexcept { return s_->fields; }

std::string verifier::from_field() const { return s_->from_value; }

std::vector<verification> verify(std::string_view message, const verify_options& opts) {
  verifier v(opts);
  v.update(message);
  return v.finish();
}

}  // namespace dkimkit
