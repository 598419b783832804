#!/usr/bin/env bash
# Load through a real Postfix: N messages of 10 KiB at concurrency C, in one run (in ROUNDS
# interleaved slices of every phase, so that other load on the machine falls on all alike):
# Postfix alone (the control), then with dkimkit-milter signing, Debian's OpenDKIM signing (Mode s, the same
# RSA-2048 key, relaxed/relaxed), dkimkit-milter verifying and OpenDKIM verifying a pre-signed
# message (its key served by NSD on loopback), and dkimkit-milter with nothing to do (the floor:
# what the milter protocol alone costs); milters on unix sockets, as the README and
# dkimkit-milter(8) tell operators to set Postfix up (MILTER_SOCKETS=inet: over TCP on
# 127.0.0.1 instead, Postfix's alternative). For each: seconds
# from the first message sent to the last one delivered to smtp-sink, messages per second and
# their ratio to Postfix alone, the milter's CPU per message (/proc/PID/stat before and after the
# slices), delivered and signed (or verified: dkim=pass) counts.
# Usage: [DKIMKIT_MILTER=PATH] [ROUNDS=4] [MILTER_SOCKETS=unix|inet] bench/milter/postfix_load.sh
#        BUILD_DIR [MESSAGES=2000] [CONCURRENCY=20]
# It works in /tmp/dkimkit-load.XXXXXX (tests/support/rig.sh), removed at exit unless it failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/support/rig.sh
. "$here/../../tests/support/rig.sh"
# shellcheck source=load_common.sh
. "$here/load_common.sh"
build=$(readlink -f "${1:?usage: postfix_load.sh BUILD_DIR [MESSAGES] [CONCURRENCY]}")
n=${2:-2000}
conc=${3:-20}
dk=$build/tools/cli/dkimkit
milter=${DKIMKIT_MILTER:-$build/milter/dkimkit-milter}  # another build of it, to compare
for b in "$dk" "$milter"; do [ -x "$b" ] || { echo "postfix_load.sh: $b not built" >&2; exit 2; }; done
for t in postfix smtp-source smtp-sink opendkim nsd; do
  command -v "$t" >/dev/null || { echo "postfix_load.sh: $t is required (make deps)" >&2; exit 2; }
done
rig_start load || exit 1
load_prepare "$dk" || { echo "postfix_load.sh: setup failed" >&2; exit 1; }
# Each milter's socket as it listens on it, and as Postfix names it.
sockets=${MILTER_SOCKETS:-unix}
declare -A listen mta
for m in ds dv os ov df; do
  if [ "$sockets" = inet ]; then
    port=$(free_port); listen[$m]="inet:$port@127.0.0.1"; mta[$m]="inet:127.0.0.1:$port"
  else
    listen[$m]="unix:$RIG_DIR/$m.sock"; mta[$m]="unix:$RIG_DIR/$m.sock"
  fi
done
[ "$sockets" = inet ] || LOAD_SOCKET_GROUP=postfix
load_start_milters "$milter" "${listen[ds]}" "${listen[dv]}" "${listen[os]}" "${listen[ov]}" \
  "${listen[df]}" || exit 1

p_none=$(free_port); p_ds=$(free_port); p_os=$(free_port); p_dv=$(free_port); p_ov=$(free_port)
p_df=$(free_port)
rig_sink 256
rig_postfix_conf 'default_process_limit = 200' 'smtp_destination_concurrency_limit = 50'
rig_postfix_smtpd "$p_none"
rig_postfix_smtpd "$p_ds" "smtpd_milters=${mta[ds]}"
rig_postfix_smtpd "$p_os" "smtpd_milters=${mta[os]}"
rig_postfix_smtpd "$p_dv" "smtpd_milters=${mta[dv]}"
rig_postfix_smtpd "$p_ov" "smtpd_milters=${mta[ov]}"
rig_postfix_smtpd "$p_df" "smtpd_milters=${mta[df]}"
rig_postfix_start || { echo "postfix_load.sh: postfix did not start" >&2; exit 1; }
wait_port "$p_none" || exit 1

# One slice of a phase: M messages; appends "seconds delivered marked cpu_seconds" to
# phase-LABEL. The phases run in ROUNDS interleaved slices, so that a load that comes and goes on
# the machine falls on all of them alike.
slice() {  # slice LABEL PORT MESSAGE COUNT [MILTER_PID]
  local label=$1 port=$2 file=$3 m=$4 pid=${5:-} start end got marked cpu0=0 cpu1=0 pids="" p
  rm -f sink/*
  # The milter's CPU: the process and its children (dkimkit-milter runs libmilter in a child).
  [ -n "$pid" ] && pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  for p in $pids; do cpu0=$(python3 -c "print($cpu0 + $(load_cpu "$p"))"); done
  start=$(date +%s.%N)
  smtp-source -s "$conc" -m "$m" -F "$file" -f alice@example.com -t bob@example.org "127.0.0.1:$port" \
    >> "source-$label.log" 2>&1
  for _ in $(seq 1200); do
    got=$(find sink -type f | wc -l)
    [ "$got" -ge "$m" ] && break
    sleep 0.05
  done
  end=$(date +%s.%N)
  for p in $pids; do cpu1=$(python3 -c "print($cpu1 + $(load_cpu "$p"))"); done
  case $label in
    *sign) marked=$(grep -l '^DKIM-Signature:' sink/* 2>/dev/null | wc -l) ;;
    *verify) marked=$(grep -l '^Authentication-Results: mx.example.net;.*dkim=pass\|^[[:space:]]*dkim=pass' sink/* 2>/dev/null | wc -l) ;;
    *) marked=0 ;;
  esac
  echo "$(python3 -c "print(float('$end') - float('$start'))") $got $marked $(python3 -c "print($cpu1 - $cpu0)")" >> "phase-$label"
}

# A warm-up, not counted: every listener's smtpd and cleanup processes started, every milter's
# threads and key cache (C * 2 messages through each).
for port in "$p_none" "$p_ds" "$p_os" "$p_dv" "$p_ov" "$p_df"; do
  smtp-source -s "$conc" -m $((conc * 2)) -F signed.eml -f alice@example.com -t bob@example.org \
    "127.0.0.1:$port" > warmup.log 2>&1
done
for _ in $(seq 600); do
  [ "$(find sink -type f | wc -l)" -ge $((conc * 12)) ] && break
  sleep 0.1
done
rounds=${ROUNDS:-4}
per=$(((n + rounds - 1) / rounds))
echo "# $((per * rounds)) messages of $(wc -c < msg.eml) bytes, concurrency $conc, in $rounds interleaved rounds, Postfix $(postconf -d -h mail_version 2>/dev/null), milters on $sockets sockets"
for ((r = 0; r < rounds; r++)); do
  slice postfix-alone "$p_none" msg.eml "$per"
  slice dkimkit-milter-sign "$p_ds" msg.eml "$per" "$LOAD_PID_DKM_SIGN"
  slice opendkim-sign "$p_os" msg.eml "$per" "$LOAD_PID_ODK_SIGN"
  slice dkimkit-milter-verify "$p_dv" signed.eml "$per" "$LOAD_PID_DKM_VERIFY"
  slice opendkim-verify "$p_ov" signed.eml "$per" "$LOAD_PID_ODK_VERIFY"
  slice dkimkit-milter-floor "$p_df" msg.eml "$per" "$LOAD_PID_DKM_FLOOR"
done
python3 - postfix-alone dkimkit-milter-sign opendkim-sign dkimkit-milter-verify opendkim-verify \
  dkimkit-milter-floor <<'PY'
import sys
base = None
for label in sys.argv[1:]:
    rows = [list(map(float, line.split())) for line in open("phase-" + label)]
    t, got, marked, cpu = (sum(r[i] for r in rows) for i in range(4))
    rate = got / t
    base = base or rate
    cpu_text = "%6.2f ms/msg" % (cpu * 1000 / got) if label != "postfix-alone" else "     - ms/msg"
    mark_text = "%5d" % marked if "sign" in label or "verify" in label else "    -"
    print("%-22s %6d msgs %7.2f s %7.1f msg/s  %4.0f %% of Postfix alone  milter cpu %s  delivered %5d  signed/pass %s"
          % (label, got, t, rate, 100 * rate / base, cpu_text, got, mark_text))
PY
