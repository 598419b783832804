#include "canon/body_canon.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dkimkit::detail {
namespace {

constexpr bool is_wsp_or_cr(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

// Where the run of bytes that relaxed canonicalization copies unchanged ends. A run ends at:
// - a HTAB;
// - a SP followed by SP, HTAB or CR (a WSP run or trailing WSP), or by nothing in this chunk;
// - a CR, unless it is followed by LF and then by a byte that is neither WSP nor CR: such a line
//   end is followed by content, so it is not among the empty lines at the end of the body and is
//   copied as it is.
// Ordinary text (single spaces, lines ending without trailing WSP) thus runs for whole
// paragraphs. SSE2 examines 16 bytes a step.
std::size_t relaxed_run_end(const char* d, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  auto wsp_or_cr = [&](__m128i x) {
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, sp), _mm_cmpeq_epi8(x, tab)),
                        _mm_cmpeq_epi8(x, cr));
  };
  while (i + 18 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
    __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i + 1));
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i + 2));
    __m128i line_end_ok = _mm_andnot_si128(wsp_or_cr(x), _mm_cmpeq_epi8(w, lf));
    __m128i bad_cr = _mm_andnot_si128(line_end_ok, _mm_cmpeq_epi8(v, cr));
    __m128i ends = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), bad_cr),
                                _mm_and_si128(_mm_cmpeq_epi8(v, sp), wsp_or_cr(w)));
    int mask = _mm_movemask_epi8(ends);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  for (; i < n; ++i) {
    char c = d[i];
    if (c == '\t') return i;
    if (c == ' ' && (i + 1 == n || is_wsp_or_cr(d[i + 1]))) return i;
    if (c == '\r' && !(i + 2 < n && d[i + 1] == '\n' && !is_wsp_or_cr(d[i + 2]))) return i;
  }
  return n;
}

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

namespace {

// Appends to a string through a raw pointer: one capacity check per piece instead of the
// bookkeeping of std::string::append and push_back, which dominated relaxed canonicalization.
class writer {
 public:
  writer(std::string& out, std::size_t expect) : out_(out), used_(out.size()) {
    out_.resize(used_ + expect);
  }
  ~writer() { out_.resize(used_); }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  void put(char c) {
    ensure(1);
    out_[used_++] = c;
  }
  void put(const char* p, std::size_t n) {
    ensure(n);
    std::memcpy(out_.data() + used_, p, n);
    used_ += n;
  }
  void crlfs(std::uint64_t count) {
    ensure(static_cast<std::size_t>(count) * 2);
    char* w = out_.data() + used_;
    for (std::uint64_t k = 0; k < count; ++k) {
      *w++ = '\r';
      *w++ = '\n';
    }
    used_ += static_cast<std::size_t>(count) * 2;
  }

 private:
  void ensure(std::size_t n) {
    if (out_.size() - used_ < n) out_.resize(std::max(out_.size() * 2, used_ + n + 64));
  }
  std::string& out_;
  std::size_t used_;
};

}  // namespace

// §3.4.4: WSP runs become one SP, WSP at line ends goes, empty lines at the end go.
void body_canonicalizer::update_relaxed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  const char* d = in.data();
  writer w(out, n + 2);
  // Content is about to be written: first the line ends held back, then the pending SP.
  auto before_content = [&] {
    if (held_crlf_ > 0) {
      w.crlfs(held_crlf_);
      held_crlf_ = 0;
    }
    if (wsp_pending_) w.put(' ');
    wsp_pending_ = false;
    had_output_ = true;
  };
  while (i < n) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (d[i] == '\n') {
        ++held_crlf_;
        wsp_pending_ = false;
        ++i;
        continue;
      }
      before_content();
      w.put('\r');  // a lone CR is content
    }
    if (wsp_pending_) {
      // Inside a WSP run: the rest of it collapses into the SP already pending.
      while (i < n && (d[i] == ' ' || d[i] == '\t')) ++i;
      if (i == n) break;
      if (d[i] == '\r') {
        cr_pending_ = true;
        ++i;
        continue;
      }
    }
    std::size_t r = relaxed_run_end(d, i, n);
    if (r > i) {
      before_content();
      w.put(d + i, r - i);
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

std::string canonical_body(canonicalization c, std::string_view body) {
  body_canonicalizer canon(c);
  std::string out;
  canon.update(body, out);
  canon.finish(out);
  return out;
}

}  // namespace dkimkit::detail
