#!/usr/bin/env bash
# replay_memory.sh BUILD_DIR [COUNT]: the memory per tracked signature of the Redis replay store
# (INFO memory used_memory before and after COUNT signatures, default 100 000, divided by COUNT),
# MEMORY USAGE of one signature's keys, the key count, and record() round-trip times
# (bench/replay_memory.cpp), against a redis-server of its own on loopback (tests/support/rig.sh
# rig_redis), stopped by PID at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: replay_memory.sh BUILD_DIR [COUNT]}" && pwd)
count=${2:-100000}
# shellcheck source=../tests/support/rig.sh
source "$here/../tests/support/rig.sh"
rig_start replay-memory
status=0
rig_redis || status=$?
if [ "$status" -eq 77 ]; then echo "SKIP: redis-server or redis-cli is not installed"; exit 77; fi
[ "$status" -eq 0 ] || { echo "FAIL: redis-server did not start"; exit 1; }
cli() { redis-cli -h 127.0.0.1 -p "$RIG_REDIS_PORT" "$@"; }
used_memory() { cli info memory | tr -d '\r' | sed -n 's/^used_memory:\([0-9]*\)$/\1/p'; }

before=$(used_memory)
out=$("$build/bench/replay_memory" "$RIG_REDIS_URL" "$count")
after=$(used_memory)
grep -v '^keys: ' <<<"$out"
read -r -a keys <<<"$(sed -n 's/^keys: //p' <<<"$out")"
echo "redis keys (DBSIZE):  $(cli dbsize)"
echo "used_memory:          $before before, $after after"
echo "per signature:        $(((after - before) / count)) bytes (used_memory delta / $count)"
total=0
for k in "${keys[@]}"; do
  usage=$(cli memory usage "$k")
  echo "MEMORY USAGE $k: $usage"
  total=$((total + usage))
done
echo "MEMORY USAGE of one signature's 3 keys: $total bytes"
