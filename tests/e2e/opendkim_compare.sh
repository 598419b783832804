#!/usr/bin/env bash
# OpenDKIM compared with dkimkit-milter, end to end: the same OpenDKIM configuration files
# (opendkim.conf, KeyTable, SigningTable, a TrustedHosts file; tests/e2e/opendkim_compare.py
# writes them) drive, in turn and on the same socket behind the same Postfix:
#   opendkim   Debian's OpenDKIM 2.11 (opendkim -f -x opendkim.conf)
#   dkimkit    dkimkit-milter --opendkim-config opendkim.conf
#   migrated   dkimkit-milter --config milter.toml, where milter.toml is --migrate's output
# and every message of each scenario goes through each of them. Per message, the SMTP outcome
# (OpenDKIM's On-* action) and the signatures added (a=, c=, d=, s=, i=) must be the same in all
# three runs, and every signature must verify with dkimpy.
#   python client --SMTP (127.0.0.1/2/3/5, SMTP AUTH)--> Postfix smtpd --milter--> the milter
#                                                          | relayhost -> smtp-sink
#   NSD on loopback holds the public keys (example.com, example.org); example.net is not served.
# Usage: opendkim_compare.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
here=$(cd "$(dirname "$0")" && pwd)
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
for tool in opendkim postfix nsd smtp-sink; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
rig_start odcmp "$3" || exit 1
st=$RIG_DIR
py() { /usr/bin/python3 "$here/opendkim_compare.py" "$@"; }

# --- Keys and DNS ----------------------------------------------------------------------------------
mkdir -p keys && chmod 0700 keys
for k in "example.com rsa1 rsa" "example.com ceo rsa" "example.com ed1 ed25519" "example.org org rsa" \
         "sub.example.com sub rsa" "example.com revoked rsa"; do
  set -- $k
  "$dk" keygen -d "$1" -s "$2" -t "$3" -o keys >/dev/null 2>&1 || { bad "keygen $2"; exit 1; }
done
# A revoked key: its record has an empty p=.
echo 'revoked._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; p=" )' > keys/revoked.txt
{
  rig_zone_head example.com 300
  cat keys/rsa1.txt keys/ceo.txt keys/ed1.txt keys/revoked.txt keys/sub.txt
} > example.com.zone
# The one-key deployment (scenario trusted-hosts) signs example.org with selector rsa1 too.
sed 's/\.example\.com\./.example.org./' keys/rsa1.txt > keys/rsa1-org.txt
{
  rig_zone_head example.org 300
  cat keys/org.txt keys/rsa1-org.txt
} > example.org.zone
rig_nsd_conf example.com example.com.zone example.org example.org.zone
rig_nsd_start || { bad "nsd start"; rig_summary; exit 1; }

# --- Scenarios, Postfix with SMTP AUTH (a Dovecot-protocol authentication server of the rig's own) --
# Each scenario has its milter socket (in its opendkim.conf) and a Postfix smtpd of its own, so
# that the scenarios of one run go through their milters at the same time.
mapfile -t scenarios < <(py names)
[ "${#scenarios[@]}" -gt 0 ] || { bad "no scenario"; rig_summary; exit 1; }
declare -A mport sport
specs=()
for sc in "${scenarios[@]}"; do
  mport[$sc]=$(free_port)
  sport[$sc]=$(free_port)
  specs+=("$sc=${mport[$sc]}")
done
py configs "$st" "$RIG_NSD_PORT" "${specs[@]}" || { bad "writing the configurations"; rig_summary; exit 1; }
auth_port=$(free_port)
rig_spawn auth.log /usr/bin/python3 "$here/opendkim_compare.py" auth-server "$auth_port"
wait_port "$auth_port" || { bad "authentication server did not start"; rig_summary; exit 1; }
rig_sink 100
rig_postfix_conf
for sc in "${scenarios[@]}"; do
  rig_postfix_smtpd "${sport[$sc]}" "smtpd_milters=inet:127.0.0.1:${mport[$sc]}" \
    smtpd_sasl_auth_enable=yes smtpd_sasl_type=dovecot "smtpd_sasl_path=inet:127.0.0.1:$auth_port"
done
rig_postfix_start
case $? in
  1) bad "postfix check"; rig_summary; exit 1 ;;
  2) bad "postfix start"; rig_summary; exit 1 ;;
esac
for sc in "${scenarios[@]}"; do
  wait_port "${sport[$sc]}" || { bad "postfix did not listen"; rig_summary; exit 1; }
done

# --- The runs ------------------------------------------------------------------------------------
# run RUN: starts the milter of every scenario (run_command RUN SCENARIO gives its command line),
# sends each scenario's messages through its smtpd, then stops the milters by their PIDs and
# waits until they are gone (libmilter takes up to 5 s to notice).
run_command() {
  local conf=$st/$2/opendkim.conf
  case $1 in
    opendkim) echo opendkim -f -x "$conf" ;;
    dkimkit) echo "$milter" --opendkim-config "$conf" --foreground ;;
    migrated) echo "$milter" --config "$st/$2/milter.toml" --foreground ;;
  esac
}
run() {
  local r=$1 sc pids=() pid
  declare -A started=()
  for sc in "${scenarios[@]}"; do
    [ "$r" = opendkim ] && [ "$sc" = dual-algorithm ] && continue  # WITHOUT_OPENDKIM (the .py)
    [ "$r" = migrated ] && [ ! -s "$st/$sc/milter.toml" ] && continue
    # shellcheck disable=SC2046  # paths without blanks (mktemp, the build tree)
    rig_spawn "$st/$sc/$r.log" $(run_command "$r" "$sc")
    pids+=("$RIG_PID")
    started[$sc]=1
  done
  for sc in "${!started[@]}"; do
    wait_port "${mport[$sc]}" || bad "$sc: $r did not start" "$(tail -5 "$st/$sc/$r.log")"
  done
  for sc in "${!started[@]}"; do
    py send "$st" "$sc" "$r" "${sport[$sc]}" || bad "$sc: sending through $r"
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    rig_wait_gone "$pid" || { kill -KILL "$pid" 2>/dev/null; bad "$r (PID $pid) did not stop"; }
  done
}

run opendkim
for sc in "${scenarios[@]}"; do
  conf=$st/$sc/opendkim.conf
  if out=$("$milter" --opendkim-config "$conf" --check-config 2>&1); then
    ok "$sc: dkimkit-milter --check-config accepts opendkim.conf"
  else
    bad "$sc: --check-config" "$out"
  fi
  if "$milter" --migrate "$conf" > "$st/$sc/milter.toml" 2> "$st/$sc/migrate.err" &&
     out=$("$milter" --config "$st/$sc/milter.toml" --check-config 2>&1); then
    ok "$sc: --migrate writes a configuration --check-config accepts"
  else
    bad "$sc: --migrate" "$(cat "$st/$sc/migrate.err") $out"
    : > "$st/$sc/milter.toml"
  fi
done
run dkimkit
run migrated

# Postfix delivers to the sink after the milters are gone; compare waits for each message.
if py compare "$st" opendkim dkimkit migrated > compare.txt; then
  ok "$(tail -1 compare.txt)"
else
  cat compare.txt
  bad "differences between OpenDKIM and dkimkit-milter" "$(tail -1 compare.txt)"
fi
rig_summary
