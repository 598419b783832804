#!/usr/bin/env bash
# What [replay] (issue 17) costs dkimkit-milter: N pre-signed messages of 10 KiB (load_common.sh),
# C connections at a time, straight over the milter protocol (build/bench/milter_load), through one
# dkimkit-milter in verify mode with replay counting on (redis-server on loopback, rig_redis) and
# through another with it off, in the same run, in ROUNDS interleaved slices (4 by default) so that
# other load on the machine falls on both alike. Each message comes from one of 500 /24 networks
# (milter_load --client-networks). For each: the milter's CPU per message (/proc/PID/stat, the
# supervisor and its child) and the per-message latency, median and p99 (of all rounds' messages),
# then what replay counting adds. Target (issue 17): under 0.2 ms CPU and under 2 ms p99 added
# per message.
# Two loads, each on and off:
# - closed: each connection sends its next message as soon as the last one is answered, so the
#   machine runs flat out and a message's latency is mostly its wait behind the 19 others
#   (Little's law: latency = C / throughput). What replay adds there is what its CPU (the milter's,
#   and Redis's, on the same cores) takes off the throughput.
# - paced: the messages are due at RATE a second (2000 by default, about a third of what this
#   milter verifies flat out on 2 cores), spread over the C connections, as mail reaches an MX;
#   the latency runs from the time a message was due. What replay adds there is the delay a
#   message sees: mostly the Redis round trip.
# Usage: [ROUNDS=4] [RATE=2000] bench/milter/replay_load.sh BUILD_DIR [MESSAGES=2000] [CONNECTIONS=20]
# It works in /tmp/dkimkit-replay-load.XXXXXX (tests/support/rig.sh), removed at exit unless it
# failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/support/rig.sh
. "$here/../../tests/support/rig.sh"
# shellcheck source=load_common.sh
. "$here/load_common.sh"
build=$(readlink -f "${1:?usage: replay_load.sh BUILD_DIR [MESSAGES] [CONNECTIONS]}")
n=${2:-2000}
conc=${3:-20}
dk=$build/tools/cli/dkimkit
milter=$build/milter/dkimkit-milter
load=$build/bench/milter_load
for b in "$dk" "$milter" "$load"; do [ -x "$b" ] || { echo "replay_load.sh: $b not built" >&2; exit 2; }; done
for t in nsd redis-server redis-cli; do
  command -v "$t" >/dev/null || { echo "replay_load.sh: $t is required" >&2; exit 2; }
done
rig_start replay-load || exit 1
load_prepare "$dk" || { echo "replay_load.sh: setup failed" >&2; exit 1; }
rig_redis || { echo "replay_load.sh: redis-server does not start" >&2; exit 1; }

{ rig_milter_toml verify "unix:$RIG_DIR/off.sock"; load_verify_dns; } > off.toml
{ rig_milter_toml verify "unix:$RIG_DIR/on.sock"; load_verify_dns
  printf '[replay]\nstore = "%s"\n' "$RIG_REDIS_URL"; } > on.toml
rig_spawn off.log "$milter" --config off.toml --foreground; pid_off=$RIG_PID
rig_spawn on.log "$milter" --config on.toml --foreground; pid_on=$RIG_PID
for s in off on; do
  load_wait_socket "unix:$RIG_DIR/$s.sock" || { echo "the $s milter did not start" >&2; cat ./*.log >&2; exit 1; }
done

rounds=${ROUNDS:-4}
rate=${RATE:-2000}
per=$(((n + rounds - 1) / rounds))
echo "# $((per * rounds)) messages of $(wc -c < signed.eml) bytes, $conc connections at a time, $rounds interleaved rounds, replay on (Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') on loopback) vs off; closed loop, then paced at $rate msg/s"
rc=0
run() {  # run closed|paced off|on PID
  local pace=()
  [ "$1" = paced ] && pace=(--rate "$rate")
  "$load" --socket "unix:$RIG_DIR/$2.sock" --message signed.eml --messages "$per" \
    --connections "$conc" --pid "$3" --label "replay-$2" --expect-header Authentication-Results \
    --client-networks 500 --latency-file "latency-$1-$2.txt" "${pace[@]}" >> "result-$1-$2.txt" || { rc=1; tail -1 "result-$1-$2.txt"; }
}
# A short warm-up of each (threads, key cache, Redis connections and script) that is not counted.
for s in off on; do
  "$load" --socket "unix:$RIG_DIR/$s.sock" --message signed.eml --messages 40 --connections 4 >/dev/null || rc=1
done
for mode in closed paced; do
  for ((r = 0; r < rounds; r++)); do
    run "$mode" off "$pid_off"
    run "$mode" on "$pid_on"
  done
done
grep -c 'replay=counted' on.log > counted.txt
python3 - "$(cat counted.txt)" <<'PY'
import re, sys
line_re = re.compile(r'^(\S+)\s+\d+ msgs\s+([\d.]+) s\s+[\d.]+ msg/s\s+cpu\s+([\d.]+) ms/msg.*ok (\d+)\s+failed (\d+)'
                     r'.*lat p50 ([\d.]+) p99 ([\d.]+) ms')
for mode in ("closed", "paced"):
    r = {}
    for label in ("off", "on"):
        secs = cpu = ok = failed = 0.0
        try:
            lines = open("result-%s-%s.txt" % (mode, label)).readlines()
        except OSError:
            lines = []
        for line in lines:
            m = line_re.search(line)
            if not m: continue
            secs += float(m.group(2)); ok += int(m.group(4)); failed += int(m.group(5))
            cpu += float(m.group(3)) * int(m.group(4)) / 1000
        if not ok: continue
        lat = sorted(float(x) for x in open("latency-%s-%s.txt" % (mode, label)))
        pct = lambda p: lat[min(len(lat) - 1, int(p * (len(lat) - 1) + 0.5))]
        r[label] = (cpu * 1000 / ok, pct(0.5), pct(0.99))
        print("%-6s replay %-3s %6d msgs %7.2f s %8.1f msg/s  cpu %7.3f ms/msg  latency p50 %6.2f ms  p99 %6.2f ms  failed %d"
              % (mode, label, ok, secs, ok / secs, r[label][0], r[label][1], r[label][2], failed))
    if "off" in r and "on" in r:
        d = [r["on"][i] - r["off"][i] for i in range(3)]
        print("%-6s replay counting adds: cpu %+.3f ms/msg (target < 0.2), p50 %+.2f ms, p99 %+.2f ms (target < 2)"
              % (mode, d[0], d[1], d[2]))
print("%s messages logged replay=counted" % sys.argv[1])
PY
exit $rc
