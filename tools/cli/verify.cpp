// dkimkit verify: check the DKIM signatures of messages.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/mailbox.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "block_pipeline.hpp"
#include "common.hpp"
#include "mbox_blocks.hpp"
#include "ordered_pipeline.hpp"

namespace dkimkit::cli {
namespace {

struct verify_args {
  std::vector<std::string> files;
  std::string format = "auto";  // auto, mbox or message
  dns_args dns;
  colour_mode colour = colour_mode::automatic;
  bool stats = false;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  bool summary = false;
  bool no_progress = false;
  std::vector<std::string> require;
  bool json = false;
  std::string authserv_id;
  verify_settings check;
};

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// The human output's ARC line: "arc=pass (1 set) header.oldest-pass=1" or "arc=fail (REASON)".
// A line of its own after the Authentication-Results field, which stays as it was.
std::string arc_line(bool colour, const arc_validation& arc) {
  std::string word(to_string(arc.result));
  std::string out = "arc=" + paint(colour, tone_of_word(word), word);
  if (arc.result == arc_result::pass)
    out += " (" + std::to_string(arc.sets) + (arc.sets == 1 ? " set" : " sets") +
           ") header.oldest-pass=" + std::to_string(arc.oldest_pass);
  else
    out += " (" + terminal_safe(arc.reason) + ")";
  return out;
}

// Where a result comes from: a file, and the message's number when the file is an mbox.
struct origin {
  std::string file;
  std::optional<std::uint64_t> message;
  bool named = false;  // human output: a "# FILE" line before the result
};

// The --json line of one message, written directly rather than built as an nlohmann::json
// object per message (its allocations were a good part of the CLI's own cost): the bytes are
// those json_line() gives for the same object, keys in sorted order, as std::map keeps them.
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}
  void open(char bracket) {
    out_ += bracket;
    first_ = true;
  }
  void close(char bracket) {
    out_ += bracket;
    first_ = false;
  }
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;  // the keys are fixed identifiers
    out_ += "\":";
  }
  void element() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  // Printable ASCII other than '"' and '\\' as it is; anything else (escapes, UTF-8, bytes that
  // are not UTF-8) as json_line() writes it.
  void string(std::string_view v) {
    const bool plain = std::all_of(v.begin(), v.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (plain) {
      out_ += '"';
      out_ += v;
      out_ += '"';
    } else {
      out_ += json_line(nlohmann::json(std::string(v)));
    }
  }
  void number(std::uint64_t n) { out_ += std::to_string(n); }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void field(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void field(std::string_view k, std::uint64_t n) {
    key(k);
    number(n);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// {arc, file, from_domain or from_error, message, reply, result, signatures} of one message;
// "arc" is {oldest_pass (on pass), reason, result, sets}.
// Appended to `out`, with its newline.
void json_record(std::string& out, const origin& from, const std::vector<verification>& results,
                 const result<std::string>& author, const std::optional<std::string>& reply,
                 const arc_validation& arc) {
  const std::string from_domain = author.value_or(std::string());
  json_writer w(out);
  w.open('{');
  w.key("arc");
  w.open('{');
  if (arc.result == arc_result::pass) w.field("oldest_pass", arc.oldest_pass);
  w.field("reason", arc.reason);
  w.field("result", to_string(arc.result));
  w.field("sets", arc.sets);
  w.close('}');
  w.field("file", from.file);
  if (author)
    w.field("from_domain", *author);
  else
    w.field("from_error", author.error().message());
  if (from.message) w.field("message", *from.message);
  if (reply) w.field("reply", *reply);
  w.field("result", to_string(overall(results)));
  w.key("signatures");
  w.open('[');
  for (const auto& v : results) {
    w.element();
    w.open('{');
    w.field("algorithm", v.algorithm);
    if (v.status == status::pass) w.field("aligned", to_string(align(v.sdid, from_domain)));
    if (v.body_length) w.field("body_length", *v.body_length);
    if (v.dnssec != dnssec_status::unknown) w.field("dnssec", to_string(v.dnssec));
    w.field("domain", v.sdid);
    if (!v.evaluated()) {
      w.key("evaluated");
      w.boolean(false);
    }
    if (!v.auid.empty()) w.field("identity", v.auid);
    if (v.key_bits) w.field("key_bits", v.key_bits);
    w.field("reason", v.reason);
    w.field("result", to_string(v.status));
    w.field("selector", v.selector);
    if (v.testing) {
      w.key("testing");
      w.boolean(true);
    }
    w.close('}');
  }
  w.close(']');
  w.close('}');
  out += '\n';
}

// "dkim=WORD" in an Authentication-Results text, with WORD in its colour.
std::string paint_results(bool on, const std::string& text) {
  if (!on) return text;
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t at = text.find("dkim=", pos);
    if (at == std::string::npos) break;
    std::size_t w = at + 5, e = w;
    while (e < text.size() && text[e] >= 'a' && text[e] <= 'z') ++e;
    out.append(text, pos, w - pos);
    std::string word = text.substr(w, e - w);
    out += paint(true, tone_of_word(word), word);
    pos = e;
  }
  out.append(text, pos);
  return out;
}

// --summary: totals per result, per signing domain and per failure reason. Counts only: the
// order in which messages are added does not matter, and tallies of several workers add up.
struct tally {
  std::uint64_t messages = 0;
  std::map<std::string, std::uint64_t> results;  // the message's result word
  // Per d= (lower case): messages with a signature of that domain, and the best result of the
  // domain's signatures in each (as overall() ranks them).
  std::map<std::string, std::map<std::string, std::uint64_t>> domains;
  std::map<std::string, std::uint64_t> reasons;  // per signature not passing: the fixed phrase

  void add(const std::vector<verification>& results_of_message) {
    ++messages;
    ++results[std::string(to_string(overall(results_of_message)))];
    std::map<std::string, std::vector<verification>> by_domain;
    for (const auto& v : results_of_message) {
      if (v.status != status::pass) ++reasons[std::string(to_string(v.code))];
      if (v.sdid.empty()) continue;  // no d= could be read
      std::string d = v.sdid;
      for (char& ch : d)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      by_domain[d].push_back(v);
    }
    for (const auto& [d, vs] : by_domain) {
      auto& counts = domains[d];
      ++counts["messages"];
      ++counts[std::string(to_string(overall(vs)))];
    }
  }
  void merge(const tally& o) {
    messages += o.messages;
    for (const auto& [k, n] : o.results) results[k] += n;
    for (const auto& [d, counts] : o.domains)
      for (const auto& [k, n] : counts) domains[d][k] += n;
    for (const auto& [k, n] : o.reasons) reasons[k] += n;
  }
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json doms = nlohmann::json::object();
    for (const auto& [d, counts] : domains) doms[d] = counts;
    return {{"summary",
             {{"messages", messages},
              {"results", nlohmann::json(results)},
              {"domains", doms},
              {"reasons", nlohmann::json(reasons)}}}};
  }
  // The human summary: one "# summary" block of "result WORD: N", "domain D: N messages (WORD N,
  // ...)" and "reason PHRASE: N" lines.
  void print(std::ostream& out) const {
    out << "# summary: " << messages << (messages == 1 ? " message" : " messages") << "\n";
    for (const auto& [k, n] : results) out << "result " << k << ": " << n << "\n";
    for (const auto& [d, counts] : domains) {
      out << "domain " << terminal_safe(d) << ": " << counts.at("messages") << " messages (";
      bool first = true;
      for (const auto& [k, n] : counts) {
        if (k == "messages") continue;
        out << (first ? "" : ", ") << k << " " << n;
        first = false;
      }
      out << ")\n";
    }
    for (const auto& [k, n] : reasons) out << "reason " << k << ": " << n << "\n";
  }
};

// The progress line on stderr: messages done, rate, elapsed time and, when the inputs' total
// size is known, the share of it read and an estimate of the time left from that share (an
// estimate by bytes: messages of unequal sizes make it approximate). Redrawn at most 4 times a
// second with \r, erased at the end; complaints erase it before they are written.
class progress_line {
 public:
  progress_line(bool on, std::optional<std::uint64_t> total_bytes)
      : on_(on), total_(total_bytes), start_(std::chrono::steady_clock::now()) {
    if (!on_) return;
    draw();
    ticker_ = std::thread([this] {
      std::unique_lock lk(m_);
      while (!stop_.wait_for(lk, std::chrono::milliseconds(250), [&] { return stopping_; }))
        draw_locked();
    });
  }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  ~progress_line() { end(); }

  void read(std::size_t bytes) noexcept { read_.fetch_add(bytes, std::memory_order_relaxed); }
  void done(std::uint64_t messages = 1) noexcept {
    done_.fetch_add(messages, std::memory_order_relaxed);
  }
  // complain(), the progress line erased first (it comes back at the next redraw).
  void say(std::string_view message) {
    std::lock_guard lk(m_);
    erase_locked();
    complain(message);
  }
  void end() {
    if (!on_) return;
    {
      std::lock_guard lk(m_);
      if (stopping_) return;
      stopping_ = true;
    }
    stop_.notify_all();
    ticker_.join();
    std::lock_guard lk(m_);
    erase_locked();
  }

 private:
  static std::string clock(double seconds) {
    auto s = static_cast<std::uint64_t>(seconds);
    char buf[32];
    if (s >= 3600)
      std::snprintf(
          buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
          static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
    else
      std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                    static_cast<unsigned long long>(s % 60));
    return buf;
  }
  void draw() {
    std::lock_guard lk(m_);
    draw_locked();
  }
  void draw_locked() {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const std::uint64_t done = done_.load(std::memory_order_relaxed);
    const std::uint64_t read = read_.load(std::memory_order_relaxed);
    std::string line = "dkimkit: " + std::to_string(done) + (done == 1 ? " message" : " messages");
    line += ", " +
            std::to_string(
                elapsed > 0 ? static_cast<std::uint64_t>(static_cast<double>(done) / elapsed) : 0) +
            "/s, " + clock(elapsed) + " elapsed";
    if (total_ && *total_ > 0) {
      const double share = std::min(1.0, static_cast<double>(read) / static_cast<double>(*total_));
      line += ", " + std::to_string(static_cast<int>(share * 100)) + "% read";
      if (share > 0) line += ", ETA " + clock(elapsed * (1 - share) / share);
    }
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
    shown_ = true;
  }
  void erase_locked() {
    if (!shown_) return;
    std::cerr << "\r\x1b[K" << std::flush;
    shown_ = false;
  }

  const bool on_;
  const std::optional<std::uint64_t> total_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> read_{0}, done_{0};
  std::mutex m_;
  std::condition_variable stop_;
  bool stopping_ = false, shown_ = false;
  std::thread ticker_;
};

// The total size of the inputs, for the progress line: nullopt when one is standard input or
// cannot be measured. A directory is walked once more to add up its files.
std::optional<std::uint64_t> total_size(const std::vector<std::string>& files) {
  std::uint64_t total = 0;
  bool known = true;
  for (const auto& file : files) {
    std::error_code ec;
    if (file == "-") return std::nullopt;
    if (std::filesystem::is_directory(file, ec)) {
      walk_mail_files(file, [&](const mail_file& f) {
        if (f.type == mail_file::kind::error) return;
        std::error_code fec;
        auto n = std::filesystem::file_size(f.path, fec);
        if (!fec) total += n;
      });
      continue;
    }
    auto n = std::filesystem::file_size(file, ec);
    if (ec) known = false;
    total += ec ? 0 : n;
  }
  if (!known) return std::nullopt;
  return total;
}

// An input file read with read(2): "-" is standard input.
class input_file {
 public:
  explicit input_file(const std::string& path)
      : fd_(path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC)),
        own_(path != "-") {}
  // A descriptor it closes (open_mail_file()'s); -1: none.
  explicit input_file(int fd) noexcept : fd_(fd), own_(true) {}
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  ~input_file() {
    if (own_ && fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] bool opened() const noexcept { return fd_ >= 0; }
  // Up to n bytes: how many, 0 at the end, -1 on a read error; the end and an error stay.
  long read(char* buf, std::size_t n) noexcept {
    while (last_ > 0) {
      const ssize_t got = ::read(fd_, buf, n);
      if (got < 0 && errno == EINTR) continue;
      last_ = got < 0 ? -1 : static_cast<long>(got);
      break;
    }
    return last_;
  }

 private:
  const int fd_;
  const bool own_;
  long last_ = 1;
};

// One message read: its DKIM verifier and its ARC validator, fed the same bytes.
struct checks {
  verifier dkim;
  arc_validator arc;
};

// Where the messages read go: begin(), bytes(), then end(); abandon() instead of end() when
// the input ended in error and the message is not to be reported.
class message_sink {
 public:
  virtual ~message_sink() = default;
  virtual void begin(origin from) = 0;
  virtual void bytes(std::string_view b) = 0;
  virtual void end() = 0;
  virtual void abandon() = 0;
};

int run_verify(verify_args& a) {
  int status = exit_ok;
  std::unique_ptr<txt_resolver> resolver = make_resolver(a.dns, status);
  if (!resolver) return status;
  verify_options opts = to_verify_options(a.check);
  opts.resolver = resolver.get();
  key_cache keys;
  opts.keys = &keys;
  if (a.authserv_id.empty()) a.authserv_id = hostname();
  if (a.files.empty()) a.files.push_back("-");

  std::optional<local_policy> policy;
  if (!a.require.empty()) {
    policy.emplace();
    if (a.require.size() == 1 && a.require[0] == "any") {
      policy->require = requirement::any;
    } else if (a.require.size() == 1 && a.require[0] == "aligned") {
      policy->require = requirement::aligned;
    } else {
      policy->require = requirement::domains;
      policy->domains = a.require;
    }
  }
  const bool colour = !a.json && use_colour(a.colour);
  // What the messages reported so far ask for: their --require replies, and --summary's totals.
  struct verdicts {
    bool rejected = false, deferred = false;
    tally totals;
  };
  // One message's output, appended to `out`.
  auto print = [&](const origin& from, checks& c, std::string& out, verdicts& seen) {
    verifier& v = c.dkim;
    std::vector<verification> results = v.finish();
    arc_validation arc = c.arc.finish();
    // No single author domain (From unparsable, or not exactly one mailbox): nothing aligns.
    result<std::string> author = author_domain(v.from_field());
    std::optional<smtp_reply> reply;
    if (policy) reply = smtp_reply_for(results, author.value_or(std::string()), *policy);
    if (reply) (reply->code >= 500 ? seen.rejected : seen.deferred) = true;
    if (a.summary) seen.totals.add(results);
    if (a.json) {
      std::optional<std::string> reply_line;
      if (policy) reply_line = reply ? reply->line() : "250 2.0.0 accepted";
      json_record(out, from, results, author, reply_line, arc);
    } else {
      if (from.named) {
        out += "# ";
        out += terminal_safe(from.file);
        if (from.message) {
          out += " message ";
          out += std::to_string(*from.message);
        }
        out += '\n';
      }
      std::string ar =
          with_line_endings(format_auth_results(a.authserv_id, results), line_ending::lf);
      out += paint_results(colour, terminal_safe(ar, "\n\t"));
      out += '\n';
      // Only for a message with ARC fields: the output of others stays one Authentication-Results
      // field, which scripts read as such (tests/auth_results/mail_authres_interop.pl).
      if (arc.result != arc_result::none) {
        out += arc_line(colour, arc);
        out += '\n';
      }
      if (policy) {
        out += terminal_safe(reply ? reply->line() : "250 2.0.0 accepted");
        out += '\n';
      }
    }
  };
  auto internal_error = [](const origin& from, const std::exception& e) {
    return from.file + (from.message ? " message " + std::to_string(*from.message) : "") +
           ": internal error: " + e.what();
  };
  // The same for what a message's checks threw.
  auto internal_error_of = [&](const origin& from, std::exception_ptr e) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const std::exception& x) {
      return internal_error(from, x);
    } catch (...) {
      return internal_error(from, std::runtime_error("unknown exception"));
    }
  };
  const bool show_progress =
      !a.no_progress && isatty(STDERR_FILENO) != 0 && isatty(STDOUT_FILENO) == 0;
  progress_line progress(show_progress, show_progress ? total_size(a.files) : std::nullopt);
  // Each message's key lookups start when its header has been read; up to `window` messages are
  // read ahead before the oldest is finished, so that the lookups of a batch overlap. Results
  // are printed in the order of the input.
  // A zone file answers at once: nothing to overlap, and a message checked as soon as it is
  // read is still in the cache.
  const std::size_t window = a.dns.zone.empty() ? 256 : 1;

  // --jobs 1: the reading thread checks each message itself.
  struct serial_sink final : message_sink {
    serial_sink(const verify_options& o, std::size_t w, std::function<void(origin&, checks&)> r)
        : opts(o), window(w), report(std::move(r)) {}
    const verify_options& opts;
    const std::size_t window;
    std::function<void(origin&, checks&)> report;
    std::deque<std::pair<origin, checks>> pending;
    std::optional<std::pair<origin, checks>> current;
    void begin(origin from) override {
      current.emplace(std::move(from), checks{verifier(opts), arc_validator(opts)});
    }
    void bytes(std::string_view b) override {
      current->second.dkim.update(b);
      current->second.arc.update(b);
    }
    void end() override {
      pending.push_back(std::move(*current));
      current.reset();
      if (pending.size() >= window) {
        report(pending.front().first, pending.front().second);
        pending.pop_front();
      }
    }
    void abandon() override { current.reset(); }
    void close() {
      for (auto& [from, c] : pending) report(from, c);
      pending.clear();
    }
  };
  verdicts serial_seen;
  // An internal error while reporting a message outranks the inputs' errors, whatever their
  // order, with --jobs 1 as with --jobs N (where one thread reads and others report).
  std::atomic<bool> report_failed{false};
  // One message never ends the batch: an error while reporting it is said, and the rest go on.
  std::string serial_text;  // one message's output, the buffer reused
  serial_sink serial(opts, window, [&](origin& from, checks& c) {
    serial_text.clear();
    try {
      print(from, c, serial_text, serial_seen);
    } catch (const std::exception& e) {
      std::cout << serial_text;  // what was printed before, as it was
      serial_text.clear();
      progress.say(internal_error(from, e));
      report_failed = true;
    }
    std::cout << serial_text;
    progress.done();
  });

  // --jobs N > 1: N worker threads check the messages, one resolver and one key cache shared
  // (both safe to call from several threads); outputs are written in input order.
  struct output {
    std::string text;
    std::string complaint;  // an internal error while reporting the message
  };
  using pipeline = ordered_pipeline<origin, checks, output>;
  std::vector<verdicts> worker_seen(a.jobs);
  std::optional<pipeline> workers;
  pipeline::hooks h;
  // Made when a message needs it; closed (every output emitted) before an mbox goes the block
  // path, so that outputs stay in input order.
  auto open_workers = [&] {
    if (!workers) workers.emplace(a.jobs, window, h);
  };
  auto close_workers = [&] {
    if (!workers) return;
    workers->close();
    workers.reset();
  };
  struct parallel_sink final : message_sink {
    parallel_sink(std::optional<pipeline>& to, std::function<void()> o)
        : p(to), open(std::move(o)) {}
    std::optional<pipeline>& p;
    std::function<void()> open;
    void begin(origin from) override {
      open();
      p->begin(std::move(from));
    }
    void bytes(std::string_view b) override { p->bytes(b); }
    void end() override { p->end(); }
    void abandon() override {
      if (p) p->abandon();
    }
  } parallel(workers, open_workers);
  if (a.jobs > 1) {
    h.start = [&](const origin&) { return checks{verifier(opts), arc_validator(opts)}; };
    h.feed = [](checks& c, std::string_view b) {
      c.dkim.update(b);
      c.arc.update(b);
    };
    h.finish = [&](unsigned worker, const origin& from, checks& c) {
      output o;
      try {
        print(from, c, o.text, worker_seen[worker]);
      } catch (const std::exception& e) {
        o.complaint = internal_error(from, e);
      }
      return o;
    };
    h.emit = [&](output& o) {
      std::cout << o.text;
      if (!o.complaint.empty()) {
        progress.say(o.complaint);
        report_failed = true;
      }
      progress.done();
    };
    // A message whose checks threw (out of memory): said as --jobs 1 would, exit 70.
    h.fail = [&](const origin& from, std::exception_ptr e) {
      output o;
      o.complaint = internal_error_of(from, std::move(e));
      return o;
    };
  }
  message_sink& sink = a.jobs > 1 ? static_cast<message_sink&>(parallel) : serial;

  // --jobs N > 1 with keys that answer at once (--zone): an mbox is cut into blocks of whole
  // messages, each checked by one of N threads (this one among them) as it is read, with one
  // lock per block; the outputs of a block are one string, emitted in input order.
  const bool block_path = a.jobs > 1 && window == 1;
  struct block_output {
    std::string text;
    std::vector<std::string> complaints;  // internal errors, in the order of the messages
    std::uint64_t messages = 0;
  };
  using blocks = block_pipeline<checks, block_output>;
  // One mbox (its first bytes `head` already read) by the block path: false on a read error;
  // `preamble`: the bytes before its first "From " line.
  auto read_blocks = [&](const std::string& file, const mbox_cutter::source& src, std::string head,
                         std::uint64_t& preamble) {
    close_workers();
    mbox_cutter cutter(src, std::move(head));
    blocks::hooks bh;
    bh.start = [&](std::uint64_t) { return checks{verifier(opts), arc_validator(opts)}; };
    bh.feed = [](checks& c, std::string_view b) {
      c.dkim.update(b);
      c.arc.update(b);
    };
    bh.finish = [&](unsigned worker, std::uint64_t number, checks& c, block_output& o) {
      try {
        print(origin{file, number, true}, c, o.text, worker_seen[worker]);
      } catch (const std::exception& e) {
        o.complaints.push_back(internal_error(origin{file, number, true}, e));
      }
      ++o.messages;
    };
    // A message whose checks threw (out of memory): said as --jobs 1 would, exit 70.
    bh.fail = [&](std::uint64_t number, std::exception_ptr e, block_output& o) {
      ++o.messages;
      o.complaints.push_back(internal_error_of(origin{file, number, true}, std::move(e)));
    };
    bh.emit = [&](block_output& o) {
      std::cout << o.text;
      for (const auto& complaint : o.complaints) progress.say(complaint);
      if (!o.complaints.empty()) report_failed = true;
      progress.done(o.messages);
    };
    preamble = blocks::run(a.jobs, cutter, bh);
    return !cutter.failed();
  };
  // The messages of an mbox, passed on as they stream by.
  struct mbox_messages : mbox_handler {
    mbox_messages(message_sink& s, const std::string& f) : sink(s), file(f) {}
    message_sink& sink;
    const std::string& file;
    bool open = false;
    void begin_message(std::uint64_t n) override {
      sink.begin(origin{file, n, true});
      open = true;
    }
    void message_bytes(std::string_view bytes) override { sink.bytes(bytes); }
    void end_message() override {
      open = false;
      sink.end();
    }
  };
  auto preamble = [&](const std::string& file, std::uint64_t bytes) {
    if (bytes == 0) return;
    progress.say(file + ": " + std::to_string(bytes) +
                 " bytes before the first \"From \" line belong to no message");
    status = exit_data;
  };
  // One file ("-": standard input): an mbox or one message. Streamed in chunks: memory stays
  // bounded by the header blocks of the window, whatever the size of a body or of the file.
  // `walked`: a file of a directory walk, opened through its directory (open_mail_file()).
  auto read_file = [&](const std::string& file, mail_file::kind kind, bool named,
                       const mail_file* walked = nullptr) {
    const bool maildir_message = kind == mail_file::kind::message;
    bool mbox = a.format == "mbox" && !maildir_message, single = false;
    std::string not_opened;
    input_file in = walked ? input_file(open_mail_file(*walked, not_opened)) : input_file(file);
    if (!in.opened()) {
      progress.say(walked ? not_opened : file + ": " + std::strerror(errno));
      status = exit_noinput;
      return;
    }
    const std::string why = (file == "-" ? std::string("standard input") : file) + ": read error";
    const mbox_cutter::source src = [&](char* buf, std::size_t n) {
      const long got = in.read(buf, n);
      if (got > 0) progress.read(static_cast<std::size_t>(got));
      return got;
    };
    constexpr std::size_t kChunk = 64 * 1024;
    // The first chunk decides whether the file is an mbox.
    std::string head(kChunk, '\0');
    std::size_t have = 0;
    long got = 1;
    while (have < kChunk && (got = src(head.data() + have, kChunk - have)) > 0)
      have += static_cast<std::size_t>(got);
    head.resize(have);
    if (!head.empty() && a.format == "auto" && !maildir_message) mbox = starts_like_mbox(head);
    if (mbox && block_path) {
      std::uint64_t before_first = 0;
      if (!read_blocks(file, src, std::move(head), before_first)) {
        progress.say(why);
        status = exit_noinput;
        return;
      }
      preamble(file, before_first);
      return;
    }
    mbox_messages messages(sink, file);
    mbox_reader reader(messages);
    auto take = [&](std::string_view chunk) {
      if (mbox) {
        reader.update(chunk);
      } else {
        if (!single) sink.begin(origin{file, std::nullopt, named});
        single = true;
        sink.bytes(chunk);
      }
    };
    if (!head.empty()) take(head);
    head.resize(kChunk);
    while (got > 0 && (got = src(head.data(), kChunk)) > 0)
      take(std::string_view(head.data(), static_cast<std::size_t>(got)));
    if (got < 0) {  // what was read of an mbox is reported; the message cut short is not
      if (single || messages.open) sink.abandon();
      progress.say(why);
      status = exit_noinput;
      return;
    }
    if (mbox) {
      reader.finish();
      preamble(file, reader.preamble_bytes());
      return;
    }
    if (!single) sink.begin(origin{file, std::nullopt, named});  // an empty file
    sink.end();
  };
  const bool several = a.files.size() > 1;
  for (const auto& file : a.files) {
    std::error_code ec;
    if (file != "-" && std::filesystem::is_directory(file, ec)) {
      walk_mail_files(file, [&](const mail_file& f) {
        if (f.type == mail_file::kind::error) {
          progress.say(f.path + ": " + f.reason);
          status = exit_noinput;
          return;
        }
        read_file(f.path, f.type, true, &f);
      });
      continue;
    }
    read_file(file, mail_file::kind::unknown, several);
  }
  serial.close();
  verdicts seen = std::move(serial_seen);
  close_workers();
  for (const auto& w : worker_seen) {
    seen.rejected = seen.rejected || w.rejected;
    seen.deferred = seen.deferred || w.deferred;
    seen.totals.merge(w.totals);
  }
  if (report_failed) status = exit_software;
  progress.end();
  if (a.summary) {
    if (a.json)
      std::cout << json_line(seen.totals.to_json()) << "\n";
    else
      seen.totals.print(std::cout);
  }
  if (a.stats) {
    std::cerr << "dkimkit: key cache: " << keys.hits() << " hits, " << keys.misses() << " misses\n";
    if (const auto* u = dynamic_cast<const unbound_resolver*>(resolver.get())) {
      resolver_stats s = u->stats();
      std::cerr << "dkimkit: DNS: " << s.lookups << " lookups, " << s.cache_hits << " cache hits, "
                << s.joined << " joined in flight, " << s.queries << " queries, " << s.timeouts
                << " timeouts\n";
    }
  }
  if (status == exit_ok && seen.rejected) status = exit_rejected;
  if (status == exit_ok && seen.deferred) status = exit_deferred;
  return status;
}

}  // namespace

void add_verify_command(CLI::App& app, int& status) {
  auto args = std::make_shared<verify_args>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Verify the DKIM signatures of messages; print Authentication-Results or JSON");
  cmd->add_option("FILE", args->files,
                  "messages, mbox files, Maildirs or directories to verify (default: standard "
                  "input)");
  cmd->add_option("--format", args->format,
                  "auto (the default: a file or standard input whose first line begins with "
                  "\"From \" is an mbox, else one message), mbox or message; Maildir files are "
                  "always messages")
      ->check(CLI::IsMember({"auto", "mbox", "message"}));
  add_dns_options(*cmd, args->dns);
  cmd->add_flag("--stats", args->stats, "print key cache and DNS statistics on stderr");
  cmd->add_option("--jobs,-j", args->jobs,
                  "messages verified in parallel by N threads sharing one DNS resolver and one "
                  "key cache; the output stays in input order (default: the number of cores)")
      ->check(CLI::Range(1u, 1024u));
  cmd->add_flag("--summary", args->summary,
                "at the end, totals per result, per signing domain (d=) and per failure reason; "
                "with --json one last object {\"summary\": {...}}");
  cmd->add_flag("--no-progress", args->no_progress,
                "no progress line (shown on stderr when it is a terminal and the output is "
                "not)");
  cmd->add_option("--require", args->require,
                  "local policy: any (a passing signature), aligned (one aligned with From), or "
                  "the domains one of which must sign; prints the SMTP reply (RFC 7372) and exits "
                  "1 when a message is rejected (5xx), 75 when deferred (4xx); domains: --require "
                  "a.example,b.example or the option repeated")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd->add_flag(
      "--json", args->json,
      "one JSON object per message: {file, message (its number in an mbox, from 1), result, "
      "from_domain or from_error, signatures: [...], arc: {result, sets, oldest_pass, reason}}");
  add_colour_option(*cmd, args->colour);
  cmd->add_option("--authserv-id", args->authserv_id,
                  "authserv-id of the Authentication-Results field (default: host name)");
  add_verify_settings(*cmd, args->check);
  cmd->footer(
      "Result per message: the best of its signatures in the order pass, temperror, policy,\n"
      "fail, neutral, permerror; none when it has no signature. The ARC chain (RFC 8617) is\n"
      "validated too: \"arc\" in JSON; an arc= line after the Authentication-Results when the\n"
      "message has ARC fields.\n"
      "A directory is read recursively (symbolic links not followed); one with cur/ or new/\n"
      "is a Maildir (cur/ then new/, by name; tmp/ skipped). An mbox is split on lines\n"
      "beginning with \"From \"; \">From \" quoting is undone (mboxrd).\n"
      "Exit 0 whatever the results (an empty mbox too), 66 when an input cannot be read,\n"
      "65 when the zone file is unusable or an mbox has text before its first \"From \" line.");
  cmd->callback([args, &status] { status = run_verify(*args); });
}

}  // namespace dkimkit::cli
