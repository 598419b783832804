#!/usr/bin/env bash
# End to end: Postfix (its own configuration directory), NSD holding the keys, and dkimkit-milter,
# all on 127.0.0.1 at free ports; everything started here is stopped by its PID on exit.
#   swaks -> :submit smtpd --milter--> dkimkit-milter (sign)
#            | content_filter -> :inbound smtpd --milter--> dkimkit-milter (verify) --DNS--> NSD
#            | relayhost -> smtp-sink (one file per message)
#   :strict smtpd --milter--> dkimkit-milter (verify, on_no_pass = reject)
# Usage: postfix_milter_e2e.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
# The rig works in /tmp/dkimkit-e2e.XXXXXX (tests/support/rig.sh), removed at exit unless a test
# failed; WORKDIR (emptied first) receives the logs and artefacts.
set -uo pipefail
# shellcheck source=../support/rig.sh
. "$(dirname "$0")/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start e2e "$3" || exit 1
work=$RIG_DIR

# The delivered message whose Subject carries TOKEN (tests/support/rig.sh).
delivered() { rig_delivered "$1"; }

# --- Keys, zone, NSD ----------------------------------------------------------------------
mkdir -p keys
"$dk" keygen -d example.com -s e2e -o keys >/dev/null 2>&1
"$dk" keygen -d example.com -s e2ed -t ed25519 -o keys >/dev/null 2>&1
"$dk" keygen -d example.org -s ext -o keys >/dev/null 2>&1
{
  rig_zone_head example.com 300
  cat keys/e2e.txt keys/e2ed.txt
} > example.com.zone
{
  rig_zone_head example.org 300
  cat keys/ext.txt
} > example.org.zone
rig_nsd_conf example.com example.com.zone example.org example.org.zone
nsd_port=$RIG_NSD_PORT
rig_nsd_start || { bad nsd; rig_summary; exit 1; }

# --- Milters -------------------------------------------------------------------------------
sign_port=$(free_port); verify_port=$(free_port); strict_port=$(free_port)
rig_milter_toml sign "$sign_port" > sign.toml
cat >> sign.toml <<CONF
[sign]
internal_networks = ["127.0.0.0/8"]
[[sign.keys]]
domain = "example.com"
selector = "e2e"
key_file = "$work/keys/e2e.private"
[[sign.keys]]
domain = "example.com"
selector = "e2ed"
key_file = "$work/keys/e2ed.private"
CONF
verify_conf() {  # verify_conf PORT ON_NO_PASS
  rig_milter_toml verify "$1"
  cat <<CONF
[dns]
resolvers = ["127.0.0.1@$nsd_port"]
timeout_ms = 1500
[policy]
on_no_pass = "$2"
on_dns_error = "tempfail"
CONF
}
verify_conf "$verify_port" accept > verify.toml
verify_conf "$strict_port" reject > strict.toml
# Mail whose From is example.com must carry a passing signature of example.com itself.
printf '[[policy.require]]\nfrom_domain = "example.com"\n' >> strict.toml
for c in sign verify strict; do
  "$milter" --check-config "$c.toml" >/dev/null 2>"$c.check" || bad "check-config $c" "$(cat "$c.check")"
  rig_spawn "$c.log" "$milter" --config "$c.toml" --foreground
  eval "${c}_pid=$RIG_PID"
done
for p in $sign_port $verify_port $strict_port; do wait_port "$p" || bad "milter on port $p did not start"; done

# --- Postfix ---------------------------------------------------------------------------------
submit_port=$(free_port); inbound_port=$(free_port); strict_smtp=$(free_port)
rig_sink 100
rig_postfix_conf
rig_postfix_smtpd "$submit_port" "smtpd_milters=inet:127.0.0.1:$sign_port" "content_filter=smtp:[127.0.0.1]:$inbound_port"
rig_postfix_smtpd "$inbound_port" "smtpd_milters=inet:127.0.0.1:$verify_port"
rig_postfix_smtpd "$strict_smtp" "smtpd_milters=inet:127.0.0.1:$strict_port"
rig_postfix_start
case $? in
  1) bad "postfix check"; rig_summary; exit 1 ;;
  2) bad "postfix start"; rig_summary; exit 1 ;;
esac
wait_port "$submit_port" && wait_port "$inbound_port" || bad "postfix did not listen"

send() {  # send PORT FILE_OR_- [swaks args...]: the SMTP dialogue on stdout
  local port=$1 data=$2
  shift 2
  if [ "$data" = - ]; then
    swaks --server "127.0.0.1:$port" --from alice@example.com --to bob@example.org "$@" 2>&1
  else
    swaks --server "127.0.0.1:$port" --from alice@example.com --to bob@example.org --data "$data" "$@" 2>&1
  fi
}
msg() {  # msg TOKEN [EXTRA HEADER LINE]: a small CRLF message
  printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: e2e %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n%bMIME-Version: 1.0\r\n\r\nHello Bob,\r\nthis is %s.\r\n' "$1" "$1" "${2:-}" "$1"
}
ar_of() { grep -m1 -A4 '^Authentication-Results: mx.example.net' | tr -d '\r\n\t'; }

# --- Outbound: signed by the milter, verified downstream and by dkimpy / Mail::DKIM ---------
msg outbound1 > out.eml
out=$(send "$submit_port" out.eml)
echo "$out" | grep -q '^<-  250 2.0.0 Ok: queued' || bad "outbound accepted" "$out"
delivered outbound1 > outbound1.eml
if grep -q '^DKIM-Signature: v=1; a=rsa-sha256' outbound1.eml && grep -q '^DKIM-Signature: v=1; a=ed25519-sha256' outbound1.eml; then
  ok "outbound mail arrives signed (rsa-sha256 and ed25519-sha256)"
else
  bad "outbound mail signed" "$(head -5 outbound1.eml)"
fi
ar=$(ar_of < outbound1.eml)
echo "$ar" | grep -q 'dkim=pass.*header.s=e2e.*dkim=pass.*header.s=e2ed' &&
  ok "the verifying milter downstream says dkim=pass for both" || bad "downstream verification" "$ar"
# The signatures cover what the signer saw: drop the Authentication-Results added after it.
awk '/^Authentication-Results: mx.example.net/ { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' outbound1.eml > outbound1.clean.eml
/usr/bin/python3 - outbound1.clean.eml keys/e2e.txt keys/e2ed.txt <<'PY' && ok "dkimpy verifies both signatures as pass" || bad "dkimpy verification"
import re, sys, dkim
recs = {}
for f in sys.argv[2:]:
    t = open(f).read()
    m = re.match(r'(\S+) IN TXT \((.*)\)', t)
    recs[m.group(1).encode()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
msg = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
d = dkim.DKIM(msg)
res = [d.verify(idx=i, dnsfunc=lambda n, timeout=5: recs.get(n if n.endswith(b".") else n + b".")) for i in range(2)]
sys.exit(0 if all(res) else 1)
PY
perl - outbound1.clean.eml keys/e2e.txt <<'PL' && ok "Mail::DKIM verifies the rsa-sha256 signature as pass" || bad "Mail::DKIM verification"
use strict; use warnings;
use Mail::DKIM::Verifier;
my ($file, $txt) = @ARGV;
open my $t, '<', $txt or die; my $line = do { local $/; <$t> };
my ($name) = $line =~ /^(\S+)\.\s/; my $rec = join '', $line =~ /"([^"]*)"/g;
{ package FakeRR; sub new { bless { d => $_[1] }, $_[0] } sub type { 'TXT' } sub txtdata { $_[0]{d} } sub char_str_list { ($_[0]{d}) } }
no warnings 'redefine';
*Mail::DKIM::DNS::query = sub { my ($n, $type) = @_; return lc($n) eq lc($name) ? (FakeRR->new($rec)) : do { $@ = 'NXDOMAIN'; () } };
my $v = Mail::DKIM::Verifier->new;
open my $m, '<', $file or die;
while (<$m>) { s/\r?\n\z/\r\n/; $v->PRINT($_) }
$v->CLOSE;
my @ok = grep { $_->result eq 'pass' && $_->algorithm eq 'rsa-sha256' } $v->signatures;
exit(@ok ? 0 : 1);
PL

# --- Inbound verification --------------------------------------------------------------------
msg inbound-pass > in.eml
"$dk" sign -k keys/e2e.private -d example.com -s e2e in.eml > in.signed.eml 2>/dev/null
send "$inbound_port" in.signed.eml >/dev/null
ar=$(delivered inbound-pass | ar_of)
echo "$ar" | grep -q '^Authentication-Results: mx.example.net;dkim=pass' && ok "inbound signed mail: dkim=pass" || bad "inbound pass" "$ar"
msg inbound-tampered > t.eml
"$dk" sign -k keys/e2e.private -d example.com -s e2e t.eml 2>/dev/null | sed 's/this is inbound-tampered/this is inbound-tampered, changed/' > t.signed.eml
send "$inbound_port" t.signed.eml >/dev/null
ar=$(delivered inbound-tampered | ar_of)
echo "$ar" | grep -q 'dkim=fail (body hash mismatch' && ok "a tampered copy: dkim=fail" || bad "inbound fail" "$ar"
msg inbound-unsigned > u.eml
send "$inbound_port" u.eml >/dev/null
ar=$(delivered inbound-unsigned | ar_of)
echo "$ar" | grep -q 'mx.example.net; *dkim=none' && ok "unsigned mail: dkim=none" || bad "inbound none" "$ar"
msg inbound-forged 'Authentication-Results: mx.example.net; dkim=pass header.d=forged.example\r\nAuthentication-Results: other.example; dkim=pass header.d=kept.example\r\n' > f.eml
send "$inbound_port" f.eml >/dev/null
delivered inbound-forged > forged.eml
if ! grep -q 'header.d=forged' forged.eml && grep -q 'kept.example' forged.eml &&
   [ "$(grep -c '^Authentication-Results: mx.example.net' forged.eml)" -eq 1 ]; then
  ok "a forged Authentication-Results with our authserv-id is removed, others kept"
else
  bad "forged Authentication-Results" "$(grep -A1 Authentication-Results forged.eml)"
fi

# Issue 11 finding 1: forgeries in every form (quoted id, trailing dot, case, a rest that does
# not parse, a quoted local-part) are removed, inbound and outbound (finding 6). Checked with a
# second, independent parser (Mail::AuthenticationResults): after our milter, every field that
# parses as our authserv-id is our own, and there is exactly one.
forgeries='Authentication-Results: "mx.example.net"; dkim=pass header.d=good.example; x="y"\r\n'
forgeries+='Authentication-Results: "mx.example.net"; dkim=pass header.d=good.example; @\r\n'
forgeries+='Authentication-Results: "mx.example.net"; dkim=pass header.d=bank.example header.i="ceo x"@bank.example\r\n'
forgeries+='Authentication-Results: mx.example.net.; dkim=pass header.d=good.example\r\n'
forgeries+='Authentication-Results: (c) MX.Example.NET ; dkim=pass header.d=good.example\r\n'
forgeries+='Authentication-Results: other.example; dkim=pass header.d=kept.example\r\n'
ours_only() {  # ours_only FILE RESULT: the A-R check with Mail::AuthenticationResults
  perl - "$1" "$2" <<'PL'
use strict; use warnings;
use Mail::AuthenticationResults::Parser;
my ($file, $want) = @ARGV;
open my $f, '<', $file or die; my $text = do { local $/; <$f> };
my ($head) = split /\r?\n\r?\n/, $text, 2;
$head =~ s/\r?\n([ \t])/$1/g;  # unfold
my (@ours, $kept);
for my $line (split /\r?\n/, $head) {
  next unless $line =~ /^Authentication-Results:\s*(.*)$/i;
  my $p = eval { Mail::AuthenticationResults::Parser->new()->parse($1) } or next;
  (my $id = lc $p->value->value) =~ s/\.$//;
  $kept = 1 if $id eq 'other.example';
  next unless $id eq 'mx.example.net';
  push @ours, join ',', map { $_->key . '=' . $_->value } @{ $p->children };
}
print "ours: @ours\n";
exit(@ours == 1 && $ours[0] =~ /^dkim=\Q$want\E(,|$)/ && $kept ? 0 : 1);
PL
}
msg inbound-forgeries "$forgeries" > ff.eml
send "$inbound_port" ff.eml >/dev/null
delivered inbound-forgeries > forgeries.eml
ours_only forgeries.eml none >forgeries.check 2>&1 &&
  ok "inbound: forged A-R in five forms removed (Mail::AuthenticationResults sees only ours)" ||
  bad "inbound forged forms" "$(cat forgeries.check; grep -i '^Authentication-Results' forgeries.eml)"
msg outbound-forgeries "$forgeries" > off.eml
send "$submit_port" off.eml >/dev/null
delivered outbound-forgeries > outforgeries.eml
ours_only outforgeries.eml pass >outforgeries.check 2>&1 &&
  ok "outbound: the signer removes forged A-R too; downstream only ours (dkim=pass)" ||
  bad "outbound forged forms" "$(cat outforgeries.check; grep -i '^Authentication-Results' outforgeries.eml)"

# Issue 11 finding 4: thousands of forged fields are not deleted one by one (Postfix looked each
# up from the top of its queue file: 16 000 took 13 s and crashed cleanup); over the cap of 20
# the message is refused at once with 550 5.7.1, and at the cap the 20 are removed.
many_forged() {  # many_forged N TOKEN
  local i
  printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: e2e %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n' "$2" "$2"
  for ((i = 0; i < $1; i++)); do printf 'Authentication-Results: mx.example.net; dkim=pass header.d=f%d.example\r\n' "$i"; done
  printf 'MIME-Version: 1.0\r\n\r\nHello.\r\n'
}
many_forged 20 forged-at-cap > cap.eml
send "$inbound_port" cap.eml >/dev/null
delivered forged-at-cap > cap.out.eml
[ "$(grep -ci '^Authentication-Results: mx.example.net' cap.out.eml)" -eq 1 ] && ! grep -q 'header.d=f1' cap.out.eml &&
  ok "20 forged fields (the cap): all removed" || bad "20 forged fields" "$(grep -ci '^Authentication-Results' cap.out.eml)"
many_forged 16000 forged-16000 > many.eml
t0=$(date +%s%N)
out=$(send "$inbound_port" many.eml)
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q '550 5.7.1 Too many Authentication-Results fields claiming this server' <<<"$out" &&
  ok "16 000 forged fields: 550 5.7.1 at once (${ms} ms), message not edited" ||
  bad "16 000 forged fields" "$(echo "$out" | grep '^<-' | tail -3)"
grep -q 'forged_ar=16000 (more than 20, max_forged_auth_results) action=reject' verify.log &&
  ok "the count of forged fields is logged" || bad "forged count logged" "$(tail -3 verify.log)"

# --- Policy --------------------------------------------------------------------------------
msg strict-unsigned > s.eml
out=$(send "$strict_smtp" s.eml)
echo "$out" | grep -q '550 5.7.20 No passing DKIM signature found' &&
  ok "reject policy: unsigned mail gets 550 5.7.20" || bad "reject policy" "$(echo "$out" | grep '^<-' | tail -3)"

msg strict-foreign > sf.eml
"$dk" sign -k keys/ext.private -d example.org -s ext sf.eml > sf.signed.eml 2>/dev/null
out=$(send "$strict_smtp" sf.signed.eml)
echo "$out" | grep -q '550 5.7.22 No valid author-matched DKIM signature found' &&
  ok "From example.com with only an example.org signature: 550 5.7.22" ||
  bad "author-matched requirement" "$(echo "$out" | grep '^<-' | tail -3)"
msg strict-own > so.eml
"$dk" sign -k keys/e2e.private -d example.com -s e2e so.eml > so.signed.eml 2>/dev/null
out=$(send "$strict_smtp" so.signed.eml)
echo "$out" | grep -q '^<-  250 2.0.0 Ok: queued' && ok "From example.com signed by example.com: accepted" ||
  bad "requirement met" "$(echo "$out" | grep '^<-' | tail -3)"

# --- Reload ----------------------------------------------------------------------------------
kill -HUP "$sign_pid"
sleep 0.5
msg after-reload > r.eml
send "$submit_port" r.eml >/dev/null
delivered after-reload | grep -q '^DKIM-Signature:' && grep -q 'reloaded' sign.log &&
  ok "SIGHUP reloads the signer; it goes on signing" || bad "reload" "$(tail -3 sign.log)"
cp sign.toml sign.good && echo 'mode = "nonsense"' >> sign.toml
kill -HUP "$sign_pid"
sleep 0.5
msg after-bad-reload > r2.eml
send "$submit_port" r2.eml >/dev/null
delivered after-bad-reload | grep -q '^DKIM-Signature:' && grep -q 'reload refused' sign.log &&
  ok "an invalid file on SIGHUP is refused; the old configuration goes on" || bad "bad reload" "$(tail -3 sign.log)"
cp sign.good sign.toml

# --- DNS down --------------------------------------------------------------------------------
rig_nsd_stop
msg dns-down > d.eml
"$dk" sign -k keys/ext.private -d example.org -s ext d.eml > d.signed.eml 2>/dev/null
out=$(send "$inbound_port" d.signed.eml)
echo "$out" | grep -q '451 4.7.5' && ok "DNS server stopped: 451 4.7.5" || bad "DNS down" "$(echo "$out" | grep '^<-' | tail -3)"

# --- SIGTERM with a message in flight --------------------------------------------------------
# A client sends half a message, the signer gets SIGTERM, the client sends the rest. Postfix
# opens the content-phase milter connection at the end of DATA, when the signer no longer
# accepts: the message must be deferred (4xx, so the client keeps it), never relayed unsigned;
# and the signer exits once the connections it has are done.
python3 - "$submit_port" "$work" <<'PY' &
import os, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def cmd(line):
    if line is not None:
        s.sendall(line.encode() + b"\r\n")
    return f.readline().decode()
cmd(None)
cmd("HELO client.example")
cmd("MAIL FROM:<alice@example.com>")
cmd("RCPT TO:<bob@example.org>")
cmd("DATA")
s.sendall(b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: e2e in-flight\r\n\r\n")
s.sendall(b"first half of the body\r\n" * 200)
open(work + "/half-sent", "w").close()
while not os.path.exists(work + "/go"):
    time.sleep(0.05)
s.sendall(b"second half of the body\r\n" * 200 + b".\r\n")
open(work + "/in-flight.reply", "w").write(f.readline().decode())
cmd("QUIT")
PY
client=$!
for _ in $(seq 100); do [ -e half-sent ] && break; sleep 0.1; done
kill -TERM "$sign_pid"
sleep 1
touch go
wait "$client"
reply=$(cat in-flight.reply 2>/dev/null)
sleep 1
if echo "$reply" | grep -q '^4'; then
  ! grep -lq 'Subject: e2e in-flight' sink/* 2>/dev/null &&
    ok "SIGTERM during DATA: the message is deferred ($(echo "$reply" | cut -c1-9)), not relayed unsigned" ||
    bad "in-flight message relayed after a 4xx"
elif echo "$reply" | grep -q '^250'; then
  delivered in-flight | grep -q '^DKIM-Signature: v=1; a=rsa-sha256' &&
    ok "SIGTERM during DATA: the message was still signed and delivered" ||
    bad "in-flight message relayed unsigned"
else
  bad "in-flight message at SIGTERM" "$reply"
fi
for _ in $(seq 100); do kill -0 "$sign_pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$sign_pid" 2>/dev/null && grep -q 'stopped' sign.log &&
  ok "after SIGTERM the signer exits once its connections are done" || bad "signer did not exit" "$(tail -3 sign.log)"

# --- Logs and shutdown -----------------------------------------------------------------------
grep -Eq '^dkimkit-milter: [0-9A-F]+: dir=sign d=example.com s=e2e .*result=signed ms=[0-9]+' sign.log &&
  grep -Eq '^dkimkit-milter: [0-9A-F]+: dir=verify result=pass .*ms=[0-9]+' verify.log &&
  ok "one log line per message with queue id, direction, result, domain, selector and ms" ||
  bad "log lines" "$(tail -2 sign.log verify.log)"
rig_stop_checked
rig_summary
