// Fuzz target: full verification (dkimkit::verify and the streaming dkimkit::verifier) against a
// fixed in-memory key set and a fixed clock, so that runs are reproducible and need no DNS.
//
// Keys (public records only; the private halves were thrown away after signing the seeds in
// fuzz/corpus/verify/):
//   rsa1024._domainkey.fuzz.example   1024-bit RSA        (dkimkit keygen -t rsa -b 1024)
//   ed._domainkey.fuzz.example        Ed25519             (dkimkit keygen -t ed25519)
//   test._domainkey.football.example.com, brisbane._domainkey.football.example.com
//                                     RFC 8463 Appendix A (tests/data/rfc/rfc8463.eml)
// plus names that answer badly: a revoked key, a 512-bit RSA key, a key limited to sha1, a
// strict testing key, two key records, a non-key record, no TXT (nodata) and a temporary failure.
//
// Differential check: the same bytes fed to the streaming verifier in two chunks, cut at a
// point derived from the data, must give the one-shot result (per signature: status, code and
// field index). Any difference aborts.
#include <cstddef>
#include <cstdint>
#include <dkimkit/resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;
using dkimkit::fuzz::split_point;

constexpr std::string_view kRsa1024 =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCuA5oXdylX2UbJlmqvBBcE96/Jd9KM6VM689cT/"
    "QXxSwehxTSWkU3EH7JfpJVeyhTwIWUch5LbnR4zYX/xAK6eBMXdNcjOeqi5UgiiHn13fIohw2/"
    "ILa7P9Lo8HzrdGChv3mVqvLahsATzXKaVGOupiuuP1V6GE2iUXoFf4dIhXwIDAQAB";
constexpr std::string_view kEd25519 =
    "v=DKIM1; k=ed25519; p=CeXd8YWO9Xd5t5SS1PVYdCt07IaVyn3hI3owiyFValA=";
constexpr std::string_view kRfc8463Rsa =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w"
    "y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO"
    "9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
constexpr std::string_view kRfc8463Ed25519 =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRsa512 =
    "v=DKIM1; k=rsa; "
    "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMVrPmkH10TXpa7kQuNeRm8tL7He9epZmBr1y+"
    "YNq58wsCvez0m5OpyycD/4NakVqN69kuPmETViEY2dvnPSaY8CAwEAAQ==";

// Fixed "now": 2023-11-14T22:13:20Z. The seeds are signed at t=1699999000.
constexpr std::uint64_t kNow = 1700000000;

const dkimkit::static_resolver& resolver() {
  static const dkimkit::static_resolver* const dns = [] {
    auto* r = new dkimkit::static_resolver;  // never freed: lives as long as the process
    r->add("rsa1024._domainkey.fuzz.example", std::string(kRsa1024));
    r->add("ed._domainkey.fuzz.example", std::string(kEd25519));
    r->add("test._domainkey.football.example.com", std::string(kRfc8463Rsa));
    r->add("brisbane._domainkey.football.example.com", std::string(kRfc8463Ed25519));
    r->add("revoked._domainkey.fuzz.example", "v=DKIM1; k=rsa; p=");
    r->add("small._domainkey.fuzz.example", std::string(kRsa512));
    r->add(
        "sha1._domainkey.fuzz.example",
        "v=DKIM1; h=sha1; " + std::string(kRsa1024.substr(std::string_view("v=DKIM1; ").size())));
    r->add("strict._domainkey.fuzz.example",
           "v=DKIM1; t=y:s; " + std::string(kEd25519.substr(std::string_view("v=DKIM1; ").size())));
    r->add("two._domainkey.fuzz.example", std::string(kEd25519));
    r->add("two._domainkey.fuzz.example", std::string(kRsa1024));
    r->add("junk._domainkey.fuzz.example", "v=spf1 -all");
    r->add("junk._domainkey.fuzz.example", "v=DKIM1; k=rsa; p=!!notbase64!!");
    r->add_name("nodata._domainkey.fuzz.example");
    r->set_temporary("tmp._domainkey.fuzz.example", "SERVFAIL");
    return r;
  }();
  return *dns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  dkimkit::verify_options opts;
  opts.resolver = &resolver();
  opts.now = [] { return kNow; };

  const std::vector<dkimkit::verification> once = dkimkit::verify(message, opts);

  dkimkit::verifier streaming(opts);
  const std::size_t cut = split_point(message);
  streaming.update(message.substr(0, cut));
  streaming.update(message.substr(cut));
  const std::vector<dkimkit::verification> twice = streaming.finish();

  check(once.size() == twice.size());
  for (std::size_t i = 0; i < once.size(); ++i) {
    check(once[i].status == twice[i].status && once[i].code == twice[i].code);
    check(once[i].field_index == twice[i].field_index);
    check(once[i].status != dkimkit::status::none);
    check((once[i].status == dkimkit::status::pass) == (once[i].code == dkimkit::errc::ok));
  }
  (void)dkimkit::overall(once);
  return 0;
}
