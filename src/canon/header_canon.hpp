// Header canonicalization (RFC 6376 §3.4.1, §3.4.2) and header selection (§5.4.2).
//
//   const detail::header_index index(view->fields);  // once per message
//   for (const signature& s : sigs)                   // then for each signature
//     detail::canonicalize_signed_headers(s.header_canon, index, s.signed_headers, data);
//
// Lifetime: a header_index refers to the vector of fields it was built from and reads their
// names: it is valid while that vector and the message buffer live and are unchanged.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>

namespace dkimkit::detail {

// Appends the canonical form of one field followed by CRLF.
void canonicalize_header(canonicalization c, const header_field& f, std::string& out);

// The fields of one message grouped by name (ASCII case-insensitively), each group bottom
// first, for header selection (§5.4.2). Built once per message: each name lowercased once, then
// sorted (O(F log F) comparisons of lowercased names). Shared by all the message's signatures:
// selecting N names costs O(N log F) comparisons, never a scan of all fields per name (at most
// 2000 fields, 1024 names per h=; issue 11). Sorted rather than hashed, so that no choice of
// names makes a lookup slower (no hash collisions to craft).
class header_index {
 public:
  explicit header_index(const std::vector<header_field>& fields);
  header_index(std::vector<header_field>&&) = delete;  // would dangle

  [[nodiscard]] const std::vector<header_field>& fields() const noexcept { return *fields_; }
  // The number of distinct names.
  [[nodiscard]] std::size_t name_count() const noexcept { return starts_.size() - 1; }
  // The group of `name` (0 .. name_count() - 1), or name_count() when no field has that name.
  [[nodiscard]] std::size_t find(std::string_view name) const;
  // The positions in fields() of the fields of group `group`, bottom first.
  [[nodiscard]] std::span<const std::size_t> instances(std::size_t group) const noexcept;

 private:
  // The name of group `group`, lowercased.
  [[nodiscard]] std::string_view key(std::size_t group) const noexcept;

  const std::vector<header_field>* fields_;
  std::string lower_;                 // the field names lowercased, one after another
  std::vector<std::size_t> order_;    // field positions by name, each name's bottom first
  std::vector<std::size_t> starts_;   // where each group starts in order_, then order_.size()
  std::vector<std::size_t> offsets_;  // where each group's name starts in lower_
};

// Appends, for each name in `names` (in order), the canonical form of the next instance of that
// field counted from the bottom of the header; a name listed more often than it occurs adds
// nothing (over-signing). The cursors are this call's own: `index` is not changed.
void canonicalize_signed_headers(canonicalization c, const header_index& index,
                                 const std::vector<std::string>& names, std::string& out);

// The same, building the index for this one call (one signature; a message with several
// signatures should build one header_index and pass it to each).
void canonicalize_signed_headers(canonicalization c, const std::vector<header_field>& fields,
                                 const std::vector<std::string>& names, std::string& out);

// The DKIM-Signature field with the value of its b= tag removed (from after "b=" to the end of the
// value), canonicalized, without the final CRLF (§3.7). `b_offset`/`b_length` locate the b= value
// inside `field.value`.
void canonicalize_signature_field(canonicalization c, const header_field& field,
                                  std::size_t b_offset, std::size_t b_length, std::string& out);

}  // namespace dkimkit::detail
