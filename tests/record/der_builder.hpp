// Small DER builders for crafting public keys in tests: RSAPublicKey (PKCS#1), SubjectPublicKeyInfo
// for RSA and Ed25519, with any modulus and exponent.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <dkimkit/signer.hpp>

#include "crypto/crypto.hpp"
#include "util/base64.hpp"

namespace dkimkit::test {

inline std::string der_tlv(unsigned char tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    for (std::size_t v = n; v > 0; v >>= 8) len.insert(len.begin(), static_cast<char>(v & 0xff));
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  out.append(content);
  return out;
}

// An unsigned big-endian magnitude as a DER INTEGER.
inline std::string der_integer(std::string_view magnitude) {
  while (magnitude.size() > 1 && magnitude.front() == '\0') magnitude.remove_prefix(1);
  std::string v(magnitude);
  if (v.empty() || (static_cast<unsigned char>(v.front()) & 0x80) != 0) v.insert(v.begin(), '\0');
  return der_tlv(0x02, v);
}

// RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
inline std::string rsa_public_key_der(std::string_view n, std::string_view e) {
  return der_tlv(0x30, der_integer(n) + der_integer(e));
}

// RFC 5280 SubjectPublicKeyInfo with rsaEncryption (1.2.840.113549.1.1.1) and NULL parameters.
inline std::string rsa_spki_der(std::string_view pkcs1) {
  static const std::string oid = der_tlv(0x06, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01");
  const std::string algorithm_id = der_tlv(0x30, oid + std::string("\x05\x00", 2));
  return der_tlv(0x30, algorithm_id + der_tlv(0x03, std::string(1, '\0') + std::string(pkcs1)));
}

// RFC 8410 SubjectPublicKeyInfo for Ed25519 (1.3.101.112).
inline std::string ed25519_spki_der(std::string_view raw32) {
  const std::string algorithm_id = der_tlv(0x30, der_tlv(0x06, "\x2b\x65\x70"));
  return der_tlv(0x30, algorithm_id + der_tlv(0x03, std::string(1, '\0') + std::string(raw32)));
}

// The SubjectPublicKeyInfo DER of a private key's public half.
inline std::string spki_of(const private_key& key) {
  auto der = detail::base64_decode(key.public_record_value());
  return der ? *der : std::string();
}

inline detail::pkey_ptr pkey_of(const private_key& key) {
  const std::string der = spki_of(key);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return detail::pkey_ptr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

// The bare PKCS#1 RSAPublicKey of an RSA key (what some publishers put in p=).
inline std::string pkcs1_of(const private_key& key) {
  auto pkey = pkey_of(key);
  unsigned char* der = nullptr;
  int n = pkey ? i2d_PublicKey(pkey.get(), &der) : -1;
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

// The RSA modulus, big-endian.
inline std::string modulus_of(const private_key& key) {
  auto pkey = pkey_of(key);
  BIGNUM* raw = nullptr;
  if (!pkey || EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &raw) != 1) return {};
  std::string out(static_cast<std::size_t>(BN_num_bytes(raw)), '\0');
  BN_bn2bin(raw, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(raw);
  return out;
}

// A key record for raw p= bytes.
inline std::string record_with_p(std::string_view der, std::string_view k = "rsa") {
  return "v=DKIM1; k=" + std::string(k) + "; p=" + detail::base64_encode(der);
}

}  // namespace dkimkit::test
