#include "message/line_endings.hpp"

#include <dkimkit/message.hpp>

namespace dkimkit {

std::string normalize_line_endings(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() + raw.size() / 32);
  detail::crlf_normalizer n;
  n.update(raw, [&](std::string_view piece) { out.append(piece); });
  return out;
}

std::string with_line_endings(std::string_view crlf_text, line_ending ending) {
  if (ending == line_ending::crlf) return std::string(crlf_text);
  std::string out;
  out.reserve(crlf_text.size());
  for (std::size_t i = 0; i < crlf_text.size(); ++i) {
    if (crlf_text[i] == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') continue;
    out += crlf_text[i];
  }
  return out;
}

}  // namespace dkimkit
