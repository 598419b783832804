#include "support/test_keys.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace dkimkit::test {
namespace {
private_key make(key_type t, unsigned bits) {
  auto k = private_key::generate(t, bits);
  if (!k) throw std::runtime_error(k.error().message());
  return *k;
}
}  // namespace

const private_key& rsa1024() {
  static const private_key k = make(key_type::rsa, 1024);
  return k;
}
const private_key& rsa2048() {
  static const private_key k = make(key_type::rsa, 2048);
  return k;
}
const private_key& rsa_small(unsigned bits) {
  static std::map<unsigned, private_key> keys;
  auto it = keys.find(bits);
  if (it == keys.end()) it = keys.emplace(bits, make(key_type::rsa, bits)).first;
  return it->second;
}
const private_key& ed25519() {
  static const private_key k = make(key_type::ed25519, 0);
  return k;
}

std::string sample_message() {
  return "From: Alice <alice@example.com>\r\n"
         "To: Bob <bob@example.org>\r\n"
         "Subject: Lunch\r\n"
         "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
         "Message-ID: <lunch@example.com>\r\n"
         "\r\n"
         "Shall we meet at noon?\r\n"
         "\r\n"
         "Alice\r\n";
}

std::string sign_with(std::string_view message, const private_key& key, std::string_view selector,
                      canonicalization header, canonicalization body) {
  sign_options o;
  o.sdid = "example.com";
  o.selector = std::string(selector);
  o.key = key;
  o.header_canon = header;
  o.body_canon = body;
  auto fields = sign(message, {o}, kNow);
  EXPECT_TRUE(fields) << (fields ? "" : fields.error().message());
  if (!fields) return std::string(message);
  return (*fields)[0] + "\r\n" + std::string(message);
}

verify_options options_for(const txt_resolver& dns) {
  verify_options o;
  o.resolver = &dns;
  o.now = [] { return kNow; };
  return o;
}

std::string read_data(const std::string& relative) {
  std::ifstream in(std::string(DKIMKIT_TEST_DATA_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dkimkit::test
