// Streaming line-ending normalisation: bare LF becomes CRLF; CRLF and a lone CR stay as they are.
#pragma once

#include <string>
#include <string_view>

namespace dkimkit::detail {

class crlf_normalizer {
 public:
  // Calls sink(std::string_view) with normalised pieces; runs that need no change are passed
  // through without copying. Chunk boundaries never change the concatenated output.
  template <class Sink>
  void update(std::string_view chunk, Sink&& sink) {
    std::size_t start = 0;
    std::size_t pos = 0;
    while ((pos = chunk.find('\n', pos)) != std::string_view::npos) {
      bool cr_before = pos > 0 ? chunk[pos - 1] == '\r' : prev_cr_;
      if (!cr_before) {
        if (pos > start) sink(chunk.substr(start, pos - start));
        sink(std::string_view("\r\n", 2));
        start = pos + 1;
      }
      ++pos;
    }
    if (start < chunk.size()) sink(chunk.substr(start));
    if (!chunk.empty()) prev_cr_ = chunk.back() == '\r';
  }

 private:
  bool prev_cr_ = false;
};

}  // namespace dkimkit::detail
