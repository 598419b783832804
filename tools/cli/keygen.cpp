// dkimkit keygen: make a key pair and the DNS record to publish.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <dkimkit/signer.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct keygen_args {
  std::string domain, selector, type = "rsa", dir = ".";
  unsigned bits = 2048;
  bool force = false;
};

// The zone-file line: the TXT value as quoted strings of at most 255 bytes.
std::string zone_line(const std::string& owner, const std::string& record) {
  std::string out = owner + " IN TXT (";
  for (std::size_t i = 0; i < record.size(); i += 255) out += " \"" + record.substr(i, 255) + "\"";
  out += " )";
  return out;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Puts `tmp` at `path`: over whatever is there with `force` (a symbolic link is replaced, never
// followed), else only when nothing is (a dangling link counts), without a window between the
// check and the rename (RENAME_NOREPLACE, or link() where the file system lacks it).
bool move_into_place(const std::string& tmp, const std::string& path, bool force) {
  if (force) return ::rename(tmp.c_str(), path.c_str()) == 0;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
    return true;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return false;
  if (::link(tmp.c_str(), path.c_str()) != 0) return false;
  ::unlink(tmp.c_str());
  return true;
}

// Writes `data` to a new file next to `path` (O_CREAT|O_EXCL|O_NOFOLLOW, `mode`), syncs it and
// renames it to `path`: a reader never sees half a key, and a symbolic link at `path` is never
// followed, so --force cannot be turned into writing a key over another file.
bool write_file(const std::string& path, const std::string& data, mode_t mode, bool force,
                std::string& why) {
  const std::size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = path.substr(folder.size());
  std::string tmp;
  int fd = -1;
  std::random_device random;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, ".%08x", static_cast<unsigned>(random()));
    tmp = folder + "." + name + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    why = path + ": cannot create a temporary file beside it: " + std::strerror(errno);
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, data) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && !move_into_place(tmp, path, force)) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    why = path + ": " + std::strerror(err) + (err == EEXIST ? " (use --force)" : "");
    return false;
  }
  // The rename is durable once the folder is synced too.
  int dfd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

// Makes `dir` and any missing parents with mode 0700 (private keys go there). Says which it made.
bool make_folder(const std::string& dir, std::vector<std::string>& made, std::string& why) {
  struct stat st {};
  std::string path;
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    std::size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    path = dir.substr(0, slash);
    pos = slash + 1;
    if (path.empty() || path == "." || path == "..") continue;
    if (::mkdir(path.c_str(), 0700) == 0) {
      made.push_back(path);
      continue;
    }
    if (errno != EEXIST) {
      why = path + ": cannot create the folder: " + std::strerror(errno);
      return false;
    }
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      why = path + ": exists and is not a folder";
      return false;
    }
  }
  return true;
}

int run_keygen(const keygen_args& a) {
  key_type type;
  if (a.type == "rsa")
    type = key_type::rsa;
  else if (a.type == "ed25519")
    type = key_type::ed25519;
  else {
    complain("-t must be rsa or ed25519");
    return exit_usage;
  }
  if (type == key_type::rsa && (a.bits < rfc8301_min_rsa_bits || a.bits > 8192)) {
    complain("RSA keys must have " + std::to_string(rfc8301_min_rsa_bits) +
             " to 8192 bits (RFC 8301); 2048 is advised");
    return exit_usage;
  }
  auto key = private_key::generate(type, a.bits);
  if (!key) {
    complain(key.error().message());
    return exit_software;
  }
  std::string owner = key_name(a.selector, a.domain) + ".";
  std::string line = zone_line(owner, key->public_record()) + "  ; dkimkit " +
                     std::string(to_string(type)) + " key " + a.selector + " for " + a.domain +
                     "\n";
  std::string why;
  std::vector<std::string> made;
  if (!make_folder(a.dir, made, why)) {
    complain(why);
    return exit_cantcreat;
  }
  for (const auto& m : made) complain("created the folder " + m + " (mode 0700)");
  std::string base = a.dir + "/" + a.selector;
  for (const std::string& path : {base + ".private", base + ".txt"}) {
    struct stat st {};
    if (!a.force && ::lstat(path.c_str(), &st) == 0) {  // a dangling symbolic link too
      complain(path + ": " + std::strerror(EEXIST) + " (use --force)");
      return exit_cantcreat;
    }
  }
  if (!write_file(base + ".private", key->to_pem(), 0600, a.force, why) ||
      !write_file(base + ".txt", line, 0644, a.force, why)) {
    complain(why);
    return exit_cantcreat;
  }
  complain("wrote " + base + ".private (mode 0600) and " + base + ".txt; publish this record:");
  std::cout << terminal_safe(line, "\n");
  return exit_ok;
}

}  // namespace

void add_keygen_command(CLI::App& app, int& status) {
  auto args = std::make_shared<keygen_args>();
  CLI::App* cmd = app.add_subcommand(
      "keygen", "Generate a key pair: SELECTOR.private (PEM) and SELECTOR.txt (the DNS record)");
  cmd->add_option("-d,--domain", args->domain, "signing domain")->required();
  cmd->add_option("-s,--selector", args->selector, "selector")->required();
  cmd->add_option("-t,--type", args->type, "rsa or ed25519")->capture_default_str();
  cmd->add_option("-b,--bits", args->bits, "RSA key size")->capture_default_str();
  cmd->add_option("-o,--output-dir", args->dir,
                  "directory for the files (made with mode 0700 when missing)")
      ->capture_default_str();
  cmd->add_flag("--force", args->force,
                "replace existing files (a symbolic link is replaced, never written through)");
  cmd->callback([args, &status] { status = run_keygen(*args); });
}

}  // namespace dkimkit::cli
