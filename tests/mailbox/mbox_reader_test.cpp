// The streaming mbox splitter (dkimkit/mailbox.hpp): separators, framing, >From unquoting, and
// the same messages however the input is cut.
#include <gtest/gtest.h>

#include <dkimkit/mailbox.hpp>
#include <random>
#include <string>
#include <vector>

namespace dkimkit {
namespace {

struct collector : mbox_handler {
  std::vector<std::string> messages;
  std::vector<std::uint64_t> numbers;
  bool open = false;
  void begin_message(std::uint64_t number) override {
    EXPECT_FALSE(open);
    open = true;
    numbers.push_back(number);
    messages.emplace_back();
  }
  void message_bytes(std::string_view bytes) override {
    ASSERT_TRUE(open);
    EXPECT_FALSE(bytes.empty());
    messages.back() += bytes;
  }
  void end_message() override {
    EXPECT_TRUE(open);
    open = false;
  }
};

// The messages of `mbox` fed in pieces of the sizes `cuts` gives (cycled).
std::vector<std::string> split(std::string_view mbox, const std::vector<std::size_t>& cuts = {},
                               std::uint64_t* preamble = nullptr) {
  collector c;
  mbox_reader r(c);
  std::size_t at = 0, k = 0;
  while (at < mbox.size()) {
    std::size_t n = cuts.empty() ? mbox.size() : cuts[k++ % cuts.size()];
    r.update(mbox.substr(at, n));
    at += n;
  }
  r.finish();
  EXPECT_FALSE(c.open);
  EXPECT_EQ(r.messages(), c.messages.size());
  for (std::size_t i = 0; i < c.numbers.size(); ++i) EXPECT_EQ(c.numbers[i], i + 1);
  if (preamble) *preamble = r.preamble_bytes();
  return c.messages;
}

using list = std::vector<std::string>;

TEST(mbox_reader, separator_line_is_not_part_of_the_message) {
  EXPECT_EQ(split("From a@b Thu Jan  1 00:00:00 1970\nSubject: x\n\nbody\n"),
            list{"Subject: x\n\nbody\n"});
}

TEST(mbox_reader, empty_line_before_a_separator_and_at_the_end_is_framing) {
  EXPECT_EQ(split("From a\nA: 1\n\nbody\n\nFrom b\nB: 2\n\nbody 2\n\n"),
            list({"A: 1\n\nbody\n", "B: 2\n\nbody 2\n"}));
}

TEST(mbox_reader, only_one_empty_line_is_framing) {
  EXPECT_EQ(split("From a\nA: 1\n\nbody\n\n\n\nFrom b\nB: 2\n\n\n"),
            list({"A: 1\n\nbody\n\n\n", "B: 2\n\n"}));
}

TEST(mbox_reader, any_from_line_separates_even_without_an_empty_line) {
  // As Python's mailbox.mbox and mutt read: the line need not follow an empty line.
  EXPECT_EQ(split("From a\nA: 1\n\nbody\nFrom b\nB: 2\n"), list({"A: 1\n\nbody\n", "B: 2\n"}));
}

TEST(mbox_reader, from_needs_the_space_and_the_case) {
  EXPECT_EQ(split("From a\nA: 1\n\nFrom: x\nfrom y\nFromage\n"),
            list{"A: 1\n\nFrom: x\nfrom y\nFromage\n"});
}

TEST(mbox_reader, mboxrd_quoting_loses_one_quote) {
  EXPECT_EQ(split("From a\nA: 1\n\n>From here\n>>From there\n>>>From far\n> From not\n>Frog\n"),
            list{"A: 1\n\nFrom here\n>From there\n>>From far\n> From not\n>Frog\n"});
}

TEST(mbox_reader, quoting_on_the_first_line_of_a_message) {
  EXPECT_EQ(split("From a\n>From x\n"), list{"From x\n"});
}

TEST(mbox_reader, many_quotes_are_counted_not_stored) {
  std::string quotes(100000, '>');
  EXPECT_EQ(split("From a\n" + quotes + "From x\n" + quotes + "\n"),
            list{quotes.substr(1) + "From x\n" + quotes + "\n"});
}

TEST(mbox_reader, last_message_without_a_final_newline) {
  EXPECT_EQ(split("From a\nA: 1\n\nbody"), list{"A: 1\n\nbody"});
  EXPECT_EQ(split("From a\nA: 1\n\nbody\n\n>Fro"), list{"A: 1\n\nbody\n\n>Fro"});
  EXPECT_EQ(split("From a\nA: 1\n\nbody\n\n\r"), list{"A: 1\n\nbody\n\n\r"});
}

TEST(mbox_reader, crlf_mbox) {
  EXPECT_EQ(split("From a\r\nA: 1\r\n\r\nbody\r\n>From x\r\n\r\nFrom b\r\nB: 2\r\n\r\n"),
            list({"A: 1\r\n\r\nbody\r\nFrom x\r\n", "B: 2\r\n"}));
}

TEST(mbox_reader, a_lone_cr_starts_an_ordinary_line) {
  EXPECT_EQ(split("From a\n\rFrom x\n\r\r\n"), list{"\rFrom x\n\r\r\n"});
}

TEST(mbox_reader, empty_input_has_no_message) { EXPECT_EQ(split(""), list{}); }

TEST(mbox_reader, separators_only_give_empty_messages) {
  collector c;
  mbox_reader r(c);
  r.update("From a\nFrom b\n\nFrom c");
  r.finish();
  EXPECT_EQ(c.messages, list({"", "", ""}));
}

TEST(mbox_reader, text_before_the_first_separator_is_counted_not_given) {
  std::uint64_t preamble = 0;
  EXPECT_EQ(split("junk\n\n>From\nFrom a\nA: 1\n", {}, &preamble), list{"A: 1\n"});
  EXPECT_EQ(preamble, 12u);
}

TEST(mbox_reader, starts_like_mbox_needs_from_space) {
  EXPECT_TRUE(starts_like_mbox("From a@b Thu"));
  EXPECT_TRUE(starts_like_mbox("From "));
  EXPECT_FALSE(starts_like_mbox("From: a@b"));
  EXPECT_FALSE(starts_like_mbox("From"));
  EXPECT_FALSE(starts_like_mbox(""));
  EXPECT_FALSE(starts_like_mbox(">From a"));
}

// Every cut gives the same messages: byte by byte, fixed sizes and random cuts.
TEST(mbox_reader, any_chunking_gives_the_same_messages) {
  const std::string mbox =
      "pre\r\n\r\nFrom a\r\nA: 1\r\n\r\n>From x\r\n>>From y\r\n\r\n\r\nFrom b\nB: 2\n\n"
      "From\n>Fr\n\r\rx\n\n>>\n\nFrom c\nFrom d\n>From e\n\n>>>From";
  std::uint64_t whole_preamble = 0;
  const list whole = split(mbox, {}, &whole_preamble);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[0], "A: 1\r\n\r\nFrom x\r\n>From y\r\n\r\n");
  EXPECT_EQ(whole[1], "B: 2\n\nFrom\n>Fr\n\r\rx\n\n>>\n");
  EXPECT_EQ(whole[2], "");
  EXPECT_EQ(whole[3], "From e\n\n>>>From");
  for (std::size_t n = 1; n <= 9; ++n) {
    std::uint64_t preamble = 0;
    EXPECT_EQ(split(mbox, {n}, &preamble), whole) << "pieces of " << n;
    EXPECT_EQ(preamble, whole_preamble);
  }
  std::mt19937 rng(16);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::size_t> cuts;
    for (int k = 0; k < 16; ++k) cuts.push_back(1 + rng() % 12);
    EXPECT_EQ(split(mbox, cuts), whole) << "round " << round;
  }
}

// Long lines (the scanner looks 16 bytes at a time) starting with every byte that matters at a
// line start: fed whole and in random pieces, the messages are those of a byte-by-byte feed.
TEST(mbox_reader, long_lines_any_chunking_gives_the_same_messages) {
  std::mt19937 rng(17);
  static const char* const starts[] = {"From ", ">From ", ">>From ", "From", "F", ">", "\r", "",
                                       "x", "Fro", "\r\n"};
  for (int round = 0; round < 40; ++round) {
    std::string mbox = "From first\n";
    for (int line = 0; line < 300; ++line) {
      mbox += starts[rng() % std::size(starts)];
      const std::size_t len = rng() % 4 == 0 ? rng() % 3 : rng() % 70;
      for (std::size_t k = 0; k < len; ++k) mbox += "ab F>\r"[rng() % 16 == 0 ? 5 : rng() % 5];
      mbox += "\n";
    }
    std::uint64_t byte_preamble = 0, preamble = 0;
    const list bytewise = split(mbox, {1}, &byte_preamble);
    EXPECT_EQ(split(mbox, {}, &preamble), bytewise) << "round " << round;
    EXPECT_EQ(preamble, byte_preamble);
    std::vector<std::size_t> cuts;
    for (int k = 0; k < 16; ++k) cuts.push_back(1 + rng() % 200);
    EXPECT_EQ(split(mbox, cuts), bytewise) << "round " << round;
  }
}

}  // namespace
}  // namespace dkimkit
