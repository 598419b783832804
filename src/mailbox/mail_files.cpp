// walk_mail_files and open_mail_file (dkimkit/mailbox.hpp): the files of a Maildir or a directory
// tree, in order, each opened through the descriptor of its directory.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dkimkit/mailbox.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dkimkit {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 64;

// An open file descriptor, closed at the end of its scope.
class descriptor {
 public:
  explicit descriptor(int fd) noexcept : fd_(fd) {}
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  ~descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string error_text(int err) { return std::strerror(err); }

mail_file error_at(const fs::path& dir, std::string why) {
  return {dir.string(), mail_file::kind::error, std::move(why), -1, {}};
}

enum class entry_type { directory, regular, other };

struct entry {
  std::string name;
  entry_type type;  // of the entry itself: a symbolic link is not followed
};

entry_type type_at(int dir, const char* name) {
  struct stat st {};
  if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return entry_type::other;
  if (S_ISDIR(st.st_mode)) return entry_type::directory;
  if (S_ISREG(st.st_mode)) return entry_type::regular;
  return entry_type::other;
}

// The subdirectory `name` of `dir`, not through a symbolic link; -1 (errno set) when it cannot be
// opened.
int open_directory(int dir, const char* name) {
  return ::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// The entries of the open directory `dir` sorted by name; false (with `why`) when it cannot be
// read.
bool list(int dir, std::vector<entry>& out, std::string& why) {
  // fdopendir() takes the descriptor it is given, and `dir` stays open for openat().
  int copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = copy < 0 ? nullptr : ::fdopendir(copy);
  if (d == nullptr) {
    const int err = errno;
    if (copy >= 0) ::close(copy);
    why = error_text(err);
    return false;
  }
  // Closed whatever happens, an allocation failure for a name included.
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      err = errno;
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    entry_type type = e->d_type == DT_DIR   ? entry_type::directory
                      : e->d_type == DT_REG ? entry_type::regular
                                            : entry_type::other;
    if (e->d_type == DT_UNKNOWN) type = type_at(dir, name.c_str());
    out.push_back({std::move(name), type});
  }
  closer.reset();
  if (err != 0) {
    why = error_text(err);
    return false;
  }
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.name < b.name; });
  return true;
}

bool is_real_directory(int dir, const char* name) {
  return type_at(dir, name) == entry_type::directory;
}

// Walks the directory `dir_fd` (open), whose path is `dir`.
void walk_open(int dir_fd, const fs::path& dir, int depth,
               const std::function<void(const mail_file&)>& visit);

// Walks the directory `name` of `parent` (AT_FDCWD: `dir` as a path, which may be a symbolic
// link: the root of a walk is followed).
void walk(int parent, const char* name, const fs::path& dir, int depth,
          const std::function<void(const mail_file&)>& visit) {
  if (depth > kMaxDepth) {
    visit(error_at(dir, "more than " + std::to_string(kMaxDepth) + " levels of directories"));
    return;
  }
  descriptor fd(parent == AT_FDCWD ? ::open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                   : open_directory(parent, name));
  if (fd.get() < 0) {
    visit(error_at(dir, error_text(errno)));
    return;
  }
  walk_open(fd.get(), dir, depth, visit);
}

void walk_open(int dir_fd, const fs::path& dir, int depth,
               const std::function<void(const mail_file&)>& visit) {
  std::vector<entry> entries;
  std::string why;
  if (!list(dir_fd, entries, why)) {
    visit(error_at(dir, why));
    return;
  }
  const bool maildir = is_real_directory(dir_fd, "cur") || is_real_directory(dir_fd, "new");
  if (maildir) {
    for (const char* sub : {"cur", "new"}) {
      if (!is_real_directory(dir_fd, sub)) continue;
      descriptor sub_fd(open_directory(dir_fd, sub));
      std::vector<entry> messages;
      if (sub_fd.get() < 0) why = error_text(errno);
      if (sub_fd.get() < 0 || !list(sub_fd.get(), messages, why)) {
        visit(error_at(dir / sub, why));
        continue;
      }
      for (const entry& m : messages)
        if (m.type == entry_type::regular && !m.name.starts_with('.'))
          visit({(dir / sub / m.name).string(), mail_file::kind::message, {}, sub_fd.get(),
                 m.name});
    }
  }
  for (const entry& e : entries) {
    if (e.type == entry_type::directory) {
      if (maildir && (e.name == "cur" || e.name == "new" || e.name == "tmp")) continue;
      walk(dir_fd, e.name.c_str(), dir / e.name, depth + 1, visit);
    } else if (e.type == entry_type::regular && !maildir) {
      visit({(dir / e.name).string(), mail_file::kind::unknown, {}, dir_fd, e.name});
    }
  }
}

}  // namespace

void walk_mail_files(const std::string& dir, const std::function<void(const mail_file&)>& visit) {
  walk(AT_FDCWD, dir.c_str(), fs::path(dir), 0, visit);
}

int open_mail_file(const mail_file& file, std::string& why) {
  // O_NONBLOCK: a FIFO or a device put in the file's place is not waited on; O_NOFOLLOW: nor is
  // a symbolic link followed.
  const bool walked = file.dir_fd >= 0;
  descriptor fd(::openat(walked ? file.dir_fd : AT_FDCWD,
                         walked ? file.name.c_str() : file.path.c_str(),
                         O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
    why = file.path + ": " + error_text(errno);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    why = file.path + ": not a regular file";
    return -1;
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    why = file.path + ": " + error_text(errno);
    return -1;
  }
  return fd.release();
}

}  // namespace dkimkit
