// Fuzz target: dkimkit::key_table and dkimkit::signing_table (OpenDKIM's KeyTable and
// SigningTable, plain and "refile:"), and the refile "*" matcher against a reference.
//   - The input parsed as each table of each kind: an error names "T:LINE: " or "T: ", and a
//     parsed table's rows hold no white space in their keys;
//   - select_keys for a few senders never throws, and what it picks has d= and s= filled in;
//   - the input cut in two (pattern, address) at a point derived from it: a one-row refile table
//     with that pattern matches the address exactly when a plain dynamic-programming glob does.
#include <cstddef>
#include <cstdint>
#include <dkimkit/signing_table.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The reference: match[i][j] = pattern[0..i) matches text[0..j), O(|p| |t|).
bool glob_reference(std::string_view p, std::string_view t) {
  std::vector<std::vector<bool>> m(p.size() + 1, std::vector<bool>(t.size() + 1, false));
  m[0][0] = true;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    for (std::size_t j = 0; j <= t.size(); ++j) {
      if (p[i - 1] == '*')
        m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1]);
      else
        m[i][j] = j > 0 && m[i - 1][j - 1] && lower(p[i - 1]) == lower(t[j - 1]);
    }
  }
  return m[p.size()][t.size()];
}

bool plain_token(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#' || c == '@') return false;
  return !s.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using dkimkit::table_kind;
  for (table_kind kind : {table_kind::plain, table_kind::refile}) {
    auto keys = dkimkit::key_table::parse(input, kind, "T");
    auto signing = dkimkit::signing_table::parse(input, kind, "T");
    if (!keys) check(keys.error().detail.starts_with("T:"));
    if (!signing) check(signing.error().detail.starts_with("T:"));
    if (!signing) continue;
    dkimkit::key_table k = keys ? *keys : dkimkit::key_table{};
    for (std::string_view host : {"example.com", "a.b.example.org", "x"}) {
      for (bool multiple : {false, true}) {
        for (const dkimkit::signing_table_entry* e : signing->lookup("user", host, multiple))
          check(e->key.find_first_of(" \t") == std::string::npos && !e->key_name.empty());
        auto picked = dkimkit::select_keys(*signing, k, "user", host, multiple);
        if (!picked) continue;
        for (const dkimkit::selected_key& s : *picked)
          check(!s.sdid.empty() && !s.selector.empty() && !s.key.empty());
      }
    }
  }

  // Differential: pattern and address from the two halves (bounded: the reference is quadratic).
  const std::size_t cut = dkimkit::fuzz::split_point(input);
  std::string_view pattern = input.substr(0, cut).substr(0, 200);
  std::string_view address = input.substr(cut).substr(0, 200);
  std::size_t at = address.rfind('@');
  if (plain_token(pattern.substr(0, pattern.find('@'))) && at != std::string_view::npos) {
    std::string_view local = address.substr(0, at), host = address.substr(at + 1);
    // The pattern must be one token without "#"; the address halves likewise (no "@" inside).
    bool tokens = pattern.find_first_of(" \t\r\n#") == std::string_view::npos &&
                  address.find_first_of(" \t\r\n") == std::string_view::npos &&
                  local.find('@') == std::string_view::npos;
    if (tokens) {
      auto t =
          dkimkit::signing_table::parse(std::string(pattern) + " k\n", table_kind::refile, "T");
      if (t) {
        bool got = !t->lookup(local, host, false).empty();
        check(got == glob_reference(pattern, std::string(local) + "@" + std::string(host)));
      }
    }
  }
  return 0;
}
