#!/usr/bin/env bash
# man_options_test.sh PAGE.scd PROGRAM [SUBCOMMAND...]
# Every option that `PROGRAM --help` and `PROGRAM SUBCOMMAND --help` list (CLI11 lines such as
# "  -k,--key TEXT ..." or "  --json ...") is documented in the scdoc source of its manual page,
# on an entry line that starts with the option in bold (*-k*, *--key* _FILE_): the program's own
# options in the "# OPTIONS" section, a subcommand's in its "## PROGRAM SUBCOMMAND" section (an
# option the program itself also takes, such as --help, may be left to "# OPTIONS").
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 PAGE.scd PROGRAM [SUBCOMMAND...]" >&2; exit 2; }
page=$1 program=$2
shift 2
name=$(basename "$program")
[ -r "$page" ] || { echo "FAIL: cannot read $page"; exit 1; }

# The options a --help output lists, one per line (-k and --key separately).
options_of() {
  "$program" "$@" --help 2>&1 |
    grep -E '^ {1,4}-' |
    sed -E 's/^ +//; s/[ =].*//' |
    tr ',' '\n' | grep -E '^--?[A-Za-z0-9]'
}

# The text of one section of the page: from its header line to the next header of the same or
# a higher level.
section_of() {
  awk -v want="$1" '
    /^#+ / { level = index($0, " ") - 1
             if (inside && level <= wlevel) inside = 0
             if ($0 == want) { inside = 1; wlevel = level; next } }
    inside { print }' "$page"
}

failed=0 count=0
global=$(section_of "# OPTIONS")
[ -n "$global" ] || { echo "FAIL: $page has no '# OPTIONS' section"; failed=1; }
global_options=$(options_of)
[ -n "$global_options" ] || { echo "FAIL: '$name --help' lists no options"; exit 1; }

# Documented: on an entry line of the section, a line that starts with an option in bold
# ("*-k*, *--key* _FILE_"), not merely named in a synopsis or in prose.
documented_in() {  # documented_in OPTION TEXT
  grep -E '^\*-' <<<"$2" | grep -qF -- "*$1*"
}

for opt in $global_options; do
  count=$((count + 1))
  documented_in "$opt" "$global" || { echo "FAIL: '$name --help' lists $opt, not in '# OPTIONS' of $page"; failed=1; }
done
for sub in "$@"; do
  text=$(section_of "## $name $sub")
  if [ -z "$text" ]; then
    echo "FAIL: $page has no '## $name $sub' section"
    failed=1
    continue
  fi
  sub_options=$(options_of "$sub")
  [ -n "$sub_options" ] || { echo "FAIL: '$name $sub --help' lists no options"; failed=1; continue; }
  for opt in $sub_options; do
    count=$((count + 1))
    if documented_in "$opt" "$text"; then continue; fi
    if grep -qxF -- "$opt" <<<"$global_options" && documented_in "$opt" "$global"; then continue; fi
    echo "FAIL: '$name $sub --help' lists $opt, not in '## $name $sub' of $page"
    failed=1
  done
done
[ $failed -eq 0 ] && echo "ok: the $count options of $name${*:+ and its subcommands} are in $(basename "$page")"
exit $failed
