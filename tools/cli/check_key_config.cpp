// dkimkit check-key --config / --opendkim-config: the signing keys of a dkimkit-milter
// configuration, read by dkimkit-milter's readers.
#include "check_key_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common.hpp"

#if DKIMKIT_CLI_MILTER_CONFIG
// The one allowance of tools/ outside include/dkimkit/: dkimkit-milter's configuration readers
// (tests/layout/public_headers_only.cmake lists exactly these two).
#include <milter/config.hpp>
#include <milter/opendkim_map.hpp>
#endif

namespace dkimkit::cli {

#if DKIMKIT_CLI_MILTER_CONFIG

namespace {

// The configuration as dkimkit-milter reads it; nullopt with the reason said and `status` set.
std::optional<milter::config> read_milter_config(const std::string& path, bool opendkim,
                                                 int& status) {
  if (std::ifstream probe(path); !probe) {
    complain(path + ": " + std::strerror(errno));
    status = exit_noinput;
    return std::nullopt;
  }
  result<milter::config> cfg =
      opendkim ? milter::config_from_opendkim(path) : milter::load_config(path);
  if (!cfg) {
    const std::string& why = cfg.error().detail;
    complain(why);
    // Loading a configuration loads every private key it names, with dkimkit-milter's checks of
    // who owns them: another user may not be able to.
    if (why.find("cannot open") != std::string::npos ||
        why.find("owned by uid") != std::string::npos)
      complain(
          "check-key loads every key of the configuration as dkimkit-milter does: run it as the "
          "user dkimkit-milter runs as");
    status = cfg.error().code == errc::io_error ? exit_noinput : exit_data;
    return std::nullopt;
  }
  return std::move(*cfg);
}

}  // namespace

std::optional<configured_replay> load_configured_replay(const std::string& path, int& status) {
  auto cfg = read_milter_config(path, false, status);
  if (!cfg) return std::nullopt;
  if (!cfg->replay.enabled) {
    complain(path + ": no [replay] section");
    status = exit_data;
    return std::nullopt;
  }
  return configured_replay{cfg->replay.store, cfg->replay.password, cfg->replay.settings};
}

std::optional<configured_keys> load_configured_keys(const std::string& path, bool opendkim,
                                                    int& status) {
  auto cfg = read_milter_config(path, opendkim, status);
  if (!cfg) return std::nullopt;
  configured_keys out;
  out.path = path;
  for (const milter::signing_key& k : cfg->keys) {
    configured_key c;
    c.domain = k.domain;
    c.selector = k.selector;
    c.key_file = k.key_file;
    c.window = {k.not_before, k.not_after};
    c.key = k.key;
    out.keys.push_back(std::move(c));
  }
  // ARC seal keys are published and looked up as DKIM keys are (RFC 8617 §4.1.3): they are
  // checked alike, the first (the one that seals) and those staged for a rotation.
  for (const milter::signing_key& k : cfg->arc.seal_keys) {
    configured_key c;
    c.arc_seal = true;
    c.domain = k.domain;
    c.selector = k.selector;
    c.key_file = k.key_file;
    c.key = k.key;
    out.keys.push_back(std::move(c));
  }
  if (cfg->key_table) {
    for (const key_table_entry& row : cfg->key_table->rows()) {
      configured_key c;
      c.domain = row.domain;
      c.selector = row.selector;
      c.row_name = row.name;
      c.row_line = row.line;
      if (row.key_is_file()) c.key_file = row.key;
      c.unchecked = why_not_checkable(row);
      if (!c.unchecked) {
        auto it = cfg->table_keys.find(row.key);
        if (it != cfg->table_keys.end()) c.key = it->second;
      }
      out.keys.push_back(std::move(c));
    }
  }
  return out;
}

std::string config_time(std::uint64_t unix_seconds) { return milter::utc_time(unix_seconds); }

#else

std::optional<configured_keys> load_configured_keys(const std::string& /*path*/, bool opendkim,
                                                    int& status) {
  complain(std::string(opendkim ? "--opendkim-config" : "--config") +
           " is not built in: this dkimkit was built without dkimkit-milter "
           "(DKIMKIT_BUILD_MILTER=OFF)");
  status = exit_usage;
  return std::nullopt;
}

std::optional<configured_replay> load_configured_replay(const std::string& /*path*/, int& status) {
  complain(
      "--config is not built in: this dkimkit was built without dkimkit-milter "
      "(DKIMKIT_BUILD_MILTER=OFF)");
  status = exit_usage;
  return std::nullopt;
}

std::string config_time(std::uint64_t unix_seconds) { return std::to_string(unix_seconds); }

#endif

}  // namespace dkimkit::cli
