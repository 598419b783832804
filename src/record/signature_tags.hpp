// parse_signature() from an already parsed tag list (the verifier parses the list once).
#pragma once

#include <vector>

#include <dkimkit/signature.hpp>

#include "tag_list/tag_list.hpp"

namespace dkimkit::detail {

// Everything parse_signature() checks after the tag-list grammar and the size limit.
[[nodiscard]] result<signature> signature_from_tags(const std::vector<tag>& tags,
                                                    const signature_limits& limits);

}  // namespace dkimkit::detail
