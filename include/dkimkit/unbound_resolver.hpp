// dkimkit/unbound_resolver.hpp: key lookups in real DNS through libunbound: asynchronous, cached,
// bounded by a deadline, with optional DNSSEC validation.
//
//   auto dns = dkimkit::unbound_resolver::create({.servers = {"127.0.0.1@5353"}});
//   if (!dns) die(dns.error().message());
//   opts.resolver = dns->get();            // verify_options
//
// lookup_txt_async() returns at once; a thread of the resolver's own drives libunbound and fulfils
// the futures, so lookups of many messages overlap. The resolver must outlive every verifier that
// uses it; destroying it answers lookups still in flight with `temporary`. All members are safe to
// call from several threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <dkimkit/error.hpp>
#include <dkimkit/resolver.hpp>

namespace dkimkit {

struct unbound_options {
  // Servers to send queries to, "IP" or "IP@PORT" (IPv4 or IPv6). Empty: the system's resolvers
  // from resolv_conf.
  std::vector<std::string> servers;
  std::string resolv_conf = "/etc/resolv.conf";
  // DNSSEC trust anchors (a file of DS or DNSKEY records, as unbound's auto-trust-anchor-file or
  // trust-anchor-file reads). Empty: no validation, every answer's dnssec is `unknown`.
  std::string trust_anchor_file;
  // How long one lookup may take before it answers `temporary` ("timeout after N ms").
  std::chrono::milliseconds timeout{5000};
  // Answers (positive and negative) kept within their TTL; the oldest go first beyond this.
  std::size_t cache_entries = 10000;
  // Longest a cached answer is kept, whatever its TTL.
  std::chrono::seconds max_ttl{3600};
};

struct resolver_stats {
  std::size_t lookups = 0;       // calls to lookup_txt_async / lookup_txt
  std::size_t cache_hits = 0;    // answered from the cache
  std::size_t joined = 0;        // joined a lookup of the same name already in flight
  std::size_t queries = 0;       // handed to libunbound (cache misses)
  std::size_t timeouts = 0;      // answered `temporary` at the deadline
};

class unbound_resolver final : public txt_resolver {
 public:
  [[nodiscard]] static result<std::unique_ptr<unbound_resolver>> create(unbound_options opts = {});
  ~unbound_resolver() override;
  unbound_resolver(const unbound_resolver&) = delete;
  unbound_resolver& operator=(const unbound_resolver&) = delete;

  [[nodiscard]] txt_answer lookup_txt(const std::string& name) const override;
  [[nodiscard]] std::shared_future<txt_answer> lookup_txt_async(
      const std::string& name) const override;
  [[nodiscard]] resolver_stats stats() const;

  struct impl;

 private:
  explicit unbound_resolver(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace dkimkit
