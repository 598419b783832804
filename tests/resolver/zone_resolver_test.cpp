// zone_resolver: TXT answers from RFC 1035 master files (RFC 1035 §5, RFC 6376 §3.6.2.2).
#include "dkimkit/zone_resolver.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace dkimkit {
namespace {

using namespace std::string_literals;

std::filesystem::path zones_dir() {
#ifdef DKIMKIT_TEST_DATA_DIR
  return std::filesystem::path(DKIMKIT_TEST_DATA_DIR) / "zones";
#else
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "zones";
#endif
}

// Writes `text` to a fresh file under the test temp directory and returns its path.
std::string write_temp(std::string_view name, std::string_view text) {
  const std::filesystem::path path = std::filesystem::path(testing::TempDir()) / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return path.string();
}

zone_resolver load(std::string_view text, std::string_view origin = {}) {
  auto r = zone_resolver::load_string(text, origin);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
  if (!r) return std::move(zone_resolver::load_string("").value());
  return std::move(*r);
}

std::vector<std::string> txt(const zone_resolver& zone, const std::string& name) {
  const txt_answer a = zone.lookup_txt(name);
  EXPECT_EQ(a.status, dns_status::found) << name;
  return a.records;
}

dns_status status(const zone_resolver& zone, const std::string& name) {
  return zone.lookup_txt(name).status;
}

// RFC 1035 §5.1 ($ORIGIN, $TTL, comments, parentheses) and RFC 6376 §3.6.2.2 (strings joined
// with no separator).
TEST(zone_resolver, joins_strings_across_parentheses_and_comments) {
  const zone_resolver zone = load(
      "; example.com\n"
      "$ORIGIN example.com.\n"
      "$TTL 3600 ; one hour\n"
      "@ IN SOA ns1 hostmaster ( 1 ; serial\n"
      "    7200 3600 1209600 3600 )\n"
      "sel._domainkey 300 IN TXT ( \"v=DKIM1; k=rsa; \"   ; first part\n"
      "    \"p=MIIB\"\n"
      "    ; a comment line inside the parentheses\n"
      "    \"QUAB\" )  ; trailing comment\n"
      "two IN TXT \"a\" \"b c\"\"d\" e\n");
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"),
            std::vector<std::string>{"v=DKIM1; k=rsa; p=MIIBQUAB"});
  EXPECT_EQ(txt(zone, "two.example.com"), std::vector<std::string>{"ab cde"});
}

// RFC 1035 §5.1: a name without a trailing dot is relative to the current origin.
TEST(zone_resolver, relative_and_absolute_owner_names) {
  const std::string text =
      "rel TXT \"1\"\n"
      "abs.example.org. TXT \"2\"\n"
      "$ORIGIN example.net.\n"
      "after TXT \"3\"\n"
      "@ TXT \"4\"\n";

  // No $ORIGIN yet and no origin given: relative to the root.
  const zone_resolver root = load(text);
  EXPECT_EQ(txt(root, "rel"), std::vector<std::string>{"1"});
  EXPECT_EQ(txt(root, "abs.example.org"), std::vector<std::string>{"2"});
  EXPECT_EQ(txt(root, "after.example.net"), std::vector<std::string>{"3"});
  EXPECT_EQ(txt(root, "example.net"), std::vector<std::string>{"4"});

  // The origin argument, with or without its trailing dot; $ORIGIN then takes over.
  for (std::string_view origin : {"example.com", "example.com."}) {
    const zone_resolver zone = load(text, origin);
    EXPECT_EQ(txt(zone, "rel.example.com"), std::vector<std::string>{"1"}) << origin;
    EXPECT_EQ(status(zone, "rel"), dns_status::nxdomain) << origin;
    EXPECT_EQ(txt(zone, "abs.example.org"), std::vector<std::string>{"2"}) << origin;
    EXPECT_EQ(status(zone, "abs.example.org.example.com"), dns_status::nxdomain) << origin;
    EXPECT_EQ(txt(zone, "after.example.net"), std::vector<std::string>{"3"}) << origin;
  }
}

// RFC 1035 §5.1: a relative $ORIGIN is relative to the current origin (ldns alone would make it
// absolute).
TEST(zone_resolver, relative_origin_appends_current_origin) {
  const zone_resolver zone = load(
      "$ORIGIN example.com.\n"
      "$ORIGIN _domainkey ; now _domainkey.example.com.\n"
      "sel TXT \"v=DKIM1; p=abc\"\n"
      "$ORIGIN example.org.\n"
      "x TXT \"org\"\n"
      "$ORIGIN a\\.b\n"
      "y TXT \"escaped dot\"\n");
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"), std::vector<std::string>{"v=DKIM1; p=abc"});
  EXPECT_EQ(status(zone, "sel._domainkey"), dns_status::nxdomain);
  EXPECT_EQ(txt(zone, "x.example.org"), std::vector<std::string>{"org"});
  EXPECT_EQ(txt(zone, "y.a\\.b.example.org"), std::vector<std::string>{"escaped dot"});

  // With an origin argument, a relative $ORIGIN at the top goes below it.
  const zone_resolver below = load("$ORIGIN _domainkey\nsel TXT \"k\"\n", "example.net");
  EXPECT_EQ(txt(below, "sel._domainkey.example.net"), std::vector<std::string>{"k"});
}

// RFC 1035 §5.1: a line starting with white space continues the previous owner.
TEST(zone_resolver, omitted_owner_continues_previous_owner) {
  const zone_resolver zone = load(
      "$ORIGIN example.com.\n"
      "sel._domainkey IN TXT \"v=DKIM1; p=one\"\n"
      "               IN TXT \"v=DKIM1; p=two\"\n"
      "\tIN A 192.0.2.1\n"
      "other IN A 192.0.2.2\n"
      "      IN TXT \"other\"\n");
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"),
            (std::vector<std::string>{"v=DKIM1; p=one", "v=DKIM1; p=two"}));
  EXPECT_EQ(txt(zone, "other.example.com"), std::vector<std::string>{"other"});
}

// RFC 4343: DNS names compare case-insensitively (ASCII); record data keeps its case.
TEST(zone_resolver, matches_names_case_insensitively) {
  const zone_resolver zone = load("$ORIGIN Example.COM.\nSel._DomainKey TXT \"P=AbC\"\n");
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"), std::vector<std::string>{"P=AbC"});
  EXPECT_EQ(txt(zone, "SEL._DOMAINKEY.EXAMPLE.COM"), std::vector<std::string>{"P=AbC"});
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com."), std::vector<std::string>{"P=AbC"});
}

// RFC 2308 §2.2 (NODATA) and RFC 8020 (an empty non-terminal exists) versus NXDOMAIN.
TEST(zone_resolver, nodata_for_other_types_and_empty_non_terminals) {
  const zone_resolver zone = load(
      "$ORIGIN example.com.\n"
      "@ IN SOA ns1 hostmaster 1 2 3 4 5\n"
      "mail IN A 192.0.2.1\n"
      "sel._domainkey.deep IN TXT \"v=DKIM1; p=\"\n"
      "chaos CH TXT \"not class IN\"\n");
  EXPECT_EQ(status(zone, "sel._domainkey.deep.example.com"), dns_status::found);
  EXPECT_EQ(status(zone, "example.com"), dns_status::nodata);  // SOA only
  EXPECT_EQ(status(zone, "mail.example.com"), dns_status::nodata);
  EXPECT_EQ(status(zone, "_domainkey.deep.example.com"), dns_status::nodata);  // ENT
  EXPECT_EQ(status(zone, "deep.example.com"), dns_status::nodata);             // ENT
  EXPECT_EQ(status(zone, "chaos.example.com"), dns_status::nodata);
  EXPECT_EQ(status(zone, "other._domainkey.deep.example.com"), dns_status::nxdomain);
  EXPECT_EQ(status(zone, "x.mail.example.com"), dns_status::nxdomain);
  EXPECT_EQ(status(zone, "example.org"), dns_status::nxdomain);

  const txt_answer a = zone.lookup_txt("nothing.example.com");
  EXPECT_TRUE(a.records.empty());
  EXPECT_EQ(a.dnssec, dnssec_status::unknown);
}

TEST(zone_resolver, empty_zone_answers_nxdomain) {
  const zone_resolver zone = load("; nothing but a comment\n\n");
  EXPECT_EQ(status(zone, "example.com"), dns_status::nxdomain);
  EXPECT_EQ(status(zone, ""), dns_status::nxdomain);
  EXPECT_EQ(status(load(""), "example.com"), dns_status::nxdomain);
}

// RFC 1035 §5.1: \X is X, \DDD is the octet DDD; RFC 6376 keys are arbitrary octets.
TEST(zone_resolver, decodes_escapes_to_bytes) {
  const zone_resolver zone = load(R"(esc TXT "a\"b" "\\c" "\000d\065\255" "\;e")"
                                  "\n");
  const std::vector<std::string> records = txt(zone, "esc");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], "a\"b\\c\0dA\xff;e"s);
  EXPECT_EQ(records[0].size(), 11u);
}

// RFC 1035 §5.1: ';' starts a comment anywhere outside quotes, so an unquoted key record is cut.
TEST(zone_resolver, unquoted_semicolon_starts_a_comment) {
  const zone_resolver zone = load("k TXT v=DKIM1;k=rsa;p=abc\nq TXT \"v=DKIM1;p=abc\"\n");
  EXPECT_EQ(txt(zone, "k"), std::vector<std::string>{"v=DKIM1"});
  EXPECT_EQ(txt(zone, "q"), std::vector<std::string>{"v=DKIM1;p=abc"});
}

TEST(zone_resolver, accepts_crlf_line_endings) {
  const zone_resolver zone = load("$ORIGIN example.com.\r\nsel TXT ( \"a\"\r\n \"b\" )\r\n");
  EXPECT_EQ(txt(zone, "sel.example.com"), std::vector<std::string>{"ab"});
}

// RFC 2181 §5: an RRset holds no duplicate records; order otherwise follows the file.
TEST(zone_resolver, lists_every_record_once) {
  const zone_resolver zone = load(
      "n TXT \"second\"\n"
      "n TXT \"first\"\n"
      "n TXT \"sec\" \"ond\"\n");
  EXPECT_EQ(txt(zone, "n"), (std::vector<std::string>{"second", "first"}));
}

// RFC 4592: a wildcard answers for names that do not exist below its parent.
TEST(zone_resolver, wildcard_answers_for_missing_names_only) {
  const zone_resolver zone = load(
      "$ORIGIN example.com.\n"
      "*._domainkey TXT \"v=DKIM1; p=\"\n"
      "sel._domainkey TXT \"v=DKIM1; p=abc\"\n"
      "a.b._domainkey A 192.0.2.1\n");
  EXPECT_EQ(txt(zone, "any._domainkey.example.com"), std::vector<std::string>{"v=DKIM1; p="});
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"), std::vector<std::string>{"v=DKIM1; p=abc"});
  EXPECT_EQ(status(zone, "b._domainkey.example.com"), dns_status::nodata);  // ENT, no wildcard
  EXPECT_EQ(status(zone, "x.sel._domainkey.example.com"), dns_status::nxdomain);
  EXPECT_EQ(status(zone, "_domainkey.example.com"), dns_status::nodata);
}

// RFC 1034 §3.6.2: a resolver follows a CNAME to its target.
TEST(zone_resolver, follows_cname_within_the_zone) {
  const zone_resolver zone = load(
      "$ORIGIN example.com.\n"
      "esp._domainkey CNAME esp.keys.example.net.\n"
      "esp.keys.example.net. TXT \"v=DKIM1; p=esp\"\n"
      "gone._domainkey CNAME elsewhere.example.org.\n"
      "bare._domainkey CNAME mail\n"
      "mail A 192.0.2.1\n"
      "loop1 CNAME loop2\n"
      "loop2 CNAME loop1\n");
  EXPECT_EQ(txt(zone, "esp._domainkey.example.com"), std::vector<std::string>{"v=DKIM1; p=esp"});
  const txt_answer gone = zone.lookup_txt("gone._domainkey.example.com");
  EXPECT_EQ(gone.status, dns_status::nxdomain);
  EXPECT_NE(gone.detail.find("elsewhere.example.org"), std::string::npos) << gone.detail;
  EXPECT_EQ(status(zone, "bare._domainkey.example.com"), dns_status::nodata);
  EXPECT_EQ(status(zone, "loop1.example.com"), dns_status::nodata);
}

// The output of `opendkim-genkey -s sel -d example.com` (sel.txt), pasted into a zone.
TEST(zone_resolver, reads_opendkim_genkey_output) {
  const zone_resolver zone = load(
      "sel._domainkey\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; \"\n"
      "\t  \"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr/OkmLyS7e6iDScmkxE\"\n"
      "\t  \"/Nm/Qp20f1JFuOvbvGe5BT3pmvm1+YwiHLfDffBzROuCqt2sVmoPQLNn0/ddTJbCRGdBq\" )"
      "  ; ----- DKIM key sel for example.com\n",
      "example.com");
  EXPECT_EQ(txt(zone, "sel._domainkey.example.com"),
            std::vector<std::string>{
                "v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr/"
                "OkmLyS7e6iDScmkxE/Nm/Qp20f1JFuOvbvGe5BT3pmvm1+"
                "YwiHLfDffBzROuCqt2sVmoPQLNn0/ddTJbCRGdBq"});
}

TEST(zone_resolver, loads_a_zone_file) {
  const auto zone = zone_resolver::load_file((zones_dir() / "example.com.zone").string());
  ASSERT_TRUE(zone.has_value()) << zone.error().detail;
  EXPECT_EQ(txt(*zone, "sel._domainkey.example.com"),
            std::vector<std::string>{
                "v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr/OkmLyS"
                "7e6iDScmkxE/Nm/Qp20f1JFuOvbvGe5BT3pmvm1+YwiHLfDffBzROuCqt2sVmoPQLNn0/ddTJbCRGdBq"
                "1/01/pdh2tOmPWYqCN4yy5lmr5PTp53LmJHFIfgQVTGRfhSsLyuO8hDsTot2V/D1ZNRv92ayMqATKq4j"
                "VfDwTJxcIl116m/WbmXVUpBj0TbhB9BeMNuhaf+YhW7bUDSTmrI2+scK4ySwRLllFdo5y08ccfzG/Keq"
                "ZYWlPllol2A5qrj7cLP7bFKybTE6VwXGhyqLaV80IW7ts7j1sqvf53RkcecjlXGSHucZhIN21HMt9T5N"
                "tW/KfUW0v4NeNwIDAQAB"});
  EXPECT_EQ(txt(*zone, "brisbane._domainkey.example.com"),
            std::vector<std::string>{
                "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
  EXPECT_EQ(txt(*zone, "esp._domainkey.example.com"),
            std::vector<std::string>{
                "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
  EXPECT_EQ(txt(*zone, "old._domainkey.example.com"), std::vector<std::string>{"v=DKIM1; p="});
  EXPECT_EQ(status(*zone, "example.com"), dns_status::nodata);
  EXPECT_EQ(status(*zone, "mail.example.com"), dns_status::nodata);
  EXPECT_EQ(status(*zone, "missing._domainkey.example.com"), dns_status::nxdomain);
}

TEST(zone_resolver, syntax_error_names_source_line_and_ldns_message) {
  const auto r = zone_resolver::load_string(
      "; header\n"
      "a TXT \"ok\"\n"
      "\n"
      "; a comment before the bad record\n"
      "b BADTYPE 1\n"
      "\n"
      "c TXT \"never read\"\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().detail,
            "<string>:5: Syntax error, could not parse the RR's rdata near \"b BADTYPE 1\"");
}

TEST(zone_resolver, syntax_error_in_file_names_path_and_line_span) {
  const std::string path = write_temp("zone_resolver_bad.zone",
                                      "$ORIGIN example.com.\n"
                                      "ok TXT \"fine\"\n"
                                      "bad IN TXT ( \"a\"\n"
                                      "   \"b\\999\" )\n"
                                      "\n\n");
  const auto r = zone_resolver::load_file(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().detail.rfind(path + ":3-4: ", 0), 0u) << r.error().detail;
  EXPECT_NE(r.error().detail.find("could not parse the RR's rdata"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(zone_resolver, rejects_malformed_zones) {
  // A character-string holds at most 255 octets (RFC 1035 §3.3).
  const auto too_long = zone_resolver::load_string("a TXT \"" + std::string(256, 'x') + "\"\n");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, errc::invalid_argument);
  EXPECT_TRUE(zone_resolver::load_string("a TXT \"" + std::string(255, 'x') + "\"\n"));

  const auto empty_label = zone_resolver::load_string("ok TXT x\na..b TXT x\n");
  ASSERT_FALSE(empty_label.has_value());
  EXPECT_EQ(empty_label.error().detail.rfind("<string>:2: ", 0), 0u) << empty_label.error().detail;

  const auto nul = zone_resolver::load_string("a TXT x\nb TXT \"c\0d\"\n"s);
  ASSERT_FALSE(nul.has_value());
  EXPECT_EQ(nul.error().code, errc::invalid_argument);
  EXPECT_EQ(nul.error().detail.rfind("<string>:2: ", 0), 0u) << nul.error().detail;

  const auto include = zone_resolver::load_string("$INCLUDE other.zone\n");
  ASSERT_FALSE(include.has_value());
  EXPECT_EQ(include.error().code, errc::unsupported);

  const auto origin = zone_resolver::load_string("a TXT x\n", "bad..origin");
  ASSERT_FALSE(origin.has_value());
  EXPECT_EQ(origin.error().code, errc::invalid_argument);
}

TEST(zone_resolver, missing_or_unreadable_file_is_io_error) {
  const std::string missing = (zones_dir() / "no-such-file.zone").string();
  const auto r = zone_resolver::load_file(missing);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::io_error);
  EXPECT_NE(r.error().detail.find(missing), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("No such file or directory"), std::string::npos);

  const auto dir = zone_resolver::load_file(zones_dir().string());
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code, errc::io_error);
}

TEST(zone_resolver, copies_share_data_and_moved_from_answers_nxdomain) {
  static_assert(std::is_copy_constructible_v<zone_resolver>);
  static_assert(std::is_nothrow_move_constructible_v<zone_resolver>);
  zone_resolver a = load("k TXT \"v\"\n");
  const zone_resolver b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  const zone_resolver c = std::move(a);
  EXPECT_EQ(txt(b, "k"), std::vector<std::string>{"v"});
  EXPECT_EQ(txt(c, "k"), std::vector<std::string>{"v"});
  EXPECT_EQ(a.lookup_txt("k").status, dns_status::nxdomain);  // NOLINT(bugprone-use-after-move)
}

TEST(zone_resolver, concurrent_const_lookups) {
  const zone_resolver zone = load("$ORIGIN example.com.\nsel._domainkey TXT \"v=DKIM1; p=\"\n");
  const txt_resolver& resolver = zone;
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (std::size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&resolver, &ok, t] {
      for (int i = 0; i < 1000; ++i) {
        const txt_answer a = resolver.lookup_txt(i % 2 ? "sel._domainkey.example.com" : "x.com");
        if (a.status == (i % 2 ? dns_status::found : dns_status::nxdomain)) ++ok[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 1000);
}

}  // namespace
}  // namespace dkimkit
