// dns_probe: looks names up through dkimkit::unbound_resolver in one process, for the DNS tests
// (cache and TTL behaviour need one resolver across lookups).
//   dns_probe --resolver 127.0.0.1@5300 [--timeout MS] [--trust-anchor FILE] NAME|sleep:SECS ...
// Prints "NAME STATUS DNSSEC RECORDS DETAIL" per name, then "stats lookups=.. cache_hits=..
// joined=.. queries=.. timeouts=..".
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
}  // namespace

int main(int argc, char** argv) {
  dkimkit::unbound_options o;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--resolver" && i + 1 < argc) {
      o.servers.push_back(argv[++i]);
    } else if (a == "--timeout" && i + 1 < argc) {
      o.timeout = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else if (a == "--trust-anchor" && i + 1 < argc) {
      o.trust_anchor_file = argv[++i];
    } else {
      names.push_back(a);
    }
  }
  auto dns = dkimkit::unbound_resolver::create(o);
  if (!dns) {
    std::fprintf(stderr, "dns_probe: %s\n", dns.error().message().c_str());
    return 2;
  }
  for (const auto& n : names) {
    if (n.rfind("sleep:", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          static_cast<long>(std::atof(n.c_str() + 6) * 1000)));
      continue;
    }
    dkimkit::txt_answer a = (*dns)->lookup_txt(n);
    std::printf("%s %s %s %zu %s\n", n.c_str(), name_of(a.status),
                std::string(dkimkit::to_string(a.dnssec)).c_str(), a.records.size(),
                a.detail.empty() ? "-" : a.detail.c_str());
  }
  auto s = (*dns)->stats();
  std::printf("stats lookups=%zu cache_hits=%zu joined=%zu queries=%zu timeouts=%zu\n", s.lookups,
              s.cache_hits, s.joined, s.queries, s.timeouts);
  return 0;
}
