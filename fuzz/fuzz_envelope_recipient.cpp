// Fuzz target: dkimkit::envelope_recipient, an RFC 5321 Path from RCPT TO as the MTA passes it
// (replay detection counts recipients by it). What it returns is empty or a lowercase
// "local@domain" (or "postmaster") that reads back as itself when bracketed again, unless its
// local part needed quoting; it never holds a control character.
#include <cstddef>
#include <cstdint>
#include <dkimkit/replay.hpp>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

bool needs_quoting(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return true;
  for (std::size_t i = 0; i < local.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c >= 0x80) continue;
    if (c == '.' && i + 1 < local.size() && local[i + 1] != '.') continue;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) continue;
    if (std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos)
      continue;
    return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const std::string r = dkimkit::envelope_recipient(path);
  if (r.empty()) return 0;
  for (char ch : r) {
    const auto c = static_cast<unsigned char>(ch);
    check(c >= 0x20 && c != 0x7f && !(c >= 'A' && c <= 'Z'));
  }
  if (r == "postmaster") return 0;
  const std::size_t at = r.rfind('@');
  check(at != std::string::npos && at + 1 < r.size());
  if (!needs_quoting(std::string_view(r).substr(0, at)))
    check(dkimkit::envelope_recipient("<" + r + ">") == r);
  return 0;
}
