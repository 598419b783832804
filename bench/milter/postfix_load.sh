#!/usr/bin/env bash
# Load through a real Postfix: N messages of 10 KiB at concurrency C, in one run: Postfix alone
# (the control), then with dkimkit-milter signing, Debian's OpenDKIM signing (Mode s, the same
# RSA-2048 key, relaxed/relaxed), dkimkit-milter verifying and OpenDKIM verifying a pre-signed
# message (its key served by NSD on loopback), and dkimkit-milter with nothing to do (the floor:
# what the milter protocol alone costs); milters over TCP on 127.0.0.1. For each: seconds
# from the first message sent to the last one delivered to smtp-sink, messages per second and
# their ratio to Postfix alone, the milter's CPU per message (/proc/PID/stat before and after the
# phase), delivered and signed (or verified: dkim=pass) counts.
# Usage: [DKIMKIT_MILTER=PATH] bench/milter/postfix_load.sh BUILD_DIR [MESSAGES=2000] [CONCURRENCY=20]
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
m_ds=$(free_port); m_dv=$(free_port); m_os=$(free_port); m_ov=$(free_port); m_df=$(free_port)
load_start_milters "$milter" "inet:$m_ds@127.0.0.1" "inet:$m_dv@127.0.0.1" "inet:$m_os@127.0.0.1" \
  "inet:$m_ov@127.0.0.1" "inet:$m_df@127.0.0.1" || exit 1

p_none=$(free_port); p_ds=$(free_port); p_os=$(free_port); p_dv=$(free_port); p_ov=$(free_port)
p_df=$(free_port)
rig_sink 256
rig_postfix_conf 'default_process_limit = 200' 'smtp_destination_concurrency_limit = 50'
rig_postfix_smtpd "$p_none"
rig_postfix_smtpd "$p_ds" "smtpd_milters=inet:127.0.0.1:$m_ds"
rig_postfix_smtpd "$p_os" "smtpd_milters=inet:127.0.0.1:$m_os"
rig_postfix_smtpd "$p_dv" "smtpd_milters=inet:127.0.0.1:$m_dv"
rig_postfix_smtpd "$p_ov" "smtpd_milters=inet:127.0.0.1:$m_ov"
rig_postfix_smtpd "$p_df" "smtpd_milters=inet:127.0.0.1:$m_df"
rig_postfix_start || { echo "postfix_load.sh: postfix did not start" >&2; exit 1; }
wait_port "$p_none" || exit 1

base_rate=""
run() {  # run LABEL PORT MESSAGE [MILTER_PID]
  local label=$1 port=$2 file=$3 pid=${4:-} start end got marked cpu0=0 cpu1=0 pids p
  rm -f sink/*
  # The milter's CPU: the process and its children (dkimkit-milter runs libmilter in a child).
  pids=""
  [ -n "$pid" ] && pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  for p in $pids; do cpu0=$(python3 -c "print($cpu0 + $(load_cpu "$p"))"); done
  start=$(date +%s.%N)
  smtp-source -s "$conc" -m "$n" -F "$file" -f alice@example.com -t bob@example.org "127.0.0.1:$port" \
    > "source-$label.log" 2>&1
  for _ in $(seq 1200); do
    got=$(find sink -type f | wc -l)
    [ "$got" -ge "$n" ] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  for p in $pids; do cpu1=$(python3 -c "print($cpu1 + $(load_cpu "$p"))"); done
  case $label in
    *sign) marked=$(grep -l '^DKIM-Signature:' sink/* 2>/dev/null | wc -l) ;;
    *verify) marked=$(grep -l '^Authentication-Results: mx.example.net;.*dkim=pass\|^[[:space:]]*dkim=pass' sink/* 2>/dev/null | wc -l) ;;
    *) marked=- ;;
  esac
  python3 - "$label" "$n" "$start" "$end" "$got" "$marked" "${pid:+x}" "$cpu0" "$cpu1" "$base_rate" <<'PY'
import sys
l, n, s, e, g, mk, has, c0, c1, base = sys.argv[1:]
t = float(e) - float(s); rate = int(g) / t
ratio = "%5.0f %%" % (100 * rate / float(base)) if base else "  100 %"
cpu = "%6.2f ms/msg" % ((float(c1) - float(c0)) * 1000 / int(g)) if has and int(g) else "     - ms/msg"
print("%-22s %6s msgs %7.2f s %7.1f msg/s  %s of Postfix alone  milter cpu %s  delivered %5s  signed/pass %5s"
      % (l, n, t, rate, ratio, cpu, g, mk))
with open("rate-" + l, "w") as f: f.write(str(rate))
PY
  [ -z "$base_rate" ] && base_rate=$(cat "rate-$label")
  return 0
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
echo "# $n messages of $(wc -c < msg.eml) bytes, concurrency $conc, Postfix $(postconf -d -h mail_version 2>/dev/null), TCP milters"
run postfix-alone "$p_none" msg.eml
run dkimkit-milter-sign "$p_ds" msg.eml "$LOAD_PID_DKM_SIGN"
run opendkim-sign "$p_os" msg.eml "$LOAD_PID_ODK_SIGN"
run dkimkit-milter-verify "$p_dv" signed.eml "$LOAD_PID_DKM_VERIFY"
run opendkim-verify "$p_ov" signed.eml "$LOAD_PID_ODK_VERIFY"
run dkimkit-milter-floor "$p_df" msg.eml "$LOAD_PID_DKM_FLOOR"
