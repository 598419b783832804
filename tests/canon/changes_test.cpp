// compare_copies(): what changed between the copy as sent and the copy as received, as one
// DKIM-Signature of the received copy hashes them. Each case is also checked against the verifier:
// a copy reported unchanged verifies, a changed one fails, and a change reported as one relaxed
// canonicalization tolerates verifies when signed with relaxed.
#include <gtest/gtest.h>

#include <chrono>
#include <dkimkit/canon.hpp>
#include <dkimkit/changes.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/verifier.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using test::kNow;

constexpr canonicalization kSimple = canonicalization::simple;
constexpr canonicalization kRelaxed = canonicalization::relaxed;

sign_options options(canonicalization header, canonicalization body) {
  sign_options o;
  o.sdid = "example.com";
  o.selector = "ed";
  o.key = test::ed25519();
  o.header_canon = header;
  o.body_canon = body;
  return o;
}

// The message with the new DKIM-Signature field on top.
std::string signed_copy(std::string_view message, const sign_options& o) {
  auto f = sign(message, {o}, kNow);
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  if (!f || f->size() != 1) return {};
  return (*f)[0] + "\r\n" + std::string(message);
}

std::string signed_copy(std::string_view message, canonicalization header = kSimple,
                        canonicalization body = kSimple) {
  return signed_copy(message, options(header, body));
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The verifier's status for the first signature of `msg`.
status verified(const std::string& msg) {
  static_resolver dns;
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  auto r = verify(msg, test::options_for(dns));
  return r.empty() ? status::none : r[0].status;
}

copy_changes compared(std::string_view sent, std::string_view received, std::size_t n = 0,
                      const change_limits& limits = {}) {
  auto c = compare_copies(sent, received, n, limits);
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  return c ? *c : copy_changes{};
}

// The differing body region: where it starts and how many lines each copy has there.
void expect_region(const copy_changes& c, std::uint64_t first, std::uint64_t sent_lines,
                   std::uint64_t received_lines) {
  EXPECT_TRUE(c.body.differs);
  EXPECT_EQ(c.body.first_line, first);
  EXPECT_EQ(c.body.sent_lines, sent_lines);
  EXPECT_EQ(c.body.received_lines, received_lines);
}

TEST(compare_copies, unchanged_copy_reports_nothing) {
  for (auto h : {kSimple, kRelaxed})
    for (auto b : {kSimple, kRelaxed}) {
      const std::string sent = test::sample_message();
      const std::string received = signed_copy(sent, h, b);
      ASSERT_EQ(verified(received), status::pass);
      const copy_changes c = compared(sent, received);
      EXPECT_TRUE(c.unchanged());
      EXPECT_EQ(c.header_canon, h);
      EXPECT_EQ(c.body_canon, b);
      EXPECT_FALSE(c.body.differs);
      EXPECT_EQ(c.body.sent_bytes, c.body.received_bytes);
      // The signed copy as the sent one: the same.
      EXPECT_TRUE(compared(received, received).unchanged());
    }
}

TEST(compare_copies, changed_subject_is_named_with_both_values) {
  const std::string sent = test::sample_message();
  const std::string received =
      replaced(signed_copy(sent), "Subject: Lunch", "Subject: [team] Lunch");
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].field, "subject");  // as h= lists it
  EXPECT_EQ(c.headers[0].instance, 0u);
  EXPECT_EQ(c.headers[0].sent, "Subject: Lunch");
  EXPECT_EQ(c.headers[0].received, "Subject: [team] Lunch");
  EXPECT_FALSE(c.headers[0].relaxed_equal);
  EXPECT_FALSE(c.headers_relaxed_equal());
  EXPECT_FALSE(c.body.differs);

  // Under relaxed the values are the relaxed canonical forms.
  const std::string relaxed =
      replaced(signed_copy(sent, kRelaxed, kRelaxed), "Subject: Lunch", "Subject: [team] Lunch");
  const copy_changes r = compared(sent, relaxed);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].sent, "subject:Lunch");
  EXPECT_EQ(r.headers[0].received, "subject:[team] Lunch");
}

TEST(compare_copies, refolded_header_is_what_relaxed_tolerates) {
  const std::string sent = test::sample_message();
  const std::string received =
      replaced(signed_copy(sent), "To: Bob <bob@example.org>", "to:  Bob\r\n <bob@example.org>");
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].sent, "To: Bob <bob@example.org>");
  EXPECT_EQ(c.headers[0].received, "to:  Bob\r\n <bob@example.org>");
  EXPECT_TRUE(c.headers[0].relaxed_equal);
  EXPECT_TRUE(c.headers_relaxed_equal());
  // And indeed: signed with relaxed header canonicalization, the same change verifies.
  const std::string relaxed =
      replaced(signed_copy(sent, kRelaxed, kSimple), "To: Bob <bob@example.org>",
               "to:  Bob\r\n <bob@example.org>");
  EXPECT_EQ(verified(relaxed), status::pass);
  EXPECT_TRUE(compared(sent, relaxed).unchanged());
}

TEST(compare_copies, footer_is_shown_from_its_first_line) {
  const std::string sent = test::sample_message();  // body: 3 lines
  const std::string received = signed_copy(sent) + "-- \r\nteam mailing list\r\n";
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  EXPECT_TRUE(c.headers.empty());
  expect_region(c, 4u, 0u, 2u);
  ASSERT_EQ(c.body.lines.size(), 2u);
  EXPECT_EQ(c.body.lines[0].line, 4u);
  EXPECT_FALSE(c.body.lines[0].sent);
  EXPECT_EQ(c.body.lines[0].received, "-- ");
  EXPECT_EQ(c.body.lines[1].line, 5u);
  EXPECT_EQ(c.body.lines[1].received, "team mailing list");
  EXPECT_FALSE(c.body.truncated);
  EXPECT_FALSE(c.body.relaxed_equal);
}

TEST(compare_copies, trailing_whitespace_under_simple_is_what_relaxed_tolerates) {
  const std::string sent = test::sample_message();
  const std::string received = replaced(signed_copy(sent), "Alice\r\n", "Alice \t\r\n");
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  EXPECT_TRUE(c.headers.empty());
  expect_region(c, 3u, 1u, 1u);
  ASSERT_EQ(c.body.lines.size(), 1u);
  EXPECT_EQ(c.body.lines[0].sent, "Alice");
  EXPECT_EQ(c.body.lines[0].received, "Alice \t");
  EXPECT_TRUE(c.body.relaxed_equal);
  // Signed with relaxed body canonicalization, the same change verifies and is no change.
  const std::string relaxed =
      replaced(signed_copy(sent, kSimple, kRelaxed), "Alice\r\n", "Alice \t\r\n");
  EXPECT_EQ(verified(relaxed), status::pass);
  EXPECT_TRUE(compared(sent, relaxed).unchanged());
}

TEST(compare_copies, changed_line_in_the_middle_is_located) {
  std::string body;
  for (int i = 1; i <= 100; ++i) body += "line " + std::to_string(i) + "\r\n";
  const std::string sent = "From: a@example.com\r\nSubject: x\r\n\r\n" + body;
  const std::string received = replaced(signed_copy(sent), "line 50\r\n", "line fifty\r\n");
  const copy_changes c = compared(sent, received);
  expect_region(c, 50u, 1u, 1u);
  ASSERT_EQ(c.body.lines.size(), 1u);
  EXPECT_EQ(c.body.lines[0].sent, "line 50");
  EXPECT_EQ(c.body.lines[0].received, "line fifty");
  EXPECT_FALSE(c.body.more_differences);
  // Two changes: the first alone is the hunk, and the summary says more follow.
  const std::string two = replaced(received, "line 90\r\n", "line ninety\r\n");
  const copy_changes t = compared(sent, two);
  expect_region(t, 50u, 1u, 1u);
  ASSERT_EQ(t.body.lines.size(), 1u);
  EXPECT_EQ(t.body.lines[0].received, "line fifty");
  EXPECT_TRUE(t.body.more_differences);
  // A line inserted: nothing of the sent copy stands where it is.
  const std::string inserted = replaced(signed_copy(sent), "line 50\r\n", "new\r\nline 50\r\n");
  const copy_changes d = compared(sent, inserted);
  expect_region(d, 50u, 0u, 1u);
  ASSERT_EQ(d.body.lines.size(), 1u);
  EXPECT_EQ(d.body.lines[0].received, "new");
  // A line removed.
  const std::string removed = replaced(signed_copy(sent), "line 7\r\n", "");
  const copy_changes e = compared(sent, removed);
  expect_region(e, 7u, 1u, 0u);
  ASSERT_EQ(e.body.lines.size(), 1u);
  EXPECT_EQ(e.body.lines[0].sent, "line 7");
  EXPECT_FALSE(e.body.lines[0].received);
}

// A suffix shared by the changed lines ("0\r\n") must not be taken as a common line.
TEST(compare_copies, common_suffix_counts_whole_lines_only) {
  const std::string sent = "From: a@example.com\r\n\r\na\r\nb10\r\nc\r\n";
  const std::string received = replaced(signed_copy(sent), "b10\r\n", "x\r\ny20\r\n");
  const copy_changes c = compared(sent, received);
  expect_region(c, 2u, 1u, 2u);
  ASSERT_EQ(c.body.lines.size(), 2u);
  EXPECT_EQ(c.body.lines[0].sent, "b10");
  EXPECT_EQ(c.body.lines[0].received, "x");
  EXPECT_EQ(c.body.lines[1].received, "y20");
}

TEST(compare_copies, long_region_is_cut_and_says_so) {
  const std::string sent = test::sample_message();
  std::string footer;
  for (int i = 0; i < 30; ++i) footer += "footer " + std::to_string(i) + "\r\n";
  const copy_changes c = compared(sent, signed_copy(sent) + footer, 0, {.max_body_lines = 4});
  EXPECT_EQ(c.body.received_lines, 30u);
  EXPECT_EQ(c.body.lines.size(), 4u);
  EXPECT_TRUE(c.body.truncated);
  EXPECT_EQ(c.body.lines[3].received, "footer 3");
}

TEST(compare_copies, added_field_signed_as_absent_is_a_change) {
  sign_options o = options(kRelaxed, kRelaxed);
  o.headers = std::vector<std::string>{"from", "subject", "reply-to", "reply-to", "cc"};
  const std::string sent = test::sample_message();
  const std::string signed_msg = signed_copy(sent, o);
  EXPECT_TRUE(compared(sent, signed_msg).unchanged());  // absent from both: no change
  const std::string received =
      replaced(signed_msg, "Subject:", "Reply-To: x@example.net\r\nSubject:");
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].field, "reply-to");
  EXPECT_FALSE(c.headers[0].sent);
  EXPECT_EQ(c.headers[0].received, "reply-to:x@example.net");
  EXPECT_FALSE(c.headers[0].relaxed_equal);
  // And the reverse: a signed field removed in transit.
  const copy_changes r = compared(sent, replaced(signed_msg, "Subject: Lunch\r\n", ""));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].sent, "subject:Lunch");
  EXPECT_FALSE(r.headers[0].received);
}

// The signature's own field is hashed too: re-spaced by a relay, it breaks c=simple. Compared when
// the sent copy carries the same signature; an unsigned sent copy cannot show it.
TEST(compare_copies, signature_field_itself_when_the_sent_copy_is_signed) {
  const std::string sent = signed_copy(test::sample_message());
  const std::string received = replaced(sent, "; d=example.com;", ";\r\n\td=example.com;");
  EXPECT_EQ(verified(received), status::fail);
  const copy_changes c = compared(sent, received);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].field, "DKIM-Signature");
  ASSERT_TRUE(c.headers[0].sent && c.headers[0].received);
  EXPECT_NE(c.headers[0].received->find(";\r\n\td=example.com;"), std::string::npos);
  EXPECT_TRUE(c.headers[0].sent->ends_with("b="));  // b= emptied, as hashed
  EXPECT_TRUE(c.headers[0].relaxed_equal);
  EXPECT_FALSE(c.body.differs);
  EXPECT_TRUE(compared(test::sample_message(), received).unchanged());
  // Another signature in the sent copy (a different b=) is not this one.
  const std::string other = signed_copy(test::sample_message(), kRelaxed, kRelaxed);
  EXPECT_TRUE(compared(other, received).headers.empty());
}

// §5.4.2: instances are taken from the bottom. A second Subject above the signed one changes
// nothing the signature covers; one below it replaces what is signed.
TEST(compare_copies, instances_are_selected_bottom_up) {
  const std::string sent = test::sample_message();
  const std::string signed_msg = signed_copy(sent);
  const std::string above = replaced(signed_msg, "From:", "Subject: spam\r\nFrom:");
  EXPECT_EQ(verified(above), status::pass);
  EXPECT_TRUE(compared(sent, above).unchanged());
  const std::string below = replaced(signed_msg, "Date:", "Subject: spam\r\nDate:");
  EXPECT_EQ(verified(below), status::fail);
  const copy_changes c = compared(sent, below);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].sent, "Subject: Lunch");
  EXPECT_EQ(c.headers[0].received, "Subject: spam");
}

// l=: text after the signed length is not compared; a body cut short is.
TEST(compare_copies, body_is_compared_up_to_l) {
  sign_options o = options(kSimple, kSimple);
  o.body_length = true;
  const std::string sent = test::sample_message();
  const std::string signed_msg = signed_copy(sent, o);
  const copy_changes appended = compared(sent, signed_msg + "appended\r\n");
  EXPECT_TRUE(appended.unchanged());
  ASSERT_TRUE(appended.body_length);
  // Cut short in transit: the last line is still a line (simple canonicalization ends it).
  const copy_changes cut = compared(sent, replaced(signed_msg, "Alice\r\n", "Al"));
  ASSERT_TRUE(cut.body.differs);
  EXPECT_EQ(cut.body.first_line, 3u);
  ASSERT_EQ(cut.body.lines.size(), 1u);
  EXPECT_EQ(cut.body.lines[0].sent, "Alice");
  EXPECT_EQ(cut.body.lines[0].received, "Al");
  EXPECT_FALSE(cut.body.lines[0].received_unterminated);
  // A longer last line: l= cuts it in the middle.
  const copy_changes longer =
      compared(sent, replaced(signed_msg, "Alice\r\n", "Alice-long-line\r\n"));
  ASSERT_TRUE(longer.body.differs);
  EXPECT_EQ(longer.body.received_bytes, longer.body.sent_bytes);
  ASSERT_EQ(longer.body.lines.size(), 1u);
  EXPECT_EQ(longer.body.lines[0].sent, "Alice");
  EXPECT_FALSE(longer.body.lines[0].sent_unterminated);
  EXPECT_EQ(longer.body.lines[0].received, "Alice-l");
  EXPECT_TRUE(longer.body.lines[0].received_unterminated);
}

TEST(compare_copies, chooses_the_signature_by_number) {
  const std::string sent = test::sample_message();
  // Signature 0 (top): relaxed/relaxed, signature 1: simple/simple, both over the same copy.
  const std::string inner = signed_copy(sent, kSimple, kSimple);
  const std::string both = signed_copy(inner, kRelaxed, kRelaxed);
  const std::string received = replaced(both, "Alice\r\n", "Alice  \r\n");
  EXPECT_TRUE(compared(sent, received, 0).unchanged());
  const copy_changes c = compared(sent, received, 1);
  EXPECT_EQ(c.signature_number, 1u);
  EXPECT_TRUE(c.body.differs);
  EXPECT_TRUE(c.body.relaxed_equal);
  auto none = compare_copies(sent, received, 2);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::invalid_argument);
}

TEST(compare_copies, line_endings_are_normalized) {
  const std::string received = signed_copy(test::sample_message());
  std::string lf = test::sample_message();
  for (auto at = lf.find("\r\n"); at != std::string::npos; at = lf.find("\r\n", at))
    lf.erase(at, 1);
  EXPECT_TRUE(compared(lf, received).unchanged());
}

TEST(compare_copies, errors_name_the_copy) {
  const std::string received = signed_copy(test::sample_message());
  auto bad_sent = compare_copies("no colon here\r\n\r\nbody\r\n", received, 0);
  ASSERT_FALSE(bad_sent);
  EXPECT_NE(bad_sent.error().detail.find("sent copy"), std::string::npos)
      << bad_sent.error().message();
  auto unsigned_received = compare_copies(received, test::sample_message(), 0);
  ASSERT_FALSE(unsigned_received);
  EXPECT_EQ(unsigned_received.error().code, errc::invalid_argument);
}

// Hostile sizes: bodies of megabytes with long lines compare in linear time, and what is reported
// stays small.
TEST(compare_copies, large_bodies_cost_linear_time_and_report_little) {
  std::string body;
  for (char c : {'a', 'b', 'c', 'd'}) body += std::string(2 * 1024 * 1024, c) + "\r\n";
  for (int i = 0; i < 200000; ++i) body += "x\r\n";
  const std::string sent = "From: a@example.com\r\n\r\n" + body;
  std::string received = signed_copy(sent);
  received[received.size() - 4 * 1024 * 1024] = '!';  // in the third long line
  received.replace(received.size() - 3, 1, "y");      // and the last line
  const auto start = std::chrono::steady_clock::now();
  const copy_changes c = compared(sent, received, 0, {.max_body_lines = 3, .max_line_bytes = 100});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5));
  expect_region(c, 3u, 1u, 1u);  // the first difference: line 3; line 4 is the same again
  ASSERT_EQ(c.body.lines.size(), 1u);
  EXPECT_FALSE(c.body.truncated);
  EXPECT_TRUE(c.body.more_differences);  // the last line
  ASSERT_TRUE(c.body.lines[0].sent && c.body.lines[0].received);
  EXPECT_EQ(c.body.lines[0].sent->size(), 100u);
  EXPECT_TRUE(c.body.lines[0].sent_clipped);
  EXPECT_TRUE(c.body.lines[0].received_clipped);
  // No line in common within max_resync_lines: the hunk runs to the common suffix, cut short.
  std::string other = sent;
  for (std::size_t at = other.find("x\r\n"); at != std::string::npos;
       at = other.find("x\r\n", at + 3))
    other[at] = 'z';
  const copy_changes d =
      compared(sent, signed_copy(other), 0, {.max_body_lines = 3, .max_line_bytes = 100});
  expect_region(d, 5u, 200000u, 200000u);
  EXPECT_EQ(d.body.lines.size(), 3u);
  EXPECT_TRUE(d.body.truncated);
  EXPECT_FALSE(d.body.more_differences);
  EXPECT_EQ(d.body.lines[2].sent, "x");
  EXPECT_EQ(d.body.lines[2].received, "z");
}

// The lines of a canonical body, each with its CRLF (the last maybe without).
std::vector<std::string> lines_of(std::string_view body) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < body.size();) {
    const std::size_t nl = body.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? body.size() : nl + 1;
    out.emplace_back(body.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// Random bodies and random edits: the canonical bodies (as hashed_data() gives them) are always
// the common prefix, the region reported, then a common suffix, for both canonicalizations.
TEST(compare_copies, region_and_common_lines_rebuild_both_bodies) {
  std::mt19937 rng(6376);
  const std::vector<std::string> pieces = {"a", "b", " ", "\t", "\r\n", "\r\n", "\r", "\n"};
  std::uniform_int_distribution<std::size_t> piece(0, pieces.size() - 1), count(0, 24);
  auto random_text = [&] {
    std::string t;
    for (std::size_t n = count(rng); n > 0; --n) t += pieces[piece(rng)];
    return t;
  };
  int differing = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const bool simple = iter % 2 == 0;
    const std::string field =
        std::string("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; ") +
        (simple ? "c=simple/simple" : "c=relaxed/relaxed") +
        "; h=from; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n" +
        "From: a@example.com\r\n\r\n";
    const std::string body = random_text();
    std::string edited = body;
    for (int e = iter % 3; e >= 0; --e) {  // 1 to 3 edits: insert, delete or replace a piece
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, edited.size())(rng);
      const std::size_t len = std::min<std::size_t>(edited.size() - at, count(rng) % 4);
      edited.replace(at, rng() % 3 == 0 ? 0 : len, rng() % 3 == 0 ? "" : random_text());
    }
    const std::string sent = field + body, received = field + edited;
    auto c = compare_copies(sent, received, 0, {.max_body_lines = 1000, .max_line_bytes = 1000});
    ASSERT_TRUE(c) << c.error().message();
    const std::string s = hashed_data(sent, 0)->body, r = hashed_data(received, 0)->body;
    const std::string where =
        testing::PrintToString(body) + " -> " + testing::PrintToString(edited);
    ASSERT_EQ(c->body.differs, s != r) << where;
    if (s == r) continue;
    ++differing;
    const auto sl = lines_of(s), rl = lines_of(r);
    const std::size_t prefix = static_cast<std::size_t>(c->body.first_line - 1);
    const std::size_t sn = static_cast<std::size_t>(c->body.sent_lines);
    const std::size_t rn = static_cast<std::size_t>(c->body.received_lines);
    ASSERT_LE(prefix + sn, sl.size()) << where;
    ASSERT_LE(prefix + rn, rl.size()) << where;
    EXPECT_TRUE(
        std::equal(sl.begin(), sl.begin() + static_cast<std::ptrdiff_t>(prefix), rl.begin()))
        << where;
    // After the hunk: the same rest (no more differences), or the same next line (more follow).
    const std::vector<std::string> sent_rest(sl.begin() + static_cast<std::ptrdiff_t>(prefix + sn),
                                             sl.end());
    const std::vector<std::string> received_rest(
        rl.begin() + static_cast<std::ptrdiff_t>(prefix + rn), rl.end());
    EXPECT_EQ(c->body.more_differences, sent_rest != received_rest) << where;
    if (c->body.more_differences) {
      ASSERT_FALSE(sent_rest.empty() || received_rest.empty()) << where;
      EXPECT_EQ(sent_rest[0], received_rest[0]) << where;
    }
    // The first difference: no line of the sent hunk is a line of the received hunk.
    for (std::size_t i = 0; i < sn; ++i)
      for (std::size_t j = 0; j < rn; ++j) EXPECT_NE(sl[prefix + i], rl[prefix + j]) << where;
    ASSERT_EQ(c->body.lines.size(), std::max(sn, rn)) << where;
    EXPECT_FALSE(c->body.truncated);
    for (std::size_t i = 0; i < c->body.lines.size(); ++i) {
      const body_line_change& l = c->body.lines[i];
      EXPECT_EQ(l.line, prefix + i + 1);
      ASSERT_EQ(l.sent.has_value(), i < sn) << where;
      ASSERT_EQ(l.received.has_value(), i < rn) << where;
      if (l.sent) {
        EXPECT_EQ(*l.sent + (l.sent_unterminated ? "" : "\r\n"), sl[prefix + i]) << where;
      }
      if (l.received) {
        EXPECT_EQ(*l.received + (l.received_unterminated ? "" : "\r\n"), rl[prefix + i]) << where;
      }
    }
    // The claim about relaxed, checked the other way: relaxed canonical bodies of both copies.
    if (simple) {
      const std::string relaxed_field =
          std::string(field).replace(field.find("c=simple/simple"), 15, "c=simple/relaxed");
      EXPECT_EQ(c->body.relaxed_equal, hashed_data(relaxed_field + body, 0)->body ==
                                           hashed_data(relaxed_field + edited, 0)->body)
          << where;
    }
  }
  EXPECT_GT(differing, 2000);  // the edits mostly change the canonical bodies
}

}  // namespace
}  // namespace dkimkit
