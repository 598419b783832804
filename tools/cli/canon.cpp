// dkimkit canon: the exact bytes one DKIM-Signature of a message hashes (RFC 6376 §3.7), the
// header hash input and the canonical body up to l=, for debugging other implementations. The
// library computes them (dkimkit/canon.hpp); this file only renders.
#include <unistd.h>

#include <dkimkit/canon.hpp>
#include <iostream>
#include <memory>

#include "common.hpp"

namespace dkimkit::cli {
namespace {

struct canon_args {
  std::string file = "-";
  std::size_t number = 1;     // 1-based, topmost first
  std::string part = "both";  // header, body or both
  bool visible = false;
};

// --visible: CR as \r, LF as \n and a line break, TAB as \t, a backslash as \\, and other control
// bytes, C1 and bidirectional controls and invalid UTF-8 as \xNN (terminal_safe()).
std::string visible(std::string_view bytes) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string_view escape;
    switch (bytes[i]) {
      case '\r':
        escape = "\\r";
        break;
      case '\n':
        escape = "\\n\n";
        break;
      case '\t':
        escape = "\\t";
        break;
      case '\\':
        escape = "\\\\";
        break;
      default:
        continue;
    }
    out += terminal_safe(bytes.substr(start, i - start));
    out += escape;
    start = i + 1;
  }
  out += terminal_safe(bytes.substr(start));
  return out;
}

// Raw bytes on a terminal: line breaks and tabs stay, every other control byte becomes \xNN so
// that the message cannot move the cursor. Piped output is never changed.
std::string terminal_view(std::string_view bytes) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const bool line_end = bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n';
    if (bytes[i] != '\n' && bytes[i] != '\t' && !line_end) continue;
    out += terminal_safe(bytes.substr(start, i - start));
    out += bytes[i];
    start = i + 1;
  }
  out += terminal_safe(bytes.substr(start));
  return out;
}

std::string_view word(canonicalization c) { return to_string(c); }

int run_canon(const canon_args& a) {
  std::string why;
  auto raw = read_input(a.file, why);
  if (!raw) {
    complain(why);
    return exit_noinput;
  }
  auto in = hashed_data(*raw, a.number - 1);
  if (!in) {
    complain((a.file == "-" ? std::string("standard input") : a.file) + ": " +
             in.error().message());
    return exit_data;
  }
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  auto render = [&](std::string_view bytes) {
    return a.visible ? visible(bytes) : terminal ? terminal_view(bytes) : std::string(bytes);
  };
  if (a.part == "header") {
    std::cout << render(in->header);
    return exit_ok;
  }
  if (a.part == "body") {
    std::cout << render(in->body);
    return exit_ok;
  }
  // Labelled sections. A line break is added before a label when the bytes before it do not
  // end in one; --part gives the bytes alone.
  auto section = [&](std::string_view bytes) {
    std::string text = render(bytes);
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << '\n';
  };
  std::cout << "=== header hash input: DKIM-Signature " << a.number << " of " << in->signature_count
            << ", c=" << word(in->header_canon) << ", " << to_string(in->hash) << ", "
            << in->header.size() << " bytes\n";
  section(in->header);
  std::cout << "=== body hash input: c=" << word(in->body_canon) << ", " << to_string(in->hash)
            << ", ";
  if (in->body_length)
    std::cout << "l=" << *in->body_length << ", " << in->body.size() << " of "
              << in->body_length_total << " bytes"
              << (*in->body_length > in->body_length_total ? " (l= exceeds the body)" : "") << "\n";
  else
    std::cout << in->body.size() << " bytes\n";
  section(in->body);
  std::cout << "=== end\n";
  return exit_ok;
}

}  // namespace

void add_canon_command(CLI::App& app, int& status) {
  auto args = std::make_shared<canon_args>();
  CLI::App* cmd = app.add_subcommand(
      "canon",
      "Print the exact bytes one DKIM-Signature hashes: the header hash input and the canonical "
      "body up to l= (RFC 6376 §3.7)");
  cmd->add_option("FILE", args->file, "the message (default: standard input)");
  cmd->add_option("-n,--signature", args->number,
                  "which DKIM-Signature, counted from the top (default: 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--part", args->part,
                  "header: only the header hash input; body: only the canonical body up to l=; "
                  "both (default): both, each after a === label line")
      ->check(CLI::IsMember({"header", "body", "both"}));
  cmd->add_flag("--visible", args->visible,
                "show CR as \\r, LF as \\n and a line break, TAB as \\t, a backslash as \\\\ and "
                "other control bytes as \\xNN");
  cmd->footer(
      "--part header and --part body write exactly the hashed bytes (pipe them to sha256sum).\n"
      "Exit status: 0 printed; 64 usage; 65 the message or the signature cannot be used (no "
      "such\nsignature, a header block or a DKIM-Signature that does not parse); 66 the file "
      "cannot be read.");
  cmd->callback([args, &status] { status = run_canon(*args); });
}

}  // namespace dkimkit::cli
