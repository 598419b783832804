// A program written against the installed dkimkit, as a user would: verify a message with the
// keys of a zone file and print one line per signature, then the message's result; then, with
// dkimkit::redis, parse a Redis address and count a message into a store that is not there. The
// install tests (install_test.sh) build it against a staged install, once through
// find_package(dkimkit) and once through pkg-config, and expect "result: pass" for
// samples/signed.eml and the lines of the Redis part.
#include <chrono>
#include <dkimkit/dkimkit.hpp>
#include <dkimkit/redis_replay.hpp>
#include <dkimkit/zone_resolver.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

// dkimkit::redis: an address parsed, and a store on a unix socket that does not exist, which
// answers an error at once (the message goes on uncounted). False when either is not so.
bool redis_part() {
  auto address = dkimkit::parse_redis_address("redis://:pw@[::1]:6390/2");
  if (!address) {
    std::cerr << "consumer: " << address.error().detail << '\n';
    return false;
  }
  std::cout << "redis address: host " << address->host << " port " << address->port << " db "
            << address->db << '\n';
  dkimkit::redis_replay_options o;
  o.store = "unix:/nonexistent/dkimkit-consumer.sock";
  o.host_name = "consumer";
  auto store = dkimkit::redis_replay_store::create(o);
  if (!store) {
    std::cerr << "consumer: " << store.error().detail << '\n';
    return false;
  }
  dkimkit::replay_message m;
  m.now = 1800000000;
  m.signatures.push_back({});
  m.signatures.back().key = dkimkit::replay_key("example.com", "sel", "c2lnbmF0dXJl");
  m.signatures.back().sdid = "example.com";
  m.signatures.back().selector = "sel";
  auto counts = (*store)->record(m, std::chrono::milliseconds(500));
  if (counts) {
    std::cerr << "consumer: a store on a missing socket counted a message\n";
    return false;
  }
  std::cout << "redis store unreachable: uncounted " << (*store)->stats().uncounted << '\n';
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: consumer ZONEFILE MESSAGE\n";
    return 2;
  }
  auto zone = dkimkit::zone_resolver::load_file(argv[1]);
  if (!zone) {
    std::cerr << "consumer: " << zone.error().detail << '\n';
    return 2;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::ostringstream message;
  message << in.rdbuf();
  if (!in) {
    std::cerr << "consumer: cannot read " << argv[2] << '\n';
    return 2;
  }

  dkimkit::verify_options opts;
  opts.resolver = &*zone;
  const auto results = dkimkit::verify(message.str(), opts);
  for (const auto& v : results) {
    std::cout << "signature d=" << v.sdid << " s=" << v.selector << ": "
              << dkimkit::to_string(v.status) << (v.reason.empty() ? "" : " (" + v.reason + ")")
              << '\n';
  }
  const auto best = dkimkit::overall(results);
  std::cout << "dkimkit " << dkimkit::version() << " result: " << dkimkit::to_string(best) << '\n';
  if (!redis_part()) return 2;
  return best == dkimkit::status::pass ? 0 : 1;
}
