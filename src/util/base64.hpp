// Base64 (RFC 4648 §4) for b=, bh= and p=.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dkimkit::detail {

// Strict decoding: alphabet A-Z a-z 0-9 + /, '=' padding only at the end and only as much as the
// length calls for (none, or up to a multiple of 4). White space must be removed first.
// Padding may be omitted (RFC 6376 base64string). nullopt on any violation.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view in);
[[nodiscard]] std::string base64_encode(std::string_view in);

}  // namespace dkimkit::detail
