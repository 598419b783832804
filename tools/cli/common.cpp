#include "common.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace dkimkit::cli {

std::optional<std::string> read_input(const std::string& path, std::string& why) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    if (std::cin.bad()) {
      why = "standard input: read error";
      return std::nullopt;
    }
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    why = path + ": read error";
    return std::nullopt;
  }
  return data;
}

bool read_chunks(const std::string& path, const std::function<void(std::string_view)>& sink,
                 std::string& why) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      why = path + ": " + std::strerror(errno);
      return false;
    }
    in = &file;
  }
  std::string buf(64 * 1024, '\0');
  while (*in) {
    in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<std::size_t>(in->gcount());
    if (n > 0) sink(std::string_view(buf.data(), n));
  }
  if (in->bad()) {
    why = (path == "-" ? std::string("standard input") : path) + ": read error";
    return false;
  }
  return true;
}

bool uses_crlf(std::string_view message) {
  std::size_t lf = message.find('\n');
  return lf != std::string_view::npos && lf > 0 && message[lf - 1] == '\r';
}

std::string with_line_endings(std::string_view crlf_text, bool crlf) {
  if (crlf) return std::string(crlf_text);
  std::string out;
  out.reserve(crlf_text.size());
  for (std::size_t i = 0; i < crlf_text.size(); ++i) {
    if (crlf_text[i] == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') continue;
    out += crlf_text[i];
  }
  return out;
}

void complain(std::string_view message) { std::cerr << "dkimkit: " << message << "\n"; }

}  // namespace dkimkit::cli
