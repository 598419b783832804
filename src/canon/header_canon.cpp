#include "canon/header_canon.hpp"

#include <algorithm>
#include <cstring>

#include "util/strings.hpp"

namespace dkimkit::detail {
namespace {

// name ":" value with relaxed rules: name lowercased, folds removed, WSP runs to one SP, WSP
// around the colon and at the end removed.
void relaxed(std::string_view name, std::string_view value, std::string& out) {
  // The output is never longer than the input (name, ':' and value): it is written through a
  // pointer into room made at once, then cut to what was written.
  const std::size_t start = out.size();
  out.resize(start + name.size() + 1 + value.size());
  char* w = out.data() + start;
  for (char c : name) *w++ = to_lower(c);
  *w++ = ':';
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
    if (wsp && started) *w++ = ' ';  // in place of at least one WSP byte not written
    wsp = false;
    started = true;
    std::memcpy(w, value.data() + i, j - i);
    w += j - i;
    if (j < n && value[j] == '\r' && !(j + 1 < n && value[j + 1] == '\n')) {
      *w++ = '\r';  // a lone CR is content
      ++j;
    }
    i = j;
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
}

// A total order on lowercased names: by length, then by bytes (as unsigned octets). Length
// first makes most comparisons one step.
int compare_keys(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

}  // namespace

header_index::header_index(const std::vector<header_field>& fields) : fields_(&fields) {
  struct entry {
    std::size_t offset;    // of the lowercased name in lower_
    std::size_t position;  // of the field in `fields`
    std::size_t length;
  };
  std::vector<entry> entries;
  entries.reserve(fields.size());
  std::size_t bytes = 0;
  for (const header_field& f : fields) bytes += f.name.size();
  lower_.reserve(bytes);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    entries.push_back({lower_.size(), i, fields[i].name.size()});
    for (char c : fields[i].name) lower_.push_back(to_lower(c));
  }
  const std::string_view all(lower_);
  auto key_of = [&](const entry& e) { return all.substr(e.offset, e.length); };
  std::sort(entries.begin(), entries.end(), [&](const entry& a, const entry& b) {
    const int c = compare_keys(key_of(a), key_of(b));
    return c != 0 ? c < 0 : a.position > b.position;  // the same name: bottom first
  });
  order_.reserve(entries.size());
  offsets_.reserve(entries.size());
  starts_.reserve(entries.size() + 1);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    order_.push_back(entries[i].position);
    if (i == 0 || key_of(entries[i - 1]) != key_of(entries[i])) {
      starts_.push_back(i);
      offsets_.push_back(entries[i].offset);
    }
  }
  starts_.push_back(entries.size());
}

std::string_view header_index::key(std::size_t group) const noexcept {
  return std::string_view(lower_).substr(offsets_[group],
                                         (*fields_)[order_[starts_[group]]].name.size());
}

std::size_t header_index::find(std::string_view name) const {
  const std::string wanted = lowercase(name);
  std::size_t lo = 0, hi = name_count();  // binary search over the groups
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const int c = compare_keys(key(mid), wanted);
    if (c == 0) return mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return name_count();
}

std::span<const std::size_t> header_index::instances(std::size_t group) const noexcept {
  if (group >= name_count()) return {};
  return std::span<const std::size_t>(order_).subspan(starts_[group],
                                                      starts_[group + 1] - starts_[group]);
}

void canonicalize_header(canonicalization c, const header_field& f, std::string& out) {
  if (c == canonicalization::simple)
    out.append(f.raw);
  else
    relaxed(f.name, f.value, out);
  out.append("\r\n", 2);
}

void canonicalize_signed_headers(canonicalization c, const header_index& index,
                                 const std::vector<std::string>& names, std::string& out) {
  // One cursor per distinct name: how many of its instances, from the bottom, are used up. A
  // name listed more often than it occurs runs past its instances and adds nothing.
  std::vector<std::size_t> used(index.name_count(), 0);
  for (const std::string& name : names) {
    const std::size_t group = index.find(name);
    if (group == index.name_count()) continue;  // no such field
    const std::span<const std::size_t> instances = index.instances(group);
    if (used[group] < instances.size())
      canonicalize_header(c, index.fields()[instances[used[group]++]], out);
  }
}

void canonicalize_signed_headers(canonicalization c, const std::vector<header_field>& fields,
                                 const std::vector<std::string>& names, std::string& out) {
  canonicalize_signed_headers(c, header_index(fields), names, out);
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
