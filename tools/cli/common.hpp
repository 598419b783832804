// Shared pieces of the dkimkit command line.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace dkimkit::cli {

// Exit statuses (sysexits.h), documented in `dkimkit --help` and the README.
enum exit_code : int {
  exit_ok = 0,
  exit_rejected = 1,   // verify --require: a message gets a 5xx reply
  exit_deferred = 75,  // verify --require: a message gets a 4xx reply (EX_TEMPFAIL)
  exit_usage = 64,     // bad command line
  exit_data = 65,      // input that cannot be used: a bad key, zone file or message
  exit_noinput = 66,   // an input file cannot be opened or read
  exit_software = 70,  // internal error
  exit_cantcreat = 73, // an output file cannot be created
  exit_ioerr = 74,     // writing failed
};

// Reads a whole file ("-" is standard input). nullopt (with `why` set) when it cannot.
std::optional<std::string> read_input(const std::string& path, std::string& why);

// Reads a file ("-" is standard input) in chunks, passing each to `sink`. false (with `why` set)
// when it cannot be opened or read.
bool read_chunks(const std::string& path, const std::function<void(std::string_view)>& sink,
                 std::string& why);

// "CRLF" when the input's first line ends in CRLF, otherwise "LF".
bool uses_crlf(std::string_view message);
// Turns CRLF into the given line ending.
std::string with_line_endings(std::string_view crlf_text, bool crlf);

void add_sign_command(CLI::App& app, int& status);
void add_verify_command(CLI::App& app, int& status);
void add_keygen_command(CLI::App& app, int& status);
void add_check_key_command(CLI::App& app, int& status);

// "dkimkit: message" on stderr.
void complain(std::string_view message);

}  // namespace dkimkit::cli
