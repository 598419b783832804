// apply_policy(): a receiving MTA's policy (per-From-domain requirements, no pass, DNS errors)
// and the two rules it keeps: a DNS failure never gives a 5xx, a testing key never rejects.
#include <gtest/gtest.h>

#include <dkimkit/policy.hpp>

namespace dkimkit {
namespace {

verification result_of(status s, std::string sdid, bool testing = false) {
  verification v;
  v.status = s;
  v.sdid = std::move(sdid);
  v.selector = "sel";
  v.testing = testing;
  if (s == status::temperror) v.code = errc::dns_temporary;
  if (s == status::fail) v.code = errc::body_hash_mismatch;
  return v;
}

result<std::vector<std::string>> authors(std::vector<std::string> domains) { return domains; }
result<std::vector<std::string>> no_author() {
  return fail(errc::invalid_argument, "no mailbox in From");
}

std::string reply_line(const policy_outcome& o) { return o.reply ? o.reply->line() : "accept"; }

// The verdict for mail from `from` (default: example.com).
policy_verdict verdict_of(const std::vector<verification>& results, const mta_policy& p,
                          std::vector<std::string> from = {"example.com"}) {
  return apply_policy(results, authors(std::move(from)), p).verdict;
}

TEST(apply_policy, default_policy_accepts_anything) {
  for (status s : {status::none, status::pass, status::fail, status::permerror}) {
    policy_outcome o = apply_policy({result_of(s, "example.com")}, authors({"example.com"}), {});
    EXPECT_EQ(o.verdict, policy_verdict::accept);
    EXPECT_FALSE(o.reply);
    EXPECT_EQ(o.reason, "");
    EXPECT_FALSE(o.dns_error_accepted);
  }
  EXPECT_EQ(apply_policy({}, no_author(), {}).verdict, policy_verdict::accept);
}

TEST(apply_policy, temperror_defers_by_default) {
  policy_outcome o =
      apply_policy({result_of(status::temperror, "example.com")}, authors({"example.com"}), {});
  EXPECT_EQ(o.verdict, policy_verdict::tempfail);
  EXPECT_EQ(reply_line(o), "451 4.7.5 DKIM key could not be fetched, try again later");
  // A passing signature makes the other's DNS failure irrelevant.
  o = apply_policy(
      {result_of(status::temperror, "a.example"), result_of(status::pass, "b.example")},
      authors({"example.com"}), {});
  EXPECT_EQ(o.verdict, policy_verdict::accept);
  // accept_on_dns_error: accepted, and said so.
  mta_policy lenient;
  lenient.accept_on_dns_error = true;
  o = apply_policy({result_of(status::temperror, "example.com")}, authors({"example.com"}),
                   lenient);
  EXPECT_EQ(o.verdict, policy_verdict::accept);
  EXPECT_TRUE(o.dns_error_accepted);
}

TEST(apply_policy, reject_without_pass_gives_5_7_20) {
  mta_policy p;
  p.reject_without_pass = true;
  for (const auto& results : std::vector<std::vector<verification>>{
           {}, {result_of(status::fail, "example.com")}, {result_of(status::none, "")}}) {
    policy_outcome o = apply_policy(results, authors({"example.com"}), p);
    EXPECT_EQ(o.verdict, policy_verdict::reject);
    EXPECT_EQ(reply_line(o), "550 5.7.20 No passing DKIM signature found");
    EXPECT_EQ(o.reason, "");
  }
  EXPECT_EQ(verdict_of({result_of(status::pass, "other.example")}, p), policy_verdict::accept);
}

TEST(apply_policy, requirement_of_the_author_domain_gives_5_7_22) {
  mta_policy p;
  p.requirements = {{"example.com", "example.com"}};
  policy_outcome o =
      apply_policy({result_of(status::pass, "example.org")}, authors({"example.com"}), p);
  EXPECT_EQ(o.verdict, policy_verdict::reject);
  EXPECT_EQ(reply_line(o), "550 5.7.22 No valid author-matched DKIM signature found");
  EXPECT_EQ(o.reason, "requirement=example.com:example.com");
  // Met by a passing signature of that d= (ASCII case ignored), by none other.
  EXPECT_EQ(verdict_of({result_of(status::pass, "Example.COM")}, p), policy_verdict::accept);
  EXPECT_EQ(verdict_of({result_of(status::pass, "mail.example.com")}, p), policy_verdict::reject);
  // It applies when any author is in the domain, and to no other From domain.
  EXPECT_EQ(verdict_of({}, p, {"example.org", "EXAMPLE.com"}), policy_verdict::reject);
  EXPECT_EQ(verdict_of({}, p, {"example.org", "sub.example.com"}), policy_verdict::accept);
}

TEST(apply_policy, requirement_of_another_sdid_gives_5_7_21) {
  mta_policy p;
  p.requirements = {{"example.com", "esp.example"}, {"example.com", "example.com"}};
  policy_outcome o =
      apply_policy({result_of(status::pass, "example.com")}, authors({"example.com"}), p);
  EXPECT_EQ(o.verdict, policy_verdict::reject);
  EXPECT_EQ(reply_line(o), "550 5.7.21 No acceptable DKIM signature found");
  EXPECT_EQ(o.reason, "requirement=example.com:esp.example");
  // Every requirement that applies must be met.
  EXPECT_EQ(
      verdict_of({result_of(status::pass, "esp.example"), result_of(status::pass, "example.com")},
                 p),
      policy_verdict::accept);
}

// RFC 7489 §6.6.1: a From that names no author cannot show that a requirement does not apply.
TEST(apply_policy, no_author_domain_fails_closed_when_there_are_requirements) {
  mta_policy p;
  p.requirements = {{"example.com", "example.com"}};
  policy_outcome o = apply_policy({result_of(status::pass, "example.com")}, no_author(), p);
  EXPECT_EQ(o.verdict, policy_verdict::reject);
  EXPECT_EQ(reply_line(o), "550 5.7.22 No valid author-matched DKIM signature found");
  EXPECT_EQ(o.reason, "from_error=\"invalid argument: no mailbox in From\"");
  // Without requirements nothing depends on the author.
  EXPECT_EQ(apply_policy({}, no_author(), {}).verdict, policy_verdict::accept);
}

// The rule: a requirement that a signature whose key could not be fetched might have met, or the
// need for any pass, never gives a 5xx: 451 4.7.5, or accept with accept_on_dns_error.
TEST(apply_policy, dns_failure_never_gives_a_5xx) {
  const std::vector<std::vector<domain_requirement>> requirement_sets = {
      {}, {{"example.com", "example.com"}}, {{"example.com", "esp.example"}}};
  for (bool reject_without_pass : {false, true})
    for (bool accept_on_dns_error : {false, true})
      for (const auto& reqs : requirement_sets) {
        mta_policy p{reject_without_pass, accept_on_dns_error, reqs};
        std::string sdid = reqs.empty() ? "example.com" : reqs[0].sdid;
        for (const auto& results : std::vector<std::vector<verification>>{
                 {result_of(status::temperror, sdid)},
                 {result_of(status::fail, sdid), result_of(status::temperror, sdid)},
                 {result_of(status::pass, "other.example"), result_of(status::temperror, sdid)}}) {
          if (reqs.empty() && results.back().status == status::temperror &&
              results.front().status == status::pass)
            continue;  // passes: nothing to defer
          policy_outcome o = apply_policy(results, authors({"example.com"}), p);
          SCOPED_TRACE(reply_line(o));
          EXPECT_NE(o.verdict, policy_verdict::reject);
          if (accept_on_dns_error) {
            EXPECT_EQ(o.verdict, policy_verdict::accept);
            EXPECT_TRUE(o.dns_error_accepted);
          } else {
            EXPECT_EQ(o.verdict, policy_verdict::tempfail);
            EXPECT_EQ(reply_line(o), "451 4.7.5 DKIM key could not be fetched, try again later");
          }
        }
      }
  // A DNS failure of another d= does not soften an unmet requirement.
  mta_policy p{false, false, {{"example.com", "example.com"}}};
  policy_outcome o = apply_policy(
      {result_of(status::pass, "other.example"), result_of(status::temperror, "third.example")},
      authors({"example.com"}), p);
  EXPECT_EQ(reply_line(o), "550 5.7.22 No valid author-matched DKIM signature found");
  // With no author and on_dns_error tempfail, a DNS failure defers rather than rejects.
  o = apply_policy(
      {result_of(status::pass, "other.example"), result_of(status::temperror, "example.com")},
      no_author(), p);
  EXPECT_EQ(o.verdict, policy_verdict::tempfail);
}

// The rule: a testing key (t=y) never rejects: a signature of one that does not pass gets what
// unsigned mail gets, under every policy; one that passes counts as a pass.
TEST(apply_policy, testing_key_never_rejects) {
  const std::vector<std::vector<domain_requirement>> requirement_sets = {
      {}, {{"example.com", "example.com"}}, {{"example.com", "esp.example"}}};
  for (bool reject_without_pass : {false, true})
    for (bool accept_on_dns_error : {false, true})
      for (const auto& reqs : requirement_sets)
        for (status s : {status::fail, status::permerror, status::policy, status::neutral}) {
          mta_policy p{reject_without_pass, accept_on_dns_error, reqs};
          for (const auto& from : {authors({"example.com"}), no_author()}) {
            policy_outcome unsigned_mail = apply_policy({}, from, p);
            policy_outcome testing = apply_policy({result_of(s, "example.com", true)}, from, p);
            EXPECT_EQ(testing.verdict, unsigned_mail.verdict);
            EXPECT_EQ(reply_line(testing), reply_line(unsigned_mail));
            EXPECT_EQ(testing.reason, unsigned_mail.reason);
          }
        }
  // Where unsigned mail is accepted, so is the failing testing signature.
  mta_policy lenient;
  EXPECT_EQ(verdict_of({result_of(status::fail, "example.com", true)}, lenient),
            policy_verdict::accept);
  // A bogus signature pointing at a t=y key does not lift a requirement.
  mta_policy required{false, false, {{"example.com", "example.com"}}};
  EXPECT_EQ(reply_line(apply_policy({result_of(status::fail, "example.com", true)},
                                    authors({"example.com"}), required)),
            "550 5.7.22 No valid author-matched DKIM signature found");
  // A passing one meets it.
  EXPECT_EQ(verdict_of({result_of(status::pass, "example.com", true)}, required),
            policy_verdict::accept);
}

// The replies are those smtp_reply_for() gives for the same cases (RFC 7372 §3.1, written once).
TEST(apply_policy, replies_agree_with_smtp_reply_for) {
  mta_policy no_pass{true, false, {}};
  EXPECT_EQ(reply_line(apply_policy({}, authors({"example.com"}), no_pass)),
            smtp_reply_for({}, "example.com", {})->line());
  EXPECT_EQ(
      reply_line(apply_policy({result_of(status::temperror, "example.com")},
                              authors({"example.com"}), no_pass)),
      smtp_reply_for({result_of(status::temperror, "example.com")}, "example.com", {})->line());
  mta_policy author{false, false, {{"example.com", "example.com"}}};
  EXPECT_EQ(reply_line(apply_policy({result_of(status::pass, "example.org")},
                                    authors({"example.com"}), author)),
            smtp_reply_for({result_of(status::pass, "example.org")}, "example.com",
                           {requirement::aligned, {}})
                ->line());
  mta_policy other{false, false, {{"example.com", "esp.example"}}};
  EXPECT_EQ(reply_line(apply_policy({result_of(status::pass, "example.org")},
                                    authors({"example.com"}), other)),
            smtp_reply_for({result_of(status::pass, "example.org")}, "example.com",
                           {requirement::domains, {"esp.example"}})
                ->line());
}

}  // namespace
}  // namespace dkimkit
