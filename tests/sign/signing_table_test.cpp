// OpenDKIM's KeyTable and SigningTable (opendkim.conf(5)): each lookup rule, refile patterns,
// "%", signers, MultipleSignatures, errors naming FILE:LINE, hostile tables.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <dkimkit/signing_table.hpp>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {
namespace {

key_table keys_of(std::string_view text, table_kind kind = table_kind::plain) {
  auto k = key_table::parse(text, kind, "KeyTable");
  EXPECT_TRUE(k) << (k ? "" : k.error().message());
  return k ? *k : key_table{};
}

signing_table table_of(std::string_view text, table_kind kind = table_kind::plain) {
  auto t = signing_table::parse(text, kind, "SigningTable");
  EXPECT_TRUE(t) << (t ? "" : t.error().message());
  return t ? *t : signing_table{};
}

// The key names chosen for local@domain, in order.
std::vector<std::string> names(const signing_table& t, std::string_view local,
                               std::string_view domain, bool multiple = false) {
  std::vector<std::string> out;
  for (const signing_table_entry* e : t.lookup(local, domain, multiple)) out.push_back(e->key_name);
  return out;
}

using v = std::vector<std::string>;

// Every form a plain table looks up for user@host.sub.example, most specific first.
constexpr std::string_view all_forms =
    "user@host.sub.example  k-address\n"
    "host.sub.example       k-host\n"
    "user@.sub.example      k-user-parent\n"
    "user@.example          k-user-grandparent\n"
    ".sub.example           k-parent\n"
    ".example               k-grandparent\n"
    "user@*                 k-user-any\n"
    "*                      k-any\n";

TEST(SigningTable, PlainLookupOrderEachStepWinsOverTheLaterOnes) {
  // Remove the rows one at a time from the top: each time the next form answers.
  const v expected = {"k-address", "k-host",        "k-user-parent", "k-user-grandparent",
                      "k-parent",  "k-grandparent", "k-user-any",    "k-any"};
  std::string_view rest = all_forms;
  for (const std::string& want : expected) {
    signing_table t = table_of(rest);
    EXPECT_EQ(names(t, "user", "host.sub.example"), v{want}) << rest;
    rest = rest.substr(rest.find('\n') + 1);
  }
  EXPECT_TRUE(names(table_of(rest), "user", "host.sub.example").empty());
}

TEST(SigningTable, PlainLookupOrderIsTheSameWhateverTheFileOrder) {
  // The rows reversed: the order of the lookup, not of the file, decides.
  std::string reversed;
  std::string_view rest = all_forms;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    reversed.insert(0, std::string(rest.substr(0, nl + 1)));
    rest = rest.substr(nl + 1);
  }
  signing_table t = table_of(reversed);
  EXPECT_EQ(names(t, "user", "host.sub.example"), v{"k-address"});
  EXPECT_EQ(names(t, "user", "host.sub.example", true),
            (v{"k-address", "k-host", "k-user-parent", "k-user-grandparent", "k-parent",
               "k-grandparent", "k-user-any", "k-any"}));
}

TEST(SigningTable, PlainLookupDoesNotMatchWhatItShouldNot) {
  signing_table t = table_of(
      "other@host.sub.example  k1\n"
      "sub.example             k2\n"  // an exact domain is not a parent rule
      ".host.sub.example       k3\n"  // parents start above the host itself
      "other@*                 k4\n"
      "ost.sub.example         k5\n");
  EXPECT_TRUE(names(t, "user", "host.sub.example").empty());
  EXPECT_EQ(names(t, "user", "sub.example"), v{"k2"});
  EXPECT_EQ(names(t, "user", "x.host.sub.example"), v{"k3"});
  EXPECT_EQ(names(t, "other", "elsewhere.example"), v{"k4"});
}

TEST(SigningTable, PlainLookupIgnoresCase) {
  signing_table t = table_of("User@Example.COM k1\n.EXAMPLE.org k2\nBOSS@* k3\n");
  EXPECT_EQ(names(t, "user", "example.com"), v{"k1"});
  EXPECT_EQ(names(t, "USER", "EXAMPLE.com"), v{"k1"});
  EXPECT_EQ(names(t, "x", "Mail.Example.Org"), v{"k2"});
  EXPECT_EQ(names(t, "boss", "any.example"), v{"k3"});
}

TEST(SigningTable, RefileTriesPatternsInFileOrder) {
  constexpr std::string_view text =
      "*@sub.example.com   k-sub\n"
      "*@*.example.com     k-deep\n"
      "boss@example.com    k-boss\n"
      "*@example.com       k-domain\n"
      "*                   k-any\n";
  signing_table t = table_of(text, table_kind::refile);
  EXPECT_EQ(t.kind(), table_kind::refile);
  EXPECT_EQ(names(t, "a", "sub.example.com"), v{"k-sub"});
  EXPECT_EQ(names(t, "a", "x.sub.example.com"), v{"k-deep"});
  EXPECT_EQ(names(t, "boss", "example.com"), v{"k-boss"});
  EXPECT_EQ(names(t, "other", "example.com"), v{"k-domain"});
  EXPECT_EQ(names(t, "other", "example.net"), v{"k-any"});
  EXPECT_EQ(names(t, "boss", "example.com", true), (v{"k-boss", "k-domain", "k-any"}));
  // File order, not specificity: a catch-all first takes everything.
  signing_table first = table_of("* k-any\nboss@example.com k-boss\n", table_kind::refile);
  EXPECT_EQ(names(first, "boss", "example.com"), v{"k-any"});
}

TEST(SigningTable, RefileWildcards) {
  signing_table t = table_of(
      "a*b@x.example      k1\n"   // "*" in the local part
      "*example.org       k2\n"   // "*" matches across dots and the empty string
      "c@x.example*       k3\n"   // trailing
      "d**@y.example      k4\n"   // consecutive stars are one
      "e.f@z.example      k5\n"   // "." is literal, not "any character"
      "[g]@w.example      k6\n",  // so are regular-expression characters
      table_kind::refile);
  EXPECT_EQ(names(t, "ab", "x.example"), v{"k1"});
  EXPECT_EQ(names(t, "a-long-b", "x.example"), v{"k1"});
  EXPECT_TRUE(names(t, "a-long-c", "x.example").empty());
  EXPECT_EQ(names(t, "u", "example.org"), v{"k2"});
  EXPECT_EQ(names(t, "u", "mail.notexample.org"), v{"k2"});
  EXPECT_EQ(names(t, "c", "x.example"), v{"k3"});
  EXPECT_EQ(names(t, "d", "y.example"), v{"k4"});
  EXPECT_EQ(names(t, "dxyz", "y.example"), v{"k4"});
  EXPECT_EQ(names(t, "e.f", "z.example"), v{"k5"});
  EXPECT_TRUE(names(t, "exf", "z.example").empty());
  EXPECT_EQ(names(t, "[g]", "w.example"), v{"k6"});
  EXPECT_TRUE(names(t, "g", "w.example").empty());
  EXPECT_TRUE(names(t, "u", "example.org.evil").empty());  // anchored at both ends
}

TEST(SigningTable, RefileIgnoresCase) {
  signing_table t = table_of("*@EXAMPLE.com k1\nBoss@*.Example.NET k2\n", table_kind::refile);
  EXPECT_EQ(names(t, "Anyone", "example.COM"), v{"k1"});
  EXPECT_EQ(names(t, "BOSS", "MAIL.example.net"), v{"k2"});
}

TEST(SigningTable, RefileMatchesRepeatedPiecesExactly) {
  // Pieces that overlap or repeat: the leftmost choice of each piece must not miss a match.
  signing_table t = table_of("*aab*ab@x k1\n*abab*abab@y k2\n", table_kind::refile);
  EXPECT_EQ(names(t, "aaabab", "x"), v{"k1"});
  EXPECT_TRUE(names(t, "aaba", "x").empty());
  EXPECT_TRUE(names(t, "ababab", "y").empty());  // the two "abab" may not overlap
  EXPECT_EQ(names(t, "abababab", "y"), v{"k2"});
  EXPECT_EQ(names(t, "xabababyabab", "y"), v{"k2"});
  EXPECT_TRUE(names(t, "abab", "y").empty());
}

// The reference for "*" patterns: pattern[0..i) matches text[0..j), by dynamic programming.
bool glob_reference(std::string_view p, std::string_view t) {
  std::vector<std::vector<char>> m(p.size() + 1, std::vector<char>(t.size() + 1, 0));
  m[0][0] = 1;
  for (std::size_t i = 1; i <= p.size(); ++i)
    for (std::size_t j = 0; j <= t.size(); ++j)
      m[i][j] = p[i - 1] == '*' ? m[i - 1][j] || (j > 0 && m[i][j - 1])
                                : j > 0 && m[i - 1][j - 1] && p[i - 1] == t[j - 1];
  return m[p.size()][t.size()] != 0;
}

TEST(SigningTable, RefileAgreesWithAReferenceMatcher) {
  // Small alphabets make overlaps, repeats and near misses common.
  std::mt19937 rng(14);
  auto word = [&](std::string_view alphabet, std::size_t max) {
    std::string w(rng() % (max + 1), ' ');
    for (char& c : w) c = alphabet[rng() % alphabet.size()];
    return w;
  };
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string pattern = word("ab*@.", 9);
    if (pattern.empty()) continue;
    std::string local = word("ab", 6), host = word("ab.", 4);
    auto t = signing_table::parse(pattern + " k\n", table_kind::refile, "T");
    ASSERT_TRUE(t) << pattern;
    bool want = glob_reference(pattern, local + "@" + host);
    matched += want;
    ASSERT_EQ(!t->lookup(local, host, false).empty(), want)
        << pattern << " " << local << "@" << host;
  }
  EXPECT_GT(matched, 500);  // both answers were exercised (954 with this seed)
}

constexpr std::string_view dual_keys =
    "example.com-rsa  example.com:rsa2026:/etc/dkimkeys/example.com.rsa:rsa-sha256\n"
    "example.com-ed   example.com:ed2026:/etc/dkimkeys/example.com.ed:ed25519-sha256\n"
    "other            other.example:sel:/etc/dkimkeys/other\n";

TEST(SigningTable, MultipleSignaturesSignWithRsaAndEd25519) {
  key_table keys = keys_of(dual_keys);
  signing_table t = table_of(
      "example.com example.com-rsa\n"
      "example.com example.com-ed\n"
      "*           other\n");
  auto one = select_keys(t, keys, "a", "example.com", false);
  ASSERT_TRUE(one) << one.error().message();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].selector, "rsa2026");
  EXPECT_EQ((*one)[0].algo, algorithm::rsa_sha256);

  auto all = select_keys(t, keys, "a", "example.com", true);
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].selector, "rsa2026");
  EXPECT_EQ((*all)[1].selector, "ed2026");
  EXPECT_EQ((*all)[1].algo, algorithm::ed25519_sha256);
  EXPECT_EQ((*all)[1].sdid, "example.com");
  EXPECT_EQ((*all)[1].key, "/etc/dkimkeys/example.com.ed");
  EXPECT_TRUE((*all)[1].key_is_file);
  EXPECT_EQ((*all)[1].signing_line, 2u);
  EXPECT_EQ((*all)[1].key_line, 2u);
  EXPECT_EQ((*all)[2].key_name, "other");
  EXPECT_EQ((*all)[2].algo, std::nullopt);

  // The same with a refile table.
  signing_table re =
      table_of("*@example.com example.com-rsa\n*@example.com example.com-ed\n", table_kind::refile);
  auto both = select_keys(re, keys, "b", "example.com", true);
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].algo, algorithm::ed25519_sha256);
}

TEST(SigningTable, AKeyMatchedTwiceSignsOnce) {
  key_table keys = keys_of(dual_keys);
  signing_table t = table_of("a@example.com other\nexample.com other\n* example.com-ed\n");
  auto all = select_keys(t, keys, "a", "example.com", true);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key_name, "other");
  EXPECT_EQ((*all)[0].signing_line, 1u);
  EXPECT_EQ((*all)[1].key_name, "example.com-ed");
}

TEST(SigningTable, PercentIsTheSendersDomain) {
  key_table keys = keys_of(
      "example.org  %:sel:/etc/dkimkeys/%.private\n"
      "shared       %:s2:MIIBVQIBADANBgkqhkiG9w0BAQEFAASC%\n"
      "fixed        fixed.example:s3:./keys/fixed\n");
  signing_table t = table_of(
      "example.org  %\n"
      ".example.net shared:%-list@%\n"
      "*            fixed:%@fixed.example\n");
  auto a = select_keys(t, keys, "u", "Example.ORG", false);
  ASSERT_TRUE(a) << a.error().message();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].key_name, "example.org");
  EXPECT_EQ((*a)[0].sdid, "example.org");
  EXPECT_EQ((*a)[0].key, "/etc/dkimkeys/example.org.private");

  auto b = select_keys(t, keys, "u", "mail.example.net", false);
  ASSERT_TRUE(b) << b.error().message();
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].sdid, "mail.example.net");
  EXPECT_EQ((*b)[0].key, "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCmail.example.net");
  EXPECT_FALSE((*b)[0].key_is_file);
  EXPECT_EQ((*b)[0].auid, "mail.example.net-list@mail.example.net");

  auto c = select_keys(t, keys, "u", "third.example", false);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].sdid, "fixed.example");
  EXPECT_TRUE((*c)[0].key_is_file);
  EXPECT_EQ((*c)[0].auid, "third.example@fixed.example");
}

TEST(SigningTable, PercentWithADomainThatIsNoDnsNameFailsClosed) {
  key_table keys = keys_of("k %:sel:/etc/dkimkeys/%.key\n");
  signing_table t = table_of("* k\n", table_kind::refile);
  auto r = select_keys(t, keys, "u", "[192.0.2.1]", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().detail.find("not a domain name"), std::string::npos) << r.error().detail;
  r = select_keys(t, keys, "u", "../../etc", false);
  EXPECT_FALSE(r);
}

TEST(SigningTable, SignerBecomesAuidOnlyWithinTheSigningDomain) {
  key_table keys = keys_of("k example.com:sel:/k\n");
  signing_table t = table_of(
      "a@example.com       k:a@example.com\n"
      "b@example.com       k:b@mail.example.com\n"
      "c@example.com       k:c@other.example\n"
      "d@example.com       k:d@badexample.com\n"
      "e@example.com       k:@Example.COM\n");
  auto auid = [&](std::string_view user) -> std::optional<std::string> {
    auto r = select_keys(t, keys, user, "example.com", false);
    EXPECT_TRUE(r && r->size() == 1);
    return r && r->size() == 1 ? (*r)[0].auid : std::nullopt;
  };
  EXPECT_EQ(auid("a"), "a@example.com");
  EXPECT_EQ(auid("b"), "b@mail.example.com");
  EXPECT_EQ(auid("c"), std::nullopt);
  EXPECT_EQ(auid("d"), std::nullopt);
  EXPECT_EQ(auid("e"), "@Example.COM");
}

TEST(SigningTable, AKeyNameMissingFromTheKeyTableIsAnError) {
  key_table keys = keys_of("k example.com:sel:/k\n");
  signing_table t = table_of("example.com k\n\n*  missing\n");
  EXPECT_TRUE(select_keys(t, keys, "a", "example.com", false));
  auto r = select_keys(t, keys, "a", "example.net", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().detail.find("line 3"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("missing"), std::string::npos) << r.error().detail;
  // With multiple, a later missing key fails the whole selection (no partial set of signatures).
  EXPECT_FALSE(select_keys(t, keys, "a", "example.com", true));
}

TEST(SigningTable, FromFieldIsParsedAsAnAddressList) {
  key_table keys = keys_of(dual_keys);
  signing_table t =
      table_of("boss@example.com other\n*@example.com example.com-ed\n", table_kind::refile);
  // The display name and a comment hold other addresses; the mailbox is boss@example.com.
  auto r = select_keys_for_from(
      t, keys, "\"x@evil.example\" <Boss@Example.COM> (y@evil.example)\r\n", false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].key_name, "other");
  // A quoted local part is unquoted before the lookup.
  r = select_keys_for_from(t, keys, "\"b\\oss\"@example.com", false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].key_name, "other");
  // Not one mailbox, or not a mailbox at all: an error, never a guess.
  EXPECT_FALSE(select_keys_for_from(t, keys, "a@example.com, b@example.com", false));
  EXPECT_FALSE(select_keys_for_from(t, keys, "undisclosed:;", false));
  EXPECT_FALSE(select_keys_for_from(t, keys, "boss@example.com <", false));
  EXPECT_FALSE(select_keys_for_from(t, keys, "", false));
}

TEST(SigningTable, NoMatchSelectsNothing) {
  key_table keys = keys_of("k example.com:sel:/k\n");
  signing_table t = table_of("example.com k\n");
  auto r = select_keys(t, keys, "a", "example.net", true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(select_keys(signing_table{}, key_table{}, "a", "example.net", true)->empty());
}

TEST(KeyTable, RowsCommentsBlankLinesAndCrlf) {
  key_table keys = keys_of(
      "# the key table\r\n"
      "\r\n"
      "   \t\n"
      "a\texample.com:sel:/keys/a   # trailing comment\r\n"
      "  b    example.net:s-2_x:../keys/b:ed25519-sha256\n"
      "c example.org:sel:MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC+");  // no final LF
  EXPECT_EQ(keys.size(), 3u);
  const key_table_entry* a = keys.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->domain, "example.com");
  EXPECT_EQ(a->selector, "sel");
  EXPECT_EQ(a->key, "/keys/a");
  EXPECT_EQ(a->line, 4u);
  EXPECT_TRUE(a->key_is_file());
  const key_table_entry* b = keys.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->algo, algorithm::ed25519_sha256);
  EXPECT_TRUE(b->key_is_file());
  const key_table_entry* c = keys.find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->key_is_file());
  EXPECT_EQ(keys.find("A"), nullptr);  // names are exact
  EXPECT_EQ(keys.find("d"), nullptr);
}

TEST(KeyTable, RefileKeyTableMatchesNamesInFileOrder) {
  key_table keys =
      keys_of("special.example s.example:sel:/k1\n*.example %:sel:/k2\n", table_kind::refile);
  ASSERT_NE(keys.find("special.example"), nullptr);
  EXPECT_EQ(keys.find("special.example")->key, "/k1");
  ASSERT_NE(keys.find("other.example"), nullptr);
  EXPECT_EQ(keys.find("other.example")->key, "/k2");
  EXPECT_EQ(keys.find("other.test"), nullptr);
  signing_table t = table_of("* %\n", table_kind::refile);
  auto r = select_keys(t, keys, "u", "mail.example", false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].sdid, "mail.example");
  EXPECT_EQ((*r)[0].key, "/k2");
}

// The error of parsing `text` as a key table (or a signing table).
std::string key_error(std::string_view text) {
  auto k = key_table::parse(text, table_kind::plain, "/etc/KeyTable");
  EXPECT_FALSE(k) << text;
  return k ? "" : k.error().detail;
}
std::string signing_error(std::string_view text, table_kind kind = table_kind::plain) {
  auto t = signing_table::parse(text, kind, "/etc/SigningTable");
  EXPECT_FALSE(t) << text;
  return t ? "" : t.error().detail;
}

TEST(KeyTable, MalformedRowsNameFileAndLine) {
  EXPECT_EQ(key_error("# c\nk example.com:sel\n").rfind("/etc/KeyTable:2: ", 0), 0u);
  EXPECT_EQ(key_error("k example.com:sel:/k:rsa-sha256:x\n").rfind("/etc/KeyTable:1: ", 0), 0u);
  EXPECT_EQ(key_error("\n\nk\n").rfind("/etc/KeyTable:3: no value", 0), 0u);
  EXPECT_NE(key_error("k exa mple.com:sel:/k\n").find(":1: white space"), std::string::npos);
  EXPECT_NE(key_error("k :sel:/k\n").find(":1: 'k': domain"), std::string::npos);
  EXPECT_NE(key_error("k ex..ample:sel:/k\n").find("domain"), std::string::npos);
  EXPECT_NE(key_error("k example.com::/k\n").find("selector"), std::string::npos);
  EXPECT_NE(key_error("k example.com:s/x:/k\n").find("selector"), std::string::npos);
  EXPECT_NE(key_error("k example.com:sel:\n").find("empty key"), std::string::npos);
  EXPECT_NE(key_error("k example.com:sel:/k:rsa-sha1\n").find("algorithm"), std::string::npos);
  EXPECT_NE(key_error("k example.com:sel:/k:dsa\n").find("algorithm"), std::string::npos);
  EXPECT_NE(key_error("k a.example:s:/a\nj b.example:s:/b\nk c.example:s:/c\n")
                .find(":3: key name 'k' already defined at line 1"),
            std::string::npos);
  EXPECT_NE(key_error(std::string("k example.com:sel:/k\0x\n", 24)).find(":1: control character"),
            std::string::npos);
}

TEST(SigningTable, MalformedRowsNameFileAndLine) {
  EXPECT_EQ(signing_error("a@example.com\n").rfind("/etc/SigningTable:1: no value", 0), 0u);
  EXPECT_NE(signing_error("x k\ny :sig@x\n").find(":2: 'y': empty key name"), std::string::npos);
  EXPECT_NE(signing_error("x k:notanaddress\n").find(":1: 'x': signer"), std::string::npos);
  EXPECT_NE(signing_error("x k:\n").find("signer"), std::string::npos);
  EXPECT_NE(signing_error("x k:a@b:c@d\n").find("signer"), std::string::npos);
  EXPECT_NE(signing_error("x k other\n", table_kind::refile).find(":1: white space"),
            std::string::npos);
  EXPECT_NE(signing_error("ok k\nx\x01y k\n").find(":2: control character"), std::string::npos);
}

TEST(SigningTable, HostileSizesAreBounded) {
  table_limits small;
  small.max_line = 100;
  small.max_bytes = 1000;
  small.max_rows = 3;
  small.max_patterns = 2;
  std::string long_line = "x " + std::string(99, 'k') + "\n";
  auto a = signing_table::parse("ok k\n" + long_line, table_kind::plain, "T", small);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().detail, "T:2: line longer than 100 bytes");
  auto b = signing_table::parse(std::string(1001, '#'), table_kind::plain, "T", small);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().detail, "T: larger than 1000 bytes");
  auto c = signing_table::parse("a k\nb k\nc k\n# four:\nd k\n", table_kind::plain, "T", small);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().detail, "T:5: more than 3 rows");
  auto d = key_table::parse("a x.example:s:/k\nb x.example:s:/k\nc x.example:s:/k\n",
                            table_kind::refile, "K", small);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().detail, "K:3: more than 2 rows");
  // The defaults: a line of a megabyte is refused, quickly.
  std::string huge = "x " + std::string(1u << 20, 'k') + "\n";
  auto e = signing_table::parse(huge, table_kind::plain, "T");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().detail, "T:1: line longer than 8192 bytes");
}

TEST(SigningTable, ManyStarsAgainstALongAddressTakeLinearTime) {
  // "*a*a*...*a*b": a backtracking matcher takes time exponential (a regex engine) or quadratic
  // in the stars times the address on "aaaa...a"; this one reads the address once per pattern.
  std::string pattern;
  for (int i = 0; i < 4000; ++i) pattern += "*a";
  pattern += "*b@*";
  std::string text = pattern + " k\n";
  table_limits limits;
  limits.max_line = 1u << 16;
  auto t = signing_table::parse(text, table_kind::refile, "T", limits);
  ASSERT_TRUE(t) << t.error().message();
  std::string local(60000, 'a');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(t->lookup(local, "x.example", false).empty());
  EXPECT_EQ(t->lookup(local + "b", "x.example", false).size(), 1u);
  auto took = std::chrono::steady_clock::now() - start;
  // 21 matches of 4000 pieces against 60 000 characters: a quadratic matcher needs over 10^9
  // steps each; a linear one, well under a millisecond.
  EXPECT_LT(took, std::chrono::milliseconds(500));
}

TEST(SigningTable, LoadReadsDataSetsFromFiles) {
  std::string dir = ::testing::TempDir();
  std::string keys_path = dir + "/dkimkit-keytable-test";
  std::string sign_path = dir + "/dkimkit-signingtable-test";
  std::ofstream(keys_path) << "k example.com:sel:/k\n";
  std::ofstream(sign_path) << "*@example.com k\n";
  EXPECT_EQ(parse_table_source("refile:/x").kind, table_kind::refile);
  EXPECT_EQ(parse_table_source("refile:/x").path, "/x");
  EXPECT_EQ(parse_table_source("file:/x").kind, table_kind::plain);
  EXPECT_EQ(parse_table_source("file:/x").path, "/x");
  EXPECT_EQ(parse_table_source("/x").path, "/x");
  auto keys = key_table::load("file:" + keys_path);
  ASSERT_TRUE(keys) << keys.error().message();
  auto re = signing_table::load("refile:" + sign_path);
  ASSERT_TRUE(re) << re.error().message();
  auto r = select_keys(*re, *keys, "u", "example.com", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u);
  // As a plain table, "*@example.com" is a key no lookup asks for.
  auto plain = signing_table::load(sign_path);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->lookup("u", "example.com", true).empty());
  // Errors name the file.
  std::ofstream(sign_path) << "*@example.com\n";
  auto bad = signing_table::load(sign_path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().detail, sign_path + ":1: no value after '*@example.com'");
  auto missing = key_table::load(dir + "/dkimkit-no-such-table");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::io_error);
  std::remove(keys_path.c_str());
  std::remove(sign_path.c_str());
}

}  // namespace
}  // namespace dkimkit
