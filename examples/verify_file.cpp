// Verify the DKIM signatures of a message file: one line per signature, then the
// Authentication-Results field a receiving server would add.
//
//   verify_file message.eml                           real DNS (the servers in /etc/resolv.conf)
//   verify_file --resolver 127.0.0.1@53 message.eml   real DNS through this server
//   verify_file --zone example.com.zone message.eml   keys from a zone file (offline)
//
// Links dkimkit::unbound (real DNS) and dkimkit::zone (zone files). Exits 0 whatever the results,
// 2 when the arguments, the zone file or the message cannot be used.
#include <cstdint>
#include <ctime>
#include <dkimkit/dkimkit.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/zone_resolver.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

// Reports a usage or input error; the DKIM results themselves are never errors.
static int fail(const std::string& why) {
  std::cerr << why << '\n';
  return 2;
}

int main(int argc, char** argv) {
  std::string zone_file, server, path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--zone" || arg == "--resolver") && i + 1 < argc)
      (arg == "--zone" ? zone_file : server) = argv[++i];
    else
      path = arg;
  }
  if (path.empty()) return fail("usage: verify_file [--zone FILE | --resolver IP@PORT] MESSAGE");

  // Any dkimkit::txt_resolver will do; it must outlive the verification.
  std::unique_ptr<dkimkit::txt_resolver> dns;
  if (!zone_file.empty()) {
    auto zone = dkimkit::zone_resolver::load_file(zone_file);
    if (!zone) return fail(zone.error().message());
    dns = std::make_unique<dkimkit::zone_resolver>(std::move(*zone));
  } else {
    dkimkit::unbound_options uo;
    if (!server.empty()) uo.servers = {server};  // else the system's resolvers
    auto unbound = dkimkit::unbound_resolver::create(std::move(uo));
    if (!unbound) return fail(unbound.error().message());
    dns = std::move(*unbound);
  }

  std::ifstream in(path, std::ios::binary);
  std::ostringstream message;
  if (!in || !(message << in.rdbuf())) return fail("cannot read " + path);

  dkimkit::verify_options opts;
  opts.resolver = dns.get();
  opts.now = [] { return static_cast<std::uint64_t>(std::time(nullptr)); };  // checks t= and x=
  // One verification per DKIM-Signature field, topmost first. A failure is a result, not an error.
  const auto results = dkimkit::verify(message.str(), opts);
  for (const auto& v : results)
    std::cout << "d=" << v.sdid << " s=" << v.selector << " a=" << v.algorithm << ": "
              << dkimkit::to_string(v.status) << (v.reason.empty() ? "" : " (" + v.reason + ")")
              << '\n';
  // The authserv-id names the verifying host; the field is folded with CRLF, without a final one.
  std::cout << dkimkit::format_auth_results("mx.example.net", results) << "\r\n";
  return 0;
}
