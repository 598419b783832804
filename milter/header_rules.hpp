// OpenDKIM's way of choosing the header fields to sign (opendkim.conf(5): SignHeaders,
// OmitHeaders, OversignHeaders) and the fields giving the sender (SenderHeaders), for
// dkimkit-milter's [sign] sign_headers / omit_headers / oversign_headers / sender_headers.
//
//   dkimkit::milter::header_rules r{opendkim_sign_headers(), opendkim_omit_headers(), {"From"}};
//   auto h = signed_header_names(r, {"Subject", "From", "To", "Received"});
//   // {"Subject", "From", "To", "From"}: the fields present, in message order, then over-signing
//
// A name is matched without regard to case; "*" in it matches any run of characters (OpenDKIM
// turns it into ".*"). Plain values, no lifetime rules.
#pragma once

#include <dkimkit/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit::milter {

struct header_rules {
  std::vector<std::string> sign;      // signed when present (From always is)
  std::vector<std::string> omit;      // never signed, even when `sign` names them
  std::vector<std::string> oversign;  // listed in h= once more than present (each once, at the end)
};

// OpenDKIM 2.11's default SignHeaders: RFC 6376 §5.4.1's list, with Resent-Sender (checked
// against `opendkim -t`: Sender, Message-ID, MIME-Version and Content-* are not in it).
[[nodiscard]] const std::vector<std::string>& opendkim_sign_headers();
// OpenDKIM's default OmitHeaders: RFC 6376 §5.4's "SHOULD NOT" list.
[[nodiscard]] const std::vector<std::string>& opendkim_omit_headers();

// At most this many names in one list, each of at most max_header_name_bytes.
inline constexpr std::size_t max_header_rule_names = 256;
inline constexpr std::size_t max_header_name_bytes = 256;

// A name of a header rule: field-name characters (RFC 5322 ftext) and "*" only; OpenDKIM reads
// the others as a regular expression ("+ ? ( ) [ ] { } | ^ $ \\"), which dkimkit-milter
// refuses ("." it escapes: a name). `glob`: whether "*" is allowed.
[[nodiscard]] result<void> check_header_rule_name(std::string_view name, bool glob);

// Whether the rules can be used: each list of at most max_header_rule_names names that
// check_header_rule_name() accepts ("*" not in `oversign`), and From not omitted (OpenDKIM would
// then sign nothing). The error names the list: "omit_headers: ...".
[[nodiscard]] result<void> check_header_rules(const header_rules& r);
// The same for sender_headers: one to max_header_rule_names names, no "*".
[[nodiscard]] result<void> check_sender_headers(const std::vector<std::string>& names);

// A list as OpenDKIM 2.11 reads SignHeaders and OmitHeaders: when one entry is "*", the result is
// `defaults` changed by the "+NAME" (added) and "-NAME" (one occurrence removed) entries in
// order, and other entries are ignored; otherwise the entries themselves, of which one starting
// with "+" is an error (OpenDKIM fails to start) and one starting with "-" is a name.
[[nodiscard]] result<std::vector<std::string>> opendkim_header_list(
    const std::vector<std::string>& entries, const std::vector<std::string>& defaults);

// Whether `name` (a field name) matches `pattern`, without regard to case, "*" matching any run.
[[nodiscard]] bool header_name_matches(std::string_view pattern, std::string_view name) noexcept;

// h= for a message whose fields have these names, top to bottom: each field whose name matches
// From or one of r.sign, and none of r.omit, as named in the message, in message order; then
// each of r.oversign once. An omitted From leaves From out (OpenDKIM then does not sign).
[[nodiscard]] std::vector<std::string> signed_header_names(
    const header_rules& r, const std::vector<std::string_view>& field_names);

}  // namespace dkimkit::milter
