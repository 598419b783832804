// Which clients' mail is signed and which connections are skipped, by OpenDKIM 2.11's rules
// (milter/origin.hpp): InternalHosts with names, .domains, "!" and IPv6; PeerList; {auth_type};
// MTA and MacroList; Debian's SOCKET=. Unit rules, the session driven without libmilter, the TOML
// settings, the mapping from opendkim.conf and the --migrate round trip.
#include "origin.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <dkimkit/message.hpp>
#include <dkimkit/resolver.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "opendkim_default.hpp"
#include "opendkim_map.hpp"
#include "opendkim_migrate.hpp"
#include "session.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace dkimkit::milter {
namespace {

using test::temp_dir;

host_set hosts(std::vector<std::string> entries) {
  auto h = load_host_set(entries);
  EXPECT_TRUE(h) << h.error().detail;
  return h ? std::move(*h) : host_set{};
}

macro_rule rule(std::string_view text) {
  auto r = parse_macro_rule(text);
  EXPECT_TRUE(r && *r) << text;
  return r && *r ? **r : macro_rule{};
}

// ---- Unit rules ----

TEST(origin, host_names_domains_negation_and_ipv6) {
  host_set h = hosts({"mail.example.com", ".example.org", "!bad.example.org", "10.0.0.0/8",
                      "!10.1.2.3", "2001:db8::/32", "!2001:db8::bad"});
  const auto& l = h.list;
  EXPECT_TRUE(l.matches("mail.example.com", "192.0.2.1"));    // the name
  EXPECT_TRUE(l.matches("MAIL.Example.COM", ""));             // case-insensitive
  EXPECT_FALSE(l.matches("other.example.com", "192.0.2.1"));  // not listed
  EXPECT_TRUE(l.matches("a.b.example.org", "192.0.2.1"));     // under .example.org
  EXPECT_FALSE(l.matches("example.org", "192.0.2.1"));        // .domain: names under it only
  EXPECT_FALSE(l.matches("bad.example.org", "192.0.2.1"));    // "!" wins for the name...
  EXPECT_TRUE(l.matches("bad.example.org", "10.9.9.9"));      // ...but the address still counts
  EXPECT_TRUE(l.matches("unknown", "10.1.2.4"));
  EXPECT_FALSE(l.matches("unknown", "10.1.2.3"));  // the more precise "!" entry
  EXPECT_TRUE(l.matches("", "2001:db8::1"));
  EXPECT_TRUE(l.matches("", "2001:DB8::1"));
  EXPECT_FALSE(l.matches("", "2001:db8::bad"));
  EXPECT_FALSE(l.matches("", "2001:db9::1"));
  EXPECT_EQ(h.entries.size(), 7u);
  EXPECT_TRUE(plain_networks(h).empty());  // names and "!": not expressible as networks
  host_set plain = hosts({"10.0.0.0/8", "[192.0.2.1]", "2001:db8::/32"});
  EXPECT_EQ(plain_networks(plain).size(), 3u);
}

TEST(origin, host_set_from_a_file_keeps_its_name_and_entries) {
  temp_dir d;
  std::string f =
      d.write("hosts", "# internal\n127.0.0.1\n.example.com   # mail hosts\n!10.1.2.3\n");
  auto h = load_host_set("file:" + f);
  ASSERT_TRUE(h) << h.error().detail;
  EXPECT_EQ(h->file, "file:" + f);
  EXPECT_EQ(h->entries, (std::vector<std::string>{"127.0.0.1", ".example.com", "!10.1.2.3"}));
  EXPECT_TRUE(h->list.matches("a.example.com", ""));
  auto broken = load_host_set(d.write("bad", "127.0.0.1\n192.0.2.1/24\n"));
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().detail.find(":2: "), std::string::npos) << broken.error().detail;
}

TEST(origin, macro_rules_as_opendkim_reads_them) {
  auto r = load_macro_rules("auth_type, daemon = MSA | ORIG ,x=,y=|");
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);  // "x=" and "y=|" list no value: OpenDKIM drops them
  EXPECT_EQ((*r)[0].name, "auth_type");
  EXPECT_TRUE((*r)[0].values.empty());
  EXPECT_EQ((*r)[1].name, "daemon");
  EXPECT_EQ((*r)[1].values, (std::vector<std::string>{"MSA", "ORIG"}));
  EXPECT_EQ(to_string((*r)[1]), "daemon=MSA|ORIG");
  temp_dir d;
  auto f = load_macro_rules(d.write("m", "# macros\nauth_type\nfoo  a b|c  # note\n"));
  ASSERT_TRUE(f) << f.error().detail;
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[1].values, (std::vector<std::string>{"a b", "c"}));
  for (std::string bad : {"{auth_type}", "csl:x=", "refile:/x", "a b=c"})
    EXPECT_FALSE(load_macro_rules(bad)) << bad;
  std::string many;
  for (int i = 0; i < 101; ++i) many += "m" + std::to_string(i) + ",";
  EXPECT_FALSE(load_macro_rules(many));
  EXPECT_FALSE(load_macro_rules(std::string(1100, 'x')));  // OpenDKIM's request buffer
}

TEST(origin, signing_origin_follows_opendkim_order) {
  config c;
  macro_values none;
  EXPECT_FALSE(signing_origin(c, false, false, &none));
  EXPECT_TRUE(signing_origin(c, true, false, &none));
  EXPECT_TRUE(signing_origin(c, false, true, &none));
  c.sign_authenticated = false;
  EXPECT_FALSE(signing_origin(c, false, true, &none));
  // MTA: {daemon_name}, case-sensitive.
  c.daemon_names = {"ORIGINATING"};
  macro_values orig{{"{daemon_name}", "ORIGINATING"}};
  EXPECT_TRUE(signing_origin(c, false, false, &orig));
  macro_values lower{{"{daemon_name}", "originating"}};
  EXPECT_FALSE(signing_origin(c, false, false, &lower));
  EXPECT_FALSE(signing_origin(c, false, false, nullptr));
  // MacroList: set, or set to a listed value.
  c.daemon_names.clear();
  c.sign_macros = {rule("auth_type"), rule("mode=a|b")};
  macro_values auth{{"{auth_type}", "PLAIN"}};
  EXPECT_TRUE(signing_origin(c, false, false, &auth));
  macro_values mode_b{{"{mode}", "b"}};
  EXPECT_TRUE(signing_origin(c, false, false, &mode_b));
  macro_values mode_c{{"{mode}", "c"}};
  EXPECT_FALSE(signing_origin(c, false, false, &mode_c));
  macro_values mode_upper{{"{mode}", "B"}};
  EXPECT_FALSE(signing_origin(c, false, false, &mode_upper));
  // The last listed macro that is set decides: {mode}=c undoes {auth_type}...
  macro_values both{{"{auth_type}", "PLAIN"}, {"{mode}", "c"}};
  EXPECT_FALSE(signing_origin(c, false, false, &both));
  // ...and a macro set undoes an MTA match; internal clients are signed whatever it says.
  c.daemon_names = {"MSA"};
  macro_values mta_and_mode{{"{daemon_name}", "MSA"}, {"{mode}", "c"}};
  EXPECT_FALSE(signing_origin(c, false, false, &mta_and_mode));
  EXPECT_TRUE(signing_origin(c, true, false, &mta_and_mode));
  macro_values mta_only{{"{daemon_name}", "MSA"}};
  EXPECT_TRUE(signing_origin(c, false, false, &mta_only));
  // Rules of one name count together (OpenDKIM looks the name up in the whole list).
  c.sign_macros = {rule("m=1"), rule("m=2")};
  macro_values m2{{"{m}", "2"}};
  EXPECT_TRUE(signing_origin(c, false, false, &m2));
  EXPECT_EQ(wanted_macros(c), (std::vector<std::string>{"{auth_type}", "{daemon_name}", "{m}"}));
  EXPECT_EQ(requested_macro_list(c.sign_macros), "i {daemon_name} {auth_type} {m} {m}");
}

// ---- The session ----

constexpr const char* kMessage =
    "From: Alice <alice@example.com>\r\nSubject: hi\r\n\r\nShall we meet at noon?\r\n";

session_clock fixed_clock() {
  return session_clock{[] { return test::kNow; }, [] { return std::uint64_t{5000}; }};
}

std::shared_ptr<config> sign_config() {
  auto c = std::make_shared<config>();
  c->authserv_id = "mx.example.net";
  c->mode = mode::sign;
  signing_key k;
  k.domain = "example.com";
  k.selector = "ed";
  k.key = test::ed25519();
  c->keys.push_back(std::move(k));
  return c;
}

std::shared_ptr<const environment> env_of(std::shared_ptr<config> c,
                                          const txt_resolver* dns = nullptr) {
  auto e = std::make_shared<environment>();
  e->cfg = std::move(c);
  e->resolver = dns;
  return e;
}

decision feed(session& s) {
  auto view = parse_message(kMessage);
  EXPECT_TRUE(view);
  for (const auto& f : view->fields) {
    std::string v(f.value);
    if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.resize(v.size() - 2);
    if (auto d = s.header(f.name, v); d.settled()) return d;
  }
  if (auto d = s.end_of_header(); d.settled()) return d;
  if (auto d = s.body(view->body); d.settled()) return d;
  return s.end_of_message();
}

bool signs(const decision& d) {
  return d.insert.size() == 1 && d.insert[0].name == "DKIM-Signature";
}

struct client {
  std::string name;
  int family = AF_INET;
  std::vector<unsigned char> addr;
  bool authenticated = false;
  const macro_values* macros = nullptr;
};

// One message from `cl`; `skipped` tells whether connect() skipped the connection.
decision run(std::shared_ptr<const environment> env, const client& cl, bool* skipped = nullptr) {
  session s(std::move(env), fixed_clock());
  verdict v = s.connect(cl.name, cl.family, cl.addr.empty() ? nullptr : cl.addr.data());
  if (skipped) *skipped = v == verdict::accept;
  EXPECT_EQ(v == verdict::accept, s.skipped());
  s.start_message(cl.authenticated);
  if (cl.macros) s.set_macros(*cl.macros);
  return feed(s);
}

const std::vector<unsigned char> kV4 = {192, 0, 2, 25};
const std::vector<unsigned char> kV4Excluded = {10, 1, 2, 3};
const std::vector<unsigned char> kV4Internal = {10, 1, 2, 4};
const std::vector<unsigned char> kV6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

TEST(origin_session, internal_hosts_by_name_domain_negation_and_ipv6) {
  auto c = sign_config();
  c->internal_hosts = hosts({"relay.example.net", ".corp.example.com", "!guest.corp.example.com",
                             "10.0.0.0/8", "!10.1.2.3", "2001:db8::/32"});
  auto env = env_of(c);
  EXPECT_TRUE(signs(run(env, {"relay.example.net", AF_INET, kV4})));
  EXPECT_TRUE(signs(run(env, {"a.corp.example.com", AF_INET, kV4})));
  EXPECT_FALSE(signs(run(env, {"guest.corp.example.com", AF_INET, kV4})));
  EXPECT_FALSE(signs(run(env, {"unknown", AF_INET, kV4})));
  EXPECT_TRUE(signs(run(env, {"unknown", AF_INET, kV4Internal})));
  EXPECT_FALSE(signs(run(env, {"[10.1.2.3]", AF_INET, kV4Excluded})));
  EXPECT_TRUE(signs(run(env, {"", AF_INET6, kV6})));
  // No address at all counts as 127.0.0.1 (OpenDKIM), which this list leaves out...
  EXPECT_FALSE(signs(run(env, {"localhost", AF_UNSPEC, {}})));
  // ...and OpenDKIM's default list holds.
  auto dflt = sign_config();
  dflt->internal_hosts = hosts({"127.0.0.1"});
  EXPECT_TRUE(signs(run(env_of(dflt), {"localhost", AF_UNSPEC, {}})));
  // Not internal, not signed: accepted as not ours, saying why.
  decision ext = run(env, {"mx.other.net", AF_INET, kV4});
  EXPECT_EQ(ext.reply, verdict::accept);
  EXPECT_NE(ext.log.find("external client"), std::string::npos) << ext.log;
}

TEST(origin_session, skip_hosts_leave_the_connection_alone) {
  auto c = sign_config();
  c->mode = mode::both;
  c->internal_hosts = hosts({"0.0.0.0/0"});
  c->skip_hosts = hosts({"relay.example.net", "192.0.2.0/24", "!192.0.2.99"});
  static_resolver dns;
  auto env = env_of(c, &dns);
  bool skipped = false;
  decision d = run(env, {"relay.example.net", AF_INET, kV4Internal}, &skipped);
  EXPECT_TRUE(skipped);
  EXPECT_TRUE(d.insert.empty());  // neither signed nor verified
  EXPECT_TRUE(d.log.empty());
  run(env, {"unknown", AF_INET, kV4}, &skipped);
  EXPECT_TRUE(skipped);
  // A bracketed name is not matched as a name (OpenDKIM's mlfi_connect), the address is.
  c->skip_hosts = hosts({"[10.1.2.4]"});
  run(env_of(c, &dns), {"[10.1.2.4]", AF_INET, kV4Internal}, &skipped);
  EXPECT_TRUE(skipped);
  c->skip_hosts = hosts({".example.net"});
  EXPECT_TRUE(signs(run(env_of(c, &dns), {"[10.1.2.4]", AF_INET, kV4Internal}, &skipped)));
  EXPECT_FALSE(skipped);
  // The "!" entry is handled as usual: here signed, as internal.
  c->skip_hosts = hosts({"192.0.2.0/24", "!192.0.2.99"});
  EXPECT_TRUE(signs(run(env_of(c, &dns), {"x", AF_INET, {192, 0, 2, 99}}, &skipped)));
  EXPECT_FALSE(skipped);
}

TEST(origin_session, authenticated_by_auth_type_at_end_of_header) {
  auto env = env_of(sign_config());  // internal_networks empty: nobody internal
  EXPECT_TRUE(signs(run(env, {"x", AF_INET, kV4, true})));
  macro_values with{{"{auth_type}", "PLAIN"}};
  EXPECT_TRUE(signs(run(env, {"x", AF_INET, kV4, false, &with})));
  // The end-of-header macros decide: an empty or absent {auth_type} is not authenticated.
  macro_values empty{{"{auth_type}", ""}};
  EXPECT_FALSE(signs(run(env, {"x", AF_INET, kV4, true, &empty})));
  macro_values only_authen{{"{auth_authen}", "alice"}};
  EXPECT_FALSE(signs(run(env, {"x", AF_INET, kV4, true, &only_authen})));
}

TEST(origin_session, daemon_names_and_macros) {
  auto c = sign_config();
  c->daemon_names = {"ORIGINATING"};
  auto env = env_of(c);
  macro_values orig{{"{daemon_name}", "ORIGINATING"}};
  macro_values smtpd{{"{daemon_name}", "mx.example.net"}};
  EXPECT_TRUE(signs(run(env, {"x", AF_INET, kV4, false, &orig})));
  EXPECT_FALSE(signs(run(env, {"x", AF_INET, kV4, false, &smtpd})));
  EXPECT_FALSE(signs(run(env, {"x", AF_INET, kV4})));  // no macros known
  c->daemon_names.clear();
  c->sign_macros = {rule("client_class=local|vpn")};
  env = env_of(c);
  macro_values vpn{{"{client_class}", "vpn"}};
  macro_values other{{"{client_class}", "internet"}};
  EXPECT_TRUE(signs(run(env, {"x", AF_INET, kV4, false, &vpn})));
  EXPECT_FALSE(signs(run(env, {"x", AF_INET, kV4, false, &other})));
  session s(env, fixed_clock());
  (void)s.connect("x", AF_INET, kV4.data());
  s.start_message(false);
  EXPECT_EQ(s.wanted_macros(), (std::vector<std::string>{"{auth_type}", "{client_class}"}));
}

// ---- TOML ----

std::string toml(const std::string& sign_extra, const std::string& top_extra = "") {
  return "authserv_id = \"mx.example.net\"\nmode = \"verify\"\n" + top_extra + "[sign]\n" +
         sign_extra;
}

TEST(origin_toml, settings_load_and_errors_name_the_line) {
  temp_dir d;
  std::string hosts_file = d.write("hosts", "mail.example.com\n!10.1.2.3\n");
  auto c = load_config(d.write(
      "a.toml", toml("internal_hosts = [\"127.0.0.1\", \".example.com\", \"!10.1.2.3\"]\n"
                     "daemon_names = [\"ORIGINATING\"]\nmacros = [\"auth_type\", \"x=a|b\"]\n",
                     "skip_hosts = \"" + hosts_file + "\"\n")));
  ASSERT_TRUE(c) << c.error().detail;
  ASSERT_TRUE(c->internal_hosts && c->skip_hosts);
  EXPECT_TRUE(c->internal_hosts->list.matches("a.example.com", ""));
  EXPECT_TRUE(c->internal_networks.empty());
  EXPECT_EQ(c->skip_hosts->file, hosts_file);
  EXPECT_TRUE(c->skip_hosts->list.matches("mail.example.com", ""));
  EXPECT_EQ(c->daemon_names, (std::vector<std::string>{"ORIGINATING"}));
  ASSERT_EQ(c->sign_macros.size(), 2u);
  EXPECT_EQ(to_string(c->sign_macros[1]), "x=a|b");
  // internal_networks keeps working, and is the default.
  auto n = load_config(d.write("n.toml", toml("internal_networks = [\"10.0.0.0/8\"]\n")));
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_FALSE(n->internal_hosts);
  EXPECT_EQ(n->internal_networks.size(), 1u);
  struct bad_case {
    std::string text, expect;
  };
  for (const auto& b : std::vector<bad_case>{
           {toml("internal_hosts = [\"192.0.2.1/24\"]\n"), "b.toml:4: internal_hosts: "},
           {toml("internal_networks = [\"10.0.0.0/8\"]\ninternal_hosts = [\"x\"]\n"),
            "exclude each other"},
           {toml("internal_hosts = \"a,b\"\n"), "b.toml:4: internal_hosts must be a list"},
           {toml("macros = [\"{auth_type}\"]\n"), "b.toml:4: macros: "},
           {toml("macros = [\"x=\"]\n"), "lists no value"},
           {toml("daemon_names = [\"\"]\n"), "an empty name"},
           {toml("", "skip_hosts = \"" + d.path + "/none\"\n"), "b.toml:3: skip_hosts: "},
       }) {
    auto r = load_config(d.write("b.toml", b.text));
    ASSERT_FALSE(r) << b.text;
    EXPECT_NE(r.error().detail.find(b.expect), std::string::npos) << r.error().detail;
  }
}

// ---- opendkim.conf, --migrate and SOCKET= ----

std::string key_file(const temp_dir& d) {
  std::string p = d.write("k.pem", test::ed25519().to_pem());
  ::chmod(p.c_str(), 0600);
  return p;
}

std::string od_conf(const temp_dir& d, const std::string& extra) {
  return d.write("o.conf",
                 "Socket local:/tmp/od.sock\nMode sv\nDomain example.com\nSelector s\n"
                 "KeyFile " +
                     key_file(d) + "\nSubDomains yes\nAuthservID mx.example.net\n" + extra);
}

TEST(origin_opendkim, hosts_and_senders_settings_map) {
  temp_dir d;
  std::string peers = d.write("peers", "relay.example.net\n192.0.2.0/24\n");
  auto c = config_from_opendkim(od_conf(
      d, "InternalHosts 127.0.0.1, .example.com, !10.1.2.3, 2001:db8::/32\nPeerList " + peers +
             "\nMTA ORIGINATING,MSA\nMacroList auth_type,client_class=local|vpn\n"
             "ExternalIgnoreList mail.example.org\n"));
  ASSERT_TRUE(c) << c.error().detail;
  ASSERT_TRUE(c->internal_hosts && c->skip_hosts);
  EXPECT_TRUE(c->internal_hosts->list.matches("mx.example.com", "192.0.2.1"));
  EXPECT_FALSE(c->internal_hosts->list.matches("", "10.1.2.3"));
  EXPECT_TRUE(c->internal_networks.empty());
  EXPECT_EQ(c->skip_hosts->file, peers);
  EXPECT_EQ(c->daemon_names, (std::vector<std::string>{"ORIGINATING", "MSA"}));
  ASSERT_EQ(c->sign_macros.size(), 2u);
  EXPECT_EQ(c->sign_macros[1].values, (std::vector<std::string>{"local", "vpn"}));
  // ExternalIgnoreList changes no decision: accepted with a warning, but a broken list is an error.
  auto e = config_from_opendkim(od_conf(d, "ExternalIgnoreList " + d.path + "/none\n"));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().detail.find("o.conf:8: ExternalIgnoreList: "), std::string::npos)
      << e.error().detail;
  auto m = config_from_opendkim(od_conf(d, "MacroList refile:/x\n"));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().detail.find("o.conf:8: MacroList: "), std::string::npos);
  for (const auto& s : opendkim::settings_table())
    if (s.name == "InternalHosts" || s.name == "PeerList" || s.name == "MTA" ||
        s.name == "MacroList") {
      EXPECT_EQ(s.status, opendkim::support::supported) << s.name;
    }
}

TEST(origin_opendkim, migrate_round_trip_keeps_the_decisions) {
  temp_dir d;
  std::string peers = d.write("peers", "relay.example.net\n192.0.2.0/24\n");
  for (std::string extra : std::vector<std::string>{
           std::string(), "InternalHosts 127.0.0.1, .example.com, !10.1.2.3, 2001:db8::/32\n",
           "InternalHosts file:" + peers +
               "\nPeerList 192.0.2.7,mx.example.org\nMTA ORIGINATING\n"
               "MacroList auth_type,client_class=local|vpn\n"}) {
    std::string conf = od_conf(d, extra);
    auto want = config_from_opendkim(conf);
    ASSERT_TRUE(want) << want.error().detail;
    auto text = migrate_opendkim(conf);
    ASSERT_TRUE(text) << text.error().detail;
    auto got = load_config(d.write("m.toml", *text));
    ASSERT_TRUE(got) << got.error().detail << "\n" << *text;
    ASSERT_EQ(got->internal_hosts.has_value(), want->internal_hosts.has_value()) << *text;
    EXPECT_EQ(got->internal_hosts->entries, want->internal_hosts->entries);
    EXPECT_EQ(got->internal_hosts->file, want->internal_hosts->file);
    ASSERT_EQ(got->skip_hosts.has_value(), want->skip_hosts.has_value()) << *text;
    EXPECT_EQ(got->daemon_names, want->daemon_names);
    ASSERT_EQ(got->sign_macros.size(), want->sign_macros.size());
    // The same decisions for a set of clients and macros.
    const std::vector<std::pair<std::string, std::string>> clients = {
        {"localhost", "127.0.0.1"}, {"mx.example.com", "192.0.2.1"},
        {"unknown", "10.1.2.3"},    {"relay.example.net", "198.51.100.1"},
        {"", "2001:db8::1"},        {"mx.example.org", "192.0.2.7"}};
    const std::vector<macro_values> macro_sets = {
        {},
        {{"{daemon_name}", "ORIGINATING"}},
        {{"{client_class}", "vpn"}},
        {{"{auth_type}", "PLAIN"}, {"{client_class}", "internet"}}};
    for (const auto& [name, ip] : clients) {
      bool wi = want->internal_hosts->list.matches(name, ip);
      EXPECT_EQ(got->internal_hosts->list.matches(name, ip), wi) << name << " " << ip;
      if (want->skip_hosts) {
        EXPECT_EQ(got->skip_hosts->list.matches(name, ip),
                  want->skip_hosts->list.matches(name, ip));
      }
      for (const auto& m : macro_sets)
        EXPECT_EQ(signing_origin(*got, wi, false, &m), signing_origin(*want, wi, false, &m));
    }
  }
}

TEST(origin_opendkim, debian_default_socket) {
  temp_dir d;
  // Debian's file as shipped: RUNDIR, then SOCKET using it, PIDFILE using NAME.
  std::string debian =
      d.write("default",
              "# comment\nRUNDIR=/run/opendkim\n#SOCKET=inet:54321\n"
              "SOCKET=local:$RUNDIR/opendkim.sock\nUSER=opendkim\nPIDFILE=$RUNDIR/$NAME.pid\n"
              "EXTRAAFTER=\n");
  auto s = opendkim_default_socket(debian);
  ASSERT_TRUE(s && *s) << (s ? "" : s.error().detail);
  EXPECT_EQ((*s)->value, "local:/run/opendkim/opendkim.sock");
  EXPECT_EQ((*s)->line, 4u);
  auto quoted = opendkim_default_socket(
      d.write("q", "P='12345'\nH=\"127.0.0.1\"\nSOCKET=\"inet:${P}@$H\"  # loopback\n"));
  ASSERT_TRUE(quoted && *quoted);
  EXPECT_EQ((*quoted)->value, "inet:12345@127.0.0.1");
  auto unset = opendkim_default_socket(d.write("u", "RUNDIR=/run/x\n"));
  ASSERT_TRUE(unset);
  EXPECT_FALSE(*unset);
  for (std::string bad :
       {"SOCKET=$(cat /etc/x)\n", "SOCKET=`id`\n", "SOCKET=local:$UNSET/s\n", ". /etc/other\n",
        "SOCKET=a b\n", "SOCKET=${X:-y}\n", "SOCKET=\"open\n", "if true; then SOCKET=x; fi\n"}) {
    auto r = opendkim_default_socket(d.write("b", bad));
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().detail.find(":1: "), std::string::npos) << r.error().detail;
    }
  }
  // It overrides Socket (with a warning), and then the file needs none.
  auto c = config_from_opendkim(od_conf(d, ""), debian);
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->socket, "unix:/run/opendkim/opendkim.sock");
  bool warned = false;
  for (const auto& w : c->warnings)
    warned = warned || w.find("SOCKET: overrides Socket") != std::string::npos;
  EXPECT_TRUE(warned);
  auto no_socket = config_from_opendkim(d.write("n.conf", "Mode v\n"), debian);
  ASSERT_TRUE(no_socket) << no_socket.error().detail;
  auto migrated = migrate_opendkim(d.path + "/n.conf", debian);
  ASSERT_TRUE(migrated);
  EXPECT_NE(migrated->find("socket = \"unix:/run/opendkim/opendkim.sock\""), std::string::npos);
  // Without it, the file's Socket counts.
  auto plain = config_from_opendkim(od_conf(d, ""));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->socket, "unix:/tmp/od.sock");
}

}  // namespace
}  // namespace dkimkit::milter
