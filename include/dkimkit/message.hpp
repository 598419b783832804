// dkimkit/message.hpp: a parsed view of an RFC 5322 message: its header fields and its body.
//
//   std::string msg = dkimkit::normalize_line_endings(raw);   // bare LF -> CRLF
//   auto view = dkimkit::parse_message(msg);
//   if (view) for (auto& f : view->fields) std::cout << f.name << "\n";
//
// Lifetime: every string_view in a message_view points into the string given to parse_message()
// and is valid while that buffer lives and is not modified.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/error.hpp>

namespace dkimkit {

struct header_field {
  std::string_view raw;    // the whole field as in the message: name, colon, value, folding CRLFs
                           // included; no final CRLF
  std::string_view name;   // the field name, without white space before the colon
  std::string_view value;  // everything after the colon, unmodified
};

struct message_view {
  std::vector<header_field> fields;  // in message order, topmost first
  std::string_view body;             // after the empty line that ends the header block
};

// Limits on the header block; reaching one makes parse_message() fail with header_too_large.
struct header_limits {
  std::size_t max_header_bytes = 1024 * 1024;  // the whole header block
  std::size_t max_field_bytes = 256 * 1024;    // one field, folding included
  std::size_t max_fields = 2000;               // number of fields
};

// Bare LF becomes CRLF; CRLF and a lone CR are kept as they are. Verifiers and signers hash the
// result, so a message stored with Unix line endings verifies like the one that was sent.
[[nodiscard]] std::string normalize_line_endings(std::string_view raw);

enum class line_ending { crlf, lf };

// A field as the library makes it, folded with CRLF (the signer's at 78 columns where the content
// allows, format_auth_results()'s before each result) with the line ending wanted: LF for a
// milter's smfi_insheader() or a file with Unix line endings. Each CRLF becomes LF; nothing else
// changes (a lone CR or LF stays). The value of a field without its name for a milter:
//   dkimkit::with_line_endings(field.substr(name.size() + 1), dkimkit::line_ending::lf)
[[nodiscard]] std::string with_line_endings(std::string_view crlf_text, line_ending ending);

// Splits a CRLF message into fields and body. A message that ends inside its header block has an
// empty body. Fails with malformed_header on a line without a colon or a continuation line first,
// and with header_too_large when a limit is reached.
[[nodiscard]] result<message_view> parse_message(std::string_view crlf_message,
                                                 const header_limits& limits = {});

// Splits a CRLF header block (fields, each ending in CRLF, no empty line) into fields.
[[nodiscard]] result<std::vector<header_field>> parse_header_block(
    std::string_view block, const header_limits& limits = {});

// Case-insensitive ASCII comparison of field names.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace dkimkit
