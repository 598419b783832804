// Prose for the benchmarks: 76-character lines of words, single spaces, two after one sentence in
// eight, trailing WSP on one line in seven: what real text gives relaxed canonicalization to do.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dkimkit::bench {

// Appends lines ending in `eol` to `out` while another fits in `total` bytes (76 + 2 each).
inline void append_prose(std::string& out, std::size_t total, std::string_view eol) {
  static constexpr std::array<std::string_view, 16> words = {
      "the",     "quarterly", "figures", "show", "steady", "growth", "in",      "all",
      "regions", "and",       "we",      "plan", "to",     "expand", "service", "capacity"};
  std::uint32_t rng = 12345;
  std::size_t line_no = 0;
  while (out.size() + 78 <= total) {
    std::string line;
    while (line.size() < 76) {
      rng = rng * 1103515245u + 12345u;
      std::string_view w = words[(rng >> 16) % words.size()];
      if (!line.empty()) line += (rng & 0x700u) == 0 ? ".  " : " ";  // 1 in 8: a sentence ends
      line += w;
    }
    line.resize(76);
    if (line.back() == ' ') line.back() = '.';
    if (line_no % 7 == 3) line.replace(74, 2, "  ");  // trailing whitespace
    out += line;
    out += eol;
    ++line_no;
  }
}

}  // namespace dkimkit::bench
