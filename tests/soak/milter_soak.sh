#!/usr/bin/env bash
# Soak test: dkimkit-milter verifying mail in a real Postfix while DNS misbehaves. Everything runs
# on 127.0.0.1 at free ports, in one work directory; everything started here is stopped by its
# PID on exit.
#   injector (SMTP, parallel sessions) -> :front smtpd (no milter)
#     | content_filter -> :inbound smtpd --milter--> dkimkit-milter (verify, on_dns_error = tempfail)
#     |                                                --DNS--> dns_relay.py (drops 10 %) --> NSD
#     | relayhost -> smtp-sink (one file per delivered message)
# A 451 4.7.5 from the milter is a deferral of the front hop, which Postfix retries within seconds.
# The messages are pre-signed with `dkimkit sign` under many selectors whose records have a short
# TTL, so that key lookups go on during the whole run. NSD is stopped twice (at 1/3 and 2/3 of the
# injection) for SOAK_OUTAGE seconds. The milter's RSS and open descriptors are sampled after a
# warm-up and at the end. Then every message is accounted for: delivered (with its dkim= result),
# deferred at least once then delivered, lost, duplicated.
#
# Usage: milter_soak.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter [WORKDIR]   (as root)
#   WORKDIR defaults to build-soak/soak-work in the source tree; it is emptied first, and receives
#   the logs and artefacts at exit. The soak itself works in /tmp/dkimkit-soak.XXXXXX
#   (tests/support/rig.sh), removed at exit unless the soak failed.
# Environment (defaults): SOAK_MESSAGES=10000 SOAK_SESSIONS=4 SOAK_SELECTORS=50 SOAK_TTL=2
#   SOAK_DROP=0.10 SOAK_OUTAGE=10 SOAK_DNS_TIMEOUT_MS=1500 SOAK_WARMUP=200 SOAK_BACKLOG=300
#   SOAK_SECONDS=90 (the injection is paced to last that long: SOAK_RATE=messages/SOAK_SECONDS)
#   SOAK_DRAIN=600 (seconds to wait for the queue to drain) SOAK_RSS_PCT=20 SOAK_RSS_KIB=5120
#   SOAK_FD_SLACK=4
# Exit status: 0 when nothing was lost or duplicated, every delivered message says dkim=pass and
# the milter's RSS and descriptors did not grow beyond the limits; 1 otherwise; 2 on setup errors.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 2 ] || { echo "usage: milter_soak.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter [WORKDIR]" >&2; exit 2; }
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
logdir=${3:-$root/build-soak/soak-work}
relay_py=$root/tests/dns/dns_relay.py
# shellcheck source=../support/rig.sh
. "$root/tests/support/rig.sh"

n=${SOAK_MESSAGES:-10000}
sessions=${SOAK_SESSIONS:-4}
nsel=${SOAK_SELECTORS:-50}
ttl=${SOAK_TTL:-2}
drop=${SOAK_DROP:-0.10}
outage=${SOAK_OUTAGE:-10}
dns_timeout=${SOAK_DNS_TIMEOUT_MS:-1500}
warmup=${SOAK_WARMUP:-200}
backlog=${SOAK_BACKLOG:-300}
inject_seconds=${SOAK_SECONDS:-90}
[ "$backlog" -gt $((n / 10)) ] && backlog=$((n / 10))
[ "$backlog" -ge 20 ] || backlog=20
drain=${SOAK_DRAIN:-600}
rss_pct=${SOAK_RSS_PCT:-20}
rss_kib=${SOAK_RSS_KIB:-5120}
fd_slack=${SOAK_FD_SLACK:-4}
[ "$warmup" -gt $((n / 5)) ] && warmup=$((n / 5))
[ "$warmup" -ge 1 ] || warmup=1
# The injection after the warm-up is paced to last about SOAK_SECONDS (unless Postfix and the
# milter are slower), so that the DNS outages fall in its middle whatever the message count.
rate=${SOAK_RATE:-$(( (n - warmup + inject_seconds - 1) / inject_seconds ))}
[ "$rate" -ge 1 ] || rate=1

for b in "$dk" "$milter"; do [ -x "$b" ] || { echo "milter_soak.sh: $b is not built" >&2; exit 2; }; done
for t in postfix smtp-sink nsd python3; do
  command -v "$t" >/dev/null || { echo "milter_soak.sh: $t is required (make deps)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "milter_soak.sh: Postfix is run from a private directory, which needs root" >&2; exit 2; }

# The work directory is emptied first: only when it is new, empty or one of ours (the marker).
if [ -d "$logdir" ] && [ -n "$(ls -A "$logdir" 2>/dev/null)" ] && [ ! -e "$logdir/.milter-soak" ]; then
  echo "milter_soak.sh: $logdir is not empty and was not made by this script; give another WORKDIR" >&2
  exit 2
fi
rig_start soak "$logdir" || exit 2
logdir=$RIG_LOGDIR
touch "$logdir/.milter-soak"
work=$RIG_DIR
t0=$(date +%s)
die() { echo "milter_soak.sh: $*" >&2; exit 2; }
log() { printf '[%4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

# --- Keys, zone, NSD, the dropping relay -----------------------------------------------------
log "keys: $nsel selectors (RSA-2048 and Ed25519 in turn), TTL ${ttl} s"
mkdir -p keys msgs
for i in $(seq 1 "$nsel"); do
  if [ $((i % 2)) -eq 1 ]; then type=rsa; else type=ed25519; fi
  "$dk" keygen -d example.com -s "soak$i" -t "$type" -o keys >/dev/null 2>&1 || die "keygen soak$i failed"
done
chmod 700 keys
{
  rig_zone_head example.com "$ttl" "$ttl"
  for i in $(seq 1 "$nsel"); do cat "keys/soak$i.txt"; done
} > example.com.zone
nsd-checkzone example.com example.com.zone >/dev/null || die "the zone file is invalid"
rig_nsd_conf example.com example.com.zone
nsd_port=$RIG_NSD_PORT
rig_nsd_start || { cat nsd.log >&2; die "nsd did not start"; }

relay_port=$(free_port)
rig_spawn relay.out python3 "$relay_py" --listen "127.0.0.1:$relay_port" --upstream "127.0.0.1:$nsd_port" \
  --drop-rate "$drop" --log "$work/relay.log" --pidfile "$work/relay.pid"
rig_wait_file relay.pid || die "the DNS relay did not start: $(cat relay.out)"

# Wait until NSD answers through the relay (it drops some queries: try a few times).
nsd_ok=""
for _ in $(seq 30); do
  if "$dk" check-key -d example.com -s soak1 --resolver "127.0.0.1@$relay_port" >/dev/null 2>&1; then
    nsd_ok=1
    break
  fi
  sleep 0.3
done
[ -n "$nsd_ok" ] || die "NSD does not answer through the relay"

# --- dkimkit-milter ----------------------------------------------------------------------------
milter_port=$(free_port)
rig_milter_toml verify "$milter_port" > milter.toml
cat >> milter.toml <<CONF
[dns]
resolvers = ["127.0.0.1@$relay_port"]
timeout_ms = $dns_timeout
[policy]
on_no_pass = "accept"
on_dns_error = "tempfail"
CONF
"$milter" --check-config milter.toml >/dev/null 2>milter.check || die "check-config: $(cat milter.check)"
rig_spawn milter.log "$milter" --config milter.toml --foreground
milter_pid=$RIG_PID
wait_port "$milter_port" || die "dkimkit-milter did not listen: $(cat milter.log)"
milter_child=""
for _ in $(seq 50); do
  milter_child=$(tr ' ' '\n' < "/proc/$milter_pid/task/$milter_pid/children" 2>/dev/null | grep -m1 .)
  [ -n "$milter_child" ] && break
  sleep 0.1
done
[ -n "$milter_child" ] || die "cannot find dkimkit-milter's worker process (child of $milter_pid)"
log "dkimkit-milter: supervisor $milter_pid, worker $milter_child; DNS via relay :$relay_port (drops $drop) -> NSD :$nsd_port, timeout $dns_timeout ms"

rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
socks_of() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
sample() {  # sample LABEL: one line of samples.csv
  echo "$(($(date +%s) - t0)),$1,$(rss_of "$milter_child"),$(fds_of "$milter_child"),$(socks_of "$milter_child"),$(threads_of "$milter_child"),$(ls sink | wc -l)" >> samples.csv
}
echo "seconds,label,rss_kib,fds,sockets,threads,delivered" > samples.csv

# --- Postfix -----------------------------------------------------------------------------------
front_port=$(free_port); inbound_port=$(free_port)
rig_sink 256
# Deferred mail is retried within seconds.
rig_postfix_conf 'queue_run_delay = 2s' 'minimal_backoff_time = 2s' 'maximal_backoff_time = 4s'
rig_postfix_smtpd "$front_port" "content_filter=smtp:[127.0.0.1]:$inbound_port"
rig_postfix_smtpd "$inbound_port" "smtpd_milters=inet:127.0.0.1:$milter_port"
rig_postfix_start
case $? in
  1) die "postfix check failed" ;;
  2) die "postfix did not start" ;;
esac
pf=$RIG_PF
wait_port "$front_port" && wait_port "$inbound_port" || die "postfix did not listen"

# --- Messages, pre-signed ------------------------------------------------------------------------
log "signing $n messages"
python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
words = "the quarterly figures show steady growth in all regions and we plan to expand".split()
for i in range(1, n + 1):
    body = []
    for j in range(12):
        body.append(" ".join(words[(i + j + k) % len(words)] for k in range(11)))
    with open("msgs/%d.eml" % i, "w", newline="") as f:
        f.write("From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\n"
                "Subject: soak %d\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
                "Message-ID: <soak-%d@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain\r\n\r\nMessage %d of the soak test.\r\n%s\r\n"
                % (i, i, i, "\r\n".join(body)))
PY
# Message i is signed under selector soak(i mod nsel + 1), two signing processes at a time.
seq 1 "$n" | xargs -P 2 -n 200 sh -c '
  dk=$1 nsel=$2; shift 2
  for i in "$@"; do
    s=$((i % nsel + 1))
    "$dk" sign -k "keys/soak$s.private" -d example.com -s "soak$s" "msgs/$i.eml" > "msgs/$i.signed" || exit 1
    mv "msgs/$i.signed" "msgs/$i.eml"
  done' sh "$dk" "$nsel" || die "signing failed"
grep -L '^DKIM-Signature:' msgs/1.eml | grep -q . && die "messages are not signed"

# --- The injector ----------------------------------------------------------------------------------
# inject FIRST LAST [RATE]: sends msgs/FIRST..LAST over SOAK_SESSIONS parallel SMTP sessions to
# the front smtpd, at most RATE messages per second (0: no limit) and at most SOAK_BACKLOG messages
# ahead of what the sink has received. Each accepted message is a line "SERIAL" in sent.log; a
# message sent again after an SMTP error is also in resent.log.
inject() {
  python3 - "$front_port" "$1" "$2" "$sessions" "$backlog" "${3:-0}" <<'PY'
import os, smtplib, sys, threading, time
port, first, last, sessions, backlog, rate = map(int, sys.argv[1:7])
todo = list(range(first, last + 1))
t_start = time.monotonic()
lock = threading.Lock()
sent = open("sent.log", "a", buffering=1)
resent = open("resent.log", "a", buffering=1)
errors = open("inject-errors.log", "a", buffering=1)
state = {"sent": sum(1 for _ in open("sent.log")), "delivered": 0, "checked": 0.0}

def delivered():
    now = time.monotonic()
    if now - state["checked"] > 0.25:
        state["delivered"] = len(os.listdir("sink"))
        state["checked"] = now
    return state["delivered"]

def worker():
    s = None
    while True:
        with lock:
            if not todo:
                break
            i = todo.pop(0)
        if rate:
            wait = t_start + (i - first) / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        data = open("msgs/%d.eml" % i, "rb").read()
        tries = 0
        while True:
            while True:
                with lock:
                    ahead = state["sent"] - delivered()
                if ahead < backlog:
                    break
                time.sleep(0.1)
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=120)
                s.sendmail("alice@example.com", ["bob@example.org"], data)
                break
            except (smtplib.SMTPException, OSError) as e:
                tries += 1
                errors.write("%.3f %d %r\n" % (time.time(), i, e))
                try:
                    if s is not None:
                        s.close()
                except Exception:
                    pass
                s = None
                if tries >= 20:
                    sys.exit("injector: message %d refused 20 times: %r" % (i, e))
                time.sleep(1)
        with lock:
            sent.write("%d\n" % i)
            state["sent"] += 1
            if tries:
                resent.write("%d\n" % i)
    if s is not None:
        try:
            s.quit()
        except Exception:
            pass

threads = [threading.Thread(target=worker) for _ in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY
}
: > sent.log; : > resent.log; : > inject-errors.log
queued() { find "$pf/spool/incoming" "$pf/spool/active" "$pf/spool/deferred" "$pf/spool/hold" "$pf/spool/maildrop" -type f 2>/dev/null | wc -l; }
delivered_count() { ls sink | wc -l; }
sent_count() { wc -l < sent.log; }
# wait_drained SECONDS: until the queue is empty and the sink holds as many messages as were sent.
wait_drained() {
  local end=$(($(date +%s) + $1)) q d s
  while :; do
    q=$(queued); d=$(delivered_count); s=$(sent_count)
    [ "$q" -eq 0 ] && [ "$d" -ge "$s" ] && return 0
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 1
  done
}
milter_alive() { kill -0 "$milter_child" 2>/dev/null; }

# --- Warm-up, then the first sample ----------------------------------------------------------------
log "warm-up: $warmup messages"
inject 1 "$warmup" || die "the injector failed during the warm-up"
wait_drained 120 || log "warning: the warm-up did not drain in 120 s (queue $(queued), delivered $(delivered_count))"
sleep 5  # cached SMTP and milter connections close
milter_alive || die "dkimkit-milter's worker $milter_child died during the warm-up"
rss_start=$(rss_of "$milter_child"); fds_start=$(fds_of "$milter_child")
socks_start=$(socks_of "$milter_child"); thr_start=$(threads_of "$milter_child")
sample start
log "start: RSS $rss_start KiB, fds $fds_start ($socks_start sockets), threads $thr_start, delivered $(delivered_count)"

# --- The run, with two DNS outages -------------------------------------------------------------------
first_outage=$((n / 3)); second_outage=$((2 * n / 3))
[ "$first_outage" -le "$warmup" ] && first_outage=$((warmup + 1))
[ "$second_outage" -le "$first_outage" ] && second_outage=$((first_outage + 1))
run_start=$(date +%s)
log "injecting messages $((warmup + 1))..$n over $sessions sessions at up to $rate/s; DNS outages at message $first_outage and $second_outage, ${outage} s each"
inject $((warmup + 1)) "$n" "$rate" &
injector=$!
rig_track "$injector"
outages=0
last_sample=0
last_restart=0
: > outages.log
# Until the injection is over and both outages are done (a short run may end its injection before
# the second one: it then happens while the queue drains). Outages are at least 2 x SOAK_OUTAGE
# seconds apart.
while kill -0 "$injector" 2>/dev/null || [ "$outages" -lt 2 ]; do
  s=$(sent_count)
  due=""
  [ "$outages" -eq 0 ] && [ "$s" -ge "$first_outage" ] && due=1
  [ "$outages" -eq 1 ] && [ "$s" -ge "$second_outage" ] && due=1
  kill -0 "$injector" 2>/dev/null || due=1  # the injection is over (or failed): no more to wait for
  [ $(($(date +%s) - last_restart)) -lt $((2 * outage)) ] && due=""
  if [ -n "$due" ]; then
    outages=$((outages + 1))
    log "outage $outages: NSD stopped at message $s (delivered $(delivered_count), queued $(queued))"
    echo "$(date +%s) stop $s" >> outages.log
    rig_nsd_stop
    sleep "$outage"
    rig_nsd_start || { cat nsd.log >&2; die "nsd did not restart"; }
    last_restart=$(date +%s)
    echo "$(date +%s) start $(sent_count)" >> outages.log
    log "outage $outages: NSD restarted (sent $(sent_count), delivered $(delivered_count), queued $(queued))"
  fi
  if [ $(($(date +%s) - last_sample)) -ge 10 ]; then
    sample run
    last_sample=$(date +%s)
  fi
  sleep 0.5
done
wait "$injector"
injector_rc=$?
inject_end=$(date +%s)
log "injection done (rc $injector_rc): sent $(sent_count), delivered $(delivered_count), queued $(queued), outages $outages"

# --- Drain, the last sample ------------------------------------------------------------------------
drained=1
drain_end=$(($(date +%s) + drain))
while :; do
  q=$(queued); d=$(delivered_count); s=$(sent_count)
  [ "$q" -eq 0 ] && [ "$d" -ge "$s" ] && break
  if [ "$(date +%s)" -ge "$drain_end" ]; then drained=""; break; fi
  if [ $(($(date +%s) - last_sample)) -ge 10 ]; then
    sample drain
    last_sample=$(date +%s)
    log "draining: queued $q, delivered $d of $s"
  fi
  sleep 1
done
drain_done=$(date +%s)
[ -n "$drained" ] && log "queue drained $((drain_done - inject_end)) s after the injection" ||
  log "the queue did not drain within $drain s (queued $(queued))"
sleep 5
if milter_alive; then
  rss_end=$(rss_of "$milter_child"); fds_end=$(fds_of "$milter_child")
  socks_end=$(socks_of "$milter_child"); thr_end=$(threads_of "$milter_child")
  sample end
else
  rss_end=""; fds_end=""; socks_end=""; thr_end=""
fi
children_now=$(tr ' ' '\n' < "/proc/$milter_pid/task/$milter_pid/children" 2>/dev/null | grep -c .)
queued_end=$(queued)
postqueue -c "$pf/etc" -p > queue-at-end.txt 2>&1
t_end=$(date +%s)

# --- Accounting -----------------------------------------------------------------------------------
python3 - "$n" "$rss_start" "${rss_end:-}" "$fds_start" "${fds_end:-}" "$rss_pct" "$rss_kib" "$fd_slack" \
  "$((t_end - t0))" "$((drain_done - run_start))" "$(milter_alive && echo 1 || echo 0)" "$children_now" \
  "$socks_start" "${socks_end:-}" "$thr_start" "${thr_end:-}" "$queued_end" <<'PY'
import collections, os, re, sys
(n, rss0, rss1, fd0, fd1, rss_pct, rss_kib, fd_slack, wall, run_wall, alive, children,
 sk0, sk1, th0, th1, queued_end) = sys.argv[1:18]
n, rss_pct, rss_kib, fd_slack = int(n), int(rss_pct), int(rss_kib), int(fd_slack)
problems = []

sent = collections.Counter(int(l) for l in open("sent.log") if l.strip())
resent = set(int(l) for l in open("resent.log") if l.strip())

# Delivered: one smtp-sink file per message; its Message-ID and our Authentication-Results.
delivered = collections.Counter()
results = collections.Counter()
serial_results = collections.defaultdict(set)
non_pass = []
for name in os.listdir("sink"):
    text = open(os.path.join("sink", name), "rb").read().decode("utf-8", "replace")
    head = text.replace("\r", "").split("\n\n", 1)[0]
    head = re.sub(r"\n[ \t]+", " ", head)  # unfold
    m = re.search(r"^Message-ID:\s*<soak-(\d+)@example\.com>", head, re.M | re.I)
    if not m:
        problems.append("a delivered file without a soak Message-ID: sink/" + name)
        continue
    serial = int(m.group(1))
    delivered[serial] += 1
    ars = re.findall(r"^Authentication-Results:\s*mx\.example\.net;(.*)$", head, re.M | re.I)
    if len(ars) != 1:
        res = "no-ar" if not ars else "several-ar"
    else:
        r = re.search(r"dkim=(\w+)", ars[0])
        res = r.group(1) if r else "?"
    results[res] += 1
    serial_results[serial].add(res)
    if res != "pass":
        non_pass.append((serial, res, ars[0].strip()[:200] if ars else ""))

# Postfix's log: queue id -> serial (cleanup's message-id line), then deferrals by reason.
qid_serial = {}
deferred = collections.defaultdict(list)   # serial -> reasons
other_status = collections.Counter()
milter_warnings = collections.Counter()
log = open("postfix/log/postfix.log", errors="replace").read().splitlines()
for line in log:
    m = re.search(r" ([0-9A-F]{6,}): message-id=<soak-(\d+)@example\.com>", line)
    if m:
        qid_serial[m.group(1)] = int(m.group(2))
for line in log:
    m = re.search(r" ([0-9A-F]{6,}): to=<[^>]*>, relay=([^,]*),.* status=(\w+) (.*)", line)
    if m:
        qid, relay, status, rest = m.groups()
        serial = qid_serial.get(qid)
        if status == "deferred":
            if "451 4.7.5" in rest:
                reason = "451 4.7.5 (milter: DKIM key could not be fetched)"
            else:
                reason = re.sub(r"[0-9A-F]{6,}", "Q", rest)[:160]
            deferred[serial].append(reason)
        elif status != "sent":
            other_status[status + " " + rest[:160]] += 1
    if "milter" in line and ("warning" in line or "fatal" in line):
        milter_warnings[re.sub(r"^.*?(warning|fatal)", r"\1", re.sub(r"[0-9A-F]{8,}", "Q", line))[:200]] += 1
deferred_reasons = collections.Counter(r for rs in deferred.values() for r in rs)
milter_rejects = collections.Counter()
for line in log:
    m = re.search(r"milter-reject: END-OF-MESSAGE from [^:]*: (\d\.\d\.\d) ([^;]*)", line)
    if m:
        milter_rejects[m.group(1) + " " + m.group(2)] += 1

# The milter's own log.
mlog = open("milter.log", errors="replace").read().splitlines()
tempfails = sum(1 for l in mlog if "action=tempfail" in l)
internal = [l for l in mlog if "internal error" in l]
mresults = collections.Counter()
for l in mlog:
    m = re.search(r"dir=verify result=(\w+)", l)
    if m:
        mresults[m.group(1)] += 1
temperror_reasons = collections.Counter()
unexpected = [l for l in mlog if "dir=verify" not in l and "listening on" not in l and not l.endswith(": stopped")]

dns_queries = sum(1 for _ in open("relay.log"))

n_sent = len(sent)
n_deliv_unique = sum(1 for s in sent if delivered[s] > 0)
lost = sorted(s for s in sent if delivered[s] == 0)
dups = sorted(s for s, c in delivered.items() if c > 1)
unknown = sorted(s for s in delivered if s not in sent)
n_delivered = sum(delivered.values())
deferred_then_delivered = sum(1 for s in deferred if s is not None and s in sent and delivered[s] > 0)
deferred_unknown = len(deferred.get(None, []))
pass_count = sum(1 for s in sent if serial_results.get(s) == {"pass"})
sent_twice = sorted(s for s, c in sent.items() if c > 1)

print()
print("== soak summary ==")
print("messages sent %d, delivered %d (dkim=pass %d), deferred then delivered %d, lost %d, duplicated %d"
      % (n_sent, n_deliv_unique, pass_count, deferred_then_delivered, len(lost), len(dups)))
if rss1 and fd1:
    print("milter RSS start %s KiB end %s KiB; open fds start %s end %s" % (rss0, rss1, fd0, fd1))
else:
    print("milter RSS start %s KiB end (worker gone); open fds start %s end (worker gone)" % (rss0, fd0))
print("wall time %d s (injection and drain %d s)" % (int(wall), int(run_wall)))
print("details:")
print("  deliveries to the sink in all: %d; still queued at the end: %s" % (n_delivered, queued_end))
print("  deferrals by reason (Postfix log, front hop): %s" % (dict(deferred_reasons) or "none"))
if deferred_unknown:
    print("  deferrals whose queue id has no soak message-id: %d" % deferred_unknown)
print("  deferrals per deferred message: max %d" % max([len(v) for k, v in deferred.items() if k is not None] or [0]))
print("  milter: %d verify log lines %s, %d action=tempfail, %d internal errors"
      % (sum(mresults.values()), dict(mresults), tempfails, len(internal)))
print("  milter worker sockets start %s end %s, threads start %s end %s; worker alive at end: %s; supervisor children: %s"
      % (sk0, sk1 or "-", th0, th1 or "-", "yes" if alive == "1" else "NO", children))
print("  DNS queries that reached the relay: %d" % dns_queries)
if milter_rejects:
    print("  milter replies at end of data (Postfix log): %s" % dict(milter_rejects))
if other_status:
    print("  other delivery statuses: %s" % dict(other_status))
if milter_warnings:
    print("  Postfix milter warnings: %s" % dict(milter_warnings.most_common(5)))
if resent:
    print("  messages the injector sent again after an SMTP error: %d (%s)" % (len(resent), sorted(resent)[:10]))
if sent_twice:
    problems.append("messages recorded as sent twice: %s" % sent_twice[:10])
if unknown:
    problems.append("delivered messages that were never sent: %s" % unknown[:10])
if lost:
    problems.append("lost: %d (serials %s; still in the Postfix queue at the end: %s, see queue-at-end.txt)"
                    % (len(lost), lost[:20], queued_end))
if deferred_then_delivered == 0:
    problems.append("no message was deferred: the DNS faults never reached the milter's policy")
if dups:
    problems.append("duplicated: %d (serials %s; resent by the injector: %s)"
                    % (len(dups), dups[:20], sorted(set(dups) & resent)[:20]))
if non_pass:
    problems.append("delivered without dkim=pass: %d, e.g. %s (results %s)" % (len(non_pass), non_pass[:3], dict(results)))
if n_sent != n:
    problems.append("sent %d of %d messages" % (n_sent, n))
if alive != "1":
    problems.append("dkimkit-milter's worker process died")
if internal:
    problems.append("milter internal errors: %d, e.g. %s" % (len(internal), internal[0]))
if unexpected:
    print("  other milter log lines: %d, e.g. %s" % (len(unexpected), unexpected[:3]))
if rss1:
    r0, r1 = int(rss0), int(rss1)
    limit = r0 + r0 * rss_pct // 100 + rss_kib
    if r1 > limit:
        problems.append("RSS grew from %d to %d KiB (limit %d KiB: +%d %% + %d KiB)" % (r0, r1, limit, rss_pct, rss_kib))
if fd1:
    if int(fd1) > int(fd0) + fd_slack:
        problems.append("open descriptors grew from %s to %s (limit +%d)" % (fd0, fd1, fd_slack))
if problems:
    print("FAIL:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("PASS")
PY
rc=$?
log "work directory: $logdir (samples.csv, milter.log, postfix/log/postfix.log, relay.log, outages.log)"
exit "$rc"
