// Streaming: the verifier's and the signer's results never depend on how the input was cut
// (verifier.hpp), LF-only input is normalised to CRLF first (RFC 6376 §5.3 / hostile input #56),
// and the milter-style API gives the same results as update().
#include <dkimkit/verifier.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>

#include "support/feed_cut.hpp"
#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using test::kNow;

std::string summary(const std::vector<verification>& r) {
  std::string out;
  for (const auto& v : r) {
    out += std::string(to_string(v.status)) + "|" + std::string(to_string(v.code)) + "|" + v.reason +
           "|" + v.sdid + "|" + v.selector + "|" + v.auid + "|" + v.algorithm + "|" + v.b_prefix +
           "|" + std::to_string(v.key_bits) + "|" + std::to_string(v.field_index) + "|" +
           (v.body_length ? std::to_string(*v.body_length) : "-") + "\n";
  }
  return out;
}

void publish(static_resolver& dns) {
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  dns.add("rsa._domainkey.example.com", test::rsa1024().public_record());
}

std::vector<verification> verify_cut(std::string_view msg, const verify_options& o,
                                     const std::vector<std::size_t>& cuts) {
  verifier v(o);
  test::feed_cut(msg, cuts, [&](std::string_view piece) { v.update(piece); });
  return v.finish();
}

std::vector<verification> verify_bytewise(std::string_view msg, const verify_options& o) {
  verifier v(o);
  for (char c : msg) v.update(std::string_view(&c, 1));
  return v.finish();
}

sign_options ed_options(canonicalization h, canonicalization b) {
  sign_options o;
  o.sdid = "example.com";
  o.selector = "ed";
  o.key = test::ed25519();
  o.header_canon = h;
  o.body_canon = b;
  return o;
}

std::vector<std::string> sign_cut(std::string_view msg, std::vector<sign_options> opts,
                                  const std::vector<std::size_t>& cuts) {
  auto s = signer::create(std::move(opts), kNow);
  EXPECT_TRUE(s);
  if (!s) return {};
  test::feed_cut(msg, cuts, [&](std::string_view piece) { s->update(piece); });
  auto f = s->finish();
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  return f ? *f : std::vector<std::string>{};
}

std::string to_lf(std::string_view crlf) {
  std::string out;
  for (std::size_t i = 0; i < crlf.size(); ++i)
    if (!(crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n')) out += crlf[i];
  return out;
}

// A random but well-formed message: folded header fields with odd white space, and a body with
// CR, LF, WSP and empty lines anywhere. `lf` picks bare-LF line endings; `lone_cr` allows a CR
// that is not part of a line ending.
std::string random_message(std::mt19937& rng, bool lf, bool lone_cr = true) {
  const std::string eol = lf ? "\n" : "\r\n";
  std::uniform_int_distribution<int> coin(0, 3);
  auto ws = [&] {
    static const char* const k[] = {" ", "\t", "  ", " \t "};
    return std::string(k[coin(rng)]);
  };
  auto fold = [&] { return coin(rng) == 0 ? eol + ws() : ws(); };
  std::string m;
  m += "From:" + ws() + "Alice" + fold() + "<alice@example.com>" + eol;
  m += "To:" + fold() + "bob@example.org" + ws() + eol;
  if (coin(rng) != 0) m += "Cc: carol@example.net" + eol;
  m += std::string(coin(rng) == 0 ? "SUBJECT" : "Subject") + " :" + ws() + "Hello" + fold() +
       "world" + ws() + eol;
  m += "Date: Thu, 01 Jan 2026 00:00:00 +0000" + eol;
  m += "X-Filler: " + std::string(static_cast<std::size_t>(coin(rng)) * 7, 'f') + eol;
  m += eol;
  static constexpr char kBody[] = {'a', 'b', ' ', '\t', '\r', '\n', '\n', 'z', '.'};
  std::uniform_int_distribution<std::size_t> len(0, 60);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kBody - 1);
  const std::size_t n = len(rng);
  for (std::size_t i = 0; i < n; ++i) {
    char c = kBody[pick(rng)];
    if (c == '\r' && !lone_cr) c = ' ';
    if (c == '\n' && !lf) {
      m += "\r\n";
    } else {
      m += c;
    }
  }
  return m;
}

// verifier.hpp: "The result never depends on how the input was cut." Every split point, three
// random cuts and 1-byte chunks, over random messages, CRLF and bare LF, all canonicalizations.
TEST(verifier_stream, same_result_at_every_split_point) {
  static_resolver dns;
  publish(dns);
  const verify_options o = test::options_for(dns);
  std::mt19937 rng(8463);
  for (int iter = 0; iter < 12; ++iter) {
    const bool lf = iter % 2 == 1;
    const std::string message = random_message(rng, lf);
    const auto h = (iter / 2) % 2 == 0 ? canonicalization::relaxed : canonicalization::simple;
    const auto b = (iter / 4) % 2 == 0 ? canonicalization::relaxed : canonicalization::simple;
    auto fields = sign(message, {ed_options(h, b)}, kNow);
    ASSERT_TRUE(fields) << fields.error().message();
    const std::string msg = (*fields)[0] + (lf ? "\n" : "\r\n") + message;
    const auto whole = verify(msg, o);
    ASSERT_EQ(whole.size(), 1u);
    ASSERT_EQ(whole[0].status, status::pass)
        << whole[0].reason << "\n" << testing::PrintToString(msg);
    const std::string expected = summary(whole);
    for (std::size_t cut = 0; cut <= msg.size(); ++cut)
      ASSERT_EQ(summary(verify_cut(msg, o, {cut})), expected) << "cut=" << cut << " "
                                                               << testing::PrintToString(msg);
    ASSERT_EQ(summary(verify_bytewise(msg, o)), expected);
    std::uniform_int_distribution<std::size_t> pos(0, msg.size());
    for (int k = 0; k < 20; ++k) {
      std::vector<std::size_t> cuts = {pos(rng), pos(rng), pos(rng)};
      std::sort(cuts.begin(), cuts.end());
      ASSERT_EQ(summary(verify_cut(msg, o, cuts)), expected);
    }
    // A failing message fails the same way however it is cut.
    const std::string tampered = msg + "tampered" + (lf ? "\n" : "\r\n");
    const std::string bad = summary(verify(tampered, o));
    EXPECT_NE(bad, expected);
    for (std::size_t cut = 0; cut <= tampered.size(); cut += 3)
      ASSERT_EQ(summary(verify_cut(tampered, o, {cut})), bad);
  }
}

// A bare-LF copy of a CRLF message verifies like it (hostile input #56). (A lone CR just before a
// line ending has no bare-LF form: "\r\r\n" would become "\r\n". Those bodies are left out.)
TEST(verifier_stream, lf_and_crlf_agree) {
  static_resolver dns;
  publish(dns);
  const verify_options o = test::options_for(dns);
  std::mt19937 rng(6376);
  for (int iter = 0; iter < 20; ++iter) {
    const std::string message = random_message(rng, false, false);
    auto fields = sign(message, {ed_options(canonicalization::simple, canonicalization::simple)}, kNow);
    ASSERT_TRUE(fields);
    const std::string crlf = (*fields)[0] + "\r\n" + message;
    const std::string lf = to_lf(crlf);
    ASSERT_EQ(verify(crlf, o)[0].status, status::pass);
    EXPECT_EQ(summary(verify(lf, o)), summary(verify(crlf, o)));
    EXPECT_EQ(summary(verify_bytewise(lf, o)), summary(verify(crlf, o)));
  }
}

// The signer streams too: the same fields whatever the cuts, and for a bare-LF copy.
TEST(signer_stream, same_fields_at_every_split_point) {
  std::mt19937 rng(4871);
  for (int iter = 0; iter < 12; ++iter) {
    // CRLF messages are compared with their bare-LF copy, so no lone CR in those.
    const std::string message = random_message(rng, iter % 2 == 1, iter % 2 == 1);
    std::vector<sign_options> opts = {ed_options(canonicalization::relaxed, canonicalization::simple),
                                      ed_options(canonicalization::simple, canonicalization::relaxed)};
    auto whole = sign(message, opts, kNow);
    ASSERT_TRUE(whole) << whole.error().message();
    ASSERT_EQ(whole->size(), 2u);
    for (std::size_t cut = 0; cut <= message.size(); ++cut)
      ASSERT_EQ(sign_cut(message, opts, {cut}), *whole) << "cut=" << cut;
    std::vector<std::size_t> every(message.size());
    for (std::size_t i = 0; i < every.size(); ++i) every[i] = i;
    ASSERT_EQ(sign_cut(message, opts, every), *whole);
    if (iter % 2 == 0) {
      auto lf = sign(to_lf(message), opts, kNow);
      ASSERT_TRUE(lf);
      EXPECT_EQ(*lf, *whole);
    }
  }
}

// Splits a CRLF message into raw fields and body, as a milter receives them.
struct milter_input {
  std::vector<std::string> fields;
  std::string body;
};
milter_input split_for_milter(const std::string& msg) {
  milter_input in;
  auto view = parse_message(msg);
  EXPECT_TRUE(view);
  if (!view) return in;
  for (const auto& f : view->fields) in.fields.emplace_back(f.raw);
  in.body = std::string(view->body);
  return in;
}

// verifier.hpp: add_header_field()/end_of_header()/add_body() gives the same results as update().
TEST(verifier_stream, milter_api_matches_update) {
  static_resolver dns;
  publish(dns);
  const verify_options o = test::options_for(dns);
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 16; ++iter) {
    const std::string message = random_message(rng, false);
    sign_options rsa;
    rsa.sdid = "example.com";
    rsa.selector = "rsa";
    rsa.key = test::rsa1024();
    rsa.body_length = iter % 3 == 0;
    auto fields = sign(message, {ed_options(canonicalization::relaxed, canonicalization::relaxed), rsa},
                       kNow);
    ASSERT_TRUE(fields);
    std::string msg = (*fields)[0] + "\r\n" + (*fields)[1] + "\r\n" + message;
    if (iter % 4 == 3) msg += "tail\r\n";  // a body change: both fail, or policy with l=
    const std::string expected = summary(verify(msg, o));
    const milter_input in = split_for_milter(msg);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
      verifier v(o);
      for (const auto& f : in.fields) v.add_header_field(f);
      v.end_of_header();
      for (std::size_t p = 0; p < in.body.size(); p += chunk)
        v.add_body(std::string_view(in.body).substr(p, chunk));
      EXPECT_EQ(summary(v.finish()), expected) << "chunk=" << chunk;
    }
    // Without end_of_header(): the first body chunk ends the header.
    verifier v(o);
    for (const auto& f : in.fields) v.add_header_field(f);
    v.add_body(in.body);
    EXPECT_EQ(summary(v.finish()), expected);
  }
}

// The milter receives header values with LF folding and bodies with LF line endings too.
TEST(verifier_stream, milter_api_normalises_lf) {
  static_resolver dns;
  publish(dns);
  const verify_options o = test::options_for(dns);
  const std::string signed_msg =
      test::sign_with(test::sample_message(), test::ed25519(), "ed", canonicalization::simple,
                      canonicalization::simple);
  const milter_input in = split_for_milter(signed_msg);
  verifier v(o);
  for (const auto& f : in.fields) v.add_header_field(to_lf(f));
  v.end_of_header();
  v.add_body(to_lf(in.body));
  auto r = v.finish();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
}

// A message with no header/body separator at all, fed through the milter API.
TEST(verifier_stream, milter_api_header_only) {
  static_resolver dns;
  publish(dns);
  const std::string header = "From: a@example.com\r\nTo: b@example.org\r\n";
  auto fields = sign(header, {ed_options(canonicalization::relaxed, canonicalization::relaxed)}, kNow);
  ASSERT_TRUE(fields);
  verifier v(test::options_for(dns));
  v.add_header_field((*fields)[0]);
  v.add_header_field("From: a@example.com");
  v.add_header_field("To: b@example.org");
  v.end_of_header();
  auto r = v.finish();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
}

// signer.hpp: the milter-style signer API gives the same fields as update().
TEST(signer_stream, milter_api_matches_update) {
  std::mt19937 rng(99);
  for (int iter = 0; iter < 8; ++iter) {
    const std::string message = random_message(rng, false);
    std::vector<sign_options> opts = {ed_options(canonicalization::relaxed, canonicalization::relaxed),
                                      ed_options(canonicalization::simple, canonicalization::simple)};
    auto whole = sign(message, opts, kNow);
    ASSERT_TRUE(whole);
    const milter_input in = split_for_milter(message);
    auto s = signer::create(opts, kNow);
    ASSERT_TRUE(s);
    for (const auto& f : in.fields) s->add_header_field(f);
    s->end_of_header();
    for (std::size_t p = 0; p < in.body.size(); p += 5)
      s->add_body(std::string_view(in.body).substr(p, 5));
    auto f = s->finish();
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(*f, *whole);
  }
}

// verifier.hpp "The result never depends on how the input was cut", at the header size limit: a
// header block of exactly header_limits::max_header_bytes is within the limit, whatever the cuts.
TEST(verifier_stream, header_exactly_at_the_limit_independent_of_cuts) {
  static_resolver dns;
  publish(dns);
  const std::string msg = test::sign_with(test::sample_message(), test::ed25519(), "ed");
  const std::size_t block = msg.find("\r\n\r\n") + 2;  // the fields with their CRLFs
  verify_options o = test::options_for(dns);
  o.header.max_header_bytes = block;
  const std::string expected = summary(verify(msg, o));
  ASSERT_EQ(verify(msg, o)[0].status, status::pass) << expected;
  bool bug = false;  // the cut input was judged too large
  for (std::size_t cut = block - 2; cut <= block + 3; ++cut) {
    const std::string got = summary(verify_cut(msg, o, {cut}));
    if (got != expected && got.find("message header exceeds a limit") != std::string::npos) {
      bug = true;
      continue;
    }
    EXPECT_EQ(got, expected) << "cut=" << cut;
  }
  // The signer shares the reader.
  sign_options so = ed_options(canonicalization::relaxed, canonicalization::relaxed);
  const std::string message = test::sample_message();
  const std::size_t mblock = message.find("\r\n\r\n") + 2;
  header_limits limits;
  limits.max_header_bytes = mblock;
  auto one = signer::create({so}, kNow, limits);
  ASSERT_TRUE(one);
  one->update(message);
  ASSERT_TRUE(one->finish());
  auto cut = signer::create({so}, kNow, limits);
  ASSERT_TRUE(cut);
  cut->update(std::string_view(message).substr(0, mblock + 1));
  cut->update(std::string_view(message).substr(mblock + 1));
  auto cut_result = cut->finish();
  if (!cut_result && cut_result.error().code == errc::header_too_large) bug = true;
  EXPECT_FALSE(bug) << "a header block of exactly "
                    "max_header_bytes gives header_too_large (verifier: permerror; signer: error) "
                    "when a chunk ends 1-3 bytes into the terminating empty line, but not in one "
                    "chunk";
  EXPECT_TRUE(cut_result) << cut_result.error().message();
}

// Feeding nothing at all, or only empty chunks: no signature, no crash.
TEST(verifier_stream, empty_input) {
  static_resolver dns;
  publish(dns);
  verifier v(test::options_for(dns));
  v.update("");
  v.update("");
  EXPECT_TRUE(v.finish().empty());
  EXPECT_TRUE(verify("", test::options_for(dns)).empty());
  EXPECT_TRUE(verify("\r\n\r\n", test::options_for(dns)).empty());
  EXPECT_TRUE(verify("\n", test::options_for(dns)).empty());
}

// A large body streamed in small chunks verifies; only the header is buffered.
TEST(verifier_stream, large_body_in_chunks) {
  static_resolver dns;
  publish(dns);
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "line " + std::to_string(i) + " \t of the body\r\n";
  const std::string message =
      "From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\n\r\n" + body;
  auto fields = sign(message, {ed_options(canonicalization::relaxed, canonicalization::relaxed)}, kNow);
  ASSERT_TRUE(fields);
  const std::string msg = (*fields)[0] + "\r\n" + message;
  verifier v(test::options_for(dns));
  for (std::size_t p = 0; p < msg.size(); p += 4093) v.update(std::string_view(msg).substr(p, 4093));
  auto r = v.finish();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
}

}  // namespace
}  // namespace dkimkit
