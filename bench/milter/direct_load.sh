#!/usr/bin/env bash
# The milters alone, without an MTA: build/bench/milter_load speaks the milter protocol to
# dkimkit-milter and to Debian's OpenDKIM over unix sockets, N messages of 10 KiB, one milter
# connection per message (as Postfix: one per SMTP session), C at a time; signing, then verifying a
# pre-signed message (its key served by NSD on loopback), then dkimkit-milter with nothing to do
# (the floor: libmilter and the protocol alone). For each: messages/s and the milter's CPU per
# message (/proc/PID/stat before and after), then dkimkit-milter's messages per CPU-second against
# OpenDKIM's. The runs go in ROUNDS interleaved slices (4 by default), so that other load on the
# machine falls on all of them alike; the figures are the sums over the slices.
# Usage: [DKIMKIT_MILTER=PATH] [ROUNDS=4] bench/milter/direct_load.sh BUILD_DIR [MESSAGES=2000]
#        [CONNECTIONS=20]
# It works in /tmp/dkimkit-direct.XXXXXX (tests/support/rig.sh), removed at exit unless it failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/support/rig.sh
. "$here/../../tests/support/rig.sh"
# shellcheck source=load_common.sh
. "$here/load_common.sh"
build=$(readlink -f "${1:?usage: direct_load.sh BUILD_DIR [MESSAGES] [CONNECTIONS]}")
n=${2:-2000}
conc=${3:-20}
dk=$build/tools/cli/dkimkit
milter=${DKIMKIT_MILTER:-$build/milter/dkimkit-milter}  # another build of it, to compare
load=$build/bench/milter_load
for b in "$dk" "$milter" "$load"; do [ -x "$b" ] || { echo "direct_load.sh: $b not built" >&2; exit 2; }; done
for t in opendkim nsd; do
  command -v "$t" >/dev/null || { echo "direct_load.sh: $t is required (make deps)" >&2; exit 2; }
done
rig_start direct || exit 1
load_prepare "$dk" || { echo "direct_load.sh: setup failed" >&2; exit 1; }
load_start_milters "$milter" "unix:$RIG_DIR/dkm-sign.sock" "unix:$RIG_DIR/dkm-verify.sock" \
  "unix:$RIG_DIR/odk-sign.sock" "unix:$RIG_DIR/odk-verify.sock" "unix:$RIG_DIR/dkm-floor.sock" || exit 1

rounds=${ROUNDS:-4}
per=$(((n + rounds - 1) / rounds))
echo "# $((per * rounds)) messages of $(wc -c < msg.eml) bytes, $conc connections at a time, in $rounds interleaved rounds, milter protocol over unix sockets"
rc=0
run() {  # run LABEL SOCKET PID MESSAGE [EXPECTED_FIELD]
  "$load" --socket "unix:$RIG_DIR/$2.sock" --message "$4" --messages "$per" --connections "$conc" \
    --pid "$3" --label "$1" ${5:+--expect-header "$5"} >> "result-$1.txt" || { rc=1; tail -1 "result-$1.txt"; }
}
# A short warm-up of each (threads, key cache) that is not counted.
for s in dkm-verify odk-verify; do "$load" --socket "unix:$RIG_DIR/$s.sock" --message signed.eml --messages 20 --connections 2 >/dev/null || rc=1; done
for ((r = 0; r < rounds; r++)); do
  run dkimkit-milter-sign dkm-sign "$LOAD_PID_DKM_SIGN" msg.eml DKIM-Signature
  run opendkim-sign odk-sign "$LOAD_PID_ODK_SIGN" msg.eml DKIM-Signature
  run dkimkit-milter-verify dkm-verify "$LOAD_PID_DKM_VERIFY" signed.eml Authentication-Results
  run opendkim-verify odk-verify "$LOAD_PID_ODK_VERIFY" signed.eml Authentication-Results
  run dkimkit-milter-floor dkm-floor "$LOAD_PID_DKM_FLOOR" msg.eml
done
python3 - dkimkit-milter-sign opendkim-sign dkimkit-milter-verify opendkim-verify dkimkit-milter-floor <<'PY'
import re, sys
r = {}
line_re = re.compile(r'^(\S+)\s+\d+ msgs\s+([\d.]+) s\s+[\d.]+ msg/s\s+cpu\s+([\d.]+) ms/msg\s+[\d.]+ msg/cpu-s'
                     r'\s+ok (\d+)\s+failed (\d+)\s+cmds/msg ([\d.]+)')
for label in sys.argv[1:]:
    secs = cpu = ok = failed = cmds = 0.0
    for line in open("result-" + label + ".txt"):
        m = line_re.search(line)
        if not m: continue
        secs += float(m.group(2)); ok += int(m.group(4)); failed += int(m.group(5))
        cpu += float(m.group(3)) * int(m.group(4)) / 1000; cmds = float(m.group(6))
    if not ok or not secs: continue
    r[label] = (ok / secs, cpu * 1000 / ok, ok / cpu if cpu > 0 else 0.0)
    print("%-22s %6d msgs %7.2f s %8.1f msg/s  cpu %7.3f ms/msg  %8.1f msg/cpu-s  failed %d  cmds/msg %.1f"
          % (label, ok, secs, r[label][0], r[label][1], r[label][2], failed, cmds))
for mode in ("sign", "verify"):
    d, o = r.get("dkimkit-milter-" + mode), r.get("opendkim-" + mode)
    if d and o and o[2] > 0 and o[0] > 0:
        print("%-7s dkimkit-milter / OpenDKIM: %5.2fx messages/s, %5.2fx messages per CPU-second (target >= 5x)"
              % (mode, d[0] / o[0], d[2] / o[2]))
PY
exit $rc
