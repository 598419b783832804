// The two scans behind mbox_reader, scalar and SSE2, against each other: on their own at every
// position, and through the reader on random mbox files cut at every place.
#include "mailbox/mbox_scan.hpp"
#include "support/feed_cut.hpp"

#include <gtest/gtest.h>

#include <dkimkit/mailbox.hpp>
#include <random>
#include <string>
#include <vector>

namespace dkimkit {
namespace {

#if defined(__SSE2__)

// The scalar scan for the scope's mbox_readers.
struct scalar_scan {
  scalar_scan() { detail::use_scalar_mbox_scan(true); }
  ~scalar_scan() { detail::use_scalar_mbox_scan(false); }
  scalar_scan(const scalar_scan&) = delete;
  scalar_scan& operator=(const scalar_scan&) = delete;
};

struct collector : mbox_handler {
  std::vector<std::string> messages;
  void begin_message(std::uint64_t) override { messages.emplace_back(); }
  void message_bytes(std::string_view bytes) override { messages.back() += bytes; }
  void end_message() override {}
};

struct outcome {
  std::vector<std::string> messages;
  std::uint64_t preamble = 0;
  bool operator==(const outcome&) const = default;
};

// The messages of `mbox` fed as the pieces that end at `cuts` (ascending) and the rest.
outcome split(std::string_view mbox, const std::vector<std::size_t>& cuts) {
  collector c;
  mbox_reader r(c);
  test::feed_cut(mbox, cuts, [&](std::string_view piece) { r.update(piece); });
  r.finish();
  return {c.messages, r.preamble_bytes()};
}

// Random mbox-like text: lines beginning with what matters at a line start, LF and CRLF ends,
// lone CRs, "From" and '>' inside lines, lines long enough for several 16-byte steps.
std::string random_mbox(std::mt19937& rng) {
  static const char* const starts[] = {"From ", ">From ", ">>From ", "From", "F", ">", "\r", "",
                                       "x", "Fro", ">>", "\r\n", "From a@b\r"};
  static const char* const inside[] = {"a", "b", " ", "F", ">", "\r", "From ", "\n", "\r\n"};
  std::string mbox = rng() % 2 ? "From first\n" : "";
  const int lines = 1 + static_cast<int>(rng() % 24);
  for (int line = 0; line < lines; ++line) {
    mbox += starts[rng() % std::size(starts)];
    const std::size_t len = rng() % 3 == 0 ? rng() % 4 : rng() % 48;
    for (std::size_t k = 0; k < len; ++k) mbox += inside[rng() % std::size(inside)];
    mbox += rng() % 3 == 0 ? "\r\n" : "\n";
  }
  if (rng() % 4 == 0) mbox.pop_back();  // no final line end
  return mbox;
}

TEST(mbox_scan, scalar_and_sse2_find_the_same_break_from_every_position) {
  std::mt19937 rng(2045);
  static const char alphabet[] = {'\n', '\r', 'F', '>', 'x', 'r', ' ', '\n'};
  for (int round = 0; round < 300; ++round) {
    std::string buf(rng() % 80, 'x');
    for (char& c : buf) c = alphabet[rng() % std::size(alphabet)];
    for (std::size_t i = 0; i <= buf.size(); ++i)
      ASSERT_EQ(detail::mbox_line_break_scalar(buf.data(), i, buf.size()),
                detail::mbox_line_break_sse2(buf.data(), i, buf.size()))
          << "round " << round << " at " << i;
  }
}

TEST(mbox_scan, scalar_and_sse2_readers_give_the_same_messages_however_cut) {
  std::mt19937 rng(4155);
  for (int round = 0; round < 150; ++round) {
    const std::string mbox = random_mbox(rng);
    std::vector<std::vector<std::size_t>> cutss = {{}};
    for (std::size_t k = 1; k < mbox.size(); ++k) cutss.push_back({k});  // every two pieces
    std::vector<std::size_t> bytes;  // byte by byte
    for (std::size_t k = 1; k < mbox.size(); ++k) bytes.push_back(k);
    cutss.push_back(bytes);
    for (int r = 0; r < 8; ++r) {  // random pieces
      std::vector<std::size_t> cuts;
      for (std::size_t at = 1 + rng() % 20; at < mbox.size(); at += 1 + rng() % 20)
        cuts.push_back(at);
      cutss.push_back(cuts);
    }
    const outcome whole = split(mbox, {});
    for (const auto& cuts : cutss) {
      const outcome sse2 = split(mbox, cuts);
      outcome scalar;
      {
        scalar_scan s;
        scalar = split(mbox, cuts);
      }
      ASSERT_EQ(scalar, sse2) << "round " << round << ", " << cuts.size() << " cuts";
      ASSERT_EQ(sse2, whole) << "round " << round << ", " << cuts.size() << " cuts";
    }
  }
}

#else

TEST(mbox_scan, only_the_scalar_scan_is_compiled) { GTEST_SKIP() << "no SSE2 on this target"; }

#endif

}  // namespace
}  // namespace dkimkit
