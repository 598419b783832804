#!/usr/bin/env bash
# End to end, ARC (RFC 8617) through Postfix: NSD holds the keys, dkimkit-milter's [arc] on
# three smtpd listeners, all on 127.0.0.1 at free ports; everything started here is stopped by PID.
#   :trusting smtpd --> milter (verify, on_no_pass = reject, trusted_sealers = lists.example, seal)
#   :strict   smtpd --> milter (verify, on_no_pass = reject, trusted_sealers = other.example)
#   :submit   smtpd --> milter (sign example.com, seal)
#   each relays to smtp-sink (one file per message)
# The list mail is made honestly: signed by example.org (dkimkit sign), verified by the list
# (dkimkit verify writes its Authentication-Results), given a footer, sealed by lists.example
# (dkimkit arc-seal).
# Usage: postfix_arc_e2e.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start arc-e2e "$3" || exit 1
work=$RIG_DIR

# The delivered message whose Subject carries TOKEN (tests/support/rig.sh).
delivered() { rig_delivered "$1"; }
# Our Authentication-Results field, unfolded.
ar_of() { awk '/^Authentication-Results: mx.example.net/ { on = 1; printf "%s", $0; next }
               on && /^[ \t]/ { printf "%s", $0; next } { on = 0 }' | tr -d '\r'; }
crlf() { sed 's/\r*$/\r/'; }

# --- Keys, zones, NSD ------------------------------------------------------------------------
mkdir -p keys
"$dk" keygen -d example.org -s orig -o keys >/dev/null 2>&1
"$dk" keygen -d lists.example -s arc -o keys >/dev/null 2>&1
"$dk" keygen -d example.com -s e2e -o keys >/dev/null 2>&1
"$dk" keygen -d example.com -s seal -o keys >/dev/null 2>&1
{ rig_zone_head example.org 300; cat keys/orig.txt; } > example.org.zone
{ rig_zone_head lists.example 300; cat keys/arc.txt; } > lists.example.zone
{ rig_zone_head example.com 300; cat keys/e2e.txt keys/seal.txt; } > example.com.zone
rig_nsd_conf example.org example.org.zone lists.example lists.example.zone example.com example.com.zone
nsd_port=$RIG_NSD_PORT
rig_nsd_start || { bad nsd; rig_summary; exit 1; }
dns=(--resolver "127.0.0.1@$nsd_port")

# --- Milters -----------------------------------------------------------------------------------
trusting_port=$(free_port); strict_port=$(free_port); sign_port=$(free_port)
common() {  # common MODE PORT
  rig_milter_toml "$1" "$2"
  printf '[dns]\nresolvers = ["127.0.0.1@%s"]\ntimeout_ms = 1500\n' "$nsd_port"
}
seal_keys="[[arc.seal_keys]]
domain = \"example.com\"
selector = \"seal\"
key_file = \"$work/keys/seal.private\""
{
  common verify "$trusting_port"
  printf '[policy]\non_no_pass = "reject"\n[arc]\nverify = true\ntrusted_sealers = ["Lists.Example"]\nseal = true\n%s\n' "$seal_keys"
} > trusting.toml
{
  common verify "$strict_port"
  printf '[policy]\non_no_pass = "reject"\n[arc]\nverify = true\ntrusted_sealers = ["other.example", "sub.lists.example"]\n'
} > strict.toml
{
  common sign "$sign_port"
  printf '[sign]\ninternal_networks = ["127.0.0.0/8"]\n[[sign.keys]]\ndomain = "example.com"\nselector = "e2e"\nkey_file = "%s/keys/e2e.private"\n' "$work"
  printf '[arc]\nverify = true\nseal = true\n%s\n' "$seal_keys"
} > sign.toml
for c in trusting strict sign; do
  "$milter" --check-config "$c.toml" >/dev/null 2>"$c.check" || bad "check-config $c" "$(cat "$c.check")"
  rig_spawn "$c.log" "$milter" --config "$c.toml" --foreground
done
for p in $trusting_port $strict_port $sign_port; do wait_port "$p" || bad "milter on port $p did not start"; done

# --- Postfix -----------------------------------------------------------------------------------
trusting_smtp=$(free_port); strict_smtp=$(free_port); submit_smtp=$(free_port)
rig_sink 100
rig_postfix_conf
rig_postfix_smtpd "$trusting_smtp" "smtpd_milters=inet:127.0.0.1:$trusting_port"
rig_postfix_smtpd "$strict_smtp" "smtpd_milters=inet:127.0.0.1:$strict_port"
rig_postfix_smtpd "$submit_smtp" "smtpd_milters=inet:127.0.0.1:$sign_port"
rig_postfix_start
case $? in
  1) bad "postfix check"; rig_summary; exit 1 ;;
  2) bad "postfix start"; rig_summary; exit 1 ;;
esac
wait_port "$trusting_smtp" && wait_port "$strict_smtp" && wait_port "$submit_smtp" || bad "postfix did not listen"

send() {  # send PORT FILE FROM: the SMTP dialogue on stdout
  swaks --server "127.0.0.1:$1" --from "$3" --to bob@example.net --data "$2" 2>&1
}
msg() {  # msg FROM_DOMAIN TOKEN [EXTRA HEADER LINES]: a small CRLF message
  printf 'From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\nSubject: arc %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n%bMIME-Version: 1.0\r\n\r\nHello Bob,\r\nthis is %s.\r\n' "$1" "$2" "$2" "$1" "${3:-}" "$2"
}
# ARC validation by dkimpy (Debian python3-dkim) of FILE with the zone files' records: prints cv.
dkimpy_arc() {
  /usr/bin/python3 - "$1" keys/*.txt <<'PY'
import re, sys, dkim
recs = {}
for f in sys.argv[2:]:
    t = open(f).read()
    m = re.match(r'(\S+) IN TXT \((.*)\)', t, re.S)
    recs[m.group(1).encode()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
msg = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
cv, results, why = dkim.arc_verify(msg, dnsfunc=lambda n, timeout=5: recs.get(n if n.endswith(b".") else n + b"."))
print(cv.decode(), len(results), why)
PY
}

# --- The list message: signed by example.org, verified by the list, footer, sealed -------------
msg example.org list-post > post.eml
"$dk" sign -k keys/orig.private -d example.org -s orig post.eml > post.signed.eml 2>/dev/null
"$dk" verify --color never --authserv-id mx.lists.example "${dns[@]}" post.signed.eml > list.ar 2>/dev/null
grep -q 'dkim=pass .*header.d=example.org' list.ar || bad "the list's verification" "$(cat list.ar)"
listed() {  # listed TOKEN: the list's copy with Subject TOKEN, re-signed and sealed
  sed "s/^Subject: arc list-post/Subject: arc $1/" post.eml > "$1.eml"
  "$dk" sign -k keys/orig.private -d example.org -s orig "$1.eml" > "$1.signed.eml" 2>/dev/null
  { crlf < list.ar; cat "$1.signed.eml"; printf -- '-- \r\nThe list: https://lists.example/\r\n'; } > "$1.footer.eml"
  "$dk" arc-seal -k keys/arc.private -d lists.example -s arc --authserv-id mx.lists.example \
    "${dns[@]}" "$1.footer.eml" > "$1.sealed.eml" 2>"$1.seal.err" || bad "dkimkit arc-seal" "$(cat "$1.seal.err")"
}
listed trusted-list
"$dk" verify --json "${dns[@]}" trusted-list.sealed.eml > sealed.json 2>/dev/null
/usr/bin/python3 -c 'import json,sys; o=json.load(open("sealed.json")); sys.exit(not (o["result"] == "fail" and o["arc"]["result"] == "pass"))' &&
  ok "the list's copy: DKIM broken by the footer, ARC chain of lists.example passes" ||
  bad "the list's copy" "$(cat sealed.json)"

# (a) a trusted sealer: accepted under on_no_pass = "reject", the override recorded; then sealed
out=$(send "$trusting_smtp" trusted-list.sealed.eml list@lists.example)
echo "$out" | grep -q '^<-  250 2.0.0 Ok: queued' &&
  ok "trusted sealer: accepted by a milter with on_no_pass = reject" ||
  bad "trusted sealer accepted" "$(echo "$out" | grep '^<-' | tail -3)"
delivered trusted-list > trusted.out.eml
ar=$(ar_of < trusted.out.eml)
if echo "$ar" | grep -q 'dkim=fail (body hash mismatch' &&
   echo "$ar" | grep -Eq 'arc=pass header.oldest-pass=1 smtp.remote-ip=127.0.0.1 policy.arc-override=lists.example$'; then
  ok "delivered: dkim=fail; arc=pass header.oldest-pass=1 smtp.remote-ip=127.0.0.1 policy.arc-override=lists.example"
else
  bad "trusted sealer's Authentication-Results" "$ar"
fi
grep -Eq 'dir=verify result=fail .* arc=pass arc_override=lists.example arc_seal=i=2 d=example.com s=seal cv=pass' trusting.log &&
  ok "logged: arc=pass arc_override=lists.example arc_seal=i=2" || bad "trusting log" "$(tail -2 trusting.log)"
# The verified message sealed here (set 2 over lists.example's set 1): dkimpy and dkimkit agree.
res=$(dkimpy_arc trusted.out.eml 2>&1)
[[ "$res" == "pass 2 "* ]] && ok "dkimpy arc_verify: the set this milter added on inbound mail passes ($res)" ||
  bad "dkimpy on the inbound seal" "$res"
"$dk" verify --json "${dns[@]}" trusted.out.eml > trusted.json 2>/dev/null
/usr/bin/python3 -c 'import json,sys; a=json.load(open("trusted.json"))["arc"]; sys.exit(not (a["result"] == "pass" and a["sets"] == 2))' &&
  ok "dkimkit verify --json: arc pass, 2 sets" || bad "dkimkit on the inbound seal" "$(cat trusted.json)"

# (b) the same list mail where lists.example is not trusted: 550
listed list-untrusted
out=$(send "$strict_smtp" list-untrusted.sealed.eml list@lists.example)
echo "$out" | grep -q '550 5.7.20 No passing DKIM signature found' &&
  ok "untrusted sealer (only other.example and sub.lists.example trusted): 550 5.7.20" ||
  bad "untrusted sealer rejected" "$(echo "$out" | grep '^<-' | tail -3)"
grep -Eq 'dir=verify result=fail .* arc=pass action=reject' strict.log &&
  ! grep -q arc_override strict.log && ok "logged: arc=pass, no override, action=reject" ||
  bad "strict log" "$(tail -2 strict.log)"

# A seal that breaks in transit: the chain fails, no override, rejected.
listed broken-list
sed 's/^this is list-post\./this is list-post, changed./' broken-list.sealed.eml > broken.eml
out=$(send "$trusting_smtp" broken.eml list@lists.example)
echo "$out" | grep -q '550 5.7.20' && grep -Eq 'arc=fail action=reject' trusting.log &&
  ok "a chain changed after the trusted seal: arc=fail, 550 5.7.20" ||
  bad "broken chain" "$(echo "$out" | grep '^<-' | tail -2; tail -2 trusting.log)"

# (c) outbound: an internal client re-sends what it received here (our Authentication-Results
# on it): signed by example.com, sealed by example.com with those results.
msg example.com outbound-list 'Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=example.org header.s=orig;\r\n\tarc=none\r\n' > outbound.eml
out=$(send "$submit_smtp" outbound.eml alice@example.com)
echo "$out" | grep -q '^<-  250 2.0.0 Ok: queued' || bad "outbound accepted" "$(echo "$out" | grep '^<-' | tail -3)"
delivered outbound-list > outbound.out.eml
if grep -A3 '^ARC-Seal: i=1;' outbound.out.eml | tr -d '\r\n\t' | grep -q 'cv=none; d=example.com; s=seal' &&
   grep -q '^DKIM-Signature: .*d=example.com' outbound.out.eml &&
   grep -q '^ARC-Authentication-Results: i=1; mx.example.net; dkim=pass header.d=example.org' outbound.out.eml &&
   ! grep -q '^Authentication-Results: mx.example.net' outbound.out.eml; then
  ok "outbound: signed and sealed (i=1, cv=none), our results moved into the set"
else
  bad "outbound seal" "$(grep -E '^(ARC|DKIM|Authentication)' outbound.out.eml)"
fi
res=$(dkimpy_arc outbound.out.eml 2>&1)
[[ "$res" == "pass 1 "* ]] && ok "dkimpy arc_verify: the outbound seal passes ($res)" || bad "dkimpy on the outbound seal" "$res"
"$dk" verify --json "${dns[@]}" outbound.out.eml > outbound.json 2>/dev/null
/usr/bin/python3 -c 'import json,sys; o=json.load(open("outbound.json")); sys.exit(not (o["result"] == "pass" and o["arc"]["result"] == "pass" and o["arc"]["sets"] == 1))' &&
  ok "dkimkit verify --json: dkim pass, arc pass (1 set)" || bad "dkimkit on the outbound seal" "$(cat outbound.json)"
# Without our results on it, outbound mail is signed, not sealed.
msg example.com outbound-plain > plain.eml
send "$submit_smtp" plain.eml alice@example.com >/dev/null
delivered outbound-plain > plain.out.eml
grep -q '^DKIM-Signature:' plain.out.eml && ! grep -q '^ARC-' plain.out.eml &&
  ok "outbound mail without our results: signed, not sealed" || bad "plain outbound" "$(head -3 plain.out.eml)"

rig_stop_checked
rig_summary
