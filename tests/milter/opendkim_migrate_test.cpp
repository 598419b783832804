// migrate_opendkim: an OpenDKIM configuration written as dkimkit-milter's TOML, which load_config()
// reads back into the configuration config_from_opendkim() gives.
#include "opendkim_migrate.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <dkimkit/limits.hpp>
#include <string>

#include "opendkim_map.hpp"
#include "support/run_as.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace dkimkit::milter {
namespace {

using test::temp_dir;

// An Ed25519 key only its owner may read (as config_from_opendkim requires).
std::string key_file(const temp_dir& d) {
  const std::string path = d.write("key.pem", test::ed25519().to_pem());
  return ::chmod(path.c_str(), 0600) == 0 ? path : std::string();
}

bool same_networks(const std::vector<network>& a, const std::vector<network>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].family != b[i].family || a[i].prefix != b[i].prefix ||
        std::memcmp(a[i].addr, b[i].addr, sizeof a[i].addr) != 0)
      return false;
  return true;
}

// Migrates `conf`, loads the TOML back and checks it against config_from_opendkim(conf).
void round_trip(const temp_dir& d, const std::string& conf, config* loaded = nullptr,
                std::string* text = nullptr) {
  auto want = config_from_opendkim(conf);
  ASSERT_TRUE(want) << want.error().detail;
  auto toml = migrate_opendkim(conf);
  ASSERT_TRUE(toml) << toml.error().detail;
  auto got = load_config(d.write("migrated.toml", *toml));
  ASSERT_TRUE(got) << got.error().detail << "\n" << *toml;
  EXPECT_EQ(got->mode, want->mode);
  EXPECT_EQ(got->socket, want->socket);
  EXPECT_EQ(got->socket_mode, want->socket_mode);
  EXPECT_EQ(got->pid_file, want->pid_file);
  EXPECT_EQ(got->user, want->user);
  EXPECT_EQ(got->group, want->group);
  EXPECT_EQ(got->uid, want->uid);
  EXPECT_EQ(got->gid, want->gid);
  EXPECT_EQ(got->authserv_id, want->authserv_id);
  EXPECT_EQ(got->authserv_id_from_mta, want->authserv_id_from_mta);
  EXPECT_EQ(got->header_canon, want->header_canon);
  EXPECT_EQ(got->body_canon, want->body_canon);
  EXPECT_EQ(got->expire_after, want->expire_after);
  EXPECT_EQ(got->require_safe_keys, want->require_safe_keys);
  EXPECT_EQ(got->sign_authenticated, want->sign_authenticated);
  EXPECT_TRUE(same_networks(got->internal_networks, want->internal_networks)) << *toml;
  ASSERT_EQ(got->keys.size(), want->keys.size());
  for (std::size_t i = 0; i < got->keys.size(); ++i) {
    EXPECT_EQ(got->keys[i].domain, want->keys[i].domain);
    EXPECT_EQ(got->keys[i].selector, want->keys[i].selector);
    EXPECT_EQ(got->keys[i].key_file, want->keys[i].key_file);
    EXPECT_EQ(got->keys[i].algo, want->keys[i].algo);
  }
  ASSERT_EQ(got->key_table.has_value(), want->key_table.has_value());
  if (got->key_table) {
    ASSERT_EQ(got->key_table->size(), want->key_table->size());
    for (std::size_t i = 0; i < got->key_table->size(); ++i) {
      const auto& g = got->key_table->rows()[i];
      const auto& w = want->key_table->rows()[i];
      EXPECT_EQ(g.name, w.name);
      EXPECT_EQ(g.domain, w.domain);
      EXPECT_EQ(g.selector, w.selector);
      EXPECT_EQ(g.key, w.key);
      EXPECT_EQ(g.algo, w.algo);
    }
    ASSERT_TRUE(got->signing_table && want->signing_table);
    EXPECT_EQ(got->signing_table->kind(), want->signing_table->kind());
    ASSERT_EQ(got->signing_table->size(), want->signing_table->size());
    // The same rows, in the same order, apply to each sender.
    for (std::string_view domain : {"example.com", "example.org", "a.example.com", "other.net"}) {
      auto g = got->signing_table->lookup("user", domain, true);
      auto w = want->signing_table->lookup("user", domain, true);
      ASSERT_EQ(g.size(), w.size()) << domain;
      for (std::size_t i = 0; i < g.size(); ++i) EXPECT_TRUE(*g[i] == *w[i]) << domain;
    }
    EXPECT_EQ(got->table_keys.size(), want->table_keys.size());
  }
  EXPECT_EQ(got->multiple_signatures, want->multiple_signatures);
  EXPECT_EQ(got->resolvers, want->resolvers);
  EXPECT_EQ(got->dns_timeout, want->dns_timeout);
  EXPECT_EQ(got->trust_anchor, want->trust_anchor);
  for (const auto& l : verify_limits())
    EXPECT_EQ(l.get(got->verify), l.get(want->verify)) << l.key;
  EXPECT_EQ(got->max_forged_auth_results, want->max_forged_auth_results);
  EXPECT_EQ(got->on_no_pass, want->on_no_pass);
  EXPECT_EQ(got->on_dns_error, want->on_dns_error);
  EXPECT_EQ(got->on_internal_error, want->on_internal_error);
  EXPECT_EQ(got->on_forged_auth_results, want->on_forged_auth_results);
  EXPECT_EQ(got->sender_headers, want->sender_headers);
  EXPECT_EQ(got->subdomains, want->subdomains);
  EXPECT_EQ(got->first_sender_mailbox, want->first_sender_mailbox);
  EXPECT_TRUE(got->first_sender_mailbox);  // OpenDKIM's rule, kept by --migrate
  ASSERT_EQ(got->sign_rules.has_value(), want->sign_rules.has_value());
  if (got->sign_rules) {
    EXPECT_EQ(got->sign_rules->sign, want->sign_rules->sign);
    EXPECT_EQ(got->sign_rules->omit, want->sign_rules->omit);
    EXPECT_EQ(got->sign_rules->oversign, want->sign_rules->oversign);
  }
  EXPECT_EQ(got->remove_auth_results, want->remove_auth_results);
  EXPECT_EQ(got->always_add_auth_results, want->always_add_auth_results);
  if (loaded) *loaded = std::move(*got);
  if (text) *text = *toml;
}

TEST(opendkim_migrate, single_domain) {
  temp_dir d;
  std::string conf = d.write(
      "o.conf", "Socket local:/tmp/od.sock\nMode sv\nDomain example.com, example.org\n"
                "Selector s2026\nKeyFile " + key_file(d) +
                "\nSubDomains yes\nAuthservID mx.example.com\nUMask 007\nSyslog yes\n"
                "SignatureAlgorithm ed25519-sha256\nMinimumKeyBits 2048\nSignatureTTL 3600\n"
                "ClockDrift 60\n"
                "Nameservers 192.0.2.53\nDNSTimeout 3\nInternalHosts 10.0.0.0/8, 2001:db8::/32\n"
                "On-Default reject\nOn-DNSError accept\nOn-InternalError tempfail\n"
                "On-SignatureError tempfail\n");
  config c;
  std::string text;
  round_trip(d, conf, &c, &text);
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.on_no_pass, action::reject);
  EXPECT_EQ(c.verify.min_rsa_bits, 2048u);
  // The dropped setting is a comment at the top naming where it stood.
  EXPECT_NE(text.find("# dropped: " + conf + ":9: Syslog: ignored"), std::string::npos) << text;
  // OpenDKIM's defaults kept where dkimkit-milter's differ, each said so.
  EXPECT_NE(text.find("# differs: dkimkit-milter's default is relaxed/relaxed"), std::string::npos)
      << text;
  EXPECT_NE(text.find("canonicalization = \"simple/simple\""), std::string::npos);
  EXPECT_NE(text.find("# differs: dkimkit-milter's default is 5; OpenDKIM's 3 is kept"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("max_signatures = 3"), std::string::npos);
  // Limits at dkimkit's default are left out.
  EXPECT_EQ(text.find("max_fields"), std::string::npos);
}

// What is signed and how, and the results: OpenDKIM's values and defaults survive the migration.
TEST(opendkim_migrate, signing_and_results_settings) {
  temp_dir d;
  std::string k = key_file(d);
  std::string base =
      "Socket local:/tmp/od.sock\nDomain example.com\nSelector s\nKeyFile " + k + "\n";
  // OpenDKIM's defaults, each said to differ from dkimkit-milter's.
  config c;
  std::string text;
  round_trip(d, d.write("a.conf", base), &c, &text);
  EXPECT_FALSE(c.subdomains);
  EXPECT_EQ(c.remove_auth_results, ar_removal::dkim);
  EXPECT_FALSE(c.always_add_auth_results);
  ASSERT_TRUE(c.sign_rules);
  EXPECT_EQ(c.sign_rules->sign, opendkim_sign_headers());
  EXPECT_NE(text.find("subdomains = false"), std::string::npos) << text;
  EXPECT_NE(text.find("# differs: dkimkit-milter's default is true; OpenDKIM's default (no)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("remove_auth_results = \"dkim\""), std::string::npos) << text;
  EXPECT_NE(text.find("add_auth_results = \"signed\""), std::string::npos) << text;
  EXPECT_EQ(text.find("sender_headers"), std::string::npos) << text;  // From: the default
  // Every setting given.
  config s;
  round_trip(
      d,
      d.write("b.conf", base + "SubDomains yes\nSenderHeaders Sender,From\n"
                               "SignHeaders *,+X-Mailer\nOmitHeaders .\n"
                               "OversignHeaders From\nRemoveARAll yes\nAlwaysAddARHeader yes\n"),
      &s, &text);
  EXPECT_TRUE(s.subdomains);
  EXPECT_EQ(s.sender_headers, (std::vector<std::string>{"Sender", "From"}));
  EXPECT_EQ(s.sign_rules->sign.back(), "X-Mailer");
  EXPECT_EQ(s.sign_rules->omit, std::vector<std::string>{"."});
  EXPECT_EQ(s.sign_rules->oversign, std::vector<std::string>{"From"});
  EXPECT_EQ(s.remove_auth_results, ar_removal::any_result);
  EXPECT_TRUE(s.always_add_auth_results);
  EXPECT_NE(text.find("sender_headers = [\"Sender\", \"From\"]"), std::string::npos) << text;
}

TEST(opendkim_migrate, key_table_refile_signing_table_multiple_signatures) {
  temp_dir d;
  std::string k = key_file(d);
  std::string kt = d.write("KeyTable", "ex example.com:s1:" + k + "\nor example.org:s2:" + k + "\n");
  std::string st = d.write("SigningTable", "*@example.com ex\n*@example.org or\n*@*.example.com ex\n");
  std::string conf = d.write("o.conf", "Socket inet:8891@127.0.0.1\nKeyTable " + kt +
                                           "\nSigningTable refile:" + st +
                                           "\nMultipleSignatures yes\nMode s\nCanonicalization "
                                           "relaxed/simple\nAuthservID mx.example.com\n");
  config c;
  std::string text;
  round_trip(d, conf, &c, &text);
  ASSERT_TRUE(c.signing_table);
  EXPECT_EQ(c.signing_table->kind(), table_kind::refile);
  EXPECT_EQ(c.signing_table->size(), 3u);
  EXPECT_TRUE(c.multiple_signatures);
  // The data sets as OpenDKIM names them.
  EXPECT_NE(text.find("signing_table = \"refile:" + st + "\""), std::string::npos) << text;
  EXPECT_EQ(text.find("socket_mode"), std::string::npos);  // inet socket
}

// UserID user[:group] becomes user = "..." and group = "...".
TEST(opendkim_migrate, user_id_round_trip) {
  const auto ids = test::find_nobody();
  if (!ids) GTEST_SKIP() << "no user nobody or no group 0 here";
  const uid_t uid = ids->uid;
  const std::string root_group = ids->root_group;
  temp_dir d;
  const std::string base = "Socket inet:8891@127.0.0.1\nMode sv\nDomain example.com\n"
                           "Selector s\nKeyFile " + key_file(d) + "\n";
  config c;
  std::string text;
  round_trip(d, d.write("u.conf", base + "UserID nobody\n"), &c, &text);
  EXPECT_NE(text.find("\nuser = \"nobody\"\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\ngroup = "), std::string::npos) << text;
  EXPECT_EQ(c.user, "nobody");
  EXPECT_EQ(c.uid, uid);
  EXPECT_EQ(c.gid, ids->login_gid);
  round_trip(d, d.write("g.conf", base + "UserID nobody:" + root_group + "\n"), &c, &text);
  EXPECT_NE(text.find("\ngroup = \"" + root_group + "\"\n"), std::string::npos) << text;
  EXPECT_EQ(c.gid, 0u);
  round_trip(d, d.write("n.conf", base), &c, &text);
  EXPECT_EQ(text.find("\nuser = "), std::string::npos) << text;
  EXPECT_TRUE(c.user.empty());
}

TEST(opendkim_migrate, quote_and_backslash_round_trip) {
  temp_dir d;
  std::string conf = d.write("o.conf", "Socket local:/tmp/od.sock\nMode v\nPidFile /run/a\"b\\c\n"
                                       "AuthservID mx.example.com\n");
  config c;
  round_trip(d, conf, &c);
  EXPECT_EQ(c.pid_file, "/run/a\"b\\c");
}

TEST(opendkim_migrate, toml_quote) {
  EXPECT_EQ(toml_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(toml_quote(std::string("\n\t\x01\x7f", 4)), "\"\\n\\t\\u0001\\u007F\"");
  EXPECT_EQ(toml_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_FALSE(toml_quote("\xff"));
  EXPECT_FALSE(toml_quote("\xc0\xaf"));      // overlong
  EXPECT_FALSE(toml_quote("\xed\xa0\x80"));  // surrogate
}

TEST(opendkim_migrate, refusals_are_config_from_opendkims) {
  temp_dir d;
  std::string conf = d.write("o.conf", "Socket local:/tmp/od.sock\nMode v\nQuarantine yes\n");
  auto want = config_from_opendkim(conf);
  auto got = migrate_opendkim(conf);
  ASSERT_FALSE(want);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().detail, want.error().detail);
}

}  // namespace
}  // namespace dkimkit::milter
