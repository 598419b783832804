// dkimkit-milter: DKIM signing and verification for Postfix and Sendmail (the milter protocol).
//
// Process layout: a small supervisor process owns the signals, and a child runs libmilter.
// libmilter stops on SIGHUP, so the supervisor takes SIGHUP and tells the child to reload
// (SIGUSR1): the child reads the configuration and keys once, as the user it runs as, and keeps
// the old configuration when the new one is refused (logged), without closing connections. The
// supervisor reads nothing after the start. SIGTERM and SIGINT are passed on, and the child stops
// accepting, finishes the messages in flight and exits; the supervisor then removes the pid file.
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <dkimkit/version.hpp>
#include <libmilter/mfapi.h>

#include "config.hpp"
#include "opendkim_map.hpp"
#include "opendkim_migrate.hpp"
#include "filter.hpp"

namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG
constexpr int kExitSoftware = 70;

using namespace dkimkit::milter;

// libmilter gives no access to its sockets. Small milter replies meet Nagle's algorithm and the
// MTA's delayed ACK (about 40-90 ms per message over TCP), so TCP_NODELAY is set on the listening
// socket, found among our descriptors; Linux passes it on to every accepted connection.
void set_nodelay_on_listener() {
  for (int fd = 0; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

// libmilter starts its worker threads (and ends those it has too many of, all the time under
// load) with the default attributes: an 8 MiB stack, of which glibc keeps only 40 MiB worth (five)
// for reuse, unmapping and mapping the others as workers come and go (about one munmap and one
// mmap per 15 messages at 20 connections, with their TLB shootdowns). Every thread of this process
// runs code that does not recurse on its input (parsers count nesting; OpenSSL bounds its ASN.1
// nesting), so 1 MiB is ample, and forty of them stay cached.
constexpr std::size_t kThreadStack = std::size_t{1} << 20;

void set_thread_stack_default() {
  pthread_attr_t attr;
  if (pthread_getattr_default_np(&attr) != 0) return;
  if (pthread_attr_setstacksize(&attr, kThreadStack) == 0) pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
}

// The path of a unix socket setting ("unix:PATH" or "local:PATH"), else "".
std::string unix_socket_path(const std::string& socket) {
  for (const char* prefix : {"unix:", "local:"})
    if (socket.rfind(prefix, 0) == 0) return socket.substr(std::strlen(prefix));
  return {};
}

// Opens the milter socket. A unix socket is created with socket_mode (0660 by default: the
// service's group, e.g. Postfix added to it, may connect, and no one else) and socket_group; a
// missing parent folder is made (0750). Started as root with a user to become, the socket and a
// folder made for it belong to that user, and to its group unless socket_group says otherwise.
bool open_socket(const config& cfg, std::string& why) {
  std::string path = unix_socket_path(cfg.socket);
  std::string conn = path.empty() ? cfg.socket : "local:" + path;
  const bool switching = !cfg.user.empty() && ::geteuid() == 0;
  const uid_t owner = switching ? cfg.uid : static_cast<uid_t>(-1);
  gid_t gid = switching ? cfg.gid : static_cast<gid_t>(-1);
  if (!path.empty()) {
    if (!cfg.socket_group.empty()) {
      if (const ::group* g = ::getgrnam(cfg.socket_group.c_str()))
        gid = g->gr_gid;
      else
        gid = static_cast<gid_t>(std::stoul(cfg.socket_group));
    }
    std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
    struct stat st {};
    if (!dir.empty() && ::stat(dir.c_str(), &st) != 0) {
      if (::mkdir(dir.c_str(), 0750) != 0) {
        why = "cannot make the socket's folder " + dir + ": " + std::strerror(errno);
        return false;
      }
      if ((owner != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
          ::chown(dir.c_str(), owner, gid) != 0) {
        why = "cannot give " + dir + " to " +
              (switching ? "user " + cfg.user + " and " : std::string()) + "group " +
              (cfg.socket_group.empty() ? std::to_string(gid) : cfg.socket_group) + ": " +
              std::strerror(errno);
        return false;
      }
    }
  }
  // Created with no access for anyone but us; the mode and group are set before the first accept.
  mode_t old = ::umask(0177);
  bool ok = smfi_setconn(conn.data()) == MI_SUCCESS && smfi_opensocket(1) == MI_SUCCESS;
  ::umask(old);
  if (!ok) {
    why = "cannot listen on " + cfg.socket;
    return false;
  }
  if (!path.empty()) {
    if (((owner != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
         ::chown(path.c_str(), owner, gid) != 0) ||
        ::chmod(path.c_str(), cfg.socket_mode) != 0) {
      why = "cannot set the mode or group of " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// Started as another user than root: only cfg.user itself may run with it (and its group, when
// one is set). Nothing to check when no user is set.
bool check_user(const config& cfg, std::string& why) {
  if (cfg.user.empty() || ::geteuid() == 0) return true;
  if (::geteuid() == cfg.uid && ::getuid() == cfg.uid &&
      (cfg.group.empty() || (::getegid() == cfg.gid && ::getgid() == cfg.gid)))
    return true;
  why = cfg.user_setting + ": running as uid " + std::to_string(::geteuid()) +
        (cfg.group.empty() ? std::string() : " gid " + std::to_string(::getegid())) +
        "; start as root or as " + cfg.user;
  return false;
}

// Started as root: becomes cfg.user (supplementary groups, group, user, in that order), then
// makes sure root cannot be regained. Nothing to do when no user is set or not root.
bool switch_user(const config& cfg, std::string& why) {
  if (cfg.user.empty() || ::geteuid() != 0) return true;
  const std::string who = cfg.user_setting + " (uid " + std::to_string(cfg.uid) + ", gid " +
                          std::to_string(cfg.gid) + ")";
  const ::passwd* pw = ::getpwuid(cfg.uid);
  if (!pw) {
    why = "cannot become " + who + ": the user is gone from the user database";
    return false;
  }
  const std::string name = pw->pw_name;
  if (::initgroups(name.c_str(), cfg.gid) != 0) {
    why = "cannot become " + who + ": initgroups: " + std::strerror(errno);
    return false;
  }
  if (::setgid(cfg.gid) != 0) {
    why = "cannot become " + who + ": setgid: " + std::strerror(errno);
    return false;
  }
  if (::setuid(cfg.uid) != 0) {
    why = "cannot become " + who + ": setuid: " + std::strerror(errno);
    return false;
  }
  if (cfg.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    why = "became " + who + " but could regain root; stopping";
    return false;
  }
  if (::getuid() != cfg.uid || ::geteuid() != cfg.uid || ::getgid() != cfg.gid ||
      ::getegid() != cfg.gid) {
    why = "cannot become " + who + ": the ids did not change";
    return false;
  }
  return true;
}

// started: the write end of a pipe: a byte once the socket is open and the user switched (the
// supervisor then switches too), closed otherwise; -1: none.
int run_child(const std::string& path, config_loader load, std::shared_ptr<config> cfg,
              bool foreground, int started) {
  set_thread_stack_default();  // before any thread starts (the resolver's, libmilter's)
  std::string why;
  if (!register_filter(cfg, foreground, why)) {
    log_line(LOG_ERR, why);
    return kExitConfig;
  }
  if (!open_socket(*cfg, why)) {
    log_line(LOG_ERR, why);
    return kExitConfig;
  }
  // Everything that needs root is done: configuration and keys read, pid file written, socket
  // open. The process that handles mail runs as cfg->user from here on.
  if (!switch_user(*cfg, why)) {
    log_line(LOG_ERR, why);
    return kExitConfig;
  }
  if (started >= 0) {
    char ok = 1;
    if (::write(started, &ok, 1) != 1) return kExitSoftware;
    ::close(started);
  }
  for (const auto& w : cfg->warnings) log_line(LOG_WARNING, "warning: " + w);
  set_nodelay_on_listener();
  smfi_settimeout(600);
  std::thread([path, load] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR2) {
        log_replay_stats();
        continue;
      }
      std::string problem;
      if (reload(path, problem, load))
        log_line(LOG_INFO, "configuration and keys reloaded from " + path);
      else
        log_line(LOG_ERR, "reload refused, the old configuration stays: " + problem);
    }
  }).detach();
  log_line(LOG_INFO, "dkimkit-milter " + std::string(dkimkit::version()) + " listening on " +
                         cfg->socket + " (mode " +
                         (cfg->mode == mode::sign ? "sign" : cfg->mode == mode::verify ? "verify" : "both") + ")");
  int rc = smfi_main();
  // libmilter has stopped accepting; let the messages in flight finish (at most 60 s).
  for (int i = 0; i < 600 && open_connections() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log_replay_stats();
  log_line(LOG_INFO, "stopped");
  return rc == MI_SUCCESS ? 0 : kExitSoftware;
}

// An error line of the supervisor (log_line is the child's: it knows the mode once the filter is
// registered).
void supervisor_log(bool foreground, const std::string& line) {
  if (foreground)
    std::cerr << "dkimkit-milter: " << line << std::endl;
  else
    syslog(LOG_ERR, "%s", line.c_str());
}

// The pid file: written as the process that will remove it (no symbolic link followed: it may be
// root writing in a shared folder); false with why when it cannot be written.
bool write_pid_file(const std::string& path, std::string& why) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    why = "cannot write the pid file " + path + ": " + std::strerror(errno);
    return false;
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!ok) why = "cannot write the pid file " + path + ": " + std::strerror(errno);
  ::close(fd);
  return ok;
}

// Removes the pid file only while it still names this process: a newer instance started while
// this one finished its messages has written its own pid there.
void remove_pid_file(const std::string& path) {
  if (path.empty()) return;
  std::ifstream f(path);
  long pid = 0;
  if (f >> pid && pid == static_cast<long>(::getpid())) ::unlink(path.c_str());
}

void daemonize() {
  if (pid_t p = fork(); p < 0) {
    std::perror("dkimkit-milter: fork");
    std::exit(kExitSoftware);
  } else if (p > 0) {
    std::exit(0);
  }
  setsid();
  if (pid_t p = fork(); p < 0) {
    std::exit(kExitSoftware);
  } else if (p > 0) {
    std::exit(0);
  }
  if (chdir("/") != 0) std::exit(kExitSoftware);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
}

}  // namespace

namespace {

// --opendkim-default FILE: Debian's /etc/default/opendkim, whose SOCKET= overrides Socket.
std::string g_opendkim_default;

dkimkit::result<dkimkit::milter::config> load_opendkim(const std::string& path) {
  return dkimkit::milter::config_from_opendkim(path, g_opendkim_default);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string version(dkimkit::version());
  CLI::App app{"dkimkit-milter " + version +
               ": DKIM signing and verification for Postfix and Sendmail"};
  app.set_version_flag("--version", "dkimkit-milter " + version,
                       "print the version and exit");
  std::string config_path, check_path, opendkim_path, migrate_path;
  bool foreground = false;
  app.add_option("-c,--config", config_path, "the TOML configuration file");
  app.add_option("--opendkim-config", opendkim_path,
                 "an OpenDKIM configuration file (opendkim.conf(5)) instead of --config");
  app.add_option("--opendkim-default", g_opendkim_default,
                 "with --opendkim-config or --migrate: Debian's /etc/default/opendkim, whose "
                 "SOCKET= overrides Socket as opendkim -p does (never read unless given)");
  app.add_option("--check-config", check_path,
                 "check a configuration file (and load its keys), then exit: 0 when valid; "
                 "with --config or --opendkim-config, no FILE: check that one")
      ->expected(0, 1);
  app.add_option("--migrate", migrate_path,
                 "print an OpenDKIM configuration file (opendkim.conf(5)) as dkimkit-milter's "
                 "TOML configuration, then exit");
  app.add_flag("-f,--foreground", foreground, "stay in the foreground and log to stderr");
  app.footer(
      "Signals: SIGHUP reloads the configuration and keys (an invalid file is refused and the\n"
      "old one stays); SIGTERM stops accepting, finishes the messages in flight and exits;\n"
      "SIGUSR2 logs the [replay] store's counters (counted, uncounted, suspected).\n"
      "Exit status: 0 done; 64 usage; 78 invalid configuration; 70 internal error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 64;
  }
  if (!config_path.empty() && !opendkim_path.empty()) {
    std::cerr << "dkimkit-milter: --config and --opendkim-config exclude each other\n";
    return 64;
  }
  if (app.count("--migrate") > 0) {
    if (!config_path.empty() || !opendkim_path.empty() || app.count("--check-config") > 0) {
      std::cerr << "dkimkit-milter: --migrate excludes --config, --opendkim-config and "
                   "--check-config\n";
      return 64;
    }
    auto toml = migrate_opendkim(migrate_path, g_opendkim_default);
    if (!toml) {
      std::cerr << "dkimkit-milter: " << toml.error().detail << "\n";
      return kExitConfig;
    }
    std::cout << *toml;
    return std::cout.flush() ? 0 : 70;
  }
  if (!g_opendkim_default.empty() && opendkim_path.empty()) {
    std::cerr << "dkimkit-milter: --opendkim-default goes with --opendkim-config or --migrate\n";
    return 64;
  }
  config_loader load = &load_config;
  if (!opendkim_path.empty()) {
    load = &load_opendkim;
    config_path = opendkim_path;
  }
  if (app.count("--check-config") > 0) {
    // --check-config FILE, or --config/--opendkim-config FILE --check-config: one file.
    if (check_path.empty() == config_path.empty()) {
      std::cerr << "dkimkit-milter: --check-config FILE, or --config FILE --check-config, or "
                   "--opendkim-config FILE --check-config\n";
      return 64;
    }
    if (check_path.empty()) check_path = config_path;
    auto cfg = load(check_path);
    if (!cfg) {
      std::cerr << "dkimkit-milter: " << cfg.error().detail << "\n";
      return kExitConfig;
    }
    for (const auto& w : cfg->warnings) std::cerr << "dkimkit-milter: warning: " << w << "\n";
    std::cout << check_path << ": valid (" << cfg->keys.size() << " signing keys"
              << (cfg->replay.enabled ? ", replay counting on" : "") << ")\n";
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "dkimkit-milter: --config FILE (or --opendkim-config FILE) is required\n";
    return 64;
  }
  auto loaded = load(config_path);
  if (!loaded) {
    std::cerr << "dkimkit-milter: " << loaded.error().detail << "\n";
    return kExitConfig;
  }
  auto cfg = std::make_shared<config>(std::move(*loaded));
  if (std::string why; !check_user(*cfg, why)) {
    std::cerr << "dkimkit-milter: " << why << "\n";
    return kExitConfig;
  }
  if (!foreground) {
    daemonize();
    openlog("dkimkit-milter", LOG_PID, LOG_MAIL);
  }
  // The supervisor waits for signals; every thread of both processes has them blocked, from
  // before the pid file names this process (a SIGHUP sent as soon as it appears must not kill it).
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (std::string why; !cfg->pid_file.empty() && !write_pid_file(cfg->pid_file, why))
    supervisor_log(foreground, why);

  // Started as root with a user to become: the child opens the socket, switches, then says so;
  // the supervisor switches after it (never before: it could no longer signal a root child).
  // With a pid file, the supervisor stays root instead: the file was written as root, in a folder
  // such as /run that the user may not write, and only root can remove it at exit. It serves no
  // connection and reads no file after the start (SIGHUP: the child reloads); it waits for signals
  // and passes them on.
  int started[2] = {-1, -1};
  const bool switching = !cfg->user.empty() && ::geteuid() == 0;
  const bool keep_root = switching && !cfg->pid_file.empty();
  if (switching && ::pipe2(started, O_CLOEXEC) != 0) {
    std::perror("dkimkit-milter: pipe");
    return kExitSoftware;
  }
  pid_t child = fork();
  if (child < 0) {
    std::perror("dkimkit-milter: fork");
    return kExitSoftware;
  }
  if (child == 0) {
    if (switching) ::close(started[0]);
    return run_child(config_path, load, cfg, foreground, started[1]);
  }
  if (switching) {
    ::close(started[1]);
    char ok = 0;
    ssize_t n = 0;
    while ((n = ::read(started[0], &ok, 1)) < 0 && errno == EINTR) {
    }
    ::close(started[0]);
    // n == 0: the child stopped before switching; its exit status is reported below.
    if (std::string why; n == 1 && !keep_root && !switch_user(*cfg, why)) {
      supervisor_log(foreground, why);
      kill(child, SIGTERM);
      int st = 0;
      waitpid(child, &st, 0);
      remove_pid_file(cfg->pid_file);
      return kExitSoftware;
    }
  }
  // The supervisor needs nothing of the configuration but the pid file's path from here on: the
  // keys it loaded are freed (the child has its own copy), all the more when it stays root.
  const std::string pid_file = cfg->pid_file;
  cfg.reset();

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      kill(child, SIGUSR1);  // the child loads the file, or refuses it and says why
    } else if (sig == SIGTERM || sig == SIGINT) {
      kill(child, SIGTERM);
    } else if (sig == SIGUSR2) {
      kill(child, SIGUSR2);  // [replay]: the child logs the store's counters
    } else if (sig == SIGCHLD) {
      int st = 0;
      pid_t p = waitpid(child, &st, WNOHANG);
      if (p == child) {
        remove_pid_file(pid_file);
        return WIFEXITED(st) ? WEXITSTATUS(st) : kExitSoftware;
      }
    }
  }
}
