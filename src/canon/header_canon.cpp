#include "canon/header_canon.hpp"

#include <unordered_map>

#include "util/strings.hpp"

namespace dkimkit::detail {
namespace {

// name ":" value with relaxed rules: name lowercased, folds removed, WSP runs to one SP, WSP
// around the colon and at the end removed.
void relaxed(std::string_view name, std::string_view value, std::string& out) {
  for (char c : name) out.push_back(to_lower(c));
  out.push_back(':');
  bool wsp = false;
  bool started = false;
  std::size_t i = 0;
  const std::size_t n = value.size();
  while (i < n) {
    char c = value[i];
    if (c == '\r' && i + 1 < n && value[i + 1] == '\n') {
      i += 2;  // unfold: the CRLF goes, the WSP after it counts as WSP
      continue;
    }
    if (is_wsp(c)) {
      wsp = true;
      ++i;
      continue;
    }
    // A run of bytes copied as they are: up to the next WSP or CR.
    std::size_t j = i + 1;
    while (j < n && !is_wsp(value[j]) && value[j] != '\r') ++j;
    if (wsp && started) out.push_back(' ');
    wsp = false;
    started = true;
    out.append(value.data() + i, j - i);
    if (j < n && value[j] == '\r' && !(j + 1 < n && value[j + 1] == '\n')) {
      out.push_back('\r');  // a lone CR is content
      ++j;
    }
    i = j;
  }
}

}  // namespace

void canonicalize_header(canonicalization c, const header_field& f, std::string& out) {
  if (c == canonicalization::simple)
    out.append(f.raw);
  else
    relaxed(f.name, f.value, out);
  out.append("\r\n", 2);
}

void canonicalize_signed_headers(canonicalization c, const std::vector<header_field>& fields,
                                 const std::vector<std::string>& names, std::string& out) {
  // One cursor per lowercased name: how many instances from the bottom are used up.
  std::unordered_map<std::string, std::size_t> used;
  for (const std::string& name : names) {
    std::string key = lowercase(name);
    std::size_t& skip = used[key];
    std::size_t seen = 0;
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (!iequals(fields[i].name, name)) continue;
      if (seen++ == skip) {
        canonicalize_header(c, fields[i], out);
        break;
      }
    }
    ++skip;
  }
}

void canonicalize_signature_field(canonicalization c, const header_field& field,
                                  std::size_t b_offset, std::size_t b_length, std::string& out) {
  std::string value;
  value.reserve(field.value.size());
  value.append(field.value.substr(0, b_offset));
  value.append(field.value.substr(b_offset + b_length));
  if (c == canonicalization::simple) {
    out.append(field.raw.substr(0, field.raw.size() - field.value.size()));
    out.append(value);
  } else {
    relaxed(field.name, value, out);
  }
}

}  // namespace dkimkit::detail
