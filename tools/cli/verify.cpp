// dkimkit verify: check the DKIM signatures of messages.
#include <unistd.h>

#include <ctime>
#include <deque>
#include <dkimkit/arc.hpp>
#include <dkimkit/auth_results.hpp>
#include <dkimkit/mailbox.hpp>
#include <dkimkit/message.hpp>
#include <dkimkit/policy.hpp>
#include <dkimkit/unbound_resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct verify_args {
  std::vector<std::string> files;
  std::string format = "auto";  // auto, mbox or message
  dns_args dns;
  colour_mode colour = colour_mode::automatic;
  bool stats = false;
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

// "arc": {result, sets, oldest_pass (on pass), reason} of one message.
nlohmann::json arc_json(const arc_validation& arc) {
  nlohmann::json j = {{"result", to_string(arc.result)}, {"sets", arc.sets}};
  if (arc.result == arc_result::pass) j["oldest_pass"] = arc.oldest_pass;
  j["reason"] = arc.reason;
  return j;
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

nlohmann::json to_json(const origin& from, const std::vector<verification>& results,
                       const result<std::string>& author) {
  const std::string from_domain = author.value_or(std::string());
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& v : results) {
    nlohmann::json s = {{"result", to_string(v.status)},
                        {"domain", v.sdid},
                        {"selector", v.selector},
                        {"algorithm", v.algorithm},
                        {"reason", v.reason}};
    if (!v.auid.empty()) s["identity"] = v.auid;
    if (v.key_bits) s["key_bits"] = v.key_bits;
    if (v.testing) s["testing"] = true;
    if (!v.evaluated()) s["evaluated"] = false;
    if (v.body_length) s["body_length"] = *v.body_length;
    if (v.dnssec != dnssec_status::unknown) s["dnssec"] = to_string(v.dnssec);
    if (v.status == status::pass) s["aligned"] = to_string(align(v.sdid, from_domain));
    sigs.push_back(std::move(s));
  }
  nlohmann::json out = {{"file", from.file}};
  if (from.message) out["message"] = *from.message;
  out["result"] = to_string(overall(results));
  out["signatures"] = sigs;
  if (author)
    out["from_domain"] = *author;
  else
    out["from_error"] = author.error().message();
  return out;
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
  bool rejected = false, deferred = false;
  const bool colour = !a.json && use_colour(a.colour);
  // One message read: its DKIM verifier and its ARC validator, fed the same bytes.
  struct checks {
    verifier dkim;
    arc_validator arc;
  };
  auto print = [&](const origin& from, checks& c) {
    verifier& v = c.dkim;
    std::vector<verification> results = v.finish();
    arc_validation arc = c.arc.finish();
    // No single author domain (From unparsable, or not exactly one mailbox): nothing aligns.
    result<std::string> author = author_domain(v.from_field());
    std::optional<smtp_reply> reply;
    if (policy) reply = smtp_reply_for(results, author.value_or(std::string()), *policy);
    if (reply) (reply->code >= 500 ? rejected : deferred) = true;
    if (a.json) {
      nlohmann::json j = to_json(from, results, author);
      if (policy) j["reply"] = reply ? reply->line() : "250 2.0.0 accepted";
      j["arc"] = arc_json(arc);
      std::cout << json_line(j) << "\n";
    } else {
      if (from.named) {
        std::cout << "# " << terminal_safe(from.file);
        if (from.message) std::cout << " message " << *from.message;
        std::cout << "\n";
      }
      std::string ar =
          with_line_endings(format_auth_results(a.authserv_id, results), line_ending::lf);
      std::cout << paint_results(colour, terminal_safe(ar, "\n\t")) << "\n";
      // Only for a message with ARC fields: the output of others stays one Authentication-Results
      // field, which scripts read as such (tests/auth_results/mail_authres_interop.pl).
      if (arc.result != arc_result::none) std::cout << arc_line(colour, arc) << "\n";
      if (policy) std::cout << terminal_safe(reply ? reply->line() : "250 2.0.0 accepted") << "\n";
    }
  };
  // One message never ends the batch: an error while reporting it is said, and the rest go on.
  auto report = [&](const origin& from, checks& c) {
    try {
      print(from, c);
    } catch (const std::exception& e) {
      complain(from.file + (from.message ? " message " + std::to_string(*from.message) : "") +
               ": internal error: " + e.what());
      status = exit_software;
    }
  };
  // Each message's key lookups start when its header has been read; up to
  // kWindow messages are read ahead before the oldest is finished, so that the
  // lookups of a batch overlap. Results are printed in the order of the input.
  constexpr std::size_t kWindow = 256;
  std::deque<std::pair<origin, checks>> pending;
  auto add = [&](origin from, checks c) {
    pending.emplace_back(std::move(from), std::move(c));
    if (pending.size() >= kWindow) {
      report(pending.front().first, pending.front().second);
      pending.pop_front();
    }
  };
  // The messages of an mbox, each checked as it streams by: one message at a time in memory.
  struct mbox_checks : mbox_handler {
    mbox_checks(const verify_options& o, std::function<void(std::uint64_t, checks)> d)
        : opts(o), done(std::move(d)) {}
    const verify_options& opts;
    std::function<void(std::uint64_t, checks)> done;  // the message numbered N has ended
    std::optional<checks> current;
    std::uint64_t number = 0;
    void begin_message(std::uint64_t n) override {
      number = n;
      current.emplace(checks{verifier(opts), arc_validator(opts)});
    }
    void message_bytes(std::string_view bytes) override {
      current->dkim.update(bytes);
      current->arc.update(bytes);
    }
    void end_message() override {
      done(number, std::move(*current));
      current.reset();
    }
  };
  // One file ("-": standard input): an mbox or one message. Streamed in chunks: memory stays
  // bounded by the header blocks of the window, whatever the size of a body or of the file.
  auto read_file = [&](const std::string& file, mail_file::kind kind, bool named) {
    const bool maildir_message = kind == mail_file::kind::message;
    bool decided = false, mbox = a.format == "mbox" && !maildir_message;
    std::optional<checks> single;
    mbox_checks messages(opts, [&](std::uint64_t n, checks c) {
      add(origin{file, n, true}, std::move(c));
    });
    mbox_reader reader(messages);
    std::string why;
    bool read = read_chunks(
        file,
        [&](std::string_view chunk) {
          if (!decided) {
            decided = true;
            if (a.format == "auto" && !maildir_message) mbox = starts_like_mbox(chunk);
          }
          if (mbox) {
            reader.update(chunk);
          } else {
            if (!single) single.emplace(checks{verifier(opts), arc_validator(opts)});
            single->dkim.update(chunk);
            single->arc.update(chunk);
          }
        },
        why);
    if (!read) {  // what was read of an mbox is reported; the message cut short is not
      complain(why);
      status = exit_noinput;
      return;
    }
    if (mbox) {
      reader.finish();
      if (reader.preamble_bytes() > 0) {
        complain(file + ": " + std::to_string(reader.preamble_bytes()) +
                 " bytes before the first \"From \" line belong to no message");
        status = exit_data;
      }
      return;
    }
    if (!single) single.emplace(checks{verifier(opts), arc_validator(opts)});  // an empty file
    add(origin{file, std::nullopt, named}, std::move(*single));
  };
  const bool several = a.files.size() > 1;
  for (const auto& file : a.files) {
    std::error_code ec;
    if (file != "-" && std::filesystem::is_directory(file, ec)) {
      walk_mail_files(file, [&](const mail_file& f) {
        if (f.type == mail_file::kind::error) {
          complain(f.path + ": " + f.reason);
          status = exit_noinput;
          return;
        }
        read_file(f.path, f.type, true);
      });
      continue;
    }
    read_file(file, mail_file::kind::unknown, several);
  }
  for (auto& [from, c] : pending) report(from, c);
  if (a.stats) {
    std::cerr << "dkimkit: key cache: " << keys.hits() << " hits, " << keys.misses() << " misses\n";
    if (const auto* u = dynamic_cast<const unbound_resolver*>(resolver.get())) {
      resolver_stats s = u->stats();
      std::cerr << "dkimkit: DNS: " << s.lookups << " lookups, " << s.cache_hits << " cache hits, "
                << s.joined << " joined in flight, " << s.queries << " queries, " << s.timeouts
                << " timeouts\n";
    }
  }
  if (status == exit_ok && rejected) status = exit_rejected;
  if (status == exit_ok && deferred) status = exit_deferred;
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
