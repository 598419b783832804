#!/usr/bin/env bash
# Who may talk to dkimkit-milter (issue 11, findings 12 and 13), through the real daemon and the
# milter protocol:
#   - a unix socket is created with socket_mode (0660 by default) and socket_group, never with
#     access for others;
#   - on an inet socket with `peers`, a connection from an address not listed is closed at option
#     negotiation (no reply), and one from a listed address gets the negotiation reply;
#   - private keys that others may read, or owned by another user, stop the start and
#     --check-config (exit 78, naming the file); group-readable keys of another group warn.
# Usage: milter_socket_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start milter-sock "$3" || exit 1
state=$RIG_DIR

check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}

# optneg HOST PORT: sends SMFIC_OPTNEG (version 6) and prints "reply" when the milter answers with
# its own options, "closed" when it closes the connection without a word.
optneg() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1ff, 0x1fffff))
try:
    data = s.recv(5)
except (ConnectionResetError, socket.timeout):
    data = b""
print("reply" if len(data) == 5 and data[4:5] == b"O" else "closed")
PY
}

# start_milter NAME CONFIG: runs the milter in the foreground, logging to NAME.log.
start_milter() {
  rig_spawn "$1.log" "$milter" --config "$2" --foreground
}
wait_log() {  # wait_log FILE TEXT: until FILE contains TEXT (10 s at most)
  for _ in $(seq 100); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

"$dk" keygen -d example.com -s sel -t ed25519 -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
key=$state/keys/sel.private

# --- unix socket: mode and group --------------------------------------------------------------
rig_milter_toml both "unix:$state/run/milter.sock" > unix.toml
cat >> unix.toml <<EOF
socket_group = "mail"
[[sign.keys]]
domain = "example.com"
selector = "sel"
key_file = "$key"
EOF
start_milter unix unix.toml
if wait_log unix.log "listening on unix:"; then
  check "unix socket is created with mode 0660" test "$(stat -c %a run/milter.sock)" = 660
  check "unix socket belongs to socket_group" test "$(stat -c %G run/milter.sock)" = mail
  check "a missing socket folder is made 0750, group socket_group" \
    test "$(stat -c %a:%G run)" = "750:mail"
else
  bad "milter starts on a unix socket" "$(cat unix.log)"
fi
kill "$RIG_PID" 2>/dev/null

# --- inet socket with peers -------------------------------------------------------------------
for allowed in "192.0.2.1/32" "127.0.0.0/8"; do
  port=$(free_port)
  name=peers-${allowed%%/*}
  rig_milter_toml verify "$port" > "$name.toml"
  echo "peers = [\"$allowed\"]" >> "$name.toml"
  start_milter "$name" "$name.toml"
  wait_port "$port" || { bad "milter listens on $port" "$(cat "$name.log")"; continue; }
  got=$(optneg 127.0.0.1 "$port")
  if [ "$allowed" = "127.0.0.0/8" ]; then
    [ "$got" = reply ] && ok "peers = [$allowed]: 127.0.0.1 gets the negotiation reply" ||
      bad "peers = [$allowed]: 127.0.0.1 gets the negotiation reply" "$got"
  else
    [ "$got" = closed ] && ok "peers = [$allowed]: 127.0.0.1 is closed without a reply" ||
      bad "peers = [$allowed]: 127.0.0.1 is closed without a reply" "$got"
    check "the refusal is logged" wait_log "$name.log" "milter connection from 127.0.0.1 refused: not in peers"
  fi
  kill "$RIG_PID" 2>/dev/null
done
# Without peers, anyone who can connect is served (the documented default for inet sockets).
port=$(free_port)
rig_milter_toml verify "$port" > open.toml
start_milter open open.toml
if wait_port "$port"; then
  check "no peers: 127.0.0.1 gets the negotiation reply" test "$(optneg 127.0.0.1 "$port")" = reply
else
  bad "milter listens without peers" "$(cat open.log)"
fi
kill "$RIG_PID" 2>/dev/null

# --- key file safety --------------------------------------------------------------------------
cp "$key" world.private && chmod 0644 world.private
sed "s|$key|$state/world.private|" unix.toml > world.toml
"$milter" --check-config world.toml >world.out 2>&1
rc=$?
[ $rc -eq 78 ] && grep -q "world.private: the private key may be read or written by others (mode 0644)" world.out &&
  ok "--check-config refuses a world-readable key (exit 78, names the file)" ||
  bad "--check-config refuses a world-readable key" "exit $rc: $(cat world.out)"
rig_spawn world-start.out "$milter" --config world.toml --foreground
wpid=$RIG_PID
for _ in $(seq 50); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
wait "$wpid" 2>/dev/null
rc=$?
[ $rc -eq 78 ] && ok "the daemon does not start with a world-readable key (exit 78)" ||
  bad "the daemon does not start with a world-readable key" "exit $rc: $(cat world-start.out)"
cp "$key" group.private && chmod 0640 group.private && chgrp mail group.private
sed "s|$key|$state/group.private|" unix.toml > group.toml
"$milter" --check-config group.toml >group.out 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "warning: .*group.private: the private key may be read by group" group.out &&
  ok "--check-config warns on a key readable by another group" ||
  bad "--check-config warns on a key readable by another group" "exit $rc: $(cat group.out)"

# --- key and signing tables on SIGHUP ---------------------------------------------------------
# The tables are part of the configuration: SIGHUP reads them again; a bad row refuses the reload
# (naming KeyTable:LINE) and the daemon goes on with the old configuration.
echo "sel example.com:sel:$key" > KeyTable
echo "*@example.com sel" > SigningTable
rig_milter_toml sign "unix:$state/run/tables.sock" > tables.toml
cat >> tables.toml <<EOF
[sign]
key_table = "$state/KeyTable"
signing_table = "refile:$state/SigningTable"
multiple_signatures = true
EOF
check "--check-config accepts key and signing tables" "$milter" --check-config tables.toml
start_milter tables tables.toml
tpid=$RIG_PID
if wait_log tables.log "listening on unix:.*tables.sock (mode sign)"; then
  echo "broken-row-without-value" >> KeyTable
  kill -HUP "$tpid"
  check "a bad key table row refuses the reload, naming KeyTable:2" \
    wait_log tables.log "reload refused, the old configuration stays: .*KeyTable:2: "
  check "the daemon goes on after a refused reload" kill -0 "$tpid"
  printf 'sel example.com:sel:%s\nsel2 example.org:sel:%s\n' "$key" "$key" > KeyTable
  kill -HUP "$tpid"
  check "fixed tables reload" wait_log tables.log "configuration and keys reloaded from"
else
  bad "milter starts with key and signing tables" "$(cat tables.log)"
fi
kill "$tpid" 2>/dev/null

rig_summary && [ "$passed" -gt 0 ]
