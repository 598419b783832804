// The author domain: From parsed as an RFC 5322 §3.4 address list (RFC 6854 groups, RFC 6532
// UTF-8), never searched for a character; anything but one mailbox in one From field gives no
// author domain (RFC 7489 §6.6.1), so a signature by another domain is never aligned.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <dkimkit/policy.hpp>
#include <dkimkit/signer.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

struct valid_case {
  std::string value;
  std::vector<mailbox> want;
  bool python_agrees = true;  // false: Python's parser reports a defect or differs (see comment)
};

const std::vector<valid_case>& valid_cases() {
  static const std::vector<valid_case> cases = {
      {" Alice <alice@Example.COM>", {{"Alice", "alice", "example.com"}}},
      {" bob@example.org (Bob)", {{"", "bob", "example.org"}}},
      {"<a@b.example>", {{"", "a", "b.example"}}},
      {"a.b.c@d.example", {{"", "a.b.c", "d.example"}}},
      {"A <B@EXAMPLE.ORG>", {{"A", "B", "example.org"}}},  // the local part keeps its case
      // Quoted display names hold specials: none of them is an address.
      {"\"a@b\" <c@mail.example.net>", {{"a@b", "c", "mail.example.net"}}},
      {"\"Doe, John <jd@evil.example> (x\" <john@good.example>",
       {{"Doe, John <jd@evil.example> (x", "john", "good.example"}}},
      {R"("a\"b\\c" <x@y.example>)", {{R"(a"b\c)", "x", "y.example"}}},
      {"\"\" <x@y.example>", {{"", "x", "y.example"}}},
      {"\"John\"\"Smith\" <x@y.example>", {{"JohnSmith", "x", "y.example"}}},
      {"John  Smith<x@y.example>", {{"John Smith", "x", "y.example"}}},
      // Comments, nested, with quoted-pairs, wherever CFWS may be.
      {R"( (c (nested (deeper) \) \( ) x \\ y) a@b.example (trailing))", {{"", "a", "b.example"}}},
      {"John (the man) Smith <j@x.example>", {{"John Smith", "j", "x.example"}}},
      {"a (c) @ (d) b.example", {{"", "a", "b.example"}}},
      {"<(c)a@b.example(d)>", {{"", "a", "b.example"}}},
      // Quoted local parts, unquoted.
      {"\"a b\"@example.com", {{"", "a b", "example.com"}}},
      {"\"quoted.local\"@x.example", {{"", "quoted.local", "x.example"}}},
      // Groups, flattened; an empty group has no mailbox.
      {"friends: Alice <a@x.example>, b@y.example;",
       {{"Alice", "a", "x.example"}, {"", "b", "y.example"}}},
      {"undisclosed-recipients:;", {}},
      {"team (the team): (nobody) ;", {}},
      {"a@x.example, g: b@y.example;, c@z.example",
       {{"", "a", "x.example"}, {"", "b", "y.example"}, {"", "c", "z.example"}}},
      // Obsolete forms: obs-phrase, obs-domain, null list members.
      {"John Q. Public <jqp@example.com>", {{"John Q. Public", "jqp", "example.com"}}},
      {"x@good . example", {{"", "x", "good.example"}}},
      {"a@b.example,,c@d.example", {{"", "a", "b.example"}, {"", "c", "d.example"}}},
      // A domain-literal parses; it is no DNS name (author_domain refuses it).
      {"a@[192.0.2.1]", {{"", "a", "[192.0.2.1]"}}},
      // RFC 6532 UTF-8 in a display name.
      {"J\xc3\xb6rg <j@x.example>", {{"J\xc3\xb6rg", "j", "x.example"}}},
      // Folding (CRLF or LF then white space) is white space.
      {"Alice\r\n <a@b.example>", {{"Alice", "a", "b.example"}}},
      {"\"Al\r\n ice\" <a@b.example>", {{"Al ice", "a", "b.example"}}},
      {"a@b.example,\n\tc@d.example", {{"", "a", "b.example"}, {"", "c", "d.example"}}},
      // Python reports these as defects: a fully-qualified domain (its trailing dot removed here),
      // a local part with a trailing dot (handed out by some mobile carriers).
      {"a@Example.COM.", {{"", "a", "example.com"}}, false},
      {"taro.@docomo.example", {{"", "taro.", "docomo.example"}}, false},
      // Python decodes RFC 2047 encoded-words in display names; this parser leaves them encoded.
      {"=?utf-8?q?J=C3=B6?= <x@y.example>", {{"=?utf-8?q?J=C3=B6?=", "x", "y.example"}}, false},
      // A trailing line ending is not part of the value.
      {"a@b.example\r\n", {{"", "a", "b.example"}}, false},
  };
  return cases;
}

struct malformed_case {
  std::string value;
  std::string why;           // a part of the error's detail
  bool python_flags = true;  // false: Python's parser accepts it without an InvalidHeaderDefect
};

const std::vector<malformed_case>& malformed_cases() {
  static const std::vector<malformed_case> cases = {
      {"ceo@good.example <x@evil.example>", "expected ',' between addresses, found '<'"},
      {"\"unterminated <a@b.example>", "unterminated quoted string"},
      {"a@b.example (unterminated", "unterminated comment"},
      {"a@b.example (a (b)", "unterminated comment"},
      {"a@b.example)", "found ')'"},
      {"Alice <a@b.example", "expected '>', found the end of the value"},
      {"Alice a@b.example>", "white space inside the local-part"},
      {"<>", "empty angle-addr"},
      {"a@", "expected a domain"},
      {"a", "'<', '@' or ':' after a phrase"},
      {"@", "the local-part is missing"},
      {"@b.example", "the local-part is missing"},
      {"a@b@c.example", "found '@'"},
      {"a@b..example", "found '.'"},
      {"a@.example", "expected a domain, found '.'"},
      {"a b@c.example", "white space inside the local-part"},
      {"\"a\"b@x.example", "white space inside the local-part"},
      {"Al\x01"
       "ce <a@b.example>",
       "found a control character"},
      {"a@b.ex\x7f"
       "ample",
       "found a control character"},
      {"A\xe9 <a@b.example>", "invalid UTF-8"},  // Latin-1, not UTF-8
      {"\"\xc3\x28\" <a@b.example>", "invalid UTF-8"},
      {"\xc0\xaf@x.example", "invalid UTF-8"},              // an overlong '/'
      {"\"\xed\xa0\x80\" <a@b.example>", "invalid UTF-8"},  // a surrogate
      {"a@b.example\r\nc@d.example", "a line break not followed by white space"},
      {"a@b.example\rx", "a line break not followed by white space"},
      {"", "the value is empty"},
      {"   ", "no address"},
      {"(only a comment)", "no address"},
      {"a@b.example;", "found ';'"},
      {"g: a@b.example", "expected ',' or ';' in a group"},
      {"g: h: a@b.example;;", "a group inside a group"},
      {": a@b.example;", "a display name is required"},
      {".a <x@y.example>", "cannot start with '.'"},
      {"a@b.example \"x\"", "found '\"'"},
      {"a@[1.2.3.4", "domain-literal text or ']'"},
      // Refused by choice where Python accepts: source routes, quoted-pairs in a domain-literal
      // (Python keeps "[1.2.3.4]]" as the domain).
      {"<@relay.example:a@b.example>", "obs-route", false},
      {R"(a@[1.2.3.4\]])", "domain-literal text or ']'", false},
  };
  return cases;
}

TEST(address, valid_forms_parse_by_the_grammar) {
  for (const auto& c : valid_cases()) {
    auto got = parse_mailbox_list(c.value);
    ASSERT_TRUE(got) << c.value << ": " << got.error().message();
    EXPECT_EQ(*got, c.want) << c.value;
  }
}

TEST(address, malformed_forms_are_errors_naming_the_problem) {
  for (const auto& c : malformed_cases()) {
    auto got = parse_mailbox_list(c.value);
    ASSERT_FALSE(got) << c.value;
    EXPECT_EQ(got.error().code, errc::invalid_argument);
    EXPECT_NE(got.error().detail.find(c.why), std::string::npos)
        << c.value << ": " << got.error().detail;
    // Never the input itself: the detail goes into JSON and logs.
    EXPECT_NE(got.error().detail.find(" at offset "), std::string::npos) << got.error().detail;
  }
}

TEST(address, overlong_value_is_refused) {
  std::string ok = "a@b.example (" + std::string(16384 - 14, 'x') + ")";
  ASSERT_EQ(ok.size(), 16384u);
  EXPECT_TRUE(parse_mailbox_list(ok));
  auto got = parse_mailbox_list(ok + " ");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().detail.find("longer than 16384 bytes"), std::string::npos);
}

TEST(address, deeply_nested_comments_need_no_recursion) {
  std::string v = "a@b.example " + std::string(8000, '(') + std::string(8000, ')');
  auto got = parse_mailbox_list(v);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->size(), 1u);
  EXPECT_FALSE(
      parse_mailbox_list("a@b.example " + std::string(8000, '(') + std::string(7999, ')')));
}

// The bypasses of issue 11: the old code took the last '<' and the last '@', so a comment or a
// second mailbox named the author. A signature by evil.example must never align with these.
const std::vector<std::string>& bypass_values() {
  static const std::vector<std::string> values = {
      "ceo@good.example (x@evil.example)",
      "\"CEO\" <ceo@good.example> (<x@evil.example>)",
      "ceo@good.example, x@evil.example",
      "<ceo@good.example>, <x@evil.example>",
      "CEO <ceo@good.example>, X <x@evil.example>",
      "friends: ceo@good.example, x@evil.example;",
      "ceo@good.example (@)",
      "ceo@good.example <x@evil.example>",
  };
  return values;
}

TEST(address, bypass_forms_give_no_author_aligned_with_another_domain) {
  for (const auto& v : bypass_values()) {
    auto author = author_domain(v);
    if (author) {
      EXPECT_EQ(*author, "good.example") << v;
    } else {
      EXPECT_EQ(author.error().code, errc::invalid_argument) << v;
    }
    EXPECT_EQ(align("evil.example", author.value_or("")), alignment::no) << v;
  }
}

TEST(address, comments_are_not_the_author) {
  EXPECT_EQ(author_domain("ceo@good.example (x@evil.example)").value_or(""), "good.example");
  EXPECT_EQ(author_domain("\"CEO\" <ceo@good.example> (<x@evil.example>)").value_or(""),
            "good.example");
  EXPECT_EQ(author_domain("ceo@good.example (@)").value_or(""), "good.example");
}

// RFC 7489 §6.6.1: several authors give no single author domain.
TEST(address, several_mailboxes_give_no_author_domain) {
  for (std::string v : {"ceo@good.example, x@evil.example", "<ceo@good.example>, <x@evil.example>",
                        "friends: ceo@good.example, x@evil.example;"}) {
    auto author = author_domain(v);
    ASSERT_FALSE(author) << v;
    EXPECT_NE(author.error().detail.find("2 mailboxes"), std::string::npos)
        << author.error().detail;
  }
  auto none = author_domain("undisclosed-recipients:;");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().detail.find("0 mailboxes"), std::string::npos);
}

TEST(address, author_domain_needs_exactly_one_from_field) {
  std::vector<std::string_view> none;
  EXPECT_EQ(author_domain(none).error().code, errc::no_from);
  std::vector<std::string_view> two = {"a@good.example", "b@evil.example"};
  EXPECT_EQ(author_domain(two).error().code, errc::multiple_from);
  std::vector<std::string_view> one = {" Alice <a@Mail.Good.Example.>"};
  EXPECT_EQ(author_domain(one).value_or(""), "mail.good.example");
  // "" is what verifier::from_field() gives for no From field or several.
  EXPECT_FALSE(author_domain(std::string_view()));
}

TEST(address, author_domain_must_be_a_dns_name) {
  auto literal = author_domain("a@[192.0.2.1]");
  ASSERT_FALSE(literal);
  EXPECT_NE(literal.error().detail.find("[192.0.2.1] is not a DNS name"), std::string::npos);
  EXPECT_FALSE(
      author_domain("a@b\xc3\xbc"
                    "cher.example"));            // a U-label: no IDNA here
  EXPECT_FALSE(author_domain("a@x!y.example"));  // atext, but not a host name
  EXPECT_FALSE(author_domain("not an address"));
}

TEST(address, author_domains_lists_every_domain_of_every_field) {
  std::vector<std::string_view> fields = {"ceo@Good.Example, x@evil.example",
                                          "g: y@evil.example, z@third.example.;"};
  auto all = author_domains(fields);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(*all, (std::vector<std::string>{"good.example", "evil.example", "third.example"}));
  std::vector<std::string_view> bad = {"ceo@good.example", "x@evil.example <"};
  EXPECT_FALSE(author_domains(bad));  // one field does not parse: no list at all
  std::vector<std::string_view> literal = {"ceo@good.example, x@[192.0.2.1]"};
  EXPECT_FALSE(author_domains(literal));  // a mailbox with no DNS domain is not left out
  std::vector<std::string_view> empty_group = {"undisclosed-recipients:;"};
  EXPECT_FALSE(author_domains(empty_group));
  EXPECT_EQ(author_domains(std::vector<std::string_view>()).error().code, errc::no_from);
}

// --- cross-check with an independent parser: Python's email.headerregistry -----------------------
// Python is lenient: on malformed input it still returns addresses and lists defects (and it
// sometimes throws). A malformed case agrees when Python reports an InvalidHeaderDefect (or
// another non-obsolete defect), throws, or finds no address.

constexpr const char* kPythonScript = R"py(
import re, sys
from email import errors
from email.headerregistry import HeaderRegistry
reg = HeaderRegistry()
hx = lambda s: s.encode("utf-8", "surrogateescape").hex() or "-"
for line in open(sys.argv[1]):
    v = bytes.fromhex(line.strip()).decode("utf-8", "surrogateescape")
    v = re.sub(r"\r?\n(?=[ \t])", "", v)  # unfolded, as Python wants it
    try:
        h = reg("From", v)
    except Exception:
        print("invalid")
        continue
    if any(not isinstance(d, errors.ObsoleteHeaderDefect) for d in h.defects):
        print("invalid")
        continue
    print(" ".join(["ok"] + [hx(a.display_name) + "," + hx(a.username) + "," + hx(a.domain.lower())
                             for a in h.addresses]))
)py";

std::string to_hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += {digits[u >> 4], digits[u & 15]};
  }
  return out;
}

std::string from_hex(std::string_view s) {
  if (s == "-") return {};
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
  return out;
}

// One line per value: "invalid", or "ok" and the mailboxes (display name, local part, domain).
std::vector<std::string> python_parse(const std::vector<std::string>& values) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(testing::TempDir()) / ("dkimkit-address-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "check.py") << kPythonScript;
  {
    std::ofstream in(dir / "values");
    for (const auto& v : values) in << to_hex(v) << "\n";
  }
  std::string cmd =
      "/usr/bin/python3 " + (dir / "check.py").string() + " " + (dir / "values").string();
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  std::vector<std::string> out;
  std::string line;
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p.get())) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      out.push_back(line);
      line.clear();
    }
  }
  p.reset();
  fs::remove_all(dir);
  return out;
}

std::vector<mailbox> python_mailboxes(const std::string& line) {
  std::istringstream words(line);
  std::string w;
  words >> w;  // "ok"
  std::vector<mailbox> out;
  while (words >> w) {
    std::size_t a = w.find(','), b = w.find(',', a + 1);
    out.push_back({from_hex(w.substr(0, a)), from_hex(w.substr(a + 1, b - a - 1)),
                   from_hex(w.substr(b + 1))});
  }
  return out;
}

TEST(address, cross_check_with_python_email_headerregistry) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  std::vector<std::string> values;
  for (const auto& c : valid_cases()) values.push_back(c.value);
  for (const auto& c : malformed_cases()) values.push_back(c.value);
  std::vector<std::string> py = python_parse(values);
  ASSERT_EQ(py.size(), values.size());
  std::size_t i = 0;
  for (const auto& c : valid_cases()) {
    const std::string& line = py[i++];
    auto ours = parse_mailbox_list(c.value);
    ASSERT_TRUE(ours);
    bool agrees = line.starts_with("ok") && python_mailboxes(line) == *ours;
    EXPECT_EQ(agrees, c.python_agrees) << c.value << " -> python: " << line;
  }
  for (const auto& c : malformed_cases()) {
    const std::string& line = py[i++];
    bool flags = line == "invalid" || line == "ok";
    EXPECT_EQ(flags, c.python_flags) << c.value << " -> python: " << line;
  }
}

// --- end to end: a signature by evil.example, verified for real, under --require aligned ---------

class address_bypass : public ::testing::Test {
 protected:
  void SetUp() override { dns.add("sel._domainkey.evil.example", test::ed25519().public_record()); }
  // The message with `from` as its From value, signed by evil.example, verified; the reply
  // under requirement::aligned (nullopt: accepted).
  std::optional<smtp_reply> reply_for(const std::string& from) {
    std::string m = "From: " + from + "\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
    sign_options o;
    o.sdid = "evil.example";
    o.selector = "sel";
    o.key = test::ed25519();
    auto f = sign(m, {o}, test::kNow);
    EXPECT_TRUE(f);
    if (!f) return std::nullopt;
    verifier v(test::options_for(dns));
    v.update((*f)[0] + "\r\n" + m);
    std::vector<verification> results = v.finish();
    EXPECT_EQ(results.size(), 1u);
    EXPECT_EQ(results.at(0).status, status::pass) << from;
    return smtp_reply_for(results, author_domain(v.from_field()).value_or(""),
                          {requirement::aligned, {}});
  }
  static_resolver dns;
};

TEST_F(address_bypass, require_aligned_rejects_every_bypass_form) {
  for (const auto& from : bypass_values()) {
    auto r = reply_for(from);
    ASSERT_TRUE(r) << from << ": accepted";
    EXPECT_EQ(r->line(), "550 5.7.22 No valid author-matched DKIM signature found") << from;
  }
}

TEST_F(address_bypass, require_aligned_accepts_the_honest_message) {
  EXPECT_FALSE(reply_for("X <x@evil.example>"));
  EXPECT_FALSE(reply_for("x@Mail.Evil.Example."));  // relaxed, and the trailing dot removed
}

}  // namespace
}  // namespace dkimkit
