#include <algorithm>
#include <array>

#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>

#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {

std::string_view to_string(algorithm a) noexcept {
  switch (a) {
    case algorithm::rsa_sha1: return "rsa-sha1";
    case algorithm::rsa_sha256: return "rsa-sha256";
    case algorithm::ed25519_sha256: return "ed25519-sha256";
  }
  return "?";
}
std::string_view to_string(canonicalization c) noexcept {
  return c == canonicalization::simple ? "simple" : "relaxed";
}
std::string_view to_string(key_type k) noexcept { return k == key_type::rsa ? "rsa" : "ed25519"; }
std::string_view to_string(hash_algorithm h) noexcept {
  return h == hash_algorithm::sha1 ? "sha1" : "sha256";
}
std::optional<algorithm> parse_algorithm(std::string_view s) noexcept {
  if (s == "rsa-sha256") return algorithm::rsa_sha256;
  if (s == "ed25519-sha256") return algorithm::ed25519_sha256;
  if (s == "rsa-sha1") return algorithm::rsa_sha1;
  return std::nullopt;
}
hash_algorithm hash_of(algorithm a) noexcept {
  return a == algorithm::rsa_sha1 ? hash_algorithm::sha1 : hash_algorithm::sha256;
}
key_type key_type_of(algorithm a) noexcept {
  return a == algorithm::ed25519_sha256 ? key_type::ed25519 : key_type::rsa;
}
std::size_t digest_size(hash_algorithm h) noexcept { return h == hash_algorithm::sha1 ? 20 : 32; }

std::string key_name(std::string_view selector, std::string_view domain) {
  constexpr std::string_view infix = "._domainkey.";
  std::string name;
  name.reserve(selector.size() + infix.size() + domain.size());
  return name.append(selector).append(infix).append(domain);
}

std::string signature::key_name() const { return dkimkit::key_name(selector, sdid); }

std::string signature::auid_domain() const {
  if (!auid) return sdid;
  std::size_t at = auid->rfind('@');
  return detail::lowercase(at == std::string::npos ? *auid : auid->substr(at + 1));
}

bool is_same_or_subdomain(std::string_view sub, std::string_view domain) noexcept {
  if (domain.empty()) return false;
  if (sub.size() == domain.size()) return iequals(sub, domain);
  if (sub.size() < domain.size() + 1) return false;
  return sub[sub.size() - domain.size() - 1] == '.' &&
         iequals(sub.substr(sub.size() - domain.size()), domain);
}

result<canonicalizations> parse_canonicalization(std::string_view c) {
  auto one = [](std::string_view s) -> result<canonicalization> {
    if (s == "simple") return canonicalization::simple;
    if (s == "relaxed") return canonicalization::relaxed;
    return fail(errc::bad_canonicalization, "unknown canonicalization '" + std::string(s) + "'");
  };
  std::size_t slash = c.find('/');
  auto header = one(c.substr(0, slash));
  if (!header) return tl::unexpected(header.error());
  canonicalizations out{*header, canonicalization::simple};
  if (slash != std::string_view::npos) {
    auto body = one(c.substr(slash + 1));
    if (!body) return tl::unexpected(body.error());
    out.body = *body;
  }
  return out;
}

namespace {

result<std::string> decode_b64_tag(const detail::tag& t) {
  // A value without FWS (the usual bh=) is decoded as it is, without a stripped copy.
  const bool fws = std::any_of(t.value.begin(), t.value.end(), detail::is_fws);
  auto v = detail::base64_decode(fws ? std::string_view(detail::strip_fws(t.value)) : t.value);
  if (!v) return fail(errc::bad_base64, std::string(t.name) + "= is not valid base64");
  return std::move(*v);
}

}  // namespace

result<signature> parse_signature(std::string_view value, const signature_limits& limits) {
  if (value.size() > limits.max_field_bytes)
    return fail(errc::signature_too_large, "DKIM-Signature of " + std::to_string(value.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(limits.max_field_bytes) +
                                               " (max_signature_bytes)");
  auto tags = detail::parse_tag_list(value);
  if (!tags) return tl::unexpected(tags.error());
  return detail::signature_from_tags(*tags, limits);
}

result<std::vector<std::string>> decode_copied_headers(std::string_view value) {
  std::vector<std::string> out;
  for (std::string_view piece : detail::split(value, '|')) {
    auto copy = detail::decode_dkim_qp(piece);
    if (!copy || copy->find(':') == std::string::npos || copy->front() == ':')
      return fail(errc::tag_syntax, "z= is not a list of dkim-quoted-printable header fields");
    out.push_back(std::move(*copy));
  }
  return out;
}

namespace detail {

std::optional<b_value_range> find_b_value(const std::vector<tag>& tags, std::string_view value) {
  const tag* b = find_tag(tags, "b");
  if (!b) return std::nullopt;
  std::size_t start = b->value_offset;
  while (start > 0 && is_fws(value[start - 1])) --start;
  return b_value_range{start, b->value_offset + b->value.size() - start};
}

namespace {

// The tags a DKIM-Signature defines, found in one pass over the list (names are unique in it).
class signature_tag_set {
 public:
  explicit signature_tag_set(const std::vector<tag>& tags) noexcept {
    for (const tag& t : tags)
      if (const int k = slot(t.name); k >= 0) found_[static_cast<std::size_t>(k)] = &t;
  }
  // The tag named `name` (one of kNames), or nullptr.
  [[nodiscard]] const tag* operator()(std::string_view name) const noexcept {
    const int k = slot(name);
    return k < 0 ? nullptr : found_[static_cast<std::size_t>(k)];
  }

 private:
  static constexpr std::string_view kNames = "vabcdhilqstxz";  // one-letter names; "bh" is 13
  static int slot(std::string_view name) noexcept {
    if (name.size() == 2) return name == "bh" ? 13 : -1;
    if (name.size() != 1) return -1;
    const std::size_t k = kNames.find(name[0]);
    return k == std::string_view::npos ? -1 : static_cast<int>(k);
  }
  std::array<const tag*, 14> found_{};
};

}  // namespace

result<signature> signature_from_tags(const std::vector<tag>& tag_list,
                                      const signature_limits& limits) {
  const signature_tag_set get(tag_list);
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!get(required))
      return fail(errc::tag_missing, std::string("required tag '") + required + "' is missing");

  signature sig;

  if (get("v")->value != "1")
    return fail(errc::bad_version, "v=" + detail::quotable(get("v")->value, 20) + " is not 1");

  auto algo = parse_algorithm(get("a")->value);
  if (!algo)
    return fail(errc::unsupported_algorithm,
                "unknown algorithm a=" + detail::quotable(get("a")->value, 40));
  sig.algo = *algo;

  std::string b_clean = detail::strip_fws(get("b")->value);
  if (b_clean.empty()) return fail(errc::bad_base64, "b= is empty");
  auto b = detail::base64_decode(b_clean);
  if (!b) return fail(errc::bad_base64, "b= is not valid base64");
  sig.signature_data = std::move(*b);
  sig.signature_b64 = std::move(b_clean);

  auto bh = decode_b64_tag(*get("bh"));
  if (!bh) return tl::unexpected(bh.error());
  if (bh->size() != digest_size(hash_of(sig.algo)))
    return fail(errc::bad_body_hash_length,
                "bh= decodes to " + std::to_string(bh->size()) + " bytes, " +
                    std::string(to_string(hash_of(sig.algo))) + " needs " +
                    std::to_string(digest_size(hash_of(sig.algo))));
  sig.body_hash = std::move(*bh);

  if (const auto* c = get("c")) {
    auto canon = parse_canonicalization(c->value);
    if (!canon) return tl::unexpected(canon.error());
    sig.header_canon = canon->header;
    sig.body_canon = canon->body;
  }

  std::string_view d = get("d")->value;
  if (!detail::is_dns_name(d, 2))
    return fail(errc::bad_domain, "d= is not a domain name");
  sig.sdid = detail::lowercase(d);

  std::string_view s = get("s")->value;
  if (!detail::is_dns_name(s, 1)) return fail(errc::bad_selector, "s= is not a selector");
  sig.selector = detail::lowercase(s);
  if (sig.selector.size() + std::string_view("._domainkey.").size() + sig.sdid.size() > 253)
    return fail(errc::bad_selector, "the key's DNS name would exceed 253 octets");

  auto names = detail::split(get("h")->value, ':');
  if (names.size() > limits.max_signed_headers)
    return fail(errc::bad_header_list, "h= lists " + std::to_string(names.size()) +
                                           " names, more than the limit of " +
                                           std::to_string(limits.max_signed_headers) +
                                           " (max_signed_headers)");
  sig.signed_headers.reserve(names.size());
  for (std::string_view n : names) {
    n = detail::trim_fws(n);
    if (n.empty()) return fail(errc::bad_header_list, "h= has an empty field name");
    for (char ch : n)
      if (ch < 0x21 || ch > 0x7e)
        return fail(errc::bad_header_list, "h= has an invalid field name");
    sig.signed_headers.emplace_back(n);
  }

  if (const auto* i = get("i")) {
    // dkim-quoted-printable (RFC 6376 §3.5): decoded before anything looks at it.
    auto v = detail::decode_dkim_qp(i->value);
    if (!v) return fail(errc::bad_auid, "i= is not valid dkim-quoted-printable (RFC 6376 §2.11)");
    std::size_t at = v->rfind('@');
    bool controls = std::any_of(v->begin(), v->end(), [](char c) {
      return (c >= 0 && c < 0x20) || c == 0x7f;
    });
    if (at == std::string::npos || controls ||
        !detail::is_dns_name(std::string_view(*v).substr(at + 1), 1))
      return fail(errc::bad_auid, "i= is not an identity of the form [local-part]@domain");
    sig.auid = std::move(*v);
  }

  if (const auto* l = get("l")) {
    sig.body_length = detail::parse_decimal(l->value, 76);
    if (!sig.body_length) return fail(errc::bad_length, "l= is not a decimal number that fits");
  }

  if (const auto* q = get("q")) {
    bool known = false;
    for (std::string_view m : detail::split(q->value, ':'))
      if (iequals(detail::trim_fws(m), "dns/txt")) known = true;
    if (!known)
      return fail(errc::unsupported_query_method,
                  "q=" + detail::quotable(q->value, 40) + " names no known query method");
  }

  if (const auto* t = get("t")) {
    sig.timestamp = detail::parse_decimal(t->value, 12);
    if (!sig.timestamp) return fail(errc::bad_timestamp, "t= is not a timestamp");
  }
  if (const auto* x = get("x")) {
    sig.expiration = detail::parse_decimal(x->value, 12);
    if (!sig.expiration) return fail(errc::bad_timestamp, "x= is not a timestamp");
    if (sig.timestamp && *sig.expiration <= *sig.timestamp)
      return fail(errc::bad_timestamp, "x= is not after t= (RFC 6376 §3.5)");
  }
  return sig;
}

}  // namespace detail
}  // namespace dkimkit
