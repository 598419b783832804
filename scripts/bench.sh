#!/usr/bin/env bash
# Usage: scripts/bench.sh BUILD_DIR
# Runs `openssl speed` (RSA-2048, SHA-256 over 16 KiB) and the dkimkit Google Benchmark binary,
# then prints dkimkit's sign/verify cost against the raw primitives:
#   verify ratio = verify_cost / (rsa_verify_cost + sha256_cost(message bytes))   target <= 1.5
#   sign ratio   = sign_cost / rsa_sign_cost                                      target <= 1.1
# Each ratio is computed twice: against the raw EVP benchmarks in the same binary (same run,
# same conditions) and against `openssl speed`. All rates are per CPU second.
# Environment: BENCH_MIN_TIME (seconds per benchmark, default 0.5), BENCH_REPETITIONS (default
# 3, the median is used), BENCH_FILTER (a --benchmark_filter regex), BENCH_STRICT=1 (exit 1 when a
# target is missed).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$1
bin="$build/bench/dkimkit_bench"
if [ ! -x "$bin" ]; then
  # A build directory configured with DKIMKIT_BUILD_BENCH=OFF (the cache keeps it): turn it on.
  src=$(cd "$(dirname "$0")/.." && pwd)
  echo "bench.sh: $bin not found; configuring $build with -DDKIMKIT_BUILD_BENCH=ON" >&2
  cmake -S "$src" -B "$build" -DDKIMKIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target dkimkit_bench -j"$(nproc)"
fi
for tool in openssl python3; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required" >&2; exit 2; }
done

out="$build/bench"
min_time=${BENCH_MIN_TIME:-0.5}
reps=${BENCH_REPETITIONS:-3}
filter=${BENCH_FILTER:-.}

echo "== $(openssl version)"
echo "== openssl speed -mr -seconds 2 rsa2048"
openssl speed -mr -seconds 2 rsa2048 2>/dev/null | tee "$out/openssl_rsa2048.txt"
echo "== openssl speed -mr -seconds 2 -bytes 16384 sha256"
openssl speed -mr -seconds 2 -bytes 16384 sha256 2>/dev/null | tee "$out/openssl_sha256.txt"

echo "== $bin"
# --benchmark_min_time as a plain number of seconds: libbenchmark 1.7 (Debian 12) wants that form.
# Repetitions of all benchmarks are interleaved at random, so that a slow spell of this shared
# machine falls on dkimkit and on the baselines alike.
"$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json

python3 - "$out/openssl_rsa2048.txt" "$out/openssl_sha256.txt" "$out/bench.json" <<'EOF'
import json, os, sys

rsa_txt, sha_txt, bench_json = sys.argv[1:4]

# openssl speed -mr: "+F2:<n>:<bits>:<sign/s>:<verify/s>" and "+F:<n>:sha256:<bytes/s>..."
ossl = {}
for line in open(rsa_txt):
    f = line.strip().split(":")
    if f[0] == "+F2" and f[2] == "2048":
        ossl["rsa_sign"], ossl["rsa_verify"] = float(f[3]), float(f[4])
for line in open(sha_txt):
    f = line.strip().split(":")
    if f[0] == "+F" and f[2].lower() == "sha256":
        ossl["sha256_Bps"] = float(f[3])  # bytes/s over 16 KiB blocks
if len(ossl) != 3:
    sys.exit("bench.sh: could not parse the openssl speed output")

# Google Benchmark JSON: the median aggregate when repeated, else the single run.
bench, msg_bytes = {}, {}
for b in json.load(open(bench_json))["benchmarks"]:
    if b.get("error_occurred"):
        sys.exit("bench.sh: %s failed: %s" % (b["name"], b.get("error_message", "")))
    name = b.get("run_name", b["name"])
    agg = b.get("aggregate_name")
    if b.get("run_type") == "aggregate" and agg != "median":
        continue
    if "items_per_second" in b:
        bench[name] = b["items_per_second"]
    if "bytes_per_second" in b:
        bench[name + "#Bps"] = b["bytes_per_second"]
    if "msg_bytes" in b:
        msg_bytes[name] = b["msg_bytes"]

def get(name):
    if name not in bench:
        sys.exit("bench.sh: benchmark %s missing (BENCH_FILTER?)" % name)
    return bench[name]

MSG = 10 * 1024  # the unsigned test message; the body hash covers a little less
sign, verify = get("dkim_sign/rsa_sha256"), get("dkim_verify/rsa_sha256")
verify_kc = get("dkim_verify/rsa_sha256_key_cache")
raw_sign, raw_verify = get("raw_rsa2048_sign"), get("raw_rsa2048_verify")
sha10, sha16 = get("raw_sha256/10240"), get("raw_sha256/16384")

# Ratios of costs (seconds per operation = 1 / rate).
v_bin = (1 / verify) / (1 / raw_verify + 1 / sha10)
v_oss = (1 / verify) / (1 / ossl["rsa_verify"] + MSG / ossl["sha256_Bps"])
kc_bin = (1 / verify_kc) / (1 / raw_verify + 1 / sha10)
kc_oss = (1 / verify_kc) / (1 / ossl["rsa_verify"] + MSG / ossl["sha256_Bps"])
s_bin = (1 / sign) / (1 / raw_sign)
s_oss = (1 / sign) / (1 / ossl["rsa_sign"])

def ok(x, target):
    return "ok" if x <= target else "MISS"

rows = [
    ("dkimkit rsa-sha256 verify msg/s, key cached", verify_kc, None),
    ("dkimkit rsa-sha256 verify msg/s, key decoded", verify, None),
    ("dkimkit rsa-sha256 sign msg/s (10 KiB)", sign, None),
    ("RSA-2048 verify/s", raw_verify, ossl["rsa_verify"]),
    ("RSA-2048 sign/s", raw_sign, ossl["rsa_sign"]),
    ("SHA-256 16 KiB /s", sha16, ossl["sha256_Bps"] / 16384),
    ("SHA-256 10 KiB /s", sha10, ossl["sha256_Bps"] / MSG),
]
print()
print("%-44s %14s %14s" % ("", "this binary", "openssl speed"))
for label, a, b in rows:
    print("%-44s %14.0f %14s" % (label, a, "" if b is None else "%.0f" % b))
print("%-44s %14.2f %14.2f   target <= 1.5  %s" % (
    "verify (key cached) / (rsa_verify + sha256)", kc_bin, kc_oss, ok(max(kc_bin, kc_oss), 1.5)))
print("%-44s %14.2f %14.2f   (every message decodes its key)" % (
    "verify (key decoded) / (rsa_verify + sha256)", v_bin, v_oss))
print("%-44s %14.2f %14.2f   target <= 1.1  %s" % (
    "sign / rsa_sign", s_bin, s_oss, ok(max(s_bin, s_oss), 1.1)))
extra = [("dkimkit ed25519 verify msg/s", "dkim_verify/ed25519_sha256", 1),
         ("dkimkit ed25519 sign msg/s", "dkim_sign/ed25519_sha256", 1),
         ("body canon relaxed MB/s (1 MiB)", "body_canon/relaxed/1MiB#Bps", 1e-6),
         ("body canon simple MB/s (1 MiB)", "body_canon/simple/1MiB#Bps", 1e-6),
         ("body hash relaxed+sha256 MB/s (1 MiB)", "body_hash/relaxed_sha256/1MiB#Bps", 1e-6)]
for label, name, scale in extra:
    if name in bench:
        print("%-44s %14.0f" % (label, bench[name] * scale))

missed = kc_bin > 1.5 or kc_oss > 1.5 or s_bin > 1.1 or s_oss > 1.1
if missed and os.environ.get("BENCH_STRICT") == "1":
    sys.exit(1)
EOF
