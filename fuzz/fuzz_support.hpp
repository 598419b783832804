// Helpers shared by the fuzz targets (fuzz/fuzz_*.cpp), header-only so that every target builds
// the same way under libFuzzer (scripts/fuzz.sh) and under g++ as a corpus replay
// (replay_main.cpp).
//
//   using dkimkit::fuzz::check;
//   check(parsed.size() <= limit);                 // aborts: the fuzzer reports a crash
//   const std::size_t cut = dkimkit::fuzz::split_point(input);  // same input, same cut
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace dkimkit::fuzz {

// A property every input must have: aborts when it does not, so the engine keeps the input.
inline void check(bool ok) {
  if (!ok) std::abort();
}

// FNV-1a over the bytes: a cheap, deterministic hash of the input.
inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// A point in [0, s.size()] derived from the data, where differential checks cut the input in two.
inline std::size_t split_point(std::string_view s) {
  return static_cast<std::size_t>(fnv1a(s) % (s.size() + 1));
}

}  // namespace dkimkit::fuzz
