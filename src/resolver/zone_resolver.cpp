// zone_resolver: TXT answers from an RFC 1035 master file, parsed with ldns.
//
// We drive ldns record by record (ldns_rr_new_frm_fp_l) instead of calling
// ldns_zone_new_frm_fp_l, because the latter (ldns 1.8.3) leaks every record parsed before a
// syntax error, keeps the first SOA apart and silently drops a second one, and turns the SOA
// owner into the origin when none was given. The text is read into memory first and parsed
// through fmemopen(), which also lets us report the exact line of a bad record: ldns's own line
// counter already includes the blank lines it consumed after the record.
#include "dkimkit/zone_resolver.hpp"

#include <ldns/ldns.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dkimkit {

namespace detail {

// One name that exists: an owner name, or an empty non-terminal above one.
struct zone_node {
  std::vector<std::string> txt;  // IN TXT records, each with its strings joined, file order
  std::string cname;             // key of the IN CNAME target, when has_cname
  bool has_cname = false;
};

// Keys are names in lower case, labels joined with '.', no trailing dot ("" is the root).
// A '.' or '\' inside a label is escaped with '\' so that keys stay unambiguous.
struct zone_data {
  std::unordered_map<std::string, zone_node> nodes;
};

}  // namespace detail

namespace {

constexpr int max_cname_hops = 8;
constexpr std::string_view string_source = "<string>";

struct rdf_deleter {
  void operator()(ldns_rdf* p) const noexcept { ldns_rdf_deep_free(p); }
};
struct rr_deleter {
  void operator()(ldns_rr* p) const noexcept { ldns_rr_free(p); }
};
struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using rdf_ptr = std::unique_ptr<ldns_rdf, rdf_deleter>;
using rr_ptr = std::unique_ptr<ldns_rr, rr_deleter>;
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string errno_message(int err) { return std::generic_category().message(err); }

// The key of a wire-format domain name (see detail::zone_data).
std::string key_of_dname(const ldns_rdf* dname) {
  const std::uint8_t* data = ldns_rdf_data(dname);
  const std::size_t size = ldns_rdf_size(dname);
  std::string key;
  std::size_t pos = 0;
  while (pos < size && data[pos] != 0) {
    const std::size_t len = data[pos];
    ++pos;
    if (len > size - pos) break;  // malformed; ldns never builds one
    if (!key.empty()) key += '.';
    for (std::size_t i = 0; i < len; ++i) {
      const char c = ascii_lower(static_cast<char>(data[pos + i]));
      if (c == '.' || c == '\\') key += '\\';
      key += c;
    }
    pos += len;
  }
  return key;
}

// The key of a queried name: lower case, without the trailing dot.
std::string key_of_query(std::string_view name) {
  while (!name.empty() && name.back() == '.' &&
         (name.size() < 2 || name[name.size() - 2] != '\\')) {
    name.remove_suffix(1);
  }
  std::string key(name);
  for (char& c : key) c = ascii_lower(c);
  return key;
}

// The key of the parent name ("" for a single label). `key` must not be the root.
std::string_view parent_of(std::string_view key) noexcept {
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '\\') {
      ++i;
    } else if (key[i] == '.') {
      return key.substr(i + 1);
    }
  }
  return {};
}

// The character-strings of a TXT record joined without separators (RFC 6376 §3.6.2.2).
// Each rdf of type STR holds [length octet][octets].
std::string joined_txt(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* field = ldns_rr_rdf(rr, i);
    if (ldns_rdf_get_type(field) != LDNS_RDF_TYPE_STR || ldns_rdf_size(field) == 0) continue;
    const std::uint8_t* data = ldns_rdf_data(field);
    std::size_t len = data[0];
    if (len > ldns_rdf_size(field) - 1) len = ldns_rdf_size(field) - 1;
    out.append(reinterpret_cast<const char*>(data + 1), len);
  }
  return out;
}

void add_record(detail::zone_data& zone, const ldns_rr* rr) {
  std::string key = key_of_dname(ldns_rr_owner(rr));
  detail::zone_node& node = zone.nodes[key];
  if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN) {
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
      std::string record = joined_txt(rr);
      bool duplicate = false;
      for (const std::string& r : node.txt) duplicate = duplicate || r == record;
      if (!duplicate) node.txt.push_back(std::move(record));
    } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
               ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME) {
      node.cname = key_of_dname(ldns_rr_rdf(rr, 0));
      node.has_cname = true;
    }
  }
  // Every ancestor exists, as an empty non-terminal unless it owns records itself.
  std::string_view name = key;
  while (!name.empty()) {
    name = parent_of(name);
    if (!zone.nodes.try_emplace(std::string(name)).second) break;  // its ancestors are in
  }
}

std::size_t line_at(std::string_view text, std::size_t pos) noexcept {
  std::size_t line = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
  }
  return line;
}

// The offset of the first character of the record ldns read from text[begin, end): ldns's
// reads also take in the comments and blank lines before a record.
std::size_t record_start(std::string_view text, std::size_t begin, std::size_t end) noexcept {
  std::size_t i = begin;
  while (i < end) {
    if (text[i] == ';') {
      while (i < end && text[i] != '\n') ++i;
    } else if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

// "<source>:<line>" or "<source>:<first>-<last>" for the record ldns read from text[begin, end).
std::string record_location(std::string_view text, std::size_t begin, std::size_t end,
                            std::string_view source) {
  if (end > text.size()) end = text.size();
  if (begin > end) begin = end;
  const std::size_t start = record_start(text, begin, end);
  std::size_t last = end;  // ldns also reads the blank lines after a record
  while (last > start && (text[last - 1] == ' ' || text[last - 1] == '\t' ||
                          text[last - 1] == '\r' || text[last - 1] == '\n')) {
    --last;
  }
  const std::size_t first_line = line_at(text, start);
  const std::size_t last_line = last > start ? line_at(text, last - 1) : first_line;
  std::string out(source);
  out += ':';
  out += std::to_string(first_line);
  if (last_line != first_line) out += '-' + std::to_string(last_line);
  return out;
}

// The first line of that record, shortened and printable.
std::string record_excerpt(std::string_view text, std::size_t begin, std::size_t end) {
  constexpr std::size_t max_chars = 60;
  if (end > text.size()) end = text.size();
  if (begin > end) begin = end;
  std::string out;
  for (std::size_t i = record_start(text, begin, end); i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') break;
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) || c == '\t' ? static_cast<char>(c) : '?';
  }
  return out;
}

// Whether the name after "$ORIGIN" (text[pos] onwards) is absolute: ends with an unescaped dot.
bool origin_argument_is_absolute(std::string_view text, std::size_t pos) noexcept {
  constexpr std::string_view delimiters = " \t\r\n;()";
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  bool escaped = false;
  bool ends_with_dot = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (!escaped && delimiters.find(c) != std::string_view::npos) break;
    ends_with_dot = c == '.' && !escaped;
    escaped = !escaped && c == '\\';
  }
  return ends_with_dot;
}

std::string ldns_message(ldns_status status) {
  const char* msg = ldns_get_errorstr_by_id(status);
  if (msg == nullptr) return "ldns status " + std::to_string(static_cast<int>(status));
  return msg;
}

// Parses the zone text. `source` names it in error details.
result<std::shared_ptr<const detail::zone_data>> parse_zone(std::string text,
                                                            std::string_view origin,
                                                            std::string_view source) {
  auto zone = std::make_shared<detail::zone_data>();

  // ldns reads each record into a C string, so a raw NUL would silently cut it short.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    return fail(errc::invalid_argument,
                std::string(source) + ':' + std::to_string(line_at(text, nul)) +
                    ": NUL byte in zone text (write it as \\000 inside a string)");
  }

  const std::string origin_text =
      origin.empty() ? std::string(".") : std::string(origin);  // absolute either way
  rdf_ptr current_origin(ldns_dname_new_frm_str(origin_text.c_str()));
  if (!current_origin) {
    return fail(errc::invalid_argument,
                "bad origin '" + origin_text + "' for " + std::string(source));
  }
  rdf_ptr previous_owner(ldns_rdf_clone(current_origin.get()));
  if (!previous_owner) throw std::bad_alloc();

  if (text.empty()) return zone;  // fmemopen() may refuse an empty buffer
  file_ptr fp(fmemopen(text.data(), text.size(), "r"));
  if (!fp) {
    return fail(errc::io_error, "cannot read " + std::string(source) + ": " + errno_message(errno));
  }

  std::uint32_t default_ttl = 0;  // TTLs play no part in lookups
  int ldns_line = 1;
  while (!std::feof(fp.get()) && !std::ferror(fp.get())) {
    const long begin = std::ftell(fp.get());
    // ldns takes "$ORIGIN sub" as "sub."; RFC 1035 §5.1 (and BIND, NSD, Knot) as "sub" under the
    // current origin. Keep the current origin to append it afterwards.
    std::size_t origin_at = std::string_view::npos;
    rdf_ptr origin_before;
    if (begin >= 0) {
      const std::size_t start = record_start(text, static_cast<std::size_t>(begin), text.size());
      if (std::string_view(text).substr(start).starts_with("$ORIGIN")) {
        origin_at = start + 7;
        origin_before.reset(ldns_rdf_clone(current_origin.get()));
        if (!origin_before) throw std::bad_alloc();
      }
    }
    ldns_rr* raw_rr = nullptr;
    ldns_rdf* raw_origin = current_origin.release();
    ldns_rdf* raw_previous = previous_owner.release();
    const ldns_status status = ldns_rr_new_frm_fp_l(&raw_rr, fp.get(), &default_ttl, &raw_origin,
                                                    &raw_previous, &ldns_line);
    current_origin.reset(raw_origin);
    previous_owner.reset(raw_previous);
    // ldns sets the record only on success; anything else leaves our nullptr in place.
    const rr_ptr rr(status == LDNS_STATUS_OK ? raw_rr : nullptr);
    const long end = std::ftell(fp.get());

    ldns_status problem = status;
    switch (status) {
      case LDNS_STATUS_OK:
        add_record(*zone, rr.get());
        continue;
      case LDNS_STATUS_SYNTAX_EMPTY:  // blank or comment lines only
      case LDNS_STATUS_SYNTAX_TTL:    // $TTL, already applied to default_ttl
        continue;
      case LDNS_STATUS_SYNTAX_ORIGIN:  // $ORIGIN, already applied to current_origin
        if (!origin_before || origin_argument_is_absolute(text, origin_at)) continue;
        problem = ldns_dname_cat(current_origin.get(), origin_before.get());
        if (problem == LDNS_STATUS_OK) continue;
        break;
      case LDNS_STATUS_MEM_ERR:
        throw std::bad_alloc();
      default:
        break;
    }
    if (problem == LDNS_STATUS_MEM_ERR) throw std::bad_alloc();

    std::string where;
    std::string excerpt;
    if (begin >= 0 && end >= begin) {
      const auto b = static_cast<std::size_t>(begin);
      const auto e = static_cast<std::size_t>(end);
      where = record_location(text, b, e, source);
      excerpt = record_excerpt(text, b, e);
    } else {
      where = std::string(source) + ':' + std::to_string(ldns_line);
    }
    if (status == LDNS_STATUS_SYNTAX_INCLUDE) {
      return fail(errc::unsupported, where + ": $INCLUDE is not supported");
    }
    std::string message = where + ": " + ldns_message(problem);
    if (!excerpt.empty()) message += " near \"" + excerpt + '"';
    return fail(errc::invalid_argument, std::move(message));
  }
  if (std::ferror(fp.get())) {
    return fail(errc::io_error, "cannot read " + std::string(source) + ": " + errno_message(errno));
  }
  return zone;
}

result<std::string> read_whole_file(const std::string& path) {
  file_ptr f(std::fopen(path.c_str(), "rb"));
  if (!f) return fail(errc::io_error, "cannot open '" + path + "': " + errno_message(errno));
  std::string text;
  char buffer[65536];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(f.get())) {
    return fail(errc::io_error, "cannot read '" + path + "': " + errno_message(errno));
  }
  return text;
}

}  // namespace

zone_resolver::zone_resolver(std::shared_ptr<const detail::zone_data> data) noexcept
    : data_(std::move(data)) {}

result<zone_resolver> zone_resolver::load_file(const std::string& path, std::string_view origin) {
  result<std::string> text = read_whole_file(path);
  if (!text) return tl::unexpected(text.error());
  auto zone = parse_zone(std::move(*text), origin, path);
  if (!zone) return tl::unexpected(zone.error());
  return zone_resolver(std::move(*zone));
}

result<zone_resolver> zone_resolver::load_string(std::string_view text, std::string_view origin) {
  auto zone = parse_zone(std::string(text), origin, string_source);
  if (!zone) return tl::unexpected(zone.error());
  return zone_resolver(std::move(*zone));
}

txt_answer zone_resolver::lookup_txt(const std::string& name) const {
  txt_answer answer;
  answer.status = dns_status::nxdomain;
  if (!data_) return answer;  // moved from
  const auto& nodes = data_->nodes;

  std::string key = key_of_query(name);
  for (int hop = 0; hop <= max_cname_hops; ++hop) {
    const detail::zone_node* node = nullptr;
    if (auto it = nodes.find(key); it != nodes.end()) {
      node = &it->second;
    } else {
      // RFC 4592: the wildcard child of the closest encloser, if there is one.
      std::string_view encloser = key;
      while (!encloser.empty()) {
        encloser = parent_of(encloser);
        if (nodes.count(std::string(encloser)) == 0) continue;
        auto wild = nodes.find(encloser.empty() ? std::string("*") : "*." + std::string(encloser));
        if (wild != nodes.end()) node = &wild->second;
        break;
      }
    }

    if (node == nullptr) {
      answer.status = dns_status::nxdomain;
      if (hop > 0) answer.detail = "CNAME target '" + key + "' is not in the zone";
      return answer;
    }
    if (!node->txt.empty()) {
      answer.status = dns_status::found;
      answer.records = node->txt;
      return answer;
    }
    if (!node->has_cname) {
      answer.status = dns_status::nodata;
      return answer;
    }
    key = node->cname;
  }
  answer.status = dns_status::nodata;
  answer.detail = "more than " + std::to_string(max_cname_hops) + " CNAMEs in a row";
  return answer;
}

}  // namespace dkimkit
