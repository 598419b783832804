// The blocks of one mbox (mbox_cutter) checked by N threads, the calling thread among them,
// their outputs emitted in input order: the path of `dkimkit verify --jobs N` when the keys
// answer at once (--zone), so that a worker finishes each message as soon as it is read.
//
//   block_pipeline<checks, output>::hooks h{start, feed, finish, fail, emit};
//   auto preamble = block_pipeline<checks, output>::run(jobs, cutter, h);   // all emitted
//
// No reader thread: a worker takes the next block under the one lock (one lock per block of
// about 512 KiB, not several per message), checks its messages into one output, and hands it
// over; the thread whose block is the next in order emits it and those waiting after it. At most
// `4 * jobs` blocks (and never more than kMaxBlocks) are between being cut and emitted (room for
// the others to go on while one thread is descheduled), and their input buffers are reused:
// memory stays bounded whatever N and the input. While a worker streams
// a message larger than a block (mbox_cutter::rest), the others wait to take a block.
// A block's messages are split by a fresh dkimkit::mbox_reader and numbered from the block's
// first; each is start()ed, fed and finish()ed as its bytes go by, its output appended to the
// block's.
// Exceptions: one from start, feed or finish ends that message only: the rest of its bytes are
// dropped and fail() gives its output. Anything else (fail's own, emit's, memory for a block)
// stops the run, and run() throws the first of them once every thread has stopped.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <dkimkit/mailbox.hpp>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "in_order.hpp"
#include "mbox_blocks.hpp"

namespace dkimkit::cli {

template <class Work, class Out>
class block_pipeline {
 public:
  struct hooks {
    std::function<Work(std::uint64_t number)> start;    // message `number` (from 1) begins
    std::function<void(Work&, std::string_view)> feed;  // its bytes, in order
    // It has ended: its output appended to its block's.
    std::function<void(unsigned worker, std::uint64_t number, Work&, Out&)> finish;
    // The output of a message whose start, feed or finish threw.
    std::function<void(std::uint64_t number, std::exception_ptr, Out&)> fail;
    std::function<void(Out&)> emit;  // each block's output, in input order
  };
  static constexpr std::size_t kMaxBlocks = 16;

  // Every block of `cutter` checked and emitted; returns the bytes of the archive's preamble
  // (before its first separator), which belong to no message.
  static std::uint64_t run(unsigned jobs, mbox_cutter& cutter, const hooks& h) {
    block_pipeline p(jobs, cutter, h);
    std::vector<std::thread> threads;
    try {
      threads.reserve(jobs - 1);
      for (unsigned i = 1; i < jobs; ++i) threads.emplace_back([&p, i] { p.work(i); });
    } catch (...) {  // a thread not made: those made stop before the exception goes on
      p.broken(std::current_exception());
    }
    p.work(0);
    for (auto& t : threads) t.join();
    if (p.error_) std::rethrow_exception(p.error_);
    return p.preamble_;
  }

 private:
  block_pipeline(unsigned jobs, mbox_cutter& cutter, const hooks& h)
      : cutter_(cutter),
        hooks_(h),
        max_blocks_(std::clamp<std::size_t>(4 * std::size_t{jobs}, 4, kMaxBlocks)) {}

  void work(unsigned worker) noexcept {
    try {
      mbox_cutter::block b;
      while (true) {
        std::uint64_t seq = 0;
        {
          std::unique_lock lk(m_);
          claim_.wait(lk, [&] {
            return error_ || ended_ || (!streaming_ && next_seq_ - outputs_.next() < max_blocks_);
          });
          if (error_ || ended_) return;
          if (!pool_.empty()) {
            b.bytes.swap(pool_.back());
            pool_.pop_back();
          }
          if (!cutter_.next(b)) {
            ended_ = true;
            lk.unlock();
            claim_.notify_all();
            return;
          }
          seq = next_seq_++;
          streaming_ = b.more;
        }
        Out out{};
        split(worker, b, out);
        deliver(seq, std::move(out), b.bytes);
      }
    } catch (...) {
      broken(std::current_exception());
    }
  }

  // The messages of block b (and, when it goes on, of the rest of its last message) into out.
  void split(unsigned worker, const mbox_cutter::block& b, Out& out) {
    messages m(*this, worker, b.first, out);
    mbox_reader reader(m);
    reader.update(b.bytes);
    bool cut_short = false;
    if (b.more) {  // this worker streams the message that goes on; the others wait to cut
      std::string piece;
      for (auto s = mbox_cutter::stream::more; s == mbox_cutter::stream::more;) {
        s = cutter_.rest(piece);
        cut_short = s == mbox_cutter::stream::failed;
        reader.update(piece);
      }
      // The next block may be cut (after an exception, never: the run stops).
      {
        std::lock_guard lk(m_);
        streaming_ = false;
      }
      claim_.notify_all();
    }
    if (!cut_short) reader.finish();  // else the message cut short has no output
    if (b.opening) preamble_ = reader.preamble_bytes();
  }

  // A block's messages as its reader finds them.
  class messages final : public mbox_handler {
   public:
    messages(block_pipeline& p, unsigned worker, std::uint64_t first, Out& out)
        : p_(p), worker_(worker), first_(first), out_(out) {}
    void begin_message(std::uint64_t n) override {
      number_ = first_ + n - 1;
      failed_ = nullptr;
      work_.reset();
      try {
        work_.emplace(p_.hooks_.start(number_));
      } catch (...) {
        failed_ = std::current_exception();
      }
    }
    void message_bytes(std::string_view bytes) override {
      if (failed_) return;  // the rest of a message whose checks threw: dropped
      try {
        p_.hooks_.feed(*work_, bytes);
      } catch (...) {
        failed_ = std::current_exception();
      }
    }
    void end_message() override {
      if (!failed_) {
        try {
          p_.hooks_.finish(worker_, number_, *work_, out_);
        } catch (...) {
          failed_ = std::current_exception();
        }
      }
      work_.reset();
      if (failed_) p_.hooks_.fail(number_, std::exchange(failed_, nullptr), out_);
    }

   private:
    block_pipeline& p_;
    const unsigned worker_;
    const std::uint64_t first_;
    Out& out_;
    std::uint64_t number_ = 0;
    std::optional<Work> work_;
    std::exception_ptr failed_;
  };

  void broken(std::exception_ptr e) noexcept {
    {
      std::lock_guard lk(m_);
      if (!error_) error_ = std::move(e);
    }
    claim_.notify_all();
  }

  // A block's output: emitted now if it is the next, else kept until it is. Its input buffer
  // goes back to the pool.
  void deliver(std::uint64_t seq, Out out, std::string& buffer) {
    std::unique_lock lk(m_);
    pool_.emplace_back().swap(buffer);
    outputs_.deliver(
        lk, seq, std::move(out), [this](Out& o) { hooks_.emit(o); },
        [this] { claim_.notify_one(); });
  }

  mbox_cutter& cutter_;
  const hooks& hooks_;
  const std::size_t max_blocks_;
  std::mutex m_;
  std::condition_variable claim_;  // a block emitted, a stream ended, the end, an error
  in_order<Out> outputs_;
  std::vector<std::string> pool_;
  std::uint64_t next_seq_ = 0;
  bool ended_ = false, streaming_ = false;
  std::exception_ptr error_;
  std::uint64_t preamble_ = 0;  // written by the worker of the opening block
};

}  // namespace dkimkit::cli
