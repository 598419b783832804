#!/usr/bin/env bash
# Whole-process scaling of `dkimkit verify --jobs N` (issue 16, part 5): the same mbox verified
# with --jobs 1 and --jobs 2 in one run, and the floor measured in the same run: what one core
# needs at least per message, one RSA-2048 verification plus SHA-256 over the message
# (`openssl speed`), whatever the parsing and canonicalization cost on top.
#
# The mbox: VJ_MESSAGES messages (default 20000) of about 10 KiB, signed rsa-sha256
# relaxed/relaxed with a 2048-bit key by `dkimkit sign` (200 distinct messages, repeated: every
# copy costs the same to verify), the key in a zone file (--zone: no network).
# Each --jobs value runs VJ_RUNS times (default 2), alternating, and the best run counts (other
# work on the machine only slows a run down).
#
# Usage: bench/verify_jobs.sh BUILD_DIR | DKIMKIT_PROGRAM [JOBS...]     (default JOBS: 1 2)
# The work directory is VJ_WORK (default: a new directory under /tmp, removed at exit).
set -euo pipefail
arg=${1:?usage: verify_jobs.sh BUILD_DIR | DKIMKIT_PROGRAM [JOBS...]}
shift
jobs=("$@")
[ ${#jobs[@]} -eq 0 ] && jobs=(1 2)
dk=$arg
[ -d "$arg" ] && dk=$arg/tools/cli/dkimkit
dk=$(readlink -f "$dk")
[ -x "$dk" ] || { echo "verify_jobs.sh: $dk is not an executable" >&2; exit 2; }
messages=${VJ_MESSAGES:-20000}
runs=${VJ_RUNS:-2}
if [ -n "${VJ_WORK:-}" ]; then
  mkdir -p "$VJ_WORK" && work=$(readlink -f "$VJ_WORK")
else
  work=$(mktemp -d /tmp/dkimkit-verify-jobs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

if [ ! -s jobs.mbox ] || [ "$(cat jobs.count 2>/dev/null)" != "$messages" ]; then
  "$dk" keygen -d example.com -s bench -t rsa -b 2048 -o . >/dev/null
  { echo '$TTL 300'; cat bench.txt; } > zone
  /usr/bin/python3 - "$dk" "$messages" <<'EOF'
import random, subprocess, sys
dk, n = sys.argv[1], int(sys.argv[2])
random.seed(16)
words = "the of and to in mail key domain signature body header relaxed canonical".split()
signed = []
for i in range(200):
    lines, size = [], 0
    while size < 10 * 1024 - 300:
        line = " ".join(random.choice(words) for _ in range(12)) + "\n"
        lines.append(line); size += len(line)
    msg = ("From: a@example.com\nTo: b@example.net\nSubject: message %d\n"
           "Date: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <%d@example.com>\n\n" % (i, i)
           + "".join(lines)).encode()
    signed.append(subprocess.run([dk, "sign", "-k", "bench.private", "-d", "example.com", "-s",
                                  "bench", "-c", "relaxed/relaxed"], input=msg,
                                 capture_output=True, check=True).stdout)
with open("jobs.mbox", "wb") as out:
    for i in range(n):
        out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + signed[i % 200] + b"\n")
EOF
  echo "$messages" > jobs.count
fi
size=$(stat -c %s jobs.mbox)
per=$((size / messages))
echo "mbox: $messages messages, $((size >> 20)) MiB, $per bytes each on average (rsa-sha256, 2048 bits, relaxed/relaxed)"
"$dk" verify --zone zone --json --jobs 1 jobs.mbox | grep -c '"result":"pass"' > pass.count || true
[ "$(cat pass.count)" = "$messages" ] || { echo "verify_jobs.sh: not every message passes" >&2; exit 1; }

# The floor, measured now: RSA-2048 verifications per second and SHA-256 bytes per second on
# blocks of the message's size, one core.
openssl speed -seconds 3 rsa2048 2>/dev/null > rsa.txt
openssl speed -seconds 3 -bytes "$per" sha256 2>/dev/null > sha.txt
verify_s=$(awk '/^rsa 2048 bits/ {print $7}' rsa.txt)
sha_kbs=$(awk '/^sha256/ {v=$NF; sub(/k$/, "", v); print v}' sha.txt)
floor=$(awk -v v="$verify_s" -v k="$sha_kbs" -v b="$per" 'BEGIN {printf "%.0f", 1 / (1 / v + b / (k * 1000))}')
echo "floor (one core): RSA-2048 verify $verify_s/s, SHA-256 ${sha_kbs} kB/s on $per-byte blocks -> $floor messages/s"

# Wall-clock rate per run, and the CPU time (user + system) it took: on a machine busy with other
# work (the load average is printed before each run), the wall-clock ratio says little, and the
# CPU cost per message of --jobs N against --jobs 1 shows what the threads themselves cost.
declare -A best cpu
for ((r = 1; r <= runs; r++)); do
  for n in "${jobs[@]}"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S" -o time.txt "$dk" verify --zone zone --json --jobs "$n" jobs.mbox > /dev/null
    read -r wall user sys < time.txt
    rate=$(awk -v w="$wall" -v m="$messages" 'BEGIN {printf "%.0f", m / w}')
    per_cpu=$(awk -v u="$user" -v s="$sys" -v m="$messages" 'BEGIN {printf "%.0f", m / (u + s)}')
    echo "run $r: --jobs $n: $rate messages/s ($(awk -v r="$rate" -v f="$floor" 'BEGIN {printf "%.2f", r / f}') of the one-core floor), ${wall} s, CPU ${user}+${sys} s ($per_cpu messages per CPU second), load before: $load"
    if [ -z "${best[$n]:-}" ] || [ "$rate" -gt "${best[$n]}" ]; then best[$n]=$rate; fi
    if [ -z "${cpu[$n]:-}" ] || [ "$per_cpu" -gt "${cpu[$n]}" ]; then cpu[$n]=$per_cpu; fi
  done
done
one=${best[${jobs[0]}]}
for n in "${jobs[@]}"; do
  ratio=$(awk -v r="${best[$n]}" -v o="$one" 'BEGIN {printf "%.2f", r / o}')
  of_floor=$(awk -v r="${best[$n]}" -v f="$floor" -v n="$n" 'BEGIN {printf "%.2f", r / (f * n)}')
  cpu_ratio=$(awk -v c="${cpu[$n]}" -v o="${cpu[${jobs[0]}]}" 'BEGIN {printf "%.2f", c / o}')
  echo "best --jobs $n: ${best[$n]} messages/s, ${ratio}x --jobs ${jobs[0]}, $of_floor of the floor of $n cores ($(nproc) online); ${cpu[$n]} messages per CPU second (${cpu_ratio} of --jobs ${jobs[0]})"
done
