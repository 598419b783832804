// Fuzz target: dkimkit::parse_mailbox_list and the author domain, the value of a From field
// (RFC 5322 §3.4 address list). A parse gives mailboxes with a local part and a lowercased domain
// free of control characters, that written back in canonical form parse the same; the author
// domain is the domain of the only mailbox, a DNS name, or an error; never anything else.
#include <cstddef>
#include <cstdint>
#include <dkimkit/policy.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

bool has_control_or_upper(std::string_view s, bool upper) {
  for (char c : s)
    if ((c >= 0 && c < 0x20 && c != '\t') || c == 0x7f || (upper && c >= 'A' && c <= 'Z'))
      return true;
  return false;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  auto boxes = dkimkit::parse_mailbox_list(value);
  auto author = dkimkit::author_domain(value);
  const std::string_view one[] = {value};
  auto all = dkimkit::author_domains(one);
  if (!boxes) {
    check(boxes.error().code == dkimkit::errc::invalid_argument &&
          boxes.error().detail.starts_with("From: "));
    check(!author && !all);
    return 0;
  }
  std::string canonical;
  for (const dkimkit::mailbox& m : *boxes) {
    // The local part may be empty: "" is a quoted-string.
    check(!m.domain.empty() && m.domain.back() != '.');
    check(!has_control_or_upper(m.display_name, false) &&
          !has_control_or_upper(m.local_part, false));
    check(!has_control_or_upper(m.domain, true) && m.domain.find(' ') == std::string::npos);
    if (!canonical.empty()) canonical += ", ";
    canonical += quoted(m.display_name) + " <" + quoted(m.local_part) + "@" + m.domain + ">";
  }
  if (!canonical.empty() && canonical.size() <= 16384) {
    auto again = dkimkit::parse_mailbox_list(canonical);
    check(again && *again == *boxes);
  }
  if (author) {
    check(boxes->size() == 1 && boxes->front().domain == *author);
    check(all && all->size() == 1 && all->front() == *author);
  }
  if (all)
    for (const std::string& d : *all) check(!d.empty() && d.size() <= 253 && d.front() != '[');
  if (boxes->size() != 1) check(!author);
  return 0;
}
