// The verifier's flags of `dkimkit verify` and `explain` come from dkimkit::verify_limits().
#include <gtest/gtest.h>

#include <dkimkit/limits.hpp>
#include <string>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct command {
  CLI::App app{"test"};
  verify_settings settings;
  command() { add_verify_settings(app, settings); }
  verify_options parse(const std::string& line) {
    app.parse(line, false);
    return to_verify_options(settings);
  }
};

// A value other than the default that a configuration file may also set, between the default and
// a bound (so that min_rsa_bits stays under max_rsa_bits).
std::uint64_t other_value(const verify_limit& l) {
  if (l.is_switch()) return l.default_value() == 0 ? 1 : 0;
  return l.default_value() == l.min ? (l.min + l.max) / 2 : (l.min + l.default_value()) / 2;
}

// Every entry is a flag that sets its member and leaves the others at the library's defaults.
TEST(verify_flags, every_limit_round_trips_through_its_flag) {
  for (const auto& l : verify_limits()) {
    command c;
    std::uint64_t v = other_value(l);
    verify_options o = c.parse(l.is_switch() ? std::string(l.flag)
                                             : std::string(l.flag) + " " + std::to_string(v));
    EXPECT_EQ(l.get(o), v) << l.flag;
    for (const auto& other : verify_limits())
      if (&other != &l) {
        EXPECT_EQ(other.get(o), other.default_value()) << l.flag << ": " << other.flag;
      }
  }
  command none;
  verify_options o = none.parse("");
  for (const auto& l : verify_limits()) EXPECT_EQ(l.get(o), l.default_value()) << l.flag;
}

// A flag takes values a configuration file refuses (to try a limit out), up to what the member
// holds; a larger one is CLI11's conversion error, as when the flag was bound to the member.
TEST(verify_flags, flags_take_any_value_the_member_holds) {
  for (const auto& l : verify_limits()) {
    if (l.is_switch()) continue;
    command c;
    verify_options o = c.parse(std::string(l.flag) + " 0");
    EXPECT_EQ(l.get(o), 0u) << l.flag;
    command top;
    o = top.parse(std::string(l.flag) + " " + std::to_string(l.largest));
    EXPECT_EQ(l.get(o), l.largest) << l.flag;
    if (l.largest == UINT64_MAX) continue;
    command over;
    EXPECT_THROW(over.parse(std::string(l.flag) + " " + std::to_string(l.largest + 1)),
                 CLI::ConversionError)
        << l.flag;
  }
  command word;
  EXPECT_THROW(word.parse("--max-fields many"), CLI::ConversionError);
  command sha1;
  EXPECT_TRUE(sha1.parse("--allow-sha1").allow_sha1);
  command off;
  EXPECT_FALSE(off.parse("--allow-sha1=false").allow_sha1);
}

// --help lists every flag with its help text and, for a number, its default; the limits in a
// group of their own.
TEST(verify_flags, help_lists_every_flag_with_its_default) {
  command c;
  std::string help = c.app.help();
  auto limits = help.find("Limits:");
  ASSERT_NE(limits, std::string::npos) << help;
  for (const auto& l : verify_limits()) {
    auto at = help.find(std::string(l.flag) + (l.is_switch() ? "" : " UINT"));
    ASSERT_NE(at, std::string::npos) << l.flag << "\n" << help;
    EXPECT_EQ(at > limits, l.group == verify_limit::kind::limit) << l.flag;
    auto line = help.substr(at, help.find('\n', at) - at) + " ";
    if (!l.is_switch()) {
      EXPECT_NE(line.find("UINT=" + std::to_string(l.default_value()) + " "), std::string::npos)
          << line;
    }
    EXPECT_NE(help.find(l.description.substr(0, 30), at), std::string::npos) << l.flag;
  }
  EXPECT_NE(help.find("--now"), std::string::npos);
}

}  // namespace
}  // namespace dkimkit::cli
