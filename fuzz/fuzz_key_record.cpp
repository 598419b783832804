// Fuzz target: dkimkit::parse_key_record (a DKIM key record, RFC 6376 §3.6.1, as a joined TXT
// record) and dkimkit::looks_like_key_record. A parsed record always has a usable key of the
// type k= names, within the RSA size cap.
#include <cstddef>
#include <cstdint>
#include <dkimkit/key_record.hpp>
#include <string_view>

#include "fuzz_support.hpp"

using dkimkit::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view txt(reinterpret_cast<const char*>(data), size);
  (void)dkimkit::looks_like_key_record(txt);

  const dkimkit::key_limits limits;
  auto rec = dkimkit::parse_key_record(txt, limits);
  if (!rec) {
    check(rec.error().code != dkimkit::errc::ok);
    return 0;
  }
  check(size <= limits.max_record_bytes);
  check(rec->key != nullptr && rec->key->type() == rec->type);
  if (rec->type == dkimkit::key_type::rsa) check(rec->key->bits() <= limits.max_rsa_bits);
  check(rec->key->same_as(*rec->key));
  // Verifying garbage with whatever key was accepted must return, not crash.
  const std::string_view digest("0123456789abcdef0123456789abcdef", 32);
  (void)rec->key->verify_digest(dkimkit::hash_algorithm::sha256, digest, txt.substr(0, 128));
  return 0;
}
