// Fuzz target: header canonicalization and selection (src/canon/header_canon.hpp; RFC 6376
// §3.4.1, §3.4.2, §5.4.2). Input: a first line with an h= list ("from:to:from"), then a header
// block (split as the verifier does: strictly, or leniently when the block is malformed).
// Checks, for every field: simple is the field as it is; relaxed is "lowercased-name:value"
// with no folding, no tab, no run of spaces, no space at either end of the value, and is
// idempotent. canonicalize_signed_headers() must match a separate bottom-up reference, and
// canonicalize_signature_field() must equal the field with the chosen b= range cut out.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <dkimkit/message.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "canon/header_canon.hpp"
#include "fuzz_support.hpp"
#include "message/fields.hpp"

namespace {

using dkimkit::fuzz::check;
using dkimkit::fuzz::fnv1a;
using dkimkit::canonicalization;
using dkimkit::header_field;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Checks one field's two canonical forms; returns the relaxed value (without name and CRLF).
void check_field(const header_field& f) {
  std::string simple;
  dkimkit::detail::canonicalize_header(canonicalization::simple, f, simple);
  check(simple == std::string(f.raw) + "\r\n");

  std::string relaxed;
  dkimkit::detail::canonicalize_header(canonicalization::relaxed, f, relaxed);
  const std::string name = ascii_lower(f.name);
  check(relaxed.size() >= name.size() + 3);
  check(relaxed.compare(0, name.size(), name) == 0 && relaxed[name.size()] == ':');
  check(relaxed.compare(relaxed.size() - 2, 2, "\r\n") == 0);
  const std::string value = relaxed.substr(name.size() + 1, relaxed.size() - name.size() - 3);
  check(value.find('\t') == std::string::npos && value.find("  ") == std::string::npos);
  check(value.find("\r\n") == std::string::npos);
  check(value.empty() || (value.front() != ' ' && value.back() != ' '));

  const header_field again{f.raw, name, value};  // raw is not used by relaxed
  std::string twice;
  dkimkit::detail::canonicalize_header(canonicalization::relaxed, again, twice);
  check(twice == relaxed);
}

// §5.4.2, written differently from the library: the instances of each name listed bottom-up,
// and the n-th mention of a name takes the n-th of them.
std::string reference_signed(canonicalization c, const std::vector<header_field>& fields,
                             const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::size_t>> instances;
  for (std::size_t i = fields.size(); i-- > 0;) instances[ascii_lower(fields[i].name)].push_back(i);
  std::map<std::string, std::size_t> mentioned;
  std::string out;
  for (const std::string& n : names) {
    const std::string key = ascii_lower(n);
    const std::size_t k = mentioned[key]++;
    const auto it = instances.find(key);
    if (it != instances.end() && k < it->second.size())
      dkimkit::detail::canonicalize_header(c, fields[it->second[k]], out);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view list =
      nl == std::string_view::npos ? std::string_view() : input.substr(0, nl);
  const std::string_view block = nl == std::string_view::npos ? input : input.substr(nl + 1);

  std::vector<std::string> names;
  for (std::size_t pos = 0; !list.empty() && names.size() < 1024;) {
    const std::size_t colon = list.find(':', pos);
    names.emplace_back(list.substr(pos, colon == std::string_view::npos ? colon : colon - pos));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }

  const dkimkit::header_limits limits;
  auto parsed = dkimkit::parse_header_block(block, limits);
  const std::vector<header_field> fields =
      parsed ? std::move(*parsed) : dkimkit::detail::split_fields_lenient(block, limits.max_fields);

  for (const header_field& f : fields) check_field(f);

  for (canonicalization c : {canonicalization::simple, canonicalization::relaxed}) {
    std::string out;
    dkimkit::detail::canonicalize_signed_headers(c, fields, names, out);
    check(out == reference_signed(c, fields, names));
  }

  if (!fields.empty()) {
    const std::uint64_t h = fnv1a(input);
    const header_field& f = fields[h % fields.size()];
    const std::size_t b_offset = static_cast<std::size_t>((h >> 16) % (f.value.size() + 1));
    const std::size_t b_length =
        static_cast<std::size_t>((h >> 40) % (f.value.size() - b_offset + 1));
    std::string cut(f.value.substr(0, b_offset));
    cut.append(f.value.substr(b_offset + b_length));

    std::string simple;
    dkimkit::detail::canonicalize_signature_field(canonicalization::simple, f, b_offset, b_length,
                                                  simple);
    check(simple == std::string(f.raw.substr(0, f.raw.size() - f.value.size())) + cut);

    std::string relaxed;
    dkimkit::detail::canonicalize_signature_field(canonicalization::relaxed, f, b_offset, b_length,
                                                  relaxed);
    std::string expected;
    dkimkit::detail::canonicalize_header(canonicalization::relaxed,
                                         header_field{f.raw, f.name, cut}, expected);
    expected.resize(expected.size() - 2);
    check(relaxed == expected);
  }
  return 0;
}
