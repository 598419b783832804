// dkimkit/zone_resolver.hpp: a txt_resolver that answers from an RFC 1035 zone (master) file,
// so keys can be tested or served offline exactly as an operator would publish them.
//
//   auto zone = dkimkit::zone_resolver::load_file("example.com.zone", "example.com");
//   if (!zone) std::cerr << zone.error().detail << '\n';  // "example.com.zone:12: Syntax error..."
//   else opts.resolver = &*zone;
//
// Lifetime: the file is read and parsed once (with ldns) by load_file()/load_string(); the
// resolver keeps its own copy of the data and never touches the file or the network again. It
// must outlive the verification that points at it. Copies share that immutable data, so copying
// is cheap and const lookups are safe from several threads at once. A moved-from resolver answers
// nxdomain to everything. Link the `dkimkit::zone` target.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dkimkit/error.hpp"
#include "dkimkit/resolver.hpp"

namespace dkimkit {

namespace detail {
struct zone_data;
}  // namespace detail

// Answers TXT lookups from the records of one zone file.
//
// Accepted syntax is that of RFC 1035 §5: $ORIGIN (a relative one goes below the current origin,
// as in BIND), $TTL, comments, parentheses spanning lines, relative and absolute owner names, "@",
// an omitted owner (same as the previous record), and several character-strings per TXT record,
// which are joined without a separator (RFC 6376 §3.6.2.2). Escapes (\" \\ \DDD) are decoded
// to bytes. $INCLUDE is not supported.
//
// Lookups (names without a trailing dot, compared ASCII case-insensitively):
// - found:    the name has TXT records of class IN, listed in file order (exact duplicates
//             once, as DNS serves an RRset);
// - nodata:   the name owns other records only, or is an empty non-terminal (an ancestor of
//             an owner name, up to the root);
// - nxdomain: anything else. Never temporary.
// A wildcard owner ("*.example.com") answers for names below its parent that do not exist
// (RFC 4592). A CNAME is followed within the file (at most 8 times); a target missing from the
// file answers nxdomain.
class zone_resolver final : public txt_resolver {
 public:
  // Reads the zone file at `path`. `origin` is the initial origin for relative names (with or
  // without the trailing dot); when it is empty and the file sets no $ORIGIN, relative names
  // are relative to the root.
  // Errors: errc::io_error when the file cannot be read; errc::invalid_argument for a syntax
  // error or a bad `origin`; errc::unsupported for $INCLUDE. The detail names the file, the
  // line ("example.com.zone:12: ...") and the ldns message.
  [[nodiscard]] static result<zone_resolver> load_file(const std::string& path,
                                                       std::string_view origin = {});

  // As load_file(), from zone text in memory. Error details name the source "<string>".
  [[nodiscard]] static result<zone_resolver> load_string(std::string_view text,
                                                         std::string_view origin = {});

  [[nodiscard]] txt_answer lookup_txt(const std::string& name) const override;
  [[nodiscard]] bool answers_at_once() const noexcept override { return true; }

 private:
  explicit zone_resolver(std::shared_ptr<const detail::zone_data> data) noexcept;

  std::shared_ptr<const detail::zone_data> data_;
};

}  // namespace dkimkit
