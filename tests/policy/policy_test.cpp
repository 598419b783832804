// Alignment (DMARC-style, RFC 7489 §3.1.1 with the Public Suffix List) and the RFC 7372 replies.
#include <gtest/gtest.h>

#include <dkimkit/policy.hpp>
#include <dkimkit/signer.hpp>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

TEST(policy, organizational_domain_uses_the_public_suffix_list) {
  EXPECT_EQ(organizational_domain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("a.b.c.Example.COM"), "example.com");
  EXPECT_EQ(organizational_domain("example.com."), "example.com");
  EXPECT_EQ(organizational_domain("co.uk"), "");  // a public suffix has none
  EXPECT_EQ(organizational_domain("not a domain"), "");
}

// RFC 7489 §3.1.1: strict means identical, relaxed means the same organizational domain.
TEST(policy, alignment_strict_relaxed_and_none) {
  EXPECT_EQ(align("example.com", "EXAMPLE.com"), alignment::strict);
  EXPECT_EQ(align("mail.example.com", "example.com"), alignment::relaxed);
  EXPECT_EQ(align("example.com", "news.example.com"), alignment::relaxed);
  EXPECT_EQ(align("mail.example.co.uk", "example.co.uk"), alignment::relaxed);
  EXPECT_EQ(align("example.co.uk", "other.co.uk"), alignment::no);  // a multi-label suffix
  EXPECT_EQ(align("example.org", "example.com"), alignment::no);
  EXPECT_EQ(align("", "example.com"), alignment::no);
  EXPECT_EQ(to_string(alignment::relaxed), "relaxed");
}

TEST(policy, author_domain_of_a_field_value) {
  EXPECT_EQ(author_domain(" Alice <alice@Example.COM>").value_or(""), "example.com");
  EXPECT_EQ(author_domain(" bob@example.org (Bob)").value_or(""), "example.org");
  EXPECT_EQ(author_domain(" \"a@b\" <c@mail.example.net>").value_or(""), "mail.example.net");
  EXPECT_FALSE(author_domain(" undisclosed-recipients:;"));
}

// One test message for each reply, verified for real.
class replies : public ::testing::Test {
 protected:
  static std::string message_from(const std::string& from_domain) {
    return "From: Alice <alice@" + from_domain + ">\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
  }
  std::string signed_by(const std::string& from_domain, const std::string& sdid) {
    sign_options o;
    o.sdid = sdid;
    o.selector = "sel";
    o.key = test::ed25519();
    auto f = sign(message_from(from_domain), {o}, test::kNow);
    EXPECT_TRUE(f);
    return (*f)[0] + "\r\n" + message_from(from_domain);
  }
  std::vector<verification> verify_msg(const std::string& m) {
    return verify(m, test::options_for(dns));
  }
  void SetUp() override {
    for (const char* d : {"example.com", "mail.example.com", "example.org"})
      dns.add(std::string("sel._domainkey.") + d, test::ed25519().public_record());
    dns.set_temporary("sel._domainkey.down.example", "SERVFAIL");
  }
  static_resolver dns;
};

TEST_F(replies, unsigned_message_gets_5_7_20) {
  auto r = smtp_reply_for(verify_msg(message_from("example.com")), "example.com", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line(), "550 5.7.20 No passing DKIM signature found");
}

TEST_F(replies, failing_signature_gets_5_7_20) {
  std::string m = signed_by("example.com", "example.com");
  m.replace(m.find("Hello"), 5, "Jello");
  auto r = smtp_reply_for(verify_msg(m), "example.com", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->enhanced, "5.7.20");
}

TEST_F(replies, passing_but_not_from_a_required_domain_gets_5_7_21) {
  local_policy p{requirement::domains, {"example.net"}};
  auto r = smtp_reply_for(verify_msg(signed_by("example.com", "example.com")), "example.com", p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line(), "550 5.7.21 No acceptable DKIM signature found");
  p.domains.push_back("EXAMPLE.com");
  EXPECT_FALSE(smtp_reply_for(verify_msg(signed_by("example.com", "example.com")), "example.com", p));
}

TEST_F(replies, passing_but_not_aligned_gets_5_7_22) {
  local_policy p{requirement::aligned, {}};
  auto r = smtp_reply_for(verify_msg(signed_by("example.com", "example.org")), "example.com", p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line(), "550 5.7.22 No valid author-matched DKIM signature found");
  // A subdomain signature is aligned under relaxed rules.
  EXPECT_FALSE(smtp_reply_for(verify_msg(signed_by("example.com", "mail.example.com")),
                              "example.com", p));
}

TEST_F(replies, key_that_cannot_be_fetched_gets_4_7_5) {
  auto r = smtp_reply_for(verify_msg(signed_by("down.example", "down.example")), "down.example", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 451);
  EXPECT_EQ(r->enhanced, "4.7.5");
}

TEST_F(replies, passing_signature_is_accepted) {
  EXPECT_FALSE(smtp_reply_for(verify_msg(signed_by("example.com", "example.com")), "example.com", {}));
}

}  // namespace
}  // namespace dkimkit
