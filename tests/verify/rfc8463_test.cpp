// RFC 8463 Appendix A: the example message signed with ed25519-sha256 and rsa-sha256, its keys as
// a zone file (tests/data/rfc/, see the README there).
#include <dkimkit/verifier.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <dkimkit/signer.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "canon/header_canon.hpp"
#include "crypto/crypto.hpp"
#include "support/test_keys.hpp"
#include "tag_list/tag_list.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

zone_resolver rfc8463_zone() {
  auto z = zone_resolver::load_file(std::string(DKIMKIT_TEST_DATA_DIR) + "/rfc/rfc8463.zone");
  EXPECT_TRUE(z) << (z ? "" : z.error().message());
  if (!z) return std::move(zone_resolver::load_string("").value());
  return std::move(*z);
}

verify_options options(const zone_resolver& zone) {
  verify_options o;
  o.resolver = &zone;
  o.now = [] { return test::kNow; };
  return o;
}

// RFC 8463 Appendix A.3: both signatures of the example verify with the keys of A.2.
TEST(rfc8463, both_signatures_pass) {
  const zone_resolver zone = rfc8463_zone();
  const std::string msg = test::read_data("rfc/rfc8463.eml");
  ASSERT_FALSE(msg.empty());
  auto r = verify(msg, options(zone));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(r[0].selector, "brisbane");
  EXPECT_EQ(r[0].sdid, "football.example.com");
  EXPECT_EQ(r[0].auid, "@football.example.com");
  EXPECT_EQ(r[0].key_type, key_type::ed25519);
  EXPECT_EQ(r[0].key_bits, 256u);
  EXPECT_EQ(r[1].status, status::pass) << r[1].reason;
  EXPECT_EQ(r[1].algorithm, "rsa-sha256");
  EXPECT_EQ(r[1].selector, "test");
  EXPECT_EQ(r[1].key_type, key_type::rsa);
  EXPECT_EQ(r[1].key_bits, 1024u);
  EXPECT_EQ(overall(r), status::pass);
}

// The example survives being fed a byte at a time and with Unix line endings.
TEST(rfc8463, byte_at_a_time_and_lf) {
  const zone_resolver zone = rfc8463_zone();
  const std::string msg = test::read_data("rfc/rfc8463.eml");
  verifier v(options(zone));
  for (char c : msg) v.update(std::string_view(&c, 1));
  auto r = v.finish();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[1].status, status::pass) << r[1].reason;
  std::string lf;
  for (char c : msg)
    if (c != '\r') lf += c;
  auto l = verify(lf, options(zone));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].status, status::pass) << l[0].reason;
  EXPECT_EQ(l[1].status, status::pass) << l[1].reason;
}

// Changes to the example are detected by both signatures.
TEST(rfc8463, tampering_detected) {
  const zone_resolver zone = rfc8463_zone();
  std::string msg = test::read_data("rfc/rfc8463.eml");
  std::string body = msg;
  body.replace(body.find("hungry"), 6, "thirsty");
  for (const auto& v : verify(body, options(zone))) EXPECT_EQ(v.code, errc::body_hash_mismatch);
  std::string subject = msg;
  subject.replace(subject.find("dinner ready"), 12, "lunch ready!");
  for (const auto& v : verify(subject, options(zone))) EXPECT_EQ(v.code, errc::signature_mismatch);
}

// RFC 8463 A.1/A.2: the private keys of A.1 load and match the published keys of A.2.
TEST(rfc8463, private_keys_match_published_keys) {
  auto ed = private_key::load(test::read_data("rfc/rfc8463-ed25519.seed"));
  ASSERT_TRUE(ed) << ed.error().message();
  EXPECT_EQ(ed->type(), key_type::ed25519);
  EXPECT_EQ(ed->public_record_value(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto rsa = private_key::load(test::read_data("rfc/rfc8463-rsa.pem"));
  ASSERT_TRUE(rsa) << rsa.error().message();
  EXPECT_EQ(rsa->type(), key_type::rsa);
  EXPECT_EQ(rsa->bits(), 1024u);
  const zone_resolver zone = rfc8463_zone();
  const txt_answer a = zone.lookup_txt("test._domainkey.football.example.com");
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0], "v=DKIM1; k=rsa; p=" + rsa->public_record_value());
}

// RFC 8463 A.3: signing the same data with the A.1 keys reproduces the RFC's b= values exactly
// (Ed25519 and RSASSA-PKCS1-v1_5 are deterministic). This checks the header hash input (§3.7) and
// the signing primitive against the RFC independently of the verifier.
TEST(rfc8463, signing_reproduces_rfc_b_values) {
  const std::string msg = test::read_data("rfc/rfc8463.eml");
  auto view = parse_message(msg);
  ASSERT_TRUE(view);
  auto ed = private_key::load(test::read_data("rfc/rfc8463-ed25519.seed"));
  auto rsa = private_key::load(test::read_data("rfc/rfc8463-rsa.pem"));
  ASSERT_TRUE(ed && rsa);
  int checked = 0;
  for (const header_field& f : view->fields) {
    if (!iequals(f.name, "DKIM-Signature")) continue;
    auto tags = detail::parse_tag_list(f.value);
    ASSERT_TRUE(tags);
    const auto* b = detail::find_tag(*tags, "b");
    const auto* a = detail::find_tag(*tags, "a");
    const auto* h = detail::find_tag(*tags, "h");
    ASSERT_TRUE(b && a && h);
    std::vector<std::string> names;
    for (std::string_view n : detail::split(h->value, ':')) names.emplace_back(detail::trim_fws(n));
    std::string data;
    detail::canonicalize_signed_headers(canonicalization::relaxed, view->fields, names, data);
    detail::canonicalize_signature_field(canonicalization::relaxed, f, b->value_offset,
                                         b->value.size(), data);
    EXPECT_EQ(data.substr(data.size() - 3), " b=");
    const private_key& key = a->value == "ed25519-sha256" ? *ed : *rsa;
    auto sig = key.sign_digest(hash_algorithm::sha256, detail::digest(hash_algorithm::sha256, data));
    ASSERT_TRUE(sig);
    EXPECT_EQ(detail::base64_encode(*sig), detail::strip_fws(b->value)) << a->value;
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

}  // namespace
}  // namespace dkimkit
