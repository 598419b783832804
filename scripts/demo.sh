#!/usr/bin/env bash
# The demo: sign the bundled sample message with an RSA and an Ed25519 key, verify it against the
# bundled zone file (dkim=pass), then verify a tampered copy (dkim=fail).
set -euo pipefail
dkimkit=${1:-build/tools/cli/dkimkit}
here=$(cd "$(dirname "$0")/.." && pwd)
samples=$here/samples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Git does not keep file modes: give the demo keys the mode a private key should have.
install -m 600 "$samples/keys/demo-rsa.private" "$samples/keys/demo-ed.private" "$work/"

echo "== Signing samples/message.eml as example.com (rsa-sha256 + ed25519-sha256)"
"$dkimkit" sign -d example.com -k "$work/demo-rsa.private" -s demo-rsa \
  -k "$work/demo-ed.private" -s demo-ed "$samples/message.eml" > "$work/signed.eml"
sed -n '/^DKIM-Signature/,/^From:/p' "$work/signed.eml" | sed '$d'
echo
echo "== Verifying the signed message (keys from samples/example.com.zone)"
"$dkimkit" verify --authserv-id mx.example.org --zone "$samples/example.com.zone" "$work/signed.eml"
echo
echo "== Verifying a tampered copy (one word of the body changed)"
sed 's/up 4 percent/up 40 percent/' "$work/signed.eml" > "$work/tampered.eml"
"$dkimkit" verify --authserv-id mx.example.org --zone "$samples/example.com.zone" "$work/tampered.eml"
echo
echo "== The same as JSON"
"$dkimkit" verify --json --zone "$samples/example.com.zone" "$work/signed.eml" "$work/tampered.eml" |
  sed "s|$work/||g"
