// ARC chain validation (dkimkit/arc.hpp): chains sealed here, set by set, then changed in transit;
// and hostile chains (RFC 8617 §5.2 steps 1 to 3), which must fail or be none with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <dkimkit/arc.hpp>
#include <string>
#include <vector>

#include "arc/arc_bodies.hpp"
#include "arc/arc_fields.hpp"
#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "crypto/crypto.hpp"
#include "support/test_keys.hpp"
#include "util/base64.hpp"

namespace dkimkit {
namespace {

using test::kNow;

// A test-side sealer (RFC 8617 §5.1), Ed25519, relaxed/relaxed, d=example.com s=arc: each set is
// "ARC-Authentication-Results: ...", "ARC-Message-Signature: ...", "ARC-Seal: ..." (CRLF-free).
struct chain {
  std::vector<std::array<std::string, 3>> sets;
  std::string message;  // without the ARC fields, CRLF

  // The message with every set on top, newest first.
  [[nodiscard]] std::string text() const {
    std::string out;
    for (auto it = sets.rbegin(); it != sets.rend(); ++it)
      out += (*it)[2] + "\r\n" + (*it)[1] + "\r\n" + (*it)[0] + "\r\n";
    return out + message;
  }
};

std::string signed_b64(std::string_view data) {
  const std::string digest = detail::digest(hash_algorithm::sha256, data);
  auto sig = test::ed25519().sign_digest(hash_algorithm::sha256, digest);
  EXPECT_TRUE(sig.has_value());
  return sig ? detail::base64_encode(*sig) : std::string();
}

// The relaxed canonical form of "Name: value" (no final CRLF when `last`).
std::string relaxed(const std::string& field, bool last = false) {
  const std::string block = field + "\r\n";  // the fields point into it
  auto fields = parse_header_block(block);
  EXPECT_TRUE(fields.has_value() && fields->size() == 1) << field;
  std::string out;
  if (last)
    detail::canonicalize_signature_field(canonicalization::relaxed, fields->front(),
                                         fields->front().value.size(), 0, out);
  else
    detail::canonicalize_header(canonicalization::relaxed, fields->front(), out);
  return out;
}

// `selector`: s= of the AMS (the AS has s=arc); `ams_tags`: more tags for the AMS ("x=...; ").
void seal(chain& c, std::string_view cv, std::string_view h = "from:to:subject",
          std::string_view selector = "arc", std::string_view ams_tags = "") {
  const auto i = std::to_string(c.sets.size() + 1);
  const std::string aar = "ARC-Authentication-Results: i=" + i + "; mx" + i +
                          ".example.net; dkim=pass header.d=example.com";
  auto view = parse_message(c.message);
  EXPECT_TRUE(view.has_value());
  detail::body_hasher body(canonicalization::relaxed, hash_algorithm::sha256, std::nullopt);
  std::string scratch;
  body.update(view->body, scratch);
  body.finish(scratch);
  std::string ams =
      "ARC-Message-Signature: i=" + i +
      "; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=" + std::string(selector) +
      "; t=" + std::to_string(kNow) + "; " + std::string(ams_tags) + "h=" + std::string(h) + "; bh=" + detail::base64_encode(body.digest()) + "; b=";
  std::vector<std::string> names;
  for (std::size_t p = 0, q; p <= h.size(); p = q + 1) {
    q = std::min(h.find(':', p), h.size());
    names.emplace_back(h.substr(p, q - p));
  }
  std::string data;
  detail::canonicalize_signed_headers(canonicalization::relaxed, view->fields, names, data);
  ams += signed_b64(data + relaxed(ams, true));
  std::string as = "ARC-Seal: i=" + i + "; a=ed25519-sha256; cv=" + std::string(cv) +
                   "; d=example.com; s=arc; t=" + std::to_string(kNow) + "; b=";
  data.clear();
  for (const auto& set : c.sets) data += relaxed(set[0]) + relaxed(set[1]) + relaxed(set[2]);
  data += relaxed(aar) + relaxed(ams) + relaxed(as, true);
  as += signed_b64(data);
  c.sets.push_back({aar, ams, as});
}

struct ArcValidator : ::testing::Test {
  static_resolver dns;
  verify_options opts;
  ArcValidator() {
    dns.add("arc._domainkey.example.com", test::ed25519().public_record());
    opts = test::options_for(dns);
  }
  chain sealed(std::size_t n) {
    chain c{{}, test::sample_message()};
    for (std::size_t k = 0; k < n; ++k) seal(c, k == 0 ? "none" : "pass");
    return c;
  }
};

TEST_F(ArcValidator, NoArcFieldsIsNone) {
  const auto v = validate_arc(test::sample_message(), opts);
  EXPECT_EQ(v.result, arc_result::none);
  EXPECT_EQ(v.sets, 0u);
  EXPECT_TRUE(v.reason.empty());
}

TEST_F(ArcValidator, ThreeSetsPass) {
  const chain c = sealed(3);
  const auto v = validate_arc(c.text(), opts);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.sets, 3u);
  EXPECT_EQ(v.oldest_pass, 1u);
  ASSERT_EQ(v.set_results.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) {
    const arc_set_result& s = v.set_results[i];
    EXPECT_EQ(s.instance, i + 1);
    EXPECT_EQ(s.ams, status::pass) << s.ams_reason;
    EXPECT_EQ(s.seal, status::pass) << s.seal_reason;
    EXPECT_EQ(s.cv, i == 0 ? "none" : "pass");
    EXPECT_EQ(s.seal_domain, "example.com");
    ASSERT_TRUE(s.aar.has_value());
    EXPECT_EQ(s.aar->authserv_id, "mx" + std::to_string(i + 1) + ".example.net");
    ASSERT_EQ(s.aar->results.size(), 1u);
    EXPECT_EQ(s.aar->results[0].method, "dkim");
  }
}

TEST_F(ArcValidator, StreamingCutsGiveTheSameResult) {
  const std::string text = sealed(2).text();
  for (std::size_t step : {1u, 7u, 64u}) {
    arc_validator v(opts);
    for (std::size_t p = 0; p < text.size(); p += step) v.update(text.substr(p, step));
    const auto r = v.finish();
    EXPECT_EQ(r.result, arc_result::pass) << step << ": " << r.reason;
  }
}

TEST_F(ArcValidator, BodyChangedAfterTheNewestSealFails) {
  chain c = sealed(2);
  c.message += "appended in transit\r\n";
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::body_hash_mismatch);
  EXPECT_NE(v.reason.find("ARC-Message-Signature i=2"), std::string::npos) << v.reason;
}

// A forwarder that changes the Subject breaks AMS(1); its own seal covers the change: the chain
// passes, and the oldest AMS that passes is its own (RFC 8617 §5.2 step 5).
TEST_F(ArcValidator, OldestPassAfterAChangeInTransit) {
  chain c = sealed(1);
  const auto at = c.message.find("Subject: ");
  ASSERT_NE(at, std::string::npos);
  c.message.insert(at + 9, "[list] ");
  seal(c, "pass");
  const auto v = validate_arc(c.text(), opts);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.oldest_pass, 2u);
  EXPECT_EQ(v.set_results[0].ams, status::fail);
  EXPECT_EQ(v.set_results[0].ams_code, errc::signature_mismatch);
  EXPECT_EQ(v.set_results[1].ams, status::pass);
}

TEST_F(ArcValidator, ASealOverChangedSetsFails) {
  chain c = sealed(2);
  c.sets[0][0] += " (changed)";  // AAR(1), covered by AS(1) and AS(2)
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::signature_mismatch);
  EXPECT_NE(v.reason.find("ARC-Seal i=2"), std::string::npos) << v.reason;
}

// AS(2) taken from another chain, whose set 1 differs (its AMS signs other fields): it seals
// other sets than those of this message.
TEST_F(ArcValidator, ASealOverOtherSetsFails) {
  chain c = sealed(2);
  chain other{{}, test::sample_message()};
  seal(other, "none", "from:to");
  seal(other, "pass");
  c.sets[1][2] = other.sets[1][2];
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("ARC-Seal i=2"), std::string::npos) << v.reason;
  EXPECT_EQ(v.set_results[1].ams, status::pass);  // the message itself is as sealed
}

// Sets are found by instance, not by position: fields of the sets interleaved still validate.
TEST_F(ArcValidator, SetsAreFoundByInstanceNotPosition) {
  chain c = sealed(2);
  std::swap(c.sets[0][2], c.sets[1][2]);
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::pass) << v.reason;
}

TEST_F(ArcValidator, KeyRulesOfDkimApply) {
  static_resolver other;
  other.add("arc._domainkey.example.com",
            "v=DKIM1; k=ed25519; h=sha1; p=" + test::ed25519().public_record_value());
  verify_options o = test::options_for(other);
  const auto v = validate_arc(sealed(1).text(), o);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::key_hash_mismatch) << v.reason;
  static_resolver none;
  const auto w = validate_arc(sealed(1).text(), test::options_for(none));
  EXPECT_EQ(w.result, arc_result::fail);
  EXPECT_EQ(w.code, errc::key_not_found) << w.reason;
}

TEST_F(ArcValidator, CvFailOnTheNewestSealStaysFailed) {
  chain c = sealed(1);
  seal(c, "fail");
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("cv=fail"), std::string::npos) << v.reason;
}

TEST_F(ArcValidator, CvPassOnInstanceOneFails) {
  chain c{{}, test::sample_message()};
  seal(c, "pass");
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("cv=pass, not none"), std::string::npos) << v.reason;
}

TEST_F(ArcValidator, CvNoneOnALaterSetFails) {
  chain c = sealed(1);
  seal(c, "none");
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("ARC-Seal i=2 has cv=none, not pass"), std::string::npos) << v.reason;
}

// The message-level checks of a DKIM verifier apply to each AMS (RFC 6376 §6.1.1): one From
// field (§8.15, hostile-inputs #51), decided before any DNS query.
TEST_F(ArcValidator, NoFromOrTwoFromFieldsFailTheChain) {
  const chain c = sealed(2);
  const std::size_t before = dns.queries();
  const auto two = validate_arc("From: Mallory <ceo@example.com>\r\n" + c.text(), opts);
  EXPECT_EQ(two.result, arc_result::fail);
  EXPECT_EQ(two.code, errc::multiple_from) << two.reason;
  EXPECT_NE(two.reason.find("ARC-Message-Signature i=2"), std::string::npos) << two.reason;
  EXPECT_EQ(two.set_results[1].ams, status_of(errc::multiple_from));
  EXPECT_EQ(dns.queries(), before);

  chain no_from{{}, test::sample_message()};
  no_from.message.erase(0, no_from.message.find("\r\n") + 2);  // the From field
  seal(no_from, "none");
  const auto none = validate_arc(no_from.text(), opts);
  EXPECT_EQ(none.result, arc_result::fail);
  EXPECT_EQ(none.code, errc::no_from) << none.reason;
}

// x= and t= of an AMS against verify_options::now (hostile-inputs #24, #25), as for DKIM; not
// checked without a clock.
TEST_F(ArcValidator, AnExpiredOrFutureAmsFailsWhenThereIsAClock) {
  chain c{{}, test::sample_message()};
  seal(c, "none", "from:to:subject", "arc", "x=" + std::to_string(kNow + 100) + "; ");
  EXPECT_EQ(validate_arc(c.text(), opts).result, arc_result::pass);
  verify_options later = opts;
  later.now = [] { return kNow + 1000; };
  const auto expired = validate_arc(c.text(), later);
  EXPECT_EQ(expired.result, arc_result::fail);
  EXPECT_EQ(expired.code, errc::signature_expired) << expired.reason;
  verify_options earlier = opts;
  earlier.now = [] { return kNow - 1000; };
  const auto future = validate_arc(c.text(), earlier);
  EXPECT_EQ(future.result, arc_result::fail);
  EXPECT_EQ(future.code, errc::signature_in_future) << future.reason;
  verify_options no_clock = opts;
  no_clock.now = nullptr;
  EXPECT_EQ(validate_arc(c.text(), no_clock).result, arc_result::pass);
}

// An older AMS that expired stops oldest-pass there, as any older AMS that fails.
TEST_F(ArcValidator, AnExpiredOlderAmsStopsOldestPass) {
  chain c{{}, test::sample_message()};
  seal(c, "none", "from:to:subject", "arc", "x=" + std::to_string(kNow + 100) + "; ");
  seal(c, "pass");
  verify_options later = opts;
  later.now = [] { return kNow + 1000; };
  const auto v = validate_arc(c.text(), later);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.oldest_pass, 2u);
  EXPECT_EQ(v.set_results[0].ams_code, errc::signature_expired);
}

// Key lookups are bounded (verify_options::max_arc_key_lookups): the newest AMS's and the seals'
// keys first, then older AMSs newest first; the first beyond the limit is not evaluated and
// oldest-pass stops there.
TEST_F(ArcValidator, KeyLookupsAreBounded) {
  chain c{{}, test::sample_message()};
  for (int k = 1; k <= 50; ++k) {
    const std::string selector = "s" + std::to_string(k);
    dns.add(selector + "._domainkey.example.com", test::ed25519().public_record());
    seal(c, k == 1 ? "none" : "pass", "from:to:subject", selector);
  }
  const std::size_t before = dns.queries();
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(dns.queries() - before, 10u);  // s50, arc (every seal), s49 .. s42
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.oldest_pass, 42u);
  EXPECT_EQ(v.set_results[41].ams, status::pass);
  EXPECT_EQ(v.set_results[40].ams, status::none);
  EXPECT_EQ(v.set_results[40].ams_code, errc::not_evaluated);
  EXPECT_NE(v.set_results[40].ams_reason.find("max_arc_key_lookups"), std::string::npos);

  verify_options more = opts;
  more.max_arc_key_lookups = 51;
  const std::size_t again = dns.queries();
  const auto all = validate_arc(c.text(), more);
  EXPECT_EQ(dns.queries() - again, 51u);
  ASSERT_EQ(all.result, arc_result::pass) << all.reason;
  EXPECT_EQ(all.oldest_pass, 1u);
}

// --- Hostile structure: decided before any DNS query or crypto. ---

std::string hostile_set(const std::string& i, const std::string& cv = "none") {
  return "ARC-Seal: i=" + i + "; a=rsa-sha256; cv=" + cv + "; d=example.com; s=arc; b=AAAA\r\n" +
         "ARC-Message-Signature: i=" + i +
         "; a=rsa-sha256; d=example.com; s=arc; h=from; bh=" + std::string(43, 'A') +
         "=; b=AAAA\r\n" + "ARC-Authentication-Results: i=" + i + "; mx.example.net; none\r\n";
}

struct ArcHostile : ArcValidator {
  arc_validation run(const std::string& arc_fields) {
    const std::size_t before = dns.queries();
    auto v = validate_arc(arc_fields + test::sample_message(), opts);
    queries = dns.queries() - before;
    return v;
  }
  std::size_t queries = 0;
};

TEST_F(ArcHostile, FiftyOneSets) {
  std::string f;
  for (int i = 51; i >= 1; --i) f += hostile_set(std::to_string(i), i == 1 ? "none" : "pass");
  const auto v = run(f);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("50"), std::string::npos) << v.reason;
  EXPECT_EQ(queries, 0u);
}

TEST_F(ArcHostile, ThousandsOfArcFieldsStopAtTheLimit) {
  std::string f;
  for (int i = 0; i < 1500; ++i) f += "ARC-Seal: i=1; a=rsa-sha256\r\n";
  const auto v = run(f);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("two ARC-Seal i=1"), std::string::npos) << v.reason;
  EXPECT_EQ(queries, 0u);
}

TEST_F(ArcHostile, DuplicateInstance) {
  const auto v = run(hostile_set("1") + hostile_set("1"));
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("two ARC-"), std::string::npos) << v.reason;
  EXPECT_EQ(queries, 0u);
}

TEST_F(ArcHostile, Gap) {
  const auto v = run(hostile_set("3", "pass") + hostile_set("1"));
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("i=2"), std::string::npos) << v.reason;
  EXPECT_EQ(v.sets, 3u);
}

TEST_F(ArcHostile, InstanceZero) {
  const auto v = run(hostile_set("0"));
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::tag_syntax) << v.reason;
}

TEST_F(ArcHostile, InstanceNotANumber) {
  for (const char* i : {"", "x", "-1", "1000", "1 2", "01x"}) {
    const auto v = run(hostile_set(i));
    EXPECT_EQ(v.result, arc_result::fail) << i;
    EXPECT_FALSE(v.reason.empty()) << i;
  }
}

TEST_F(ArcHostile, MissingMember) {
  std::string f = hostile_set("1");
  f.erase(f.find("ARC-Authentication-Results"));
  const auto v = run(f);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("no ARC-Authentication-Results i=1"), std::string::npos) << v.reason;
}

TEST_F(ArcHostile, HugeHeaderList) {
  std::string h = "from";
  for (int k = 0; k < 5000; ++k) h += ":x";
  std::string f = hostile_set("1");
  f.replace(f.find("h=from"), 6, "h=" + h);
  const auto v = run(f);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::bad_header_list) << v.reason;
}

TEST_F(ArcHostile, AmsSigningArcSealFails) {
  chain c{{}, test::sample_message()};
  seal(c, "none", "from:arc-seal");
  const auto v = validate_arc(c.text(), opts);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_NE(v.reason.find("h= lists ARC-Seal"), std::string::npos) << v.reason;
}

// A '\\' as the last byte of a comment in the AAR's "i=" prefix: an unterminated comment, not a
// position past the value (which threw std::out_of_range through validate_arc).
// 50 sets, each sealed by another domain: more required keys than max_arc_key_lookups fail the
// chain with no query at all; a seal that does not parse fails it with none either.
TEST_F(ArcHostile, FiftyDistinctSealersAreNotLookedUp) {
  std::string f;
  for (int i = 50; i >= 1; --i) {
    std::string set = hostile_set(std::to_string(i), i == 1 ? "none" : "pass");
    for (std::size_t at; (at = set.find("d=example.com; s=arc")) != std::string::npos;)
      set.replace(at, 20, "d=d" + std::to_string(i) + ".example; s=s" + std::to_string(i));
    f += set;
  }
  auto v = run(f);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::not_evaluated) << v.reason;
  EXPECT_NE(v.reason.find("max_arc_key_lookups"), std::string::npos) << v.reason;
  EXPECT_EQ(queries, 0u);

  std::string bad = hostile_set("2", "pass") + hostile_set("1");
  bad.replace(bad.find("a=rsa-sha256"), 12, "a=rsa-md5");  // ARC-Seal i=2
  v = run(bad);
  EXPECT_EQ(v.result, arc_result::fail);
  EXPECT_EQ(v.code, errc::unsupported_algorithm) << v.reason;
  EXPECT_NE(v.reason.find("ARC-Seal i=2"), std::string::npos) << v.reason;
  EXPECT_EQ(queries, 0u);
}

// The seals' digests come from one running hash per algorithm, copied for each seal: a copy goes
// on from the state it was copied in, and leaves the original as it was.
TEST(ArcSealHashing, ACopiedHasherGoesOnFromTheSameState) {
  for (const auto h : {hash_algorithm::sha256, hash_algorithm::sha1}) {
    detail::hasher running(h);
    running.update("ARC set 1;");
    detail::hasher copy = running.copy();
    copy.update("ARC set 2 (own)");
    running.update("ARC set 2;");
    EXPECT_EQ(copy.finish(), detail::digest(h, "ARC set 1;ARC set 2 (own)"));
    EXPECT_EQ(running.finish(), detail::digest(h, "ARC set 1;ARC set 2;"));
  }
}

// One body hasher per (c=, hash) unless partial bodies are allowed: 50 AMSs with 50 l= values do
// not canonicalize the body 50 times.
TEST(ArcBodies, OneHasherPerCanonicalizationAndHashUnlessPartialBodiesAreAllowed) {
  for (const bool partial : {false, true}) {
    detail::arc_bodies bodies(partial);
    for (std::uint64_t l = 1; l <= 50; ++l) {
      signature s;
      s.algo = l % 2 ? algorithm::ed25519_sha256 : algorithm::rsa_sha256;
      s.body_canon = l % 3 ? canonicalization::relaxed : canonicalization::simple;
      s.body_length = l;
      bodies.add(s);
    }
    EXPECT_EQ(bodies.size(), partial ? 50u : 2u);
  }
}

TEST_F(ArcHostile, CommentEndingInABackslash) {
  for (const char* value : {"i=(\\", "i=(\\)", "(\\", "i=1 (\\"}) {
    EXPECT_FALSE(detail::arc_instance_of(detail::arc_kind::authentication_results, value))
        << value;
    const auto v = run("ARC-Authentication-Results: " + std::string(value) + "\r\n");
    EXPECT_EQ(v.result, arc_result::fail) << value;
    EXPECT_NE(v.reason.find("ARC-Authentication-Results field 1"), std::string::npos) << v.reason;
    EXPECT_EQ(queries, 0u);
  }
  EXPECT_EQ(*detail::arc_instance_of(detail::arc_kind::authentication_results, "i=(\\))2;"), 2u);
}

TEST_F(ArcHostile, MalformedHeaderWithArcFieldsFails) {
  const auto v =
      validate_arc(hostile_set("1") + " continuation first?\r\nnot a field\r\n\r\n", opts);
  EXPECT_NE(v.result, arc_result::pass);
}

}  // namespace
}  // namespace dkimkit

namespace dkimkit {
namespace {

// --- The sealer (arc_seal): sets it adds validate, and it refuses what RFC 8617 §5.1 refuses. ---

struct ArcSealer : ArcValidator {
  arc_seal_options options(std::string id = "mx.example.net") {
    arc_seal_options o;
    o.signing.sdid = "example.com";
    o.signing.selector = "arc";
    o.signing.key = test::ed25519();
    o.authserv_id = std::move(id);
    return o;
  }
  // The message with a new set on top, or "" (and a test failure) when sealing fails.
  std::string sealed_by(const std::string& message, const arc_seal_options& o) {
    const auto chain = validate_arc(message, opts);
    auto set = arc_seal(message, chain, o, kNow);
    EXPECT_TRUE(set.has_value()) << set.error().message();
    if (!set) return {};
    std::string out;
    for (const auto& f : *set) out += f + "\r\n";
    return out + message;
  }
  static std::string with_results(const std::string& id) {
    return "Authentication-Results: " + id + "; dkim=pass header.d=example.com;\r\n\tspf=pass\r\n" +
           test::sample_message();
  }
};

TEST_F(ArcSealer, ThreeHopsValidate) {
  std::string m = with_results("mx1.example.net");
  m = sealed_by(m, options("mx1.example.net"));
  m = "Authentication-Results: mx2.example.net; arc=pass\r\n" + m;
  m = sealed_by(m, options("mx2.example.net"));
  m = "Authentication-Results: mx3.example.net; arc=pass\r\n" + m;
  m = sealed_by(m, options("mx3.example.net"));
  const auto v = validate_arc(m, opts);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.sets, 3u);
  EXPECT_EQ(v.oldest_pass, 1u);
  ASSERT_TRUE(v.set_results[0].aar.has_value());
  EXPECT_EQ(v.set_results[0].aar->authserv_id, "mx1.example.net");
  ASSERT_EQ(v.set_results[0].aar->results.size(), 2u);  // dkim and spf copied
  EXPECT_EQ(v.set_results[0].aar->results[1].method, "spf");
  EXPECT_EQ(v.set_results[2].cv, "pass");
}

TEST_F(ArcSealer, GivenResultsAndTheDefaultHeaderList) {
  arc_seal_options o = options();
  o.results = "dkim=fail reason=\"body changed\"";
  const std::string m = sealed_by(test::sample_message(), o);
  const auto v = validate_arc(m, opts);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  ASSERT_TRUE(v.set_results[0].aar.has_value());
  EXPECT_EQ(v.set_results[0].aar->results[0].result, "fail");
  EXPECT_EQ(v.set_results[0].cv, "none");
  EXPECT_NE(m.find("h=from:from:to:subject:date:message-id"), std::string::npos);
}

// The names in the h= of the AMS of `set` (arc_seal's output), in order.
std::vector<std::string> ams_signed_names(const std::vector<std::string>& set) {
  std::vector<std::string> names;
  if (set.size() != 3) return names;
  std::string ams;
  for (char c : set[1])
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') ams += c;
  const auto at = ams.find(";h=");
  if (at == std::string::npos) return names;
  const std::string list = ams.substr(at + 3, ams.find(';', at + 3) - at - 3);
  for (std::size_t from = 0; from <= list.size();) {
    const auto colon = std::min(list.find(':', from), list.size());
    names.push_back(list.substr(from, colon - from));
    from = colon + 1;
  }
  return names;
}

TEST_F(ArcSealer, DefaultHeaderListSignsEachDkimSignatureOnce) {
  EXPECT_EQ(default_arc_signed_headers().back(), "DKIM-Signature");
  for (int signatures = 0; signatures <= 2; ++signatures) {
    std::string m = test::sample_message();
    for (int k = 0; k < signatures; ++k) m = test::sign_with(m, test::ed25519(), "arc");
    m = "Authentication-Results: mx.example.net; dkim=pass header.d=example.com\r\n" + m;
    auto set = arc_seal(m, validate_arc(m, opts), options(), kNow);
    ASSERT_TRUE(set.has_value()) << set.error().message();
    const auto names = ams_signed_names(*set);
    EXPECT_EQ(std::count(names.begin(), names.end(), "dkim-signature"), signatures) << set->at(1);
    for (const char* name : {"from", "to", "subject", "date", "message-id"})
      EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_EQ(std::count(names.begin(), names.end(), "from"), 2);  // over-signed, as for DKIM
    std::string sealed;
    for (const auto& f : *set) sealed += f + "\r\n";
    sealed += m;
    const auto v = validate_arc(sealed, opts);
    EXPECT_EQ(v.result, arc_result::pass) << v.reason;
    // DKIM-Signature is not over-signed: a DKIM signature added later does not break the AMS.
    const auto later = validate_arc(test::sign_with(sealed, test::ed25519(), "arc"), opts);
    EXPECT_EQ(later.result, arc_result::pass) << later.reason;
  }
}

TEST_F(ArcSealer, AnExplicitHeaderListGetsNoDkimSignature) {
  std::string m = test::sign_with(with_results("mx.example.net"), test::ed25519(), "arc");
  arc_seal_options o = options();
  o.signing.headers = std::vector<std::string>{"from", "subject"};
  auto set = arc_seal(m, validate_arc(m, opts), o, kNow);
  ASSERT_TRUE(set.has_value()) << set.error().message();
  EXPECT_EQ(ams_signed_names(*set), (std::vector<std::string>{"from", "subject"}));
}

TEST_F(ArcSealer, NoResultsOfThisServerIsRefused) {
  const std::string m = with_results("other.example.net");
  auto set = arc_seal(m, validate_arc(m, opts), options(), kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().detail.find("no Authentication-Results field of mx.example.net"),
            std::string::npos);
}

TEST_F(ArcSealer, SealingTwiceIsRefusedUnlessAllowed) {
  const std::string m = sealed_by(with_results("mx.example.net"), options());
  auto again = arc_seal(m, validate_arc(m, opts), options(), kNow);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().detail.find("already comes from mx.example.net"), std::string::npos);
  arc_seal_options o = options();
  o.allow_resealing = true;
  EXPECT_EQ(validate_arc(sealed_by(m, o), opts).result, arc_result::pass);
}

TEST_F(ArcSealer, AValidationOfAnotherMessageIsRefused) {
  const std::string m = sealed_by(with_results("mx.example.net"), options());
  auto set =
      arc_seal(m, validate_arc(test::sample_message(), opts), options("mx2.example.net"), kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, errc::invalid_argument);
}

TEST_F(ArcSealer, IdentityAndArcSealInTheAmsAreRefused) {
  arc_seal_options o = options();
  o.results = "none";
  o.signing.auid = "@example.com";
  EXPECT_FALSE(arc_seal(test::sample_message(), {}, o, kNow).has_value());
  o.signing.auid.reset();
  o.signing.headers = std::vector<std::string>{"from", "arc-seal"};
  EXPECT_FALSE(arc_seal(test::sample_message(), {}, o, kNow).has_value());
}

// A failed chain gets cv=fail and a seal over its own set only (RFC 8617 §5.1.1); a chain whose
// newest seal says cv=fail gets nothing more.
TEST_F(ArcSealer, FailedChainSealCoversOnlyItsOwnSet) {
  std::string m = sealed_by(with_results("mx1.example.net"), options("mx1.example.net"));
  m += "changed in transit\r\n";
  const auto chain = validate_arc(m, opts);
  ASSERT_EQ(chain.result, arc_result::fail);
  arc_seal_options o = options("mx2.example.net");
  o.results = "arc=fail";
  auto set = arc_seal(m, chain, o, kNow);
  ASSERT_TRUE(set.has_value()) << set.error().message();
  const std::string block = (*set)[2] + "\r\n" + (*set)[1] + "\r\n" + (*set)[0] + "\r\n";
  auto fields = parse_header_block(block);
  ASSERT_TRUE(fields.has_value() && fields->size() == 3);
  std::size_t off = 0, len = 0;
  auto seal = detail::parse_arc_seal((*fields)[2].value, {}, off, len);
  ASSERT_TRUE(seal.has_value());
  EXPECT_EQ(seal->cv, "fail");
  const std::vector<detail::arc_set_fields> own{{&(*fields)[0], &(*fields)[1], &(*fields)[2]}};
  std::string data;
  detail::canonicalize_arc_sets(own, off, len, data);
  auto key = parse_key_record(test::ed25519().public_record());
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(key->key->verify_digest(hash_algorithm::sha256,
                                      detail::digest(hash_algorithm::sha256, data),
                                      seal->sig.signature_data));
  std::string next = block + m;
  auto more = arc_seal(next, validate_arc(next, opts), options("mx3.example.net"), kNow);
  ASSERT_FALSE(more.has_value());
  EXPECT_NE(more.error().detail.find("cv=fail"), std::string::npos);
}

// A key of the chain that cannot be fetched for now: the chain fails (RFC 8617 has no temperror
// for arc=), its code says why, and the sealer refuses rather than fail the chain for good with
// cv=fail.
TEST_F(ArcSealer, ATemporaryDnsFailureIsNotSealedAsAFailure) {
  const std::string m = "Authentication-Results: mx2.example.net; arc=pass\r\n" +
                        sealed_by(with_results("mx1.example.net"), options("mx1.example.net"));
  static_resolver down;
  down.set_temporary("arc._domainkey.example.com");
  verify_options o = test::options_for(down);
  const auto chain = validate_arc(m, o);
  EXPECT_EQ(chain.result, arc_result::fail);
  EXPECT_EQ(chain.code, errc::dns_temporary) << chain.reason;
  EXPECT_EQ(status_of(chain.code), status::temperror);
  auto set = arc_seal(m, chain, options("mx2.example.net"), kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, errc::dns_temporary) << set.error().message();
  EXPECT_NE(set.error().detail.find("try again later"), std::string::npos);
  // Once the key answers, the same message is sealed with cv=pass.
  auto later = arc_seal(m, validate_arc(m, opts), options("mx2.example.net"), kNow);
  ASSERT_TRUE(later.has_value()) << later.error().message();
  EXPECT_NE(later->front().find("cv=pass"), std::string::npos) << later->front();
}

// A passing validation of a message with as many sets as this one but all its fields: this
// message's missing field is refused, never dereferenced.
TEST_F(ArcSealer, AValidationOfAMessageWithAllItsFieldsIsRefusedForOneWithAHole) {
  arc_seal_options o = options();
  o.results = "none";
  o.allow_resealing = true;
  const std::string whole = sealed_by(sealed_by(test::sample_message(), o), o);
  const auto chain = validate_arc(whole, opts);
  ASSERT_EQ(chain.result, arc_result::pass) << chain.reason;
  for (const char* field : {"ARC-Authentication-Results: i=1;", "ARC-Message-Signature: i=2;",
                            "ARC-Seal: i=1;"}) {
    std::string holed = whole;
    const auto at = holed.find(field);
    ASSERT_NE(at, std::string::npos) << field;
    holed.replace(at, std::string_view(field).find(':'), "X-Gone");
    auto set = arc_seal(holed, chain, o, kNow);
    ASSERT_FALSE(set.has_value()) << field;
    EXPECT_EQ(set.error().code, errc::invalid_argument) << field;
    EXPECT_NE(set.error().detail.find("not that of this message"), std::string::npos);
  }
}

// As the DKIM signer: a message without a From field, or with two, is not sealed (no AMS without
// From in h=, RFC 6376 §8.15).
TEST_F(ArcSealer, NoFromOrTwoFromFieldsAreRefused) {
  arc_seal_options o = options();
  o.results = "none";
  const std::string m = test::sample_message();
  const std::string no_from = m.substr(m.find("\r\n") + 2);
  auto set = arc_seal(no_from, validate_arc(no_from, opts), o, kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, errc::no_from);
  const std::string no_default = "X-Only: this\r\n\r\nbody\r\n";
  set = arc_seal(no_default, validate_arc(no_default, opts), o, kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, errc::no_from);
  const std::string two = "From: Mallory <ceo@example.com>\r\n" + m;
  set = arc_seal(two, validate_arc(two, opts), o, kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, errc::multiple_from);
}

// d= of the AMS is lowercased as that of the AS (and of a DKIM signature) is.
TEST_F(ArcSealer, TheSigningDomainIsLowercasedInBothSignatures) {
  arc_seal_options o = options();
  o.results = "none";
  o.signing.sdid = "Example.COM";
  auto set = arc_seal(test::sample_message(), {}, o, kNow);
  ASSERT_TRUE(set.has_value()) << set.error().message();
  EXPECT_NE((*set)[0].find("d=example.com;"), std::string::npos) << (*set)[0];
  EXPECT_NE((*set)[1].find("d=example.com;"), std::string::npos) << (*set)[1];
  EXPECT_EQ((*set)[1].find("Example.COM"), std::string::npos) << (*set)[1];
  std::string m;
  for (const auto& f : *set) m += f + "\r\n";
  const auto v = validate_arc(m + test::sample_message(), opts);
  EXPECT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.set_results[0].ams_domain, "example.com");
}

TEST_F(ArcSealer, FiftySetsAreTheLimit) {
  arc_seal_options o = options();
  o.results = "none";
  o.allow_resealing = true;
  std::string m = test::sample_message();
  for (int k = 0; k < 50; ++k) m = sealed_by(m, o);
  const auto v = validate_arc(m, opts);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.sets, 50u);
  auto set = arc_seal(m, v, o, kNow);
  ASSERT_FALSE(set.has_value());
  EXPECT_NE(set.error().detail.find("50 sets"), std::string::npos);
}

}  // namespace
}  // namespace dkimkit
