// hashed_data(): the bytes one DKIM-Signature hashes (RFC 6376 §3.7), checked against what the
// signer signed and what the verifier checks: SHA-256 of `header` verifies against b= with the
// signer's key, and SHA-256 of `body` is bh=.
#include <gtest/gtest.h>

#include <dkimkit/canon.hpp>
#include <dkimkit/key_record.hpp>
#include <dkimkit/signer.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.hpp"
#include "support/test_keys.hpp"
#include "util/base64.hpp"

namespace dkimkit {
namespace {

using test::kNow;

constexpr canonicalization kSimple = canonicalization::simple;
constexpr canonicalization kRelaxed = canonicalization::relaxed;

sign_options options(const private_key& key, canonicalization header, canonicalization body,
                     bool body_length = false) {
  sign_options o;
  o.sdid = "example.com";
  o.selector = "sel";
  o.key = key;
  o.header_canon = header;
  o.body_canon = body;
  o.body_length = body_length;
  return o;
}

// The message with the new DKIM-Signature field on top.
std::string signed_message(std::string_view message, const sign_options& o) {
  auto f = sign(message, {o}, kNow);
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  if (!f || f->size() != 1) return {};
  return (*f)[0] + "\r\n" + std::string(message);
}

// A body with the white space that tells the canonicalizations apart, and trailing empty lines.
std::string spaced_message() {
  return "From: Alice <alice@example.com>\r\n"
         "To:  Bob <bob@example.org> \r\n"
         "Subject: Lunch\r\n"
         "\tat noon\r\n"
         "\r\n"
         "Shall  we meet \t at noon?  \r\n"
         "\r\n"
         "Alice\r\n"
         "\r\n"
         "\r\n";
}

const std::vector<std::pair<canonicalization, canonicalization>>& all_canons() {
  static const std::vector<std::pair<canonicalization, canonicalization>> c = {
      {kSimple, kSimple}, {kSimple, kRelaxed}, {kRelaxed, kSimple}, {kRelaxed, kRelaxed}};
  return c;
}

// §3.7: b= signs the hash of the header hash input; the signer's public key verifies the SHA-256
// of `header` against the b= of the signature, for each canonicalization and key type.
TEST(hashed_data, header_digest_verifies_against_b) {
  for (const private_key* key : {&test::ed25519(), &test::rsa2048()}) {
    auto rec = parse_key_record(key->public_record());
    ASSERT_TRUE(rec) << rec.error().message();
    for (auto [h, b] : all_canons()) {
      const std::string msg = signed_message(spaced_message(), options(*key, h, b));
      auto in = hashed_data(msg, 0);
      ASSERT_TRUE(in) << in.error().message();
      auto sig = parse_signature(parse_message(msg)->fields[0].value);
      ASSERT_TRUE(sig);
      EXPECT_EQ(in->header_canon, h);
      EXPECT_EQ(in->body_canon, b);
      EXPECT_EQ(in->hash, hash_algorithm::sha256);
      EXPECT_TRUE(rec->key->verify_digest(in->hash, detail::digest(in->hash, in->header),
                                          sig->signature_data))
          << to_string(h) << "/" << to_string(b) << "\n"
          << in->header;
      // A header hash input with one byte more no longer verifies.
      EXPECT_FALSE(rec->key->verify_digest(in->hash, detail::digest(in->hash, in->header + " "),
                                           sig->signature_data));
    }
  }
}

// Ed25519 (RFC 8463) is deterministic: signing the digest of `header` again gives the very b=
// the signer wrote, so `header` is byte for byte what the signer hashed.
TEST(hashed_data, ed25519_signature_is_reproduced_from_header) {
  for (auto [h, b] : all_canons()) {
    const std::string msg = signed_message(spaced_message(), options(test::ed25519(), h, b));
    auto in = hashed_data(msg, 0);
    ASSERT_TRUE(in) << in.error().message();
    auto sig = parse_signature(parse_message(msg)->fields[0].value);
    ASSERT_TRUE(sig);
    auto again = test::ed25519().sign_digest(in->hash, detail::digest(in->hash, in->header));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, sig->signature_data);
  }
}

// §3.7: the header hash input ends with the signature's own field, b= emptied, no final CRLF.
TEST(hashed_data, header_ends_with_own_field_b_emptied) {
  const std::string msg =
      signed_message(spaced_message(), options(test::ed25519(), kRelaxed, kRelaxed));
  auto in = hashed_data(msg, 0);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->header.rfind("dkim-signature:v=1;", 0), std::string::npos);  // not first
  EXPECT_NE(in->header.find("\r\ndkim-signature:v=1; "), std::string::npos);
  EXPECT_TRUE(in->header.ends_with("; b=")) << in->header;
  EXPECT_EQ(in->header.rfind("from:Alice <alice@example.com>\r\n", 0), 0u);
}

// §3.7: bh= is the hash of the canonical body, for both canonicalizations.
TEST(hashed_data, body_digest_equals_bh) {
  for (auto [h, b] : all_canons()) {
    const std::string msg = signed_message(spaced_message(), options(test::ed25519(), h, b));
    auto in = hashed_data(msg, 0);
    ASSERT_TRUE(in);
    EXPECT_EQ(detail::digest(in->hash, in->body), in->body_hash);
    EXPECT_EQ(in->body_length_total, in->body.size());
    EXPECT_FALSE(in->body_length);
  }
  auto simple =
      hashed_data(signed_message(spaced_message(), options(test::ed25519(), kSimple, kSimple)), 0);
  auto relaxed = hashed_data(
      signed_message(spaced_message(), options(test::ed25519(), kRelaxed, kRelaxed)), 0);
  ASSERT_TRUE(simple && relaxed);
  // §3.4.3: simple drops only the trailing empty lines; §3.4.4: relaxed also folds WSP runs.
  EXPECT_EQ(simple->body, "Shall  we meet \t at noon?  \r\n\r\nAlice\r\n");
  EXPECT_EQ(relaxed->body, "Shall we meet at noon?\r\n\r\nAlice\r\n");
}

// §3.5 l=: the body is cut at l= canonical octets; text added after signing is not in it, and
// body_length_total counts it.
TEST(hashed_data, body_cut_at_l) {
  for (auto [h, b] : all_canons()) {
    const std::string msg =
        signed_message(spaced_message(), options(test::ed25519(), h, b, /*body_length=*/true));
    const std::string appended = msg + "--\r\nA mailing list footer\r\n";
    auto in = hashed_data(appended, 0);
    ASSERT_TRUE(in) << in.error().message();
    ASSERT_TRUE(in->body_length);
    EXPECT_EQ(in->body.size(), *in->body_length);
    EXPECT_GT(in->body_length_total, *in->body_length);
    EXPECT_EQ(detail::base64_encode(detail::digest(in->hash, in->body)),
              detail::base64_encode(in->body_hash));
    auto whole = hashed_data(msg, 0);
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->body, in->body);
    EXPECT_EQ(whole->body_length_total, *whole->body_length);
  }
}

// RFC 6376 §3.4.5: the example header and body, canonicalized both ways, as hashed by a
// signature that lists A and B.
TEST(hashed_data, rfc6376_canonicalization_example) {
  const std::string tail = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  auto with = [&](std::string_view c) {
    return "DKIM-Signature: v=1; a=rsa-sha256; c=" + std::string(c) +
           "; d=example.com; s=sel; h=a:b:from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
           "b=AAAA\r\nFrom: a@example.com\r\n" +
           tail;
  };
  auto relaxed = hashed_data(with("relaxed/relaxed"), 0);
  ASSERT_TRUE(relaxed) << relaxed.error().message();
  EXPECT_EQ(relaxed->header,
            "a:X\r\nb:Y Z\r\nfrom:a@example.com\r\ndkim-signature:v=1; a=rsa-sha256; "
            "c=relaxed/relaxed; d=example.com; s=sel; h=a:b:from; "
            "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=");
  EXPECT_EQ(relaxed->body, " C\r\nD E\r\n");
  auto simple = hashed_data(with("simple/simple"), 0);
  ASSERT_TRUE(simple) << simple.error().message();
  EXPECT_EQ(simple->header,
            "A: X\r\nB : Y\t\r\n\tZ  \r\nFrom: a@example.com\r\nDKIM-Signature: v=1; "
            "a=rsa-sha256; c=simple/simple; d=example.com; s=sel; h=a:b:from; "
            "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=");
  EXPECT_EQ(simple->body, " C \r\nD \t E\r\n");
  EXPECT_EQ(simple->field_index, 0u);
  EXPECT_EQ(simple->signature_count, 1u);
}

// Signatures are numbered from 0, topmost first; each gets its own field in its hash input.
TEST(hashed_data, selects_signature_by_number) {
  const std::string once =
      signed_message(test::sample_message(), options(test::ed25519(), kRelaxed, kRelaxed));
  sign_options second = options(test::rsa2048(), kSimple, kSimple);
  second.selector = "top";
  const std::string twice = signed_message(once, second);
  auto top = hashed_data(twice, 0);
  auto below = hashed_data(twice, 1);
  ASSERT_TRUE(top && below);
  EXPECT_EQ(top->signature_count, 2u);
  EXPECT_EQ(top->field_index, 0u);
  EXPECT_EQ(below->field_index, 1u);
  EXPECT_NE(top->header.find("s=top;"), std::string::npos);
  EXPECT_EQ(below->header.find("s=top;"), std::string::npos);
  EXPECT_EQ(below->header, hashed_data(once, 0)->header);
  EXPECT_EQ(top->header_canon, kSimple);
  EXPECT_EQ(below->header_canon, kRelaxed);
}

// The verifier normalizes bare LF to CRLF before hashing; so does hashed_data().
TEST(hashed_data, bare_lf_is_normalized) {
  const std::string msg =
      signed_message(spaced_message(), options(test::ed25519(), kSimple, kSimple));
  std::string lf;
  for (char c : msg)
    if (c != '\r') lf += c;
  auto a = hashed_data(msg, 0);
  auto b = hashed_data(lf, 0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->header, b->header);
  EXPECT_EQ(a->body, b->body);
}

TEST(hashed_data, no_such_signature_is_invalid_argument) {
  const std::string msg =
      signed_message(test::sample_message(), options(test::ed25519(), kRelaxed, kRelaxed));
  auto in = hashed_data(msg, 4);
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, errc::invalid_argument);
  EXPECT_EQ(in.error().detail,
            "no DKIM-Signature number 5: the message has 1 DKIM-Signature field");
  auto none = hashed_data(test::sample_message(), 0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::invalid_argument);
}

TEST(hashed_data, signature_that_does_not_parse_is_named) {
  const std::string msg = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from\r\n" +
                          test::sample_message();
  auto in = hashed_data(msg, 0);
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, errc::tag_missing);
  EXPECT_EQ(in.error().detail.rfind("DKIM-Signature 1: ", 0), 0u) << in.error().detail;
  signature_limits tiny;
  tiny.max_field_bytes = 10;
  auto big = hashed_data(
      signed_message(test::sample_message(), options(test::ed25519(), kRelaxed, kRelaxed)), 0, {},
      tiny);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, errc::signature_too_large);
}

TEST(hashed_data, message_that_does_not_parse) {
  auto in = hashed_data("no colon on this line\r\nFrom: a@example.com\r\n\r\nbody\r\n", 0);
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, errc::malformed_header);
  EXPECT_EQ(in.error().detail.rfind("the message does not parse", 0), 0u) << in.error().detail;
}

}  // namespace
}  // namespace dkimkit
