#!/usr/bin/env bash
# DKIM replay detection shared through Redis (issue 17): one redis-server (rig_redis) and two
# dkimkit-milter instances in verify mode ("hosts" a and b; keys served by NSD on loopback), driven
# over the milter protocol (tests/support/milter_client.py) with any client address at connect.
#   - the same signed message, alternately through a and b from 10 distinct /24 networks: not
#     flagged (networks = 10); the 11th network flags it: the combined count crosses the
#     threshold, neither host alone (each saw 5 or 6 networks)
#   - a third instance with on_replay = "reject": that message now gets 550 5.7.1
#   - a newsletter (one network, many recipients, many messages): never flagged
#   - a trusted domain ([replay] trusted_domains) from 30 networks: never flagged
#   - Redis stopped by PID in the middle: messages keep flowing, accepted within the budget,
#     "down" logged once; Redis restarted on the same port: counting resumes, "up" logged once
#   - a hostile fake Redis (wrong-type answers; no answer at all): accepted within the budget
# Usage: milter_replay_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/rig.sh
. "$here/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
client=$here/../support/milter_client.py
for t in nsd redis-server redis-cli; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
rig_start milter-replay "$3" || exit 1
state=$RIG_DIR

# Keys, zones, messages.
"$dk" keygen -d example.com -s sel -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
"$dk" keygen -d trusted.example -s tsel -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
{ rig_zone_head example.com 3600; cat keys/sel.txt; } > example.com.zone
{ rig_zone_head trusted.example 3600; cat keys/tsel.txt; } > trusted.example.zone
rig_nsd_conf example.com example.com.zone trusted.example trusted.example.zone && rig_nsd_start ||
  { bad "NSD starts" "$(cat nsd.log 2>/dev/null)"; exit 1; }
mail() {  # mail FROM SUBJECT
  printf 'From: %s\r\nTo: Bob <bob@example.org>\r\nSubject: %s\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <%s@x>\r\n\r\nHello.\r\n' \
    "$1" "$2" "${2// /.}"
}
mail "Alice <alice@example.com>" "a replayed offer" > replayed.eml
mail "News <news@example.com>" "the newsletter" > news.eml
mail "Tom <tom@trusted.example>" "a trusted message" > trusted.eml
"$dk" sign -k keys/sel.private -d example.com -s sel replayed.eml > replayed.signed || exit 1
"$dk" sign -k keys/sel.private -d example.com -s sel news.eml > news.signed || exit 1
"$dk" sign -k keys/tsel.private -d trusted.example -s tsel trusted.eml > trusted.signed || exit 1

rig_redis
case $? in
  0) ;;
  77) echo "SKIP: redis-server is not installed"; exit 77 ;;
  *) bad "redis-server starts" "$(cat redis.log)"; exit 1 ;;
esac
redis_pid=$RIG_REDIS_PID
redis_port=$RIG_REDIS_PORT

# milter_conf NAME STORE ON_REPLAY: a verify-mode milter on unix:$state/NAME.sock.
milter_conf() {
  rig_milter_toml verify "unix:$state/$1.sock"
  printf '[dns]\nresolvers = ["127.0.0.1@%s"]\n' "$RIG_NSD_PORT"
  cat <<CONF
[replay]
store = "$2"
networks = 10
trusted_domains = ["trusted.example"]
on_replay = "$3"
budget_ms = 50
host_name = "$1"
CONF
}
start_milter() {  # start_milter NAME STORE ON_REPLAY
  milter_conf "$@" > "$1.toml"
  "$milter" --check-config "$1.toml" >/dev/null 2>&1 || { bad "$1: --check-config" "$("$milter" --check-config "$1.toml" 2>&1)"; return 1; }
  rig_spawn "$1.log" "$milter" --config "$1.toml" --foreground
  eval "pid_$1=$RIG_PID"
  for _ in $(seq 100); do [ -S "$state/$1.sock" ] && return 0; sleep 0.1; done
  bad "$1 starts" "$(cat "$1.log")"
  return 1
}
start_milter a "$RIG_REDIS_URL" tag || exit 1
start_milter b "$RIG_REDIS_URL" tag || exit 1
start_milter c "$RIG_REDIS_URL" reject || exit 1

# send NAME IP FILE [RCPT...]: one message; sets $out (the client's output) and $end.
send() {
  local name=$1 ip=$2 file=$3
  shift 3
  out=$(python3 "$client" "unix:$state/$name.sock" "$ip" "$file" "${@:-<bob@example.org>}" 2>&1)
  end=$(sed -n 's/^end=//p' <<<"$out")
}
# The Authentication-Results field of the last message (one line).
ar() { sed -n 's/^insert Authentication-Results://p' <<<"$out"; }
# last_log NAME: the milter's last message line ("QID1: dir=verify ...").
last_log() { grep 'QID1: dir=' "$1.log" | tail -1; }
# Many messages in one client process (python's start is slow on a loaded machine): lines
# "NAME IP FILE QUEUE_ID [RCPT...]" on stdin; the client's lines ("QUEUE_ID end=... ms=... ar=...")
# into FILE.
batch() {  # batch OUT_FILE
  sed "s|^\([a-z]*\) |unix:$state/\1.sock |" | python3 "$client" --batch > "$1"
}
# msg_log NAME QUEUE_ID: that message's log line; msg_out FILE QUEUE_ID: the client's line.
msg_log() { grep " $2: dir=" "$1.log"; }
msg_out() { grep "^$2 " "$1"; }
# counted_unflagged OUT_FILE HOST QUEUE_ID...: each message (sent through HOST, the client's
# lines in OUT_FILE) ended with continue and logged "replay=counted suspected=0". Prints those
# that did not (queue id, client line, log line); nothing when all did.
counted_unflagged() {
  local file=$1 host=$2 q line res failed=""
  shift 2
  for q in "$@"; do
    line=$(msg_log "$host" "$q") res=$(msg_out "$file" "$q")
    [[ "$res" == *"end="*"c ms="* ]] && [[ "$line" == *"replay=counted suspected=0"* ]] ||
      failed+=" $q:[$res] $line"
  done
  echo "$failed"
}

# RCPT TO negotiated (no SMFIP_NORCPT), without reply (SMFIP_NR_RCPT), with [replay] on.
flags=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import milter_client as mc
c = mc.connection(sys.argv[2]); print(c.negotiate()); c.close()' "$here/../support" "unix:$state/a.sock")
[ $((flags & 0x8)) -eq 0 ] && [ $((flags & 0x8000)) -ne 0 ] &&
  ok "[replay]: RCPT negotiated, without reply" || bad "RCPT flags" "$flags"

# 1. Ten networks, alternately through a and b: counted, not flagged.
for i in $(seq 1 10); do
  echo "$([ $((i % 2)) -eq 1 ] && echo a || echo b) 198.51.$i.7 replayed.signed N$i <bob@example.org>"
done | batch ten.out
flagged_early=""
for i in $(seq 1 10); do
  host=$([ $((i % 2)) -eq 1 ] && echo a || echo b)
  line=$(msg_log "$host" "N$i") res=$(msg_out ten.out "N$i")
  [[ "$res" == *"end="*"c ms="* ]] && [[ "$line" == *"replay=counted suspected=0"* ]] &&
    [[ "$res" != *replay* ]] || flagged_early+=" $i:[$res] $line"
done
[ -z "$flagged_early" ] && ok "10 networks through a and b: each counted, none flagged" ||
  bad "10 networks" "$flagged_early"
for h in a b; do
  n=$(grep -c 'replay=counted' "$h.log")
  [ "$n" -eq 5 ] && ok "host $h counted 5 of them" || bad "host $h counts" "$n"
done
# 2. The 11th network flags it: the combined count of both hosts.
send a 198.51.11.7 replayed.signed
[[ "$end" == *c ]] && [[ "$(last_log a)" == *"replay=counted suspected=1"* ]] &&
  ok "the 11th network (through a, which saw 6 alone) flags it; tag: accepted" ||
  bad "11th network" "$end $(last_log a)"
[[ "$(ar)" == *"replay suspected: "*"policy.dkim-replay=suspected"* ]] &&
  ok "the Authentication-Results field records it: $(ar | head -c 400)" ||
  bad "AR of the flagged message" "$(ar)"
send b 198.51.12.7 replayed.signed
[[ "$(last_log b)" == *"replay=counted suspected=1"* ]] && ok "and through b too" ||
  bad "12th network through b" "$(last_log b)"
# 3. on_replay = reject.
send c 198.51.13.7 replayed.signed
[[ "$end" == *"y(550 5.7.1 DKIM signature replay suspected)"* ]] &&
  ok "on_replay = reject: 550 5.7.1" || bad "reject" "$end $(last_log c)"

# 4. A newsletter: one network, many recipients, many messages.
for i in $(seq 1 30); do
  echo "a 203.0.113.9 news.signed L$i $(for j in $(seq 1 20); do printf '<r%s.%s@example.org> ' "$i" "$j"; done)"
done | batch news.out
# shellcheck disable=SC2046  # the queue ids are words
news_bad=$(counted_unflagged news.out a $(seq -f 'L%g' 1 30))
[ -z "$news_bad" ] && ok "a newsletter (1 network, 30 messages, 600 recipients): never flagged" ||
  bad "newsletter" "$news_bad"

# 5. A trusted domain from 30 networks.
for i in $(seq 1 15); do
  echo "b 192.0.2.$((i * 16)) trusted.signed T$i"
  echo "b 10.$i.0.1 trusted.signed U$i"
done | batch trusted.out
# shellcheck disable=SC2046
trusted_bad=$(counted_unflagged trusted.out b $(seq -f 'T%g' 1 15) $(seq -f 'U%g' 1 15))
[ -z "$trusted_bad" ] && ok "a trusted domain from 30 networks: counted, never flagged" ||
  bad "trusted domain" "$trusted_bad"
# The check can fail: a message that did not go through the host named is reported.
[ -n "$(counted_unflagged news.out b L1)" ] && [ -n "$(counted_unflagged trusted.out a T1)" ] &&
  ok "counted_unflagged reports a message the host did not count" ||
  bad "counted_unflagged passes what it should not"

# 6. Redis stopped mid-run.
rig_stop_pid "$redis_pid" || { bad "redis-server stops"; }
for i in $(seq 1 8); do echo "a 198.18.$i.1 replayed.signed D$i"; done | batch down.out
down_bad=""
for i in $(seq 1 8); do
  line=$(msg_log a "D$i") res=$(msg_out down.out "D$i")
  ms=$(sed -n 's/.* ms=\([0-9]*\)$/\1/p' <<<"$line")
  [[ "$res" == *"end="*"c ms="* ]] && [[ "$line" == *"replay=uncounted"* ]] && [ "${ms:-9999}" -le 250 ] ||
    down_bad+=" $i:[$res] $line"
done
[ -z "$down_bad" ] && ok "Redis down: 8 messages accepted uncounted, each within the budget" ||
  bad "Redis down" "$down_bad"
n=$(grep -c 'replay store down' a.log)
[ "$n" -eq 1 ] && ok "the log says 'down' once: $(grep 'replay store down' a.log)" ||
  bad "'down' logged $n times" "$(grep 'replay store' a.log)"
# Restarted on the same port: counting resumes (after the store's back-off).
rig_spawn redis2.log redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
  --dir "$state/redis"
for _ in $(seq 100); do [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
resumed=""
for i in $(seq 1 60); do
  send a "198.18.100.$i" replayed.signed
  [[ "$(last_log a)" == *"replay=counted"* ]] && { resumed=$i; break; }
  sleep 0.5
done
[ -n "$resumed" ] && ok "Redis back on the same port: counting resumes (message $resumed)" ||
  bad "counting resumes" "$(last_log a)"
n=$(grep -c 'replay store up again' a.log)
[ "$n" -eq 1 ] && ok "the log says 'up' once: $(grep 'replay store up again' a.log)" ||
  bad "'up' logged $n times" "$(grep 'replay store' a.log)"
kill -USR2 "$pid_a"
for _ in $(seq 30); do grep -q 'replay stats: counted=' a.log && break; sleep 0.1; done
grep -q 'replay stats: counted=[1-9][0-9]* uncounted=[1-9]' a.log &&
  ok "SIGUSR2 logs the counters: $(grep 'replay stats:' a.log | tail -1)" ||
  bad "SIGUSR2 stats" "$(grep 'replay' a.log | tail -3)"

# replay-stats against the live store: the flagged signature is listed, with both hosts.
"$dk" replay-stats --store "redis://127.0.0.1:$redis_port/0" --json > stats.json 2>&1 &&
  python3 - stats.json <<'PY' && ok "replay-stats --json lists the signatures and hosts" || bad "replay-stats" "$(cat stats.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["tracked"] >= 1 and j["top"][0]["domain"] == "example.com", j
assert {"a"} <= {h["host"] for h in j["hosts"]}, j
PY
"$dk" replay-stats --store "redis://127.0.0.1:$(free_port)/0" --timeout-ms 500 > unreachable.out 2>&1
rc=$?
[ "$rc" -eq 75 ] && ok "replay-stats on an unreachable store: exit 75 ($(head -1 unreachable.out))" ||
  bad "replay-stats unreachable" "exit $rc: $(cat unreachable.out)"

# replay-stats and passwords: a second redis-server that wants one.
auth_port=$(free_port)
rig_spawn redis-auth.log redis-server --bind 127.0.0.1 --port "$auth_port" --save "" \
  --appendonly no --dir "$RIG_DIR/redis" --requirepass s3cret-pw
wait_port "$auth_port" || bad "redis-server with requirepass starts" "$(cat redis-auth.log)"
{ milter_conf x "redis://127.0.0.1:$auth_port/0" tag; echo 'password = "s3cret-pw"'; } > auth.toml
# stats_rc NAME ARG...: replay-stats ARG... into NAME.out; its exit status in $rc.
stats_rc() { local n=$1; shift; "$dk" replay-stats --timeout-ms 2000 "$@" > "$n.out" 2>&1; rc=$?; }
stats_rc auth-config --config auth.toml
[ "$rc" -eq 0 ] && ok "replay-stats --config: the configured password opens the store" ||
  bad "replay-stats --config with a password" "exit $rc: $(cat auth-config.out)"
# --store replaces the configured store, and its password goes no further: the open store is
# not sent it (Redis 7 answers an AUTH it does not expect with an error).
stats_rc auth-elsewhere --config auth.toml --store "redis://127.0.0.1:$redis_port/0"
[ "$rc" -eq 0 ] && ok "replay-stats --config --store: the configured password is not sent to --store" ||
  bad "replay-stats --config --store" "exit $rc: $(cat auth-elsewhere.out)"
stats_rc auth-none --config auth.toml --store "redis://127.0.0.1:$auth_port/0"
[ "$rc" -eq 77 ] && grep -q NOAUTH auth-none.out &&
  ok "replay-stats: no password for a store that wants one: exit 77 ($(head -1 auth-none.out))" ||
  bad "replay-stats without a password" "exit $rc: $(cat auth-none.out)"
printf 'wrong-pw\n' > wrong.pw
stats_rc auth-wrong --store "redis://127.0.0.1:$auth_port/0" --password-file wrong.pw
[ "$rc" -eq 77 ] && grep -q WRONGPASS auth-wrong.out && ! grep -q wrong-pw auth-wrong.out &&
  ok "replay-stats: a wrong password: exit 77 ($(head -1 auth-wrong.out))" ||
  bad "replay-stats with a wrong password" "exit $rc: $(cat auth-wrong.out)"
printf 's3cret-pw\r\n' > right.pw
stats_rc auth-file --config auth.toml --store "redis://127.0.0.1:$auth_port/0" --password-file right.pw
[ "$rc" -eq 0 ] && ok "replay-stats --config --store --password-file: the file's password is used" ||
  bad "replay-stats --password-file" "exit $rc: $(cat auth-file.out)"
: > empty.pw
stats_rc auth-empty --store "redis://127.0.0.1:$redis_port/0" --password-file empty.pw
[ "$rc" -eq 66 ] && grep -q 'empty.pw: the password file is empty' auth-empty.out &&
  ok "replay-stats: an empty --password-file is refused: exit 66" ||
  bad "replay-stats with an empty password file" "exit $rc: $(cat auth-empty.out)"

# 7. Hostile fake Redis: every answer of the wrong type, or none at all.
fake_port=$(free_port)
silent_port=$(free_port)
# (A background job reads no here-document: the server goes in a file.)
cat > fake_redis.py <<'PY'
import socket, sys, threading
def serve(port, answer):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(64)
    while True:
        c, _ = l.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()
def wrong(c):  # every command: an integer where an array or a status is expected
    try:
        while c.recv(65536): c.sendall(b":42\r\n$3\r\nabc\r\n*1\r\n:-7\r\n")
    except OSError: pass
def silent(c):  # reads, never answers
    try:
        while c.recv(65536): pass
    except OSError: pass
threading.Thread(target=serve, args=(int(sys.argv[1]), wrong), daemon=True).start()
serve(int(sys.argv[2]), silent)
PY
rig_spawn fake-redis.log python3 fake_redis.py "$fake_port" "$silent_port"
wait_port "$fake_port" && wait_port "$silent_port" || bad "fake Redis starts" "$(cat fake-redis.log)"
start_milter w "redis://127.0.0.1:$fake_port/0" reject || exit 1
start_milter s "redis://127.0.0.1:$silent_port/0" reject || exit 1
for h in w s; do
  for i in $(seq 1 5); do echo "$h 198.19.$i.1 replayed.signed H$i"; done | batch "hostile-$h.out"
  hostile_bad=""
  for i in $(seq 1 5); do
    line=$(msg_log "$h" "H$i") res=$(msg_out "hostile-$h.out" "H$i")
    ms=$(sed -n 's/.* ms=\([0-9]*\)$/\1/p' <<<"$line")
    [[ "$res" == *"end="*"c ms="* ]] && [[ "$line" == *"replay=uncounted"* ]] && [ "${ms:-9999}" -le 250 ] ||
      hostile_bad+=" $i:[$res] $line"
  done
  what=$([ $h = w ] && echo "wrong-type answers" || echo "no answer at all")
  [ -z "$hostile_bad" ] && ok "hostile Redis ($what): 5 messages accepted uncounted within the budget" ||
    bad "hostile Redis ($what)" "$hostile_bad"
  # It was reached (not refused): the store gave up on what it answered, or on its silence.
  why=$(grep 'replay store down' "$h.log")
  [ "$(grep -c 'replay store down' "$h.log")" -eq 1 ] && [[ "$why" != *"connection refused"* ]] &&
    ok "hostile Redis ($what): down once, $(sed 's/.*down: //' <<<"$why")" || bad "hostile Redis ($what) log" "$why"
done
rig_summary
