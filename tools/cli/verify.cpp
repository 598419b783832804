// dkimkit verify: check the DKIM signatures of messages.
#include <unistd.h>

#include <ctime>
#include <deque>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <dkimkit/auth_results.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/verifier.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct verify_args {
  std::vector<std::string> files;
  std::string zone;
  std::vector<std::string> resolvers;
  std::string trust_anchor;
  unsigned dns_timeout_ms = 5000;
  bool stats = false;
  std::vector<std::string> require;
  bool json = false;
  std::string authserv_id;
  bool allow_sha1 = false;
  bool allow_partial_body = false;
  unsigned min_rsa_bits = 1024;
  std::size_t max_signatures = 5;
  std::optional<std::uint64_t> now;
};

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

nlohmann::json to_json(const std::string& file, const std::vector<verification>& results,
                       const std::string& from_domain) {
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& v : results) {
    nlohmann::json s = {{"result", to_string(v.status)},
                        {"domain", v.sdid},
                        {"selector", v.selector},
                        {"algorithm", v.algorithm},
                        {"reason", v.reason}};
    if (!v.auid.empty()) s["identity"] = v.auid;
    if (v.key_bits) s["key_bits"] = v.key_bits;
    if (v.testing) s["testing"] = true;
    if (v.body_length) s["body_length"] = *v.body_length;
    if (v.dnssec != dnssec_status::unknown) s["dnssec"] = to_string(v.dnssec);
    if (v.status == status::pass) s["aligned"] = to_string(align(v.sdid, from_domain));
    sigs.push_back(std::move(s));
  }
  nlohmann::json out = {{"file", file}, {"result", to_string(overall(results))}, {"signatures", sigs}};
  if (!from_domain.empty()) out["from_domain"] = from_domain;
  return out;
}

// Where keys come from: a zone file (offline), or DNS through libunbound.
std::unique_ptr<txt_resolver> make_resolver(const verify_args& a, int& status) {
  if (!a.zone.empty()) {
    if (!a.resolvers.empty() || !a.trust_anchor.empty()) {
      complain("--zone reads keys from a file; it does not go with --resolver or --trust-anchor");
      status = exit_usage;
      return nullptr;
    }
    auto z = zone_resolver::load_file(a.zone);
    if (!z) {
      complain(z.error().detail.empty() ? z.error().message() : z.error().detail);
      status = z.error().code == errc::io_error ? exit_noinput : exit_data;
      return nullptr;
    }
    return std::make_unique<zone_resolver>(std::move(*z));
  }
  unbound_options o;
  o.servers = a.resolvers;
  o.trust_anchor_file = a.trust_anchor;
  o.timeout = std::chrono::milliseconds(a.dns_timeout_ms);
  auto dns = unbound_resolver::create(std::move(o));
  if (!dns) {
    complain(dns.error().message());
    status = exit_usage;
    return nullptr;
  }
  return std::move(*dns);
}

int run_verify(verify_args& a) {
  int status = exit_ok;
  std::unique_ptr<txt_resolver> resolver = make_resolver(a, status);
  if (!resolver) return status;
  verify_options opts;
  opts.resolver = resolver.get();
  key_cache keys;
  opts.keys = &keys;
  std::uint64_t now = a.now.value_or(static_cast<std::uint64_t>(std::time(nullptr)));
  opts.now = [now] { return now; };
  opts.allow_sha1 = a.allow_sha1;
  opts.allow_partial_body = a.allow_partial_body;
  opts.min_rsa_bits = a.min_rsa_bits;
  opts.max_signatures = a.max_signatures;
  if (a.authserv_id.empty()) a.authserv_id = hostname();
  if (a.files.empty()) a.files.push_back("-");

  std::optional<local_policy> policy;
  if (!a.require.empty()) {
    policy.emplace();
    if (a.require.size() == 1 && a.require[0] == "any") {
      policy->require = requirement::any;
    } else if (a.require.size() == 1 && a.require[0] == "aligned") {
      policy->require = requirement::aligned;
    } else {
      policy->require = requirement::domains;
      policy->domains = a.require;
    }
  }
  bool rejected = false, deferred = false;
  auto print = [&](const std::string& file, verifier& v) {
    std::vector<verification> results = v.finish();
    std::string from = from_domain_of(v.from_field());
    std::optional<smtp_reply> reply;
    if (policy) reply = smtp_reply_for(results, from, *policy);
    if (reply) (reply->code >= 500 ? rejected : deferred) = true;
    if (a.json) {
      nlohmann::json j = to_json(file, results, from);
      if (policy) j["reply"] = reply ? reply->line() : "250 2.0.0 accepted";
      std::cout << j.dump() << "\n";
    } else {
      if (a.files.size() > 1) std::cout << "# " << file << "\n";
      std::cout << with_line_endings(format_auth_results(a.authserv_id, results), false) << "\n";
      if (policy) std::cout << (reply ? reply->line() : "250 2.0.0 accepted") << "\n";
    }
  };
  // Each message's key lookups start when its header has been read; up to kWindow messages are
  // read ahead before the oldest is finished, so that the lookups of a batch overlap. Results are
  // printed in the order of the files.
  constexpr std::size_t kWindow = 256;
  std::deque<std::pair<std::string, verifier>> pending;
  for (const auto& file : a.files) {
    // Streamed in chunks: memory stays bounded by the header block, whatever the body's size.
    verifier v(opts);
    std::string why;
    if (!read_chunks(file, [&](std::string_view chunk) { v.update(chunk); }, why)) {
      complain(why);
      status = exit_noinput;
      continue;
    }
    pending.emplace_back(file, std::move(v));
    if (pending.size() >= kWindow) {
      print(pending.front().first, pending.front().second);
      pending.pop_front();
    }
  }
  for (auto& [file, v] : pending) print(file, v);
  if (a.stats) {
    std::cerr << "dkimkit: key cache: " << keys.hits() << " hits, " << keys.misses()
              << " misses\n";
    if (const auto* u = dynamic_cast<const unbound_resolver*>(resolver.get())) {
      resolver_stats s = u->stats();
      std::cerr << "dkimkit: DNS: " << s.lookups << " lookups, " << s.cache_hits
                << " cache hits, " << s.joined << " joined in flight, " << s.queries
                << " queries, " << s.timeouts << " timeouts\n";
    }
  }
  if (status == exit_ok && rejected) status = exit_rejected;
  if (status == exit_ok && deferred) status = exit_deferred;
  return status;
}

}  // namespace

void add_verify_command(CLI::App& app, int& status) {
  auto args = std::make_shared<verify_args>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Verify the DKIM signatures of messages; print Authentication-Results or JSON");
  cmd->add_option("FILE", args->files, "messages to verify (default: standard input)");
  cmd->add_option("--zone", args->zone,
                  "read key records from this RFC 1035 zone file instead of DNS (offline)");
  cmd->add_option("--resolver", args->resolvers,
                  "DNS server to ask, IP or IP@PORT; repeatable (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  cmd->add_option("--dns-timeout", args->dns_timeout_ms,
                  "milliseconds one key lookup may take before it is a temperror")
      ->capture_default_str();
  cmd->add_option("--trust-anchor", args->trust_anchor,
                  "DNSSEC trust anchors (DS or DNSKEY records); validates every key lookup");
  cmd->add_flag("--stats", args->stats, "print key cache and DNS statistics on stderr");
  cmd->add_option("--require", args->require,
                  "local policy: any (a passing signature), aligned (one aligned with From), or "
                  "the domains one of which must sign; prints the SMTP reply (RFC 7372) and exits "
                  "1 when a message is rejected (5xx), 75 when deferred (4xx); domains: "
                  "--require a.example,b.example or the option repeated")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd->add_flag("--json", args->json,
                "one JSON object per message: {file, result, signatures: [...]}");
  cmd->add_option("--authserv-id", args->authserv_id,
                  "authserv-id of the Authentication-Results field (default: host name)");
  cmd->add_flag("--allow-sha1", args->allow_sha1, "accept rsa-sha1 (refused by RFC 8301)");
  cmd->add_flag("--allow-partial-body", args->allow_partial_body,
                "accept l= that leaves part of the body unsigned");
  cmd->add_option("--min-rsa-bits", args->min_rsa_bits, "smallest RSA key accepted")
      ->capture_default_str();
  cmd->add_option("--max-signatures", args->max_signatures,
                  "signatures evaluated per message; the rest get policy")
      ->capture_default_str();
  cmd->add_option("--now", args->now, "Unix time to verify at (default: the clock)");
  cmd->footer(
      "Result per message: the best of its signatures in the order pass, temperror, policy,\n"
      "fail, neutral, permerror; none when it has no signature. Exit 0 whatever the results,\n"
      "66 when an input cannot be read, 65 when the zone file is unusable.");
  cmd->callback([args, &status] { status = run_verify(*args); });
}

}  // namespace dkimkit::cli
