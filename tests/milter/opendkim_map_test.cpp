// config_from_opendkim: an OpenDKIM configuration mapped onto dkimkit-milter's.
#include "opendkim_map.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "opendkim_conf.hpp"
#include "support/run_as.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace dkimkit::milter {
namespace {

using test::temp_dir;

std::string key_file(const temp_dir& d) {
  std::string p = d.write("k.pem", test::ed25519().to_pem());
  ::chmod(p.c_str(), 0600);
  return p;
}

std::string single(const temp_dir& d, const std::string& extra = "") {
  return "Socket local:/tmp/od.sock\nMode sv\nDomain example.com, example.org\n"
         "Selector s2026\nKeyFile " + key_file(d) + "\nSubDomains yes\n" + extra;
}

// AuthservID: unset, the MTA's name (j macro; this host's name as the fallback); HOSTNAME,
// this host's name; a name, that name.
TEST(opendkim_map, authserv_id_defaults_to_the_mta_name) {
  temp_dir d;
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  auto unset = config_from_opendkim(d.write("u.conf", single(d)));
  ASSERT_TRUE(unset) << unset.error().detail;
  EXPECT_TRUE(unset->authserv_id_from_mta);
  EXPECT_EQ(unset->authserv_id, host);
  auto hn = config_from_opendkim(d.write("h.conf", single(d, "AuthservID HOSTNAME\n")));
  ASSERT_TRUE(hn) << hn.error().detail;
  EXPECT_FALSE(hn->authserv_id_from_mta);
  EXPECT_EQ(hn->authserv_id, host);
}

TEST(opendkim_map, single_domain_key) {
  temp_dir d;
  auto c = config_from_opendkim(d.write("o.conf", single(d, "AuthservID mx.example.com\n")));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::both);
  EXPECT_EQ(c->socket, "unix:/tmp/od.sock");
  EXPECT_EQ(c->authserv_id, "mx.example.com");
  EXPECT_FALSE(c->authserv_id_from_mta);  // AuthservID given
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_EQ(c->keys[0].domain, "example.com");
  EXPECT_EQ(c->keys[1].domain, "example.org");
  EXPECT_EQ(c->keys[0].selector, "s2026");
  // OpenDKIM's defaults: simple/simple, InternalHosts 127.0.0.1.
  EXPECT_EQ(c->header_canon, canonicalization::simple);
  EXPECT_EQ(c->body_canon, canonicalization::simple);
  ASSERT_EQ(c->internal_networks.size(), 1u);
  EXPECT_EQ(c->internal_networks[0].prefix, 32u);
  EXPECT_FALSE(c->key_table);
}

TEST(opendkim_map, settings_mapped) {
  temp_dir d;
  auto c = config_from_opendkim(d.write(
      "o.conf", single(d, "Canonicalization relaxed/simple\nSignatureTTL 3600\nUMask 007\n"
                          "MinimumKeyBits 2048\nClockDrift 60\nMaximumSignaturesToVerify 7\n"
                          "Nameservers 192.0.2.53, 192.0.2.54\nTrustAnchorFile /x/root.key\n"
                          "InternalHosts 10.0.0.0/8,[192.0.2.1],2001:db8::/32\nPidFile /run/p\n"
                          "RequireSafeKeys no\nSyslog yes\nUserID nobody\n")));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->header_canon, canonicalization::relaxed);
  EXPECT_EQ(c->body_canon, canonicalization::simple);
  EXPECT_EQ(c->expire_after, 3600u);
  EXPECT_EQ(c->socket_mode, 0770u);
  EXPECT_EQ(c->verify.min_rsa_bits, 2048u);
  EXPECT_EQ(c->verify.max_clock_skew, 60u);
  EXPECT_EQ(c->verify.max_signatures, 7u);
  EXPECT_EQ(c->resolvers, (std::vector<std::string>{"192.0.2.53", "192.0.2.54"}));
  EXPECT_EQ(c->trust_anchor, "/x/root.key");
  EXPECT_EQ(c->internal_networks.size(), 3u);
  EXPECT_EQ(c->pid_file, "/run/p");
  EXPECT_FALSE(c->require_safe_keys);
  EXPECT_EQ(c->user, "nobody");  // UserID: supported since issue 14, no longer ignored
  // Ignored settings are warnings naming where they stand.
  bool syslog = false, user = false;
  for (const auto& w : c->warnings) {
    syslog = syslog || w.find("o.conf:18: Syslog: ignored") != std::string::npos;
    user = user || w.find("UserID") != std::string::npos;
  }
  EXPECT_TRUE(syslog && !user);
}

// UserID user[:group], as opendkim -u takes it: names, or numbers the user and group databases
// know; the group defaults to the user's login group.
TEST(opendkim_map, user_id_names_the_user_and_group_to_run_as) {
  const auto ids = test::find_nobody();
  if (!ids) GTEST_SKIP() << "no user nobody or no group 0 here";
  temp_dir d;
  auto user = config_from_opendkim(d.write("u.conf", single(d, "UserID nobody\n")));
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_EQ(user->user, "nobody");
  EXPECT_EQ(user->group, "");
  EXPECT_EQ(user->uid, ids->uid);
  EXPECT_EQ(user->gid, ids->login_gid);
  EXPECT_EQ(user->user_setting, "UserID nobody");

  auto both =
      config_from_opendkim(d.write("g.conf", single(d, "UserID nobody:" + ids->root_group + "\n")));
  ASSERT_TRUE(both) << both.error().detail;
  EXPECT_EQ(both->user, "nobody");
  EXPECT_EQ(both->group, ids->root_group);
  EXPECT_EQ(both->uid, ids->uid);
  EXPECT_EQ(both->gid, 0u);

  auto numbers = config_from_opendkim(
      d.write("n.conf", single(d, "UserID " + std::to_string(ids->uid) + ":0\n")));
  ASSERT_TRUE(numbers) << numbers.error().detail;
  EXPECT_EQ(numbers->uid, ids->uid);
  EXPECT_EQ(numbers->gid, 0u);

  auto unset = config_from_opendkim(d.write("x.conf", single(d)));
  ASSERT_TRUE(unset) << unset.error().detail;
  EXPECT_TRUE(unset->user.empty());
}

TEST(opendkim_map, user_id_unknown_or_malformed_is_an_error_naming_file_and_line) {
  temp_dir d;
  struct row {
    std::string value, expect;
  } rows[] = {
      {"no-such-user-dkimkit", "UserID: no user 'no-such-user-dkimkit'"},
      {"nobody:no-such-group-dkimkit", "UserID: no group 'no-such-group-dkimkit'"},
      {"4000000000", "UserID: no user '4000000000'"},
      {"nobody:", "UserID: 'nobody:': must be user or user:group"},
      {":root", "UserID: ':root': must be user or user:group"},
  };
  for (const auto& r : rows) {
    const std::string p = d.write("bad.conf", single(d, "UserID " + r.value + "\n"));
    auto c = config_from_opendkim(p);
    ASSERT_FALSE(c) << r.value;
    EXPECT_EQ(c.error().detail, p + ":7: " + r.expect);
  }
}

// Started as root with UserID, a key owned by that user is safe (it is the service's user);
// without UserID the same key is refused as before.
TEST(opendkim_map, a_key_owned_by_the_user_id_is_safe) {
  const auto ids = test::find_nobody();
  if (::geteuid() != 0 || !ids) GTEST_SKIP() << "needs root (to chown) and a user nobody";
  temp_dir d;
  std::string base = single(d);
  const std::string key = d.path + "/k.pem";
  ASSERT_EQ(::chown(key.c_str(), ids->uid, ids->login_gid), 0);
  auto with = config_from_opendkim(d.write("w.conf", base + "UserID nobody\n"));
  ASSERT_TRUE(with) << with.error().detail;
  EXPECT_EQ(with->keys.size(), 2u);
  auto without = config_from_opendkim(d.write("o.conf", base));
  ASSERT_FALSE(without);
  EXPECT_NE(without.error().detail.find("neither the service user"), std::string::npos)
      << without.error().detail;
}

TEST(opendkim_map, key_table_and_refile_signing_table) {
  temp_dir d;
  std::string k = key_file(d);
  std::string kt = d.write("KeyTable", "ex example.com:s1:" + k + "\n");
  std::string st = d.write("SigningTable", "*@example.com ex\n");
  auto c = config_from_opendkim(d.write(
      "o.conf", "Socket inet:8891@127.0.0.1\nKeyTable " + kt + "\nSigningTable refile:" + st +
                    "\nMultipleSignatures yes\nMode s\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::sign);
  EXPECT_EQ(c->socket, "inet:8891@127.0.0.1");
  ASSERT_TRUE(c->key_table && c->signing_table);
  EXPECT_EQ(c->key_table->size(), 1u);
  EXPECT_EQ(c->signing_table->kind(), table_kind::refile);
  EXPECT_TRUE(c->multiple_signatures);
  EXPECT_TRUE(c->keys.empty());
  // The key the table names is loaded as a TOML key_table's is: the session signs with it.
  ASSERT_EQ(c->table_keys.size(), 1u);
  EXPECT_TRUE(c->table_keys.contains(k));
}

TEST(opendkim_map, key_table_keys_are_loaded_and_checked) {
  temp_dir d;
  std::string k = key_file(d);
  std::string kt = d.write("KeyTable", "ex example.com:s1:" + k + "\nmissing example.org:s1:" +
                                           d.path + "/no-such-key.pem\n");
  std::string st = d.write("SigningTable", "*@example.com ex\n*@example.org missing\n");
  auto c = config_from_opendkim(
      d.write("o.conf", "Socket inet:8891@127.0.0.1\nKeyTable " + kt +
                            "\nSigningTable refile:" + st + "\nMode s\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("o.conf:2: KeyTable"), std::string::npos) << c.error().detail;
  EXPECT_NE(c.error().detail.find(kt + ":2: "), std::string::npos) << c.error().detail;
}

TEST(opendkim_map, on_actions) {
  temp_dir d;
  auto c = config_from_opendkim(d.write(
      "o.conf", single(d, "On-Default reject\nOn-DNSError a\nOn-InternalError accept\n"
                          "On-Security r\nOn-SignatureError tempfail\n")));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->on_no_pass, action::reject);
  EXPECT_EQ(c->on_dns_error, action::accept);
  EXPECT_EQ(c->on_internal_error, action::accept);
  auto dflt = config_from_opendkim(d.write("p.conf", single(d)));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_EQ(dflt->on_no_pass, action::accept);
  EXPECT_EQ(dflt->on_dns_error, action::tempfail);
  EXPECT_EQ(dflt->on_internal_error, action::tempfail);
}

struct refusal {
  std::string extra, expect;
};

TEST(opendkim_map, refusals_name_file_line_and_setting) {
  temp_dir d;
  for (const auto& r : std::vector<refusal>{
           {"On-BadSignature reject\n", "o.conf:7: On-BadSignature: On-BadSignature reject: "},
           {"On-Default quarantine\n", "o.conf:7: On-Default: On-BadSignature quarantine"},
           {"On-DNSError reject\n",
            "o.conf:7: On-DNSError: On-DNSError reject: dkimkit-milter can"},
           {"On-Security accept\nOn-NoSignature reject\n", "o.conf:8: On-NoSignature:"},
           {"On-SignatureError reject\n", "o.conf:7: On-SignatureError:"},
           {"On-NoSignature bogus\n", "o.conf:7: On-NoSignature: unknown action 'bogus'"},
           {"InternalHosts !10.1.0.0/16\n", "o.conf:7: InternalHosts: '!10.1.0.0/16'"},
           {"SigningTable dsn:mysql://u:secret@h/db\n", "o.conf:7: SigningTable: "},
           {"Quarantine yes\n", "o.conf:7: Quarantine: not supported by dkimkit-milter"},
           {"UMask 000\n", "o.conf:7: UMask: would let anyone connect"},
           {"OversignHeaders From,X-*\n", "o.conf:7: OversignHeaders: oversign_headers: 'X-*'"},
           {"Canonicalization relaxed/nope\n", "o.conf:7: Canonicalization:"},
       }) {
    auto c = config_from_opendkim(d.write("o.conf", single(d, r.extra)));
    ASSERT_FALSE(c) << r.extra;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
    EXPECT_EQ(c.error().detail.find("secret"), std::string::npos);
  }
}

// What is signed and how, and the results, as OpenDKIM 2.11 does it (checked with opendkim -t).
TEST(opendkim_map, signing_and_results_defaults_are_opendkims) {
  temp_dir d;
  auto c = config_from_opendkim(d.write(
      "o.conf",
      "Socket local:/tmp/od.sock\nDomain example.com\nSelector s\nKeyFile " + key_file(d) + "\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_FALSE(c->subdomains);  // SubDomains no
  EXPECT_TRUE(c->first_sender_mailbox);  // the first address of the sender field signs
  EXPECT_EQ(c->sender_headers, std::vector<std::string>{"From"});
  ASSERT_TRUE(c->sign_rules);
  EXPECT_EQ(c->sign_rules->sign, opendkim_sign_headers());
  EXPECT_EQ(c->sign_rules->omit, opendkim_omit_headers());
  EXPECT_TRUE(c->sign_rules->oversign.empty());
  EXPECT_FALSE(c->headers);
  EXPECT_EQ(c->remove_auth_results, ar_removal::dkim);
  EXPECT_FALSE(c->always_add_auth_results);
  // No longer a warning about subdomains.
  for (const auto& w : c->warnings) EXPECT_EQ(w.find("subdomains"), std::string::npos) << w;
}

TEST(opendkim_map, signing_and_results_settings) {
  temp_dir d;
  auto c = config_from_opendkim(
      d.write("o.conf", single(d,
                               "SenderHeaders Sender, From\nSignHeaders *,+X-Mailer,-Cc\n"
                               "OmitHeaders *,-Received\nOversignHeaders From,To\n"
                               "AlwaysAddARHeader yes\nRemoveARAll yes\n")));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_TRUE(c->subdomains);  // SubDomains yes in single()
  EXPECT_EQ(c->sender_headers, (std::vector<std::string>{"Sender", "From"}));
  ASSERT_TRUE(c->sign_rules);
  auto sign = opendkim_sign_headers();
  sign.erase(std::find(sign.begin(), sign.end(), "Cc"));
  sign.push_back("X-Mailer");
  EXPECT_EQ(c->sign_rules->sign, sign);
  auto omit = opendkim_omit_headers();
  omit.erase(std::find(omit.begin(), omit.end(), "Received"));
  EXPECT_EQ(c->sign_rules->omit, omit);
  EXPECT_EQ(c->sign_rules->oversign, (std::vector<std::string>{"From", "To"}));
  EXPECT_EQ(c->remove_auth_results, ar_removal::any_result);
  EXPECT_TRUE(c->always_add_auth_results);
  // A list in a file (one name a line) replaces the default; "." omits nothing.
  std::string list = d.write("sign.txt", "X-A\nsubject # comment\n");
  auto f = config_from_opendkim(
      d.write("f.conf", single(d, "SignHeaders file:" + list + "\nOmitHeaders .\n")));
  ASSERT_TRUE(f) << f.error().detail;
  EXPECT_EQ(f->sign_rules->sign, (std::vector<std::string>{"X-A", "subject"}));
  EXPECT_EQ(f->sign_rules->omit, (std::vector<std::string>{"."}));
  // RemoveARAll no, AlwaysAddARHeader no: OpenDKIM's defaults again.
  auto n = config_from_opendkim(
      d.write("n.conf", single(d, "RemoveARAll no\nAlwaysAddARHeader no\nSubDomains no\n")));
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(n->remove_auth_results, ar_removal::dkim);
  EXPECT_FALSE(n->always_add_auth_results);
  EXPECT_FALSE(n->subdomains);  // the last SubDomains counts
}

TEST(opendkim_map, signature_algorithm) {
  temp_dir d;
  // single() holds an Ed25519 key: ed25519-sha256 goes, rsa-sha256 does not.
  auto ed =
      config_from_opendkim(d.write("e.conf", single(d, "SignatureAlgorithm ed25519-sha256\n")));
  ASSERT_TRUE(ed) << ed.error().detail;
  EXPECT_EQ(ed->keys[0].algo, algorithm::ed25519_sha256);
  // Unset with an Ed25519 key: OpenDKIM would write a=rsa-sha256; a warning says so.
  auto unset = config_from_opendkim(d.write("u.conf", single(d)));
  ASSERT_TRUE(unset) << unset.error().detail;
  EXPECT_FALSE(unset->keys[0].algo);
  bool warned = false;
  for (const auto& w : unset->warnings)
    warned = warned || w.find("OpenDKIM would label its signatures rsa-sha256") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(opendkim_map, signing_setting_refusals) {
  temp_dir d;
  for (const auto& r : std::vector<refusal>{
           {"SignatureAlgorithm rsa-sha1\n",
            "o.conf:7: SignatureAlgorithm: rsa-sha1 is refused: RFC 8301"},
           {"SignatureAlgorithm RSA-SHA1\n", "rsa-sha1 is refused"},
           {"SignatureAlgorithm foo\n",
            "o.conf:7: SignatureAlgorithm: unknown signing algorithm 'foo'"},
           {"SignatureAlgorithm rsa-sha256\n", "o.conf:7: SignatureAlgorithm: "},
           {"SignHeaders +X-A\n", "o.conf:7: SignHeaders: '+X-A': a \"+\" entry adds"},
           {"SignHeaders X-(A|B)\n", "o.conf:7: SignHeaders: 'X-(A|B)': OpenDKIM reads '('"},
           {"OmitHeaders From\n", "o.conf:7: OmitHeaders: omit_headers: 'From' omits From"},
           {"OmitHeaders *,+F*\n", "o.conf:7: OmitHeaders: omit_headers: 'F*' omits From"},
           {"OversignHeaders *\n", "o.conf:7: OversignHeaders: oversign_headers: '*'"},
           {"SenderHeaders *\n", "o.conf:7: SenderHeaders: sender_headers: '*'"},
           {"SignHeaders refile:/x\n", "o.conf:7: SignHeaders: a refile: data set"},
       }) {
    auto c = config_from_opendkim(d.write("o.conf", single(d, r.extra)));
    ASSERT_FALSE(c) << r.extra;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
  }
}

TEST(opendkim_map, unknown_setting_and_missing_socket) {
  temp_dir d;
  auto c = config_from_opendkim(d.write("o.conf", "Socket local:/tmp/x\nNoSuchThing 1\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("o.conf:2:"), std::string::npos) << c.error().detail;
  auto s = config_from_opendkim(d.write("n.conf", "Mode v\n"));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("Socket is required"), std::string::npos);
  auto sign = config_from_opendkim(d.write("m.conf", "Socket local:/tmp/x\nMode s\n"));
  ASSERT_FALSE(sign);
  EXPECT_NE(sign.error().detail.find("Mode s needs"), std::string::npos);
}

// Debian's shipped /etc/opendkim.conf: no keys (verifies only), relaxed/simple, a unix socket
// whose mode comes from UMask 007.
TEST(opendkim_map, debian_shipped_file) {
  const char* path = "/etc/opendkim.conf";
  if (::access(path, R_OK) != 0) GTEST_SKIP() << path << " is absent";
  auto c = config_from_opendkim(path);
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::verify);
  EXPECT_TRUE(c->keys.empty());
  EXPECT_EQ(c->socket.rfind("unix:", 0), 0u);
  EXPECT_EQ(c->socket_mode & 0007u, 0u);
}

// The README's table ("| Name | class (reason) |" under "Running from an OpenDKIM
// configuration") lists every setting of settings_table(), each with its class, and no other.
TEST(opendkim_map, readme_table_agrees_with_settings_table) {
  std::ifstream in(std::string(DKIMKIT_TEST_DATA_DIR) + "/../../README.md");
  ASSERT_TRUE(in);
  std::string line;
  bool in_section = false;
  std::map<std::string, std::string> readme;
  std::string section_text;  // the section, lines joined by spaces
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) in_section = line == "### Running from an OpenDKIM configuration";
    if (in_section) section_text += line + " ";
    if (!in_section || line.rfind("| ", 0) != 0 || line.rfind("| Setting", 0) == 0) continue;
    auto bar = line.find(" | ", 2);
    ASSERT_NE(bar, std::string::npos) << line;
    std::string name = line.substr(2, bar - 2);
    std::string rest = line.substr(bar + 3);
    std::string cls = rest.substr(0, rest.find_first_of(" |"));
    EXPECT_TRUE(readme.emplace(name, cls).second) << "listed twice: " << name;
  }
  ASSERT_FALSE(readme.empty()) << "no table in the README";
  for (const auto& s : opendkim::settings_table()) {
    auto it = readme.find(std::string(s.name));
    ASSERT_NE(it, readme.end()) << s.name << " is not in the README's table";
    EXPECT_EQ(it->second, opendkim::to_string(s.status)) << s.name;
    readme.erase(it);
  }
  for (const auto& [name, cls] : readme) ADD_FAILURE() << name << " is in the README only";
  // The counts the README states.
  std::map<opendkim::support, int> count;
  for (const auto& s : opendkim::settings_table()) ++count[s.status];
  std::string counts = std::to_string(count[opendkim::support::supported]) + " supported, " +
                       std::to_string(count[opendkim::support::ignored]) + " ignored, " +
                       std::to_string(count[opendkim::support::refused]) + " refused";
  EXPECT_NE(section_text.find(counts), std::string::npos) << "the README should say: " << counts;
}

}  // namespace
}  // namespace dkimkit::milter
