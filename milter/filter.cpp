#include "filter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <syslog.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <optional>

#include <libmilter/mfapi.h>

#include <dkimkit/auth_results.hpp>
#include <dkimkit/key_record.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/verifier.hpp>

namespace dkimkit::milter {
namespace {

using steady = std::chrono::steady_clock;

// What a message needs of the configuration; replaced as a whole on reload.
struct runtime {
  std::shared_ptr<const config> cfg;
  std::unique_ptr<unbound_resolver> dns;  // when verifying
  key_cache keys;
};

std::mutex g_mutex;
std::shared_ptr<runtime> g_runtime;
std::atomic<int> g_connections{0};
bool g_foreground = false;

std::shared_ptr<runtime> current() {
  std::lock_guard lock(g_mutex);
  return g_runtime;
}

enum class direction { undecided, sign, verify, skip };

struct message {
  std::shared_ptr<runtime> rt;
  std::string queue_id = "-";
  bool authenticated = false;
  std::vector<std::string> fields;  // "Name:value" as received, value with its leading space
  std::size_t header_bytes = 0;
  bool header_overflow = false;
  int ar_count = 0;                 // Authentication-Results fields seen
  std::vector<int> forged_ar;       // their 1-based indices that claim our authserv-id
  direction dir = direction::undecided;
  std::optional<signer> sig;
  std::optional<verifier> ver;
  std::string from_domain;
  std::string signers;  // " d=... s=..." of the keys signing, for the log line
  steady::time_point start = steady::now();
};

struct connection {
  bool internal = false;
  std::string client = "unknown";
  std::unique_ptr<message> msg;
};

connection* conn_of(SMFICTX* ctx) { return static_cast<connection*>(smfi_getpriv(ctx)); }

// The authserv-id of an Authentication-Results value (RFC 8601 parser); for a field too broken
// to parse, its first token, comments skipped, so that a malformed forgery is removed too.
std::string authserv_id_of(std::string_view v) {
  if (auto parsed = parse_auth_results(v)) return parsed->authserv_id;
  std::string out;
  int depth = 0;
  for (char c : v) {
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0) {
      if (c == ';') break;
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (!out.empty()) break;
        continue;
      }
      out += c;
    }
  }
  return out;
}

void log_message(const message& m, const std::string& what) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - m.start).count();
  log_line(LOG_INFO, m.queue_id + ": " + what + " ms=" + std::to_string(ms));
}

// The action configured for an internal error, with a reply that says so.
sfsistat internal_error(SMFICTX* ctx, const runtime* rt, const std::string& why) {
  log_line(LOG_ERR, std::string("internal error: ") + why);
  if (!rt || rt->cfg->on_internal_error == action::tempfail) {
    smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.3.0"),
                  const_cast<char*>("DKIM filter error, try again later"));
    return SMFIS_TEMPFAIL;
  }
  return SMFIS_ACCEPT;
}

// Runs a callback body; anything thrown becomes the configured internal-error action.
template <class F>
sfsistat guarded(SMFICTX* ctx, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    auto* c = conn_of(ctx);
    const runtime* rt = c && c->msg ? c->msg->rt.get() : current().get();
    return internal_error(ctx, rt, e.what());
  } catch (...) {
    return internal_error(ctx, current().get(), "unknown exception");
  }
}

// The keys that sign mail from `domain`: those of the domain itself, else of its nearest parent.
std::vector<const signing_key*> keys_for(const config& cfg, const std::string& domain) {
  std::vector<const signing_key*> best;
  std::size_t best_len = 0;
  for (const auto& k : cfg.keys) {
    bool match = domain == k.domain ||
                 (domain.size() > k.domain.size() &&
                  domain.compare(domain.size() - k.domain.size(), k.domain.size(), k.domain) == 0 &&
                  domain[domain.size() - k.domain.size() - 1] == '.');
    if (!match) continue;
    if (k.domain.size() > best_len) {
      best.clear();
      best_len = k.domain.size();
    }
    if (k.domain.size() == best_len) best.push_back(&k);
  }
  return best;
}

// Milter header values are folded with LF; the library folds with CRLF.
std::string lf_folded(std::string_view field, std::size_t name_len) {
  std::string out;
  for (std::size_t i = name_len + 1; i < field.size(); ++i) {
    if (field[i] == '\r' && i + 1 < field.size() && field[i + 1] == '\n') continue;
    out += field[i];
  }
  return out;
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* addr) {
  return guarded(ctx, [&] {
    auto c = std::make_unique<connection>();
    auto rt = current();
    if (addr && rt) {
      if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        c->internal = in_networks(rt->cfg->internal_networks, AF_INET,
                                  reinterpret_cast<const unsigned char*>(&in->sin_addr));
      } else if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        c->internal = in_networks(rt->cfg->internal_networks, AF_INET6, in6->sin6_addr.s6_addr);
      }
    }
    if (hostname) c->client = hostname;
    smfi_setpriv(ctx, c.release());
    g_connections.fetch_add(1);
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envfrom(SMFICTX* ctx, char**) {
  return guarded(ctx, [&] {
    auto* c = conn_of(ctx);
    if (!c) return SMFIS_CONTINUE;
    c->msg = std::make_unique<message>();
    c->msg->rt = current();
    if (const char* q = smfi_getsymval(ctx, const_cast<char*>("i")); q && *q) c->msg->queue_id = q;
    if (const char* a = smfi_getsymval(ctx, const_cast<char*>("{auth_authen}")); a && *a)
      c->msg->authenticated = true;
    return SMFIS_CONTINUE;
  });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  return guarded(ctx, [&] {
    auto* c = conn_of(ctx);
    if (!c || !c->msg) return SMFIS_CONTINUE;
    message& m = *c->msg;
    std::string_view n(name), v(value ? value : "");
    if (iequals(n, "Authentication-Results")) {
      ++m.ar_count;
      if (iequals(authserv_id_of(v), m.rt->cfg->authserv_id)) m.forged_ar.push_back(m.ar_count);
    }
    if (m.queue_id == "-")
      if (const char* q = smfi_getsymval(ctx, const_cast<char*>("i")); q && *q) m.queue_id = q;
    m.header_bytes += n.size() + v.size() + 3;
    if (m.header_bytes > m.rt->cfg->max_header_bytes) {
      m.header_overflow = true;
      return SMFIS_CONTINUE;
    }
    std::string field;
    field.reserve(n.size() + 1 + v.size());
    field.append(n).append(":").append(v);
    m.fields.push_back(std::move(field));
    return SMFIS_CONTINUE;
  });
}

sfsistat on_eoh(SMFICTX* ctx) {
  return guarded(ctx, [&] {
    auto* c = conn_of(ctx);
    if (!c || !c->msg) return SMFIS_CONTINUE;
    message& m = *c->msg;
    const config& cfg = *m.rt->cfg;
    int froms = 0;
    for (const auto& f : m.fields)
      if (f.size() > 5 && iequals(std::string_view(f).substr(0, 5), "From:")) {
        if (froms++ == 0) m.from_domain = from_domain_of(std::string_view(f).substr(5));
      }
    bool may_sign = cfg.mode != mode::verify &&
                    (c->internal || (m.authenticated && cfg.sign_authenticated));
    std::vector<const signing_key*> keys;
    if (may_sign && !m.from_domain.empty()) keys = keys_for(cfg, m.from_domain);
    if (may_sign && !keys.empty()) {
      m.dir = direction::sign;
      if (m.header_overflow) return internal_error(ctx, m.rt.get(), "header too large to sign");
      std::vector<sign_options> opts;
      for (const auto* k : keys) {
        m.signers += " d=" + k->domain + " s=" + k->selector;
        sign_options o;
        o.sdid = k->domain;
        o.selector = k->selector;
        o.key = k->key;
        o.algo = k->algo;
        o.header_canon = cfg.header_canon;
        o.body_canon = cfg.body_canon;
        o.headers = cfg.headers;
        o.expire_after = cfg.expire_after;
        opts.push_back(std::move(o));
      }
      header_limits limits;
      limits.max_header_bytes = cfg.max_header_bytes;
      auto s = signer::create(std::move(opts), static_cast<std::uint64_t>(std::time(nullptr)),
                              limits);
      if (!s) return internal_error(ctx, m.rt.get(), s.error().message());
      m.sig.emplace(std::move(*s));
      for (const auto& f : m.fields) m.sig->add_header_field(f);
      m.sig->end_of_header();
      return SMFIS_CONTINUE;
    }
    if (cfg.mode == mode::sign) {
      m.dir = direction::skip;
      log_message(m, "dir=none (not ours to sign: " +
                         (m.from_domain.empty() ? std::string("no From domain") : m.from_domain) +
                         (c->internal || m.authenticated ? "" : ", external client") + ")");
      return SMFIS_ACCEPT;
    }
    m.dir = direction::verify;
    verify_options o = verify_options_of(cfg);
    o.resolver = m.rt->dns.get();
    o.keys = &m.rt->keys;
    o.now = [] { return static_cast<std::uint64_t>(std::time(nullptr)); };
    m.ver.emplace(o);
    for (const auto& f : m.fields) m.ver->add_header_field(f);
    if (m.header_overflow) {
      // Past the limit: make the verifier see a header block that is too large.
      m.ver->add_header_field(std::string("X-Dkimkit-Overflow: ") +
                              std::string(cfg.max_header_bytes, 'x'));
    }
    m.ver->end_of_header();  // key lookups start now, while the body arrives
    return SMFIS_CONTINUE;
  });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len) {
  return guarded(ctx, [&] {
    auto* c = conn_of(ctx);
    if (!c || !c->msg) return SMFIS_CONTINUE;
    std::string_view chunk(reinterpret_cast<const char*>(data), len);
    if (c->msg->sig) c->msg->sig->add_body(chunk);
    if (c->msg->ver) c->msg->ver->add_body(chunk);
    return SMFIS_CONTINUE;
  });
}

sfsistat finish_sign(SMFICTX* ctx, message& m) {
  auto fields = m.sig->finish();
  if (!fields) return internal_error(ctx, m.rt.get(), "signing failed: " + fields.error().message());
  std::string what = "dir=sign";
  // Inserted at the top one after the other, the last inserted ends up first: go backwards.
  for (std::size_t i = fields->size(); i-- > 0;) {
    std::string value = lf_folded((*fields)[i], sizeof("DKIM-Signature") - 1);
    if (smfi_insheader(ctx, 0, const_cast<char*>("DKIM-Signature"), value.data()) != MI_SUCCESS)
      return internal_error(ctx, m.rt.get(), "the MTA refused the DKIM-Signature field");
  }
  log_message(m, what + m.signers + " result=signed");
  return SMFIS_CONTINUE;
}

sfsistat finish_verify(SMFICTX* ctx, message& m) {
  const config& cfg = *m.rt->cfg;
  std::vector<verification> results = m.ver->finish();
  // Forged Authentication-Results claiming our authserv-id go (RFC 8601 §5), highest index first
  // so that the indices of the others do not move.
  for (auto it = m.forged_ar.rbegin(); it != m.forged_ar.rend(); ++it)
    smfi_chgheader(ctx, const_cast<char*>("Authentication-Results"), *it, nullptr);
  std::string field = format_auth_results(cfg.authserv_id, results);
  std::string value = lf_folded(field, sizeof("Authentication-Results") - 1);
  smfi_insheader(ctx, 0, const_cast<char*>("Authentication-Results"), value.data());

  status best = overall(results);
  std::string what = "dir=verify result=" + std::string(to_string(best));
  for (const auto& v : results)
    what += " [" + std::string(to_string(v.status)) + " d=" + (v.sdid.empty() ? "-" : v.sdid) +
            " s=" + (v.selector.empty() ? "-" : v.selector) + "]";
  if (!m.forged_ar.empty()) what += " removed_forged_ar=" + std::to_string(m.forged_ar.size());

  bool any_pass = best == status::pass;
  bool temp = false;
  for (const auto& v : results) temp = temp || v.status == status::temperror;
  if (!any_pass && temp && cfg.on_dns_error == action::tempfail) {
    log_message(m, what + " action=tempfail");
    smfi_setreply(ctx, const_cast<char*>("451"), const_cast<char*>("4.7.5"),
                  const_cast<char*>("DKIM key could not be fetched, try again later"));
    return SMFIS_TEMPFAIL;
  }
  if (!any_pass && cfg.on_no_pass == action::reject) {
    log_message(m, what + " action=reject");
    smfi_setreply(ctx, const_cast<char*>("550"), const_cast<char*>("5.7.20"),
                  const_cast<char*>("No passing DKIM signature found"));
    return SMFIS_REJECT;
  }
  for (const auto& r : cfg.requirements) {
    if (m.from_domain != r.from_domain) continue;
    bool met = false;
    for (const auto& v : results) met = met || (v.status == status::pass && v.sdid == r.sdid);
    if (met) continue;
    bool author = r.sdid == r.from_domain;
    log_message(m, what + " action=reject requirement=" + r.from_domain + ":" + r.sdid);
    smfi_setreply(ctx, const_cast<char*>("550"),
                  const_cast<char*>(author ? "5.7.22" : "5.7.21"),
                  const_cast<char*>(author ? "No valid author-matched DKIM signature found"
                                           : "No acceptable DKIM signature found"));
    return SMFIS_REJECT;
  }
  log_message(m, what);
  return SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx) {
  return guarded(ctx, [&] {
    auto* c = conn_of(ctx);
    if (!c || !c->msg) return SMFIS_CONTINUE;
    if (c->msg->dir == direction::undecided) {  // no end-of-header event came
      sfsistat r = on_eoh(ctx);
      if (r != SMFIS_CONTINUE) return r;
    }
    std::unique_ptr<message> m = std::move(c->msg);
    if (m->sig) return finish_sign(ctx, *m);
    if (m->ver) return finish_verify(ctx, *m);
    return SMFIS_CONTINUE;
  });
}

sfsistat on_abort(SMFICTX* ctx) {
  auto* c = conn_of(ctx);
  if (c) c->msg.reset();
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  auto* c = conn_of(ctx);
  if (c) {
    delete c;
    smfi_setpriv(ctx, nullptr);
    g_connections.fetch_sub(1);
  }
  return SMFIS_CONTINUE;
}

sfsistat on_negotiate(SMFICTX*, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                      unsigned long* pf3) {
  *pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS) & f0;
  // Header values exactly as sent (no space added or removed after the colon); skip what we do
  // not use.
  unsigned long want = SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN |
                       SMFIP_NODATA;
  *pf1 = want & f1;
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

std::shared_ptr<runtime> make_runtime(std::shared_ptr<config> cfg, std::string& why) {
  auto rt = std::make_shared<runtime>();
  if (cfg->mode != mode::sign) {
    unbound_options o;
    o.servers = cfg->resolvers;
    o.timeout = cfg->dns_timeout;
    o.trust_anchor_file = cfg->trust_anchor;
    auto dns = unbound_resolver::create(std::move(o));
    if (!dns) {
      why = cfg->path + ": [dns]: " + dns.error().message();
      return nullptr;
    }
    rt->dns = std::move(*dns);
  }
  rt->cfg = std::move(cfg);
  return rt;
}

}  // namespace

void log_line(int priority, const std::string& line) {
  if (g_foreground) {
    static std::mutex m;
    std::lock_guard lock(m);
    std::cerr << "dkimkit-milter: " << line << std::endl;
  } else {
    syslog(priority, "%s", line.c_str());
  }
}

int open_connections() noexcept { return g_connections.load(); }

bool register_filter(std::shared_ptr<config> cfg, bool foreground, std::string& why) {
  g_foreground = foreground;
  auto rt = make_runtime(std::move(cfg), why);
  if (!rt) return false;
  {
    std::lock_guard lock(g_mutex);
    g_runtime = rt;
  }
  smfiDesc desc{};
  desc.xxfi_name = const_cast<char*>("dkimkit-milter");
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
  desc.xxfi_connect = on_connect;
  desc.xxfi_envfrom = on_envfrom;
  desc.xxfi_header = on_header;
  desc.xxfi_eoh = on_eoh;
  desc.xxfi_body = on_body;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_negotiate = on_negotiate;
  if (smfi_register(desc) != MI_SUCCESS) {
    why = "libmilter refused to register the filter";
    return false;
  }
  return true;
}

bool reload(const std::string& path, std::string& why) {
  auto cfg = load_config(path);
  if (!cfg) {
    why = cfg.error().detail;
    return false;
  }
  auto rt = make_runtime(std::make_shared<config>(std::move(*cfg)), why);
  if (!rt) return false;
  std::lock_guard lock(g_mutex);
  if (rt->cfg->socket != g_runtime->cfg->socket)
    log_line(LOG_WARNING, "the socket setting changes only at restart");
  g_runtime = rt;
  return true;
}

}  // namespace dkimkit::milter
