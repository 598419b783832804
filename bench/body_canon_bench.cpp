// Body canonicalization throughput (RFC 6376 §3.4.3, §3.4.4) on a 1 MiB body of 76-character
// text lines, reported as bytes/s; body_hash/* adds the SHA-256 of the canonical body.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "canon/body_canon.hpp"
#include "canon/body_hasher.hpp"
#include "prose.hpp"

namespace {

constexpr std::size_t body_bytes = 1024 * 1024;

// Text lines of 76 characters plus CRLF; about one line in seven has trailing whitespace, and
// word gaps are sometimes doubled or a tab, so that relaxed mode has runs to collapse.
std::string make_body(std::size_t total) {
  static constexpr std::array<std::string_view, 12> words = {
      "lorem", "ipsum", "dolor", "sit",     "amet", "consectetur",
      "the",   "body",  "of",    "message", "is",   "canonicalized"};
  std::string b;
  b.reserve(total);
  std::uint32_t rng = 42;
  std::size_t line_no = 0;
  while (b.size() + 78 <= total) {
    std::string line;
    while (line.size() < 76) {
      rng = rng * 1103515245u + 12345u;
      if (!line.empty()) {
        const std::uint32_t gap = (rng >> 8) % 16;
        line += gap == 0 ? "\t" : gap == 1 ? "  " : " ";
      }
      line += words[(rng >> 16) % words.size()];
    }
    line.resize(76);
    if (line_no % 7 == 3) line.replace(74, 2, " \t");
    b += line;
    b += "\r\n";
    ++line_no;
  }
  while (b.size() + 2 <= total) b += "\r\n";  // a few trailing empty lines
  return b;
}

const std::string& body() {
  static const std::string b = make_body(body_bytes);
  return b;
}

// Prose as bench/sign_verify_bench.cpp signs it (dkim_verify/rsa_sha256_1MiB_key_cache), with
// CRLF or bare LF line ends.
std::string make_prose(std::size_t total, std::string_view eol) {
  std::string b;
  dkimkit::bench::append_prose(b, total, eol);
  return b;
}

const std::string& prose(bool lf) {
  static const std::string crlf = make_prose(body_bytes, "\r\n");
  static const std::string bare_lf = make_prose(body_bytes, "\n");
  return lf ? bare_lf : crlf;
}

void bm_body_canon(benchmark::State& state, dkimkit::canonicalization c) {
  const std::string& in = body();
  std::string out;
  out.reserve(in.size() + 2);
  for (auto _ : state) {
    out.clear();
    dkimkit::detail::body_canonicalizer canon(c);
    canon.update(in, out);
    canon.finish(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
  state.SetItemsProcessed(state.iterations());
}

void bm_body_hash(benchmark::State& state, dkimkit::canonicalization c) {
  const std::string& in = body();
  std::string scratch;
  for (auto _ : state) {
    dkimkit::detail::body_hasher h(c, dkimkit::hash_algorithm::sha256, std::nullopt);
    h.update(in, scratch);
    h.finish(scratch);
    benchmark::DoNotOptimize(h.digest().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
  state.SetItemsProcessed(state.iterations());
}

// The canonicalizer alone on prose, with CRLF and with bare LF line ends (read as line ends).
void bm_body_canon_prose(benchmark::State& state, bool lf) {
  const std::string& in = prose(lf);
  std::string out;
  out.reserve(in.size() + in.size() / 16);
  for (auto _ : state) {
    out.clear();
    dkimkit::detail::body_canonicalizer canon(dkimkit::canonicalization::relaxed,
                                              dkimkit::detail::line_ends::crlf_or_bare_lf);
    canon.update(in, out);
    canon.finish(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
}

BENCHMARK_CAPTURE(bm_body_canon_prose, crlf, false)->Name("body_canon/relaxed/1MiB_prose_crlf");
BENCHMARK_CAPTURE(bm_body_canon_prose, lf, true)->Name("body_canon/relaxed/1MiB_prose_lf");
BENCHMARK_CAPTURE(bm_body_canon, relaxed, dkimkit::canonicalization::relaxed)
    ->Name("body_canon/relaxed/1MiB");
BENCHMARK_CAPTURE(bm_body_canon, simple, dkimkit::canonicalization::simple)
    ->Name("body_canon/simple/1MiB");
BENCHMARK_CAPTURE(bm_body_hash, relaxed, dkimkit::canonicalization::relaxed)
    ->Name("body_hash/relaxed_sha256/1MiB");
BENCHMARK_CAPTURE(bm_body_hash, simple, dkimkit::canonicalization::simple)
    ->Name("body_hash/simple_sha256/1MiB");

}  // namespace
