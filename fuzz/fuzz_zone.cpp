// Fuzz target: dkimkit::zone_resolver::load_string (an RFC 1035 master file read with ldns), then
// a few lookups: fixed names under the origin and the first token of the text taken as a name.
// Every answer must be one of the three a zone can give (never temporary), with records only
// when found.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <dkimkit/zone_resolver.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

void lookup(const dkimkit::zone_resolver& zone, const std::string& name) {
  const dkimkit::txt_answer a = zone.lookup_txt(name);
  check(a.status != dkimkit::dns_status::temporary);
  check((a.status == dkimkit::dns_status::found) == !a.records.empty());
}

// The first white-space-delimited token (an owner name, usually), at most 300 bytes.
std::string first_token(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  const std::size_t end = text.find_first_of(" \t\r\n", start);
  return std::string(text.substr(start, std::min<std::size_t>(end - start, 300)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto zone = dkimkit::zone_resolver::load_string(text, "example.com");
  if (!zone) {
    check(!zone.error().detail.empty());
    return 0;
  }
  lookup(*zone, "sel._domainkey.example.com");
  lookup(*zone, "brisbane._domainkey.example.com.");
  lookup(*zone, "No.Such.Name.Example.Com");
  const std::string token = first_token(text);
  lookup(*zone, token);
  lookup(*zone, token + ".example.com");
  return 0;
}
