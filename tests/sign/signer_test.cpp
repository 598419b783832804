// The signer (RFC 6376 §5, RFC 8463, RFC 8301): what it signs, what it refuses, how it folds.
#include <dkimkit/signer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/verifier.hpp>

#include "support/test_keys.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

using test::kNow;

sign_options options(const private_key& key, std::string selector = "sel") {
  sign_options o;
  o.sdid = "example.com";
  o.selector = std::move(selector);
  o.key = key;
  return o;
}

std::string sign_one(std::string_view message, const sign_options& o) {
  auto f = sign(message, {o}, kNow);
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  if (!f || f->size() != 1) return {};
  return (*f)[0];
}

errc sign_error(std::string_view message, const sign_options& o) {
  auto f = sign(message, {o}, kNow);
  return f ? errc::ok : f.error().code;
}

// The parsed DKIM-Signature of a produced field.
signature parsed(const std::string& field) {
  EXPECT_EQ(field.rfind("DKIM-Signature:", 0), 0u) << field;
  auto s = parse_signature(std::string_view(field).substr(15));
  EXPECT_TRUE(s) << (s ? "" : s.error().message()) << "\n" << field;
  return s ? *s : signature{};
}

std::vector<verification> verify_with(const std::string& msg, const private_key& key,
                                      std::string_view selector = "sel",
                                      verify_options extra = {}) {
  static_resolver dns;
  dns.add(std::string(selector) + "._domainkey.example.com", key.public_record());
  verify_options o = test::options_for(dns);
  o.allow_partial_body = extra.allow_partial_body;
  if (extra.max_signatures != verify_options{}.max_signatures) o.max_signatures = extra.max_signatures;
  return verify(msg, o);
}

status verify_status(const std::string& msg, const private_key& key) {
  auto r = verify_with(msg, key);
  EXPECT_EQ(r.size(), 1u);
  if (r.size() != 1) return status::none;
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  return r[0].status;
}

// Lines of a folded field (split on CRLF).
std::vector<std::string> lines_of(const std::string& field) {
  std::vector<std::string> out;
  for (std::string_view l : detail::split(field, '\n')) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    out.emplace_back(l);
  }
  return out;
}

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters, excluding the CRLF; folds are CRLF WSP.
void expect_folded_within_78(const std::string& field) {
  EXPECT_EQ(field.find("\r\n\r\n"), std::string::npos);
  EXPECT_NE(field.back(), '\n') << "no final line ending";
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(field[i - 1], '\r') << "bare LF in the field";
      ASSERT_LT(i + 1, field.size());
      EXPECT_TRUE(field[i + 1] == ' ' || field[i + 1] == '\t') << "line break that is not a fold";
    }
    if (field[i] == '\r') {
      EXPECT_EQ(field[i + 1], '\n');
    }
  }
  for (const std::string& line : lines_of(field))
    EXPECT_LE(line.size(), 78u) << "line of " << line.size() << ": " << line;
}

// --- which header fields are signed (RFC 6376 §5.4) ---------------------------------------------

// §5.4.1/§5.4.2: by default the usual fields that are present, each as often as it occurs, and
// From once more than it occurs (§8.15 over-signing).
TEST(signer, default_headers_sign_present_fields_and_oversign_from) {
  const std::string field = sign_one(test::sample_message(), options(test::ed25519()));
  const signature s = parsed(field);
  EXPECT_EQ(s.signed_headers,
            (std::vector<std::string>{"from", "from", "to", "subject", "date", "message-id"}));
  const std::string msg = field + "\r\n" + test::sample_message();
  EXPECT_EQ(verify_status(msg, test::ed25519()), status::pass);
}

// §5.4.2: fields that occur several times are all signed (bottom-up selection).
TEST(signer, repeated_fields_signed_each_time) {
  const std::string message =
      "From: a@example.com\r\nTo: b@example.org\r\nTo: c@example.org\r\nX-Not-Default: 1\r\n\r\nhi\r\n";
  const signature s = parsed(sign_one(message, options(test::ed25519())));
  EXPECT_EQ(s.signed_headers, (std::vector<std::string>{"from", "from", "to", "to"}));
}

// Field names are matched case-insensitively when counting; h= is written in lower case.
TEST(signer, default_headers_any_case) {
  const std::string message = "FROM: a@example.com\r\nsubject: s\r\nCC: x@example.net\r\n\r\nhi\r\n";
  const std::string field = sign_one(message, options(test::ed25519()));
  EXPECT_EQ(parsed(field).signed_headers,
            (std::vector<std::string>{"from", "from", "cc", "subject"}));
  EXPECT_EQ(verify_status(field + "\r\n" + message, test::ed25519()), status::pass);
}

// Over-signing can be turned off.
TEST(signer, oversign_from_off) {
  sign_options o = options(test::ed25519());
  o.oversign_from = false;
  EXPECT_EQ(parsed(sign_one(test::sample_message(), o)).signed_headers,
            (std::vector<std::string>{"from", "to", "subject", "date", "message-id"}));
}

// signer.hpp: an explicit h= list is used exactly as given (lowercased), absent names included
// (which protects against their addition); to over-sign a name, list it twice.
TEST(signer, explicit_headers_used_as_given) {
  sign_options o = options(test::ed25519());
  o.headers = std::vector<std::string>{"From", "Subject", "X-Absent", "subject", "FROM"};
  const std::string field = sign_one(test::sample_message(), o);
  EXPECT_EQ(parsed(field).signed_headers,
            (std::vector<std::string>{"from", "subject", "x-absent", "subject", "from"}));
  const std::string msg = field + "\r\n" + test::sample_message();
  EXPECT_EQ(verify_status(msg, test::ed25519()), status::pass);
  // To is not signed now: changing it does not matter; adding X-Absent or a Subject does.
  std::string changed = msg;
  changed.replace(changed.find("To: Bob"), 7, "To: Rob");
  EXPECT_EQ(verify_with(changed, test::ed25519())[0].status, status::pass);
  std::string added = msg;
  added.replace(added.find("Subject:"), 8, "X-Absent: new\r\nSubject:");
  EXPECT_EQ(verify_with(added, test::ed25519())[0].code, errc::signature_mismatch);
  std::string second_subject = msg;
  second_subject.replace(second_subject.find("Subject:"), 8, "Subject: spam\r\nSubject:");
  EXPECT_EQ(verify_with(second_subject, test::ed25519())[0].code, errc::signature_mismatch);
  // oversign_from applies to the default list only.
  o.headers = std::vector<std::string>{"From", "To"};
  o.oversign_from = true;
  EXPECT_EQ(parsed(sign_one(test::sample_message(), o)).signed_headers,
            (std::vector<std::string>{"from", "to"}));
}

// RFC 6376 §5.4: "The From header field MUST be signed"; bad names are refused.
TEST(signer, explicit_headers_checked) {
  sign_options o = options(test::ed25519());
  o.headers = std::vector<std::string>{"To", "Subject"};
  EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument);
  for (const char* bad : {"", "Sub ject", "Sub:ject", "Sub;ject", "Sub\xc3\xa9"}) {
    o.headers = std::vector<std::string>{"From", bad};
    EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument) << bad;
  }
}

// --- tags ---------------------------------------------------------------------------------------

// §3.5: the tags written by default: v, a, c, d, s, t, h, bh, b; no i=, x=, l=.
TEST(signer, default_tags) {
  const signature s = parsed(sign_one(test::sample_message(), options(test::rsa2048())));
  EXPECT_EQ(s.algo, algorithm::rsa_sha256);
  EXPECT_EQ(s.header_canon, canonicalization::relaxed);
  EXPECT_EQ(s.body_canon, canonicalization::relaxed);
  EXPECT_EQ(s.sdid, "example.com");
  EXPECT_EQ(s.selector, "sel");
  EXPECT_EQ(s.timestamp, kNow);
  EXPECT_FALSE(s.expiration);
  EXPECT_FALSE(s.auid);
  EXPECT_FALSE(s.body_length);
  EXPECT_EQ(s.signature_data.size(), 256u);
  const signature e = parsed(sign_one(test::sample_message(), options(test::ed25519())));
  EXPECT_EQ(e.algo, algorithm::ed25519_sha256);
  EXPECT_EQ(e.signature_data.size(), 64u);
}

// §3.5 t=: optional.
TEST(signer, timestamp_optional) {
  sign_options o = options(test::ed25519());
  o.timestamp = false;
  const std::string field = sign_one(test::sample_message(), o);
  EXPECT_FALSE(parsed(field).timestamp);
  EXPECT_EQ(verify_status(field + "\r\n" + test::sample_message(), test::ed25519()), status::pass);
}

// §3.5 i=: the AUID, in d= or a subdomain; anything else is refused.
TEST(signer, auid) {
  sign_options o = options(test::ed25519());
  o.auid = "alice@mail.example.com";
  const std::string field = sign_one(test::sample_message(), o);
  EXPECT_EQ(parsed(field).auid, "alice@mail.example.com");
  auto r = verify_with(field + "\r\n" + test::sample_message(), test::ed25519());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[0].auid, "alice@mail.example.com");
  for (const char* bad : {"alice@example.org", "alice@badexample.com", "example.com",
                          "a\rb@example.com", "a\nb@example.com", "a\x7f@example.com"}) {
    o.auid = bad;
    EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument) << bad;
  }
}

// §2.11, §3.5: i= is dkim-quoted-printable; the signer writes "=XX" for every octet that is not
// a dkim-safe-char (";", "=", space, 8-bit), and the verifier reads back the identity given.
TEST(signer, auid_is_written_quoted_printable) {
  struct row {
    std::string auid, written;
  };
  for (const row& r : std::vector<row>{
           {"a=b;c@mail.example.com", "i=a=3Db=3Bc@mail.example.com;"},
           {"\"john doe\"@example.com", "i=\"john=20doe\"@example.com;"},
           {"j\xc3\xb6rg@example.com", "i=j=C3=B6rg@example.com;"},
           {"plain.user+tag@example.com", "i=plain.user+tag@example.com;"}}) {
    sign_options o = options(test::ed25519());
    o.auid = r.auid;
    const std::string field = sign_one(test::sample_message(), o);
    EXPECT_NE(field.find(r.written), std::string::npos) << field;
    EXPECT_EQ(parsed(field).auid, r.auid);
    auto v = verify_with(field + "\r\n" + test::sample_message(), test::ed25519());
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].status, status::pass) << v[0].reason;
    // Reported as decoded when it is printable ASCII; 8-bit identities are left out.
    EXPECT_EQ(v[0].auid, detail::is_printable_ascii(r.auid) ? r.auid : "") << r.auid;
  }
}

// §3.5 x=: t= plus the given lifetime; verifies before, policy after.
TEST(signer, expiration) {
  sign_options o = options(test::ed25519());
  o.expire_after = 3600;
  const std::string field = sign_one(test::sample_message(), o);
  const signature s = parsed(field);
  EXPECT_EQ(s.timestamp, kNow);
  EXPECT_EQ(s.expiration, kNow + 3600);
  const std::string msg = field + "\r\n" + test::sample_message();
  EXPECT_EQ(verify_status(msg, test::ed25519()), status::pass);
  static_resolver dns;
  dns.add("sel._domainkey.example.com", test::ed25519().public_record());
  verify_options later = test::options_for(dns);
  later.now = [] { return kNow + 7200; };
  auto r = verify(msg, later);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, errc::signature_expired);
}

// §3.5 x=: "the value of the "x=" tag MUST be greater than the value of the "t=" tag if both are
// present". A lifetime of 0 would write x= equal to t=.
TEST(signer, zero_lifetime_never_writes_x_equal_to_t) {
  sign_options o = options(test::ed25519());
  o.expire_after = 0;
  auto f = sign(test::sample_message(), {o}, kNow);
  if (!f) {
    EXPECT_EQ(f.error().code, errc::invalid_argument);  // refusing is fine
    return;
  }
  const std::string field = (*f)[0];
  auto s = parse_signature(std::string_view(field).substr(15));
  ASSERT_TRUE(s) << "x= equal to t= (" << field.substr(0, 120)
                 << "...), which parse_signature refuses: " << s.error().message();
  ASSERT_TRUE(s->timestamp && s->expiration);
  EXPECT_GT(*s->expiration, *s->timestamp);
}

// §3.5 l=: the canonicalized body length (off by default, §8.2); it verifies, and content appended
// later is a policy decision of the verifier.
TEST(signer, body_length) {
  sign_options o = options(test::ed25519());
  o.body_length = true;
  const std::string field = sign_one(test::sample_message(), o);
  const signature s = parsed(field);
  ASSERT_TRUE(s.body_length);
  EXPECT_EQ(*s.body_length, std::string("Shall we meet at noon?\r\n\r\nAlice\r\n").size());
  const std::string msg = field + "\r\n" + test::sample_message();
  EXPECT_EQ(verify_status(msg, test::ed25519()), status::pass);
  auto appended = verify_with(msg + "-- \r\nList footer\r\n", test::ed25519());
  EXPECT_EQ(appended[0].code, errc::body_length_partial);
  verify_options allow;
  allow.allow_partial_body = true;
  EXPECT_EQ(verify_with(msg + "-- \r\nList footer\r\n", test::ed25519(), "sel", allow)[0].status,
            status::pass);
  // Simple body canonicalization counts the same way (empty body: one CRLF).
  o.body_canon = canonicalization::simple;
  const std::string empty = "From: a@example.com\r\n\r\n";
  EXPECT_EQ(parsed(sign_one(empty, o)).body_length, 2u);
  o.body_canon = canonicalization::relaxed;
  EXPECT_EQ(parsed(sign_one(empty, o)).body_length, 0u);
}

// --- refusals -----------------------------------------------------------------------------------

// RFC 6376 §8.15 and hostile input #70: no From, or two, is refused.
TEST(signer, refuses_no_from_or_two_from) {
  const sign_options o = options(test::ed25519());
  EXPECT_EQ(sign_error("To: b@example.org\r\n\r\nhi\r\n", o), errc::no_from);
  EXPECT_EQ(sign_error("From: a@example.com\r\nTo: b@example.org\r\nfrom: c@example.com\r\n\r\nhi\r\n", o),
            errc::multiple_from);
  EXPECT_EQ(sign_error("", o), errc::no_from);
}

// A malformed header block is refused.
TEST(signer, refuses_malformed_header) {
  const sign_options o = options(test::ed25519());
  EXPECT_EQ(sign_error("From: a@example.com\r\nno colon here\r\n\r\nhi\r\n", o), errc::malformed_header);
  EXPECT_EQ(sign_error(" folded first\r\nFrom: a@example.com\r\n\r\nhi\r\n", o), errc::malformed_header);
}

// Documented header limits apply to the signer as well.
TEST(signer, refuses_oversized_header) {
  header_limits small;
  small.max_header_bytes = 64;
  auto s = signer::create({options(test::ed25519())}, kNow, small);
  ASSERT_TRUE(s);
  s->update(test::sample_message());
  auto f = s->finish();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, errc::header_too_large);
}

// RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits".
TEST(signer, refuses_small_rsa_keys) {
  EXPECT_EQ(sign_error(test::sample_message(), options(test::rsa_small(512))), errc::key_too_small);
  EXPECT_EQ(sign_error(test::sample_message(), options(test::rsa_small(768))), errc::key_too_small);
  EXPECT_EQ(sign_error(test::sample_message(), options(test::rsa1024())), errc::ok);
}

// RFC 8301 §3.1: "Signers MUST sign using rsa-sha256"; never rsa-sha1.
TEST(signer, refuses_rsa_sha1) {
  sign_options o = options(test::rsa2048());
  o.algo = algorithm::rsa_sha1;
  EXPECT_EQ(sign_error(test::sample_message(), o), errc::sha1_not_allowed);
}

// The algorithm must fit the key.
TEST(signer, refuses_algorithm_key_mismatch) {
  sign_options o = options(test::rsa2048());
  o.algo = algorithm::ed25519_sha256;
  EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument);
  sign_options e = options(test::ed25519());
  e.algo = algorithm::rsa_sha256;
  EXPECT_EQ(sign_error(test::sample_message(), e), errc::invalid_argument);
}

// d= and s= must be usable DNS names; no key, no options: refused.
TEST(signer, refuses_bad_identities) {
  for (const char* d : {"", "com", "exa mple.com", "example..com", "example.com.", "ex;ample.com"}) {
    sign_options o = options(test::ed25519());
    o.sdid = d;
    EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument) << d;
  }
  for (const char* s : {"", "a..b", ".sel", "se l", "sel;x"}) {
    sign_options o = options(test::ed25519());
    o.selector = s;
    EXPECT_EQ(sign_error(test::sample_message(), o), errc::invalid_argument) << s;
  }
  sign_options no_key;
  no_key.sdid = "example.com";
  no_key.selector = "sel";
  EXPECT_EQ(sign_error(test::sample_message(), no_key), errc::invalid_argument);
  EXPECT_FALSE(signer::create({}, kNow));
}

// Hostile input #71: d= with upper case is lowercased.
TEST(signer, lowercases_sdid) {
  sign_options o = options(test::ed25519());
  o.sdid = "EXAMPLE.Com";
  const std::string field = sign_one(test::sample_message(), o);
  EXPECT_NE(field.find("d=example.com;"), std::string::npos) << field;
  EXPECT_EQ(field.find("EXAMPLE"), std::string::npos);
  EXPECT_EQ(verify_status(field + "\r\n" + test::sample_message(), test::ed25519()), status::pass);
}

// --- folding (RFC 5322 §2.1.1, §2.2.3) ----------------------------------------------------------

// Every line of the produced field is at most 78 characters and each break is a fold.
TEST(signer, folds_to_78_columns) {
  std::string message = "From: a@example.com\r\n";
  for (int i = 0; i < 30; ++i) message += "X-Long-Header-Name-" + std::to_string(i) + ": v\r\n";
  message += "\r\nbody\r\n";
  std::vector<std::string> names = {"From"};
  for (int i = 0; i < 30; ++i) names.push_back("X-Long-Header-Name-" + std::to_string(i));
  for (const private_key* key : {&test::ed25519(), &test::rsa1024(), &test::rsa2048()}) {
    sign_options o = options(*key, "a-rather-long-selector-name.for-folding");
    o.sdid = "mail.subdomain.of.a-fairly-long-domain-name.example.com";
    o.auid = "someone@mail.subdomain.of.a-fairly-long-domain-name.example.com";
    o.expire_after = 86400;
    o.body_length = true;
    o.headers = names;
    const std::string field = sign_one(message, o);
    expect_folded_within_78(field);
    static_resolver dns;
    dns.add("a-rather-long-selector-name.for-folding._domainkey.mail.subdomain.of.a-fairly-long-"
            "domain-name.example.com",
            key->public_record());
    auto r = verify(field + "\r\n" + message, test::options_for(dns));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  }
  for (auto h : {canonicalization::simple, canonicalization::relaxed}) {
    const std::string signed_msg = test::sign_with(test::sample_message(), test::rsa2048(), "sel", h,
                                                   canonicalization::simple);
    expect_folded_within_78(signed_msg.substr(0, signed_msg.find("\r\nFrom:")));
  }
}

// Hostile input #72: an 8192-bit key (a fixed test key; generating one takes tens of seconds):
// b= is folded to 78 columns and the signature verifies.
TEST(signer, rsa8192_folds_and_verifies) {
  auto key = private_key::load(test::read_data("messages/rsa8192.pem"));
  ASSERT_TRUE(key) << key.error().message();
  ASSERT_EQ(key->bits(), 8192u);
  for (auto h : {canonicalization::simple, canonicalization::relaxed}) {
    sign_options o = options(*key);
    o.header_canon = h;
    const std::string field = sign_one(test::sample_message(), o);
    expect_folded_within_78(field);
    EXPECT_EQ(parsed(field).signature_data.size(), 1024u);
    auto r = verify_with(field + "\r\n" + test::sample_message(), *key);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
    EXPECT_EQ(r[0].key_bits, 8192u);
  }
}

// --- several signatures and canonicalizations ---------------------------------------------------

// RFC 8463 §5 (dual signing): RSA and Ed25519 in one pass, two fields, two passes.
TEST(signer, dual_rsa_and_ed25519) {
  auto f = sign(test::sample_message(), {options(test::rsa2048(), "rsa"), options(test::ed25519(), "ed")},
                kNow);
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ(parsed((*f)[0]).algo, algorithm::rsa_sha256);
  EXPECT_EQ(parsed((*f)[1]).algo, algorithm::ed25519_sha256);
  const std::string msg = (*f)[0] + "\r\n" + (*f)[1] + "\r\n" + test::sample_message();
  static_resolver dns;
  dns.add("rsa._domainkey.example.com", test::rsa2048().public_record());
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  auto r = verify(msg, test::options_for(dns));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[0].algorithm, "rsa-sha256");
  EXPECT_EQ(r[1].status, status::pass) << r[1].reason;
  EXPECT_EQ(r[1].algorithm, "ed25519-sha256");
  // Each field is what signing with that key alone gives.
  EXPECT_EQ((*f)[1], sign_one(test::sample_message(), options(test::ed25519(), "ed")));
}

// RFC 6376 §3.4: all four canonicalization pairs round-trip, and each tolerates exactly what its
// algorithm ignores.
TEST(signer, all_canonicalization_pairs_round_trip) {
  const std::string message =
      "From: Alice <alice@example.com>\r\nSubject: Hello  there\r\n\r\nline  one \r\nline two\r\n\r\n";
  for (auto h : {canonicalization::simple, canonicalization::relaxed}) {
    for (auto b : {canonicalization::simple, canonicalization::relaxed}) {
      sign_options o = options(test::ed25519());
      o.header_canon = h;
      o.body_canon = b;
      const std::string field = sign_one(message, o);
      const signature s = parsed(field);
      EXPECT_EQ(s.header_canon, h);
      EXPECT_EQ(s.body_canon, b);
      EXPECT_NE(field.find("c=" + std::string(to_string(h)) + "/" + std::string(to_string(b)) + ";"),
                std::string::npos);
      const std::string msg = field + "\r\n" + message;
      EXPECT_EQ(verify_with(msg, test::ed25519())[0].status, status::pass) << to_string(h) << "/" << to_string(b);

      std::string refolded = msg;
      refolded.replace(refolded.find("Subject: Hello  there"), 21, "subject:\r\n Hello \t there ");
      EXPECT_EQ(verify_with(refolded, test::ed25519())[0].status,
                h == canonicalization::relaxed ? status::pass : status::fail);
      std::string respaced = msg;
      respaced.replace(respaced.find("line  one \r\n"), 12, "line \t one\r\n");
      EXPECT_EQ(verify_with(respaced, test::ed25519())[0].status,
                b == canonicalization::relaxed ? status::pass : status::fail);
      EXPECT_EQ(verify_with(msg + "\r\n\r\n", test::ed25519())[0].status, status::pass)
          << "trailing empty lines are ignored by both";
    }
  }
}

// LF-only input is signed as its CRLF form.
TEST(signer, lf_input_signed_as_crlf) {
  std::string lf = test::sample_message();
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  const sign_options o = options(test::rsa2048());
  EXPECT_EQ(sign_one(lf, o), sign_one(test::sample_message(), o));
  const std::string field = sign_one(lf, o);
  EXPECT_EQ(verify_status(field + "\n" + lf, test::rsa2048()), status::pass);
  EXPECT_EQ(verify_status(field + "\r\n" + test::sample_message(), test::rsa2048()), status::pass);
}

// The header-only message (no empty line) is signed with an empty body.
TEST(signer, header_only_message) {
  const std::string message = "From: a@example.com\r\nSubject: s\r\n";
  const sign_options o = options(test::ed25519());
  EXPECT_EQ(sign_one(message, o), sign_one(message + "\r\n", o));
  EXPECT_EQ(verify_status(sign_one(message, o) + "\r\n" + message, test::ed25519()), status::pass);
}

// The default list is documented: From first, the usual fields after.
TEST(signer, default_signed_headers_list) {
  const auto& names = default_signed_headers();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "From");
  for (const char* n : {"To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(std::find(names.begin(), names.end(), "DKIM-Signature"), names.end());
}

}  // namespace
}  // namespace dkimkit
