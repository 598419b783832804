// Fuzz target: dkimkit::normalize_line_endings, dkimkit::parse_message and
// dkimkit::parse_header_block (include/dkimkit/message.hpp), with the default limits and with
// tight ones. Checks: normalisation leaves no bare LF, is idempotent and does not depend on how
// the input is cut (the streaming normaliser, split at a point derived from the data); parsed
// fields tile the header block in order (each field, then CRLF), lie inside the buffer, have a
// non-empty name without trailing white space and a value that is everything after the colon.
#include <cstddef>
#include <cstdint>
#include <dkimkit/message.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "message/line_endings.hpp"

namespace {

using dkimkit::fuzz::check;
using dkimkit::fuzz::split_point;

std::size_t offset_in(std::string_view part, std::string_view whole) {
  return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(part.data()) -
                                  reinterpret_cast<std::uintptr_t>(whole.data()));
}

// Fields start at the beginning of `text` and follow each other separated by CRLF.
void check_fields(const std::vector<dkimkit::header_field>& fields, std::string_view text,
                  const dkimkit::header_limits& limits) {
  check(fields.size() <= limits.max_fields);
  std::size_t pos = 0;
  for (const dkimkit::header_field& f : fields) {
    check(offset_in(f.raw, text) == pos && f.raw.size() <= text.size() - pos);
    check(f.raw.size() <= limits.max_field_bytes);
    check(!f.name.empty() && f.name.data() == f.raw.data());
    check(f.name.back() != ' ' && f.name.back() != '\t');
    check(f.name.find("\r\n") == std::string_view::npos);
    const std::size_t colon = offset_in(f.value, f.raw);
    check(colon > f.name.size() && f.raw[colon - 1] == ':');
    check(f.raw.find(':') == colon - 1);
    check(colon + f.value.size() == f.raw.size());
    pos += f.raw.size();
    if (pos < text.size()) {
      check(text.substr(pos, 2) == "\r\n");
      pos += 2;
    }
  }
}

void parse(std::string_view msg, const dkimkit::header_limits& limits) {
  if (auto view = dkimkit::parse_message(msg, limits)) {
    // The body is a suffix of the message; the header block comes before it.
    check(offset_in(view->body, msg) + view->body.size() == msg.size() || view->body.empty());
    const bool empty_header = msg.substr(0, 2) == "\r\n";
    check(!empty_header || view->fields.empty());
    check_fields(view->fields, msg, limits);
    if (!view->fields.empty()) {
      const auto& last = view->fields.back().raw;
      check(offset_in(last, msg) + last.size() <= offset_in(view->body, msg) || view->body.empty());
    }
  } else {
    check(view.error().code == dkimkit::errc::malformed_header ||
          view.error().code == dkimkit::errc::header_too_large);
  }
  if (auto fields = dkimkit::parse_header_block(msg, limits)) {
    check(msg.size() <= limits.max_header_bytes);
    check_fields(*fields, msg, limits);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);

  const std::string crlf = dkimkit::normalize_line_endings(raw);
  check(crlf.size() >= raw.size());
  for (std::size_t i = 0; i < crlf.size(); ++i)
    if (crlf[i] == '\n') check(i > 0 && crlf[i - 1] == '\r');
  check(dkimkit::normalize_line_endings(crlf) == crlf);

  std::string pieces;
  dkimkit::detail::crlf_normalizer norm;
  const std::size_t cut = split_point(raw);
  auto sink = [&](std::string_view p) { pieces.append(p); };
  norm.update(raw.substr(0, cut), sink);
  norm.update(raw.substr(cut), sink);
  check(pieces == crlf);

  const dkimkit::header_limits defaults;
  const dkimkit::header_limits tight{
      .max_header_bytes = 2048, .max_field_bytes = 256, .max_fields = 8};
  parse(raw, defaults);
  parse(crlf, defaults);
  parse(crlf, tight);
  return 0;
}
