// dns_probe: looks names up through dkimkit::unbound_resolver in one process, for the DNS tests
// (cache and TTL behaviour need one resolver across lookups).
//   dns_probe --resolver 127.0.0.1@5300 [--timeout MS] [--trust-anchor FILE] NAME|sleep:SECS ...
// Prints "NAME STATUS DNSSEC RECORDS DETAIL" per name, then "stats lookups=.. cache_hits=..
// joined=.. queries=.. timeouts=..".
//   dns_probe --resolver ... [--timeout MS] --for SECS [--interval SECS] NAME ...
// Looks the names up again and again for SECS seconds: each round starts the lookups of all the
// names together, waits for them, then sleeps --interval (default 0.5) seconds. In a name, %d
// becomes the round's number (1, 2, ...), so that every round asks for names never asked before;
// a name written after:SECS:NAME is asked only in the rounds that start SECS seconds or more
// after the first.
// Each line then starts with the wall-clock times (Unix seconds, 5 ms resolution) the lookup
// started and ended: "START END NAME STATUS DNSSEC RECORDS DETAIL", written after each round.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <dkimkit/unbound_resolver.hpp>

namespace {
const char* name_of(dkimkit::dns_status s) {
  switch (s) {
    case dkimkit::dns_status::found: return "found";
    case dkimkit::dns_status::nxdomain: return "nxdomain";
    case dkimkit::dns_status::nodata: return "nodata";
    case dkimkit::dns_status::temporary: return "temporary";
  }
  return "?";
}

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string with_round(const std::string& pattern, long round) {
  std::string out = pattern;
  auto at = out.find("%d");
  if (at != std::string::npos) out.replace(at, 2, std::to_string(round));
  return out;
}

void print_answer(const std::string& n, const dkimkit::txt_answer& a) {
  std::printf("%s %s %s %zu %s\n", n.c_str(), name_of(a.status),
              std::string(dkimkit::to_string(a.dnssec)).c_str(), a.records.size(),
              a.detail.empty() ? "-" : a.detail.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  dkimkit::unbound_options o;
  std::vector<std::string> names;
  double run_for = 0;
  double interval = 0.5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--resolver" && i + 1 < argc) {
      o.servers.push_back(argv[++i]);
    } else if (a == "--timeout" && i + 1 < argc) {
      o.timeout = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else if (a == "--trust-anchor" && i + 1 < argc) {
      o.trust_anchor_file = argv[++i];
    } else if (a == "--for" && i + 1 < argc) {
      run_for = std::atof(argv[++i]);
    } else if (a == "--interval" && i + 1 < argc) {
      interval = std::atof(argv[++i]);
    } else {
      names.push_back(a);
    }
  }
  auto dns = dkimkit::unbound_resolver::create(o);
  if (!dns) {
    std::fprintf(stderr, "dns_probe: %s\n", dns.error().message().c_str());
    return 2;
  }
  if (run_for > 0) {
    const auto begin = std::chrono::steady_clock::now();
    const auto end = begin + std::chrono::duration<double>(run_for);
    for (long round = 1; std::chrono::steady_clock::now() < end; ++round) {
      std::vector<std::string> asked;
      std::vector<std::shared_future<dkimkit::txt_answer>> answers;
      const double start = wall_now();
      const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
                               .count();
      for (const auto& spec : names) {
        std::string n = spec;
        if (n.rfind("after:", 0) == 0) {
          auto colon = n.find(':', 6);
          if (colon == std::string::npos) continue;
          if (since < std::atof(n.c_str() + 6)) continue;
          n = n.substr(colon + 1);
        }
        asked.push_back(with_round(n, round));
        answers.push_back((*dns)->lookup_txt_async(asked.back()));
      }
      std::vector<double> ended(answers.size(), 0);
      for (std::size_t left = answers.size(); left > 0;) {
        for (std::size_t k = 0; k < answers.size(); ++k) {
          if (ended[k] == 0 &&
              answers[k].wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) {
            ended[k] = wall_now();
            --left;
          }
        }
        if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      for (std::size_t k = 0; k < answers.size(); ++k) {
        std::printf("%.3f %.3f ", start, ended[k]);
        print_answer(asked[k], answers[k].get());
      }
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    }
  } else {
    for (const auto& n : names) {
      if (n.rfind("sleep:", 0) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(
            static_cast<long>(std::atof(n.c_str() + 6) * 1000)));
        continue;
      }
      print_answer(n, (*dns)->lookup_txt(n));
    }
  }
  auto s = (*dns)->stats();
  std::printf("stats lookups=%zu cache_hits=%zu joined=%zu queries=%zu timeouts=%zu\n", s.lookups,
              s.cache_hits, s.joined, s.queries, s.timeouts);
  return 0;
}
