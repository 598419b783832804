# shellcheck shell=bash
# Shared by the shell rigs that start Postfix, NSD or milters on loopback (tests/e2e, tests/dns,
# tests/soak, tests/milter, bench/milter); sourced, not run.
#
# A rig works in a state directory of its own under /tmp, never under the checkout or the build
# tree: unix socket names (Postfix's public/ and private/) are limited to 107 bytes, and servers
# that drop root (user postfix, smtp-sink -u nobody) must traverse every parent directory, which a
# checkout under /root (mode 0700) does not allow. The WORKDIR a rig is given receives copies of the
# logs and artefacts at exit.
#
#   rig_start e2e "$3" || exit 1    # empties WORKDIR $3, cd /tmp/dkimkit-e2e.XXXXXX, trap on EXIT
#   rig_spawn sign.log "$milter" --config sign.toml --foreground   # tracked: $RIG_PID
#   rig_nsd_conf example.com example.com.zone && rig_nsd_start     # NSD on $RIG_NSD_PORT
#
# Everything started through these functions is remembered by PID (RIG_PIDS) and stopped by PID
# at exit (rig_stop_all): Postfix with `postfix stop`, then NSD, then the rest with SIGTERM.
#
# Globals: RIG_DIR (the state directory), RIG_LOGDIR, RIG_PIDS, RIG_PID (the last one spawned),
# RIG_NSD_PORT, RIG_NSD_PID, RIG_SINK_PORT, RIG_PF (Postfix: etc/, spool/, data/, log/ below it).

RIG_DIR=""
RIG_LOGDIR=""
RIG_PIDS=()
RIG_PID=""
RIG_NSD_PORT=""
RIG_NSD_PID=""
RIG_SINK_PORT=""
RIG_PF=""
RIG_POSTFIX_STARTED=""

# --- State directory, exit -----------------------------------------------------------------------

# rig_state_dir NAME: makes /tmp/dkimkit-NAME.XXXXXX, mode 0755, and prints its path.
rig_state_dir() {
  local dir
  dir=$(mktemp -d "/tmp/dkimkit-$1.XXXXXX") && chmod 0755 "$dir" && echo "$dir"
}

# rig_start NAME [WORKDIR]: empties WORKDIR (made if needed; RIG_LOGDIR, absolute), makes the state
# directory (RIG_DIR) and goes into it, and has the exit stop everything started (rig_stop_all) and
# call rig_finish with the exit status. Resolve relative paths given to the rig before.
rig_start() {
  if [ -n "${2:-}" ]; then
    rm -rf "$2" && mkdir -p "$2" && RIG_LOGDIR=$(cd "$2" && pwd) || return 1
  fi
  RIG_DIR=$(rig_state_dir "$1") && cd "$RIG_DIR" || return 1
  RIG_PF=$RIG_DIR/postfix
  trap rig_exit EXIT
}
rig_exit() {
  local status=$?
  rig_stop_all
  rig_finish "$status" "$RIG_DIR" "$RIG_LOGDIR"
}

# rig_finish STATUS STATE_DIR [WORKDIR]: at exit, once the servers are stopped. Copies the state
# directory's top-level files and every *.log (not the Postfix queue) into WORKDIR, then removes the
# state directory if STATUS is 0, or keeps it and says where it is.
rig_finish() {
  local status=$1 dir=$2 logdir=${3:-}
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  if [ -n "$logdir" ] && [ -d "$logdir" ]; then
    (cd "$dir" && find . -path ./postfix/spool -prune -o -type f \( ! -path './*/*' -o -name '*.log' \) -print0 |
      xargs -0r cp -p --parents -t "$logdir")
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$dir"
  else
    echo "state directory kept (exit status $status): $dir" >&2
  fi
}

# --- Test lines ----------------------------------------------------------------------------------

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
# check NAME COMMAND...: ok when the command succeeds (its output hidden), bad otherwise.
check() {
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}
# rig_summary: the line "N passed, M failed"; true when nothing failed.
rig_summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# --- Ports and waiting ---------------------------------------------------------------------------

# free_port: a port on 127.0.0.1 that is free for both UDP and TCP.
free_port() {
  python3 -c 'import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); p = u.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()'
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most).
wait_port() {
  for _ in $(seq 100); do
    python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))' "$1" && return 0
    sleep 0.1
  done
  return 1
}

# rig_wait_file FILE [TENTHS]: until FILE exists and is not empty (TENTHS x 0.1 s, default 50).
rig_wait_file() {
  for _ in $(seq "${2:-50}"); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# --- Processes, by PID ---------------------------------------------------------------------------

# rig_track PID...: stopped at exit.
rig_track() { RIG_PIDS+=("$@"); }

# rig_spawn LOG COMMAND...: runs COMMAND in the background, stdout and stderr to LOG; tracked. Its
# PID is in RIG_PID.
rig_spawn() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  RIG_PID=$!
  rig_track "$RIG_PID"
}

# rig_wait_gone PID: until PID is gone (10 s at most; false if it is not).
rig_wait_gone() {
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# rig_stop_pid PID: SIGTERM, then rig_wait_gone.
rig_stop_pid() {
  kill "$1" 2>/dev/null
  rig_wait_gone "$1"
}

# rig_stop_all: Postfix, NSD, then every tracked PID (SIGTERM to all, then waiting for each).
rig_stop_all() {
  local p
  rig_postfix_stop
  rig_nsd_stop
  for p in "${RIG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${RIG_PIDS[@]}"; do rig_wait_gone "$p"; done
  RIG_PIDS=()
}

# --- dkimkit-milter ------------------------------------------------------------------------------

# rig_milter_toml MODE PORT|SOCKET: the first lines of a dkimkit-milter configuration (authserv_id
# mx.example.net, MODE, and the socket: inet on 127.0.0.1:PORT, or SOCKET as given). Sections follow.
rig_milter_toml() {
  local socket=$2
  [[ "$socket" =~ ^[0-9]+$ ]] && socket="inet:$socket@127.0.0.1"
  printf 'authserv_id = "mx.example.net"\nmode = "%s"\nsocket = "%s"\n' "$1" "$socket"
}

# --- NSD -----------------------------------------------------------------------------------------

# rig_zone_head DOMAIN TTL [MINIMUM]: the start of a zone file for DOMAIN ($ORIGIN, $TTL, SOA with
# the negative-caching MINIMUM, default 60; NS ns.DOMAIN at 127.0.0.1). Records follow.
rig_zone_head() {
  echo "\$ORIGIN $1."
  echo "\$TTL $2"
  echo "@ IN SOA ns.$1. hostmaster.$1. ( 1 3600 600 86400 ${3:-60} )"
  echo "@ IN NS ns.$1."
  echo 'ns IN A 127.0.0.1'
}

# rig_nsd_conf ZONE FILE [ZONE FILE...]: writes RIG_DIR/nsd.conf for an NSD on 127.0.0.1 at a
# free port (RIG_NSD_PORT), serving each ZONE from FILE (relative to RIG_DIR). NSD stays root, does
# not chroot, logs to nsd.log and has no database and no remote control.
rig_nsd_conf() {
  RIG_NSD_PORT=$(free_port) || return 1
  {
    cat <<CONF
server:
  ip-address: 127.0.0.1@$RIG_NSD_PORT
  port: $RIG_NSD_PORT
  username: ""
  chroot: ""
  zonesdir: "$RIG_DIR"
  pidfile: "$RIG_DIR/nsd.pid"
  logfile: "$RIG_DIR/nsd.log"
  database: ""
  xfrdfile: "$RIG_DIR/xfrd.state"
  zonelistfile: "$RIG_DIR/zone.list"
  verbosity: 1
remote-control:
  control-enable: no
CONF
    while [ $# -ge 2 ]; do
      printf 'zone:\n  name: %s\n  zonefile: %s\n' "$1" "$2"
      shift 2
    done
  } > "$RIG_DIR/nsd.conf"
}

# rig_nsd_start: starts NSD from nsd.conf and waits for its pidfile; RIG_NSD_PID, tracked.
rig_nsd_start() {
  rm -f "$RIG_DIR/nsd.pid"
  nsd -c "$RIG_DIR/nsd.conf" || return 1
  rig_wait_file "$RIG_DIR/nsd.pid" 100
  RIG_NSD_PID=$(cat "$RIG_DIR/nsd.pid" 2>/dev/null)
  [ -n "$RIG_NSD_PID" ] || return 1
  rig_track "$RIG_NSD_PID"
}

# rig_nsd_stop: stops the running NSD by its PID (SIGKILL after 10 s), if there is one.
rig_nsd_stop() {
  [ -n "$RIG_NSD_PID" ] || return 0
  rig_stop_pid "$RIG_NSD_PID" || { kill -KILL "$RIG_NSD_PID" 2>/dev/null; sleep 0.5; }
  RIG_NSD_PID=""
}

# --- smtp-sink and Postfix -----------------------------------------------------------------------

# rig_sink [BACKLOG]: smtp-sink on 127.0.0.1 at a free port (RIG_SINK_PORT), as user nobody,
# writing one file per message into RIG_DIR/sink; logs to sink.log. Tracked.
rig_sink() {
  mkdir -p "$RIG_DIR/sink" && chown nobody "$RIG_DIR/sink" || return 1
  RIG_SINK_PORT=$(free_port) || return 1
  rig_spawn "$RIG_DIR/sink.log" smtp-sink -u nobody -d "$RIG_DIR/sink/%M." "127.0.0.1:$RIG_SINK_PORT" "${1:-256}"
}

# rig_postfix_conf [MAIN_CF_LINE...]: a Postfix of its own in RIG_PF (etc/, spool/, data/, log/):
# main.cf relays everything to the sink (rig_sink first), on 127.0.0.1, with milter protocol 6 and
# milter_default_action = tempfail, logging to log/postfix.log; each MAIN_CF_LINE is added to it.
# master.cf has Postfix's own services, none chrooted; rig_postfix_smtpd adds the listeners.
rig_postfix_conf() {
  local line
  mkdir -p "$RIG_PF/etc" "$RIG_PF/spool" "$RIG_PF/data" "$RIG_PF/log" && chown postfix "$RIG_PF/data" || return 1
  {
    cat <<CONF
queue_directory = $RIG_PF/spool
data_directory = $RIG_PF/data
mail_owner = postfix
myhostname = mx.example.net
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$RIG_SINK_PORT
maillog_file = $RIG_PF/log/postfix.log
maillog_file_prefixes = $RIG_PF/log
milter_protocol = 6
milter_default_action = tempfail
in_flow_delay = 0
compatibility_level = 3.6
smtputf8_enable = no
CONF
    for line in "$@"; do echo "$line"; done
  } > "$RIG_PF/etc/main.cf"
  cat > "$RIG_PF/etc/master.cf" <<CONF
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
}

# rig_postfix_smtpd PORT [PARAMETER=VALUE...]: an smtpd on 127.0.0.1:PORT, with `-o PARAMETER=VALUE`
# for each (smtpd_milters=inet:127.0.0.1:8891, content_filter=smtp:[127.0.0.1]:2527, ...).
rig_postfix_smtpd() {
  local line="127.0.0.1:$1 inet n - n - - smtpd" o
  shift
  for o in "$@"; do line+=" -o $o"; done
  echo "$line" >> "$RIG_PF/etc/master.cf"
}

# rig_postfix_start: `postfix check`, then `postfix start`; tracks the master PID. On failure,
# prints what Postfix said on stderr and returns 1 (check) or 2 (start).
rig_postfix_start() {
  local etc=$RIG_PF/etc
  if ! postfix -c "$etc" check >/dev/null 2>&1; then
    script -qc "postfix -c $etc check" /dev/null >&2  # Postfix writes to a tty only
    return 1
  fi
  if ! postfix -c "$etc" start >/dev/null 2>&1; then
    cat "$RIG_PF/log/postfix.log" >&2
    return 2
  fi
  RIG_POSTFIX_STARTED=1
  rig_track "$(tr -d ' ' < "$RIG_PF/spool/pid/master.pid")"
}

# rig_delivered TOKEN: the message smtp-sink received (rig_sink) whose Subject carries TOKEN,
# without smtp-sink's own lines (X-Client-Addr .. X-Rcpt-Args and its Received: field); waits
# 10 s at most for it. Run in RIG_DIR.
rig_delivered() {
  local f
  for _ in $(seq 100); do
    f=$(grep -l "^Subject: .*$1" sink/* 2>/dev/null | head -1)
    [ -n "$f" ] && break
    sleep 0.1
  done
  [ -n "$f" ] || return 1
  awk 'NR == 1, /^Received: .*smtp-sink|^\tby smtp-sink/ { if ($0 ~ /smtp-sink/) hdr = 1; next }
       hdr && /^[ \t]/ { next } { hdr = 0; print }' "$f"
}

# rig_stop_checked: rig_stop_all, then the test line "everything started is stopped" (ok or bad).
rig_stop_checked() {
  local started=("${RIG_PIDS[@]}") p left=""
  rig_stop_all
  for p in "${started[@]}"; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
  [ -z "$left" ] && ok "everything started is stopped" || bad "processes left" "$left"
}

# rig_postfix_stop: `postfix stop`, then waits for the master PID to go (10 s at most).
rig_postfix_stop() {
  local mpid
  [ -n "$RIG_POSTFIX_STARTED" ] || return 0
  mpid=$(tr -d ' ' < "$RIG_PF/spool/pid/master.pid" 2>/dev/null)
  postfix -c "$RIG_PF/etc" stop >/dev/null 2>&1
  [ -n "$mpid" ] && rig_wait_gone "$mpid"
  RIG_POSTFIX_STARTED=""
}

# --- Redis ---------------------------------------------------------------------------------------

RIG_REDIS_PORT=""
RIG_REDIS_PID=""
RIG_REDIS_URL=""

# rig_redis [ARG...]: redis-server on 127.0.0.1 at a free port (RIG_REDIS_PORT), working in
# RIG_DIR/redis (no RDB or AOF files), logging to redis.log; extra ARGs are passed on (e.g.
# --requirepass SECRET). Waits for PING; tracked (RIG_REDIS_PID) and exports
# RIG_REDIS_URL=redis://127.0.0.1:PORT/0 (redis://:SECRET@127.0.0.1:PORT/0 with --requirepass
# SECRET). Returns 77 when redis-server is not installed (a rig
# says SKIP and exits 77), 1 when it does not start.
rig_redis() {
  local password="" a
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || return 77
  mkdir -p "$RIG_DIR/redis" || return 1
  RIG_REDIS_PORT=$(free_port) || return 1
  rig_spawn "$RIG_DIR/redis.log" redis-server --bind 127.0.0.1 --port "$RIG_REDIS_PORT" \
    --save "" --appendonly no --dir "$RIG_DIR/redis" "$@"
  RIG_REDIS_PID=$RIG_PID
  for a in "$@"; do [ "$password" = next ] && password=$a; [ "$a" = --requirepass ] && password=next; done
  [ "$password" = next ] && password=""
  for _ in $(seq 100); do
    [ "$(REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$RIG_REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$RIG_REDIS_PID" 2>/dev/null || { cat "$RIG_DIR/redis.log" >&2; return 1; }
    sleep 0.1
  done
  [ "$(REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$RIG_REDIS_PORT" ping 2>/dev/null)" = PONG ] || return 1
  export RIG_REDIS_URL="redis://${password:+:$password@}127.0.0.1:$RIG_REDIS_PORT/0"
}
