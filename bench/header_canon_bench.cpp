// Header selection (RFC 6376 §5.4.2) on the crafted worst case of issue 11, finding 5: a message
// of 2000 header fields (the max_fields limit) carrying N valid signatures whose h= lists 1024
// names (max_signed_headers), half of them present in the message and half absent. All names
// have the same length and a long common prefix, so that telling two of them apart reads the
// whole name.
//
//   header_select/2000_fields/1024_names   detail::canonicalize_signed_headers() for one h=
//                                          (48-character names, the 5-signature message),
//                                          building its own index (the fields overload)
//   header_index/2000_fields               detail::header_index alone (once per message)
//   header_select/.../shared_index         the selection alone, with a prebuilt index (per
//                                          signature)
//   hsel_worst_case/verify/signatures:5    dkimkit::verify with a static resolver and
//                                          max_signatures 5: 48-character names (each h= about
//                                          55 KB, under max_signature_bytes), 420 KB message
//   hsel_worst_case/verify/signatures:50   50 signatures, max_signatures 50: 14-character names,
//                                          so that the header stays under max_header_bytes
//
// bench/hsel_worst_case.sh builds the same messages with the dkimkit program and times
// `dkimkit verify` as a whole process.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/dkimkit.hpp>

#include "canon/header_canon.hpp"

namespace {

constexpr std::uint64_t fixed_now = 1'700'000'000;
constexpr std::size_t max_fields = 2000;       // header_limits::max_fields
constexpr std::size_t max_names = 1024;        // signature_limits::max_signed_headers
constexpr std::size_t distinct_present = 500;  // names present, each about four times
constexpr std::size_t filler_value_bytes = 20;

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "header_canon_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// The n-th name of a kind ('h': present in the message, 'n': absent), `length` characters:
// "x-hsel-...-pad-" then three digits then the kind, so two names differ in their last four.
std::string name_of(std::size_t n, char kind, std::size_t length) {
  std::string name = "x-hsel-worst-case-";
  name.resize(length - 4, '-');
  char tail[8];
  std::snprintf(tail, sizeof tail, "%03zu%c", n % 1000, kind);
  return name + tail;
}

// h=: from, then present and absent names in turn; 1024 names in all.
std::vector<std::string> worst_case_names(std::size_t length) {
  std::vector<std::string> names{"from"};
  for (std::size_t i = 0; names.size() < max_names; ++i)
    names.push_back(name_of((i / 2) % distinct_present, i % 2 == 0 ? 'h' : 'n', length));
  return names;
}

// The unsigned message: From, To, Subject, Date, Message-ID and the present names in turn
// (upper case), so that with `signatures` DKIM-Signature fields on top it has exactly max_fields
// fields; a short body.
std::string worst_case_message(std::size_t signatures, std::size_t length) {
  std::string m =
      "From: Alice Example <alice@example.net>\r\n"
      "To: Bob Example <bob@example.com>\r\n"
      "Subject: header selection worst case\r\n"
      "Date: Tue, 14 Nov 2023 22:13:18 +0000\r\n"
      "Message-ID: <hsel-worst-case@example.net>\r\n";
  const std::size_t filler = max_fields - signatures - 5;
  const std::string value(filler_value_bytes, 'v');
  for (std::size_t i = 0; i < filler; ++i) {
    std::string name = name_of(i % distinct_present, 'H', length);
    for (char& c : name)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    m += name + ": " + value + "\r\n";
  }
  m += "\r\n";
  for (int i = 0; i < 16; ++i) m += "A line of body text that is hashed once per message.\r\n";
  return m;
}

// 48-character names for 5 signatures; 14 for 50 (50 h= of 1024 names must fit in 1 MiB).
std::size_t name_length_for(std::size_t signatures) { return signatures <= 5 ? 48 : 14; }

struct worst_case {
  explicit worst_case(std::size_t signatures) {
    auto k = dkimkit::private_key::generate(dkimkit::key_type::rsa, 2048);
    if (!k) die("private_key::generate: " + k.error().detail);
    dns.add("bench._domainkey.example.net", k->public_record());
    dkimkit::sign_options o;
    o.sdid = "example.net";
    o.selector = "bench";
    o.key = *k;
    names = worst_case_names(name_length_for(signatures));
    o.headers = names;
    message = worst_case_message(signatures, name_length_for(signatures));
    // One signature at a time, each on top of the last, with its own t= (so its own b=).
    for (std::size_t i = 0; i < signatures; ++i) {
      auto f = dkimkit::sign(message, {o}, fixed_now + i);
      if (!f || f->size() != 1) die("sign failed");
      message = f->front() + "\r\n" + message;
    }
    opts.resolver = &dns;
    opts.now = [] { return fixed_now + 3600; };
    opts.max_signatures = signatures;
    auto view = dkimkit::parse_message(message);
    if (!view || view->fields.size() != max_fields) die("the worst-case message does not parse");
    fields = std::move(view->fields);
  }

  dkimkit::static_resolver dns;
  std::vector<std::string> names;  // h= of every signature
  std::string message;
  std::vector<dkimkit::header_field> fields;  // valid while `message` lives, unchanged
  dkimkit::verify_options opts;
};

const worst_case& fixture(std::size_t signatures) {
  static std::map<std::size_t, worst_case> cases;
  auto it = cases.find(signatures);
  if (it == cases.end()) it = cases.try_emplace(signatures, signatures).first;
  return it->second;
}

void bm_verify_worst_case(benchmark::State& state) {
  const auto signatures = static_cast<std::size_t>(state.range(0));
  const worst_case& w = fixture(signatures);
  for (auto _ : state) {
    auto v = dkimkit::verify(w.message, w.opts);
    const bool all_pass =
        v.size() == signatures && std::all_of(v.begin(), v.end(), [](const auto& r) {
          return r.status == dkimkit::status::pass;
        });
    if (!all_pass) {
      state.SkipWithError("not every signature passed");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.message.size()));
  state.counters["msg_bytes"] = static_cast<double>(w.message.size());
}

// `shared`: with an index built beforehand, as a verifier shares one between the signatures of
// a message; otherwise the fields overload builds its own index on each call.
void bm_header_select(benchmark::State& state, bool shared) {
  const worst_case& w = fixture(5);
  const dkimkit::detail::header_index index(w.fields);
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (shared)
      dkimkit::detail::canonicalize_signed_headers(dkimkit::canonicalization::relaxed, index,
                                                   w.names, out);
    else
      dkimkit::detail::canonicalize_signed_headers(dkimkit::canonicalization::relaxed, w.fields,
                                                   w.names, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["selected_bytes"] = static_cast<double>(out.size());
}

// The index alone: built once per message.
void bm_header_index(benchmark::State& state) {
  const worst_case& w = fixture(5);
  for (auto _ : state) {
    const dkimkit::detail::header_index index(w.fields);
    benchmark::DoNotOptimize(index.name_count());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(bm_header_index)->Name("header_index/2000_fields")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_header_select, shared_index, true)
    ->Name("header_select/2000_fields/1024_names/shared_index")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_header_select, own_index, false)
    ->Name("header_select/2000_fields/1024_names")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_verify_worst_case)
    ->Name("hsel_worst_case/verify")
    ->ArgName("signatures")
    ->Arg(5)
    ->Arg(50)
    ->Unit(benchmark::kMillisecond);

}  // namespace
