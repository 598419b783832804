// Fuzz target: ARC chain validation (dkimkit::validate_arc and the streaming
// dkimkit::arc_validator) against a fixed in-memory key set, so that runs are reproducible and
// need no DNS.
//
// Keys (public records only):
//   dummy._domainkey.example.org   1024-bit RSA, the key of RFC 8463 Appendix A (also the ARC
//                                  test suite's key)
//   ed._domainkey.example.org      Ed25519 (RFC 8463 Appendix A)
// plus a 512-bit RSA key, a key limited to sha1, a revoked key and a temporary failure.
//
// Properties: the one-shot and the streaming validator (input cut in two at a point derived from
// the data) agree; a chain that passes has no reason and 1 <= oldest_pass <= sets <= 50; a failed
// chain says why; none means no set.
#include <cstddef>
#include <cstdint>
#include <dkimkit/arc.hpp>
#include <dkimkit/resolver.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;
using dkimkit::fuzz::split_point;

constexpr std::string_view kRsa1024 =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO"
    "9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
constexpr std::string_view kEd25519 =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRsa512 =
    "v=DKIM1; k=rsa; "
    "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMVrPmkH10TXpa7kQuNeRm8tL7He9epZmBr1y+"
    "YNq58wsCvez0m5OpyycD/4NakVqN69kuPmETViEY2dvnPSaY8CAwEAAQ==";

const dkimkit::static_resolver& resolver() {
  static const dkimkit::static_resolver* const dns = [] {
    auto* r = new dkimkit::static_resolver;  // never freed: lives as long as the process
    r->add("dummy._domainkey.example.org", std::string(kRsa1024));
    r->add("ed._domainkey.example.org", std::string(kEd25519));
    r->add("small._domainkey.example.org", std::string(kRsa512));
    r->add(
        "sha1._domainkey.example.org",
        "v=DKIM1; h=sha1; " + std::string(kRsa1024.substr(std::string_view("v=DKIM1; ").size())));
    r->add("revoked._domainkey.example.org", "v=DKIM1; k=rsa; p=");
    r->set_temporary("tmp._domainkey.example.org", "SERVFAIL");
    return r;
  }();
  return *dns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  dkimkit::verify_options opts;
  opts.resolver = &resolver();

  const dkimkit::arc_validation once = dkimkit::validate_arc(message, opts);

  dkimkit::arc_validator streaming(opts);
  const std::size_t cut = split_point(message);
  streaming.update(message.substr(0, cut));
  streaming.update(message.substr(cut));
  const dkimkit::arc_validation twice = streaming.finish();

  check(once.result == twice.result && once.code == twice.code);
  check(once.sets == twice.sets && once.oldest_pass == twice.oldest_pass);
  check(once.set_results.size() == twice.set_results.size());
  check(once.set_results.size() <= dkimkit::arc_max_sets);
  switch (once.result) {
    case dkimkit::arc_result::pass:
      check(once.reason.empty() && once.code == dkimkit::errc::ok);
      check(once.oldest_pass >= 1 && once.oldest_pass <= once.sets);
      check(once.sets <= dkimkit::arc_max_sets && once.set_results.size() == once.sets);
      break;
    case dkimkit::arc_result::fail:
      check(!once.reason.empty() && once.code != dkimkit::errc::ok && once.oldest_pass == 0);
      break;
    case dkimkit::arc_result::none:
      check(once.sets == 0 && once.set_results.empty() && once.reason.empty());
      break;
  }
  return 0;
}
