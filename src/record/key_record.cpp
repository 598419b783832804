#include <dkimkit/key_record.hpp>

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

}  // namespace dkimkit
