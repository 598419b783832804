// The tag-list grammar of RFC 6376 §3.2, shared by DKIM-Signature fields and key records.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>

namespace dkimkit::detail {

struct tag {
  std::string_view name;   // case-sensitive
  std::string_view value;  // without surrounding FWS; inner FWS kept
  std::size_t value_offset = 0;  // offset of value within the parsed text
};

// tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
// tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
// tag-name = ALPHA *ALNUMPUNC; tag-value = [ tval *( 1*(WSP / FWS) tval ) ]; tval = 1*VALCHAR
// VALCHAR = %x21-3A / %x3C-7E. At most 128 tags. Fails with tag_syntax (naming the problem) or tag_duplicate.
// Views point into `text`.
[[nodiscard]] result<std::vector<tag>> parse_tag_list(std::string_view text);

// The tag named `name`, or nullptr.
[[nodiscard]] const tag* find_tag(const std::vector<tag>& tags, std::string_view name) noexcept;

}  // namespace dkimkit::detail
