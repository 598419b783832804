#include <dkimkit/signer.hpp>

#include <dkimkit/key_record.hpp>

#include <algorithm>

#include "canon/body_hasher.hpp"
#include "canon/header_canon.hpp"
#include "message/line_endings.hpp"
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

constexpr std::size_t kMaxLine = 78;

// Builds a folded field: pieces are appended with a space, and a fold (CRLF TAB) is put before a
// piece that would take the line past kMaxLine.
class field_builder {
 public:
  explicit field_builder(std::string_view start) : text_(start), col_(start.size()) {}
  // `room`: how much must fit on the line after the piece (to keep "b=" with its value).
  void add(std::string_view piece, bool space = true, std::size_t room = 0) {
    std::size_t need = piece.size() + (space ? 1 : 0) + room;
    if (col_ + need > kMaxLine && col_ > 1) {
      text_ += "\r\n\t";
      col_ = 1;
    } else if (space) {
      text_ += ' ';
      ++col_;
    }
    text_ += piece;
    col_ += piece.size();
  }
  // Appends `data` with folds anywhere, so that no line passes kMaxLine (for base64).
  void add_breakable(std::string_view data) {
    while (!data.empty()) {
      if (col_ >= kMaxLine) {
        text_ += "\r\n\t";
        col_ = 1;
      }
      std::size_t take = std::min(data.size(), kMaxLine - col_);
      text_.append(data.substr(0, take));
      col_ += take;
      data.remove_prefix(take);
    }
  }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::size_t col_;
};

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
    if (idx == bodies.size()) bodies.emplace_back(s.opts.body_canon, h, std::nullopt);
    s.body = idx;
    out.s_->sigs.push_back(std::move(s));
  }
  return out;
}

void signer::update(std::string_view chunk) {
  s_->norm.update(chunk, [this](std::string_view piece) { s_->feed(piece); });
}

void signer::add_header_field(std::string_view raw_field) {
  s_->reader.add_field(normalize_line_endings(raw_field));
}

void signer::end_of_header() { s_->in_body = true; }

void signer::add_body(std::string_view chunk) {
  s_->in_body = true;
  s_->norm.update(chunk, [this](std::string_view piece) {
    for (auto& b : s_->bodies) b.update(piece, s_->scratch);
  });
}

result<std::string> signer::state::sign_one(const signing& s,
                                            const std::vector<header_field>& fields) {
  const sign_options& o = s.opts;
  const detail::body_hasher& body = bodies[s.body];
  // h=: an explicit list is used as given; the default list names each present field as often as
  // it occurs, and From once more (over-signing: no From can be added without breaking it).
  std::vector<std::string> names;
  if (o.headers) {
    for (const auto& w : *o.headers) names.push_back(detail::lowercase(w));
  } else {
    for (const auto& w : default_signed_headers()) {
      auto count = static_cast<std::size_t>(std::count_if(
          fields.begin(), fields.end(), [&](const header_field& f) { return iequals(f.name, w); }));
      if (count == 0) continue;
      if (o.oversign_from && iequals(w, "From")) ++count;
      names.insert(names.end(), count, detail::lowercase(w));
    }
  }
  std::vector<std::string> h_pieces;  // "from:", "to:", ... for folding at colons
  for (std::size_t i = 0; i < names.size(); ++i)
    h_pieces.push_back(names[i] + (i + 1 < names.size() ? ":" : ";"));

  field_builder fb("DKIM-Signature:");
  fb.add("v=1;");
  fb.add("a=" + std::string(to_string(s.algo)) + ";");
  fb.add("c=" + std::string(to_string(o.header_canon)) + "/" +
         std::string(to_string(o.body_canon)) + ";");
  fb.add("d=" + o.sdid + ";");
  fb.add("s=" + o.selector + ";");
  if (o.auid) fb.add("i=" + detail::encode_dkim_qp(*o.auid) + ";");  // RFC 6376 §2.11
  if (o.timestamp) fb.add("t=" + std::to_string(now) + ";");
  if (o.expire_after) fb.add("x=" + std::to_string(now + *o.expire_after) + ";");
  if (o.body_length) fb.add("l=" + std::to_string(body.canonical_length()) + ";");
  for (std::size_t i = 0; i < h_pieces.size(); ++i)
    fb.add(i == 0 ? "h=" + h_pieces[i] : h_pieces[i], i == 0);
  fb.add("bh=");
  fb.add_breakable(detail::base64_encode(body.digest()) + ";");
  fb.add("b=", true, 8);  // never fold between "b=" and its value
  std::string unsigned_field = fb.text();

  // Hash as a verifier will: the signed fields, then this field with an empty b=.
  std::string data;
  detail::canonicalize_signed_headers(o.header_canon, fields, names, data);
  std::string_view value = std::string_view(unsigned_field).substr(sizeof("DKIM-Signature:") - 1);
  header_field self{unsigned_field, std::string_view(unsigned_field).substr(0, 14), value};
  detail::canonicalize_signature_field(o.header_canon, self, value.size(), 0, data);
  hash_algorithm h = hash_of(s.algo);
  auto sig = o.key.sign_digest(h, detail::digest(h, data));
  if (!sig) return tl::unexpected(sig.error());
  fb.add_breakable(detail::base64_encode(*sig));
  return fb.text();
}

result<std::vector<std::string>> signer::finish() {
  state& st = *s_;
  if (st.reader.overflow())
    return fail(errc::header_too_large, "the header block exceeds the limit of " +
                                            std::to_string(st.limits.max_header_bytes) + " bytes");
  for (auto& b : st.bodies) b.finish(st.scratch);
  auto fields = parse_header_block(st.reader.block(), st.limits);
  if (!fields) return tl::unexpected(fields.error());
  std::size_t from = static_cast<std::size_t>(std::count_if(
      fields->begin(), fields->end(), [](const header_field& f) { return iequals(f.name, "From"); }));
  if (from == 0) return fail(errc::no_from, "refusing to sign a message without a From field");
  if (from > 1)
    return fail(errc::multiple_from, "refusing to sign a message with " + std::to_string(from) +
                                         " From fields (RFC 6376 §8.15)");
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
