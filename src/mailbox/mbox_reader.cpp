// The streaming mbox splitter (dkimkit/mailbox.hpp): a line-start state machine; the rest of a
// line is passed on as a view into the caller's chunk.
#include <cassert>
#include <cstring>
#include <dkimkit/mailbox.hpp>

namespace dkimkit {
namespace {

constexpr std::string_view kFrom = "From ";

// A byte that prefix_byte() may treat otherwise than as the start of an ordinary line.
constexpr bool is_prefix_start(char c) noexcept {
  return c == kFrom[0] || c == '>' || c == '\r' || c == '\n';
}

}  // namespace

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
        const void* nl = std::memchr(d + i, '\n', n - i);
        std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - d) + 1 : n;
        if (state_ == state::rest_of_line) {
          // A line whose first byte cannot start a separator, a quoted "From ", an empty line
          // or a CR goes on as it is (prefix_byte() would hand it to rest_of_line unchanged):
          // ordinary lines in a row are passed on as one piece, not one call per line.
          while (nl && end < n && !is_prefix_start(d[end])) {
            nl = std::memchr(d + end, '\n', n - end);
            end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - d) + 1 : n;
          }
          emit(chunk.substr(i, end - i));
        }
        i = end;
        if (nl) state_ = state::line_start;
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
