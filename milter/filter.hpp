// The libmilter callbacks: they adapt the MTA's events to dkimkit::signer and dkimkit::verifier.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "config.hpp"

namespace dkimkit::milter {

// Registers the callbacks with libmilter; `cfg` becomes the running configuration.
// Returns false (with `why`) when libmilter refuses.
bool register_filter(std::shared_ptr<config> cfg, bool foreground, std::string& why);

// Replaces the running configuration (SIGHUP); messages already started keep the one they began
// with. Returns false (with `why`) when the file is not valid; the old configuration stays.
// `load` reads the file (load_config, or config_from_opendkim for --opendkim-config).
using config_loader = result<config> (*)(const std::string& path);
bool reload(const std::string& path, std::string& why, config_loader load = &load_config);

// Connections currently open (to wait for them at shutdown).
[[nodiscard]] int open_connections() noexcept;

// [replay]: logs the store's counters (counted, uncounted, suspected) in one line (SIGUSR2, exit);
// nothing without [replay].
void log_replay_stats();

// Logs a line to syslog, or to stderr in the foreground.
void log_line(int priority, const std::string& line);

}  // namespace dkimkit::milter
