#!/usr/bin/env bash
# `make fuzz`: builds every fuzz target (fuzz/fuzz_*.cpp) with clang and libFuzzer in build-fuzz/
# (AddressSanitizer + UndefinedBehaviorSanitizer, the library instrumented too), runs each one for
# FUZZ_SECONDS seconds on a copy of its seed corpus, and prints a summary table.
#
#   FUZZ_SECONDS=60     seconds per target
#   FUZZ_BUILD=build-fuzz
#   FUZZ_TARGETS="tag_list verify"   only these (default: every target built)
#   JOBS=$(nproc)       build parallelism
#   FUZZ_PARALLEL=1     targets run at the same time (each on one core)
#
# Findings (crash-*, leak-*, timeout-*, oom-* reproducers) go to $FUZZ_BUILD/findings/<name>/,
# each target's log to $FUZZ_BUILD/logs/<name>.log, the grown corpus to
# $FUZZ_BUILD/corpus-work/<name>/ (fuzz/corpus/ is never written). Exits 1 when a target found
# something or failed to run.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-$(nproc)}
parallel=${FUZZ_PARALLEL:-1}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: FUZZ_SECONDS must be a positive number of seconds, not '$seconds'" >&2
  exit 64
fi

# clang and its runtime libraries (libFuzzer, the sanitizers), when missing.
packages=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "dkimkit: installing missing packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "dkimkit: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q -o DPkg::Lock::Timeout=600 update
  apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

# Every library target is instrumented for coverage and the sanitizers through CMAKE_CXX_FLAGS;
# the fuzz targets add -fsanitize=fuzzer (fuzz/CMakeLists.txt). -O1 -g keeps asserts on. The
# libraries are static here, so that each fuzz binary stands alone (no install rules needed).
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DDKIMKIT_BUILD_FUZZ=ON -DDKIMKIT_FUZZ_ENGINE=libfuzzer -DDKIMKIT_WERROR=ON \
  -DDKIMKIT_BUILD_TESTS=OFF -DDKIMKIT_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build "$build" --target dkimkit_fuzz -j"$jobs"

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  for t in $FUZZ_TARGETS; do targets+=("${t#fuzz_}"); done
else
  for src in fuzz/fuzz_*.cpp; do
    [ -f "$src" ] && targets+=("$(basename "$src" .cpp | sed 's/^fuzz_//')")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets (fuzz/fuzz_*.cpp)" >&2
  exit 1
fi

mkdir -p "$build/logs" "$build/corpus-work" "$build/findings"
# One target: runs it and writes its table row to logs/<name>.row ("FAILED" on a line of its own
# in logs/<name>.failed when it found something or did not run).
run_one() {
  local name=$1
  local bin="$build/fuzz/fuzz_$name" work="$build/corpus-work/$name"
  local findings="$build/findings/$name" log="$build/logs/$name.log"
  local row="$build/logs/$name.row"
  rm -f "$build/logs/$name.failed"
  if [ ! -x "$bin" ]; then  # fuzz/CMakeLists.txt skips a target whose library is not built
    printf '%-16s %7s %12s %9s %7s %8s %7s  %s\n' "$name" - - - - - - "not built" >"$row"
    return
  fi
  rm -rf "$work" "$findings"
  mkdir -p "$work" "$findings"
  if [ -d "fuzz/corpus/$name" ]; then cp -R "fuzz/corpus/$name/." "$work/"; fi
  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
              -artifact_prefix="$findings/")
  if [ -f "fuzz/dict/$name.dict" ]; then
    args+=(-dict="fuzz/dict/$name.dict")
  elif [ -f fuzz/dict/dkim.dict ]; then
    args+=(-dict=fuzz/dict/dkim.dict)
  fi
  echo "fuzz.sh: fuzz_$name for ${seconds} s (log: $log)"
  local start elapsed status=0
  start=$(date +%s)
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "$bin" "${args[@]}" "$work" >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))

  # libFuzzer's final figures: "stat::number_of_executed_units: N" (with -print_final_stats),
  # and cov:/ft: from the last status line ("#N DONE cov: C ft: F corp: ...").
  local execs last cov ft rate crashes note=""
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
  fi
  execs=${execs:-0}
  last=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  rate=${rate:-$(( execs / (elapsed > 0 ? elapsed : 1) ))}
  crashes=$(find "$findings" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$crashes" -gt 0 ]; then
    note="see $findings/ and $log"
  elif [ "$status" -ne 0 ]; then
    note="exit status $status, see $log"
  fi
  [ -n "$note" ] && echo FAILED >"$build/logs/$name.failed"
  printf '%-16s %7s %12s %9s %7s %8s %7s  %s\n' "$name" "$elapsed" "$execs" "$rate" \
    "${cov:--}" "${ft:--}" "$crashes" "$note" >"$row"
}

for name in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_one "$name" &
done
wait
rows=()
failed=0
for name in "${targets[@]}"; do
  rows+=("$(cat "$build/logs/$name.row")")
  [ -f "$build/logs/$name.failed" ] && failed=1
done

echo
printf '%-16s %7s %12s %9s %7s %8s %7s\n' target seconds executions exec/s cov ft crashes
for row in "${rows[@]}"; do echo "$row"; done
if [ "$failed" -ne 0 ]; then
  echo
  echo "fuzz.sh: findings above: keep each reproducer as fuzz/corpus/<target>/regression-<short>" >&2
  exit 1
fi
