#!/usr/bin/env bash
# systemd_security_test.sh UNIT MAX: `systemd-analyze security --offline=true UNIT` rates the
# unit's exposure at MAX or lower (0 is the best, 10 the worst). Exit 77 (skipped) when
# systemd-analyze is missing or too old for --offline (systemd 252 or later).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 UNIT MAX" >&2; exit 2; }
unit=$1 max=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd); $unit not rated"
  exit 77
fi
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
rc=$?
if grep -qiE 'unrecognized option|unknown option' <<<"$out"; then
  echo "SKIP: this systemd-analyze has no --offline (systemd 252 or later needed): $out"
  exit 77
fi
score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9]+\.[0-9]+).*/\1/p' <<<"$out" | tail -1)
if [ -z "$score" ]; then
  echo "FAIL: no exposure level in the output of systemd-analyze security (status $rc):"
  printf '%s\n' "$out"
  exit 1
fi
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
  echo "ok: $(basename "$unit"): exposure $score (at most $max)"
  exit 0
fi
printf '%s\n' "$out" | grep -F '✗'
echo "FAIL: $(basename "$unit"): exposure $score, above $max"
exit 1
