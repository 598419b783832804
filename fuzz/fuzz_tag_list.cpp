// Fuzz target: dkimkit::detail::parse_tag_list, the tag-list grammar (RFC 6376 §3.2) that
// DKIM-Signature fields and key records share. Besides memory safety it checks what the header
// promises: at most 128 tags, unique names, views and value offsets inside the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "tag_list/tag_list.hpp"

namespace {

using dkimkit::fuzz::check;

// Whether `part` lies within `whole` (both views of the same buffer or unrelated).
bool inside(std::string_view part, std::string_view whole) {
  const auto begin = reinterpret_cast<std::uintptr_t>(whole.data());
  const auto p = reinterpret_cast<std::uintptr_t>(part.data());
  return part.empty() ||
         (p >= begin && p - begin <= whole.size() && part.size() <= whole.size() - (p - begin));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto tags = dkimkit::detail::parse_tag_list(text);
  if (!tags) {
    check(!tags.error().detail.empty());
    return 0;
  }
  check(!tags->empty() && tags->size() <= 128);
  for (const dkimkit::detail::tag& t : *tags) {
    check(!t.name.empty() && inside(t.name, text) && inside(t.value, text));
    check(t.value_offset <= size && t.value.size() <= size - t.value_offset);
    check(text.substr(t.value_offset, t.value.size()) == t.value);
    check(dkimkit::detail::find_tag(*tags, t.name) == &t);  // names are unique
  }
  check(dkimkit::detail::find_tag(*tags, std::string_view("\x01", 1)) == nullptr);
  return 0;
}
