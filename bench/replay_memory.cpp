// replay_memory URL [COUNT]: records COUNT (default 100 000) distinct signatures through
// redis_replay_store (one message each, 3 recipients, one /24 each) into the Redis at URL and
// prints the record() round-trip times (median, p99, max), then one line "keys: S N R" naming the
// first signature's keys. bench/replay_memory.sh starts a redis-server of its own, runs this and
// reads the memory figures around it with redis-cli.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dkimkit/redis_replay.hpp>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t kNow = 1800000000;

std::string key_of(std::size_t i) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032zx", i * 2654435761u);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: replay_memory redis://HOST:PORT/DB [COUNT]\n");
    return 2;
  }
  const std::size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  if (count == 0) return 2;
  dkimkit::redis_replay_options o;
  o.store = argv[1];
  o.host_name = "bench";
  o.connections = 1;
  auto store = dkimkit::redis_replay_store::create(o);
  if (!store) {
    std::fprintf(stderr, "replay_memory: %s\n", store.error().message().c_str());
    return 1;
  }
  std::vector<double> micros;
  micros.reserve(count);
  std::size_t errors = 0;
  for (std::size_t i = 0; i < count; ++i) {
    dkimkit::replay_message m;
    m.now = kNow + i / 100;
    m.network = std::to_string(i % 223 + 1) + "." + std::to_string(i / 223 % 256) + ".7.0/24";
    m.recipients = {"a" + std::to_string(i) + "@example.net", "b@example.net", "c@example.org"};
    m.signatures.push_back({key_of(i), "example.com", "sel2026", 24 * 3600, false, 0});
    const auto t0 = std::chrono::steady_clock::now();
    auto r = (*store)->record(m, std::chrono::milliseconds(1000));
    const auto t1 = std::chrono::steady_clock::now();
    if (!r) {
      if (errors++ == 0) std::fprintf(stderr, "replay_memory: %s\n", r.error().message().c_str());
    }
    micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(micros.begin(), micros.end());
  const auto at = [&](double q) {
    return micros[static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1))];
  };
  std::printf("signatures recorded:  %zu (errors %zu)\n", count, errors);
  std::printf("record() round trip:  median %.0f us, p99 %.0f us, max %.0f us\n", at(0.5), at(0.99),
              micros.back());
  const std::string k = key_of(0), t = std::to_string(kNow / (24 * 3600 / 4));
  std::printf("keys: %ss:%s %sn:%s:%s %sr:%s:%s\n", o.prefix.c_str(), k.c_str(), o.prefix.c_str(),
              k.c_str(), t.c_str(), o.prefix.c_str(), k.c_str(), t.c_str());
  return errors == 0 ? 0 : 1;
}
