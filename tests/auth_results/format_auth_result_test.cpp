// format_auth_result (dkimkit/auth_results.hpp): one entry of an Authentication-Results field,
// values quoted when they need it (RFC 8601 §2.2, RFC 2045 tokens, RFC 5322 quoted-strings).
#include <gtest/gtest.h>

#include <dkimkit/auth_results.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace dkimkit {
namespace {

auth_result entry(std::vector<std::pair<std::string, std::string>> properties,
                  std::string reason = {}, std::string comment = {}) {
  auth_result r;
  r.method = "spf";
  r.result = "pass";
  r.reason = std::move(reason);
  r.comment = std::move(comment);
  r.properties = std::move(properties);
  return r;
}

// How one property value is written: the text after "spf=pass x.y=".
std::string written(const std::string& value) {
  auto e = format_auth_result(entry({{"x.y", value}}));
  EXPECT_TRUE(e);
  return e ? e->substr(std::string("spf=pass x.y=").size()) : std::string();
}

TEST(format_auth_result, method_and_result_alone) {
  EXPECT_EQ(format_auth_result(entry({})), "spf=pass");
}

// How values are written: {value, as written}.
TEST(format_auth_result, values_quoted_when_needed) {
  const std::pair<std::string, std::string> cases[] = {
      // RFC 2045 tokens: as they are.
      {"example.com", "example.com"},
      {"rsa-sha256", "rsa-sha256"},
      {"a+b!#$%&'*^_`{|}~", "a+b!#$%&'*^_`{|}~"},
      // Spaces and tspecials: quoted.
      {"a b", "\"a b\""},
      {" ", "\" \""},
      {"2001:db8::1", "\"2001:db8::1\""},
      {"ab+/cd==", "\"ab+/cd==\""},
      {"(", "\"(\""},
      {"<a,b>;[c]?", "\"<a,b>;[c]?\""},
      // Addresses [dot-atom] "@" domain-name: as they are.
      {"user@example.com", "user@example.com"},
      {"@example.com", "@example.com"},
      {"first.last@mail.example.com", "first.last@mail.example.com"},
      {"prvs=1234=user@example.com", "prvs=1234=user@example.com"},
      // "@" in what is not such an address: quoted.
      {"a@b@example.com", "\"a@b@example.com\""},
      {"user@", "\"user@\""},
      {"@", "\"@\""},
      {"user@[192.0.2.1]", "\"user@[192.0.2.1]\""},
      {"user@example..com", "\"user@example..com\""},
      {"a..b@example.com", "\"a..b@example.com\""},
      {".a@example.com", "\".a@example.com\""},
      {"ceo x@bank.example", "\"ceo x@bank.example\""},
      // Quotes and backslashes: quoted-pairs.
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"a\\b", "\"a\\\\b\""},
      {"\"@example.com", "\"\\\"@example.com\""},
      {"\\", "\"\\\\\""},
  };
  for (const auto& [value, want] : cases) EXPECT_EQ(written(value), want) << value;
}

TEST(format_auth_result, empty_and_unsafe_values_left_out) {
  EXPECT_EQ(format_auth_result(entry({{"a.b", ""}, {"c.d", "x\r\ny"}, {"e.f", "caf\xc3\xa9"},
                                      {"g.h", "ok"}, {"bad name", "v"}, {"", "v"}})),
            "spf=pass g.h=ok");
}

TEST(format_auth_result, reason_is_a_value_never_an_address) {
  EXPECT_EQ(format_auth_result(entry({}, "bad")), "spf=pass reason=bad");
  EXPECT_EQ(format_auth_result(entry({}, "no key")), "spf=pass reason=\"no key\"");
  EXPECT_EQ(format_auth_result(entry({}, "a@example.com")), "spf=pass reason=\"a@example.com\"");
  EXPECT_EQ(format_auth_result(entry({{"smtp.mailfrom", "a@example.com"}}, "x")),
            "spf=pass reason=x smtp.mailfrom=a@example.com");
}

TEST(format_auth_result, comment_after_the_result_escaped) {
  EXPECT_EQ(format_auth_result(entry({{"header.d", "example.com"}}, "", "a (b) \\ c\x01\xff")),
            "spf=pass (a \\(b\\) \\\\ c) header.d=example.com");
}

TEST(format_auth_result, method_or_result_not_a_token_gives_nothing) {
  for (auto [m, r] : std::vector<std::pair<std::string, std::string>>{
           {"", "pass"}, {"spf", ""}, {"s f", "pass"}, {"spf", "pa;ss"}, {"spf=", "pass"},
           {"d\x01", "pass"}}) {
    auth_result e = entry({});
    e.method = m;
    e.result = r;
    EXPECT_EQ(format_auth_result(e), std::nullopt) << m << " " << r;
  }
}

// Whatever the values, parse_auth_results() reads the entry back as it was given (the values
// kept, unquoted).
TEST(format_auth_result, values_read_back_as_they_were) {
  std::mt19937 rng(8601);
  static const char* const pieces[] = {"a", "x", "0", ".", "..", "@", "=", "/", "?", ":", " ",
                                       "\"", "\\", "_", "-", "example.com", "(", ")", "!", ";",
                                       ",", "[", "]", "<", "+"};
  auto random_text = [&](unsigned most) {
    std::string s;
    for (auto n = rng() % most; n > 0; --n) s += pieces[rng() % std::size(pieces)];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    auth_result r = entry({}, rng() % 2 ? random_text(6) : std::string());
    for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
      std::string v = random_text(8);
      if (!v.empty()) r.properties.emplace_back(rng() % 2 ? "smtp.mailfrom" : "header.i", v);
    }
    auto e = format_auth_result(r);
    ASSERT_TRUE(e);
    auto parsed = parse_auth_results("mx.example.net; " + *e);
    ASSERT_TRUE(parsed) << *e << ": " << parsed.error().message();
    ASSERT_EQ(parsed->results.size(), 1u) << *e;
    const auth_result& back = parsed->results[0];
    EXPECT_EQ(back.method, "spf");
    EXPECT_EQ(back.result, "pass");
    EXPECT_EQ(back.reason, r.reason) << *e;
    EXPECT_EQ(back.properties, r.properties) << *e;
  }
}

}  // namespace
}  // namespace dkimkit
