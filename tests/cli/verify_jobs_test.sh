#!/usr/bin/env bash
# Issue 16: `dkimkit verify --jobs N` (messages verified by N threads, output in input order),
# --summary (totals per result, domain and failure reason) and the progress line on a terminal.
# The archive mixes results: pass, fail (body changed), permerror (a key that does not parse, a
# selector without a key), none (no signature), two signing domains and a double signature.
# Not a speed measure: bench/verify_jobs.sh measures the scaling.
# Usage: verify_jobs_test.sh PATH_TO_dkimkit WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"  # check, ok, bad, rig_summary (no servers here)
dk=$(readlink -f "$1")
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
py() { /usr/bin/python3 -c "$@"; }

"$dk" keygen -d example.com -s ed -t ed25519 -o . >/dev/null 2>&1
"$dk" keygen -d example.com -s rsa -t rsa -b 2048 -o . >/dev/null 2>&1
"$dk" keygen -d other.example -s o -t ed25519 -o . >/dev/null 2>&1
{
  echo '$TTL 300'
  cat ed.txt rsa.txt o.txt
  echo 'broken._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=!!notbase64"'
} > zone
# One signed message per kind; the archives repeat them in a shuffled order, each copy numbered.
sign() {  # sign KEY DOMAIN SELECTOR: stdin signed on stdout
  "$dk" sign -k "$1" -d "$2" -s "$3" -c relaxed/relaxed
}
msg() { printf 'From: a@%s\nTo: b@example.net\nSubject: %s\n\n%s\n' "$1" "$2" "$3"; }
msg example.com pass "a body" | sign ed.private example.com ed > k-pass-ed.eml
msg example.com pass-rsa "a body" | sign rsa.private example.com rsa > k-pass-rsa.eml
msg other.example other "a body" | sign o.private other.example o > k-pass-other.eml
msg example.com fail "a body" | sign ed.private example.com ed | sed 's/^a body$/a changed body/' > k-fail.eml
msg example.com badkey "a body" | sign ed.private example.com broken > k-badkey.eml
msg example.com nokey "a body" | sign ed.private example.com nosuch > k-nokey.eml
msg example.com none "a body" > k-none.eml
msg example.com two "a body" | sign o.private other.example o | sign ed.private example.com ed > k-two.eml
check "the kinds give the results expected" bash -c '
  for f in pass-ed:pass pass-rsa:pass pass-other:pass fail:fail badkey:permerror nokey:permerror none:none two:pass; do
    [ "$("$0" verify --json --zone zone --jobs 1 "k-${f%%:*}.eml" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"result\"])")" = "${f#*:}" ] || exit 1
  done' "$dk"

# 400 messages in an mbox, and 80 files in a directory tree (two levels), in a shuffled order.
py 'import glob, os, random
random.seed(16)
kinds = sorted(glob.glob("k-*.eml"))
with open("mixed.mbox", "wb") as out:
    for i in range(400):
        body = open(random.choice(kinds), "rb").read()
        out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + body + b"\n")
for i in range(80):
    d = "dir/%s" % ("ab"[i % 2])
    os.makedirs(d, exist_ok=True)
    open("%s/%03d.eml" % (d, i), "wb").write(open(random.choice(kinds), "rb").read())'
check "the archive mixes the results" bash -c '
  "$0" verify --json --zone zone --jobs 1 mixed.mbox > j1.json &&
  for r in pass fail permerror none; do grep -q "\"result\":\"$r\"" j1.json || exit 1; done' "$dk"

# --jobs N gives the output of --jobs 1, byte for byte: JSON and human, mbox and directory.
same() {  # same ARGS...: --jobs 1, 2, 4 and 7 print the same, with the same exit status
  # (standard input: the file SAME_INPUT, /dev/null by default)
  "$dk" verify --zone zone --jobs 1 "$@" < "${SAME_INPUT:-/dev/null}" > same.1 2> same.1.err
  local want=$?
  [ -s same.1 ] || return 1
  for n in 2 4 7; do
    "$dk" verify --zone zone --jobs "$n" "$@" < "${SAME_INPUT:-/dev/null}" > "same.$n" 2> "same.$n.err"
    [ $? -eq "$want" ] && cmp -s same.1 "same.$n" && cmp -s same.1.err "same.$n.err" || return 1
  done
}
check "--jobs 4: JSON of an mbox as --jobs 1" same --json mixed.mbox
check "--jobs 4: human output of an mbox as --jobs 1" same mixed.mbox
check "--jobs 4: JSON of a directory tree as --jobs 1" same --json dir
check "--jobs 4: human output of a directory and files as --jobs 1" same dir mixed.mbox k-fail.eml
check "--jobs 4: --require aligned (replies, exit 1) as --jobs 1" same --require aligned mixed.mbox
check "--jobs 4: --summary as --jobs 1" same --json --summary mixed.mbox dir
same_stdin() { SAME_INPUT=mixed.mbox same --json -; }
check "--jobs 4: an mbox on standard input as --jobs 1" same_stdin
check "the default --jobs (the number of cores) as --jobs 1" \
  bash -c '"$0" verify --zone zone --json mixed.mbox dir | cmp -s - <("$0" verify --zone zone --json --jobs 1 mixed.mbox dir)' "$dk"
check "JSON in input order: the message numbers 1..400" \
  py 'import json,sys; sys.exit([json.loads(l)["message"] for l in open("j1.json")] != list(range(1, 401)))'
# An input that cannot be read among others: the others verified in order, exit 66.
missing_among_others() {
  same --json k-pass-ed.eml nope.eml mixed.mbox && [ "$(grep -c . same.4)" = 401 ]
}
check "--jobs 4: a missing file among others as --jobs 1 (exit 66)" missing_among_others

# The block path (an mbox with --zone and --jobs N: blocks of about 512 KiB cut at separators):
# an mbox of many blocks, with messages larger than a block (streamed in pieces), ">From " lines
# (mboxrd quoting, undone before the body hash), "From " in a quoted body, CRLF messages and no
# final newline.
py 'import glob, random, subprocess, sys
random.seed(17)
dk = sys.argv[1]
kinds = sorted(glob.glob("k-*.eml"))
def signed(body, subject):
    msg = ("From: a@example.com\nTo: b@example.net\nSubject: %s\n\n" % subject).encode() + body
    return subprocess.run([dk, "sign", "-k", "rsa.private", "-d", "example.com", "-s", "rsa",
                           "-c", "relaxed/relaxed"], input=msg, capture_output=True, check=True).stdout
big = b"".join(b"From here the line is quoted in the mbox %d\n" % i if i % 1000 == 0 else
               b"> From a quoted reply, not a separator %d\n" % i if i % 1000 == 1 else
               b"a line of a large body %d\n" % i for i in range(60000))
large = signed(big, "large")
crlf = open("k-pass-ed.eml", "rb").read().replace(b"\n", b"\r\n")
with open("blocks.mbox", "wb") as out:
    for i in range(6000):
        if i in (1000, 4321):
            m = large
        elif i % 97 == 0:
            m = crlf
        else:
            m = open(random.choice(kinds), "rb").read()
        m = b"\n".join(b">" + l if l.lstrip(b">").startswith(b"From ") else l for l in m.split(b"\n"))
        out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + m + b"\n")
    out.write(b"From last\nSubject: no final newline\n\nbody")' "$dk"
check "block path: the mbox spans many blocks and has messages larger than a block" \
  bash -c '[ "$(stat -c %s blocks.mbox)" -gt $((5 * 1024 * 1024)) ] && [ "$(grep -c "^From here" blocks.mbox)" = 0 ]'
check "block path: JSON of an mbox of many blocks as --jobs 1" same --json blocks.mbox
check "block path: human output and --summary as --jobs 1" same --summary blocks.mbox mixed.mbox
"$dk" verify --zone zone --json --jobs 4 blocks.mbox > blocks.json
check "block path: numbers 1..6001 in order; the large messages pass (their >From lines unquoted)" \
  py 'import json, sys
lines = [json.loads(l) for l in open("blocks.json")]
large = [l["result"] for l in lines if l["message"] in (1001, 4322)]
print(len(lines), large)
sys.exit([l["message"] for l in lines] != list(range(1, 6002)) or large != ["pass", "pass"])'
# --format mbox on a file with text before its first "From " line: exit 65, as --jobs 1.
{ printf 'not a separator\n\n'; cat blocks.mbox; } > preamble.mbox
preamble_as_jobs_1() { same --json --format mbox preamble.mbox && grep -q "belong to no message" same.4.err; }
check "block path: a preamble (--format mbox) said and exit 65 as --jobs 1" preamble_as_jobs_1
# --summary: the counts are those of the JSON lines.
"$dk" verify --zone zone --json --summary --jobs 4 mixed.mbox dir > sum.json
check "--json --summary: the counts of the last object are those of the lines before it" \
  py 'import json, sys
lines = [json.loads(l) for l in open("sum.json")]
*msgs, last = lines
rank = {"none": 0, "permerror": 1, "neutral": 2, "fail": 3, "policy": 4, "temperror": 5, "pass": 6}
def best(sigs):
    ev = [s for s in sigs if s.get("evaluated", True)]
    if sigs and not ev: return "policy"
    return max((s["result"] for s in ev), key=rank.get, default="none")
results, domains, reasons = {}, {}, {}
for m in msgs:
    results[m["result"]] = results.get(m["result"], 0) + 1
    by = {}
    for s in m["signatures"]:
        if s["result"] != "pass":
            phrase = s["reason"].split(": ")[0]
            reasons[phrase] = reasons.get(phrase, 0) + 1
        if s["domain"]: by.setdefault(s["domain"].lower(), []).append(s)
    for d, sigs in by.items():
        c = domains.setdefault(d, {})
        c["messages"] = c.get("messages", 0) + 1
        c[best(sigs)] = c.get(best(sigs), 0) + 1
want = {"summary": {"messages": len(msgs), "results": results, "domains": domains, "reasons": reasons}}
print(last, want, sep="\n")
sys.exit(last != want or len(msgs) != 480 or len(domains) != 2 or len(reasons) < 2)'
"$dk" verify --zone zone --summary --jobs 4 mixed.mbox dir > sum.txt
check "--summary (human): the same totals as --json --summary" \
  py 'import json, sys
s = json.loads(open("sum.json").readlines()[-1])["summary"]
want = ["# summary: %d messages" % s["messages"]]
want += ["result %s: %d" % kv for kv in sorted(s["results"].items())]
for d, c in sorted(s["domains"].items()):
    want.append("domain %s: %d messages (%s)" % (d, c["messages"], ", ".join("%s %d" % kv for kv in sorted(c.items()) if kv[0] != "messages")))
want += ["reason %s: %d" % kv for kv in sorted(s["reasons"].items())]
got = open("sum.txt").read().splitlines()
i = got.index(want[0])
print(got[i:], want, sep="\n")
sys.exit(got[i:] != want)'
check "without --summary, no summary" bash -c '! grep -q summary j1.json'

# The progress line: on stderr when it is a terminal (script(1) gives a pty), not when piped.
have_script=0
script -qfc true /dev/null >/dev/null 2>&1 && have_script=1
if [ "$have_script" = 1 ]; then
  script -qfc "'$dk' verify --zone zone --json --jobs 2 mixed.mbox > pty.json" /dev/null > pty.log 2>&1
  check "under a pty: a progress line (messages, rate, elapsed, share read)" \
    py 'import re, sys
t = open("pty.log", "rb").read().decode()
sys.exit(not re.search(r"\rdkimkit: \d+ messages?, \d+/s, \d+:\d\d elapsed, \d+% read\x1b\[K", t))'
  # A redraw (every 250 ms) needs a run that lasts: not a large archive (its time depends on the
  # machine), but a resolver that never answers (a UDP socket on loopback that reads nothing), so
  # that each of the two windows of messages waits the whole --dns-timeout (600 ms).
  /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(120)' > blackhole.port &
blackhole_pid=$!
  for _ in $(seq 50); do [ -s blackhole.port ] && break; sleep 0.1; done
  script -qfc "'$dk' verify --resolver 127.0.0.1@$(cat blackhole.port) --dns-timeout 600 --jobs 2 mixed.mbox > /dev/null" /dev/null > pty4.log 2>&1
  kill "$blackhole_pid" 2>/dev/null; wait "$blackhole_pid" 2>/dev/null
  check "under a pty: the progress line redrawn with an ETA" \
    py 'import re, sys
t = open("pty4.log", "rb").read().decode()
sys.exit(not re.search(r"\rdkimkit: [1-9]\d* messages, [1-9]\d*/s, \d+:\d\d elapsed, \d+% read, ETA \d+:\d\d\x1b\[K", t))'
  check "under a pty: the progress line is erased at the end" \
    py 'import sys; t = open("pty.log", "rb").read(); sys.exit(not t.rstrip(b"\r\n").endswith(b"\r\x1b[K"))'
  check "under a pty: the output is unchanged" cmp -s pty.json j1.json
  script -qfc "'$dk' verify --zone zone --json --no-progress mixed.mbox > /dev/null" /dev/null > pty2.log 2>&1
  check "under a pty with --no-progress: no progress line" bash -c '! grep -q messages pty2.log'
  script -qfc "'$dk' verify --zone zone --jobs 2 - < mixed.mbox > /dev/null" /dev/null > pty3.log 2>&1
  check "under a pty, standard input: no share read and no ETA (the total is unknown)" \
    bash -c 'grep -q "messages, " pty3.log && ! grep -q "ETA" pty3.log'
else
  echo "skip progress under a pty: script(1) unusable"
fi
"$dk" verify --zone zone --json mixed.mbox 2> piped.err | cat > /dev/null
check "stderr piped: no progress line" test ! -s piped.err

# --jobs must be a positive count.
for n in 0 -1 x; do
  check "--jobs $n refused (exit 64)" bash -c '"$0" verify --zone zone --jobs "$1" k-pass-ed.eml; [ $? -eq 64 ]' "$dk" "$n"
done
rig_summary
