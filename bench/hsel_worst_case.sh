#!/usr/bin/env bash
# Whole-process cost of header selection (RFC 6376 §5.4.2) on the crafted worst case of issue 11,
# finding 5: `dkimkit verify --zone Z --max-signatures N` on a message of 2000 header fields (the
# max_fields limit) with N valid signatures, each with an h= of 1024 names (max_signed_headers),
# half present in the message and half absent, all of one length with a long common prefix.
# N=5: 48-character names (each h= about 55 KB), a message of about 420 KB; N=50: 14-character
# names, so that the header stays under max_header_bytes. bench/header_canon_bench.cpp measures
# the same messages in process (hsel_worst_case/verify/*).
#
# Usage: bench/hsel_worst_case.sh BUILD_DIR | DKIMKIT_PROGRAM [N...]      (default N: 5 50)
# The messages are made with the dkimkit program itself (keygen, then `sign --headers` N times)
# in HSEL_WORK (default: a new directory under /tmp, removed at exit); when HSEL_WORK already
# holds them they are reused, so that two programs (before and after a change) verify the same
# files. Each verification runs HSEL_RUNS times (default 5); the CPU seconds (user+system, from
# /usr/bin/time, 10 ms resolution: 0.00 is under 5 ms) of each run and their median are printed.
set -euo pipefail

arg=${1:?usage: hsel_worst_case.sh BUILD_DIR | DKIMKIT_PROGRAM [N...]}
shift
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(5 50)
if [ -d "$arg" ]; then dk=$(readlink -f "$arg/tools/cli/dkimkit"); else dk=$(readlink -f "$arg"); fi
[ -x "$dk" ] || { echo "hsel_worst_case.sh: $dk is not an executable" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "hsel_worst_case.sh: /usr/bin/time is required (package time)" >&2; exit 2; }
runs=${HSEL_RUNS:-5}

if [ -n "${HSEL_WORK:-}" ]; then
  mkdir -p "$HSEL_WORK"
  work=$(readlink -f "$HSEL_WORK")
else
  work=$(mktemp -d /tmp/dkimkit-hsel.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# The n-th name of a kind (h: present, n: absent), LENGTH characters, differing in the last four.
name_of() {  # N KIND LENGTH
  local prefix=x-hsel-worst-case-
  while [ ${#prefix} -lt $(($3 - 4)) ]; do prefix+=-; done
  printf '%s%03d%s' "${prefix:0:$(($3 - 4))}" "$(($1 % 1000))" "$2"
}

make_message() {  # SIGNATURES LENGTH OUT
  local sigs=$1 len=$2 out=$3 i h name
  if [ ! -s key/hsel.private ]; then
    mkdir -p key
    "$dk" keygen -d example.net -s hsel -o key >/dev/null 2>&1
    # shellcheck disable=SC2016  # $TTL is the zone-file directive
    { echo '$TTL 300'; cat key/hsel.txt; } >zone
  fi
  h=from
  for ((i = 0; i < 1023; i++)); do
    h+=:$(name_of $(((i / 2) % 500)) "$([ $((i % 2)) -eq 0 ] && echo h || echo n)" "$len")
  done
  {
    printf 'From: Alice Example <alice@example.net>\r\n'
    printf 'To: Bob Example <bob@example.com>\r\n'
    printf 'Subject: header selection worst case\r\n'
    printf 'Date: Tue, 14 Nov 2023 22:13:18 +0000\r\n'
    printf 'Message-ID: <hsel-worst-case@example.net>\r\n'
    for ((i = 0; i < 2000 - sigs - 5; i++)); do
      name=$(name_of $((i % 500)) h "$len")
      printf '%s: vvvvvvvvvvvvvvvvvvvv\r\n' "${name^^}"
    done
    printf '\r\n'
    for ((i = 0; i < 16; i++)); do printf 'A line of body text that is hashed once per message.\r\n'; done
  } >"$out.tmp"
  for ((i = 0; i < sigs; i++)); do
    "$dk" sign -k key/hsel.private -d example.net -s hsel --headers "$h" --now $((1700000000 + i)) \
      "$out.tmp" >"$out.next"
    mv "$out.next" "$out.tmp"
  done
  mv "$out.tmp" "$out"
}

echo "== $dk"
for n in "${counts[@]}"; do
  len=48
  [ "$n" -gt 5 ] && len=14
  msg=worst-$n.eml
  [ -s "$msg" ] || make_message "$n" "$len" "$msg"
  passes=$("$dk" verify --json --zone zone --max-signatures "$n" "$msg" | grep -o '"result":"pass"' | wc -l)
  if [ "$passes" -ne $((n + 1)) ]; then
    echo "hsel_worst_case.sh: $msg: $((passes > 0 ? passes - 1 : 0)) of $n signatures pass" >&2
    exit 1
  fi
  times=()
  for ((r = 0; r < runs; r++)); do
    t=$( { /usr/bin/time -f '%U+%S' "$dk" verify --zone zone --max-signatures "$n" "$msg" >/dev/null; } 2>&1 )
    times+=("$(echo "$t" | tail -n1 | awk -F+ '{printf "%.2f", $1 + $2}')")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
  printf '%s: %d bytes, %d signatures pass; dkimkit verify --zone zone --max-signatures %d: CPU s %s; median %s\n' \
    "$msg" "$(stat -c %s "$msg")" "$n" "$n" "${times[*]}" "$median"
done
