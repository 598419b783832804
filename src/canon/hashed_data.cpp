#include <dkimkit/canon.hpp>

#include "canon/body_canon.hpp"
#include "canon/header_canon.hpp"
#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"

namespace dkimkit {

result<hash_input> hashed_data(std::string_view message, std::size_t signature_number,
                               const header_limits& header, const signature_limits& limits) {
  const std::string msg = normalize_line_endings(message);
  auto view = parse_message(msg, header);
  if (!view)
    return fail(view.error().code,
                "the message does not parse" +
                    (view.error().detail.empty() ? std::string() : ": " + view.error().detail));
  hash_input out;
  const header_field* field = nullptr;
  for (std::size_t i = 0; i < view->fields.size(); ++i) {
    if (!iequals(view->fields[i].name, "DKIM-Signature")) continue;
    if (out.signature_count == signature_number) {
      field = &view->fields[i];
      out.field_index = i;
    }
    ++out.signature_count;
  }
  if (!field)
    return fail(
        errc::invalid_argument,
        "no DKIM-Signature number " + std::to_string(signature_number + 1) + ": the message has " +
            std::to_string(out.signature_count) +
            (out.signature_count == 1 ? " DKIM-Signature field" : " DKIM-Signature fields"));
  const std::string which = "DKIM-Signature " + std::to_string(signature_number + 1) + ": ";

  // As the verifier parses it: the size limit, the tag list once, then the tags.
  auto named = [&](const error& e) {
    return fail(e.code, which + (e.detail.empty() ? std::string(to_string(e.code)) : e.detail));
  };
  if (field->value.size() > limits.max_field_bytes)  // parse_signature() reports the limit
    return named(parse_signature(field->value, limits).error());
  auto tags = detail::parse_tag_list(field->value);
  if (!tags) return named(tags.error());
  auto sig = detail::signature_from_tags(*tags, limits);
  if (!sig) return named(sig.error());
  const auto b = detail::find_b_value(*tags, field->value);
  if (!b) return named(error{errc::tag_missing, "no 'b' tag"});  // signature_from_tags checks it

  out.header_canon = sig->header_canon;
  out.body_canon = sig->body_canon;
  out.hash = hash_of(sig->algo);
  out.body_length = sig->body_length;
  out.body_hash = std::move(sig->body_hash);

  // The header hash input, as verifier::state::finish() builds it.
  const detail::header_index index(view->fields);
  detail::canonicalize_signed_headers(sig->header_canon, index, sig->signed_headers, out.header);
  detail::canonicalize_signature_field(sig->header_canon, *field, b->offset, b->length, out.header);

  // The body, as detail::body_hasher canonicalizes it, cut where it stops hashing.
  out.body = detail::canonical_body(sig->body_canon, view->body);
  out.body_length_total = out.body.size();
  if (out.body_length && *out.body_length < out.body_length_total)
    out.body.resize(static_cast<std::size_t>(*out.body_length));
  return out;
}

}  // namespace dkimkit
