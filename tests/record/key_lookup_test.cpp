// From a DNS answer to a usable key (RFC 6376 §3.6.2, §6.1.2; RFC 8301 §3.2): the key name,
// key_record_from_answer() and key_record_problems(), shared by the verifier and check-key.
#include <dkimkit/key_record.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <dkimkit/verifier.hpp>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

const std::string kName = "sel._domainkey.example.com";

txt_answer found(std::vector<std::string> records) {
  txt_answer a;
  a.status = dns_status::found;
  a.records = std::move(records);
  return a;
}

std::string ed_record() { return test::ed25519().public_record(); }

// RFC 6376 §3.6.2.1: selector, "_domainkey", domain; as given, no trailing dot.
TEST(key_name, joins_selector_and_domain) {
  EXPECT_EQ(key_name("sel", "example.com"), "sel._domainkey.example.com");
  EXPECT_EQ(key_name("a.b", "mail.example.org"), "a.b._domainkey.mail.example.org");
  EXPECT_EQ(key_name("Sel", "Example.COM"), "Sel._domainkey.Example.COM");  // no case folding
  signature sig;
  sig.selector = "brisbane";
  sig.sdid = "example.net";
  EXPECT_EQ(sig.key_name(), key_name("brisbane", "example.net"));
}

// The selector and domain together must leave a DNS name of at most 253 octets.
TEST(key_name, signature_limit_counts_the_whole_name) {
  const std::string domain =
      std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + ".example";
  auto value = [&](const std::string& selector) {
    return "v=1; a=ed25519-sha256; d=" + domain + "; s=" + selector +
           "; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
  };
  const std::string fits(253 - 12 - domain.size(), 's');  // 12: "._domainkey."
  EXPECT_EQ(key_name(fits, domain).size(), 253u);
  EXPECT_TRUE(parse_signature(value(fits)));
  auto over = parse_signature(value(fits + "s"));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, errc::bad_selector);
}

// RFC 8301 §3.2: one floor, the verifier's default.
TEST(key_floor, is_the_verifier_default) {
  EXPECT_EQ(rfc8301_min_rsa_bits, 1024u);
  EXPECT_EQ(verify_options{}.min_rsa_bits, rfc8301_min_rsa_bits);
}

txt_answer answer(dns_status status, std::string detail = {}) {
  txt_answer a;
  a.status = status;
  a.detail = std::move(detail);
  return a;
}

// RFC 6376 §6.1.2: how each kind of answer ends, with the verifier's codes and texts.
TEST(key_record_from_answer, classifies_each_answer) {
  const struct {
    txt_answer in;
    errc code;
    std::string detail;
  } cases[] = {
      {answer(dns_status::temporary, "SERVFAIL"), errc::dns_temporary, kName + ": SERVFAIL"},
      {answer(dns_status::nxdomain), errc::key_not_found, kName + " does not exist (NXDOMAIN)"},
      {answer(dns_status::nodata), errc::key_not_found, kName + " has no TXT record"},
      {found({}), errc::key_not_found, kName + " has no DKIM key record"},
  };
  for (const auto& c : cases) {
    auto r = key_record_from_answer(c.in, kName);
    ASSERT_FALSE(r) << c.detail;
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().detail, c.detail);
  }
}

// RFC 6376 §3.6.2.2: TXT records that are not key records are ignored; two key records are
// ambiguous, whatever else is there.
TEST(key_record_from_answer, picks_the_one_key_record) {
  auto r = key_record_from_answer(found({"v=spf1 -all", "google-site-verification=x"}), kName);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_not_found);
  EXPECT_EQ(r.error().detail, kName + " has no DKIM key record");

  r = key_record_from_answer(found({"v=spf1 -all", ed_record(), "hello"}), kName);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->type, key_type::ed25519);
  ASSERT_TRUE(r->key);
  EXPECT_EQ(r->key->bits(), 256u);

  r = key_record_from_answer(found({ed_record(), "x=1", test::rsa2048().public_record()}), kName);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_ambiguous);
  EXPECT_EQ(r.error().detail, kName + " has 2 DKIM key records");
}

// The one key record's own faults are parse_key_record()'s, limits included.
TEST(key_record_from_answer, record_faults_pass_through) {
  auto r = key_record_from_answer(found({"v=DKIM1; k=ed25519; p="}), kName);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_revoked);
  r = key_record_from_answer(found({"v=DKIM1; s=web; p=" + test::ed25519().public_record_value()}),
                             kName);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_service_mismatch);
  key_limits small;
  small.max_rsa_bits = 1024;
  r = key_record_from_answer(found({test::rsa2048().public_record()}), kName, small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::key_too_large);
  EXPECT_TRUE(key_record_from_answer(found({test::rsa2048().public_record()}), kName));
}

// With a cache, the record is parsed once for every answer that carries it.
TEST(key_record_from_answer, uses_the_cache_given) {
  key_cache cache;
  auto a = key_record_from_answer(found({ed_record()}), kName, {}, &cache);
  auto b =
      key_record_from_answer(found({"v=spf1 -all", ed_record()}), "other." + kName, {}, &cache);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->key, b->key);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 1u);
  // Nothing reaches the cache when the answer has no single key record.
  EXPECT_FALSE(key_record_from_answer(found({ed_record(), ed_record()}), kName, {}, &cache));
  EXPECT_EQ(cache.misses() + cache.hits(), 2u);
}

key_record parsed(const std::string& txt) {
  auto r = parse_key_record(txt);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : key_record{};
}

signature signed_with(algorithm algo, std::optional<std::string> auid = std::nullopt) {
  signature s;
  s.algo = algo;
  s.sdid = "example.com";
  s.selector = "sel";
  s.auid = std::move(auid);
  return s;
}

std::vector<errc> codes(const std::vector<error>& problems) {
  std::vector<errc> out;
  for (const auto& e : problems) out.push_back(e.code);
  return out;
}

TEST(key_record_problems, a_fitting_key_has_none) {
  EXPECT_TRUE(
      key_record_problems(parsed(ed_record()), signed_with(algorithm::ed25519_sha256)).empty());
  EXPECT_TRUE(key_record_problems(parsed(test::rsa1024().public_record()),
                                  signed_with(algorithm::rsa_sha256, "user@example.com"))
                  .empty());
  // t=s with i= exactly d= (any local part, any case).
  const std::string strict = "v=DKIM1; k=ed25519; t=s; p=" + test::ed25519().public_record_value();
  EXPECT_TRUE(
      key_record_problems(parsed(strict), signed_with(algorithm::ed25519_sha256, "x@EXAMPLE.com"))
          .empty());
}

// Each check alone, with the verifier's texts.
TEST(key_record_problems, each_check) {
  auto p = key_record_problems(parsed(ed_record()), signed_with(algorithm::rsa_sha256));
  ASSERT_EQ(codes(p), std::vector{errc::key_type_mismatch});
  EXPECT_EQ(p[0].detail, "a=rsa-sha256 with a k=ed25519 key");

  const std::string ed_p = test::ed25519().public_record_value();
  p = key_record_problems(parsed("v=DKIM1; k=ed25519; h=sha1; p=" + ed_p),
                          signed_with(algorithm::ed25519_sha256));
  ASSERT_EQ(codes(p), std::vector{errc::key_hash_mismatch});
  EXPECT_EQ(p[0].detail, "the key's h= does not list sha256");

  p = key_record_problems(parsed("v=DKIM1; k=ed25519; t=s; p=" + ed_p),
                          signed_with(algorithm::ed25519_sha256, "u@mail.example.com"));
  ASSERT_EQ(codes(p), std::vector{errc::key_strict_subdomain});
  EXPECT_EQ(p[0].detail, "key t=s and i= is in a subdomain of d=");

  p = key_record_problems(parsed(test::rsa_small(768).public_record()),
                          signed_with(algorithm::rsa_sha256));
  ASSERT_EQ(codes(p), std::vector{errc::key_too_small});
  EXPECT_EQ(p[0].detail, "768-bit RSA key, 1024 needed (min_rsa_bits; RFC 8301 §3.2)");
}

// The floor is a parameter; Ed25519 keys have no floor.
TEST(key_record_problems, rsa_floor) {
  const key_record rsa1024 = parsed(test::rsa1024().public_record());
  const signature sig = signed_with(algorithm::rsa_sha256);
  EXPECT_TRUE(key_record_problems(rsa1024, sig, 1024).empty());
  auto p = key_record_problems(rsa1024, sig, 2048);
  ASSERT_EQ(codes(p), std::vector{errc::key_too_small});
  EXPECT_EQ(p[0].detail, "1024-bit RSA key, 2048 needed (min_rsa_bits; RFC 8301 §3.2)");
  EXPECT_TRUE(key_record_problems(parsed(ed_record()), signed_with(algorithm::ed25519_sha256), 4096)
                  .empty());
}

// Every problem, in the verifier's order: k=, h=, t=s, size.
TEST(key_record_problems, all_in_order) {
  const std::string small_p = test::rsa_small(512).public_record_value();
  auto p = key_record_problems(parsed("v=DKIM1; k=rsa; h=sha1; t=s; p=" + small_p),
                               signed_with(algorithm::rsa_sha256, "@sub.example.com"));
  EXPECT_EQ(codes(p), (std::vector{errc::key_hash_mismatch, errc::key_strict_subdomain,
                                   errc::key_too_small}));
  p = key_record_problems(parsed("v=DKIM1; k=rsa; h=sha1; p=" + small_p),
                          signed_with(algorithm::ed25519_sha256));
  EXPECT_EQ(codes(p),
            (std::vector{errc::key_type_mismatch, errc::key_hash_mismatch, errc::key_too_small}));
}

}  // namespace
}  // namespace dkimkit
