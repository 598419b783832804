// An OpenDKIM configuration file rewritten as dkimkit-milter's own TOML, in one step:
// `dkimkit-milter --migrate /etc/opendkim.conf > milter.toml`.
//
//   auto toml = dkimkit::milter::migrate_opendkim("/etc/opendkim.conf");
//   if (toml) std::cout << *toml;
//
// The file is read by config_from_opendkim() (so it is refused for the same reasons, with the same
// errors) and the resulting configuration written out: load_config() of the text gives the same
// mode, socket, keys or tables, canonicalization, networks, limits and actions. Each warning of
// config_from_opendkim() (a setting dropped, a behaviour that differs) is a "#" comment at the
// top, and each value written to keep OpenDKIM's behaviour where dkimkit-milter's default differs
// is commented where it stands.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"

namespace dkimkit::milter {

// `default_file`: Debian's /etc/default/opendkim, whose SOCKET= overrides Socket (as
// config_from_opendkim(path, default_file) reads it); empty: none.
[[nodiscard]] result<std::string> migrate_opendkim(const std::string& path,
                                                   const std::string& default_file = {});

// `s` as a TOML basic string, quotes included: backslash, quote and control characters escaped.
// An error when `s` is not UTF-8 (TOML cannot hold it).
[[nodiscard]] result<std::string> toml_quote(std::string_view s);

}  // namespace dkimkit::milter
