// dkimkit-milter's configuration from an OpenDKIM configuration file (opendkim.conf(5)):
// `dkimkit-milter --opendkim-config /etc/opendkim.conf`.
//
//   auto cfg = dkimkit::milter::config_from_opendkim("/etc/opendkim.conf");
//
// Each setting is mapped as settings_table() (opendkim_conf.hpp) classifies it: a supported one
// onto config, with OpenDKIM's defaults where they differ from dkimkit-milter's (simple/simple
// canonicalization, InternalHosts 127.0.0.1); an ignored one becomes a warning naming FILE:LINE
// and the reason; a refused one, or a value dkimkit-milter cannot honour (an On-* combination it
// cannot express, a host name in InternalHosts), an error naming FILE:LINE and the setting.
#pragma once

#include <string>

#include "config.hpp"

namespace dkimkit::milter {

// Reads and checks the whole file as load_config() does a TOML one: key files are loaded
// (Domain/Selector/KeyFile, and every key KeyTable names, as load_table_keys() does) and
// KeyTable/SigningTable read. Errors read "FILE:LINE: Name: problem".
[[nodiscard]] result<config> config_from_opendkim(const std::string& path);
// The same, with Debian's /etc/default/opendkim (`default_file`, opendkim_default.hpp): its
// SOCKET=, when set, overrides the file's Socket as `opendkim -p` does (a warning when they
// differ), and then the file needs no Socket. Empty `default_file`: as above.
[[nodiscard]] result<config> config_from_opendkim(const std::string& path,
                                                  const std::string& default_file);

}  // namespace dkimkit::milter
