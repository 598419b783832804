// dkimkit check-key: is the key record published for DOMAIN and SELECTOR right?
#include <unistd.h>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <dkimkit/key_record.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct check_args {
  std::string domain, selector, key, zone, trust_anchor;
  std::vector<std::string> resolvers;
  unsigned dns_timeout_ms = 5000;
  bool json = false;
};

enum class level { ok, info, warning, error };

struct finding {
  level lvl;
  std::string text;
};

std::string_view word(level l) {
  switch (l) {
    case level::ok: return "ok";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
  }
  return "?";
}

// The exit statuses, documented in --help.
constexpr int kGood = 0, kWarnings = 1, kBad = 2, kTemporary = 75;

int run_check(const check_args& a) {
  std::unique_ptr<txt_resolver> dns;
  if (!a.zone.empty()) {
    auto z = zone_resolver::load_file(a.zone);
    if (!z) {
      complain(z.error().detail);
      return z.error().code == errc::io_error ? exit_noinput : exit_data;
    }
    dns = std::make_unique<zone_resolver>(std::move(*z));
  } else {
    unbound_options o;
    o.servers = a.resolvers;
    o.trust_anchor_file = a.trust_anchor;
    o.timeout = std::chrono::milliseconds(a.dns_timeout_ms);
    auto u = unbound_resolver::create(std::move(o));
    if (!u) {
      complain(u.error().message());
      return exit_usage;
    }
    dns = std::move(*u);
  }
  std::optional<private_key> priv;
  if (!a.key.empty()) {
    auto k = private_key::load_file(a.key);
    if (!k) {
      complain(k.error().detail);
      return k.error().code == errc::io_error ? exit_noinput : exit_data;
    }
    priv = std::move(*k);
  }

  std::string name = a.selector + "._domainkey." + a.domain;
  std::vector<finding> found;
  auto add = [&](level l, std::string t) { found.push_back({l, std::move(t)}); };
  std::optional<key_record> rec;
  bool temporary = false;

  txt_answer ans = dns->lookup_txt(name);
  if (ans.dnssec != dnssec_status::unknown)
    add(ans.dnssec == dnssec_status::secure ? level::ok : level::info,
        "DNSSEC: " + std::string(to_string(ans.dnssec)));
  switch (ans.status) {
    case dns_status::temporary:
      temporary = true;
      add(level::error, "could not fetch " + name + ": " + ans.detail + " (try again)");
      break;
    case dns_status::nxdomain:
      add(level::error, name + " does not exist (NXDOMAIN): nothing is published for this selector");
      break;
    case dns_status::nodata:
      add(level::error, name + " exists but has no TXT record");
      break;
    case dns_status::found: {
      std::vector<const std::string*> keys;
      for (const auto& r : ans.records) {
        if (looks_like_key_record(r))
          keys.push_back(&r);
        else
          add(level::info, "ignored a TXT record that is not a DKIM key: \"" + r.substr(0, 40) + "\"");
      }
      if (keys.empty()) {
        add(level::error, name + " has TXT records but none is a DKIM key record");
      } else if (keys.size() > 1) {
        add(level::error, std::to_string(keys.size()) +
                              " DKIM key records at the name: verifiers refuse ambiguous keys "
                              "(RFC 6376 §3.6.2.2); keep one");
      } else {
        const std::string& txt = *keys[0];
        if (txt.size() > 255)
          add(level::info, "the record is " + std::to_string(txt.size()) +
                               " bytes: it must be published as several quoted strings of at "
                               "most 255 bytes each (they are joined)");
        auto parsed = parse_key_record(txt);
        if (!parsed) {
          add(level::error, "the record is not usable: " + parsed.error().message());
        } else {
          rec = std::move(*parsed);
          add(level::ok, "record syntax is valid");
        }
      }
      break;
    }
  }
  if (rec) {
    const key_record& k = *rec;
    unsigned bits = k.key->bits();
    if (k.type == key_type::ed25519) {
      add(level::ok, "Ed25519 key (RFC 8463)");
      add(level::info, "some verifiers do not know Ed25519 yet: sign with an RSA key too");
    } else if (bits < 1024) {
      add(level::error, "RSA key of " + std::to_string(bits) +
                            " bits: verifiers refuse keys under 1024 bits (RFC 8301 §3.2)");
    } else if (bits < 2048) {
      add(level::warning, "RSA key of " + std::to_string(bits) + " bits: 2048 bits are advised");
    } else {
      add(level::ok, "RSA key of " + std::to_string(bits) + " bits");
    }
    if (k.testing)
      add(level::warning, "t=y: the domain says it is testing DKIM; verifiers may ignore failures "
                          "— remove the flag once signing works");
    if (k.strict) add(level::info, "t=s: i= must be exactly d=, not a subdomain");
    if (!k.hashes.empty()) {
      bool sha256 = false;
      for (auto h : k.hashes) sha256 = sha256 || h == hash_algorithm::sha256;
      if (!sha256)
        add(level::error, "h= allows only sha1: rsa-sha256 signatures will fail and rsa-sha1 is "
                          "refused (RFC 8301)");
    }
    if (priv) {
      // Compare the public keys themselves (the DER in DNS may be SPKI or PKCS#1).
      auto mine = parse_key_record(priv->public_record());
      bool same = mine && mine->key->same_as(*k.key);
      if (same)
        add(level::ok, "the private key " + a.key + " matches the published key");
      else
        add(level::error, "the private key " + a.key + " does NOT match the published key: "
                          "signatures made with it will fail");
    }
  }

  bool error = false, warning = false;
  for (const auto& f : found) {
    error = error || f.lvl == level::error;
    warning = warning || f.lvl == level::warning;
  }
  std::string verdict = temporary ? "temperror" : error ? "bad" : warning ? "good, with warnings" : "good";
  int rc = temporary ? kTemporary : error ? kBad : warning ? kWarnings : kGood;
  if (a.json) {
    nlohmann::json j = {{"name", name}, {"verdict", verdict}, {"findings", nlohmann::json::array()}};
    for (const auto& f : found) j["findings"].push_back({{"level", word(f.lvl)}, {"message", f.text}});
    if (rec) {
      j["key_type"] = to_string(rec->type);
      j["key_bits"] = rec->key->bits();
    }
    std::cout << j.dump() << "\n";
  } else {
    bool colour = isatty(1) != 0;
    auto paint = [&](level l, std::string_view s) {
      if (!colour) return std::string(s);
      const char* c = l == level::ok ? "\033[32m" : l == level::warning ? "\033[33m"
                    : l == level::error ? "\033[31m" : "\033[2m";
      return std::string(c) + std::string(s) + "\033[0m";
    };
    std::cout << name << "\n";
    for (const auto& f : found) {
      std::string w(word(f.lvl));
      w.resize(8, ' ');
      std::cout << "  " << paint(f.lvl, w) << f.text << "\n";
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
  cmd->add_option("--resolver", args->resolvers, "DNS server, IP or IP@PORT; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--dns-timeout", args->dns_timeout_ms, "milliseconds for the lookup")
      ->capture_default_str();
  cmd->add_option("--trust-anchor", args->trust_anchor, "validate the answer with DNSSEC");
  cmd->add_option("--zone", args->zone, "read the record from a zone file instead of DNS");
  cmd->add_flag("--json", args->json, "one JSON object: name, verdict, findings, key");
  cmd->footer(
      "Exit status: 0 good; 1 good, with warnings (t=y, RSA under 2048 bits); 2 bad (no record,\n"
      "unusable record, RSA under 1024 bits, several key records, private key does not match);\n"
      "75 the record could not be fetched (try again); 64-66 as for the other commands.");
  cmd->callback([args, &status] { status = run_check(*args); });
}

}  // namespace dkimkit::cli
