// A redis-server of the test's own: 127.0.0.1 at a free port, no persistence, in a directory
// made with mktemp -d /tmp/dk.XXXXXX (mode 0755), stopped by PID. And small socket fakes of a
// hostile server (tests/replay/fake_redis.py).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace dkimkit::test {

// Why a Redis test cannot run ("" when it can): /usr/bin/redis-server absent.
std::string redis_missing();

class redis_server {
 public:
  // Starts redis-server with `extra` arguments (e.g. {"--requirepass", "s"}) and waits for it
  // to answer PING (5 s at most). nullptr, with `why`, when it does not start.
  static std::unique_ptr<redis_server> start(std::vector<std::string> extra, std::string& why);
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  // SIGTERM by PID, then waits for it (SIGKILL after 5 s).
  void stop();
  // Starts it again, same port and arguments (the data is gone: no persistence).
  bool restart();

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  // Runs one command (AUTH with `password` first when set) and returns the reply as text: a
  // string or status as is, an integer in decimal, nil as "(nil)", an error as "ERR: ...", an
  // array as its elements joined by "\n".
  std::string command(const std::vector<std::string>& args, int db = 0) const;
  long long integer(const std::vector<std::string>& args, int db = 0) const;

  std::string password;

 private:
  redis_server() = default;
  bool launch(std::string& why);
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
  std::vector<std::string> extra_;
};

// A fake server (python3 tests/replay/fake_redis.py MODE PORT) on 127.0.0.1 at a free port:
// "int" answers every command with an integer, "huge" with the start of a 1 GB bulk string that
// never ends, "hugearray" with an array of 2e9 elements (announced, never sent), "silent" never
// answers, "close" closes the connection, "badscript" answers the fleet-key commands well and
// the script with an array of the wrong size, "nested" with 1100 arrays of 1000 integers in
// one array, "stale" well but for its first four connections (see fake_redis.py).
class fake_redis {
 public:
  static std::unique_ptr<fake_redis> start(const std::string& mode, std::string& why);
  ~fake_redis();
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  fake_redis() = default;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago.
int free_tcp_port();

}  // namespace dkimkit::test
