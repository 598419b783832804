// walk_mail_files (dkimkit/mailbox.hpp): the files of a Maildir or a directory tree, in order.
#include <algorithm>
#include <dkimkit/mailbox.hpp>
#include <filesystem>
#include <system_error>
#include <vector>

namespace dkimkit {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 64;

struct entry {
  std::string name;
  fs::file_type type;  // of the entry itself: a symbolic link is not followed
};

// The entries of `dir` sorted by name; false (with `why`) when it cannot be read.
bool list(const fs::path& dir, std::vector<entry>& out, std::string& why) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    fs::file_type type = it->symlink_status(type_ec).type();
    if (type_ec) type = fs::file_type::unknown;
    out.push_back({it->path().filename().string(), type});
  }
  if (ec) {
    why = ec.message();
    return false;
  }
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.name < b.name; });
  return true;
}

bool is_real_directory(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() == fs::file_type::directory;
}

void walk(const fs::path& dir, int depth, const std::function<void(const mail_file&)>& visit) {
  if (depth > kMaxDepth) {
    visit({dir.string(), mail_file::kind::error,
           "more than " + std::to_string(kMaxDepth) + " levels of directories"});
    return;
  }
  std::vector<entry> entries;
  std::string why;
  if (!list(dir, entries, why)) {
    visit({dir.string(), mail_file::kind::error, why});
    return;
  }
  const bool maildir = is_real_directory(dir / "cur") || is_real_directory(dir / "new");
  if (maildir) {
    for (const char* sub : {"cur", "new"}) {
      if (!is_real_directory(dir / sub)) continue;
      std::vector<entry> messages;
      if (!list(dir / sub, messages, why)) {
        visit({(dir / sub).string(), mail_file::kind::error, why});
        continue;
      }
      for (const entry& m : messages)
        if (m.type == fs::file_type::regular && !m.name.starts_with('.'))
          visit({(dir / sub / m.name).string(), mail_file::kind::message, {}});
    }
  }
  for (const entry& e : entries) {
    if (e.type == fs::file_type::directory) {
      if (maildir && (e.name == "cur" || e.name == "new" || e.name == "tmp")) continue;
      walk(dir / e.name, depth + 1, visit);
    } else if (e.type == fs::file_type::regular && !maildir) {
      visit({(dir / e.name).string(), mail_file::kind::unknown, {}});
    }
  }
}

}  // namespace

void walk_mail_files(const std::string& dir, const std::function<void(const mail_file&)>& visit) {
  walk(fs::path(dir), 0, visit);
}

}  // namespace dkimkit
