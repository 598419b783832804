// Sign a message twice, with an RSA key and with an Ed25519 key (RFC 8463 advises dual signing
// while verifiers learn Ed25519), and print it with the two DKIM-Signature fields on top.
//
//   sign_two_keys message.eml example.com demo-rsa rsa.pem demo-ed ed25519.pem > signed.eml
//
// The keys are PEM files (PKCS#8, or PKCS#1 for RSA), as `dkimkit keygen` writes them; their
// public halves must be published at SELECTOR._domainkey.DOMAIN. Links dkimkit::dkimkit only.
#include <cstdint>
#include <ctime>
#include <dkimkit/dkimkit.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

// Reports a usage or input error; the DKIM results themselves are never errors.
static int fail(const std::string& why) {
  std::cerr << why << '\n';
  return 2;
}

int main(int argc, char** argv) {
  if (argc != 7)
    return fail(
        "usage: sign_two_keys MESSAGE DOMAIN RSA_SELECTOR RSA_KEY ED25519_SELECTOR "
        "ED25519_KEY");
  std::ifstream in(argv[1], std::ios::binary);
  std::ostringstream message;
  if (!in || !(message << in.rdbuf())) return fail(std::string("cannot read ") + argv[1]);

  // One sign_options per signature: d=, s= and the key; the algorithm follows from the key.
  std::vector<dkimkit::sign_options> signatures;
  for (int i : {3, 5}) {
    auto key = dkimkit::private_key::load_file(argv[i + 1]);
    if (!key) return fail(key.error().message());
    const auto expected = i == 3 ? dkimkit::key_type::rsa : dkimkit::key_type::ed25519;
    if (key->type() != expected)
      return fail(std::string(argv[i + 1]) + ": not the expected key type");
    dkimkit::sign_options o;
    o.sdid = argv[2];
    o.selector = argv[i];
    o.key = std::move(*key);  // a private_key is immutable and cheap to copy or share
    signatures.push_back(std::move(o));
  }

  // t= is the current time; dkimkit::signer does the same in chunks, as a milter would.
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  const auto fields = dkimkit::sign(message.str(), signatures, now);
  if (!fields) return fail(fields.error().message());

  // The fields are folded with CRLF: keep the message's own line endings (LF in a Unix file).
  const bool crlf = message.str().find("\r\n") != std::string::npos;
  for (std::string field : *fields) {
    if (!crlf) std::erase(field, '\r');
    std::cout << field << (crlf ? "\r\n" : "\n");
  }
  std::cout << message.str();
  return 0;
}
