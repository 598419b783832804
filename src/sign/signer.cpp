#include <dkimkit/signer.hpp>

#include <dkimkit/key_record.hpp>

#include <algorithm>

#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "message/line_endings.hpp"
#include "sign/signature_field.hpp"
#include "message/reader.hpp"
#include "tag_list/tag_list.hpp"
#include "util/base64.hpp"
#include "util/strings.hpp"

namespace dkimkit {

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> names = {
      "From",        "To",         "Cc",           "Subject",      "Date",
      "Message-ID",  "Reply-To",   "In-Reply-To",  "References",   "MIME-Version",
      "Content-Type", "Content-Transfer-Encoding"};
  return names;
}

namespace {

struct signing {
  sign_options opts;
  algorithm algo = algorithm::rsa_sha256;
  std::size_t body = 0;
};

}  // namespace

struct signer::state {
  explicit state(header_limits l) : limits(l), reader(l.max_header_bytes) {}
  header_limits limits;
  std::uint64_t now = 0;
  std::vector<signing> sigs;
  std::vector<detail::body_hasher> bodies;
  detail::crlf_normalizer norm;
  detail::header_reader reader;
  bool in_body = false;
  std::string scratch;

  void feed(std::string_view piece) {
    if (!in_body) {
      auto start = reader.feed(piece);
      if (!start) return;
      in_body = true;
      piece.remove_prefix(std::min(*start, piece.size()));
    }
    for (auto& b : bodies) b.update(piece, scratch);
  }
  result<std::string> sign_one(const signing& s, const std::vector<header_field>& fields);
};

signer::signer() = default;
signer::signer(signer&&) noexcept = default;
signer& signer::operator=(signer&&) noexcept = default;
signer::~signer() = default;

result<signer> signer::create(std::vector<sign_options> opts, std::uint64_t now,
                              header_limits limits) {
  if (opts.empty()) return fail(errc::invalid_argument, "nothing to sign with");
  signer out;
  out.s_ = std::make_unique<state>(limits);
  out.s_->now = now;
  for (auto& o : opts) {
    o.sdid = detail::lowercase(o.sdid);
    if (!detail::is_dns_name(o.sdid, 2))
      return fail(errc::invalid_argument, "'" + o.sdid + "' is not a signing domain");
    if (!detail::is_dns_name(o.selector, 1))
      return fail(errc::invalid_argument, "'" + o.selector + "' is not a selector");
    if (o.key.bits() == 0) return fail(errc::invalid_argument, "no private key");
    algorithm a = o.algo.value_or(o.key.type() == key_type::ed25519 ? algorithm::ed25519_sha256
                                                                    : algorithm::rsa_sha256);
    if (a == algorithm::rsa_sha1)
      return fail(errc::sha1_not_allowed, "dkimkit never signs with rsa-sha1 (RFC 8301)");
    if (key_type_of(a) != o.key.type())
      return fail(errc::invalid_argument, std::string(to_string(a)) + " needs an " +
                                              std::string(to_string(key_type_of(a))) +
                                              " key, this key is " +
                                              std::string(to_string(o.key.type())));
    if (o.key.type() == key_type::rsa && o.key.bits() < rfc8301_min_rsa_bits)
      return fail(errc::key_too_small, "refusing to sign with a " + std::to_string(o.key.bits()) +
                                           "-bit RSA key (RFC 8301 needs " +
                                           std::to_string(rfc8301_min_rsa_bits) + " at least)");
    if (o.expire_after && *o.expire_after == 0)
      return fail(errc::invalid_argument, "x= must come after t=: the lifetime must be at least 1 s");
    if (o.auid) {
      // Any local-part (written dkim-quoted-printable when signing); no control characters.
      std::size_t at = o.auid->rfind('@');
      bool controls = std::any_of(o.auid->begin(), o.auid->end(), [](char c) {
        return (c >= 0 && c < 0x20) || c == 0x7f;
      });
      if (at == std::string::npos || controls ||
          !is_same_or_subdomain(o.auid->substr(at + 1), o.sdid))
        return fail(errc::invalid_argument,
                    "i=" + detail::encode_dkim_qp(*o.auid) + " must be an identity in " + o.sdid);
    }
    if (o.headers) {
      for (const auto& h : *o.headers)
        if (h.empty() || h.find_first_of(": \t\r\n;") != std::string::npos ||
            !detail::is_printable_ascii(h))
          return fail(errc::invalid_argument, "'" + h + "' is not a header field name");
      if (std::none_of(o.headers->begin(), o.headers->end(),
                       [](const std::string& h) { return iequals(h, "From"); }))
        return fail(errc::invalid_argument, "the signed header fields must include From");
    }
    signing s;
    s.algo = a;
    s.opts = std::move(o);
    // l= is computed by the signer: the hash covers the whole body either way.
    hash_algorithm h = hash_of(a);
    std::size_t idx = 0;
    auto& bodies = out.s_->bodies;
    while (idx < bodies.size() && !bodies[idx].matches(s.opts.body_canon, h, std::nullopt)) ++idx;
    if (idx == bodies.size())
      bodies.emplace_back(s.opts.body_canon, h, std::nullopt, detail::line_ends::crlf_or_bare_lf);
    s.body = idx;
    out.s_->sigs.push_back(std::move(s));
  }
  return out;
}

void signer::update(std::string_view chunk) {
  chunk = s_->norm.update_while(
      chunk, [this] { return !s_->in_body; }, [this](std::string_view piece) { s_->feed(piece); });
  for (auto& b : s_->bodies) b.update(chunk, s_->scratch);  // bare LFs read as line ends
}

void signer::add_header_field(std::string_view raw_field) {
  s_->reader.add_field(normalize_line_endings(raw_field));
}

void signer::end_of_header() { s_->in_body = true; }

void signer::add_body(std::string_view chunk) {
  s_->in_body = true;
  for (auto& b : s_->bodies) b.update(chunk, s_->scratch);  // bare LFs read as line ends
}

result<std::string> signer::state::sign_one(const signing& s,
                                            const std::vector<header_field>& fields) {
  return detail::make_signature_field("DKIM-Signature", "v=1;", s.opts, default_signed_headers(),
                                      s.algo, bodies[s.body], fields, now);
}

result<std::vector<std::string>> signer::finish() {
  state& st = *s_;
  if (st.reader.overflow())
    return fail(errc::header_too_large, "the header block exceeds the limit of " +
                                            std::to_string(st.limits.max_header_bytes) + " bytes");
  for (auto& b : st.bodies) b.finish(st.scratch);
  auto fields = parse_header_block(st.reader.block(), st.limits);
  if (!fields) return tl::unexpected(fields.error());
  if (auto why = detail::from_problem(*fields)) return tl::unexpected(std::move(*why));
  std::vector<std::string> out;
  for (const auto& s : st.sigs) {
    auto f = st.sign_one(s, *fields);
    if (!f) return tl::unexpected(f.error());
    out.push_back(std::move(*f));
  }
  return out;
}

result<std::vector<std::string>> sign(std::string_view message, std::vector<sign_options> opts,
                                      std::uint64_t now) {
  auto s = signer::create(std::move(opts), now);
  if (!s) return tl::unexpected(s.error());
  s->update(message);
  return s->finish();
}

}  // namespace dkimkit
