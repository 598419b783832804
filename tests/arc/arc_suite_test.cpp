// Every validation case of the ARC test suite (ValiMail's arc_test_suite, MIT licence), read from
// ../shared/arc-test-suite beside the project (converted to JSON at build time, tests/CMakeLists.txt).
// The suite's messages have LF line endings; its key records are given per scenario. A case with an
// empty expected cv counts as fail (RFC 8617 §5.2: a chain that is not valid fails).
#include <dkimkit/arc.hpp>
#include <dkimkit/resolver.hpp>
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <ostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

std::vector<suite_case> load_validation_cases() {
  std::vector<suite_case> out;
  const std::string path = suite_file("validation");
  if (path.empty()) return out;
  std::ifstream in(path);
  if (!in) return out;
  const nlohmann::json doc = nlohmann::json::parse(in);
  for (const auto& scenario : doc) {
    std::map<std::string, std::string> records;
    for (const auto& [name, rec] : scenario.at("txt_records").items())
      records[name] = rec.get<std::string>();
    for (const auto& t : scenario.at("tests")) {
      suite_case c;
      c.name = t.at("name").get<std::string>();
      c.description = t.value("description", "");
      c.message = t.value("message", "");
      std::string cv = t.value("cv", "");
      for (char& ch : cv) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.expected = cv.empty() ? "fail" : cv;  // an empty expectation is a failed chain
      c.txt_records = records;
      out.push_back(std::move(c));
    }
  }
  return out;
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

std::string case_name(const ::testing::TestParamInfo<suite_case>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, ArcSuiteValidation, ::testing::ValuesIn(validation_cases()),
                         case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ArcSuiteValidation);

// Says whether the suite is there: a plain clone of the project skips, naming the folder.
TEST(ArcSuite, ValidationCasesPresent) {
  if (suite_file("validation").empty())
    GTEST_SKIP() << "the ARC test suite is absent: put ValiMail's arc_test_suite in "
                    "../shared/arc-test-suite beside the source tree and re-run cmake";
  EXPECT_EQ(validation_cases().size(), 171u);
}

}  // namespace
