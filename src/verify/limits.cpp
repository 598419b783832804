#include <chrono>
#include <dkimkit/limits.hpp>
#include <limits>
#include <type_traits>

namespace dkimkit {
namespace {

// The member of verify_options a path of pointers to members leads to, e.g.
// &verify_options::header, &header_limits::max_fields.
template <auto... Path>
using member_t = std::remove_cvref_t<decltype((std::declval<verify_options&>().*....*Path))>;

template <class T>
constexpr bool is_milliseconds = std::is_same_v<T, std::chrono::milliseconds>;

template <auto... Path>
std::uint64_t get(const verify_options& o) noexcept {
  const auto& v = (o.*....*Path);
  if constexpr (is_milliseconds<member_t<Path...>>)
    return static_cast<std::uint64_t>(v.count());
  else
    return static_cast<std::uint64_t>(v);
}

template <auto... Path>
void set(verify_options& o, std::uint64_t value) noexcept {
  using T = member_t<Path...>;
  auto& v = (o.*....*Path);
  if constexpr (is_milliseconds<T>)
    v = T(static_cast<typename T::rep>(value));
  else if constexpr (std::is_same_v<T, bool>)
    v = value != 0;
  else
    v = static_cast<T>(value);
}

// A number: the flag takes what the member holds. A duration is given in milliseconds that fit an
// unsigned (49 days), as the command line has always read it.
template <auto... Path>
constexpr verify_limit number(verify_limit l) {
  using T = member_t<Path...>;
  static_assert(std::is_unsigned_v<T> || is_milliseconds<T>);
  l.get = &get<Path...>;
  l.set = &set<Path...>;
  if constexpr (is_milliseconds<T>)
    l.largest = std::numeric_limits<unsigned>::max();
  else
    l.largest = std::numeric_limits<T>::max();
  return l;
}

// A switch: true or false.
template <bool verify_options::*Member>
constexpr verify_limit toggle(verify_limit l) {
  l.toggle = Member;
  l.get = &get<Member>;
  l.set = &set<Member>;
  l.min = 0;
  l.max = l.largest = 1;
  return l;
}

using kind = verify_limit::kind;
using vo = verify_options;

// Names, help texts and ranges as `dkimkit verify --help` and dkimkit-milter.toml(5) give them.
constexpr verify_limit kTable[] = {
    toggle<&vo::allow_sha1>({.key = "allow_sha1",
                             .table = "limits",
                             .flag = "--allow-sha1",
                             .description = "accept rsa-sha1 (refused by RFC 8301)",
                             .group = kind::policy}),
    toggle<&vo::allow_partial_body>(
        {.flag = "--allow-partial-body",
         .description = "accept l= that leaves part of the body unsigned",
         .group = kind::policy}),
    number<&vo::min_rsa_bits>({.key = "min_rsa_bits",
                               .table = "limits",
                               .flag = "--min-rsa-bits",
                               .description = "smallest RSA key accepted",
                               .unit = "bits",
                               .group = kind::policy,
                               .min = 512,
                               .max = 16384}),
    number<&vo::max_signatures>(
        {.key = "max_signatures",
         .table = "limits",
         .flag = "--max-signatures",
         .description = "signatures evaluated per message; the rest get policy",
         .unit = "signatures",
         .group = kind::policy,
         .min = 1,
         .max = 100}),
    number<&vo::max_clock_skew>(
        {.key = "max_clock_skew",
         .table = "limits",
         .flag = "--max-clock-skew",
         .description = "seconds of tolerance on t= (in the future) and x= (passed)",
         .unit = "seconds",
         .group = kind::policy,
         .min = 0,
         .max = 86400}),
    number<&vo::key, &key_limits::max_rsa_bits>(
        {.key = "max_rsa_bits",
         .table = "limits",
         .flag = "--max-rsa-bits",
         .description = "largest RSA key accepted (larger: permerror)",
         .unit = "bits",
         .min = 512,
         .max = 16384}),
    number<&vo::key, &key_limits::max_record_bytes>(
        {.key = "max_key_record_bytes",
         .table = "limits",
         .flag = "--max-key-record-bytes",
         .description = "largest key record (TXT strings joined); larger: permerror",
         .unit = "bytes",
         .min = 512,
         .max = 65536}),
    number<&vo::header, &header_limits::max_header_bytes>(
        {.key = "max_header_bytes",
         .table = "limits",
         .flag = "--max-header-bytes",
         .description = "largest header block; larger: permerror for every signature",
         .unit = "bytes",
         .min = 4096,
         .max = 64 * 1024 * 1024}),
    number<&vo::header, &header_limits::max_field_bytes>(
        {.key = "max_field_bytes",
         .table = "limits",
         .flag = "--max-field-bytes",
         .description = "largest header field, folding included; larger: permerror",
         .unit = "bytes",
         .min = 1024,
         .max = 64 * 1024 * 1024}),
    number<&vo::header, &header_limits::max_fields>(
        {.key = "max_fields",
         .table = "limits",
         .flag = "--max-fields",
         .description = "most header fields; more: permerror",
         .unit = "fields",
         .min = 16,
         .max = 1000000}),
    number<&vo::signature, &signature_limits::max_field_bytes>(
        {.key = "max_signature_bytes",
         .table = "limits",
         .flag = "--max-signature-bytes",
         .description = "largest DKIM-Signature field; larger: neutral",
         .unit = "bytes",
         .min = 1024,
         .max = 1024 * 1024}),
    number<&vo::signature, &signature_limits::max_signed_headers>(
        {.key = "max_signed_headers",
         .table = "limits",
         .flag = "--max-signed-headers",
         .description = "most names in h=; more: neutral",
         .unit = "names",
         .min = 8,
         .max = 100000}),
    number<&vo::max_arc_key_lookups>(
        {.key = "max_arc_key_lookups",
         .table = "limits",
         .flag = "--max-arc-key-lookups",
         .description = "distinct keys an ARC chain may have fetched per message; beyond: arc=fail "
                        "(the newest AMS's and the seals' keys), older AMSs not evaluated",
         .unit = "keys",
         .min = 1,
         .max = 100}),
    number<&vo::dns_message_timeout>(
        {.key = "message_timeout_ms",
         .table = "dns",
         .flag = "--dns-message-timeout",
         .description = "milliseconds all key lookups of one message may take (0: no limit beyond "
                        "--dns-timeout); later: temperror",
         .unit = "milliseconds",
         .min = 1,
         .max = 600000}),
};

}  // namespace

std::span<const verify_limit> verify_limits() noexcept { return kTable; }

const verify_limit* find_verify_limit(std::string_view table, std::string_view key) noexcept {
  if (key.empty()) return nullptr;
  for (const auto& l : kTable)
    if (l.table == table && l.key == key) return &l;
  return nullptr;
}

}  // namespace dkimkit
