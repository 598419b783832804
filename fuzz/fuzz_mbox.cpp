// Fuzz target: dkimkit::mbox_reader (dkimkit/mailbox.hpp). Differential checks: the messages of
// the whole input in one chunk must equal those of the input cut in two at a point derived from
// the data and (for short inputs) fed one byte at a time; the events must nest (begin, bytes,
// end), be numbered from 1, and the message bytes plus the separator lines, the framing and the
// removed quotes can never exceed the input. Any difference aborts.
#include <cstddef>
#include <cstdint>
#include <dkimkit/mailbox.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using dkimkit::fuzz::check;

struct collector : dkimkit::mbox_handler {
  std::vector<std::string> messages;
  bool open = false;
  void begin_message(std::uint64_t number) override {
    check(!open && number == messages.size() + 1);
    open = true;
    messages.emplace_back();
  }
  void message_bytes(std::string_view bytes) override {
    check(open && !bytes.empty());
    messages.back() += bytes;
  }
  void end_message() override {
    check(open);
    open = false;
  }
};

std::vector<std::string> split(const std::vector<std::string_view>& chunks) {
  collector c;
  dkimkit::mbox_reader r(c);
  std::size_t total = 0;
  for (std::string_view chunk : chunks) {
    r.update(chunk);
    total += chunk.size();
  }
  r.finish();
  check(!c.open && r.messages() == c.messages.size());
  std::size_t out = r.preamble_bytes();
  for (const auto& m : c.messages) out += m.size();
  check(out <= total);
  return c.messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto whole = split({in});
  const std::size_t cut = dkimkit::fuzz::split_point(in);
  check(split({in.substr(0, cut), in.substr(cut)}) == whole);
  if (in.size() <= 4096) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    check(split(bytes) == whole);
  }
  return 0;
}
