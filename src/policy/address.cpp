// From field values as RFC 5322 §3.4 address lists (with RFC 6532 UTF-8 and RFC 6854 groups in
// From), and the author domain(s) taken from them. One pass, left to right, no recursion:
// comments nest through a depth counter.
#include <dkimkit/policy.hpp>
#include <unordered_set>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

constexpr std::size_t kMaxValueBytes = 16384;

// RFC 5322 §3.2.3 atext, ASCII part (UTF-8 is checked apart).
bool is_atext(char c) noexcept {
  return detail::is_alpha(c) || detail::is_digit(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}
bool is_8bit(char c) noexcept { return static_cast<unsigned char>(c) >= 0x80; }
// ctext (§3.2.2), qtext (§3.2.4) and dtext (§3.4.1): printable ASCII but for a few specials.
bool is_ctext(char c) noexcept { return c >= 33 && c <= 126 && c != '(' && c != ')' && c != '\\'; }
bool is_qtext(char c) noexcept { return c >= 33 && c <= 126 && c != '"' && c != '\\'; }
bool is_dtext(char c) noexcept { return c >= 33 && c <= 126 && c != '[' && c != ']' && c != '\\'; }

// A phrase or local-part, word by word: what follows it ('<', ':' or '@') says which it was.
struct word {
  enum kind { atom, quoted, dot } what;
  std::string text;   // quoted strings unquoted; "." for a dot
  bool space_before;  // white space or a comment separated it from the previous word
};

class address_parser {
 public:
  explicit address_parser(std::string_view s) : s_(s) {}

  // address-list / obs-addr-list: addresses separated by commas, null members allowed.
  result<std::vector<mailbox>> address_list() {
    std::vector<mailbox> out;
    std::size_t addresses = 0;
    while (true) {
      if (!skip_cfws()) return failure();
      if (at_end()) break;
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (!address(out, true)) return failure();
      ++addresses;
      if (!skip_cfws()) return failure();
      if (at_end()) break;
      if (peek() != ',') return failure(unexpected("',' between addresses"));
      ++pos_;
    }
    if (addresses == 0) return failure(s_.empty() ? "the value is empty" : "no address");
    return out;
  }

 private:
  bool at_end() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : s_[pos_]; }

  bool problem(std::string what) {
    if (why_.empty()) why_ = std::move(what) + " at offset " + std::to_string(pos_);
    return false;
  }
  tl::unexpected<error> failure(std::string what = {}) {
    if (!what.empty()) problem(std::move(what));
    return fail(errc::invalid_argument, "From: " + why_);
  }
  // "expected X": names the byte found instead, without quoting it.
  std::string unexpected(std::string_view expected) const {
    std::string found;
    char c = peek();
    if (at_end())
      found = "the end of the value";
    else if (c == '\r' || c == '\n')
      found = "a line break not followed by white space";
    else if (is_8bit(c))
      found = "an 8-bit byte";
    else if (c < 0x20 || c == 0x7f)
      found = "a control character";
    else
      found = std::string("'") + c + "'";
    return "expected " + std::string(expected) + ", found " + found;
  }

  // A line ending (CRLF or LF) followed by white space: folding, skipped.
  bool fold() noexcept {
    std::size_t n = s_.compare(pos_, 2, "\r\n") == 0 ? 2 : peek() == '\n' ? 1 : 0;
    if (n == 0 || pos_ + n >= s_.size() || !detail::is_wsp(s_[pos_ + n])) return false;
    pos_ += n;
    return true;
  }

  // One RFC 3629 UTF-8 sequence of a non-ASCII character (RFC 6532 UTF8-non-ascii), appended.
  bool utf8(std::string* out) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s_[i]); };
    const unsigned b = byte(pos_);
    const std::size_t n = b < 0xc2 ? 0 : b <= 0xdf ? 2 : b <= 0xef ? 3 : b <= 0xf4 ? 4 : 0;
    if (n == 0 || pos_ + n > s_.size()) return problem("invalid UTF-8");
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const unsigned lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
    const unsigned hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
    for (std::size_t i = 1; i < n; ++i) {
      const unsigned c = byte(pos_ + i);
      if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf)) return problem("invalid UTF-8");
    }
    if (out) out->append(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  // quoted-pair: '\' then a visible character, a WSP or a UTF-8 character (appended, no '\').
  bool quoted_pair(std::string* out) {
    ++pos_;
    char c = peek();
    if (is_8bit(c)) return utf8(out);
    if (at_end() || !((c >= 33 && c <= 126) || detail::is_wsp(c)))
      return problem(unexpected("a character after '\\'"));
    if (out) out->push_back(c);
    ++pos_;
    return true;
  }

  // comment: '(' ... ')' with nested comments and quoted-pairs.
  bool comment() {
    std::size_t depth = 0;
    do {
      if (at_end()) return problem("unterminated comment");
      char c = peek();
      if (c == '(') {
        ++depth, ++pos_;
      } else if (c == ')') {
        --depth, ++pos_;
      } else if (c == '\\') {
        if (!quoted_pair(nullptr)) return false;
      } else if (is_8bit(c)) {
        if (!utf8(nullptr)) return false;
      } else if (is_ctext(c) || detail::is_wsp(c)) {
        ++pos_;
      } else if (!fold()) {
        return problem(unexpected("comment text"));
      }
    } while (depth > 0);
    return true;
  }

  // CFWS: white space, folding and comments, any number; `seen` tells whether there was any.
  bool skip_cfws(bool* seen = nullptr) {
    std::size_t start = pos_;
    while (!at_end()) {
      if (detail::is_wsp(peek()) || peek() == '\r' || peek() == '\n') {
        if (detail::is_wsp(peek()))
          ++pos_;
        else if (!fold())
          break;  // a bare line break: the caller reports it
      } else if (peek() == '(') {
        if (!comment()) return false;
      } else {
        break;
      }
    }
    if (seen) *seen = pos_ != start;
    return true;
  }

  // quoted-string, from its opening '"': the content, unquoted and unfolded.
  bool quoted_string(std::string& out) {
    ++pos_;
    while (true) {
      if (at_end()) return problem("unterminated quoted string");
      char c = peek();
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!quoted_pair(&out)) return false;
      } else if (is_8bit(c)) {
        if (!utf8(&out)) return false;
      } else if (is_qtext(c) || detail::is_wsp(c)) {
        out.push_back(c);
        ++pos_;
      } else if (!fold()) {
        return problem(unexpected("quoted-string text"));
      }
    }
  }

  bool atom_start() const noexcept { return is_atext(peek()) || is_8bit(peek()); }

  // 1*atext, appended.
  bool atom(std::string& out) {
    while (atom_start())
      if (is_8bit(peek())) {
        if (!utf8(&out)) return false;
      } else {
        out.push_back(s_[pos_++]);
      }
    return true;
  }

  // Words, dots and CFWS up to the first other character: a phrase (obs-phrase) or a local-part
  // (obs-local-part); CFWS after the last word is consumed too.
  bool words(std::vector<word>& out) {
    while (true) {
      bool space = false;
      if (!skip_cfws(&space)) return false;
      word w{word::atom, {}, space && !out.empty()};
      if (atom_start()) {
        if (!atom(w.text)) return false;
      } else if (peek() == '"') {
        w.what = word::quoted;
        if (!quoted_string(w.text)) return false;
      } else if (peek() == '.') {
        w.what = word::dot;
        w.text = ".";
        ++pos_;
      } else {
        return true;
      }
      out.push_back(std::move(w));
    }
  }

  bool display_name(const std::vector<word>& ws, std::string& out) {
    if (ws.empty()) return problem("a display name is required before ':'");
    if (ws.front().what == word::dot) return problem("a display name cannot start with '.'");
    for (const auto& w : ws) out.append(w.space_before ? " " : "").append(w.text);
    return true;
  }

  // local-part: words joined by dots. Lenient on the dots (leading, trailing, doubled: some
  // carriers hand out such addresses), never on two words with nothing but CFWS between them.
  bool local_part(const std::vector<word>& ws, std::string& out) {
    bool after_word = false, any_word = false;
    for (const auto& w : ws) {
      if (w.what != word::dot && after_word) return problem("white space inside the local-part");
      after_word = w.what != word::dot;
      any_word = any_word || after_word;
      out += w.text;
    }
    if (!any_word) return problem("the local-part is missing");
    return true;
  }

  // domain (dot-atom, obs-domain or domain-literal) after '@', with the CFWS around it.
  bool domain(std::string& out) {
    if (!skip_cfws()) return false;
    if (peek() == '[') {  // domain-literal: dtext with FWS between, dropped
      out = "[";
      for (++pos_; peek() != ']';) {
        char c = peek();
        if (is_8bit(c)) {
          if (!utf8(&out)) return false;
        } else if (is_dtext(c) || detail::is_wsp(c)) {
          if (!detail::is_wsp(c)) out.push_back(c);
          ++pos_;
        } else if (!fold()) {
          return problem(unexpected("domain-literal text or ']'"));
        }
      }
      ++pos_;
      out += ']';
    } else {
      while (true) {
        if (!atom_start()) return problem(unexpected("a domain"));
        if (!atom(out) || !skip_cfws()) return false;
        if (peek() != '.') break;
        ++pos_;
        out += '.';
        if (!skip_cfws()) return false;
        if (!atom_start()) {  // one trailing dot: a fully-qualified name, allowed and removed
          out.pop_back();
          break;
        }
      }
    }
    out = detail::lowercase(out);
    return skip_cfws();
  }

  // addr-spec after its local-part words, from the '@'.
  bool addr_spec(const std::vector<word>& ws, mailbox& m) {
    if (!local_part(ws, m.local_part)) return false;
    if (peek() != '@') return problem(unexpected("'@'"));
    ++pos_;
    return domain(m.domain);
  }

  // angle-addr, from its '<'.
  bool angle_addr(mailbox& m) {
    ++pos_;
    if (!skip_cfws()) return false;
    if (peek() == '@' || peek() == ',')
      return problem("source routes (obs-route) are not supported");
    if (peek() == '>') return problem("empty angle-addr");
    std::vector<word> ws;
    if (!words(ws) || !addr_spec(ws, m)) return false;
    if (peek() != '>') return problem(unexpected("'>'"));
    ++pos_;
    return true;
  }

  // One address (mailbox or, when `group_allowed`, group); its mailboxes are appended.
  bool address(std::vector<mailbox>& out, bool group_allowed) {
    mailbox m;
    std::vector<word> ws;
    if (!words(ws)) return false;
    switch (peek()) {
      case '<':
        if (!ws.empty() && !display_name(ws, m.display_name)) return false;
        if (!angle_addr(m)) return false;
        break;
      case '@':
        if (!addr_spec(ws, m)) return false;
        break;
      case ':':
        if (!group_allowed) return problem("a group inside a group");
        if (!display_name(ws, m.display_name)) return false;
        ++pos_;
        return group_list(out);
      default:
        return problem(unexpected(ws.empty() ? "an address" : "'<', '@' or ':' after a phrase"));
    }
    out.push_back(std::move(m));
    return true;
  }

  // group-list / obs-group-list after the ':', up to and including the ';'.
  bool group_list(std::vector<mailbox>& out) {
    while (true) {
      if (!skip_cfws()) return false;
      if (peek() == ';') break;
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (!address(out, false) || !skip_cfws()) return false;
      if (peek() == ';') break;
      if (peek() != ',') return problem(unexpected("',' or ';' in a group"));
      ++pos_;
    }
    ++pos_;
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string why_;  // the first error met
};

// The domain of the single mailbox of one From value.
result<std::string> single_author(std::string_view from_value) {
  auto boxes = parse_mailbox_list(from_value);
  if (!boxes) return tl::unexpected(boxes.error());
  if (boxes->size() != 1)
    return fail(errc::invalid_argument,
                "From: " + std::to_string(boxes->size()) +
                    " mailboxes, not one: no single author domain (RFC 7489 §6.6.1)");
  std::string& d = boxes->front().domain;
  if (!detail::is_dns_name(d, 1))
    return fail(errc::invalid_argument, "From: the domain " + d + " is not a DNS name");
  return std::move(d);
}

}  // namespace

result<std::vector<mailbox>> parse_mailbox_list(std::string_view field_value) {
  if (field_value.size() > kMaxValueBytes)
    return fail(errc::invalid_argument,
                "From: the value is longer than " + std::to_string(kMaxValueBytes) + " bytes");
  if (field_value.ends_with('\n')) field_value.remove_suffix(1);
  if (field_value.ends_with('\r')) field_value.remove_suffix(1);
  return address_parser(field_value).address_list();
}

result<std::string> author_domain(std::span<const std::string_view> from_values) {
  if (from_values.empty()) return fail(errc::no_from);
  if (from_values.size() > 1)
    return fail(errc::multiple_from, std::to_string(from_values.size()) + " From fields");
  return single_author(from_values.front());
}

result<std::string> author_domain(std::string_view from_value) {
  if (from_value.empty())
    return fail(errc::invalid_argument, "no From field, several, or an empty one");
  return single_author(from_value);
}

result<std::vector<std::string>> author_domains(std::span<const std::string_view> from_values) {
  if (from_values.empty()) return fail(errc::no_from);
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::string_view value : from_values) {
    auto boxes = parse_mailbox_list(value);
    if (!boxes) return tl::unexpected(boxes.error());
    for (auto& m : *boxes) {
      if (!detail::is_dns_name(m.domain, 1))
        return fail(errc::invalid_argument, "From: the domain " + m.domain + " is not a DNS name");
      if (seen.insert(m.domain).second) out.push_back(std::move(m.domain));
    }
  }
  if (out.empty()) return fail(errc::invalid_argument, "From: no mailbox");
  return out;
}

}  // namespace dkimkit
