// DKIM-Signature parsing (RFC 6376 §3.5) and the helpers of signature.hpp.
#include <dkimkit/signature.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dkimkit {
namespace {

using namespace std::string_literals;

// 32 bytes of zeros (sha256 size) and 20 (sha1 size), in base64.
const std::string kBh256 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const std::string kBh1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

// A valid tag list in a fixed order; `changes` replaces values (an empty optional removes a tag),
// and tags not in the base are appended.
using tag_changes = std::vector<std::pair<std::string, std::optional<std::string>>>;

std::string make(const tag_changes& changes = {}) {
  std::vector<std::pair<std::string, std::string>> tags = {
      {"v", "1"},           {"a", "rsa-sha256"}, {"d", "example.com"},
      {"s", "sel"},         {"h", "from:to"},    {"bh", kBh256},
      {"b", "c2lnbmF0dXJl"},
  };
  for (const auto& [name, value] : changes) {
    auto it = std::find_if(tags.begin(), tags.end(), [&](const auto& t) { return t.first == name; });
    if (!value) {
      if (it != tags.end()) tags.erase(it);
    } else if (it != tags.end()) {
      it->second = *value;
    } else {
      tags.emplace_back(name, *value);
    }
  }
  std::string out;
  for (const auto& [name, value] : tags) out += " " + name + "=" + value + ";";
  return out;
}

errc code_of(const std::string& value, const signature_limits& limits = {}) {
  auto r = parse_signature(value, limits);
  return r ? errc::ok : r.error().code;
}

errc with(const std::string& tag, const std::string& value) { return code_of(make({{tag, value}})); }

// §3.5: a complete signature and what the parser reports from it.
TEST(signature, parses_all_tags) {
  auto r = parse_signature(make({{"d", "Example.COM"},
                                 {"s", "Sel.Two"},
                                 {"h", "From : To:\r\n\tSubject"},
                                 {"c", "relaxed/simple"},
                                 {"i", "Alice@Sub.Example.com"},
                                 {"l", "0"},
                                 {"t", "1000"},
                                 {"x", "2000"},
                                 {"q", "dns/txt"},
                                 {"zz", "unknown tags are ignored"}}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->algo, algorithm::rsa_sha256);
  EXPECT_EQ(r->sdid, "example.com");
  EXPECT_EQ(r->selector, "sel.two");
  EXPECT_EQ(r->signed_headers, (std::vector<std::string>{"From", "To", "Subject"}));
  EXPECT_EQ(r->header_canon, canonicalization::relaxed);
  EXPECT_EQ(r->body_canon, canonicalization::simple);
  EXPECT_EQ(r->auid, "Alice@Sub.Example.com");
  EXPECT_EQ(r->auid_domain(), "sub.example.com");
  EXPECT_EQ(r->body_length, 0u);  // zero is a value, not "absent"
  EXPECT_EQ(r->timestamp, 1000u);
  EXPECT_EQ(r->expiration, 2000u);
  EXPECT_TRUE(r->query_dns_txt);
  EXPECT_EQ(r->body_hash, std::string(32, '\0'));
  EXPECT_EQ(r->signature_data, "signature");
  EXPECT_EQ(r->signature_b64, "c2lnbmF0dXJl");
  EXPECT_EQ(r->key_name(), "sel.two._domainkey.example.com");
}

// §3.5: optional tags are absent, not zero; defaults: c=simple/simple, i= is "@" d=.
TEST(signature, optional_tags_absent) {
  auto r = parse_signature(make());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->auid);
  EXPECT_FALSE(r->body_length);
  EXPECT_FALSE(r->timestamp);
  EXPECT_FALSE(r->expiration);
  EXPECT_EQ(r->header_canon, canonicalization::simple);
  EXPECT_EQ(r->body_canon, canonicalization::simple);
  EXPECT_EQ(r->auid_domain(), "example.com");
}

// §3.5: v=, a=, b=, bh=, d=, h= and s= are REQUIRED.
TEST(signature, each_required_tag_missing) {
  for (const char* tag : {"v", "a", "b", "bh", "d", "h", "s"})
    EXPECT_EQ(code_of(make({{tag, std::nullopt}})), errc::tag_missing) << tag;
}

// §3.5: "v= ... MUST have the value "1"".
TEST(signature, version_must_be_1) {
  EXPECT_EQ(with("v", "2"), errc::bad_version);
  EXPECT_EQ(with("v", "1.0"), errc::bad_version);
  EXPECT_EQ(with("v", "01"), errc::bad_version);
  EXPECT_EQ(with("v", ""), errc::bad_version);
}

// §3.5 a=, RFC 8463: rsa-sha1, rsa-sha256 and ed25519-sha256 only.
TEST(signature, unknown_algorithm) {
  EXPECT_EQ(with("a", "rsa-sha512"), errc::unsupported_algorithm);
  EXPECT_EQ(with("a", "foo"), errc::unsupported_algorithm);
  EXPECT_EQ(with("a", ""), errc::unsupported_algorithm);
  EXPECT_EQ(with("a", "rsa-sha256x"), errc::unsupported_algorithm);
  EXPECT_EQ(with("a", "ed25519-sha256"), errc::ok);
  EXPECT_EQ(code_of(make({{"a", "rsa-sha1"}, {"bh", kBh1}})), errc::ok);
}

// §3.5 b=: base64string; '*', '-', '_', bad padding and an empty value are refused.
TEST(signature, bad_base64_in_b) {
  for (const char* bad : {"c2ln*mF0", "c2ln-mF0", "c2ln_mF0", "QQ=", "QUFB=", "Q===", "Q", "QQ==QQ==",
                          "=QQQ", "QQ=A", ""})
    EXPECT_EQ(with("b", bad), errc::bad_base64) << bad;
  EXPECT_EQ(with("b", "QQ"), errc::ok);  // padding may be omitted
  EXPECT_EQ(with("b", "QQ=="), errc::ok);
}

// §3.5 b=: "whitespace is ignored in this value": b= folded mid-base64 is fine.
TEST(signature, folded_b_is_fine) {
  auto r = parse_signature(make({{"b", "c2ln\r\n\tbmF0\r\n  dXJl"}}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->signature_data, "signature");
  EXPECT_EQ(r->signature_b64, "c2lnbmF0dXJl");
  // A fold between "=" padding characters too.
  auto p = parse_signature(make({{"b", "QQ=\r\n ="}}));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->signature_data, "A");
}

// §3.5 bh=: base64string, and it must decode to the size of the hash (32 or 20 bytes).
TEST(signature, bad_body_hash) {
  EXPECT_EQ(with("bh", "AAAA*AAA"), errc::bad_base64);
  EXPECT_EQ(with("bh", "AAAA-AAA"), errc::bad_base64);
  EXPECT_EQ(with("bh", "QUFB"), errc::bad_body_hash_length);
  EXPECT_EQ(with("bh", ""), errc::bad_body_hash_length);
  EXPECT_EQ(with("bh", kBh1), errc::bad_body_hash_length);                  // sha1 size, sha256
  EXPECT_EQ(code_of(make({{"a", "rsa-sha1"}})), errc::bad_body_hash_length);  // the reverse
  EXPECT_EQ(with("bh", std::string(48, 'A')), errc::bad_body_hash_length);
  EXPECT_EQ(with("bh", "AAAAAAAAAAAAAAAAAAAAAA\r\n\tAAAAAAAAAAAAAAAAAAAAA="), errc::ok);
}

// §3.5 c=: "header/body"; a single name is the header algorithm, body simple; none means
// simple/simple.
TEST(signature, canonicalization_variants) {
  struct row {
    const char* c;
    canonicalization header, body;
  };
  for (row r : {row{"simple", canonicalization::simple, canonicalization::simple},
                row{"relaxed", canonicalization::relaxed, canonicalization::simple},
                row{"simple/simple", canonicalization::simple, canonicalization::simple},
                row{"simple/relaxed", canonicalization::simple, canonicalization::relaxed},
                row{"relaxed/simple", canonicalization::relaxed, canonicalization::simple},
                row{"relaxed/relaxed", canonicalization::relaxed, canonicalization::relaxed}}) {
    auto s = parse_signature(make({{"c", r.c}}));
    ASSERT_TRUE(s) << r.c;
    EXPECT_EQ(s->header_canon, r.header) << r.c;
    EXPECT_EQ(s->body_canon, r.body) << r.c;
  }
}

// §3.5 c=: unknown or malformed values are refused.
TEST(signature, canonicalization_malformed) {
  for (const char* bad : {"relaxed/foo", "simple/relaxed/x", "foo", "", "relaxed/", "/relaxed",
                          "Relaxed", "relaxed /simple", "relaxed//simple"})
    EXPECT_EQ(with("c", bad), errc::bad_canonicalization) << bad;
}

// §3.5 d=: a domain name of two labels or more; each label up to 63 octets, the name up to 253.
TEST(signature, invalid_domains) {
  EXPECT_EQ(with("d", ""), errc::bad_domain);
  EXPECT_EQ(with("d", "exa\\mple.com"), errc::bad_domain);
  EXPECT_EQ(with("d", "exa mple.com"), errc::bad_domain);
  EXPECT_EQ(with("d", "example.com."), errc::bad_domain);
  EXPECT_EQ(with("d", ".example.com"), errc::bad_domain);
  EXPECT_EQ(with("d", "example..com"), errc::bad_domain);
  EXPECT_EQ(with("d", "com"), errc::bad_domain);
  EXPECT_EQ(with("d", "ex@mple.com"), errc::bad_domain);
  EXPECT_EQ(with("d", "example.com/x"), errc::bad_domain);
  EXPECT_EQ(with("d", std::string(64, 'a') + ".com"), errc::bad_domain);
  EXPECT_EQ(with("d", std::string(63, 'a') + ".com"), errc::ok);
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "com";  // 253 octets
  ASSERT_EQ(long_name.size(), 253u);
  EXPECT_EQ(code_of(make({{"d", long_name}, {"s", "s"}})), errc::bad_selector)
      << "s._domainkey. + 253 octets is too long for a query";
  EXPECT_EQ(with("d", "x" + long_name), errc::bad_domain);  // 254 octets
  // NUL and 8-bit bytes are already invalid tag values (§3.2).
  EXPECT_EQ(with("d", "exa\0mple.com"s), errc::tag_syntax);
  EXPECT_EQ(with("d", "ex\xc3\xa4mple.com"), errc::tag_syntax);
}

// §3.5 s=: a selector is one or more sub-domains; the key name must be a valid DNS name.
TEST(signature, invalid_selectors) {
  EXPECT_EQ(with("s", "evil.com.\0.x"s), errc::tag_syntax);  // "Composition Kills" NUL attack
  EXPECT_EQ(with("s", "a..b"), errc::bad_selector);
  EXPECT_EQ(with("s", ".sel"), errc::bad_selector);
  EXPECT_EQ(with("s", "sel."), errc::bad_selector);
  EXPECT_EQ(with("s", "se l"), errc::bad_selector);
  EXPECT_EQ(with("s", ""), errc::bad_selector);
  EXPECT_EQ(with("s", "sel\\x"), errc::bad_selector);
  EXPECT_EQ(with("s", std::string(64, 's')), errc::bad_selector);
  EXPECT_EQ(with("s", std::string(63, 's')), errc::ok);
}

// §3.5 s=: a dotted selector is valid and queried below _domainkey.
TEST(signature, dotted_selector_is_valid) {
  auto r = parse_signature(make({{"s", "a.b"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->key_name(), "a.b._domainkey.example.com");
}

// §3.5 h=: a colon-separated list of field names; empty elements are malformed.
TEST(signature, header_list) {
  EXPECT_EQ(with("h", "from::to"), errc::bad_header_list);
  EXPECT_EQ(with("h", "from:"), errc::bad_header_list);
  EXPECT_EQ(with("h", ":from"), errc::bad_header_list);
  EXPECT_EQ(with("h", ""), errc::bad_header_list);
  EXPECT_EQ(with("h", "from: :to"), errc::bad_header_list);
  EXPECT_EQ(with("h", "fr om"), errc::bad_header_list);
  auto r = parse_signature(make({{"h", "From\r\n\t: To :SUBJECT"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->signed_headers, (std::vector<std::string>{"From", "To", "SUBJECT"}));
}

// A documented cap on the names in h= (signature_limits::max_signed_headers).
TEST(signature, header_list_capped) {
  std::string h = "from";
  for (int i = 0; i < 9999; ++i) h += ":to";
  EXPECT_EQ(with("h", h), errc::bad_header_list);
  signature_limits small;
  small.max_signed_headers = 3;
  EXPECT_EQ(code_of(make({{"h", "from:to:cc"}}), small), errc::ok);
  EXPECT_EQ(code_of(make({{"h", "from:to:cc:date"}}), small), errc::bad_header_list);
}

// §3.5 i=: [ Local-part ] "@" domain-name.
TEST(signature, auid_syntax) {
  EXPECT_EQ(with("i", "@example.com"), errc::ok);
  EXPECT_EQ(with("i", "user@sub.example.com"), errc::ok);
  EXPECT_EQ(with("i", "example.com"), errc::bad_auid);
  EXPECT_EQ(with("i", "user@"), errc::bad_auid);
  EXPECT_EQ(with("i", ""), errc::bad_auid);
  EXPECT_EQ(with("i", "@exa..mple.com"), errc::bad_auid);
}

// §2.11, §3.5 i= is dkim-quoted-printable: FWS dropped, then "=XX" decoded, before the syntax
// check and before anything compares or reports it (the examples of Mail::DKIM's test suite).
TEST(signature, auid_is_decoded) {
  auto auid = [](const std::string& i) -> std::optional<std::string> {
    auto s = parse_signature(make({{"d", "messiah.edu"}, {"i", i}}));
    if (!s) return std::nullopt;
    return s->auid;
  };
  EXPECT_EQ(auid("jlong@messiah=2Eedu"), "jlong@messiah.edu");
  EXPECT_EQ(auid("jlong=40messiah.edu"), "jlong@messiah.edu");
  EXPECT_EQ(auid("=6Along@messiah.edu"), "jlong@messiah.edu");
  EXPECT_EQ(auid("=6along@messiah.edu"), "jlong@messiah.edu");  // lower-case hex: accepted
  EXPECT_EQ(auid("jl ong@\r\n\tmessiah.edu"), "jlong@messiah.edu");  // FWS is not part of it
  EXPECT_EQ(auid("a=3Db=3Bc=20d@messiah.edu"), "a=b;c d@messiah.edu");
  EXPECT_EQ(auid("@messiah.edu"), "@messiah.edu");
  // Not dkim-quoted-printable, or not an identity once decoded: neutral (bad_auid).
  for (const char* bad : {"jlong=4@messiah.edu", "jlong@messiah.edu=", "jlong=GG@messiah.edu",
                          "jlong@messiah=2E=2Eedu", "jlong=0D=0A@messiah.edu",
                          "jlong=00@messiah.edu", "jlong@messiah=2E", "jl=80=@messiah.edu"})
    EXPECT_EQ(with("i", bad), errc::bad_auid) << bad;
  // The decoded domain is what is compared with d=: "messiah=2Eedu" is messiah.edu.
  auto s = parse_signature(make({{"d", "messiah.edu"}, {"i", "jlong@messiah=2Eedu"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->auid_domain(), "messiah.edu");
}

// §3.5 z=: "|"-separated copies of header fields, dkim-quoted-printable; for diagnosis only, so a
// z= that does not decode changes nothing.
TEST(signature, copied_headers) {
  auto z = decode_copied_headers(
      "From:foo@eng.example.net|To:joe@example.com|\r\n Subject:demo=20run|Date:July=205,=202005=203:44:08=20PM=20-0700");
  ASSERT_TRUE(z) << z.error().message();
  EXPECT_EQ(*z, (std::vector<std::string>{"From:foo@eng.example.net", "To:joe@example.com",
                                          "Subject:demo run",
                                          "Date:July 5, 2005 3:44:08 PM -0700"}));
  auto bar = decode_copied_headers("Subject:a=7Cb");
  ASSERT_TRUE(bar);
  EXPECT_EQ(*bar, std::vector<std::string>{"Subject:a|b"});
  for (const char* bad : {"From", "From:a|", ":x", "From:a=4", "Subject:=ZZ"})
    EXPECT_FALSE(decode_copied_headers(bad)) << bad;
  EXPECT_EQ(with("z", "not=decodable"), errc::ok);
}

// §3.5 l=: 1*76DIGIT; anything else (sign, exponent, hex, empty, overflow) is refused.
TEST(signature, body_length_forms) {
  for (const std::string& bad : {"-1"s, "1e3"s, "0x10"s, ""s, "+5"s, " 1 2"s, "1.0"s,
                                 std::string(77, '1'), "18446744073709551616"s,
                                 "99999999999999999999999"s})
    EXPECT_EQ(with("l", bad), errc::bad_length) << bad;
  auto max = parse_signature(make({{"l", "18446744073709551615"}}));
  ASSERT_TRUE(max);
  EXPECT_EQ(max->body_length, UINT64_MAX);
  auto padded = parse_signature(make({{"l", std::string(73, '0') + "123"}}));
  ASSERT_TRUE(padded) << "76 digits are allowed";
  EXPECT_EQ(padded->body_length, 123u);
}

// §3.5 t=, x=: digits only (at most 12), and x= after t=.
TEST(signature, timestamps) {
  for (const char* bad : {"abc", "-1", "1.5", "", "12345678901234567890", "1234567890123", "0x10"}) {
    EXPECT_EQ(with("t", bad), errc::bad_timestamp) << "t=" << bad;
    EXPECT_EQ(with("x", bad), errc::bad_timestamp) << "x=" << bad;
  }
  EXPECT_EQ(code_of(make({{"t", "1000"}, {"x", "1000"}})), errc::bad_timestamp);
  EXPECT_EQ(code_of(make({{"t", "1000"}, {"x", "999"}})), errc::bad_timestamp);
  EXPECT_EQ(code_of(make({{"t", "1000"}, {"x", "1001"}})), errc::ok);
  EXPECT_EQ(code_of(make({{"x", "5"}})), errc::ok);
  auto zero = parse_signature(make({{"t", "0"}}));
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->timestamp, 0u);
  EXPECT_EQ(with("t", "999999999999"), errc::ok);
}

// §3.5 q=: only dns/txt is defined.
TEST(signature, query_methods) {
  EXPECT_EQ(with("q", "http"), errc::unsupported_query_method);
  EXPECT_EQ(with("q", "dns"), errc::unsupported_query_method);
  EXPECT_EQ(with("q", ""), errc::unsupported_query_method);
  EXPECT_EQ(with("q", "dns/txt"), errc::ok);
  EXPECT_EQ(with("q", "http:dns/txt"), errc::ok);
}

// §3.2: a duplicated tag makes the whole signature invalid.
TEST(signature, duplicate_tag) {
  EXPECT_EQ(code_of(make() + " d=other.com;"), errc::tag_duplicate);
}

// Tag-list syntax errors surface as tag_syntax.
TEST(signature, tag_list_syntax) {
  EXPECT_EQ(code_of(";"), errc::tag_syntax);
  EXPECT_EQ(code_of("   "), errc::tag_syntax);
  EXPECT_EQ(code_of(make() + " foo;"), errc::tag_syntax);
  EXPECT_EQ(code_of(make() + " d-x=1;"), errc::tag_syntax);
}

// A documented cap on the field size (signature_limits::max_field_bytes).
TEST(signature, field_size_capped) {
  std::string big = make({{"zz", std::string(70 * 1024, 'x')}});
  EXPECT_EQ(code_of(big), errc::signature_too_large);
  signature_limits small;
  small.max_field_bytes = 50;
  EXPECT_EQ(code_of(make(), small), errc::signature_too_large);
}

// The names and properties of algorithms.
TEST(signature, algorithm_helpers) {
  EXPECT_EQ(parse_algorithm("rsa-sha1"), algorithm::rsa_sha1);
  EXPECT_EQ(parse_algorithm("rsa-sha256"), algorithm::rsa_sha256);
  EXPECT_EQ(parse_algorithm("ed25519-sha256"), algorithm::ed25519_sha256);
  EXPECT_EQ(parse_algorithm("RSA-SHA256"), std::nullopt);
  for (algorithm a : {algorithm::rsa_sha1, algorithm::rsa_sha256, algorithm::ed25519_sha256})
    EXPECT_EQ(parse_algorithm(to_string(a)), a);
  EXPECT_EQ(hash_of(algorithm::rsa_sha1), hash_algorithm::sha1);
  EXPECT_EQ(hash_of(algorithm::ed25519_sha256), hash_algorithm::sha256);
  EXPECT_EQ(key_type_of(algorithm::ed25519_sha256), key_type::ed25519);
  EXPECT_EQ(key_type_of(algorithm::rsa_sha1), key_type::rsa);
  EXPECT_EQ(digest_size(hash_algorithm::sha1), 20u);
  EXPECT_EQ(digest_size(hash_algorithm::sha256), 32u);
  EXPECT_EQ(to_string(canonicalization::relaxed), "relaxed");
  EXPECT_EQ(to_string(key_type::ed25519), "ed25519");
  EXPECT_EQ(to_string(hash_algorithm::sha256), "sha256");
}

// §6.1.1: i= must be d= or a subdomain of it (label boundaries, case-insensitive).
TEST(signature, same_or_subdomain) {
  EXPECT_TRUE(is_same_or_subdomain("example.com", "example.com"));
  EXPECT_TRUE(is_same_or_subdomain("EXAMPLE.com", "example.COM"));
  EXPECT_TRUE(is_same_or_subdomain("a.b.example.com", "example.com"));
  EXPECT_FALSE(is_same_or_subdomain("badexample.com", "example.com"));
  EXPECT_FALSE(is_same_or_subdomain("example.com", "sub.example.com"));
  EXPECT_FALSE(is_same_or_subdomain("example.org", "example.com"));
  EXPECT_FALSE(is_same_or_subdomain("example.com", ""));
  EXPECT_FALSE(is_same_or_subdomain("", "example.com"));
}

}  // namespace
}  // namespace dkimkit
