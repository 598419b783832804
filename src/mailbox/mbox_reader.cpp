// The streaming mbox splitter (dkimkit/mailbox.hpp): a line-start state machine; the rest of a
// line is passed on as a view into the caller's chunk.
#include "mailbox/mbox_scan.hpp"

#include <atomic>
#include <cassert>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <dkimkit/mailbox.hpp>

namespace dkimkit {
namespace {

constexpr std::string_view kFrom = "From ";

// A byte that prefix_byte() may treat otherwise than as the start of an ordinary line.
constexpr bool is_prefix_start(char c) noexcept {
  return c == kFrom[0] || c == '>' || c == '\r' || c == '\n';
}

// The first LF in d[i, n), or n.
std::size_t first_lf(const char* d, std::size_t i, std::size_t n) noexcept {
  const void* nl = std::memchr(d + i, '\n', n - i);
  return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - d) : n;
}

std::atomic<bool> scalar_scan{false};

// mbox_line_break_sse2() where SSE2 is compiled in, unless a test asks for the scalar scan.
std::size_t line_break(const char* d, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (!scalar_scan.load(std::memory_order_relaxed)) return detail::mbox_line_break_sse2(d, i, n);
#endif
  return detail::mbox_line_break_scalar(d, i, n);
}

}  // namespace

namespace detail {

std::size_t mbox_line_break_scalar(const char* d, std::size_t i, std::size_t n) noexcept {
  while (true) {
    i = first_lf(d, i, n);
    if (i == n || i + 1 == n || is_prefix_start(d[i + 1])) return i;
    ++i;
  }
}

#if defined(__SSE2__)
std::size_t mbox_line_break_sse2(const char* d, std::size_t i, std::size_t n) noexcept {
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i from = _mm_set1_epi8(kFrom[0]);
  const __m128i quote = _mm_set1_epi8('>');
  const __m128i cr = _mm_set1_epi8('\r');
  while (i + 17 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i + 1));
    const __m128i next = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, from), _mm_cmpeq_epi8(w, quote)),
                                      _mm_or_si128(_mm_cmpeq_epi8(w, cr), _mm_cmpeq_epi8(w, lf)));
    const int mask = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(v, lf), next));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
  return mbox_line_break_scalar(d, i, n);  // the last 16 bytes or fewer
}
#endif

void use_scalar_mbox_scan(bool scalar) noexcept {
  scalar_scan.store(scalar, std::memory_order_relaxed);
}

}  // namespace detail

bool starts_like_mbox(std::string_view head) noexcept { return head.starts_with(kFrom); }

void mbox_reader::emit(std::string_view bytes) {
  if (bytes.empty()) return;
  if (in_message_)
    out_->message_bytes(bytes);
  else
    preamble_ += bytes.size();
}

void mbox_reader::emit_quotes(std::uint64_t count) {
  static constexpr std::string_view kQuotes =
      ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
  while (count > 0) {
    std::size_t n = count < kQuotes.size() ? static_cast<std::size_t>(count) : kQuotes.size();
    emit(kQuotes.substr(0, n));
    count -= n;
  }
}

void mbox_reader::flush_blank() {
  if (blank_ == 0) return;
  emit(blank_ == 2 ? std::string_view("\r\n") : std::string_view("\n"));
  blank_ = 0;
}

// The held line start turned out to be ordinary text: give it on as it was.
void mbox_reader::flush_prefix() {
  if (cr_) emit("\r");
  emit_quotes(quotes_);
  emit(kFrom.substr(0, matched_));
  reset_prefix();
}

void mbox_reader::reset_prefix() noexcept {
  cr_ = false;
  quotes_ = 0;
  matched_ = 0;
}

// One byte at the start of a line (state_ == line_start). `consumed` is false when the byte
// starts the rest of an ordinary line and must be read again in rest_of_line.
void mbox_reader::prefix_byte(char c, bool& consumed) {
  consumed = true;
  if (cr_) {
    if (c == '\n') {  // an empty CRLF line
      cr_ = false;
      flush_blank();
      blank_ = 2;
      return;
    }
    flush_blank();
    flush_prefix();
    consumed = false;
    state_ = state::rest_of_line;
    return;
  }
  if (quotes_ == 0 && matched_ == 0) {
    if (c == '\n') {  // an empty LF line
      flush_blank();
      blank_ = 1;
      return;
    }
    if (c == '\r') {
      cr_ = true;
      return;
    }
  }
  if (c == kFrom[matched_]) {
    if (++matched_ < kFrom.size()) return;
    if (quotes_ == 0) {  // a separator: the held empty line was framing
      blank_ = 0;
      if (in_message_) out_->end_message();
      in_message_ = true;
      out_->begin_message(++number_);
      reset_prefix();
      state_ = state::separator_line;
      return;
    }
    // ">From " quoting (mboxrd): one '>' less.
    flush_blank();
    emit_quotes(quotes_ - 1);
    emit(kFrom);
    reset_prefix();
    state_ = state::rest_of_line;
    return;
  }
  if (c == '>' && matched_ == 0) {
    ++quotes_;
    return;
  }
  flush_blank();
  flush_prefix();
  consumed = false;
  state_ = state::rest_of_line;
}

void mbox_reader::update(std::string_view chunk) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    switch (state_) {
      case state::rest_of_line:
      case state::separator_line: {
        const char* const d = chunk.data();
        const std::size_t n = chunk.size();
        // A line whose first byte cannot start a separator, a quoted "From ", an empty line or
        // a CR goes on as it is (prefix_byte() would hand it to rest_of_line unchanged):
        // ordinary lines in a row are passed on as one piece, not one call per line.
        const std::size_t nl = state_ == state::rest_of_line ? line_break(d, i, n)
                                                              : first_lf(d, i, n);
        const std::size_t end = nl == n ? n : nl + 1;
        if (state_ == state::rest_of_line) emit(chunk.substr(i, end - i));
        i = end;
        if (nl != n) state_ = state::line_start;
        break;
      }
      case state::line_start: {
        bool consumed = true;
        prefix_byte(chunk[i], consumed);
        if (consumed) ++i;
        break;
      }
    }
  }
}

void mbox_reader::finish() {
  if (state_ == state::line_start && (cr_ || quotes_ != 0 || matched_ != 0)) {
    flush_blank();  // an unfinished last line follows the empty line: both are the message's
    flush_prefix();
  }
  blank_ = 0;  // a last empty line is the mbox's framing
  if (in_message_) out_->end_message();
  in_message_ = false;
  state_ = state::line_start;
}

}  // namespace dkimkit
