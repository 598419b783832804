// Fuzz target: dkimkit::private_key::load (PEM: PKCS#8 or PKCS#1; or a base64 Ed25519 seed). A
// loaded key must be RSA or Ed25519, give a public record, survive a PEM round trip (to_pem()
// then load() gives the same type and size) and, when small enough to be quick, sign.
#include <cstddef>
#include <cstdint>
#include <dkimkit/signer.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

using dkimkit::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view pem(reinterpret_cast<const char*>(data), size);
  auto key = dkimkit::private_key::load(pem);
  if (!key) {
    check(!key.error().detail.empty());
    return 0;
  }
  check(key->type() == dkimkit::key_type::rsa || key->type() == dkimkit::key_type::ed25519);
  const std::string record = key->public_record();
  check(record.rfind("v=DKIM1; k=", 0) == 0 && !key->public_record_value().empty());

  auto again = dkimkit::private_key::load(key->to_pem());
  check(again && again->type() == key->type() && again->bits() == key->bits());
  check(again->public_record() == record);

  // A fuzzed RSA key may be inconsistent (p*q != n): signing must fail cleanly or succeed.
  if (key->type() == dkimkit::key_type::ed25519 || key->bits() <= 2048) {
    const std::string_view digest("0123456789abcdef0123456789abcdef", 32);
    (void)key->sign_digest(dkimkit::hash_algorithm::sha256, digest);
  }
  return 0;
}
