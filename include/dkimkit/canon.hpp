// dkimkit/canon.hpp: the exact bytes one DKIM-Signature hashes (RFC 6376 §3.7), for debugging
// other implementations: the header hash input and the canonical body up to l=.
//
//   auto in = dkimkit::hashed_data(message, 0);   // the topmost DKIM-Signature
//   if (in) std::cout << in->header;               // SHA-256 of this is what b= signs
//   else std::cerr << in.error().message() << "\n";
//
// A hash_input owns its strings; it does not point into the message. The bytes come from the
// same code the verifier and the signer hash with, so they are the bytes that a verifier hashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <dkimkit/error.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace dkimkit {

struct hash_input {
  // The header hash input: the fields h= selects (bottom-up, canonicalized, each with CRLF), then
  // the DKIM-Signature field itself with the value of b= emptied and no final CRLF (§3.7).
  std::string header;
  // The canonical body, cut at l= when l= is present and smaller than the whole.
  std::string body;
  // The canonical length of the whole body: body.size() unless l= cut it (or, when l= is larger
  // than this, the verifier fails the signature with body_length_exceeds).
  std::uint64_t body_length_total = 0;
  std::optional<std::uint64_t> body_length;                  // l=
  canonicalization header_canon = canonicalization::simple;  // c=, before the slash
  canonicalization body_canon = canonicalization::simple;    // c=, after the slash
  hash_algorithm hash = hash_algorithm::sha256;              // the hash of a=
  std::string body_hash;                                     // bh=, decoded
  std::size_t field_index = 0;      // the signature's position among all the header fields
  std::size_t signature_count = 0;  // DKIM-Signature fields in the message
};

// The data that DKIM-Signature number `signature_number` (0-based, counting DKIM-Signature fields
// from the top) hashes. Line endings are normalized first (bare LF becomes CRLF), as the verifier
// does. Fails with the error of parse_message() when the header block does not parse, with
// invalid_argument when the message has no such signature, and with the error of
// parse_signature() when that signature does not parse (detail names the signature).
[[nodiscard]] result<hash_input> hashed_data(std::string_view message, std::size_t signature_number,
                                             const header_limits& header = {},
                                             const signature_limits& signature = {});

}  // namespace dkimkit
