// Fuzz target: dkimkit-milter's per-message logic (milter/session.hpp) driven by a script of
// SMTP events, without libmilter. The input is
//   byte 0: flags  bit 0 internal client, bit 1 SMTP AUTH, bit 2 abort the first message halfway
//                  through its body and send the message again, bit 3 no end-of-header event,
//                  bits 4-5 the configuration (0, 3: both + reject policy; 1: verify, small
//                  header limit, on_dns_error = accept; 2: sign only)
//   byte 1: seed for the body chunk sizes (0: the body in one chunk)
//   then a message: header fields parsed leniently (LF or CRLF; continuation lines fold into the
//   field before; a line without a colon is a name with an empty value), an empty line, the body.
// The keys are fixed (below) so that seeds can carry valid signatures: selectors rsa, ed and test
// (RSA key with t=y) at example.com, ext at example.org (RSA), and tmp._domainkey.example.com
// answers a temporary failure.
// Checked besides memory safety: no exception was turned into an internal error, deletions
// strictly decrease within the A-R fields sent, inserted values are in milter form (no CR), a
// tempfail or reject carries its SMTP codes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "session.hpp"

namespace {

using namespace dkimkit;
using namespace dkimkit::milter;

constexpr const char* kRsaKey = R"(-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAJ6vm7JDwXsUXThB
o+Jf8o2KcpZC8NXqkqEwQUli9dmvqFLI4zfP9mWulmPti2qjPm+bB6O+NlOlq12/
7+R7Wkwft+1d8xQj89HVDC9aXJ/uZXXR7xRFMxb3yADk/T9V+4yS7SinHku90uLC
YPCXy9bjnD0F0QpU8fq6zsnwQJEfAgMBAAECgYBRmnDwvVM0HgbKNUc31KuBCh9f
ElGTUCvTZGNOf+t55JEk8VWXkARfyeZgwPme/w/OiOTm2ZxKa7myXk/ZKW4HRBHo
auVyOMOKD4LYz4BuC5fwSA7aMbe8D44K0+r0hPUtg1dWZPQs8lso2kCfTTW6JnV9
PxJ/QEL/i+6dne4Y0QJBANKEIFgENV0XVRQsqEHrcDlza75BRbhZu/+Nig8f4ChP
fy4bHN52vc05rvK+K0q0kxy+Dj2DGN84aJgOkUf2Oy0CQQDA+LNMC4tPfArZ5xNg
I4spjyfeTQgzDMBhqO/2Go/O/3urH1wpj08OY5xxU/kq9j4EhQnYstSmbbA5VxDd
jjz7AkEAvHH+KgwKYPzD8j1PmULSwPrrVfJEIRRi0A65qXRVSoBvTqyCmToeCZo7
W5yUUFl431/ai4HRP/DU4FkaABsROQJAc3/oASoftfFupUHTrQVZNATFPh8pOzT0
qP9usQTw8lqkcKYSiaWHEfu5FXPHfVlpgVcHr7ZJ5Vtd0NQ1+gY6pQJABLTs5fJY
fPxSfOwweBZ0uHdLt3cd4Thh/PmEhv6+ErLtVoAuk8TDvMmiVBT2o/CDQTRWsNjg
pc2LXo8jRfszsw==
-----END PRIVATE KEY-----
)";
constexpr const char* kEdKey = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEbopbbsxIaZEebDCeotxWzY56b8K2ZKvEBYbfM3BZWB
-----END PRIVATE KEY-----
)";
// 2100-01-01: later than any t= a seed made with `dkimkit sign` carries.
constexpr std::uint64_t kNow = 4102444800;

struct fixture {
  static_resolver dns;
  std::shared_ptr<const environment> envs[3];
};

private_key load(const char* pem) {
  auto k = private_key::load(pem);
  if (!k) __builtin_trap();
  return *k;
}

std::shared_ptr<const environment> env_of(const fixture& f, std::shared_ptr<config> cfg) {
  auto e = std::make_shared<environment>();
  e->cfg = std::move(cfg);
  e->resolver = &f.dns;
  return e;
}

const fixture& the_fixture() {
  static const fixture* f = [] {
    auto* out = new fixture;
    private_key rsa = load(kRsaKey), ed = load(kEdKey);
    out->dns.add("rsa._domainkey.example.com", rsa.public_record());
    out->dns.add("ed._domainkey.example.com", ed.public_record());
    out->dns.add("test._domainkey.example.com", "v=DKIM1; t=y; p=" + rsa.public_record_value());
    out->dns.add("ext._domainkey.example.org", rsa.public_record());
    out->dns.set_temporary("tmp._domainkey.example.com");

    auto base = [&](mode m) {
      auto c = std::make_shared<config>();
      c->authserv_id = "mx.example.net";
      c->mode = m;
      c->internal_networks = {*parse_network("10.0.0.0/8")};
      if (m != mode::verify) {
        for (auto [selector, key] : {std::pair{"rsa", &rsa}, std::pair{"ed", &ed}}) {
          signing_key k;
          k.domain = "example.com";
          k.selector = selector;
          k.key = *key;
          c->keys.push_back(std::move(k));
        }
      }
      return c;
    };
    auto both = base(mode::both);
    both->on_no_pass = action::reject;
    both->requirements = {{"example.com", "example.com"}};
    auto verify_only = base(mode::verify);
    verify_only->verify.header.max_header_bytes = 4096;
    verify_only->on_dns_error = action::accept;
    verify_only->on_internal_error = action::accept;
    out->envs[0] = env_of(*out, both);
    out->envs[1] = env_of(*out, verify_only);
    out->envs[2] = env_of(*out, base(mode::sign));
    return out;
  }();
  return *f;
}

struct field {
  std::string name, value;
};

// Lenient header parsing: the fields and where the body starts.
std::vector<field> parse_fields(std::string_view text, std::string_view& body) {
  std::vector<field> out;
  body = {};
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t nl = text.find('\n', at);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) {
      body = text.substr(at);
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().value.append("\n").append(line);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      out.push_back({std::string(line), ""});
    } else {
      out.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
  }
  return out;
}

void check(const decision& d, int ar_fields) {
  int last = ar_fields + 1;
  for (int i : d.delete_auth_results) {
    if (i < 1 || i >= last) __builtin_trap();
    last = i;
  }
  for (const auto& h : d.insert)
    if (h.value.find('\r') != std::string::npos || h.name.empty()) __builtin_trap();
  // An exception is a bug (the session turns it into an internal error; find it anyway).
  if (d.level == log_level::error &&
      d.log.rfind("FUZZ: internal error: unexpected exception", 0) == 0)
    __builtin_trap();
  bool needs_code = d.reply == verdict::tempfail || d.reply == verdict::reject;
  if (needs_code && (d.code.empty() || d.enhanced.empty() || d.text.empty())) __builtin_trap();
}

// Sends one message; `stop_at`: abort after that many body bytes (npos: to the end).
void send(session& s, const std::vector<field>& fields, std::string_view body, bool eoh,
          std::uint32_t seed, bool authenticated, std::size_t stop_at) {
  s.start_message(authenticated);
  s.set_queue_id("FUZZ");
  int ar_fields = 0;
  for (const auto& f : fields) {
    if (iequals(f.name, "Authentication-Results")) ++ar_fields;
    decision d = s.header(f.name, f.value);
    check(d, ar_fields);
    if (d.settled()) return;
  }
  if (eoh) {
    decision d = s.end_of_header();
    check(d, ar_fields);
    if (d.settled()) return;
  }
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t n = body.size() - at;
    if (seed != 0) {
      seed ^= seed << 13;
      seed ^= seed >> 17;
      seed ^= seed << 5;
      n = std::min<std::size_t>(n, 1 + seed % 300);
    }
    if (at >= stop_at) {
      s.abort();
      return;
    }
    decision d = s.body(body.substr(at, n));
    check(d, ar_fields);
    if (d.settled()) return;
    at += n;
  }
  if (stop_at != std::string_view::npos) {
    s.abort();
    return;
  }
  check(s.end_of_message(), ar_fields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const fixture& f = the_fixture();
  std::uint8_t flags = data[0];
  std::uint32_t seed = data[1];
  std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string_view body;
  std::vector<field> fields = parse_fields(text, body);

  unsigned which = (flags >> 4) & 3u;
  session_clock clock{[] { return kNow; }, [] { return std::uint64_t{0}; }};
  session s(f.envs[which == 3 ? 0 : which], clock);
  s.connect((flags & 1) != 0);
  bool authenticated = (flags & 2) != 0, eoh = (flags & 8) == 0;
  if (flags & 4) {
    send(s, fields, body, eoh, seed, authenticated, body.size() / 2);
    send(s, fields, body, eoh, seed * 7 + 1, authenticated, std::string_view::npos);
  } else {
    send(s, fields, body, eoh, seed, authenticated, std::string_view::npos);
  }
  return 0;
}
