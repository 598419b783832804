// parse_signature() from an already parsed tag list (the verifier parses the list once).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include <dkimkit/signature.hpp>

#include "tag_list/tag_list.hpp"

namespace dkimkit::detail {

// Everything parse_signature() checks after the tag-list grammar and the size limit.
[[nodiscard]] result<signature> signature_from_tags(const std::vector<tag>& tags,
                                                    const signature_limits& limits);

// Where the b= value lies in the field value `value` that `tags` was parsed from: from just after
// "=" (FWS before the value included) to the end of the value (RFC 6376 §3.7, as dkimpy does).
// The header hash input is the field with this range removed. nullopt when there is no b= tag.
struct b_value_range {
  std::size_t offset = 0;
  std::size_t length = 0;
};
[[nodiscard]] std::optional<b_value_range> find_b_value(const std::vector<tag>& tags,
                                                        std::string_view value);

}  // namespace dkimkit::detail
