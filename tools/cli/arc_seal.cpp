// dkimkit arc-seal: validate a message's ARC chain and add the set i=N+1 on top (RFC 8617 §5.1).
#include <ctime>
#include <dkimkit/arc.hpp>
#include <dkimkit/message.hpp>
#include <iostream>
#include <memory>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct arc_seal_args {
  std::string key, domain, selector, authserv_id;
  std::string canon = "relaxed/relaxed";
  std::string headers;
  dns_args dns;
  std::optional<std::uint64_t> now;
  std::string file = "-";
};

int run_arc_seal(const arc_seal_args& a) {
  auto canon = parse_canonicalization(a.canon);
  if (!canon) {
    complain("-c must be simple or relaxed, optionally followed by /simple or /relaxed");
    return exit_usage;
  }
  int status = exit_ok;
  auto key = load_signing_key(a.key, status);
  if (!key) return status;
  std::unique_ptr<txt_resolver> resolver = make_resolver(a.dns, status);
  if (!resolver) return status;
  std::string why;
  auto message = read_input(a.file, why);
  if (!message) {
    complain(why);
    return exit_noinput;
  }
  const std::uint64_t now = a.now.value_or(static_cast<std::uint64_t>(std::time(nullptr)));

  verify_settings check;
  check.now = now;
  verify_options vopts = to_verify_options(check);
  vopts.resolver = resolver.get();
  arc_validation chain = validate_arc(*message, vopts);

  arc_seal_options o;
  o.signing.sdid = a.domain;
  o.signing.selector = a.selector;
  o.signing.key = std::move(*key);
  o.signing.header_canon = canon->header;
  o.signing.body_canon = canon->body;
  if (!a.headers.empty()) o.signing.headers = split_header_names(a.headers);
  o.authserv_id = a.authserv_id;
  const std::string name = a.file == "-" ? std::string("standard input") : a.file;
  auto fields = arc_seal(*message, chain, o, now);
  if (!fields) {
    complain(name + ": not sealed (chain: arc=" + std::string(to_string(chain.result)) +
             (chain.reason.empty() ? std::string() : ", " + chain.reason) +
             "): " + fields.error().message());
    // A key that could not be fetched for now: the MTA should try again later.
    return fields.error().code == errc::dns_temporary ? exit_deferred : exit_data;
  }
  if (chain.result == arc_result::fail)
    complain(name + ": warning: the chain failed (" + chain.reason + "); sealed with cv=fail");
  line_ending ending = uses_crlf(*message) ? line_ending::crlf : line_ending::lf;
  for (const auto& f : *fields) std::cout << with_line_endings(f + "\r\n", ending);
  std::cout << *message;
  return exit_ok;
}

}  // namespace

void add_arc_seal_command(CLI::App& app, int& status) {
  auto args = std::make_shared<arc_seal_args>();
  CLI::App* cmd = app.add_subcommand(
      "arc-seal",
      "Validate a message's ARC chain and write it to stdout with a new ARC set on top");
  cmd->add_option("-k,--key", args->key,
                  "private key: PEM (PKCS#8 or PKCS#1) or a base64 "
                  "Ed25519 seed")
      ->required();
  cmd->add_option("-d,--domain", args->domain, "sealing domain (d= of the AMS and the seal)")
      ->required();
  cmd->add_option("-s,--selector", args->selector, "selector (s=)")->required();
  cmd->add_option("--authserv-id", args->authserv_id,
                  "this server's authserv-id: its Authentication-Results fields become the "
                  "ARC-Authentication-Results; a chain whose newest set has it is refused")
      ->required();
  cmd->add_option("-c,--canonicalization", args->canon,
                  "header/body canonicalization of the ARC-Message-Signature")
      ->capture_default_str();
  cmd->add_option("--headers", args->headers,
                  "colon-separated header fields the ARC-Message-Signature signs (default: those "
                  "of sign, and DKIM-Signature)");
  add_dns_options(*cmd, args->dns);
  cmd->add_option("--now", args->now, "Unix time to validate and seal at (default: the clock)");
  cmd->add_option("FILE", args->file, "message to seal (default: standard input)");
  cmd->footer(
      "Exit 0 when sealed, 65 when the message cannot be sealed (its newest set comes from\n"
      "this authserv-id, the chain has cv=fail or 50 sets, no Authentication-Results of the\n"
      "authserv-id) or the key or zone file is unusable, 66 when an input cannot be read, 75\n"
      "when a key of the chain could not be fetched for now (try again later: sealing would\n"
      "fail the chain for good).");
  cmd->callback([args, &status] { status = run_arc_seal(*args); });
}

}  // namespace dkimkit::cli
