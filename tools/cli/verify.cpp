// dkimkit verify: check the DKIM signatures of messages.
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <dkimkit/auth_results.hpp>
#include <dkimkit/verifier.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct verify_args {
  std::vector<std::string> files;
  std::string zone;
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

nlohmann::json to_json(const std::string& file, const std::vector<verification>& results) {
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
    sigs.push_back(std::move(s));
  }
  return {{"file", file}, {"result", to_string(overall(results))}, {"signatures", sigs}};
}

int run_verify(verify_args& a) {
  std::unique_ptr<txt_resolver> resolver;
  if (!a.zone.empty()) {
    auto z = zone_resolver::load_file(a.zone);
    if (!z) {
      complain(z.error().detail.empty() ? z.error().message() : z.error().detail);
      return z.error().code == errc::io_error ? exit_noinput : exit_data;
    }
    resolver = std::make_unique<zone_resolver>(std::move(*z));
  } else {
    complain("no key source: give --zone FILE (DNS lookups come with the resolver work)");
    return exit_usage;
  }
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

  int status = exit_ok;
  for (const auto& file : a.files) {
    // Streamed in chunks: memory stays bounded by the header block, whatever the body's size.
    verifier v(opts);
    std::string why;
    if (!read_chunks(file, [&](std::string_view chunk) { v.update(chunk); }, why)) {
      complain(why);
      status = exit_noinput;
      continue;
    }
    auto results = v.finish();
    if (a.json) {
      std::cout << to_json(file, results).dump() << "\n";
    } else {
      if (a.files.size() > 1) std::cout << "# " << file << "\n";
      std::cout << with_line_endings(format_auth_results(a.authserv_id, results), false) << "\n";
    }
  }
  return status;
}

}  // namespace

void add_verify_command(CLI::App& app, int& status) {
  auto args = std::make_shared<verify_args>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Verify the DKIM signatures of messages; print Authentication-Results or JSON");
  cmd->add_option("FILE", args->files, "messages to verify (default: standard input)");
  cmd->add_option("--zone", args->zone,
                  "RFC 1035 zone file holding the key records (offline keys)")
      ->required();
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
