// The ARC part of the explanation (explanation::arc): the chain from dkimkit::validate_arc, set by
// set, newest first, with what each hop found (cv=), its seal and message signature, the likely
// cause of a failure and what the hop recorded (ARC-Authentication-Results). The chains are
// sealed with the library's arc_seal by two sealers: example.net (Ed25519), example.org (RSA).
#include <gtest/gtest.h>

#include <dkimkit/arc.hpp>
#include <dkimkit/explain.hpp>
#include <dkimkit/resolver.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

using test::kNow;

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// `m` with the first `from` replaced by `to` (a test failure when there is none).
std::string changed(std::string m, std::string_view from, std::string_view to) {
  const auto at = m.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) m.replace(at, from.size(), to);
  return m;
}

struct ExplainArc : ::testing::Test {
  static_resolver dns;
  verify_options opts;
  ExplainArc() {
    dns.add("arc._domainkey.example.net", test::ed25519().public_record());
    dns.add("seal._domainkey.example.org", test::rsa2048().public_record());
    opts = test::options_for(dns);
  }

  // `message` with a set on top sealed by `sealer` ("example.net" or "example.org") as
  // authserv-id `id`, recording `results`; cv= from `chain`, the validation of the message as
  // the hop received it (by default `message` itself).
  std::string sealed(const std::string& message, const std::string& sealer, const std::string& id,
                     const std::string& results = "dkim=pass header.d=example.com",
                     const std::optional<arc_validation>& chain = std::nullopt) {
    arc_seal_options o;
    o.signing.sdid = sealer;
    o.signing.selector = sealer == "example.net" ? "arc" : "seal";
    o.signing.key = sealer == "example.net" ? test::ed25519() : test::rsa2048();
    o.signing.headers = std::vector<std::string>{"from", "to", "subject"};
    o.authserv_id = id;
    o.results = results;
    auto set = arc_seal(message, chain ? *chain : validate_arc(message, opts), o, kNow);
    EXPECT_TRUE(set.has_value()) << set.error().message();
    if (!set) return message;
    std::string out;
    for (const auto& f : *set) out += f + "\r\n";
    return out + message;
  }
  // Two hops: mx1.example.net (example.net) then list.example.org (example.org).
  std::string two_hops(const std::string& message = test::sample_message()) {
    return sealed(sealed(message, "example.net", "mx1.example.net"), "example.org",
                  "list.example.org", "arc=pass; dkim=fail reason=\"footer\"");
  }
  std::vector<unsigned> instances(const arc_explanation& a) {
    std::vector<unsigned> out;
    for (const auto& s : a.newest_first) out.push_back(s.instance);
    return out;
  }
};

TEST_F(ExplainArc, NoArcFieldsNoArcPart) {
  const explanation e = explain(test::sample_message(), opts);
  EXPECT_FALSE(e.arc.has_value());
}

TEST_F(ExplainArc, OneSetPasses) {
  const explanation e =
      explain(sealed(test::sample_message(), "example.net", "mx1.example.net"), opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  EXPECT_EQ(a.result, arc_result::pass) << a.reason;
  EXPECT_EQ(a.sets, 1u);
  EXPECT_EQ(a.oldest_pass, 1u);
  EXPECT_EQ(a.reason, "");
  EXPECT_TRUE(contains(a.meaning, "chain of custody is intact")) << a.meaning;
  ASSERT_EQ(a.newest_first.size(), 1u);
  const explained_arc_set& s = a.newest_first[0];
  EXPECT_EQ(s.instance, 1u);
  EXPECT_EQ(s.cv, "none");
  EXPECT_TRUE(contains(s.cv_meaning, "first hop")) << s.cv_meaning;
  EXPECT_EQ(s.seal.result, status::pass);
  EXPECT_EQ(s.seal.domain, "example.net");
  EXPECT_EQ(s.seal.selector, "arc");
  EXPECT_EQ(s.seal.key_name, "arc._domainkey.example.net");
  ASSERT_TRUE(s.seal.timestamp.has_value());
  EXPECT_EQ(s.seal.timestamp->unix_time, kNow);
  EXPECT_EQ(s.seal.likely_cause, "");
  EXPECT_EQ(s.seal.not_evaluated, "");
  EXPECT_EQ(s.ams.result, status::pass);
  EXPECT_EQ(s.ams.domain, "example.net");
  EXPECT_EQ(s.ams_signed_fields, (std::vector<std::string>{"from", "to", "subject"}));
  ASSERT_TRUE(s.said.field.has_value());
  EXPECT_EQ(s.said.field->authserv_id, "mx1.example.net");
  ASSERT_EQ(s.said.field->results.size(), 1u);
  EXPECT_EQ(s.said.field->results[0].method, "dkim");
  EXPECT_EQ(s.said.field->results[0].result, "pass");
  EXPECT_TRUE(contains(s.said.raw, "i=1; mx1.example.net; dkim=pass")) << s.said.raw;
}

TEST_F(ExplainArc, TwoSetsPassNewestFirst) {
  const explanation e = explain(two_hops(), opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  EXPECT_EQ(a.result, arc_result::pass) << a.reason;
  EXPECT_EQ(a.sets, 2u);
  ASSERT_EQ(instances(a), (std::vector<unsigned>{2, 1}));
  EXPECT_EQ(a.newest_first[0].seal.domain, "example.org");
  EXPECT_EQ(a.newest_first[0].seal.key_name, "seal._domainkey.example.org");
  EXPECT_EQ(a.newest_first[1].seal.domain, "example.net");
  EXPECT_EQ(a.newest_first[0].cv, "pass");
  EXPECT_TRUE(contains(a.newest_first[0].cv_meaning, "found the chain it received valid"));
  EXPECT_EQ(a.newest_first[1].cv, "none");
  ASSERT_TRUE(a.newest_first[0].said.field.has_value());
  EXPECT_EQ(a.newest_first[0].said.field->authserv_id, "list.example.org");
  ASSERT_EQ(a.newest_first[0].said.field->results.size(), 2u);
  EXPECT_EQ(a.newest_first[0].said.field->results[1].reason, "footer");
  for (const auto& s : a.newest_first) {
    EXPECT_EQ(s.seal.result, status::pass) << s.instance;
    EXPECT_EQ(s.ams.result, status::pass) << s.instance;
  }
}

TEST_F(ExplainArc, BodyChangedAfterTheNewestSealBlamesTheBody) {
  const explanation e = explain(two_hops() + "-- \r\nlist footer\r\n", opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  EXPECT_EQ(a.result, arc_result::fail);
  EXPECT_TRUE(contains(a.reason, "ARC-Message-Signature i=2")) << a.reason;
  EXPECT_TRUE(contains(a.meaning, "the chain is broken")) << a.meaning;
  ASSERT_EQ(instances(a), (std::vector<unsigned>{2, 1}));
  const explained_arc_set& newest = a.newest_first[0];
  EXPECT_EQ(newest.ams.result, status::fail);
  EXPECT_EQ(newest.ams.code, errc::body_hash_mismatch);
  EXPECT_TRUE(contains(newest.ams.likely_cause, "the body changed after this hop sealed it"))
      << newest.ams.likely_cause;
  EXPECT_NE(newest.ams.what_to_check, "");
  // Nothing older was checked, and each says why.
  EXPECT_EQ(newest.seal.result, status::none);
  EXPECT_TRUE(contains(newest.seal.not_evaluated, "failed at the newest ARC-Message-Signature"))
      << newest.seal.not_evaluated;
  const explained_arc_set& oldest = a.newest_first[1];
  EXPECT_EQ(oldest.ams.result, status::none);
  EXPECT_TRUE(contains(oldest.ams.not_evaluated, "the newest ARC-Message-Signature i=2 failed"))
      << oldest.ams.not_evaluated;
  EXPECT_EQ(oldest.ams.likely_cause, "");
}

TEST_F(ExplainArc, BodyChangedBetweenHopsGivesOldestPass) {
  // A mailing list: it validates the chain it receives (pass), adds a footer, then seals.
  const std::string first = sealed(test::sample_message(), "example.net", "mx1.example.net");
  const std::string m = sealed(first + "added by a list\r\n", "example.org", "list.example.org",
                               "arc=pass", validate_arc(first, opts));
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  ASSERT_EQ(a.result, arc_result::pass) << a.reason;
  EXPECT_EQ(a.oldest_pass, 2u);
  EXPECT_TRUE(contains(a.meaning, "changed after hop i=1 sealed it")) << a.meaning;
  ASSERT_EQ(instances(a), (std::vector<unsigned>{2, 1}));
  EXPECT_EQ(a.newest_first[0].ams.result, status::pass);
  EXPECT_EQ(a.newest_first[1].ams.result, status::fail);
  EXPECT_TRUE(contains(a.newest_first[1].ams.likely_cause, "the body changed"));
  EXPECT_EQ(a.newest_first[1].seal.result, status::pass);
}

TEST_F(ExplainArc, AlteredArcFieldFailsTheNewestSeal) {
  const std::string m =
      changed(two_hops(), "i=1; mx1.example.net; dkim=pass", "i=1; mx1.example.net; dkim=fail");
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  EXPECT_EQ(a.result, arc_result::fail);
  ASSERT_EQ(instances(a), (std::vector<unsigned>{2, 1}));
  const explained_arc_signature& seal2 = a.newest_first[0].seal;
  EXPECT_EQ(seal2.result, status::fail);
  EXPECT_TRUE(contains(seal2.likely_cause, "ARC fields of sets 1 to 2 were altered"))
      << seal2.likely_cause;
  EXPECT_TRUE(contains(seal2.what_to_check, "dkimkit check-key -d example.org -s seal"))
      << seal2.what_to_check;
  EXPECT_EQ(a.newest_first[0].ams.result, status::pass);  // the message itself is intact
  const explained_arc_signature& seal1 = a.newest_first[1].seal;
  EXPECT_EQ(seal1.result, status::none);
  EXPECT_TRUE(contains(seal1.not_evaluated, "the newer ARC-Seal i=2 failed first"))
      << seal1.not_evaluated;
}

TEST_F(ExplainArc, MalformedAmsAndMissingKeySayWhatToCheck) {
  const std::string m = changed(two_hops(), "ARC-Message-Signature: i=2; a=rsa-sha256",
                                "ARC-Message-Signature: i=2; a=rsa-sha999");
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  const explained_arc_signature& ams = e.arc->newest_first[0].ams;
  EXPECT_NE(ams.result, status::pass);
  EXPECT_EQ(ams.key_name, "");
  EXPECT_TRUE(contains(ams.likely_cause, "ARC-Message-Signature of i=2 is malformed"))
      << ams.likely_cause;

  // The key of the newest sealer is not published: the DKIM wording for a missing key.
  static_resolver only_first;
  only_first.add("arc._domainkey.example.net", test::ed25519().public_record());
  const explanation k = explain(two_hops(), test::options_for(only_first));
  ASSERT_TRUE(k.arc.has_value());
  EXPECT_EQ(k.arc->result, arc_result::fail);
  const explained_arc_signature& newest = k.arc->newest_first[0].ams;
  EXPECT_EQ(newest.code, errc::key_not_found);
  EXPECT_TRUE(contains(newest.likely_cause,
                       "no key record is published at "
                       "seal._domainkey.example.org"))
      << newest.likely_cause;
  EXPECT_TRUE(contains(newest.what_to_check, "dkimkit check-key -d example.org -s seal"))
      << newest.what_to_check;
}

TEST_F(ExplainArc, CvFailChainStaysFailed) {
  const std::string first = sealed(test::sample_message(), "example.net", "mx1.example.net");
  const std::string m =
      sealed(first + "changed\r\n", "example.org", "list.example.org", "arc=fail");
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  const arc_explanation& a = *e.arc;
  EXPECT_EQ(a.result, arc_result::fail);
  EXPECT_TRUE(contains(a.reason, "cv=fail")) << a.reason;
  EXPECT_TRUE(contains(a.meaning, "the newest hop (i=2) already found it broken")) << a.meaning;
  ASSERT_EQ(instances(a), (std::vector<unsigned>{2, 1}));
  const explained_arc_set& newest = a.newest_first[0];
  EXPECT_EQ(newest.cv, "fail");
  EXPECT_TRUE(contains(newest.cv_meaning, "a chain once failed stays failed")) << newest.cv_meaning;
  for (const auto& s : a.newest_first) {
    EXPECT_EQ(s.seal.result, status::none) << s.instance;
    EXPECT_EQ(s.ams.result, status::none) << s.instance;
    EXPECT_TRUE(contains(s.ams.not_evaluated, "cv=fail")) << s.ams.not_evaluated;
  }
  EXPECT_EQ(a.newest_first[1].cv, "none");
}

TEST_F(ExplainArc, AnAarThatDoesNotParseIsShownRaw) {
  const std::string m = sealed(test::sample_message(), "example.net", "mx1.example.net",
                               "dkim=pass (an unclosed comment");
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  EXPECT_EQ(e.arc->result, arc_result::pass) << e.arc->reason;  // the seal covers it as it is
  ASSERT_EQ(e.arc->newest_first.size(), 1u);
  const earlier_result& said = e.arc->newest_first[0].said;
  EXPECT_FALSE(said.field.has_value());
  EXPECT_NE(said.error, "");
  EXPECT_TRUE(contains(said.raw, "(an unclosed comment")) << said.raw;
}

TEST_F(ExplainArc, BrokenStructureHasNoSetsButAReason) {
  // An ARC-Seal without the other two members of its set.
  const std::string m = "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc; b=AAAA\r\n" +
                        test::sample_message();
  const explanation e = explain(m, opts);
  ASSERT_TRUE(e.arc.has_value());
  EXPECT_EQ(e.arc->result, arc_result::fail);
  EXPECT_TRUE(e.arc->newest_first.empty());
  EXPECT_TRUE(contains(e.arc->reason, "no ARC-Authentication-Results i=1")) << e.arc->reason;
}

}  // namespace
}  // namespace dkimkit
