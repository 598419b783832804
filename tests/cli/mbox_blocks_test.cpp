// dkimkit verify --jobs N's mbox blocks: read by a fresh mbox_reader each, numbered from their
// first message, the blocks of mbox_cutter give exactly the messages (numbers, bytes, preamble)
// of one mbox_reader over the whole archive, whatever the block sizes and the reads' sizes.
#include "mbox_blocks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <dkimkit/mailbox.hpp>
#include <string>
#include <utility>
#include <vector>

namespace dkimkit::cli {
namespace {

using messages = std::vector<std::pair<std::uint64_t, std::string>>;

// The messages a reader gives (numbered from `base` + 1), and whether each has ended.
struct recorder : mbox_handler {
  std::uint64_t base = 0;
  messages got;
  std::size_t ended = 0;  // how many of got have ended
  void begin_message(std::uint64_t n) override { got.emplace_back(base + n, std::string()); }
  void message_bytes(std::string_view b) override { got.back().second.append(b); }
  void end_message() override { ++ended; }
};

struct split {
  messages got;
  std::uint64_t preamble = 0;
};

// One mbox_reader over `mbox`; with `cut_short`, what a read error after those bytes leaves:
// the messages that ended (no finish()).
split single_pass(std::string_view mbox, bool cut_short = false) {
  recorder r;
  mbox_reader reader(r);
  reader.update(mbox);
  if (cut_short) {
    r.got.resize(r.ended);
    return {r.got, 0};
  }
  reader.finish();
  return {r.got, reader.preamble_bytes()};
}

struct sizes {
  std::size_t target, cap, piece, max_messages, read;
  std::size_t head = 0;  // bytes given to the cutter as already read
};

// The same through mbox_cutter, each block read by a fresh reader; `fail_at`: the source fails
// once that many bytes have been read.
split cut_pass(std::string_view mbox, const sizes& z, std::size_t fail_at = std::string::npos) {
  const std::size_t head = std::min({z.head, mbox.size(), fail_at});
  std::size_t at = head;
  mbox_cutter cut(
      [&](char* buf, std::size_t n) -> long {
        if (at >= fail_at) return -1;
        n = std::min({n, z.read, mbox.size() - at, fail_at - at});
        std::memcpy(buf, mbox.data() + at, n);
        at += n;
        return static_cast<long>(n);
      },
      std::string(mbox.substr(0, head)), z.target, z.cap, z.piece, z.max_messages);
  split out;
  mbox_cutter::block b;
  std::uint64_t first = 1;
  bool opening = true;
  while (cut.next(b)) {
    EXPECT_EQ(b.first, first);
    EXPECT_EQ(b.opening, opening);
    // A block holds at most what was left of the last read (a piece of a streamed message, the
    // head) or cap bytes.
    EXPECT_LE(b.bytes.size(), std::max({z.cap, z.target, std::max<std::size_t>(z.piece, 8), head}));
    opening = false;
    recorder r;
    r.base = b.first - 1;
    mbox_reader reader(r);
    reader.update(b.bytes);
    bool cut_short = false;
    if (b.more) {
      std::string piece;
      for (auto s = mbox_cutter::stream::more; s == mbox_cutter::stream::more;) {
        s = cut.rest(piece);
        EXPECT_LE(piece.size(), std::max<std::size_t>(z.piece, 8));
        cut_short = s == mbox_cutter::stream::failed;
        reader.update(piece);
      }
    }
    if (!cut_short) reader.finish();
    if (cut_short) r.got.resize(r.ended);
    EXPECT_EQ(r.got.size() + (cut_short && b.messages > 0 ? 1 : 0), b.messages);
    EXPECT_LE(b.messages, z.max_messages);
    if (b.opening)
      out.preamble = reader.preamble_bytes();
    else
      EXPECT_EQ(reader.preamble_bytes(), 0u);
    out.got.insert(out.got.end(), r.got.begin(), r.got.end());
    first += b.messages;
  }
  EXPECT_EQ(cut.failed(), fail_at < mbox.size());
  return out;
}

const std::vector<std::string>& archives() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> a = {
        "",
        "From a\n",
        "From a\nFrom b\nFrom c\n",  // empty messages in a row
        "From a\nSubject: 1\n\nbody\n\nFrom b\nSubject: 2\n\nbody 2\n\n",
        // ">From " quoting (undone), "From " in a body (a separator), look-alikes that are not
        "From a\nS: 1\n\n>From quoted\n>>From twice\nFrom unquoted splits\n Fromage\nFrom\n"
        "From:x\n\nFrom b\n\n\n\nx\n",
        // CRLF, framing CRLF lines, a lone CR before "From "
        "From a\r\nS: 1\r\n\r\nbody\r\n\r\nFrom b\r\nS: 2\r\n\r\n\rFrom x\r\n>From y\r\n\r\n",
        "From a\nno final newline",
        "From a\nx\n\nFrom",              // a separator cut short at the end: body text
        "From a\nx\n\nFrom b",            // a separator line without its newline
        "preamble\nmore\n\nFrom a\nx\n",  // bytes before the first separator
        "\n\nFrom a\n",
    };
    std::string many;  // message numbers across many blocks
    for (int i = 0; i < 60; ++i)
      many += "From m" + std::to_string(i) +
              "\nS: " + std::string(static_cast<std::size_t>(i % 7), 'x') + "\n\nb\n\n";
    a.push_back(many);
    // A message much larger than a block among small ones: streamed.
    std::string big = "From s\nS: 1\n\n";
    for (int i = 0; i < 300; ++i) big += i % 50 == 0 ? ">From inside\n" : "line of the body\n";
    big += "\nFrom t\nS: 2\n\nend\n";
    a.push_back(big);
    a.push_back(std::string(700, 'p') + "\nFrom after a long preamble\n\n");
    return a;
  }();
  return all;
}

std::vector<sizes> all_sizes() {
  std::vector<sizes> z;
  for (std::size_t target : {8u, 16u, 33u, 64u})
    for (std::size_t cap : {target, 4 * target})
      for (std::size_t piece : {8u, 19u})
        for (std::size_t max : {1u, 3u, 256u})
          for (std::size_t read : {1u, 7u, 4096u}) z.push_back({target, cap, piece, max, read});
  z.push_back({mbox_cutter::kTarget, mbox_cutter::kCap, mbox_cutter::kPiece,
               mbox_cutter::kMaxMessages, 64 * 1024, 64 * 1024});
  z.push_back({16, 32, 8, 2, 5, 3});  // a head shorter than a separator
  return z;
}

TEST(mbox_cutter, blocks_give_the_messages_of_one_reader) {
  for (const auto& mbox : archives()) {
    const split want = single_pass(mbox);
    for (const auto& z : all_sizes()) {
      const split got = cut_pass(mbox, z);
      ASSERT_EQ(got.got, want.got)
          << "archive " << testing::PrintToString(mbox) << " target " << z.target << " cap "
          << z.cap << " piece " << z.piece << " max " << z.max_messages << " read " << z.read;
      ASSERT_EQ(got.preamble, want.preamble) << testing::PrintToString(mbox);
    }
  }
}

// Every block boundary: a separator is found whichever of its bytes a block or a read ends on.
TEST(mbox_cutter, a_separator_across_a_block_or_read_boundary) {
  const std::string mbox = "From a\nxy\n\nFrom b\nz\n\nFrom c\n>From d\nFrom e\n";
  const split want = single_pass(mbox);
  ASSERT_EQ(want.got.size(), 4u);
  for (std::size_t target = 1; target <= mbox.size() + 1; ++target)
    for (std::size_t read = 1; read <= 8; ++read)
      for (std::size_t head : {0u, 1u, 4u, 9u}) {
        const split got = cut_pass(mbox, {target, target, 8, 256, read, head});
        ASSERT_EQ(got.got, want.got) << "target " << target << " read " << read;
      }
}

// A read error after any number of bytes: the messages whose end was read, the one cut short
// left out (as the single reader's caller does).
TEST(mbox_cutter, a_read_error_gives_the_messages_that_ended) {
  for (const auto& mbox : archives()) {
    if (mbox.size() > 400) continue;  // the long ones: their first bytes are enough
    for (std::size_t at = 0; at < mbox.size(); ++at) {
      const split want = single_pass(std::string_view(mbox).substr(0, at), true);
      for (const sizes& z :
           {sizes{8, 8, 8, 256, 3}, sizes{16, 64, 8, 2, 5}, sizes{64, 64, 8, 256, 64}}) {
        const split got = cut_pass(mbox, z, at);
        ASSERT_EQ(got.got, want.got) << testing::PrintToString(mbox) << " error at " << at;
      }
    }
  }
}

// A large message (here 8 MiB, made as it is read): the blocks and pieces stay within their
// bounds, and every byte reaches the reader.
TEST(mbox_cutter, a_large_message_streams_in_bounded_pieces) {
  const std::size_t size = 8 * 1024 * 1024;
  const std::string line = "a line of a very long message body, no separator in it\n";
  std::size_t at = 0;
  const std::string head = "From big\n\n";
  mbox_cutter cut(
      [&](char* buf, std::size_t n) -> long {
        n = std::min(n, size - at);
        for (std::size_t i = 0; i < n; ++i) buf[i] = line[(at + i) % line.size()];
        at += n;
        return static_cast<long>(n);
      },
      head);
  mbox_cutter::block b;
  ASSERT_TRUE(cut.next(b));
  EXPECT_TRUE(b.more);
  EXPECT_EQ(b.messages, 1u);
  EXPECT_LE(b.bytes.size(), mbox_cutter::kCap);
  std::size_t total = b.bytes.size(), pieces = 0;
  std::string piece;
  for (auto s = mbox_cutter::stream::more; s == mbox_cutter::stream::more; ++pieces) {
    s = cut.rest(piece);
    EXPECT_LE(piece.size(), mbox_cutter::kPiece);
    total += piece.size();
  }
  EXPECT_EQ(total, head.size() + size);
  EXPECT_GT(pieces, 20u);
  EXPECT_FALSE(cut.next(b));
}

}  // namespace
}  // namespace dkimkit::cli
