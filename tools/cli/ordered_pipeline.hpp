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
// The hooks run in the worker threads (start, feed, finish, fail) and, one at a time and in
// input order, in whichever thread delivers (emit). An exception from start, feed or finish ends
// that message only: the rest of its bytes are dropped and its output is fail(tag, exception).
// Any other exception in a worker (fail's own, emit's, memory for the bookkeeping) breaks the
// pipeline: the reader's next begin() and close() throw it, as the reading thread would have.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "in_order.hpp"

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
    // The output of a message whose start, feed or finish threw.
    std::function<Out(const Tag&, std::exception_ptr)> fail;
  };
  static constexpr std::size_t kPiece = 256 * 1024;
  static constexpr std::size_t kMaxBytes = 8 * 1024 * 1024;

  ordered_pipeline(unsigned jobs, std::size_t window, hooks h)
      : hooks_(std::move(h)),
        window_(std::max<std::size_t>(window, jobs)),
        per_worker_(std::max<std::size_t>(1, window / jobs)) {
    workers_.reserve(jobs);
    try {
      for (unsigned i = 0; i < jobs; ++i) workers_.emplace_back([this, i] { work(i); });
    } catch (...) {  // a thread not made: those made end before the exception goes on
      shut();
      throw;
    }
  }
  ordered_pipeline(const ordered_pipeline&) = delete;
  ordered_pipeline& operator=(const ordered_pipeline&) = delete;
  ~ordered_pipeline() { shut(); }

  // A message begins; waits while `window` messages are in flight.
  void begin(Tag tag) {
    std::unique_lock lk(m_);
    if (next_seq_ - outputs_.next() >= window_) {  // full: wait until a quarter is free
      reader_waits_ = true;
      space_.wait(lk, [&] { return !full() || error_; });
      reader_waits_ = false;
    }
    if (error_) std::rethrow_exception(error_);
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
  // No more messages: waits until every output has been emitted and the workers have ended;
  // throws what broke the pipeline, if anything did.
  void close() {
    shut();
    std::lock_guard lk(m_);
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  struct job {
    std::uint64_t seq = 0;
    Tag tag;
    std::deque<std::string> pieces;
    bool complete = false;
    bool abandoned = false;
  };

  void shut() noexcept {
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

  void hand_over(bool complete, bool abandoned = false) {
    std::unique_lock lk(m_);
    current_->abandoned = abandoned;
    if (in_flight_ > 0 && in_flight_ + piece_.size() > kMaxBytes) {
      reader_waits_ = true;
      piece_size_ = piece_.size();
      space_.wait(
          lk, [&] { return in_flight_ == 0 || in_flight_ + piece_size_ <= kMaxBytes || error_; });
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
  [[nodiscard]] bool full() const noexcept {
    return next_seq_ - outputs_.next() > window_ - window_ / 4;
  }

  struct held {
    std::uint64_t seq;
    std::shared_ptr<job> j;
    std::optional<Work> w;
  };

  // Bytes fed (their buffers already freed, outside m_), under m_: counted out of the budget, the
  // reader woken when it waits for that room. Done at the worker's next lock, so that a message
  // costs it one lock.
  void give_back(std::size_t& used) {
    in_flight_ -= used;
    used = 0;
    if (reader_waits_ && (in_flight_ == 0 || in_flight_ + piece_size_ <= kMaxBytes))
      space_.notify_one();
  }

  // What broke the pipeline (the first thing), under m_; the reader wakes to throw it.
  void broken(std::exception_ptr e) noexcept {
    {
      std::lock_guard lk(m_);
      if (!error_) error_ = std::move(e);
    }
    space_.notify_all();
  }

  // Its output (out(), none when abandoned), or fail()'s when it failed or out() threw; anything
  // else thrown breaks the pipeline.
  template <class Make>
  void produce(std::uint64_t seq, const Tag& tag, std::exception_ptr failed, Make&& out) noexcept {
    try {
      std::optional<Out> o;
      if (!failed) {
        try {
          o = out();
        } catch (...) {
          failed = std::current_exception();
        }
      }
      if (failed) o.emplace(hooks_.fail(tag, failed));
      deliver(seq, std::move(o));
    } catch (...) {
      broken(std::current_exception());
    }
  }

  void work(unsigned worker) {
    std::deque<held> pending;
    std::size_t used = 0;
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
        produce(h.seq, h.j->tag, nullptr, [&] { return hooks_.finish(worker, h.j->tag, *h.w); });
        continue;
      }
      // A message whose start or feed threw: the rest of its bytes are taken and dropped.
      std::exception_ptr failed;
      std::optional<Work> w;
      try {
        w.emplace(hooks_.start(j->tag));
      } catch (...) {
        failed = std::current_exception();
      }
      while (true) {
        for (auto& p : got) {
          if (!abandoned && !failed) {
            try {
              hooks_.feed(*w, p);
            } catch (...) {
              failed = std::current_exception();
            }
          }
          used += p.size();
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
      if (abandoned) {
        produce(j->seq, j->tag, nullptr, [] { return std::optional<Out>(); });
        continue;
      }
      if (!failed) {
        try {
          pending.push_back(held{j->seq, j, std::move(w)});
          continue;
        } catch (...) {
          failed = std::current_exception();
        }
      }
      produce(j->seq, j->tag, failed, [] { return std::optional<Out>(); });
    }
  }

  // The output of message `seq`: emitted now if it is the next one, else kept until it is.
  void deliver(std::uint64_t seq, std::optional<Out> out) {
    std::unique_lock lk(m_);
    outputs_.deliver(
        lk, seq, std::move(out),
        [this](std::optional<Out>& o) {
          if (o) hooks_.emit(*o);
        },
        [this] {
          if (reader_waits_ && !full()) space_.notify_one();
        });
  }

  hooks hooks_;
  const std::size_t window_;
  const std::size_t per_worker_;
  std::mutex m_;
  std::condition_variable work_;    // a job queued, closed
  std::condition_variable pieces_;  // bytes handed over for a job already queued
  std::condition_variable space_;   // an output emitted, bytes consumed
  std::deque<std::shared_ptr<job>> queue_;
  in_order<std::optional<Out>> outputs_;
  std::uint64_t next_seq_ = 0;
  std::size_t in_flight_ = 0;
  bool closed_ = false, reader_waits_ = false;
  unsigned idle_ = 0;           // workers waiting on work_
  std::size_t piece_size_ = 0;  // the piece the reader waits to hand over
  std::exception_ptr error_;    // what broke the pipeline
  // The reading thread's own: the message being read and its bytes not yet handed over.
  std::shared_ptr<job> current_;
  std::string piece_;
  bool queued_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace dkimkit::cli
