#!/usr/bin/env bash
# Behaviour of the dkimkit command line: output formats, exit statuses, files it writes.
# Usage: cli_test.sh PATH_TO_dkimkit WORKDIR [PATH_TO_dkimkit-milter]
# DKIMKIT_VERSION (set by CTest from project(VERSION)) is the version both programs must print.
set -uo pipefail
dk=$(readlink -f "$1")
work=$2
milter=${3:+$(readlink -f "$3")}
version=${DKIMKIT_VERSION:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
passed=0
failed=0
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"
  fi
}
status_is() {  # status_is WANT COMMAND...
  local want=$1
  shift
  "$@" >/dev/null 2>&1
  [ $? -eq "$want" ]
}
py() { /usr/bin/python3 -c "$@"; }

"$dk" keygen -d example.com -s rsa -o . >keygen.out 2>keygen.err
"$dk" keygen -d example.com -s ed -t ed25519 -o . >/dev/null 2>&1
{ echo '$TTL 300'; cat rsa.txt ed.txt; } > zone
printf 'From: a@example.com\nTo: b@example.org\nSubject: test\n\nbody line  \n\n' > lf.eml
printf 'From: a@example.com\r\nTo: b@example.org\r\nSubject: test\r\n\r\nbody\r\n' > crlf.eml

check "keygen writes the key with mode 0600" test "$(stat -c %a rsa.private)" = 600
check "keygen prints the zone line it writes" cmp -s keygen.out rsa.txt
check "keygen splits the TXT value into strings of at most 255 bytes" \
  py 'import re,sys; s=re.findall(r"\"([^\"]*)\"", open("rsa.txt").read()); sys.exit(not (len(s) >= 2 and all(len(x) <= 255 for x in s)))'
check "keygen refuses to overwrite without --force" status_is 73 "$dk" keygen -d example.com -s rsa -o .
check "keygen refuses RSA under 1024 bits" status_is 64 "$dk" keygen -d example.com -s x -b 512 -o .
# Issue 10: a missing output folder is made (mode 0700, parents too) and said so.
"$dk" keygen -d example.com -s new -t ed25519 -o newkeys/deeper >/dev/null 2>newkeys.err
check "keygen -o makes a missing folder with mode 0700" \
  test "$(stat -c %a newkeys)" = 700 -a "$(stat -c %a newkeys/deeper)" = 700 -a -s newkeys/deeper/new.private
check "keygen says which folder it made" grep -q "created the folder newkeys/deeper (mode 0700)" newkeys.err
"$dk" keygen -d example.com -s new -t ed25519 -o ./newkeys >/dev/null 2>&1
check "keygen -o uses an existing folder as it is" test -s newkeys/new.private -a "$(stat -c %a newkeys)" = 700
touch notafolder
"$dk" keygen -d example.com -s x -t ed25519 -o notafolder >/dev/null 2>notafolder.err
check "keygen -o naming a file: exit 73 and a plain message" \
  test $? -eq 73 -a "$(cat notafolder.err)" = "dkimkit: notafolder: exists and is not a folder"

# Issue 10: --version, from project(VERSION) in CMake, also in --help.
check "dkimkit --version exits 0" status_is 0 "$dk" --version
check "dkimkit --version prints the project's version" test "$("$dk" --version)" = "dkimkit $version" -a -n "$version"
check "dkimkit --help shows the version and --version" \
  sh -c '"$1" --help | grep -q "^dkimkit $2: " && "$1" --help | grep -q -- "--version"' _ "$dk" "$version"
if [ -n "$milter" ]; then
  check "dkimkit-milter --version exits 0" status_is 0 "$milter" --version
  check "dkimkit-milter --version prints the project's version" \
    test "$("$milter" --version)" = "dkimkit-milter $version" -a -n "$version"
  check "dkimkit-milter --help shows the version and --version" \
    sh -c '"$1" --help | grep -q "^dkimkit-milter $2: " && "$1" --help | grep -q -- "--version"' _ "$milter" "$version"
fi

# Issue 10: i= is dkim-quoted-printable: sign encodes, verify decodes.
printf 'From: a@example.com\nTo: b@example.org\nSubject: id\n\nbody\n' > id.eml
"$dk" sign -k ed.private -d example.com -s ed --identity 'j=long;x@example.com' id.eml > id.signed
check "sign writes i= dkim-quoted-printable" grep -q 'i=j=3Dlong=3Bx@example.com;' id.signed
check "verify reports i= decoded" \
  py 'import json,subprocess,sys; o=json.loads(subprocess.run(["'"$dk"'","verify","--json","--zone","zone","id.signed"],capture_output=True).stdout); s=o["signatures"][0]; sys.exit(not (s["result"]=="pass" and s["identity"]=="j=long;x@example.com"))'
check "explain shows i= decoded" grep -q 'decoded: j=long;x@example.com' <("$dk" explain --zone zone id.signed)

"$dk" sign -k rsa.private -d example.com -s rsa lf.eml > lf.signed
check "sign keeps the input bytes unchanged after the new field" \
  py 'import sys; a=open("lf.signed","rb").read(); b=open("lf.eml","rb").read(); sys.exit(not a.endswith(b))'
check "sign writes the field with the input's LF line endings" \
  py 'import sys; sys.exit(b"\r" in open("lf.signed","rb").read())'
"$dk" sign -k rsa.private -d example.com -s rsa crlf.eml > crlf.signed
check "sign writes CRLF for a CRLF message" \
  py 'import sys; d=open("crlf.signed","rb").read(); h=d.split(b"From:")[0]; sys.exit(not (h.count(b"\r\n") >= 1 and h.count(b"\n") == h.count(b"\r\n")))'
check "a signed LF message verifies" grep -q '"result":"pass"' <("$dk" verify --json --zone zone lf.signed)
check "a signed CRLF message verifies" grep -q '"result":"pass"' <("$dk" verify --json --zone zone crlf.signed)
check "sign reads standard input" grep -q '"result":"pass"' <("$dk" sign -k ed.private -d example.com -s ed < lf.eml | "$dk" verify --json --zone zone)
"$dk" sign -k rsa.private -k ed.private -d example.com -s rsa -s ed lf.eml > dual.signed
check "two keys give two signatures that both pass" \
  py 'import json,subprocess,sys; o=json.loads(subprocess.run(["'"$dk"'","verify","--json","--zone","zone","dual.signed"],capture_output=True).stdout); sys.exit(not ([s["result"] for s in o["signatures"]]==["pass","pass"] and [s["algorithm"] for s in o["signatures"]]==["rsa-sha256","ed25519-sha256"]))'
check "--headers sets h=" grep -q 'h=from:subject;' <("$dk" sign -k ed.private -d example.com -s ed --headers from:subject lf.eml)
check "--expire adds x=" grep -q 'x=1000000600;' <("$dk" sign -k ed.private -d example.com -s ed --now 1000000000 --expire 600 lf.eml)
check "--body-length adds l=" grep -q 'l=' <("$dk" sign -k ed.private -d example.com -s ed --body-length lf.eml)
check "sign refuses rsa-sha1" status_is 65 "$dk" sign -k rsa.private -d example.com -s rsa -a rsa-sha1 lf.eml
check "sign refuses a key/algorithm mismatch" status_is 64 "$dk" sign -k ed.private -d example.com -s ed -a rsa-sha256 lf.eml
printf 'To: b@example.org\n\nno from\n' > nofrom.eml
check "sign refuses a message without From (exit 65)" status_is 65 "$dk" sign -k rsa.private -d example.com -s rsa nofrom.eml
check "sign names the problem for a message without From" grep -q "From" <("$dk" sign -k rsa.private -d example.com -s rsa nofrom.eml 2>&1)
printf -- '-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n' > bad.pem
check "sign refuses a broken PEM key (exit 65) naming the file" \
  bash -c '"$0" sign -k bad.pem -d example.com -s x lf.eml 2>&1 >/dev/null | grep -q bad.pem; [ ${PIPESTATUS[0]} -eq 65 ]' "$dk"
check "sign: missing key file exits 66" status_is 66 "$dk" sign -k nope.pem -d example.com -s x lf.eml
check "sign: missing message exits 66" status_is 66 "$dk" sign -k rsa.private -d example.com -s rsa nope.eml
cp rsa.private open.private && chmod 644 open.private
check "sign warns about a key readable by others" grep -q "other users" <("$dk" sign -k open.private -d example.com -s rsa lf.eml 2>&1 >/dev/null)

check "verify: unsigned message gives none" grep -q '"result":"none","signatures":\[\]' <("$dk" verify --json --zone zone lf.eml)
check "verify: Authentication-Results with dkim=pass" grep -q '^Authentication-Results: mx.test;' <("$dk" verify --authserv-id mx.test --zone zone lf.signed)
sed 's/body line/body lime/' lf.signed > tampered.eml
check "verify: tampered body gives fail" grep -q 'dkim=fail (body hash mismatch' <("$dk" verify --zone zone tampered.eml)
check "verify: JSON lists one object per file" test "$("$dk" verify --json --zone zone lf.signed tampered.eml | wc -l)" = 2
check "verify: missing file exits 66" status_is 66 "$dk" verify --zone zone nope.eml
check "verify: a missing file does not stop the others" grep -q pass <("$dk" verify --json --zone zone nope.eml lf.signed 2>/dev/null)
check "verify: unreadable zone file exits 66" status_is 66 "$dk" verify --zone nope.zone lf.signed
printf 'bad zone line here (\n' > bad.zone
check "verify: malformed zone file exits 65" status_is 65 "$dk" verify --zone bad.zone lf.signed
check "verify --json reports alignment of a passing signature" grep -q '"aligned":"strict"' <("$dk" verify --json --zone zone lf.signed)
check "--require aligned accepts an aligned pass (exit 0)" status_is 0 "$dk" verify --zone zone --require aligned lf.signed
check "--require any on an unsigned message: 550 5.7.20, exit 1" \
  bash -c '"$0" verify --zone zone --require any lf.eml | grep -q "^550 5.7.20 No passing DKIM signature found$"; [ ${PIPESTATUS[0]} -eq 1 ]' "$dk"
check "--require DOMAIN not among the signers: 550 5.7.21" grep -q '"reply":"550 5.7.21' <("$dk" verify --json --zone zone --require example.net lf.signed)
printf 'From: a@example.net\nTo: b@example.org\nSubject: test\n\nbody\n' > other.eml
"$dk" sign -k rsa.private -d example.com -s rsa other.eml > other.signed 2>/dev/null
check "--require aligned with a pass not aligned to From: 550 5.7.22" grep -q '"reply":"550 5.7.22' <("$dk" verify --json --zone zone --require aligned other.signed)
# --- limits: each a flag; reaching one gives its word and a reason naming it ----------------------
check "--max-fields 3: permerror naming max_fields" grep -q '"result":"permerror".*max_fields' <("$dk" verify --json --zone zone --max-fields 3 lf.signed)
check "--max-signature-bytes 100: neutral naming max_signature_bytes" grep -q '"result":"neutral".*max_signature_bytes' <("$dk" verify --json --zone zone --max-signature-bytes 100 lf.signed)
check "--max-rsa-bits 1024 refuses the 2048-bit key: permerror naming max_rsa_bits" grep -q '"result":"permerror".*max_rsa_bits' <("$dk" verify --json --zone zone --max-rsa-bits 1024 lf.signed)
check "--max-key-record-bytes 100: permerror naming max_key_record_bytes" grep -q '"result":"permerror".*max_key_record_bytes' <("$dk" verify --json --zone zone --max-key-record-bytes 100 lf.signed)
check "--max-signatures 1: the second signature is not evaluated" grep -q 'max_signatures)","result":"policy"' <("$dk" verify --json --zone zone --max-signatures 1 dual.signed)

# --- explain ------------------------------------------------------------------------------------
# jq-like assertions on `dkimkit explain --json`: EXPR is a Python expression over the object `o`.
explains() {  # explains FILE EXPR [ARGS...]
  local file=$1 expr=$2
  shift 2
  "$dk" explain --json --zone zone "$@" "$file" > explain.json || return 1
  py 'import json,sys; o=json.load(open("explain.json")); s=o["signatures"]; sys.exit(not ('"$expr"'))'
}
printf 'Authentication-Results: mx.example.net; dkim=pass header.d=example.com header.s=rsa; spf=fail smtp.mailfrom=x@example.com\nFrom: Alice <a@mail.example.com>\nTo: b@example.org\nSubject: explain\n\nline one\n' > ex.eml
"$dk" sign -k rsa.private -d example.com -s rsa --now 1700000000 --expire 86400 ex.eml > ex.signed
check "explain: every tag of the field, each with a meaning" \
  explains ex.signed '[t["tag"] for t in s[0]["tags"]] == ["v","a","c","d","s","t","x","h","bh","b"] and all(len(t["meaning"]) > 10 for t in s[0]["tags"])' --now 1700000100
check "explain: t= and x= as dates, with whether the expiry has passed" \
  explains ex.signed 's[0]["timestamp"]["date"] == "2023-11-14 22:13:20 UTC" and s[0]["expiration"]["passed"] is False and "in 23 hours" in [t for t in s[0]["tags"] if t["tag"]=="x"][0]["meaning"]' --now 1700000100
check "explain: an expired signature is policy, and says the expiry passed" \
  explains ex.signed 's[0]["result"] == "policy" and s[0]["expiration"]["passed"] is True and "expiry" in s[0]["likely_cause"]' --now 1800000000
# x= is 1700086400: 100 s after it, the default skew (300 s) still passes; --max-clock-skew 0 does not.
check "--max-clock-skew: within the default tolerance an expiry 100 s past still passes" \
  explains ex.signed 's[0]["result"] == "pass"' --now 1700086500
check "--max-clock-skew 0: the same signature is policy (expired)" \
  explains ex.signed 's[0]["result"] == "policy" and s[0]["expiration"]["passed"] is True' --now 1700086500 --max-clock-skew 0
check "explain: the DNS name of the key, over-signed From, the pass and relaxed alignment" \
  explains ex.signed 's[0]["key_name"] == "rsa._domainkey.example.com" and "from" in s[0]["oversigned"] and s[0]["result"] == "pass" and s[0]["aligned"] == "relaxed" and o["from_domain"] == "mail.example.com"' --now 1700000100
check "explain: what the earlier hop said (Authentication-Results)" \
  explains ex.signed 'o["earlier_results"][0]["authserv_id"] == "mx.example.net" and [(r["method"], r["result"]) for r in o["earlier_results"][0]["results"]] == [("dkim","pass"),("spf","fail")]' --now 1700000100
sed 's/line one/line 1/' ex.signed > ex.tampered
check "explain: a changed body is a fail, blamed on the body, with what to check" \
  explains ex.tampered 's[0]["result"] == "fail" and "body changed" in s[0]["likely_cause"] and s[0]["what_to_check"]' --now 1700000100
sed 's/^Subject: explain/Subject: [list] explain/' ex.signed > ex.subject
check "explain: a changed signed header is a fail pointing at headers and check-key" \
  explains ex.subject 's[0]["result"] == "fail" and "header" in s[0]["likely_cause"] and "check-key -d example.com -s rsa" in s[0]["what_to_check"]' --now 1700000100
sed 's/s=rsa;/s=gone;/' ex.signed > ex.nokey
check "explain: a missing key names the DNS name to publish" \
  explains ex.nokey 's[0]["result"] == "permerror" and "gone._domainkey.example.com" in s[0]["likely_cause"]' --now 1700000100
"$dk" sign -k rsa.private -d example.com -s rsa --body-length ex.eml > ex.l
{ cat ex.l; printf 'appended by someone else\n'; } > ex.appended
check "explain: l= with text appended: the unsigned byte count and the risk" \
  explains ex.appended 's[0]["body_length"]["signed"] == 10 and s[0]["body_length"]["unsigned"] == 26 and "append" in s[0]["body_length"]["risk"] and s[0]["result"] == "policy"'
sed 's/^DKIM-Signature: v=1;/DKIM-Signature: v=1; foo=bar;/' ex.signed > ex.unknown
check "explain: a tag RFC 6376 does not define is shown as ignored" \
  explains ex.unknown '[t["meaning"] for t in s[0]["tags"] if t["tag"]=="foo"] == ["not defined by RFC 6376: ignored"]' --now 1700000100
sed 's/ x=1700086400;/ x=1700086400; bh=zz;/' ex.signed > ex.badbh
check "explain: a malformed field is neutral, blamed on the field" \
  explains ex.badbh 's[0]["result"] == "neutral" and "malformed" in s[0]["likely_cause"] and "tag_error" in s[0]' --now 1700000100
check "explain: an unsigned message is none, with no signature" explains lf.eml 'o["result"] == "none" and s == []'
check "explain: same overall result as verify for each message" \
  bash -c 'for f in ex.signed ex.tampered ex.nokey ex.appended lf.eml other.signed; do a=$("$0" verify --json --zone zone --now 1700000100 $f | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"result\"])"); b=$("$0" explain --json --zone zone --now 1700000100 $f | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"result\"])"); [ "$a" = "$b" ] || exit 1; done' "$dk"
check "explain: human output names the result, cause and the key's DNS name" \
  bash -c 'o=$("$0" explain --zone zone --now 1700000100 ex.tampered); grep -q "likely cause" <<<"$o" && grep -q "rsa._domainkey.example.com" <<<"$o" && grep -q "^Result: fail" <<<"$o"' "$dk"
check "explain: a missing file exits 66" status_is 66 "$dk" explain --zone zone nope.eml

# --- colour: on a terminal or when asked, never when piped, never in JSON -----------------------
esc=$'\033['
check "verify: no colour when piped" bash -c '! "$0" verify --zone zone lf.signed | grep -qF "$1"' "$dk" "$esc"
check "verify --color always paints the result word" grep -qF "dkim=${esc}32mpass" <("$dk" verify --zone zone --color always lf.signed)
check "verify --json never has colour" bash -c '! "$0" verify --json --color always --zone zone lf.signed | grep -qF "$1"' "$dk" "$esc"
check "explain: no colour when piped" bash -c '! "$0" explain --zone zone ex.tampered | grep -qF "$1"' "$dk" "$esc"
check "explain --color always paints fail red" grep -qF "${esc}31mfail" <("$dk" explain --zone zone --color always ex.tampered)
check "explain --json never has colour" bash -c '! "$0" explain --json --color always --zone zone ex.tampered | grep -qF "$1"' "$dk" "$esc"
check "NO_COLOR turns colour off under script(1)'s terminal" \
  bash -c '! NO_COLOR=1 script -qec "$0 verify --zone zone lf.signed" /dev/null | grep -qF "$1"' "$dk" "$esc"
check "a terminal gets colour by default (script(1))" \
  bash -c 'script -qec "$0 verify --zone zone lf.signed" /dev/null | grep -qF "$1"' "$dk" "$esc"

check "usage error exits 64" status_is 64 "$dk" verify --no-such-option
check "no subcommand is a usage error" status_is 64 "$dk"
check "--help exits 0" status_is 0 "$dk" sign --help
check "--help documents the exit statuses" grep -q "Exit status" <("$dk" --help)

# --- issue 11: the author domain is From parsed as an address list (RFC 5322 §3.4) ---------------
# A message signed by evil.example whose From a comment, a second mailbox or a group makes look
# like evil.example's to a last-'@' search: never aligned, so --require aligned rejects it.
"$dk" keygen -d evil.example -s evil -t ed25519 -o . >/dev/null 2>&1
{ echo '$TTL 300'; cat evil.txt; } > evil.zone
i=0
for from in 'ceo@good.example (x@evil.example)' '"CEO" <ceo@good.example> (<x@evil.example>)' \
    'ceo@good.example, x@evil.example' '<ceo@good.example>, <x@evil.example>' \
    'friends: ceo@good.example, x@evil.example;' 'ceo@good.example (@)' \
    'ceo@good.example <x@evil.example>' 'X <x@evil.example'; do
  i=$((i + 1))
  printf 'From: %s\nTo: b@example.org\nSubject: bypass\n\nbody\n' "$from" > "bypass$i.eml"
  "$dk" sign -k evil.private -d evil.example -s evil "bypass$i.eml" > "bypass$i.signed" 2>/dev/null
  check "--require aligned rejects evil.example's pass for From: $from (550 5.7.22, exit 1)" \
    bash -c '"$0" verify --zone evil.zone --require aligned "$1" | grep -q "^550 5.7.22 "; [ ${PIPESTATUS[0]} -eq 1 ]' "$dk" "bypass$i.signed"
done
verifies() {  # verifies FILE EXPR: EXPR over `o`, the verify --json object of FILE under evil.zone
  "$dk" verify --json --zone evil.zone --require aligned "$1" > verify.json
  py 'import json,sys; o=json.load(open("verify.json")); s=o["signatures"]; sys.exit(not ('"$2"'))'
}
check "verify --json: a comment is not the author (good.example, not aligned)" \
  verifies bypass1.signed 'o["from_domain"] == "good.example" and s[0]["result"] == "pass" and s[0]["aligned"] == "no"'
check "verify --json: two mailboxes give no from_domain and a from_error saying so" \
  verifies bypass3.signed '"from_domain" not in o and "2 mailboxes" in o["from_error"] and s[0]["aligned"] == "no" and o["reply"].startswith("550 5.7.22")'
check "verify --json: a From that does not parse gives a from_error naming the problem" \
  verifies bypass8.signed '"from_domain" not in o and "expected" in o["from_error"] and s[0]["aligned"] == "no"'
printf 'From: X <x@Evil.Example.>\nTo: b@example.org\nSubject: honest\n\nbody\n' > honest.eml
"$dk" sign -k evil.private -d evil.example -s evil honest.eml > honest.signed 2>/dev/null
check "--require aligned accepts evil.example's pass for its own From (exit 0)" \
  status_is 0 "$dk" verify --zone evil.zone --require aligned honest.signed
check "verify --json: the honest From is evil.example, strictly aligned" \
  verifies honest.signed 'o["from_domain"] == "evil.example" and s[0]["aligned"] == "strict" and o["reply"] == "250 2.0.0 accepted"'
check "explain --json: the same from_error and no alignment for two mailboxes" \
  bash -c '"$0" explain --json --zone evil.zone "$1" | /usr/bin/python3 -c "import json,sys; o=json.load(sys.stdin); sys.exit(not (\"from_domain\" not in o and \"2 mailboxes\" in o[\"from_error\"] and o[\"signatures\"][0][\"aligned\"] == \"no\"))"' "$dk" bypass3.signed
check "explain: the human output says why there is no From domain (a group of two)" \
  bash -c '"$0" explain --zone evil.zone "$1" | grep -q "^From domain: (none: .*2 mailboxes"' "$dk" bypass5.signed
check "explain: the human output says why there is no From domain (unparsable)" \
  bash -c '"$0" explain --zone evil.zone "$1" | grep -q "^From domain: (none: .*expected"' "$dk" bypass7.signed
check "explain: the human output gives the parsed From domain, not the comment's" \
  bash -c '"$0" explain --zone evil.zone "$1" | grep -q "^From domain: good.example$"' "$dk" bypass6.signed

# --- issue 11: hostile input in what the CLI prints, writes and reports -------------------------
# Finding 8: control bytes of messages, DNS records and file names never reach the terminal as
# they are. clean FILE [colour]: FILE has no C0 control but newline, no DEL, no C1 control (raw
# or UTF-8), no bidi override; with "colour", only after removing the CLI's own colour codes,
# which must be there.
clean() {
  py 'import re,sys
d=open(sys.argv[1],"rb").read()
if len(sys.argv) > 2:
    d, n = re.subn(rb"\x1b\[(?:31|32|33|2|0)m", b"", d)
    if n == 0: sys.exit(1)
bad = re.search(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]", d)
if not bad:
    try: d.decode("utf-8")
    except UnicodeDecodeError: bad = True
sys.exit(1 if bad else 0)' "$@"
}
ctl=$'\033[1A\033[2K\a\r\b'
{ printf 'Authentication-Results: "%smx"; dkim=pass header.d="%sx" reason="r%s"\n' "$ctl" "$ctl" "$ctl"
  printf 'Authentication-Results: mx%s; dkim=pass\n' "$ctl"
  cat lf.eml; } > ctl.eml
# i= (dkim-quoted-printable) may decode to a C1 control (CSI, U+009B) and a bidi override (U+202E).
"$dk" sign -k ed.private -d example.com -s ed --identity $'\xc2\x9b2K\xe2\x80\xaeevil@example.com' lf.eml > ctl-id.signed
"$dk" explain --zone zone ctl.eml > ctl.explain 2>&1
"$dk" explain --zone zone ctl-id.signed > ctl-id.explain 2>&1
check "explain: no raw control byte from an earlier Authentication-Results" clean ctl.explain
check "explain: the control bytes are shown escaped" grep -qF '\x1b[1A\x1b[2K' ctl.explain
check "explain: no raw C1 control or bidi override from i=" clean ctl-id.explain
check "explain: i= shown with its C1 and bidi bytes escaped" grep -qF 'identity        \xc2\x9b2K\xe2\x80\xae' ctl-id.explain
"$dk" explain --zone zone --color always ctl.eml > ctl.explain-colour 2>&1
check "explain --color always: the CLI's colours, nothing else" clean ctl.explain-colour colour
{ echo '$TTL 300'; echo '$ORIGIN example.com.'
  echo 'ctl._domainkey IN TXT "hello \027[1A\027[2Kgood\007\013\008"'
  echo 'ctl._domainkey IN TXT "v=DKIM1; k=ed25519; p=\027[2K"'; } > ctl.zone
"$dk" check-key --zone ctl.zone -d example.com -s ctl > ctl.check 2>&1
check "check-key: no raw control byte from a DNS record" clean ctl.check
check "check-key: the record's control bytes are shown escaped" grep -qF 'hello \x1b[1A\x1b[2Kgood\x07\x0d\x08' ctl.check
"$dk" check-key --zone ctl.zone -d example.com -s ctl --color always > ctl.check-colour 2>&1
check "check-key --color always: the CLI's colours, nothing else" clean ctl.check-colour colour
cp ctl.eml "ctl${ctl}name.eml"
"$dk" verify --zone zone ctl.eml "ctl${ctl}name.eml" > ctl.verify 2>&1
check "verify: no raw control byte from a file name or a message" clean ctl.verify
"$dk" sign -k rsa.private -d example.com -s rsa "nofrom${ctl}.eml" > /dev/null 2> ctl.sign
check "sign: no raw control byte in its messages (a file name)" clean ctl.sign
check "sign: the file name is shown escaped" grep -qF 'nofrom\x1b[1A' ctl.sign

# Finding 9: 8-bit bytes in a tag name (and so in the reason) or in d= never cost the batch: every
# file gets its JSON line, and the exit status is that of a normal batch.
printf 'DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; bh=AAAA; b=AAAA; t\xe9g=1\n' > bad8.eml
cat lf.eml >> bad8.eml
printf 'DKIM-Signature: v=1; a=ed25519-sha256; d=ex\xe9mple.com; s=ed; h=from; bh=AAAA; b=AAAA\n' > bad8d.eml
cat lf.eml >> bad8d.eml
{ printf 'Authentication-Results: "mx\xe9\xff"; dkim=pass header.d="\xc3x" reason="\xff"\n'; cat lf.signed; } > bad8ar.eml
for bad in bad8.eml bad8d.eml bad8ar.eml; do
  check "verify --json: $bad between two good files: three JSON lines, exit 0" \
    bash -c '"$0" verify --json --zone zone lf.signed "$1" crlf.signed > batch.json; [ $? -eq 0 ] && /usr/bin/python3 -c "import json,sys; o=[json.loads(l) for l in open(\"batch.json\", \"rb\")]; sys.exit(not ([x[\"file\"] for x in o] == [\"lf.signed\", sys.argv[1], \"crlf.signed\"] and o[0][\"result\"] == o[2][\"result\"] == \"pass\"))" "$1"' "$dk" "$bad"
  check "explain --json: $bad gives one JSON object, exit 0" \
    bash -c '"$0" explain --json --zone zone "$1" > one.json; [ $? -eq 0 ] && /usr/bin/python3 -c "import json; json.load(open(\"one.json\", \"rb\"))"' "$dk" "$bad"
done
check "verify --json: the 8-bit tag name is in the reason (U+FFFD), not lost" \
  bash -c '"$0" verify --json --zone zone bad8.eml | grep -qF "bad tag name '"'"'t\\ufffdg'"'"'"' "$dk"
{ echo '$TTL 300'; echo '$ORIGIN example.com.'; printf 'ctl8._domainkey IN TXT "v=DKIM1; k=ed25519; p=\\233\\255"\n'
  printf 'ctl8._domainkey IN TXT "not a key \\233"\n'; } > ctl8.zone
check "check-key --json: a record with 8-bit bytes gives one JSON object (exit 2: bad)" \
  bash -c '"$0" check-key --json --zone ctl8.zone -d example.com -s ctl8 > one.json; [ $? -eq 2 ] && /usr/bin/python3 -c "import json; json.load(open(\"one.json\", \"rb\"))"' "$dk"

# Finding 14: keygen --force replaces a symbolic link by a new file; it never writes through it.
mkdir -p k14 && printf 'precious\n' > victim && ln -s ../victim k14/sel.private && ln -s ../victim k14/sel.txt
check "keygen without --force refuses a symbolic link (exit 73)" status_is 73 "$dk" keygen -d example.com -s sel -t ed25519 -o k14
ln -s ../nowhere k14/gone.private
check "keygen without --force refuses a dangling symbolic link (exit 73)" status_is 73 "$dk" keygen -d example.com -s gone -t ed25519 -o k14
check "keygen did not create the dangling link's target" test ! -e nowhere
check "keygen --force over symbolic links exits 0" status_is 0 "$dk" keygen --force -d example.com -s sel -t ed25519 -o k14
check "keygen --force left the link's target untouched" test "$(cat victim)" = precious
check "keygen --force replaced the links by regular files (key mode 0600)" \
  test -f k14/sel.private -a ! -L k14/sel.private -a ! -L k14/sel.txt -a "$(stat -c %a k14/sel.private)" = 600
check "keygen --force wrote a usable key" grep -q '"result":"pass"' \
  <("$dk" sign -k k14/sel.private -d example.com -s sel lf.eml | "$dk" verify --json --zone <(echo '$TTL 300'; cat k14/sel.txt))
check "keygen leaves no temporary file behind" test "$(ls -A k14 | sort | tr '\n' ' ')" = "gone.private sel.private sel.txt "

# Issue 13 item 8: canon prints exactly the bytes one signature hashes (RFC 6376 §3.7).
# sigtag FILE TAG: the value of TAG in the first DKIM-Signature of FILE, white space removed.
sigtag() {
  py 'import re,sys; m=open(sys.argv[1],"rb").read().decode(); f=re.search(r"^DKIM-Signature:(.*?)\r?\n(?![ \t])", m, re.S | re.M).group(1); t=dict((k.strip(), re.sub(r"\s", "", v)) for k, v in (p.split("=", 1) for p in f.split(";") if "=" in p)); print(t[sys.argv[2]])' "$1" "$2"
}
openssl pkey -in rsa.private -pubout -out rsa.pub 2>/dev/null
openssl pkey -in ed.private -pubout -out ed.pub 2>/dev/null
printf 'From: a@example.com\nTo:  b@example.org \nSubject: canon\n\tfolded\n\nbody  line \t \n\n\tindented\n\n\n' > canon.eml
for c in relaxed/relaxed simple/simple relaxed/simple simple/relaxed; do
  for l in "" --body-length; do
    "$dk" sign -k rsa.private -d example.com -s rsa -c "$c" $l canon.eml > canon.signed
    check "canon --part body hashes to bh= (-c $c${l:+ $l})" \
      test "$("$dk" canon --part body canon.signed | openssl dgst -sha256 -binary | base64)" = "$(sigtag canon.signed bh)"
    "$dk" canon --part header canon.signed > canon-header.bin
    sigtag canon.signed b | base64 -d > canon-sig.bin
    check "canon --part header verifies against b= with openssl dgst (rsa-sha256, -c $c${l:+ $l})" \
      openssl dgst -sha256 -verify rsa.pub -signature canon-sig.bin canon-header.bin
  done
done
# l=: a footer added after signing is not in the body hash input.
"$dk" sign -k rsa.private -d example.com -s rsa --body-length canon.eml > canon-l.signed
{ cat canon-l.signed; printf -- '--\nA mailing list footer\n'; } > canon-footer.eml
check "canon --part body stops at l= (a footer added after signing is left out)" \
  test "$("$dk" canon --part body canon-footer.eml | openssl dgst -sha256 -binary | base64)" = "$(sigtag canon-l.signed bh)"
check "canon: the label says how much of the body l= covers" \
  grep -qE '^=== body hash input: c=relaxed, sha256, l=[0-9]+, [0-9]+ of [0-9]+ bytes$' <("$dk" canon canon-footer.eml)
# RFC 8463: Ed25519 signs the SHA-256 digest of the header hash input (PureEdDSA over 32 bytes).
"$dk" sign -k ed.private -d example.com -s ed canon.eml > canon-ed.signed
"$dk" canon --part header canon-ed.signed | openssl dgst -sha256 -binary > canon-digest.bin
sigtag canon-ed.signed b | base64 -d > canon-edsig.bin
check "canon --part header: its SHA-256 verifies against b= with openssl pkeyutl (ed25519-sha256)" \
  openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in canon-digest.bin -sigfile canon-edsig.bin
check "canon --part body writes exactly the canonical body" \
  cmp -s <("$dk" canon --part body crlf.signed) <(printf 'body\r\n')
check "canon --part header ends with the signature's own field, b= emptied, no final CRLF" \
  py 'import subprocess,sys; h=subprocess.run(["'"$dk"'","canon","--part","header","crlf.signed"],capture_output=True).stdout; sys.exit(not (h.startswith(b"from:a@example.com\r\n") and h.endswith(b" b=")))'
"$dk" sign -k rsa.private -d example.com -s rsa -c simple/simple canon.eml > canon-simple.signed
"$dk" canon --visible --part body canon-simple.signed > canon-visible.out
check "canon --visible shows CR, LF and TAB as \\r, \\n and \\t" \
  sh -c 'grep -qxF "body  line \\t \\r\\n" canon-visible.out && grep -qxF "\\tindented\\r\\n" canon-visible.out'
check "canon --visible: each \\n ends a line" \
  test "$("$dk" canon --visible --part body crlf.signed)" = 'body\r\n'
check "canon (both parts) labels the header and the body" \
  sh -c '"$1" canon crlf.signed | grep -q "^=== header hash input: DKIM-Signature 1 of 1, c=relaxed, sha256, [0-9]* bytes$" && "$1" canon crlf.signed | grep -qx "=== end"' _ "$dk"
"$dk" canon -n 5 crlf.signed >/dev/null 2>canon-n5.err
check "canon -n 5 with one signature: exit 65" test $? -eq 65
check "canon -n 5 says there is no such signature" \
  grep -qF 'dkimkit: crlf.signed: invalid argument: no DKIM-Signature number 5: the message has 1 DKIM-Signature field' canon-n5.err
check "canon on a message without a signature: exit 65" status_is 65 "$dk" canon crlf.eml
check "canon -n 0: usage error (64)" status_is 64 "$dk" canon -n 0 crlf.signed
check "canon --part other: usage error (64)" status_is 64 "$dk" canon --part headers crlf.signed
check "canon on a missing file: exit 66" status_is 66 "$dk" canon no-such-file.eml
check "canon reads standard input" cmp -s <("$dk" canon --part body < crlf.signed) <(printf 'body\r\n')

# Issue 15: verify validates the ARC chain (RFC 8617) too, sealed here by dkimpy's arc_sign.
# arc_seal_py IN OUT SRV_ID [DOMAIN SELECTOR]: dkimpy adds an ARC set, sealed with
# rsa._domainkey.example.com (rsa.private), or with DOMAIN's key SELECTOR (DOMAIN/SELECTOR.private).
arc_seal_py() {
  py 'import dkim,sys; d,s,k=(sys.argv[4],sys.argv[5],sys.argv[4]+"/"+sys.argv[5]+".private") if len(sys.argv)>5 else ("example.com","rsa","rsa.private"); m=open(sys.argv[1],"rb").read(); h=dkim.arc_sign(m, s.encode(), d.encode(), open(k,"rb").read(), sys.argv[3].encode()); open(sys.argv[2],"wb").write(b"".join(h)+m); sys.exit(not h)' "$@"
}
printf 'Authentication-Results: fwd.test; dkim=pass header.d=example.com\r\nFrom: a@example.com\r\nTo: b@example.org\r\nSubject: arc\r\n\r\nforwarded body\r\n' > arc.eml
arc_seal_py arc.eml arc1.eml fwd.test
{ printf 'Authentication-Results: list.test; arc=pass\r\n'; cat arc1.eml; } > arc1-ar.eml
arc_seal_py arc1-ar.eml arc2.eml list.test
sed 's/^forwarded body/forwarded body, changed/' arc1.eml > arc1-changed.eml
arc_of() {  # arc_of FILE EXPR: EXPR over `a`, the "arc" object of verify --json FILE
  "$dk" verify --json --zone zone "$1" > arc.json
  py 'import json,sys; a=json.load(open("arc.json"))["arc"]; sys.exit(not ('"$2"'))'
}
check "verify --json: one dkimpy ARC set gives arc pass, sets 1, oldest_pass 1, no reason" \
  arc_of arc1.eml 'a=={"result":"pass","sets":1,"oldest_pass":1,"reason":""}'
check "verify --json: two dkimpy ARC sets give arc pass, sets 2, oldest_pass 1" \
  arc_of arc2.eml 'a["result"]=="pass" and a["sets"]==2 and a["oldest_pass"]==1'
check "verify --json: a body changed after sealing gives arc fail with a reason, no oldest_pass" \
  arc_of arc1-changed.eml 'a["result"]=="fail" and a["sets"]==1 and "oldest_pass" not in a and a["reason"]!=""'
check "verify --json: an unsealed message gives arc none, sets 0" \
  arc_of lf.eml 'a=={"result":"none","sets":0,"reason":""}'
check "verify --json: a DKIM-signed message without ARC keeps its DKIM result beside arc none" \
  arc_of lf.signed 'a["result"]=="none" and json.load(open("arc.json"))["result"]=="pass"'
arc_text() { "$dk" verify --authserv-id mx.test --zone zone "$@"; }
check "verify: arc=pass on a line of its own after the Authentication-Results" \
  test "$(arc_text arc1.eml)" = "$(printf 'Authentication-Results: mx.test; dkim=none\narc=pass (1 set) header.oldest-pass=1')"
check "verify: two sets say so" grep -qx 'arc=pass (2 sets) header.oldest-pass=1' <(arc_text arc2.eml)
check "verify: arc=fail with the reason" grep -qx 'arc=fail (.\+)' <(arc_text arc1-changed.eml)
check "verify: no arc line for a message without ARC fields (the output is one field)" \
  test "$(arc_text lf.signed | grep -c '^arc=')" = 0 -a "$(arc_text lf.signed | head -1 | cut -c1-24)" = "Authentication-Results: "
check "verify: the Authentication-Results lines are the same with and without an ARC set" \
  test "$(arc_text arc1.eml | head -n -1)" = "$(arc_text arc.eml)"
check "verify: with --require the reply follows the arc line" \
  test "$(arc_text --require any arc1.eml | tail -2)" = "$(printf 'arc=pass (1 set) header.oldest-pass=1\n550 5.7.20 No passing DKIM signature found')"
check "verify --color always paints the arc word" grep -qF "arc=${esc}32mpass" <(arc_text --color always arc1.eml)
check "verify: one arc line per message with ARC fields in a batch" \
  test "$(arc_text arc1.eml lf.eml arc1-changed.eml arc2.eml | grep -c '^arc=')" = 3

# Issue 15: arc-seal validates the chain and adds a set; dkimpy's arc_verify judges it.
dkimpy_arc() {  # dkimpy_arc FILE: prints dkimpy's chain result (cv), keys from the zone file
  py 'import dkim,re,sys
recs={}
for l in open("zone"):
    m=re.match(r"(\S+)\s+IN\s+TXT\s+\((.*)\)", l)
    if m: recs[m.group(1).encode()]="".join(re.findall(r"\"([^\"]*)\"", m.group(2))).encode()
dns=lambda n, timeout=5: recs.get(n if n.endswith(b".") else n + b".")
cv, res, why = dkim.arc_verify(open(sys.argv[1],"rb").read(), dnsfunc=dns)
print(cv.decode(), why)' "$1"
}
seal() { "$dk" arc-seal -k rsa.private -d example.com -s rsa --zone zone "$@"; }
seal --authserv-id fwd.test arc.eml > sealed1.eml
check "arc-seal: exit 0, the set on top (ARC-Seal, AMS, AAR)" \
  py 'import sys; m=open("sealed1.eml").read(); sys.exit(not (m.startswith("ARC-Seal: i=1; a=rsa-sha256; cv=none;") and m.index("\nARC-Message-Signature: i=1;") < m.index("\nARC-Authentication-Results: i=1; fwd.test;") and m.endswith(open("arc.eml").read())))'
check "arc-seal: dkimpy's arc_verify says pass" grep -q '^pass' <(dkimpy_arc sealed1.eml)
check "arc-seal: dkimkit verify says arc=pass (1 set)" grep -qx 'arc=pass (1 set) header.oldest-pass=1' <(arc_text sealed1.eml)
"$dk" arc-seal -k rsa.private -d example.com -s rsa --zone zone --authserv-id fwd.test sealed1.eml > resealed.eml 2> reseal.err
check "arc-seal: a message whose newest set is ours: exit 65, nothing written" test $? -eq 65 -a ! -s resealed.eml
check "arc-seal: says the newest set comes from this authserv-id" grep -q 'newest ARC set already comes from fwd.test' reseal.err
{ printf 'Authentication-Results: mx2.test; arc=pass\r\n'; cat arc1.eml; } > arc1-mx2.eml
seal --authserv-id mx2.test arc1-mx2.eml > sealed2.eml
check "arc-seal over a dkimpy set: dkimpy says pass" grep -q '^pass' <(dkimpy_arc sealed2.eml)
check "arc-seal over a dkimpy set: dkimkit verify says 2 sets, pass" grep -qx 'arc=pass (2 sets) header.oldest-pass=1' <(arc_text sealed2.eml)
check "arc-seal over a dkimpy set: the new seal has cv=pass" grep -q '^ARC-Seal: i=2; a=rsa-sha256; cv=pass;' sealed2.eml
sed 's/^forwarded body/forwarded body, changed/' sealed1.eml > sealed1-changed.eml
check "arc-seal: a body change after sealing: dkimpy says fail" grep -q '^fail' <(dkimpy_arc sealed1-changed.eml)
check "arc-seal: a body change after sealing: dkimkit verify says arc=fail" grep -q '^arc=fail' <(arc_text sealed1-changed.eml)
seal -c simple/simple --headers from:subject --authserv-id fwd.test arc.eml > sealed-cs.eml
check "arc-seal -c and --headers: the AMS has c=simple/simple and h=from:subject" \
  py 'import re,sys; m=open("sealed-cs.eml").read(); a=re.search(r"^ARC-Message-Signature:(.*?)\r?\n(?![ \t])", m, re.S | re.M).group(1); a=re.sub(r"\s", "", a); sys.exit(not ("c=simple/simple;" in a and "h=from:subject;" in a))'
check "arc-seal -c and --headers: still passes" grep -qx 'arc=pass (1 set) header.oldest-pass=1' <(arc_text sealed-cs.eml)
check "arc-seal: no Authentication-Results of the authserv-id: exit 65" status_is 65 seal --authserv-id other.test arc.eml
check "arc-seal: a bad -c is a usage error (64)" status_is 64 seal -c odd --authserv-id fwd.test arc.eml
check "arc-seal: --authserv-id is required (64)" status_is 64 seal arc.eml
check "arc-seal: a missing file: exit 66" status_is 66 seal --authserv-id fwd.test nope.eml
"$dk" arc-seal -k rsa.private -d example.com -s rsa --resolver 127.0.0.1@9 --dns-timeout 300 \
  --authserv-id mx2.test arc1-mx2.eml > tempfail.eml 2> tempfail.err
check "arc-seal: a key of the chain not fetched for now: exit 75, nothing written" test $? -eq 75 -a ! -s tempfail.eml
check "arc-seal: says to try again later" grep -q 'try again later' tempfail.err
check "arc-seal reads standard input" grep -q '^pass' <(seal --authserv-id fwd.test < arc.eml > sealed-stdin.eml; dkimpy_arc sealed-stdin.eml)


# Issue 15: explain shows the ARC chain set by set, newest first ("ARC chain" after the DKIM part;
# "arc" in --json), sealed by dkimpy: example.com (fwd.test), then list.example.org (list.test).
explain_text() { "$dk" explain --color never --zone zone "$@"; }
arcs() {  # arcs FILE EXPR: EXPR over `a`, the "arc" object of explain --json FILE, and `s`, its sets
  "$dk" explain --json --zone zone "$1" > arc.json || return 1
  py 'import json,sys; a=json.load(open("arc.json"))["arc"]; s=a["newest_first"]; sys.exit(not ('"$2"'))'
}
line_of() { grep -n -m1 -- "$2" "$1" | cut -d: -f1; }  # line_of FILE REGEX: its first line number
not() { ! "$@"; }
"$dk" keygen -d list.example.org -s lists -o list.example.org >/dev/null 2>&1
cat list.example.org/lists.txt >> zone
{ printf 'Authentication-Results: list.test; arc=pass; spf=pass smtp.mailfrom=example.com\r\n'; cat arc1.eml; } > ex-one-ar.eml
arc_seal_py ex-one-ar.eml ex-two.eml list.test list.example.org lists
sed 's/^forwarded body/forwarded body, changed/' ex-two.eml > ex-changed.eml
{ printf 'Authentication-Results: mx3.test; arc=fail\r\n'; cat ex-changed.eml; } > ex-changed-ar.eml
arc_seal_py ex-changed-ar.eml ex-cvfail.eml mx3.test

# --- no ARC: nothing about ARC ------------------------------------------------------------------
check "no ARC fields: the text does not mention ARC" not grep -q ARC <(explain_text arc.eml)
check "no ARC fields: the JSON has no arc key" \
  py 'import json,subprocess,sys; o=json.loads(subprocess.run(["'"$dk"'","explain","--json","--zone","zone","arc.eml"],capture_output=True).stdout); sys.exit("arc" in o)'

# --- one set ------------------------------------------------------------------------------------
check "one set: dkimpy says pass" grep -q "^pass" <(dkimpy_arc arc1.eml)
explain_text arc1.eml > ex-one.out
check "one set: the chain line" grep -qx 'ARC chain: pass (1 set, oldest-pass 1)' ex-one.out
check "one set: the set, sealed by example.com" grep -qx 'ARC set i=1 of 1 (newest): sealed by example.com' ex-one.out
check "one set: cv=none is the first hop" grep -qE '^  cv=none +the first hop to seal' ex-one.out
check "one set: the seal passes, with the key's DNS name" \
  grep -qE '^  sealer +d=example.com s=rsa, key: TXT record at rsa._domainkey.example.com$' ex-one.out
check "one set: what the hop said" grep -qE '^  hop said +fwd.test: dkim=pass header.d=example.com$' ex-one.out
check "one set: after the DKIM part, before the earlier hops" \
  test "$(line_of ex-one.out '^No DKIM-Signature')" -lt "$(line_of ex-one.out '^ARC chain')" -a \
       "$(line_of ex-one.out '^ARC set')" -lt "$(line_of ex-one.out '^What earlier hops said')"

# --- two sets, newest first ---------------------------------------------------------------------
check "two sets: dkimpy says pass" grep -q "^pass" <(dkimpy_arc ex-two.eml)
explain_text ex-two.eml > ex-two.out
check "two sets: the chain line" grep -qx 'ARC chain: pass (2 sets, oldest-pass 1)' ex-two.out
check "two sets: the text lists i=2 (list.example.org) then i=1 (example.com)" \
  test "$(grep '^ARC set' ex-two.out | tr '\n' '|')" = 'ARC set i=2 of 2 (newest): sealed by list.example.org|ARC set i=1 of 2 (oldest): sealed by example.com|'
check "two sets: cv=pass says the hop found the chain valid" grep -qE '^  cv=pass +this hop found the chain it received valid$' ex-two.out
check "two sets: the newest hop's results" grep -qE '^  hop said +list.test: arc=pass; spf=pass smtp.mailfrom=example.com$' ex-two.out
check "two sets --json: instances 2, 1; sealers; everything passes" \
  arcs ex-two.eml 'a["result"]=="pass" and a["sets"]==2 and a["oldest_pass"]==1 and [x["instance"] for x in s]==[2,1] and [x["seal"]["domain"] for x in s]==["list.example.org","example.com"] and [x["seal"]["key_name"] for x in s]==["lists._domainkey.list.example.org","rsa._domainkey.example.com"] and all(x["seal"]["result"]=="pass" and x["ams"]["result"]=="pass" for x in s) and [x["cv"] for x in s]==["pass","none"]'
check "two sets --json: the AMS's d=, s= and h=; what each hop said" \
  arcs ex-two.eml 's[0]["ams"]["domain"]=="list.example.org" and s[0]["ams"]["selector"]=="lists" and "from" in s[0]["ams"]["signed_headers"] and s[0]["said"]["authserv_id"]=="list.test" and s[1]["said"]["results"][0]=={"method":"dkim","result":"pass","properties":{"header.d":"example.com"}}'

# --- the body changed after the newest hop sealed -----------------------------------------------
check "changed body: dkimpy says fail" grep -q "^fail" <(dkimpy_arc ex-changed.eml)
explain_text ex-changed.eml > ex-changed.out
check "changed body: the chain fails, with the reason" grep -qx 'ARC chain: fail (2 sets)' ex-changed.out
check "changed body: still newest first" \
  test "$(line_of ex-changed.out '^ARC set i=2 of 2')" -lt "$(line_of ex-changed.out '^ARC set i=1 of 2')"
check "changed body: the newest AMS fails on the body hash" grep -qE '^  AMS +fail \(body hash mismatch' ex-changed.out
check "changed body: the likely cause is the body" grep -qE '^  likely cause +the body changed after this hop sealed it' ex-changed.out
check "changed body --json: i=2's AMS fails, i=1's was not checked and says why" \
  arcs ex-changed.eml 'a["result"]=="fail" and a["reason"]!="" and [x["instance"] for x in s]==[2,1] and s[0]["ams"]["result"]=="fail" and "body changed" in s[0]["ams"]["likely_cause"] and s[1]["ams"]["result"]=="none" and "newest ARC-Message-Signature i=2 failed" in s[1]["ams"]["not_evaluated"] and "oldest_pass" not in a'

# --- a hop sealed a failed chain (cv=fail) ------------------------------------------------------
check "cv=fail: dkimpy sealed it with cv=fail" grep -q '^ARC-Seal: i=3; cv=fail;' ex-cvfail.eml
check "cv=fail --json: the chain fails; i=3 says cv=fail and what that means" \
  arcs ex-cvfail.eml 'a["result"]=="fail" and [x["instance"] for x in s]==[3,2,1] and s[0]["cv"]=="fail" and "stays failed" in s[0]["cv_meaning"] and s[0]["seal"]["domain"]=="example.com" and s[1]["seal"]["domain"]=="list.example.org"'
check "cv=fail: the text says a failed chain stays failed" grep -qE '^  cv=fail +this hop found the chain it received broken; a chain once failed stays' <(explain_text ex-cvfail.eml)

# --- hostile bytes: an ARC-Authentication-Results that does not parse, with an escape sequence ---
printf 'Authentication-Results: fwd.test; dkim=pass (unclosed header.d=ex\033[31mample.com\r\nFrom: a@example.com\r\nSubject: x\r\n\r\nbody\r\n' > ex-hostile.eml
"$dk" arc-seal -k rsa.private -d example.com -s rsa --zone zone --authserv-id fwd.test ex-hostile.eml > ex-hostile-sealed.eml
explain_text ex-hostile-sealed.eml > ex-hostile.out
check "unparsable AAR: the chain still passes (the seal covers it as it is)" grep -qx 'ARC chain: pass (1 set, oldest-pass 1)' ex-hostile.out
check "unparsable AAR: says it does not parse" grep -qE '^  hop said +\(ARC-Authentication-Results does not parse: ' ex-hostile.out
check "unparsable AAR: the raw value with the escape byte escaped" grep -qF 'header.d=ex\x1b[31mample.com' ex-hostile.out
check "unparsable AAR: no raw escape byte reaches the terminal" not grep -q $'\033' ex-hostile.out
check "unparsable AAR --json: error and raw, no field" \
  arcs ex-hostile-sealed.eml '"authserv_id" not in s[0]["said"] and s[0]["said"]["error"]!="" and "\\x1b[31m" in s[0]["said"]["raw"]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
