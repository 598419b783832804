#include <dkimkit/verifier.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>

#include <openssl/crypto.h>

#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "message/fields.hpp"
#include "message/line_endings.hpp"
#include "message/reader.hpp"
#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

constexpr std::size_t kNoBody = static_cast<std::size_t>(-1);

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

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

struct pending_signature {
  verification result;
  bool decided = false;   // result is final before the body is seen
  signature sig;
  std::size_t b_offset = 0, b_length = 0;  // the b= value inside the field's value
  std::size_t body = kNoBody;              // index into the body hashers
  std::string key_name;
};

// The key record and body length a signature was checked with, kept in its result for
// explanations (dkimkit/explain.hpp).
void keep_key_and_body(pending_signature& p, const std::map<std::string, result<key_record>>& keys,
                       const std::vector<detail::body_hasher>& bodies) {
  if (p.body == kNoBody) return;  // decided before the body and the key
  p.result.canonical_body_length = bodies[p.body].canonical_length();
  auto k = keys.find(p.key_name);
  if (k != keys.end() && k->second) p.result.key = std::make_shared<const key_record>(*k->second);
}

void decide(pending_signature& p, errc code, std::string detail) {
  p.decided = true;
  p.result.status = status_of(code);
  p.result.code = code;
  p.result.reason = error{code, std::move(detail)}.message();
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
  std::map<std::string, std::shared_future<txt_answer>> lookups;
  std::chrono::steady_clock::time_point lookups_started;
  std::string scratch;

  void feed(std::string_view piece) {
    if (!in_body) {
      auto body_start = reader.feed(piece);
      if (!body_start) return;
      start_body();
      piece.remove_prefix(std::min(*body_start, piece.size()));
    }
    for (auto& b : bodies) b.update(piece, scratch);
  }

  void start_body();
  void check_key(pending_signature& p, const result<key_record>& rec, std::uint64_t body_len);
  std::vector<verification> finish();
};

void verifier::state::start_body() {
  in_body = true;
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
  if (message_error) fields = detail::split_fields_lenient(block, opts.header.max_fields);
  if (!message_error) {
    std::size_t from = 0;
    for (const auto& f : fields)
      if (iequals(f.name, "From")) ++from;
    if (from == 1)
      for (const auto& f : fields)
        if (iequals(f.name, "From")) from_value = std::string(f.value);
    if (from == 0) message_error = error{errc::no_from, ""};
    if (from > 1)
      message_error = error{errc::multiple_from, std::to_string(from) + " From fields"};
  }

  std::optional<std::uint64_t> now;
  if (opts.now) now = opts.now();

  for (std::size_t i = 0; i < fields.size(); ++i) {
    const header_field& f = fields[i];
    if (!iequals(f.name, "DKIM-Signature")) continue;
    pending_signature p;
    p.result.field_index = i;
    // What can be reported even from a broken signature: only values that pass the checks
    // signature parsing makes, so that no text of a signature that failed to parse reaches a log
    // line, JSON or an Authentication-Results field ("d=evil.example dir=sign result=signed").
    auto tags = detail::parse_tag_list(f.value);
    if (!tags) p.result.tags = tl::unexpected(tags.error());
    if (tags) {
      for (const auto& t : *tags)
        p.result.tags->push_back({std::string(t.name), std::string(t.value)});
      auto raw = [&](std::string_view n) -> std::string_view {
        const auto* t = detail::find_tag(*tags, n);
        return t ? t->value : std::string_view();
      };
      if (detail::is_dns_name(raw("d"), 2)) p.result.sdid = detail::lowercase(raw("d"));
      if (detail::is_dns_name(raw("s"), 1)) p.result.selector = detail::lowercase(raw("s"));
      if (is_short_token(raw("a"))) p.result.algorithm = raw("a");
      if (const auto* itag = detail::find_tag(*tags, "i")) {  // dkim-quoted-printable
        auto decoded = detail::decode_dkim_qp(itag->value);
        std::size_t at = decoded ? decoded->rfind('@') : std::string::npos;
        if (at != std::string::npos &&
            detail::is_dns_name(std::string_view(*decoded).substr(at + 1), 1))
          p.result.auid = reportable(*decoded);
      } else if (!p.result.sdid.empty()) {
        p.result.auid = "@" + p.result.sdid;  // the default (RFC 6376 §3.5)
      }
      if (const auto* b = detail::find_tag(*tags, "b")) {
        const auto range = detail::find_b_value(*tags, f.value);
        p.b_offset = range->offset;
        p.b_length = range->length;
        std::string prefix;  // the first 8 characters of b=, white space skipped
        for (char c : b->value) {
          if (prefix.size() == 8) break;
          if (!detail::is_fws(c)) prefix += c;
        }
        if (is_base64(prefix)) p.result.b_prefix = prefix;
      }
    }

    // The tag list is parsed once, above; parse_signature() would parse it again.
    auto sig = f.value.size() > opts.signature.max_field_bytes
                   ? parse_signature(f.value, opts.signature)  // reports the size limit
               : !tags ? result<signature>(tl::unexpected(tags.error()))
                       : detail::signature_from_tags(*tags, opts.signature);
    if (sig)
      p.result.parsed = std::make_shared<const signature>(*sig);
    else
      p.result.signature_error = sig.error();
    if (sigs.size() >= opts.max_signatures) {
      decide(p, errc::not_evaluated,
             "more than " + std::to_string(opts.max_signatures) +
                 " signatures in the message (max_signatures)");
      sigs.push_back(std::move(p));
      continue;
    }
    if (!sig) {
      decide(p, sig.error().code, sig.error().detail);
      sigs.push_back(std::move(p));
      continue;
    }
    p.sig = std::move(*sig);
    p.result.b_prefix = p.sig.signature_b64.substr(0, 8);
    p.result.body_length = p.sig.body_length;
    const signature& s = p.sig;
    bool from_signed = std::any_of(s.signed_headers.begin(), s.signed_headers.end(),
                                   [](const std::string& n) { return iequals(n, "From"); });
    if (message_error) {
      decide(p, message_error->code, message_error->detail);
    } else if (!from_signed) {
      decide(p, errc::from_not_signed, "h= does not list From (RFC 6376 §5.4)");
    } else if (s.auid && !is_same_or_subdomain(s.auid_domain(), s.sdid)) {
      decide(p, errc::auid_outside_sdid, "i= domain " + reportable(s.auid_domain()) +
                                             " is not d=" + s.sdid + " nor under it");
    } else if (s.algo == algorithm::rsa_sha1 && !opts.allow_sha1) {
      decide(p, errc::sha1_not_allowed, "RFC 8301 §3.1");
    } else if (now && s.expiration && *now > saturating_add(*s.expiration, opts.max_clock_skew)) {
      decide(p, errc::signature_expired,
             "x=" + std::to_string(*s.expiration) + " passed " +
                 std::to_string(*now - *s.expiration) + " s ago");
    } else if (now && s.timestamp && *s.timestamp > saturating_add(*now, opts.max_clock_skew)) {
      decide(p, errc::signature_in_future,
             "t=" + std::to_string(*s.timestamp) + " is " + std::to_string(*s.timestamp - *now) +
                 " s ahead, more than the allowed " + std::to_string(opts.max_clock_skew));
    }
    if (!p.decided) {
      hash_algorithm h = hash_of(s.algo);
      std::size_t idx = 0;
      while (idx < bodies.size() && !bodies[idx].matches(s.body_canon, h, s.body_length)) ++idx;
      if (idx == bodies.size()) bodies.emplace_back(s.body_canon, h, s.body_length);
      p.body = idx;
      p.key_name = s.key_name();
      if (opts.resolver && !lookups.count(p.key_name)) {
        if (lookups.empty()) lookups_started = std::chrono::steady_clock::now();
        lookups.emplace(p.key_name, opts.resolver->lookup_txt_async(p.key_name));
      }
    }
    sigs.push_back(std::move(p));
  }
  // A header over a limit may hide signatures beyond the part read: say so rather than "none".
  if (sigs.empty() && message_error && message_error->code == errc::header_too_large) {
    pending_signature p;
    p.result.field_index = fields.size();
    decide(p, message_error->code, message_error->detail);
    sigs.push_back(std::move(p));
  }
}

void verifier::state::check_key(pending_signature& p, const result<key_record>& rec,
                                std::uint64_t body_len) {
  const signature& s = p.sig;
  if (!rec) return decide(p, rec.error().code, rec.error().detail);
  const key_record& k = *rec;
  p.result.key_type = k.type;
  p.result.key_bits = k.key->bits();
  p.result.testing = k.testing;
  if (k.type != key_type_of(s.algo))
    return decide(p, errc::key_type_mismatch, "a=" + std::string(to_string(s.algo)) +
                                                  " with a k=" + std::string(to_string(k.type)) +
                                                  " key");
  if (!k.hashes.empty() &&
      std::find(k.hashes.begin(), k.hashes.end(), hash_of(s.algo)) == k.hashes.end())
    return decide(p, errc::key_hash_mismatch,
                  "the key's h= does not list " + std::string(to_string(hash_of(s.algo))));
  if (k.strict && s.auid && !iequals(s.auid_domain(), s.sdid))
    return decide(p, errc::key_strict_subdomain, "key t=s and i= is in a subdomain of d=");
  if (k.type == key_type::rsa && k.key->bits() < opts.min_rsa_bits)
    return decide(p, errc::key_too_small, std::to_string(k.key->bits()) + "-bit RSA key, " +
                                              std::to_string(opts.min_rsa_bits) +
                                              " needed (min_rsa_bits; RFC 8301 §3.2)");
  if (s.body_length && *s.body_length > body_len)
    return decide(p, errc::body_length_exceeds, "l=" + std::to_string(*s.body_length) +
                                                    " but the canonicalized body has " +
                                                    std::to_string(body_len) + " octets");
  if (s.body_length && *s.body_length < body_len && !opts.allow_partial_body)
    return decide(p, errc::body_length_partial,
                  "l=" + std::to_string(*s.body_length) + " signs " +
                      std::to_string(*s.body_length) + " of " + std::to_string(body_len) +
                      " octets");
}

std::vector<verification> verifier::state::finish() {
  if (!in_body) start_body();
  for (auto& b : bodies) b.finish(scratch);

  std::map<std::string, result<key_record>> keys;
  std::string data;
  // h= selection: the fields indexed once per message, shared by all its signatures (O(fields +
  // names) per signature, not fields x names).
  std::optional<detail::header_index> index;
  std::vector<verification> out;
  out.reserve(sigs.size());
  for (pending_signature& p : sigs) {
    if (!p.decided) {
      const signature& s = p.sig;
      auto it = keys.find(p.key_name);
      if (it == keys.end()) {
        result<key_record> rec = fail(errc::dns_temporary, "no resolver configured");
        auto lk = lookups.find(p.key_name);
        const bool in_time =
            lk != lookups.end() &&
            (opts.dns_message_timeout.count() <= 0 ||
             lk->second.wait_until(lookups_started + opts.dns_message_timeout) !=
                 std::future_status::timeout);
        if (lk != lookups.end() && !in_time) {
          rec = fail(errc::dns_temporary,
                     p.key_name + ": no answer within the DNS time for the message (" +
                         std::to_string(opts.dns_message_timeout.count()) +
                         " ms, dns_message_timeout)");
        } else if (lk != lookups.end()) {
          txt_answer ans = lk->second.get();
          p.result.dnssec = ans.dnssec;
          switch (ans.status) {
            case dns_status::temporary:
              rec = fail(errc::dns_temporary, p.key_name + ": " + ans.detail);
              break;
            case dns_status::nxdomain:
              rec = fail(errc::key_not_found, p.key_name + " does not exist (NXDOMAIN)");
              break;
            case dns_status::nodata:
              rec = fail(errc::key_not_found, p.key_name + " has no TXT record");
              break;
            case dns_status::found: {
              std::vector<const std::string*> cand;
              for (const auto& r : ans.records)
                if (looks_like_key_record(r)) cand.push_back(&r);
              if (cand.empty())
                rec = fail(errc::key_not_found, p.key_name + " has no DKIM key record");
              else if (cand.size() > 1)
                rec = fail(errc::key_ambiguous, p.key_name + " has " +
                                                    std::to_string(cand.size()) +
                                                    " DKIM key records");
              else
                rec = opts.keys ? opts.keys->parse(*cand[0], opts.key)
                                : parse_key_record(*cand[0], opts.key);
              break;
            }
          }
        }
        it = keys.emplace(p.key_name, std::move(rec)).first;
      }
      const detail::body_hasher& body = bodies[p.body];
      check_key(p, it->second, body.canonical_length());
      if (!p.decided) {
        if (body.digest().size() != s.body_hash.size() ||
            CRYPTO_memcmp(body.digest().data(), s.body_hash.data(), s.body_hash.size()) != 0) {
          decide(p, errc::body_hash_mismatch, "the body was changed after signing");
        } else {
          data.clear();
          if (!index) index.emplace(fields);
          detail::canonicalize_signed_headers(s.header_canon, *index, s.signed_headers, data);
          detail::canonicalize_signature_field(s.header_canon, fields[p.result.field_index],
                                               p.b_offset, p.b_length, data);
          hash_algorithm h = hash_of(s.algo);
          std::string digest = detail::digest(h, data);
          if (it->second->key->verify_digest(h, digest, s.signature_data)) {
            p.decided = true;
            p.result.status = status::pass;
            p.result.code = errc::ok;
          } else {
            decide(p, errc::signature_mismatch, "the signed header fields were changed or the key does not match");
          }
        }
      }
    }
    keep_key_and_body(p, keys, bodies);
    out.push_back(std::move(p.result));
  }
  return out;
}

verifier::verifier(verify_options opts) : s_(std::make_unique<state>(std::move(opts))) {}
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;
verifier::~verifier() = default;

void verifier::update(std::string_view chunk) {
  s_->norm.update(chunk, [this](std::string_view piece) { s_->feed(piece); });
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
  s_->norm.update(chunk, [this](std::string_view piece) {
    for (auto& b : s_->bodies) b.update(piece, s_->scratch);
  });
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
