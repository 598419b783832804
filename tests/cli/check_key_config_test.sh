#!/usr/bin/env bash
# dkimkit check-key --config / --opendkim-config: every key of a dkimkit-milter configuration
# checked against a zone file; per-key verdicts, text and JSON, and the exit status.
# Usage: check_key_config_test.sh PATH_TO_dkimkit WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"  # ok, bad, rig_summary (no servers here)
dk=$(readlink -f "$1")
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}
# run NAME ARGS...: dkimkit check-key ARGS, output in NAME.out (stdout), NAME.err, NAME.rc.
run() {
  local name=$1
  shift
  "$dk" check-key "$@" > "$name.out" 2> "$name.err"
  echo $? > "$name.rc"
}
rc_is() { [ "$(cat "$1.rc")" = "$2" ]; }
export -f rc_is
# key NAME.json SELECTOR EXPR: EXPR (Python) holds for the key of SELECTOR in the JSON object.
key() {
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
k = [k for k in o["keys"] + o["not_checked"] if k["selector"] == sys.argv[2]]
assert len(k) == 1, k
k = k[0]
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
}
# block FILE SELECTOR: the text block of the key of SELECTOR (its heading to the next heading).
# blk FILE SELECTOR: writes that block to FILE.SELECTOR and prints the file's name.
block() { awk -v s="selector $2 " 'index($0, s) && !/^ / {on = 1; print; next} !/^ / {on = 0} on' "$1"; }
blk() { block "$1" "$2" > "$1.$2" && echo "$1.$2"; }

mkdir keys
for s in cur other new old soon t1 t2 od; do
  "$dk" keygen -d example.com -s "$s" -t ed25519 -o keys > /dev/null 2>&1 || exit 1
done
# Published: cur, old (expired, still published), soon, t1, od; at "wrong" the key of cur, while
# the configuration signs with another key there.
{ echo '$TTL 300'; cat keys/cur.txt keys/old.txt keys/soon.txt keys/t1.txt keys/od.txt
  sed 's/^cur\._domainkey/wrong._domainkey/' keys/cur.txt; } > zone

cat > milter.toml <<EOF
authserv_id = "mx.test"
[[sign.keys]]
domain = "example.com"
selector = "cur"
key_file = "keys/cur.private"
[[sign.keys]]
domain = "example.com"
selector = "wrong"
key_file = "keys/other.private"
[[sign.keys]]
domain = "example.com"
selector = "new"
key_file = "keys/new.private"
not_before = 2100-01-01T00:00:00Z
[[sign.keys]]
domain = "example.com"
selector = "old"
key_file = "keys/old.private"
not_after = 2001-09-09T01:46:40Z
[[sign.keys]]
domain = "example.com"
selector = "soon"
key_file = "keys/soon.private"
not_after = 2100-01-01T00:00:00Z
EOF

# --- [[sign.keys]], text ------------------------------------------------------------------------
run keys --config milter.toml --zone zone --color never
check "keys: exit 2 (one key is bad)" rc_is keys 2
check "keys: published and matching" \
  grep -qx '  cur._domainkey.example.com: published and matching' "$(blk keys.out cur)"
check "keys: the heading names domain, selector and key file" \
  grep -qx 'example.com, selector cur (key file keys/cur.private)' keys.out
check "keys: cur is good" grep -qx '  verdict: good' "$(blk keys.out cur)"
check "keys: another key published at the selector: not matching, bad" \
  sh -c 'b=$1; grep -qx "  wrong._domainkey.example.com: published but not matching" "$b" &&
    grep -q "^  error   the private key keys/other.private does NOT match the published key" "$b" &&
    grep -qx "  verdict: bad" "$b"' _ "$(blk keys.out wrong)"
check "keys: not_before in the future, no record: due to start, not yet published (warning)" \
  sh -c 'b=$1; grep -q "^example.com, selector new (key file keys/new.private; not_before 2100-01-01T00:00:00Z)" "$b" &&
    grep -q "^  warning due to start at 2100-01-01T00:00:00Z (not_before) and not yet published" "$b" &&
    ! grep -q "^  error" "$b" && grep -qx "  verdict: good, with warnings" "$b"' _ "$(blk keys.out new)"
check "keys: not_after in the past, still published: expired, the record can be retired" \
  sh -c 'b=$1; grep -q "^  info    expired at 2001-09-09T01:46:40Z (not_after), the record can be retired" "$b" &&
    grep -qx "  verdict: good" "$b"' _ "$(blk keys.out old)"
check "keys: not_after in the future: expires at" \
  grep -q '^  info    expires at 2100-01-01T00:00:00Z (not_after)' "$(blk keys.out soon)"
check "keys: the tally and the overall verdict" \
  sh -c 'tail -2 "$1" | head -1 | grep -qx "5 keys checked: 3 good, 1 good with warnings, 1 bad" &&
    tail -1 "$1" | grep -qx "verdict: bad"' _ keys.out

# --- [[sign.keys]], JSON ------------------------------------------------------------------------
run keys.json --config milter.toml --zone zone --json
check "keys --json: exit 2" rc_is keys.json 2
check "keys --json: one line" test "$(wc -l < keys.json.out)" = 1
cp keys.json.out k.json
check "keys --json: config, overall verdict" \
  /usr/bin/python3 -c 'import json,sys; o=json.load(open("k.json")); sys.exit(not (o["config"] == "milter.toml" and o["verdict"] == "bad" and len(o["keys"]) == 5 and o["not_checked"] == []))'
check "keys --json: cur matching, good" key k.json cur \
  'k["publication"] == "matching" and k["verdict"] == "good" and k["key_file"] == "keys/cur.private" and k["name"] == "cur._domainkey.example.com"'
check "keys --json: wrong not_matching, bad" key k.json wrong \
  'k["publication"] == "not_matching" and k["verdict"] == "bad"'
check "keys --json: new upcoming, not_published, with warnings" key k.json new \
  'k["publication"] == "not_published" and k["schedule"] == "upcoming" and k["verdict"] == "good, with warnings" and k["not_before"] == "2100-01-01T00:00:00Z"'
check "keys --json: old expired, still published, good" key k.json old \
  'k["publication"] == "matching" and k["schedule"] == "expired" and k["verdict"] == "good" and k["not_after"] == "2001-09-09T01:46:40Z" and any("can be retired" in f["message"] for f in k["findings"])'
check "keys --json: soon current, expires at" key k.json soon \
  'k["schedule"] == "current" and any(f["message"] == "expires at 2100-01-01T00:00:00Z (not_after)" for f in k["findings"])'

# --- --now moves the clock: at 2100-01-01 "new" signs, unpublished (bad), and "soon" expired ------
run later --config milter.toml --zone zone --json --now 4102444800
cp later.out later.json
check "--now: a started key with no record is bad" key later.json new \
  'k["schedule"] == "current" and k["verdict"] == "bad"'
check "--now: not_after reached: expired" key later.json soon 'k["schedule"] == "expired"'

# --- [[arc.seal_keys]]: checked like the signing keys, marked as ARC seal keys ------------------
for s in arc1 arc2; do
  "$dk" keygen -d example.org -s "$s" -t ed25519 -o keys > /dev/null 2>&1 || exit 1
done
{ cat zone keys/arc1.txt; } > arc.zone
{ sed -n '1,5p' milter.toml
  printf '[arc]\nverify = true\nseal = true\n'
  for s in arc1 arc2; do
    printf '[[arc.seal_keys]]\ndomain = "example.org"\nselector = "%s"\nkey_file = "keys/%s.private"\n' "$s" "$s"
  done; } > arc.toml
run arc --config arc.toml --zone arc.zone --json
cp arc.out arc.json
check "arc: exit 2 (the staged seal key is not published)" rc_is arc 2
check "arc: the signing key is checked, use sign" key arc.json cur \
  'k["use"] == "sign" and k["verdict"] == "good"'
check "arc: the sealing key is checked, use arc_seal" key arc.json arc1 \
  'k["use"] == "arc_seal" and k["publication"] == "matching" and k["verdict"] == "good" and k["key_file"] == "keys/arc1.private"'
check "arc: a staged sealing key not published is bad" key arc.json arc2 \
  'k["use"] == "arc_seal" and k["publication"] == "not_published" and k["verdict"] == "bad"'
run arc.text --config arc.toml --zone arc.zone --color never
check "arc: text names the ARC seal key" \
  grep -qx 'example.org, selector arc1 (ARC seal key, key file keys/arc1.private)' arc.text.out

# --- exit statuses of whole configurations ------------------------------------------------------
sed -n '1,5p' milter.toml > good.toml
run good --config good.toml --zone zone
check "a configuration whose keys are all good: exit 0" rc_is good 0
{ sed -n '1p' milter.toml
  printf '[[sign.keys]]\ndomain = "example.com"\nselector = "new"\nkey_file = "keys/new.private"\nnot_before = 2100-01-01T00:00:00Z\n'
  printf '[[sign.keys]]\ndomain = "example.com"\nselector = "cur"\nkey_file = "keys/cur.private"\n'; } > warn.toml
run warn --config warn.toml --zone zone
check "a key due to start and not yet published, the others good: exit 1" rc_is warn 1
run temp --config good.toml --resolver 127.0.0.1@9 --dns-timeout 200
check "a record that cannot be fetched: exit 75, temperror" \
  bash -c 'rc_is temp 75 && grep -qx "verdict: temperror" temp.out'

# --- key table and signing table (TOML) ---------------------------------------------------------
inline=$(grep -v -- ----- keys/t2.private | tr -d '\n')
cat > KeyTable <<EOF
t1 example.com:t1:./keys/t1.private
t2 example.com:t2:$inline
pct %:pct:/etc/dkimkeys/%.private
EOF
printf '*@example.com t1\n*@example.com t2\n* pct\n' > SigningTable
printf 'authserv_id = "mx.test"\n[sign]\nkey_table = "KeyTable"\nsigning_table = "refile:SigningTable"\nmultiple_signatures = true\n' > tables.toml
run tables --config tables.toml --zone zone
check "tables: exit 2 (t2 is not published)" rc_is tables 2
check "tables: a key file row, published and matching" \
  sh -c 'b=$1; grep -q "^example.com, selector t1 (key table row t1 (line 1), key file ./keys/t1.private)" "$b" &&
    grep -qx "  t1._domainkey.example.com: published and matching" "$b"' _ "$(blk tables.out t1)"
check "tables: an inline key row, not published" \
  sh -c 'b=$1; grep -qx "  t2._domainkey.example.com: not published" "$b" && grep -qx "  verdict: bad" "$b"' _ "$(blk tables.out t2)"
secret=${inline:20:40}  # a piece of the private key, past the common DER prefix
check "tables: the inline private key is never printed" \
  sh -c '! grep -qF "$1" tables.out tables.err' _ "$secret"
check "tables: a row with % is listed as not checkable, with the reason" \
  grep -qx '  not checked: its DOMAIN and KEY hold "%", the sender'"'"'s domain: which key record to check depends on the message' "$(blk tables.out pct)"
check "tables: the tally counts the row not checked" \
  grep -qx '2 keys checked: 1 good, 1 bad; 1 not checked' tables.out
run tables.json --config tables.toml --zone zone --json
cp tables.json.out t.json
check "tables --json: rows with their name and line" key t.json t1 \
  'k["key_table"] == {"name": "t1", "line": 1} and k["publication"] == "matching" and k["verdict"] == "good"'
check "tables --json: the inline row has no key_file" key t.json t2 \
  '"key_file" not in k and k["publication"] == "not_published"'
check "tables --json: not_checked holds the % row and its reason" key t.json pct \
  '"reason" in k and "verdict" not in k and k["key_table"]["line"] == 3'
check "tables --json: the inline private key is never printed" \
  sh -c '! grep -qF "$1" t.json' _ "$secret"

# --- opendkim.conf ------------------------------------------------------------------------------
printf 'od example.com:od:%s/keys/od.private\n' "$PWD" > od.KeyTable
printf '*@example.com od\n' > od.SigningTable
printf 'Socket inet:8891@127.0.0.1\nKeyTable %s/od.KeyTable\nSigningTable refile:%s/od.SigningTable\n' \
  "$PWD" "$PWD" > opendkim.conf
run od --opendkim-config opendkim.conf --zone zone
check "opendkim.conf KeyTable/SigningTable: the row is published and matching, exit 0" \
  bash -c 'rc_is od 0 && grep -qx "  od._domainkey.example.com: published and matching" od.out'
run od.json --opendkim-config opendkim.conf --zone zone --json
cp od.json.out od.json
check "opendkim.conf --json: the row, good" key od.json od \
  'k["key_table"]["name"] == "od" and k["verdict"] == "good"'
printf 'Socket inet:8891@127.0.0.1\nDomain example.com\nSelector wrong\nKeyFile keys/od.private\n' > od2.conf
run od2 --opendkim-config od2.conf --zone zone
check "opendkim.conf Domain/Selector/KeyFile: another key published: exit 2" \
  bash -c 'rc_is od2 2 && grep -qx "  wrong._domainkey.example.com: published but not matching" od2.out'

# --- errors -------------------------------------------------------------------------------------
run none --config nope.toml --zone zone
check "a configuration that cannot be read: exit 66, naming it" \
  bash -c 'rc_is none 66 && grep -q "nope.toml" none.err'
cp keys/cur.private open.private && chmod 0644 open.private
sed 's#keys/cur.private#open.private#' good.toml > open.toml
run open --config open.toml --zone zone
check "an unsafe key file: exit 65, an error naming the file" \
  bash -c 'rc_is open 65 && grep -q "open.private: the private key may be read or written by others" open.err'
run both --config good.toml -d example.com -s cur --zone zone
check "--config with -d: usage error (64)" rc_is both 64
run two --config good.toml --opendkim-config opendkim.conf --zone zone
check "--config with --opendkim-config: usage error (64)" rc_is two 64
run neither --zone zone
check "neither -d/-s nor --config: usage error (64)" rc_is neither 64

rig_summary
