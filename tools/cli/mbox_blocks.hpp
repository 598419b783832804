// An mbox cut into blocks of whole messages, for `dkimkit verify --jobs N`: each block read by
// a fresh dkimkit::mbox_reader gives exactly the messages a single reader of the whole archive
// gives, numbered from the block's `first`.
//
//   mbox_cutter cut(source);                    // source(buf, n): bytes read, 0 at the end, <0
//   error mbox_cutter::block b; while (cut.next(b)) { /* b.bytes: messages b.first .. b.first +
//   b.messages - 1 */ }
//
// A block ends just before a separator ("From " at the start of a line) or at the end of the
// archive, after about kTarget bytes or kMaxMessages messages. A message with no separator within
// kCap bytes of the block's start (a very large message, or a preamble) is streamed: the block
// (`more`) holds its first kCap bytes and rest() gives the others in pieces of about kPiece bytes
// until the next separator. Memory: kCap + kPiece bytes of the cutter's own, whatever the input.
// Not thread-safe: the caller serialises next() and rest().
// A read error ends the input: the messages whose end (the next separator) was read are given,
// the one cut short is not (rest() says failed), as the single reader's caller does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace dkimkit::cli {

class mbox_cutter {
 public:
  // Up to n bytes into buf: how many (0 at the end of the input), or a negative number on error.
  using source = std::function<long(char* buf, std::size_t n)>;
  static constexpr std::size_t kTarget = 512 * 1024;
  static constexpr std::size_t kCap = 1024 * 1024;
  static constexpr std::size_t kPiece = 256 * 1024;
  static constexpr std::size_t kMaxMessages = 256;

  struct block {
    std::string bytes;
    std::uint64_t first = 1;     // the number of its first message (1-based)
    std::uint64_t messages = 0;  // separators in it: the messages that begin in it
    bool opening = false;        // the archive's first block (the only one with a preamble)
    bool more = false;           // its last message goes on: rest() gives the remainder
  };
  enum class stream { more, ended, failed };

  // `head`: bytes already read from the source (its first chunk).
  explicit mbox_cutter(source src, std::string head = {}, std::size_t target = kTarget,
                       std::size_t cap = kCap, std::size_t piece = kPiece,
                       std::size_t max_messages = kMaxMessages)
      : src_(std::move(src)),
        carry_(std::move(head)),
        target_(std::max<std::size_t>(target, 8)),  // the first read shows a whole "From "
        cap_(std::max(cap, target_)),
        piece_(std::max<std::size_t>(piece, 8)),
        max_messages_(std::max<std::size_t>(max_messages, 1)) {}

  // The next block into b (its buffer reused); false when the input has ended (or failed).
  bool next(block& b) {
    std::string& s = b.bytes;
    s.assign(carry_);
    carry_.clear();
    b.more = false;
    b.opening = blocks_ == 0;
    b.first = numbered_ + 1;
    std::size_t cut = 0;
    std::uint64_t n0 = 0, cut_count = 0, count = 0;
    bool full = false;
    std::size_t pos = 0;  // where the scan goes on
    for (std::size_t want = target_;; want = cap_) {
      fill(s, want);
      if (want == target_) count = n0 = separator_at(s, 0) ? 1 : 0;
      for (std::size_t q; !full && (q = s.find("\nFrom ", pos)) != std::string::npos;) {
        const std::size_t p = q + 1;
        full = count >= max_messages_;
        cut = p;
        cut_count = count;
        if (!full) ++count;
        pos = p;
      }
      // The scan resumes where a separator may begin that the bytes read so far did not show.
      pos = std::max(pos, s.size() >= 5 ? s.size() - 5 : 0);
      if (full || cut > 0 || eof_ || want == cap_) break;
    }
    if (s.empty()) return false;
    if (!full && eof_ && !failed_) {  // the end of the archive: all of it
      cut = s.size();
      cut_count = count;
    } else if (!full && cut == 0) {
      if (failed_) {  // the message cut short is not given
        s.clear();
        return false;
      }
      // No separator within cap_: the message streams; the last bytes are kept, as they may
      // begin a separator.
      const std::size_t keep = std::min<std::size_t>(5, s.size());
      carry_.assign(s, s.size() - keep);
      s.resize(s.size() - keep);
      b.more = streaming_ = true;
      return give(b, n0, s.size());
    }
    // After a read error, what follows the last cut is dropped: the message cut short.
    if (!failed_ || full) carry_.assign(s, cut);
    s.resize(cut);
    return give(b, cut_count, cut);
  }

  // The next piece of a streamed message (after a block with `more`) into `piece`: more (call
  // again), ended (its last piece; the next block begins at a separator) or failed (a read
  // error: the message was cut short).
  stream rest(std::string& piece) {
    piece.clear();
    if (!streaming_) return failed_ ? stream::failed : stream::ended;
    if (carry_.size() < piece_) fill(carry_, piece_);
    const std::size_t p = find_separator(carry_);
    if (p != std::string::npos) {
      take(piece, p);
      streaming_ = false;
      return stream::ended;
    }
    if (eof_) {
      streaming_ = false;
      if (failed_) {
        carry_.clear();
        return stream::failed;
      }
      take(piece, carry_.size());
      return stream::ended;
    }
    take(piece, carry_.size() - std::min<std::size_t>(5, carry_.size()));
    return stream::more;
  }

  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  // A separator begins at s[p]: "From " at the start of a line.
  [[nodiscard]] bool separator_at(std::string_view s, std::size_t p) const noexcept {
    const char before = p == 0 ? last_ : s[p - 1];
    return before == '\n' && s.substr(p).starts_with("From ");
  }
  [[nodiscard]] std::size_t find_separator(std::string_view s) const noexcept {
    if (separator_at(s, 0)) return 0;
    const std::size_t q = s.find("\nFrom ");
    return q == std::string_view::npos ? q : q + 1;
  }
  // Reads into s until it holds `want` bytes or the input ends.
  void fill(std::string& s, std::size_t want) {
    while (s.size() < want && !eof_) {
      const std::size_t old = s.size();
      s.resize(want);
      const long n = src_(s.data() + old, want - old);
      s.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
      if (n <= 0) {
        eof_ = true;
        failed_ = n < 0;
      }
    }
  }
  bool give(block& b, std::uint64_t messages, std::size_t size) {
    b.messages = messages;
    numbered_ += messages;
    ++blocks_;
    if (size > 0) last_ = b.bytes[size - 1];
    return true;
  }
  void take(std::string& piece, std::size_t n) {
    piece.assign(carry_, 0, n);
    if (n > 0) last_ = carry_[n - 1];
    carry_.erase(0, n);
  }

  source src_;
  std::string carry_;  // read, not yet given: the next block begins with it
  const std::size_t target_, cap_, piece_, max_messages_;
  std::uint64_t numbered_ = 0, blocks_ = 0;
  char last_ = '\n';  // the last byte given (the input's start counts as a line start)
  bool eof_ = false, failed_ = false, streaming_ = false;
};

}  // namespace dkimkit::cli
