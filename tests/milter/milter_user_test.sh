#!/usr/bin/env bash
# dkimkit-milter with UserID (OpenDKIM) / user (TOML): started as root, it reads its keys as root,
# opens the socket, then the child serving the milter socket runs as nobody, every id (real,
# effective, saved, file system) switched, and so does the supervisor unless it has a pid file to
# remove: then it stays root, and the pid file (root's, in a folder only root may write) is gone
# after SIGTERM; reloads run as nobody (a key nobody cannot read is refused, a changed UserID is
# refused); started as another
# user than the one named it refuses to start with a message; an unknown user is a --check-config
# error naming FILE:LINE. Needs root (exit 77 otherwise).
# Usage: milter_user_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: needs root (to start as root and switch users)"
  exit 77
fi
nobody_uid=$(id -u nobody 2>/dev/null) || { echo "skipped: no user nobody"; exit 77; }
nobody_gid=$(id -g nobody)
for tool in setpriv ss pgrep; do
  command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start milter-user "$3" || exit 1
state=$RIG_DIR
cd "$state" || exit 1

# The key: root's, mode 0600: nobody cannot read it, and need not at start.
"$dk" keygen -d example.com -s sel -t ed25519 -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
key=$(ls "$state"/keys/*.private | head -1)
chown root:root "$key" && chmod 600 "$key" && chmod 755 keys
port=$(free_port)
cat > opendkim.conf <<CONF
Socket      inet:$port@127.0.0.1
Mode        sv
Domain      example.com
Selector    sel
KeyFile     $key
UserID      nobody
PidFile     $state/milter.pid
CONF

# The four ids of a Uid: or Gid: line of /proc/PID/status, all equal to $3.
all_ids() {
  local line
  line=$(grep "^$2:" "/proc/$1/status" 2>/dev/null) || return 1
  read -r _ a b c d <<<"$line"
  [ "$a" = "$3" ] && [ "$b" = "$3" ] && [ "$c" = "$3" ] && [ "$d" = "$3" ]
}
# Until every id of PID is nobody's (5 s at most): the supervisor switches just after the child.
wait_nobody() {
  for _ in $(seq 50); do
    all_ids "$1" Uid "$nobody_uid" && all_ids "$1" Gid "$nobody_gid" && return 0
    sleep 0.1
  done
  return 1
}
# Supplementary groups of PID: none of them root's group.
no_root_group() {
  local groups
  groups=$(grep '^Groups:' "/proc/$1/status" | cut -d: -f2)
  ! grep -qw 0 <<<"$groups"
}

# wait_log PATTERN: until milter.log has a line matching PATTERN (5 s at most).
wait_log() {  # wait_log TEXT [LOG=milter.log]
  for _ in $(seq 50); do
    grep -q "$1" "${2:-milter.log}" && return 0
    sleep 0.1
  done
  return 1
}

rig_spawn milter.log "$milter" --opendkim-config opendkim.conf --foreground
supervisor=$RIG_PID
if wait_port "$port" && wait_log "listening on"; then
  ok "started as root with UserID nobody and a key only root may read"
else
  bad "started as root with UserID nobody and a key only root may read" "$(cat milter.log)"
fi
[ "$(cat milter.pid 2>/dev/null)" = "$supervisor" ] && ok "the pid file was written (as root)" ||
  bad "the pid file was written (as root)" "$(cat milter.pid 2>&1)"

# The process serving the port (ss names it), the child of the supervisor.
child=$(pgrep -P "$supervisor" | head -1)
listener=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -n "$child" ] && [ "$listener" = "$child" ] &&
  ok "the child serves the milter socket" ||
  bad "the child serves the milter socket" "supervisor $supervisor child '$child' listener '$listener'"
if [ -n "$child" ] && wait_nobody "$child" && [ "$(ps -o user= -p "$child" | tr -d ' ')" = nobody ] &&
   no_root_group "$child"; then
  ok "the child runs as nobody (Uid, Gid: all four ids; no root group)"
else
  bad "the child runs as nobody (Uid, Gid: all four ids; no root group)" \
    "$(grep -E '^(Uid|Gid|Groups):' "/proc/$child/status" 2>&1)"
fi
# With a PidFile the supervisor stays root, to remove it at exit.
all_ids "$supervisor" Uid 0 && ok "with a PidFile the supervisor stays root" ||
  bad "with a PidFile the supervisor stays root" "$(grep -E '^(Uid|Gid):' "/proc/$supervisor/status" 2>&1)"

# A reload as nobody: the key (root's, 0600) cannot be read; refused, and the milter stays.
kill -HUP "$supervisor"
wait_log "reload refused"
grep -q "reload refused, the old configuration stays: .*$key" milter.log && kill -0 "$child" &&
  ok "a reload whose key nobody cannot read is refused, naming the key; the milter stays" ||
  bad "a reload whose key nobody cannot read is refused, naming the key; the milter stays" "$(cat milter.log)"

# Given to nobody, the key reloads.
chown nobody "$key"
kill -HUP "$supervisor"
wait_log "configuration and keys reloaded"
grep -q "configuration and keys reloaded" milter.log &&
  ok "a reload whose key nobody owns succeeds" || bad "a reload whose key nobody owns succeeds" "$(cat milter.log)"

# A reload may not change the user: refused, logged, still nobody.
grep -v '^UserID' opendkim.conf > changed.conf && cp changed.conf opendkim.conf
kill -HUP "$supervisor"
wait_log "change only at restart"
refused="reload refused, the old configuration stays: the user and group change only at restart"
grep -q "$refused (UserID nobody stays)" milter.log &&
  kill -0 "$child" && all_ids "$child" Uid "$nobody_uid" &&
  ok "a reload that drops UserID is refused and logged; still nobody" ||
  bad "a reload that drops UserID is refused and logged; still nobody" "$(cat milter.log)"
rig_stop_pid "$supervisor"
[ ! -e milter.pid ] && ok "SIGTERM: the pid file (root's, in root's folder) is removed" ||
  bad "SIGTERM: the pid file (root's, in root's folder) is removed" "$(ls -l milter.pid 2>&1)"

# The same with TOML, user = "nobody" and pid_file in a folder of root's (0755) that nobody may
# not write: the file is there while the milter runs, and gone once it stopped.
mkdir -m 0755 piddir
port3=$(free_port)
printf 'authserv_id = "mx.test"\nmode = "verify"\nsocket = "inet:%s@127.0.0.1"\nuser = "nobody"\npid_file = "%s/piddir/m.pid"\n' \
  "$port3" "$state" > pid.toml
rig_spawn pid.log "$milter" --config pid.toml --foreground
pid_sup=$RIG_PID
if wait_port "$port3" && wait_log "listening on" pid.log && [ "$(cat piddir/m.pid 2>/dev/null)" = "$pid_sup" ] &&
   [ "$(stat -c %U piddir/m.pid)" = root ]; then
  ok "user = \"nobody\", pid_file: written as root while running"
else
  bad "user = \"nobody\", pid_file: written as root while running" "$(ls -l piddir 2>&1); $(cat pid.log)"
fi
pid_child=$(pgrep -P "$pid_sup" | head -1)
[ -n "$pid_child" ] && wait_nobody "$pid_child" && ok "user = \"nobody\", pid_file: the child is nobody" ||
  bad "user = \"nobody\", pid_file: the child is nobody" "$(cat pid.log)"
rig_stop_pid "$pid_sup"
[ ! -e piddir/m.pid ] && ! grep -q "FAIL\|cannot" pid.log &&
  ok "user = \"nobody\": SIGTERM removes the pid file" ||
  bad "user = \"nobody\": SIGTERM removes the pid file" "$(ls -l piddir 2>&1); $(cat pid.log)"

# A newer instance wrote its own pid in the file meanwhile: the old one leaves the file alone.
rig_spawn pid2.log "$milter" --config pid.toml --foreground
pid_sup=$RIG_PID
if wait_port "$port3" && wait_log "listening on" pid2.log && [ "$(cat piddir/m.pid 2>/dev/null)" = "$pid_sup" ]; then
  echo 999999 > piddir/m.pid
  rig_stop_pid "$pid_sup"
  [ "$(cat piddir/m.pid 2>/dev/null)" = 999999 ] &&
    ok "SIGTERM leaves a pid file that names another process" ||
    bad "SIGTERM leaves a pid file that names another process" "$(ls -l piddir 2>&1); $(cat pid2.log)"
else
  bad "a second start with the same pid file" "$(ls -l piddir 2>&1); $(cat pid2.log)"
  rig_stop_pid "$pid_sup"
fi
# A symbolic link in place of the pid file is not followed (root writes it): logged, target kept.
rm -f piddir/m.pid
echo keep > target.txt
ln -s "$state/target.txt" piddir/m.pid
rig_spawn pid3.log "$milter" --config pid.toml --foreground
pid_sup=$RIG_PID
wait_port "$port3" && wait_log "listening on" pid3.log
[ "$(cat target.txt)" = keep ] && grep -q "cannot write the pid file $state/piddir/m.pid" pid3.log &&
  ok "a symbolic link in place of the pid file is not followed; logged" ||
  bad "a symbolic link in place of the pid file is not followed; logged" "$(cat target.txt); $(cat pid3.log)"
rig_stop_pid "$pid_sup"
rm -f piddir/m.pid

# A unix socket, TOML user = "nobody": the socket and the folder made for it are nobody's (its
# group: the user's), so that the MTA, in that group, can reach it once the milter runs as nobody.
nobody_group=$(id -gn nobody)
printf 'authserv_id = "mx.test"\nmode = "verify"\nsocket = "unix:%s/run/m.sock"\nuser = "nobody"\n' \
  "$state" > unix.toml
rig_spawn unix.log "$milter" --config unix.toml --foreground
unix_pid=$RIG_PID
for _ in $(seq 50); do [ -S run/m.sock ] && grep -q "listening on" unix.log && break; sleep 0.1; done
got="$(stat -c '%U:%G %a' run/m.sock 2>&1) $(stat -c '%U:%G %a' run 2>&1)"
unix_child=$(pgrep -P "$unix_pid" | head -1)
[ "$got" = "nobody:$nobody_group 660 nobody:$nobody_group 750" ] && [ -n "$unix_child" ] &&
  wait_nobody "$unix_child" &&
  ok "user = \"nobody\" with a unix socket: socket 0660 and folder 0750, nobody's; the child is nobody" ||
  bad "user = \"nobody\" with a unix socket: socket 0660 and folder 0750, nobody's; the child is nobody" \
    "$got; $(cat unix.log)"
# No pid file: the supervisor has nothing to remove as root and becomes nobody too.
wait_nobody "$unix_pid" && no_root_group "$unix_pid" &&
  ok "without a pid file the supervisor runs as nobody (all four ids; no root group)" ||
  bad "without a pid file the supervisor runs as nobody (all four ids; no root group)" \
    "$(grep -E '^(Uid|Gid|Groups):' "/proc/$unix_pid/status" 2>&1)"
rig_stop_pid "$unix_pid"

# Started as nobody with another UserID: refused, naming the user and the uid.
port2=$(free_port)
cat > daemon.conf <<CONF
Socket      inet:$port2@127.0.0.1
Mode        v
UserID      daemon
CONF
printf 'authserv_id = "mx.test"\nmode = "verify"\nsocket = "inet:%s@127.0.0.1"\nuser = "daemon"\n' \
  "$port2" > daemon.toml
as_nobody=(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups --)
timeout 10 "${as_nobody[@]}" "$milter" --opendkim-config daemon.conf --foreground >wrong.out 2>&1
rc=$?
[ $rc -eq 78 ] &&
  grep -q "UserID daemon: running as uid $nobody_uid; start as root or as daemon" wrong.out &&
  ok "started as nobody with UserID daemon: exit 78 with the message" ||
  bad "started as nobody with UserID daemon: exit 78 with the message" "exit $rc: $(cat wrong.out)"
timeout 10 "${as_nobody[@]}" "$milter" --config daemon.toml --foreground >wrong-toml.out 2>&1
rc=$?
[ $rc -eq 78 ] &&
  grep -q "user daemon: running as uid $nobody_uid; start as root or as daemon" wrong-toml.out &&
  ok "started as nobody with user = \"daemon\": exit 78 with the message" ||
  bad "started as nobody with user = \"daemon\": exit 78 with the message" "exit $rc: $(cat wrong-toml.out)"

# Started as nobody with UserID nobody: runs.
sed 's/^UserID.*/UserID      nobody/' daemon.conf > self.conf
rig_spawn self.log "${as_nobody[@]}" "$milter" --opendkim-config self.conf --foreground
self=$RIG_PID
if wait_port "$port2" && kill -0 "$self" && all_ids "$self" Uid "$nobody_uid"; then
  ok "started as nobody with UserID nobody: runs"
else
  bad "started as nobody with UserID nobody: runs" "$(cat self.log)"
fi
rig_stop_pid "$self"

# An unknown user: --check-config names FILE:LINE.
sed 's/^UserID.*/UserID      no-such-user-dkimkit/' daemon.conf > unknown.conf
"$milter" --opendkim-config unknown.conf --check-config >unknown.out 2>&1
rc=$?
[ $rc -eq 78 ] && grep -q "unknown.conf:3: UserID: no user 'no-such-user-dkimkit'" unknown.out &&
  ok "an unknown UserID: --check-config exits 78 naming FILE:LINE" ||
  bad "an unknown UserID: --check-config exits 78 naming FILE:LINE" "exit $rc: $(cat unknown.out)"

rig_summary && [ "$passed" -gt 0 ]
