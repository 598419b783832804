// Body canonicalization (RFC 6376 §3.4.3, §3.4.4) as a streaming state machine.
// Input is CRLF-normalised body bytes in chunks of any size; output is appended to `out`. With
// line_ends::crlf_or_bare_lf a bare LF (one not after a CR) is a line end too, as CRLF is: the
// output is then that of the input with bare LFs made CRLF (message/line_endings.hpp) first, so
// LF-only bodies need no normalising copy. (With line_ends::crlf a bare LF is content.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <dkimkit/signature.hpp>

namespace dkimkit::detail {

enum class line_ends { crlf, crlf_or_bare_lf };

class body_canonicalizer {
 public:
  explicit body_canonicalizer(canonicalization c, line_ends ends = line_ends::crlf) noexcept
      : relaxed_(c == canonicalization::relaxed), lf_mode_(ends == line_ends::crlf_or_bare_lf) {}
  void update(std::string_view in, std::string& out);
  // The same output written at the start of `buf` instead, its length returned; `buf` may keep
  // bytes beyond it (a buffer reused between calls is not cleared and refilled with zeros).
  [[nodiscard]] std::size_t update_into(std::string_view in, std::string& buf);
  // Ends the body: trailing empty lines are dropped; simple adds CRLF to a body that does not end
  // in one (and makes an empty body "CRLF"); relaxed leaves an empty body empty.
  void finish(std::string& out);

 private:
  void flush_held(std::string& out) {
    for (; held_crlf_ > 0; --held_crlf_) out.append("\r\n", 2);
  }
  void update_simple(std::string_view in, std::string& out);
  // Appends to `out`, or with `overwrite` writes from its start; returns the bytes written then.
  std::size_t update_relaxed(std::string_view in, std::string& out, bool overwrite);

  bool relaxed_;
  bool lf_mode_;                 // a bare LF ends a line
  bool cr_pending_ = false;      // a CR was seen last; its meaning depends on the next byte
  bool wsp_pending_ = false;     // relaxed: a run of WSP awaits the next content byte
  bool had_output_ = false;      // relaxed: some content was emitted
  std::uint64_t held_crlf_ = 0;  // CRLFs held back: they may be trailing empty lines
};

// The whole canonical form of a CRLF-normalised body (or, with crlf_or_bare_lf, of any body).
[[nodiscard]] std::string canonical_body(canonicalization c, std::string_view body,
                                         line_ends ends = line_ends::crlf);

}  // namespace dkimkit::detail
