// Crafting DKIM-Signature fields by hand for verifier tests: any tags, any algorithm (rsa-sha1
// included) and any key size, signed with private_key::sign_digest over the data RFC 6376 §3.7
// defines. The signer refuses most of these on purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/signer.hpp>

#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "crypto/crypto.hpp"
#include "support/test_keys.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit::test {

struct craft {
  algorithm algo = algorithm::ed25519_sha256;  // the hash and the key operation
  std::optional<std::string> a;                // a= as written; default to_string(algo)
  std::optional<std::string> c;                // c= as written ("" leaves the tag out); default
                                               // from header/body, which the hashes use
  canonicalization header = canonicalization::relaxed;
  canonicalization body = canonicalization::relaxed;
  std::string d = "example.com";
  std::string s = "sel";
  std::string h = "from:to:subject";
  std::optional<std::string> i;
  std::optional<std::uint64_t> t = kNow;
  std::optional<std::uint64_t> x;
  std::optional<std::uint64_t> l;  // the hash covers this many canonical octets
  std::string extra;               // more tags, each with its ";", e.g. " q=dns/txt;"
  std::string after_b;             // text after the b= value, e.g. ";" or "; zz=1"
};

// The DKIM-Signature field (no final CRLF) for `message` (CRLF or LF line endings).
inline std::string craft_field(std::string_view message, const private_key& key, const craft& c) {
  const std::string msg = normalize_line_endings(message);
  auto view = parse_message(msg);
  EXPECT_TRUE(view) << (view ? "" : view.error().message());
  if (!view) return {};
  const hash_algorithm h = hash_of(c.algo);
  detail::body_hasher body(c.body, h, c.l);
  std::string scratch;
  body.update(view->body, scratch);
  body.finish(scratch);

  const std::string c_tag =
      c.c ? (c.c->empty() ? std::string() : " c=" + *c.c + ";")
          : " c=" + std::string(to_string(c.header)) + "/" + std::string(to_string(c.body)) + ";";
  std::string value = " v=1; a=" + c.a.value_or(std::string(to_string(c.algo))) + ";" + c_tag +
                      " d=" + c.d + "; s=" + c.s + ";";
  if (c.i) value += " i=" + *c.i + ";";
  if (c.t) value += " t=" + std::to_string(*c.t) + ";";
  if (c.x) value += " x=" + std::to_string(*c.x) + ";";
  if (c.l) value += " l=" + std::to_string(*c.l) + ";";
  value += c.extra;
  value += "\r\n\th=" + c.h + ";\r\n\tbh=" + detail::base64_encode(body.digest()) + ";\r\n\tb=";
  // The field as hashed: b= empty, whatever follows it kept (RFC 6376 §3.7).
  const std::string field = "DKIM-Signature:" + value + c.after_b;

  std::vector<std::string> names;
  for (std::string_view n : detail::split(c.h, ':')) names.emplace_back(detail::trim_fws(n));
  std::string data;
  detail::canonicalize_signed_headers(c.header, view->fields, names, data);
  const header_field self{field, std::string_view(field).substr(0, 14),
                          std::string_view(field).substr(15)};
  detail::canonicalize_signature_field(c.header, self, value.size(), 0, data);
  auto sig = key.sign_digest(h, detail::digest(h, data));
  EXPECT_TRUE(sig) << (sig ? "" : sig.error().message());
  if (!sig) return {};
  return "DKIM-Signature:" + value + detail::base64_encode(*sig) + c.after_b;
}

// `message` with a crafted signature on top.
inline std::string crafted(std::string_view message, const private_key& key, const craft& c = {}) {
  return craft_field(message, key, c) + "\r\n" + std::string(message);
}

}  // namespace dkimkit::test
