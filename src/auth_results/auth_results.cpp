#include <dkimkit/auth_results.hpp>
#include <dkimkit/replay.hpp>

#include "util/strings.hpp"

namespace dkimkit {
namespace {

// RFC 2045 tspecials: a token has none of them, nor SP or a control character.
constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";

// RFC 2045 token: printable ASCII but SP and the tspecials, at least one character.
bool is_token(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v)
    if (c <= 0x20 || c > 0x7e || kTspecials.find(c) != std::string_view::npos) return false;
  return true;
}

// RFC 5322 §3.2.3 dot-atom-text: runs of atext separated by single dots.
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (s[i - 1] == '.') return false;
    } else if (!detail::is_alpha(c) && !detail::is_digit(c) &&
               std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void add_quoted(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// RFC 8601 §2.2 pvalue: a token or an address [local-part] "@" domain-name whose local-part is a
// dot-atom as it is; anything else as a quoted-string (which parsers without address support, such
// as Mail::AuthenticationResults, read too: a quoted local-part before "@" stops them).
bool bare_pvalue(std::string_view value) {
  const std::size_t at = value.rfind('@');
  return is_token(value) || (at != std::string_view::npos &&
                             (at == 0 || is_dot_atom(value.substr(0, at))) &&
                             detail::is_dns_name(value.substr(at + 1), 1));
}

// " name=value": a token as it is, a pvalue (when `pvalue`) as bare_pvalue() allows, else a
// quoted-string; nothing when the value is empty or not safe in a header at all (control
// characters, 8-bit).
void add_property(std::string& out, std::string_view name, std::string_view value,
                  bool pvalue = true) {
  if (value.empty() || !detail::is_printable_ascii(value)) return;
  out += ' ';
  out += name;
  out += '=';
  if (pvalue ? bare_pvalue(value) : is_token(value))
    out += value;
  else
    add_quoted(out, value);
}

std::string comment(std::string_view text) {
  std::string out = "(";
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) continue;
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  out += ')';
  return out;
}

}  // namespace

std::optional<std::string> format_auth_result(const auth_result& r) {
  if (!is_token(r.method) || !is_token(r.result)) return std::nullopt;
  std::string out = r.method;
  out += '=';
  out += r.result;
  if (!r.comment.empty()) out += ' ' + comment(r.comment);
  add_property(out, "reason", r.reason, /*pvalue=*/false);  // RFC 8601 §2.2: a value
  for (const auto& [name, value] : r.properties)
    if (is_token(name)) add_property(out, name, value);
  return out;
}

std::string format_auth_results(std::string_view authserv_id,
                                const std::vector<verification>& results) {
  std::string out = "Authentication-Results: ";
  out += authserv_id;
  out += ';';
  if (results.empty()) {
    out += " dkim=none";
    return out;
  }
  auto add_entry = [&out, first = true](const auth_result& r) mutable {
    if (!first) out += ';';
    first = false;
    out += "\r\n\t";
    out += *format_auth_result(r);  // "dkim" and a status: tokens
  };
  // Signatures beyond max_signatures get one summary entry, not one each: a message with
  // thousands of them must not grow our field without bound.
  std::size_t not_evaluated = 0;
  const verification* first_not_evaluated = nullptr;
  for (const verification& v : results) {
    if (!v.evaluated()) {
      if (not_evaluated++ == 0) first_not_evaluated = &v;
      continue;
    }
    auth_result r;
    r.method = "dkim";
    r.result = to_string(v.status);
    std::string& what = r.comment;
    if (v.status == status::pass) {
      if (v.key_bits) {
        what = std::to_string(v.key_bits) + "-bit " +
               std::string(v.key_type ? to_string(*v.key_type) : "") + " key";
      }
      if (v.testing) what += what.empty() ? "testing key" : ", testing";
    } else {
      what = v.reason;
    }
    if (v.dnssec != dnssec_status::unknown)
      what += (what.empty() ? "DNSSEC " : "; DNSSEC ") + std::string(to_string(v.dnssec));
    // Replay detection (dkimkit/replay.hpp): a suspected signature says so, with its counts (a
    // policy result already has them as its reason), and as a property for programs.
    const bool replay_suspected = v.replay && v.replay->suspected;
    if (replay_suspected && v.code != errc::replay_suspected)
      what += (what.empty() ? "" : "; ") + replay_summary(*v.replay);
    r.properties = {{"header.d", v.sdid},
                    {"header.i", v.auid},
                    {"header.s", v.selector},
                    {"header.a", v.algorithm},
                    {"header.b", v.b_prefix}};
    if (replay_suspected) r.properties.emplace_back("policy.dkim-replay", "suspected");
    add_entry(r);
  }
  if (first_not_evaluated) {
    auth_result r;
    r.method = "dkim";
    r.result = to_string(first_not_evaluated->status);
    r.comment = std::to_string(not_evaluated) +
                (not_evaluated == 1 ? " signature" : " signatures") +
                " not evaluated: " + first_not_evaluated->reason;
    add_entry(r);
  }
  return out;
}

}  // namespace dkimkit

namespace dkimkit {
namespace {

// A cursor over an Authentication-Results value with RFC 5322 CFWS and RFC 2045 tokens.
class ar_lexer {
 public:
  explicit ar_lexer(std::string_view s) : s_(s) {}

  // Skips white space and comments; the text of the first comment met is kept in `last_comment`.
  bool skip_cfws() {
    for (;;) {
      while (i_ < s_.size() && (detail::is_fws(s_[i_]))) ++i_;
      if (i_ >= s_.size() || s_[i_] != '(') return true;
      const std::size_t start = i_;
      int depth = 0;
      std::string text;
      for (; i_ < s_.size(); ++i_) {
        char c = s_[i_];
        if (c == '\\' && i_ + 1 < s_.size()) {
          text += s_[++i_];
          continue;
        }
        if (c == '(') {
          if (depth++ > 0) text += c;
        } else if (c == ')') {
          if (--depth == 0) {
            ++i_;
            break;
          }
          text += c;
        } else {
          text += c;
        }
      }
      if (depth != 0) {  // unterminated: left where it starts, so that nothing reads as the end
        i_ = start;
        return false;
      }
      if (last_comment.empty()) last_comment = text;
    }
  }
  bool at_end() {
    skip_cfws();
    return i_ >= s_.size();
  }
  bool eat(char c) {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // A Keyword (RFC 8601 §2.2: methods, results, ptypes, properties): a token, never quoted.
  // `stop` are characters that end it although RFC 2045 allows them ('.' in "header.d").
  std::optional<std::string> keyword(std::string_view stop = {}) {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == '"') return std::nullopt;
    return token({}, stop);
  }

  // RFC 2045 value: token / quoted-string (unquoted); `extra` are tspecials allowed in the token
  // (e.g. "@" for the authserv-id).
  std::optional<std::string> value(std::string_view extra = {}) {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == '"') return quoted_string();
    return token(extra, {});
  }

  // RFC 8601 §2.2 pvalue: value / [[local-part] "@"] domain-name. The local-part is a dot-atom or
  // a quoted-string; an address comes back as local-part (unquoted) "@" domain. Leniently, '/'
  // and ':' may appear in a token too (paths, IPv6 addresses), as other readers allow.
  std::optional<std::string> pvalue() {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == '"') {
      auto local = quoted_string();
      if (!local) return std::nullopt;
      const std::size_t after = i_;
      skip_cfws();  // RFC 5322 quoted-string = [CFWS] DQUOTE ... DQUOTE [CFWS]
      if (i_ >= s_.size() || s_[i_] != '@') {
        i_ = after;
        return local;
      }
      ++i_;
      const std::size_t start = i_;
      while (i_ < s_.size() && (detail::is_alpha(s_[i_]) || detail::is_digit(s_[i_]) ||
                                s_[i_] == '-' || s_[i_] == '.' || s_[i_] == '_'))
        ++i_;
      if (i_ == start) return std::nullopt;  // "@" and no domain-name
      return *local + '@' + std::string(s_.substr(start, i_ - start));
    }
    // A dot-atom local-part may hold '=' and '?', which a token may not: only before the '@'.
    auto v = token("@/:=?", {});
    if (!v) return std::nullopt;
    std::size_t at = v->rfind('@');
    if (v->find_first_of("=?", at == std::string::npos ? 0 : at) != std::string::npos)
      return std::nullopt;
    return v;
  }

  std::string last_comment;

 private:
  std::optional<std::string> quoted_string() {
    std::string out;
    for (++i_; i_ < s_.size(); ++i_) {
      char c = s_[i_];
      if (c == '\\' && i_ + 1 < s_.size()) {
        out += s_[++i_];
      } else if (c == '"') {
        ++i_;
        return out;
      } else {
        out += c;
      }
    }
    return std::nullopt;  // unterminated
  }

  std::optional<std::string> token(std::string_view extra, std::string_view stop) {
    std::size_t start = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      bool special = kTspecials.find(c) != std::string_view::npos;
      if (c <= ' ' || c == 0x7f || (special && extra.find(c) == std::string_view::npos) ||
          stop.find(c) != std::string_view::npos)
        break;
      ++i_;
    }
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

error ar_error(std::string what) { return error{errc::invalid_argument, std::move(what)}; }

}  // namespace

namespace {

// An authserv-id without its one optional trailing dot; empty: not an id at all.
std::string_view bare_id(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> auth_results_authserv_id(std::string_view value) {
  ar_lexer lx(value);
  if (!lx.skip_cfws()) return std::nullopt;
  auto id = lx.value("@");
  if (!id || bare_id(*id).empty()) return std::nullopt;
  return id;
}

bool same_authserv_id(std::string_view a, std::string_view b) noexcept {
  a = bare_id(a);
  b = bare_id(b);
  return !a.empty() && iequals(a, b);
}

bool claims_authserv_id(std::string_view value, std::string_view ours) {
  auto id = auth_results_authserv_id(value);
  return id && same_authserv_id(*id, ours);
}

result<auth_results_field> parse_auth_results(std::string_view v) {
  ar_lexer lx(v);
  auth_results_field out;
  auto id = lx.value("@");
  if (!id || bare_id(*id).empty()) return tl::unexpected(ar_error("no authserv-id"));
  out.authserv_id = *id;
  if (!lx.at_end() && !lx.eat(';')) {
    auto ver = lx.value();
    if (!ver || ver->empty() || ver->find_first_not_of("0123456789") != std::string::npos ||
        ver->size() > 6)
      return tl::unexpected(ar_error("expected ';' or a version after the authserv-id"));
    out.version = static_cast<unsigned>(std::stoul(*ver));
    if (!lx.eat(';')) return tl::unexpected(ar_error("expected ';' after the version"));
  } else if (lx.at_end()) {
    return tl::unexpected(ar_error("no result after the authserv-id"));
  }
  // Either "none" or resinfo entries separated by ';'.
  for (bool first = true;; first = false) {
    if (lx.at_end()) {
      if (first) return tl::unexpected(ar_error("empty result list"));
      break;
    }
    auth_result r;
    auto method = lx.keyword();
    if (!method) return tl::unexpected(ar_error("expected a method"));
    r.method = detail::lowercase(*method);
    if (first && r.method == "none" && lx.at_end()) break;
    if (lx.eat('/')) {
      if (!lx.keyword()) return tl::unexpected(ar_error("expected a method version after '/'"));
    }
    if (!lx.eat('=')) return tl::unexpected(ar_error("expected '=' after " + r.method));
    lx.last_comment.clear();
    auto res = lx.keyword();
    if (!res) return tl::unexpected(ar_error("expected a result for " + r.method));
    r.result = detail::lowercase(*res);
    lx.skip_cfws();
    r.comment = lx.last_comment;
    // reason= and ptype.property=pvalue until ';' or the end.
    while (!lx.at_end() && !lx.eat(';')) {
      auto key = lx.keyword(".");
      if (!key) return tl::unexpected(ar_error("expected a property of " + r.method));
      std::string k = detail::lowercase(*key);
      if (k != "reason") {
        if (!lx.eat('.')) return tl::unexpected(ar_error("expected '.' in property " + k));
        auto prop = lx.keyword();
        if (!prop) return tl::unexpected(ar_error("expected a property name after " + k + "."));
        k += "." + detail::lowercase(*prop);
      }
      if (!lx.eat('=')) return tl::unexpected(ar_error("expected '=' after " + k));
      auto val = k == "reason" ? lx.value("@/:") : lx.pvalue();
      if (!val) return tl::unexpected(ar_error("expected a value for " + k));
      if (k == "reason")
        r.reason = *val;
      else
        r.properties.emplace_back(k, *val);
      if (lx.at_end()) break;
    }
    out.results.push_back(std::move(r));
  }
  return out;
}

}  // namespace dkimkit
