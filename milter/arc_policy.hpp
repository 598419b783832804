// dkimkit-milter's use of ARC (RFC 8617): the arc= entry of its Authentication-Results field, the
// local trusted-sealer override ([arc] trusted_sealers) and the results a seal records.
//
//   auto sealer = dkimkit::milter::arc_override(chain, results, from_domains,
//   cfg.arc.trusted_sealers); std::string entry = dkimkit::milter::arc_entry(chain, "192.0.2.1",
//   sealer.value_or(""));
//   // "arc=pass header.oldest-pass=1 smtp.remote-ip=192.0.2.1 policy.arc-override=lists.example"
//
// Everything here reads parsed structures only (the validator's sets, RFC 8601 parses): a value
// that did not parse never counts.
#pragma once

#include <dkimkit/arc.hpp>
#include <dkimkit/error.hpp>
#include <dkimkit/verifier.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit::milter {

// The trusted sealer whose word stands in for DKIM, or nullopt. All of these must hold:
//   - the From fields name exactly one author domain (`from_domains`, author_domains());
//   - no signature in `results` passes with d= that domain (ASCII case ignored);
//   - the chain passes;
//   - the newest set's ARC-Seal d= is one of `trusted` (exact, ASCII case ignored, one trailing
//     dot ignored: a subdomain of a trusted sealer is not trusted);
//   - that set's ARC-Authentication-Results parsed (RFC 8601) and holds a result dkim=pass whose
//     header.d, or the domain of whose header.i, is the author domain.
// The answer is the sealer's d= as the seal wrote it, lowercased.
[[nodiscard]] std::optional<std::string> arc_override(
    const arc_validation& chain, const std::vector<verification>& results,
    const result<std::vector<std::string>>& from_domains, const std::vector<std::string>& trusted);

// The arc= result for an Authentication-Results field (RFC 8617 §7.2): "arc=pass
// header.oldest-pass=K", "arc=fail (REASON)" or "arc=none", then smtp.remote-ip=ADDR when
// `remote_ip` is not empty and policy.arc-override=SEALER when `override_sealer` is not empty.
// The reason is a comment of printable ASCII, at most 200 bytes of it.
[[nodiscard]] std::string arc_entry(const arc_validation& chain, std::string_view remote_ip,
                                    std::string_view override_sealer);

// The results of Authentication-Results field values (each what follows the field's colon), as
// the text after an authserv-id: "dkim=pass header.d=example.org; spf=pass ...". Each value is
// parsed (RFC 8601) and written again from the parse: method=result, reason= and the properties,
// values quoted where needed; comments are left out, and so are values that do not parse and
// property values that are not printable ASCII. "none" when no result is left; nullopt when no
// value parsed.
[[nodiscard]] std::optional<std::string> rewritten_results(const std::vector<std::string>& values);

}  // namespace dkimkit::milter
