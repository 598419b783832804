# shellcheck shell=bash
# Shared by bench/milter/postfix_load.sh and bench/milter/direct_load.sh; sourced after
# tests/support/rig.sh and rig_start, in the state directory. Four milters on the sockets given:
# dkimkit-milter and Debian's OpenDKIM, each signing (Mode s, the same RSA-2048 key,
# relaxed/relaxed, 127.0.0.1 internal) and verifying (the key served by NSD on loopback; 127.0.0.1
# external). The message: 10 KiB of text (msg.eml) and the same signed by that key (signed.eml).
#
#   load_prepare "$dk"          # keys/, msg.eml, signed.eml, NSD (RIG_NSD_PORT)
#   load_start_milters "$milter" unix:$RIG_DIR/dkm-sign.sock unix:... unix:... unix:... unix:...
#   $LOAD_PID_DKM_SIGN ...      # their PIDs: DKM_SIGN DKM_VERIFY ODK_SIGN ODK_VERIFY DKM_FLOOR
#
# LOAD_SOCKET_GROUP=postfix before load_start_milters: unix sockets the MTA's user may connect to
# (dkimkit-milter: socket_group, as its manual tells operators; OpenDKIM: UMask 000).

# load_prepare DKIMKIT: the key, the messages and NSD.
load_prepare() {
  local dk=$1
  mkdir -p keys
  "$dk" keygen -d example.com -s load -o keys >/dev/null 2>&1 || return 1
  chmod 700 keys
  # A 10 KiB message: headers and a text body of 76-character lines. It has the Message-ID that
  # Postfix would otherwise add, so that milter_load sends the seven header fields Postfix sends.
  {
    printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: load test\r\n'
    printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <load.20261123100000@example.com>\r\n'
    printf 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n'
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
  "$dk" sign -k keys/load.private -d example.com -s load -c relaxed/relaxed msg.eml > signed.eml || return 1
  { rig_zone_head example.com 3600; cat keys/load.txt; } > example.com.zone
  rig_nsd_conf example.com example.com.zone && rig_nsd_start
}

# load_socket_odk SOCKET: dkimkit-milter's socket spec (unix:PATH, inet:PORT@HOST) as OpenDKIM's.
load_socket_odk() { [[ "$1" == unix:* ]] && echo "local:${1#unix:}" || echo "$1"; }

# load_start_milters MILTER DKM_SIGN DKM_VERIFY ODK_SIGN ODK_VERIFY DKM_FLOOR: the milters, each
# on its socket; waits until each listens. LOAD_PID_* are their PIDs. DKM_FLOOR is dkimkit-milter
# with nothing to do (sign mode, 127.0.0.1 external: every message accepted unchanged at its end):
# what the milter protocol alone costs the MTA and libmilter.
load_start_milters() {
  local milter=$1 work=$RIG_DIR group=${LOAD_SOCKET_GROUP:-} umask=""
  load_toml_head() {  # MODE SOCKET: the first lines of a dkimkit-milter configuration
    rig_milter_toml "$1" "$2"
    [[ -n "$group" && "$2" == unix:* ]] && printf 'socket_group = "%s"\n' "$group"
  }
  [ -n "$group" ] && umask="UMask 000"
  load_toml_head sign "$2" > dkm-sign.toml
  cat >> dkm-sign.toml <<CONF
[sign]
internal_networks = ["127.0.0.0/8"]
canonicalization = "relaxed/relaxed"
[[sign.keys]]
domain = "example.com"
selector = "load"
key_file = "$work/keys/load.private"
CONF
  load_toml_head sign "$6" > dkm-floor.toml
  sed -e 's|127.0.0.0/8|192.0.2.0/24|' dkm-sign.toml | sed -n '/^\[sign\]/,$p' >> dkm-floor.toml
  { load_toml_head verify "$3"; load_verify_dns; } > dkm-verify.toml
  local common="Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
RequireSafeKeys false
Syslog no
$umask"
  printf 'Mode s\nDomain example.com\nSelector load\nKeyFile %s\nSocket %s\nInternalHosts 127.0.0.1\n%s\n' \
    "$work/keys/load.private" "$(load_socket_odk "$4")" "$common" > odk-sign.conf
  printf 'Mode v\nSocket %s\nInternalHosts 192.0.2.1\nNameservers 127.0.0.1@%s\nAuthservID mx.example.net\n%s\n' \
    "$(load_socket_odk "$5")" "$RIG_NSD_PORT" "$common" > odk-verify.conf
  # LOAD_PID_*: read by the scripts that source this file.
  # shellcheck disable=SC2034
  {
    rig_spawn dkm-sign.log "$milter" --config dkm-sign.toml --foreground; LOAD_PID_DKM_SIGN=$RIG_PID
    rig_spawn dkm-verify.log "$milter" --config dkm-verify.toml --foreground; LOAD_PID_DKM_VERIFY=$RIG_PID
    rig_spawn odk-sign.log opendkim -f -x odk-sign.conf; LOAD_PID_ODK_SIGN=$RIG_PID
    rig_spawn odk-verify.log opendkim -f -x odk-verify.conf; LOAD_PID_ODK_VERIFY=$RIG_PID
    rig_spawn dkm-floor.log "$milter" --config dkm-floor.toml --foreground; LOAD_PID_DKM_FLOOR=$RIG_PID
  }
  local s
  for s in "$2" "$3" "$4" "$5" "$6"; do
    load_wait_socket "$s" || { echo "a milter did not start on $s" >&2; cat ./*.log >&2; return 1; }
  done
}

# load_verify_dns: the [dns] section of a verifying dkimkit-milter (the keys served by NSD).
load_verify_dns() { printf '[dns]\nresolvers = ["127.0.0.1@%s"]\n' "$RIG_NSD_PORT"; }

# load_wait_socket SOCKET: until the milter's socket accepts (10 s at most).
load_wait_socket() {
  if [[ "$1" == unix:* ]]; then
    for _ in $(seq 100); do [ -S "${1#unix:}" ] && return 0; sleep 0.1; done
    return 1
  fi
  local port=${1#inet:}
  wait_port "${port%@*}"
}

# load_cpu PID: the process's CPU seconds so far (utime + stime, /proc/PID/stat).
load_cpu() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tck }' "/proc/$1/stat"
}
