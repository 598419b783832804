// The hostile-input catalogue (tests/data/hostile-inputs.md: ../shared/hostile-inputs.md plus rows 79+ of our own),
// row by row: each case builds the row's input, verifies it (in one piece and again in 7-byte
// chunks, which must agree) and checks the outcome the row asks for, including "no DNS query".
// Rows that belong to the signer, the command line or the milter are asserted where they live;
// `elsewhere` names those tests, and `every_row_has_a_case` fails when a row of the file has no
// case at all. Where dkimkit's answer differs from the row, the case says so and the README's
// mapping table argues it.
#include <sys/resource.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <functional>
#include <chrono>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/verifier.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "canon/body_hasher.hpp"
#include "record/der_builder.hpp"
#include "support/test_keys.hpp"
#include "verify/craft.hpp"

// Crafts are written with designated initializers that name only what differs from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace dkimkit {
namespace {

using namespace std::string_literals;
using test::craft;
using test::crafted;
using test::kNow;

// One expected verification: the status, and the reason when one is required.
struct outcome {
  status st;
  std::optional<errc> code;
};

struct catalogue_case {
  std::string row;    // "13", "13b": the row of the catalogue, and which variant
  std::string input;  // what the case feeds in, in words
  // Publishes what the case needs and returns the message.
  std::function<std::string(static_resolver&)> build;
  std::vector<outcome> expect;                      // one per signature; empty: none
  std::optional<std::size_t> max_queries;           // 0: no DNS query at all
  std::function<void(verify_options&)> tweak = {};  // options beyond the defaults
  std::function<void(const std::vector<verification>&)> also = {};  // further checks
};

const std::string kMsg =
    "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: catalogue\r\n"
    "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nHello.\r\n";

void publish(static_resolver& dns) {
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  dns.add("rsa._domainkey.example.com", test::rsa2048().public_record());
  dns.add("small512._domainkey.example.com", test::rsa_small(512).public_record());
  dns.add("small768._domainkey.example.com", test::rsa_small(768).public_record());
}

// The key at selector "ed" or "rsa", unless the craft names another selector or algorithm.
craft ed(craft c = {}) {
  if (c.s == "sel") c.s = "ed";
  return c;
}
craft rsa(craft c = {}) {
  if (c.algo == algorithm::ed25519_sha256) c.algo = algorithm::rsa_sha256;
  if (c.s == "sel") c.s = "rsa";
  return c;
}

// A signature field whose tags are all given; its b= does not verify (the syntax decides first).
const std::string kBh = "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
std::string raw_sig(const std::string& tags, const std::string& body = kMsg) {
  return "DKIM-Signature: " + tags + "\r\n" + body;
}
std::string with(const std::string& rest) {  // v/a first, then `rest`
  return raw_sig("v=1; a=ed25519-sha256; " + rest);
}
const std::string kRest = "d=example.com; s=ed; h=from:to; " + kBh + "; b=AAAA";

std::string replace(std::string s, std::string_view from, std::string_view to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// A message signed by the key at `selector` with the given record published there.
std::string signed_for_record(static_resolver& dns, const std::string& selector,
                              const std::string& record, craft c = rsa()) {
  dns.add(selector + "._domainkey.example.com", record);
  c.s = selector;
  return crafted(kMsg, c.algo == algorithm::ed25519_sha256 ? test::ed25519() : test::rsa2048(), c);
}

std::string p_of(const private_key& k) { return detail::base64_decode(k.public_record_value()).value_or(""); }

const private_key& rsa_bits(unsigned bits) {
  static std::map<unsigned, private_key> keys;
  auto it = keys.find(bits);
  if (it == keys.end()) {
    auto k = bits == 8192 ? private_key::load(test::read_data("messages/rsa8192.pem"))
                          : private_key::generate(key_type::rsa, bits);
    EXPECT_TRUE(k);
    it = keys.emplace(bits, std::move(*k)).first;
  }
  return it->second;
}

outcome pass{status::pass, errc::ok};
outcome neutral{status::neutral, std::nullopt};
outcome permerror{status::permerror, std::nullopt};

std::vector<catalogue_case> library_cases() {
  std::vector<catalogue_case> c;
  auto add = [&](std::string row, std::string input, std::function<std::string(static_resolver&)> b,
                 std::vector<outcome> e, std::optional<std::size_t> q = std::nullopt) {
    c.push_back({std::move(row), std::move(input), std::move(b), std::move(e), q});
    return &c.back();
  };
  auto fixed = [](std::string m) { return [m](static_resolver&) { return m; }; };
  auto neutral_no_dns = [&](std::string row, std::string input, std::string msg,
                            std::optional<errc> code = std::nullopt) {
    add(std::move(row), std::move(input), fixed(std::move(msg)), {{status::neutral, code}}, 0);
  };

  // ---- DKIM-Signature field ----
  neutral_no_dns("1a", "v= missing", raw_sig("a=ed25519-sha256; " + kRest), errc::tag_missing);
  neutral_no_dns("1b", "v=2", raw_sig("v=2; a=ed25519-sha256; " + kRest), errc::bad_version);
  neutral_no_dns("1c", "v=1.0", raw_sig("v=1.0; a=ed25519-sha256; " + kRest), errc::bad_version);
  neutral_no_dns("2", "d= twice", with("d=a.com; d=b.com; s=ed; h=from; " + kBh + "; b=AAAA"),
                 errc::tag_duplicate);
  neutral_no_dns("3a", "tag name d-x", with("d-x=1; " + kRest), errc::tag_syntax);
  neutral_no_dns("3b", "tag name 1d", with("1d=1; " + kRest), errc::tag_syntax);
  neutral_no_dns("3c", "tag without =", with("foo; " + kRest), errc::tag_syntax);
  neutral_no_dns("4a", "value ;", raw_sig(";"), errc::tag_syntax);
  neutral_no_dns("4b", "value of white space", raw_sig(" \t "), errc::tag_syntax);
  add("5", "trailing ; and unknown tag zz=1",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.extra = " zz=1;", .after_b = ";"})); },
      {pass});
  add("6a", "FWS around = and ;, tags folded with TAB and SP",
      [](static_resolver&) {
        return crafted(kMsg, test::ed25519(), ed({.extra = "\r\n  q =\tdns/txt ;\r\n\tzz = 1 ;"}));
      },
      {pass});
  add("6b", "b= folded mid-base64",
      [](static_resolver&) {
        std::string m = crafted(kMsg, test::rsa2048(), rsa());
        m.insert(m.find("\tb=") + 40, "\r\n \t");
        return m;
      },
      {pass});
  for (const char* b : {"AA*A", "AA-A", "AA_A", "A=AA", ""})
    neutral_no_dns("7", "b="s + b, with("d=example.com; s=ed; h=from; " + kBh + "; b=" + b),
                   errc::bad_base64);
  neutral_no_dns("8", "bh=QUFB", with("d=example.com; s=ed; h=from; bh=QUFB; b=AAAA"),
                 errc::bad_body_hash_length);
  add("9a", "a=rsa-sha1",
      [](static_resolver&) {
        return crafted(kMsg, test::rsa2048(), rsa({.algo = algorithm::rsa_sha1}));
      },
      {{status::policy, errc::sha1_not_allowed}});
  add("9b", "a=rsa-sha1, sha1 allowed",
      [](static_resolver&) {
        return crafted(kMsg, test::rsa2048(), rsa({.algo = algorithm::rsa_sha1}));
      },
      {pass})->tweak = [](verify_options& o) { o.allow_sha1 = true; };
  neutral_no_dns("10a", "a=rsa-sha512", raw_sig("v=1; a=rsa-sha512; " + kRest),
                 errc::unsupported_algorithm);
  neutral_no_dns("10b", "a=foo", raw_sig("v=1; a=foo; " + kRest), errc::unsupported_algorithm);
  add("11a", "a=ed25519-sha256 with a k=rsa key",
      [](static_resolver&) {
        craft k = ed();
        k.s = "rsa";
        return crafted(kMsg, test::ed25519(), k);
      },
      {{status::permerror, errc::key_type_mismatch}});
  add("11b", "a=rsa-sha256 with a k=ed25519 key",
      [](static_resolver&) {
        craft k = rsa();
        k.s = "ed";
        return crafted(kMsg, test::rsa2048(), k);
      },
      {{status::permerror, errc::key_type_mismatch}});
  neutral_no_dns("12a", "c=relaxed/foo", with("c=relaxed/foo; " + kRest),
                 errc::bad_canonicalization);
  neutral_no_dns("12b", "c=simple/relaxed/x", with("c=simple/relaxed/x; " + kRest),
                 errc::bad_canonicalization);
  add("12c", "c=relaxed alone means relaxed/simple",
      [](static_resolver&) {
        return crafted(kMsg, test::ed25519(),
                       ed({.c = "relaxed", .header = canonicalization::relaxed,
                           .body = canonicalization::simple}));
      },
      {pass});
  add("12d", "no c= means simple/simple",
      [](static_resolver&) {
        return crafted(kMsg, test::ed25519(),
                       ed({.c = "", .header = canonicalization::simple,
                           .body = canonicalization::simple}));
      },
      {pass});
  const std::string d_tail = "; s=ed; h=from; " + kBh + "; b=AAAA";
  neutral_no_dns("13a", "d= missing", with("s=ed; h=from; " + kBh + "; b=AAAA"), errc::tag_missing);
  neutral_no_dns("13b", "d= empty", with("d=" + d_tail));
  neutral_no_dns("13c", "d= with NUL", with("d=exa\0mple.com"s + d_tail));
  neutral_no_dns("13d", "d= with \\", with("d=exa\\mple.com" + d_tail));
  neutral_no_dns("13e", "d= with white space", with("d=exa mple.com" + d_tail));
  neutral_no_dns("13f", "d= 8-bit", with("d=ex\xc3\xa4mple.com" + d_tail));
  neutral_no_dns("13g", "d= label of 64", with("d=" + std::string(64, 'a') + ".com" + d_tail));
  neutral_no_dns("13h", "d= name over 253",
                 with("d=" + std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                      std::string(60, 'c') + "." + std::string(60, 'd') + ".example.com" + d_tail));
  const std::string s_head = "d=example.com; s=";
  const std::string s_tail = "; h=from; " + kBh + "; b=AAAA";
  neutral_no_dns("14a", "s= with NUL (Composition Kills)", with(s_head + "evil.com.\0.x"s + s_tail));
  neutral_no_dns("14b", "s= with ..", with(s_head + "a..b" + s_tail));
  neutral_no_dns("14c", "s= with a leading .", with(s_head + ".ed" + s_tail));
  neutral_no_dns("14d", "s= with a space", with(s_head + "e d" + s_tail));
  add("15", "dotted selector s=a.b queries a.b._domainkey.d",
      [](static_resolver& dns) {
        dns.add("a.b._domainkey.example.com", test::ed25519().public_record());
        return crafted(kMsg, test::ed25519(), ed({.s = "a.b"}));
      },
      {pass}, 1);
  add("16", "i= outside d=",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.i = "@other.com"})); },
      {{status::permerror, errc::auid_outside_sdid}}, 0);
  neutral_no_dns("17a", "h= missing", with("d=example.com; s=ed; " + kBh + "; b=AAAA"),
                 errc::tag_missing);
  add("17b", "h= without from",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.h = "to:subject"})); },
      {{status::permerror, errc::from_not_signed}}, 0);
  neutral_no_dns("18", "h=from::to", with("d=example.com; s=ed; h=from::to; " + kBh + "; b=AAAA"),
                 errc::bad_header_list);
  add("19", "h= names absent fields (over-signing)",
      [](static_resolver&) {
        return crafted(kMsg, test::ed25519(), ed({.h = "from:to:subject:reply-to:cc:from"}));
      },
      {pass});
  {
    std::string h = "from";
    for (int i = 0; i < 10000; ++i) h += ":x" + std::to_string(i);
    neutral_no_dns("20", "h= with 10 000 names (cap max_signed_headers = 1024)",
                   with("d=example.com; s=ed; h=" + h + "; " + kBh + "; b=AAAA"),
                   errc::bad_header_list);
  }
  for (std::string l : std::vector<std::string>{"-1", "1e3", "0x10", "", std::string(77, '9'),
                                                 "18446744073709551616"})
    neutral_no_dns("21", "l=" + l.substr(0, 20), with("l=" + l + "; " + kRest), errc::bad_length);
  add("22", "l= larger than the canonicalized body",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.l = 1000})); },
      {{status::permerror, errc::body_length_exceeds}});  // README: divergence (RFC 6376 §3.5)
  neutral_no_dns("23a", "t= not digits", with("t=abc; " + kRest), errc::bad_timestamp);
  neutral_no_dns("23b", "x= of 20 digits", with("x=" + std::string(20, '9') + "; " + kRest),
                 errc::bad_timestamp);
  neutral_no_dns("23c", "x= not after t=", with("t=100; x=100; " + kRest), errc::bad_timestamp);
  add("24", "x= in the past",
      [](static_resolver&) {
        return crafted(kMsg, test::ed25519(), ed({.t = kNow - 1000, .x = kNow - 500}));
      },
      {{status::policy, errc::signature_expired}});
  add("25a", "t= far in the future",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.t = kNow + 86400})); },
      {{status::policy, errc::signature_in_future}});
  add("25b", "t= within the documented tolerance (300 s)",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.t = kNow + 200})); },
      {pass});
  neutral_no_dns("26", "q=http", with("q=http; " + kRest), errc::unsupported_query_method);
  neutral_no_dns("27a", "NUL in a tag value", with("zz=a\0b; "s + kRest));
  neutral_no_dns("27b", "8-bit in a tag value", with("zz=a\xff" "b; " + kRest));
  neutral_no_dns("27c", "control byte in a tag value", with("zz=a\x01" "b; " + kRest));
  neutral_no_dns("28", "100 KiB of junk tags (cap max_signature_bytes = 64 KiB)",
                 with([] {
                   std::string j;
                   for (int i = 0; j.size() < 100 * 1024; ++i) j += "z" + std::to_string(i) + "=junk; ";
                   return j;
                 }() + kRest),
                 errc::signature_too_large);
  add("29a", "dkim-signature:",
      [](static_resolver&) {
        return "dkim-signature:" + crafted(kMsg, test::ed25519(), ed()).substr(15);
      },
      {pass});
  add("29b", "DKIM-SIGNATURE:",
      [](static_resolver&) {
        return "DKIM-SIGNATURE:" + crafted(kMsg, test::ed25519(), ed()).substr(15);
      },
      {pass});
  {
    std::vector<outcome> e(5, pass);
    e.resize(1000, outcome{status::policy, errc::not_evaluated});
    add("30", "1 000 DKIM-Signature fields: 5 evaluated (max_signatures), the rest not evaluated",
        [](static_resolver& dns) {
          // Each under its own selector, so that evaluating one more would mean one more query.
          std::string m = kMsg;
          for (int i = 999; i >= 0; --i) {
            const std::string sel = "k" + std::to_string(i);
            if (i < 10) dns.add(sel + "._domainkey.example.com", test::ed25519().public_record());
            m = craft_field(kMsg, test::ed25519(), ed({.s = sel})) + "\r\n" + m;
          }
          return m;
        },
        e, 5);
  }
  add("31", "50 signatures with the same d= and s=: one DNS query",
      [](static_resolver&) {
        std::string field = craft_field(kMsg, test::ed25519(), ed());
        std::string m;
        for (int i = 0; i < 50; ++i) m += field + "\r\n";
        return m + kMsg;
      },
      std::vector<outcome>(50, pass), 1)
      ->tweak = [](verify_options& o) { o.max_signatures = 50; };

  // ---- Key record ----
  add("32a", "NXDOMAIN",
      [](static_resolver&) { return crafted(kMsg, test::ed25519(), ed({.s = "none"})); },
      {{status::permerror, errc::key_not_found}});
  add("32b", "no TXT at the name",
      [](static_resolver& dns) {
        dns.add_name("empty._domainkey.example.com");
        return crafted(kMsg, test::ed25519(), ed({.s = "empty"}));
      },
      {{status::permerror, errc::key_not_found}});
  add("33", "temporary DNS failure (SERVFAIL, REFUSED, timeout: the resolver's answer)",
      [](static_resolver& dns) {
        dns.set_temporary("tmp._domainkey.example.com", "SERVFAIL");
        return crafted(kMsg, test::ed25519(), ed({.s = "tmp"}));
      },
      {{status::temperror, errc::dns_temporary}});
  add("35", "two DKIM key records at the name",
      [](static_resolver& dns) {
        dns.add("two._domainkey.example.com", test::ed25519().public_record());
        dns.add("two._domainkey.example.com", test::ed25519().public_record() + " ");
        return crafted(kMsg, test::ed25519(), ed({.s = "two"}));
      },
      {{status::permerror, errc::key_ambiguous}});
  add("36a", "key v=DKIM2",
      [](static_resolver& dns) {
        return signed_for_record(dns, "v2", "v=DKIM2; k=ed25519; p=" + test::ed25519().public_record_value(), ed());
      },
      {permerror});
  add("36b", "key v= not the first tag",
      [](static_resolver& dns) {
        return signed_for_record(dns, "vlate", "k=ed25519; v=DKIM1; p=" + test::ed25519().public_record_value(), ed());
      },
      {permerror});
  add("37", "p= empty (revoked)",
      [](static_resolver& dns) { return signed_for_record(dns, "revoked", "v=DKIM1; k=rsa; p="); },
      {{status::permerror, errc::key_revoked}});
  add("38a", "p= bad base64",
      [](static_resolver& dns) { return signed_for_record(dns, "b64", "v=DKIM1; k=rsa; p=MII*BIj"); },
      {permerror});
  add("38b", "p= truncated DER",
      [](static_resolver& dns) {
        std::string der = p_of(test::rsa2048());
        return signed_for_record(dns, "trunc", test::record_with_p(der.substr(0, der.size() - 10)));
      },
      {permerror});
  add("38c", "p= DER with trailing junk",
      [](static_resolver& dns) {
        return signed_for_record(dns, "junk", test::record_with_p(p_of(test::rsa2048()) + "junk"));
      },
      {permerror});
  add("38d", "p= a bare PKCS#1 RSAPublicKey is accepted",
      [](static_resolver& dns) {
        return signed_for_record(dns, "pkcs1", test::record_with_p(test::pkcs1_of(test::rsa2048())));
      },
      {pass});
  add("39a", "RSA 512 bits",
      [](static_resolver&) {
        return crafted(kMsg, test::rsa_small(512), rsa({.s = "small512"}));
      },
      {{status::policy, errc::key_too_small}});
  add("39b", "RSA 768 bits",
      [](static_resolver&) {
        return crafted(kMsg, test::rsa_small(768), rsa({.s = "small768"}));
      },
      {{status::policy, errc::key_too_small}});
  for (unsigned bits : {1024u, 2048u, 4096u, 8192u}) {
    add("40", "RSA " + std::to_string(bits) + " bits",
        [bits](static_resolver& dns) {
          const std::string sel = "r" + std::to_string(bits);
          dns.add(sel + "._domainkey.example.com", rsa_bits(bits).public_record());
          return crafted(kMsg, rsa_bits(bits), rsa({.s = sel}));
        },
        {pass})
        ->also = [bits](const std::vector<verification>& r) { EXPECT_EQ(r.at(0).key_bits, bits); };
  }
  add("41", "RSA 16384 bits (cap max_rsa_bits = 8192)",
      [](static_resolver& dns) {
        std::string n(2048, '\xa5');
        n[0] = '\xc1';
        return signed_for_record(dns, "huge", test::record_with_p(test::rsa_spki_der(
                                                   test::rsa_public_key_der(n, std::string("\x01\x00\x01", 3)))));
      },
      {{status::permerror, errc::key_too_large}});
  for (auto [name, e] : std::vector<std::pair<std::string, std::string>>{
           {"1", "\x01"}, {"even", std::string("\x01\x00\x00", 3)}, {"1000 digits", std::string(416, '\x7f')}}) {
    add("42", "RSA exponent " + name,
        [e = e](static_resolver& dns) {
          return signed_for_record(
              dns, "exp", test::record_with_p(test::rsa_spki_der(test::rsa_public_key_der(
                              test::modulus_of(test::rsa2048()), e))));
        },
        {permerror});
  }
  add("43", "k=ed25519 with p= of 31 bytes",
      [](static_resolver& dns) {
        return signed_for_record(dns, "short", test::record_with_p(std::string(31, 'k'), "ed25519"), ed());
      },
      {permerror});
  add("44", "k=ed2025",
      [](static_resolver& dns) {
        return signed_for_record(dns, "k2025", "v=DKIM1; k=ed2025; p=" + test::ed25519().public_record_value(), ed());
      },
      {permerror});
  add("45", "key h=sha1, signature sha256",
      [](static_resolver& dns) {
        return signed_for_record(dns, "h1", "v=DKIM1; k=rsa; h=sha1; p=" + test::rsa2048().public_record_value());
      },
      {{status::permerror, errc::key_hash_mismatch}});
  add("46", "key t=s, i= in a subdomain of d=",
      [](static_resolver& dns) {
        craft k = rsa();
        k.i = "@mail.example.com";
        return signed_for_record(dns, "strict", "v=DKIM1; k=rsa; t=s; p=" + test::rsa2048().public_record_value(), k);
      },
      {{status::permerror, errc::key_strict_subdomain}});
  add("47", "key t=y: verified as usual, the flag reported",
      [](static_resolver& dns) {
        return signed_for_record(dns, "testing", "v=DKIM1; k=rsa; t=y; p=" + test::rsa2048().public_record_value());
      },
      {pass})
      ->also = [](const std::vector<verification>& r) { EXPECT_TRUE(r.at(0).testing); };
  add("48", "key s= neither * nor email",
      [](static_resolver& dns) {
        return signed_for_record(dns, "svc", "v=DKIM1; k=rsa; s=web; p=" + test::rsa2048().public_record_value());
      },
      {{status::permerror, errc::key_service_mismatch}});
  add("49a", "TXT of 64 KiB (cap max_key_record_bytes = 8192)",
      [](static_resolver& dns) {
        return signed_for_record(dns, "big", "v=DKIM1; k=rsa; p=" + test::rsa2048().public_record_value() + "; zz=" + std::string(65536, 'z'));
      },
      {permerror});
  add("49b", "TXT with NUL",
      [](static_resolver& dns) {
        return signed_for_record(dns, "nul", "v=DKIM1; k=rsa; zz=a\0b; p="s + test::rsa2048().public_record_value());
      },
      {permerror});
  add("49c", "TXT with 8-bit",
      [](static_resolver& dns) {
        return signed_for_record(dns, "8bit", "v=DKIM1; k=rsa; zz=\xe9; p="s + test::rsa2048().public_record_value());
      },
      {permerror});

  // ---- Message structure ----
  add("50", "no From field",
      [](static_resolver&) {
        std::string m = "To: bob@example.org\r\nSubject: x\r\n\r\nHello.\r\n";
        return crafted(m, test::ed25519(), ed());
      },
      {{status::permerror, errc::no_from}}, 0);
  add("51", "two From fields",
      [](static_resolver&) {
        return crafted("From: eve@example.net\r\n" + kMsg, test::ed25519(), ed());
      },
      {{status::permerror, errc::multiple_from}}, 0);
  // Divergence (README, "Results"): a second From is refused outright (RFC 6376 §8.15), so the
  // prepended From gives permerror rather than the fail that over-signing would also give.
  add("52", "From prepended above the signed one, From over-signed",
      [](static_resolver&) {
        return "From: eve@example.net\r\n" +
               crafted(kMsg, test::ed25519(), ed({.h = "from:from:to:subject"}));
      },
      {{status::permerror, errc::multiple_from}});
  add("53", "a header line without a colon",
      [](static_resolver&) {
        return replace(crafted(kMsg, test::ed25519(), ed()), "To: bob", "Garbage line\r\nTo: bob");
      },
      {{status::permerror, errc::malformed_header}});
  add("54", "a continuation line first in the header block",
      [](static_resolver&) { return " folded first\r\n" + crafted(kMsg, test::ed25519(), ed()); },
      {{status::permerror, errc::malformed_header}});
  const std::string spaced = replace(kMsg, "From:", "From :");
  add("55a", "From : (relaxed: the space before the colon is ignored)",
      [spaced](static_resolver&) {
        return replace(crafted(spaced, test::ed25519(), ed()), "From :", "From:");
      },
      {pass});
  add("55b", "From : (simple: the space is part of the signed field)",
      [spaced](static_resolver&) {
        return replace(crafted(spaced, test::ed25519(), ed({.header = canonicalization::simple})),
                       "From :", "From:");
      },
      {{status::fail, errc::signature_mismatch}});
  add("55c", "From : signed and received as is (simple)",
      [spaced](static_resolver&) {
        return crafted(spaced, test::ed25519(), ed({.header = canonicalization::simple}));
      },
      {pass});
  add("56", "LF-only line endings",
      [](static_resolver&) {
        std::string m = crafted(kMsg, test::rsa2048(), rsa());
        std::string lf;
        for (char ch : m)
          if (ch != '\r') lf += ch;
        return lf;
      },
      {pass});
  add("57", "CR-only and mixed CRLF / LF / CR line endings in the body (lone CR kept as a byte)",
      [](static_resolver&) {
        return crafted(replace(kMsg, "Hello.\r\n", "one\rtwo\nthree\r\nfour\r"), test::ed25519(),
                       ed({.body = canonicalization::simple}));
      },
      {pass});
  add("58a", "NUL bytes in the body and a header value",
      [](static_resolver&) {
        return crafted(replace(replace(kMsg, "Hello.", "Hel\0lo."s), "catalogue", "cata\0logue"s),
                       test::ed25519(), ed());
      },
      {pass});
  add("58b", "a byte after a NUL changed: never cut at the NUL",
      [](static_resolver&) {
        std::string m = crafted(replace(kMsg, "Hello.", "Hel\0lo."s), test::ed25519(), ed());
        return replace(m, "\0lo."s, "\0LO."s);
      },
      {{status::fail, errc::body_hash_mismatch}});
  const std::string utf8 = replace(replace(kMsg, "Subject: catalogue", "Subject: caf\xc3\x89"),
                                   "To:", "X-\xc3\x89t\xc3\xa9: 8-bit name\r\nTo:");
  add("59a", "UTF-8 and 8-bit in header names and values",
      [utf8](static_resolver&) { return crafted(utf8, test::ed25519(), ed()); }, {pass});
  add("59b", "relaxed does not lowercase non-ASCII: É -> é in a signed value fails",
      [utf8](static_resolver&) {
        return replace(crafted(utf8, test::ed25519(), ed()), "caf\xc3\x89", "caf\xc3\xa9");
      },
      {{status::fail, errc::signature_mismatch}});
  for (auto [name, body] : std::vector<std::pair<std::string, std::string>>{
           {"empty body", ""}, {"body of CRLFs only", "\r\n\r\n\r\n"}, {"no final CRLF", "x"}}) {
    for (auto canon : {canonicalization::simple, canonicalization::relaxed})
      add("60", name + ", " + std::string(to_string(canon)),
          [body = body, canon](static_resolver&) {
            std::string m = kMsg.substr(0, kMsg.find("\r\n\r\n") + 4) + body;
            return crafted(m, test::ed25519(), ed({.body = canon}));
          },
          {pass});
  }
  add("61", "input ends inside the header block: header-only, empty body",
      [](static_resolver&) {
        std::string m = "From: alice@example.com\r\nSubject: cut";
        return crafted(m, test::ed25519(), ed({.h = "from:subject"}));
      },
      {pass});
  add("62", "input ends inside the DKIM-Signature value",
      [](static_resolver&) { return kMsg.substr(0, kMsg.find("\r\n\r\n") + 2) + "DKIM-Signature: v=1; a=ed25519-sha256; d=exa"; },
      {neutral}, 0);
  add("63", "one header line of 1 MiB (cap max_field_bytes = 256 KiB)",
      [](static_resolver&) {
        return craft_field(kMsg, test::ed25519(), ed()) + "\r\nX-Big: " +
               std::string(1 << 20, 'b') + "\r\n" + kMsg;
      },
      {{status::permerror, errc::header_too_large}}, 0);
  add("64a", "10 000 header fields (cap max_fields = 2000)",
      [](static_resolver&) {
        std::string h;
        for (int i = 0; i < 10000; ++i) h += "X-F: " + std::to_string(i) + "\r\n";
        return craft_field(kMsg, test::ed25519(), ed()) + "\r\n" + h + kMsg;
      },
      {{status::permerror, errc::header_too_large}}, 0);
  add("64b", "a 2 MiB header block (cap max_header_bytes = 1 MiB)",
      [](static_resolver&) {
        std::string h;
        for (int i = 0; i < 16; ++i) h += "X-F: " + std::string(128 * 1024, 'f') + "\r\n";
        return craft_field(kMsg, test::ed25519(), ed()) + "\r\n" + h + kMsg;
      },
      {{status::permerror, errc::header_too_large}}, 0);
  return c;
}

void PrintTo(const catalogue_case& c, std::ostream* os) { *os << "row " << c.row << ": " << c.input; }

std::string describe(const std::vector<verification>& r) {
  std::string s;
  for (std::size_t i = 0; i < r.size() && i < 8; ++i)
    s += std::string(to_string(r[i].status)) + "/" + std::string(to_string(r[i].code)) + " (" +
         r[i].reason + ") ";
  return s;
}

class catalogue : public testing::TestWithParam<catalogue_case> {};

TEST_P(catalogue, row) {
  const catalogue_case& c = GetParam();
  SCOPED_TRACE("row " + c.row + ": " + c.input);
  static_resolver dns;
  publish(dns);
  const std::string msg = c.build(dns);
  verify_options o = test::options_for(dns);
  if (c.tweak) c.tweak(o);
  const std::size_t before = dns.queries();
  std::vector<verification> r = verify(msg, o);
  ASSERT_EQ(r.size(), c.expect.size()) << describe(r);
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].status, c.expect[i].st) << "signature " << i << ": " << describe({r[i]});
    if (c.expect[i].code) {
      EXPECT_EQ(r[i].code, *c.expect[i].code) << "signature " << i << ": " << describe({r[i]});
    }
    if (r[i].status != status::pass) {
      EXPECT_FALSE(r[i].reason.empty());
    }
  }
  if (c.max_queries) {
    EXPECT_LE(dns.queries() - before, *c.max_queries);
  }
  if (c.also) c.also(r);
  // The same in 7-byte chunks: the result never depends on how the input was cut.
  if (msg.size() < 256 * 1024) {
    verifier v(o);
    for (std::size_t at = 0; at < msg.size(); at += 7) v.update(std::string_view(msg).substr(at, 7));
    std::vector<verification> chunked = v.finish();
    ASSERT_EQ(chunked.size(), r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      EXPECT_EQ(chunked[i].status, r[i].status);
      EXPECT_EQ(chunked[i].code, r[i].code);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(hostile_inputs, catalogue, testing::ValuesIn(library_cases()),
                         [](const testing::TestParamInfo<catalogue_case>& p) {
                           return "row_" + p.param.row + "_" + std::to_string(p.index);
                         });

// Row 34: a key record split across several strings of a TXT record is joined (zone files are
// what operators publish; the zone resolver joins the strings as RFC 6376 §3.6.2.2 says).
TEST(hostile_inputs, row_34_txt_split_across_strings) {
  const std::string rec = test::rsa2048().public_record();
  std::string zone = "$ORIGIN example.com.\n$TTL 300\nrsa._domainkey IN TXT (";
  for (std::size_t at = 0; at < rec.size(); at += 100) zone += " \"" + rec.substr(at, 100) + "\"";
  zone += " )\n";
  auto z = zone_resolver::load_string(zone, "example.com");
  ASSERT_TRUE(z) << z.error().message();
  verify_options o;
  o.resolver = &*z;
  o.now = [] { return kNow; };
  auto r = verify(crafted(kMsg, test::rsa2048(), rsa()), o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
}

// Row 60: the body hashes of the empty body that the row gives.
TEST(hostile_inputs, row_60_empty_body_hashes) {
  for (auto [canon, want] : {std::pair{canonicalization::simple,
                                       "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="},
                             std::pair{canonicalization::relaxed,
                                       "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}) {
    for (std::string body : {"", "\r\n\r\n\r\n"}) {
      detail::body_hasher h(canon, hash_algorithm::sha256, std::nullopt);
      std::string scratch;
      h.update(body, scratch);
      h.finish(scratch);
      EXPECT_EQ(detail::base64_encode(h.digest()), want) << to_string(canon) << " " << body.size();
    }
  }
}

// Row 65: a large body is streamed: the memory high-water mark does not grow with the body.
// (64 MiB here, signed and verified in 64 KiB chunks; a gigabyte takes the same path.)
TEST(hostile_inputs, row_65_large_body_streamed) {
  const std::string header = kMsg.substr(0, kMsg.find("\r\n\r\n") + 4);
  std::string chunk;
  while (chunk.size() < 64 * 1024) chunk += "a line of the body,  with   spaces\t\r\n";
  constexpr std::size_t kChunks = 1024;  // 64 MiB and a bit
  rusage before{};
  getrusage(RUSAGE_SELF, &before);

  sign_options so;
  so.sdid = "example.com";
  so.selector = "ed";
  so.key = test::ed25519();
  auto s = signer::create({so}, kNow);
  ASSERT_TRUE(s);
  s->update(header);
  for (std::size_t i = 0; i < kChunks; ++i) s->update(chunk);
  auto fields = s->finish();
  ASSERT_TRUE(fields) << fields.error().message();

  static_resolver dns;
  publish(dns);
  verifier v(test::options_for(dns));
  for (const auto& f : *fields) v.update(f + "\r\n");
  v.update(header);
  for (std::size_t i = 0; i < kChunks; ++i) v.update(chunk);
  auto r = v.finish();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;

  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 32 * 1024) << "KiB of growth for a 64 MiB body";
}

// A DNS black hole: lookups that are never answered (the resolver's own deadline is not reached).
class black_hole final : public txt_resolver {
 public:
  txt_answer lookup_txt(const std::string&) const override {
    return {dns_status::temporary, {}, "black hole", {}};
  }
  std::shared_future<txt_answer> lookup_txt_async(const std::string&) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.emplace_back();
    return pending_.back().get_future().share();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::list<std::promise<txt_answer>> pending_;  // never fulfilled
};

// Row 77 (library part): a black hole gives a temperror naming the per-message DNS limit once
// that time is used up, for all the signatures of the message together; the milter's part
// (451 4.7.5 inside Postfix's timeouts) is in the end-to-end test.
TEST(hostile_inputs, row_77_dns_black_hole_bounded_by_the_message_budget) {
  black_hole dns;
  verify_options o;
  o.resolver = &dns;
  o.now = [] { return kNow; };
  o.dns_message_timeout = std::chrono::milliseconds(300);
  const std::string msg = craft_field(kMsg, test::ed25519(), ed({.s = "one"})) + "\r\n" +
                          craft_field(kMsg, test::ed25519(), ed({.s = "two"})) + "\r\n" + kMsg;
  const auto start = std::chrono::steady_clock::now();
  auto r = verify(msg, o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.size(), 2u);
  for (const auto& v : r) {
    EXPECT_EQ(v.status, status::temperror);
    EXPECT_EQ(v.code, errc::dns_temporary);
    EXPECT_NE(v.reason.find("dns_message_timeout"), std::string::npos) << v.reason;
  }
  // Both lookups share one budget: not 2 x 300 ms, and not the resolver's 5 s. (A bound on a
  // deadline, not a speed measurement: generous for a loaded machine.)
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
}

// Signer rows (66-72) at the library level; the command line's part is in tests/cli/cli_test.sh.
TEST(hostile_inputs, row_66_67_broken_and_encrypted_pem) {
  const std::string good = test::rsa1024().to_pem();
  const std::string body = good.substr(good.find('\n') + 1, good.rfind("-----END") - good.find('\n') - 1);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"wrong armor", "-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----\n"},
      {"junk between the armors", "-----BEGIN PRIVATE KEY-----\njunk!junk\n-----END PRIVATE KEY-----\n"},
      {"bad base64", "-----BEGIN PRIVATE KEY-----\n" + replace(body, "M", "*") + "-----END PRIVATE KEY-----\n"},
      {"truncated", good.substr(0, good.size() / 2)},
  };
  for (const auto& [name, pem] : bad) {
    auto k = private_key::load(pem);
    EXPECT_FALSE(k) << name;
    if (!k) {
      EXPECT_FALSE(k.error().message().empty()) << name;
    }
  }
  // Row 67: an encrypted key fails with a clear error and no prompt.
  BIO* in = BIO_new_mem_buf(good.data(), static_cast<int>(good.size()));
  EVP_PKEY* pk = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(pk, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  char secret[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, pk, EVP_aes_256_cbc(), secret, 6, nullptr, nullptr),
            1);
  EVP_PKEY_free(pk);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string enc(data, static_cast<std::size_t>(n));
  BIO_free(out);
  auto k = private_key::load(enc);
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message().find("encrypted"), std::string::npos) << k.error().message();
}

sign_options opts_for(const private_key& key, std::string sdid = "example.com") {
  sign_options o;
  o.sdid = std::move(sdid);
  o.selector = "rsa";
  o.key = key;
  return o;
}

TEST(hostile_inputs, row_68_small_rsa_key_refused) {
  EXPECT_FALSE(signer::create({opts_for(test::rsa_small(512))}, kNow));
  EXPECT_FALSE(signer::create({opts_for(test::rsa_small(768))}, kNow));
  EXPECT_TRUE(signer::create({opts_for(test::rsa1024())}, kNow));  // the CLI warns (cli_test.sh)
}

TEST(hostile_inputs, row_70_71_no_from_two_from_and_uppercase_domain) {
  for (std::string m : {"To: bob@example.org\r\n\r\nx\r\n"s, "From: a@example.com\r\n" + kMsg}) {
    auto s = signer::create({opts_for(test::rsa2048())}, kNow);
    ASSERT_TRUE(s);
    s->update(m);
    EXPECT_FALSE(s->finish()) << m.substr(0, 30);
  }
  auto s = signer::create({opts_for(test::rsa2048(), "EXAMPLE.Com")}, kNow);
  ASSERT_TRUE(s);
  s->update(kMsg);
  auto f = s->finish();
  ASSERT_TRUE(f);
  EXPECT_NE(f->at(0).find("d=example.com;"), std::string::npos) << f->at(0);
}

TEST(hostile_inputs, row_72_rsa8192_folded_and_verifies) {
  sign_options o = opts_for(rsa_bits(8192));
  o.selector = "r8192";
  auto s = signer::create({o}, kNow);
  ASSERT_TRUE(s);
  s->update(kMsg);
  auto f = s->finish();
  ASSERT_TRUE(f);
  std::istringstream lines(f->at(0));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    EXPECT_LE(line.size(), 78u) << line;
  }
  static_resolver dns;
  dns.add("r8192._domainkey.example.com", rsa_bits(8192).public_record());
  auto r = verify(f->at(0) + "\r\n" + kMsg, test::options_for(dns));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  EXPECT_EQ(r[0].key_bits, 8192u);
}

// Rows asserted in other test programs, by name: the catalogue is complete only with them.
const std::map<int, std::string> elsewhere = {
    {66, "cli.tests: sign refuses a broken PEM key (exit 65) naming the file"},
    {69, "cli.tests: sign warns about a key readable by others"},
    {72, "interop.dkimpy: 8192-bit RSA signatures verify under dkimpy"},
    {73, "milter_session.row_73_abort_mid_body_then_a_new_message_starts_clean"},
    {74, "milter_session.row_74_one_byte_chunks_give_the_same_result_as_one_chunk"},
    {75, "milter_session.row_75_forged_auth_results_are_deleted_highest_first; milter.e2e"},
    {76, "milter_session.row_76_dns_temporary_failure; milter.e2e: DNS server stopped: 451 4.7.5"},
    {77, "dns.e2e: black hole with --dns-message-timeout (library part: row_77 here)"},
    {78, "milter_session.row_78_unusable_signing_key_tempfails"},
    // Issue 11 (adversarial review).
    {79, "milter_session.forged_auth_results_in_every_form_are_removed; "
         "auth_results_authserv_id.read_even_when_the_rest_does_not_parse; "
         "auth_results_parse.pvalue_address_with_quoted_local_part; milter.e2e (Postfix + "
         "Mail::AuthenticationResults)"},
    {80, "address.bypass_forms_give_no_author_aligned_with_another_domain; "
         "address_bypass.require_aligned_rejects_every_bypass_form; cli.tests"},
    {81, "address.malformed_forms_are_errors_naming_the_problem; "
         "milter_session.requirements_see_every_author_and_fail_closed"},
    {82, "milter_session.requirements_see_every_author_and_fail_closed"},
    {83, "milter_session.row_47_testing_key_is_verified_and_counts_as_unsigned_when_failing"},
    {84, "milter_session.too_many_forged_auth_results_refuse_the_message; milter.e2e"},
    {85, "header_select.limits_match_reference; header_select.index_matches_reference_on_random_"
         "headers; bench hsel_worst_case"},
    {86, "milter_session.row_75_forged_auth_results_are_deleted_highest_first; milter.e2e"},
    {87, "milter_session.auth_results_insertion_is_required_and_log_bounded"},
    {88, "cli.tests: issue 11 Finding 8"},
    {89, "cli.tests: issue 11 Finding 9"},
    {90, "verify_result.broken_signature_reports_only_validated_values"},
    {91, "auth_results.header_i_round_trips_through_the_parser; interop.mail_authres"},
    {92, "milter_config.unsafe_key_files_are_refused; milter.socket"},
    {93, "milter_config.socket_settings; milter.socket"},
    {94, "cli.tests: issue 11 Finding 14"},
};

// Rows covered in this file by name (the TEST()s above), beside the table.
const std::set<int> here = {34, 60, 65, 66, 67, 68, 70, 71, 72, 77};

TEST(hostile_inputs, every_row_has_a_case) {
  std::ifstream in(std::string(DKIMKIT_TEST_DATA_DIR) + "/hostile-inputs.md");
  ASSERT_TRUE(in);
  std::set<int> rows;
  for (std::string line; std::getline(in, line);) {  // "| 12 | input | expected |"
    std::size_t end = 2;
    while (end < line.size() && line[end] >= '0' && line[end] <= '9') ++end;
    if (line.rfind("| ", 0) == 0 && end > 2 && line.compare(end, 2, " |") == 0)
      rows.insert(std::stoi(line.substr(2, end - 2)));
  }
  ASSERT_EQ(rows.size(), 94u);  // the 78 of ../shared/hostile-inputs.md and issue 11's 16
  std::set<int> covered(here);
  for (const auto& c : library_cases()) covered.insert(std::stoi(c.row));
  for (const auto& [row, where] : elsewhere) covered.insert(row);
  for (int row : rows) EXPECT_TRUE(covered.count(row)) << "row " << row << " has no case";
}

}  // namespace
}  // namespace dkimkit
