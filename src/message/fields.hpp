// Lenient field splitting, for reporting on messages whose header block is malformed.
#pragma once

#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>

namespace dkimkit::detail {

// Splits like parse_header_block() but skips lines that are not fields instead of failing, and
// stops at `max_fields`.
[[nodiscard]] std::vector<header_field> split_fields_lenient(std::string_view block,
                                                             std::size_t max_fields);

}  // namespace dkimkit::detail
