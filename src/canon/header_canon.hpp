// Header canonicalization (RFC 6376 §3.4.1, §3.4.2) and header selection (§5.4.2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit::detail {

// Appends the canonical form of one field followed by CRLF.
void canonicalize_header(canonicalization c, const header_field& f, std::string& out);

// Appends, for each name in `names` (in order), the canonical form of the next instance of that
// field counted from the bottom of the header; a name listed more often than it occurs adds
// nothing (over-signing).
void canonicalize_signed_headers(canonicalization c, const std::vector<header_field>& fields,
                                 const std::vector<std::string>& names, std::string& out);

// The DKIM-Signature field with the value of its b= tag removed (from after "b=" to the end of the
// value), canonicalized, without the final CRLF (§3.7). `b_offset`/`b_length` locate the b= value
// inside `field.value`.
void canonicalize_signature_field(canonicalization c, const header_field& field,
                                  std::size_t b_offset, std::size_t b_length, std::string& out);

}  // namespace dkimkit::detail
