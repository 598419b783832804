#include <dkimkit/unbound_resolver.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <unbound.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

using clock = std::chrono::steady_clock;

struct ub_ctx_deleter {
  void operator()(ub_ctx* p) const noexcept { ub_ctx_delete(p); }
};
struct ub_result_deleter {
  void operator()(ub_result* p) const noexcept { ub_resolve_free(p); }
};
using ub_ctx_ptr = std::unique_ptr<ub_ctx, ub_ctx_deleter>;
using ub_result_ptr = std::unique_ptr<ub_result, ub_result_deleter>;

constexpr int kTypeTxt = 16;
constexpr int kClassIn = 1;

std::string normalise(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return detail::lowercase(name);
}

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "rcode " + std::to_string(rcode);
  }
}

// TXT RDATA is one or more <length><bytes> strings; a record is their concatenation
// (RFC 6376 §3.6.2.2).
std::optional<std::string> join_txt(const char* data, int len) {
  std::string out;
  std::size_t i = 0;
  const auto n = static_cast<std::size_t>(len);
  while (i < n) {
    auto l = static_cast<unsigned char>(data[i]);
    if (i + 1 + l > n) return std::nullopt;
    out.append(data + i + 1, l);
    i += 1 + static_cast<std::size_t>(l);
  }
  return out;
}

// Recovery after the servers were unreachable. libunbound keeps, per server, a retransmit timeout
// that doubles with every timeout (up to infra-cache-max-rtt, 2 min). Past 12 s it lets one probe
// at a time through and answers other queries SERVFAIL; at the cap it takes the server as down
// until its entry expires (infra-host-ttl, 15 min); and it keeps a SERVFAIL answer for 5 s. After
// an outage of a minute, lookups kept failing ~40 s after the server was back. Its options do not
// fix that on their own: a lower infra-cache-max-rtt takes the server as down sooner, for the
// 15 min; an infra-host-ttl of 0-1 s brings it back within 1-3 s but also keeps trying a dead
// server among live ones (with one of two servers dead, about one lookup in six timed out).
// Instead, a context whose servers have not answered for kReplaceAfter while lookups fail is
// replaced by a new one, which asks them at once; the lookups in flight move to it. With every
// server down, that happens at most once per kReplaceAfter; while one answers, not at all.
constexpr auto kReplaceAfter = std::chrono::seconds(2);

// A context for `opts`, ready for asynchronous lookups; `validating` tells whether it checks
// DNSSEC.
result<ub_ctx_ptr> make_context(const unbound_options& opts, bool& validating) {
  ub_ctx_ptr owned(ub_ctx_create());
  if (!owned) return fail(errc::io_error, "cannot create a libunbound context");
  auto check = [](int err, const std::string& what) -> result<void> {
    if (err != 0) return fail(errc::invalid_argument, what + ": " + ub_strerror(err));
    return {};
  };
  ub_ctx* ctx = owned.get();
  if (opts.servers.empty()) {
    if (auto ok = check(ub_ctx_resolvconf(ctx, opts.resolv_conf.c_str()), opts.resolv_conf); !ok)
      return tl::unexpected(ok.error());
  }
  for (const auto& server : opts.servers)
    if (auto ok = check(ub_ctx_set_fwd(ctx, server.c_str()), "resolver " + server); !ok)
      return tl::unexpected(ok.error());
  validating = false;
  if (!opts.trust_anchor_file.empty()) {
    if (auto ok = check(ub_ctx_add_ta_file(ctx, opts.trust_anchor_file.c_str()),
                        "trust anchor file " + opts.trust_anchor_file);
        !ok)
      return tl::unexpected(ok.error());
    validating = true;
  }
  if (auto ok = check(ub_ctx_async(ctx, 1), "asynchronous mode"); !ok)
    return tl::unexpected(ok.error());
  // unbound answers every name under test. (RFC 6761) NXDOMAIN itself; test rigs publish keys
  // there, so such names go to the configured servers like any other.
  // (This finalizes the context: every setting comes before it.)
  (void)ub_ctx_zone_add(ctx, "test.", "transparent");
  // The loop polls ub_fd(); a context without one is no use.
  if (ub_fd(ctx) < 0) return fail(errc::io_error, "libunbound gave no file descriptor");
  return owned;
}

}  // namespace

struct unbound_resolver::impl {
  struct pending {
    std::promise<txt_answer> promise;
    std::shared_future<txt_answer> future;
    clock::time_point deadline;
    int async_id = 0;
    std::uint64_t generation = 0;  // of the context async_id belongs to; 0: not handed over yet
  };
  struct cached {
    txt_answer answer;
    clock::time_point expires;
  };

  unbound_options opts;
  bool validating = false;
  // The context is replaced only by the resolver's thread (replace_context), holding ctx_mutex,
  // which callers hold to hand a lookup over; that thread uses it without the lock.
  mutable std::mutex ctx_mutex;
  ub_ctx_ptr ctx;
  std::uint64_t generation = 1;  // of ctx; changed with ctx
  int wake_fd = -1;  // eventfd: new deadline or shutdown
  std::thread thread;

  mutable std::mutex mutex;  // everything below; taken after ctx_mutex when both are
  bool stopping = false;
  std::unordered_map<std::string, std::unique_ptr<pending>> in_flight;
  std::unordered_map<std::string, cached> cache;
  resolver_stats counters;
  clock::time_point heard;  // when the servers last answered, or the context was set up
  bool replace_wanted = false;

  ~impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake();
    if (thread.joinable()) thread.join();
    for (auto& [name, p] : in_flight) {
      if (p->async_id && p->generation == generation) ub_cancel(ctx.get(), p->async_id);
      p->promise.set_value(txt_answer{dns_status::temporary, {}, "resolver shut down", {}});
    }
    in_flight.clear();
    ctx.reset();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() const {
    std::uint64_t one = 1;
    if (wake_fd >= 0) (void)!::write(wake_fd, &one, sizeof one);
  }

  txt_answer translate(int err, ub_result* r) const {
    txt_answer a;
    if (err != 0 || r == nullptr) {
      a.status = dns_status::temporary;
      a.detail = std::string("resolver error: ") + ub_strerror(err);
      return a;
    }
    if (validating) a.dnssec = r->secure ? dnssec_status::secure
                               : r->bogus ? dnssec_status::bogus
                                          : dnssec_status::insecure;
    if (r->bogus) {
      a.status = dns_status::temporary;
      a.detail = std::string("DNSSEC validation failed: ") +
                 (r->why_bogus ? r->why_bogus : "bogus answer");
      return a;
    }
    if (r->nxdomain) {
      a.status = dns_status::nxdomain;
      return a;
    }
    if (r->rcode != 0) {
      a.status = dns_status::temporary;
      a.detail = rcode_name(r->rcode);
      return a;
    }
    if (!r->havedata) {
      a.status = dns_status::nodata;
      return a;
    }
    a.status = dns_status::found;
    for (int i = 0; r->data[i] != nullptr; ++i) {
      auto txt = join_txt(r->data[i], r->len[i]);
      if (!txt) {
        a.status = dns_status::temporary;
        a.detail = "malformed TXT record in the answer";
        a.records.clear();
        return a;
      }
      a.records.push_back(std::move(*txt));
    }
    return a;
  }

  // Called by libunbound from ub_process(), in the resolver's thread. The name comes back in the
  // result; an error without a result leaves the lookup to its deadline.
  static void on_result(void* arg, int err, ub_result* raw) {
    ub_result_ptr r(raw);
    if (r == nullptr || r->qname == nullptr) return;
    static_cast<impl*>(arg)->complete(r->qname, err, r.get());
  }

  // A lookup failed for want of an answer (timeout, SERVFAIL, resolver error); mutex held.
  void failed_at(clock::time_point now) {
    if (now - heard >= kReplaceAfter) replace_wanted = true;
  }

  void complete(const std::string& name, int err, ub_result* r) {
    txt_answer a = translate(err, r);
    std::unique_ptr<pending> p;
    {
      std::lock_guard lock(mutex);
      // SERVFAIL is also what libunbound answers when it takes every server as down.
      if (err == 0 && r != nullptr && r->rcode != 2)
        heard = clock::now();
      else
        failed_at(clock::now());
      auto it = in_flight.find(name);
      if (it == in_flight.end()) return;  // timed out already
      p = std::move(it->second);
      in_flight.erase(it);
      if (a.status != dns_status::temporary && r != nullptr && r->ttl > 0) {
        auto ttl = std::min<std::chrono::seconds>(std::chrono::seconds(r->ttl), opts.max_ttl);
        store(name, a, clock::now() + ttl);
      }
    }
    p->promise.set_value(std::move(a));
  }

  void store(const std::string& name, const txt_answer& a, clock::time_point expires) {
    if (opts.cache_entries == 0) return;
    if (cache.size() >= opts.cache_entries) {
      auto now = clock::now();
      for (auto it = cache.begin(); it != cache.end();)
        it = it->second.expires <= now ? cache.erase(it) : std::next(it);
      while (cache.size() >= opts.cache_entries) {
        auto oldest = cache.begin();
        for (auto it = cache.begin(); it != cache.end(); ++it)
          if (it->second.expires < oldest->second.expires) oldest = it;
        cache.erase(oldest);
      }
    }
    cache[name] = cached{a, expires};
  }

  // Replaces the context by a new one (see kReplaceAfter) and hands it the lookups in flight.
  // Keeps the old one if a new one cannot be set up (resolv.conf or the trust anchors unreadable
  // by now), to try again kReplaceAfter later.
  void replace_context() {
    {
      std::lock_guard lock(mutex);
      replace_wanted = false;
      heard = clock::now();
    }
    bool v = false;
    auto fresh = make_context(opts, v);
    if (!fresh) return;
    ub_ctx_ptr old;
    std::vector<std::pair<pending*, std::string>> again;
    std::vector<std::pair<std::unique_ptr<pending>, std::string>> refused;
    {
      std::lock_guard hand(ctx_mutex);
      old = std::exchange(ctx, std::move(*fresh));
      std::uint64_t before = generation++;
      {
        std::lock_guard lock(mutex);
        // Lookups not handed over yet (generation 0) go to the new context by themselves.
        for (auto& [name, p] : in_flight)
          if (p->generation == before) again.emplace_back(p.get(), name);
      }
      for (auto& [p, name] : again) {
        int id = 0;
        int err = ub_resolve_async(ctx.get(), name.c_str(), kTypeTxt, kClassIn, this,
                                   &impl::on_result, &id);
        std::lock_guard lock(mutex);
        auto f = in_flight.find(name);
        if (f == in_flight.end() || f->second.get() != p) continue;
        if (err != 0) {
          refused.emplace_back(std::move(f->second),
                               std::string("resolver error: ") + ub_strerror(err));
          in_flight.erase(f);
        } else {
          p->async_id = id;
          p->generation = generation;
        }
      }
    }
    for (auto& [p, why] : refused)
      p->promise.set_value(txt_answer{dns_status::temporary, {}, why, {}});
    old.reset();  // its queries go with it, unanswered
  }

  void run() {
    int ub = ub_fd(ctx.get());
    for (;;) {
      int timeout_ms = -1;
      bool replace = false;
      std::vector<std::pair<std::string, std::unique_ptr<pending>>> expired;
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        auto now = clock::now();
        for (auto it = in_flight.begin(); it != in_flight.end();) {
          if (it->second->deadline <= now) {
            expired.emplace_back(it->first, std::move(it->second));
            it = in_flight.erase(it);
            ++counters.timeouts;
            failed_at(now);
          } else {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            it->second->deadline - now).count() + 1;
            if (timeout_ms < 0 || left < timeout_ms) timeout_ms = static_cast<int>(left);
            ++it;
          }
        }
      }
      for (auto& [name, p] : expired) {
        if (p->async_id && p->generation == generation) ub_cancel(ctx.get(), p->async_id);
        p->promise.set_value(txt_answer{
            dns_status::temporary, {},
            "timeout after " + std::to_string(opts.timeout.count()) + " ms", {}});
      }
      {
        std::lock_guard lock(mutex);
        replace = replace_wanted;
      }
      if (replace) {
        replace_context();
        ub = ub_fd(ctx.get());
      }
      pollfd fds[2] = {{ub, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, timeout_ms);
      if (n < 0 && errno != EINTR) {
        // Nothing would expire lookups any more: fail them, and every later one, at once.
        std::string why = std::string("resolver loop failed: ") + std::strerror(errno);
        std::unordered_map<std::string, std::unique_ptr<pending>> failed;
        {
          std::lock_guard lock(mutex);
          stopping = true;
          failed.swap(in_flight);
        }
        for (auto& [name, p] : failed)
          p->promise.set_value(txt_answer{dns_status::temporary, {}, why, {}});
        return;
      }
      if (fds[1].revents & POLLIN) {
        std::uint64_t v;
        (void)!::read(wake_fd, &v, sizeof v);
      }
      if (fds[0].revents & POLLIN) ub_process(ctx.get());
    }
  }

};

unbound_resolver::unbound_resolver(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
unbound_resolver::~unbound_resolver() = default;

result<std::unique_ptr<unbound_resolver>> unbound_resolver::create(unbound_options opts) {
  auto p = std::make_unique<impl>();
  p->opts = std::move(opts);
  auto ctx = make_context(p->opts, p->validating);
  if (!ctx) return tl::unexpected(ctx.error());
  p->ctx = std::move(*ctx);
  p->heard = clock::now();
  p->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->wake_fd < 0) return fail(errc::io_error, std::string("eventfd: ") + std::strerror(errno));
  impl* raw = p.get();
  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<unbound_resolver>(new unbound_resolver(std::move(p)));
}

std::shared_future<txt_answer> unbound_resolver::lookup_txt_async(const std::string& raw_name) const {
  impl& m = *impl_;
  std::string name = normalise(raw_name);
  auto* p = new impl::pending;
  std::unique_ptr<impl::pending> owned(p);
  std::shared_future<txt_answer> result;
  {
    std::lock_guard lock(m.mutex);
    ++m.counters.lookups;
    auto c = m.cache.find(name);
    if (c != m.cache.end()) {
      if (c->second.expires > clock::now()) {
        ++m.counters.cache_hits;
        std::promise<txt_answer> done;
        done.set_value(c->second.answer);
        return done.get_future().share();
      }
      m.cache.erase(c);
    }
    auto f = m.in_flight.find(name);
    if (f != m.in_flight.end()) {
      ++m.counters.joined;
      return f->second->future;
    }
    if (m.stopping) {
      std::promise<txt_answer> done;
      done.set_value(txt_answer{dns_status::temporary, {}, "resolver shut down", {}});
      return done.get_future().share();
    }
    ++m.counters.queries;
    p->future = p->promise.get_future().share();
    p->deadline = clock::now() + m.opts.timeout;
    result = p->future;
    m.in_flight.emplace(name, std::move(owned));
  }
  {
    std::lock_guard hand(m.ctx_mutex);
    int id = 0;
    int err = ub_resolve_async(m.ctx.get(), name.c_str(), kTypeTxt, kClassIn, impl_.get(),
                               &impl::on_result, &id);
    std::lock_guard lock(m.mutex);
    auto f = m.in_flight.find(name);
    if (f != m.in_flight.end() && f->second.get() == p) {
      if (err != 0) {
        p->promise.set_value(txt_answer{dns_status::temporary, {},
                                        std::string("resolver error: ") + ub_strerror(err), {}});
        m.in_flight.erase(f);
      } else {
        p->async_id = id;
        p->generation = m.generation;
      }
    }
  }
  m.wake();  // the loop recomputes its timeout with the new deadline
  return result;
}

txt_answer unbound_resolver::lookup_txt(const std::string& name) const {
  return lookup_txt_async(name).get();
}

resolver_stats unbound_resolver::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace dkimkit
