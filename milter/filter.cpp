#include "filter.hpp"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <syslog.h>

#include <cstring>
#include <dkimkit/key_record.hpp>
#include <dkimkit/redis_replay.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "session.hpp"

namespace dkimkit::milter {
namespace {

// [replay]: the Redis store, and a count of the messages that went on uncounted since it went
// down, for the one log line of each state change.
class replay_service final : public replay_store {
 public:
  static std::shared_ptr<replay_service> create(const config& cfg, std::string& why) {
    auto svc = std::make_shared<replay_service>();
    redis_replay_options o;
    o.store = cfg.replay.store;
    o.password = cfg.replay.password;
    o.settings = cfg.replay.settings;
    o.host_name = cfg.replay.host_name;
    o.connections = cfg.replay.connections;
    replay_service* self = svc.get();  // the store never outlives its service
    o.on_state_change = [self](bool up, const std::string& detail) {
      // One read-and-reset: a message counted uncounted meanwhile is in this count or the next.
      const auto n = self->uncounted_.exchange(0);
      if (up)
        log_line(LOG_NOTICE,
                 "replay store up again after " + std::to_string(n) + " messages uncounted");
      else
        log_line(LOG_WARNING, "replay store down: " + detail + " (messages go on uncounted)");
    };
    auto store = redis_replay_store::create(std::move(o));
    if (!store) {
      why = cfg.path + ": [replay]: " + store.error().message();
      return nullptr;
    }
    svc->store_ = std::move(*store);
    return svc;
  }

  result<std::vector<replay_counts>> record(const replay_message& m,
                                            std::chrono::milliseconds budget) override {
    auto r = store_->record(m, budget);
    if (!r) ++uncounted_;
    return r;
  }

  [[nodiscard]] replay_store_stats stats() const { return store_->stats(); }

 private:
  std::unique_ptr<redis_replay_store> store_;
  std::atomic<std::uint64_t> uncounted_{0};  // since the last state change
};

// What messages need of the configuration; replaced as a whole on reload. A session's messages
// hold it (as their environment) while they last, resolver, key cache and replay store included.
struct runtime : environment {
  std::unique_ptr<unbound_resolver> dns;  // when verifying
  key_cache cache;
  std::shared_ptr<replay_service> replay_svc;  // [replay]; kept across reloads that keep it
};

std::mutex g_mutex;
std::shared_ptr<runtime> g_runtime;
std::atomic<int> g_connections{0};
bool g_foreground = false;

std::shared_ptr<runtime> current() {
  std::lock_guard lock(g_mutex);
  return g_runtime;
}

// One milter connection: its session (none when it could not be set up) and a decision that
// settled the message at a step the MTA expects no reply to (SMFIP_NR_*), kept for the end of
// the message, the first step that replies.
struct connection {
  std::unique_ptr<session> s;
  std::optional<decision> pending;
};

connection* connection_of(SMFICTX* ctx) { return static_cast<connection*>(smfi_getpriv(ctx)); }

session* session_of(SMFICTX* ctx) {
  auto* c = connection_of(ctx);
  return c ? c->s.get() : nullptr;
}

void set_reply(SMFICTX* ctx, const decision& d) {
  if (d.code.empty()) return;
  std::string code = d.code, enhanced = d.enhanced, text = d.text;
  smfi_setreply(ctx, code.data(), enhanced.data(), text.data());
}

sfsistat internal_error(SMFICTX* ctx, const std::string& why);

// Performs what the session decided: header changes (at end of message only), the log line and
// the reply.
sfsistat apply(SMFICTX* ctx, const decision& d) {
  for (int index : d.delete_auth_results)
    smfi_chgheader(ctx, const_cast<char*>("Authentication-Results"), index, nullptr);
  for (const auto& h : d.insert) {
    std::string name = h.name, value = h.value;
    if (smfi_insheader(ctx, static_cast<int>(h.index), name.data(), value.data()) != MI_SUCCESS &&
        h.required)
      return internal_error(ctx, "the MTA refused the " + h.name + " field");
  }
  if (!d.log.empty()) log_line(d.level == log_level::error ? LOG_ERR : LOG_INFO, d.log);
  set_reply(ctx, d);
  switch (d.reply) {
    case verdict::proceed:
      return SMFIS_CONTINUE;
    case verdict::accept:
      return SMFIS_ACCEPT;
    case verdict::tempfail:
      return SMFIS_TEMPFAIL;
    case verdict::reject:
      return SMFIS_REJECT;
  }
  return SMFIS_CONTINUE;
}

// The reply to an internal error with no session: on_internal_error.
decision sessionless_error(const std::string& why) {
  decision d;
  d.log = "internal error: " + why;
  d.level = log_level::error;
  auto rt = current();
  if (!rt || rt->cfg->on_internal_error == action::tempfail) {
    d.reply = verdict::tempfail;
    d.code = "451";
    d.enhanced = "4.3.0";
    d.text = "DKIM filter error, try again later";
  } else {
    d.reply = verdict::accept;
  }
  return d;
}

// The reply to an error outside the session (or with no session): on_internal_error.
sfsistat internal_error(SMFICTX* ctx, const std::string& why) {
  if (auto* s = session_of(ctx)) return apply(ctx, s->internal_error(why));
  return apply(ctx, sessionless_error(why));
}

// Runs a callback body; anything thrown becomes the configured internal-error action.
template <class F>
sfsistat guarded(SMFICTX* ctx, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return internal_error(ctx, e.what());
  } catch (...) {
    return internal_error(ctx, "unknown exception");
  }
}

// A step negotiated without reply (SMFIP_NR_*): `f(session&)` gives the session's decision; the
// first settled one of the message (or its internal error) waits in `pending` for the end of the
// message, and the message's later steps are not handled. The MTA sees the same reply, later.
template <class F>
sfsistat quietly(SMFICTX* ctx, F&& f) {
  auto* c = connection_of(ctx);
  if (!c || !c->s || c->pending) return SMFIS_NOREPLY;
  try {
    decision d = f(*c->s);
    if (d.settled())
      c->pending = std::move(d);
    else if (!d.log.empty())
      log_line(d.level == log_level::error ? LOG_ERR : LOG_INFO, d.log);
  } catch (const std::exception& e) {
    c->pending = c->s->internal_error(e.what());
  } catch (...) {
    c->pending = c->s->internal_error("unknown exception");
  }
  return SMFIS_NOREPLY;
}

// The queue id, when the MTA has told it (Postfix: at MAIL FROM, or later).
void learn_queue_id(SMFICTX* ctx, session& s) {
  if (s.has_queue_id()) return;
  if (const char* q = smfi_getsymval(ctx, const_cast<char*>("i")); q && *q) s.set_queue_id(q);
}

// MAIL FROM, header fields, end of header and body chunks are negotiated without reply
// (on_negotiate): the MTA streams the message and waits only at its end, where every decision is
// delivered. Connect replies: a skip_hosts connection is accepted there, so that none of its
// messages crosses the milter socket, and an internal error there is answered there.
sfsistat on_connect(SMFICTX* ctx, char* host, _SOCK_ADDR* addr) {
  return guarded(ctx, [&] {
    auto rt = current();
    if (!rt) return SMFIS_CONTINUE;  // at the end of the message: no session, internal error
    auto c = std::make_unique<connection>();
    c->s = std::make_unique<session>(rt, system_clock());
    session& s = *c->s;
    // The MTA's name for the client (Postfix: the verified name, or "unknown") and its address;
    // libmilter gives no address for an unknown one.
    std::string_view name = host ? std::string_view(host) : std::string_view();
    verdict v = verdict::proceed;
    if (addr && addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
      v = s.connect(name, AF_INET, reinterpret_cast<const unsigned char*>(&in->sin_addr));
    } else if (addr && addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
      v = s.connect(name, AF_INET6, in6->sin6_addr.s6_addr);
    } else {
      v = s.connect(name, addr ? addr->sa_family : AF_UNSPEC, nullptr);
    }
    if (v == verdict::accept) return SMFIS_ACCEPT;  // skip_hosts: left alone
    // The MTA's own name (Postfix sends "j" at connect): authserv_id_from_mta.
    if (const char* j = smfi_getsymval(ctx, const_cast<char*>("j"))) s.set_mta_name(j);
    smfi_setpriv(ctx, c.release());
    g_connections.fetch_add(1);
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envfrom(SMFICTX* ctx, char**) {
  if (auto* c = connection_of(ctx)) c->pending.reset();  // a new message
  return quietly(ctx, [&](session& s) {
    // Authenticated: {auth_type} set (OpenDKIM's rule; Postfix sends it at MAIL FROM).
    const char* a = smfi_getsymval(ctx, const_cast<char*>("{auth_type}"));
    s.start_message(a && *a, current());
    learn_queue_id(ctx, s);
    return decision{};
  });
}

// RCPT TO (negotiated with [replay] only): the recipient's path, for replay counting.
sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  return quietly(ctx, [&](session& s) {
    if (argv && argv[0]) s.recipient(argv[0]);
    return decision{};
  });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  return quietly(ctx, [&](session& s) {
    learn_queue_id(ctx, s);
    return s.header(name ? name : "", value ? value : "");
  });
}

sfsistat on_eoh(SMFICTX* ctx) {
  return quietly(ctx, [&](session& s) {
    // The macros the signing decision reads, as OpenDKIM reads them at the end of the header.
    macro_values macros;
    for (const auto& name : s.wanted_macros())
      if (const char* v = smfi_getsymval(ctx, const_cast<char*>(name.c_str()))) macros[name] = v;
    s.set_macros(std::move(macros));
    return s.end_of_header();
  });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len) {
  return quietly(ctx, [&](session& s) {
    return s.body(std::string_view(reinterpret_cast<const char*>(data), len));
  });
}

sfsistat on_eom(SMFICTX* ctx) {
  return guarded(ctx, [&] {
    auto* c = connection_of(ctx);
    if (!c || !c->s) return apply(ctx, sessionless_error("no session: the connection was not set up"));
    if (c->pending) {
      decision d = std::move(*c->pending);
      c->pending.reset();
      return apply(ctx, d);
    }
    if (c->s->skipped()) return SMFIS_ACCEPT;  // skip_hosts: left alone
    return apply(ctx, c->s->end_of_message());
  });
}

sfsistat on_abort(SMFICTX* ctx) {
  if (auto* c = connection_of(ctx)) {
    c->pending.reset();
    if (c->s) c->s->abort();
  }
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  if (auto* c = connection_of(ctx)) {
    delete c;
    smfi_setpriv(ctx, nullptr);
    g_connections.fetch_sub(1);
  }
  return SMFIS_CONTINUE;
}

// Steps dkimkit-milter does not use, for an MTA that sends them even so (SMFIP_NO* refused).
sfsistat on_unused(SMFICTX*) { return SMFIS_NOREPLY; }
sfsistat on_unused_args(SMFICTX*, char*) { return SMFIS_NOREPLY; }
sfsistat on_unused_text(SMFICTX*, const char*) { return SMFIS_NOREPLY; }

// libmilter has no call that gives a connection's descriptor; its context (struct smfi_str in
// sendmail's libmilter.h) starts with the context id and then the descriptor: at offset 8 in
// Debian 12's libmilter 8.17 on 64-bit Linux (the id is an unsigned long there), at offset 4 in
// older ones. The candidate taken must be a connected stream socket, else the peer is unknown.
// The peer address of `fd` when it is a connected (not listening) stream socket.
std::optional<sockaddr_storage> stream_peer(int fd) {
  int type = 0, listening = 1;
  socklen_t len = sizeof type;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
    return std::nullopt;
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening)
    return std::nullopt;
  sockaddr_storage peer{};
  socklen_t plen = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return std::nullopt;
  return peer;
}

// The address of the MTA at the other end of this milter connection, if it can be known.
std::optional<sockaddr_storage> connection_peer(SMFICTX* ctx) {
  for (std::size_t offset : {sizeof(unsigned long), sizeof(unsigned int)}) {
    int fd = -1;
    std::memcpy(&fd, reinterpret_cast<const char*>(ctx) + offset, sizeof fd);
    if (auto peer = stream_peer(fd)) return peer;
  }
  return std::nullopt;
}

// Whether the MTA at the other end of this milter connection is in `peers` (inet sockets). Fails
// closed: a descriptor that is not a connected TCP socket, or an address that cannot be read, is
// not allowed.
bool peer_allowed(SMFICTX* ctx, const std::vector<network>& peers, std::string& who) {
  auto peer = connection_peer(ctx);
  if (!peer) return false;
  char text[INET6_ADDRSTRLEN] = "?";
  if (peer->ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&*peer);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    who = text;
    return in_networks(peers, AF_INET, reinterpret_cast<const unsigned char*>(&in->sin_addr));
  }
  if (peer->ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&*peer);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    who = text;
    return in_networks(peers, AF_INET6, in6->sin6_addr.s6_addr);
  }
  return false;
}

// The steps negotiated without reply: every one but connect (skip_hosts accepted there) and the
// end of the message.
constexpr unsigned long kNoReply = SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA |
                                   SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long,
                      unsigned long, unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                      unsigned long* pf3) {
  if (auto rt = current(); rt && !rt->cfg->peers.empty()) {
    std::string who = "an unknown address";
    if (!peer_allowed(ctx, rt->cfg->peers, who)) {
      log_line(LOG_WARNING, "milter connection from " + who + " refused: not in peers");
      return SMFIS_REJECT;  // libmilter closes the connection
    }
  }
  *pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS) & f0;
  // [sign] macros: ask for them at the end of the header, as OpenDKIM does for its MacroList.
  std::string symlist;
  if (auto rt = current()) symlist = requested_macro_list(rt->cfg->sign_macros);
  if (!symlist.empty() && (f0 & SMFIF_SETSYMLIST) != 0) *pf0 |= SMFIF_SETSYMLIST;
  // No reply to any step but connect and the end of the message (the callbacks return
  // SMFIS_NOREPLY, and a decision taken earlier waits for the end of the message): libmilter
  // offers these always, and answers for an MTA that lacks them. One that did not could not talk
  // to these callbacks: refused.
  if ((f1 & kNoReply) != kNoReply) {
    log_line(LOG_ERR, "milter connection refused: libmilter does not offer the no-reply steps");
    return SMFIS_REJECT;
  }
  // Header values exactly as sent (no space added or removed after the colon); skip what we do
  // not use. [replay] counts envelope recipients: RCPT TO is wanted then (still without reply).
  auto rt = current();
  const bool rcpt = rt && rt->replay_svc && rt->cfg->replay.enabled;
  const unsigned long skipped = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
                                (rcpt ? 0ul : static_cast<unsigned long>(SMFIP_NORCPT));
  *pf1 = ((SMFIP_HDR_LEADSPC | skipped) & f1) | kNoReply;
  *pf2 = 0;
  *pf3 = 0;
  if ((*pf0 & SMFIF_SETSYMLIST) != 0 &&
      smfi_setsymlist(ctx, SMFIM_EOH, symlist.data()) != MI_SUCCESS) {
    log_line(LOG_ERR, "smfi_setsymlist() failed");
    return SMFIS_REJECT;
  }
  return SMFIS_CONTINUE;
}

// `old`: the running one, whose replay store is kept when [replay] makes the same store.
std::shared_ptr<runtime> make_runtime(std::shared_ptr<config> cfg, std::string& why,
                                      const runtime* old = nullptr) {
  auto rt = std::make_shared<runtime>();
  if (cfg->replay.enabled && cfg->mode != mode::sign) {
    if (old && old->replay_svc && same_store(old->cfg->replay, cfg->replay)) {
      rt->replay_svc = old->replay_svc;
    } else {
      rt->replay_svc = replay_service::create(*cfg, why);
      if (!rt->replay_svc) return nullptr;
    }
    rt->replay = rt->replay_svc.get();
  }
  if (cfg->mode != mode::sign || cfg->arc.seal) {  // verifying, or validating chains to seal
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
    rt->resolver = rt->dns.get();
  }
  rt->keys = &rt->cache;
  rt->cfg = std::move(cfg);
  return rt;
}

}  // namespace

void log_line(int priority, const std::string& line) {
  if (g_foreground) {
    static std::mutex m;
    std::lock_guard lock(m);
    std::cerr << ("dkimkit-milter: " + line + "\n") << std::flush;  // one write, not three
  } else {
    syslog(priority, "%s", line.c_str());
  }
}

int open_connections() noexcept { return g_connections.load(); }

void log_replay_stats() {
  auto rt = current();
  if (!rt || !rt->replay_svc) return;
  replay_store_stats st = rt->replay_svc->stats();
  log_line(LOG_INFO, "replay stats: counted=" + std::to_string(st.counted) +
                         " uncounted=" + std::to_string(st.uncounted) + " suspected=" +
                         std::to_string(st.suspected) + " store=" + (st.up ? "up" : "down"));
}

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
  desc.xxfi_helo = on_unused_args;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_data = on_unused;
  desc.xxfi_unknown = on_unused_text;
  if (smfi_register(desc) != MI_SUCCESS) {
    why = "libmilter refused to register the filter";
    return false;
  }
  return true;
}

bool reload(const std::string& path, std::string& why, config_loader load) {
  auto cfg = load(path);
  if (!cfg) {
    why = cfg.error().detail;
    return false;
  }
  {
    // The process switched users at start; it cannot switch again (nor back).
    std::lock_guard lock(g_mutex);
    const config& old = *g_runtime->cfg;
    if (cfg->user.empty() != old.user.empty() || cfg->uid != old.uid || cfg->gid != old.gid) {
      why = "the user and group change only at restart (" +
            (old.user_setting.empty() ? std::string("no user") : old.user_setting) + " stays)";
      return false;
    }
  }
  auto rt = make_runtime(std::make_shared<config>(std::move(*cfg)), why, current().get());
  if (!rt) return false;
  std::lock_guard lock(g_mutex);
  if (rt->cfg->socket != g_runtime->cfg->socket || rt->cfg->socket_mode != g_runtime->cfg->socket_mode ||
      rt->cfg->socket_group != g_runtime->cfg->socket_group)
    log_line(LOG_WARNING, "the socket settings change only at restart");
  for (const auto& w : rt->cfg->warnings) log_line(LOG_WARNING, "warning: " + w);
  g_runtime = rt;
  return true;
}

}  // namespace dkimkit::milter
