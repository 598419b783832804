#!/usr/bin/env bash
# Peak memory of `dkimkit verify` on a large mbox (issue 16: a 1 GiB mbox under 64 MiB of RSS).
# A memory bound, not a speed measure: the archive is made and checked by
# tests/cli/verify_archive_test.sh (which CTest runs on 200 MiB) with MIB MiB, then measured
# again with /usr/bin/time -v.
#
# Usage: bench/mbox_memory.sh BUILD_DIR | DKIMKIT_PROGRAM [MIB]     (default MIB: 1024)
# The work directory is MBOX_WORK (default: a new directory under /tmp, removed at exit).
set -euo pipefail
arg=${1:?usage: mbox_memory.sh BUILD_DIR | DKIMKIT_PROGRAM [MIB]}
mib=${2:-1024}
dk=$arg
[ -d "$arg" ] && dk=$arg/tools/cli/dkimkit
dk=$(readlink -f "$dk")
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${MBOX_WORK:-}" ]; then
  work=$MBOX_WORK
else
  work=$(mktemp -d /tmp/dkimkit-mbox-memory.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
bash "$here/../tests/cli/verify_archive_test.sh" "$dk" "$work/run" "$mib" | grep -E 'peak RSS|large mbox|passed'
cd "$work/run"
/usr/bin/time -v "$dk" verify --json --zone zone big.mbox 2> time.txt > /dev/null
echo "/usr/bin/time -v $dk verify --json --zone zone big.mbox ($(($(stat -c %s big.mbox) >> 20)) MiB):"
grep -E 'Maximum resident|Elapsed' time.txt
