// The private parts of public_key and private_key.
#pragma once

#include "crypto/crypto.hpp"

namespace dkimkit::detail {

struct public_key_impl {
  pkey_ptr pkey;
};

struct private_key_impl {
  pkey_ptr pkey;
};

}  // namespace dkimkit::detail
