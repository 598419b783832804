// OpenDKIM's KeyTable and SigningTable (dkimkit/signing_table.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <dkimkit/signing_table.hpp>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/strings.hpp"

namespace dkimkit {

namespace {

using detail::is_dns_name;
using detail::lowercase;
using detail::to_lower;
using detail::trim_fws;

// A "refile:" pattern, compiled once: the literal pieces between its "*"s (lowercased), each
// with its KMP failure table. Matching finds the pieces leftmost in turn, which is exact for a
// pattern whose only wildcard is "*", and reads each character of the text once.
class glob {
 public:
  explicit glob(std::string_view pattern) {
    std::string piece;
    for (char c : pattern) {
      if (c == '*') {
        pieces_.push_back(std::move(piece));
        piece.clear();
      } else {
        piece += to_lower(c);
      }
    }
    pieces_.push_back(std::move(piece));
    failure_.reserve(pieces_.size());
    for (const std::string& p : pieces_) failure_.push_back(failure_table(p));
  }

  // `text` is lowercased.
  [[nodiscard]] bool matches(std::string_view text) const noexcept {
    if (pieces_.size() == 1) return text == pieces_.front();
    const std::string& first = pieces_.front();
    const std::string& last = pieces_.back();
    if (text.size() < first.size() + last.size()) return false;
    if (!text.starts_with(first) || !text.ends_with(last)) return false;
    std::string_view middle = text.substr(first.size(), text.size() - first.size() - last.size());
    std::size_t at = 0;
    for (std::size_t i = 1; i + 1 < pieces_.size(); ++i) {
      std::size_t end = find(pieces_[i], failure_[i], middle, at);
      if (end == std::string_view::npos) return false;
      at = end;
    }
    return true;
  }

 private:
  static std::vector<std::uint32_t> failure_table(const std::string& p) {
    std::vector<std::uint32_t> f(p.size(), 0);
    std::uint32_t k = 0;
    for (std::size_t i = 1; i < p.size(); ++i) {
      while (k > 0 && p[i] != p[k]) k = f[k - 1];
      if (p[i] == p[k]) ++k;
      f[i] = k;
    }
    return f;
  }

  // The end of the first occurrence of `p` in text[from..], or npos.
  static std::size_t find(const std::string& p, const std::vector<std::uint32_t>& f,
                          std::string_view text, std::size_t from) noexcept {
    if (p.empty()) return from;
    std::size_t k = 0;
    for (std::size_t i = from; i < text.size(); ++i) {
      while (k > 0 && text[i] != p[k]) k = f[k - 1];
      if (text[i] == p[k]) ++k;
      if (k == p.size()) return i + 1;
    }
    return std::string_view::npos;
  }

  std::vector<std::string> pieces_;
  std::vector<std::vector<std::uint32_t>> failure_;
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// key -> the index of its first row; rows of the same key follow each other through `next`.
using row_index = std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>>;
constexpr std::uint32_t no_row = UINT32_MAX;

// A key or value of a table, fit to be quoted in an error: printable ASCII but "'", at most 60.
std::string quotable(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 60)) out += c > 0x20 && c < 0x7f && c != '\'' ? c : '?';
  if (v.size() > 60) out += "...";
  return out;
}

std::string where(std::string_view source, std::size_t line) {
  return std::string(source) + ":" + std::to_string(line) + ": ";
}

// Calls row(line, key, value) for each row of `text`; stops at the first error.
template <class Row>
result<void> for_each_row(std::string_view text, std::string_view source,
                          const table_limits& limits, std::size_t max_rows, Row&& row) {
  if (text.size() > limits.max_bytes)
    return fail(errc::invalid_argument, std::string(source) + ": larger than " +
                                            std::to_string(limits.max_bytes) + " bytes");
  std::size_t line_no = 0, rows = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > limits.max_line)
      return fail(errc::invalid_argument, where(source, line_no) + "line longer than " +
                                              std::to_string(limits.max_line) + " bytes");
    for (char c : line)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return fail(errc::invalid_argument, where(source, line_no) + "control character");
    if (std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim_fws(line);
    if (line.empty()) continue;
    std::size_t ws = line.find_first_of(" \t");
    if (ws == std::string_view::npos)
      return fail(errc::invalid_argument,
                  where(source, line_no) + "no value after '" + quotable(line) + "'");
    if (++rows > max_rows)
      return fail(errc::invalid_argument,
                  where(source, line_no) + "more than " + std::to_string(max_rows) + " rows");
    std::string_view key = line.substr(0, ws);
    std::string_view value = trim_fws(line.substr(ws));
    if (value.find_first_of(" \t") != std::string_view::npos)
      return fail(errc::invalid_argument, where(source, line_no) +
                                              "white space inside the value of '" + quotable(key) +
                                              "' (entries are separated by ':')");
    if (auto r = row(line_no, key, value); !r) return r;
  }
  return {};
}

result<std::string> read_table_file(const std::string& path, const table_limits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, path + ": cannot open");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limits.max_bytes)
      return fail(errc::invalid_argument,
                  path + ": larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (in.bad()) return fail(errc::io_error, path + ": read error");
  return text;
}

// The number of lines of `text` (at most max_rows + 1), to reserve room for its rows at once.
std::size_t expected_rows(std::string_view text, const table_limits& limits) {
  if (text.size() > limits.max_bytes) return 0;
  auto n = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  return std::min(n, std::max(limits.max_rows, limits.max_patterns) + 1);
}

// Table::parse of the file a data set names; errors name the file.
template <class Table>
result<Table> load_table(std::string_view spec, const table_limits& limits) {
  table_source s = parse_table_source(spec);
  auto text = read_table_file(s.path, limits);
  if (!text) return tl::unexpected(std::move(text.error()));
  return Table::parse(*text, s.kind, s.path, limits);
}

// A selector: labels of letters, digits, '-' and '_' (RFC 6376 §3.1).
bool is_selector(std::string_view s) noexcept { return is_dns_name(s, 1); }

void replace_percent(std::string& s, std::string_view domain) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '%')
      out += domain;
    else
      out += c;
  }
  s = std::move(out);
}

// The address part of an i= value: "[local]@domain" with domain d= or below it.
bool signer_within(std::string_view signer, std::string_view sdid) {
  std::size_t at = signer.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string d = lowercase(signer.substr(at + 1));
  std::string s = lowercase(sdid);
  return d == s || (d.size() > s.size() && d.ends_with(s) && d[d.size() - s.size() - 1] == '.');
}

}  // namespace

namespace detail {

struct key_table_impl {
  table_kind kind = table_kind::plain;
  std::vector<key_table_entry> rows;
  std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> by_name;  // plain
  std::vector<glob> patterns;                                                            // refile
};

struct signing_table_impl {
  table_kind kind = table_kind::plain;
  std::vector<signing_table_entry> rows;
  std::vector<std::uint32_t> next;  // plain: the next row of the same key, or no_row
  row_index first;                  // plain
  std::vector<glob> patterns;       // refile, one per row
};

}  // namespace detail

table_source parse_table_source(std::string_view spec) {
  if (spec.starts_with("refile:")) return {table_kind::refile, std::string(spec.substr(7))};
  if (spec.starts_with("file:")) return {table_kind::plain, std::string(spec.substr(5))};
  return {table_kind::plain, std::string(spec)};
}

bool key_table_entry::key_is_file() const noexcept {
  return key.starts_with('/') || key.starts_with("./") || key.starts_with("../");
}

key_table::key_table() : impl_(std::make_shared<detail::key_table_impl>()) {}

result<key_table> key_table::parse(std::string_view text, table_kind kind, std::string_view source,
                                   const table_limits& limits) {
  auto impl = std::make_shared<detail::key_table_impl>();
  impl->kind = kind;
  std::size_t lines = expected_rows(text, limits);
  impl->rows.reserve(lines);
  if (kind == table_kind::plain) impl->by_name.reserve(lines);
  std::size_t max_rows = kind == table_kind::plain ? limits.max_rows : limits.max_patterns;
  auto r = for_each_row(
      text, source, limits, max_rows,
      [&](std::size_t line, std::string_view name, std::string_view value) -> result<void> {
        std::array<std::string_view, 4> f;
        std::size_t fields = 0;
        for (std::string_view rest = value;; ++fields) {
          std::size_t colon = rest.find(':');
          if (fields < f.size()) f[fields] = rest.substr(0, colon);
          if (colon == std::string_view::npos) break;
          rest = rest.substr(colon + 1);
        }
        ++fields;
        if (fields != 3 && fields != 4)
          return fail(errc::invalid_argument,
                      where(source, line) + "'" + quotable(name) +
                          "': expected DOMAIN:SELECTOR:KEY[:ALGORITHM], got " +
                          std::to_string(fields) + " field(s)");
        key_table_entry e;
        e.name = std::string(name);
        e.domain = lowercase(f[0]);
        e.selector = std::string(f[1]);
        e.key = std::string(f[2]);
        e.line = line;
        if (e.domain != "%" && !is_dns_name(e.domain, 1))
          return fail(errc::invalid_argument, where(source, line) + "'" + quotable(name) +
                                                  "': domain '" + quotable(f[0]) +
                                                  "' is neither a domain name nor %");
        if (!is_selector(e.selector))
          return fail(errc::invalid_argument, where(source, line) + "'" + quotable(name) +
                                                  "': selector '" + quotable(f[1]) +
                                                  "' is not a selector");
        if (e.key.empty())
          return fail(errc::invalid_argument,
                      where(source, line) + "'" + quotable(name) + "': empty key");
        if (fields == 4) {
          auto a = parse_algorithm(f[3]);
          if (!a || *a == algorithm::rsa_sha1)
            return fail(errc::invalid_argument, where(source, line) + "'" + quotable(name) +
                                                    "': algorithm '" + quotable(f[3]) +
                                                    "' is neither rsa-sha256 nor ed25519-sha256");
          e.algo = *a;
        }
        auto index = static_cast<std::uint32_t>(impl->rows.size());
        if (kind == table_kind::plain) {
          auto [it, added] = impl->by_name.try_emplace(e.name, index);
          if (!added)
            return fail(errc::invalid_argument, where(source, line) + "key name '" +
                                                    quotable(name) + "' already defined at line " +
                                                    std::to_string(impl->rows[it->second].line));
        } else {
          impl->patterns.emplace_back(name);
        }
        impl->rows.push_back(std::move(e));
        return {};
      });
  if (!r) return tl::unexpected(std::move(r.error()));
  key_table t;
  t.impl_ = std::move(impl);
  return t;
}

result<key_table> key_table::load(std::string_view spec, const table_limits& limits) {
  return load_table<key_table>(spec, limits);
}

const key_table_entry* key_table::find(std::string_view name) const noexcept {
  if (impl_->kind == table_kind::plain) {
    auto it = impl_->by_name.find(name);
    return it == impl_->by_name.end() ? nullptr : &impl_->rows[it->second];
  }
  std::string lower = lowercase(name);
  for (std::size_t i = 0; i < impl_->patterns.size(); ++i)
    if (impl_->patterns[i].matches(lower)) return &impl_->rows[i];
  return nullptr;
}

std::size_t key_table::size() const noexcept { return impl_->rows.size(); }
table_kind key_table::kind() const noexcept { return impl_->kind; }
std::span<const key_table_entry> key_table::rows() const noexcept { return impl_->rows; }

signing_table::signing_table() : impl_(std::make_shared<detail::signing_table_impl>()) {}

result<signing_table> signing_table::parse(std::string_view text, table_kind kind,
                                           std::string_view source, const table_limits& limits) {
  auto impl = std::make_shared<detail::signing_table_impl>();
  impl->kind = kind;
  std::vector<std::uint32_t> last_of;  // for the first row of a key: its last row
  std::size_t lines = expected_rows(text, limits);
  impl->rows.reserve(lines);
  if (kind == table_kind::plain) {
    impl->first.reserve(lines);
    impl->next.reserve(lines);
    last_of.reserve(lines);
  }
  std::size_t max_rows = kind == table_kind::plain ? limits.max_rows : limits.max_patterns;
  auto r = for_each_row(
      text, source, limits, max_rows,
      [&](std::size_t line, std::string_view key, std::string_view value) -> result<void> {
        std::size_t colon = value.find(':');
        signing_table_entry e;
        e.key = lowercase(key);
        e.key_name = std::string(value.substr(0, colon));
        e.line = line;
        if (e.key_name.empty())
          return fail(errc::invalid_argument,
                      where(source, line) + "'" + quotable(key) + "': empty key name");
        if (colon != std::string_view::npos) {
          std::string_view signer = value.substr(colon + 1);
          if (signer.empty() || signer.find(':') != std::string_view::npos ||
              signer.find('@') == std::string_view::npos)
            return fail(errc::invalid_argument, where(source, line) + "'" + quotable(key) +
                                                    "': signer '" + quotable(signer) +
                                                    "' is not an address");
          e.signer = std::string(signer);
        }
        auto index = static_cast<std::uint32_t>(impl->rows.size());
        if (kind == table_kind::plain) {
          impl->next.push_back(no_row);
          auto [it, added] = impl->first.try_emplace(e.key, index);
          if (added) {
            last_of.push_back(index);
          } else {
            last_of.push_back(no_row);
            std::uint32_t& last = last_of[it->second];
            impl->next[last] = index;
            last = index;
          }
        } else {
          impl->patterns.emplace_back(e.key);
        }
        impl->rows.push_back(std::move(e));
        return {};
      });
  if (!r) return tl::unexpected(std::move(r.error()));
  signing_table t;
  t.impl_ = std::move(impl);
  return t;
}

result<signing_table> signing_table::load(std::string_view spec, const table_limits& limits) {
  return load_table<signing_table>(spec, limits);
}

std::size_t signing_table::size() const noexcept { return impl_->rows.size(); }
table_kind signing_table::kind() const noexcept { return impl_->kind; }

std::vector<const signing_table_entry*> signing_table::lookup(std::string_view local_part,
                                                              std::string_view domain,
                                                              bool multiple) const {
  std::vector<const signing_table_entry*> out;
  const detail::signing_table_impl& t = *impl_;
  std::string user = lowercase(local_part);
  std::string host = lowercase(domain);
  std::string address = user + "@" + host;

  if (t.kind == table_kind::refile) {
    for (std::size_t i = 0; i < t.patterns.size(); ++i) {
      if (!t.patterns[i].matches(address)) continue;
      out.push_back(&t.rows[i]);
      if (!multiple) break;
    }
    return out;
  }

  // Adds the rows of `key`; true when the search is over.
  auto try_key = [&](std::string_view key) {
    auto it = t.first.find(key);
    if (it == t.first.end()) return false;
    for (std::uint32_t i = it->second; i != no_row; i = t.next[i]) {
      out.push_back(&t.rows[i]);
      if (!multiple) return true;
    }
    return false;
  };
  if (try_key(address) || try_key(host)) return out;
  std::string key;
  for (std::size_t dot = host.find('.'); dot != std::string::npos; dot = host.find('.', dot + 1)) {
    key.assign(user).append("@").append(host, dot);
    if (try_key(key)) return out;
  }
  for (std::size_t dot = host.find('.'); dot != std::string::npos; dot = host.find('.', dot + 1))
    if (try_key(std::string_view(host).substr(dot))) return out;
  key.assign(user).append("@*");
  if (try_key(key) || try_key("*")) return out;
  return out;
}

result<std::vector<selected_key>> select_keys(const signing_table& signing, const key_table& keys,
                                              std::string_view local_part, std::string_view domain,
                                              bool multiple) {
  std::vector<selected_key> out;
  std::unordered_set<std::string> chosen;
  std::string host = lowercase(domain);
  bool host_ok = is_dns_name(host, 1);
  auto need_domain = [&](std::string_view what, std::size_t line) -> result<void> {
    if (host_ok) return {};
    return fail(errc::invalid_argument, "signing table line " + std::to_string(line) + ": " +
                                            std::string(what) + " needs the sender's domain, '" +
                                            quotable(domain) + "' is not a domain name");
  };
  for (const signing_table_entry* row : signing.lookup(local_part, domain, multiple)) {
    std::string name = row->key_name;
    if (name == "%") {
      if (auto r = need_domain("key name %", row->line); !r) return tl::unexpected(r.error());
      name = host;
    }
    if (!chosen.insert(name).second) continue;  // each key signs once
    const key_table_entry* e = keys.find(name);
    if (!e)
      return fail(errc::invalid_argument, "signing table line " + std::to_string(row->line) +
                                              ": key '" + quotable(name) +
                                              "' is not in the key table");
    selected_key k;
    k.key_name = std::move(name);
    k.sdid = e->domain;
    k.selector = e->selector;
    k.key = e->key;
    k.key_is_file = e->key_is_file();
    k.algo = e->algo;
    k.signing_line = row->line;
    k.key_line = e->line;
    if (k.sdid == "%") {
      if (auto r = need_domain("domain %", e->line); !r) return tl::unexpected(r.error());
      k.sdid = host;
    }
    if (k.key.find('%') != std::string::npos) {
      if (auto r = need_domain("a key with %", e->line); !r) return tl::unexpected(r.error());
      replace_percent(k.key, host);
    }
    if (row->signer) {
      std::string signer = *row->signer;
      if (signer.find('%') != std::string::npos) {
        if (auto r = need_domain("signer %", row->line); !r) return tl::unexpected(r.error());
        replace_percent(signer, host);
      }
      if (signer_within(signer, k.sdid)) k.auid = std::move(signer);
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace dkimkit
