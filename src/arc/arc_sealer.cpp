// Adding an ARC set (RFC 8617 §5.1): the AMS is the signer's signature field under another name,
// the AS is hashed as the validator hashes it.
#include <algorithm>
#include <dkimkit/arc.hpp>

#include "arc/arc_fields.hpp"
#include "canon/body_hasher.hpp"
#include "sign/signature_field.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {
namespace {

// The results of an Authentication-Results value after its authserv-id (and version): from after
// the first ';' outside a quoted-string or comment, FWS trimmed. Empty when there is none.
std::string_view results_part(std::string_view value) {
  bool quoted = false;
  int depth = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\') {
      ++i;
    } else if (quoted) {
      quoted = c != '"';
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (c == ';' && depth == 0) {
      return detail::trim_fws(value.substr(i + 1));
    }
  }
  return {};
}

// The results for the new AAR: given, or those of this server's Authentication-Results fields.
result<std::string> aar_results(const std::vector<header_field>& fields,
                                const arc_seal_options& o) {
  if (o.results) return *o.results;
  std::string out;
  bool found = false;
  for (const header_field& f : fields) {
    if (!iequals(f.name, "Authentication-Results") || !claims_authserv_id(f.value, o.authserv_id))
      continue;
    found = true;
    const std::string_view part = results_part(f.value);
    if (part.empty() || part == "none") continue;
    if (!out.empty()) out += ";\r\n\t";
    out.append(part);
  }
  if (!found)
    return fail(errc::invalid_argument,
                "no Authentication-Results field of " + o.authserv_id + " to copy into the set");
  return out.empty() ? std::string("none") : out;
}

}  // namespace

const std::vector<std::string>& default_arc_signed_headers() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = default_signed_headers();
    v.emplace_back("DKIM-Signature");
    return v;
  }();
  return names;
}

result<std::vector<std::string>> arc_seal(std::string_view message, const arc_validation& chain,
                                          const arc_seal_options& o, std::uint64_t now) {
  if (o.signing.auid || o.signing.body_length)
    return fail(errc::invalid_argument, "i= and l= are not tags of an ARC-Message-Signature");
  if (o.signing.headers)
    for (const std::string& h : *o.signing.headers)
      if (iequals(h, "ARC-Seal"))
        return fail(errc::invalid_argument, "the AMS may not sign ARC-Seal (RFC 8617 §4.1.2)");
  if (o.authserv_id.empty() || !detail::is_printable_ascii(o.authserv_id) ||
      o.authserv_id.find_first_of(" \t;()\"\\") != std::string::npos)
    return fail(errc::invalid_argument,
                "'" + detail::quotable(o.authserv_id) + "' is not an authserv-id");
  // The signer's checks of d=, s=, the key and h= (it signs nothing here).
  if (auto checked = signer::create({o.signing}, now); !checked)
    return tl::unexpected(checked.error());
  const algorithm algo =
      o.signing.algo.value_or(o.signing.key.type() == key_type::ed25519 ? algorithm::ed25519_sha256
                                                                        : algorithm::rsa_sha256);

  sign_options signing = o.signing;  // d= lowercased, as the signer writes it
  signing.sdid = detail::lowercase(signing.sdid);

  const std::string normalized = normalize_line_endings(message);
  auto view = parse_message(normalized);
  if (!view) return tl::unexpected(view.error());
  if (auto why = detail::from_problem(view->fields)) return tl::unexpected(std::move(*why));

  // The existing sets by instance (their structure is what `chain` says about them).
  std::vector<detail::arc_set_fields> sets;
  for (const header_field& f : view->fields) {
    const auto kind = detail::arc_kind_of(f.name);
    if (!kind) continue;
    const auto instance = detail::arc_instance_of(*kind, f.value);
    if (!instance || *instance > arc_max_sets) continue;
    if (sets.size() < *instance) sets.resize(*instance, {nullptr, nullptr, nullptr});
    sets[*instance - 1][static_cast<std::size_t>(*kind)] = &f;
  }
  const std::size_t n = sets.size();
  if (n >= arc_max_sets)
    return fail(errc::invalid_argument, "the chain has " + std::to_string(arc_max_sets) +
                                            " sets already (RFC 8617 §5.2 step 1)");
  // A chain that passed has every field of its sets: a hole means another message's validation.
  const bool holes = std::any_of(sets.begin(), sets.end(), [](const detail::arc_set_fields& set) {
    return std::find(set.begin(), set.end(), nullptr) != set.end();
  });
  if ((chain.result == arc_result::none) != (n == 0) ||
      (chain.result == arc_result::pass && (chain.sets != n || holes)))
    return fail(errc::invalid_argument, "the validation given is not that of this message");
  // A key that could not be fetched for now: cv=fail would fail the chain for every later hop.
  if (chain.result == arc_result::fail && status_of(chain.code) == status::temperror)
    return fail(errc::dns_temporary,
                "a key of the chain could not be fetched for now: not sealed with cv=fail, which "
                "would fail the chain for good; try again later");
  if (n > 0 && sets[n - 1][2]) {
    std::size_t off = 0, len = 0;
    const auto newest = detail::parse_arc_seal(sets[n - 1][2]->value, {}, off, len);
    if (newest && newest->cv == "fail")
      return fail(errc::invalid_argument,
                  "the chain failed before (ARC-Seal i=" + std::to_string(n) +
                      " has cv=fail): no set is added (RFC 8617 §5.1)");
  }
  if (!o.allow_resealing && n > 0 && sets[n - 1][0]) {
    const auto newest = detail::parse_arc_authentication_results(sets[n - 1][0]->value);
    if (newest && same_authserv_id(newest->authserv_id, o.authserv_id))
      return fail(errc::invalid_argument, "the newest ARC set already comes from " + o.authserv_id +
                                              ": the message was sealed here");
  }
  const std::string cv = chain.result == arc_result::pass   ? "pass"
                         : chain.result == arc_result::none ? "none"
                                                            : "fail";
  const std::string i = std::to_string(n + 1);

  auto results = aar_results(view->fields, o);
  if (!results) return tl::unexpected(results.error());
  std::string added =
      "ARC-Authentication-Results: i=" + i + "; " + o.authserv_id + "; " + *results + "\r\n";

  // The AMS: the signer's field, over the message with the new AAR on top.
  detail::body_hasher body(o.signing.body_canon, hash_of(algo), std::nullopt);
  std::string scratch;
  body.update(view->body, scratch);
  body.finish(scratch);
  std::string_view block =
      std::string_view(normalized)
          .substr(0, normalized.size() - view->body.size());  // the fields and the empty line
  if (block.size() >= 4 && block.substr(block.size() - 4) == "\r\n\r\n") block.remove_suffix(2);
  const std::string header = added + std::string(block);
  auto with_aar = parse_header_block(header);
  if (!with_aar) return tl::unexpected(with_aar.error());
  auto ams = detail::make_signature_field("ARC-Message-Signature", "i=" + i + ";", signing,
                                          default_arc_signed_headers(), algo, body, *with_aar, now);
  if (!ams) return tl::unexpected(ams.error());
  added += *ams + "\r\n";

  // The AS over the sets (only the new one on a failed chain), its own b= empty.
  detail::field_builder fb("ARC-Seal:");
  fb.add("i=" + i + ";");
  fb.add("a=" + std::string(to_string(algo)) + ";");
  fb.add("cv=" + cv + ";");
  fb.add("d=" + signing.sdid + ";");
  fb.add("s=" + o.signing.selector + ";");
  if (o.signing.timestamp) fb.add("t=" + std::to_string(now) + ";");
  fb.add("b=", true, 8);
  const std::string unsigned_seal = added + fb.text() + "\r\n";
  auto own = parse_header_block(unsigned_seal);
  if (!own || own->size() != 3) return fail(errc::invalid_argument, "the new set does not parse");
  if (cv == "fail") sets.clear();
  sets.push_back({&(*own)[0], &(*own)[1], &(*own)[2]});
  std::string data;
  detail::canonicalize_arc_sets(sets, (*own)[2].value.size(), 0, data);
  const hash_algorithm h = hash_of(algo);
  auto sig = o.signing.key.sign_digest(h, detail::digest(h, data));
  if (!sig) return tl::unexpected(sig.error());
  fb.add_breakable(detail::base64_encode(*sig));
  return std::vector<std::string>{fb.text(), *ams, std::string((*own)[0].raw)};
}

}  // namespace dkimkit
