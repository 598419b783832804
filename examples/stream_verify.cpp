// Verify a message as it arrives: a dkimkit::verifier fed the file in small chunks, as a server
// reading from a socket would. Only the header is buffered; the body is hashed chunk by chunk,
// and the result never depends on where the chunks were cut.
//
//   stream_verify example.com.zone message.eml [CHUNK_SIZE]   (default 512 bytes)
//
// Keys come from a zone file (dkimkit::zone_resolver); verify_file.cpp shows real DNS.
// Links dkimkit::zone. Exits 0 whatever the results, 2 when an input cannot be used.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <dkimkit/dkimkit.hpp>
#include <dkimkit/zone_resolver.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

// Reports a usage or input error; the DKIM results themselves are never errors.
static int fail(const std::string& why) {
  std::cerr << why << '\n';
  return 2;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) return fail("usage: stream_verify ZONE_FILE MESSAGE [CHUNK_SIZE]");
  const auto zone = dkimkit::zone_resolver::load_file(argv[1]);
  if (!zone) return fail(zone.error().message());
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) return fail(std::string("cannot read ") + argv[2]);
  std::size_t chunk_size = 512;
  if (argc == 4) std::from_chars(argv[3], argv[3] + std::strlen(argv[3]), chunk_size);

  dkimkit::verify_options opts;
  opts.resolver = &*zone;  // must outlive the verifier
  opts.now = [] { return static_cast<std::uint64_t>(std::time(nullptr)); };
  dkimkit::verifier verifier(opts);

  // Key lookups start as soon as the header has ended, while the body is still arriving.
  std::vector<char> buffer(chunk_size > 0 ? chunk_size : 1);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    verifier.update({buffer.data(), static_cast<std::size_t>(in.gcount())});
  if (in.bad()) return fail(std::string("cannot read ") + argv[2]);

  const auto results = verifier.finish();  // one verification per DKIM-Signature, topmost first
  for (const auto& v : results)
    std::cout << "d=" << v.sdid << " s=" << v.selector << ": " << dkimkit::to_string(v.status)
              << (v.reason.empty() ? "" : " (" + v.reason + ")") << '\n';
  // The message's result: the best of its signatures (pass, temperror, policy, fail, ...).
  std::cout << "result: " << dkimkit::to_string(dkimkit::overall(results)) << '\n';
  return 0;
}
