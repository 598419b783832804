#include <dkimkit/key_record.hpp>

#include <algorithm>

#include <dkimkit/message.hpp>

#include "record/key_lookup.hpp"
#include "tag_list/tag_list.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {

bool looks_like_key_record(std::string_view txt) noexcept {
  std::string_view t = detail::trim_fws(txt);
  if (t.substr(0, 2) == "v=" || (t.size() > 1 && t[0] == 'v' && detail::is_fws(t[1]))) {
    std::string_view rest = detail::trim_fws(t.substr(t.find('=') + 1));
    return rest.substr(0, 4) == "DKIM";
  }
  // A tag list with a p= tag, whatever else it has.
  for (std::size_t pos = 0; (pos = t.find("p", pos)) != std::string_view::npos; ++pos) {
    if (pos > 0 && t[pos - 1] != ';' && !detail::is_fws(t[pos - 1])) continue;
    std::string_view after = detail::trim_fws(t.substr(pos + 1));
    if (!after.empty() && after.front() == '=') return true;
  }
  return false;
}

result<key_record> parse_key_record(std::string_view txt, const key_limits& limits) {
  if (txt.size() > limits.max_record_bytes)
    return fail(errc::key_syntax, "key record of " + std::to_string(txt.size()) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(limits.max_record_bytes) +
                                      " (max_key_record_bytes)");
  auto tags = detail::parse_tag_list(txt);
  if (!tags) return fail(errc::key_syntax, tags.error().detail);
  auto get = [&](std::string_view name) { return detail::find_tag(*tags, name); };

  key_record rec;
  if (const auto* v = get("v")) {
    if (&(*tags)[0] != v) return fail(errc::key_syntax, "v= must be the first tag");
    if (v->value != "DKIM1")
      return fail(errc::key_syntax, "v=" + detail::quotable(v->value, 20) + " is not DKIM1");
  }
  if (const auto* k = get("k")) {
    if (k->value == "rsa")
      rec.type = key_type::rsa;
    else if (k->value == "ed25519")
      rec.type = key_type::ed25519;
    else
      return fail(errc::key_syntax, "unknown key type k=" + detail::quotable(k->value, 20));
  }
  if (const auto* h = get("h")) {
    for (std::string_view a : detail::split(h->value, ':')) {
      a = detail::trim_fws(a);
      if (a == "sha256") rec.hashes.push_back(hash_algorithm::sha256);
      else if (a == "sha1") rec.hashes.push_back(hash_algorithm::sha1);
      // unknown hash names are ignored (RFC 6376 §3.6.1)
    }
    if (rec.hashes.empty())
      return fail(errc::key_hash_mismatch, "h= lists no hash algorithm that DKIM defines");
  }
  if (const auto* s = get("s")) {
    bool email = false;
    for (std::string_view st : detail::split(s->value, ':')) {
      st = detail::trim_fws(st);
      if (st == "*" || st == "email") email = true;
    }
    if (!email) return fail(errc::key_service_mismatch, "s= allows neither * nor email");
  }
  if (const auto* t = get("t")) {
    for (std::string_view f : detail::split(t->value, ':')) {
      f = detail::trim_fws(f);
      if (f == "y") rec.testing = true;
      if (f == "s") rec.strict = true;
    }
  }
  if (const auto* n = get("n")) {  // qp-section; notes for people, so kept as written if broken
    auto decoded = detail::decode_qp_section(n->value);
    rec.notes = decoded ? std::move(*decoded) : std::string(n->value);
  }
  const auto* p = get("p");
  if (!p) return fail(errc::key_syntax, "the key record has no p= tag");
  std::string p_clean = detail::strip_fws(p->value);
  if (p_clean.empty()) return fail(errc::key_revoked, "the key record has an empty p= (revoked)");
  auto der = detail::base64_decode(p_clean);
  if (!der) return fail(errc::key_syntax, "p= is not valid base64");
  auto key = public_key::from_der(rec.type, *der);
  if (!key) return tl::unexpected(key.error());
  if (rec.type == key_type::rsa && (*key)->bits() > limits.max_rsa_bits)
    return fail(errc::key_too_large, "RSA key of " + std::to_string((*key)->bits()) +
                                         " bits exceeds the limit of " +
                                         std::to_string(limits.max_rsa_bits) + " (max_rsa_bits)");
  rec.key = std::move(*key);
  return rec;
}

namespace {

// The one key record of `answer`, or why there is none (key_record_from_answer()). The name is
// copied only into an error.
result<const std::string*> the_key_record(const txt_answer& answer, std::string_view name) {
  switch (answer.status) {
    case dns_status::temporary:
      return fail(errc::dns_temporary, std::string(name) + ": " + answer.detail);
    case dns_status::nxdomain:
      return fail(errc::key_not_found, std::string(name) + " does not exist (NXDOMAIN)");
    case dns_status::nodata:
      return fail(errc::key_not_found, std::string(name) + " has no TXT record");
    case dns_status::found:
      break;
  }
  const std::string* found = nullptr;
  std::size_t count = 0;
  for (const auto& r : answer.records) {
    if (!looks_like_key_record(r)) continue;
    found = &r;
    ++count;
  }
  if (count == 0) return fail(errc::key_not_found, std::string(name) + " has no DKIM key record");
  if (count > 1)
    return fail(errc::key_ambiguous,
                std::string(name) + " has " + std::to_string(count) + " DKIM key records");
  return found;
}

}  // namespace

result<key_record> key_record_from_answer(const txt_answer& answer, std::string_view name,
                                          const key_limits& limits, key_cache* cache) {
  const auto found = the_key_record(answer, name);
  if (!found) return tl::unexpected(found.error());
  return cache ? cache->parse(**found, limits) : parse_key_record(**found, limits);
}

namespace detail {
shared_key_record shared_key_record_from_answer(const txt_answer& answer, std::string_view name,
                                                const key_limits& limits, key_cache* cache) {
  const auto found = the_key_record(answer, name);
  if (!found) return tl::unexpected(found.error());
  return cache ? cache->parse_shared(**found, limits) : share(parse_key_record(**found, limits));
}
}  // namespace detail

std::vector<error> key_record_problems(const key_record& rec, const signature& sig,
                                       unsigned min_rsa_bits) {
  std::vector<error> out;
  const hash_algorithm hash = hash_of(sig.algo);
  if (rec.type != key_type_of(sig.algo))
    out.push_back({errc::key_type_mismatch, "a=" + std::string(to_string(sig.algo)) + " with a k=" +
                                                std::string(to_string(rec.type)) + " key"});
  if (!rec.hashes.empty() &&
      std::find(rec.hashes.begin(), rec.hashes.end(), hash) == rec.hashes.end())
    out.push_back(
        {errc::key_hash_mismatch, "the key's h= does not list " + std::string(to_string(hash))});
  if (rec.strict && sig.auid && !iequals(sig.auid_domain(), sig.sdid))
    out.push_back({errc::key_strict_subdomain, "key t=s and i= is in a subdomain of d="});
  if (rec.type == key_type::rsa && rec.key->bits() < min_rsa_bits)
    out.push_back({errc::key_too_small, std::to_string(rec.key->bits()) + "-bit RSA key, " +
                                            std::to_string(min_rsa_bits) +
                                            " needed (min_rsa_bits; RFC 8301 §3.2)"});
  return out;
}

}  // namespace dkimkit
