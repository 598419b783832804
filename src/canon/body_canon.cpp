#include "canon/body_canon.hpp"

#include <array>
#include <cstring>

namespace dkimkit::detail {
namespace {

// Bytes that end a run of ordinary content in relaxed mode: SP, HTAB, CR.
constexpr std::array<bool, 256> make_special() {
  std::array<bool, 256> t{};
  t[' '] = t['\t'] = t['\r'] = true;
  return t;
}
constexpr auto kRelaxedSpecial = make_special();

}  // namespace

void body_canonicalizer::update(std::string_view in, std::string& out) {
  if (relaxed_)
    update_relaxed(in, out);
  else
    update_simple(in, out);
}

// §3.4.3: the body as it is, less the empty lines at its end.
void body_canonicalizer::update_simple(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (in[i] == '\n') {
        ++held_crlf_;
        ++i;
        continue;
      }
      flush_held(out);
      out.push_back('\r');  // a lone CR is content
    }
    const void* cr = std::memchr(in.data() + i, '\r', n - i);
    std::size_t r = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - in.data()) : n;
    if (r > i) {
      flush_held(out);
      out.append(in.data() + i, r - i);
    }
    if (r == n) break;
    cr_pending_ = true;
    i = r + 1;
  }
}

// §3.4.4: WSP runs become one SP, WSP at line ends goes, empty lines at the end go.
void body_canonicalizer::update_relaxed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  const char* d = in.data();
  while (i < n) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (d[i] == '\n') {
        ++held_crlf_;
        wsp_pending_ = false;
        ++i;
        continue;
      }
      flush_held(out);
      if (wsp_pending_) out.push_back(' ');
      wsp_pending_ = false;
      out.push_back('\r');
      had_output_ = true;
    }
    std::size_t r = i;
    while (r < n && !kRelaxedSpecial[static_cast<unsigned char>(d[r])]) ++r;
    if (r > i) {
      flush_held(out);
      if (wsp_pending_) out.push_back(' ');
      wsp_pending_ = false;
      out.append(d + i, r - i);
      had_output_ = true;
    }
    if (r == n) break;
    if (d[r] == '\r')
      cr_pending_ = true;
    else
      wsp_pending_ = true;
    i = r + 1;
  }
}

void body_canonicalizer::finish(std::string& out) {
  if (cr_pending_) {
    cr_pending_ = false;
    flush_held(out);
    if (relaxed_ && wsp_pending_) out.push_back(' ');
    out.push_back('\r');
    had_output_ = true;
  }
  wsp_pending_ = false;
  held_crlf_ = 0;
  if (!relaxed_ || had_output_) out.append("\r\n", 2);
}

}  // namespace dkimkit::detail
