// dkimkit check-key: is the key record published for DOMAIN and SELECTOR right?
#include <dkimkit/key_record.hpp>
#include <dkimkit/signer.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct check_args {
  std::string domain, selector, key;
  dns_args dns;
  bool json = false;
  colour_mode colour = colour_mode::automatic;
};

enum class level { ok, info, warning, error };

struct finding {
  level lvl;
  std::string text;
};

std::string_view word(level l) {
  switch (l) {
    case level::ok:
      return "ok";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
  }
  return "?";
}

// The exit statuses, documented in --help.
constexpr int kGood = 0, kWarnings = 1, kBad = 2, kTemporary = 75;

int run_check(const check_args& a) {
  int status = exit_ok;
  std::unique_ptr<txt_resolver> dns = make_resolver(a.dns, status);
  if (!dns) return status;
  std::optional<private_key> priv;
  if (!a.key.empty()) {
    auto k = private_key::load_file(a.key);
    if (!k) {
      complain(k.error().detail);
      return k.error().code == errc::io_error ? exit_noinput : exit_data;
    }
    priv = std::move(*k);
  }

  const std::string name = key_name(a.selector, a.domain);
  std::vector<finding> found;
  auto add = [&](level l, std::string t) { found.push_back({l, std::move(t)}); };

  txt_answer ans = dns->lookup_txt(name);
  if (ans.dnssec != dnssec_status::unknown)
    add(ans.dnssec == dnssec_status::secure ? level::ok : level::info,
        "DNSSEC: " + std::string(to_string(ans.dnssec)));
  // The verifier's reading of the answer, with each TXT record that is not a key record noted.
  std::size_t key_records = 0;
  std::size_t record_size = 0;
  if (ans.status == dns_status::found) {
    for (const auto& r : ans.records) {
      if (looks_like_key_record(r)) {
        ++key_records;
        record_size = r.size();
      } else {
        add(level::info,
            "ignored a TXT record that is not a DKIM key: \"" + r.substr(0, 40) + "\"");
      }
    }
  }
  result<key_record> parsed = key_record_from_answer(ans, name);
  const errc why = parsed ? errc::ok : parsed.error().code;
  const bool temporary = why == errc::dns_temporary;
  if (temporary) {
    add(level::error, "could not fetch " + name + ": " + ans.detail + " (try again)");
  } else if (why == errc::key_not_found) {
    add(level::error,
        ans.status == dns_status::nxdomain
            ? name + " does not exist (NXDOMAIN): nothing is published for this selector"
        : ans.status == dns_status::nodata
            ? name + " exists but has no TXT record"
            : name + " has TXT records but none is a DKIM key record");
  } else if (why == errc::key_ambiguous) {
    add(level::error, std::to_string(key_records) +
                          " DKIM key records at the name: verifiers refuse ambiguous keys (RFC "
                          "6376 §3.6.2.2); keep one");
  } else {  // one key record, parsed or not
    if (record_size > 255)
      add(level::info, "the record is " + std::to_string(record_size) +
                           " bytes: it must be published as several quoted strings of at most "
                           "255 bytes each (they are joined)");
    if (parsed)
      add(level::ok, "record syntax is valid");
    else
      add(level::error, "the record is not usable: " + parsed.error().message());
  }
  std::optional<key_record> rec;
  if (parsed) rec = std::move(*parsed);
  if (rec) {
    const key_record& k = *rec;
    // What a verifier says of the signatures dkimkit makes with this key (a= of the key's type,
    // no i=), with the verifier's RSA floor.
    signature made;
    made.algo = k.type == key_type::ed25519 ? algorithm::ed25519_sha256 : algorithm::rsa_sha256;
    made.sdid = a.domain;
    made.selector = a.selector;
    const std::vector<error> problems = key_record_problems(k, made);
    auto problem = [&](errc c) {
      return std::any_of(problems.begin(), problems.end(),
                         [c](const error& e) { return e.code == c; });
    };
    unsigned bits = k.key->bits();
    if (k.type == key_type::ed25519) {
      add(level::ok, "Ed25519 key (RFC 8463)");
      add(level::info, "some verifiers do not know Ed25519 yet: sign with an RSA key too");
    } else if (problem(errc::key_too_small)) {
      add(level::error, "RSA key of " + std::to_string(bits) +
                            " bits: verifiers refuse keys under " +
                            std::to_string(rfc8301_min_rsa_bits) + " bits (RFC 8301 §3.2)");
    } else if (bits < 2048) {
      add(level::warning, "RSA key of " + std::to_string(bits) + " bits: 2048 bits are advised");
    } else {
      add(level::ok, "RSA key of " + std::to_string(bits) + " bits");
    }
    if (k.testing)
      add(level::warning,
          "t=y: the domain says it is testing DKIM; verifiers may ignore failures — remove the "
          "flag once signing works");
    if (k.strict) add(level::info, "t=s: i= must be exactly d=, not a subdomain");
    if (problem(errc::key_hash_mismatch))
      add(level::error,
          "h= allows only sha1: rsa-sha256 signatures will fail and rsa-sha1 is refused (RFC "
          "8301)");
    if (priv) {
      // Compare the public keys themselves (the DER in DNS may be SPKI or
      // PKCS#1).
      auto mine = parse_key_record(priv->public_record());
      bool same = mine && mine->key->same_as(*k.key);
      if (same)
        add(level::ok, "the private key " + a.key + " matches the published key");
      else
        add(level::error,
            "the private key " + a.key +
                " does NOT match the published key: signatures made with it will fail");
    }
  }

  bool error = false, warning = false;
  for (const auto& f : found) {
    error = error || f.lvl == level::error;
    warning = warning || f.lvl == level::warning;
  }
  std::string verdict = temporary ? "temperror"
                        : error   ? "bad"
                        : warning ? "good, with warnings"
                                  : "good";
  int rc = temporary ? kTemporary : error ? kBad : warning ? kWarnings : kGood;
  if (a.json) {
    nlohmann::json j = {
        {"name", name}, {"verdict", verdict}, {"findings", nlohmann::json::array()}};
    for (const auto& f : found)
      j["findings"].push_back({{"level", word(f.lvl)}, {"message", f.text}});
    if (rec) {
      j["key_type"] = to_string(rec->type);
      j["key_bits"] = rec->key->bits();
    }
    std::cout << json_line(j) << "\n";
  } else {
    const bool colour = use_colour(a.colour);
    auto paint = [&](level l, std::string_view s) {
      tone t = l == level::ok        ? tone::good
               : l == level::warning ? tone::warn
               : l == level::error   ? tone::bad
                                     : tone::dim;
      return cli::paint(colour, t, s);
    };
    std::cout << terminal_safe(name) << "\n";
    for (const auto& f : found) {
      std::string w(word(f.lvl));
      w.resize(8, ' ');
      std::cout << "  " << paint(f.lvl, w) << terminal_safe(f.text) << "\n";
    }
    level v = temporary || error ? level::error : warning ? level::warning : level::ok;
    std::cout << "verdict: " << paint(v, verdict) << "\n";
  }
  return rc;
}

}  // namespace

void add_check_key_command(CLI::App& app, int& status) {
  auto args = std::make_shared<check_args>();
  CLI::App* cmd = app.add_subcommand(
      "check-key", "Check the key record published at SELECTOR._domainkey.DOMAIN");
  cmd->add_option("-d,--domain", args->domain, "signing domain")->required();
  cmd->add_option("-s,--selector", args->selector, "selector")->required();
  cmd->add_option("-k,--key", args->key, "private key: check that it matches the published key");
  add_dns_options(*cmd, args->dns);
  cmd->add_flag("--json", args->json, "one JSON object: name, verdict, findings, key");
  add_colour_option(*cmd, args->colour);
  cmd->footer(
      "Exit status: 0 good; 1 good, with warnings (t=y, RSA under 2048 bits); 2 bad (no "
      "record,\nunusable record, RSA under " +
      std::to_string(rfc8301_min_rsa_bits) +
      " bits, several key records, private key does not "
      "match);\n75 the record could not be fetched (try again); 64-66 as for the other commands.");
  cmd->callback([args, &status] { status = run_check(*args); });
}

}  // namespace dkimkit::cli
