#include "arc/arc_fields.hpp"

#include <dkimkit/message.hpp>
#include <vector>

#include "canon/header_canon.hpp"
#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"

namespace dkimkit::detail {
namespace {

// instance = 1*3DIGIT with a value of at least 1 (RFC 8617 §4.2.1).
result<unsigned> parse_instance(std::string_view v) {
  const auto n = parse_decimal(v, 3);
  if (!n || *n == 0)
    return fail(errc::tag_syntax, "i=" + quotable(v, 10) + " is not an instance from 1 to 999");
  return static_cast<unsigned>(*n);
}

// Skips CFWS (white space, line breaks and comments, nested at most 16 deep) from `pos`.
bool skip_cfws(std::string_view v, std::size_t& pos) {
  while (pos < v.size()) {
    if (is_fws(v[pos])) {
      ++pos;
    } else if (v[pos] == '(') {
      int depth = 0;
      for (; pos < v.size(); ++pos) {
        if (v[pos] == '\\') {
          if (pos + 1 < v.size()) ++pos;  // a quoted-pair; a final '\' leaves it unterminated
        } else if (v[pos] == '(') {
          if (++depth > 16) return false;
        } else if (v[pos] == ')' && --depth == 0) {
          break;
        }
      }
      if (pos >= v.size()) return false;
      ++pos;
    } else {
      break;
    }
  }
  return true;
}

struct aar_prefix {
  unsigned instance = 0;
  std::size_t rest = 0;  // where the Authentication-Results payload starts
};

// arc-info = [CFWS] "i" [CFWS] "=" [CFWS] instance [CFWS] ";" (RFC 8617 §4.1.1).
result<aar_prefix> parse_aar_prefix(std::string_view v) {
  std::size_t pos = 0;
  auto expect = [&](char c) { return skip_cfws(v, pos) && pos < v.size() && v[pos++] == c; };
  if (!expect('i') || !expect('='))
    return fail(errc::tag_missing, "the value does not start with i= (RFC 8617 §4.1.1)");
  if (!skip_cfws(v, pos)) return fail(errc::tag_syntax, "unterminated comment");
  const std::size_t start = pos;
  while (pos < v.size() && is_digit(v[pos])) ++pos;
  auto instance = parse_instance(v.substr(start, pos - start));
  if (!instance) return tl::unexpected(instance.error());
  if (!expect(';')) return fail(errc::tag_syntax, "no ';' after i= (RFC 8617 §4.1.1)");
  return aar_prefix{*instance, pos};
}

result<unsigned> tag_instance(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return tl::unexpected(tags.error());
  const tag* i = find_tag(*tags, "i");
  if (!i) return fail(errc::tag_missing, "required tag 'i' is missing");
  return parse_instance(i->value);
}

result<std::vector<tag>> tags_within(std::string_view value, const signature_limits& limits) {
  if (value.size() > limits.max_field_bytes)
    return fail(errc::signature_too_large, "the field has " + std::to_string(value.size()) +
                                               " bytes, more than " +
                                               std::to_string(limits.max_field_bytes));
  return parse_tag_list(value);
}

// A base64 body hash of the right length for `a`, for the seal's synthetic tag list.
std::string_view placeholder_body_hash(std::string_view a) {
  const auto algo = parse_algorithm(a);
  if (algo && hash_of(*algo) == hash_algorithm::sha1) return "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
}

}  // namespace

std::optional<arc_kind> arc_kind_of(std::string_view name) noexcept {
  if (iequals(name, "ARC-Authentication-Results")) return arc_kind::authentication_results;
  if (iequals(name, "ARC-Message-Signature")) return arc_kind::message_signature;
  if (iequals(name, "ARC-Seal")) return arc_kind::seal;
  return std::nullopt;
}

std::string_view arc_field_name(arc_kind k) noexcept {
  switch (k) {
    case arc_kind::authentication_results:
      return "ARC-Authentication-Results";
    case arc_kind::message_signature:
      return "ARC-Message-Signature";
    case arc_kind::seal:
      break;
  }
  return "ARC-Seal";
}

result<unsigned> arc_instance_of(arc_kind k, std::string_view value) {
  if (k != arc_kind::authentication_results) return tag_instance(value);
  auto prefix = parse_aar_prefix(value);
  if (!prefix) return tl::unexpected(prefix.error());
  return prefix->instance;
}

result<auth_results_field> parse_arc_authentication_results(std::string_view value) {
  auto prefix = parse_aar_prefix(value);
  if (!prefix) return tl::unexpected(prefix.error());
  return parse_auth_results(value.substr(prefix->rest));
}

result<signature> parse_arc_message_signature(std::string_view value,
                                              const signature_limits& limits, std::size_t& b_offset,
                                              std::size_t& b_length) {
  auto tags = tags_within(value, limits);
  if (!tags) return tl::unexpected(tags.error());
  // The DKIM parser reads the rest: v= is implied, i= is the instance, not an identity.
  std::vector<tag> synthetic{{"v", "1", 0}};
  std::string names;  // h= without empty names
  bool no_names = false;
  for (const tag& t : *tags) {
    if (t.name == "v" || t.name == "i") continue;
    if (t.name == "h") {
      if (t.value.size() > limits.max_field_bytes) continue;  // bounded by the field already
      for (std::string_view n : split(t.value, ':')) {
        n = trim_fws(n);
        if (n.empty()) continue;
        if (!names.empty()) names += ':';
        names.append(n);
      }
      no_names = names.empty();
      if (no_names) names = "from";  // parsed, then dropped below
      synthetic.push_back({"h", names, t.value_offset});
      continue;
    }
    synthetic.push_back(t);
  }
  auto sig = signature_from_tags(synthetic, limits);
  if (!sig) return sig;
  if (no_names) sig->signed_headers.clear();
  for (const std::string& n : sig->signed_headers)
    if (iequals(n, "ARC-Seal"))
      return fail(errc::bad_header_list, "h= lists ARC-Seal (RFC 8617 §4.1.2)");
  if (const auto range = find_b_value(*tags, value)) {
    b_offset = range->offset;
    b_length = range->length;
  }
  return sig;
}

result<arc_seal> parse_arc_seal(std::string_view value, const signature_limits& limits,
                                std::size_t& b_offset, std::size_t& b_length) {
  auto tags = tags_within(value, limits);
  if (!tags) return tl::unexpected(tags.error());
  for (const char* required : {"i", "a", "b", "cv", "d", "s"})
    if (!find_tag(*tags, required))
      return fail(errc::tag_missing, std::string("required tag '") + required + "' is missing");
  if (find_tag(*tags, "h"))
    return fail(errc::bad_header_list, "an ARC-Seal has no h= (RFC 8617 §4.1.3)");
  arc_seal seal;
  seal.cv = std::string(find_tag(*tags, "cv")->value);
  if (seal.cv != "none" && seal.cv != "pass" && seal.cv != "fail")
    return fail(errc::tag_syntax, "cv=" + quotable(seal.cv, 10) + " is not none, pass or fail");
  // The DKIM parser reads a=, b=, d=, s= and t=; v=, bh= and h= are stand-ins it requires.
  std::vector<tag> synthetic{{"v", "1", 0},
                             {"bh", placeholder_body_hash(find_tag(*tags, "a")->value), 0},
                             {"h", "arc-seal", 0}};
  for (const tag& t : *tags)
    if (t.name == "a" || t.name == "b" || t.name == "d" || t.name == "s" || t.name == "t")
      synthetic.push_back(t);
  auto sig = signature_from_tags(synthetic, limits);
  if (!sig) return tl::unexpected(sig.error());
  sig->body_hash.clear();
  sig->signed_headers.clear();
  seal.sig = std::move(*sig);
  if (const auto range = find_b_value(*tags, value)) {
    b_offset = range->offset;
    b_length = range->length;
  }
  return seal;
}

void canonicalize_arc_sets(std::span<const arc_set_fields> sets, std::size_t b_offset,
                           std::size_t b_length, std::string& out) {
  for (std::size_t i = 0; i < sets.size(); ++i) {
    canonicalize_header(canonicalization::relaxed, *sets[i][0], out);
    canonicalize_header(canonicalization::relaxed, *sets[i][1], out);
    if (i + 1 < sets.size()) canonicalize_header(canonicalization::relaxed, *sets[i][2], out);
  }
  if (!sets.empty())
    canonicalize_signature_field(canonicalization::relaxed, *sets.back()[2], b_offset, b_length,
                                 out);
}

}  // namespace dkimkit::detail
