// dkimkit verify --jobs N's pipeline: a message whose checks throw ends as a failed output, in
// order, not as std::terminate; what breaks the pipeline itself reaches the reading thread.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ordered_pipeline.hpp"

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

}  // namespace
}  // namespace dkimkit::cli
