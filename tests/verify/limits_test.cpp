// dkimkit/limits.hpp: the one table of the verifier's limits and local-policy settings.
#include <gtest/gtest.h>

#include <dkimkit/limits.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace dkimkit {
namespace {

// A value other than the default that a configuration file may also set, between the default and
// a bound (so that min_rsa_bits stays under max_rsa_bits).
std::uint64_t other_value(const verify_limit& l) {
  if (l.is_switch()) return l.default_value() == 0 ? 1 : 0;
  return l.default_value() == l.min ? (l.min + l.max) / 2 : (l.min + l.default_value()) / 2;
}

TEST(verify_limits, entries_are_complete_and_names_unique) {
  std::set<std::string_view> flags;
  std::set<std::string> keys;
  for (const auto& l : verify_limits()) {
    ASSERT_TRUE(l.get && l.set) << l.flag;
    EXPECT_EQ(l.flag.substr(0, 2), "--") << l.flag;
    EXPECT_FALSE(l.description.empty()) << l.flag;
    EXPECT_TRUE(flags.insert(l.flag).second) << l.flag << " twice";
    EXPECT_EQ(l.key.empty(), l.table.empty()) << l.flag;
    if (!l.key.empty()) {
      EXPECT_TRUE(keys.insert(std::string(l.table) + "." + std::string(l.key)).second) << l.key;
      EXPECT_EQ(find_verify_limit(l.table, l.key), &l) << l.key;
    }
    EXPECT_LE(l.min, l.max) << l.flag;
    EXPECT_LE(l.max, l.largest) << l.flag;
    EXPECT_EQ(l.is_switch(), l.unit.empty()) << l.flag;
    if (!l.is_switch()) {
      EXPECT_GE(l.default_value(), l.min) << l.flag;
      EXPECT_LE(l.default_value(), l.max) << l.flag;
    }
  }
  EXPECT_EQ(find_verify_limit("limits", "no_such_limit"), nullptr);
  EXPECT_EQ(find_verify_limit("", ""), nullptr);
  EXPECT_EQ(find_verify_limit("dns", "max_fields"), nullptr);  // a key is found in its own table
}

// Each entry reads and writes its own member of verify_options, and no other.
TEST(verify_limits, each_entry_writes_one_member) {
  const auto all = verify_limits();
  for (const auto& l : all) {
    verify_options o;
    l.set(o, other_value(l));
    EXPECT_EQ(l.get(o), other_value(l)) << l.flag;
    EXPECT_NE(l.get(o), l.default_value()) << l.flag;
    for (const auto& other : all)
      if (&other != &l) {
        EXPECT_EQ(other.get(o), other.default_value()) << l.flag << " changed " << other.flag;
      }
    l.set(o, l.largest);
    EXPECT_EQ(l.get(o), l.largest) << l.flag << ": the largest value a flag takes fits the member";
  }
}

// The defaults are verify_options' own, member by member.
TEST(verify_limits, defaults_are_the_library_defaults) {
  const verify_options d;
  const std::map<std::string_view, std::uint64_t> expected = {
      {"--allow-sha1", d.allow_sha1},
      {"--allow-partial-body", d.allow_partial_body},
      {"--min-rsa-bits", d.min_rsa_bits},
      {"--max-signatures", d.max_signatures},
      {"--max-clock-skew", d.max_clock_skew},
      {"--max-rsa-bits", d.key.max_rsa_bits},
      {"--max-key-record-bytes", d.key.max_record_bytes},
      {"--max-header-bytes", d.header.max_header_bytes},
      {"--max-field-bytes", d.header.max_field_bytes},
      {"--max-fields", d.header.max_fields},
      {"--max-signature-bytes", d.signature.max_field_bytes},
      {"--max-signed-headers", d.signature.max_signed_headers},
      {"--max-arc-key-lookups", d.max_arc_key_lookups},
      {"--dns-message-timeout", static_cast<std::uint64_t>(d.dns_message_timeout.count())},
  };
  EXPECT_EQ(verify_limits().size(), expected.size());
  for (const auto& l : verify_limits()) {
    auto it = expected.find(l.flag);
    ASSERT_NE(it, expected.end()) << l.flag << " is not a setting of verify_options listed here";
    EXPECT_EQ(l.default_value(), it->second) << l.flag;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The paragraph of a manual entry that starts with `head` ("*max_fields* =") in section `section`
// ("## [limits]"; empty: anywhere), its lines joined with spaces; "" when there is none.
std::string entry(const std::string& page, const std::string& section, const std::string& head) {
  std::istringstream lines(page);
  std::string current, text;
  bool in = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) current = line;
    if (in) {
      if (line.empty() || line[0] != '\t') return text;
      text += " " + line.substr(1);
    } else if ((section.empty() || current == section) && line.rfind(head, 0) == 0) {
      in = true;
      text = line;
    }
  }
  return text;
}

// What the manuals say of each setting is what the table holds: dkimkit-milter.toml(5) gives
// "Default D; MIN to MAX." under the setting's table, dkimkit(1) "Default: D." under the flag.
TEST(verify_limits, manuals_give_the_table_defaults_and_ranges) {
  const std::string man = std::string(DKIMKIT_TEST_DATA_DIR) + "/../../man/";
  const std::string milter = read_file(man + "dkimkit-milter.toml.5.scd");
  const std::string cli = read_file(man + "dkimkit.1.scd");
  ASSERT_FALSE(milter.empty());
  ASSERT_FALSE(cli.empty());
  for (const auto& l : verify_limits()) {
    const std::string dflt = std::to_string(l.default_value());
    if (!l.key.empty()) {
      std::string text =
          entry(milter, "## [" + std::string(l.table) + "]", "*" + std::string(l.key) + "* =");
      ASSERT_FALSE(text.empty()) << l.key << " has no entry under [" << l.table << "]";
      if (l.is_switch()) {
        EXPECT_NE(text.find(l.default_value() ? "Default true" : "Default false"),
                  std::string::npos)
            << text;
      } else {
        EXPECT_NE(text.find("Default " + dflt), std::string::npos) << text;
        EXPECT_NE(text.find(std::to_string(l.min) + " to " + std::to_string(l.max)),
                  std::string::npos)
            << text;
      }
    }
    std::string text = entry(cli, "", "*" + std::string(l.flag) + "*");
    ASSERT_FALSE(text.empty()) << l.flag << " is not in dkimkit.1.scd";
    if (!l.is_switch()) {
      EXPECT_NE(text.find("Default: " + dflt), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace dkimkit
