#include "opendkim_default.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

#include "origin.hpp"

namespace dkimkit::milter {
namespace {

constexpr std::size_t kMaxBytes = 64 * 1024;  // Debian's file is under 1 KiB
constexpr std::size_t kMaxValue = 4096;

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A variable's value, or why it has none (it used a variable the file does not assign).
struct variable {
  std::string value;
  std::string unknown;  // the first unassigned variable it used; empty: the value is known
  unsigned line = 0;
};

class parser {
 public:
  parser(std::string_view line, const std::map<std::string, variable>& vars)
      : s_(line), vars_(vars) {}

  // The value of the word at the start of the text, up to an unquoted blank; then only blanks
  // and a "#" comment may follow.
  result<variable> word() {
    variable out;
    while (i_ < s_.size() && s_[i_] != ' ' && s_[i_] != '\t') {
      char c = s_[i_];
      if (c == '\'') {
        std::size_t end = s_.find('\'', i_ + 1);
        if (end == std::string_view::npos) return bad("an unterminated '");
        out.value.append(s_.substr(i_ + 1, end - i_ - 1));
        i_ = end + 1;
      } else if (c == '"') {
        ++i_;
        for (;;) {
          if (i_ >= s_.size()) return bad("an unterminated \"");
          char d = s_[i_];
          if (d == '"') {
            ++i_;
            break;
          }
          if (d == '\\' && i_ + 1 < s_.size() &&
              std::string_view("$`\"\\").find(s_[i_ + 1]) != std::string_view::npos) {
            out.value += s_[i_ + 1];
            i_ += 2;
          } else if (d == '$') {
            if (auto ok = expand(out); !ok) return tl::unexpected(ok.error());
          } else if (d == '`') {
            return bad("command substitution (`...`) is not read");
          } else {
            out.value += d;
            ++i_;
          }
        }
      } else if (c == '\\') {
        if (i_ + 1 >= s_.size()) return bad("a line continued with \\ is not read");
        out.value += s_[i_ + 1];
        i_ += 2;
      } else if (c == '$') {
        if (auto ok = expand(out); !ok) return tl::unexpected(ok.error());
      } else if (std::string_view("`;&|<>(){}*?[]~").find(c) != std::string_view::npos) {
        return bad(std::string("'") + c + "' is shell syntax that is not read (quote the value)");
      } else {
        out.value += c;
        ++i_;
      }
      if (out.value.size() > kMaxValue) return bad("a value longer than 4096 bytes");
    }
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    if (i_ < s_.size() && s_[i_] != '#')
      return bad("only NAME=VALUE is read: '" + std::string(s_.substr(i_)) +
                 "' after the value would be run as a command");
    return out;
  }

 private:
  result<void> expand(variable& out) {
    ++i_;  // the '$'
    std::string name;
    if (i_ < s_.size() && s_[i_] == '{') {
      std::size_t end = s_.find('}', i_);
      if (end == std::string_view::npos) return bad("an unterminated ${");
      name = std::string(s_.substr(i_ + 1, end - i_ - 1));
      if (name.empty() || !name_start(name[0]) ||
          std::find_if_not(name.begin(), name.end(), name_char) != name.end())
        return bad("${" + name + "}: only ${NAME} is read");
      i_ = end + 1;
    } else if (i_ < s_.size() && name_start(s_[i_])) {
      while (i_ < s_.size() && name_char(s_[i_])) name += s_[i_++];
    } else if (i_ < s_.size() && s_[i_] == '(') {
      return bad("command substitution ($(...)) is not read");
    } else {
      return bad("a '$' that is not $NAME or ${NAME}");
    }
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      if (out.unknown.empty()) out.unknown = name;
    } else {
      if (out.unknown.empty()) out.unknown = it->second.unknown;
      out.value += it->second.value;
    }
    return {};
  }
  static tl::unexpected<error> bad(const std::string& what) {
    return tl::unexpected(error{errc::invalid_argument, what});
  }

  std::string_view s_;
  std::size_t i_ = 0;
  const std::map<std::string, variable>& vars_;
};

}  // namespace

result<std::optional<shell_value>> opendkim_default_socket(const std::string& path) {
  auto text = opendkim::read_bounded_file(path, kMaxBytes);
  if (!text) return tl::unexpected(text.error());
  // Debian's init script and opendkim.service.generate set NAME before reading the file.
  std::map<std::string, variable> vars{{"NAME", {"opendkim", "", 0}}};
  std::string_view rest = *text;
  for (unsigned line_no = 1; !rest.empty(); ++line_no) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const std::string here = path + ":" + std::to_string(line_no) + ": ";
    if (line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos)
      return fail(errc::invalid_argument, here + "a NUL or CR byte");
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t eq = 0;
    while (eq < line.size() && name_char(line[eq])) ++eq;
    if (eq == 0 || eq == line.size() || line[eq] != '=' || !name_start(line[0]))
      return fail(errc::invalid_argument,
                  here + "only NAME=VALUE assignments are read, not '" + std::string(line) + "'");
    std::string name(line.substr(0, eq));
    parser p(line.substr(eq + 1), vars);
    auto v = p.word();
    if (!v) return fail(errc::invalid_argument, here + name + ": " + v.error().detail);
    v->line = line_no;
    vars[name] = std::move(*v);
  }
  auto it = vars.find("SOCKET");
  if (it == vars.end() || (it->second.value.empty() && it->second.unknown.empty()))
    return std::optional<shell_value>{};
  if (!it->second.unknown.empty())
    return fail(errc::invalid_argument, path + ":" + std::to_string(it->second.line) +
                                            ": SOCKET uses $" + it->second.unknown +
                                            ", which the file does not set");
  return std::optional<shell_value>{shell_value{it->second.value, it->second.line}};
}

}  // namespace dkimkit::milter
