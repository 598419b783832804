#!/usr/bin/env bash
# SIGHUP through the real daemon: the configuration is read once per signal, by the child that
# serves mail (the supervisor only passes the signal on and reads nothing: its /proc/PID/io rchar
# stays the same); one log line per SIGHUP; a good file takes effect (the authserv-id of the
# Authentication-Results field added, over the milter protocol), a broken one is refused with one
# log line naming the problem and the old configuration stays in force.
# Usage: milter_reload_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/rig.sh
. "$here/../support/rig.sh"
milter=$(readlink -f "$2")
client=$here/../support/milter_client.py
rig_start milter-reload "$3" || exit 1

port=$(free_port)
# write_config AUTHSERV_ID [MORE]: milter.toml, verifying on $port.
write_config() {
  printf 'authserv_id = "%s"\nmode = "verify"\nsocket = "inet:%s@127.0.0.1"\n%b' "$1" "$port" \
    "${2:-}" > milter.toml
}
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n' > m.eml
# authserv_id: the authserv-id of the Authentication-Results field the milter adds to m.eml.
authserv_id() {
  python3 "$client" "inet:$port@127.0.0.1" 192.0.2.7 m.eml |
    sed -n 's/^insert Authentication-Results: *\([^;]*\);.*/\1/p'
}
# count TEXT: the lines of milter.log holding TEXT.
count() { grep -c -- "$1" milter.log; }
wait_count() {  # wait_count TEXT N: until TEXT is on N lines of milter.log (10 s at most)
  for _ in $(seq 100); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}
# rchar PID: the bytes PID has read so far (read(2) and the like, files included).
rchar() { awk '/^rchar:/ {print $2}' "/proc/$1/io"; }

write_config mx.old.example
rig_spawn milter.log "$milter" --config milter.toml --foreground
supervisor=$RIG_PID
if ! wait_port "$port" || ! wait_count "listening on" 1; then
  bad "the milter starts" "$(cat milter.log)"
  exit 1
fi
child=$(pgrep -P "$supervisor" | head -1)
got=$(authserv_id)
[ "$got" = mx.old.example ] && ok "started: the field added names mx.old.example" ||
  bad "started: the field added names mx.old.example" "'$got'; $(cat milter.log)"
[ -r "/proc/$supervisor/io" ] || { bad "/proc/$supervisor/io is readable"; exit 1; }

# A good file: one load (the child's line), none by the supervisor, and it takes effect.
before=$(rchar "$supervisor")
write_config mx.new.example
kill -HUP "$supervisor"
wait_count "configuration and keys reloaded from" 1
sleep 0.5  # a second load, if any, would have been logged by now
after=$(rchar "$supervisor")
[ "$(count "configuration and keys reloaded from")" -eq 1 ] && [ "$(count "reload")" -eq 1 ] &&
  ok "one SIGHUP: one reload line" || bad "one SIGHUP: one reload line" "$(cat milter.log)"
[ "$before" = "$after" ] && ok "the supervisor reads nothing on SIGHUP (the child loads)" ||
  bad "the supervisor reads nothing on SIGHUP (the child loads)" "rchar $before -> $after"
got=$(authserv_id)
[ "$got" = mx.new.example ] && ok "the reloaded file is in force (mx.new.example)" ||
  bad "the reloaded file is in force (mx.new.example)" "'$got'"

# A second good SIGHUP: one more line, still nothing read by the supervisor.
kill -HUP "$supervisor"
wait_count "configuration and keys reloaded from" 2
sleep 0.5
[ "$(count "configuration and keys reloaded from")" -eq 2 ] && [ "$(rchar "$supervisor")" = "$after" ] &&
  ok "a second SIGHUP: one more reload line, the supervisor still reads nothing" ||
  bad "a second SIGHUP: one more reload line, the supervisor still reads nothing" "$(cat milter.log)"

# A broken file: refused once, naming the line; the old configuration stays in force.
write_config mx.broken.example 'mode_typo = "sign"\n'
kill -HUP "$supervisor"
wait_count "reload refused" 1
sleep 0.5
[ "$(count "reload refused, the old configuration stays: .*milter.toml:4: unknown setting 'mode_typo'")" -eq 1 ] &&
  [ "$(count "reload")" -eq 3 ] &&
  ok "a broken file: one refusal line naming FILE:LINE" ||
  bad "a broken file: one refusal line naming FILE:LINE" "$(cat milter.log)"
[ "$(rchar "$supervisor")" = "$after" ] && ok "the supervisor reads nothing on a refused SIGHUP" ||
  bad "the supervisor reads nothing on a refused SIGHUP" "rchar $after -> $(rchar "$supervisor")"
got=$(authserv_id)
[ "$got" = mx.new.example ] && kill -0 "$child" && kill -0 "$supervisor" &&
  ok "after the refusal the old configuration stays in force (mx.new.example)" ||
  bad "after the refusal the old configuration stays in force (mx.new.example)" "'$got'"

rig_stop_pid "$supervisor"
rig_summary && [ "$passed" -gt 0 ]
