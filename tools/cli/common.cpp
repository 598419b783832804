#include "common.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dkimkit/limits.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/zone_resolver.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

namespace dkimkit::cli {

std::optional<std::string> read_input(const std::string& path, std::string& why) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    if (std::cin.bad()) {
      why = "standard input: read error";
      return std::nullopt;
    }
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    why = path + ": read error";
    return std::nullopt;
  }
  return data;
}

bool uses_crlf(std::string_view message) {
  std::size_t lf = message.find('\n');
  return lf != std::string_view::npos && lf > 0 && message[lf - 1] == '\r';
}

void add_dns_options(CLI::App& cmd, dns_args& a) {
  cmd.add_option("--zone", a.zone,
                 "read key records from this RFC 1035 zone file instead of DNS (offline)");
  cmd.add_option("--resolver", a.resolvers,
                 "DNS server to ask, IP or IP@PORT; repeatable (default: /etc/resolv.conf)")
      ->allow_extra_args(false);
  cmd.add_option("--dns-timeout", a.dns_timeout_ms,
                 "milliseconds one key lookup may take before it is a temperror")
      ->capture_default_str();
  cmd.add_option("--trust-anchor", a.trust_anchor,
                 "DNSSEC trust anchors (DS or DNSKEY records); validates every key lookup");
}

std::unique_ptr<txt_resolver> make_resolver(const dns_args& a, int& status) {
  if (!a.zone.empty()) {
    if (!a.resolvers.empty() || !a.trust_anchor.empty()) {
      complain("--zone reads keys from a file; it does not go with --resolver or --trust-anchor");
      status = exit_usage;
      return nullptr;
    }
    auto z = zone_resolver::load_file(a.zone);
    if (!z) {
      complain(z.error().detail.empty() ? z.error().message() : z.error().detail);
      status = z.error().code == errc::io_error ? exit_noinput : exit_data;
      return nullptr;
    }
    return std::make_unique<zone_resolver>(std::move(*z));
  }
  unbound_options o;
  o.servers = a.resolvers;
  o.trust_anchor_file = a.trust_anchor;
  o.timeout = std::chrono::milliseconds(a.dns_timeout_ms);
  auto dns = unbound_resolver::create(std::move(o));
  if (!dns) {
    complain(dns.error().message());
    status = exit_usage;
    return nullptr;
  }
  return std::move(*dns);
}

namespace {

// A flag for one entry of the table. A number takes what CLI11 reads for the member's type (any
// value up to `largest`, whatever range a configuration file allows), with its default shown.
CLI::Option* add_limit_flag(CLI::App& cmd, const verify_limit& l, verify_options& opts) {
  std::string flag(l.flag), help(l.description);
  if (l.is_switch()) return cmd.add_flag(flag, opts.*l.toggle, help);
  auto read = [&l, &opts](const CLI::results_t& res) {
    std::uint64_t v = 0;
    if (!CLI::detail::lexical_conversion<std::uint64_t, std::uint64_t>(res, v) || v > l.largest)
      return false;  // CLI11's "Could not convert" error
    l.set(opts, v);
    return true;
  };
  auto shown = [&l, &opts] { return std::to_string(l.get(opts)); };
  return cmd.add_option(flag, read, help, false, shown)->type_name("UINT")->capture_default_str();
}

}  // namespace

void add_verify_settings(CLI::App& cmd, verify_settings& a) {
  for (const auto& l : verify_limits())
    if (l.group == verify_limit::kind::policy) add_limit_flag(cmd, l, a.opts);
  cmd.add_option("--now", a.now, "Unix time to verify at (default: the clock)");
  for (const auto& l : verify_limits())
    if (l.group == verify_limit::kind::limit) add_limit_flag(cmd, l, a.opts)->group("Limits");
}

verify_options to_verify_options(const verify_settings& a) {
  verify_options o = a.opts;
  std::uint64_t now = a.now.value_or(static_cast<std::uint64_t>(std::time(nullptr)));
  o.now = [now] { return now; };
  return o;
}

void add_colour_option(CLI::App& cmd, colour_mode& mode) {
  cmd.add_option("--color", mode,
                 "colour in human output: auto (when standard output is a terminal and NO_COLOR is "
                 "unset), always, never")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, colour_mode>{{"auto", colour_mode::automatic},
                                             {"always", colour_mode::always},
                                             {"never", colour_mode::never}},
          CLI::ignore_case))
      ->option_text("auto|always|never");
}

bool use_colour(colour_mode mode) {
  if (mode != colour_mode::automatic) return mode == colour_mode::always;
  const char* no = std::getenv("NO_COLOR");
  if (no != nullptr && *no != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return isatty(STDOUT_FILENO) != 0;
}

std::string paint(bool on, tone t, std::string_view text) {
  if (!on) return std::string(text);
  const char* c = t == tone::good   ? "\033[32m"
                  : t == tone::warn ? "\033[33m"
                  : t == tone::bad  ? "\033[31m"
                                    : "\033[2m";
  return std::string(c) + std::string(text) + "\033[0m";
}

tone tone_of(status s) {
  switch (s) {
    case status::pass:
      return tone::good;
    case status::fail:
    case status::permerror:
      return tone::bad;
    case status::temperror:
    case status::policy:
      return tone::warn;
    case status::neutral:
    case status::none:
      return tone::dim;
  }
  return tone::dim;
}

tone tone_of_word(std::string_view word) {
  for (status s : {status::pass, status::fail, status::policy, status::neutral, status::temperror,
                   status::permerror})
    if (to_string(s) == word) return tone_of(s);
  return tone::dim;
}

namespace {

// The length of the UTF-8 sequence at the start of `s` and its code point; 0 when it is not one
// (RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  std::size_t n = b0 < 0x80                  ? 1
                  : b0 >= 0xc2 && b0 <= 0xdf ? 2
                  : b0 >= 0xe0 && b0 <= 0xef ? 3
                  : b0 >= 0xf0 && b0 <= 0xf4 ? 4
                                             : 0;
  if (n == 0 || n > s.size()) return 0;
  cp = n == 1 ? b0 : n == 2 ? b0 & 0x1fu : n == 3 ? b0 & 0x0fu : b0 & 0x07u;
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  const char32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if ((n > 1 && cp < min) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// Characters that move the cursor, change the terminal's state or reorder what is shown.
bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string terminal_safe(std::string_view text, std::string_view keep) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    char32_t cp = 0;
    std::size_t n = utf8_sequence(text, cp);
    const bool kept = n == 1 && keep.find(text[0]) != std::string_view::npos;
    if (n == 0 || (is_control(cp) && !kept)) {
      if (n == 0) n = 1;  // one byte that is not UTF-8
      for (std::size_t i = 0; i < n; ++i) {
        auto b = static_cast<unsigned char>(text[i]);
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
    } else {
      out.append(text.substr(0, n));
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

void complain(std::string_view message) {
  std::cerr << "dkimkit: " << terminal_safe(message) << "\n";
}

std::optional<private_key> load_signing_key(const std::string& path, int& status) {
  auto key = private_key::load_file(path);
  if (!key) {
    complain(key.error().detail);
    status = key.error().code == errc::io_error ? exit_noinput : exit_data;
    return std::nullopt;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    complain("warning: " + path + " can be read by other users; chmod 600 it");
  if (key->type() == key_type::rsa && key->bits() >= rfc8301_min_rsa_bits && key->bits() < 2048)
    complain("warning: " + path + " is a " + std::to_string(key->bits()) +
             "-bit RSA key; 2048 bits are advised");
  return std::move(*key);
}

std::vector<std::string> split_header_names(const std::string& list) {
  std::vector<std::string> names;
  std::size_t start = 0;
  for (;;) {
    std::size_t c = list.find(':', start);
    names.push_back(list.substr(start, c == std::string::npos ? c : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return names;
}

}  // namespace dkimkit::cli
