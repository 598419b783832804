#include "tag_list/tag_list.hpp"

#include <string>

#include "util/strings.hpp"

namespace dkimkit::detail {
namespace {

constexpr std::size_t kMaxTags = 128;

bool is_valchar(char c) noexcept { return c >= 0x21 && c <= 0x7e && c != ';'; }
bool is_alnumpunc(char c) noexcept { return is_alpha(c) || is_digit(c) || c == '_'; }

// A CR must be followed by LF and then WSP (a fold); a bare LF likewise (LF-only input that was
// not normalised). Returns false on a line break that is not a fold.
bool folds_ok(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return false;
    } else if (s[i] == '\n') {
      if (i + 1 >= s.size() || !is_wsp(s[i + 1])) return false;
    }
  }
  return true;
}

std::string describe(char c) {
  if (c >= 0x21 && c <= 0x7e) return std::string("'") + c + "'";
  static const char hex[] = "0123456789ABCDEF";
  auto u = static_cast<unsigned char>(c);
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

}  // namespace

result<std::vector<tag>> parse_tag_list(std::string_view text) {
  std::vector<tag> tags;
  tags.reserve(16);  // a DKIM-Signature's usual tags without growing
  std::size_t pos = 0;
  const std::size_t n = text.size();
  for (;;) {
    std::size_t end = text.find(';', pos);
    bool last = end == std::string_view::npos;
    if (last) end = n;
    std::string_view spec = text.substr(pos, end - pos);
    if (!folds_ok(spec)) return fail(errc::tag_syntax, "line break that is not folding white space");
    std::string_view trimmed = trim_fws(spec);
    if (trimmed.empty()) {
      // Only the final, optional ";" may leave an empty spec, and the list must not be empty.
      if (last && !tags.empty()) return tags;
      if (last) return fail(errc::tag_syntax, "empty tag list");
      return fail(errc::tag_syntax, "empty tag between semicolons");
    }
    std::size_t eq = trimmed.find('=');
    if (eq == std::string_view::npos)
      return fail(errc::tag_syntax, "tag without '=': '" + std::string(trimmed.substr(0, 40)) + "'");
    std::string_view name = trim_fws(trimmed.substr(0, eq));
    if (name.empty() || !is_alpha(name.front()))
      return fail(errc::tag_syntax, "bad tag name '" + std::string(name.substr(0, 40)) + "'");
    for (char c : name)
      if (!is_alnumpunc(c))
        return fail(errc::tag_syntax, "bad tag name '" + std::string(name.substr(0, 40)) + "'");
    std::string_view value = trim_fws(trimmed.substr(eq + 1));
    for (char c : value)
      if (!is_valchar(c) && !is_fws(c))
        return fail(errc::tag_syntax,
                    "tag '" + std::string(name) + "' has an invalid " + describe(c));
    if (tags.size() >= kMaxTags)
      return fail(errc::tag_syntax, "more than " + std::to_string(kMaxTags) + " tags");
    for (const tag& t : tags)
      if (t.name == name)
        return fail(errc::tag_duplicate, "tag '" + std::string(name) + "' appears twice");
    std::size_t offset = value.empty() ? static_cast<std::size_t>(trimmed.data() + eq + 1 - text.data())
                                       : static_cast<std::size_t>(value.data() - text.data());
    tags.push_back(tag{name, value, offset});
    if (last) return tags;
    pos = end + 1;
  }
}

const tag* find_tag(const std::vector<tag>& tags, std::string_view name) noexcept {
  for (const tag& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace dkimkit::detail
