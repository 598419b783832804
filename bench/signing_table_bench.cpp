// Cost of OpenDKIM-style key and signing tables (dkimkit/signing_table.hpp) for a host signing for
// 100 000 domains, each with an RSA and an Ed25519 key (issue 14: loading under 1 s, picking the
// keys of a message under 5 µs).
//
//   tables_parse/100000        KeyTable (200 000 rows) and SigningTable (200 000 rows) from text
//   tables_load/100000         the same read from files ("file:" data sets)
//   select_keys/exact          user@dN.example: the second lookup ("host") answers, first row
//   select_keys/parent_multi   user@mail.sub.dN.example under ".dN.example", MultipleSignatures:
//                              every lookup form is tried, both keys are chosen
//   select_keys/refile_1000    a refile table of 1000 patterns, the sender matching the last
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <dkimkit/dkimkit.hpp>
#include <fstream>
#include <string>
#include <string_view>

namespace {

constexpr int domains = 100'000;

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "signing_table_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

std::string domain(int i) { return "d" + std::to_string(i) + ".example"; }

// "dN.example-rsa dN.example:rsa2026:/etc/dkimkeys/dN.example.rsa:rsa-sha256" and the Ed25519
// row, for every domain.
const std::string& key_table_text() {
  static const std::string text = [] {
    std::string t;
    for (int i = 0; i < domains; ++i) {
      std::string d = domain(i);
      t += d + "-rsa " + d + ":rsa2026:/etc/dkimkeys/" + d + ".rsa:rsa-sha256\n";
      t += d + "-ed " + d + ":ed2026:/etc/dkimkeys/" + d + ".ed:ed25519-sha256\n";
    }
    return t;
  }();
  return text;
}

// Half the domains by exact host ("dN.example"), half with their subdomains (".dN.example").
const std::string& signing_table_text() {
  static const std::string text = [] {
    std::string t;
    for (int i = 0; i < domains; ++i) {
      std::string d = domain(i);
      std::string key = i % 2 == 0 ? d : "." + d;
      t += key + " " + d + "-rsa\n" + key + " " + d + "-ed:postmaster@" + d + "\n";
    }
    return t;
  }();
  return text;
}

template <class Table>
Table parsed(std::string_view text, dkimkit::table_kind kind = dkimkit::table_kind::plain) {
  auto t = Table::parse(text, kind, "bench");
  if (!t) die(t.error().message());
  return *t;
}

void tables_parse(benchmark::State& state) {
  const std::string& keys = key_table_text();
  const std::string& signing = signing_table_text();
  for (auto _ : state) {
    auto k = parsed<dkimkit::key_table>(keys);
    auto s = parsed<dkimkit::signing_table>(signing);
    benchmark::DoNotOptimize(k.size() + s.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(keys.size() + signing.size()));
}
BENCHMARK(tables_parse)->Arg(domains)->Unit(benchmark::kMillisecond);

void tables_load(benchmark::State& state) {
  char dir_template[] = "/tmp/dkimkit-bench-tables.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (!dir) die("mkdtemp failed");
  std::string keys_path = std::string(dir) + "/KeyTable";
  std::string signing_path = std::string(dir) + "/SigningTable";
  std::ofstream(keys_path, std::ios::binary) << key_table_text();
  std::ofstream(signing_path, std::ios::binary) << signing_table_text();
  for (auto _ : state) {
    auto k = dkimkit::key_table::load("file:" + keys_path);
    auto s = dkimkit::signing_table::load("file:" + signing_path);
    if (!k || !s) die("load failed");
    benchmark::DoNotOptimize(k->size() + s->size());
  }
  std::remove(keys_path.c_str());
  std::remove(signing_path.c_str());
  rmdir(dir);
}
BENCHMARK(tables_load)->Arg(domains)->Unit(benchmark::kMillisecond);

void select(benchmark::State& state, const dkimkit::signing_table& signing,
            const dkimkit::key_table& keys, std::string_view local, std::string_view host,
            bool multiple, std::size_t expected) {
  for (auto _ : state) {
    auto r = dkimkit::select_keys(signing, keys, local, host, multiple);
    if (!r || r->size() != expected) die("unexpected selection");
    benchmark::DoNotOptimize(r->data());
  }
}

const dkimkit::key_table& keys_100k() {
  static const auto k = parsed<dkimkit::key_table>(key_table_text());
  return k;
}
const dkimkit::signing_table& signing_100k() {
  static const auto s = parsed<dkimkit::signing_table>(signing_table_text());
  return s;
}

void select_exact(benchmark::State& state) {
  select(state, signing_100k(), keys_100k(), "user", "d4242.example", false, 1);
}
BENCHMARK(select_exact)->Name("select_keys/exact");

void select_parent_multi(benchmark::State& state) {
  select(state, signing_100k(), keys_100k(), "user", "mail.sub.d4243.example", true, 2);
}
BENCHMARK(select_parent_multi)->Name("select_keys/parent_multi");

void select_refile(benchmark::State& state) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "*@*." + domain(i) + " " + domain(i) + "-rsa\n";
  static const auto signing = parsed<dkimkit::signing_table>(text, dkimkit::table_kind::refile);
  select(state, signing, keys_100k(), "user", "mail.d999.example", false, 1);
}
BENCHMARK(select_refile)->Name("select_keys/refile_1000");

}  // namespace
