// The signature field the signer writes (RFC 6376 §3.5), shared with the ARC sealer, which writes
// the same field as ARC-Message-Signature (RFC 8617 §4.1.2); and the folding both use.
#pragma once

#include <cstdint>
#include <dkimkit/error.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signer.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canon/body_hasher.hpp"

namespace dkimkit::detail {

inline constexpr std::size_t kMaxLine = 78;

// Builds a folded field: pieces are appended with a space, and a fold (CRLF TAB) is put before a
// piece that would take the line past kMaxLine.
class field_builder {
 public:
  explicit field_builder(std::string_view start) : text_(start), col_(start.size()) {}
  // `room`: how much must fit on the line after the piece (to keep "b=" with its value).
  void add(std::string_view piece, bool space = true, std::size_t room = 0) {
    std::size_t need = piece.size() + (space ? 1 : 0) + room;
    if (col_ + need > kMaxLine && col_ > 1) {
      text_ += "\r\n\t";
      col_ = 1;
    } else if (space) {
      text_ += ' ';
      ++col_;
    }
    text_ += piece;
    col_ += piece.size();
  }
  // Appends `data` with folds anywhere, so that no line passes kMaxLine (for base64).
  void add_breakable(std::string_view data) {
    while (!data.empty()) {
      if (col_ >= kMaxLine) {
        text_ += "\r\n\t";
        col_ = 1;
      }
      std::size_t take = std::min(data.size(), kMaxLine - col_);
      text_.append(data.substr(0, take));
      col_ += take;
      data.remove_prefix(take);
    }
  }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::size_t col_;
};

// Why a message with these fields may not be signed for its From (RFC 6376 §8.15): no From field
// (no_from) or more than one (multiple_from); nullopt with exactly one.
[[nodiscard]] std::optional<error> from_problem(const std::vector<header_field>& fields);

// The field `name` ("DKIM-Signature", "ARC-Message-Signature") signing `fields` (h= from
// o.headers, or else `defaults`: those present, as often as present, From once more when
// o.oversign_from) and the body hashed in `body`, with the tags of `o` after `first_tag` ("v=1;"
// for DKIM, "i=N;" for an AMS); folded with CRLF, no final CRLF.
[[nodiscard]] result<std::string> make_signature_field(
    std::string_view name, std::string_view first_tag, const sign_options& o,
    const std::vector<std::string>& defaults, algorithm algo, const body_hasher& body,
    const std::vector<header_field>& fields, std::uint64_t now);

}  // namespace dkimkit::detail
