// Replay detection: what is counted for a message and the verdict on the counts
// (dkimkit/replay.hpp). The counting itself is a store's (dkimkit/redis_replay.hpp).
#include <dkimkit/replay.hpp>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/crypto.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

// RFC 5322 atext, and (RFC 6531) any octet of a UTF-8 sequence.
bool is_atext(unsigned char c) noexcept {
  if (c >= 0x80) return true;
  if (detail::is_alpha(static_cast<char>(c)) || detail::is_digit(static_cast<char>(c))) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

// RFC 5321 sub-domain: Let-dig [Ldh-str] (with RFC 6531's U-labels: octets >= 0x80 count as
// letters); the label may not end with '-'.
bool is_sub_domain(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63) return false;
  auto let_dig = [](unsigned char c) {
    return c >= 0x80 || detail::is_alpha(static_cast<char>(c)) ||
           detail::is_digit(static_cast<char>(c));
  };
  if (!let_dig(static_cast<unsigned char>(s.front())) ||
      !let_dig(static_cast<unsigned char>(s.back())))
    return false;
  for (char c : s)
    if (!let_dig(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

// RFC 5321 Domain: sub-domain *("." sub-domain).
bool is_domain(std::string_view s) noexcept {
  if (s.empty() || s.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!is_sub_domain(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// RFC 5321 address-literal, loosely: "[" 1*dcontent "]" (printable ASCII but "[", "\" and "]").
bool is_address_literal(std::string_view s) noexcept {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (char ch : s.substr(1, s.size() - 2)) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
  }
  return true;
}

// Reads an RFC 5321 Local-part at the start of `s` (Dot-string or Quoted-string): its value
// (a Quoted-string unquoted) and how many octets it took; nullopt when there is none.
std::optional<std::pair<std::string, std::size_t>> local_part(std::string_view s) {
  std::string value;
  if (!s.empty() && s.front() == '"') {
    std::size_t i = 1;
    while (i < s.size() && s[i] != '"') {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '\\') {
        if (i + 1 >= s.size()) return std::nullopt;
        unsigned char q = static_cast<unsigned char>(s[i + 1]);
        if (q < 32 || q > 126) return std::nullopt;  // quoted-pairSMTP: %d92 %d32-126
        value += static_cast<char>(q);
        i += 2;
        continue;
      }
      // qtextSMTP: %d32-33 / %d35-91 / %d93-126, and UTF-8 (RFC 6531).
      if (c < 32 || c == 127) return std::nullopt;
      value += static_cast<char>(c);
      ++i;
    }
    if (i >= s.size()) return std::nullopt;
    return std::make_pair(std::move(value), i + 1);
  }
  // Dot-string = Atom *("." Atom)
  std::size_t i = 0;
  while (true) {
    std::size_t atom_start = i;
    while (i < s.size() && is_atext(static_cast<unsigned char>(s[i]))) ++i;
    if (i == atom_start) return std::nullopt;
    if (i < s.size() && s[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  return std::make_pair(std::string(s.substr(0, i)), i);
}

bool trusted_sdid(std::string_view sdid, const std::vector<std::string>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const std::string& d) { return is_same_or_subdomain(sdid, d); });
}

}  // namespace

result<void> check(const replay_settings& s) {
  const auto window = s.window.count();
  if (window < 60) return fail(errc::invalid_argument, "window must be at least 60 seconds");
  if (s.buckets < 1 || s.buckets > 24)
    return fail(errc::invalid_argument, "buckets must be between 1 and 24");
  if (window % s.buckets != 0)
    return fail(errc::invalid_argument, "window (" + std::to_string(window) +
                                            " s) must be a multiple of buckets (" +
                                            std::to_string(s.buckets) + ")");
  if (s.max_window < s.window)
    return fail(errc::invalid_argument, "max_window must not be shorter than window");
  if (s.max_recipients < 1) return fail(errc::invalid_argument, "max_recipients must be at least 1");
  if (s.max_signatures < 1) return fail(errc::invalid_argument, "max_signatures must be at least 1");
  for (const auto& d : s.trusted_domains)
    if (!detail::is_dns_name(d, 1))
      return fail(errc::invalid_argument,
                  "trusted domain \"" + detail::quotable(d) + "\" is not a domain name");
  return {};
}

std::string replay_key(std::string_view sdid, std::string_view selector,
                       std::string_view b64_signature) {
  std::string data = detail::lowercase(sdid);
  data += '\0';
  data += detail::lowercase(selector);
  data += '\0';
  data += b64_signature;
  std::string d = detail::digest(hash_algorithm::sha256, data);
  return detail::hex(std::string_view(d).substr(0, 16));
}

std::string client_network(int family, const unsigned char* addr) {
  if (!addr) return {};
  unsigned char v4[4];
  if (family == AF_INET6) {
    static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(addr, mapped, sizeof mapped) == 0) {
      std::memcpy(v4, addr + 12, 4);
      addr = v4;
      family = AF_INET;
    }
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    unsigned char net[4] = {addr[0], addr[1], addr[2], 0};
    if (!::inet_ntop(AF_INET, net, text, sizeof text)) return {};
    return std::string(text) + "/24";
  }
  if (family == AF_INET6) {
    unsigned char net[16] = {};
    std::memcpy(net, addr, 6);
    if (!::inet_ntop(AF_INET6, net, text, sizeof text)) return {};
    return std::string(text) + "/48";
  }
  return {};
}

std::string envelope_recipient(std::string_view path) {
  std::string_view s = path;
  bool bracketed = !s.empty() && s.front() == '<';
  if (bracketed) {
    if (s.size() < 2 || s.back() != '>') return {};
    s = s.substr(1, s.size() - 2);
    // A-d-l ":" (a source route, RFC 5321 §4.1.2, obsolete): @dom,@dom: before the mailbox.
    if (!s.empty() && s.front() == '@') {
      std::size_t colon = s.find(':');
      if (colon == std::string_view::npos) return {};
      std::string_view route = s.substr(0, colon);
      for (std::string_view at : detail::split(route, ','))
        if (at.size() < 2 || at.front() != '@' || !is_domain(at.substr(1))) return {};
      s = s.substr(colon + 1);
    }
  }
  // RCPT TO:<Postmaster> (RFC 5321 §4.5.1): no domain.
  if (detail::lowercase(s) == "postmaster") return "postmaster";
  auto local = local_part(s);
  if (!local || local->second >= s.size() || s[local->second] != '@') return {};
  std::string_view domain = s.substr(local->second + 1);
  if (!is_domain(domain) && !is_address_literal(domain)) return {};
  std::string out = detail::lowercase(local->first);
  out += '@';
  out += detail::lowercase(domain);
  return out;
}

std::string recipient_hash(std::string_view key, std::string_view recipient) {
  std::string mac = detail::hmac_sha256(key, recipient);
  return detail::hex(std::string_view(mac).substr(0, 8));
}

replay_message replay_message_of(const std::vector<verification>& results, int family,
                                 const unsigned char* addr,
                                 const std::vector<std::string>& recipient_paths,
                                 const replay_settings& settings, std::uint64_t now) {
  replay_message m;
  m.now = now;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (m.signatures.size() >= settings.max_signatures) break;
    const verification& v = results[i];
    if (v.status != status::pass || !v.evaluated() || !v.parsed) continue;
    replay_signature s;
    s.key = replay_key(v.parsed->sdid, v.parsed->selector, v.parsed->signature_b64);
    // The same signature twice in one message is one signature seen once.
    if (std::any_of(m.signatures.begin(), m.signatures.end(),
                    [&](const replay_signature& o) { return o.key == s.key; }))
      continue;
    s.sdid = v.parsed->sdid;
    s.selector = v.parsed->selector;
    auto window = static_cast<std::uint64_t>(settings.window.count());
    if (v.parsed->expiration && *v.parsed->expiration > now) {
      std::uint64_t left = *v.parsed->expiration - now;
      // The store counts at most max_replay_slices slices: the verdict says the same window.
      const std::uint64_t slices_cap = window / settings.buckets * max_replay_slices;
      auto cap = std::min(static_cast<std::uint64_t>(settings.max_window.count()), slices_cap);
      if (left > window) window = std::min(left, cap);
    }
    s.window_seconds = window;
    s.trusted = trusted_sdid(s.sdid, settings.trusted_domains);
    s.result_index = i;
    m.signatures.push_back(std::move(s));
  }
  if (m.signatures.empty()) return m;
  m.network = client_network(family, addr);
  for (const auto& p : recipient_paths) {
    if (m.recipients.size() >= settings.max_recipients) break;
    std::string r = envelope_recipient(p);
    if (r.empty() || std::find(m.recipients.begin(), m.recipients.end(), r) != m.recipients.end())
      continue;
    m.recipients.push_back(std::move(r));
  }
  return m;
}

bool replay_suspected(const replay_counts& c, const replay_thresholds& t, bool trusted) noexcept {
  if (trusted) return false;
  return (t.networks && c.networks > t.networks) || (t.messages && c.messages > t.messages) ||
         (t.recipients && c.recipients > t.recipients);
}

std::string_view to_string(replay_action a) noexcept {
  switch (a) {
    case replay_action::tag:
      return "tag";
    case replay_action::policy:
      return "policy";
    case replay_action::tempfail:
      return "tempfail";
    case replay_action::reject:
      return "reject";
  }
  return "tag";
}

std::optional<replay_action> parse_replay_action(std::string_view s) noexcept {
  for (auto a : {replay_action::tag, replay_action::policy, replay_action::tempfail,
                 replay_action::reject})
    if (s == to_string(a)) return a;
  return std::nullopt;
}

std::size_t apply_replay(std::vector<verification>& results, const replay_message& m,
                         const std::vector<replay_counts>& counts, const replay_settings& settings,
                         replay_action action) {
  if (counts.size() != m.signatures.size()) return 0;
  std::size_t suspected = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const replay_signature& s = m.signatures[i];
    if (s.result_index >= results.size()) continue;
    verification& v = results[s.result_index];
    const replay_counts& c = counts[i];
    replay_verdict r;
    r.messages = c.messages;
    r.networks = c.networks;
    r.recipients = c.recipients;
    r.first_seen = c.first_seen;
    r.window_seconds = s.window_seconds;
    r.suspected = replay_suspected(c, settings.thresholds, s.trusted);
    if (r.suspected) {
      ++suspected;
      if (action == replay_action::policy && v.status == status::pass) {
        v.status = status::policy;
        v.code = errc::replay_suspected;
        v.reason = replay_summary(r);
      }
    }
    v.replay = r;
  }
  return suspected;
}

std::string replay_summary(const replay_verdict& r) {
  auto plural = [](std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string out = r.suspected ? "replay suspected: " : "replay counted: ";
  out += plural(r.messages, "message", "messages") + " from " +
         plural(r.networks, "network", "networks") + " to " +
         plural(r.recipients, "recipient", "recipients") + " in ";
  const std::uint64_t w = r.window_seconds;
  if (w % 3600 == 0)
    out += std::to_string(w / 3600) + " h";
  else if (w % 60 == 0)
    out += std::to_string(w / 60) + " min";
  else
    out += std::to_string(w) + " s";
  return out;
}

}  // namespace dkimkit
