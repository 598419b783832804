// dkimkit/resolver.hpp: the interface through which the verifier fetches key records (TXT).
//
//   dkimkit::static_resolver dns;
//   dns.add("sel._domainkey.example.com", "v=DKIM1; k=ed25519; p=...");
//   opts.resolver = &dns;
//
// A resolver classifies each answer where it happens (rule 2 of STYLE.md): found, nxdomain, nodata
// or temporary. Only `temporary` becomes temperror. Names are passed without a trailing dot.
// Implementations must be safe to call from several threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit {

enum class dns_status {
  found,      // the name has TXT records (listed in `records`)
  nxdomain,   // the name does not exist
  nodata,     // the name exists but has no TXT record
  temporary,  // SERVFAIL, REFUSED, timeout, network error, bogus DNSSEC: try again later
};

// DNSSEC state of an answer, where the resolver validates.
enum class dnssec_status { unknown, secure, insecure, bogus };
[[nodiscard]] std::string_view to_string(dnssec_status s) noexcept;  // "secure", ...

struct txt_answer {
  dns_status status = dns_status::nxdomain;
  // Each TXT record with its character-strings already joined without separators
  // (RFC 6376 §3.6.2.2). Arbitrary bytes, NUL included.
  std::vector<std::string> records;
  std::string detail;  // the cause, for temporary failures ("timeout after 5 s", "SERVFAIL")
  dnssec_status dnssec = dnssec_status::unknown;
};

class txt_resolver {
 public:
  virtual ~txt_resolver() = default;

  // Blocking lookup of the TXT records at `name` (e.g. "sel._domainkey.example.com").
  [[nodiscard]] virtual txt_answer lookup_txt(const std::string& name) const = 0;

  // Starts a lookup and returns at once. The default runs lookup_txt() in the calling thread;
  // asynchronous resolvers override it so that the lookups of a message overlap each other and
  // the body hashing. The verifier starts every lookup of a message when its header ends.
  [[nodiscard]] virtual std::shared_future<txt_answer> lookup_txt_async(
      const std::string& name) const;

  // Whether lookup_txt() answers at once, from memory, never waiting on a network (as
  // static_resolver and zone_resolver do): the verifier then calls lookup_txt() itself when the
  // header ends instead of lookup_txt_async(), which saves a promise and a future per lookup.
  // False unless a resolver says otherwise; one that overrides lookup_txt_async() must not say so.
  [[nodiscard]] virtual bool answers_at_once() const noexcept { return false; }
};

// An in-memory resolver: a map from names to TXT records. For tests, fixtures and tools.
// Names are matched case-insensitively. A name added with no record answers nodata; a name set
// with set_temporary() answers temporary; any other name answers nxdomain.
class static_resolver final : public txt_resolver {
 public:
  void add(std::string_view name, std::string record);
  void add_name(std::string_view name);  // exists, no TXT
  void set_temporary(std::string_view name, std::string detail = "SERVFAIL");
  [[nodiscard]] txt_answer lookup_txt(const std::string& name) const override;
  [[nodiscard]] bool answers_at_once() const noexcept override { return true; }
  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  // Number of lookup_txt() calls so far (for tests that count queries).
  [[nodiscard]] std::size_t queries() const noexcept { return queries_.load(); }

 private:
  std::map<std::string, txt_answer, std::less<>> names_;
  mutable std::atomic<std::size_t> queries_{0};
};

}  // namespace dkimkit
