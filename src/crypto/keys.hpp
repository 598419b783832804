// The private parts of public_key and private_key.
#pragma once

#include <mutex>
#include <vector>

#include "crypto/crypto.hpp"

namespace dkimkit::detail {

struct public_key_impl {
  pkey_ptr pkey;
  // Verification contexts ready for EVP_PKEY_verify() (RSA, PKCS#1 v1.5 padding), one list per
  // hash. Setting one up costs a third of an RSA-2048 verification in OpenSSL 3.0 (provider and
  // algorithm look-ups), and a key cached in a key_cache verifies many messages. A context is
  // taken out while in use, so threads never share one.
  std::mutex pool_mutex;
  std::vector<pkey_ctx_ptr> pool[2];  // indexed by hash_algorithm
};

struct private_key_impl {
  pkey_ptr pkey;
};

}  // namespace dkimkit::detail
