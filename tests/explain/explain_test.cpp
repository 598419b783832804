// The explanation model (dkimkit/explain.hpp) on real signed messages: it is built from the
// verifier's own parse (verification::tags, parsed, key, canonical_body_length) and says what each
// result means.
#include <gtest/gtest.h>

#include <dkimkit/explain.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/zone_resolver.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using test::kNow;

// The bundled demo (samples/): two signatures (demo-rsa, demo-ed) over a message from
// example.com, h= over-signing From, and the zone with both keys.
std::string sample(const std::string& name) { return test::read_data("../../samples/" + name); }

const zone_resolver& sample_zone() {
  static const zone_resolver zone = [] {
    auto z = zone_resolver::load_string(sample("example.com.zone"), "example.com");
    EXPECT_TRUE(z) << (z ? "" : z.error().message());
    return std::move(*z);
  }();
  return zone;
}

// explain() on a message with the demo zone as the key source and the test clock.
explanation explain_demo(const std::string& message, std::size_t max_signatures = 5) {
  verify_options o = test::options_for(sample_zone());
  o.max_signatures = max_signatures;
  return explain(message, o);
}

std::vector<std::string> tag_names(const signature_explanation& s) {
  std::vector<std::string> out;
  for (const auto& t : s.tags) out.push_back(t.name);
  return out;
}

const explained_tag* find_tag(const signature_explanation& s, std::string_view name) {
  for (const auto& t : s.tags)
    if (t.name == name) return &t;
  return nullptr;
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// sample_message() signed with rsa2048 under selector "rsa", with the options `tune` sets.
std::string signed_message(void (*tune)(sign_options&), std::string message = {}) {
  sign_options o;
  o.sdid = "example.com";
  o.selector = "rsa";
  o.key = test::rsa2048();
  tune(o);
  if (message.empty()) message = test::sample_message();
  auto fields = sign(message, {o}, kNow);
  EXPECT_TRUE(fields) << (fields ? "" : fields.error().message());
  return fields && !fields->empty() ? (*fields)[0] + "\r\n" + message : message;
}

struct published {
  static_resolver dns;
  published() { dns.add("rsa._domainkey.example.com", test::rsa2048().public_record()); }
  verify_options options(std::uint64_t now = kNow) {
    verify_options o = test::options_for(dns);
    o.now = [now] { return now; };
    return o;
  }
};

TEST(Explain, SampleMessageBothSignaturesPassWithTheirTagsKeyAndFields) {
  const explanation e = explain_demo(sample("signed.eml"));

  EXPECT_EQ(e.result, status::pass);
  EXPECT_EQ(e.from_domain, "example.com");
  EXPECT_EQ(e.from_error, "");
  EXPECT_TRUE(e.earlier_results.empty());
  ASSERT_EQ(e.signatures.size(), 2u);
  const signature_explanation& rsa = e.signatures[0];
  const signature_explanation& ed = e.signatures[1];
  EXPECT_EQ(tag_names(rsa), (std::vector<std::string>{"v", "a", "c", "d", "s", "h", "bh", "b"}));
  for (const auto& t : rsa.tags) EXPECT_GT(t.meaning.size(), 10u) << t.name;
  EXPECT_EQ(find_tag(rsa, "a")->meaning, "algorithm: an RSA key signed a SHA-256 hash");
  EXPECT_EQ(find_tag(ed, "a")->meaning,
            "algorithm: an Ed25519 key (RFC 8463) signed a SHA-256 hash");
  EXPECT_EQ(find_tag(rsa, "h")->value,
            "from:from:to:subject:date:message-id:mime-version:content-type");  // folding gone

  // The verifier's own parse is what the explanation shows.
  ASSERT_TRUE(rsa.result.parsed);
  EXPECT_EQ(find_tag(rsa, "b")->value, rsa.result.parsed->signature_b64);
  EXPECT_EQ(rsa.result.status, status::pass);
  EXPECT_EQ(rsa.key_name, "demo-rsa._domainkey.example.com");
  EXPECT_EQ(ed.key_name, "demo-ed._domainkey.example.com");
  ASSERT_TRUE(rsa.result.key);
  EXPECT_EQ(rsa.result.key->type, key_type::rsa);
  EXPECT_EQ(rsa.result.key->key->bits(), 2048u);
  ASSERT_TRUE(ed.result.key);
  EXPECT_EQ(ed.result.key->type, key_type::ed25519);
  EXPECT_TRUE(rsa.result.canonical_body_length.has_value());

  EXPECT_EQ(rsa.identity, "@example.com");
  EXPECT_TRUE(rsa.identity_default);
  ASSERT_FALSE(rsa.signed_fields.empty());
  EXPECT_EQ(rsa.signed_fields[0].name, "from");
  EXPECT_EQ(rsa.signed_fields[0].signed_times, 2u);
  EXPECT_EQ(rsa.signed_fields[0].present, 1u);
  EXPECT_NE(rsa.signed_fields[0].note.find("over-signed"), std::string::npos);
  EXPECT_EQ(rsa.oversigned, std::vector<std::string>{"from"});
  EXPECT_TRUE(rsa.unsigned_fields.empty());
  EXPECT_EQ(rsa.aligned, alignment::strict);
  EXPECT_FALSE(rsa.timestamp.has_value());
  EXPECT_FALSE(rsa.body_length.has_value());
  EXPECT_EQ(rsa.likely_cause, "");  // a pass needs no advice
  EXPECT_EQ(rsa.what_to_check, "");
}

TEST(Explain, ChangedBodyIsBlamedOnTheBody) {
  const explanation e =
      explain_demo(replace(sample("signed.eml"), "Revenue is up 4", "Revenue is up 40"));
  EXPECT_EQ(e.result, status::fail);
  ASSERT_EQ(e.signatures.size(), 2u);
  for (const auto& s : e.signatures) {
    EXPECT_EQ(s.result.code, errc::body_hash_mismatch);
    EXPECT_NE(s.likely_cause.find("body changed"), std::string::npos) << s.likely_cause;
    EXPECT_FALSE(s.what_to_check.empty());
  }
}

TEST(Explain, ChangedSignedFieldPointsAtCheckKey) {
  const explanation e = explain_demo(
      replace(sample("signed.eml"), "Subject: Quarterly", "Subject: [list] Quarterly"));
  ASSERT_EQ(e.signatures.size(), 2u);
  EXPECT_EQ(e.signatures[0].result.code, errc::signature_mismatch);
  EXPECT_NE(e.signatures[0].what_to_check.find("dkimkit check-key -d example.com -s demo-rsa"),
            std::string::npos);
}

TEST(Explain, MissingKeyNamesWhereToPublishIt) {
  static_resolver empty;
  verify_options o = test::options_for(empty);
  const explanation e = explain(sample("signed.eml"), o);
  ASSERT_EQ(e.signatures.size(), 2u);
  EXPECT_EQ(e.signatures[0].result.code, errc::key_not_found);
  EXPECT_FALSE(e.signatures[0].result.key);
  EXPECT_NE(e.signatures[0].likely_cause.find("demo-rsa._domainkey.example.com"),
            std::string::npos);
}

TEST(Explain, DatesAgainstTheClock) {
  published p;
  const std::string m = signed_message([](sign_options& o) { o.expire_after = 86400; });
  const explanation before = explain(m, p.options(kNow + 100));
  ASSERT_EQ(before.signatures.size(), 1u);
  const signature_explanation& s = before.signatures[0];
  EXPECT_EQ(s.result.status, status::pass);
  ASSERT_TRUE(s.timestamp && s.expiration);
  EXPECT_EQ(s.timestamp->unix_time, kNow);
  EXPECT_EQ(s.timestamp->date, "2026-01-01 00:00:00 UTC");
  EXPECT_FALSE(s.timestamp->in_future);
  EXPECT_TRUE(s.timestamp->passed);
  EXPECT_EQ(s.expiration->unix_time, kNow + 86400);
  EXPECT_FALSE(s.expiration->passed);
  EXPECT_EQ(find_tag(s, "t")->meaning, "signed at 2026-01-01 00:00:00 UTC (100 seconds ago)");
  EXPECT_NE(find_tag(s, "x")->meaning.find("not yet: in 23 hours"), std::string::npos);

  const explanation after = explain(m, p.options(kNow + 3 * 86400));
  const signature_explanation& late = after.signatures[0];
  EXPECT_EQ(late.result.code, errc::signature_expired);
  EXPECT_TRUE(late.expiration->passed);
  EXPECT_NE(find_tag(late, "x")->meaning.find("has passed, 2 days ago"), std::string::npos);
  EXPECT_NE(late.likely_cause.find("expiry"), std::string::npos);

  // Without a clock: the dates, and nothing relative to now.
  verify_options no_clock = p.options();
  no_clock.now = nullptr;
  const explanation timeless = explain(m, no_clock);
  EXPECT_FALSE(timeless.now.has_value());
  EXPECT_EQ(find_tag(timeless.signatures[0], "t")->meaning, "signed at 2026-01-01 00:00:00 UTC");
  EXPECT_FALSE(timeless.signatures[0].expiration->passed);
}

TEST(Explain, BodyLengthFactsFromTheVerifierAndForAnEarlyDecision) {
  published p;
  const std::string m = signed_message([](sign_options& o) {
    o.body_length = true;
    o.expire_after = 3600;
  });
  const std::string appended = m + "Click here: https://evil.example/\r\n";

  const explanation e = explain(appended, p.options());
  const signature_explanation& s = e.signatures[0];
  EXPECT_EQ(s.result.code, errc::body_length_partial);
  ASSERT_TRUE(s.body_length);
  ASSERT_TRUE(s.result.canonical_body_length);  // the verifier hashed the body
  EXPECT_EQ(s.body_length->body_length, *s.result.canonical_body_length);
  EXPECT_EQ(s.body_length->signed_length, *s.result.parsed->body_length);
  EXPECT_EQ(s.body_length->body_length - s.body_length->signed_length,
            std::string_view("Click here: https://evil.example/\r\n").size());
  EXPECT_NE(s.body_length->risk.find("append"), std::string::npos);

  // Expired: decided before the body was hashed; the explanation still gives the same facts.
  const explanation late = explain(appended, p.options(kNow + 86400));
  const signature_explanation& l = late.signatures[0];
  EXPECT_EQ(l.result.code, errc::signature_expired);
  EXPECT_FALSE(l.result.canonical_body_length);
  ASSERT_TRUE(l.body_length);
  EXPECT_EQ(l.body_length->body_length, s.body_length->body_length);
  EXPECT_EQ(l.body_length->signed_length, s.body_length->signed_length);

  // The whole body signed: l= still lets anyone append.
  const explanation whole = explain(m, p.options());
  EXPECT_EQ(whole.signatures[0].result.status, status::pass);
  EXPECT_EQ(whole.signatures[0].body_length->signed_length,
            whole.signatures[0].body_length->body_length);
  EXPECT_NE(whole.signatures[0].body_length->risk.find("would let anyone append"),
            std::string::npos);
}

TEST(Explain, SignaturesNotEvaluatedAreStillExplained) {
  const explanation e = explain_demo(sample("signed.eml"), 1);
  ASSERT_EQ(e.signatures.size(), 2u);
  const signature_explanation& second = e.signatures[1];
  EXPECT_EQ(second.result.code, errc::not_evaluated);
  ASSERT_TRUE(second.result.parsed);  // parsed, though neither fetched nor checked
  EXPECT_FALSE(second.result.key);
  EXPECT_EQ(second.key_name, "demo-ed._domainkey.example.com");
  EXPECT_EQ(second.oversigned, std::vector<std::string>{"from"});
  EXPECT_NE(second.likely_cause.find("than the 1 evaluated"), std::string::npos);
}

TEST(Explain, MalformedFieldsSayWhatDoesNotParse) {
  // A tag list that does not parse (a duplicate tag), and one that parses but lacks bh=.
  std::string m = sample("signed.eml");
  m = replace(m, "s=demo-rsa;", "s=demo-rsa; s=other;");
  m = replace(m, "bh=SXk10L+X8KJooR6d/Ub+7zcbHceACgzbfvumBDtIFUE=; b=+dM2", "b=+dM2");
  const explanation e = explain_demo(m);
  ASSERT_EQ(e.signatures.size(), 2u);
  const signature_explanation& dup = e.signatures[0];
  EXPECT_EQ(dup.result.status, status::neutral);
  EXPECT_TRUE(dup.tags.empty());
  EXPECT_NE(dup.tag_error, "");
  EXPECT_EQ(dup.tag_error, dup.result.reason);
  EXPECT_FALSE(dup.result.parsed);
  EXPECT_NE(dup.likely_cause.find("malformed"), std::string::npos);
  EXPECT_EQ(dup.key_name, "");
  EXPECT_FALSE(dup.aligned.has_value());

  const signature_explanation& nobh = e.signatures[1];
  EXPECT_EQ(nobh.result.status, status::neutral);
  EXPECT_EQ(nobh.tag_error, "");
  EXPECT_EQ(tag_names(nobh), (std::vector<std::string>{"v", "a", "c", "d", "s", "h", "b"}));
  EXPECT_NE(nobh.signature_error, "");
  EXPECT_EQ(nobh.signature_error, nobh.result.reason);
}

TEST(Explain, UnknownTagsAndDecodedIdentity) {
  published p;
  const std::string m = signed_message([](sign_options& o) { o.auid = "a=b@example.com"; });
  const explanation e = explain(replace(m, "v=1;", "v=1; foo=bar;"), p.options());
  const signature_explanation& s = e.signatures[0];
  EXPECT_EQ(find_tag(s, "foo")->meaning, "not defined by RFC 6376: ignored");
  EXPECT_EQ(s.identity, "a=b@example.com");
  EXPECT_FALSE(s.identity_default);
  EXPECT_NE(find_tag(s, "i")->meaning.find("decoded: a=b@example.com"), std::string::npos);
}

TEST(Explain, CanonicalizationIsReadAsTheVerifierReadsIt) {
  // c= is read by parse_canonicalization, the verifier's parser: "relaxed" alone means
  // relaxed/simple, and a value it refuses is said to be one nobody can check.
  published p;
  const std::string m = signed_message([](sign_options& o) {
    o.header_canon = canonicalization::relaxed;
    o.body_canon = canonicalization::simple;
  });
  const explanation e = explain(replace(m, "c=relaxed/simple", "c=relaxed"), p.options());
  const std::string& words = find_tag(e.signatures[0], "c")->meaning;
  EXPECT_NE(words.find("header relaxed: "), std::string::npos) << words;
  EXPECT_NE(words.find("body simple: "), std::string::npos) << words;

  const explanation bad = explain(replace(m, "c=relaxed/simple", "c=relaxed/foo"), p.options());
  const signature_explanation& s = bad.signatures[0];
  EXPECT_EQ(s.result.status, status::neutral);
  const std::string& bad_words = find_tag(s, "c")->meaning;
  EXPECT_NE(bad_words.find("unknown canonicalization 'foo'"), std::string::npos) << bad_words;
  EXPECT_NE(bad_words.find("verifiers cannot check this signature"), std::string::npos);
  EXPECT_EQ(bad_words.find("header relaxed"), std::string::npos) << bad_words;
}

TEST(Explain, EarlierHopsAndTheAuthorDomain) {
  published p;
  const std::string body_and_header =
      "Authentication-Results: mx.example.net; dkim=pass header.d=example.com; spf=fail\r\n"
      "Authentication-Results: broken;;\r\n" +
      test::sample_message();
  const std::string m = signed_message([](sign_options&) {}, body_and_header);
  const explanation e = explain(m, p.options());
  EXPECT_EQ(e.from_domain, "example.com");
  ASSERT_EQ(e.earlier_results.size(), 2u);
  ASSERT_TRUE(e.earlier_results[0].field);
  EXPECT_EQ(e.earlier_results[0].field->authserv_id, "mx.example.net");
  ASSERT_EQ(e.earlier_results[0].field->results.size(), 2u);
  EXPECT_EQ(e.earlier_results[0].field->results[1].method, "spf");
  EXPECT_FALSE(e.earlier_results[1].field);
  EXPECT_NE(e.earlier_results[1].error, "");
  EXPECT_EQ(e.earlier_results[1].raw, "broken;;");

  // Two mailboxes in From: no author domain, so no signature aligns.
  const std::string two = signed_message(
      [](sign_options&) {}, replace(test::sample_message(), "From: Alice <alice@example.com>",
                                    "From: alice@example.com, eve@evil.example"));
  const explanation t = explain(two, p.options());
  EXPECT_EQ(t.from_domain, "");
  EXPECT_NE(t.from_error.find("2 mailboxes"), std::string::npos) << t.from_error;
  EXPECT_EQ(t.signatures[0].aligned, alignment::no);
}

TEST(Explain, UnsignedMessageHasNoSignatures) {
  published p;
  const explanation e = explain(test::sample_message(), p.options());
  EXPECT_EQ(e.result, status::none);
  EXPECT_TRUE(e.signatures.empty());
}

TEST(Explain, ResultWithoutAFieldOfItsOwn) {
  published p;
  verify_options o = p.options();
  o.header.max_header_bytes = 64;  // the header is cut before any DKIM-Signature is seen
  const std::string m =
      "X-Filler: " + std::string(200, 'x') + "\r\n" + signed_message([](sign_options&) {});
  const explanation e = explain(m, o);
  ASSERT_EQ(e.signatures.size(), 1u);
  EXPECT_FALSE(e.signatures[0].has_field);
  EXPECT_EQ(e.signatures[0].result.code, errc::header_too_large);
  EXPECT_NE(e.signatures[0].likely_cause.find("header block"), std::string::npos);
}

TEST(VerifierHeaderFields, FieldIndexNamesTheSignatureField) {
  published p;
  const std::string m = signed_message([](sign_options&) {});
  verifier v(p.options());
  v.update(m);
  const auto results = v.finish();
  ASSERT_EQ(results.size(), 1u);
  const auto& fields = v.header_fields();
  ASSERT_LT(results[0].field_index, fields.size());
  EXPECT_TRUE(iequals(fields[results[0].field_index].name, "DKIM-Signature"));
  EXPECT_EQ(fields.size(), 6u);  // the signature and sample_message()'s five fields
  ASSERT_TRUE(results[0].tags);
  EXPECT_EQ(results[0].tags->front().name, "v");
}

}  // namespace
}  // namespace dkimkit
