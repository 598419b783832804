// Fuzz target: dkimkit::parse_signature, the value of a DKIM-Signature field (RFC 6376 §3.5).
// A parsed signature must satisfy what the verifier relies on before any DNS query: bh= of the
// digest size, a non-empty b=, a usable key name of at most 253 octets, at most
// max_signed_headers names in h=, x= after t=.
#include <cstddef>
#include <cstdint>
#include <dkimkit/signature.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

// Lower-case letters, digits, '-', '_' and '.', no empty label.
bool plain_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    (c == '.' && prev != '.');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

void check_signature(const dkimkit::signature& sig, const dkimkit::signature_limits& limits) {
  check(sig.body_hash.size() == dkimkit::digest_size(dkimkit::hash_of(sig.algo)));
  check(!sig.signature_data.empty() && !sig.signature_b64.empty());
  check(plain_dns_name(sig.sdid) && plain_dns_name(sig.selector));
  const std::string name = sig.key_name();
  check(name.size() <= 253 && name.find('\0') == std::string::npos);
  check(!sig.signed_headers.empty() && sig.signed_headers.size() <= limits.max_signed_headers);
  for (const std::string& h : sig.signed_headers)
    check(!h.empty() && h.find(':') == std::string::npos);
  if (sig.timestamp && sig.expiration) check(*sig.expiration > *sig.timestamp);
  if (sig.auid) check(sig.auid->find('@') != std::string::npos);
  (void)dkimkit::is_same_or_subdomain(sig.auid_domain(), sig.sdid);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const dkimkit::signature_limits defaults;
  if (auto sig = dkimkit::parse_signature(value, defaults)) check_signature(*sig, defaults);

  // Tight limits: the size and h= caps must refuse, never truncate.
  const dkimkit::signature_limits tight{.max_field_bytes = 512, .max_signed_headers = 4};
  if (auto sig = dkimkit::parse_signature(value, tight)) {
    check(size <= tight.max_field_bytes);
    check_signature(*sig, tight);
  }
  return 0;
}
