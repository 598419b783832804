# Shell functions shared by tests/e2e/milter_e2e.sh and bench/milter/load.sh: a private Postfix
# 3.7 instance, NSD, smtp-sink and milters (dkimkit-milter or Debian's OpenDKIM) on 127.0.0.1,
# all state under one directory, everything started recorded by PID and stopped by PID.
# See /work/shared/e2e/README.md for why each setting is there. Source it; it defines rig_*.
#
#   rig_init DIR                 state directory (recreated, chmod 755); sets $ST
#   rig_free_port                prints a free port on 127.0.0.1
#   rig_bg NAME CMD...           runs CMD in the background (stdout+stderr in $ST/log/NAME.log),
#                                records its PID; sets $rig_pid
#   rig_wait_port PORT SECS [PID]
#   rig_nsd ZONE_NAME ZONE_FILE  NSD on a free port; sets $nsd_port and $nsd_pid
#   rig_sink DIR                 smtp-sink (-u nobody) on a free port, one file per message
#                                under DIR; sets $sink_port and $sink_pid
#   rig_dkimkit_conf FILE MODE PORT KEY_FILE [TOML lines for [policy]...]
#   rig_opendkim_conf FILE MODE PORT KEY_FILE [opendkim.conf lines...]
#   rig_milter NAME IMPL CONF PORT   start a milter (IMPL dkimkit|opendkim) in the foreground
#   rig_postfix RELAY_PORT 'master.cf line'...   write the config and start Postfix; sets
#                                $pf_master (the master's PID)
#   rig_postfix_stop / rig_stop_pid PID / rig_stop_all / rig_cleanup / rig_still_alive
#
# Set $rig_milter_bin (dkimkit-milter) and $rig_nsd_addr (e.g. 127.0.0.1@5353) before use.

rig_py=/usr/bin/python3
rig_helper=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/e2e_mail.py
rig_pids=()        # every PID started (children and daemons), in start order
rig_all_pids=()    # the above plus their descendants, as last seen by rig_descendants
rig_forced=()      # PIDs that ignored SIGTERM and were killed
pf_etc=""
pf_master=""

rig_init() {
  rm -rf "$1" && mkdir -p "$1" || return 1
  ST=$(cd "$1" && pwd)
  chmod 755 "$ST"
  mkdir -p "$ST/log" "$ST/pids" "$ST/keys" "$ST/conf"
  chmod 700 "$ST/keys"
}

rig_free_port() { "$rig_py" "$rig_helper" free-port; }
rig_wait_port() { "$rig_py" "$rig_helper" wait-port "$@"; }
rig_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

rig_bg() {
  local name=$1
  shift
  "$@" >"$ST/log/$name.log" 2>&1 &
  rig_pid=$!
  rig_pids+=("$rig_pid")
}

rig_nsd() {  # rig_nsd ZONE_NAME ZONE_FILE
  nsd_port=$(rig_free_port)
  cat >"$ST/conf/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$nsd_port
  port: $nsd_port
  username: ""
  chroot: ""
  zonesdir: "$ST"
  pidfile: "$ST/pids/nsd.pid"
  logfile: "$ST/log/nsd.log"
  database: ""
  xfrdfile: "$ST/xfrd.state"
  zonelistfile: "$ST/zone.list"
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: $1
  zonefile: $2
CONF
  nsd-checkzone "$1" "$2" >"$ST/log/nsd-checkzone.log" 2>&1 || return 1
  nsd -c "$ST/conf/nsd.conf" || return 1
  local _
  for _ in $(seq 50); do [ -s "$ST/pids/nsd.pid" ] && break; sleep 0.1; done
  nsd_pid=$(tr -d ' \n' <"$ST/pids/nsd.pid")
  [ -n "$nsd_pid" ] || return 1
  rig_pids+=("$nsd_pid")
  rig_nsd_addr="127.0.0.1@$nsd_port"
  # NSD answers once a TXT query over UDP gets any reply.
  for _ in $(seq 50); do
    "$rig_py" - "$nsd_port" <<'PY' && return 0
import socket, sys
q = b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x06\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
try:
    s.sendto(q, ("127.0.0.1", int(sys.argv[1]))); s.recvfrom(512)
except OSError:
    sys.exit(1)
PY
    sleep 0.1
  done
  return 1
}

rig_sink() {  # rig_sink DIR
  mkdir -p "$1" && chown nobody "$1"
  sink_port=$(rig_free_port)
  rig_bg smtp-sink smtp-sink -u nobody -h sink.example.net -d "$1/%M." "127.0.0.1:$sink_port" 256
  sink_pid=$rig_pid
  rig_wait_port "$sink_port" 10 "$sink_pid"
}

rig_dkimkit_conf() {  # rig_dkimkit_conf FILE MODE PORT KEY_FILE [policy lines...]
  local file=$1 mode=$2 port=$3 key=$4
  shift 4
  {
    echo 'authserv_id = "mx.example.org"'
    echo "mode = \"$mode\""
    echo "socket = \"inet:$port@127.0.0.1\""
    echo 'pid_file = ""'
    echo '[sign]'
    echo 'internal_networks = ["127.0.0.0/8", "::1/128"]'
    echo 'sign_authenticated = true'
    echo 'canonicalization = "relaxed/relaxed"'
    echo '[[sign.keys]]'
    echo 'domain = "example.com"'
    echo 'selector = "sel1"'
    echo "key_file = \"$key\""
    echo '[dns]'
    echo "resolvers = [\"${rig_nsd_addr:-127.0.0.1@53}\"]"
    echo 'timeout_ms = 1500'
    echo '[policy]'
    local line
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

rig_opendkim_conf() {  # rig_opendkim_conf FILE MODE PORT KEY_FILE [extra lines...]
  local file=$1 mode=$2 port=$3 key=$4
  shift 4
  {
    echo "Mode $mode"
    echo "Socket inet:$port@127.0.0.1"
    echo "Syslog no"
    echo "RequireSafeKeys false"
    echo "Canonicalization relaxed/relaxed"
    echo "Domain example.com"
    echo "Selector sel1"
    echo "KeyFile $key"
    echo "AuthservID mx.example.org"
    echo "AlwaysAddARHeader yes"
    echo "Nameservers ${rig_nsd_addr:-127.0.0.1@53}"
    echo "DNSTimeout 2"
    local line
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

rig_milter() {  # rig_milter NAME IMPL CONF PORT: starts it, returns non-zero if it never listens
  local name=$1 impl=$2 conf=$3 port=$4
  if [ "$impl" = opendkim ]; then
    rig_bg "milter-$name" opendkim -f -x "$conf"
  else
    rig_bg "milter-$name" "$rig_milter_bin" --config "$conf" --foreground
  fi
  rig_wait_port "$port" 15 "$rig_pid"
}

rig_postfix() {  # rig_postfix RELAY_PORT 'master.cf service line'...
  local relay=$1
  shift
  pf_etc=$ST/postfix/etc
  local spool=$ST/postfix/spool data=$ST/postfix/data
  mkdir -p "$pf_etc" "$spool" "$data"
  cat >"$pf_etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $spool
data_directory = $data
mail_owner = postfix
myhostname = submit.example.org
mydomain = example.org
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
in_flow_delay = 0
maillog_file = $ST/log/postfix.log
maillog_file_prefixes = $ST/log
milter_protocol = 6
milter_default_action = tempfail
CF
  {
    local line
    for line in "$@"; do echo "$line"; done
    cat <<'MASTER'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
  } >"$pf_etc/master.cf"
  if ! postfix -c "$pf_etc" check >/dev/null 2>&1; then
    script -qc "postfix -c '$pf_etc' check" /dev/null >"$ST/log/postfix-check.log" 2>&1
    return 1
  fi
  postfix -c "$pf_etc" start >"$ST/log/postfix-start.log" 2>&1 || return 1
  local _
  for _ in $(seq 100); do [ -s "$spool/pid/master.pid" ] && break; sleep 0.1; done
  pf_master=$(tr -d ' \n' <"$spool/pid/master.pid" 2>/dev/null)
  [ -n "$pf_master" ] || return 1
  rig_pids+=("$pf_master")
}

rig_queue_size() {  # messages still in Postfix's queue
  find "$ST/postfix/spool/incoming" "$ST/postfix/spool/active" "$ST/postfix/spool/deferred" \
    "$ST/postfix/spool/maildrop" -type f 2>/dev/null | wc -l
}

rig_postfix_stop() {
  [ -n "$pf_master" ] || return 0
  if rig_alive "$pf_master"; then
    postfix -c "$pf_etc" stop >>"$ST/log/postfix-start.log" 2>&1
    local _
    for _ in $(seq 100); do rig_alive "$pf_master" || break; sleep 0.1; done
    rig_alive "$pf_master" && kill -KILL "$pf_master" 2>/dev/null
  fi
  return 0
}

rig_stop_pid() {  # rig_stop_pid PID [SECONDS]: TERM, wait; KILL (and record it) if it will not go
  local pid=$1 secs=${2:-10} _
  rig_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq $((secs * 10))); do rig_alive "$pid" || return 0; sleep 0.1; done
  rig_forced+=("$pid")
  kill -KILL "$pid" 2>/dev/null
  for _ in $(seq 20); do rig_alive "$pid" || return 1; sleep 0.1; done
  return 1
}

rig_descendants() {  # adds every live PID started, and its descendants, to rig_all_pids
  local queue=("${rig_pids[@]}") p c
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    rig_alive "$p" || continue
    [[ " ${rig_all_pids[*]} " == *" $p "* ]] || rig_all_pids+=("$p")
    for c in $(pgrep -P "$p" 2>/dev/null); do queue+=("$c"); done
  done
}

rig_stop_all() {  # Postfix first (it talks to everything else), then the rest, newest first
  rig_descendants
  rig_postfix_stop
  local i
  for ((i = ${#rig_pids[@]} - 1; i >= 0; i--)); do rig_stop_pid "${rig_pids[$i]}"; done
  return 0
}

rig_cleanup() {  # for an EXIT trap: stop everything, then KILL anything recorded that is left
  rig_stop_all
  local p
  for p in "${rig_all_pids[@]}"; do rig_alive "$p" && kill -KILL "$p" 2>/dev/null; done
  return 0
}

rig_still_alive() {  # prints the PIDs (and commands) of everything recorded that still runs
  local p
  for p in "${rig_all_pids[@]}"; do
    rig_alive "$p" && echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
  return 0
}
