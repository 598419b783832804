#!/usr/bin/env bash
# man_render_test.sh PAGE...: each built manual page renders with no warning from man and groff
# (man --warnings, at 80 columns, in UTF-8). Exit 77 (skipped) when man or groff is missing.
set -uo pipefail
for tool in man groff; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (Debian packages man-db and groff-base)"
    exit 77
  fi
done
[ $# -gt 0 ] || { echo "usage: $0 PAGE..." >&2; exit 2; }
export LC_ALL=C.UTF-8 MANWIDTH=80
failed=0
for page in "$@"; do
  if [ ! -s "$page" ]; then
    echo "FAIL: $page is missing or empty"
    failed=1
    continue
  fi
  warnings=$(man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  if [ -n "$warnings" ]; then
    echo "FAIL: $page renders with warnings:"
    printf '%s\n' "$warnings" | sed 's/^/  /'
    failed=1
  else
    echo "ok: $page renders without warnings"
  fi
done
exit $failed
