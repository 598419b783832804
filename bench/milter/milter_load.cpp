// milter_load: drives a milter directly over the milter protocol (no MTA), as Postfix 3.7 would:
// one milter connection per message, C connections at a time, N messages in all. Reports
// messages per second and the milter's CPU per message (utime + stime of --pid, from
// /proc/PID/stat before and after), and checks every reply.
//
//   milter_load --socket unix:/tmp/x/m.sock --message msg.eml --messages 2000
//               --connections 20 --pid 1234 --label dkimkit-sign --expect-header DKIM-Signature
//
// The protocol (sendmail's libmilter/mfdef.h; a command is a 4-byte length in network order,
// then the command byte and its data): OPTNEG, the macros and CONNECT, MAIL, RCPT, header fields,
// EOH, body chunks of at most 64 KiB, BODYEOB, then the reply to each step the milter did not
// negotiate away (SMFIP_NR_*), and the modifications before the final reply; ABORT twice and QUIT.
// Postfix sends a macro command (SMFIC_MACRO) before every step, also before the steps the milter
// left out (SMFIP_NO*) and when none of the step's macros is set, whatever lists the milter asked
// for (smfi_setsymlist() only changes which macros it carries): so does milter_load. The line
// printed counts the commands written per message ("cmds/msg"), then the latency of a message
// (connect to its final reply) at the median and the 99th percentile ("lat p50 1.23 p99 4.56 ms").
// --client-networks N sends message i from 10.X.Y.7, X.Y = i mod N (N distinct /24 networks);
// without it, every message comes from 127.0.0.1.
// --rate R paces the messages: message i is due at start + i/R s (arrivals as at an MX, not a
// closed loop that saturates the machine), a connection waits for the next message's time, and
// a message's latency runs from the time it was due (a message started late counts its wait).
// --latency-file F appends each message's latency in ms to F, one a line (percentiles over runs).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

// Protocol flags (mfdef.h).
constexpr std::uint32_t kNoConnect = 0x1, kNoHelo = 0x2, kNoMail = 0x4, kNoRcpt = 0x8,
                        kNoBody = 0x10, kNoHdrs = 0x20, kNoEoh = 0x40, kNrHdr = 0x80,
                        kNoData = 0x200, kNrConn = 0x1000, kNrHelo = 0x2000, kNrMail = 0x4000,
                        kNrRcpt = 0x8000, kNrData = 0x10000, kNrEoh = 0x40000,
                        kNrBody = 0x80000, kHdrLeadSpc = 0x100000;
// What Postfix 3.7 offers: every step may be left out or left without reply.
constexpr std::uint32_t kOffered = 0x001fffff;
constexpr std::uint32_t kAllActions = 0x1ff;
constexpr std::size_t kChunk = 65535;

struct options {
  std::string socket;
  std::string message_file;
  long messages = 2000;
  int connections = 20;
  std::vector<int> pids;
  std::string label = "milter";
  std::string expect_header;  // a field the milter must add to every message
  long client_networks = 0;   // 0: every message from 127.0.0.1
  double rate = 0;            // messages per second; 0: each connection sends as fast as it can
  std::string latency_file;   // each message's latency (ms) appended, one a line
};

struct message {
  std::vector<std::pair<std::string, std::string>> fields;  // name, value after the colon
  std::string body;
};

message parse_message(const std::string& text) {
  message m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find("\r\n", pos);
    if (eol == std::string::npos) eol = text.size();
    if (eol == pos) {  // the empty line
      pos = eol + 2;
      break;
    }
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 2;
    if ((line[0] == ' ' || line[0] == '\t') && !m.fields.empty()) {
      m.fields.back().second += "\n" + line;  // folded: the MTA passes LF
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    m.fields.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos < text.size()) m.body = text.substr(pos);
  return m;
}

void put32(std::string& out, std::uint32_t v) {
  v = htonl(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}

thread_local long t_commands = 0;  // commands written by this thread

void command(std::string& out, char cmd, std::string_view data = {}) {
  ++t_commands;
  put32(out, static_cast<std::uint32_t>(data.size() + 1));
  out.push_back(cmd);
  out.append(data);
}

std::string cstr(std::string_view s) { return std::string(s) + '\0'; }

int connect_to(const std::string& spec) {
  if (spec.rfind("unix:", 0) == 0) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = spec.substr(5);
    if (path.size() >= sizeof a.sun_path) return -1;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
  }
  if (spec.rfind("inet:", 0) == 0) {  // inet:PORT@127.0.0.1
    std::size_t at = spec.find('@');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::atoi(spec.substr(5, at - 5).c_str())));
    std::string host = at == std::string::npos ? "127.0.0.1" : spec.substr(at + 1);
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
  }
  return -1;
}

bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// One reply: its command byte and data; nullopt on a broken connection.
std::optional<std::pair<char, std::string>> read_reply(int fd) {
  std::uint32_t len = 0;
  if (!read_all(fd, reinterpret_cast<char*>(&len), 4)) return std::nullopt;
  len = ntohl(len);
  if (len == 0 || len > (1u << 20)) return std::nullopt;
  std::string data(len, '\0');
  if (!read_all(fd, data.data(), len)) return std::nullopt;
  char cmd = data[0];
  return std::make_pair(cmd, data.substr(1));
}

bool final_reply(char c) {  // continue, accept, reject, tempfail, reply code, discard
  return c == 'c' || c == 'a' || c == 'r' || c == 't' || c == 'y' || c == 'd';
}

struct tally {
  std::atomic<long> done{0}, failed{0}, accepted{0}, modified{0}, expected_seen{0};
  std::atomic<long> commands{0};  // written, all messages
  std::mutex m;
  std::string first_error;
  std::vector<double> latencies_ms;  // of the messages done
  void error(const std::string& e) {
    failed.fetch_add(1);
    std::lock_guard l(m);
    if (first_error.empty()) first_error = e;
  }
};

// One milter connection carrying one message.
// `started`: when the message was due (--rate) or now.
void one_message(const options& o, const message& msg, long id, tally& t,
                 std::chrono::steady_clock::time_point started) {
  int fd = connect_to(o.socket);
  if (fd < 0) return t.error("connect to " + o.socket + ": " + std::strerror(errno));
  auto fail = [&](const std::string& why) {
    close(fd);
    t.error(why);
  };
  std::string out;
  std::string neg;
  put32(neg, 6);
  put32(neg, kAllActions);
  put32(neg, kOffered);
  command(out, 'O', neg);
  if (!write_all(fd, out)) return fail("write OPTNEG");
  auto r = read_reply(fd);
  if (!r || r->first != 'O' || r->second.size() < 12) return fail("no OPTNEG reply");
  std::uint32_t pf = 0;
  std::memcpy(&pf, r->second.data() + 8, 4);
  pf = ntohl(pf);
  out.clear();
  char qid[32];
  std::snprintf(qid, sizeof qid, "4L%08lX", id);
  // A step: its command, then its reply unless the milter asked for none. Commands without reply
  // are written together with the next one that has a reply.
  char settled = 0;  // the reply that ended the message before its end (accept, reject, ...)
  auto step = [&](std::uint32_t skipped, std::uint32_t nr, char cmd, std::string_view data) -> bool {
    if (settled || (pf & skipped) != 0) return true;
    command(out, cmd, data);
    if ((pf & nr) != 0) return true;
    if (!write_all(fd, out)) return false;
    out.clear();
    auto rep = read_reply(fd);
    if (!rep) return false;
    if (rep->first == 's') return true;  // skip: fine for the body here (one chunk or a few)
    if (rep->first != 'c') settled = rep->first;
    return true;
  };
  auto macro = [&](char for_cmd, std::vector<std::pair<std::string, std::string>> kv) {
    if (settled) return;
    std::string d(1, for_cmd);
    for (auto& [k, v] : kv) d += cstr(k) + cstr(v);
    command(out, 'D', d);
  };
  // Postfix sends each step's macros (its default milter_*_macros) before the step, even one
  // the milter left out, and the end-of-header macros before every header field too.
  const std::vector<std::pair<std::string, std::string>> qid_only = {{"i", qid}};
  bool ok = true;
  macro('C', {{"j", "mx.example.net"}, {"{daemon_name}", "load"}, {"v", "Postfix 3.7"},
              {"_", "localhost [127.0.0.1]"}});
  if ((pf & kNoConnect) == 0) {
    std::string conn = cstr("localhost") + '4';
    std::uint16_t port = htons(40000);
    conn.append(reinterpret_cast<const char*>(&port), 2);
    std::string client = "127.0.0.1";
    if (o.client_networks > 0) {
      long n = id % o.client_networks;
      client = "10." + std::to_string(n / 256 % 256) + "." + std::to_string(n % 256) + ".7";
    }
    conn += cstr(client);
    ok = step(0, kNrConn, 'C', conn);
  }
  if (ok) {
    macro('H', {});
    if ((pf & kNoHelo) == 0) ok = step(0, kNrHelo, 'H', cstr("localhost"));
  }
  if (ok) {
    macro('M', {{"i", qid}, {"{mail_addr}", "alice@example.com"}});
    ok = step(kNoMail, kNrMail, 'M', cstr("<alice@example.com>"));
  }
  if (ok) {
    macro('R', {{"i", qid}, {"{rcpt_addr}", "bob@example.org"}});
    ok = step(kNoRcpt, kNrRcpt, 'R', cstr("<bob@example.org>"));
  }
  if (ok) {
    macro('T', qid_only);
    ok = step(kNoData, kNrData, 'T', {});
  }
  for (const auto& [name, value] : msg.fields) {
    if (!ok || settled) break;
    std::string_view v = value;
    if ((pf & kHdrLeadSpc) == 0)
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    macro('L', qid_only);
    ok = step(kNoHdrs, kNrHdr, 'L', cstr(name) + cstr(v));
  }
  if (ok && !settled) {
    macro('N', qid_only);
    ok = step(kNoEoh, kNrEoh, 'N', {});
  }
  for (std::size_t off = 0; ok && !settled && off < msg.body.size(); off += kChunk) {
    macro('B', qid_only);
    ok = step(kNoBody, kNrBody, 'B', std::string_view(msg.body).substr(off, kChunk));
  }
  if (!ok) return fail("connection broken before the end of the message");
  bool seen = false, modified = false;
  char final = 0;
  if (!settled) {
    macro('E', qid_only);
    command(out, 'E', {});
    if (!write_all(fd, out)) return fail("write BODYEOB");
    out.clear();
    for (;;) {
      auto rep = read_reply(fd);
      if (!rep) return fail("connection broken at the end of the message");
      if (final_reply(rep->first)) {
        final = rep->first;
        break;
      }
      if (rep->first == 'p') continue;  // progress
      modified = true;
      if ((rep->first == 'i' || rep->first == 'h') && !o.expect_header.empty()) {
        std::string_view d = rep->second;
        if (rep->first == 'i') d.remove_prefix(4);  // the index
        if (d.substr(0, d.find('\0')) == o.expect_header) seen = true;
      }
    }
  } else {
    final = settled;
  }
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  // After the end of the message Postfix 3.7 aborts the milter's transaction twice (its SMTP
  // server and its cleanup server each reset theirs), then quits (strace of libmilter's reads).
  command(out, 'A', {});
  command(out, 'A', {});
  command(out, 'Q', {});
  (void)write_all(fd, out);
  close(fd);
  if (final == 'r' || final == 't' || final == 'y' || final == 'd')
    return t.error(std::string("message ") + qid + " refused (reply '" + final + "')");
  if (!o.expect_header.empty() && !seen)
    return t.error(std::string("message ") + qid + ": no " + o.expect_header + " field added");
  t.done.fetch_add(1);
  {
    std::lock_guard l(t.m);
    t.latencies_ms.push_back(latency_ms);
  }
  if (final == 'a') t.accepted.fetch_add(1);
  if (modified) t.modified.fetch_add(1);
  if (seen) t.expected_seen.fetch_add(1);
}

// The processes and their children (dkimkit-milter: a supervisor and the child running
// libmilter), from /proc/PID/task/*/children.
std::vector<int> with_children(const std::vector<int>& pids) {
  std::vector<int> out;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    out.push_back(pids[i]);
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pids[i]) + "/task", ec)) {
      std::ifstream f(task.path() / "children");
      for (int child; f >> child;) {
        std::vector<int> below = with_children({child});
        out.insert(out.end(), below.begin(), below.end());
      }
    }
  }
  return out;
}

// utime + stime of the processes, in seconds (children that ended are counted only as far as
// they were waited for: measure long-lived ones).
double cpu_seconds(const std::vector<int>& pids) {
  double total = 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int pid : pids) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::size_t close_paren = s.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(s.substr(close_paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 3.. after "(comm)"
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    total += static_cast<double>(utime + stime) / tick;
  }
  return total;
}

int usage() {
  std::cerr << "usage: milter_load --socket unix:PATH|inet:PORT@HOST --message FILE [--messages N]\n"
               "       [--connections C] [--pid PID]... [--label TEXT] [--expect-header NAME]\n"
               "       [--client-networks N] [--rate MSGS_PER_S] [--latency-file F]\n";
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--socket") o.socket = v;
    else if (a == "--message") o.message_file = v;
    else if (a == "--messages") o.messages = std::atol(v.c_str());
    else if (a == "--connections") o.connections = std::atoi(v.c_str());
    else if (a == "--pid") o.pids.push_back(std::atoi(v.c_str()));
    else if (a == "--label") o.label = v;
    else if (a == "--expect-header") o.expect_header = v;
    else if (a == "--client-networks") o.client_networks = std::atol(v.c_str());
    else if (a == "--latency-file") o.latency_file = v;
    else if (a == "--rate") {
      char* end = nullptr;
      o.rate = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.rate > 0)) return usage();
    }
    else return usage();
  }
  if (o.socket.empty() || o.message_file.empty() || o.messages <= 0 || o.connections <= 0 ||
      o.rate < 0)
    return usage();
  std::ifstream f(o.message_file, std::ios::binary);
  if (!f) {
    std::cerr << "milter_load: cannot read " << o.message_file << "\n";
    return 66;
  }
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const message msg = parse_message(text);
  tally t;
  std::atomic<long> next{0};
  o.pids = with_children(o.pids);
  const double cpu0 = cpu_seconds(o.pids);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.connections; ++w)
    workers.emplace_back([&] {
      for (long id; (id = next.fetch_add(1)) < o.messages;) {
        auto due = std::chrono::steady_clock::now();
        if (o.rate > 0) {
          due = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(id) / o.rate));
          std::this_thread::sleep_until(due);
        }
        one_message(o, msg, id, t, due);
      }
      t.commands.fetch_add(t_commands);
    });
  for (auto& w : workers) w.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(o.pids) - cpu0;
  const long done = t.done.load();
  std::vector<double>& lat = t.latencies_ms;
  if (!o.latency_file.empty()) {
    std::ofstream lf(o.latency_file, std::ios::app);
    for (double l : lat) lf << l << "\n";
    if (!lf) {
      std::cerr << "milter_load: cannot write " << o.latency_file << "\n";
      return 73;
    }
  }
  std::sort(lat.begin(), lat.end());
  auto percentile = [&lat](double p) {
    if (lat.empty()) return 0.0;
    auto i = static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1) + 0.5);
    return lat[std::min(i, lat.size() - 1)];
  };
  std::printf(
      "%-22s %6ld msgs %7.2f s %8.1f msg/s  cpu %7.3f ms/msg  %8.1f msg/cpu-s  ok %ld  failed %ld  "
      "cmds/msg %.1f  lat p50 %.2f p99 %.2f ms\n",
      o.label.c_str(), o.messages, secs, static_cast<double>(done) / secs,
      done ? cpu * 1000.0 / static_cast<double>(done) : 0.0,
      cpu > 0 ? static_cast<double>(done) / cpu : 0.0, done, t.failed.load(),
      static_cast<double>(t.commands.load()) / static_cast<double>(o.messages), percentile(0.5),
      percentile(0.99));
  if (t.failed.load() > 0) {
    std::cerr << "milter_load: " << t.failed.load() << " failed; first: " << t.first_error << "\n";
    return 1;
  }
  return 0;
}
