#!/usr/bin/env bash
# Load through a real Postfix: N messages of 10 KiB at concurrency C, signed by dkimkit-milter,
# then by Debian's OpenDKIM (Mode s, the same RSA-2048 key, relaxed/relaxed), then with no milter
# (the control), all over TCP on 127.0.0.1 in one run. For each: seconds from the first message
# sent to the last one delivered to smtp-sink, messages per second, delivered and signed counts.
# Usage: bench/milter/postfix_load.sh BUILD_DIR [MESSAGES=2000] [CONCURRENCY=20]
# It works in /tmp/dkimkit-load.XXXXXX (tests/support/rig.sh), removed at exit unless it failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/support/rig.sh
. "$here/../../tests/support/rig.sh"
build=$(readlink -f "${1:?usage: postfix_load.sh BUILD_DIR [MESSAGES] [CONCURRENCY]}")
n=${2:-2000}
conc=${3:-20}
dk=$build/tools/cli/dkimkit
milter=$build/milter/dkimkit-milter
for b in "$dk" "$milter"; do [ -x "$b" ] || { echo "postfix_load.sh: $b not built" >&2; exit 2; }; done
for t in postfix smtp-source smtp-sink opendkim; do
  command -v "$t" >/dev/null || { echo "postfix_load.sh: $t is required (make deps)" >&2; exit 2; }
done
rig_start load || exit 1
work=$RIG_DIR

mkdir -p keys
"$dk" keygen -d example.com -s load -o keys >/dev/null 2>&1
chmod 700 keys
# A 10 KiB message: headers and a text body of 76-character lines.
{
  printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: load test\r\n'
  printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n'
  python3 -c '
import random
random.seed(1)
words = "the quarterly figures show steady growth in all regions and we plan to expand".split()
out, size = [], 0
while size < 10000:
    line = " ".join(random.choice(words) for _ in range(12))[:76]
    out.append(line); size += len(line) + 2
print("\r\n".join(out), end="\r\n")'
} > msg.eml

dkm_port=$(free_port); odk_port=$(free_port)
rig_milter_toml sign "$dkm_port" > dkimkit.toml
cat >> dkimkit.toml <<CONF
[sign]
internal_networks = ["127.0.0.0/8"]
canonicalization = "relaxed/relaxed"
[[sign.keys]]
domain = "example.com"
selector = "load"
key_file = "$work/keys/load.private"
CONF
cat > opendkim.conf <<CONF
Mode s
Domain example.com
Selector load
KeyFile $work/keys/load.private
Socket inet:$odk_port@127.0.0.1
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.1
RequireSafeKeys false
Syslog no
CONF
rig_spawn dkimkit-milter.log "$milter" --config dkimkit.toml --foreground
rig_spawn opendkim.log opendkim -f -x opendkim.conf
wait_port "$dkm_port" && wait_port "$odk_port" || { echo "postfix_load.sh: a milter did not start" >&2; cat ./*.log >&2; exit 1; }

p_dkm=$(free_port); p_odk=$(free_port); p_none=$(free_port)
rig_sink 256
rig_postfix_conf 'default_process_limit = 200' 'smtp_destination_concurrency_limit = 50'
rig_postfix_smtpd "$p_dkm" "smtpd_milters=inet:127.0.0.1:$dkm_port"
rig_postfix_smtpd "$p_odk" "smtpd_milters=inet:127.0.0.1:$odk_port"
rig_postfix_smtpd "$p_none"
rig_postfix_start || { echo "postfix_load.sh: postfix did not start" >&2; exit 1; }
wait_port "$p_dkm" || exit 1

run() {  # run LABEL PORT
  local label=$1 port=$2 start end got signed
  rm -f sink/*
  start=$(date +%s.%N)
  smtp-source -s "$conc" -m "$n" -F msg.eml -f alice@example.com -t bob@example.org "127.0.0.1:$port" \
    > "source-$label.log" 2>&1
  for _ in $(seq 1200); do
    got=$(find sink -type f | wc -l)
    [ "$got" -ge "$n" ] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  signed=$(grep -l '^DKIM-Signature:' sink/* 2>/dev/null | wc -l)
  python3 -c 'import sys; l,n,s,e,g,sg=sys.argv[1:]; t=float(e)-float(s); print("%-22s %6s msgs %8.2f s %9.1f msg/s   delivered %5s   signed %5s" % (l, n, t, int(g)/t, g, sg))' \
    "$label" "$n" "$start" "$end" "$got" "$signed"
}
echo "# $n messages of $(wc -c < msg.eml) bytes, concurrency $conc, Postfix $(postconf -d -h mail_version 2>/dev/null), TCP milters"
run dkimkit-milter "$p_dkm"
run opendkim "$p_odk"
run no-milter "$p_none"
