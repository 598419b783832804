// Shared pieces of the dkimkit command line.
#pragma once

#include <CLI/CLI.hpp>
#include <dkimkit/resolver.hpp>
#include <dkimkit/signer.hpp>
#include <dkimkit/verifier.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkimkit::cli {

// Exit statuses (sysexits.h), documented in `dkimkit --help` and the README.
enum exit_code : int {
  exit_ok = 0,
  exit_rejected = 1,    // verify --require: a message gets a 5xx reply
  exit_deferred = 75,   // verify --require: a 4xx reply; arc-seal: try again later (EX_TEMPFAIL)
  exit_usage = 64,      // bad command line
  exit_data = 65,       // input that cannot be used: a bad key, zone file or message
  exit_noinput = 66,    // an input file cannot be opened or read
  exit_software = 70,   // internal error
  exit_cantcreat = 73,  // an output file cannot be created
  exit_ioerr = 74,      // writing failed
  exit_noperm = 77,     // replay-stats: the store refused our password (EX_NOPERM)
};

// Reads a whole file ("-" is standard input). nullopt (with `why` set) when it
// cannot.
std::optional<std::string> read_input(const std::string& path, std::string& why);

// "CRLF" when the input's first line ends in CRLF, otherwise "LF".
bool uses_crlf(std::string_view message);

// Where keys come from: --zone (a zone file, offline) or DNS through libunbound
// (--resolver,
// --dns-timeout, --trust-anchor). Shared by verify, explain and check-key.
struct dns_args {
  std::string zone;
  std::vector<std::string> resolvers;
  std::string trust_anchor;
  unsigned dns_timeout_ms = 5000;
};
void add_dns_options(CLI::App& cmd, dns_args& a);
// The resolver the options ask for; nullptr (with `status` set to an exit code,
// and the reason printed) when it cannot be made.
std::unique_ptr<txt_resolver> make_resolver(const dns_args& a, int& status);

// The verifier's settings shared by verify and explain: local policy (RFC 8301), limits and the
// clock.
struct verify_settings {
  verify_options opts;  // the flags write into it; the library's defaults otherwise
  std::optional<std::uint64_t> now;
};
// One flag per entry of dkimkit::verify_limits() (local policy, then --now, then the "Limits"
// group), and --now.
void add_verify_settings(CLI::App& cmd, verify_settings& a);
// verify_options from the flags: the resolver and key cache are left for the caller.
verify_options to_verify_options(const verify_settings& a);

// Colour in human output: --color auto (the default: only when standard output
// is a terminal and NO_COLOR is not set), always or never. JSON output never
// has colour.
enum class colour_mode { automatic, always, never };
void add_colour_option(CLI::App& cmd, colour_mode& mode);
bool use_colour(colour_mode mode);
enum class tone { good, warn, bad, dim };
// `text` wrapped in the tone's ANSI colour when `on`, unchanged otherwise.
std::string paint(bool on, tone t, std::string_view text);
tone tone_of(status s);
// The tone of a result word ("pass", "fail", ...); unknown words are dim.
tone tone_of_word(std::string_view word);

// Text that came from input (messages, DNS records, file names, reasons quoting them) made safe
// to print on a terminal: every byte of a C0 control character, DEL, a C1 control (U+0080 to
// U+009F), a Unicode bidirectional or line/paragraph separator control, or of something that is
// not UTF-8 is written as \xNN (ESC is "\x1b"); printable ASCII and other UTF-8 stay as they
// are. `keep` lists control characters that pass, e.g. "\n\t" in a multi-line text the CLI made.
// Apply it before paint(): the CLI's own colour codes are added after.
std::string terminal_safe(std::string_view text, std::string_view keep = {});

// One JSON document on one line, whatever the strings inside hold: pure ASCII (\uXXXX escapes),
// and a byte that is not UTF-8 becomes U+FFFD instead of an exception that would end a batch.
std::string json_line(const nlohmann::json& j);

// The private key of -k PATH (sign, arc-seal), with the warnings: readable by other users, RSA
// under 2048 bits. nullopt (with `status` set to 66 when it cannot be read, 65 when it is no
// usable key, and the reason printed) when it cannot be loaded.
std::optional<private_key> load_signing_key(const std::string& path, int& status);
// The names of --headers "from:to:subject", in order.
std::vector<std::string> split_header_names(const std::string& list);

void add_sign_command(CLI::App& app, int& status);
void add_arc_seal_command(CLI::App& app, int& status);
void add_verify_command(CLI::App& app, int& status);
void add_keygen_command(CLI::App& app, int& status);
void add_check_key_command(CLI::App& app, int& status);
void add_explain_command(CLI::App& app, int& status);
void add_canon_command(CLI::App& app, int& status);
void add_replay_stats_command(CLI::App& app, int& status);

// "dkimkit: message" on stderr, the message made terminal_safe().
void complain(std::string_view message);

}  // namespace dkimkit::cli
