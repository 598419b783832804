// Keys and helpers shared by the tests. Keys are generated once per test process.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit::test {

const private_key& rsa1024();
const private_key& rsa2048();
const private_key& rsa_small(unsigned bits);  // 512 or 768: below RFC 8301's minimum
const private_key& ed25519();

// A fixed clock for tests: 2026-01-01T00:00:00Z.
inline constexpr std::uint64_t kNow = 1767225600;

// A plain message with the usual fields, CRLF line endings.
std::string sample_message();

// Signs `message` with one key; d=example.com, the given selector; the signed message (new
// field on top, CRLF). Fails the current test on error.
std::string sign_with(std::string_view message, const private_key& key, std::string_view selector,
                      canonicalization header = canonicalization::relaxed,
                      canonicalization body = canonicalization::relaxed);

// verify_options with the resolver and kNow.
verify_options options_for(const txt_resolver& dns);

// Reads a file under tests/data.
std::string read_data(const std::string& relative);

}  // namespace dkimkit::test
