#include "canon/body_canon.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define DKIMKIT_X86_DISPATCH 1
#endif

namespace dkimkit::detail {
namespace {

// Bytes after which a SP or a CR cannot be copied unchanged: WSP, CR, and (when a bare LF ends a
// line) LF.
constexpr bool is_wsp_cr(char c, bool lf_mode) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || (lf_mode && c == '\n');
}

// Where relaxed canonicalization cannot copy a byte unchanged. A run of copied bytes ends at:
// - a HTAB;
// - a SP followed by SP, HTAB, CR (or LF in `lf_mode`): a WSP run or trailing WSP; or followed
//   by nothing in this chunk;
// - a CR, unless it is followed by LF and then by a byte that is none of WSP, CR (nor LF in
//   `lf_mode`): such a line end is followed by content, so it is not among the empty lines at the
//   end of the body and is copied as it is;
// - in `lf_mode`, a bare LF (not after a CR): a line end the output writes as CRLF.
// (Without `lf_mode` a bare LF is content.)
// Ordinary text (single spaces, CRLF line ends without trailing WSP) thus runs for whole
// paragraphs. `prev_cr`: whether the byte before d[i] is a CR (never so at the start of a chunk:
// a CR that ends a chunk is always a break, and its LF is taken by the caller).
bool scalar_break(const char* d, std::size_t i, std::size_t n, bool prev_cr,
                  bool lf_mode) noexcept {
  const char c = d[i];
  if (c == '\t') return true;
  if (c == ' ') return i + 1 == n || is_wsp_cr(d[i + 1], lf_mode);
  if (c == '\r') return !(i + 2 < n && d[i + 1] == '\n' && !is_wsp_cr(d[i + 2], lf_mode));
  if (c == '\n') return lf_mode && !prev_cr;
  return false;
}

// The same for the 64 bytes at p (p[0..66) readable), as a bit mask (bit k: p[k] ends a run).
// Computed from four masks (SP, HTAB, CR, LF) with 64-bit shifts for the look-ahead, so that
// the cost is per 64 bytes of input whatever the number of breaks in them.
struct byte_masks {
  std::uint64_t sp, tab, cr, lf;
};

inline std::uint64_t breaks_from_masks(const byte_masks& m, const char* p, bool prev_cr,
                                       bool lf_mode) noexcept {
  const std::uint64_t lfw = lf_mode ? m.lf : 0;  // LFs that count as line ends
  const std::uint64_t w = m.sp | m.tab | m.cr | lfw;
  const std::uint64_t w64 = is_wsp_cr(p[64], lf_mode) ? 1 : 0;
  const std::uint64_t w65 = is_wsp_cr(p[65], lf_mode) ? 1 : 0;
  const std::uint64_t lf64 = p[64] == '\n' ? 1 : 0;
  const std::uint64_t w1 = (w >> 1) | (w64 << 63);                // the next byte is WSP/CR/LF
  const std::uint64_t w2 = (w >> 2) | (w64 << 62) | (w65 << 63);  // the byte after it
  const std::uint64_t lf1 = (m.lf >> 1) | (lf64 << 63);           // the next byte is LF
  const std::uint64_t cr_before = (m.cr << 1) | (prev_cr ? 1 : 0);
  return m.tab | (m.sp & w1) | (m.cr & ~(lf1 & ~w2)) | (lfw & ~cr_before);
}

// The four masks of the 64 bytes at p.
#if !defined(__SSE2__)
inline byte_masks classify64_scalar(const char* p) noexcept {
  byte_masks m{0, 0, 0, 0};
  for (unsigned k = 0; k < 64; ++k) {
    const std::uint64_t bit = std::uint64_t{1} << k;
    switch (p[k]) {
      case ' ':
        m.sp |= bit;
        break;
      case '\t':
        m.tab |= bit;
        break;
      case '\r':
        m.cr |= bit;
        break;
      case '\n':
        m.lf |= bit;
        break;
      default:
        break;
    }
  }
  return m;
}
#endif

#if defined(__SSE2__)
inline byte_masks classify64_sse2(const char* p) noexcept {
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  byte_masks m{0, 0, 0, 0};
  for (unsigned k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    auto bits = [&](__m128i eq) {
      return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(eq)))
             << (16 * k);
    };
    m.sp |= bits(_mm_cmpeq_epi8(v, sp));
    m.tab |= bits(_mm_cmpeq_epi8(v, tab));
    m.cr |= bits(_mm_cmpeq_epi8(v, cr));
    m.lf |= bits(_mm_cmpeq_epi8(v, lf));
  }
  return m;
}
#endif

#if defined(DKIMKIT_X86_DISPATCH)
__attribute__((target("avx2"), always_inline)) inline byte_masks classify64_avx2(
    const char* p) noexcept {
  const __m256i sp = _mm256_set1_epi8(' ');
  const __m256i tab = _mm256_set1_epi8('\t');
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  // (no lambda: it would not inherit the target attribute)
#define DKIMKIT_BITS256(l, h)                                                        \
  (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(l))) | \
   (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(h))) << 32))
  const byte_masks m{DKIMKIT_BITS256(_mm256_cmpeq_epi8(lo, sp), _mm256_cmpeq_epi8(hi, sp)),
                     DKIMKIT_BITS256(_mm256_cmpeq_epi8(lo, tab), _mm256_cmpeq_epi8(hi, tab)),
                     DKIMKIT_BITS256(_mm256_cmpeq_epi8(lo, cr), _mm256_cmpeq_epi8(hi, cr)),
                     DKIMKIT_BITS256(_mm256_cmpeq_epi8(lo, lf), _mm256_cmpeq_epi8(hi, lf))};
#undef DKIMKIT_BITS256
  return m;
}
#endif

constexpr std::size_t kHard = static_cast<std::size_t>(-1);

// Relaxed canonicalization of the 64 bytes d[i, i + 64) (d[i + 64, i + 128) readable) in one
// go, when they need nothing but what 64-bit masks can say: WSP runs inside lines (the first WSP
// written as SP, the others dropped), CRLF line ends followed by content (copied), with `lf_mode`
// bare LFs followed by content (written as CRLF), and up to 4 WSP before such a line end (dropped).
// The caller's state must be plain (no CR or WSP pending, no line ends held). Returns the bytes
// written at `dst` (which has room for 192), or kHard when the block has anything else: a CR not
// followed by LF and content, longer trailing WSP or WSP before a lone CR, a WSP run that goes on
// past the block, a line end followed by WSP or by another line end. Those blocks take the
// byte-wise state machine.
__attribute__((always_inline)) inline std::size_t relaxed_block(const byte_masks& m, const char* d,
                                                                std::size_t i, bool lf_mode,
                                                                char* dst) noexcept {
  const char* p = d + i;
  const bool prev_wsp = i > 0 && (d[i - 1] == ' ' || d[i - 1] == '\t');
  const bool prev_cr = i > 0 && d[i - 1] == '\r';
  const std::uint64_t line_lf = lf_mode ? m.lf : 0;
  const std::uint64_t wsp = m.sp | m.tab;
  const std::uint64_t blank = wsp | m.cr | line_lf;  // WSP, CR, LF that ends a line
  auto bit63 = [](bool b) { return static_cast<std::uint64_t>(b) << 63; };
  const char c64 = p[64], c65 = p[65];
  const bool wsp64 = c64 == ' ' || c64 == '\t';
  const bool line64 = c64 == '\r' || (lf_mode && c64 == '\n');
  const std::uint64_t blank1 = (blank >> 1) | bit63(wsp64 || line64);
  const std::uint64_t blank2 = (blank >> 2) | (static_cast<std::uint64_t>(wsp64 || line64) << 62) |
                               bit63(is_wsp_cr(c65, lf_mode));
  const std::uint64_t lf1 = (m.lf >> 1) | bit63(c64 == '\n');
  const std::uint64_t wsp1 = (wsp >> 1) | bit63(wsp64);
  const std::uint64_t line1 = ((m.cr | line_lf) >> 1) | bit63(line64);
  const std::uint64_t cr_before = (m.cr << 1) | (prev_cr ? 1 : 0);
  const std::uint64_t bare_lf = line_lf & ~cr_before;
  // A line end followed by content (the CR of a CRLF, or a bare LF), and the WSP runs of up to 4
  // bytes just before one: trailing WSP, dropped.
  const std::uint64_t good_end = (m.cr & lf1 & ~blank2) | (bare_lf & ~blank1);
  const std::uint64_t t1 = wsp & (good_end >> 1);
  const std::uint64_t t2 = wsp & (t1 >> 1);
  const std::uint64_t t3 = wsp & (t2 >> 1);
  const std::uint64_t t4 = wsp & (t3 >> 1);
  const std::uint64_t trailing = t1 | t2 | t3 | t4;
  const std::uint64_t hard = (m.cr & ~(lf1 & ~blank2)) | (wsp & line1 & ~t1) |
                             (wsp & wsp1 & bit63(true)) | (bare_lf & blank1) | (wsp & (t4 >> 1)) |
                             (trailing & (prev_wsp ? 1 : 0));
  if (hard != 0) return kHard;
  const std::uint64_t drop =
      (wsp & ((wsp << 1) | (prev_wsp ? 1 : 0))) | trailing;  // WSP after WSP, trailing WSP
  const std::uint64_t kept_tab = m.tab & ~drop;              // written as SP
  std::uint64_t events = drop | bare_lf | kept_tab;
  // Between events the input is copied; at an event, without branches: a dropped WSP is skipped,
  // a kept HTAB is replaced by SP, a bare LF gets a CR written before it.
  char* o = dst;
  std::size_t from = 0;
  while (events != 0) {
    const auto at = static_cast<std::size_t>(__builtin_ctzll(events));
    events &= events - 1;
    std::memcpy(o, p + from, 64);  // bytes [from, at) are kept; the rest is rewritten
    o += at - from;
    const std::size_t cr_added = (bare_lf >> at) & 1;
    const std::size_t sp_added = (kept_tab >> at) & 1;
    *o = cr_added ? '\r' : ' ';
    o += cr_added | sp_added;
    from = at + 1 - cr_added;
  }
  std::memcpy(o, p + from, 64);
  o += 64 - from;
  return static_cast<std::size_t>(o - dst);
}

// The implementations for each instruction set (the mask code inlined into each).
#if !defined(__SSE2__)
std::uint64_t breaks64_scalar(const char* p, bool prev_cr, bool lf_mode) noexcept {
  return breaks_from_masks(classify64_scalar(p), p, prev_cr, lf_mode);
}
std::size_t relaxed_block_scalar(const char* d, std::size_t i, bool lf_mode, char* dst) noexcept {
  return relaxed_block(classify64_scalar(d + i), d, i, lf_mode, dst);
}
#else
std::uint64_t breaks64_sse2(const char* p, bool prev_cr, bool lf_mode) noexcept {
  return breaks_from_masks(classify64_sse2(p), p, prev_cr, lf_mode);
}
std::size_t relaxed_block_sse2(const char* d, std::size_t i, bool lf_mode, char* dst) noexcept {
  return relaxed_block(classify64_sse2(d + i), d, i, lf_mode, dst);
}
#endif
#if defined(DKIMKIT_X86_DISPATCH)
__attribute__((target("avx2"))) std::uint64_t breaks64_avx2(const char* p, bool prev_cr,
                                                            bool lf_mode) noexcept {
  return breaks_from_masks(classify64_avx2(p), p, prev_cr, lf_mode);
}
__attribute__((target("avx2"))) std::size_t relaxed_block_avx2(const char* d, std::size_t i,
                                                               bool lf_mode, char* dst) noexcept {
  return relaxed_block(classify64_avx2(d + i), d, i, lf_mode, dst);
}
#endif

struct block_functions {
  std::uint64_t (*breaks64)(const char*, bool, bool) noexcept;
  std::size_t (*relaxed_block)(const char*, std::size_t, bool, char*) noexcept;
};

// The widest implementation this CPU runs, chosen once.
block_functions pick_block_functions() noexcept {
#if defined(DKIMKIT_X86_DISPATCH)
  if (__builtin_cpu_supports("avx2")) return {breaks64_avx2, relaxed_block_avx2};
#endif
#if defined(__SSE2__)
  return {breaks64_sse2, relaxed_block_sse2};
#else
  return {breaks64_scalar, relaxed_block_scalar};
#endif
}

const block_functions kBlock = pick_block_functions();

// Finds the next break at or after a position, keeping the mask of the 64-byte block last
// computed: between two breaks in one block nothing is scanned again.
class break_finder {
 public:
  break_finder(const char* d, std::size_t n, bool lf_mode) noexcept
      : d_(d), n_(n), lf_mode_(lf_mode) {}
  std::size_t next(std::size_t i) noexcept {
    for (;;) {
      if (i >= block_ && i < block_ + 64) {
        const std::uint64_t m = mask_ >> (i - block_);
        if (m != 0) return i + static_cast<std::size_t>(__builtin_ctzll(m));
        i = block_ + 64;
      }
      if (i > n_ || n_ - i < 66) break;
      block_ = i;
      mask_ = kBlock.breaks64(d_ + i, i > 0 && d_[i - 1] == '\r', lf_mode_);
    }
    for (; i < n_; ++i)
      if (scalar_break(d_, i, n_, i > 0 && d_[i - 1] == '\r', lf_mode_)) return i;
    return n_;
  }

 private:
  const char* d_;
  std::size_t n_;
  bool lf_mode_;
  std::size_t block_ = static_cast<std::size_t>(-1) / 2;  // no block yet
  std::uint64_t mask_ = 0;
};

// The first CR (or, in `lf_mode`, LF) in d[i, n), or n.
std::size_t next_line_byte(const char* d, std::size_t i, std::size_t n, bool lf_mode) noexcept {
  if (!lf_mode) {
    const void* cr = std::memchr(d + i, '\r', n - i);
    return cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - d) : n;
  }
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i)
    if (d[i] == '\r' || d[i] == '\n') return i;
  return n;
}

}  // namespace

void body_canonicalizer::update(std::string_view in, std::string& out) {
  if (relaxed_)
    update_relaxed(in, out, false);
  else
    update_simple(in, out);
}

std::size_t body_canonicalizer::update_into(std::string_view in, std::string& buf) {
  if (relaxed_) return update_relaxed(in, buf, true);
  buf.clear();
  update_simple(in, buf);
  return buf.size();
}

// §3.4.3: the body as it is, less the empty lines at its end.
void body_canonicalizer::update_simple(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  const char* d = in.data();
  while (i < n) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (d[i] == '\n') {
        ++held_crlf_;
        ++i;
        continue;
      }
      flush_held(out);
      out.push_back('\r');  // a lone CR is content
    }
    const std::size_t r = next_line_byte(d, i, n, lf_mode_);
    if (r > i) {
      flush_held(out);
      out.append(d + i, r - i);
    }
    if (r == n) break;
    if (d[r] == '\r')
      cr_pending_ = true;
    else
      ++held_crlf_;  // a bare LF (the LF of a CRLF was taken above)
    i = r + 1;
  }
}

namespace {

// Appends to a string through a raw pointer: one capacity check per piece instead of the
// bookkeeping of std::string::append and push_back, which dominated relaxed canonicalization.
// The string is kept kSlack bytes longer than what was written, so that a short piece is copied
// with fixed-size moves rather than a call to memcpy.
class writer {
 public:
  static constexpr std::size_t kSlack = 64;

  // `overwrite`: write from the start of `out`, and leave its size as it is (at least what was
  // written): a buffer reused between calls is not filled with zeros each time.
  writer(std::string& out, std::size_t expect, bool overwrite)
      : out_(out), used_(overwrite ? 0 : out.size()), overwrite_(overwrite) {
    if (out_.size() < used_ + expect + kSlack) out_.resize(used_ + expect + kSlack);
    base_ = out_.data();
    room_ = out_.size() - kSlack;
  }
  ~writer() {
    if (!overwrite_) out_.resize(used_);
  }
  [[nodiscard]] std::size_t used() const noexcept { return used_; }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  void put(char c) {
    ensure(1);
    base_[used_++] = c;
  }
  // `p` is followed by at least `readable` bytes that may be read (p[0, readable) exist).
  void put(const char* p, std::size_t n, std::size_t readable) {
    ensure(n);
    char* dst = base_ + used_;
    if (n <= kSlack && readable >= kSlack) {
      // Within the slack: one 64-byte move, the bytes past n rewritten later or cut at the end.
      unsigned char tmp[kSlack];
      std::memcpy(tmp, p, kSlack);
      std::memcpy(dst, tmp, kSlack);
    } else {
      std::memcpy(dst, p, n);
    }
    used_ += n;
  }
  // Room for n bytes at the returned pointer; commit() says how many were written.
  char* reserve(std::size_t n) {
    ensure(n);
    return base_ + used_;
  }
  void commit(std::size_t n) { used_ += n; }
  void crlfs(std::uint64_t count) {
    ensure(static_cast<std::size_t>(count) * 2);
    char* w = base_ + used_;
    for (std::uint64_t k = 0; k < count; ++k) {
      *w++ = '\r';
      *w++ = '\n';
    }
    used_ += static_cast<std::size_t>(count) * 2;
  }

 private:
  void ensure(std::size_t n) {
    if (room_ - used_ < n) grow(n);
  }
  void grow(std::size_t n) {
    out_.resize(std::max(out_.size() * 2, used_ + n + 64) + kSlack);
    base_ = out_.data();
    room_ = out_.size() - kSlack;
  }
  std::string& out_;
  char* base_;
  std::size_t used_;
  bool overwrite_;
  std::size_t room_;  // writable bytes before the slack
};

}  // namespace

// §3.4.4: WSP runs become one SP, WSP at line ends goes, empty lines at the end go.
// The state is kept in locals while the chunk is read (stores through the output's char pointer
// would otherwise make the compiler reload the members at every step).
std::size_t body_canonicalizer::update_relaxed(std::string_view in, std::string& out,
                                               bool overwrite) {
  std::size_t written = 0;
  std::size_t i = 0;
  const std::size_t n = in.size();
  const char* d = in.data();
  const bool lf_mode = lf_mode_;
  bool cr_pending = cr_pending_, wsp_pending = wsp_pending_, had_output = had_output_;
  std::uint64_t held_crlf = held_crlf_;
  {
    writer w(out, n + n / 16 + 2, overwrite);
    break_finder breaks(d, n, lf_mode);
    // Content is about to be written: first the line ends held back, then the pending SP.
    auto before_content = [&] {
      if (held_crlf > 0) {
        w.crlfs(held_crlf);
        held_crlf = 0;
      }
      if (wsp_pending) w.put(' ');
      wsp_pending = false;
      had_output = true;
    };
    auto line_end = [&] {
      ++held_crlf;
      wsp_pending = false;
    };
    std::size_t slow_until = 0;  // a block that relaxed_block() refused is read byte-wise
    while (i < n) {
      if (i >= slow_until && !cr_pending && !wsp_pending && held_crlf == 0 && n - i >= 128) {
        const std::size_t len = kBlock.relaxed_block(d, i, lf_mode, w.reserve(192));
        if (len != kHard) {
          w.commit(len);
          had_output = had_output || len > 0;
          i += 64;
          continue;
        }
        slow_until = i + 64;
      }
      if (cr_pending) {
        cr_pending = false;
        if (d[i] == '\n') {
          line_end();
          ++i;
          continue;
        }
        before_content();
        w.put('\r');  // a lone CR is content
      }
      if (wsp_pending) {
        // Inside a WSP run: the rest of it collapses into the SP already pending.
        while (i < n && (d[i] == ' ' || d[i] == '\t')) ++i;
        if (i == n) break;
        if (d[i] == '\r') {
          cr_pending = true;
          ++i;
          continue;
        }
        if (lf_mode && d[i] == '\n') {  // a bare LF: the WSP run was trailing
          line_end();
          ++i;
          continue;
        }
      }
      const std::size_t r = breaks.next(i);
      if (r > i) {
        before_content();
        w.put(d + i, r - i, n - i);
      }
      if (r == n) break;
      const char c = d[r];
      i = r + 1;
      if (c == '\r') {
        cr_pending = true;
      } else if (c == '\n') {
        line_end();  // a bare LF (lf_mode)
      } else {
        // A WSP run. Followed by content within this chunk (the common case: a doubled space
        // or a tab between words), it is one SP written at once.
        while (i < n && (d[i] == ' ' || d[i] == '\t')) ++i;
        if (i < n && d[i] != '\r' && !(lf_mode && d[i] == '\n')) {
          before_content();
          w.put(' ');
        } else {
          wsp_pending = true;
        }
      }
    }
    written = w.used();
  }
  cr_pending_ = cr_pending;
  wsp_pending_ = wsp_pending;
  had_output_ = had_output;
  held_crlf_ = held_crlf;
  return written;
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

std::string canonical_body(canonicalization c, std::string_view body, line_ends ends) {
  body_canonicalizer canon(c, ends);
  std::string out;
  canon.update(body, out);
  canon.finish(out);
  return out;
}

}  // namespace dkimkit::detail
