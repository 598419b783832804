// dkimkit replay-stats: the signatures a fleet's replay store (dkimkit/redis_replay.hpp) has seen
// most, and each host's counters; a table, or one JSON object.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <dkimkit/redis_replay.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "check_key_config.hpp"
#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct replay_stats_args {
  std::string store;
  std::string config;
  std::string password_file;
  std::size_t top = 20;
  bool json = false;
  unsigned timeout_ms = 5000;
};

// Unix seconds as "2026-12-02 11:04:05" (UTC); "-" for 0.
std::string utc(std::uint64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char out[32] = "?";
  if (::gmtime_r(&t, &tm)) std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
  return out;
}

// Where the store is, for the output: never its password.
std::string store_name(const redis_address& a) {
  if (!a.unix_path.empty()) return "unix:" + a.unix_path + "?db=" + std::to_string(a.db);
  std::string host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  return "redis://" + host + ":" + std::to_string(a.port) + "/" + std::to_string(a.db);
}

nlohmann::json to_json(const replay_listing& l, const std::string& store) {
  nlohmann::json top = nlohmann::json::array();
  for (const replay_entry& e : l.top)
    top.push_back({{"key", e.key},
                   {"domain", e.sdid},
                   {"selector", e.selector},
                   {"first_seen", e.first_seen},
                   {"last_seen", e.last_seen},
                   {"messages", e.counts.messages},
                   {"networks", e.counts.networks},
                   {"recipients", e.counts.recipients},
                   {"flagged", e.flagged}});
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& [name, st] : l.hosts)
    hosts.push_back({{"host", name},
                     {"counted", st.counted},
                     {"uncounted", st.uncounted},
                     {"suspected", st.suspected}});
  return {{"store", store}, {"tracked", l.tracked}, {"top", top}, {"hosts", hosts}};
}

void print_table(const replay_listing& l, const std::string& store) {
  std::cout << fmt::format("{}: {} signatures tracked\n", store, l.tracked);
  if (!l.top.empty()) {
    std::cout << fmt::format("{:<30} {:<16} {:<19}  {:<19}  {:>9} {:>8} {:>10}  {}\n", "DOMAIN",
                             "SELECTOR", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "MESSAGES",
                             "NETWORKS", "RECIPIENTS", "FLAGGED");
    for (const replay_entry& e : l.top)
      std::cout << fmt::format("{:<30} {:<16} {:<19}  {:<19}  {:>9} {:>8} {:>10}  {}\n",
                               terminal_safe(e.sdid), terminal_safe(e.selector), utc(e.first_seen),
                               utc(e.last_seen), e.counts.messages, e.counts.networks,
                               e.counts.recipients, e.flagged ? "yes" : "no");
  }
  if (!l.hosts.empty()) {
    std::cout << fmt::format("\n{:<30} {:>10} {:>10} {:>10}\n", "HOST", "COUNTED", "UNCOUNTED",
                             "SUSPECTED");
    for (const auto& [name, st] : l.hosts)
      std::cout << fmt::format("{:<30} {:>10} {:>10} {:>10}\n", terminal_safe(name), st.counted,
                               st.uncounted, st.suspected);
  }
}

// Whether the store's error is Redis refusing our credentials: a wrong password or user
// (WRONGPASS; "invalid password" before Redis 6), or none given where one is required (NOAUTH).
bool auth_refused(const std::string& why) {
  for (const char* word : {"WRONGPASS", "NOAUTH", "invalid password", "unexpected reply to AUTH"})
    if (why.find(word) != std::string::npos) return true;
  return false;
}

int run_replay_stats(const replay_stats_args& a) {
  redis_replay_options o;
  if (!a.config.empty()) {
    int status = exit_ok;
    auto r = load_configured_replay(a.config, status);
    if (!r) return status;
    o.store = r->store;
    o.password = r->password;
    o.settings = r->settings;
  }
  // --store replaces the configuration's store, and so its password: that one is for the
  // configured server, not to be sent to another (only --password-file or the URL gives one).
  if (!a.store.empty()) {
    o.store = a.store;
    o.password.clear();
  }
  if (a.store.empty() && a.config.empty()) {
    complain("replay-stats: --store URL or --config FILE is required");
    return exit_usage;
  }
  auto address = parse_redis_address(o.store);
  if (!address) {
    const std::string source = a.store.empty() ? a.config + ": [replay] store" : "--store";
    complain("replay-stats: " + source + ": " + address.error().detail);
    return exit_usage;
  }
  if (!a.password_file.empty()) {
    std::ifstream in(a.password_file);
    std::string line;
    if (!in || (!std::getline(in, line) && !in.eof())) {  // empty: refused below
      complain("replay-stats: " + a.password_file + ": cannot read the password");
      return exit_noinput;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // As dkimkit-milter's password_file: an empty one is a mistake, not "no AUTH".
    if (line.empty()) {
      complain("replay-stats: " + a.password_file + ": the password file is empty");
      return exit_noinput;
    }
    o.password = line;
  }
  const std::string store = store_name(*address);
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  auto listing = list_replay_signatures(o, a.top, now, std::chrono::milliseconds(a.timeout_ms));
  if (!listing) {
    const std::string why = listing.error().message();
    complain("replay-stats: " + store + ": " + why);
    // A wrong or missing password: trying again will not help (EX_NOPERM). Down, or answering
    // what is not a replay store: try again later (EX_TEMPFAIL).
    return auth_refused(why) ? exit_noperm : exit_deferred;
  }
  if (a.json)
    std::cout << json_line(to_json(*listing, store)) << "\n";
  else
    print_table(*listing, store);
  return exit_ok;
}

}  // namespace

void add_replay_stats_command(CLI::App& app, int& status) {
  auto args = std::make_shared<replay_stats_args>();
  CLI::App* cmd = app.add_subcommand(
      "replay-stats",
      "List the DKIM signatures a replay store (dkimkit-milter [replay]) has seen most, and "
      "each host's counters");
  cmd->add_option("--store", args->store,
                  "the store: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH[?db=N] "
                  "(replaces --config's)");
  cmd->add_option("--config", args->config,
                  "a dkimkit-milter configuration whose [replay] gives the store and password");
  cmd->add_option("--password-file", args->password_file,
                  "a file whose first line is the store's password");
  cmd->add_option("--top", args->top, "how many signatures to list")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_flag("--json", args->json, "one JSON object instead of the table");
  cmd->add_option("--timeout-ms", args->timeout_ms, "the time the whole listing may take")
      ->capture_default_str()
      ->check(CLI::Range(1u, 600000u));
  cmd->callback([args, &status] {
    std::cout.flush();
    status = run_replay_stats(*args);
  });
}

}  // namespace dkimkit::cli
