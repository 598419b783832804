// Every validation and signing case of the ARC test suite (ValiMail's arc_test_suite, MIT licence),
// read from ../shared/arc-test-suite beside the project (converted to JSON at build time,
// tests/CMakeLists.txt). The suite's messages have LF line endings; its key records are given per
// scenario. A case with an empty expected cv counts as fail (RFC 8617 §5.2: a chain that is not
// valid fails).
#include <gtest/gtest.h>

#include <cctype>
#include <dkimkit/arc.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tag_list/tag_list.hpp"

namespace {

struct suite_case {
  std::string name;
  std::string description;
  std::string message;
  std::string expected;  // "pass", "fail" or "none"
  std::map<std::string, std::string> txt_records;
};

// Printed as its name, not as bytes.
void PrintTo(const suite_case& c, std::ostream* os) { *os << c.name; }

// Cases where dkimkit follows RFC 8617 rather than the suite (written for draft 18): the result
// dkimkit gives and why. Counted apart in the report; each still runs and asserts that result.
struct argued_case {
  const char* expected;
  const char* why;
};
const std::map<std::string, argued_case>& argued_cases() {
  static const std::map<std::string, argued_case> cases = {
      // The AMS has no c= and was made with relaxed/relaxed header canonicalization (dkimpy's
      // arc_verify assumes relaxed/relaxed when c= is absent). RFC 8617 §4.1.2: the AMS "is
      // syntactically and semantically identical to a DKIM-Signature header field" but for i=
      // and v=, so an absent c= means simple/simple (RFC 6376 §3.5); only the ARC-Seal is
      // relaxed by definition (RFC 8617 §5.1.1). Under simple the signed fields do not match.
      {"ams_fields_c_na", {"fail", "RFC 8617 §4.1.2 + RFC 6376 §3.5: absent c= is simple/simple"}},
  };
  return cases;
}

std::string suite_file(const char* part) {
  const std::string dir = DKIMKIT_ARC_SUITE_JSON_DIR;
  return dir.empty() ? std::string() : dir + "/" + part + ".json";
}

// A scenario's key records. One written over several YAML lines is the pieces of one TXT record,
// joined without separators (RFC 6376 §3.6.2.2).
std::map<std::string, std::string> txt_records(const nlohmann::json& scenario) {
  std::map<std::string, std::string> out;
  for (const auto& [name, rec] : scenario.at("txt_records").items()) {
    std::string joined;
    for (char ch : rec.get<std::string>())
      if (ch != '\n') joined += ch;
    out[name] = joined;
  }
  return out;
}

// Every case of one part ("validation", "sign"): name, description, message and key records
// read here, the rest by `fill`(case, scenario, test). Empty when the suite is absent.
template <class Case, class Fill>
std::vector<Case> load_cases(const char* part, Fill fill) {
  std::vector<Case> out;
  const std::string path = suite_file(part);
  if (path.empty()) return out;
  std::ifstream in(path);
  if (!in) return out;
  const nlohmann::json doc = nlohmann::json::parse(in);
  for (const auto& scenario : doc) {
    const std::map<std::string, std::string> records = txt_records(scenario);
    for (const auto& t : scenario.at("tests")) {
      Case c;
      c.name = t.at("name").template get<std::string>();
      c.description = t.value("description", "");
      c.message = t.value("message", "");
      c.txt_records = records;
      fill(c, scenario, t);
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<suite_case> load_validation_cases() {
  return load_cases<suite_case>(
      "validation", [](suite_case& c, const nlohmann::json&, const nlohmann::json& t) {
        std::string cv = t.value("cv", "");
        for (char& ch : cv) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c.expected = cv.empty() ? "fail" : cv;  // an empty expectation is a failed chain
      });
}

const std::vector<suite_case>& validation_cases() {
  static const std::vector<suite_case> cases = load_validation_cases();
  return cases;
}

class ArcSuiteValidation : public ::testing::TestWithParam<suite_case> {};

TEST_P(ArcSuiteValidation, ChainResult) {
  const suite_case& c = GetParam();
  dkimkit::static_resolver dns;
  for (const auto& [name, rec] : c.txt_records) dns.add(name, rec);
  dkimkit::verify_options opts;
  opts.resolver = &dns;
  const dkimkit::arc_validation v = dkimkit::validate_arc(c.message, opts);
  const auto argued = argued_cases().find(c.name);
  if (argued != argued_cases().end()) {
    EXPECT_NE(c.expected, argued->second.expected) << "the suite now agrees: drop the exception";
    EXPECT_EQ(dkimkit::to_string(v.result), argued->second.expected)
        << c.name << " (argued: " << argued->second.why << "): " << v.reason;
  } else {
    EXPECT_EQ(dkimkit::to_string(v.result), c.expected)
        << c.name << " (" << c.description << "): " << v.reason;
  }
  // A failure always says why; pass and none never carry a reason.
  EXPECT_EQ(v.reason.empty(), v.result != dkimkit::arc_result::fail) << v.reason;
  if (v.result == dkimkit::arc_result::pass) {
    EXPECT_GE(v.oldest_pass, 1u);
    EXPECT_LE(v.oldest_pass, v.sets);
    ASSERT_EQ(v.set_results.size(), v.sets);
    for (const auto& s : v.set_results) EXPECT_EQ(s.seal, dkimkit::status::pass) << s.instance;
  }
}

// The case's name as a test name (the suite's names are identifiers but for a few characters).
template <class Case>
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, ArcSuiteValidation, ::testing::ValuesIn(validation_cases()),
                         case_name<suite_case>);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ArcSuiteValidation);

// --- Signing cases: the suite's key, fixed t=, tag values compared but b=. The b= values cannot
// be compared: each signs its own field with b= emptied, and dkimkit writes the tags in another
// order than the suite's sealer (i= first, as the signer writes v=), which relaxed
// canonicalization keeps. Instead the set dkimkit adds must validate on the message. ---

struct sign_case {
  std::string name, description, message, srv_id, sig_headers, domain, selector, private_key;
  std::uint64_t t = 0;
  std::string as, ams, aar;  // expected values; all empty: no set may be added
  std::map<std::string, std::string> txt_records;
};
void PrintTo(const sign_case& c, std::ostream* os) { *os << c.name; }

std::vector<sign_case> load_sign_cases() {
  return load_cases<sign_case>(
      "sign", [](sign_case& c, const nlohmann::json& scenario, const nlohmann::json& t) {
        c.srv_id = t.value("srv-id", "");
        c.sig_headers = t.value("sig-headers", "");
        c.t = t.value("t", std::uint64_t{0});
        c.as = t.value("AS", "");
        c.ams = t.value("AMS", "");
        c.aar = t.value("AAR", "");
        c.domain = scenario.value("domain", "");
        c.selector = scenario.value("sel", "");
        c.private_key = scenario.value("privatekey", "");
      });
}

const std::vector<sign_case>& sign_cases() {
  static const std::vector<sign_case> cases = load_sign_cases();
  return cases;
}

// A tag list's values without any white space, by name; b= left out.
std::map<std::string, std::string> tag_values(std::string_view value) {
  std::map<std::string, std::string> out;
  std::string flat(value);  // the suite's values break lines with bare LF
  for (char& ch : flat)
    if (ch == '\n' || ch == '\r') ch = ' ';
  auto tags = dkimkit::detail::parse_tag_list(flat);
  EXPECT_TRUE(tags.has_value()) << value;
  if (!tags) return out;
  for (const auto& t : *tags) {
    std::string v;
    for (char ch : t.value)
      if (!std::isspace(static_cast<unsigned char>(ch))) v += ch;
    if (t.name != "b") out[std::string(t.name)] = v;
  }
  return out;
}

// White space runs (folding included) as one space, none at either end.
std::string squeezed(std::string_view v) {
  std::string out;
  bool space = false;
  for (char ch : v) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

std::string_view value_of(std::string_view field) {
  return field.substr(std::min(field.find(':') + 1, field.size()));
}

class ArcSuiteSigning : public ::testing::TestWithParam<sign_case> {};

TEST_P(ArcSuiteSigning, NewSet) {
  const sign_case& c = GetParam();
  dkimkit::static_resolver dns;
  for (const auto& [name, rec] : c.txt_records) dns.add(name, rec);
  dkimkit::verify_options vopts;
  vopts.resolver = &dns;
  const dkimkit::arc_validation chain = dkimkit::validate_arc(c.message, vopts);
  auto key = dkimkit::private_key::load(c.private_key);
  ASSERT_TRUE(key.has_value()) << key.error().message();
  dkimkit::arc_seal_options o;
  o.signing.sdid = c.domain;
  o.signing.selector = c.selector;
  o.signing.key = *key;
  std::vector<std::string> headers;
  for (std::size_t p = 0, q; p <= c.sig_headers.size(); p = q + 1) {
    q = std::min(c.sig_headers.find(':', p), c.sig_headers.size());
    headers.push_back(c.sig_headers.substr(p, q - p));
  }
  o.signing.headers = headers;
  o.authserv_id = c.srv_id;
  o.allow_resealing = true;  // the suite seals as lists.example.org hop after hop
  const auto set = dkimkit::arc_seal(c.message, chain, o, c.t);
  if (c.as.empty() && c.ams.empty() && c.aar.empty()) {
    EXPECT_FALSE(set.has_value()) << c.name << ": the suite adds no set";
    return;
  }
  ASSERT_TRUE(set.has_value()) << c.name << ": " << set.error().message();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(tag_values(value_of((*set)[0])), tag_values(c.as)) << c.name << " ARC-Seal";
  EXPECT_EQ(tag_values(value_of((*set)[1])), tag_values(c.ams))
      << c.name << " ARC-Message-Signature";
  EXPECT_EQ(squeezed(value_of((*set)[2])), squeezed(c.aar))
      << c.name << " ARC-Authentication-Results";
  // The message with the new set on top validates (a failed chain stays failed). (The set the
  // suite expects does not: its ARC-Seal b= values fail with dkimkit and with dkimpy's
  // arc_verify alike, so they are no reference for b=.)
  const auto want = chain.result == dkimkit::arc_result::fail ? dkimkit::arc_result::fail
                                                              : dkimkit::arc_result::pass;
  std::string sealed;
  for (const auto& f : *set) sealed += f + "\r\n";
  const auto ours = dkimkit::validate_arc(sealed + c.message, vopts);
  EXPECT_EQ(ours.result, want) << "ours: " << ours.reason;
  if (want == dkimkit::arc_result::pass) {
    EXPECT_EQ(ours.sets, chain.sets + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ArcSuiteSigning, ::testing::ValuesIn(sign_cases()),
                         case_name<sign_case>);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ArcSuiteSigning);

// Says whether the suite is there: a plain clone of the project skips, naming the folder.
TEST(ArcSuite, CasesPresent) {
  if (suite_file("validation").empty())
    GTEST_SKIP() << "the ARC test suite is absent: put ValiMail's arc_test_suite in "
                    "../shared/arc-test-suite beside the source tree and re-run cmake";
  EXPECT_EQ(validation_cases().size(), 171u);
  EXPECT_EQ(sign_cases().size(), 17u);
}

}  // namespace
