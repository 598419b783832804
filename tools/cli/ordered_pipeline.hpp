// The messages of `dkimkit verify --jobs N`: read by one thread, checked by N worker threads,
// their outputs written in input order.
//
//   ordered_pipeline<origin, checks, output> p(jobs, window, hooks);
//   p.begin(from); p.bytes(chunk); ...; p.end();     // per message, from the reading thread
//   p.close();                                       // waits for every output
//
// Memory stays bounded whatever the input: at most `window` messages are between begin() and
// their output (begin() waits), and at most kMaxBytes of message bytes wait for a worker (the
// reader waits; bytes are handed over in pieces of up to kPiece, so a message of any size
// streams). Each worker keeps up to `window / jobs` messages whose finish() it defers while there
// is more to read, so that their key lookups overlap as in the single-threaded path.
// The hooks run in the worker threads (start, feed, finish) and, one at a time and in input
// order, in whichever thread delivers (emit); they must not throw.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace dkimkit::cli {

template <class Tag, class Work, class Out>
class ordered_pipeline {
 public:
  struct hooks {
    std::function<Work(const Tag&)> start;              // a message's state, in its worker
    std::function<void(Work&, std::string_view)> feed;  // its bytes, in order
    // Its output, once all its bytes are fed; may wait for DNS.
    std::function<Out(unsigned worker, const Tag&, Work&)> finish;
    std::function<void(Out&)> emit;  // each message's output, in input order
  };
  static constexpr std::size_t kPiece = 256 * 1024;
  static constexpr std::size_t kMaxBytes = 8 * 1024 * 1024;
  static constexpr std::size_t kSpares = 64, kSpareBytes = 64 * 1024;  // 4 MiB at most

  ordered_pipeline(unsigned jobs, std::size_t window, hooks h)
      : hooks_(std::move(h)),
        window_(std::max<std::size_t>(window, jobs)),
        per_worker_(std::max<std::size_t>(1, window / jobs)) {
    workers_.reserve(jobs);
    for (unsigned i = 0; i < jobs; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ordered_pipeline(const ordered_pipeline&) = delete;
  ordered_pipeline& operator=(const ordered_pipeline&) = delete;
  ~ordered_pipeline() { close(); }

  // A message begins; waits while `window` messages are in flight.
  void begin(Tag tag) {
    std::unique_lock lk(m_);
    if (next_seq_ - next_out_ >= window_) {  // full: wait until a quarter is free
      reader_waits_ = true;
      space_.wait(lk, [&] { return !full(); });
      reader_waits_ = false;
    }
    if (piece_.capacity() == 0 && !spare_.empty()) {  // a buffer a worker is done with
      piece_ = std::move(spare_.back());
      spare_.pop_back();
    }
    current_ = std::make_shared<job>();
    current_->seq = next_seq_++;
    current_->tag = std::move(tag);
    queued_ = false;
  }
  void bytes(std::string_view b) {
    piece_.append(b);
    if (piece_.size() >= kPiece) hand_over(false);
  }
  void end() {
    hand_over(true);
    current_.reset();
  }
  // The message begun is dropped (its input could not be read to the end): no output.
  void abandon() {
    if (!current_) return;
    piece_.clear();
    hand_over(true, true);
    current_.reset();
  }
  // No more messages: waits until every output has been emitted and the workers have ended.
  void close() {
    abandon();  // a message still being read (the reader stopped by an exception): dropped
    {
      std::lock_guard lk(m_);
      if (closed_) return;
      closed_ = true;
    }
    work_.notify_all();
    pieces_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  struct job {
    std::uint64_t seq = 0;
    Tag tag;
    std::deque<std::string> pieces;
    bool complete = false;
    bool abandoned = false;
  };

  void hand_over(bool complete, bool abandoned = false) {
    std::unique_lock lk(m_);
    current_->abandoned = abandoned;
    if (in_flight_ > 0 && in_flight_ + piece_.size() > kMaxBytes) {
      reader_waits_ = true;
      piece_size_ = piece_.size();
      space_.wait(lk, [&] { return in_flight_ == 0 || in_flight_ + piece_size_ <= kMaxBytes; });
      reader_waits_ = false;
    }
    if (!piece_.empty()) {
      in_flight_ += piece_.size();
      current_->pieces.push_back(std::move(piece_));
      piece_ = std::string();
    }
    current_->complete = complete;
    const bool fresh = !queued_;
    if (fresh) {
      queue_.push_back(current_);
      queued_ = true;
    }
    const bool idle = idle_ > 0;
    lk.unlock();
    // A job queued wakes one idle worker; more of a job already taken wakes the worker reading it.
    if (!fresh)
      pieces_.notify_all();
    else if (idle)
      work_.notify_one();
  }

  // While the reader waits in begin(): until a quarter of the window is free.
  [[nodiscard]] bool full() const noexcept { return next_seq_ - next_out_ > window_ - window_ / 4; }

  struct held {
    std::uint64_t seq;
    std::shared_ptr<job> j;
    Work w;
  };

  // Bytes fed, under m_: counted out of the budget, buffers back to the reader (no allocation per
  // message, none freed in another thread than the one that made it), the reader woken when it
  // waits for that room. Done at the worker's next lock, so that a message costs it one lock.
  void give_back(std::deque<std::string>& used) {
    for (auto& p : used) {
      in_flight_ -= p.size();
      if (spare_.size() < kSpares && p.capacity() <= kSpareBytes) {
        p.clear();
        spare_.push_back(std::move(p));
      }
    }
    used.clear();
    if (reader_waits_ && in_flight_ + piece_size_ <= kMaxBytes) space_.notify_one();
  }

  void work(unsigned worker) {
    std::deque<held> pending;
    std::deque<std::string> used;
    while (true) {
      std::shared_ptr<job> j;
      std::deque<std::string> got;
      bool complete = false, abandoned = false;
      {
        std::unique_lock lk(m_);
        give_back(used);
        ++idle_;
        work_.wait(lk, [&] { return !queue_.empty() || closed_ || !pending.empty(); });
        --idle_;
        if (!queue_.empty() && pending.size() < per_worker_) {
          j = std::move(queue_.front());
          queue_.pop_front();
          got.swap(j->pieces);
          complete = j->complete;
          abandoned = j->abandoned;
        } else if (pending.empty()) {
          return;  // closed, nothing queued, nothing held
        }
      }
      if (!j) {  // nothing to read now: finish the oldest held message
        held h = std::move(pending.front());
        pending.pop_front();
        deliver(h.seq, hooks_.finish(worker, h.j->tag, h.w));
        continue;
      }
      Work w = hooks_.start(j->tag);
      while (true) {
        for (auto& p : got) {
          if (!abandoned) hooks_.feed(w, p);
          used.push_back(std::move(p));
        }
        got.clear();
        if (complete) break;
        std::unique_lock lk(m_);
        give_back(used);
        pieces_.wait(lk, [&] { return !j->pieces.empty() || j->complete; });
        got.swap(j->pieces);
        complete = j->complete;
        abandoned = j->abandoned;
      }
      if (abandoned)
        deliver(j->seq, std::nullopt);
      else
        pending.push_back(held{j->seq, j, std::move(w)});
    }
  }

  // The output of message `seq`: emitted now if it is the next one, else kept until it is.
  void deliver(std::uint64_t seq, std::optional<Out> out) {
    std::unique_lock lk(m_);
    ready_.emplace(seq, std::move(out));
    if (emitting_) return;  // the thread emitting will take it
    emitting_ = true;
    while (!ready_.empty() && ready_.begin()->first == next_out_) {
      auto node = ready_.extract(ready_.begin());
      lk.unlock();
      if (node.mapped()) hooks_.emit(*node.mapped());
      lk.lock();
      ++next_out_;
      if (reader_waits_ && !full()) space_.notify_one();
    }
    emitting_ = false;
  }

  hooks hooks_;
  const std::size_t window_;
  const std::size_t per_worker_;
  std::mutex m_;
  std::condition_variable work_;    // a job queued, closed
  std::condition_variable pieces_;  // bytes handed over for a job already queued
  std::condition_variable space_;   // an output emitted, bytes consumed
  std::deque<std::shared_ptr<job>> queue_;
  std::map<std::uint64_t, std::optional<Out>> ready_;
  std::uint64_t next_seq_ = 0, next_out_ = 0;
  std::size_t in_flight_ = 0;
  bool closed_ = false, emitting_ = false, reader_waits_ = false;
  unsigned idle_ = 0;               // workers waiting on work_
  std::size_t piece_size_ = 0;      // the piece the reader waits to hand over
  std::vector<std::string> spare_;  // emptied buffers, for the reader's next pieces
  // The reading thread's own: the message being read and its bytes not yet handed over.
  std::shared_ptr<job> current_;
  std::string piece_;
  bool queued_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace dkimkit::cli
