// Base64 (RFC 4648 §4, RFC 6376 §2.4 base64string) and the ASCII string helpers.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

using detail::base64_decode;
using detail::base64_encode;
using namespace std::string_literals;

// RFC 4648 §10 test vectors.
TEST(base64, rfc4648_vectors) {
  const std::vector<std::pair<std::string, std::string>> v = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc), plain) << enc;
  }
}

// RFC 6376 §2.4: padding may be left out; when present it must be right.
TEST(base64, padding_rules) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Zm8=="));
  EXPECT_FALSE(base64_decode("Zm9v="));
  EXPECT_FALSE(base64_decode("Zm9v=="));
  EXPECT_FALSE(base64_decode("Zg==="));
  EXPECT_FALSE(base64_decode("="));
  EXPECT_FALSE(base64_decode("=="));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zm9vY"));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));
  EXPECT_FALSE(base64_decode("Z=g="));
}

// RFC 4648 §4 alphabet only: no URL-safe alphabet, no white space (stripped by callers).
TEST(base64, alphabet_only) {
  for (const char* bad : {"Zm9-", "Zm9_", "Zm9*", "Zm 9v", "Zm9\n", "Zm\t9"}) EXPECT_FALSE(base64_decode(bad)) << bad;
  EXPECT_FALSE(base64_decode("Zm9\0v"s));
  EXPECT_FALSE(base64_decode("Zm9\xffv"));
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
}

// Round trip of arbitrary bytes, every length.
TEST(base64, round_trip) {
  std::mt19937 rng(4648);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t n = 0; n < 200; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    const std::string enc = base64_encode(s);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(enc), s);
    std::string unpadded = enc;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64_decode(unpadded), s);
  }
}

// Decimal numbers of tags: digits only, bounded, no overflow.
TEST(strings, parse_decimal) {
  using detail::parse_decimal;
  EXPECT_EQ(parse_decimal("0", 5), 0u);
  EXPECT_EQ(parse_decimal("00012", 5), 12u);
  EXPECT_EQ(parse_decimal("18446744073709551615", 76), UINT64_MAX);
  EXPECT_FALSE(parse_decimal("18446744073709551616", 76));
  EXPECT_FALSE(parse_decimal("99999999999999999999", 76));
  EXPECT_FALSE(parse_decimal("123456", 5));
  EXPECT_FALSE(parse_decimal("", 5));
  for (const char* bad : {"-1", "+1", " 1", "1 ", "1e3", "0x1", "1.0", "١"}) EXPECT_FALSE(parse_decimal(bad, 10)) << bad;
}

// DNS names as the verifier will query them.
TEST(strings, is_dns_name) {
  using detail::is_dns_name;
  EXPECT_TRUE(is_dns_name("example.com", 2));
  EXPECT_TRUE(is_dns_name("a-b_c.Example.COM", 2));
  EXPECT_TRUE(is_dns_name("sel", 1));
  EXPECT_FALSE(is_dns_name("sel", 2));
  EXPECT_FALSE(is_dns_name("", 1));
  EXPECT_FALSE(is_dns_name(".", 1));
  EXPECT_FALSE(is_dns_name("a..b", 1));
  EXPECT_FALSE(is_dns_name("a.", 1));
  EXPECT_FALSE(is_dns_name(".a", 1));
  EXPECT_FALSE(is_dns_name("a b", 1));
  EXPECT_FALSE(is_dns_name("a\0b"s, 1));
  EXPECT_FALSE(is_dns_name("a\\.b", 1));
  EXPECT_FALSE(is_dns_name("\xc3\xa9.com", 1));
  EXPECT_TRUE(is_dns_name(std::string(63, 'a'), 1));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a'), 1));
  std::string n253;
  while (n253.size() < 250) n253 += "abcdefghi.";
  n253 += "com";
  EXPECT_TRUE(is_dns_name(n253, 2));
  EXPECT_FALSE(is_dns_name("a" + n253, 2));
}

TEST(strings, fws_helpers) {
  EXPECT_EQ(detail::trim_fws(" \t\r\n a b \r\n\t"), "a b");
  EXPECT_EQ(detail::trim_fws(" \t "), "");
  EXPECT_EQ(detail::strip_fws(" a\r\n\tb c "), "abc");
  EXPECT_EQ(detail::split("a::b:", ':'), (std::vector<std::string_view>{"a", "", "b", ""}));
  EXPECT_EQ(detail::split("", ':'), (std::vector<std::string_view>{""}));
  EXPECT_EQ(detail::lowercase("AbC-\xc3\x89Z"), "abc-\xc3\x89z");
  EXPECT_TRUE(detail::is_printable_ascii(" ~az"));
  EXPECT_FALSE(detail::is_printable_ascii("a\tb"));
  EXPECT_FALSE(detail::is_printable_ascii("a\x7f"));
  EXPECT_FALSE(detail::is_printable_ascii("\xc3\xa9"));
}

// RFC 6376 §2.11 dkim-quoted-printable and RFC 2045 §6.7 qp-section.
TEST(strings, hex) {
  EXPECT_EQ(detail::hex(""), "");
  EXPECT_EQ(detail::hex("\x01\xab\xff\x10"s), "01abff10");
  EXPECT_EQ(detail::hex("\0A"s), "0041");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string h = detail::hex(all);
  ASSERT_EQ(h.size(), 512u);
  EXPECT_EQ(h.substr(0, 8), "00010203");
  EXPECT_EQ(h.substr(508), "feff");
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(strings, quoted_printable) {
  EXPECT_EQ(detail::decode_dkim_qp("a=3Db=3B c\r\n\t=40x"), "a=b;c@x");
  EXPECT_EQ(detail::decode_dkim_qp(""), "");
  EXPECT_EQ(detail::decode_dkim_qp("=00"), std::string(1, '\0'));
  for (const char* bad : {"=", "=4", "=4G", "a;b", "a\x80", "a\x01b"})
    EXPECT_FALSE(detail::decode_dkim_qp(bad)) << bad;
  EXPECT_EQ(detail::encode_dkim_qp("a=b;c d|\xff@x"), "a=3Db=3Bc=20d|=FF@x");
  EXPECT_EQ(detail::encode_dkim_qp("a|b", "|"), "a=7Cb");
  // Every octet survives the round trip.
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(detail::decode_dkim_qp(detail::encode_dkim_qp(all)), all);
  // qp-section (key record n=): SP and HTAB are text, ";" too; FWS is not dropped.
  EXPECT_EQ(detail::decode_qp_section("key for =22mail=22; rotated 2026"),
            "key for \"mail\"; rotated 2026");
  EXPECT_FALSE(detail::decode_qp_section("bad =Z1"));
  EXPECT_FALSE(detail::decode_qp_section("line\r\nbreak"));
}

}  // namespace
}  // namespace dkimkit
