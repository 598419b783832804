#include "sign/signature_field.hpp"

#include <algorithm>

#include "canon/header_canon.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit::detail {

std::optional<error> from_problem(const std::vector<header_field>& fields) {
  const auto from = static_cast<std::size_t>(std::count_if(
      fields.begin(), fields.end(), [](const header_field& f) { return iequals(f.name, "From"); }));
  if (from == 0) return error{errc::no_from, "refusing to sign a message without a From field"};
  if (from > 1)
    return error{errc::multiple_from, "refusing to sign a message with " + std::to_string(from) +
                                          " From fields (RFC 6376 §8.15)"};
  return std::nullopt;
}

result<std::string> make_signature_field(std::string_view name, std::string_view first_tag,
                                         const sign_options& o,
                                         const std::vector<std::string>& defaults, algorithm algo,
                                         const body_hasher& body,
                                         const std::vector<header_field>& fields,
                                         std::uint64_t now) {
  // h=: an explicit list is used as given; the default list names each present field as often as
  // it occurs, and From once more (over-signing: no From can be added without breaking it).
  std::vector<std::string> names;
  if (o.headers) {
    for (const auto& w : *o.headers) names.push_back(lowercase(w));
  } else {
    for (const auto& w : defaults) {
      auto count = static_cast<std::size_t>(std::count_if(
          fields.begin(), fields.end(), [&](const header_field& f) { return iequals(f.name, w); }));
      if (count == 0) continue;
      if (o.oversign_from && iequals(w, "From")) ++count;
      names.insert(names.end(), count, lowercase(w));
    }
  }
  std::vector<std::string> h_pieces;  // "from:", "to:", ... for folding at colons
  for (std::size_t i = 0; i < names.size(); ++i)
    h_pieces.push_back(names[i] + (i + 1 < names.size() ? ":" : ";"));

  const std::string start = std::string(name) + ":";
  field_builder fb(start);
  fb.add(first_tag);
  fb.add("a=" + std::string(to_string(algo)) + ";");
  fb.add("c=" + std::string(to_string(o.header_canon)) + "/" +
         std::string(to_string(o.body_canon)) + ";");
  fb.add("d=" + o.sdid + ";");
  fb.add("s=" + o.selector + ";");
  if (o.auid) fb.add("i=" + encode_dkim_qp(*o.auid) + ";");  // RFC 6376 §2.11
  if (o.timestamp) fb.add("t=" + std::to_string(now) + ";");
  if (o.expire_after) fb.add("x=" + std::to_string(now + *o.expire_after) + ";");
  if (o.body_length) fb.add("l=" + std::to_string(body.canonical_length()) + ";");
  for (std::size_t i = 0; i < h_pieces.size(); ++i)
    fb.add(i == 0 ? "h=" + h_pieces[i] : h_pieces[i], i == 0);
  fb.add("bh=");
  fb.add_breakable(base64_encode(body.digest()) + ";");
  fb.add("b=", true, 8);  // never fold between "b=" and its value
  std::string unsigned_field = fb.text();

  // Hash as a verifier will: the signed fields, then this field with an empty b=.
  std::string data;
  canonicalize_signed_headers(o.header_canon, fields, names, data);
  std::string_view value = std::string_view(unsigned_field).substr(start.size());
  header_field self{unsigned_field, std::string_view(unsigned_field).substr(0, name.size()), value};
  canonicalize_signature_field(o.header_canon, self, value.size(), 0, data);
  hash_algorithm h = hash_of(algo);
  auto sig = o.key.sign_digest(h, digest(h, data));
  if (!sig) return tl::unexpected(sig.error());
  fb.add_breakable(base64_encode(*sig));
  return fb.text();
}

}  // namespace dkimkit::detail
