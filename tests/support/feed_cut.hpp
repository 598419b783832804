// Feeding bytes to a streaming reader (verifier, signer, mbox_reader, ...) in pieces.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace dkimkit::test {

// Calls `update` with the pieces of `bytes` that end at the offsets `cuts` (ascending), then
// with the rest.
template <class Update>
void feed_cut(std::string_view bytes, const std::vector<std::size_t>& cuts, Update&& update) {
  std::size_t prev = 0;
  for (std::size_t cut : cuts) {
    update(bytes.substr(prev, cut - prev));
    prev = cut;
  }
  update(bytes.substr(prev));
}

}  // namespace dkimkit::test
