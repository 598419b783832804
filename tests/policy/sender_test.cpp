// The sender a message is signed for (dkimkit/sender.hpp): the first of sender_headers present,
// one domain for all its mailboxes (or the first mailbox alone), never without From, never past
// the cap on fields; the mailbox a signing table looks up.
#include <gtest/gtest.h>

#include <dkimkit/sender.hpp>
#include <string>
#include <utility>
#include <vector>

namespace dkimkit {
namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

sender_fields fields_of(std::vector<std::string> sender_headers, const field_list& header) {
  sender_fields f(std::move(sender_headers));
  for (const auto& [name, value] : header) f.add(name, value);
  return f;
}

result<sender> choose(std::vector<std::string> sender_headers, const field_list& header,
                      bool first_mailbox = false) {
  return choose_sender(fields_of(std::move(sender_headers), header),
                       {.first_mailbox = first_mailbox});
}

TEST(sender, from_by_default) {
  auto s = choose({"From"}, {{"Sender", " x@other.test"}, {"From", " Alice <alice@Example.COM>"}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->field, "From");
  EXPECT_EQ(s->domain, "example.com");
  ASSERT_TRUE(s->address);
  EXPECT_EQ(*s->address, (mailbox{"Alice", "alice", "example.com"}));
  // The default list is From alone.
  sender_fields dflt;
  dflt.add("Sender", " x@other.test");
  dflt.add("from", " a@example.org");
  auto d = choose_sender(dflt);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->domain, "example.org");
}

TEST(sender, the_first_sender_field_present_decides) {
  const std::vector<std::string> order = {"Sender", "X-Sender", "From"};
  // Sender comes first in the list, wherever it is in the header; names ignore ASCII case.
  auto s = choose(order, {{"From", " a@example.org"},
                          {"X-Sender", " b@example.net"},
                          {"SENDER", " Bob <bob@example.com>"}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->field, "Sender");
  EXPECT_EQ(s->domain, "example.com");
  ASSERT_TRUE(s->address);
  EXPECT_EQ(s->address->local_part, "bob");
  // No Sender: the next name present.
  auto x = choose(order, {{"From", " a@example.org"}, {"X-Sender", " b@example.net"}});
  ASSERT_TRUE(x);
  EXPECT_EQ(x->field, "X-Sender");
  EXPECT_EQ(x->domain, "example.net");
  // Neither: From.
  auto f = choose(order, {{"From", " a@example.org"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->field, "From");
  EXPECT_EQ(f->domain, "example.org");
}

TEST(sender, several_fields_in_one_domain_sign_without_a_table_address) {
  // Two Sender fields, one domain: that domain signs; a table row needs one address.
  auto s = choose({"Sender", "From"}, {{"From", " a@example.org"},
                                       {"Sender", " a@example.com"},
                                       {"Sender", " b@EXAMPLE.com."}});
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->domain, "example.com");
  EXPECT_FALSE(s->address);
  // One field, two mailboxes of one domain: likewise.
  auto one = choose({"From"}, {{"From", " a@example.com, b@example.com"}});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->domain, "example.com");
  EXPECT_FALSE(one->address);
  // Two fields, one mailbox between them (the other an empty group): still no single address.
  auto group = choose({"From"}, {{"From", " a@example.com"}, {"From", " undisclosed:;"}});
  ASSERT_TRUE(group) << group.error().message();
  EXPECT_EQ(group->domain, "example.com");
  EXPECT_FALSE(group->address);
}

TEST(sender, mailboxes_in_two_domains_name_no_sender) {
  auto s = choose({"From"}, {{"From", " a@example.com, b@example.org"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_NE(s.error().detail.find("several domains"), std::string::npos) << s.error().detail;
  auto fields = choose({"Sender", "From"}, {{"From", " a@example.com"},
                                            {"Sender", " a@example.com"},
                                            {"Sender", " b@other.test"}});
  ASSERT_FALSE(fields);
  EXPECT_EQ(fields.error().code, errc::invalid_argument);
  // A subdomain is another domain.
  EXPECT_FALSE(choose({"From"}, {{"From", " a@example.com, b@mail.example.com"}}));
}

TEST(sender, first_mailbox_decides_alone) {
  const field_list two = {{"From", " Dave <dave@example.com>, erin@example.org"}};
  EXPECT_FALSE(choose({"From"}, two));
  auto s = choose({"From"}, two, true);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->domain, "example.com");
  ASSERT_TRUE(s->address);
  EXPECT_EQ(*s->address, (mailbox{"Dave", "dave", "example.com"}));
  // The first field alone: the second is neither parsed nor looked at.
  auto fields = choose({"Sender", "From"},
                       {{"From", " a@example.org"},
                        {"Sender", " erin@example.org, dave@example.com"},
                        {"Sender", " <broken"}},
                       true);
  ASSERT_TRUE(fields) << fields.error().message();
  EXPECT_EQ(fields->domain, "example.org");
  EXPECT_EQ(fields->address->local_part, "erin");
  // But every domain of the first field must be a DNS name, and the field must parse.
  EXPECT_FALSE(choose({"From"}, {{"From", " a@example.com, b@[192.0.2.1]"}}, true));
  EXPECT_FALSE(choose({"From"}, {{"From", " Dave <dave@example.com, erin@example.org"}}, true));
  // An empty group first: no mailbox.
  auto empty = choose({"From"}, {{"From", " undisclosed:;"}, {"From", " a@example.com"}}, true);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, errc::invalid_argument);
}

TEST(sender, never_without_a_from_field) {
  for (bool first : {false, true}) {
    auto s = choose({"Sender", "From"}, {{"Sender", " bob@example.com"}}, first);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::no_from);
  }
  // sender_headers without From, and none of its fields present: no sender either.
  auto none = choose({"Sender"}, {{"From", " a@example.com"}});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::invalid_argument);
}

TEST(sender, too_many_fields_name_no_sender) {
  field_list header = {{"From", " a@example.com"}};
  for (std::size_t i = 0; i < sender_fields::max_fields; ++i)
    header.emplace_back("Sender", " b@example.com");
  // max_fields Sender fields are kept and agree.
  auto at_cap = choose({"Sender", "From"}, header);
  ASSERT_TRUE(at_cap) << at_cap.error().message();
  EXPECT_EQ(at_cap->domain, "example.com");
  // One more: none, even under first_mailbox; the From fields are not affected.
  header.emplace_back("Sender", " b@example.com");
  auto fields = fields_of({"Sender", "From"}, header);
  EXPECT_TRUE(fields.overflow("sender"));
  EXPECT_FALSE(fields.overflow("From"));
  EXPECT_EQ(fields.values("Sender").size(), sender_fields::max_fields);
  for (bool first : {false, true}) {
    auto s = choose_sender(fields, {.first_mailbox = first});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::header_too_large);
  }
  auto authors = author_domains(fields);
  ASSERT_TRUE(authors);
  EXPECT_EQ(*authors, std::vector<std::string>{"example.com"});
  // Too many From fields: no sender from From, and no author domain.
  sender_fields from;
  for (std::size_t i = 0; i <= sender_fields::max_fields; ++i) from.add("From", " a@example.com");
  EXPECT_FALSE(choose_sender(from));
  auto none = author_domains(from);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::multiple_from);
  // Overflowing From does not matter when another field names the sender.
  sender_fields other({"Sender", "From"});
  for (std::size_t i = 0; i <= sender_fields::max_fields; ++i) other.add("From", " a@example.com");
  other.add("Sender", " b@example.net");
  auto s = choose_sender(other);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->domain, "example.net");
}

TEST(sender, a_domain_is_never_guessed) {
  // Unparsable, a domain-literal, no mailbox: no sender.
  EXPECT_FALSE(choose({"From"}, {{"From", " Dave <dave@example.com"}}));
  EXPECT_FALSE(choose({"From"}, {{"From", " a@[192.0.2.1]"}}));
  EXPECT_FALSE(choose({"From"}, {{"From", " undisclosed-recipients:;"}}));
  // One bad field among the sender's spoils them all (without first_mailbox).
  EXPECT_FALSE(choose({"From"}, {{"From", " a@example.com"}, {"From", " <broken"}}));
}

TEST(sender, fields_keeps_from_and_the_sender_headers_only) {
  sender_fields f({"Sender", "sender", "From"});
  f.add("Subject", " hi");
  f.add("Reply-To", " x@example.com");
  f.add("sEnDeR", " b@example.com");
  f.add("From", " a@example.com");
  EXPECT_TRUE(f.values("Subject").empty());
  EXPECT_TRUE(f.values("Reply-To").empty());
  ASSERT_EQ(f.values("Sender").size(), 1u);  // a name listed twice is kept once
  EXPECT_EQ(f.values("Sender")[0], " b@example.com");
  ASSERT_EQ(f.values("FROM").size(), 1u);
  EXPECT_EQ(f.sender_headers(), (std::vector<std::string>{"Sender", "sender", "From"}));
  auto authors = author_domains(f);
  ASSERT_TRUE(authors);
  EXPECT_EQ(*authors, std::vector<std::string>{"example.com"});
}

}  // namespace
}  // namespace dkimkit
