// dkimkit-milter's per-message logic (milter/session.hpp), driven without libmilter: signing,
// verifying, forged Authentication-Results, policy replies and errors, with an in-memory resolver
// and a fixed clock. Rows refer to ../shared/hostile-inputs.md.
#include "session.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/replay.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/signing_table.hpp>
#include <dkimkit/verifier.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "arc_policy.hpp"
#include "config.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace dkimkit::milter {
namespace {

constexpr const char* kAuthservId = "mx.example.net";
const std::array<unsigned char, 4> kInternalAddr = {10, 1, 2, 3};    // in 10.0.0.0/8
const std::array<unsigned char, 4> kExternalAddr = {192, 0, 2, 25};  // not

// The clock: Unix time test::kNow, and milliseconds that do not move (ms=0 in log lines).
session_clock fixed_clock() {
  return session_clock{[] { return test::kNow; }, [] { return std::uint64_t{5000}; }};
}

signing_key key_for(std::string domain, std::string selector, const private_key& key) {
  signing_key k;
  k.domain = std::move(domain);
  k.selector = std::move(selector);
  k.key = key;
  return k;
}

// A configuration as load_config() makes it: internal network 10.0.0.0/8, and for the modes
// that sign, example.com's RSA key "rsa" and Ed25519 key "ed".
std::shared_ptr<config> make_config(mode m) {
  auto c = std::make_shared<config>();
  c->authserv_id = kAuthservId;
  c->mode = m;
  c->internal_networks = {*parse_network("10.0.0.0/8"), *parse_network("::1/128")};
  if (m != mode::verify) {
    c->keys.push_back(key_for("example.com", "rsa", test::rsa1024()));
    c->keys.push_back(key_for("example.com", "ed", test::ed25519()));
  }
  return c;
}

std::shared_ptr<const environment> make_env(std::shared_ptr<const config> cfg,
                                            const txt_resolver* dns) {
  auto e = std::make_shared<environment>();
  e->cfg = std::move(cfg);
  e->resolver = dns;
  return e;
}

// The public records of the test keys: rsa/ed/rsa2048 at example.com, ext at example.org.
void publish_keys(static_resolver& dns) {
  dns.add("rsa._domainkey.example.com", test::rsa1024().public_record());
  dns.add("ed._domainkey.example.com", test::ed25519().public_record());
  dns.add("big._domainkey.example.com", test::rsa2048().public_record());
  dns.add("ext._domainkey.example.org", test::rsa2048().public_record());
}

std::string message_from(std::string_view from, std::string_view extra_fields = "",
                         std::string_view body = "Shall we meet at noon?\r\n\r\nAlice\r\n") {
  return "From: Alice <alice@" + std::string(from) + ">\r\n" + std::string(extra_fields) +
         "To: Bob <bob@example.org>\r\n"
         "Subject: Lunch\r\n"
         "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
         "Message-ID: <lunch@example.com>\r\n"
         "\r\n" +
         std::string(body);
}

// `message` signed by `sdid` with `key` (new field on top).
std::string signed_by(std::string_view message, std::string_view sdid, std::string_view selector,
                      const private_key& key) {
  sign_options o;
  o.sdid = std::string(sdid);
  o.selector = std::string(selector);
  o.key = key;
  auto fields = sign(message, {o}, test::kNow);
  EXPECT_TRUE(fields) << (fields ? "" : fields.error().message());
  if (!fields) return std::string(message);
  return (*fields)[0] + "\r\n" + std::string(message);
}

std::string lf_to_crlf(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// Feeds a CRLF message as libmilter would: each header field (value after the colon, folds as
// LF), end of header, then the body in chunks of `chunk` bytes (0: one chunk). Stops at the first
// decision that settles the message.
decision feed(session& s, std::string_view message, std::size_t chunk = 0) {
  auto view = parse_message(message);
  EXPECT_TRUE(view);
  if (!view) return {};
  for (const auto& f : view->fields) {
    std::string value;
    for (std::size_t i = 0; i < f.value.size(); ++i)
      if (!(f.value[i] == '\r' && i + 1 < f.value.size() && f.value[i + 1] == '\n'))
        value += f.value[i];
    decision d = s.header(f.name, value);
    if (d.settled()) return d;
  }
  decision d = s.end_of_header();
  if (d.settled()) return d;
  std::string_view body = view->body;
  std::size_t step = chunk == 0 ? std::max<std::size_t>(body.size(), 1) : chunk;
  for (std::size_t at = 0; at < body.size(); at += step) {
    d = s.body(body.substr(at, step));
    if (d.settled()) return d;
  }
  return s.end_of_message();
}

// One message on a new connection from `addr`.
decision run(std::shared_ptr<const environment> env, std::string_view message,
             std::array<unsigned char, 4> addr = kExternalAddr, bool authenticated = false,
             std::size_t chunk = 0) {
  session s(std::move(env), fixed_clock());
  s.connect(AF_INET, addr.data());
  s.start_message(authenticated);
  s.set_queue_id("4ABC1");
  return feed(s, message, chunk);
}

// The message as the MTA delivers it after the decision: Authentication-Results deleted by
// index, fields inserted at the top one after the other.
std::string delivered(std::string_view message, const decision& d) {
  auto view = parse_message(message);
  EXPECT_TRUE(view);
  if (!view) return {};
  std::vector<std::string> fields;
  std::vector<int> ar_index;  // 1-based index among A-R fields, 0 for others
  int ar = 0;
  for (const auto& f : view->fields) {
    fields.emplace_back(f.raw);
    ar_index.push_back(iequals(f.name, "Authentication-Results") ? ++ar : 0);
  }
  for (int del : d.delete_auth_results) {
    auto it = std::find(ar_index.begin(), ar_index.end(), del);
    EXPECT_NE(it, ar_index.end()) << del;
    if (it == ar_index.end()) continue;
    fields.erase(fields.begin() + (it - ar_index.begin()));
    ar_index.erase(it);
  }
  for (const auto& h : d.insert) {
    EXPECT_EQ(h.index, 0u);
    fields.insert(fields.begin(), h.name + ":" + lf_to_crlf(h.value));
  }
  std::string out;
  for (const auto& f : fields) out += f + "\r\n";
  return out + "\r\n" + std::string(view->body);
}

// The Authentication-Results field the decision adds, parsed.
auth_results_field added_ar(const decision& d) {
  for (const auto& h : d.insert)
    if (h.name == "Authentication-Results") {
      auto parsed = parse_auth_results(h.value);
      EXPECT_TRUE(parsed) << h.value;
      if (parsed) return *parsed;
    }
  ADD_FAILURE() << "no Authentication-Results added";
  return {};
}

void expect_reply(const decision& d, verdict v, std::string_view code = "",
                  std::string_view enhanced = "", std::string_view text = "") {
  EXPECT_EQ(to_string(d.reply), to_string(v)) << d.log;
  EXPECT_EQ(d.code, code);
  EXPECT_EQ(d.enhanced, enhanced);
  EXPECT_EQ(d.text, text);
}

void expect_same_results(const std::vector<verification>& a, const std::vector<verification>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].status, b[i].status) << i;
    EXPECT_EQ(a[i].code, b[i].code) << i;
    EXPECT_EQ(a[i].reason, b[i].reason) << i;
    EXPECT_EQ(a[i].field_index, b[i].field_index) << i;
    EXPECT_EQ(a[i].sdid, b[i].sdid) << i;
    EXPECT_EQ(a[i].selector, b[i].selector) << i;
    EXPECT_EQ(a[i].auid, b[i].auid) << i;
    EXPECT_EQ(a[i].algorithm, b[i].algorithm) << i;
    EXPECT_EQ(a[i].b_prefix, b[i].b_prefix) << i;
    EXPECT_EQ(a[i].key_bits, b[i].key_bits) << i;
    EXPECT_EQ(a[i].testing, b[i].testing) << i;
  }
}

// A resolver that fails in an unexpected way: the session must turn it into internal_error().
class throwing_resolver final : public txt_resolver {
 public:
  [[nodiscard]] txt_answer lookup_txt(const std::string&) const override {
    throw std::runtime_error("resolver exploded");
  }
};

// --- Signing -----------------------------------------------------------------------------------

TEST(milter_session, internal_client_mail_is_signed_and_verifies) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::both);
  std::string msg = message_from("example.com");
  decision d = run(make_env(cfg, &dns), msg, kInternalAddr);
  expect_reply(d, verdict::proceed);
  EXPECT_TRUE(d.delete_auth_results.empty());
  ASSERT_EQ(d.insert.size(), 2u);
  for (const auto& h : d.insert) {
    EXPECT_EQ(h.name, "DKIM-Signature");
    EXPECT_TRUE(h.required);
    EXPECT_EQ(h.value.find('\r'), std::string::npos) << "milter values fold with LF";
    EXPECT_EQ(h.value.rfind(" v=1; a=", 0), 0u) << h.value;
  }
  EXPECT_EQ(d.log, "4ABC1: dir=sign d=example.com s=rsa d=example.com s=ed result=signed ms=0");
  EXPECT_EQ(d.level, log_level::info);

  // The delivered message verifies with the library's verifier against the public records.
  std::string out = delivered(msg, d);
  ASSERT_EQ(out.rfind("DKIM-Signature: v=1; a=rsa-sha256;", 0), 0u) << out;
  auto results = verify(out, test::options_for(dns));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, status::pass) << results[0].reason;
  EXPECT_EQ(results[0].selector, "rsa");
  EXPECT_EQ(results[0].algorithm, "rsa-sha256");
  EXPECT_EQ(results[1].status, status::pass) << results[1].reason;
  EXPECT_EQ(results[1].selector, "ed");
  EXPECT_EQ(results[1].algorithm, "ed25519-sha256");
  for (const auto& r : results) EXPECT_EQ(r.sdid, "example.com");
}

TEST(milter_session, who_is_signed_for) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::both);
  auto env = make_env(cfg, &dns);
  auto signs = [](const decision& d) {
    return d.insert.size() == 2 && d.insert[0].name == "DKIM-Signature";
  };
  // A subdomain of a key's domain is signed by that key.
  decision sub = run(env, message_from("mail.example.com"), kInternalAddr);
  EXPECT_TRUE(signs(sub)) << sub.log;
  EXPECT_TRUE(
      verify(delivered(message_from("mail.example.com"), sub), test::options_for(dns))[0].status ==
      status::pass);
  // An authenticated client outside the internal networks (sign_authenticated = true).
  EXPECT_TRUE(signs(run(env, message_from("example.com"), kExternalAddr, true)));
  // IPv6 loopback and IPv4-mapped addresses count as internal.
  {
    session s(env, fixed_clock());
    std::array<unsigned char, 16> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    s.connect(AF_INET6, mapped.data());
    EXPECT_TRUE(s.internal());
    s.connect(AF_UNIX, nullptr);
    EXPECT_FALSE(s.internal());
  }
  // Not signed: an external unauthenticated client (verified instead), a domain with no key
  // (verified), an authenticated client when sign_authenticated is off.
  decision ext = run(env, message_from("example.com"), kExternalAddr);
  ASSERT_EQ(ext.insert.size(), 1u);
  EXPECT_EQ(ext.insert[0].name, "Authentication-Results");
  decision other = run(env, message_from("example.co"), kInternalAddr);
  ASSERT_EQ(other.insert.size(), 1u);
  EXPECT_EQ(other.insert[0].name, "Authentication-Results");
  auto no_auth = make_config(mode::both);
  no_auth->sign_authenticated = false;
  decision auth = run(make_env(no_auth, &dns), message_from("example.com"), kExternalAddr, true);
  ASSERT_EQ(auth.insert.size(), 1u);
  EXPECT_EQ(auth.insert[0].name, "Authentication-Results");
}

TEST(milter_session, sign_mode_accepts_what_is_not_ours_at_end_of_header) {
  auto env = make_env(make_config(mode::sign), nullptr);
  decision ext = run(env, message_from("example.com"), kExternalAddr);
  expect_reply(ext, verdict::accept);
  EXPECT_TRUE(ext.insert.empty());
  EXPECT_EQ(ext.log, "4ABC1: dir=none (not ours to sign: example.com, external client) ms=0");
  decision other = run(env, message_from("example.org"), kInternalAddr);
  expect_reply(other, verdict::accept);
  EXPECT_EQ(other.log, "4ABC1: dir=none (not ours to sign: example.org) ms=0");
}

// Hostile inputs row 78: signing required but the key is unusable at run time: tempfail, even
// with on_internal_error = accept; the mail is never relayed unsigned.
TEST(milter_session, row_78_unusable_signing_key_tempfails) {
  for (action on_error : {action::tempfail, action::accept}) {
    auto ed_as_rsa = make_config(mode::both);
    ed_as_rsa->keys = {key_for("example.com", "ed", test::ed25519())};
    ed_as_rsa->keys[0].algo =
        algorithm::rsa_sha256;  // load_config refuses this; a struct allows it
    auto no_key = make_config(mode::sign);
    no_key->keys = {key_for("example.com", "none", private_key{})};
    auto small = make_config(mode::sign);
    small->keys = {key_for("example.com", "small", test::rsa_small(512))};
    for (const auto& cfg : {ed_as_rsa, no_key, small}) {
      cfg->on_internal_error = on_error;
      decision d = run(make_env(cfg, nullptr), message_from("example.com"), kInternalAddr);
      expect_reply(d, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
      EXPECT_TRUE(d.insert.empty());
      EXPECT_EQ(d.level, log_level::error);
      EXPECT_EQ(d.log.rfind("4ABC1: internal error: ", 0), 0u) << d.log;
    }
  }
  // A message the signer refuses (two From fields, RFC 6376 §8.15) is not relayed unsigned either.
  auto cfg = make_config(mode::sign);
  cfg->on_internal_error = action::accept;
  decision two_from =
      run(make_env(cfg, nullptr), message_from("example.com", "From: Mallory <m@example.com>\r\n"),
          kInternalAddr);
  expect_reply(two_from, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
  EXPECT_NE(two_from.log.find("2 From fields"), std::string::npos) << two_from.log;
}

// --- Verifying ---------------------------------------------------------------------------------

TEST(milter_session, inbound_signed_mail_passes_and_is_tagged) {
  static_resolver dns;
  publish_keys(dns);
  auto env = make_env(make_config(mode::verify), &dns);
  decision d =
      run(env, signed_by(message_from("example.com"), "example.com", "big", test::rsa2048()));
  expect_reply(d, verdict::proceed);
  ASSERT_EQ(d.insert.size(), 1u);
  EXPECT_TRUE(d.insert[0].required);  // issue 11 finding 7: never leaves without our result
  EXPECT_EQ(d.insert[0].value.rfind(" mx.example.net;\n\tdkim=pass (2048-bit rsa key)", 0), 0u)
      << d.insert[0].value;
  auto ar = added_ar(d);
  EXPECT_EQ(ar.authserv_id, kAuthservId);
  ASSERT_EQ(ar.results.size(), 1u);
  EXPECT_EQ(ar.results[0].result, "pass");
  EXPECT_EQ(d.log, "4ABC1: dir=verify result=pass [pass d=example.com s=big] ms=0");
  EXPECT_EQ(dns.queries(), 1u);
}

// Hostile inputs row 73: a message aborted mid-body, then a new one on the same connection: the
// second gets exactly its own result; nothing of the first is carried over.
TEST(milter_session, row_73_abort_mid_body_then_a_new_message_starts_clean) {
  static_resolver dns;
  publish_keys(dns);
  auto env = make_env(make_config(mode::both), &dns);
  std::string first = signed_by(
      message_from("example.com", "Authentication-Results: mx.example.net; dkim=pass\r\n"),
      "example.com", "big", test::rsa2048());
  std::string second = message_from("example.org");
  decision alone = run(env, second);

  for (bool internal : {false, true}) {
    session s(env, fixed_clock());
    s.connect(internal);
    s.start_message(false);
    s.set_queue_id("FIRST");
    auto view = parse_message(first);
    ASSERT_TRUE(view);
    for (const auto& f : view->fields) ASSERT_FALSE(s.header(f.name, f.value).settled());
    ASSERT_FALSE(s.end_of_header().settled());
    ASSERT_FALSE(s.body(view->body.substr(0, 10)).settled());
    s.abort();
    EXPECT_FALSE(s.in_message());
    // Events after the abort and before the next MAIL FROM are ignored.
    EXPECT_FALSE(s.body("stray").settled());
    EXPECT_TRUE(s.end_of_message().insert.empty());

    s.start_message(false);
    decision d = feed(s, second);
    expect_reply(d, verdict::proceed);
    EXPECT_TRUE(d.delete_auth_results.empty());  // the first message's forged A-R is forgotten
    ASSERT_EQ(d.insert.size(), 1u);
    EXPECT_EQ(d.insert[0].name, "Authentication-Results");
    EXPECT_EQ(d.insert[0].value, " mx.example.net; dkim=none");
    EXPECT_TRUE(d.results.empty());
    EXPECT_EQ(d.log, "-: dir=verify result=none ms=0");  // no queue id told for this one
    EXPECT_EQ(d.insert[0].value, alone.insert[0].value);
    expect_same_results(d.results, alone.results);
  }
  // A signing message aborted, then one of a domain we do not sign: verified, not signed.
  session s(env, fixed_clock());
  s.connect(true);
  s.start_message(true);
  ASSERT_FALSE(s.header("From", " a@example.com").settled());
  ASSERT_FALSE(s.end_of_header().settled());
  ASSERT_FALSE(s.body("half a bo").settled());
  s.abort();
  s.start_message(false);
  decision d = feed(s, message_from("example.org"));
  ASSERT_EQ(d.insert.size(), 1u);
  EXPECT_EQ(d.insert[0].name, "Authentication-Results");
  // And one of our domain after that: signed over its own body only.
  s.start_message(false);
  std::string msg = message_from("example.com");
  decision signed_d = feed(s, msg);
  ASSERT_EQ(signed_d.insert.size(), 2u);
  for (const auto& r : verify(delivered(msg, signed_d), test::options_for(dns)))
    EXPECT_EQ(r.status, status::pass) << r.reason;
}

// Hostile inputs row 74: a body of 1 000 000 bytes in 1-byte chunks gives the same result as in
// one chunk, verifying and signing.
TEST(milter_session, row_74_one_byte_chunks_give_the_same_result_as_one_chunk) {
  static_resolver dns;
  publish_keys(dns);
  std::string body;
  while (body.size() < 1000000) body += "The quick brown fox jumps over the lazy dog  \r\n";
  body.resize(1000000);  // ends without CRLF: the canonicalizers must add it the same way
  std::string msg = message_from("example.com", "", body);

  auto verify_env = make_env(make_config(mode::verify), &dns);
  std::string in = signed_by(msg, "example.com", "rsa", test::rsa1024());
  decision whole = run(verify_env, in);
  decision bytes = run(verify_env, in, kExternalAddr, false, 1);
  ASSERT_EQ(whole.results.size(), 1u);
  EXPECT_EQ(whole.results[0].status, status::pass) << whole.results[0].reason;
  expect_same_results(bytes.results, whole.results);
  ASSERT_EQ(bytes.insert.size(), 1u);
  EXPECT_EQ(bytes.insert[0].value, whole.insert[0].value);
  EXPECT_EQ(bytes.log, whole.log);

  auto sign_env = make_env(make_config(mode::sign), nullptr);
  decision s_whole = run(sign_env, msg, kInternalAddr);
  decision s_bytes = run(sign_env, msg, kInternalAddr, false, 1);
  ASSERT_EQ(s_whole.insert.size(), 2u);
  ASSERT_EQ(s_bytes.insert.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(s_bytes.insert[i].value, s_whole.insert[i].value);
  auto results = verify(delivered(msg, s_bytes), test::options_for(dns));
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(r.status, status::pass) << r.reason;
}

// Hostile inputs row 75: three forged Authentication-Results with our authserv-id among real
// ones of other hosts: exactly those three are deleted, highest index first; the others stay.
TEST(milter_session, row_75_forged_auth_results_are_deleted_highest_first) {
  static_resolver dns;
  publish_keys(dns);
  auto env = make_env(make_config(mode::verify), &dns);
  std::string fields =
      "Authentication-Results: relay.example.org; dkim=pass header.d=kept1.example\r\n"  // 1
      "Authentication-Results: mx.example.net; dkim=pass header.d=forged1.example\r\n"   // 2
      "Authentication-Results: mx.example.net.evil.example; dkim=pass\r\n"               // 3
      "Received: from x by y; Thu, 01 Jan 2026 00:00:00 +0000\r\n"
      "Authentication-Results: (sneaky) MX.Example.NET; dkim=pass header.d=forged2\r\n"  // 4
      "Authentication-Results: other.example; spf=pass smtp.mailfrom=kept2.example\r\n"  // 5
      "Authentication-Results: mx.example.net (unparseable; dkim=pass forged3\r\n";      // 6
  std::string msg = message_from("example.com", fields);
  decision d = run(env, msg);
  EXPECT_EQ(d.delete_auth_results, (std::vector<int>{6, 4, 2}));
  expect_reply(d, verdict::proceed);
  EXPECT_EQ(d.log, "4ABC1: dir=verify result=none removed_forged_ar=3 ms=0");

  std::string out = delivered(msg, d);
  auto view = parse_message(out);
  ASSERT_TRUE(view);
  std::vector<std::string> ars;
  for (const auto& f : view->fields)
    if (iequals(f.name, "Authentication-Results")) ars.emplace_back(f.value);
  ASSERT_EQ(ars.size(), 4u);
  EXPECT_EQ(ars[0], " mx.example.net; dkim=none");  // ours, on top
  EXPECT_EQ(ars[1], " relay.example.org; dkim=pass header.d=kept1.example");
  EXPECT_EQ(ars[2], " mx.example.net.evil.example; dkim=pass");
  EXPECT_EQ(ars[3], " other.example; spf=pass smtp.mailfrom=kept2.example");
  EXPECT_EQ(out.find("forged"), std::string::npos);

  // Issue 11 finding 6: signing removes them too (a client of ours must not relay a forged
  // pass under our name); they are not signed, and the delivered message verifies.
  decision sd = run(make_env(make_config(mode::both), &dns), msg, kInternalAddr);
  EXPECT_EQ(sd.delete_auth_results, (std::vector<int>{6, 4, 2}));
  EXPECT_NE(sd.log.find("result=signed removed_forged_ar=3"), std::string::npos) << sd.log;
  std::string signed_out = delivered(msg, sd);
  EXPECT_EQ(signed_out.find("forged"), std::string::npos);
  for (const auto& v : verify(signed_out, test::options_for(dns)))
    EXPECT_EQ(v.status, status::pass) << v.reason;
}

// Issue 11 finding 1: a forged field whose first value is our authserv-id is removed whatever
// follows it (quoted id, trailing dot, case, a rest that does not parse, a quoted local-part in
// header.i), in both directions; fields of other servers stay.
TEST(milter_session, forged_auth_results_in_every_form_are_removed) {
  static_resolver dns;
  publish_keys(dns);
  const std::vector<std::string> forged = {
      R"("mx.example.net"; dkim=pass header.d=good.example; x="y")",
      R"("mx.example.net"; dkim=pass header.d=good.example; @)",
      R"("mx.example.net"; dkim=pass header.d=bank.example header.i="ceo x"@bank.example)",
      R"(mx.example.net.; dkim=pass header.d=good.example)",
      R"( (c (nested \) ) ) "MX.EXAMPLE.NET" ; dkim=pass)",
      R"("mx.ex\ample.net"; dkim=pass)",
      "mx.example.net;\r\n\tdkim=pass header.d=good.example",
  };
  const std::vector<std::string> kept = {
      R"("mx.example.net.evil"; dkim=pass)",
      R"(mx.example.net.example.org; dkim=pass)",
      R"(relay.example.org; dkim=pass header.i="mx.example.net"@x.example)",
  };
  std::string fields;
  for (const auto& k : kept) fields += "Authentication-Results: " + k + "\r\n";
  for (const auto& f : forged) fields += "Authentication-Results: " + f + "\r\n";
  std::string msg = message_from("example.com", fields);
  std::vector<int> expect;
  for (int i = static_cast<int>(kept.size() + forged.size()); i > static_cast<int>(kept.size()); --i)
    expect.push_back(i);
  for (mode m : {mode::verify, mode::both}) {
    decision d = run(make_env(make_config(m), &dns), msg, m == mode::both ? kInternalAddr
                                                                           : kExternalAddr);
    EXPECT_EQ(d.delete_auth_results, expect) << d.log;
    std::string out = delivered(msg, d);
    EXPECT_EQ(out.find("good.example"), std::string::npos) << out;
    EXPECT_EQ(out.find("bank.example"), std::string::npos) << out;
    for (const auto& k : kept) EXPECT_NE(out.find(k), std::string::npos) << k;
  }
}

// Issue 11 finding 4: removing thousands of forged fields is not done: above
// max_forged_auth_results (20) the message is refused as configured, unedited, and the count is
// logged; at the cap they are all removed. Memory does not grow with the count.
TEST(milter_session, too_many_forged_auth_results_refuse_the_message) {
  static_resolver dns;
  publish_keys(dns);
  auto many = [](int n) {
    std::string f;
    for (int i = 0; i < n; ++i) f += "Authentication-Results: mx.example.net; dkim=pass\r\n";
    return message_from("example.com", f);
  };
  auto cfg = make_config(mode::verify);
  decision at_cap = run(make_env(cfg, &dns), many(20));
  expect_reply(at_cap, verdict::proceed);
  EXPECT_EQ(at_cap.delete_auth_results.size(), 20u);

  for (int n : {21, 1500}) {
    decision d = run(make_env(cfg, &dns), many(n));
    expect_reply(d, verdict::reject, "550", "5.7.1",
                 "Too many Authentication-Results fields claiming this server");
    EXPECT_TRUE(d.delete_auth_results.empty());
    EXPECT_TRUE(d.insert.empty());
    EXPECT_EQ(d.log, "4ABC1: dir=none forged_ar=" + std::to_string(n) +
                         " (more than 20, max_forged_auth_results) action=reject ms=0");
    // The same from an internal client, which would be signed.
    decision s = run(make_env(make_config(mode::both), &dns), many(n), kInternalAddr);
    EXPECT_EQ(to_string(s.reply), "reject");
    EXPECT_TRUE(s.insert.empty());
  }
  cfg->on_forged_auth_results = action::tempfail;
  cfg->max_forged_auth_results = 3;
  decision t = run(make_env(cfg, &dns), many(4));
  expect_reply(t, verdict::tempfail, "451", "4.7.1",
               "Too many Authentication-Results fields claiming this server");
}

// Issue 11 finding 7: our Authentication-Results field must be inserted, or the message fails
// (never leaves without our result); the log line is bounded.
TEST(milter_session, auth_results_insertion_is_required_and_log_bounded) {
  static_resolver dns;
  publish_keys(dns);
  std::string msg = message_from("example.com");
  const std::string one = signed_by(msg, "example.com", "ed", test::ed25519());
  const std::string field = one.substr(0, one.size() - msg.size());
  std::string many;
  const std::string long_label(60, 'a');
  for (int i = 0; i < 150; ++i) {
    std::string f = field;
    f.replace(f.find("d=example.com;"), 14,
              "d=" + long_label + "." + long_label + "." + long_label + ".x" +
                  std::to_string(i) + ".example;");
    many += f;
  }
  many += msg;
  auto cfg = make_config(mode::verify);
  cfg->verify.max_signatures = 100;
  decision d = run(make_env(cfg, &dns), many);
  ASSERT_EQ(d.insert.size(), 1u);
  EXPECT_TRUE(d.insert[0].required);
  EXPECT_LT(d.insert[0].value.size(), 64u * 1024) << "libmilter refuses larger values";
  EXPECT_LE(d.log.size(), 2048u + 64u) << d.log;
  EXPECT_NE(d.log.find("..."), std::string::npos);
  EXPECT_EQ(added_ar(d).results.size(), 101u);  // 100 evaluated + one for the 50 others
}

// Hostile inputs row 76: a temporary DNS failure gives 451 4.7.5 with on_dns_error = tempfail,
// and dkim=temperror in the added field with on_dns_error = accept; never a 5xx.
// ---- OpenDKIM's rules (issue 14): sender_headers, subdomains, header rules, A-R handling ----

// The h= of the DKIM-Signature field a decision inserts first.
std::vector<std::string> signed_names(const decision& d) {
  for (const auto& h : d.insert)
    if (h.name == "DKIM-Signature") {
      auto sig = parse_signature(lf_to_crlf(h.value));
      EXPECT_TRUE(sig) << h.value;
      if (sig) return sig->signed_headers;
    }
  ADD_FAILURE() << "no DKIM-Signature inserted";
  return {};
}

TEST(milter_session, sender_headers_choose_the_signing_domain) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::both);
  cfg->sender_headers = {"Sender", "From"};
  auto env = make_env(cfg, &dns);
  // Sender (example.com) comes first: signed by example.com although From is example.org.
  std::string msg = message_from("example.org", "Sender: Bob <bob@example.com>\r\n");
  decision d = run(env, msg, kInternalAddr);
  ASSERT_EQ(d.insert.size(), 2u) << d.log;
  EXPECT_NE(d.log.find("dir=sign d=example.com s=rsa d=example.com s=ed"), std::string::npos)
      << d.log;
  for (const auto& v : verify(delivered(msg, d), test::options_for(dns)))
    EXPECT_EQ(v.status, status::pass) << v.reason;
  // No Sender: From decides (example.org: no key, verified).
  decision from = run(env, message_from("example.org"), kInternalAddr);
  ASSERT_EQ(from.insert.size(), 1u);
  EXPECT_EQ(from.insert[0].name, "Authentication-Results");
  // The default (From only) ignores Sender: not signed.
  decision dflt = run(make_env(make_config(mode::both), &dns), msg, kInternalAddr);
  ASSERT_EQ(dflt.insert.size(), 1u);
  EXPECT_EQ(dflt.insert[0].name, "Authentication-Results");
  // A Sender of ours but no From field: never signed (every signature must cover From).
  std::string no_from = "Sender: bob@example.com\r\nSubject: x\r\n\r\nHi\r\n";
  auto sign_only = make_config(mode::sign);
  sign_only->sender_headers = {"Sender", "From"};
  decision nf = run(make_env(sign_only, &dns), no_from, kInternalAddr);
  expect_reply(nf, verdict::accept);
  EXPECT_TRUE(nf.insert.empty());
  // Two Sender fields of different domains: no single domain, not signed.
  decision two =
      run(env, message_from("example.org", "Sender: a@example.com\r\nSender: b@other.test\r\n"),
          kInternalAddr);
  ASSERT_EQ(two.insert.size(), 1u);
  EXPECT_EQ(two.insert[0].name, "Authentication-Results");
}

TEST(milter_session, sender_headers_pick_the_signing_table_row) {
  test::temp_dir d;
  std::string key = d.write("k.pem", test::rsa1024().to_pem());
  ::chmod(key.c_str(), 0600);
  auto keys = key_table::load(d.write("kt", "rsa example.com:rsa:" + key + "\n"));
  auto table = signing_table::load(d.write("st", "bob@example.com rsa\n"));
  ASSERT_TRUE(keys && table);
  auto cfg = make_config(mode::sign);
  cfg->keys.clear();
  cfg->key_table = std::move(*keys);
  cfg->signing_table = std::move(*table);
  cfg->sender_headers = {"Sender", "From"};
  decision s = run(make_env(cfg, nullptr),
                   message_from("example.com", "Sender: bob@example.com\r\n"), kInternalAddr);
  ASSERT_EQ(s.insert.size(), 1u) << s.log;
  EXPECT_NE(s.log.find("d=example.com s=rsa"), std::string::npos);
  // From alice@example.com alone matches no row.
  decision n = run(make_env(cfg, nullptr), message_from("example.com"), kInternalAddr);
  EXPECT_TRUE(n.insert.empty());
}

// sender_mailbox "first" (OpenDKIM's rule): the first mailbox of a From field with several
// domains decides; "only" (the default) leaves such mail unsigned. A field that does not parse
// is never signed.
TEST(milter_session, first_sender_mailbox_signs_for_the_first_address) {
  static_resolver dns;
  publish_keys(dns);
  const std::string two = "From: Dave <dave@example.com>, erin@example.org\r\nTo: b@example.org\r\n"
                          "Subject: x\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nHi\r\n";
  auto only = make_env(make_config(mode::both), &dns);
  decision d0 = run(only, two, kInternalAddr);
  ASSERT_EQ(d0.insert.size(), 1u) << d0.log;
  EXPECT_EQ(d0.insert[0].name, "Authentication-Results");
  auto cfg = make_config(mode::both);
  cfg->first_sender_mailbox = true;
  auto first = make_env(cfg, &dns);
  decision d1 = run(first, two, kInternalAddr);
  ASSERT_EQ(d1.insert.size(), 2u) << d1.log;
  EXPECT_NE(d1.log.find("dir=sign d=example.com"), std::string::npos) << d1.log;
  for (const auto& v : verify(delivered(two, d1), test::options_for(dns)))
    EXPECT_EQ(v.status, status::pass) << v.reason;
  // The other order: example.org has no key, so the message is verified, not signed.
  std::string swapped = two;
  swapped.replace(0, swapped.find("\r\n"), "From: erin@example.org, Dave <dave@example.com>");
  decision d2 = run(first, swapped, kInternalAddr);
  ASSERT_EQ(d2.insert.size(), 1u) << d2.log;
  EXPECT_EQ(d2.insert[0].name, "Authentication-Results");
  // An unparsable From (no closing bracket): not signed, whatever comes first.
  std::string broken = two;
  broken.replace(0, broken.find("\r\n"), "From: Dave <dave@example.com, erin@example.org");
  decision d3 = run(first, broken, kInternalAddr);
  for (const auto& h : d3.insert) EXPECT_NE(h.name, "DKIM-Signature") << d3.log;
}

// authserv_id_from_mta (OpenDKIM without AuthservID): the MTA's "j" macro names us, in the
// field we add and in the forged ones we remove; authserv_id when j is absent or no host name.
TEST(milter_session, authserv_id_from_mta_follows_the_j_macro) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::verify);
  cfg->authserv_id_from_mta = true;
  auto env = make_env(cfg, &dns);
  const std::string msg = message_from(
      "example.com",
      "Authentication-Results: relay.example.org; dkim=pass header.d=a.example\r\n"
      "Authentication-Results: mta.example.net; dkim=pass header.d=forged.example\r\n"
      "Authentication-Results: mx.example.net; dkim=pass header.d=b.example\r\n");
  auto run_with = [&](std::optional<std::string_view> j, bool from_mta) {
    auto c = std::make_shared<config>(*cfg);
    c->authserv_id_from_mta = from_mta;
    session s(make_env(c, &dns), fixed_clock());
    s.connect(AF_INET, kExternalAddr.data());
    if (j) s.set_mta_name(*j);
    s.start_message(false);
    s.set_queue_id("4ABC1");
    return feed(s, msg);
  };
  auto ours = [](const decision& d) {
    for (const auto& h : d.insert)
      if (h.name == "Authentication-Results") return h.value.substr(0, h.value.find(';'));
    return std::string("(none)");
  };
  decision named = run_with("mta.example.net", true);
  EXPECT_EQ(ours(named), " mta.example.net");
  EXPECT_EQ(named.delete_auth_results, std::vector<int>{2});
  // Off: authserv_id (mx.example.net) whatever j says.
  decision off = run_with("mta.example.net", false);
  EXPECT_EQ(ours(off), " mx.example.net");
  EXPECT_EQ(off.delete_auth_results, std::vector<int>{3});
  // No j, or a j that is no host name: authserv_id.
  for (std::optional<std::string_view> j : {std::optional<std::string_view>{},
                                             std::optional<std::string_view>{"mta example; x"},
                                             std::optional<std::string_view>{""}}) {
    decision d = run_with(j, true);
    EXPECT_EQ(ours(d), " mx.example.net");
    EXPECT_EQ(d.delete_auth_results, std::vector<int>{3});
  }
}

TEST(milter_session, subdomains_false_signs_the_key_domain_only) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::both);
  cfg->subdomains = false;
  auto env = make_env(cfg, &dns);
  decision sub = run(env, message_from("mail.example.com"), kInternalAddr);
  ASSERT_EQ(sub.insert.size(), 1u) << sub.log;
  EXPECT_EQ(sub.insert[0].name, "Authentication-Results");
  decision same = run(env, message_from("EXAMPLE.com"), kInternalAddr);
  EXPECT_EQ(same.insert.size(), 2u) << same.log;
  // A subdomain with keys of its own is its own domain.
  cfg->keys.push_back(key_for("mail.example.com", "big", test::rsa2048()));
  decision own = run(make_env(cfg, &dns), message_from("mail.example.com"), kInternalAddr);
  EXPECT_NE(own.log.find("dir=sign d=mail.example.com s=big result=signed"), std::string::npos)
      << own.log;
}

// h= as OpenDKIM 2.11 writes it (opendkim -t on the same fields; "Subject:TO:From:to"), and the
// signature verifies. The signer writes names in lower case (h= ignores case, RFC 6376 §3.5).
TEST(milter_session, header_rules_make_h_as_opendkim_does) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::sign);
  cfg->keys.resize(1);  // rsa
  cfg->sign_rules = header_rules{opendkim_sign_headers(), opendkim_omit_headers(), {}};
  std::string msg =
      "Received: from a by b; Thu, 01 Jan 2026 00:00:00 +0000\r\nSubject: s\r\nTO: "
      "x@example.org\r\n"
      "From: A <a@example.com>\r\nto: z@example.org\r\nX-A: 1\r\nComments: c\r\n"
      "Message-ID: <m@example.com>\r\n\r\nbody\r\n";
  decision d = run(make_env(cfg, &dns), msg, kInternalAddr);
  EXPECT_EQ(signed_names(d), (std::vector<std::string>{"subject", "to", "from", "to"}));
  for (const auto& v : verify(delivered(msg, d), test::options_for(dns)))
    EXPECT_EQ(v.status, status::pass) << v.reason;
  // Over-signing and a glob: SignHeaders *,+X-*; OversignHeaders From,X-B,To.
  cfg->sign_rules->sign.push_back("X-*");
  cfg->sign_rules->oversign = {"From", "X-B", "To"};
  decision o = run(make_env(cfg, &dns), msg, kInternalAddr);
  EXPECT_EQ(signed_names(o),
            (std::vector<std::string>{"subject", "to", "from", "to", "x-a", "from", "x-b", "to"}));
  std::string out = delivered(msg, o);
  for (const auto& v : verify(out, test::options_for(dns)))
    EXPECT_EQ(v.status, status::pass) << v.reason;
  // Over-signed: another To, From or X-B added later breaks the signature.
  for (std::string_view added : {"To: evil@example.org\r\n", "X-B: 2\r\n"}) {
    std::string tampered = out;
    tampered.insert(tampered.find("\r\n\r\n") + 2, added);
    EXPECT_EQ(verify(tampered, test::options_for(dns))[0].status, status::fail) << added;
  }
}

struct ar_case {
  std::string value;
  bool dkim, any;  // removed under "dkim", under "any_result"
};

TEST(milter_session, opendkim_auth_results_rules) {
  static_resolver dns;
  publish_keys(dns);
  // What opendkim -t removed (AuthservID mx.example.net), by RemoveARAll.
  const std::vector<ar_case> cases = {
      {"mx.example.net; dkim=pass header.d=x", true, true},
      {"mx.example.net; spf=pass smtp.mailfrom=x", false, true},
      {"other.example; dkim=pass", false, false},
      {"(c) mx.example.net; dkim=fail", true, true},
      {"mx.example.net; none", false, false},
      {"mx.example.net (unparseable; dkim=pass", false, false},
  };
  std::string fields;
  for (const auto& c : cases) fields += "Authentication-Results: " + c.value + "\r\n";
  std::string msg = message_from("example.com", fields);
  for (ar_removal rule : {ar_removal::dkim, ar_removal::any_result}) {
    auto cfg = make_config(mode::both);
    cfg->remove_auth_results = rule;
    std::vector<int> want;
    for (std::size_t i = cases.size(); i >= 1; --i)
      if (rule == ar_removal::dkim ? cases[i - 1].dkim : cases[i - 1].any)
        want.push_back(static_cast<int>(i));
    decision v = run(make_env(cfg, &dns), msg);
    EXPECT_EQ(v.delete_auth_results, want) << to_string(rule);
    // Signing edits nothing (OpenDKIM removes fields from verified mail only) and still verifies.
    decision s = run(make_env(cfg, &dns), msg, kInternalAddr);
    EXPECT_TRUE(s.delete_auth_results.empty()) << to_string(rule);
    ASSERT_EQ(s.insert.size(), 2u) << s.log;
    for (const auto& r : verify(delivered(msg, s), test::options_for(dns)))
      EXPECT_EQ(r.status, status::pass) << r.reason;
  }
  // The default removes every field claiming us, in both directions.
  decision all = run(make_env(make_config(mode::both), &dns), msg, kInternalAddr);
  EXPECT_EQ(all.delete_auth_results, (std::vector<int>{6, 5, 4, 2, 1}));
}

TEST(milter_session, opendkim_auth_results_cap_applies_to_verified_mail_only) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::both);
  cfg->remove_auth_results = ar_removal::dkim;
  cfg->max_forged_auth_results = 2;
  std::string fields;
  for (int i = 0; i < 3; ++i) fields += "Authentication-Results: mx.example.net; dkim=pass\r\n";
  std::string msg = message_from("example.com", fields);
  decision v = run(make_env(cfg, &dns), msg);
  expect_reply(v, verdict::reject, "550", "5.7.1",
               "Too many Authentication-Results fields claiming this server");
  decision s = run(make_env(cfg, &dns), msg, kInternalAddr);
  expect_reply(s, verdict::proceed);
  EXPECT_EQ(s.insert.size(), 2u) << s.log;
}

TEST(milter_session, add_auth_results_signed_leaves_unsigned_mail_alone) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::verify);
  cfg->always_add_auth_results = false;
  auto env = make_env(cfg, &dns);
  decision none = run(env, message_from("example.com"));
  expect_reply(none, verdict::proceed);
  EXPECT_TRUE(none.insert.empty());
  EXPECT_EQ(none.log, "4ABC1: dir=verify result=none ms=0");
  std::string msg = signed_by(message_from("example.org"), "example.org", "ext", test::rsa2048());
  decision one = run(env, msg);
  ASSERT_EQ(one.insert.size(), 1u);
  EXPECT_EQ(one.insert[0].name, "Authentication-Results");
  EXPECT_NE(one.insert[0].value.find("dkim=pass"), std::string::npos);
  // A broken signature is a signature: reported too.
  std::string broken = msg;
  broken.replace(broken.find("Lunch"), 5, "Dinner");
  decision fail = run(env, broken);
  ASSERT_EQ(fail.insert.size(), 1u);
  EXPECT_NE(fail.insert[0].value.find("dkim=fail"), std::string::npos);
}

TEST(milter_session, row_76_dns_temporary_failure) {
  static_resolver dns;
  dns.set_temporary("big._domainkey.example.com", "SERVFAIL");
  std::string msg = signed_by(message_from("example.com"), "example.com", "big", test::rsa2048());

  auto tempfail = make_config(mode::verify);
  decision d = run(make_env(tempfail, &dns), msg);
  expect_reply(d, verdict::tempfail, "451", "4.7.5",
               "DKIM key could not be fetched, try again later");
  EXPECT_EQ(d.log,
            "4ABC1: dir=verify result=temperror [temperror d=example.com s=big] "
            "action=tempfail ms=0");
  EXPECT_EQ(dns.queries(), 1u);

  auto accept = make_config(mode::verify);
  accept->on_dns_error = action::accept;
  for (action on_no_pass : {action::accept, action::reject}) {
    accept->on_no_pass = on_no_pass;
    decision a = run(make_env(accept, &dns), msg);
    expect_reply(a, verdict::proceed);
    auto ar = added_ar(a);
    ASSERT_EQ(ar.results.size(), 1u);
    EXPECT_EQ(ar.results[0].method, "dkim");
    EXPECT_EQ(ar.results[0].result, "temperror");
    EXPECT_EQ(a.log,
              "4ABC1: dir=verify result=temperror [temperror d=example.com s=big] "
              "action=accept (on_dns_error) ms=0");
  }

  // A requirement that only a signature whose key could not be fetched could meet: the DNS
  // error action, not 550 5.7.22, even though another signature passes.
  static_resolver half;
  half.set_temporary("big._domainkey.example.com");
  half.add("ext._domainkey.example.org", test::rsa2048().public_record());
  std::string both = signed_by(msg, "example.org", "ext", test::rsa2048());
  auto required = make_config(mode::verify);
  required->requirements = {{"example.com", "example.com"}};
  decision r = run(make_env(required, &half), both);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].status, status::pass);
  EXPECT_EQ(r.results[1].status, status::temperror);
  expect_reply(r, verdict::tempfail, "451", "4.7.5",
               "DKIM key could not be fetched, try again later");
  required->on_dns_error = action::accept;
  decision ra = run(make_env(required, &half), both);
  expect_reply(ra, verdict::proceed);
}

// Hostile inputs row 47: a key with t=y is verified as usual (the flag is reported). A signature
// of such a key that does not pass counts as absent (RFC 6376 §3.6.1: treated like unsigned
// mail): the message gets what unsigned mail gets under the policy — here a rejection, as for
// unsigned mail; with an accepting policy it is accepted (README: row 47).
TEST(milter_session, row_47_testing_key_is_verified_and_counts_as_unsigned_when_failing) {
  static_resolver dns;
  dns.add("test._domainkey.example.com",
          "v=DKIM1; t=y; p=" + test::rsa2048().public_record_value());
  dns.add("big._domainkey.example.com", test::rsa2048().public_record());
  std::string good = signed_by(message_from("example.com"), "example.com", "test", test::rsa2048());
  std::string bad = good;
  bad.replace(bad.rfind("noon"), 4, "nine");

  auto strict = make_config(mode::verify);
  strict->on_no_pass = action::reject;
  strict->requirements = {{"example.com", "example.com"}};
  auto env = make_env(strict, &dns);

  decision pass = run(env, good);
  expect_reply(pass, verdict::proceed);
  ASSERT_EQ(pass.results.size(), 1u);
  EXPECT_EQ(pass.results[0].status, status::pass);
  EXPECT_TRUE(pass.results[0].testing);
  EXPECT_NE(pass.insert[0].value.find("(2048-bit rsa key, testing)"), std::string::npos)
      << pass.insert[0].value;

  decision fail = run(env, bad);
  expect_reply(fail, verdict::reject, "550", "5.7.20", "No passing DKIM signature found");
  ASSERT_EQ(fail.results.size(), 1u);
  EXPECT_EQ(fail.results[0].status, status::fail);
  EXPECT_EQ(fail.results[0].code, errc::body_hash_mismatch);
  EXPECT_TRUE(fail.results[0].testing);
  EXPECT_EQ(added_ar(fail).results.at(0).result, "fail");
  EXPECT_EQ(fail.log, "4ABC1: dir=verify result=fail [fail d=example.com s=test] action=reject ms=0");
  // Unsigned, it would get the same.
  expect_reply(run(env, message_from("example.com")), verdict::reject, "550", "5.7.20",
               "No passing DKIM signature found");
  // Where unsigned mail is accepted, so is the failing testing signature.
  auto lenient = make_config(mode::verify);
  expect_reply(run(make_env(lenient, &dns), bad), verdict::proceed);

  // Issue 11 finding 3: a bogus signature (no private key needed) pointing at a published t=y
  // selector of the required domain does not lift [[policy.require]]: 550 5.7.22 as unsigned.
  auto required = make_config(mode::verify);
  required->requirements = {{"example.com", "example.com"}};
  std::string bogus = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=test; h=from; "
                      "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n" +
                      message_from("example.com");
  decision forged = run(make_env(required, &dns), bogus);
  expect_reply(forged, verdict::reject, "550", "5.7.22",
               "No valid author-matched DKIM signature found");
  ASSERT_EQ(forged.results.size(), 1u);
  EXPECT_TRUE(forged.results[0].testing);
  EXPECT_NE(forged.results[0].status, status::pass);

  // The same failure with a key that is not in testing is rejected by this policy.
  std::string bad_real =
      signed_by(message_from("example.com"), "example.com", "big", test::rsa2048());
  bad_real.replace(bad_real.rfind("noon"), 4, "nine");
  expect_reply(run(env, bad_real), verdict::reject, "550", "5.7.20",
               "No passing DKIM signature found");
}

TEST(milter_session, policy_replies) {
  static_resolver dns;
  publish_keys(dns);
  std::string unsigned_msg = message_from("example.com");
  std::string own = signed_by(unsigned_msg, "example.com", "big", test::rsa2048());
  std::string foreign = signed_by(unsigned_msg, "example.org", "ext", test::rsa2048());

  // Default: accept and tag.
  expect_reply(run(make_env(make_config(mode::verify), &dns), unsigned_msg), verdict::proceed);

  auto no_pass = make_config(mode::verify);
  no_pass->on_no_pass = action::reject;
  decision r = run(make_env(no_pass, &dns), unsigned_msg);
  expect_reply(r, verdict::reject, "550", "5.7.20", "No passing DKIM signature found");
  EXPECT_EQ(r.log, "4ABC1: dir=verify result=none action=reject ms=0");
  ASSERT_EQ(r.insert.size(), 1u);  // the field goes with the reply (the MTA drops it)
  expect_reply(run(make_env(no_pass, &dns), foreign), verdict::proceed);

  auto author = make_config(mode::verify);
  author->requirements = {{"example.com", "example.com"}};
  decision a = run(make_env(author, &dns), foreign);
  expect_reply(a, verdict::reject, "550", "5.7.22", "No valid author-matched DKIM signature found");
  EXPECT_EQ(a.log,
            "4ABC1: dir=verify result=pass [pass d=example.org s=ext] action=reject "
            "requirement=example.com:example.com ms=0");
  expect_reply(run(make_env(author, &dns), own), verdict::proceed);
  // Another From domain is not concerned.
  expect_reply(run(make_env(author, &dns), message_from("example.net")), verdict::proceed);

  auto third = make_config(mode::verify);
  third->requirements = {{"example.com", "example.org"}};
  expect_reply(run(make_env(third, &dns), own), verdict::reject, "550", "5.7.21",
               "No acceptable DKIM signature found");
  expect_reply(run(make_env(third, &dns), foreign), verdict::proceed);
}

// Issue 10: 1000 signatures whose first five (the evaluated ones) are permerror: the message's
// result is permerror, not the policy of the 995 not evaluated; on_no_pass rejects it; our
// Authentication-Results has the five entries and one for the rest, and the log line does too.
TEST(milter_session, signatures_not_evaluated_do_not_lift_the_result) {
  static_resolver dns;
  publish_keys(dns);
  const std::string msg = message_from("example.com");
  const std::string one = signed_by(msg, "example.com", "ed", test::ed25519());
  const std::string field = one.substr(0, one.size() - msg.size());  // with its CRLF
  std::string many;
  for (int i = 0; i < 1000; ++i) {
    std::string f = field;
    f.replace(f.find("s=ed;"), 5, "s=n" + std::to_string(i) + ";");  // no such key: permerror
    many += f;
  }
  many += msg;
  auto cfg = make_config(mode::verify);
  cfg->on_no_pass = action::reject;
  decision d = run(make_env(cfg, &dns), many);
  expect_reply(d, verdict::reject, "550", "5.7.20", "No passing DKIM signature found");
  EXPECT_EQ(d.results.size(), 1000u);
  EXPECT_EQ(overall(d.results), status::permerror);
  EXPECT_NE(d.log.find("dir=verify result=permerror [permerror d=example.com s=n0]"),
            std::string::npos)
      << d.log;
  EXPECT_NE(d.log.find("not_evaluated=995"), std::string::npos) << d.log;
  EXPECT_LT(d.log.size(), 1024u);
  auto ar = added_ar(d);
  ASSERT_EQ(ar.results.size(), 6u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(ar.results[i].result, "permerror") << i;
  EXPECT_EQ(ar.results[5].result, "policy");
  EXPECT_NE(ar.results[5].comment.find("995 signatures not evaluated"), std::string::npos);
  // Accepting configuration: the same message goes through, tagged the same way.
  decision accepted = run(make_env(make_config(mode::verify), &dns), many);
  expect_reply(accepted, verdict::proceed);
  EXPECT_EQ(added_ar(accepted).results.size(), 6u);
}

// Issue 11 finding 2: the author domains come from the RFC 5322 grammar. A requirement for
// example.com is enforced when any mailbox of any From field is in example.com; a From that does
// not parse fails closed (550 5.7.22); comments and second mailboxes never pick the domain.
TEST(milter_session, requirements_see_every_author_and_fail_closed) {
  static_resolver dns;
  publish_keys(dns);
  auto cfg = make_config(mode::verify);
  cfg->requirements = {{"example.com", "example.com"}};
  auto env = make_env(cfg, &dns);
  auto with_from = [](const std::string& from, const std::string& extra = "") {
    return "From: " + from + "\r\n" + extra +
           "To: Bob <bob@example.org>\r\nSubject: Lunch\r\n"
           "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <lunch@example.com>\r\n\r\n"
           "Shall we meet at noon?\r\n";
  };
  const std::vector<std::string> bypasses = {
      "ceo@example.com (x@example.org)",
      "\"CEO\" <ceo@example.com> (<x@example.org>)",
      "ceo@example.com, x@example.org",
      "<ceo@example.com>, <x@example.org>",
      "friends: ceo@example.com, x@example.org;",
      "x@example.org, ceo@example.com",
  };
  for (const auto& from : bypasses) {
    // Signed by example.org only (a signature the attacker can make): the requirement applies.
    std::string msg = signed_by(with_from(from), "example.org", "ext", test::rsa2048());
    decision d = run(env, msg);
    expect_reply(d, verdict::reject, "550", "5.7.22",
                 "No valid author-matched DKIM signature found");
    // Unsigned: the same.
    expect_reply(run(env, with_from(from)), verdict::reject, "550", "5.7.22",
                 "No valid author-matched DKIM signature found");
  }
  // Does not parse, or names no DNS domain: fail closed, and the log says why.
  for (const std::string from : {"ceo@example.com (@)x", "ceo@example.com (", "<ceo@example.com",
                                 "\"ceo@example.com", "undisclosed-recipients:;", "ceo@[192.0.2.1]"}) {
    decision d = run(env, with_from(from));
    expect_reply(d, verdict::reject, "550", "5.7.22",
                 "No valid author-matched DKIM signature found");
    EXPECT_NE(d.log.find("from_error="), std::string::npos) << from << ": " << d.log;
  }
  // Two From fields, the evil one first: the requirement still applies.
  std::string two = with_from("x@example.org", "From: ceo@example.com\r\n");
  expect_reply(run(env, two), verdict::reject, "550", "5.7.22",
               "No valid author-matched DKIM signature found");
  // The honest message passes; another author domain is not concerned.
  std::string honest = signed_by(with_from("\"CEO (boss)\" <ceo@example.com>"), "example.com",
                                 "big", test::rsa2048());
  expect_reply(run(env, honest), verdict::proceed);
  expect_reply(run(env, with_from("a@example.org (ceo@example.com)")), verdict::proceed);

  // Signing: one author domain only; a comment never chooses it.
  auto signer_cfg = make_config(mode::both);
  auto senv = make_env(signer_cfg, &dns);
  decision sd = run(senv, with_from("a@example.org (b@example.com)"), kInternalAddr);
  ASSERT_EQ(sd.insert.size(), 1u) << sd.log;  // example.org has no key here: verified instead
  EXPECT_EQ(sd.insert[0].name, "Authentication-Results");
  decision both = run(senv, with_from("a@example.com, b@example.org"), kInternalAddr);
  EXPECT_TRUE(both.insert.empty() || both.insert[0].name != "DKIM-Signature") << both.log;
  decision ours = run(senv, with_from("a@example.com, b@example.com"), kInternalAddr);
  ASSERT_FALSE(ours.insert.empty()) << ours.log;
  EXPECT_EQ(ours.insert[0].name, "DKIM-Signature");
}

TEST(milter_session, sender_in_two_domains_is_logged_with_the_reason) {
  std::string msg =
      "From: a@example.com, b@example.org\r\nTo: Bob <bob@example.org>\r\nSubject: two\r\n"
      "Message-ID: <x@example.com>\r\n\r\nHi\r\n";
  decision s = run(make_env(make_config(mode::sign), nullptr), msg, kInternalAddr);
  expect_reply(s, verdict::accept);
  EXPECT_NE(s.log.find("dir=none (not ours to sign: no sender: "), std::string::npos) << s.log;
  EXPECT_NE(s.log.find("From: mailboxes in several domains (example.com, example.org)"),
            std::string::npos)
      << s.log;
}

TEST(milter_session, from_less_message) {
  static_resolver dns;
  publish_keys(dns);
  std::string msg =
      "To: Bob <bob@example.org>\r\nSubject: no author\r\nMessage-ID: "
      "<x@example.com>\r\n\r\nHi\r\n";
  // Internal client, mode sign: not ours to sign, accepted at the end of the header.
  decision s = run(make_env(make_config(mode::sign), nullptr), msg, kInternalAddr);
  expect_reply(s, verdict::accept);
  EXPECT_EQ(s.log,
            "4ABC1: dir=none (not ours to sign: no author domain: message has no From field) ms=0");
  // Mode both: verified like any other mail; nothing signed, dkim=none.
  decision b = run(make_env(make_config(mode::both), &dns), msg, kInternalAddr);
  expect_reply(b, verdict::proceed);
  ASSERT_EQ(b.insert.size(), 1u);
  EXPECT_EQ(b.insert[0].value, " mx.example.net; dkim=none");
  // A From-less message carrying a signature: the signature is a permerror (no From).
  sign_options o;
  o.sdid = "example.com";
  o.selector = "big";
  o.key = test::rsa2048();
  o.headers = std::vector<std::string>{"from", "to", "subject"};
  auto with_from = sign(message_from("example.com"), {o}, test::kNow);
  ASSERT_TRUE(with_from);
  std::string forged = (*with_from)[0] + "\r\n" + msg;
  auto strict = make_config(mode::verify);
  strict->on_no_pass = action::reject;
  decision v = run(make_env(strict, &dns), forged);
  ASSERT_EQ(v.results.size(), 1u);
  EXPECT_EQ(v.results[0].status, status::permerror);
  EXPECT_EQ(v.results[0].code, errc::no_from);
  expect_reply(v, verdict::reject, "550", "5.7.20", "No passing DKIM signature found");
}

// A header block over max_header_bytes: signing takes the internal-error action (never passed
// unsigned), verifying gives dkim=permerror and the policy applies.
TEST(milter_session, header_over_the_limit) {
  static_resolver dns;
  publish_keys(dns);
  std::string big = "X-Filler: " + std::string(5000, 'a') + "\r\n";
  auto sign_cfg = make_config(mode::both);
  sign_cfg->verify.header.max_header_bytes = 4096;
  sign_cfg->on_internal_error = action::accept;
  decision s = run(make_env(sign_cfg, &dns), message_from("example.com", big), kInternalAddr);
  expect_reply(s, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
  EXPECT_EQ(s.log, "4ABC1: internal error: header too large to sign");
  EXPECT_TRUE(s.insert.empty());
  // The From field past the limit still decides that the message is to be signed.
  std::string late_from = big + "From: Alice <alice@example.com>\r\nSubject: late\r\n\r\nHi\r\n";
  decision late = run(make_env(sign_cfg, &dns), late_from, kInternalAddr);
  expect_reply(late, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");

  auto verify_cfg = make_config(mode::verify);
  verify_cfg->verify.header.max_header_bytes = 4096;
  std::string msg = message_from("example.com", big);
  decision v = run(make_env(verify_cfg, &dns), msg);
  expect_reply(v, verdict::proceed);
  ASSERT_EQ(v.results.size(), 1u);
  EXPECT_EQ(v.results[0].status, status::permerror);
  EXPECT_EQ(v.results[0].code, errc::header_too_large);
  EXPECT_EQ(added_ar(v).results.at(0).result, "permerror");
  verify_cfg->on_no_pass = action::reject;
  expect_reply(run(make_env(verify_cfg, &dns), msg), verdict::reject, "550", "5.7.20",
               "No passing DKIM signature found");
}

TEST(milter_session, internal_error_takes_the_configured_action) {
  throwing_resolver dns;
  std::string msg = signed_by(message_from("example.com"), "example.com", "big", test::rsa2048());
  auto cfg = make_config(mode::verify);
  decision t = run(make_env(cfg, &dns), msg);
  expect_reply(t, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
  EXPECT_EQ(t.log, "4ABC1: internal error: unexpected exception: resolver exploded");
  EXPECT_EQ(t.level, log_level::error);
  cfg->on_internal_error = action::accept;
  session s(make_env(cfg, &dns), fixed_clock());
  s.connect(false);
  s.start_message(false);
  decision a = feed(s, msg);
  expect_reply(a, verdict::accept);
  EXPECT_TRUE(a.insert.empty());
  EXPECT_FALSE(s.in_message());  // the message is over; the session goes on
  s.start_message(false);
  decision next = feed(s, message_from("example.com"));
  expect_reply(next, verdict::proceed);
  EXPECT_EQ(next.insert.at(0).value, " mx.example.net; dkim=none");
}

TEST(milter_session, a_message_keeps_the_environment_it_began_with) {
  static_resolver dns;
  auto first = make_config(mode::verify);
  auto second = make_config(mode::verify);
  second->authserv_id = "mx2.example.net";
  session s(make_env(first, &dns), fixed_clock());
  s.connect(false);
  s.start_message(false);
  EXPECT_EQ(feed(s, message_from("example.com")).insert.at(0).value, " mx.example.net; dkim=none");
  s.start_message(false, make_env(second, &dns));  // reloaded between messages
  EXPECT_EQ(feed(s, message_from("example.com")).insert.at(0).value, " mx2.example.net; dkim=none");
  s.start_message(false);  // and the reloaded one stays
  EXPECT_EQ(feed(s, message_from("example.com")).insert.at(0).value, " mx2.example.net; dkim=none");
}

// --- Key and signing tables ([sign] key_table, signing_table) -----------------------------------

// A configuration with OpenDKIM tables as load_config() makes it (their keys loaded by KEY column),
// mode sign. Key names: rsa, ed and big at example.com, other (ext) at example.org.
std::shared_ptr<config> table_config(std::string_view signing, table_kind kind,
                                     bool multiple = false) {
  auto c = make_config(mode::sign);
  c->keys.clear();
  auto keys = key_table::parse(
      "rsa    example.com:rsa:/keys/rsa.pem\n"
      "ed     example.com:ed:/keys/ed.pem:ed25519-sha256\n"
      "big    example.com:big:/keys/big.pem\n"
      "other  example.org:ext:/keys/big.pem\n",
      table_kind::plain, "KeyTable");
  auto table = signing_table::parse(signing, kind, "SigningTable");
  EXPECT_TRUE(keys) << keys.error().detail;
  EXPECT_TRUE(table) << table.error().detail;
  if (keys) c->key_table = *keys;
  if (table) c->signing_table = *table;
  c->multiple_signatures = multiple;
  c->table_keys = {{"/keys/rsa.pem", test::rsa1024()},
                   {"/keys/ed.pem", test::ed25519()},
                   {"/keys/big.pem", test::rsa2048()}};
  return c;
}

// The signatures a decision adds, verified against the test keys' records.
std::vector<verification> verified(std::string_view msg, const decision& d) {
  static_resolver dns;
  publish_keys(dns);
  return verify(delivered(msg, d), test::options_for(dns));
}

TEST(milter_session, refile_signing_table_picks_the_key_by_wildcard) {
  auto env = make_env(table_config("*@example.org      other\n"
                                   "alice@*.example.com big\n"
                                   "*@example.com      rsa\n",
                                   table_kind::refile),
                      nullptr);
  struct row {
    std::string from, sdid, selector;
  } rows[] = {{"example.com", "example.com", "rsa"},
              {"mail.example.com", "example.com", "big"},  // a subdomain sender
              {"EXAMPLE.org", "example.org", "ext"}};
  for (const auto& r : rows) {
    std::string msg = message_from(r.from);
    decision d = run(env, msg, kInternalAddr);
    expect_reply(d, verdict::proceed);
    EXPECT_EQ(d.log, "4ABC1: dir=sign d=" + r.sdid + " s=" + r.selector + " result=signed ms=0");
    auto results = verified(msg, d);
    ASSERT_EQ(results.size(), 1u) << r.from;
    EXPECT_EQ(results[0].status, status::pass) << r.from << ": " << results[0].reason;
    EXPECT_EQ(results[0].sdid, r.sdid);
    EXPECT_EQ(results[0].selector, r.selector);
  }
  // Not signed (mode sign: accepted as it is): a domain no row matches, and an external client
  // whatever the table says.
  for (auto [from, addr, log] :
       {std::tuple{"example.net", kInternalAddr, "(not ours to sign: example.net)"},
        std::tuple{"example.com", kExternalAddr,
                   "(not ours to sign: example.com, external client)"}}) {
    decision d = run(env, message_from(from), addr);
    expect_reply(d, verdict::accept);
    EXPECT_TRUE(d.insert.empty());
    EXPECT_EQ(d.log, std::string("4ABC1: dir=none ") + log + " ms=0");
  }
}

TEST(milter_session, plain_signing_table_signs_subdomains_by_their_parent_row) {
  auto env =
      make_env(table_config(".example.com rsa\nexample.com ed\n", table_kind::plain), nullptr);
  decision sub = run(env, message_from("a.mail.example.com"), kInternalAddr);
  EXPECT_EQ(sub.log, "4ABC1: dir=sign d=example.com s=rsa result=signed ms=0");
  auto r = verified(message_from("a.mail.example.com"), sub);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
  decision top = run(env, message_from("example.com"), kInternalAddr);
  EXPECT_EQ(top.log, "4ABC1: dir=sign d=example.com s=ed result=signed ms=0");
  // In mode both, mail of a domain without a row is verified instead.
  auto both = table_config("example.com ed\n", table_kind::plain);
  both->mode = mode::both;
  static_resolver dns;
  decision other = run(make_env(both, &dns), message_from("example.org"), kInternalAddr);
  ASSERT_EQ(other.insert.size(), 1u);
  EXPECT_EQ(other.insert[0].name, "Authentication-Results");
}

TEST(milter_session, multiple_signatures_sign_with_rsa_and_ed25519) {
  const char* table = "example.com rsa\nexample.com ed\n";
  std::string msg = message_from("example.com");
  decision d =
      run(make_env(table_config(table, table_kind::plain, true), nullptr), msg, kInternalAddr);
  EXPECT_EQ(d.log, "4ABC1: dir=sign d=example.com s=rsa d=example.com s=ed result=signed ms=0");
  auto results = verified(msg, d);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].algorithm, "rsa-sha256");
  EXPECT_EQ(results[1].algorithm, "ed25519-sha256");
  for (const auto& r : results) EXPECT_EQ(r.status, status::pass) << r.reason;
  // Without multiple_signatures, the first row alone.
  decision one =
      run(make_env(table_config(table, table_kind::plain, false), nullptr), msg, kInternalAddr);
  EXPECT_EQ(one.log, "4ABC1: dir=sign d=example.com s=rsa result=signed ms=0");
  EXPECT_EQ(verified(msg, one).size(), 1u);
}

TEST(milter_session, signer_column_gives_i) {
  std::string msg = message_from("mail.example.com");
  decision d =
      run(make_env(table_config(".example.com rsa:alice@mail.example.com\n", table_kind::plain),
                   nullptr),
          msg, kInternalAddr);
  auto results = verified(msg, d);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, status::pass) << results[0].reason;
  EXPECT_EQ(results[0].auid, "alice@mail.example.com");
  ASSERT_EQ(d.insert.size(), 1u);
  EXPECT_NE(d.insert[0].value.find("i=alice@mail.example.com;"), std::string::npos)
      << d.insert[0].value;
  // A signer outside d= gives no i= (as OpenDKIM does).
  decision outside = run(
      make_env(table_config(".example.com rsa:alice@example.org\n", table_kind::plain), nullptr),
      msg, kInternalAddr);
  ASSERT_EQ(outside.insert.size(), 1u);
  EXPECT_EQ(outside.insert[0].value.find(" i="), std::string::npos) << outside.insert[0].value;
  EXPECT_EQ(outside.insert[0].value.find(";i="), std::string::npos) << outside.insert[0].value;
}

// A key with "%" is read when a message needs it; a key that cannot be had then, or a row naming
// no key of the key table, tempfails the message: it is never relayed unsigned (row 78).
TEST(milter_session, table_keys_read_per_message_and_failures_tempfail) {
  test::temp_dir dir;
  std::string ed = dir.write("example.com.pem", test::ed25519().to_pem());
  ::chmod(ed.c_str(), 0600);
  auto keys = key_table::parse("dom %:ed:" + dir.path + "/%.pem\n", table_kind::plain, "KeyTable");
  ASSERT_TRUE(keys) << keys.error().detail;
  auto cfg = table_config("*@* dom\n", table_kind::refile);
  cfg->key_table = *keys;
  std::string msg = message_from("example.com");
  decision d = run(make_env(cfg, nullptr), msg, kInternalAddr);
  EXPECT_EQ(d.log, "4ABC1: dir=sign d=example.com s=ed result=signed ms=0");
  auto results = verified(msg, d);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, status::pass) << results[0].reason;

  auto missing_name = table_config("example.com nosuchkey\n", table_kind::plain);
  for (const auto& bad : {cfg, missing_name}) {
    bad->on_internal_error = action::accept;
    decision t = run(make_env(bad, nullptr),
                     message_from(bad == cfg ? "example.org" : "example.com"), kInternalAddr);
    expect_reply(t, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
    EXPECT_TRUE(t.insert.empty());
    EXPECT_EQ(t.log.rfind("4ABC1: internal error: signing table: ", 0), 0u) << t.log;
  }
}


// --- Key rotation (not_before / not_after) -----------------------------------------------------

// example.com rotating from RSA key "old" (until kNow + 1 day) to RSA key "new" (from kNow), so
// that both are valid for a day; the clock of each message is injected.
TEST(milter_session, key_rotation_switches_selector_at_the_given_time) {
  static_resolver dns;
  dns.add("old._domainkey.example.com", test::rsa1024().public_record());
  dns.add("new._domainkey.example.com", test::rsa2048().public_record());
  constexpr std::uint64_t kDay = 86400;
  auto cfg = make_config(mode::sign);
  cfg->keys = {key_for("example.com", "old", test::rsa1024()),
               key_for("example.com", "new", test::rsa2048())};
  cfg->keys[0].not_after = test::kNow + kDay;
  cfg->keys[1].not_before = test::kNow;
  auto env = make_env(cfg, nullptr);
  std::string msg = message_from("example.com");
  auto at = [&](std::uint64_t t) {
    session s(env, session_clock{[t] { return t; }, [] { return std::uint64_t{5000}; }});
    s.connect(AF_INET, kInternalAddr.data());
    s.start_message(false);
    s.set_queue_id("4ABC1");
    return feed(s, msg);
  };
  auto verified_at = [&](const decision& d, std::uint64_t t) {
    verify_options o = test::options_for(dns);
    o.now = [t] { return t; };
    return verify(delivered(msg, d), o);
  };
  // Before the switch: the old selector alone.
  decision before = at(test::kNow - 1);
  EXPECT_EQ(before.log, "4ABC1: dir=sign d=example.com s=old result=signed ms=0");
  auto r_before = verified_at(before, test::kNow - 1);
  ASSERT_EQ(r_before.size(), 1u);
  EXPECT_EQ(r_before[0].status, status::pass) << r_before[0].reason;
  EXPECT_EQ(r_before[0].selector, "old");
  // In the overlap (not_before included): both sign, and both signatures verify.
  for (std::uint64_t t : {test::kNow, test::kNow + kDay - 1}) {
    decision both = at(t);
    EXPECT_EQ(both.log,
              "4ABC1: dir=sign d=example.com s=old d=example.com s=new result=signed ms=0");
    auto r = verified_at(both, t);
    ASSERT_EQ(r.size(), 2u);
    for (const auto& v : r) EXPECT_EQ(v.status, status::pass) << v.selector << ": " << v.reason;
    EXPECT_EQ(r[0].selector, "old");
    EXPECT_EQ(r[1].selector, "new");
  }
  // After the switch (not_after excluded): the new selector alone.
  decision after = at(test::kNow + kDay);
  EXPECT_EQ(after.log, "4ABC1: dir=sign d=example.com s=new result=signed ms=0");
  auto r_after = verified_at(after, test::kNow + kDay);
  ASSERT_EQ(r_after.size(), 1u);
  EXPECT_EQ(r_after[0].status, status::pass) << r_after[0].reason;
  EXPECT_EQ(r_after[0].selector, "new");
  // A key with no not_before has no start: the old key signs at time 0.
  EXPECT_EQ(at(0).log, "4ABC1: dir=sign d=example.com s=old result=signed ms=0");
  // Keys without a window sign whatever the time.
  env = make_env(make_config(mode::sign), nullptr);
  for (std::uint64_t t : {std::uint64_t{0}, test::kNow, ~std::uint64_t{0}})
    EXPECT_EQ(at(t).log,
              "4ABC1: dir=sign d=example.com s=rsa d=example.com s=ed result=signed ms=0");
}

// Mail of a domain that has keys, none of them valid now, is deferred (never passed unsigned),
// whatever on_internal_error says; the log says which key and why.
TEST(milter_session, no_valid_key_of_the_domain_tempfails) {
  for (action on_error : {action::tempfail, action::accept}) {
    auto cfg = make_config(mode::both);
    cfg->on_internal_error = on_error;
    cfg->keys = {key_for("example.com", "old", test::rsa1024()),
                 key_for("example.com", "next", test::ed25519())};
    cfg->keys[0].not_after = test::kNow;        // expired at the clock's time
    cfg->keys[1].not_before = test::kNow + 60;  // not yet
    // A parent domain's valid key does not stand in for the closest domain's keys.
    cfg->keys.push_back(key_for("com", "any", test::ed25519()));
    decision d = run(make_env(cfg, nullptr), message_from("mail.example.com"), kInternalAddr);
    expect_reply(d, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
    EXPECT_TRUE(d.insert.empty());
    EXPECT_EQ(d.level, log_level::error);
    EXPECT_EQ(d.log,
              "4ABC1: internal error: no key of example.com is valid at 2026-01-01T00:00:00Z: "
              "s=old expired at 2026-01-01T00:00:00Z s=next valid from 2026-01-01T00:01:00Z");
    // All expired: the same.
    cfg->keys[1].not_before.reset();
    cfg->keys[1].not_after = test::kNow - 10;
    decision dead = run(make_env(cfg, nullptr), message_from("example.com"), kInternalAddr);
    expect_reply(dead, verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later");
    EXPECT_NE(dead.log.find("s=next expired at 2025-12-31T23:59:50Z"), std::string::npos)
        << dead.log;
    // An external client's mail of that domain is still verified, not deferred.
    decision ext = run(make_env(cfg, nullptr), message_from("example.com"), kExternalAddr);
    expect_reply(ext, verdict::proceed);
    ASSERT_EQ(ext.insert.size(), 1u);
    EXPECT_EQ(ext.insert[0].name, "Authentication-Results");
  }
}


// --- ARC ([arc]: verify, trusted_sealers, seal) ------------------------------------------------

// The keys of the ARC tests: example.org signs the original (ext), lists.example and
// other.example seal as forwarders (arc), example.net is this server's sealing domain (seal).
void publish_arc_keys(static_resolver& dns) {
  publish_keys(dns);
  dns.add("arc._domainkey.lists.example", test::rsa1024().public_record());
  dns.add("arc._domainkey.other.example", test::rsa1024().public_record());
  dns.add("seal._domainkey.example.net", test::ed25519().public_record());
}

std::shared_ptr<config> arc_config(std::vector<std::string> trusted = {}) {
  auto c = make_config(mode::verify);
  c->arc.verify = true;
  c->arc.trusted_sealers = std::move(trusted);
  return c;
}

void add_seal_key(config& c) {
  c.arc.seal = true;
  c.arc.seal_keys.push_back(key_for("example.net", "seal", test::ed25519()));
}

// With a new ARC set on top by `sealer` (selector arc, authserv-id mx.SEALER), recording
// `results`, or `message` unchanged (and a test failure) when sealing fails.
std::string arc_sealed(const std::string& message, std::string_view sealer, std::string results,
                       const txt_resolver& dns) {
  arc_seal_options o;
  o.signing.sdid = std::string(sealer);
  o.signing.selector = "arc";
  o.signing.key = test::rsa1024();
  o.authserv_id = "mx." + std::string(sealer);
  o.results = std::move(results);
  auto set = arc_seal(message, validate_arc(message, test::options_for(dns)), o, test::kNow);
  EXPECT_TRUE(set) << (set ? "" : set.error().message());
  if (!set) return message;
  std::string out;
  for (const auto& f : *set) out += f + "\r\n";
  return out + message;
}

// Mail of example.org signed by example.org, as a list forwards it: its footer breaks the
// signature, and `sealer` seals it recording `results` (what it found on arrival). `footer`
// false: the body stays as signed.
std::string forwarded(const txt_resolver& dns, std::string_view sealer,
                      std::string results = "dkim=pass header.d=example.org header.s=ext",
                      bool footer = true) {
  std::string m = signed_by(message_from("example.org"), "example.org", "ext", test::rsa2048());
  if (footer) m += "-- \r\nThe list\r\n";
  return arc_sealed(m, sealer, std::move(results), dns);
}

// The arc= result of an Authentication-Results field.
const auth_result* arc_of(const auth_results_field& ar) {
  for (const auto& r : ar.results)
    if (r.method == "arc") return &r;
  return nullptr;
}

std::string property(const auth_result& r, std::string_view name) {
  for (const auto& [k, v] : r.properties)
    if (k == name) return v;
  return {};
}

TEST(milter_arc, verify_adds_arc_none_with_the_remote_ip) {
  static_resolver dns;
  publish_arc_keys(dns);
  decision d = run(make_env(arc_config(), &dns),
                   signed_by(message_from("example.org"), "example.org", "ext", test::rsa2048()));
  auto ar = added_ar(d);
  ASSERT_EQ(ar.results.size(), 2u);
  EXPECT_EQ(ar.results[0].method, "dkim");
  const auth_result* arc = arc_of(ar);
  ASSERT_NE(arc, nullptr);
  EXPECT_EQ(arc->result, "none");
  EXPECT_EQ(property(*arc, "smtp.remote-ip"), "192.0.2.25");
  EXPECT_EQ(property(*arc, "header.oldest-pass"), "");
  EXPECT_NE(d.log.find(" arc=none"), std::string::npos) << d.log;
  // Without [arc] verify: no arc= entry, as before.
  decision off = run(make_env(make_config(mode::verify), &dns), message_from("example.org"));
  const auto off_ar = added_ar(off);
  EXPECT_EQ(arc_of(off_ar), nullptr);
  EXPECT_EQ(off.log.find("arc="), std::string::npos) << off.log;
}

TEST(milter_arc, a_passing_chain_gives_oldest_pass_and_a_failing_one_its_reason) {
  static_resolver dns;
  publish_arc_keys(dns);
  const std::string m = forwarded(dns, "lists.example");
  decision d = run(make_env(arc_config(), &dns), m);
  auto ar = added_ar(d);
  EXPECT_EQ(ar.results[0].result, "fail");  // the footer broke the signature
  const auth_result* arc = arc_of(ar);
  ASSERT_NE(arc, nullptr);
  EXPECT_EQ(arc->result, "pass");
  EXPECT_EQ(property(*arc, "header.oldest-pass"), "1");
  EXPECT_EQ(property(*arc, "smtp.remote-ip"), "192.0.2.25");
  EXPECT_EQ(property(*arc, "policy.arc-override"), "");  // no trusted sealer
  EXPECT_NE(d.log.find(" arc=pass"), std::string::npos) << d.log;

  // Changed after the seal: the chain fails, and says why in a comment.
  decision f = run(make_env(arc_config(), &dns), m + "changed\r\n");
  const auto failed_ar = added_ar(f);
  const auth_result* failed = arc_of(failed_ar);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->result, "fail");
  EXPECT_FALSE(failed->comment.empty());
  EXPECT_EQ(property(*failed, "header.oldest-pass"), "");
  EXPECT_NE(f.log.find(" arc=fail"), std::string::npos) << f.log;
}

// [limits] max_arc_key_lookups, read from the file, reaches the chain's validator: forwarded by
// two sealers, the chain needs two keys (lists.example's and other.example's), so a limit of 1
// fails it, naming the setting.
TEST(milter_arc, max_arc_key_lookups_bounds_the_keys_of_the_chain) {
  static_resolver dns;
  publish_arc_keys(dns);
  const std::string m = arc_sealed(forwarded(dns, "lists.example"), "other.example",
                                   "arc=pass header.oldest-pass=1", dns);
  decision d = run(make_env(arc_config(), &dns), m);
  const auto ar = added_ar(d);
  const auth_result* arc = arc_of(ar);
  ASSERT_NE(arc, nullptr);
  EXPECT_EQ(arc->result, "pass") << arc->comment;
  EXPECT_EQ(property(*arc, "header.oldest-pass"), "1");

  test::temp_dir dir;
  auto one = load_config(dir.write("c.toml", "authserv_id = \"" + std::string(kAuthservId) +
                                                 "\"\nmode = \"verify\"\n[arc]\nverify = true\n"
                                                 "[limits]\nmax_arc_key_lookups = 1\n"));
  ASSERT_TRUE(one) << one.error().detail;
  decision f = run(make_env(std::make_shared<config>(std::move(*one)), &dns), m);
  const auto failed_ar = added_ar(f);
  const auth_result* failed = arc_of(failed_ar);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->result, "fail");
  EXPECT_NE(failed->comment.find("max_arc_key_lookups"), std::string::npos) << failed->comment;
  EXPECT_NE(f.log.find(" arc=fail"), std::string::npos) << f.log;
}

TEST(milter_arc, a_trusted_sealer_overrides_on_no_pass_reject) {
  static_resolver dns;
  publish_arc_keys(dns);
  const std::string m = forwarded(dns, "lists.example");
  auto trusting = arc_config({"other.example", "lists.example"});
  trusting->on_no_pass = action::reject;
  decision d = run(make_env(trusting, &dns), m);
  expect_reply(d, verdict::proceed);
  const auto ar = added_ar(d);
  const auth_result* arc = arc_of(ar);
  ASSERT_NE(arc, nullptr);
  EXPECT_EQ(arc->result, "pass");
  EXPECT_EQ(property(*arc, "policy.arc-override"), "lists.example");
  EXPECT_NE(d.log.find(" arc=pass arc_override=lists.example"), std::string::npos) << d.log;

  // The same message where lists.example is not trusted: 550 5.7.20, no override.
  auto strict = arc_config({"other.example"});
  strict->on_no_pass = action::reject;
  decision r = run(make_env(strict, &dns), m);
  expect_reply(r, verdict::reject, "550", "5.7.20", "No passing DKIM signature found");
  const auto rejected_ar = added_ar(r);
  ASSERT_NE(arc_of(rejected_ar), nullptr);
  EXPECT_EQ(property(*arc_of(rejected_ar), "policy.arc-override"), "");
}

TEST(milter_arc, a_trusted_sealer_meets_a_requirement_of_the_from_domain) {
  static_resolver dns;
  publish_arc_keys(dns);
  const std::string m = forwarded(dns, "lists.example");
  auto trusting = arc_config({"lists.example"});
  trusting->requirements.push_back({"example.org", "example.org"});
  expect_reply(run(make_env(trusting, &dns), m), verdict::proceed);
  auto strict = arc_config();
  strict->requirements.push_back({"example.org", "example.org"});
  expect_reply(run(make_env(strict, &dns), m), verdict::reject, "550", "5.7.22",
               "No valid author-matched DKIM signature found");
  // The override vouches for the From domain only: another signer required stays unmet.
  auto other = arc_config({"lists.example"});
  other->requirements.push_back({"example.org", "esp.example"});
  EXPECT_EQ(run(make_env(other, &dns), m).reply, verdict::reject);
}

TEST(milter_arc, no_override_unless_every_condition_holds) {
  static_resolver dns;
  publish_arc_keys(dns);
  auto cfg = arc_config({"lists.example"});
  cfg->on_no_pass = action::reject;
  auto env = make_env(cfg, &dns);
  auto overridden = [&](const std::string& m) {
    decision d = run(env, m);
    const auto ar = added_ar(d);
    const auth_result* arc = arc_of(ar);
    EXPECT_NE(arc, nullptr);
    return std::pair(arc ? property(*arc, "policy.arc-override") : "", d.reply);
  };
  // All hold; header.i's domain counts like header.d.
  EXPECT_EQ(overridden(forwarded(dns, "lists.example")).first, "lists.example");
  EXPECT_EQ(overridden(forwarded(dns, "lists.example", "dkim=pass header.i=@example.org")).first,
            "lists.example");
  // An untrusted sealer, and a subdomain of a trusted one.
  EXPECT_EQ(overridden(forwarded(dns, "other.example")),
            std::pair(std::string(), verdict::reject));
  dns.add("arc._domainkey.sub.lists.example", test::rsa1024().public_record());
  EXPECT_EQ(overridden(forwarded(dns, "sub.lists.example")).first, "");
  // The sealer saw dkim=pass for another domain, or not a pass, or only in a comment.
  EXPECT_EQ(overridden(forwarded(dns, "lists.example", "dkim=pass header.d=example.com")).first,
            "");
  EXPECT_EQ(overridden(forwarded(dns, "lists.example", "dkim=fail header.d=example.org")).first,
            "");
  EXPECT_EQ(
      overridden(forwarded(dns, "lists.example", "spf=pass (dkim=pass header.d=example.org)"))
          .first,
      "");
  EXPECT_EQ(overridden(forwarded(dns, "lists.example",
                                 "dkim=pass header.d=example.org.evil header.i=x@example.org.evil"))
                .first,
            "");
  // An ARC-Authentication-Results that does not parse.
  EXPECT_EQ(overridden(forwarded(dns, "lists.example", "dkim=pass header.d=example.org; (")).first,
            "");
  // The chain fails (changed after the seal).
  EXPECT_EQ(overridden(forwarded(dns, "lists.example") + "changed\r\n"),
            std::pair(std::string(), verdict::reject));
  // DKIM passes anyway: nothing to override.
  auto intact = overridden(forwarded(dns, "lists.example",
                                     "dkim=pass header.d=example.org", /*footer=*/false));
  EXPECT_EQ(intact, std::pair(std::string(), verdict::proceed));
}

// The message as delivered, validated as the next hop validates it.
arc_validation chain_of(const std::string& delivered_message, const txt_resolver& dns) {
  return validate_arc(delivered_message, test::options_for(dns));
}

TEST(milter_arc, a_verified_message_is_sealed_with_the_results_added) {
  static_resolver dns;
  publish_arc_keys(dns);
  auto cfg = arc_config({"lists.example"});
  add_seal_key(*cfg);
  // A forged field of ours goes, and the seal covers the message without it.
  const std::string m = "Authentication-Results: mx.example.net; dkim=pass header.d=forged.example\r\n" +
                        forwarded(dns, "lists.example");
  decision d = run(make_env(cfg, &dns), m, kExternalAddr, false, 7);
  ASSERT_EQ(d.insert.size(), 4u) << d.log;  // AR, then AAR, AMS, AS
  EXPECT_EQ(d.insert[3].name, "ARC-Seal");
  EXPECT_NE(d.log.find(" arc_seal=i=2 d=example.net s=seal cv=pass"), std::string::npos) << d.log;
  const std::string out = delivered(m, d);
  arc_validation v = chain_of(out, dns);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  EXPECT_EQ(v.sets, 2u);
  ASSERT_TRUE(v.set_results[1].aar);
  EXPECT_EQ(v.set_results[1].aar->authserv_id, kAuthservId);
  const auth_results_field& aar = *v.set_results[1].aar;
  ASSERT_EQ(aar.results.size(), 2u);
  EXPECT_EQ(aar.results[0].method, "dkim");
  EXPECT_EQ(aar.results[0].result, "fail");
  EXPECT_EQ(aar.results[1].method, "arc");
  EXPECT_EQ(property(aar.results[1], "policy.arc-override"), "lists.example");
  EXPECT_EQ(out.find("forged.example"), std::string::npos);

  // Our set is the newest: the message coming back is not sealed again, and the log says why.
  decision again = run(make_env(cfg, &dns), out);
  EXPECT_EQ(again.insert.size(), 1u);
  EXPECT_NE(again.log.find("arc_seal=no (invalid argument: the newest ARC set already comes from mx.example.net"),
            std::string::npos)
      << again.log;
  EXPECT_EQ(again.reply, verdict::proceed);
}

TEST(milter_arc, unsigned_mail_is_sealed_with_cv_none) {
  static_resolver dns;
  publish_arc_keys(dns);
  auto cfg = arc_config();
  add_seal_key(*cfg);
  const std::string m = message_from("example.org");
  decision d = run(make_env(cfg, &dns), m, kExternalAddr, false, 3);
  arc_validation v = chain_of(delivered(m, d), dns);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason << " / " << d.log;
  EXPECT_EQ(v.sets, 1u);
  EXPECT_EQ(v.set_results[0].cv, "none");
}

TEST(milter_arc, a_message_over_max_seal_bytes_passes_unsealed) {
  static_resolver dns;
  publish_arc_keys(dns);
  auto cfg = arc_config();
  add_seal_key(*cfg);
  const std::string m = message_from("example.org", "", std::string(5000, 'x') + "\r\n");
  cfg->arc.max_seal_bytes = 4000;
  decision d = run(make_env(cfg, &dns), m, kExternalAddr, false, 512);
  expect_reply(d, verdict::proceed);
  ASSERT_EQ(d.insert.size(), 1u);
  EXPECT_EQ(d.insert[0].name, "Authentication-Results");
  EXPECT_NE(d.log.find("arc_seal=no (message over max_seal_bytes 4000)"), std::string::npos)
      << d.log;
  cfg->arc.max_seal_bytes = 6000;
  decision fits = run(make_env(cfg, &dns), m, kExternalAddr, false, 512);
  EXPECT_EQ(fits.insert.size(), 4u) << fits.log;
}

TEST(milter_arc, signed_mail_is_sealed_only_when_an_internal_client_resends_our_results) {
  static_resolver dns;
  publish_arc_keys(dns);
  auto cfg = make_config(mode::both);
  cfg->arc.verify = true;
  add_seal_key(*cfg);
  const std::string ours =
      "Authentication-Results: mx.example.net;\r\n\tdkim=pass (1024-bit rsa key) "
      "header.d=example.org header.i=\"a b\"@example.org;\r\n\tspf=pass smtp.mailfrom=example.org\r\n";
  const std::string m = message_from("example.com", ours);
  decision d = run(make_env(cfg, &dns), m, kInternalAddr);
  EXPECT_NE(d.log.find("result=signed removed_forged_ar=1 arc_seal=i=1 d=example.net"),
            std::string::npos)
      << d.log;
  const std::string out = delivered(m, d);
  EXPECT_TRUE(verify(out, test::options_for(dns)).front().status == status::pass);
  arc_validation v = chain_of(out, dns);
  ASSERT_EQ(v.result, arc_result::pass) << v.reason;
  ASSERT_TRUE(v.set_results[0].aar);
  const auth_results_field& aar = *v.set_results[0].aar;
  ASSERT_EQ(aar.results.size(), 2u);
  EXPECT_EQ(property(aar.results[0], "header.i"), "a b@example.org");
  EXPECT_EQ(aar.results[1].method, "spf");
  EXPECT_EQ(out.find("1024-bit"), std::string::npos);  // rewritten from the parse: no comments

  // Without our results, or from an authenticated client outside: signed, not sealed.
  decision plain = run(make_env(cfg, &dns), message_from("example.com"), kInternalAddr);
  EXPECT_EQ(plain.insert.size(), 2u);
  EXPECT_EQ(plain.log.find("arc_seal"), std::string::npos) << plain.log;
  decision outside = run(make_env(cfg, &dns), m, kExternalAddr, /*authenticated=*/true);
  EXPECT_EQ(outside.insert.size(), 2u);
  EXPECT_EQ(outside.log.find("arc_seal"), std::string::npos) << outside.log;
  // Results of ours that do not parse: signed, not sealed, said in the log.
  decision bad = run(make_env(cfg, &dns),
                     message_from("example.com", "Authentication-Results: mx.example.net; (\r\n"),
                     kInternalAddr);
  EXPECT_EQ(bad.insert.size(), 2u);
  EXPECT_NE(bad.log.find("arc_seal=no (no Authentication-Results field of ours parses)"),
            std::string::npos)
      << bad.log;
}

TEST(milter_arc, a_chain_whose_key_cannot_be_fetched_is_not_sealed) {
  static_resolver dns;
  publish_arc_keys(dns);
  const std::string m = forwarded(dns, "lists.example");
  dns.set_temporary("arc._domainkey.lists.example");
  auto cfg = arc_config({"lists.example"});
  add_seal_key(*cfg);
  decision d = run(make_env(cfg, &dns), m);
  expect_reply(d, verdict::proceed);
  ASSERT_EQ(d.insert.size(), 1u) << d.log;  // the Authentication-Results field only
  const auto ar = added_ar(d);
  ASSERT_NE(arc_of(ar), nullptr);
  EXPECT_EQ(arc_of(ar)->result, "fail");
  EXPECT_EQ(property(*arc_of(ar), "policy.arc-override"), "");
  EXPECT_NE(d.log.find("arc=fail arc_seal=no (chain not validated: "), std::string::npos) << d.log;
}

TEST(milter_arc, arc_policy_entry_is_bounded_and_quoted) {
  arc_validation v;
  v.result = arc_result::fail;
  v.reason = std::string(500, '(') + "\x01\xff";
  std::string e = arc_entry(v, "2001:db8::1", "");
  EXPECT_LT(e.size(), 450u);
  auto parsed = parse_auth_results("x; " + e);
  ASSERT_TRUE(parsed) << e;
  EXPECT_EQ(parsed->results[0].result, "fail");
  EXPECT_EQ(property(parsed->results[0], "smtp.remote-ip"), "2001:db8::1");
  EXPECT_EQ(rewritten_results({"x; (", "not an authentication-results"}), std::nullopt);
  EXPECT_EQ(rewritten_results({"x; none"}), "none");
}

}  // namespace
}  // namespace dkimkit::milter

namespace dkimkit::milter {
namespace {

// [replay] (issue 17), with a store that answers given counts or an error, and remembers what it
// was asked.
class fake_replay_store final : public replay_store {
 public:
  std::optional<replay_counts> answer;  // for every signature; nullopt: an error
  std::vector<replay_message> asked;
  std::vector<std::chrono::milliseconds> budgets;
  result<std::vector<replay_counts>> record(const replay_message& m,
                                            std::chrono::milliseconds budget) override {
    asked.push_back(m);
    budgets.push_back(budget);
    if (!answer) return fail(errc::io_error, "connection refused");
    return std::vector<replay_counts>(m.signatures.size(), *answer);
  }
};

replay_counts counts_from(std::uint64_t networks) {
  replay_counts c;
  c.messages = networks * 2;
  c.networks = networks;
  c.recipients = networks * 3;
  c.first_seen = test::kNow - 600;
  return c;
}

std::shared_ptr<config> replay_config_with(replay_action a) {
  auto c = make_config(mode::verify);
  c->replay.enabled = true;
  c->replay.on_replay = a;
  c->replay.budget = std::chrono::milliseconds(40);
  return c;
}

std::shared_ptr<const environment> replay_env(std::shared_ptr<const config> cfg,
                                              const txt_resolver* dns, replay_store* store) {
  auto e = std::make_shared<environment>();
  e->cfg = std::move(cfg);
  e->resolver = dns;
  e->replay = store;
  return e;
}

// One message from 192.0.2.25 to two recipients.
decision run_replay(std::shared_ptr<const environment> env, std::string_view message) {
  session s(std::move(env), fixed_clock());
  s.connect(AF_INET, kExternalAddr.data());
  s.start_message(false);
  s.set_queue_id("4ABC1");
  s.recipient("<Bob@Example.ORG>");
  s.recipient("<carol@example.org>");
  return feed(s, message);
}

const std::string& replay_signed() {
  static const std::string m =
      signed_by(message_from("example.com"), "example.com", "big", test::rsa2048());
  return m;
}

static_resolver& replay_dns() {
  static static_resolver dns;
  static bool once = (publish_keys(dns), true);
  (void)once;
  return dns;
}

std::string added_ar_text(const decision& d) {
  for (const auto& h : d.insert)
    if (h.name == "Authentication-Results") return h.value;
  return {};
}

TEST(milter_session_replay, tag_records_the_verdict_and_leaves_the_reply) {
  fake_replay_store store;
  store.answer = counts_from(11);
  decision d = run_replay(replay_env(replay_config_with(replay_action::tag), &replay_dns(), &store),
                          replay_signed());
  expect_reply(d, verdict::proceed);
  ASSERT_EQ(store.asked.size(), 1u);
  EXPECT_EQ(store.budgets[0].count(), 40);
  const replay_message& m = store.asked[0];
  EXPECT_EQ(m.network, "192.0.2.0/24");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"bob@example.org", "carol@example.org"}));
  ASSERT_EQ(m.signatures.size(), 1u);
  EXPECT_EQ(m.signatures[0].sdid, "example.com");
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(d.results[0].status, status::pass);  // tag: still a pass
  ASSERT_TRUE(d.results[0].replay);
  EXPECT_TRUE(d.results[0].replay->suspected);
  EXPECT_EQ(d.results[0].replay->networks, 11u);
  EXPECT_NE(added_ar_text(d).find("policy.dkim-replay=suspected"), std::string::npos)
      << added_ar_text(d);
  EXPECT_NE(d.log.find(" replay=counted suspected=1 "), std::string::npos) << d.log;

  // Under the thresholds: counted, not suspected, still in Authentication-Results.
  store.answer = counts_from(3);
  decision q = run_replay(replay_env(replay_config_with(replay_action::tag), &replay_dns(), &store),
                          replay_signed());
  expect_reply(q, verdict::proceed);
  ASSERT_TRUE(q.results[0].replay);
  EXPECT_FALSE(q.results[0].replay->suspected);
  EXPECT_NE(q.log.find(" replay=counted suspected=0 "), std::string::npos) << q.log;
  EXPECT_EQ(added_ar_text(q).find("replay"), std::string::npos) << added_ar_text(q);
}

TEST(milter_session_replay, policy_makes_a_suspected_signature_not_pass) {
  fake_replay_store store;
  store.answer = counts_from(11);
  auto cfg = replay_config_with(replay_action::policy);
  cfg->on_no_pass = action::reject;
  decision d = run_replay(replay_env(cfg, &replay_dns(), &store), replay_signed());
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(d.results[0].status, status::policy);
  EXPECT_EQ(d.results[0].code, errc::replay_suspected);
  EXPECT_EQ(d.reply, verdict::reject) << d.log;
  EXPECT_EQ(d.code, "550");

  // [[policy.require]]: the suspected signature no longer meets it.
  auto req = replay_config_with(replay_action::policy);
  req->requirements = {{"example.com", "example.com"}};
  decision r = run_replay(replay_env(req, &replay_dns(), &store), replay_signed());
  EXPECT_EQ(r.reply, verdict::reject) << r.log;
  EXPECT_EQ(r.code, "550");

  // Not suspected: the policy is met as before.
  store.answer = counts_from(2);
  decision ok = run_replay(replay_env(req, &replay_dns(), &store), replay_signed());
  expect_reply(ok, verdict::proceed);
  EXPECT_EQ(ok.results[0].status, status::pass);
}

TEST(milter_session_replay, tempfail_and_reject_answer_when_suspected) {
  fake_replay_store store;
  store.answer = counts_from(11);
  decision t =
      run_replay(replay_env(replay_config_with(replay_action::tempfail), &replay_dns(), &store),
                 replay_signed());
  expect_reply(t, verdict::tempfail, "451", "4.7.1",
               "DKIM signature replay suspected, try again later");
  EXPECT_NE(t.log.find("action=tempfail (on_replay)"), std::string::npos) << t.log;
  decision r =
      run_replay(replay_env(replay_config_with(replay_action::reject), &replay_dns(), &store),
                 replay_signed());
  expect_reply(r, verdict::reject, "550", "5.7.1", "DKIM signature replay suspected");
  EXPECT_NE(r.log.find("action=reject (on_replay)"), std::string::npos) << r.log;

  // Not suspected: no answer of its own.
  store.answer = counts_from(10);
  decision n =
      run_replay(replay_env(replay_config_with(replay_action::reject), &replay_dns(), &store),
                 replay_signed());
  expect_reply(n, verdict::proceed);
}

TEST(milter_session_replay, trusted_domain_is_counted_but_never_suspected) {
  fake_replay_store store;
  store.answer = counts_from(500);
  auto cfg = replay_config_with(replay_action::reject);
  cfg->replay.settings.trusted_domains = {"example.com"};
  decision d = run_replay(replay_env(cfg, &replay_dns(), &store), replay_signed());
  expect_reply(d, verdict::proceed);
  ASSERT_EQ(store.asked.size(), 1u);
  EXPECT_TRUE(store.asked[0].signatures[0].trusted);
  ASSERT_TRUE(d.results[0].replay);
  EXPECT_FALSE(d.results[0].replay->suspected);
  EXPECT_NE(d.log.find(" replay=counted suspected=0 "), std::string::npos) << d.log;
}

TEST(milter_session_replay, store_error_lets_the_message_go_on_uncounted) {
  fake_replay_store store;  // answers an error
  decision with =
      run_replay(replay_env(replay_config_with(replay_action::reject), &replay_dns(), &store),
                 replay_signed());
  ASSERT_EQ(store.asked.size(), 1u);
  expect_reply(with, verdict::proceed);
  EXPECT_FALSE(with.results[0].replay);
  EXPECT_EQ(with.results[0].status, status::pass);
  EXPECT_NE(with.log.find(" replay=uncounted "), std::string::npos) << with.log;
  // The same fields as with [replay] off.
  decision without = run(make_env(make_config(mode::verify), &replay_dns()), replay_signed());
  EXPECT_EQ(added_ar_text(with), added_ar_text(without));
}

TEST(milter_session_replay, no_call_without_a_passing_signature) {
  fake_replay_store store;
  store.answer = counts_from(11);
  auto env = replay_env(replay_config_with(replay_action::reject), &replay_dns(), &store);
  decision unsigned_msg = run_replay(env, message_from("example.com"));
  std::string broken = replay_signed();
  broken.replace(broken.rfind("noon"), 4, "nine");
  decision failed = run_replay(env, broken);
  EXPECT_TRUE(store.asked.empty());
  expect_reply(unsigned_msg, verdict::proceed);
  expect_reply(failed, verdict::proceed);
  EXPECT_EQ(unsigned_msg.log.find("replay="), std::string::npos) << unsigned_msg.log;
  // [replay] on but no store in the environment: nothing counted either.
  decision none =
      run_replay(replay_env(replay_config_with(replay_action::reject), &replay_dns(), nullptr),
                 replay_signed());
  expect_reply(none, verdict::proceed);
  EXPECT_FALSE(none.results[0].replay);
}

TEST(milter_session_replay, recipients_are_bounded_and_only_kept_when_counting) {
  fake_replay_store store;
  store.answer = counts_from(1);
  auto cfg = replay_config_with(replay_action::tag);
  cfg->replay.settings.max_recipients = 3;
  session s(replay_env(cfg, &replay_dns(), &store), fixed_clock());
  EXPECT_TRUE(s.wants_recipients());
  s.connect(AF_INET, kExternalAddr.data());
  s.start_message(false);
  for (int i = 0; i < 10; ++i) s.recipient("<r" + std::to_string(i) + "@example.org>");
  decision d = feed(s, replay_signed());
  ASSERT_EQ(store.asked.size(), 1u);
  EXPECT_EQ(store.asked[0].recipients.size(), 3u);

  session off(make_env(make_config(mode::verify), &replay_dns()), fixed_clock());
  EXPECT_FALSE(off.wants_recipients());
}

}  // namespace
}  // namespace dkimkit::milter
