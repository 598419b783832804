#!/usr/bin/env bash
# Issue 16: `dkimkit verify` reads mbox files, Maildirs and directory trees, and stays in bounded
# memory on a large mbox. Archives are written by Python's mailbox module (mboxo: "From " quoted as
# ">From ") or, for mboxrd quoting, by a few lines of Python here; the messages are signed by
# `dkimkit sign` with simple/simple canonicalization, so that a byte changed by the framing or the
# unquoting makes a signature fail.
# Usage: verify_archive_test.sh PATH_TO_dkimkit WORKDIR [MBOX_MIB]
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"  # check, ok, bad, rig_summary (no servers here)
dk=$(readlink -f "$1")
work=$2
mib=${3:-200}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
py() { /usr/bin/python3 -c "$@"; }
# results EXPECTED ARGS...: verify --json ARGS must give exactly the EXPECTED list of
# (file, message or None, result), one per line in order, as a Python literal.
results() {
  local want=$1
  shift
  "$dk" verify --json --zone zone "$@" > results.json 2> results.err || return 1
  py 'import json,sys; got=[(o["file"], o.get("message"), o["result"]) for o in map(json.loads, open("results.json"))]; want=eval(sys.argv[1]); print(got); sys.exit(got != want)' "$want"
}

"$dk" keygen -d example.com -s ed -t ed25519 -o . >/dev/null 2>&1
{ echo '$TTL 300'; cat ed.txt; } > zone
sign() { "$dk" sign -k ed.private -d example.com -s ed -c simple/simple; }
printf 'From: a@example.com\nSubject: one\n\nFrom here, a line an mbox quotes.\nbody\n' | sign > m1.eml
printf 'From: a@example.com\nSubject: two\n\n>From already quoted\n>>From twice\nbody\n' | sign > m2.eml
printf 'From: a@example.com\nSubject: three\n\nno final newline' | sign > m3.eml
printf 'From: a@example.com\nSubject: four\n\nbody\n\n\n' | sign > m4.eml
check "the signed messages verify on their own" results \
  '[("m1.eml",None,"pass"),("m2.eml",None,"pass"),("m3.eml",None,"pass"),("m4.eml",None,"pass")]' \
  m1.eml m2.eml m3.eml m4.eml

# Python's mailbox.mbox (mboxo): ">From here" in the file, "From here" again when read.
py 'import mailbox,sys
m = mailbox.mbox("py.mbox")
for f in sys.argv[1:]: m.add(open(f, "rb").read())
m.flush()' m1.eml m3.eml m4.eml
check "python's mbox quoted the From line" grep -q '^>From here' py.mbox
check "an mbox written by python's mailbox.mbox: every message passes, numbered from 1" \
  results '[("py.mbox",1,"pass"),("py.mbox",2,"pass"),("py.mbox",3,"pass")]' py.mbox
check "the human output names each message: # FILE message N" \
  test "$("$dk" verify --zone zone py.mbox | grep '^#')" = "$(printf '# py.mbox message 1\n# py.mbox message 2\n# py.mbox message 3')"
check "a plain file alone keeps its output without a # line" \
  test "$("$dk" verify --zone zone m1.eml | grep -c '^#')" = 0

# mboxrd: every ^>*From  line gains a '>'; reading takes one away.
mboxrd() {  # mboxrd OUT NEWLINE FILES...: an mboxrd archive with NEWLINE line endings
  py 'import re,sys
out, nl = open(sys.argv[1], "wb"), sys.argv[2].encode()
for f in sys.argv[3:]:
    msg = open(f, "rb").read().replace(b"\r\n", b"\n")
    body = re.sub(rb"(?m)^(>*From )", rb">\1", msg).replace(b"\n", nl)
    out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970" + nl + body)
    if not body.endswith(nl): out.write(nl)
    out.write(nl)' "$@"
}
mboxrd rd.mbox $'\n' m1.eml m2.eml m3.eml m4.eml
check "mboxrd quoting: >From and >>From in the file" grep -q '^>>From already' rd.mbox
check "an mboxrd archive: >From unquoted, every message passes" \
  results '[("rd.mbox",1,"pass"),("rd.mbox",2,"pass"),("rd.mbox",3,"pass"),("rd.mbox",4,"pass")]' rd.mbox
# The ambiguity of mboxo, documented: ">From" already in a message is left as it was by an mboxo
# writer, and the mboxrd reading takes a '>' away.
py 'import mailbox,sys
m = mailbox.mbox("pyo.mbox"); m.add(open("m2.eml", "rb").read()); m.flush()'
check "mboxo's ambiguity: a message with '>From' in an mboxo file comes back one '>' short" \
  results '[("pyo.mbox",1,"fail")]' pyo.mbox

# A last message without a final newline, and no empty line after it.
{ printf 'From x Thu Jan  1 00:00:00 1970\n'; cat m1.eml | sed 's/^From here/>From here/'; printf '\nFrom y Thu Jan  1 00:00:00 1970\n'; cat m3.eml; } > nonl.mbox
check "the archive ends without a newline" test "$(tail -c 1 nonl.mbox | od -An -c | tr -d ' ')" = e
check "a last message without a final newline passes" \
  results '[("nonl.mbox",1,"pass"),("nonl.mbox",2,"pass")]' nonl.mbox

# CRLF: the messages in CRLF, in an mbox whose separators and framing are CRLF too.
for i in 1 2 3 4; do
  py 'import sys; open(sys.argv[2], "wb").write(open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n"))' "m$i.eml" "c$i.raw"
done
check "the CRLF messages verify on their own" \
  results '[("c1.raw",None,"pass"),("c2.raw",None,"pass"),("c3.raw",None,"pass"),("c4.raw",None,"pass")]' c1.raw c2.raw c3.raw c4.raw
mboxrd crlf.mbox $'\r\n' c1.raw c2.raw c3.raw c4.raw
check "a CRLF mbox: every message passes" \
  results '[("crlf.mbox",1,"pass"),("crlf.mbox",2,"pass"),("crlf.mbox",3,"pass"),("crlf.mbox",4,"pass")]' crlf.mbox

# Empty: a file with nothing is one (empty) message as before; with --format mbox, no message.
: > empty
check "an empty mbox (--format mbox): no result, exit 0" \
  bash -c '[ -z "$("$0" verify --json --zone zone --format mbox empty)" ]' "$dk"
check "an empty file without --format: one message, result none, as before" \
  results '[("empty",None,"none")]' empty
check "--format message reads an mbox as one message" \
  bash -c '[ "$("$0" verify --json --zone zone --format message py.mbox | wc -l)" = 1 ]' "$dk"
check "--format rejects other values (exit 64)" \
  bash -c '"$0" verify --zone zone --format mboxcl2 py.mbox; [ $? -eq 64 ]' "$dk"

# Standard input: an mbox when it begins with "From ".
check "standard input: an mbox is split" \
  bash -c '"$0" verify --json --zone zone < rd.mbox | /usr/bin/python3 -c "import json,sys; o=[json.loads(l) for l in sys.stdin]; sys.exit(not ([(x[\"file\"], x[\"message\"], x[\"result\"]) for x in o] == [(\"-\", n, \"pass\") for n in (1,2,3,4)]))"' "$dk"
check "standard input: a message stays one message" results '[("-",None,"pass")]' - < m1.eml

# Text before the first "From " line with --format mbox: said, exit 65, the messages still read.
{ echo 'junk'; cat rd.mbox; } > junk.mbox
"$dk" verify --json --zone zone --format mbox junk.mbox > junk.json 2> junk.err
check "text before the first From line: exit 65 and a message" \
  bash -c '[ $0 -eq 65 ] && grep -q "junk.mbox: 5 bytes before the first" junk.err' "$?"
check "text before the first From line: the messages are still verified" test "$(grep -c '"pass"' junk.json)" = 4

# A message over a limit is a result of its own; the rest of the mbox goes on.
{ printf 'From x Thu Jan  1 00:00:00 1970\nX-Big: %s\n\nbody\n\n' "$(head -c 5000 /dev/zero | tr '\0' a)"; cat rd.mbox; } > limit.mbox
check "a message over --max-header-bytes: permerror for it, the others pass" \
  results '[("limit.mbox",1,"permerror"),("limit.mbox",2,"pass"),("limit.mbox",3,"pass"),("limit.mbox",4,"pass"),("limit.mbox",5,"pass")]' --max-header-bytes 4096 limit.mbox
check "--require any: a message without a passing signature in an mbox exits 1" \
  bash -c '"$0" verify --zone zone --require any limit.mbox; [ $? -eq 1 ]' "$dk"

# Maildir written by python's mailbox.Maildir: cur/ then new/, each by name; tmp/ skipped.
py 'import mailbox
md = mailbox.Maildir("Mail", create=True)
for i, f in enumerate(["m1.eml", "m2.eml", "m3.eml", "m4.eml"]):
    m = mailbox.MaildirMessage(open(f, "rb").read())
    if i % 2: m.set_subdir("cur"); m.set_flags("S")
    md.add(m)'
cp m1.eml Mail/tmp/being-delivered
echo "1 2" > Mail/dovecot-uidlist
maildir_want=$(py 'import os
print([("Mail/%s/%s" % (d, n), None, "pass") for d in ("cur", "new") for n in sorted(os.listdir("Mail/" + d))])')
check "python's Maildir has messages in cur and in new" \
  test "$(ls Mail/cur | wc -l)" = 2 -a "$(ls Mail/new | wc -l)" = 2
check "a Maildir: its messages in cur then new, by name, all pass; tmp/ and other files skipped" \
  results "$maildir_want" Mail
check "a Maildir message starting with a From line is still one message" \
  bash -c 'mkdir -p Md2/new && cp py.mbox Md2/new/1 && [ "$("$0" verify --json --zone zone Md2 | wc -l)" = 1 ]' "$dk"

# A directory tree: sorted, recursive, mbox files split, Maildirs read as such, links skipped.
mkdir -p tree/a/deeper tree/b
cp py.mbox tree/a/inbox
cp m2.eml tree/a/deeper/x.eml
cp m1.eml tree/top.eml
cp -r Mail tree/b/Mail
ln -s ../../m3.eml tree/b/link.eml
ln -s .. tree/b/loop
tree_want=$(py 'import os
md = [("tree/b/Mail/%s/%s" % (d, n), None, "pass") for d in ("cur", "new") for n in sorted(os.listdir("Mail/" + d))]
print([("tree/a/deeper/x.eml", None, "pass")] + [("tree/a/inbox", n, "pass") for n in (1, 2, 3)] + md + [("tree/top.eml", None, "pass")])')
check "a directory tree: sorted, recursive, symbolic links not followed" results "$tree_want" tree
check "a directory alone: each result has its # line" \
  test "$("$dk" verify --zone zone tree/a | grep '^#')" = "$(printf '# tree/a/deeper/x.eml\n# tree/a/inbox message 1\n# tree/a/inbox message 2\n# tree/a/inbox message 3')"
check "a FIFO in a walked tree is skipped, not waited on" \
  bash -c 'mkdir -p fifotree && cp m1.eml fifotree/a.eml && mkfifo fifotree/b.fifo && timeout 20 "$0" verify --json --zone zone fifotree > fifo.json && [ "$(wc -l < fifo.json)" = 1 ]' "$dk"
# Unreadable entries: as root, run as nobody (setpriv) so that the modes mean something.
as_user=()
locked=$PWD/locked
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  locked=$(mktemp -d /tmp/dkimkit-archive.XXXXXX) && chmod 755 "$locked"
fi
if [ "$(id -u)" != 0 ] || command -v setpriv >/dev/null; then
  mkdir -p "$locked/t/sub" && cp m1.eml "$locked/t/sub/" && cp m1.eml "$locked/t/z.eml" && cp m1.eml "$locked/t/y.eml"
  chmod -R a+rX "$locked/t" && cp zone "$locked/zone" && chmod 644 "$locked/zone"
  chmod 000 "$locked/t/sub" "$locked/t/y.eml"
  (cd "$locked" && "${as_user[@]}" "$dk" verify --json --zone zone t) > locked.json 2> locked.err
  check "unreadable entries in a walk: exit 66, each named on stderr, the rest verified" \
    bash -c '[ $0 -eq 66 ] && grep -q "t/sub" locked.err && grep -q "t/y.eml" locked.err && grep -q "\"file\":\"t/z.eml\"" locked.json && [ "$(wc -l < locked.json)" = 1 ]' "$?"
  chmod 700 "$locked/t/sub" "$locked/t/y.eml"
  [ "$locked" = "$PWD/locked" ] || rm -rf "$locked"
fi
check "a missing path among others: exit 66, the others verified" \
  bash -c '"$0" verify --json --zone zone nope.mbox py.mbox > miss.json 2>/dev/null; [ $? -eq 66 ] && [ "$(wc -l < miss.json)" = 3 ]' "$dk"

# Bounded memory: a ${mib} MiB mbox of signed messages (small ones, a 32 MiB one, one with a
# 16 MiB line and one with a 64 KiB run of '>' before "From ") is verified with a peak RSS under
# 64 MiB (not a speed measure; bench/mbox_memory.sh measures 1 GiB).
py 'import sys, subprocess
mib = int(sys.argv[1])
def signed(body):
    return subprocess.run([sys.argv[2], "sign", "-k", "ed.private", "-d", "example.com", "-s", "ed"],
                          input=b"From: a@example.com\nSubject: big\n\n" + body, capture_output=True, check=True).stdout
def rd(msg):
    import re
    return b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + re.sub(rb"(?m)^(>*From )", rb">\1", msg) + b"\n"
small = rd(signed(b"From here\n" + b"a line of a body, quite ordinary.\n" * 3000))
big = rd(signed(b"".join([b"y" * 1023 + b"\n"] * (32 * 1024))))
line = rd(signed(b"z" * (16 << 20) + b"\n"))
quotes = rd(signed(b">" * 65536 + b"From quotes\n"))
with open("big.mbox", "wb") as out:
    out.write(big + line + quotes)
    n = 3
    while out.tell() < (mib << 20):
        out.write(small); n += 1
print(n)' "$mib" "$dk" > big.count
peak() {  # peak COMMAND...: runs it (stdout to peak.out), prints the child's peak RSS in KiB
  py 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=open("peak.out", "wb"), check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
kib=$(peak "$dk" verify --json --zone zone big.mbox)
echo "     peak RSS on a $(($(stat -c %s big.mbox) >> 20)) MiB mbox of $(cat big.count) messages: $kib KiB"
check "large mbox: every message passes" \
  test "$(grep -c '"result":"pass"' peak.out)" = "$(cat big.count)" -a "$(wc -l < peak.out)" = "$(cat big.count)"
# Under AddressSanitizer (DKIMKIT_SANITIZED=1, set by CMake for the sanitizer build) the shadow
# memory and the quarantine of freed blocks count in RSS: the bound is checked in the plain build.
rss_check() {  # rss_check NAME KIB
  if [ -n "${DKIMKIT_SANITIZED:-}" ]; then
    echo "skip $1: peak RSS is not meaningful under AddressSanitizer (checked in the plain build)"
  else
    check "$1" test "$2" -lt 65536
  fi
}
rss_check "large mbox: peak RSS under 64 MiB" "$kib"
# The same with 4 threads (verify --jobs; the run above used the default, the number of cores):
# the bound holds and the output is the same.
mv peak.out peak1.out
kib=$(peak "$dk" verify --json --zone zone --jobs 4 big.mbox)
echo "     peak RSS with --jobs 4: $kib KiB"
check "large mbox, --jobs 4: the output of the run above (default --jobs)" cmp -s peak.out peak1.out
rss_check "large mbox, --jobs 4: peak RSS under 64 MiB" "$kib"

rig_summary
