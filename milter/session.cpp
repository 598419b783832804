#include "session.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <ctime>
#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/key_rotation.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/sender.hpp>
#include <dkimkit/signature.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/signing_table.hpp>
#include <new>
#include <optional>
#include <span>
#include <utility>

#include "arc_policy.hpp"

namespace dkimkit::milter {
namespace {

enum class direction { undecided, sign, verify, skip };

// The keys the tables choose for the sender's mailbox (choose_sender(): none when it has none),
// loaded: a key of the key table with "%" is read now. An error (the message tempfails) when a
// chosen row names no key of the key table or its key cannot be loaded.
result<std::vector<sign_options>> table_keys_for(const config& cfg, const sender& from) {
  std::vector<sign_options> out;
  if (!from.address) return out;
  auto chosen = select_keys(*cfg.signing_table, *cfg.key_table, from.address->local_part,
                            from.address->domain, cfg.multiple_signatures);
  if (!chosen) return tl::unexpected(chosen.error());
  for (auto& k : *chosen) {
    sign_options o;
    if (auto it = cfg.table_keys.find(k.key); it != cfg.table_keys.end()) {
      o.key = it->second;
    } else {
      std::string warning;
      auto key = load_table_key(k.key, k.key_is_file, k.algo, cfg.require_safe_keys, warning);
      if (!key)
        return fail(key.error().code,
                    "key table line " + std::to_string(k.key_line) + ": " + key.error().detail);
      o.key = std::move(*key);
    }
    o.sdid = std::move(k.sdid);
    o.selector = std::move(k.selector);
    o.algo = k.algo;
    o.auid = std::move(k.auid);
    out.push_back(std::move(o));
  }
  return out;
}

// Milter header values are folded with LF; the library folds with CRLF. `field` is a whole field
// ("Name: value"); the result is what follows the colon.
std::string lf_folded(std::string_view field, std::size_t name_len) {
  return with_line_endings(field.substr(name_len + 1), line_ending::lf);
}

// Our Authentication-Results field, small enough for libmilter (which refuses values over 64 KiB):
// with up to 100 evaluated signatures of long names, the reasons go first, then header.i.
std::string bounded_auth_results(const std::string& authserv_id,
                                 const std::vector<verification>& results) {
  constexpr std::size_t kMaxBytes = 60000;
  std::string field = format_auth_results(authserv_id, results);
  if (field.size() <= kMaxBytes) return field;
  std::vector<verification> shorter = results;
  for (auto& v : shorter)
    if (v.evaluated()) v.reason.clear();
  field = format_auth_results(authserv_id, shorter);
  if (field.size() <= kMaxBytes) return field;
  for (auto& v : shorter) v.auid.clear();
  return format_auth_results(authserv_id, shorter);
}

// Whether an Authentication-Results field claiming our authserv-id is one OpenDKIM removes from
// verified mail (remove_auth_results "dkim" or "any_result"): by the RFC 8601 grammar, a field
// holding a dkim result, or any result. A field that does not parse is kept, as OpenDKIM keeps it.
bool removed_when_verified(std::string_view value, ar_removal rule) {
  auto f = parse_auth_results(value);
  if (!f) return false;
  if (rule == ar_removal::any_result) return !f->results.empty();
  for (const auto& r : f->results)
    if (r.method == "dkim") return true;
  return false;
}

// The names of the fields ("Name:value"), in order.
std::vector<std::string_view> field_names(const std::vector<std::string>& fields) {
  std::vector<std::string_view> out;
  out.reserve(fields.size());
  for (const auto& f : fields) out.push_back(std::string_view(f).substr(0, f.find(':')));
  return out;
}

// The header fields to a verifier or an ARC validator, then the end of the header (key lookups
// start). Past the header limit (`overflow`), it sees a header block that is too large.
template <class Checker>
void feed_header(Checker& c, const std::vector<std::string>& fields, bool overflow,
                 const config& cfg) {
  for (const auto& f : fields) c.add_header_field(f);
  if (overflow)
    c.add_header_field(std::string("X-Dkimkit-Overflow: ") +
                       std::string(cfg.verify.header.max_header_bytes, 'x'));
  c.end_of_header();
}

mta_policy policy_of(const config& cfg) {
  mta_policy p;
  p.reject_without_pass = cfg.on_no_pass == action::reject;
  p.accept_on_dns_error = cfg.on_dns_error == action::accept;
  for (const auto& r : cfg.requirements) p.requirements.push_back({r.from_domain, r.sdid});
  return p;
}

decision make_reply(verdict v, std::string code, std::string enhanced, std::string text) {
  decision d;
  d.reply = v;
  d.code = std::move(code);
  d.enhanced = std::move(enhanced);
  d.text = std::move(text);
  return d;
}

}  // namespace

session_clock system_clock() {
  session_clock c;
  c.unix_time = [] { return static_cast<std::uint64_t>(std::time(nullptr)); };
  c.milliseconds = [] {
    auto since = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(since).count());
  };
  return c;
}

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::proceed:
      return "continue";
    case verdict::accept:
      return "accept";
    case verdict::tempfail:
      return "tempfail";
    case verdict::reject:
      return "reject";
  }
  return "continue";
}

struct session::message {
  std::shared_ptr<const environment> env;
  bool authenticated = false;
  std::optional<macro_values> macros;  // set_macros()
  std::vector<std::string> fields;     // "Name:value" as received, value with its leading space
  std::size_t header_bytes = 0;
  bool header_overflow = false;
  int ar_count = 0;              // Authentication-Results fields seen
  std::vector<int> forged_ar;    // their 1-based indices that claim our authserv-id (up to the cap)
  std::size_t forged_count = 0;  // all of those
  // The From fields and those of sender_headers (RFC 5322 address lists), past the header limit
  // too; more than sender_fields::max_fields of one name is an error of its own.
  sender_fields senders;
  // At end of header: every domain of every mailbox of every From field, or why there is none.
  result<std::vector<std::string>> from_domains = std::vector<std::string>{};
  direction dir = direction::undecided;
  std::optional<signer> sig;
  std::optional<verifier> ver;
  std::string signers;  // " d=... s=..." of the keys signing, for the log line
  // [arc]: the chain's validator (verify, or a message that may be sealed), fed as `ver` is.
  std::optional<arc_validator> arc;
  std::optional<arc_validation> chain;  // its result, once finished
  // [arc] seal: whether the message is to be sealed at its end, its body meanwhile (`fields` is
  // kept too), the bytes of header and body received, and whether that went over max_seal_bytes
  // (the body is dropped then).
  bool may_seal = false;
  std::string seal_body;
  std::size_t seal_bytes = 0;
  bool seal_too_large = false;
  // [arc] seal: the values of the Authentication-Results fields claiming our authserv-id (at most
  // max_forged_auth_results of them, max_header_bytes in all), for a message that is signed.
  std::vector<std::string> own_ar;
  std::size_t own_ar_bytes = 0;
  // Indices into `fields` of the fields deleted from verified mail (remove_auth_results other
  // than "all", which keeps such fields out of `fields` altogether).
  std::vector<std::size_t> deleted_fields;
  // [replay]: the envelope recipients' paths (RCPT TO), at most max_recipients.
  std::vector<std::string> recipients;
};

session::session(std::shared_ptr<const environment> env, session_clock clock)
    : env_(std::move(env)), clock_(std::move(clock)) {
  assert(env_ && env_->cfg);
  assert(clock_.unix_time && clock_.milliseconds);
}
session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

namespace {

// The address as text ("" for none or another family).
std::string address_text(int family, const unsigned char* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!addr || (family != AF_INET && family != AF_INET6)) return {};
  if (!::inet_ntop(family, addr, text, sizeof text)) return {};
  return text;
}

}  // namespace

void session::remember_address(int family, const unsigned char* addr) {
  client_ip_ = address_text(family, addr);
  client_family_ = 0;
  if (client_ip_.empty()) return;
  client_family_ = family;
  std::memcpy(client_addr_, addr, family == AF_INET ? 4 : 16);
}

void session::connect(int family, const unsigned char* addr) {
  internal_ = false;
  remember_address(family, addr);
  if (!addr) return;
  if (family == AF_INET || family == AF_INET6)
    internal_ = in_networks(env_->cfg->internal_networks, family, addr);
}

verdict session::connect(std::string_view host_name, int family, const unsigned char* addr) {
  const config& cfg = *env_->cfg;
  // The address as text ("" for none or another family), as OpenDKIM matches host lists.
  remember_address(family, addr);
  const std::string& text = client_ip_;
  skipped_ = false;
  if (cfg.skip_hosts) {
    // OpenDKIM's mlfi_connect: the name unless it is "[address]", then the address.
    std::string_view name = !host_name.empty() && host_name.front() == '[' ? "" : host_name;
    if (cfg.skip_hosts->list.matches(name, text)) {
      skipped_ = true;
      internal_ = false;
      msg_.reset();
      return verdict::accept;
    }
  }
  if (!cfg.internal_hosts) {
    connect(family, addr);
    return verdict::proceed;
  }
  // OpenDKIM's mlfi_eoh: the name as given, and the address; none at all is 127.0.0.1.
  internal_ = cfg.internal_hosts->list.matches(
      host_name, addr ? std::string_view(text) : std::string_view("127.0.0.1"));
  return verdict::proceed;
}

std::vector<std::string> session::wanted_macros() const {
  return milter::wanted_macros(msg_ ? *msg_->env->cfg : *env_->cfg);
}

void session::set_macros(macro_values values) {
  if (!msg_) return;
  auto it = values.find("{auth_type}");
  msg_->authenticated = it != values.end() && !it->second.empty();
  msg_->macros = std::move(values);
}

bool session::wants_recipients() const noexcept {
  const environment& e = msg_ ? *msg_->env : *env_;
  return e.replay && e.cfg->replay.enabled;
}

void session::recipient(std::string_view path) {
  if (!msg_ || !msg_->env->replay || !msg_->env->cfg->replay.enabled) return;
  if (msg_->recipients.size() < msg_->env->cfg->replay.settings.max_recipients)
    msg_->recipients.emplace_back(path.substr(0, 512));  // RFC 5321 §4.5.3.1.3: 256 octets
}

void session::start_message(bool authenticated, std::shared_ptr<const environment> env) {
  msg_.reset();
  if (env) env_ = std::move(env);
  if (skipped_) return;  // skip_hosts: nothing is handled
  assert(env_ && env_->cfg);
  auto m = std::make_unique<message>();
  m->env = env_;
  m->authenticated = authenticated;
  const config& cfg = *env_->cfg;
  m->senders = sender_fields(cfg.sender_headers);
  queue_id_ = "-";
  start_ms_ = clock_.milliseconds();
  // Until the From domain is known, an error must not let through mail that may need signing
  // (nor, with daemon_names or macros, mail whose macros are not known yet).
  signing_ = cfg.mode != mode::verify && (internal_ || (authenticated && cfg.sign_authenticated) ||
                                          !cfg.daemon_names.empty() || !cfg.sign_macros.empty());
  msg_ = std::move(m);
}

void session::set_mta_name(std::string_view j) {
  auto host_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  };
  if (j.empty() || j.size() > 253 || !std::all_of(j.begin(), j.end(), host_char)) return;
  mta_name_ = std::string(j);
}

const std::string& session::authserv_id() const {
  const config& cfg = msg_ ? *msg_->env->cfg : *env_->cfg;
  return cfg.authserv_id_from_mta && !mta_name_.empty() ? mta_name_ : cfg.authserv_id;
}

void session::set_queue_id(std::string_view id) {
  if (!id.empty()) queue_id_ = std::string(id);
}

void session::abort() noexcept {
  msg_.reset();
  signing_ = false;
}

std::string session::log_text(const std::string& what) const {
  return queue_id_ + ": " + what + " ms=" + std::to_string(clock_.milliseconds() - start_ms_);
}

decision session::internal_error(std::string_view why) const {
  // A message that may need signing is never passed unsigned (hostile-inputs row 78).
  bool tempfail = signing_ || env_->cfg->on_internal_error == action::tempfail;
  decision d =
      tempfail ? make_reply(verdict::tempfail, "451", "4.3.0", "DKIM filter error, try again later")
               : make_reply(verdict::accept, "", "", "");
  d.log = queue_id_ + ": internal error: " + std::string(why);
  d.level = log_level::error;
  return d;
}

decision session::settle(decision d) {
  if (d.settled()) msg_.reset();
  return d;
}

template <class F>
decision session::guarded(F&& f) {
  try {
    return settle(f());
  } catch (const std::bad_alloc&) {
    return settle(internal_error("out of memory"));
  } catch (const std::exception& e) {
    // A bug (the library throws nothing else): said so in the log, and fuzzing traps on it.
    return settle(internal_error(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    return settle(internal_error("unexpected exception"));
  }
}

decision session::header(std::string_view name, std::string_view value) {
  return guarded([&] {
    decision d;
    if (!msg_ || msg_->dir != direction::undecided) return d;
    message& m = *msg_;
    const config& cfg = *m.env->cfg;
    bool deleted_if_verified = false;
    if (iequals(name, "Authentication-Results")) {
      ++m.ar_count;
      if (claims_authserv_id(value, authserv_id())) {
        // [arc] seal: what this server found when the message came in, for the set it adds
        // when the message is signed (a list re-sending it); bounded.
        if (cfg.arc.seal && m.own_ar.size() < cfg.max_forged_auth_results &&
            m.own_ar_bytes + value.size() <= cfg.verify.header.max_header_bytes) {
          m.own_ar_bytes += value.size();
          m.own_ar.emplace_back(value);
        }
        if (cfg.remove_auth_results == ar_removal::all) {
          // Removed in every direction (RFC 8601 §5); never hashed, never signed. Past the cap
          // the message is refused at its end, so only the count matters then.
          if (++m.forged_count <= cfg.max_forged_auth_results) m.forged_ar.push_back(m.ar_count);
          return d;
        }
        // OpenDKIM's rule: removed from verified mail only, so it stays in the header for now.
        if (removed_when_verified(value, cfg.remove_auth_results) &&
            ++m.forged_count <= cfg.max_forged_auth_results) {
          m.forged_ar.push_back(m.ar_count);
          deleted_if_verified = true;
        }
      }
    }
    m.senders.add(name, value);
    m.header_bytes += name.size() + value.size() + 3;
    if (m.header_bytes > cfg.verify.header.max_header_bytes) {
      m.header_overflow = true;
      return d;
    }
    std::string field;
    field.reserve(name.size() + 1 + value.size());
    field.append(name).append(":").append(value);
    if (deleted_if_verified) m.deleted_fields.push_back(m.fields.size());
    m.fields.push_back(std::move(field));
    return d;
  });
}

decision session::decide_direction(message& m) {
  decision d;
  const config& cfg = *m.env->cfg;
  // The author domains, by the RFC 5322 grammar (dkimkit/policy.hpp): never guessed.
  m.from_domains = author_domains(m.senders);
  auto too_many_forged = [&] {
    // Each removal makes the MTA look the field up again (Postfix: from the top of the queue
    // file); thousands of them cost seconds and can crash its cleanup. Refuse, do not edit.
    bool reject = cfg.on_forged_auth_results == action::reject;
    decision r = make_reply(reject ? verdict::reject : verdict::tempfail, reject ? "550" : "451",
                            reject ? "5.7.1" : "4.7.1",
                            "Too many Authentication-Results fields claiming this server");
    r.log = log_text("dir=none forged_ar=" + std::to_string(m.forged_count) + " (more than " +
                     std::to_string(cfg.max_forged_auth_results) +
                     ", max_forged_auth_results) action=" + (reject ? "reject" : "tempfail"));
    return r;
  };
  // Under OpenDKIM's rules (remove_auth_results other than "all") only verified mail is edited.
  const bool removes_always = cfg.remove_auth_results == ar_removal::all;
  if (m.forged_count > cfg.max_forged_auth_results && removes_always) return too_many_forged();
  // OpenDKIM's rule (signing_origin()): MTA daemon names and macros, then internal or
  // authenticated clients.
  const bool origin =
      signing_origin(cfg, internal_, m.authenticated, m.macros ? &*m.macros : nullptr);
  bool may_sign = cfg.mode != mode::verify && origin;
  // The sender (dkimkit/sender.hpp): signed for one domain only, never without a From field. Needed
  // to sign, and in mode sign to say why a message is not signed.
  std::optional<sender> from;
  std::string no_sender;  // why there is none
  if (may_sign || cfg.mode == mode::sign) {
    auto chosen = choose_sender(m.senders, {.first_mailbox = cfg.first_sender_mailbox});
    if (chosen)
      from = std::move(*chosen);
    else
      no_sender = chosen.error().message();
  }
  std::vector<sign_options> opts;
  if (may_sign && from) {
    if (cfg.signing_table) {
      auto chosen = table_keys_for(cfg, *from);
      if (!chosen) return internal_error("signing table: " + chosen.error().message());
      opts = std::move(*chosen);
    } else {
      // Key rotation (dkimkit/key_rotation.hpp): of the closest domain's keys, those in force
      // sign. A domain with keys but none valid now is deferred, not passed unsigned.
      const std::uint64_t now = clock_.unix_time();
      std::vector<rotating_key> candidates;
      candidates.reserve(cfg.keys.size());
      for (const auto& k : cfg.keys) candidates.push_back({k.domain, k.window()});
      const rotation_choice chosen =
          choose_signing_keys(candidates, from->domain, cfg.subdomains, now);
      if (chosen.in_force.empty() && !chosen.outside.empty()) {
        std::string outside;
        for (std::size_t i : chosen.outside) {
          const signing_key& k = cfg.keys[i];
          outside += " s=" + k.selector +
                     (schedule_at(k.window(), now) == key_schedule::expired
                          ? " expired at " + utc_time(*k.not_after)
                          : " valid from " + utc_time(*k.not_before));
        }
        return internal_error("no key of " + chosen.domain + " is valid at " + utc_time(now) + ":" +
                              outside);
      }
      for (std::size_t i : chosen.in_force) {
        const signing_key& k = cfg.keys[i];
        sign_options o;
        o.sdid = k.domain;
        o.selector = k.selector;
        o.key = k.key;
        o.algo = k.algo;
        opts.push_back(std::move(o));
      }
    }
  }
  if (!opts.empty()) {
    m.dir = direction::sign;
    signing_ = true;
    if (m.header_overflow) return internal_error("header too large to sign");
    std::optional<std::vector<std::string>> headers = cfg.headers;
    if (cfg.sign_rules) headers = signed_header_names(*cfg.sign_rules, field_names(m.fields));
    for (auto& o : opts) {
      m.signers += " d=" + o.sdid + " s=" + o.selector;
      o.header_canon = cfg.header_canon;
      o.body_canon = cfg.body_canon;
      o.headers = headers;
      if (cfg.sign_rules) o.oversign_from = false;  // h= is exactly what the rules make
      o.expire_after = cfg.expire_after;
    }
    auto s = signer::create(std::move(opts), clock_.unix_time(), verify_options_of(cfg).header);
    if (!s) return internal_error(s.error().message());
    m.sig.emplace(std::move(*s));
    for (const auto& f : m.fields) m.sig->add_header_field(f);
    m.sig->end_of_header();
    // [arc] seal: mail this server signs is sealed only when an internal client re-sends what it
    // received here (its Authentication-Results fields say so), e.g. a mailing list.
    if (cfg.arc.seal && internal_ && !m.own_ar.empty()) start_arc(m, true);
    if (!m.may_seal) m.fields = {};
    return d;
  }
  signing_ = false;
  if (cfg.mode == mode::sign) {
    m.dir = direction::skip;
    d.reply = verdict::accept;
    d.log = log_text("dir=none (not ours to sign: " +
                     (!m.from_domains ? "no author domain: " + m.from_domains.error().message()
                      : !from         ? "no sender: " + no_sender
                                      : from->domain) +
                     (origin ? "" : ", external client") + ")");
    return d;
  }
  if (m.forged_count > cfg.max_forged_auth_results) return too_many_forged();
  m.dir = direction::verify;
  verify_options o = verify_options_of(cfg);
  o.resolver = m.env->resolver;
  o.keys = m.env->keys;
  o.now = clock_.unix_time;
  m.ver.emplace(o);
  feed_header(*m.ver, m.fields, m.header_overflow, cfg);  // key lookups start now
  if (cfg.arc.verify || cfg.arc.seal) start_arc(m, cfg.arc.seal);
  if (!m.may_seal) m.fields = {};
  return d;
}

void session::start_arc(message& m, bool seal) const {
  const config& cfg = *m.env->cfg;
  verify_options o = verify_options_of(cfg);
  o.resolver = m.env->resolver;
  o.keys = m.env->keys;
  o.now = clock_.unix_time;
  m.arc.emplace(o);
  feed_header(*m.arc, m.fields, m.header_overflow, cfg);
  m.may_seal = seal;
  m.seal_bytes = m.header_bytes;
}

decision session::end_of_header() {
  return guarded([&] {
    if (!msg_ || msg_->dir != direction::undecided) return decision{};
    return decide_direction(*msg_);
  });
}

decision session::body(std::string_view chunk) {
  return guarded([&] {
    decision d;
    if (!msg_) return d;
    if (msg_->dir == direction::undecided) {  // no end-of-header event came
      d = decide_direction(*msg_);
      if (d.settled()) return d;
    }
    message& m = *msg_;
    if (m.sig) m.sig->add_body(chunk);
    if (m.ver) m.ver->add_body(chunk);
    if (m.arc) m.arc->add_body(chunk);
    if (m.may_seal && !m.seal_too_large) {
      m.seal_bytes += chunk.size();
      if (m.seal_bytes > m.env->cfg->arc.max_seal_bytes) {
        m.seal_too_large = true;  // passed on unsealed: never an unbounded buffer
        m.seal_body = {};
      } else {
        m.seal_body.append(chunk);
      }
    }
    return d;
  });
}

decision session::end_of_message() {
  return guarded([&] {
    decision d;
    if (!msg_) return d;
    if (msg_->dir == direction::undecided) {  // no end-of-header event came
      d = decide_direction(*msg_);
      if (d.settled()) return d;
    }
    std::unique_ptr<message> m = std::move(msg_);
    if (m->sig) return finish_sign(*m);
    if (m->ver) return finish_verify(*m);
    return d;
  });
}

decision session::finish_sign(message& m) {
  auto fields = m.sig->finish();
  if (!fields) return internal_error("signing failed: " + fields.error().message());
  decision d;
  // Fields claiming our authserv-id go in this direction too (they were not signed), except under
  // OpenDKIM's rules, which edit verified mail only.
  const config& cfg = *m.env->cfg;
  if (cfg.remove_auth_results != ar_removal::all) m.forged_ar.clear();
  d.delete_auth_results.assign(m.forged_ar.rbegin(), m.forged_ar.rend());
  // Inserted at the top one after the other, the last inserted ends up first: go backwards.
  for (std::size_t i = fields->size(); i-- > 0;) {
    header_insertion h;
    h.name = "DKIM-Signature";
    h.value = lf_folded((*fields)[i], h.name.size());
    h.required = true;
    d.insert.push_back(std::move(h));
  }
  std::string what =
      "dir=sign" + m.signers + " result=signed" +
      (m.forged_ar.empty() ? std::string()
                           : " removed_forged_ar=" + std::to_string(m.forged_ar.size()));
  if (m.may_seal) {
    // The set records what this server found when the message came in: its own
    // Authentication-Results fields, as parsed (RFC 8601), never as received.
    auto results = rewritten_results(m.own_ar);
    if (results)
      seal(m, d, *results, what);
    else
      what += " arc_seal=no (no Authentication-Results field of ours parses)";
  }
  d.log = log_text(what);
  return d;
}

void session::seal(message& m, decision& d, const std::string& results, std::string& log) const {
  const config& cfg = *m.env->cfg;
  if (!m.chain) m.chain = m.arc->finish();
  const arc_validation& chain = *m.chain;
  auto refused = [&](const std::string& why) {
    std::string text;
    for (char c : why.substr(0, 300))
      if (c >= 0x20 && c <= 0x7e) text += c;
    log += " arc_seal=no (" + text + ")";
  };
  if (m.header_overflow) return refused("header too large");
  if (m.seal_too_large)
    return refused("message over max_seal_bytes " + std::to_string(cfg.arc.max_seal_bytes));
  // A key that could not be fetched is no broken chain: no cv=fail for it.
  if (chain.result == arc_result::fail && chain.code == errc::dns_temporary)
    return refused("chain not validated: " + chain.reason);
  // The message as the next hop sees it: the fields inserted here on top (the last inserted
  // first), the deleted ones gone.
  std::string msg;
  msg.reserve(m.seal_bytes + 4096);
  for (auto it = d.insert.rbegin(); it != d.insert.rend(); ++it)
    msg.append(it->name).append(":").append(it->value).append("\r\n");
  for (std::size_t i = 0; i < m.fields.size(); ++i)
    if (std::find(m.deleted_fields.begin(), m.deleted_fields.end(), i) == m.deleted_fields.end() ||
        m.dir != direction::verify)
      msg.append(m.fields[i]).append("\r\n");
  msg.append("\r\n").append(m.seal_body);
  // One set per hop, with the first seal key.
  const signing_key& key = cfg.arc.seal_keys.front();
  arc_seal_options o;
  o.signing.sdid = key.domain;
  o.signing.selector = key.selector;
  o.signing.key = key.key;
  o.signing.algo = key.algo;
  o.authserv_id = authserv_id();
  o.results = results;
  o.allow_resealing = false;
  auto fields = arc_seal(msg, chain, o, clock_.unix_time());
  if (!fields) return refused(fields.error().message());
  // ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results from the top: inserted backwards.
  for (std::size_t i = fields->size(); i-- > 0;) {
    const std::string& f = (*fields)[i];
    header_insertion h;
    h.name = f.substr(0, f.find(':'));
    h.value = lf_folded(f, h.name.size());
    d.insert.push_back(std::move(h));
  }
  log += " arc_seal=i=" + std::to_string(chain.sets + 1) + " d=" + key.domain +
         " s=" + key.selector + " cv=" + std::string(to_string(chain.result));
}

std::size_t session::count_replay(message& m, std::vector<verification>& results,
                                  std::string& log) {
  const environment& env = *m.env;
  const replay_config& rc = env.cfg->replay;
  if (!rc.enabled || !env.replay) return 0;
  replay_message rm =
      replay_message_of(results, client_family_, client_family_ ? client_addr_ : nullptr,
                        m.recipients, rc.settings, clock_.unix_time());
  if (rm.signatures.empty()) return 0;  // no passing signature: nothing to count
  // One round trip within the budget; any error lets the message go on uncounted (fail open).
  auto counts = env.replay->record(rm, rc.budget);
  if (!counts) {
    log += " replay=uncounted";
    return 0;
  }
  std::size_t suspected = apply_replay(results, rm, *counts, rc.settings, rc.on_replay);
  log += " replay=counted suspected=" + std::to_string(suspected);
  return suspected;
}

decision session::finish_verify(message& m) {
  const config& cfg = *m.env->cfg;
  decision d;
  d.results = m.ver->finish();
  // [replay] before anything reads the results: the verdicts go into Authentication-Results, and
  // with on_replay "policy" a suspected signature no longer passes for the policy below.
  std::string replay_log;
  const std::size_t suspected = count_replay(m, d.results, replay_log);
  const std::vector<verification>& results = d.results;
  // Forged Authentication-Results claiming our authserv-id go (RFC 8601 §5), highest index first
  // so that the indices of the others do not move.
  d.delete_auth_results.assign(m.forged_ar.rbegin(), m.forged_ar.rend());
  // [arc] verify: the chain, validated in the same pass; and the local override by a trusted
  // sealer when DKIM does not pass for the author domain.
  std::optional<std::string> override_sealer;
  if (m.arc) {
    m.chain = m.arc->finish();
    override_sealer = arc_override(*m.chain, results, m.from_domains, cfg.arc.trusted_sealers);
  }
  const std::optional<arc_validation>& chain = m.chain;
  std::string field = bounded_auth_results(authserv_id(), results);
  if (chain)
    field += ";\r\n\t" + arc_entry(*chain, client_ip_, override_sealer.value_or(std::string()));
  // Unsigned mail gets none with add_auth_results "signed" (OpenDKIM without AlwaysAddARHeader).
  if (cfg.always_add_auth_results || !results.empty()) {
    header_insertion ar;
    ar.name = "Authentication-Results";
    ar.value = lf_folded(field, ar.name.size());
    ar.required = true;  // a message must not leave without our result (or keep a forged one)
    d.insert.push_back(std::move(ar));
  }

  status best = overall(results);
  std::string what = "dir=verify result=" + std::string(to_string(best));
  std::size_t not_evaluated = 0;
  for (const auto& v : results) {
    if (!v.evaluated()) {
      ++not_evaluated;
      continue;
    }
    what += " [" + std::string(to_string(v.status)) + " d=" + (v.sdid.empty() ? "-" : v.sdid) +
            " s=" + (v.selector.empty() ? "-" : v.selector) + "]";
  }
  if (not_evaluated) what += " not_evaluated=" + std::to_string(not_evaluated);
  // Bounded whatever the message: at most max_signatures entries of bounded d= and s=, cut here
  // all the same so that one log line stays one syslog record.
  constexpr std::size_t kMaxLogWhat = 2048;
  if (what.size() > kMaxLogWhat) what = what.substr(0, kMaxLogWhat) + "...";
  if (!m.forged_ar.empty()) what += " removed_forged_ar=" + std::to_string(m.forged_ar.size());
  if (chain) {
    what += " arc=" + std::string(to_string(chain->result));
    if (override_sealer) what += " arc_override=" + *override_sealer;
  }
  what += replay_log;

  // The policy (dkimkit/policy.hpp): a DNS failure never gives a 5xx, and a signature of a key in
  // testing (t=y) that does not pass counts as absent (RFC 6376 §3.6.1: treat like unsigned mail).
  // A trusted sealer's override counts as a passing signature of the author domain.
  std::vector<verification> judged;
  if (override_sealer) {
    judged = results;
    verification v;
    v.status = status::pass;
    v.sdid = m.from_domains->front();
    judged.push_back(std::move(v));
  }
  policy_outcome o =
      apply_policy(override_sealer ? judged : results, m.from_domains, policy_of(cfg));
  if (o.dns_error_accepted) what += " action=accept (on_dns_error)";
  if (o.verdict == policy_verdict::tempfail) what += " action=tempfail";
  if (o.verdict == policy_verdict::reject)
    what += " action=reject" + (o.reason.empty() ? std::string() : " " + o.reason);
  // [replay] on_replay tempfail or reject: the reply when the policy gives none (a policy
  // rejection stands; a tempfail gives way to a replay reject).
  const replay_action on_replay = cfg.replay.on_replay;
  const bool replay_reply =
      suspected > 0 &&
      ((on_replay == replay_action::reject && o.verdict != policy_verdict::reject) ||
       (on_replay == replay_action::tempfail && !o.reply));
  if (replay_reply) {
    const bool reject = on_replay == replay_action::reject;
    d.reply = reject ? verdict::reject : verdict::tempfail;
    d.code = reject ? "550" : "451";
    d.enhanced = reject ? "5.7.1" : "4.7.1";
    d.text = reject ? "DKIM signature replay suspected"
                    : "DKIM signature replay suspected, try again later";
    what += reject ? " action=reject (on_replay)" : " action=tempfail (on_replay)";
  } else if (o.reply) {
    d.reply = o.verdict == policy_verdict::reject ? verdict::reject : verdict::tempfail;
    d.code = std::to_string(o.reply->code);
    d.enhanced = o.reply->enhanced;
    d.text = o.reply->text;
  } else if (m.may_seal) {
    // The set records the results of the Authentication-Results field added here.
    const std::string prefix = "Authentication-Results: " + authserv_id() + ";";
    std::string_view rest = std::string_view(field).substr(prefix.size());
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\r' ||
                             rest.front() == '\n'))
      rest.remove_prefix(1);
    seal(m, d, std::string(rest), what);
  }
  d.log = log_text(what);
  return d;
}

}  // namespace dkimkit::milter
