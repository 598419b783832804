// dkimkit check-key: is the key record published for DOMAIN and SELECTOR right? With --config or
// --opendkim-config, for every signing key of a dkimkit-milter configuration.
#include <ctime>
#include <dkimkit/key_check.hpp>
#include <dkimkit/signer.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "check_key_config.hpp"
#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct check_args {
  std::string domain, selector, key;
  std::string config, opendkim_config;
  std::optional<std::uint64_t> now;
  dns_args dns;
  bool json = false;
  colour_mode colour = colour_mode::automatic;
};

// The exit statuses, documented in --help.
constexpr int kGood = 0, kWarnings = 1, kBad = 2, kTemporary = 75;

int exit_status(key_verdict v) {
  switch (v) {
    case key_verdict::good:
      return kGood;
    case key_verdict::warnings:
      return kWarnings;
    case key_verdict::bad:
      return kBad;
    case key_verdict::temperror:
      return kTemporary;
  }
  return kBad;
}

check_level level_of(key_verdict v) {
  return v == key_verdict::good       ? check_level::ok
         : v == key_verdict::warnings ? check_level::warning
                                      : check_level::error;
}

std::string paint_level(bool colour, check_level l, std::string_view s) {
  tone t = l == check_level::ok        ? tone::good
           : l == check_level::warning ? tone::warn
           : l == check_level::error   ? tone::bad
                                       : tone::dim;
  return paint(colour, t, s);
}

nlohmann::json findings_json(const key_check& c) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& f : c.findings)
    j.push_back({{"level", to_string(f.level)}, {"message", f.message}});
  return j;
}

// The findings, one a line: "<indent>LEVEL   message".
void print_findings(const key_check& c, bool colour, std::string_view indent) {
  for (const auto& f : c.findings) {
    std::string w(to_string(f.level));
    w.resize(8, ' ');
    std::cout << indent << paint_level(colour, f.level, w) << terminal_safe(f.message) << "\n";
  }
}

// One key: DOMAIN and SELECTOR, with -k the private key.
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
  key_check_input in;
  in.sdid = a.domain;
  in.selector = a.selector;
  in.key = priv ? &*priv : nullptr;
  in.key_label = a.key;
  const key_check c = check_key(dns->lookup_txt(key_name(a.selector, a.domain)), in);
  const std::string verdict(to_string(c.verdict));
  if (a.json) {
    nlohmann::json j = {{"name", c.name}, {"verdict", verdict}, {"findings", findings_json(c)}};
    if (c.type) {
      j["key_type"] = to_string(*c.type);
      j["key_bits"] = c.bits;
    }
    std::cout << json_line(j) << "\n";
  } else {
    const bool colour = use_colour(a.colour);
    std::cout << terminal_safe(c.name) << "\n";
    print_findings(c, colour, "  ");
    std::cout << "verdict: " << paint_level(colour, level_of(c.verdict), verdict) << "\n";
  }
  return exit_status(c.verdict);
}

// Where a configured key comes from: "key file F", "key table row NAME (line N)", either with
// "key file F"; "ARC seal key, key file F" for an [[arc.seal_keys]] key.
std::string source_of(const configured_key& k) {
  std::string s = k.arc_seal ? "ARC seal key" : "";
  if (k.row_name) s = "key table row " + *k.row_name + " (line " + std::to_string(k.row_line) + ")";
  if (k.key_file) s += (s.empty() ? "key file " : ", key file ") + *k.key_file;
  return s;
}

// Every key of a configuration. The worst verdict decides the exit status: bad, then temperror,
// then good with warnings.
int run_check_config(const check_args& a) {
  const bool opendkim = !a.opendkim_config.empty();
  int status = exit_ok;
  auto keys = load_configured_keys(opendkim ? a.opendkim_config : a.config, opendkim, status);
  if (!keys) return status;
  std::unique_ptr<txt_resolver> dns = make_resolver(a.dns, status);
  if (!dns) return status;
  const std::uint64_t now = a.now.value_or(static_cast<std::uint64_t>(std::time(nullptr)));
  const bool colour = !a.json && use_colour(a.colour);
  std::map<std::string, txt_answer, std::less<>> answers;  // one lookup per name
  std::optional<key_verdict> overall;
  std::map<key_verdict, std::size_t> counts;
  std::size_t unchecked = 0;
  nlohmann::json checked_json = nlohmann::json::array(), unchecked_json = nlohmann::json::array();
  for (const configured_key& k : keys->keys) {
    nlohmann::json j = {{"domain", k.domain}, {"selector", k.selector}};
    if (k.key_file) j["key_file"] = *k.key_file;
    if (k.row_name) j["key_table"] = {{"name", *k.row_name}, {"line", k.row_line}};
    j["use"] = k.arc_seal ? "arc_seal" : "sign";
    std::string head = k.domain + ", selector " + k.selector + " (" + source_of(k);
    for (auto [what, when] : {std::pair{"not_before", k.window.not_before},
                              std::pair{"not_after", k.window.not_after}}) {
      if (!when) continue;
      j[what] = config_time(*when);
      head += std::string("; ") + what + " " + config_time(*when);
    }
    head += ")";
    if (k.unchecked || !k.key) {
      ++unchecked;
      const std::string why = k.unchecked.value_or("its key was not loaded");
      j["reason"] = why;
      unchecked_json.push_back(std::move(j));
      if (!a.json)
        std::cout << terminal_safe(head) << "\n  " << paint(colour, tone::dim, "not checked: ")
                  << terminal_safe(why) << "\n";
      continue;
    }
    key_check_input in;
    in.sdid = k.domain;
    in.selector = k.selector;
    in.key = &*k.key;
    in.key_label = k.key_file ? *k.key_file : "of key table row " + *k.row_name;
    in.window = k.window;
    in.now = now;
    const std::string name = key_name(k.selector, k.domain);
    auto it = answers.find(name);
    if (it == answers.end()) it = answers.emplace(name, dns->lookup_txt(name)).first;
    const key_check c = check_key(it->second, in);
    overall = overall ? worse(*overall, c.verdict) : c.verdict;
    ++counts[c.verdict];
    if (a.json) {
      j["name"] = c.name;
      j["publication"] = to_string(c.publication);
      j["schedule"] = to_string(c.schedule);
      j["verdict"] = to_string(c.verdict);
      j["findings"] = findings_json(c);
      if (c.type) {
        j["key_type"] = to_string(*c.type);
        j["key_bits"] = c.bits;
      }
      checked_json.push_back(std::move(j));
    } else {
      std::cout << terminal_safe(head) << "\n  " << terminal_safe(c.name) << ": "
                << describe(c.publication) << "\n";
      print_findings(c, colour, "  ");
      std::cout << "  verdict: " << paint_level(colour, level_of(c.verdict), to_string(c.verdict))
                << "\n";
    }
  }
  const std::string verdict = overall ? std::string(to_string(*overall)) : "nothing checked";
  if (a.json) {
    std::cout << json_line({{"config", keys->path},
                            {"verdict", verdict},
                            {"keys", std::move(checked_json)},
                            {"not_checked", std::move(unchecked_json)}})
              << "\n";
  } else {
    std::size_t checked = 0;
    std::string tally;
    for (auto [v, n] : counts) {
      checked += n;
      tally += (tally.empty() ? ": " : ", ") + std::to_string(n) + " " +
               (v == key_verdict::warnings ? "good with warnings" : std::string(to_string(v)));
    }
    std::cout << checked << (checked == 1 ? " key" : " keys") << " checked" << tally;
    if (unchecked) std::cout << "; " << unchecked << " not checked";
    std::cout << "\nverdict: "
              << (overall ? paint_level(colour, level_of(*overall), verdict) : verdict) << "\n";
  }
  return overall ? exit_status(*overall) : kGood;
}

}  // namespace

void add_check_key_command(CLI::App& app, int& status) {
  auto args = std::make_shared<check_args>();
  CLI::App* cmd = app.add_subcommand(
      "check-key",
      "Check the key record published at SELECTOR._domainkey.DOMAIN, or those of every key of "
      "a dkimkit-milter configuration");
  CLI::Option* domain = cmd->add_option("-d,--domain", args->domain, "signing domain");
  CLI::Option* selector = cmd->add_option("-s,--selector", args->selector, "selector");
  CLI::Option* key = cmd->add_option("-k,--key", args->key,
                                     "private key: check that it matches the published key");
  CLI::Option* config = cmd->add_option(
      "--config", args->config,
      "dkimkit-milter's TOML configuration: check every key it names ([[sign.keys]], key table, [[arc.seal_keys]])");
  CLI::Option* opendkim = cmd->add_option(
      "--opendkim-config", args->opendkim_config,
      "an opendkim.conf: check every key it names (Domain/Selector/KeyFile, KeyTable)");
  cmd->add_option("--now", args->now,
                  "with --config: Unix time to judge not_before/not_after at (default: the clock)");
  for (CLI::Option* single : {domain, selector, key}) {
    single->excludes(config);
    single->excludes(opendkim);
  }
  config->excludes(opendkim);
  add_dns_options(*cmd, args->dns);
  cmd->add_flag("--json", args->json,
                "one JSON object: name, verdict, findings, key (with --config: config, verdict, "
                "keys, not_checked)");
  add_colour_option(*cmd, args->colour);
  cmd->footer(
      "Exit status: 0 good; 1 good, with warnings (t=y, RSA under 2048 bits); 2 bad (no "
      "record,\nunusable record, RSA under " +
      std::to_string(rfc8301_min_rsa_bits) +
      " bits, several key records, private key does not "
      "match);\n75 the record could not be fetched (try again); 64-66 as for the other commands.\n"
      "With --config or --opendkim-config, the worst of the keys: 2 when one is bad, else 75, else "
      "1, else 0.");
  cmd->callback([args, &status, domain, selector, config, opendkim] {
    if (config->count() || opendkim->count()) {
      status = run_check_config(*args);
      return;
    }
    for (CLI::Option* o : {domain, selector})
      if (!o->count()) throw CLI::RequiredError(o->get_name() + " (or --config)");
    status = run_check(*args);
  });
}

}  // namespace dkimkit::cli
