#!/usr/bin/env bash
# dkimkit-milter answers only at connect and at the end of the message (issue 16): it negotiates no
# reply (SMFIP_NR_*) for MAIL, header fields, end of header and body, and leaves out HELO, RCPT,
# DATA and unknown commands; a message settled before its end gets its reply there.
#   - signing: continue at connect, nothing more before BODYEOB; then DKIM-Signature is inserted,
#     then continue
#   - an external client in sign mode (not ours to sign): accept at the end of the message,
#     nothing changed, nothing before but connect's continue
#   - a skip_hosts client: accept at connect, so that its messages never reach the milter
#   - an MTA that offers no "no reply" steps: libmilter answers each step with continue, and the
#     message is signed all the same
#   - verify mode, too many forged Authentication-Results (settled at the end of the header):
#     550 5.7.1 at the end of the message, nothing before
# Usage: milter_noreply_test.sh PATH_TO_dkimkit PATH_TO_dkimkit-milter WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/rig.sh
. "$here/../support/rig.sh"
dk=$(readlink -f "$1")
milter=$(readlink -f "$2")
rig_start milter-noreply "$3" || exit 1
state=$RIG_DIR

"$dk" keygen -d example.com -s sel -t ed25519 -o keys >/dev/null 2>&1 || { bad "keygen"; exit 1; }
rig_milter_toml sign "unix:$state/sign.sock" > sign.toml
cat >> sign.toml <<EOF2
skip_hosts = ["192.0.2.9"]
[sign]
internal_networks = ["127.0.0.0/8"]
[[sign.keys]]
domain = "example.com"
selector = "sel"
key_file = "$state/keys/sel.private"
EOF2
# Verify mode: the resolver is never asked (the message is refused at the end of the header).
rig_milter_toml verify "unix:$state/verify.sock" > verify.toml
printf '[dns]\nresolvers = ["127.0.0.1@9"]\n' >> verify.toml
rig_spawn sign.log "$milter" --config sign.toml --foreground
rig_spawn verify.log "$milter" --config verify.toml --foreground
for s in sign verify; do
  for _ in $(seq 100); do [ -S "$state/$s.sock" ] && break; sleep 0.1; done
  [ -S "$state/$s.sock" ] || { bad "$s milter starts" "$(cat "$s.log")"; rig_summary; exit 1; }
done

# session SOCKET CLIENT_IP OFFER FORGED: one message through the milter; prints the negotiated
# protocol flags (hex), the replies before BODYEOB and those after it, e.g.
# "flags=0x1ff3ea early=- end=i,c".
session() {
  /usr/bin/python3 - "$@" <<PY
import sys
sys.path.insert(0, "$here/../support")
import milter_client as mc
path, ip, offer, forged = sys.argv[1], sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4])
c = mc.connection("unix:" + path, timeout=5)
flags = c.negotiate(offer)
hdrs = [("From", " Alice <alice@example.com>"), ("To", " bob@example.org"), ("Subject", " hi")]
hdrs += [("Authentication-Results", " mx.example.net; dkim=pass header.d=f%d.example" % i) for i in range(forged)]
r = c.message(ip, ["<bob@example.org>"], hdrs, b"Hello.\\r\\n", check_stray=True)
c.close()
print("flags=%#x early=%s end=%s" % (flags, ",".join(r.early) or "-", ",".join(r.end) or "-"))
PY
}

nr=$((0x4000 | 0x80 | 0x40000 | 0x80000))
conn=$((0x1000))  # connect replies (skip_hosts accepted there)
skipped=$((0x2 | 0x8 | 0x100 | 0x200))
check_flags() {  # check_flags NAME LINE: the no-reply steps and the skipped ones negotiated
  local f
  f=$(sed -n 's/^flags=\(0x[0-9a-f]*\).*/\1/p' <<<"$2")
  [ -n "$f" ] && [ $((f & nr)) -eq $nr ] && [ $((f & conn)) -eq 0 ] &&
    [ $((f & skipped)) -eq $skipped ] &&
    ok "$1: no reply to MAIL, header, end of header, body (connect replies); no HELO, RCPT, DATA, unknown" ||
    bad "$1: flags" "$2"
}

out=$(session "$state/sign.sock" 127.0.0.1 1fffff 0)
check_flags "signing" "$out"
[[ "$out" == *"early=c end=i(DKIM-Signature),c" ]] && ok "signing: no reply between connect and the end; DKIM-Signature inserted, then continue" ||
  bad "signing replies" "$out"

out=$(session "$state/sign.sock" 192.0.2.7 1fffff 0)
[[ "$out" == *"early=c end=a" ]] && ok "external client in sign mode: accepted at the end of the message, unchanged" ||
  bad "external client" "$out"
grep -q 'QID1: dir=none (not ours to sign: example.com, external client)' sign.log &&
  ok "external client: logged as before" || bad "external client log" "$(tail -3 sign.log)"

out=$(session "$state/sign.sock" 192.0.2.9 1fffff 0)
[[ "$out" == *"early=a end=-" ]] && ok "skip_hosts client: accepted at connect, its messages never sent" ||
  bad "skip_hosts client" "$out"

# An MTA without the no-reply steps (protocol flags of the steps to leave out only).
out=$(session "$state/sign.sock" 127.0.0.1 37f 0)
[[ "$out" == *"early=c,c,c,c,c,c,c end=i(DKIM-Signature),c" ]] &&
  ok "an MTA without no-reply steps: continue to each step, then signed" || bad "MTA without NR" "$out"

out=$(session "$state/verify.sock" 192.0.2.7 1fffff 25)
check_flags "verifying" "$out"
[[ "$out" == *"early=c end=y(550 5.7.1 Too many Authentication-Results fields claiming this server)" ]] &&
  ok "settled at the end of the header (25 forged fields): 550 5.7.1 at the end of the message" ||
  bad "forged fields" "$out"
grep -q 'QID1: dir=none forged_ar=25 (more than 20, max_forged_auth_results) action=reject' verify.log &&
  ok "forged fields: logged as before" || bad "forged log" "$(tail -3 verify.log)"
rig_summary
