// Streaming line-ending normalisation: bare LF becomes CRLF; CRLF and a lone CR stay as they are.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dkimkit::detail {

class crlf_normalizer {
 public:
  // Calls sink(std::string_view) with normalised pieces: a chunk that needs no change is passed
  // through without copying; one with bare LFs is copied, CRs inserted, into a small buffer
  // reused between calls (kSlice bytes: a message's normalizer stays small), and passed on a
  // buffer full at a time rather than a line at a time. Chunk boundaries never change the
  // concatenated output.
  template <class Sink>
  void update(std::string_view chunk, Sink&& sink) {
    if (chunk.empty()) return;
    const char* const d = chunk.data();
    const std::size_t n = chunk.size();
    std::size_t pos = first_bare_lf(d, n);
    prev_cr_ = d[n - 1] == '\r';
    if (pos == n) {
      sink(chunk);
      return;
    }
    if (buf_.size() != kSlice) buf_.resize(kSlice);
    std::size_t used = 0, start = 0;
    auto put = [&](const char* p, std::size_t len) {
      if (kSlice - used < len) {
        if (used > 0) sink(std::string_view(buf_.data(), used));
        used = 0;
        if (len > kSlice) {  // a long line: passed on as it is
          sink(std::string_view(p, len));
          return;
        }
      }
      std::memcpy(buf_.data() + used, p, len);
      used += len;
    };
    while (pos < n) {  // d[pos] is a bare LF
      put(d + start, pos - start);
      put("\r\n", 2);
      start = pos + 1;
      pos = start + next_bare_lf(d + start, n - start);
    }
    put(d + start, n - start);
    if (used > 0) sink(std::string_view(buf_.data(), used));
  }

  // update() a slice of kHeaderSlice bytes at a time while `more()` holds (the header is being
  // read); returns the rest of `chunk`, not looked at: a body after the header in the same chunk
  // is neither scanned for bare LFs nor copied (the body hashers read bare LFs as line ends).
  template <class More, class Sink>
  std::string_view update_while(std::string_view chunk, More&& more, Sink&& sink) {
    constexpr std::size_t kHeaderSlice = 4096;
    while (!chunk.empty() && more()) {
      const std::string_view slice = chunk.substr(0, kHeaderSlice);
      chunk.remove_prefix(slice.size());
      update(slice, sink);
    }
    return chunk;
  }

 private:
  // The offset of the first LF not preceded by CR in d[0, n) (n when there is none); d[-1] is
  // the last byte of the previous chunk.
  std::size_t first_bare_lf(const char* d, std::size_t n) const noexcept {
    if (d[0] == '\n' && !prev_cr_) return 0;
    return n == 1 ? n : 1 + next_bare_lf(d + 1, n - 1, d[0] == '\r');
  }
  // The same within d[0, n) when d[0] is known to follow a byte that is not CR (or is, when
  // `after_cr`). SSE2 examines 16 bytes a step: text with CRLF line ends needs no call per line.
  static std::size_t next_bare_lf(const char* d, std::size_t n, bool after_cr = false) noexcept {
    std::size_t pos = 0;
    if (n > 0 && d[0] == '\n' && !after_cr) return 0;
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    for (pos = 1; pos + 16 <= n; pos += 16) {  // d[pos - 1] is readable
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + pos));
      const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + pos - 1));
      const int mask =
          _mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(before, cr), _mm_cmpeq_epi8(v, lf)));
      if (mask != 0) return pos + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
    if (pos > n) pos = n;
#endif
    while (pos < n) {
      const void* nl = std::memchr(d + pos, '\n', n - pos);
      if (!nl) return n;
      pos = static_cast<std::size_t>(static_cast<const char*>(nl) - d);
      const bool cr_before = pos > 0 ? d[pos - 1] == '\r' : after_cr;
      if (!cr_before) return pos;
      ++pos;
    }
    return n;
  }

  static constexpr std::size_t kSlice = 4096;
  bool prev_cr_ = false;
  std::string buf_;
};

}  // namespace dkimkit::detail
