#!/bin/sh
# The examples run on the bundled samples (CTest example.*; examples/CMakeLists.txt).
#
#   run_examples.sh verify_file   PROGRAM SAMPLES      --zone: both signatures of signed.eml pass
#   run_examples.sh stream_verify PROGRAM SAMPLES      the same, in chunks of 512, 1 and 7 bytes
#   run_examples.sh sign_two_keys PROGRAM SAMPLES CLI WORKDIR
#       sign message.eml with demo-rsa and demo-ed: two new DKIM-Signature fields, and
#       `dkimkit verify --zone` (CLI) finds both pass
set -eu
mode=$1 program=$2 samples=$3
zone=$samples/example.com.zone

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# count PATTERN TEXT: the number of lines of TEXT matching PATTERN (grep -E).
count() { printf '%s\n' "$2" | grep -cE "$1" || true; }

case $mode in
verify_file)
  out=$("$program" --zone "$zone" "$samples/signed.eml") || fail "verify_file exited $?"
  printf '%s\n' "$out"
  [ "$(count '^d=example\.com s=demo-rsa a=rsa-sha256: pass$' "$out")" = 1 ] || fail "demo-rsa did not pass"
  [ "$(count '^d=example\.com s=demo-ed a=ed25519-sha256: pass$' "$out")" = 1 ] || fail "demo-ed did not pass"
  [ "$(count '^Authentication-Results: mx\.example\.net;' "$out")" = 1 ] || fail "no Authentication-Results"
  [ "$(count 'dkim=pass' "$out")" = 2 ] || fail "expected two dkim=pass"
  [ "$(count 'dkim=' "$out")" = 2 ] || fail "expected no other dkim= result"
  ;;
stream_verify)
  for chunk in "" 1 7; do
    out=$("$program" "$zone" "$samples/signed.eml" $chunk) || fail "stream_verify exited $?"
    printf '%s\n' "$out"
    [ "$out" = "d=example.com s=demo-rsa: pass
d=example.com s=demo-ed: pass
result: pass" ] || fail "stream_verify (chunk ${chunk:-512}) did not print two passes"
  done
  ;;
sign_two_keys)
  cli=$4 work=$5
  rm -rf "$work" && mkdir -p "$work"
  "$program" "$samples/message.eml" example.com demo-rsa "$samples/keys/demo-rsa.private" \
    demo-ed "$samples/keys/demo-ed.private" > "$work/signed.eml" || fail "sign_two_keys exited $?"
  cat "$work/signed.eml"
  [ "$(grep -c '^DKIM-Signature:' "$work/signed.eml")" = 2 ] || fail "expected two DKIM-Signature fields"
  head -n 1 "$work/signed.eml" | grep -q 'a=rsa-sha256' || fail "the RSA signature is not first"
  grep -q 's=demo-ed;' "$work/signed.eml" || fail "no demo-ed signature"
  tail -c "$(wc -c < "$samples/message.eml")" "$work/signed.eml" | cmp -s - "$samples/message.eml" ||
    fail "the message does not follow the fields unchanged"
  # Keys given the wrong way round are refused.
  if "$program" "$samples/message.eml" example.com demo-rsa "$samples/keys/demo-ed.private" \
    demo-ed "$samples/keys/demo-rsa.private" > /dev/null 2>&1; then
    fail "sign_two_keys accepted an Ed25519 key as the RSA key"
  fi
  out=$("$cli" verify --zone "$zone" --authserv-id mx.example.net "$work/signed.eml") ||
    fail "dkimkit verify exited $?"
  printf '%s\n' "$out"
  [ "$(count 'dkim=pass' "$out")" = 2 ] || fail "dkimkit verify: expected two dkim=pass"
  [ "$(count 'dkim=' "$out")" = 2 ] || fail "dkimkit verify: expected no other dkim= result"
  ;;
*)
  fail "unknown example $mode"
  ;;
esac
echo "ok: $mode"
