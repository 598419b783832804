// dkimkit/changes.hpp: what changed between the copy of a message as sent and the copy as
// received, as one DKIM-Signature of the received copy hashes them (RFC 6376 §3.7): the signed
// header fields that differ and the first differing lines of the canonical body.
//
//   auto c = dkimkit::compare_copies(sent, received, 0);  // the topmost DKIM-Signature
//   if (c) for (auto& h : c->headers) std::cout << h.field << " changed\n";
//   else std::cerr << c.error().message() << "\n";
//
// A copy_changes owns its strings; it does not point into either message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <dkimkit/error.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

// One signed header field instance that differs between the copies.
struct header_change {
  std::string field;         // the name as h= lists it
  std::size_t instance = 0;  // which instance of that name, counted from the bottom (0: the last)
  // The field canonicalized as the signature's c= does, without the final CRLF; nullopt when the
  // copy has no such instance.
  std::optional<std::string> sent, received;
  // The field is the same under relaxed header canonicalization (only meaningful under c=simple:
  // relaxed would have tolerated this change).
  bool relaxed_equal = false;
};

// One line of the differing region of the canonical bodies: line `line` (1-based; the region
// starts at the same line number in both copies) of each copy, without its CRLF.
struct body_line_change {
  std::uint64_t line = 0;
  std::optional<std::string> sent, received;  // nullopt: the copy's region has no such line
  bool sent_clipped = false, received_clipped = false;  // cut at change_limits::max_line_bytes
  bool sent_unterminated = false, received_unterminated = false;  // no CRLF (l= cut the line)
};

struct body_changes {
  bool differs = false;
  // The first difference: from line `first_line` on, `sent_lines` lines of the sent copy stand
  // where the received copy has `received_lines`, up to the next line both have again (a common
  // prefix and suffix of whole lines left out), as one unified-diff hunk
  // "@@ -first_line,sent_lines +first_line,received_lines @@".
  std::uint64_t first_line = 0, sent_lines = 0, received_lines = 0;
  // The first lines of that hunk, paired by position; at most change_limits::max_body_lines.
  std::vector<body_line_change> lines;
  bool truncated = false;         // the hunk has more lines than `lines` shows
  bool more_differences = false;  // after the hunk, the bodies differ again (not reported)
  // The bodies differ, but the whole bodies are the same under relaxed body canonicalization
  // (white space only): a signature with c=.../relaxed would have tolerated the change.
  bool relaxed_equal = false;
  std::uint64_t sent_bytes = 0, received_bytes = 0;  // canonical body bytes compared (up to l=)
};

struct copy_changes {
  std::size_t signature_number = 0;  // the DKIM-Signature of the received copy (0: the topmost)
  canonicalization header_canon = canonicalization::simple;
  canonicalization body_canon = canonicalization::simple;
  std::optional<std::uint64_t> body_length;  // l=
  // In h= order; then the DKIM-Signature field itself (b= emptied), when the sent copy carries the
  // same signature (the same b=) and the field changed.
  std::vector<header_change> headers;
  body_changes body;

  [[nodiscard]] bool unchanged() const noexcept { return headers.empty() && !body.differs; }
  // Every header change is one relaxed header canonicalization tolerates (false when none).
  [[nodiscard]] bool headers_relaxed_equal() const noexcept;
};

struct change_limits {
  std::size_t max_body_lines = 10;    // lines of the differing body region reported
  std::size_t max_line_bytes = 1000;  // bytes of one body line reported
  // Lines of each copy searched for the end of the first difference; past them the hunk runs to
  // the common suffix.
  std::size_t max_resync_lines = 1000;
};

// Compares `sent` with `received` as DKIM-Signature number `signature_number` (0-based, counting
// from the top) of `received` hashes them: that signature's h=, c= and l= are applied to both
// copies (`sent` need not be signed). Header fields are selected as RFC 6376 §5.4.2 selects them
// (bottom-up); a name in h= that neither copy has is no change (over-signing). When `sent` carries
// the same signature (the same b=), the signature's own field is compared too. The bodies are
// compared in time linear in their size. Line endings are normalized first (bare LF becomes CRLF).
// Fails as hashed_data(received, signature_number) fails, or with the error of parse_message()
// when `sent` does not parse (detail says it is the sent copy).
[[nodiscard]] result<copy_changes> compare_copies(std::string_view sent, std::string_view received,
                                                  std::size_t signature_number,
                                                  const change_limits& limits = {},
                                                  const header_limits& header = {},
                                                  const signature_limits& signature = {});

}  // namespace dkimkit
