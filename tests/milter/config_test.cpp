// dkimkit-milter's configuration: valid files load, invalid ones are refused with FILE:LINE.
#include "config.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <dkimkit/limits.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "support/run_as.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace dkimkit::milter {
namespace {

using test::temp_dir;

std::string key_file(const temp_dir& d, const std::string& name = "k.pem", mode_t mode = 0600) {
  std::string p = d.write(name, test::ed25519().to_pem());
  ::chmod(p.c_str(), mode);
  return p;
}

std::string signing_config(const std::string& key, const std::string& extra_sign = "") {
  return "authserv_id = \"mx.test\"\nmode = \"sign\"\n[sign]\n" + extra_sign +
         "[[sign.keys]]\ndomain = \"a.com\"\nselector = \"s\"\nkey_file = \"" + key + "\"\n";
}

TEST(milter_config, complete_file_loads) {
  temp_dir d;
  std::string k = key_file(d);
  auto c = load_config(d.write("c.toml", R"(
authserv_id = "mx.example.org"
mode = "both"
socket = "unix:/tmp/x.sock"
[sign]
internal_networks = ["10.0.0.0/8", "2001:db8::/32"]
canonicalization = "relaxed/simple"
[[sign.keys]]
domain = "Example.COM"
selector = "ed"
key_file = ")" + k + R"("
[dns]
resolvers = ["127.0.0.1@5353"]
timeout_ms = 1500
[policy]
on_no_pass = "reject"
on_dns_error = "accept"
[[policy.require]]
from_domain = "example.com"
)"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::both);
  EXPECT_EQ(c->keys.size(), 1u);
  EXPECT_EQ(c->keys[0].domain, "example.com");
  EXPECT_EQ(c->body_canon, canonicalization::simple);
  EXPECT_EQ(c->dns_timeout.count(), 1500);
  EXPECT_EQ(c->on_no_pass, action::reject);
  EXPECT_EQ(c->on_dns_error, action::accept);
  ASSERT_EQ(c->requirements.size(), 1u);
  EXPECT_EQ(c->requirements[0].sdid, "example.com");
}

TEST(milter_config, errors_name_file_and_line) {
  temp_dir d;
  struct row {
    std::string text, expect;
  } rows[] = {
      {"authserv_id = \"x\"\nmode = \"sgn\"\n", ":2: mode must be sign, verify or both"},
      {"authserv_id = \"x\"\nmode = \"verify\"\nsokcet = \"inet:1@127.0.0.1\"\n",
       ":3: unknown setting 'sokcet'"},
      {"mode = \"verify\"\n", "authserv_id is required"},
      {"authserv_id = \"x\"\nmode = \"sign\"\n", "needs at least one [[sign.keys]]"},
      {"authserv_id = \"x\"\nmode = \"verify\"\n[policy]\non_no_pass = \"tempfail\"\n",
       ":4: on_no_pass cannot be 'tempfail'"},
      {"authserv_id = \"x\"\nmode = \"verify\"\n[sign]\ninternal_networks = [\"10.0.0.0/33\"]\n",
       ":4: '10.0.0.0/33' is not a network"},
      {"authserv_id = \"x\"\nmode = \"sign\"\n[[sign.keys]]\ndomain = \"a.com\"\nselector = "
       "\"s\"\nkey_file = \"/nonexistent/key\"\n",
       ":6: /nonexistent/key: cannot open"},
      {"authserv_id = \"x\"\nmode = [\n", ":"},  // TOML syntax error
  };
  for (const auto& r : rows) {
    std::string path = d.write("bad.toml", r.text);
    auto c = load_config(path);
    ASSERT_FALSE(c) << r.text;
    EXPECT_NE(c.error().detail.find(path), std::string::npos) << c.error().detail;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
  }
}

TEST(milter_config, key_that_is_not_a_key_is_refused_at_start) {
  temp_dir d;
  std::string k =
      d.write("bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto c = load_config(d.write("c.toml",
                               "authserv_id = \"x\"\nmode = \"sign\"\n[[sign.keys]]\n"
                               "domain = \"a.com\"\nselector = \"s\"\nkey_file = \"" +
                                   k + "\"\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(":6: "), std::string::npos) << c.error().detail;
}

// [sign] key_table and signing_table: OpenDKIM's tables, their keys loaded at start.
std::string table_config(const std::string& sign) {
  return "authserv_id = \"mx.test\"\nmode = \"sign\"\n[sign]\n" + sign;
}

TEST(milter_config, key_and_signing_tables_load) {
  temp_dir d;
  std::string k = key_file(d);
  std::string kt = d.write("KeyTable", "ed example.com:ed:" + k + "\ndom %:ed:" + d.path +
                                           "/%.pem\nother example.org:s:" + k + "\n");
  std::string st = d.write("SigningTable", "*@example.com ed\n*@example.org other\n*@* dom\n");
  auto c = load_config(d.write(
      "c.toml", table_config("key_table = \"file:" + kt + "\"\nsigning_table = \"refile:" + st +
                             "\"\nmultiple_signatures = true\n")));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::sign);
  ASSERT_TRUE(c->key_table && c->signing_table);
  EXPECT_EQ(c->key_table->size(), 3u);
  EXPECT_EQ(c->signing_table->kind(), table_kind::refile);
  EXPECT_TRUE(c->multiple_signatures);
  // One key file named twice is loaded once; the "%" key waits for a sender.
  ASSERT_EQ(c->table_keys.size(), 1u);
  EXPECT_EQ(c->table_keys.begin()->first, k);
  EXPECT_TRUE(c->keys.empty());
  // Mode both with tables signs (it does not fall back to verifying only).
  auto both = load_config(d.write("b.toml", "authserv_id = \"mx.test\"\n[sign]\nkey_table = \"" +
                                                kt + "\"\nsigning_table = \"" + st + "\"\n"));
  ASSERT_TRUE(both) << both.error().detail;
  EXPECT_EQ(both->mode, mode::both);
  EXPECT_FALSE(both->multiple_signatures);
  EXPECT_EQ(both->signing_table->kind(), table_kind::plain);
}

TEST(milter_config, tables_go_together_and_exclude_sign_keys) {
  temp_dir d;
  std::string k = key_file(d);
  std::string kt = d.write("KeyTable", "ed example.com:ed:" + k + "\n");
  std::string st = d.write("SigningTable", "example.com ed\n");
  struct row {
    std::string text, expect;
  } rows[] = {
      {table_config("key_table = \"" + kt + "\"\n"), ":4: key_table and signing_table go together"},
      {table_config("\nsigning_table = \"" + st + "\"\n"),
       ":5: key_table and signing_table go together"},
      {signing_config(k, "key_table = \"" + kt + "\"\nsigning_table = \"" + st + "\"\n"),
       ":6: [[sign.keys]] and key_table/signing_table exclude each other"},
      {table_config("key_table = \"" + kt + "\"\nsigning_table = \"" + st +
                    "\"\nmultiple_signatures = \"yes\"\n"),
       ":6: multiple_signatures must be true or false"},
      {table_config("key_table = \"" + kt + "\"\nsigning_table = \"" + d.path + "/none\"\n"),
       ":5: signing_table: "},
  };
  for (const auto& r : rows) {
    std::string path = d.write("bad.toml", r.text);
    auto c = load_config(path);
    ASSERT_FALSE(c) << r.text;
    EXPECT_NE(c.error().detail.find(path + r.expect), std::string::npos) << c.error().detail;
  }
}

TEST(milter_config, bad_table_rows_and_keys_name_the_table_file_and_line) {
  temp_dir d;
  std::string k = key_file(d);
  std::string open_key = key_file(d, "open.pem", 0644);
  std::string st = d.write("SigningTable", "example.com ed\n");
  struct row {
    std::string key_table, expect;
  } rows[] = {
      {"ed example.com:ed:" + k + "\nbroken\n", "KeyTable:2: "},
      {"ed example.com:ed:" + k + "\n\nx example.com:s:" + d.path + "/missing.pem\n",
       "KeyTable:3: " + d.path + "/missing.pem: cannot open"},
      {"ed example.com:ed:" + open_key + "\n", "KeyTable:1: " + open_key + ": the private key"},
      {"ed example.com:ed:" + k + ":rsa-sha256\n", "KeyTable:1: " + k + ": the algorithm"},
      {"ed example.com:ed:AAAA\n", "KeyTable:1: "},
  };
  for (const auto& r : rows) {
    std::string kt = d.write("KeyTable", r.key_table);
    std::string path = d.write(
        "bad.toml", table_config("key_table = \"" + kt + "\"\nsigning_table = \"" + st + "\"\n"));
    auto c = load_config(path);
    ASSERT_FALSE(c) << r.key_table;
    EXPECT_NE(c.error().detail.find(path + ":4: key_table: "), std::string::npos)
        << c.error().detail;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
  }
  // A signing table row without a key name.
  std::string kt = d.write("KeyTable", "ed example.com:ed:" + k + "\n");
  std::string bad_st = d.write("BadSigningTable", "# comment\nexample.com\n");
  std::string path = d.write(
      "bad.toml", table_config("key_table = \"" + kt + "\"\nsigning_table = \"" + bad_st + "\"\n"));
  auto c = load_config(path);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(path + ":5: signing_table: " + bad_st + ":2: "),
            std::string::npos)
      << c.error().detail;
  // With require_safe_keys = false an open key file loads, with a warning.
  std::string open_kt = d.write("OpenKeyTable", "ed example.com:ed:" + open_key + "\n");
  auto lax = load_config(
      d.write("lax.toml", table_config("require_safe_keys = false\nkey_table = \"" + open_kt +
                                       "\"\nsigning_table = \"" + st + "\"\n")));
  ASSERT_TRUE(lax) << lax.error().detail;
  ASSERT_EQ(lax->warnings.size(), 1u);
  EXPECT_NE(lax->warnings[0].find(open_key), std::string::npos);
}

// OpenDKIM's rules as TOML settings (issue 14): [sign] sign_headers, omit_headers,
// oversign_headers, sender_headers, subdomains; [policy] remove_auth_results, add_auth_results.
TEST(milter_config, opendkim_rules_load) {
  temp_dir d;
  std::string k = key_file(d);
  auto dflt = load_config(d.write("d.toml", signing_config(k)));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_FALSE(dflt->sign_rules);
  EXPECT_TRUE(dflt->subdomains);
  EXPECT_EQ(dflt->sender_headers, std::vector<std::string>{"From"});
  EXPECT_FALSE(dflt->first_sender_mailbox);
  EXPECT_EQ(dflt->remove_auth_results, ar_removal::all);
  EXPECT_TRUE(dflt->always_add_auth_results);
  // One of the three: the others take OpenDKIM's defaults.
  auto over = load_config(d.write("o.toml", signing_config(k, "oversign_headers = [\"From\"]\n")));
  ASSERT_TRUE(over) << over.error().detail;
  ASSERT_TRUE(over->sign_rules);
  EXPECT_EQ(over->sign_rules->sign, opendkim_sign_headers());
  EXPECT_EQ(over->sign_rules->omit, opendkim_omit_headers());
  EXPECT_EQ(over->sign_rules->oversign, std::vector<std::string>{"From"});
  auto c = load_config(d.write(
      "c.toml",
      signing_config(k,
                     "sign_headers = [\"X-*\", \"Subject\"]\nomit_headers = []\n"
                     "sender_headers = [\"Sender\", \"From\"]\nsubdomains = false\n"
                     "sender_mailbox = \"first\"\n") +
          "[policy]\nremove_auth_results = \"any_result\"\nadd_auth_results = \"signed\"\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->sign_rules->sign, (std::vector<std::string>{"X-*", "Subject"}));
  EXPECT_TRUE(c->sign_rules->omit.empty());
  EXPECT_TRUE(c->sign_rules->oversign.empty());
  EXPECT_EQ(c->sender_headers, (std::vector<std::string>{"Sender", "From"}));
  EXPECT_FALSE(c->subdomains);
  EXPECT_TRUE(c->first_sender_mailbox);
  EXPECT_EQ(c->remove_auth_results, ar_removal::any_result);
  EXPECT_FALSE(c->always_add_auth_results);
  for (auto [extra, policy, expect] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"headers = [\"From\"]\nsign_headers = [\"To\"]\n", "",
            ":5: sign_headers excludes headers"},
           {"omit_headers = [\"from\"]\n", "", ":4: omit_headers: 'from' omits From"},
           {"oversign_headers = [\"X-*\"]\n", "", ":4: oversign_headers: 'X-*'"},
           {"sign_headers = [\"X-(A)\"]\n", "", ":4: sign_headers: 'X-(A)'"},
           {"sender_headers = []\n", "", ":4: sender_headers: no field named"},
           {"subdomains = \"no\"\n", "", ":4: subdomains must be true or false"},
           {"sender_mailbox = \"all\"\n", "", ":4: sender_mailbox must be \"only\" or \"first\""},
           {"", "remove_auth_results = \"some\"\n", ":9: remove_auth_results must be"},
           {"", "add_auth_results = \"never\"\n", ":9: add_auth_results must be"},
       }) {
    std::string text = signing_config(k, extra) + (policy.empty() ? "" : "[policy]\n" + policy);
    auto bad = load_config(d.write("b.toml", text));
    ASSERT_FALSE(bad) << text;
    EXPECT_NE(bad.error().detail.find(expect), std::string::npos) << bad.error().detail;
  }
}

TEST(milter_config, networks_match_v4_v6_and_mapped) {
  std::vector<network> nets = {*parse_network("192.0.2.0/24"), *parse_network("2001:db8::/32")};
  unsigned char v4[4] = {192, 0, 2, 77}, v4_out[4] = {192, 0, 3, 1};
  EXPECT_TRUE(in_networks(nets, AF_INET, v4));
  EXPECT_FALSE(in_networks(nets, AF_INET, v4_out));
  unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_TRUE(in_networks(nets, AF_INET6, mapped));
  unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(in_networks(nets, AF_INET6, v6));
  v6[3] = 0xb9;
  EXPECT_FALSE(in_networks(nets, AF_INET6, v6));
  EXPECT_FALSE(parse_network("300.1.1.1"));
  EXPECT_FALSE(parse_network("10.0.0.0/"));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::string kShippedConfig =
    std::string(DKIMKIT_TEST_DATA_DIR) + "/../../packaging/milter.toml";

// What a package installs in /etc/dkimkit/milter.toml loads as it is: no keys yet, so mode "both"
// verifies only, and says so.
TEST(milter_config, shipped_file_is_valid_and_verifies_until_keys_are_named) {
  auto c = load_config(kShippedConfig);
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::verify);
  EXPECT_TRUE(c->keys.empty());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("verifying only"), std::string::npos) << c->warnings[0];
  EXPECT_EQ(c->socket, "unix:/run/dkimkit/milter.sock");
  EXPECT_EQ(c->socket_mode, 0660u);
}

// Its commented [[sign.keys]] example is valid too, once uncommented and the key files exist.
TEST(milter_config, shipped_file_signs_with_its_keys_uncommented) {
  temp_dir d;
  std::string k = key_file(d);
  std::string text = read_file(kShippedConfig);
  ASSERT_FALSE(text.empty());
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    for (const char* p : {"# [[sign.keys]]", "# domain = ", "# selector = ", "# key_file = "})
      if (line.rfind(p, 0) == 0) line.erase(0, 2);
    out += line + "\n";
  }
  for (const char* p : {"/etc/dkimkit/keys/rsa2026.private", "/etc/dkimkit/keys/ed2026.private"}) {
    ASSERT_NE(out.find(p), std::string::npos) << p;
    out.replace(out.find(p), std::string(p).size(), k);
  }
  auto c = load_config(d.write("example.toml", out));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->mode, mode::both);
  EXPECT_EQ(c->keys.size(), 2u);
  EXPECT_TRUE(c->warnings.empty());
}

// Mode both without keys verifies only; mode sign without keys is refused.
TEST(milter_config, both_without_keys_verifies_only) {
  temp_dir d;
  auto both = load_config(d.write("b.toml", "authserv_id = \"x\"\nmode = \"both\"\n"));
  ASSERT_TRUE(both) << both.error().detail;
  EXPECT_EQ(both->mode, mode::verify);
  ASSERT_EQ(both->warnings.size(), 1u);
  EXPECT_NE(both->warnings[0].find("mode both with no [[sign.keys]]: verifying only"),
            std::string::npos);
  auto dflt = load_config(d.write("d.toml", "authserv_id = \"x\"\n"));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_EQ(dflt->mode, mode::verify);
  auto sign = load_config(d.write("s.toml", "authserv_id = \"x\"\nmode = \"sign\"\n"));
  ASSERT_FALSE(sign);
  EXPECT_NE(sign.error().detail.find("mode sign needs at least one [[sign.keys]]"),
            std::string::npos);
}

// Every setting load_config accepts is documented in dkimkit-milter.toml(5): an entry line
// "*NAME* ..." under the section of its table ("## Top-level settings", "## [sign]",
// "## [[sign.keys]]", ...); a setting that is itself a table has a section of its own.
TEST(milter_config, every_setting_is_in_the_manual) {
  std::string page =
      read_file(std::string(DKIMKIT_TEST_DATA_DIR) + "/../../man/dkimkit-milter.toml.5.scd");
  ASSERT_FALSE(page.empty());
  std::map<std::string, std::set<std::string>> documented;  // section title -> entries
  std::string section;
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0) section.clear();
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    documented[section];
    if (line.size() > 2 && line[0] == '*' && line[1] != '*') {
      auto end = line.find('*', 1);
      if (end != std::string::npos) documented[section].insert(line.substr(1, end - 1));
    }
  }
  auto title_of = [](std::string_view table) {
    if (table.empty()) return std::string("Top-level settings");
    if (table == "sign.keys" || table == "policy.require") return "[[" + std::string(table) + "]]";
    return "[" + std::string(table) + "]";
  };
  auto is_table = [](const std::string& name) {
    for (const auto& [table, keys] : known_settings())
      if (table == name) return true;
    return false;
  };
  std::size_t checked = 0;
  for (const auto& [table, keys] : known_settings()) {
    ASSERT_TRUE(documented.count(title_of(table)))
        << "no section '## " << title_of(table) << "' in dkimkit-milter.toml.5.scd";
    for (auto key : keys) {
      std::string full =
          table.empty() ? std::string(key) : std::string(table) + "." + std::string(key);
      if (is_table(full)) continue;  // a table: its own section, checked above
      EXPECT_TRUE(documented[title_of(table)].count(std::string(key)))
          << full << " is a setting but has no '*" << key << "*' entry under '## "
          << title_of(table) << "' in man/dkimkit-milter.toml.5.scd";
      ++checked;
    }
  }
  EXPECT_GT(checked, 30u);
}

}  // namespace
}  // namespace dkimkit::milter

namespace dkimkit::milter {
namespace {

// Every limit of README "Limits" is a setting that reaches the verifier; bad values name the line.
TEST(milter_config, limits_reach_the_verifier) {
  temp_dir d;
  auto c = load_config(d.write("c.toml", R"(
authserv_id = "mx.test"
mode = "verify"
[dns]
timeout_ms = 1500
message_timeout_ms = 2500
[limits]
max_signatures = 7
max_header_bytes = 500000
max_field_bytes = 100000
max_fields = 300
max_signature_bytes = 20000
max_signed_headers = 64
max_key_record_bytes = 4096
min_rsa_bits = 2048
max_rsa_bits = 4096
)"));
  ASSERT_TRUE(c) << c.error().detail;
  verify_options o = verify_options_of(*c);
  EXPECT_EQ(o.max_signatures, 7u);
  EXPECT_EQ(o.header.max_header_bytes, 500000u);
  EXPECT_EQ(o.header.max_field_bytes, 100000u);
  EXPECT_EQ(o.header.max_fields, 300u);
  EXPECT_EQ(o.signature.max_field_bytes, 20000u);
  EXPECT_EQ(o.signature.max_signed_headers, 64u);
  EXPECT_EQ(o.key.max_record_bytes, 4096u);
  EXPECT_EQ(o.min_rsa_bits, 2048u);
  EXPECT_EQ(o.key.max_rsa_bits, 4096u);
  EXPECT_EQ(o.dns_message_timeout.count(), 2500);
  EXPECT_EQ(c->dns_timeout.count(), 1500);

  // The defaults are the library's.
  auto dflt = load_config(d.write("d.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n"));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  verify_options lib;
  verify_options got = verify_options_of(*dflt);
  EXPECT_EQ(got.max_signatures, lib.max_signatures);
  EXPECT_EQ(got.header.max_header_bytes, lib.header.max_header_bytes);
  EXPECT_EQ(got.header.max_field_bytes, lib.header.max_field_bytes);
  EXPECT_EQ(got.header.max_fields, lib.header.max_fields);
  EXPECT_EQ(got.signature.max_field_bytes, lib.signature.max_field_bytes);
  EXPECT_EQ(got.signature.max_signed_headers, lib.signature.max_signed_headers);
  EXPECT_EQ(got.key.max_record_bytes, lib.key.max_record_bytes);
  EXPECT_EQ(got.key.max_rsa_bits, lib.key.max_rsa_bits);
  EXPECT_EQ(got.min_rsa_bits, lib.min_rsa_bits);
  EXPECT_EQ(got.dns_message_timeout, lib.dns_message_timeout);

  auto bad = load_config(d.write(
      "b.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n[limits]\nmax_fields = 3\n"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("b.toml:4"), std::string::npos) << bad.error().detail;
  EXPECT_NE(bad.error().detail.find("max_fields"), std::string::npos) << bad.error().detail;
  auto crossed =
      load_config(d.write("x.toml",
                          "authserv_id = \"mx.test\"\nmode = \"verify\"\n[limits]\nmin_rsa_bits = "
                          "4096\nmax_rsa_bits = 2048\n"));
  ASSERT_FALSE(crossed);
  EXPECT_NE(crossed.error().detail.find("min_rsa_bits is above max_rsa_bits"), std::string::npos);
  auto unknown = load_config(
      d.write("u.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n[limits]\nmax_bogus = 1\n"));
  ASSERT_FALSE(unknown);
}

// Issue 11 finding 12: private keys that others may read or write, or that belong to another
// user, are refused at start (and on reload, which loads the same way); group-readable keys of
// another group give a warning. require_safe_keys = false turns the refusals into warnings.
TEST(milter_config, unsafe_key_files_are_refused) {
  temp_dir d;
  ASSERT_EQ(::geteuid(), 0u) << "the ownership cases need root (chown)";
  struct row {
    std::string name;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    std::string refusal;  // empty: accepted
    std::string warning;  // empty: none
  };
  const row rows[] = {
      {"ok.pem", 0600, 0, 0, "", ""},
      {"ours-group.pem", 0640, 0, 0, "", ""},
      {"world.pem", 0644, 0, 0, "may be read or written by others (mode 0644)", ""},
      {"world-write.pem", 0602, 0, 0, "may be read or written by others (mode 0602)", ""},
      {"all.pem", 0666, 0, 0, "may be read or written by others (mode 0666)", ""},
      {"other-user.pem", 0600, 1, 0, "owned by uid 1, neither the service user", ""},
      {"other-group.pem", 0640, 0, 1, "", "may be read by group 1 (mode 0640)"},
  };
  for (const auto& r : rows) {
    std::string k = key_file(d, r.name, r.mode);
    ASSERT_EQ(::chown(k.c_str(), r.uid, r.gid), 0);
    auto c = load_config(d.write("c.toml", signing_config(k)));
    if (!r.refusal.empty()) {
      ASSERT_FALSE(c) << r.name;
      EXPECT_NE(c.error().detail.find(r.refusal), std::string::npos) << c.error().detail;
      EXPECT_NE(c.error().detail.find("c.toml:7: " + k), std::string::npos) << c.error().detail;
      auto lax = load_config(d.write("lax.toml", signing_config(k, "require_safe_keys = false\n")));
      ASSERT_TRUE(lax) << lax.error().detail;
      ASSERT_EQ(lax->warnings.size(), 1u);
      EXPECT_NE(lax->warnings[0].find(r.refusal), std::string::npos) << lax->warnings[0];
    } else {
      ASSERT_TRUE(c) << r.name << ": " << c.error().detail;
      if (r.warning.empty()) {
        EXPECT_TRUE(c->warnings.empty()) << r.name;
      } else {
        ASSERT_EQ(c->warnings.size(), 1u) << r.name;
        EXPECT_NE(c->warnings[0].find(r.warning), std::string::npos) << c->warnings[0];
      }
    }
  }
}

// Issue 11 finding 13: a unix socket by default, created 0660; socket_mode never gives others
// access; peers (an allow-list of MTA addresses) is for inet sockets only.
TEST(milter_config, socket_settings) {
  temp_dir d;
  auto dflt = load_config(d.write("d.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n"));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_EQ(dflt->socket, "unix:/run/dkimkit/milter.sock");
  EXPECT_EQ(dflt->socket_mode, 0660u);
  EXPECT_TRUE(dflt->peers.empty());
  EXPECT_EQ(dflt->max_forged_auth_results, 20u);
  EXPECT_EQ(dflt->on_forged_auth_results, action::reject);

  auto good = load_config(d.write("g.toml", R"(authserv_id = "mx.test"
mode = "verify"
socket = "inet:8891@127.0.0.1"
peers = ["127.0.0.1/32", "::1"]
[limits]
max_forged_auth_results = 5
[policy]
on_forged_auth_results = "tempfail"
)"));
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_EQ(good->peers.size(), 2u);
  EXPECT_EQ(good->max_forged_auth_results, 5u);
  EXPECT_EQ(good->on_forged_auth_results, action::tempfail);
  auto unix_mode = load_config(d.write("m.toml",
                                       "authserv_id = \"mx.test\"\nmode = \"verify\"\n"
                                       "socket = \"unix:/tmp/x.sock\"\nsocket_mode = \"0600\"\n"
                                       "socket_group = \"0\"\n"));
  ASSERT_TRUE(unix_mode) << unix_mode.error().detail;
  EXPECT_EQ(unix_mode->socket_mode, 0600u);

  struct row {
    std::string text, expect;
  } rows[] = {
      {"socket_mode = \"0666\"\n", ":3: socket_mode must give others no access"},
      {"socket_mode = \"rw\"\n", ":3: socket_mode must be an octal mode"},
      {"socket = \"inet:1@127.0.0.1\"\nsocket_mode = \"0660\"\n",
       ":4: socket_mode is for unix sockets"},
      {"peers = [\"127.0.0.1\"]\n", ":3: peers is for inet sockets"},
      {"socket = \"inet:1@127.0.0.1\"\npeers = [\"x\"]\n", ":4: 'x' is not a network"},
      {"socket_group = \"no-such-group-here\"\n", ":3: socket_group: no group"},
      {"[policy]\non_forged_auth_results = \"accept\"\n",
       ":4: on_forged_auth_results cannot be 'accept'"},
      {"[limits]\nmax_forged_auth_results = 0\n", ":4: max_forged_auth_results must be between 1"},
  };
  for (const auto& r : rows) {
    auto c =
        load_config(d.write("bad.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n" + r.text));
    ASSERT_FALSE(c) << r.text;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
  }
}

}  // namespace
}  // namespace dkimkit::milter

// user and group: who the milter runs as once its socket is open (OpenDKIM's UserID).
namespace dkimkit::milter {
namespace {

TEST(config, user_and_group_name_who_to_run_as) {
  const auto ids = test::find_nobody();
  if (!ids) GTEST_SKIP() << "no user nobody or no group 0 here";
  temp_dir d;
  const std::string head = "authserv_id = \"mx.test\"\nmode = \"verify\"\n";
  auto user = load_config(d.write("u.toml", head + "user = \"nobody\"\n"));
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_EQ(user->user, "nobody");
  EXPECT_EQ(user->group, "");
  EXPECT_EQ(user->uid, ids->uid);
  EXPECT_EQ(user->gid, ids->login_gid);
  auto both = load_config(d.write("g.toml", head + "user = \"" + std::to_string(ids->uid) +
                                                "\"\ngroup = \"" + ids->root_group + "\"\n"));
  ASSERT_TRUE(both) << both.error().detail;
  EXPECT_EQ(both->uid, ids->uid);
  EXPECT_EQ(both->gid, 0u);
  auto none = load_config(d.write("n.toml", head));
  ASSERT_TRUE(none) << none.error().detail;
  EXPECT_TRUE(none->user.empty());

  struct row {
    std::string text, expect;
  } rows[] = {
      {"user = \"no-such-user-dkimkit\"\n", ":3: user: no user 'no-such-user-dkimkit'"},
      {"user = \"nobody\"\ngroup = \"no-such-group-dkimkit\"\n",
       ":3: user: no group 'no-such-group-dkimkit'"},
      {"group = \"" + ids->root_group + "\"\n", ":3: group goes with user"},
      {"user = \"\"\n", ":3: user: empty"},
      {"user = 65534\n", ":3: user must be a string"},
  };
  for (const auto& r : rows) {
    auto c = load_config(d.write("bad.toml", head + r.text));
    ASSERT_FALSE(c) << r.text;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos) << c.error().detail;
  }
}

}  // namespace
}  // namespace dkimkit::milter

// dkimkit-milter reads the settings of dkimkit::verify_limits() ([limits], [dns]) from the table.
namespace dkimkit::milter {
namespace {

// A verifying configuration "c.toml" with `body` after two lines (body starts on line 3).
std::string verifying(const temp_dir& d, const std::string& body) {
  return d.write("c.toml", "authserv_id = \"mx.test\"\nmode = \"verify\"\n" + body);
}

std::string setting(const verify_limit& l, const std::string& value) {
  return "[" + std::string(l.table) + "]\n" + std::string(l.key) + " = " + value + "\n";
}

// A value other than the default that a configuration file may also set, between the default and
// a bound (so that min_rsa_bits stays under max_rsa_bits).
std::uint64_t other_value(const verify_limit& l) {
  if (l.is_switch()) return l.default_value() == 0 ? 1 : 0;
  return l.default_value() == l.min ? (l.min + l.max) / 2 : (l.min + l.default_value()) / 2;
}

// Every entry with a key is a setting of its table, read into verify_options_of(); the others keep
// the library's defaults.
TEST(milter_limits, every_limit_round_trips_through_its_key) {
  temp_dir d;
  std::size_t keys = 0;
  for (const auto& l : verify_limits()) {
    if (l.key.empty()) continue;
    ++keys;
    const auto& known = known_settings();
    auto table =
        std::find_if(known.begin(), known.end(), [&](const auto& t) { return t.first == l.table; });
    ASSERT_NE(table, known.end()) << l.table;
    EXPECT_NE(std::find(table->second.begin(), table->second.end(), l.key), table->second.end())
        << l.key << " is not a known setting of [" << l.table << "]";

    std::uint64_t v = other_value(l);
    std::string text = l.is_switch() ? (v ? "true" : "false") : std::to_string(v);
    auto c = load_config(verifying(d, setting(l, text)));
    ASSERT_TRUE(c) << l.key << ": " << c.error().detail;
    verify_options o = verify_options_of(*c);
    EXPECT_EQ(l.get(o), v) << l.key;
    for (const auto& other : verify_limits())
      if (&other != &l) {
        EXPECT_EQ(other.get(o), other.default_value()) << l.key << ": " << other.key;
      }
  }
  EXPECT_GE(keys, 11u);
  auto dflt = load_config(verifying(d, ""));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  for (const auto& l : verify_limits())
    EXPECT_EQ(l.get(verify_options_of(*dflt)), l.default_value()) << l.flag;
}

// Outside the table's range a setting is refused, naming the file, the line and the range.
TEST(milter_limits, values_outside_the_range_are_refused) {
  temp_dir d;
  for (const auto& l : verify_limits()) {
    if (l.key.empty()) continue;
    if (l.is_switch()) {
      for (const char* bad : {"\"yes\"", "1", "0"}) {
        auto c = load_config(verifying(d, setting(l, bad)));
        ASSERT_FALSE(c) << l.key << " = " << bad;
        EXPECT_NE(c.error().detail.find(":4: " + std::string(l.key) + " must be true or false"),
                  std::string::npos)
            << c.error().detail;
      }
      continue;
    }
    const std::string range = std::string(l.key) + " must be between " + std::to_string(l.min) +
                              " and " + std::to_string(l.max);
    // Below the range: min - 1, or -1 for a range that starts at 0.
    const std::string below = l.min == 0 ? "-1" : std::to_string(l.min - 1);
    // Also a string, a boolean and a float: not integers.
    for (const std::string& bad : {below, std::to_string(l.max + 1), std::string("\"100\""),
                                   std::string("true"), std::to_string(l.min) + ".0"}) {
      auto c = load_config(verifying(d, setting(l, bad)));
      ASSERT_FALSE(c) << l.key << " = " << bad;
      EXPECT_NE(c.error().detail.find(d.path + "/c.toml:4: " + range), std::string::npos)
          << c.error().detail;
    }
  }
}

// [limits] max_arc_key_lookups bounds the keys an ARC chain may fetch (1 to 100; default 10).
TEST(milter_config, max_arc_key_lookups_is_a_limits_setting) {
  temp_dir d;
  auto c = load_config(verifying(d, "[arc]\nverify = true\n[limits]\nmax_arc_key_lookups = 25\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(verify_options_of(*c).max_arc_key_lookups, 25u);
  auto dflt = load_config(verifying(d, "[arc]\nverify = true\n"));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_EQ(verify_options_of(*dflt).max_arc_key_lookups, 10u);
  for (const char* bad : {"0", "101", "true"}) {
    auto b =
        load_config(verifying(d, std::string("[limits]\nmax_arc_key_lookups = ") + bad + "\n"));
    ASSERT_FALSE(b) << bad;
    EXPECT_NE(
        b.error().detail.find(d.path + "/c.toml:4: max_arc_key_lookups must be between 1 and 100"),
        std::string::npos)
        << b.error().detail;
  }
}

// toml++ would read 1 as true, true as 1 and 2.0 as 2: a boolean setting takes only true or false,
// a number setting only an integer, and anything else is refused naming the file, line and setting.
TEST(milter_config, booleans_and_numbers_are_not_interchangeable) {
  temp_dir d;
  const std::string k = key_file(d);
  struct row {
    std::string text, expect;
  } rows[] = {
      {"authserv_id_from_mta = 1\n", ":3: authserv_id_from_mta must be true or false"},
      {"[arc]\nverify = 1\n", ":4: verify must be true or false"},
      {"[arc]\nseal = 0\n", ":4: seal must be true or false"},
      {"[limits]\nallow_sha1 = 1\n", ":4: allow_sha1 must be true or false"},
      {"[dns]\ntimeout_ms = true\n", ":4: timeout_ms must be between 1 and 600000"},
      {"[dns]\ntimeout_ms = 1500.0\n", ":4: timeout_ms must be between 1 and 600000"},
      {"[limits]\nmax_signatures = true\n", ":4: max_signatures must be between 1 and 100"},
      {"[limits]\nmax_forged_auth_results = false\n",
       ":4: max_forged_auth_results must be between 1 and 1000"},
      {"[arc]\nmax_seal_bytes = true\n", ":4: max_seal_bytes must be between 65536 and"},
      {"[replay]\nbuckets = true\n", ":4: buckets must be between 1 and 24"},
  };
  for (const auto& r : rows) {
    auto c = load_config(verifying(d, r.text));
    ASSERT_FALSE(c) << r.text;
    EXPECT_NE(c.error().detail.find(d.path + "/c.toml" + r.expect), std::string::npos)
        << r.text << "\n -> " << c.error().detail;
  }
  // [sign] settings, line 4 of signing_config().
  for (const auto& [extra, expect] : std::vector<std::pair<std::string, std::string>>{
           {"subdomains = 1\n", ":4: subdomains must be true or false"},
           {"require_safe_keys = 0\n", ":4: require_safe_keys must be true or false"},
           {"sign_authenticated = 1\n", ":4: sign_authenticated must be true or false"},
           {"expire = true\n", ":4: expire must be a number of seconds >= 1"},
           {"expire = 3600.0\n", ":4: expire must be a number of seconds >= 1"},
       }) {
    auto c = load_config(d.write("c.toml", signing_config(k, extra)));
    ASSERT_FALSE(c) << extra;
    EXPECT_NE(c.error().detail.find(d.path + "/c.toml" + expect), std::string::npos)
        << extra << " -> " << c.error().detail;
  }
  // The right types still load.
  auto good = load_config(verifying(d, "authserv_id_from_mta = true\n[dns]\ntimeout_ms = 1500\n"));
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_TRUE(good->authserv_id_from_mta);
  EXPECT_EQ(good->dns_timeout, std::chrono::milliseconds(1500));
}

// [sign] canonicalization is read by parse_canonicalization(): "relaxed" is relaxed/simple.
TEST(milter_limits, canonicalization_reads_like_c_tag) {
  temp_dir d;
  auto c = load_config(verifying(d, "[sign]\ncanonicalization = \"relaxed\"\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->header_canon, canonicalization::relaxed);
  EXPECT_EQ(c->body_canon, canonicalization::simple);
  auto both = load_config(verifying(d, "[sign]\ncanonicalization = \"simple/relaxed\"\n"));
  ASSERT_TRUE(both) << both.error().detail;
  EXPECT_EQ(both->header_canon, canonicalization::simple);
  EXPECT_EQ(both->body_canon, canonicalization::relaxed);
  for (const char* bad : {"relaxed/", "Relaxed", "relaxed /simple", ""}) {
    auto r = load_config(verifying(d, "[sign]\ncanonicalization = \"" + std::string(bad) + "\"\n"));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().detail.find(":4: canonicalization must be like relaxed/relaxed"),
              std::string::npos)
        << r.error().detail;
  }
}

// --- Key rotation: not_before / not_after ------------------------------------------------------

// A [[sign.keys]] entry of a.com with selector `sel` and the given window settings (TOML lines).
std::string rotation_key(const std::string& key, const std::string& sel,
                         const std::string& window) {
  return "[[sign.keys]]\ndomain = \"a.com\"\nselector = \"" + sel + "\"\nkey_file = \"" + key +
         "\"\n" + window;
}

std::string rotation_config(const std::string& keys) {
  return "authserv_id = \"mx.test\"\nmode = \"sign\"\n[sign]\n" + keys;
}

TEST(milter_config, key_window_reads_offset_date_times_and_unix_seconds) {
  temp_dir d;
  std::string k = key_file(d);
  auto c = load_config(
      d.write("c.toml",
              rotation_config(rotation_key(k, "old", "not_after = 2026-01-02T00:00:00Z\n") +
                              rotation_key(k, "new",
                                           "not_before = 2026-01-01T02:30:00+02:00\n"
                                           "not_after = 1798761600\n"))),
      test::kNow + 1800);
  ASSERT_TRUE(c) << c.error().detail;
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_FALSE(c->keys[0].not_before);
  EXPECT_EQ(c->keys[0].not_after, std::optional<std::uint64_t>(test::kNow + 86400));
  // +02:00 honoured: 02:30 there is 00:30 UTC.
  EXPECT_EQ(c->keys[1].not_before, std::optional<std::uint64_t>(test::kNow + 1800));
  EXPECT_EQ(c->keys[1].not_after, std::optional<std::uint64_t>(1798761600));
  EXPECT_EQ(utc_time(*c->keys[1].not_before), "2026-01-01T00:30:00Z");
  // Loaded when both keys are inside their windows: no warning. A negative offset:
  EXPECT_TRUE(c->warnings.empty()) << c->warnings[0];
  auto west = load_config(
      d.write("w.toml",
              rotation_config(rotation_key(k, "w", "not_before = 2025-12-31T19:00:00-05:00\n"))),
      test::kNow);
  ASSERT_TRUE(west) << west.error().detail;
  EXPECT_EQ(west->keys[0].not_before, std::optional<std::uint64_t>(test::kNow));
  // Without the fields a key has no window.
  auto plain = load_config(d.write("p.toml", signing_config(k)), test::kNow);
  ASSERT_TRUE(plain) << plain.error().detail;
  EXPECT_FALSE(plain->keys[0].not_before);
  EXPECT_FALSE(plain->keys[0].not_after);
  EXPECT_TRUE(valid_at(plain->keys[0], 0));
}

TEST(milter_config, key_window_refusals_name_file_and_line) {
  temp_dir d;
  std::string k = key_file(d);
  struct row {
    std::string window, expect;
  } rows[] = {
      {"not_before = 2027-01-15T00:00:00\n", ":8: not_before has no offset, which is ambiguous"},
      {"not_after = 2027-01-15\n", ":8: not_after must be a date and time with an offset"},
      {"not_after = 10:00:00\n", ":8: not_after must be a date and time with an offset"},
      {"not_after = \"2027-01-15T00:00:00Z\"\n",
       ":8: not_after must be a date-time with an offset"},
      {"not_before = -1\n", ":8: not_before must be between 0 and 253402300799"},
      {"not_before = 1.5\n", ":8: not_before must be a date-time with an offset"},
      {"not_before = 1969-12-31T23:59:59Z\n", ":8: not_before must be from 1970 to 9999"},
      {"not_before = 2027-01-15T00:00:00Z\nnot_after = 2027-01-15T00:00:00Z\n",
       ":9: not_after (2027-01-15T00:00:00Z) must be after not_before (2027-01-15T00:00:00Z)"},
      {"not_before = 1800000000\nnot_after = 2026-01-01T00:00:00Z\n",
       ":9: not_after (2026-01-01T00:00:00Z) must be after not_before (2027-01-15T08:00:00Z)"},
      {"not_befor = 1800000000\n", ":8: unknown setting 'not_befor' in [sign.keys]"},
  };
  for (const auto& r : rows) {
    std::string path = d.write("c.toml", rotation_config(rotation_key(k, "s", r.window)));
    auto c = load_config(path, test::kNow);
    ASSERT_FALSE(c) << r.window;
    EXPECT_NE(c.error().detail.find(path + r.expect), std::string::npos)
        << r.window << " -> " << c.error().detail;
  }
}

TEST(milter_config, keys_outside_their_window_give_warnings_with_the_time) {
  temp_dir d;
  std::string k = key_file(d);
  std::string path = d.write(
      "c.toml", rotation_config(rotation_key(k, "old", "not_after = 2026-01-01T00:00:00Z\n") +
                                rotation_key(k, "new", "not_before = 2026-01-02T12:00:00Z\n")));
  auto before = load_config(path, test::kNow - 1);
  ASSERT_TRUE(before) << before.error().detail;
  ASSERT_EQ(before->warnings.size(), 1u);
  EXPECT_EQ(before->warnings[0],
            path + ": key d=a.com s=new is not valid until 2026-01-02T12:00:00Z (not_before)");
  // At not_after the old key has expired (the bound is excluded); a.com still has the new key.
  auto gap = load_config(path, test::kNow);
  ASSERT_TRUE(gap) << gap.error().detail;
  ASSERT_EQ(gap->warnings.size(), 2u);
  EXPECT_EQ(gap->warnings[0],
            path + ": key d=a.com s=old expired at 2026-01-01T00:00:00Z (not_after)");
  EXPECT_EQ(gap->warnings[1],
            path + ": key d=a.com s=new is not valid until 2026-01-02T12:00:00Z (not_before)");
  auto after = load_config(path, test::kNow + 2 * 86400);
  ASSERT_TRUE(after) << after.error().detail;
  ASSERT_EQ(after->warnings.size(), 1u);
  EXPECT_NE(after->warnings[0].find("s=old expired at"), std::string::npos);
  // Every key of the domain expired: said once more, for the domain.
  std::string dead = d.write(
      "dead.toml", rotation_config(rotation_key(k, "old", "not_after = 2025-06-01T00:00:00Z\n") +
                                   rotation_key(k, "new", "not_after = 1767139200\n")));
  auto all = load_config(dead, test::kNow);
  ASSERT_TRUE(all) << all.error().detail;
  ASSERT_EQ(all->warnings.size(), 3u);
  EXPECT_EQ(all->warnings[1],
            dead + ": key d=a.com s=new expired at 2025-12-31T00:00:00Z (not_after)");
  EXPECT_EQ(all->warnings[2], dead +
                                  ": every key of a.com has expired: its mail is deferred (451) "
                                  "until a valid key is named");
}

}  // namespace
}  // namespace dkimkit::milter

// [arc]: verify, trusted_sealers, seal with [[arc.seal_keys]], max_seal_bytes.
namespace dkimkit::milter {
namespace {

TEST(milter_config_arc, settings_load) {
  temp_dir d;
  std::string k = key_file(d);
  auto c = load_config(verifying(d, "[arc]\nverify = true\ntrusted_sealers = [\"Google.COM.\", "
                                    "\"lists.example\"]\nseal = true\nmax_seal_bytes = 1048576\n"
                                    "[[arc.seal_keys]]\ndomain = \"Example.NET\"\nselector = "
                                    "\"arc\"\nkey_file = \"" +
                                        k + "\"\nalgorithm = \"ed25519-sha256\"\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_TRUE(c->arc.verify);
  EXPECT_TRUE(c->arc.seal);
  EXPECT_EQ(c->arc.trusted_sealers, (std::vector<std::string>{"google.com", "lists.example"}));
  EXPECT_EQ(c->arc.max_seal_bytes, 1048576u);
  ASSERT_EQ(c->arc.seal_keys.size(), 1u);
  EXPECT_EQ(c->arc.seal_keys[0].domain, "example.net");
  EXPECT_EQ(c->arc.seal_keys[0].selector, "arc");
  EXPECT_EQ(c->arc.seal_keys[0].key.type(), key_type::ed25519);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("an Ed25519 seal is not validated by every ARC verifier"),
            std::string::npos);

  auto dflt = load_config(verifying(d, ""));
  ASSERT_TRUE(dflt) << dflt.error().detail;
  EXPECT_FALSE(dflt->arc.verify);
  EXPECT_FALSE(dflt->arc.seal);
  EXPECT_TRUE(dflt->arc.trusted_sealers.empty());
  EXPECT_EQ(dflt->arc.max_seal_bytes, std::size_t{32} << 20);
}

TEST(milter_config_arc, errors_are_refused_at_load) {
  temp_dir d;
  std::string k = key_file(d);
  std::string open_key = key_file(d, "open.pem", 0644);
  auto keys = [](const std::string& file, const std::string& more = "") {
    return "[[arc.seal_keys]]\ndomain = \"example.net\"\nselector = \"arc\"\nkey_file = \"" + file +
           "\"\n" + more;
  };
  struct row {
    std::string body, expect;
  } rows[] = {
      {"[arc]\nseal = true\nverify = true\n", ":4: seal = true needs at least one [[arc.seal_keys]]"},
      {"[arc]\nseal = true\n" + keys(k), ":4: seal = true needs verify = true"},
      {"[arc]\ntrusted_sealers = [\"a.example\"]\n", ":4: trusted_sealers needs verify = true"},
      {"[arc]\nverify = true\ntrusted_sealers = [\"a b\"]\n",
       ":5: trusted_sealers: 'a b' is not a domain name"},
      {"[arc]\nverify = true\ntrusted_sealers = \"a.example\"\n",
       ":5: trusted_sealers must be an array of strings"},
      {"[arc]\nverfy = true\n", ":4: unknown setting 'verfy' in [arc]"},
      {"[arc]\nverify = \"yes\"\n", ":4: verify must be true or false"},
      {"[arc]\nmax_seal_bytes = 10\n", ":4: max_seal_bytes must be between 65536 and 1073741824"},
      {"[arc]\nverify = true\nseal = true\n" + keys("/nonexistent/key"),
       ":9: /nonexistent/key: cannot open"},
      {"[arc]\nverify = true\nseal = true\n" + keys(open_key),
       "may be read or written by others"},
      {"[arc]\nverify = true\nseal = true\n" + keys(k, "not_after = 2030-01-01T00:00:00Z\n"),
       ":10: unknown setting 'not_after' in [[arc.seal_keys]]"},
      {"[arc]\nverify = true\nseal = true\n" + keys(k, "selectr = \"x\"\n"),
       ":10: unknown setting 'selectr' in [[arc.seal_keys]]"},
      {"[arc]\nverify = true\nseal = true\n[[arc.seal_keys]]\ndomain = \"example.net\"\n",
       ":6: selector is required in [[arc.seal_keys]]"},
      {"[arc]\nverify = true\nseal = true\n" + keys(k, "algorithm = \"rsa-sha256\"\n"),
       "algorithm does not match the key"},
  };
  for (const auto& r : rows) {
    auto c = load_config(verifying(d, r.body));
    ASSERT_FALSE(c) << r.body;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos)
        << r.body << "\n -> " << c.error().detail;
  }
  // Keys without seal = true: loaded, with a warning that nothing is sealed.
  auto idle = load_config(verifying(d, "[arc]\n" + keys(k)));
  ASSERT_TRUE(idle) << idle.error().detail;
  ASSERT_EQ(idle->warnings.size(), 2u);  // and the Ed25519 one
  EXPECT_NE(idle->warnings[1].find("without seal = true"), std::string::npos);
}

// [replay] (issue 17): absent is off; every setting read; the library's rules and the store's
// address checked at load with FILE:LINE.
TEST(milter_config_replay, absent_is_off_and_settings_load) {
  temp_dir d;
  auto off = load_config(verifying(d, ""));
  ASSERT_TRUE(off) << off.error().detail;
  EXPECT_FALSE(off->replay.enabled);

  auto bare = load_config(verifying(d, "[replay]\n"));
  ASSERT_TRUE(bare) << bare.error().detail;
  EXPECT_TRUE(bare->replay.enabled);
  EXPECT_EQ(bare->replay.store, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(bare->replay.on_replay, replay_action::tag);
  EXPECT_EQ(bare->replay.budget.count(), 50);
  EXPECT_EQ(bare->replay.settings.thresholds.networks, 10u);

  std::string pw = d.write("redis.pw", "s3cret\n");
  ::chmod(pw.c_str(), 0600);
  auto c = load_config(verifying(d,
                                 "[replay]\nstore = \"unix:/run/redis/redis.sock?db=2\"\n"
                                 "password_file = \"" +
                                     pw +
                                     "\"\nwindow = 3600\nbuckets = 6\n"
                                     "networks = 20\nmessages = 5000\nrecipients = 300\n"
                                     "trusted_domains = [\"lists.example.org\"]\n"
                                     "on_replay = \"policy\"\nbudget_ms = 20\nconnections = 8\n"
                                     "host_name = \"mx1\"\n"));
  ASSERT_TRUE(c) << c.error().detail;
  const replay_config& r = c->replay;
  EXPECT_EQ(r.store, "unix:/run/redis/redis.sock?db=2");
  EXPECT_EQ(r.password, "s3cret");
  EXPECT_EQ(r.settings.window.count(), 3600);
  EXPECT_EQ(r.settings.buckets, 6u);
  EXPECT_EQ(r.settings.thresholds.networks, 20u);
  EXPECT_EQ(r.settings.thresholds.messages, 5000u);
  EXPECT_EQ(r.settings.thresholds.recipients, 300u);
  ASSERT_EQ(r.settings.trusted_domains.size(), 1u);
  EXPECT_EQ(r.on_replay, replay_action::policy);
  EXPECT_EQ(r.budget.count(), 20);
  EXPECT_EQ(r.connections, 8u);
  EXPECT_EQ(r.host_name, "mx1");
  // A reload keeps the store only when it would be made the same.
  EXPECT_TRUE(same_store(r, r));
  replay_config other = r;
  other.on_replay = replay_action::reject;  // not the store's business
  EXPECT_TRUE(same_store(r, other));
  other.settings.thresholds.networks = 21;
  EXPECT_FALSE(same_store(r, other));
  EXPECT_FALSE(same_store(r, bare->replay));
}

TEST(milter_config_replay, errors_name_file_and_line) {
  temp_dir d;
  std::string empty_pw = d.write("empty.pw", "");
  ::chmod(empty_pw.c_str(), 0600);
  struct row {
    std::string body, expect;
  } rows[] = {
      {"[replay]\nstore = \"http://127.0.0.1\"\n", ":4: store: "},
      {"[replay]\nstore = \"rediss://127.0.0.1\"\n", ":4: store: "},
      {"[replay]\nstore = 6379\n", ":4: store must be a string"},
      {"[replay]\nstor = \"redis://127.0.0.1\"\n", ":4: unknown setting 'stor' in [replay]"},
      {"[replay]\npassword = \"a\"\npassword_file = \"/x\"\n",
       ":5: password and password_file exclude each other"},
      {"[replay]\npassword_file = \"/nonexistent/pw\"\n", ":4: password_file: cannot read"},
      {"[replay]\npassword_file = \"" + empty_pw + "\"\n",
       ":4: password_file: " + empty_pw + " is empty"},
      {"[replay]\nwindow = 10\n", ":4: window (seconds) must be between 60 and"},
      {"[replay]\nbuckets = 0\n", ":4: buckets must be between 1 and 24"},
      {"[replay]\nnetworks = -1\n", ":4: networks must be between 0 and"},
      {"[replay]\non_replay = \"drop\"\n",
       ":4: on_replay must be \"tag\", \"policy\", \"tempfail\" or \"reject\""},
      {"[replay]\nbudget_ms = 0\n", ":4: budget_ms must be between 1 and 10000"},
      {"[replay]\nconnections = 0\n", ":4: connections must be between 1 and 256"},
      {"[replay]\nhost_name = \"a b\"\n", ":4: host_name must be a host name"},
      {"[replay]\ntrusted_domains = \"a.example\"\n",
       ":4: trusted_domains must be an array of strings"},
      // The library's own checks (dkimkit::check(replay_settings)), at the table's line.
      {"[replay]\nwindow = 100\nbuckets = 3\n", ":3: [replay]: "},
      {"[replay]\ntrusted_domains = [\"not a domain\"]\n", ":3: [replay]: "},
      {"replay = 1\n", ":3: [replay] must be a table"},
  };
  for (const auto& r : rows) {
    auto c = load_config(verifying(d, r.body));
    ASSERT_FALSE(c) << r.body;
    EXPECT_NE(c.error().detail.find(r.expect), std::string::npos)
        << r.body << "\n -> " << c.error().detail;
    EXPECT_EQ(c.error().detail.find(d.path), 0u) << c.error().detail;
  }
}

// password_file is a secret re-read on SIGHUP as the service user: key files' rules.
TEST(milter_config_replay, password_file_checked_like_key_files) {
  temp_dir d;
  std::string pw = d.write("redis.pw", "s3cret\n");
  ::chmod(pw.c_str(), 0644);
  auto refused = load_config(verifying(d, "[replay]\npassword_file = \"" + pw + "\"\n"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find(":4: password_file: " + pw +
                                        ": the password file may be read or written by others "
                                        "(mode 0644)"),
            std::string::npos)
      << refused.error().detail;
  // sign.require_safe_keys = false: loaded, with the reason as a warning.
  auto warned = load_config(verifying(
      d, "[sign]\nrequire_safe_keys = false\n[replay]\npassword_file = \"" + pw + "\"\n"));
  ASSERT_TRUE(warned) << warned.error().detail;
  EXPECT_EQ(warned->replay.password, "s3cret");
  ASSERT_EQ(warned->warnings.size(), 1u);
  EXPECT_NE(warned->warnings[0].find("the password file may be read or written by others"),
            std::string::npos)
      << warned->warnings[0];
  ::chmod(pw.c_str(), 0600);
  auto safe = load_config(verifying(d, "[replay]\npassword_file = \"" + pw + "\"\n"));
  ASSERT_TRUE(safe) << safe.error().detail;
  EXPECT_TRUE(safe->warnings.empty());
}

// on_replay = "tempfail" with a messages threshold: each retry counts again, and the deferral
// sustains itself; a warning says so. Not with networks alone, nor with another action.
TEST(milter_config_replay, tempfail_with_messages_warns) {
  temp_dir d;
  auto c = load_config(verifying(d, "[replay]\non_replay = \"tempfail\"\nmessages = 100\n"));
  ASSERT_TRUE(c) << c.error().detail;
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("on_replay = \"tempfail\" with messages = 100"), std::string::npos)
      << c->warnings[0];
  EXPECT_NE(c->warnings[0].find("each retry of a deferred message is counted again"),
            std::string::npos)
      << c->warnings[0];
  for (const char* body : {"[replay]\non_replay = \"tempfail\"\n",
                           "[replay]\non_replay = \"tempfail\"\nmessages = 0\n",
                           "[replay]\non_replay = \"reject\"\nmessages = 100\n"}) {
    auto quiet = load_config(verifying(d, body));
    ASSERT_TRUE(quiet) << quiet.error().detail;
    EXPECT_TRUE(quiet->warnings.empty()) << body << "\n -> " << quiet->warnings.front();
  }
}

TEST(milter_config_replay, password_never_in_errors) {
  temp_dir d;
  auto c = load_config(verifying(d, "[replay]\npassword = \"hunter2-secret\"\nbuckets = 99\n"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().detail.find("hunter2-secret"), std::string::npos) << c.error().detail;
}

}  // namespace
}  // namespace dkimkit::milter
