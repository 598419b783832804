// dkimkit check-key --config / --opendkim-config: the keys of a dkimkit-milter configuration.
// The configuration is read by dkimkit-milter's own readers (milter/config.hpp,
// milter/opendkim_map.hpp) when dkimkit-milter is built (DKIMKIT_BUILD_MILTER); otherwise these
// options say they are not built in.
#pragma once

#include <dkimkit/key_check.hpp>
#include <dkimkit/replay.hpp>
#include <dkimkit/signer.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dkimkit::cli {

// One signing key of a configuration: a [[sign.keys]] entry (Domain/Selector/KeyFile in an
// opendkim.conf), a key table row, or an [[arc.seal_keys]] entry (arc_seal).
struct configured_key {
  bool arc_seal = false;  // an ARC sealing key (its public key is published as a DKIM key is)
  std::string domain, selector;
  std::optional<std::string> key_file;  // the KEY when it is a file
  std::optional<std::string> row_name;  // a key table row: its NAME and line
  std::size_t row_line = 0;
  key_window window;
  std::optional<private_key> key;        // loaded by the configuration reader
  std::optional<std::string> unchecked;  // why the key cannot be checked ahead of time
};

struct configured_keys {
  std::string path;
  std::vector<configured_key> keys;
};

// The signing keys of the TOML configuration `path` (or of the opendkim.conf `path` when
// `opendkim`), read as dkimkit-milter reads it, every key loaded. nullopt when it cannot be read,
// the reason said on standard error and `status` set to the exit status (64 when the readers are
// not built in, 65 an unusable file or key, 66 a file that cannot be read).
std::optional<configured_keys> load_configured_keys(const std::string& path, bool opendkim,
                                                    int& status);

// The [replay] section of a dkimkit-milter configuration (replay-stats --config).
struct configured_replay {
  std::string store;
  std::string password;  // the password or password_file's; empty: the URL's, if any
  replay_settings settings;
};

// [replay] of the TOML configuration `path`, read as load_configured_keys() reads it (its keys
// loaded too). nullopt with `status` set as there, and 65 when it has no [replay] section.
std::optional<configured_replay> load_configured_replay(const std::string& path, int& status);

// Unix seconds as an RFC 3339 UTC time, as the configuration reader writes them.
std::string config_time(std::uint64_t unix_seconds);

}  // namespace dkimkit::cli
