// OpenDKIM's configuration files (opendkim.conf(5)) and host lists, read as OpenDKIM reads them.
#include "opendkim_conf.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "support/temp_dir.hpp"

namespace dkimkit::milter::opendkim {
namespace {

using test::temp_dir;

std::string error_of(const result<conf>& r) { return r ? std::string() : r.error().detail; }

template <class T>
std::optional<T> value_of(const result<T>& r) {
  return r ? std::optional<T>(*r) : std::nullopt;
}

// ---- The settings table ----

// Every setting named in the installed opendkim.conf(5) is in the table, and nothing else.
TEST(opendkim_conf, TableListsEverySettingOfTheManPage) {
  const char* man = "/usr/share/man/man5/opendkim.conf.5.gz";
  if (!std::ifstream(man)) GTEST_SKIP() << man << " is not installed";
  FILE* f = popen((std::string("gzip -dc ") + man).c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  ASSERT_EQ(pclose(f), 0);
  // Each setting is a ".TP" paragraph whose next line is ".I Name (type)"; the FILES section
  // lists paths the same way.
  std::set<std::string> in_man;
  std::istringstream lines(text);
  std::string line, previous;
  while (std::getline(lines, line)) {
    if (previous.rfind(".TP", 0) == 0 && line.rfind(".I ", 0) == 0) {
      std::istringstream words(line.substr(3));
      std::string name;
      words >> name;
      if (!name.empty() && name[0] >= 'A' && name[0] <= 'Z') in_man.insert(name);  // not FILES
    }
    previous = line;
  }
  ASSERT_GT(in_man.size(), 100u);
  std::set<std::string> in_table;
  for (const setting_info& s : settings_table()) in_table.insert(std::string(s.name));
  // Beyond the manual: settings Debian 12's build knows (ATPS is compiled in; X-Header is an old
  // name it still accepts). Where Debian's opendkim is installed, its binary holds each name.
  const std::set<std::string> debian_build_only = {"ATPSDomains", "ATPSHashAlgorithm", "X-Header"};
  for (const std::string& name : in_man) EXPECT_TRUE(in_table.count(name)) << name;
  for (const std::string& name : in_table)
    EXPECT_TRUE(in_man.count(name) || debian_build_only.count(name)) << name;
  std::ifstream bin("/usr/sbin/opendkim", std::ios::binary);
  if (bin) {
    std::string image((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>());
    for (const std::string& name : debian_build_only) {
      EXPECT_TRUE(in_table.count(name)) << name;
      EXPECT_NE(image.find(std::string(1, '\0') + name + std::string(1, '\0')), std::string::npos)
          << name << " is not a setting of this opendkim binary";
    }
  }
}

TEST(opendkim_conf, TableIsSortedAndEveryIgnoredOrRefusedSettingSaysWhy) {
  auto t = settings_table();
  for (std::size_t i = 1; i < t.size(); ++i)
    EXPECT_LT(strcasecmp(std::string(t[i - 1].name).c_str(), std::string(t[i].name).c_str()), 0)
        << t[i].name;
  for (const setting_info& s : t)
    EXPECT_TRUE(s.status == support::supported || !s.reason.empty()) << s.name;
  EXPECT_EQ(find_setting("internalhosts")->name, "InternalHosts");
  EXPECT_EQ(find_setting("INTERNALHOSTS")->kind, value_kind::dataset);
  EXPECT_EQ(find_setting("Syslog")->kind, value_kind::boolean);
  EXPECT_EQ(find_setting("UMask")->kind, value_kind::integer);
  EXPECT_EQ(find_setting("NoSuchSetting"), nullptr);
}

// ---- File syntax ----

TEST(opendkim_conf, NamesAreCaseInsensitiveAndCommentsAndBlanksAreSkipped) {
  temp_dir d;
  auto p = d.write("o.conf",
                   "# a comment\n"
                   "\n"
                   "   \t\n"
                   "syslog\t\t\tyes   # trailing comment\n"
                   "  AUTHSERVID   mx.example.com  \r\n"
                   "Canonicalization relaxed/simple\n"
                   "mode sv");  // no final newline
  auto c = parse_opendkim_conf(p);
  ASSERT_TRUE(c) << error_of(c);
  ASSERT_EQ(c->settings.size(), 4u);
  EXPECT_EQ(c->settings[0].name, "Syslog");
  EXPECT_EQ(c->settings[0].value, "yes");
  EXPECT_EQ(c->settings[0].line, 4u);
  EXPECT_EQ(c->settings[0].file, p);
  EXPECT_EQ(c->settings[1].name, "AuthservID");
  EXPECT_EQ(c->settings[1].value, "mx.example.com");
  EXPECT_EQ(c->settings[3].name, "Mode");
  EXPECT_EQ(c->settings[3].value, "sv");
  EXPECT_EQ(c->get("authservid")->value, "mx.example.com");
  EXPECT_EQ(c->get("KeyFile"), nullptr);
}

TEST(opendkim_conf, TheLastOccurrenceCountsAndTheRepeatIsReported) {
  temp_dir d;
  auto p = d.write("o.conf", "Mode s\nMode v\n");
  auto c = parse_opendkim_conf(p);
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_EQ(c->settings.size(), 2u);
  EXPECT_EQ(c->get("Mode")->value, "v");
  EXPECT_EQ(c->get("Mode")->line, 2u);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0], p + ":2: Mode: set again (first at " + p + ":1); the last one counts");
}

TEST(opendkim_conf, EveryAcceptedBooleanWord) {
  for (const char* yes : {"T", "t", "Y", "y", "1", "True", "yes", "YES", "true"})
    EXPECT_EQ(value_of(parse_boolean(yes)), std::optional<bool>(true)) << yes;
  for (const char* no : {"F", "f", "N", "n", "0", "False", "no", "NO", "false"})
    EXPECT_EQ(value_of(parse_boolean(no)), std::optional<bool>(false)) << no;
  for (const char* bad : {"", "on", "off", "2", "enabled", "-1"})
    EXPECT_FALSE(parse_boolean(bad)) << bad;
}

TEST(opendkim_conf, ABadBooleanIsAnErrorNamingFileLineAndSetting) {
  temp_dir d;
  auto p = d.write("o.conf", "Syslog yes\nSyslogSuccess on\n");
  auto c = parse_opendkim_conf(p);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().detail,
            p + ":2: SyslogSuccess: 'on' is not a boolean (yes/no, true/false, 1/0)");
}

TEST(opendkim_conf, IntegersAsStrtolReadsThem) {
  EXPECT_EQ(value_of(parse_integer("007")), std::optional<long>(7));
  EXPECT_EQ(value_of(parse_integer("0x10")), std::optional<long>(16));
  EXPECT_EQ(value_of(parse_integer("300")), std::optional<long>(300));
  EXPECT_EQ(value_of(parse_integer("-5")), std::optional<long>(-5));
  EXPECT_FALSE(parse_integer("5s"));
  EXPECT_FALSE(parse_integer("08"));  // octal
  EXPECT_FALSE(parse_integer("99999999999"));
  temp_dir d;
  auto p = d.write("o.conf", "UMask 0o7\n");
  EXPECT_EQ(error_of(parse_opendkim_conf(p)), p + ":1: UMask: '0o7' is not an integer");
}

TEST(opendkim_conf, AnUnknownSettingIsAnErrorNamingFileLineAndSetting) {
  temp_dir d;
  auto p = d.write("o.conf", "Syslog yes\n\nSigningKeys /etc/keys\n");
  EXPECT_EQ(error_of(parse_opendkim_conf(p)),
            p + ":3: SigningKeys: unknown setting (opendkim.conf(5) has none of this name)");
}

TEST(opendkim_conf, ASettingWithoutValueIsAnError) {
  temp_dir d;
  auto p = d.write("o.conf", "PidFile   # where?\n");
  EXPECT_EQ(error_of(parse_opendkim_conf(p)), p + ":1: PidFile: no value");
}

TEST(opendkim_conf, AMissingFileIsAnError) {
  auto c = parse_opendkim_conf("/nonexistent/opendkim.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::io_error);
  EXPECT_NE(c.error().detail.find("/nonexistent/opendkim.conf: cannot open"), std::string::npos);
}

// ---- Include ----

TEST(opendkim_conf, IncludeIsReadInPlaceAndNests) {
  temp_dir d;
  d.write("inner.conf", "Selector 2024\n");
  auto mid = d.write("mid.conf", "Domain example.com\nInclude " + d.path + "/inner.conf\n");
  auto top = d.write("top.conf", "Mode sv\ninclude " + mid + "\nKeyFile /k.pem\n");
  auto c = parse_opendkim_conf(top);
  ASSERT_TRUE(c) << error_of(c);
  ASSERT_EQ(c->settings.size(), 4u);
  EXPECT_EQ(c->settings[0].name, "Mode");
  EXPECT_EQ(c->settings[1].name, "Domain");
  EXPECT_EQ(c->settings[1].file, mid);
  EXPECT_EQ(c->settings[1].line, 1u);
  EXPECT_EQ(c->settings[2].name, "Selector");
  EXPECT_EQ(c->settings[3].name, "KeyFile");
}

TEST(opendkim_conf, AnIncludedSettingIsOverriddenByALaterLine) {
  temp_dir d;
  auto inc = d.write("inc.conf", "Mode v\n");
  auto top = d.write("top.conf", "Mode s\nInclude " + inc + "\n");
  auto c = parse_opendkim_conf(top);
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_EQ(c->get("Mode")->value, "v");
  auto top2 = d.write("top2.conf", "Include " + inc + "\nMode s\n");
  c = parse_opendkim_conf(top2);
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_EQ(c->get("Mode")->value, "s");
}

TEST(opendkim_conf, ARelativeIncludeIsTakenFromTheWorkingDirectory) {
  temp_dir d;
  d.write("inc.conf", "Selector s1\n");
  auto top = d.write("top.conf", "Include inc.conf\n");
  auto c = parse_opendkim_conf(top, {d.path});
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_EQ(c->get("Selector")->value, "s1");
  EXPECT_EQ(c->get("Selector")->file, "inc.conf");
  // Not from the including file's directory: elsewhere it is not found.
  temp_dir other;
  c = parse_opendkim_conf(top, {other.path});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(top + ":1: Include: " + other.path + "/inc.conf: cannot open"),
            std::string::npos)
      << c.error().detail;
}

TEST(opendkim_conf, AnErrorInAnIncludedFileNamesBothPlaces) {
  temp_dir d;
  auto inc = d.write("inc.conf", "\nBogus 1\n");
  auto top = d.write("top.conf", "Mode sv\nInclude " + inc + "\n");
  EXPECT_EQ(error_of(parse_opendkim_conf(top)),
            top + ":2: Include: " + inc +
                ":2: Bogus: unknown setting (opendkim.conf(5) has none of this name)");
}

TEST(opendkim_conf, AnIncludeLoopIsAnError) {
  temp_dir d;
  auto a = d.path + "/a.conf", b = d.path + "/b.conf";
  d.write("a.conf", "Mode sv\nInclude " + b + "\n");
  d.write("b.conf", "Include " + a + "\n");
  auto c = parse_opendkim_conf(a);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().detail, a + ":2: Include: " + b + ":1: Include: " + a +
                                  ": Include loop (the file includes itself)");
  d.write("self.conf", "Include self.conf\n");
  c = parse_opendkim_conf(d.path + "/self.conf", {d.path});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("Include loop"), std::string::npos);
}

TEST(opendkim_conf, IncludesNestFiveLevelsDeepAndNoDeeper) {
  temp_dir d;
  // level5.conf is included at depth 5 (top is 0): allowed, as in OpenDKIM.
  d.write("level5.conf", "Selector deep\n");
  for (int i = 4; i >= 0; --i)
    d.write("level" + std::to_string(i) + ".conf",
            "Include " + d.path + "/level" + std::to_string(i + 1) + ".conf\n");
  auto c = parse_opendkim_conf(d.path + "/level0.conf");
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_EQ(c->get("Selector")->value, "deep");
  d.write("level5.conf", "Include " + d.path + "/level6.conf\n");
  d.write("level6.conf", "Selector too-deep\n");
  c = parse_opendkim_conf(d.path + "/level0.conf");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("level5.conf:1: Include: Include nested deeper than 5 levels"),
            std::string::npos)
      << c.error().detail;
}

// Includes that repeat a file without a loop still cost a bounded amount.
TEST(opendkim_conf, RepeatedIncludesAreBounded) {
  temp_dir d;
  std::string many;
  for (int i = 0; i < 20; ++i) many += "Include " + d.path + "/next.conf\n";
  d.write("next.conf", "Include " + d.path + "/leaf.conf\n");
  d.write("leaf.conf", "Selector s\n");
  auto fine = d.write("fine.conf", many);  // 20 x 2 files
  EXPECT_TRUE(parse_opendkim_conf(fine));
  // 20 x 20 x 20 files: refused before reading them all.
  d.write("fan1.conf", many);
  std::string fan;
  for (int i = 0; i < 20; ++i) fan += "Include " + d.path + "/fan1.conf\n";
  d.write("fan0.conf", fan);
  std::string top;
  for (int i = 0; i < 20; ++i) top += "Include " + d.path + "/fan0.conf\n";
  auto c = parse_opendkim_conf(d.write("top.conf", top));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("exceed 256 files"), std::string::npos) << c.error().detail;
}

// Debian 12's /etc/opendkim.conf, as the opendkim package ships it, reads without error.
TEST(opendkim_conf, DebianShippedConfigurationReads) {
  const std::string shipped = "/etc/opendkim.conf";
  if (!std::ifstream(shipped)) GTEST_SKIP() << shipped << " is not installed";
  auto c = parse_opendkim_conf(shipped);
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_TRUE(c->warnings.empty());
  ASSERT_NE(c->get("Socket"), nullptr);
  EXPECT_EQ(c->get("Socket")->value, "local:/run/opendkim/opendkim.sock");
  EXPECT_EQ(c->get("UMask")->value, "007");
  EXPECT_EQ(c->get("Canonicalization")->value, "relaxed/simple");
  EXPECT_EQ(c->get("InternalHosts"), nullptr);  // commented out: the default applies
}

// The same file, copied here, with its commented-out lines switched on: the Debian sample's
// InternalHosts line (a list without "csl:", blanks after the commas) is a valid host list.
TEST(opendkim_conf, DebianConfigurationWithItsOptionalLinesSwitchedOn) {
  temp_dir d;
  auto p = d.write("opendkim.conf",
                   "Syslog\t\t\tyes\nSyslogSuccess\t\tyes\nLogWhy\t\t\tno\n"
                   "Canonicalization\trelaxed/simple\nMode\t\t\tsv\nSubDomains\t\tno\n"
                   "OversignHeaders\t\tFrom\nDomain\t\t\texample.com\nSelector\t\t2020\n"
                   "KeyFile\t\t/etc/dkimkeys/example.private\nUserID\t\t\topendkim\n"
                   "UMask\t\t\t007\nSocket\t\t\tinet:8891@localhost\n"
                   "PidFile\t\t\t/run/opendkim/opendkim.pid\n"
                   "InternalHosts\t\t192.168.0.0/16, 10.0.0.0/8, 172.16.0.0/12\n"
                   "TrustAnchorFile\t\t/usr/share/dns/root.key\nNameservers\t\t127.0.0.1\n");
  auto c = parse_opendkim_conf(p);
  ASSERT_TRUE(c) << error_of(c);
  EXPECT_TRUE(c->warnings.empty());
  auto hosts = load_host_list(*c->get("InternalHosts"));
  ASSERT_TRUE(hosts) << hosts.error().detail;
  EXPECT_EQ(hosts->size(), 3u);
  EXPECT_TRUE(hosts->matches("", "10.20.30.40"));
  EXPECT_TRUE(hosts->matches("", "172.31.255.255"));
  EXPECT_FALSE(hosts->matches("", "172.32.0.1"));
  EXPECT_FALSE(hosts->matches("", "127.0.0.1"));  // a list replaces the default
}

// ---- Data sets ----

TEST(opendkim_conf, DataSetReferences) {
  auto f = parse_data_set("file:/etc/opendkim/hosts");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, data_set::type::file);
  EXPECT_EQ(f->path, "/etc/opendkim/hosts");
  auto plain = parse_data_set("/etc/opendkim/hosts");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->type, data_set::type::file);
  EXPECT_EQ(plain->path, "/etc/opendkim/hosts");
  auto re = parse_data_set("REFILE:/etc/opendkim/signing.table");
  ASSERT_TRUE(re);
  EXPECT_EQ(re->type, data_set::type::refile);
  EXPECT_EQ(re->path, "/etc/opendkim/signing.table");
  auto csl = parse_data_set("csl: a.example , b=2,,c ");
  ASSERT_TRUE(csl);
  EXPECT_EQ(csl->type, data_set::type::csl);
  ASSERT_EQ(csl->entries.size(), 3u);
  EXPECT_EQ(csl->entries[0].key, "a.example");
  EXPECT_EQ(csl->entries[1].key, "b");
  EXPECT_EQ(csl->entries[1].value, "2");
  EXPECT_EQ(csl->entries[2].key, "c");
  // No prefix and no leading "/": a list (a relative name is not a file).
  auto bare = parse_data_set("hosts.txt");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->type, data_set::type::csl);
  // A comma before the first colon: a list whose later entries hold colons.
  auto v6 = parse_data_set("127.0.0.1,::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->type, data_set::type::csl);
  ASSERT_EQ(v6->entries.size(), 2u);
  EXPECT_EQ(v6->entries[1].key, "::1");
  EXPECT_FALSE(parse_data_set("file:"));
}

TEST(opendkim_conf, DatabaseDataSetsAreRefusedWithWhatToUseInstead) {
  for (const char* v :
       {"dsn:mysql://opendkim:s3cret@db.example/opendkim/table=keys", "ldap://ldap.example/dc=x",
        "ldaps://ldap.example/", "ldapi:///", "lua:/etc/opendkim/hosts.lua",
        "memcache:localhost/keyname", "redis:localhost", "db:/etc/opendkim/hosts.db",
        "erlang:node@host:cookie:m:f", "mdb:/var/lib/opendkim", "socket:/run/x.sock"}) {
    auto r = parse_data_set(v);
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().code, errc::unsupported) << v;
    const std::string& msg = r.error().detail;
    EXPECT_NE(msg.find("is not supported by dkimkit-milter: put the data in a flat file and "
                       "name it as file:/path (or /path)"),
              std::string::npos)
        << msg;
    EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;  // never repeats the value
  }
  EXPECT_NE(parse_data_set("dsn:x").error().detail.find("'dsn:' (an SQL database)"),
            std::string::npos);
  auto bdb = parse_data_set("/etc/opendkim/hosts.db");
  ASSERT_FALSE(bdb);
  EXPECT_NE(bdb.error().detail.find("Berkeley DB"), std::string::npos);
  auto unknown = parse_data_set("gopher:/x");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, errc::invalid_argument);
  EXPECT_NE(unknown.error().detail.find("unknown data set type 'gopher:'"), std::string::npos);
}

// ---- Host lists ----

host_list list_of(std::string_view csl) {
  auto l = load_host_list(std::string("csl:") + std::string(csl));
  EXPECT_TRUE(l) << (l ? "" : l.error().detail);
  return l ? *l : host_list{};
}

TEST(opendkim_host_list, NamesAndDomains) {
  auto l = list_of("mail.example.com,.example.net");
  EXPECT_TRUE(l.matches("mail.example.com", ""));
  EXPECT_TRUE(l.matches("MAIL.Example.COM", ""));
  EXPECT_FALSE(l.matches("x.mail.example.com", ""));  // a name is not a domain
  EXPECT_FALSE(l.matches("example.com", ""));
  EXPECT_TRUE(l.matches("a.example.net", ""));
  EXPECT_TRUE(l.matches("a.b.example.net", ""));
  EXPECT_FALSE(l.matches("example.net", ""));  // ".example.net" covers what is under it
  EXPECT_FALSE(l.matches("badexample.net", ""));
  EXPECT_FALSE(l.matches("", ""));
}

TEST(opendkim_host_list, IPv4AddressesAndNetworks) {
  auto l = list_of("192.0.2.1,198.51.100.0/24,[203.0.113.7],10.0.0.0/8");
  EXPECT_TRUE(l.matches("", "192.0.2.1"));
  EXPECT_FALSE(l.matches("", "192.0.2.2"));
  EXPECT_TRUE(l.matches("", "198.51.100.0"));
  EXPECT_TRUE(l.matches("", "198.51.100.255"));
  EXPECT_FALSE(l.matches("", "198.51.101.0"));
  EXPECT_TRUE(l.matches("", "203.0.113.7"));
  EXPECT_TRUE(l.matches("", "10.255.0.1"));
  EXPECT_FALSE(l.matches("", "11.0.0.1"));
  EXPECT_FALSE(l.matches("", "not-an-address"));
}

TEST(opendkim_host_list, PrefixEdges) {
  auto all4 = list_of("0.0.0.0/0");
  EXPECT_TRUE(all4.matches("", "255.255.255.255"));
  EXPECT_TRUE(all4.matches("", "0.0.0.0"));
  EXPECT_FALSE(all4.matches("", "2001:db8::1"));  // IPv4 networks hold no IPv6 client
  auto one4 = list_of("192.0.2.9/32");
  EXPECT_TRUE(one4.matches("", "192.0.2.9"));
  EXPECT_FALSE(one4.matches("", "192.0.2.8"));
  auto all6 = list_of("::/0");
  EXPECT_TRUE(all6.matches("", "2001:db8::1"));
  EXPECT_TRUE(all6.matches("", "::"));
  EXPECT_FALSE(all6.matches("", "192.0.2.1"));
  auto one6 = list_of("2001:db8::9/128");
  EXPECT_TRUE(one6.matches("", "2001:db8::9"));
  EXPECT_FALSE(one6.matches("", "2001:db8::8"));
  auto half = list_of("128.0.0.0/1,8000::/1");
  EXPECT_TRUE(half.matches("", "128.0.0.1"));
  EXPECT_FALSE(half.matches("", "127.255.255.255"));
  EXPECT_TRUE(half.matches("", "8000::1"));
  EXPECT_FALSE(half.matches("", "7fff::1"));
}

TEST(opendkim_host_list, IPv6AddressesNetworksAndMappedIPv4) {
  auto l = list_of("2001:DB8::/32,[2001:db9::1],fe80::1,::ffff:192.0.2.0/120");
  EXPECT_TRUE(l.matches("", "2001:db8:ffff::1"));
  EXPECT_TRUE(l.matches("", "2001:0DB8:0000::0001"));  // the client's spelling does not matter
  EXPECT_FALSE(l.matches("", "2001:db9::2"));
  EXPECT_TRUE(l.matches("", "2001:db9::1"));
  EXPECT_TRUE(l.matches("", "fe80::1"));
  // An IPv4-mapped entry holds the IPv4 client reached over IPv6, not the IPv4 one.
  EXPECT_TRUE(l.matches("", "::ffff:192.0.2.55"));
  EXPECT_FALSE(l.matches("", "192.0.2.55"));
  EXPECT_FALSE(list_of("192.0.2.55").matches("", "::ffff:192.0.2.55"));
}

TEST(opendkim_host_list, TheMorePreciseEntryWinsAndAtEqualPrecisionTheNegation) {
  // The man page's example: "192.168.1.1" matches before "!192.168.1.0/24".
  auto l = list_of("!192.168.1.0/24,192.168.1.1,192.168.0.0/16");
  EXPECT_TRUE(l.matches("", "192.168.1.1"));
  EXPECT_FALSE(l.matches("", "192.168.1.2"));  // /24 exclusion is more precise than /16
  EXPECT_TRUE(l.matches("", "192.168.2.1"));
  // The order of entries does not matter.
  auto reordered = list_of("192.168.0.0/16,192.168.1.1,!192.168.1.0/24");
  EXPECT_TRUE(reordered.matches("", "192.168.1.1"));
  EXPECT_FALSE(reordered.matches("", "192.168.1.2"));
  EXPECT_TRUE(reordered.matches("", "192.168.2.1"));
  // The same entry both ways: the negation wins.
  EXPECT_FALSE(list_of("10.0.0.0/8,!10.0.0.0/8").matches("", "10.1.1.1"));
  auto six = list_of("2001:db8::/32,!2001:db8:bad::/48");
  EXPECT_TRUE(six.matches("", "2001:db8:1::1"));
  EXPECT_FALSE(six.matches("", "2001:db8:bad::1"));
}

TEST(opendkim_host_list, NegatedNamesAndDomains) {
  auto l = list_of(".example.com,!bad.example.com,!.lab.example.com,ok.lab.example.com");
  EXPECT_TRUE(l.matches("good.example.com", ""));
  EXPECT_FALSE(l.matches("bad.example.com", ""));
  EXPECT_FALSE(l.matches("x.lab.example.com", ""));
  EXPECT_TRUE(l.matches("ok.lab.example.com", ""));
  // A name excluded by name may still match by address: names first, then the address.
  auto both = list_of("!bad.example.com,192.0.2.0/24");
  EXPECT_TRUE(both.matches("bad.example.com", "192.0.2.1"));
  EXPECT_FALSE(both.matches("bad.example.com", "198.51.100.1"));
  // A name match needs no address; an address match needs no name.
  auto names = list_of(".example.org,!198.51.100.0/24");
  EXPECT_TRUE(names.matches("mx.example.org", "198.51.100.1"));
}

TEST(opendkim_host_list, EntriesOpenDkimCouldNeverMatchAreErrors) {
  host_list l;
  auto host_bits = l.add("192.168.1.5/24");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().detail.find("write 192.168.1.0/24"), std::string::npos)
      << host_bits.error().detail;
  auto negated = l.add("!10.1.2.3/8");
  ASSERT_FALSE(negated);
  EXPECT_NE(negated.error().detail.find("write !10.0.0.0/8"), std::string::npos);
  auto short_form = l.add("192.0.2/24");  // inet_addr's reading, never OpenDKIM's text
  ASSERT_FALSE(short_form);
  auto long_v6 = l.add("2001:0db8:0:0::/32");
  ASSERT_FALSE(long_v6);
  EXPECT_NE(long_v6.error().detail.find("write 2001:db8::/32"), std::string::npos);
  EXPECT_FALSE(l.add("10.0.0.0/33"));
  EXPECT_FALSE(l.add("::/129"));
  EXPECT_FALSE(l.add("10.0.0.0/08"));
  EXPECT_FALSE(l.add("10.0.0.0/"));
  EXPECT_FALSE(l.add("010.0.0.1"));
  EXPECT_FALSE(l.add("!"));
  EXPECT_EQ(l.size(), 0u);
}

TEST(opendkim_host_list, FromAFileWithCommentsAndErrorsNamingTheLine) {
  temp_dir d;
  auto p = d.write("hosts",
                   "# internal hosts\n"
                   "127.0.0.1\n"
                   "\n"
                   "  10.0.0.0/8   # the office\n"
                   "::1\r\n"
                   "mail.example.com  some value\n");
  for (std::string ref : {p, "file:" + p}) {
    auto l = load_host_list(ref);
    ASSERT_TRUE(l) << l.error().detail;
    EXPECT_EQ(l->size(), 4u);
    EXPECT_TRUE(l->matches("", "10.9.8.7"));
    EXPECT_TRUE(l->matches("", "::1"));
    EXPECT_TRUE(l->matches("mail.example.com", ""));
    EXPECT_FALSE(l->matches("", "192.0.2.1"));
  }
  auto bad = d.write("bad", "127.0.0.1\n# x\n10.1.0.0/8\n");
  auto r = load_host_list(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail.rfind(bad + ":3: '10.1.0.0/8' would never match", 0), 0u)
      << r.error().detail;
  auto missing = load_host_list(d.path + "/none");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::io_error);
  auto refile = load_host_list("refile:" + p);
  ASSERT_FALSE(refile);
  EXPECT_NE(refile.error().detail.find("name it as file:" + p), std::string::npos);
  EXPECT_FALSE(load_host_list("ldap://ldap.example/"));
  auto long_line = d.write("long", std::string(2000, 'a') + "\n");
  EXPECT_FALSE(load_host_list(long_line));
}

TEST(opendkim_host_list, FromASettingNamesWhereItStands) {
  temp_dir d;
  auto p = d.write("o.conf", "Mode sv\nInternalHosts 127.0.0.1, 10.0.0.1/8\n");
  auto c = parse_opendkim_conf(p);
  ASSERT_TRUE(c) << error_of(c);
  auto l = load_host_list(*c->get("InternalHosts"));
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().detail.rfind(p + ":2: InternalHosts: '10.0.0.1/8' would never match", 0), 0u)
      << l.error().detail;
}

TEST(opendkim_host_list, TheDefaultInternalHostsIsLocalhost) {
  auto l = default_internal_hosts();
  EXPECT_EQ(l.size(), 1u);
  EXPECT_TRUE(l.matches("", "127.0.0.1"));
  EXPECT_FALSE(l.matches("", "127.0.0.2"));
  EXPECT_FALSE(l.matches("localhost", "::1"));
}

TEST(opendkim_host_list, SockaddrForms) {
  auto l = list_of("192.0.2.0/24,2001:db8::/32");
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.77", &v4.sin_addr);
  EXPECT_TRUE(l.matches("", reinterpret_cast<const sockaddr*>(&v4)));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::77", &v6.sin6_addr);
  EXPECT_TRUE(l.matches("", reinterpret_cast<const sockaddr*>(&v6)));
  inet_pton(AF_INET6, "2001:db9::77", &v6.sin6_addr);
  EXPECT_FALSE(l.matches("", reinterpret_cast<const sockaddr*>(&v6)));
  EXPECT_FALSE(l.matches("", static_cast<const sockaddr*>(nullptr)));
}

// Matching costs a bounded number of look-ups, whatever the list's size and the name's length.
TEST(opendkim_host_list, LargeListsAndLongNamesStayCheap) {
  std::string many;
  for (int i = 0; i < 20000; ++i)
    many += (many.empty() ? "" : ",") + std::string("h") + std::to_string(i) + ".example";
  auto l = list_of(many);
  EXPECT_EQ(l.size(), 20000u);
  std::string long_name;
  for (int i = 0; i < 120; ++i) long_name += "a.";
  long_name += "example";
  EXPECT_FALSE(l.matches(long_name, "2001:db8::1"));
  EXPECT_TRUE(l.matches("h19999.example", ""));
}

}  // namespace
}  // namespace dkimkit::milter::opendkim
