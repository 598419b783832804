#include "message/reader.hpp"

#include <cstddef>

namespace dkimkit::detail {
namespace {

// Where "\r\n\r\n" starts in `before` + `piece`, relative to the start of `piece` (so possibly
// negative, down to -before.size()); `before` holds at most 3 bytes. Never copies `piece`.
std::optional<std::ptrdiff_t> find_end(std::string_view before, std::string_view piece) {
  std::string probe(before);
  probe.append(piece.substr(0, 3));
  std::size_t q = probe.find("\r\n\r\n");
  if (q != std::string::npos)
    return static_cast<std::ptrdiff_t>(q) - static_cast<std::ptrdiff_t>(before.size());
  std::size_t p = piece.find("\r\n\r\n");
  if (p != std::string_view::npos) return static_cast<std::ptrdiff_t>(p);
  return std::nullopt;
}

std::string_view last3(std::string_view s) { return s.substr(s.size() >= 3 ? s.size() - 3 : 0); }

}  // namespace

std::optional<std::size_t> header_reader::feed(std::string_view piece) {
  if (piece.empty()) return std::nullopt;
  if (overflow_) {
    auto end = find_end(tail_, piece);
    if (end) return static_cast<std::size_t>(*end + 4);
    std::string t = tail_;
    t.append(last3(piece));
    tail_ = std::string(last3(t));
    return std::nullopt;
  }
  const std::size_t old = header_.size();
  // A message that starts with the empty line has no header fields.
  if (old == 0 && piece.substr(0, 2) == "\r\n") return 2;
  if (old == 1 && header_[0] == '\r' && piece[0] == '\n') {
    header_.clear();
    return 1;
  }
  auto end = find_end(last3(header_), piece);
  if (end) {
    // The block is everything up to and including the CRLF that ends the last field.
    std::ptrdiff_t block_end = static_cast<std::ptrdiff_t>(old) + *end + 2;
    auto block_len = static_cast<std::size_t>(block_end);
    if (block_len > cap_) {
      overflow_ = true;
      if (cap_ > old) header_.append(piece.substr(0, cap_ - old));
      if (header_.size() > cap_) header_.resize(cap_);
    } else if (block_len >= old) {
      header_.append(piece.substr(0, block_len - old));
    } else {
      header_.resize(block_len);
    }
    return static_cast<std::size_t>(*end + 4);
  }
  // Up to 3 bytes past the limit may be the start of the empty line that ends a block which
  // fits: keep them until the next piece tells. With cap_ + 3 bytes and no end in them, the block
  // is longer than cap_.
  if (old + piece.size() <= cap_ + 3) {
    header_.append(piece);
    return std::nullopt;
  }
  overflow_ = true;
  if (cap_ > old) header_.append(piece.substr(0, cap_ - old));
  if (header_.size() > cap_) header_.resize(cap_);
  std::string t(last3(header_));
  t.append(last3(piece));
  tail_ = std::string(last3(t));
  return std::nullopt;
}

void header_reader::add_field(std::string_view raw_field) {
  if (overflow_ || header_.size() + raw_field.size() + 2 > cap_) {
    overflow_ = true;
    return;
  }
  header_.append(raw_field);
  header_.append("\r\n", 2);
}

}  // namespace dkimkit::detail
