// Debian's /etc/default/opendkim read as data, never run: the shell variable assignments it holds
// ("RUNDIR=/run/opendkim", "SOCKET=local:$RUNDIR/opendkim.sock", quotes), for its SOCKET=,
// which Debian's packaging passes to opendkim as -p and which then overrides the file's Socket.
//
//   auto socket = dkimkit::milter::opendkim_default_socket("/etc/default/opendkim");
//   if (socket && *socket) use(**socket);  // "local:/run/opendkim/opendkim.sock"
//
// Only assignments are accepted: NAME=VALUE, VALUE made of plain characters, 'single' and
// "double" quotes, backslash escapes and $VAR or ${VAR} of a variable assigned earlier in the file
// (or NAME, which Debian's scripts set to "opendkim" before reading it). Anything a shell would
// run (a command, `...`, $(...), ${VAR:-...}, a second word) is an error naming FILE:LINE.
#pragma once

#include <dkimkit/error.hpp>
#include <optional>
#include <string>

namespace dkimkit::milter {

struct shell_value {
  std::string value;
  unsigned line = 0;  // where it was assigned
};

// SOCKET's value and line when the file assigns it a non-empty value. A variable used in it that
// the file does not assign is an error, and so is any line that is not an assignment (another
// variable using an unassigned one is not: Debian's own file has PIDFILE=$RUNDIR/$NAME.pid).
[[nodiscard]] result<std::optional<shell_value>> opendkim_default_socket(const std::string& path);

}  // namespace dkimkit::milter
