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
  if (temp) return smtp_reply{451, "4.7.5", "DKIM key could not be fetched, try again later"};
  if (!any_pass) return smtp_reply{550, "5.7.20", "No passing DKIM signature found"};
  if (policy.require == requirement::aligned)
    return smtp_reply{550, "5.7.22", "No valid author-matched DKIM signature found"};
  return smtp_reply{550, "5.7.21", "No acceptable DKIM signature found"};
}

}  // namespace dkimkit
