#!/usr/bin/env bash
# Key lookups in real DNS: dkimkit (libunbound) against NSD on 127.0.0.1, directly or through
# tests/dns/dns_relay.py (which delays, drops or counts queries). Everything started here runs on
# loopback and is stopped by its PID on exit.
# Usage: dns_test.sh PATH_TO_dkimkit PATH_TO_dns_probe WORKDIR
# The rig works in /tmp/dkimkit-dns.XXXXXX (tests/support/rig.sh), removed at exit unless a test
# failed; WORKDIR (emptied first) receives the logs and artefacts.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/rig.sh
. "$here/../support/rig.sh"
dk=$(readlink -f "$1")
probe=$(readlink -f "$2")
relay_py=$here/dns_relay.py
rig_start dns "$3" || exit 1
work=$RIG_DIR
logdir=$RIG_LOGDIR

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
lt() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }
result_of() {  # the message's overall result from dkimkit verify --json output
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["result"])'
}

# --- Keys and the zone -------------------------------------------------------------------
mkdir -p keys msgs
"$dk" keygen -d example.com -s rsa1 -o keys >/dev/null 2>&1            # split over 2 strings
for i in $(seq 1 200); do "$dk" keygen -d example.com -s "s$i" -t ed25519 -o keys >/dev/null 2>&1; done
"$dk" keygen -d example.com -s short -t ed25519 -o keys >/dev/null 2>&1
"$dk" keygen -d example.com -s k1024 -b 1024 -o keys >/dev/null 2>&1
"$dk" keygen -d example.com -s testing -t ed25519 -o keys >/dev/null 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out keys/k512.pem 2>/dev/null
{
  rig_zone_head example.com 3600
  cat keys/rsa1.txt
  for i in $(seq 1 200); do cat "keys/s$i.txt"; done
  # An answer that expires after 2 seconds.
  sed 's/^\(short\._domainkey\.example\.com\.\) IN TXT/\1 2 IN TXT/' keys/short.txt
  echo 'notdkim._domainkey.example.com. IN TXT "v=spf1 -all"'
  # For check-key: a 1024-bit key, a 512-bit key, a testing key and a malformed record.
  cat keys/k1024.txt
  echo "k512._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p=$(openssl pkey -in keys/k512.pem -pubout -outform DER 2>/dev/null | base64 -w0)\""
  sed 's/v=DKIM1; k=ed25519; /v=DKIM1; k=ed25519; t=y; /' keys/testing.txt
  echo 'broken._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=!!not-base64!!"'
} > example.com.zone

# DNSSEC: example.net is signed (secure), example.org is signed with signatures that expired
# in 2020 (bogus); the trust anchors are their DS records. example.com stays unsigned (insecure).
: > trust-anchors
for z in example.net example.org; do
  mkdir -p "keys/$z"
  "$dk" keygen -d "$z" -s sec -t ed25519 -o "keys/$z" >/dev/null 2>&1
  {
    rig_zone_head "$z" 3600
    cat "keys/$z/sec.txt"
  } > "$z.zone"
  k=$(cd "keys/$z" && ldns-keygen -a ED25519 -k "$z") || { echo "FAIL ldns-keygen"; exit 1; }
  cat "keys/$z/$k.ds" >> trust-anchors
  if [ "$z" = example.org ]; then validity=(-i 20190101000000 -e 20200101000000); else validity=(); fi
  ldns-signzone "${validity[@]}" -f "$z.zone.signed" "$z.zone" "keys/$z/$k" ||
    { echo "FAIL ldns-signzone $z"; exit 1; }
done

printf 'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: dns test\r\n\r\nHello over DNS.\r\n' > plain.eml
"$dk" sign -k keys/rsa1.private -d example.com -s rsa1 plain.eml > msgs/rsa1.eml 2>/dev/null
"$dk" sign -k keys/s1.private -d example.com -s missing plain.eml > msgs/missing.eml 2>/dev/null
for z in example.net example.org; do
  "$dk" sign -k "keys/$z/sec.private" -d "$z" -s sec plain.eml > "msgs/$z.eml" 2>/dev/null
done
for i in $(seq 1 200); do
  "$dk" sign -k "keys/s$i.private" -d example.com -s "s$i" plain.eml > "msgs/s$i.eml" 2>/dev/null
done

# --- NSD on loopback -----------------------------------------------------------------------
rig_nsd_conf example.com example.com.zone example.net example.net.zone.signed \
  example.org example.org.zone.signed
nsd_port=$RIG_NSD_PORT
nsd-checkzone example.com example.com.zone >/dev/null || { bad "zone file"; rig_summary; exit 1; }
rig_nsd_start || { bad "nsd did not start"; cat nsd.log; rig_summary; exit 1; }
direct="127.0.0.1@$nsd_port"

start_relay() {  # start_relay NAME ARGS...: sets $port to the relay's port
  local name=$1
  shift
  port=$(free_port)
  rig_spawn "$work/$name.out" python3 "$relay_py" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$nsd_port" \
    --log "$work/$name.log" --pidfile "$work/$name.pid" "$@"
  rig_wait_file "$work/$name.pid"
}
queries_in() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

# Wait until NSD answers.
for _ in $(seq 50); do
  "$probe" --resolver "$direct" --timeout 500 rsa1._domainkey.example.com | grep -q found && break
  sleep 0.2
done

# --- Results through real DNS ------------------------------------------------------------
r=$("$dk" verify --resolver "$direct" --json msgs/rsa1.eml | result_of)
[ "$r" = pass ] && ok "pass with a key that exists only in the DNS server" || bad "pass through DNS" "$r"
strings=$(grep -o '"[^"]*"' keys/rsa1.txt | wc -l)
[ "$strings" -ge 2 ] && [ "$r" = pass ] && ok "a key split over $strings strings is joined" || bad "split key" "$strings strings, $r"
r=$("$dk" verify --resolver "$direct" --json msgs/missing.eml)
echo "$r" | grep -q '"result":"permerror"' && echo "$r" | grep -q 'no key for signature' &&
  ok "a missing key gives permerror (no key for signature)" || bad "missing key" "$r"
out=$("$probe" --resolver "$direct" notdkim._domainkey.example.com)
echo "$out" | grep -q "found" && ok "non-DKIM TXT records are returned to the verifier, which ignores them" || bad "non-DKIM TXT" "$out"

# --- check-key against the server ----------------------------------------------------------
ck() {  # ck SELECTOR [ARGS...]: "EXIT VERDICT" of dkimkit check-key --json
  local sel=$1 out rc
  shift
  out=$("$dk" check-key -d example.com -s "$sel" --resolver "$direct" --json "$@")
  rc=$?
  echo "$rc $(echo "$out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["verdict"])')"
}
r=$(ck rsa1 -k keys/rsa1.private); [ "$r" = "0 good" ] && ok "check-key: a good key matching its private key (exit 0)" || bad "check-key good" "$r"
r=$(ck missing); [ "$r" = "2 bad" ] && ok "check-key: a missing key is bad (exit 2)" || bad "check-key missing" "$r"
r=$(ck broken); [ "$r" = "2 bad" ] && ok "check-key: a malformed record is bad (exit 2)" || bad "check-key broken" "$r"
r=$(ck k512); [ "$r" = "2 bad" ] && ok "check-key: a 512-bit key is refused (exit 2)" || bad "check-key 512" "$r"
r=$(ck k1024); [ "$r" = "1 good, with warnings" ] && ok "check-key: a 1024-bit key gets the advice of 2048 (exit 1)" || bad "check-key 1024" "$r"
human=$("$dk" check-key -d example.com -s testing --resolver "$direct")
r=$(ck testing); [ "$r" = "1 good, with warnings" ] && echo "$human" | grep -q 'warning *t=y' &&
  ok "check-key: t=y is warned about (exit 1)" || bad "check-key t=y" "$r"
human=$("$dk" check-key -d example.com -s rsa1 --resolver "$direct" -k keys/s1.private)
r=$(ck rsa1 -k keys/s1.private); [ "$r" = "2 bad" ] && echo "$human" | grep -q 'does NOT match' &&
  ok "check-key: a private key that does not match is bad (exit 2)" || bad "check-key mismatch" "$r"

# --- explain against the server ------------------------------------------------------------
ex() {  # ex MESSAGE [ARGS...]: "result|key_name|likely_cause" of its first signature
  "$dk" explain --resolver "$direct" --json "$@" |
    python3 -c 'import json,sys; s=json.loads(sys.stdin.readline())["signatures"][0]; print(s["result"], s["key_name"], s.get("likely_cause", "-"), sep="|")'
}
r=$(ex msgs/rsa1.eml); [ "$r" = "pass|rsa1._domainkey.example.com|-" ] &&
  ok "explain: a good key through DNS passes, naming the key's DNS name" || bad "explain good" "$r"
r=$(ex msgs/missing.eml); echo "$r" | grep -q '^permerror|missing._domainkey.example.com|no key record is published at missing._domainkey.example.com' &&
  ok "explain: a missing key names the name to publish" || bad "explain missing" "$r"
sed 's/s=rsa1;/s=broken;/' msgs/rsa1.eml > msgs/broken.eml
r=$(ex msgs/broken.eml); echo "$r" | grep -q '^permerror|broken._domainkey.example.com|the key record at broken._domainkey.example.com cannot be used' &&
  ok "explain: a malformed record points at check-key" || bad "explain broken" "$r"

# --- DNSSEC -------------------------------------------------------------------------------
dnssec_of() {  # dnssec_of MESSAGE: "result dnssec reason" of its first signature
  "$dk" verify --resolver "$direct" --trust-anchor trust-anchors --json "$1" |
    python3 -c 'import json,sys; s=json.loads(sys.stdin.readline())["signatures"][0]; print(s["result"], s.get("dnssec","-"), s["reason"])'
}
r=$(dnssec_of msgs/example.net.eml)
[ "${r%% *}" = pass ] && echo "$r" | grep -q '^pass secure' && ok "signed zone: pass, dnssec secure" || bad "DNSSEC secure" "$r"
r=$(dnssec_of msgs/rsa1.eml)
echo "$r" | grep -q '^pass insecure' && ok "unsigned zone: pass, dnssec insecure" || bad "DNSSEC insecure" "$r"
r=$(dnssec_of msgs/example.org.eml)
echo "$r" | grep -q '^temperror bogus .*DNSSEC validation failed' &&
  ok "expired signatures: the bogus answer is not used (temperror, bogus)" || bad "DNSSEC bogus" "$r"
ar=$("$dk" verify --resolver "$direct" --trust-anchor trust-anchors msgs/example.net.eml)
echo "$ar" | grep -q 'dkim=pass (256-bit ed25519 key; DNSSEC secure)' &&
  ok "Authentication-Results carries the DNSSEC state as a comment" || bad "A-R DNSSEC comment" "$ar"

# --- The cache: TTLs and counts --------------------------------------------------------------
start_relay ttl
out=$("$probe" --resolver "127.0.0.1@$port" short._domainkey.example.com s1._domainkey.example.com \
  nokey._domainkey.example.com sleep:3 short._domainkey.example.com s1._domainkey.example.com \
  nokey._domainkey.example.com)
short_q=$(grep -c ' short._domainkey.example.com$' ttl.log)
s1_q=$(grep -c ' s1._domainkey.example.com$' ttl.log)
[ "$short_q" -eq 2 ] && ok "an answer past its TTL (2 s) is fetched again" || bad "TTL expiry" "$short_q queries; $out"
nokey_q=$(grep -c ' nokey._domainkey.example.com$' ttl.log)
[ "$s1_q" -eq 1 ] && echo "$out" | grep -q "cache_hits=2" &&
  ok "an answer within its TTL comes from the cache" || bad "TTL cache" "$s1_q queries; $out"
[ "$nokey_q" -eq 1 ] && echo "$out" | grep -q "^nokey._domainkey.example.com nxdomain" &&
  ok "a negative answer (NXDOMAIN) is cached too" || bad "negative cache" "$nokey_q queries; $out"

start_relay count
mkdir -p batch
for i in $(seq 1 50); do for k in $(seq 1 20); do cp "msgs/s$i.eml" "batch/m$i-$k.eml"; done; done
start=$(now)
"$dk" verify --resolver "127.0.0.1@$port" --json --stats batch/*.eml > count.out 2> count.err
end=$(now)
n=$(grep -c '"result":"pass"' count.out)
# One query per selector from dkimkit (its own count, --stats) and 50 names at the server: on a
# loaded machine libunbound may retransmit a query whose answer is slow, which the relay logs twice.
q=$(awk '{print $2}' count.log | sort -u | wc -l)
[ "$n" -eq 1000 ] && [ "$q" -le 50 ] && grep -q ' 50 queries, ' count.err &&
  ok "1000 messages under 50 selectors: $n pass, 50 queries, $q names reached the server ($(elapsed "$start" "$end") s)" ||
  bad "1000 messages under 50 selectors" "$n pass, $q names; $(cat count.err)"

# --- Overlapping lookups -------------------------------------------------------------------
start_relay slow --delay-ms 100
start=$(now)
"$dk" verify --resolver "127.0.0.1@$port" --json msgs/s{1..200}.eml > slow.out 2>&1
end=$(now)
n=$(grep -c '"result":"pass"' slow.out)
t=$(elapsed "$start" "$end")
[ "$n" -eq 200 ] && lt "$t" 2 &&
  ok "200 messages, 200 selectors, 100 ms per query: $t s (one after another: 20 s)" ||
  bad "overlapping lookups" "$n pass in $t s"
echo "overlap_seconds=$t" > overlap.txt

# --- Failures ------------------------------------------------------------------------------
start_relay hole --blackhole
start=$(now)
r=$("$dk" verify --resolver "127.0.0.1@$port" --dns-timeout 2000 --json msgs/rsa1.eml)
end=$(now)
t=$(elapsed "$start" "$end")
echo "$r" | grep -q '"result":"temperror"' && echo "$r" | grep -q 'timeout' && lt "$t" 3 &&
  ok "a server that never answers: temperror in $t s (deadline 2 s)" || bad "black hole" "$t s: $r"
# The per-message budget ends the wait before the per-query deadline, for all signatures at once.
# two.eml: two signatures under two selectors, one budget for both lookups
"$dk" sign -k keys/s2.private -d example.com -s s2 msgs/s1.eml > two.eml 2>/dev/null
start=$(now)
r=$("$dk" verify --resolver "127.0.0.1@$port" --dns-timeout 5000 --dns-message-timeout 1000 --json two.eml)
end=$(now)
t=$(elapsed "$start" "$end")
[ "$(echo "$r" | grep -o '"result":"temperror"' | wc -l)" = 3 ] && echo "$r" | grep -q 'dns_message_timeout' && lt "$t" 2 &&
  ok "black hole with --dns-message-timeout 1000: both signatures temperror in $t s, naming the limit" || bad "message budget" "$t s: $r"

# Recovery after an outage: one resolver (dns_probe, deadline 1 s) asks, every 0.5 s, for a name
# it never asked before (s1, s2, ...) and, from 3 s on, for one name again and again (rsa1, never
# answered in this process); NSD is down for 25 s in the middle. Once NSD is back, both must be
# found within 3 s. (libunbound on its own backs off from a server that times out, then takes it
# as down: after 25 s down, it failed for 8 s or more after the server was back; after 60 s, for
# 26-40 s.)
"$probe" --resolver "$direct" --timeout 1000 --for 33 --interval 0.5 's%d._domainkey.example.com' \
  after:3:rsa1._domainkey.example.com > outage.out 2>&1 &
probe_pid=$!
sleep 2
down=$(now)
rig_nsd_stop
sleep 25
rig_nsd_start || { cat nsd.log; }
up=$(now)
wait "$probe_pid"
probe_rc=$?
recovery=$(python3 - "$down" "$up" outage.out <<'PY'
import sys
down, up = float(sys.argv[1]), float(sys.argv[2])
rows = [l.split() for l in open(sys.argv[3]) if l[:1].isdigit()]
out, good = [], True
for kind in ("fresh", "again"):
    mine = [r for r in rows if r[2].startswith("rsa1.") == (kind == "again")]
    failed_while_down = any(down + 1 < float(r[0]) < up - 1 and r[3] != "found" for r in mine)
    first = next((r for r in mine if float(r[1]) > up and r[3] == "found"), None)
    later_bad = [r for r in mine if first and float(r[0]) > float(first[1]) and r[3] != "found"]
    if not failed_while_down:
        out.append("%s name: no failed lookup while NSD was down" % kind)
        good = False
    elif first is None:
        out.append("%s name: never found after the restart" % kind)
        good = False
    else:
        t = float(first[1]) - up
        out.append("%s name: found after %.2f s%s" % (kind, t, ", then %d failures" % len(later_bad) if later_bad else ""))
        good = good and t <= 3 and not later_bad
print(("OK " if good else "BAD ") + ", ".join(out))
PY
)
[ "$probe_rc" -eq 0 ] && [ "${recovery%% *}" = OK ] &&
  ok "DNS server down for 25 s, then back: lookups succeed within 3 s (${recovery#OK })" ||
  bad "recovery after an outage" "dns_probe exit $probe_rc, ${recovery#BAD }; see $logdir/outage.out"

rig_nsd_stop
start=$(now)
r=$("$dk" verify --resolver "$direct" --json msgs/rsa1.eml)
end=$(now)
t=$(elapsed "$start" "$end")
echo "$r" | grep -q '"result":"temperror"' && lt "$t" 6 &&
  ok "DNS server stopped: temperror in $t s (default deadline 5 s)" || bad "server stopped" "$t s: $r"

rig_summary
