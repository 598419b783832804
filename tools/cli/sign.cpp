// dkimkit sign: add DKIM-Signature fields on top of a message.
#include <ctime>
#include <dkimkit/message.hpp>
#include <dkimkit/signer.hpp>
#include <iostream>
#include <memory>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct sign_args {
  std::vector<std::string> keys, domains, selectors, algorithms;
  std::string canon = "relaxed/relaxed";
  std::string headers;
  std::string identity;
  bool body_length = false;
  bool no_timestamp = false;
  std::optional<std::uint64_t> expire;
  std::optional<std::uint64_t> now;
  std::string file = "-";
};

int run_sign(const sign_args& a) {
  std::size_t n = a.keys.size();
  auto pick = [&](const std::vector<std::string>& v, std::size_t i) -> const std::string& {
    return v.size() == 1 ? v[0] : v[i];
  };
  if ((a.domains.size() != 1 && a.domains.size() != n) ||
      (a.selectors.size() != 1 && a.selectors.size() != n) ||
      (!a.algorithms.empty() && a.algorithms.size() != 1 && a.algorithms.size() != n)) {
    complain("give -d, -s and -a once, or once per -k");
    return exit_usage;
  }
  auto canon = parse_canonicalization(a.canon);
  if (!canon) {
    complain("-c must be simple or relaxed, optionally followed by /simple or /relaxed");
    return exit_usage;
  }
  std::vector<sign_options> opts;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& path = a.keys[i];
    int status = exit_ok;
    auto key = load_signing_key(path, status);
    if (!key) return status;
    sign_options o;
    o.sdid = pick(a.domains, i);
    o.selector = pick(a.selectors, i);
    o.key = std::move(*key);
    if (!a.algorithms.empty()) {
      auto alg = parse_algorithm(pick(a.algorithms, i));
      if (!alg) {
        complain("unknown algorithm '" + pick(a.algorithms, i) +
                 "' (rsa-sha256 or ed25519-sha256)");
        return exit_usage;
      }
      o.algo = *alg;
    }
    o.header_canon = canon->header;
    o.body_canon = canon->body;
    if (!a.headers.empty()) {
      o.headers = split_header_names(a.headers);
    }
    if (!a.identity.empty()) o.auid = a.identity;
    o.timestamp = !a.no_timestamp;
    o.expire_after = a.expire;
    o.body_length = a.body_length;
    opts.push_back(std::move(o));
  }
  std::string why;
  auto message = read_input(a.file, why);
  if (!message) {
    complain(why);
    return exit_noinput;
  }
  std::uint64_t now = a.now.value_or(static_cast<std::uint64_t>(std::time(nullptr)));
  auto fields = sign(*message, std::move(opts), now);
  if (!fields) {
    complain((a.file == "-" ? std::string("standard input") : a.file) + ": " +
             fields.error().message());
    return fields.error().code == errc::invalid_argument ? exit_usage : exit_data;
  }
  line_ending ending = uses_crlf(*message) ? line_ending::crlf : line_ending::lf;
  for (const auto& f : *fields) std::cout << with_line_endings(f + "\r\n", ending);
  std::cout << *message;
  return exit_ok;
}

}  // namespace

void add_sign_command(CLI::App& app, int& status) {
  auto args = std::make_shared<sign_args>();
  CLI::App* cmd = app.add_subcommand(
      "sign", "Sign a message; write it to stdout with the DKIM-Signature field(s) on top");
  cmd->add_option("-k,--key", args->keys,
                  "private key: PEM (PKCS#8 or PKCS#1) or a base64 Ed25519 seed; repeat for "
                  "several signatures")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("-d,--domain", args->domains, "signing domain (d=); once, or once per key")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("-s,--selector", args->selectors, "selector (s=); once, or once per key")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("-a,--algorithm", args->algorithms,
                  "rsa-sha256 or ed25519-sha256 (default: from the key)")
      ->allow_extra_args(false);
  cmd->add_option("-c,--canonicalization", args->canon, "header/body canonicalization")
      ->capture_default_str();
  cmd->add_option("--headers", args->headers,
                  "colon-separated header fields to sign (default: From, To, Cc, Subject, "
                  "Date, Message-ID, ... those present, with From over-signed)");
  cmd->add_option("-i,--identity", args->identity, "agent or user identifier (i=)");
  cmd->add_flag("--body-length", args->body_length,
                "add l= (the body length); risky: content can be appended after signing");
  cmd->add_option("--expire", args->expire, "add x= this many seconds after t=");
  cmd->add_flag("--no-timestamp", args->no_timestamp, "leave out t=");
  cmd->add_option("--now", args->now, "Unix time to sign at (default: the clock)");
  cmd->add_option("FILE", args->file, "message to sign (default: standard input)");
  cmd->callback([args, &status] { status = run_sign(*args); });
}

}  // namespace dkimkit::cli
