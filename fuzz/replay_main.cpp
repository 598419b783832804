// A main() for compilers without libFuzzer (g++): runs LLVMFuzzerTestOneInput() once over every
// file named on the command line or found (recursively) in the directories named there, in
// sorted order, and prints how many it ran. Arguments starting with '-' are ignored, so a
// libFuzzer command line also works. A path that does not exist, or no input at all, is an
// error: a corpus that disappeared must not pass silently.
//
//   fuzz_tag_list fuzz/corpus/tag_list           # "fuzz_tag_list: 42 inputs from 1 path(s)"
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool read_file(const fs::path& path, std::vector<char>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string self = fs::path(argc > 0 ? argv[0] : "replay").filename().string();
  std::vector<fs::path> inputs;
  std::size_t paths = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    ++paths;
    std::error_code ec;
    const fs::path path(arg);
    if (fs::is_directory(path, ec)) {
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) inputs.push_back(it->path());
      if (ec) {
        std::fprintf(stderr, "%s: %s: %s\n", self.c_str(), arg.c_str(), ec.message().c_str());
        return 1;
      }
    } else if (fs::is_regular_file(path, ec)) {
      inputs.push_back(path);
    } else {
      std::fprintf(stderr, "%s: %s: no such file or directory\n", self.c_str(), arg.c_str());
      return 1;
    }
  }
  std::sort(inputs.begin(), inputs.end());

  std::vector<char> bytes;
  for (const fs::path& path : inputs) {
    if (!read_file(path, bytes)) {
      std::fprintf(stderr, "%s: cannot read %s\n", self.c_str(), path.string().c_str());
      return 1;
    }
    // An exact-size heap copy, so that AddressSanitizer catches any read past the end.
    auto copy = std::make_unique<std::uint8_t[]>(bytes.size());
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  }
  std::printf("%s: %zu inputs from %zu path(s)\n", self.c_str(), inputs.size(), paths);
  if (inputs.empty()) {
    std::fprintf(stderr, "%s: no inputs\n", self.c_str());
    return 1;
  }
  return 0;
}
