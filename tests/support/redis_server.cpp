#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace dkimkit::test {
namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // Quiet: the server's log goes to its directory or nowhere.
    freopen("/dev/null", "w", stdout);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void stop_pid(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

bool tcp_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

std::string text_of(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ERROR:
      return "ERR: " + std::string(r->str, r->len);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r->elements; ++i) {
        if (i != 0) out += '\n';
        out += text_of(r->element[i]);
      }
      return out;
    }
    default:
      return std::string(r->str, r->len);
  }
}

}  // namespace

std::string redis_missing() {
  if (access(kRedisServer, X_OK) != 0)
    return "redis-server is not installed (Debian package redis-server); Redis tests skipped";
  return "";
}

int free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::unique_ptr<redis_server> redis_server::start(std::vector<std::string> extra,
                                                  std::string& why) {
  std::unique_ptr<redis_server> s(new redis_server);
  char tmpl[] = "/tmp/dk.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    why = "mkdtemp failed";
    return nullptr;
  }
  chmod(tmpl, 0755);
  s->dir_ = tmpl;
  s->port_ = free_tcp_port();
  for (std::size_t i = 0; i + 1 < extra.size(); ++i) {
    if (extra[i] == "--requirepass") s->password = extra[i + 1];
  }
  s->extra_ = std::move(extra);
  if (!s->launch(why)) return nullptr;
  return s;
}

bool redis_server::launch(std::string& why) {
  std::vector<std::string> argv = {
      kRedisServer, "--bind",    "127.0.0.1",        "--port", std::to_string(port_),
      "--save",     "",          "--appendonly",     "no",     "--dir",
      dir_,         "--logfile", dir_ + "/redis.log"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  pid_ = spawn(argv);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      why = "redis-server exited at once (see " + dir_ + "/redis.log)";
      return false;
    }
    if (tcp_accepts(port_) && command({"PING"}) == "PONG") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  why = "redis-server does not answer PING on port " + std::to_string(port_);
  stop_pid(pid_);
  return false;
}

redis_server::~redis_server() {
  stop_pid(pid_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void redis_server::stop() { stop_pid(pid_); }

bool redis_server::restart() {
  std::string why;
  return launch(why);
}

std::string redis_server::command(const std::vector<std::string>& args, int db) const {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return "ERR: cannot connect";
  }
  auto run = [&](const std::vector<std::string>& a) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& s : a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return std::string("ERR: no reply");
    std::string out = text_of(r);
    freeReplyObject(r);
    return out;
  };
  if (!password.empty()) run({"AUTH", password});
  if (db != 0) run({"SELECT", std::to_string(db)});
  std::string out = run(args);
  redisFree(c);
  return out;
}

long long redis_server::integer(const std::vector<std::string>& args, int db) const {
  const std::string s = command(args, db);
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return (end != nullptr && *end == '\0' && !s.empty()) ? v : -999999;
}

std::unique_ptr<fake_redis> fake_redis::start(const std::string& mode, std::string& why) {
  std::unique_ptr<fake_redis> f(new fake_redis);
  f->port_ = free_tcp_port();
  f->pid_ = spawn({"/usr/bin/python3", DKIMKIT_TEST_SOURCE_DIR "/replay/fake_redis.py", mode,
                   std::to_string(f->port_)});
  for (int i = 0; i < 500; ++i) {
    if (tcp_accepts(f->port_)) return f;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  why = "the fake Redis server (" + mode + ") does not listen";
  return nullptr;
}

fake_redis::~fake_redis() { stop_pid(pid_); }

}  // namespace dkimkit::test
