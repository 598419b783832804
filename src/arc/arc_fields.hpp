// The three ARC header fields (RFC 8617 §4.1), parsed with the DKIM signature parser's rules.
#pragma once

#include <array>
#include <cstddef>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/error.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/signature.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dkimkit::detail {

enum class arc_kind { authentication_results = 0, message_signature = 1, seal = 2 };

// The kind of an ARC field by its name (ASCII case-insensitive), or nullopt for other fields.
[[nodiscard]] std::optional<arc_kind> arc_kind_of(std::string_view name) noexcept;
// "ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal".
[[nodiscard]] std::string_view arc_field_name(arc_kind k) noexcept;

// The instance (i=, 1*3DIGIT, at least 1) of an ARC field's value: the tag i= of an AMS or AS,
// the "i=N;" prefix of an AAR (RFC 8617 §4.1.1). Fails with tag_syntax or tag_missing.
[[nodiscard]] result<unsigned> arc_instance_of(arc_kind k, std::string_view value);

// An ARC-Authentication-Results value: the "i=N;" prefix, then an Authentication-Results payload.
[[nodiscard]] result<auth_results_field> parse_arc_authentication_results(std::string_view value);

// An ARC-Message-Signature value (RFC 8617 §4.1.2): a DKIM-Signature without v=, its i= being the
// instance (not an identity: sig.auid stays empty). h= may be empty and may hold empty names
// (skipped), as the ARC test suite has it; h= naming ARC-Seal fails. b_offset/b_length: where the
// b= value lies in `value`.
[[nodiscard]] result<signature> parse_arc_message_signature(std::string_view value,
                                                            const signature_limits& limits,
                                                            std::size_t& b_offset,
                                                            std::size_t& b_length);

struct arc_seal {
  signature sig;   // a=, b=, d=, s=, t= (no body hash, no h=)
  std::string cv;  // "none", "pass" or "fail"
};

// An ARC-Seal value (RFC 8617 §4.1.3): i=, a=, b=, cv=, d=, s= required, t= optional, no h=.
[[nodiscard]] result<arc_seal> parse_arc_seal(std::string_view value,
                                              const signature_limits& limits, std::size_t& b_offset,
                                              std::size_t& b_length);

// The ARC-Seal's hash input (RFC 8617 §5.1.1): each set's AAR, AMS and AS (instance order),
// canonicalized relaxed; the last set's AS with its b= value (b_offset, b_length) emptied and
// without the final CRLF.
using arc_set_fields = std::array<const header_field*, 3>;
void canonicalize_arc_sets(std::span<const arc_set_fields> sets, std::size_t b_offset,
                           std::size_t b_length, std::string& out);

}  // namespace dkimkit::detail
