// Is the key record published for a signing key right (dkimkit/key_check.hpp)?
#include <algorithm>
#include <ctime>
#include <dkimkit/key_check.hpp>

namespace dkimkit {

std::string_view to_string(check_level l) noexcept {
  switch (l) {
    case check_level::ok:
      return "ok";
    case check_level::info:
      return "info";
    case check_level::warning:
      return "warning";
    case check_level::error:
      return "error";
  }
  return "?";
}

std::string_view to_string(key_publication p) noexcept {
  switch (p) {
    case key_publication::matching:
      return "matching";
    case key_publication::not_matching:
      return "not_matching";
    case key_publication::published:
      return "published";
    case key_publication::unusable:
      return "unusable";
    case key_publication::ambiguous:
      return "ambiguous";
    case key_publication::not_published:
      return "not_published";
    case key_publication::temporary:
      return "temporary";
  }
  return "?";
}

std::string_view describe(key_publication p) noexcept {
  switch (p) {
    case key_publication::matching:
      return "published and matching";
    case key_publication::not_matching:
      return "published but not matching";
    case key_publication::published:
      return "published";
    case key_publication::unusable:
      return "published but not usable";
    case key_publication::ambiguous:
      return "several key records";
    case key_publication::not_published:
      return "not published";
    case key_publication::temporary:
      return "not fetched (temporary DNS failure)";
  }
  return "?";
}

std::string_view to_string(key_verdict v) noexcept {
  switch (v) {
    case key_verdict::good:
      return "good";
    case key_verdict::warnings:
      return "good, with warnings";
    case key_verdict::bad:
      return "bad";
    case key_verdict::temperror:
      return "temperror";
  }
  return "?";
}

key_verdict worse(key_verdict a, key_verdict b) noexcept {
  auto rank = [](key_verdict v) {
    switch (v) {
      case key_verdict::good:
        return 0;
      case key_verdict::warnings:
        return 1;
      case key_verdict::temperror:
        return 2;
      case key_verdict::bad:
        return 3;
    }
    return 3;
  };
  return rank(a) >= rank(b) ? a : b;
}

std::optional<std::string> why_not_checkable(const key_table_entry& row) {
  std::vector<std::string_view> fields;
  if (row.domain.find('%') != std::string::npos) fields.push_back("DOMAIN");
  if (row.selector.find('%') != std::string::npos) fields.push_back("SELECTOR");
  if (row.key.find('%') != std::string::npos) fields.push_back("KEY");
  if (fields.empty()) return std::nullopt;
  std::string which;
  for (std::size_t i = 0; i < fields.size(); ++i)
    which += std::string(i == 0                   ? ""
                         : i + 1 == fields.size() ? " and "
                                                  : ", ") +
             std::string(fields[i]);
  return "its " + which + (fields.size() == 1 ? " holds" : " hold") +
         " \"%\", the sender's domain: which key record to check depends on the message";
}

namespace {

// Unix seconds as an RFC 3339 UTC time: "2027-01-15T00:00:00Z".
std::string utc(std::uint64_t t) {
  constexpr std::uint64_t kYear9999 = 253402300799ULL;
  std::tm tm{};
  auto tt = static_cast<std::time_t>(t);
  char out[32];
  if (t > kYear9999 || ::gmtime_r(&tt, &tm) == nullptr ||
      std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return std::to_string(t) + " (Unix time)";
  return out;
}

// The findings of the record alone, and of the private key against it; sets c.publication, type
// and bits.
void check_record(const txt_answer& ans, const key_check_input& in, key_check& c) {
  const std::string& name = c.name;
  auto add = [&](check_level l, std::string t) { c.findings.push_back({l, std::move(t)}); };

  if (ans.dnssec != dnssec_status::unknown)
    add(ans.dnssec == dnssec_status::secure ? check_level::ok : check_level::info,
        "DNSSEC: " + std::string(to_string(ans.dnssec)));
  // The verifier's reading of the answer, with each TXT record that is not a key record noted.
  std::size_t key_records = 0;
  std::size_t record_size = 0;
  if (ans.status == dns_status::found) {
    for (const auto& r : ans.records) {
      if (looks_like_key_record(r)) {
        ++key_records;
        record_size = r.size();
      } else {
        add(check_level::info,
            "ignored a TXT record that is not a DKIM key: \"" + r.substr(0, 40) + "\"");
      }
    }
  }
  result<key_record> parsed = key_record_from_answer(ans, name);
  const errc why = parsed ? errc::ok : parsed.error().code;
  if (why == errc::dns_temporary) {
    c.publication = key_publication::temporary;
    add(check_level::error, "could not fetch " + name + ": " + ans.detail + " (try again)");
  } else if (why == errc::key_not_found) {
    c.publication = key_publication::not_published;
    add(check_level::error,
        ans.status == dns_status::nxdomain
            ? name + " does not exist (NXDOMAIN): nothing is published for this selector"
        : ans.status == dns_status::nodata
            ? name + " exists but has no TXT record"
            : name + " has TXT records but none is a DKIM key record");
  } else if (why == errc::key_ambiguous) {
    c.publication = key_publication::ambiguous;
    add(check_level::error, std::to_string(key_records) +
                                " DKIM key records at the name: verifiers refuse ambiguous keys "
                                "(RFC 6376 §3.6.2.2); keep one");
  } else {  // one key record, parsed or not
    c.publication = parsed ? key_publication::published : key_publication::unusable;
    if (record_size > 255)
      add(check_level::info, "the record is " + std::to_string(record_size) +
                                 " bytes: it must be published as several quoted strings of at "
                                 "most 255 bytes each (they are joined)");
    if (parsed)
      add(check_level::ok, "record syntax is valid");
    else
      add(check_level::error, "the record is not usable: " + parsed.error().message());
  }
  if (!parsed) return;
  const key_record& k = *parsed;
  c.type = k.type;
  c.bits = k.key->bits();
  // What a verifier says of the signatures dkimkit makes with this key (a= of the key's type,
  // no i=), with the verifier's RSA floor.
  signature made;
  made.algo = k.type == key_type::ed25519 ? algorithm::ed25519_sha256 : algorithm::rsa_sha256;
  made.sdid = in.sdid;
  made.selector = in.selector;
  const std::vector<error> problems = key_record_problems(k, made);
  auto problem = [&](errc e) {
    return std::any_of(problems.begin(), problems.end(),
                       [e](const error& p) { return p.code == e; });
  };
  const unsigned bits = k.key->bits();
  if (k.type == key_type::ed25519) {
    add(check_level::ok, "Ed25519 key (RFC 8463)");
    add(check_level::info, "some verifiers do not know Ed25519 yet: sign with an RSA key too");
  } else if (problem(errc::key_too_small)) {
    add(check_level::error, "RSA key of " + std::to_string(bits) +
                                " bits: verifiers refuse keys under " +
                                std::to_string(rfc8301_min_rsa_bits) + " bits (RFC 8301 §3.2)");
  } else if (bits < 2048) {
    add(check_level::warning,
        "RSA key of " + std::to_string(bits) + " bits: 2048 bits are advised");
  } else {
    add(check_level::ok, "RSA key of " + std::to_string(bits) + " bits");
  }
  if (k.testing)
    add(check_level::warning,
        "t=y: the domain says it is testing DKIM; verifiers may ignore failures — remove the "
        "flag once signing works");
  if (k.strict) add(check_level::info, "t=s: i= must be exactly d=, not a subdomain");
  if (problem(errc::key_hash_mismatch))
    add(check_level::error,
        "h= allows only sha1: rsa-sha256 signatures will fail and rsa-sha1 is refused (RFC "
        "8301)");
  if (in.key) {
    // Compare the public keys themselves (the DER in DNS may be SPKI or PKCS#1).
    auto mine = parse_key_record(in.key->public_record());
    const bool same = mine && mine->key->same_as(*k.key);
    c.publication = same ? key_publication::matching : key_publication::not_matching;
    if (same)
      add(check_level::ok, "the private key " + in.key_label + " matches the published key");
    else
      add(check_level::error,
          "the private key " + in.key_label +
              " does NOT match the published key: signatures made with it will fail");
  }
}

// The findings of the key's window: an expired key signs no more, so every problem of its record
// is only information; an upcoming key need not be published yet.
void check_window(const key_check_input& in, key_check& c) {
  auto add = [&](check_level l, std::string t) { c.findings.push_back({l, std::move(t)}); };
  const key_window& w = in.window;
  const bool published = c.publication != key_publication::not_published &&
                         c.publication != key_publication::temporary;
  switch (c.schedule) {
    case key_schedule::unbounded:
      return;
    case key_schedule::current:
      if (w.not_before && w.not_after)
        add(check_level::info, "signing since " + utc(*w.not_before) +
                                   " (not_before); expires at " + utc(*w.not_after) +
                                   " (not_after)");
      else if (w.not_after)
        add(check_level::info, "expires at " + utc(*w.not_after) + " (not_after)");
      else
        add(check_level::info, "signing since " + utc(*w.not_before) + " (not_before)");
      return;
    case key_schedule::upcoming: {
      const std::string when = utc(*w.not_before);
      if (c.publication == key_publication::not_published) {
        for (auto& f : c.findings)
          if (f.level == check_level::error) f.level = check_level::info;
        add(check_level::warning, "due to start at " + when +
                                      " (not_before) and not yet published: publish " + c.name +
                                      " before then");
      } else if (c.publication == key_publication::matching ||
                 c.publication == key_publication::published) {
        add(check_level::ok, "due to start at " + when + " (not_before); the record is published");
      } else {
        add(check_level::info, "due to start at " + when + " (not_before)");
      }
      return;
    }
    case key_schedule::expired: {
      for (auto& f : c.findings)
        if (f.level == check_level::error || f.level == check_level::warning)
          f.level = check_level::info;
      const std::string when = utc(*w.not_after);
      if (published)
        add(check_level::info, "expired at " + when +
                                   " (not_after), the record can be retired once mail signed "
                                   "before then has been delivered");
      else if (c.publication == key_publication::not_published)
        add(check_level::ok, "expired at " + when + " (not_after); the record is retired");
      else
        add(check_level::info, "expired at " + when + " (not_after)");
      return;
    }
  }
}

}  // namespace

key_check check_key(const txt_answer& answer, const key_check_input& in) {
  key_check c;
  c.name = key_name(in.selector, in.sdid);
  c.schedule = schedule_at(in.window, in.now);
  check_record(answer, in, c);
  check_window(in, c);
  bool error = false, warning = false;
  for (const auto& f : c.findings) {
    error = error || f.level == check_level::error;
    warning = warning || f.level == check_level::warning;
  }
  const bool temporary = c.publication == key_publication::temporary && error;
  c.verdict = temporary ? key_verdict::temperror
              : error   ? key_verdict::bad
              : warning ? key_verdict::warnings
                        : key_verdict::good;
  return c;
}

}  // namespace dkimkit
