# shellcheck shell=bash
# Shared by the shell rigs that start Postfix, NSD or milters on loopback (tests/e2e, tests/dns,
# tests/soak, bench/milter); sourced, not run.
#
# A rig works in a state directory of its own under /tmp, never under the checkout or the build
# tree: unix socket names (Postfix's public/ and private/) are limited to 107 bytes, and servers
# that drop root (user postfix, smtp-sink -u nobody) must traverse every parent directory, which a
# checkout under /root (mode 0700) does not allow. The WORKDIR a rig is given receives copies of the
# logs and artefacts at exit.

# rig_state_dir NAME: makes /tmp/dkimkit-NAME.XXXXXX, mode 0755, and prints its path.
rig_state_dir() {
  local dir
  dir=$(mktemp -d "/tmp/dkimkit-$1.XXXXXX") && chmod 0755 "$dir" && echo "$dir"
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
