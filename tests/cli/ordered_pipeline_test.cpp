// dkimkit verify --jobs N's pipelines (ordered_pipeline, and block_pipeline for an mbox with
// --zone): a message whose checks throw ends as a failed output, in order, not as
// std::terminate; what breaks the pipeline itself reaches the reading thread.
#include "ordered_pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "block_pipeline.hpp"

namespace dkimkit::cli {
namespace {

using pipeline = ordered_pipeline<int, std::string, std::string>;

// Messages 0..n-1, each of the bytes "m<i>"; `throws` says which hook throws for message i.
struct rig {
  std::vector<std::string> out;
  std::function<bool(const char*, int)> throws = [](const char*, int) { return false; };
  pipeline::hooks hooks() {
    pipeline::hooks h;
    h.start = [this](const int& i) {
      if (throws("start", i)) throw std::bad_alloc();
      return std::string();
    };
    h.feed = [this](std::string& w, std::string_view b) {
      if (throws("feed", b[1] - '0')) throw std::bad_alloc();
      w.append(b);
    };
    h.finish = [this](unsigned, const int& i, std::string& w) {
      if (throws("finish", i)) throw std::runtime_error("finish");
      return w;
    };
    h.emit = [this](std::string& o) {
      if (o == "m3" && throws("emit", 3)) throw std::runtime_error("emit");
      out.push_back(o);
    };
    h.fail = [](const int& i, std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        return "failed " + std::to_string(i) + ": " + x.what();
      }
    };
    return h;
  }
  void run(unsigned jobs, int n) {
    pipeline p(jobs, 4, hooks());
    for (int i = 0; i < n; ++i) {
      p.begin(i);
      p.bytes("m" + std::to_string(i));
      p.end();
    }
    p.close();
  }
};

TEST(ordered_pipeline, a_hook_that_throws_fails_its_message_only) {
  for (const char* hook : {"start", "feed", "finish"}) {
    for (unsigned jobs : {1u, 3u}) {
      rig r;
      r.throws = [hook](const char* h, int i) { return i == 2 && std::string(h) == hook; };
      r.run(jobs, 6);
      const std::string failed =
          std::string("failed 2: ") + (std::string(hook) == "finish" ? "finish" : "std::bad_alloc");
      EXPECT_EQ(r.out, (std::vector<std::string>{"m0", "m1", failed, "m3", "m4", "m5"}))
          << hook << " jobs " << jobs;
    }
  }
}

TEST(ordered_pipeline, an_emit_that_throws_reaches_the_reader) {
  rig r;
  r.throws = [](const char* h, int) { return std::string(h) == "emit"; };
  EXPECT_THROW(
      {
        pipeline p(2, 4, r.hooks());
        for (int i = 0; i < 9; ++i) {
          p.begin(i);
          p.bytes("m" + std::to_string(i));
          p.end();
        }
        p.close();
      },
      std::runtime_error);
  ASSERT_GE(r.out.size(), 3u);
  EXPECT_EQ(r.out[2], "m2");
}

// Pieces larger than the whole byte budget: the reader, waiting to hand over the next piece of
// the message a worker reads, is woken when the budget is empty again (else both wait).
TEST(ordered_pipeline, a_piece_over_the_budget_does_not_stall_the_reader) {
  auto done = std::make_shared<std::promise<std::size_t>>();
  auto ended = done->get_future();
  std::thread([done] {
    std::size_t fed = 0;
    pipeline::hooks h;
    h.start = [](const int&) { return std::string(); };
    h.feed = [&fed](std::string&, std::string_view b) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the reader waits first
      fed += b.size();
    };
    h.finish = [](unsigned, const int&, std::string&) { return std::string(); };
    h.emit = [](std::string&) {};
    h.fail = [](const int&, std::exception_ptr) { return std::string(); };
    const std::string big(pipeline::kMaxBytes + 1, 'x');
    pipeline p(1, 256, h);
    p.begin(0);
    for (int i = 0; i < 3; ++i) p.bytes(big);
    p.end();
    p.close();
    done->set_value(fed);
  }).detach();
  if (ended.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "the reader still waits";
    std::_Exit(1);  // the stalled thread cannot be joined
  }
  EXPECT_EQ(ended.get(), 3 * (pipeline::kMaxBytes + 1));
}

// block_pipeline: the messages of an mbox, cut into small blocks so that there are many, checked
// by `jobs` threads; outputs "N:BYTES" per message, in order.
struct block_rig {
  using blocks = block_pipeline<std::string, std::string>;
  std::string out;
  std::function<bool(const char*, std::uint64_t)> throws = [](const char*, std::uint64_t) {
    return false;
  };
  std::uint64_t preamble = 0;
  blocks::hooks hooks() {
    blocks::hooks h;
    h.start = [this](std::uint64_t n) {
      if (throws("start", n)) throw std::bad_alloc();
      return std::to_string(n) + ":";
    };
    h.feed = [](std::string& w, std::string_view b) {
      if (b.find("throw") != std::string_view::npos) throw std::bad_alloc();
      w.append(b);
    };
    h.finish = [this](unsigned, std::uint64_t n, std::string& w, std::string& o) {
      if (throws("finish", n)) throw std::runtime_error("finish");
      o += w + "|";
    };
    h.fail = [this](std::uint64_t n, std::exception_ptr e, std::string& o) {
      if (throws("fail", n)) throw std::runtime_error("fail");
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        o += "failed " + std::to_string(n) + ": " + x.what() + "|";
      }
    };
    h.emit = [this](std::string& o) {
      if (throws("emit", 0) && out.size() > 40) throw std::runtime_error("emit");
      out += o;
    };
    return h;
  }
  // `fail_at`: the source fails after that many bytes.
  bool run(unsigned jobs, const std::string& mbox, std::size_t fail_at = std::string::npos) {
    std::size_t at = 0;
    mbox_cutter cut(
        [&](char* buf, std::size_t n) -> long {
          if (at >= fail_at) return -1;
          n = std::min({n, mbox.size() - at, fail_at - at});
          std::memcpy(buf, mbox.data() + at, n);
          at += n;
          return static_cast<long>(n);
        },
        {}, 64, 128, 16, 3);
    preamble = blocks::run(jobs, cut, hooks());
    return !cut.failed();
  }
};

std::string archive(int n) {
  std::string mbox = "preamble\n";
  for (int i = 1; i <= n; ++i) {
    mbox += "From m\nm" + std::to_string(i) + "\n";
    if (i % 9 == 0) mbox += std::string(300, 'x') + "\n";  // longer than a block: streamed
    if (i == 13) mbox += "throw\n";                        // feed throws
    mbox += "\n";
  }
  return mbox;
}

// What one thread gives: the reference.
std::string reference(const std::string& mbox) {
  block_rig r;
  EXPECT_TRUE(r.run(1, mbox));
  return r.out;
}

TEST(block_pipeline, outputs_in_order_whatever_the_threads) {
  const std::string mbox = archive(60);
  const std::string want = reference(mbox);
  EXPECT_NE(want.find("1:m1\n|2:m2\n|"), std::string::npos);
  EXPECT_NE(want.find("|60:m60\n|"), std::string::npos);
  EXPECT_NE(want.find("|failed 13: std::bad_alloc|14:m14"), std::string::npos);
  for (unsigned jobs : {2u, 3u, 8u, 40u}) {
    block_rig r;
    EXPECT_TRUE(r.run(jobs, mbox));
    EXPECT_EQ(r.out, want) << "jobs " << jobs;
    EXPECT_EQ(r.preamble, 9u);
  }
}

TEST(block_pipeline, a_hook_that_throws_fails_its_message_only) {
  const std::string mbox = archive(20);
  for (const char* hook : {"start", "finish"}) {
    for (unsigned jobs : {1u, 3u}) {
      block_rig r;
      r.throws = [hook](const char* h, std::uint64_t n) {
        return n == 5 && std::string(h) == hook;
      };
      EXPECT_TRUE(r.run(jobs, mbox));
      const std::string failed =
          std::string("failed 5: ") + (std::string(hook) == "finish" ? "finish" : "std::bad_alloc");
      EXPECT_NE(r.out.find("|4:m4\n|" + failed + "|6:m6\n|"), std::string::npos)
          << hook << " jobs " << jobs << ": " << r.out;
      EXPECT_NE(r.out.find("|20:m20\n|"), std::string::npos);
    }
  }
}

TEST(block_pipeline, what_breaks_it_reaches_the_caller) {
  for (const char* hook : {"emit", "fail"}) {
    for (unsigned jobs : {1u, 2u, 5u}) {
      block_rig r;
      r.throws = [hook](const char* h, std::uint64_t n) {
        return std::string(h) == hook && (n == 0 || n == 13);
      };
      EXPECT_THROW(r.run(jobs, archive(40)), std::runtime_error) << hook << " jobs " << jobs;
      EXPECT_EQ(r.out.rfind("1:m1\n|", 0), 0u) << r.out;  // emitted in order up to there
    }
  }
}

// A read error: the messages whose end was read, in order; the one cut short has no output.
TEST(block_pipeline, a_read_error_ends_with_the_messages_read) {
  const std::string mbox = archive(30);
  // Message 19 ends when the separator of message 20 has been read, not before.
  for (std::size_t more : {4u, 5u}) {
    const std::size_t at = mbox.find("From m\nm20\n") + more;
    for (unsigned jobs : {1u, 2u, 4u}) {
      block_rig r;
      EXPECT_FALSE(r.run(jobs, mbox, at));
      const std::string last = more == 5 ? "|19:m19\n|" : "|17:m17\n|18:m18\n";
      EXPECT_NE(r.out.find(last, r.out.size() - 350), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("m20"), std::string::npos);
      EXPECT_EQ(r.out.find("19:m19") == std::string::npos, more == 4);
    }
  }
  // Within a streamed message (message 18 is longer than a block): 17 is the last.
  const std::size_t in_stream = mbox.find("From m\nm18\n") + 100;
  block_rig r;
  EXPECT_FALSE(r.run(2, mbox, in_stream));
  EXPECT_EQ(r.out.substr(r.out.size() - 8), "17:m17\n|") << r.out;
}

}  // namespace
}  // namespace dkimkit::cli
