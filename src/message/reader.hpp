// Splits a CRLF-normalised byte stream into the header block (buffered, bounded) and the body
// (passed on). Shared by the streaming verifier and signer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dkimkit::detail {

class header_reader {
 public:
  explicit header_reader(std::size_t max_header_bytes) : cap_(max_header_bytes) {}

  // Feeds normalised bytes while the header block lasts. Returns nullopt while the header goes on;
  // once the empty line that ends it is seen, returns the offset in `piece` where the body starts.
  std::optional<std::size_t> feed(std::string_view piece);
  // Milter style: one whole field without its line ending (normalised by the caller).
  void add_field(std::string_view raw_field);

  // The header block: fields each ending in CRLF, without the empty line. Truncated at the limit.
  [[nodiscard]] std::string_view block() const noexcept { return header_; }
  [[nodiscard]] bool overflow() const noexcept { return overflow_; }

 private:
  std::size_t cap_;
  std::string header_;
  std::string tail_;  // the last bytes seen once over the limit
  bool overflow_ = false;
};

}  // namespace dkimkit::detail
