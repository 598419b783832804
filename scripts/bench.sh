#!/usr/bin/env bash
# Usage: scripts/bench.sh BUILD_DIR
# Runs `openssl speed` (RSA-2048, Ed25519, SHA-256 over 16 KiB) and the dkimkit Google Benchmark
# binary, then prints dkimkit's costs against the floor of raw primitives (issue 16, part 4):
#   verify ratio  = verify_cost (key cached) / (rsa_verify_cost + sha256_cost(message))  <= 1.15
#   ed25519 share = (ed25519_verify_cost + sha256_cost(message)) / dkimkit ed25519 verify
#                   cost (key cached)                                                   >= 0.90
#   sign ratio    = sign_cost / rsa_sign_cost                                           <= 1.05
#   1 MiB relaxed/relaxed message verified (key cached), MB/s                           >= 1200
#                   (next to raw SHA-256 MB/s over 1 MiB)
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
echo "== openssl speed -mr -seconds 2 ed25519"
openssl speed -mr -seconds 2 ed25519 2>/dev/null | tee "$out/openssl_ed25519.txt"
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== $bin"
# --benchmark_min_time as a plain number of seconds: libbenchmark 1.7 (Debian 12) wants that form.
# Repetitions of all benchmarks are interleaved at random, so that a slow spell of this shared
# machine falls on dkimkit and on the baselines alike.
"$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out/openssl_rsa2048.txt" "$out/openssl_sha256.txt" "$out/bench.json" \
  "$out/openssl_ed25519.txt" <<'EOF'
import json, os, sys

rsa_txt, sha_txt, bench_json, ed_txt = sys.argv[1:5]

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
for line in open(ed_txt):
    f = line.strip().split(":")
    if f[0] == "+F6" and f[3].lower() == "ed25519":
        ossl["ed_verify"] = float(f[5])
if len(ossl) != 4:
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
ed_kc = get("dkim_verify/ed25519_sha256_key_cache")
big_Bps = get("dkim_verify/rsa_sha256_1MiB_key_cache#Bps")
raw_sign, raw_verify = get("raw_rsa2048_sign"), get("raw_rsa2048_verify")
raw_ed = get("raw_ed25519_verify")
sha10, sha16 = get("raw_sha256/10240"), get("raw_sha256/16384")
sha1m_Bps = get("raw_sha256/1048576#Bps")

# Ratios of costs (seconds per operation = 1 / rate).
floor_bin = 1 / raw_verify + 1 / sha10
floor_oss = 1 / ossl["rsa_verify"] + MSG / ossl["sha256_Bps"]
kc_bin, kc_oss = (1 / verify_kc) / floor_bin, (1 / verify_kc) / floor_oss
v_bin, v_oss = (1 / verify) / floor_bin, (1 / verify) / floor_oss
ed_bin = (1 / raw_ed + 1 / sha10) / (1 / ed_kc)
ed_oss = (1 / ossl["ed_verify"] + MSG / ossl["sha256_Bps"]) / (1 / ed_kc)
s_bin = (1 / sign) / (1 / raw_sign)
s_oss = (1 / sign) / (1 / ossl["rsa_sign"])
big_MBps = big_Bps / 1e6

def le(x, target):
    return "ok" if x <= target else "MISS"

def ge(x, target):
    return "ok" if x >= target else "MISS"

rows = [
    ("dkimkit rsa-sha256 verify msg/s, key cached", verify_kc, None),
    ("dkimkit rsa-sha256 verify msg/s, key decoded", verify, None),
    ("dkimkit ed25519 verify msg/s, key cached", ed_kc, None),
    ("dkimkit rsa-sha256 sign msg/s (10 KiB)", sign, None),
    ("RSA-2048 verify/s", raw_verify, ossl["rsa_verify"]),
    ("RSA-2048 sign/s", raw_sign, ossl["rsa_sign"]),
    ("Ed25519 verify/s", raw_ed, ossl["ed_verify"]),
    ("SHA-256 16 KiB /s", sha16, ossl["sha256_Bps"] / 16384),
    ("SHA-256 10 KiB /s", sha10, ossl["sha256_Bps"] / MSG),
    ("SHA-256 MB/s (1 MiB blocks; openssl: 16 KiB)", sha1m_Bps / 1e6, ossl["sha256_Bps"] / 1e6),
    ("floor msg/s: RSA-2048 verify + SHA-256 10 KiB", 1 / floor_bin, 1 / floor_oss),
]
print()
print("%-46s %14s %14s" % ("", "this binary", "openssl speed"))
for label, a, b in rows:
    print("%-46s %14.0f %14s" % (label, a, "" if b is None else "%.0f" % b))
print("%-46s %14.2f %14.2f   target <= 1.15 %s" % (
    "verify (key cached) / floor", kc_bin, kc_oss, le(max(kc_bin, kc_oss), 1.15)))
print("%-46s %14.2f %14.2f   (every message decodes its key)" % (
    "verify (key decoded) / floor", v_bin, v_oss))
print("%-46s %14.2f %14.2f   target >= 0.90 %s" % (
    "ed25519 verify: (raw verify + SHA-256) share", ed_bin, ed_oss, ge(min(ed_bin, ed_oss), 0.9)))
print("%-46s %14.2f %14.2f   target <= 1.05 %s" % (
    "sign / rsa_sign", s_bin, s_oss, le(max(s_bin, s_oss), 1.05)))
print("%-46s %14.0f %14s   target >= 1200 %s (%.2f of raw SHA-256)" % (
    "1 MiB relaxed/relaxed verify MB/s", big_MBps, "", ge(big_MBps, 1200), big_Bps / sha1m_Bps))
extra = [("dkimkit ed25519 verify msg/s, key decoded", "dkim_verify/ed25519_sha256", 1),
         ("dkimkit ed25519 sign msg/s", "dkim_sign/ed25519_sha256", 1),
         ("body canon relaxed MB/s (1 MiB)", "body_canon/relaxed/1MiB#Bps", 1e-6),
         ("body canon simple MB/s (1 MiB)", "body_canon/simple/1MiB#Bps", 1e-6),
         ("body hash relaxed+sha256 MB/s (1 MiB)", "body_hash/relaxed_sha256/1MiB#Bps", 1e-6)]
for label, name, scale in extra:
    if name in bench:
        print("%-46s %14.0f" % (label, bench[name] * scale))

missed = (max(kc_bin, kc_oss) > 1.15 or min(ed_bin, ed_oss) < 0.9 or max(s_bin, s_oss) > 1.05
          or big_MBps < 1200)
if missed and os.environ.get("BENCH_STRICT") == "1":
    sys.exit(1)
EOF
