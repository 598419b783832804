// Outputs made in any order by several threads, emitted in sequence order (0, 1, 2, ...) by
// whichever thread delivers the next one; the others go back to work at once.
//
//   in_order<std::string> outputs;                   // guarded by the caller's mutex m
//   std::unique_lock lk(m);
//   outputs.deliver(lk, seq, std::move(out), [](std::string& o) { write(o); }, [] { wake(); });
//
// deliver() is called with lk locked and returns with it locked; emit() runs with it unlocked,
// one call at a time, in order; after() runs locked after each output, thrown or not. When
// emit() throws, its output counts as emitted, and the next thread delivering emits on.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace dkimkit::cli {

template <class Out>
class in_order {
 public:
  template <class Emit, class After>
  void deliver(std::unique_lock<std::mutex>& lk, std::uint64_t seq, Out out, Emit&& emit,
               After&& after) {
    ready_.emplace(seq, std::move(out));
    if (emitting_) return;  // the thread emitting will take it
    emitting_ = true;
    struct done_emitting {
      in_order& o;
      ~done_emitting() { o.emitting_ = false; }
    } guard{*this};
    while (!ready_.empty() && ready_.begin()->first == next_) {
      auto node = ready_.extract(ready_.begin());
      lk.unlock();
      struct emitted {
        in_order& o;
        std::unique_lock<std::mutex>& lk;
        After& after;
        ~emitted() {
          lk.lock();
          ++o.next_;
          after();
        }
      } next{*this, lk, after};
      emit(node.mapped());
    }
  }
  // The sequence number of the next output to emit: those before it have been.
  [[nodiscard]] std::uint64_t next() const noexcept { return next_; }

 private:
  std::map<std::uint64_t, Out> ready_;
  std::uint64_t next_ = 0;
  bool emitting_ = false;
};

}  // namespace dkimkit::cli
