#include <dkimkit/message.hpp>

#include <algorithm>
#include <string>

#include "message/fields.hpp"
#include "util/strings.hpp"

namespace dkimkit {

result<std::vector<header_field>> parse_header_block(std::string_view block,
                                                     const header_limits& limits) {
  if (block.size() > limits.max_header_bytes)
    return fail(errc::header_too_large, "header block of " + std::to_string(block.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(limits.max_header_bytes) +
                                            " (max_header_bytes)");
  std::vector<header_field> fields;
  fields.reserve(std::min<std::size_t>(32, limits.max_fields));  // a usual header without growing
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < block.size()) {
    ++line_no;
    // A field runs until a CRLF that is not followed by WSP.
    std::size_t start = pos;
    if (detail::is_wsp(block[start]))
      return fail(errc::malformed_header,
                  "line " + std::to_string(line_no) + " is a continuation line with no field");
    std::size_t end = start;
    for (;;) {
      std::size_t crlf = block.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = block.size();
        pos = end;
        break;
      }
      if (crlf + 2 < block.size() && detail::is_wsp(block[crlf + 2])) {
        end = crlf + 2;
        ++line_no;
        continue;
      }
      end = crlf;
      pos = crlf + 2;
      break;
    }
    std::string_view raw = block.substr(start, end - start);
    if (raw.size() > limits.max_field_bytes)
      return fail(errc::header_too_large, "a header field of " + std::to_string(raw.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(limits.max_field_bytes) +
                                              " (max_field_bytes)");
    std::size_t colon = raw.find(':');
    std::size_t bad_break = raw.find("\r\n");
    if (colon == std::string_view::npos || (bad_break != std::string_view::npos && bad_break < colon))
      return fail(errc::malformed_header,
                  "line " + std::to_string(line_no) + " is not a header field (no colon)");
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && detail::is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty())
      return fail(errc::malformed_header,
                  "line " + std::to_string(line_no) + " has an empty field name");
    if (fields.size() >= limits.max_fields)
      return fail(errc::header_too_large,
                  "more than " + std::to_string(limits.max_fields) +
                      " header fields (max_fields)");
    fields.push_back(header_field{raw, name, raw.substr(colon + 1)});
  }
  return fields;
}

result<message_view> parse_message(std::string_view msg, const header_limits& limits) {
  message_view view;
  std::string_view header;
  if (msg.substr(0, 2) == "\r\n") {
    view.body = msg.substr(2);
  } else {
    std::size_t end = msg.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      header = msg;
    } else {
      header = msg.substr(0, end + 2);
      view.body = msg.substr(end + 4);
    }
  }
  auto fields = parse_header_block(header, limits);
  if (!fields) return tl::unexpected(fields.error());
  view.fields = std::move(*fields);
  return view;
}

}  // namespace dkimkit

namespace dkimkit::detail {

std::vector<header_field> split_fields_lenient(std::string_view block, std::size_t max_fields) {
  std::vector<header_field> fields;
  std::size_t pos = 0;
  while (pos < block.size() && fields.size() < max_fields) {
    std::size_t start = pos;
    std::size_t end = start;
    for (;;) {
      std::size_t crlf = block.find("\r\n", end);
      if (crlf == std::string_view::npos) {
        end = pos = block.size();
        break;
      }
      if (crlf + 2 < block.size() && is_wsp(block[crlf + 2])) {
        end = crlf + 2;
        continue;
      }
      end = crlf;
      pos = crlf + 2;
      break;
    }
    std::string_view raw = block.substr(start, end - start);
    if (raw.empty() || is_wsp(raw.front())) continue;
    std::size_t colon = raw.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty() || name.find("\r\n") != std::string_view::npos) continue;
    fields.push_back(header_field{raw, name, raw.substr(colon + 1)});
  }
  return fields;
}

}  // namespace dkimkit::detail
