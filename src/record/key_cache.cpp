#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

#include <dkimkit/key_record.hpp>

#include "record/key_lookup.hpp"

namespace dkimkit {

struct key_cache::impl {
  using entry = std::pair<std::string, result<std::shared_ptr<const key_record>>>;
  std::size_t capacity;
  std::mutex mutex;
  std::list<entry> lru;  // most recently used first
  std::unordered_map<std::string_view, std::list<entry>::iterator> index;
  std::atomic<std::size_t> hits{0}, misses{0};
};

key_cache::key_cache(std::size_t capacity) : impl_(std::make_unique<impl>()) {
  impl_->capacity = capacity == 0 ? 1 : capacity;
}
key_cache::~key_cache() = default;

result<key_record> key_cache::parse(std::string_view txt, const key_limits& limits) {
  auto rec = parse_shared(txt, limits);
  if (!rec) return tl::unexpected(rec.error());
  return **rec;
}

result<std::shared_ptr<const key_record>> key_cache::parse_shared(std::string_view txt,
                                                                  const key_limits& limits) {
  // The key is built in a buffer each thread reuses: a hit allocates nothing for it.
  thread_local std::string probe;
  probe.clear();
  probe += std::to_string(limits.max_rsa_bits);
  probe += '/';
  probe += std::to_string(limits.max_record_bytes);
  probe += '/';
  probe += txt;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->index.find(std::string_view(probe));
    if (it != impl_->index.end()) {
      // Most recently used first; a key already there (the steady state) is not moved.
      if (it->second != impl_->lru.begin())
        impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second);
      impl_->hits.fetch_add(1, std::memory_order_relaxed);
      return it->second->second;
    }
  }
  std::string key = probe;
  impl_->misses.fetch_add(1, std::memory_order_relaxed);
  result<std::shared_ptr<const key_record>> rec = detail::share(parse_key_record(txt, limits));  // unlocked
  std::lock_guard lock(impl_->mutex);
  if (impl_->index.find(key) == impl_->index.end()) {
    impl_->lru.emplace_front(std::move(key), rec);
    impl_->index.emplace(impl_->lru.front().first, impl_->lru.begin());
    while (impl_->lru.size() > impl_->capacity) {
      impl_->index.erase(impl_->lru.back().first);
      impl_->lru.pop_back();
    }
  }
  return rec;
}

std::size_t key_cache::hits() const noexcept { return impl_->hits.load(); }
std::size_t key_cache::misses() const noexcept { return impl_->misses.load(); }

}  // namespace dkimkit
