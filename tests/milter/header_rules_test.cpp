// OpenDKIM's header selection (milter/header_rules.hpp): SignHeaders/OmitHeaders lists with "*",
// "+" and "-", glob matching, and h= as `opendkim -t` (OpenDKIM 2.11) writes it.
#include "header_rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dkimkit::milter {
namespace {

using names = std::vector<std::string>;

TEST(header_rules, glob_matching_ignores_case) {
  EXPECT_TRUE(header_name_matches("Subject", "SUBJECT"));
  EXPECT_TRUE(header_name_matches("X-*", "x-mailer"));
  EXPECT_TRUE(header_name_matches("X-*", "X-"));
  EXPECT_TRUE(header_name_matches("*", "Anything"));
  EXPECT_TRUE(header_name_matches("List-*-Id", "list-foo-bar-id"));
  EXPECT_FALSE(header_name_matches("X-*", "Y-Mailer"));
  EXPECT_FALSE(header_name_matches("To", "Top"));
  EXPECT_FALSE(header_name_matches("List-*-Id", "List-Id"));
  EXPECT_FALSE(header_name_matches("", "To"));
  // "." is a plain character (OpenDKIM escapes it): "OmitHeaders ." omits nothing real.
  EXPECT_FALSE(header_name_matches(".", "To"));
  // Bounded: a long pattern of stars against a long name that does not match.
  std::string pattern, name(200, 'a');
  for (int i = 0; i < 60; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(header_name_matches(pattern, name));
}

// The lists `opendkim -t` was seen to use (SignHeaders/OmitHeaders values on the left).
TEST(header_rules, opendkim_lists_with_star_plus_and_minus) {
  const names dflt = {"A", "To", "B"};
  auto list = [&](const names& entries) {
    auto r = opendkim_header_list(entries, dflt);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : names{};
  };
  EXPECT_EQ(list({"X-A", "Subject"}), (names{"X-A", "Subject"}));  // replaces the default
  EXPECT_EQ(list({"*"}), dflt);
  EXPECT_EQ(list({"*", "+X-A"}), (names{"A", "To", "B", "X-A"}));
  EXPECT_EQ(list({"+X-A", "*"}), (names{"A", "To", "B", "X-A"}));  // "*" anywhere
  EXPECT_EQ(list({"*", "-to"}), (names{"A", "B"}));                // ignoring case
  EXPECT_EQ(list({"-To", "*"}), (names{"A", "B"}));
  EXPECT_EQ(list({"*", "X-A"}), dflt);  // plain entries ignored
  // "-" removes one occurrence: "*,+To,-To" keeps To, as OpenDKIM does.
  EXPECT_EQ(list({"*", "+To", "-To"}), (names{"A", "B", "To"}));
  EXPECT_EQ(list({"*", "-To", "+To"}), (names{"A", "B", "To"}));
  EXPECT_EQ(list({"-To"}), (names{"-To"}));  // no "*": a name, as OpenDKIM takes it
  auto plus = opendkim_header_list({"+X-A"}, dflt);
  ASSERT_FALSE(plus);
  EXPECT_NE(plus.error().detail.find("only with \"*\""), std::string::npos);
  auto regex = opendkim_header_list({"X(A)"}, dflt);
  ASSERT_FALSE(regex);
  EXPECT_NE(regex.error().detail.find("regular expression"), std::string::npos);
  EXPECT_FALSE(opendkim_header_list(names(max_header_rule_names + 1, "X"), dflt));
}

TEST(header_rules, checks) {
  EXPECT_TRUE(check_header_rules({opendkim_sign_headers(), opendkim_omit_headers(), {"From"}}));
  EXPECT_TRUE(check_header_rules({{"X-*"}, {"."}, {"To", "Subject"}}));
  for (const header_rules& bad : std::vector<header_rules>{{{"X A"}, {}, {}},
                                                           {{}, {"Fr*"}, {}},
                                                           {{}, {"FROM"}, {}},
                                                           {{}, {}, {"X-*"}},
                                                           {{"Subject:"}, {}, {}},
                                                           {{""}, {}, {}},
                                                           {{std::string(300, 'x')}, {}, {}}})
    EXPECT_FALSE(check_header_rules(bad));
  EXPECT_TRUE(check_sender_headers({"Sender", "From"}));
  EXPECT_FALSE(check_sender_headers({}));
  EXPECT_FALSE(check_sender_headers({"*"}));
}

// h= as opendkim -t wrote it for the same fields (Subject, TO, From, to, X-A, Received, Comments).
TEST(header_rules, h_is_the_fields_present_in_message_order_then_oversigning) {
  const std::vector<std::string_view> fields = {"Received", "Subject", "TO",      "From",
                                                "to",       "X-A",     "Comments"};
  header_rules r{opendkim_sign_headers(), opendkim_omit_headers(), {}};
  EXPECT_EQ(signed_header_names(r, fields), (names{"Subject", "TO", "From", "to"}));
  r.oversign = {"From", "X-B", "To"};
  EXPECT_EQ(signed_header_names(r, fields),
            (names{"Subject", "TO", "From", "to", "From", "X-B", "To"}));
  // SignHeaders X-*: From always, then the globbed fields.
  EXPECT_EQ(signed_header_names({{"X-*"}, opendkim_omit_headers(), {}}, fields),
            (names{"From", "X-A"}));
  // SignHeaders Received,X-A: Received is in the default OmitHeaders; "OmitHeaders ." lets it in.
  EXPECT_EQ(signed_header_names({{"Received", "X-A"}, opendkim_omit_headers(), {}}, fields),
            (names{"From", "X-A"}));
  EXPECT_EQ(signed_header_names({{"Received", "X-A"}, {"."}, {}}, fields),
            (names{"Received", "From", "X-A"}));
  // OmitHeaders To drops every To field.
  EXPECT_EQ(signed_header_names({opendkim_sign_headers(), {"to"}, {}}, fields),
            (names{"Subject", "From"}));
  // The default list: what opendkim -t signed of a message holding these fields.
  const std::vector<std::string_view> many = {
      "From",     "Sender",  "Message-Id", "Mime-Version",      "Content-Type", "Resent-Sender",
      "Reply-To", "List-Id", "X-Mailer",   "Resent-Message-ID", "Cc",           "Date"};
  EXPECT_EQ(signed_header_names({opendkim_sign_headers(), opendkim_omit_headers(), {}}, many),
            (names{"From", "Resent-Sender", "Reply-To", "List-Id", "Cc", "Date"}));
}

}  // namespace
}  // namespace dkimkit::milter
