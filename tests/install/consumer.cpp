// A program written against the installed dkimkit, as a user would: verify a message with the
// keys of a zone file and print one line per signature, then the message's result. The install
// tests (install_test.sh) build it against a staged install, once through find_package(dkimkit)
// and once through pkg-config, and expect "result: pass" for samples/signed.eml.
#include <dkimkit/dkimkit.hpp>
#include <dkimkit/zone_resolver.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

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
  return best == dkimkit::status::pass ? 0 : 1;
}
