#include <dkimkit/policy.hpp>

#include <libpsl.h>

#include <memory>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

struct psl_deleter {
  void operator()(psl_ctx_t* p) const noexcept { psl_free(p); }
};

const psl_ctx_t* psl() {
  // Loaded once; libpsl contexts are read-only after loading and safe to share between threads.
  static const std::unique_ptr<psl_ctx_t, psl_deleter> ctx(psl_latest(nullptr));
  return ctx ? ctx.get() : psl_builtin();
}

// The RFC 7372 §3.1 replies, the only place their texts are written.
smtp_reply key_unavailable() {
  return {451, "4.7.5", "DKIM key could not be fetched, try again later"};
}
smtp_reply no_pass() { return {550, "5.7.20", "No passing DKIM signature found"}; }
smtp_reply none_acceptable() { return {550, "5.7.21", "No acceptable DKIM signature found"}; }
smtp_reply none_author_matched() {
  return {550, "5.7.22", "No valid author-matched DKIM signature found"};
}

}  // namespace

std::string_view to_string(alignment a) noexcept {
  switch (a) {
    case alignment::strict: return "strict";
    case alignment::relaxed: return "relaxed";
    case alignment::no: break;
  }
  return "no";
}

std::string organizational_domain(std::string_view domain) {
  std::string d = detail::lowercase(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (!detail::is_dns_name(d, 1)) return {};
  const psl_ctx_t* ctx = psl();
  if (!ctx) return {};
  const char* reg = psl_registrable_domain(ctx, d.c_str());
  return reg ? std::string(reg) : std::string();
}

alignment align(std::string_view sdid, std::string_view from_domain) {
  if (sdid.empty() || from_domain.empty()) return alignment::no;
  if (iequals(sdid, from_domain)) return alignment::strict;
  std::string a = organizational_domain(sdid), b = organizational_domain(from_domain);
  return !a.empty() && a == b ? alignment::relaxed : alignment::no;
}

std::string smtp_reply::line() const { return std::to_string(code) + " " + enhanced + " " + text; }

std::optional<smtp_reply> smtp_reply_for(const std::vector<verification>& results,
                                         std::string_view from_domain,
                                         const local_policy& policy) {
  bool any_pass = false, acceptable = false, temp = false;
  for (const auto& v : results) {
    if (v.status == status::temperror) temp = true;
    if (v.status != status::pass) continue;
    any_pass = true;
    switch (policy.require) {
      case requirement::any:
        acceptable = true;
        break;
      case requirement::aligned:
        acceptable = acceptable || align(v.sdid, from_domain) != alignment::no;
        break;
      case requirement::domains:
        for (const auto& d : policy.domains) acceptable = acceptable || iequals(v.sdid, d);
        break;
    }
  }
  if (acceptable) return std::nullopt;
  // A key that could not be fetched may hold the signature that would have passed: try later.
  if (temp) return key_unavailable();
  if (!any_pass) return no_pass();
  if (policy.require == requirement::aligned) return none_author_matched();
  return none_acceptable();
}

policy_outcome apply_policy(const std::vector<verification>& results,
                            const result<std::vector<std::string>>& from_domains,
                            const mta_policy& policy) {
  policy_outcome out;
  // Only a pass meets anything and only a temperror softens a verdict: any other result, of a
  // testing key (t=y) or not, counts as no signature. `sdid` empty: any signature.
  auto passes = [&](std::string_view sdid) {
    for (const auto& v : results)
      if (v.status == status::pass && (sdid.empty() || iequals(v.sdid, sdid))) return true;
    return false;
  };
  auto temporary = [&](std::string_view sdid) {
    for (const auto& v : results)
      if (v.status == status::temperror && (sdid.empty() || iequals(v.sdid, sdid))) return true;
    return false;
  };
  auto conclude = [&](policy_verdict verdict, smtp_reply reply, std::string reason = {}) {
    out.verdict = verdict;
    out.reply = std::move(reply);
    out.reason = std::move(reason);
    return std::move(out);
  };
  // A key that could not be fetched might have given the pass wanted: 451 or accept, never 5xx.
  auto dns_error = [&] {
    if (!policy.accept_on_dns_error) return true;
    out.dns_error_accepted = true;
    return false;
  };

  const bool any_pass = passes({});
  if (!any_pass && temporary({})) {
    if (dns_error()) return conclude(policy_verdict::tempfail, key_unavailable());
  } else if (!any_pass && policy.reject_without_pass) {
    return conclude(policy_verdict::reject, no_pass());
  }
  if (policy.requirements.empty()) return out;
  // A From that names no author cannot show that a requirement does not apply: fail closed.
  if (!from_domains) {
    if (temporary({}) && !policy.accept_on_dns_error)
      return conclude(policy_verdict::tempfail, key_unavailable());
    return conclude(policy_verdict::reject, none_author_matched(),
                    "from_error=\"" + from_domains.error().message() + "\"");
  }
  for (const auto& r : policy.requirements) {
    bool applies = false;
    for (const auto& d : *from_domains) applies = applies || iequals(d, r.from_domain);
    if (!applies || passes(r.sdid)) continue;
    if (temporary(r.sdid)) {
      if (dns_error()) return conclude(policy_verdict::tempfail, key_unavailable());
      continue;
    }
    bool author = iequals(r.sdid, r.from_domain);
    return conclude(policy_verdict::reject, author ? none_author_matched() : none_acceptable(),
                    "requirement=" + r.from_domain + ":" + r.sdid);
  }
  return out;
}

}  // namespace dkimkit
