#include <algorithm>
#include <dkimkit/canon.hpp>
#include <dkimkit/changes.hpp>
#include <map>

#include "canon/body_canon.hpp"
#include "canon/header_canon.hpp"
#include "crypto/crypto.hpp"
#include "record/signature_tags.hpp"
#include "tag_list/tag_list.hpp"
#include "util/strings.hpp"

namespace dkimkit {

bool copy_changes::headers_relaxed_equal() const noexcept {
  return !headers.empty() && std::all_of(headers.begin(), headers.end(),
                                         [](const header_change& h) { return h.relaxed_equal; });
}

namespace {

// One field canonicalized, without the CRLF canonicalize_header() ends it with.
std::string canonical_field(canonicalization c, const header_field& f) {
  std::string out;
  detail::canonicalize_header(c, f, out);
  out.resize(out.size() - 2);
  return out;
}

// Instance `instance` (from the bottom) of the fields named `name`, or nullptr.
const header_field* instance_of(const detail::header_index& index, std::string_view name,
                                std::size_t instance) {
  const auto found = index.instances(index.find(name));
  return instance < found.size() ? &index.fields()[found[instance]] : nullptr;
}

// The signed field instances, in h= order, selected as §5.4.2 selects them in each copy.
void compare_headers(canonicalization c, const std::vector<std::string>& signed_headers,
                     const std::vector<header_field>& sent,
                     const std::vector<header_field>& received, std::vector<header_change>& out) {
  const detail::header_index sent_index(sent), received_index(received);
  std::map<std::string, std::size_t> listed;  // times each name occurred in h= so far
  for (const std::string& name : signed_headers) {
    const std::size_t instance = listed[detail::lowercase(name)]++;
    const header_field* s = instance_of(sent_index, name, instance);
    const header_field* r = instance_of(received_index, name, instance);
    if (!s && !r) continue;  // over-signed: absent from both
    header_change change;
    change.field = name;
    change.instance = instance;
    if (s) change.sent = canonical_field(c, *s);
    if (r) change.received = canonical_field(c, *r);
    if (change.sent == change.received) continue;
    change.relaxed_equal = s && r &&
                           canonical_field(canonicalization::relaxed, *s) ==
                               canonical_field(canonicalization::relaxed, *r);
    out.push_back(std::move(change));
  }
}

// A DKIM-Signature field as it hashes itself (b= emptied, canonicalized, no CRLF), and its b=
// value without FWS in `b`; nullopt when its tag list does not parse or it has no b=.
std::optional<std::string> canonical_signature_field(canonicalization c, const header_field& f,
                                                     std::string& b) {
  auto tags = detail::parse_tag_list(f.value);
  if (!tags) return std::nullopt;
  const auto range = detail::find_b_value(*tags, f.value);
  if (!range) return std::nullopt;
  b = detail::strip_fws(f.value.substr(range->offset, range->length));
  std::string out;
  detail::canonicalize_signature_field(c, f, range->offset, range->length, out);
  return out;
}

// The signature's own field, when the sent copy carries the same signature (the same b=): a relay
// that re-folds or re-spaces it breaks a c=simple signature.
void compare_signature_field(canonicalization c, const header_field& received,
                             const std::vector<header_field>& sent,
                             std::vector<header_change>& out) {
  std::string received_b, sent_b;
  const auto r = canonical_signature_field(c, received, received_b);
  if (!r || received_b.empty()) return;
  for (const header_field& f : sent) {
    if (!iequals(f.name, "DKIM-Signature")) continue;
    const auto s = canonical_signature_field(c, f, sent_b);
    if (!s || sent_b != received_b) continue;
    if (*s != *r) {
      header_change change{std::string(received.name), 0, *s, *r, false};
      change.relaxed_equal = canonical_signature_field(canonicalization::relaxed, f, sent_b) ==
                             canonical_signature_field(canonicalization::relaxed, received, sent_b);
      out.push_back(std::move(change));
    }
    return;
  }
}

bool at_line_start(std::string_view text, std::size_t pos) {
  return pos == 0 || text[pos - 1] == '\n';
}

// Lines (CRLF-terminated, the last maybe not) in `region`.
std::uint64_t count_lines(std::string_view region) {
  const auto n = static_cast<std::uint64_t>(std::count(region.begin(), region.end(), '\n'));
  return n + (!region.empty() && region.back() != '\n' ? 1 : 0);
}

// The next line of `region` from `pos` (advanced past it): its text without CRLF, clipped.
struct line_piece {
  std::string text;
  bool clipped = false, unterminated = false;
};
line_piece next_line(std::string_view region, std::size_t& pos, std::size_t max_bytes) {
  line_piece out;
  std::size_t end = region.find('\n', pos);
  std::size_t stop = end;
  if (end == std::string_view::npos) {
    stop = end = region.size();
    out.unterminated = true;
  } else {
    ++end;
    if (stop > pos && region[stop - 1] == '\r') --stop;
  }
  std::string_view line = region.substr(pos, stop - pos);
  out.clipped = line.size() > max_bytes;
  out.text = std::string(line.substr(0, max_bytes));
  pos = end;
  return out;
}

// Up to `max` lines of `region`: where each starts (then where the next would), and the SHA-256 of
// each with its line end, so that lines are compared in constant time however long they are.
struct line_digests {
  std::vector<std::size_t> starts;
  std::vector<std::string> digests;
};
line_digests first_lines(std::string_view region, std::size_t max) {
  line_digests out;
  std::size_t pos = 0;
  while (pos < region.size() && out.digests.size() < max) {
    const std::size_t nl = region.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? region.size() : nl + 1;
    out.starts.push_back(pos);
    out.digests.push_back(detail::digest(hash_algorithm::sha256, region.substr(pos, end - pos)));
    pos = end;
  }
  out.starts.push_back(pos);
  return out;
}

// The canonical bodies, compared in linear time: the common prefix and suffix of whole lines are
// left out, and the first lines of what remains (the one differing region) are reported.
void compare_bodies(std::string_view sent, std::string_view received, const change_limits& limits,
                    body_changes& out) {
  out.sent_bytes = sent.size();
  out.received_bytes = received.size();
  const auto [ms, mr] = std::mismatch(sent.begin(), sent.end(), received.begin(), received.end());
  if (ms == sent.end() && mr == received.end()) return;
  out.differs = true;
  std::size_t start = static_cast<std::size_t>(ms - sent.begin());
  while (start > 0 && sent[start - 1] != '\n') --start;  // the same bytes in both copies
  out.first_line = count_lines(sent.substr(0, start)) + 1;

  // The common suffix, within what follows `start` in both, moved forward to a line start.
  const std::size_t room = std::min(sent.size(), received.size()) - start;
  std::size_t suffix = 0;
  while (suffix < room && sent[sent.size() - 1 - suffix] == received[received.size() - 1 - suffix])
    ++suffix;
  std::size_t sent_end = sent.size() - suffix, received_end = received.size() - suffix;
  if (!at_line_start(sent, sent_end) || !at_line_start(received, received_end)) {
    // Within the common suffix the bytes before a position are the same in both copies: after
    // its first LF both ends are at a line start (with no LF, the region runs to the ends).
    const std::size_t nl = sent.find('\n', sent_end);
    const std::size_t skip = nl == std::string_view::npos ? suffix : nl + 1 - sent_end;
    sent_end += skip;
    received_end += skip;
  }
  const std::string_view s = sent.substr(start, sent_end - start);
  const std::string_view r = received.substr(start, received_end - start);
  const std::uint64_t sent_total = count_lines(s), received_total = count_lines(r);

  // The first difference only: the region up to the first line both copies have again, the
  // smallest i + j with line i of the sent region equal to line j of the received region (or both
  // regions whole), among the first max_resync_lines lines of each: O(max_resync_lines^2)
  // comparisons of digests at most.
  const line_digests sd = first_lines(s, limits.max_resync_lines);
  const line_digests rd = first_lines(r, limits.max_resync_lines);
  const std::size_t ks = sd.digests.size(), kr = rd.digests.size();
  out.sent_lines = sent_total;  // no common line found: the whole region
  out.received_lines = received_total;
  bool found = false;
  for (std::size_t k = 0; k <= ks + kr && !found; ++k)
    for (std::size_t i = k > kr ? k - kr : 0; i <= std::min(k, ks) && !found; ++i) {
      const std::size_t j = k - i;
      if ((i < ks && j < kr && sd.digests[i] == rd.digests[j]) ||
          (i == sent_total && j == received_total)) {
        out.sent_lines = i;
        out.received_lines = j;
        found = true;
      }
    }
  if (found)
    out.more_differences = s.substr(sd.starts[static_cast<std::size_t>(out.sent_lines)]) !=
                           r.substr(rd.starts[static_cast<std::size_t>(out.received_lines)]);
  const std::uint64_t region = std::max(out.sent_lines, out.received_lines);
  std::size_t sp = 0, rp = 0;
  for (std::uint64_t i = 0; i < region && out.lines.size() < limits.max_body_lines; ++i) {
    body_line_change line;
    line.line = out.first_line + i;
    if (i < out.sent_lines) {
      auto piece = next_line(s, sp, limits.max_line_bytes);
      line.sent = std::move(piece.text);
      line.sent_clipped = piece.clipped;
      line.sent_unterminated = piece.unterminated;
    }
    if (i < out.received_lines) {
      auto piece = next_line(r, rp, limits.max_line_bytes);
      line.received = std::move(piece.text);
      line.received_clipped = piece.clipped;
      line.received_unterminated = piece.unterminated;
    }
    out.lines.push_back(std::move(line));
  }
  out.truncated = out.lines.size() < region;
}

}  // namespace

result<copy_changes> compare_copies(std::string_view sent, std::string_view received,
                                    std::size_t signature_number, const change_limits& limits,
                                    const header_limits& header,
                                    const signature_limits& signature_limit) {
  auto hashed = hashed_data(received, signature_number, header, signature_limit);
  if (!hashed) return tl::unexpected(hashed.error());
  const std::string received_msg = normalize_line_endings(received);
  auto received_view = parse_message(received_msg, header);
  if (!received_view) return tl::unexpected(received_view.error());  // hashed_data() parsed it
  const std::string sent_msg = normalize_line_endings(sent);
  auto sent_view = parse_message(sent_msg, header);
  if (!sent_view)
    return fail(
        sent_view.error().code,
        "the sent copy does not parse" +
            (sent_view.error().detail.empty() ? std::string() : ": " + sent_view.error().detail));
  auto sig = parse_signature(received_view->fields[hashed->field_index].value, signature_limit);
  if (!sig) return tl::unexpected(sig.error());  // hashed_data() parsed it: not reached

  copy_changes out;
  out.signature_number = signature_number;
  out.header_canon = hashed->header_canon;
  out.body_canon = hashed->body_canon;
  out.body_length = hashed->body_length;
  compare_headers(out.header_canon, sig->signed_headers, sent_view->fields, received_view->fields,
                  out.headers);
  compare_signature_field(out.header_canon, received_view->fields[hashed->field_index],
                          sent_view->fields, out.headers);

  std::string sent_body = detail::canonical_body(out.body_canon, sent_view->body);
  if (out.body_length && *out.body_length < sent_body.size())
    sent_body.resize(static_cast<std::size_t>(*out.body_length));
  compare_bodies(sent_body, hashed->body, limits, out.body);
  if (out.body.differs && out.body_canon == canonicalization::simple)
    out.body.relaxed_equal = detail::canonical_body(canonicalization::relaxed, sent_view->body) ==
                             detail::canonical_body(canonicalization::relaxed, received_view->body);
  return out;
}

}  // namespace dkimkit
