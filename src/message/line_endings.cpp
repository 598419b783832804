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

}  // namespace dkimkit
