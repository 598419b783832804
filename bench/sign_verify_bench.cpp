// Cost of signing and verifying a realistic 10 KiB message, next to the raw OpenSSL primitives
// they are built from, measured in the same binary (scripts/bench.sh computes the ratios).
//
//   dkim_sign/rsa_sha256        dkimkit::sign, relaxed/relaxed, pre-loaded 2048-bit key
//   dkim_verify/rsa_sha256      dkimkit::verify with a static_resolver holding the key record
//   dkim_{sign,verify}/ed25519  the same with an Ed25519 key
//   dkim_verify/rsa_sha256_1MiB_key_cache  a 1 MiB message, relaxed/relaxed, key cached (bytes/s)
//   raw_rsa2048_{sign,verify}   EVP_PKEY_sign/verify of a SHA-256 digest (context reused, as
//                               `openssl speed` does; *_new_ctx builds the context per call)
//   raw_ed25519_verify          EVP_DigestVerify of a SHA-256 digest (RFC 8463), context per call
//   raw_sha256/<bytes>          EVP_Digest over 10 KiB (the message), 16 KiB (`openssl speed`)
//                               and 1 MiB
#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <dkimkit/dkimkit.hpp>

#include "prose.hpp"

namespace {

constexpr std::uint64_t fixed_now = 1'700'000'000;
constexpr std::size_t message_bytes = 10 * 1024;

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "sign_verify_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// A deterministic 10 KiB message: typical headers and a plain-text body of 76-character lines,
// with what real text has for relaxed canonicalization to do: two spaces after some sentences and
// a trailing space on some lines (as format=flowed writes). bench/body_canon_bench.cpp measures a
// body that is much harder (tabs and doubled spaces everywhere).
std::string make_message(std::size_t total) {
  std::string m =
      "Received: from mail.example.net (mail.example.net [192.0.2.25])\r\n"
      "\tby mx.example.com (Postfix) with ESMTPS id 4RzKx71q2Lz9sTk\r\n"
      "\tfor <bob@example.com>; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\r\n"
      "Received: from [198.51.100.7] (unknown [198.51.100.7])\r\n"
      "\tby mail.example.net (Postfix) with ESMTPSA id 9C3A21F4B2\r\n"
      "\tfor <bob@example.com>; Tue, 14 Nov 2023 22:13:19 +0000 (UTC)\r\n"
      "From: Alice Example <alice@example.net>\r\n"
      "To: Bob Example <bob@example.com>\r\n"
      "Cc: team@example.com\r\n"
      "Subject: Quarterly report: figures, notes and the plan for next quarter\r\n"
      "Date: Tue, 14 Nov 2023 22:13:18 +0000\r\n"
      "Message-ID: <20231114221318.4RzKx71q2Lz9sTk@mail.example.net>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n";
  dkimkit::bench::append_prose(m, total, "\r\n");
  if (m.size() + 2 <= total) {
    m.append(total - m.size() - 2, '-');
    m += "\r\n";
  }
  return m;
}

const std::string& message() {
  static const std::string m = make_message(message_bytes);
  return m;
}

const std::string& large_message() {
  static const std::string m = make_message(1024 * 1024);
  return m;
}

// A key, the options that sign with it, a resolver publishing it and the message signed with it.
struct dkim_fixture {
  explicit dkim_fixture(dkimkit::key_type type, const std::string& unsigned_message = message()) {
    auto k = dkimkit::private_key::generate(type, 2048);
    if (!k) die("private_key::generate: " + k.error().detail);
    key = *k;
    dkimkit::sign_options o;
    o.sdid = "example.net";
    o.selector = "bench";
    o.key = key;
    o.header_canon = dkimkit::canonicalization::relaxed;
    o.body_canon = dkimkit::canonicalization::relaxed;
    opts.push_back(o);
    dns.add("bench._domainkey.example.net", key.public_record());
    auto fields = dkimkit::sign(unsigned_message, opts, fixed_now);
    if (!fields || fields->size() != 1) die("sign failed");
    signed_message = fields->front() + "\r\n" + unsigned_message;
  }

  dkimkit::private_key key;
  std::vector<dkimkit::sign_options> opts;
  dkimkit::static_resolver dns;
  std::string signed_message;
};

const dkim_fixture& fixture(dkimkit::key_type type) {
  static const dkim_fixture rsa(dkimkit::key_type::rsa);
  static const dkim_fixture ed(dkimkit::key_type::ed25519);
  return type == dkimkit::key_type::rsa ? rsa : ed;
}

const dkim_fixture& large_fixture() {
  static const dkim_fixture rsa(dkimkit::key_type::rsa, large_message());
  return rsa;
}

void bm_dkim_sign(benchmark::State& state, dkimkit::key_type type) {
  const dkim_fixture& f = fixture(type);
  const std::string& m = message();
  for (auto _ : state) {
    auto fields = dkimkit::sign(m, f.opts, fixed_now);
    if (!fields) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(fields);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(m.size()));
  state.counters["msg_bytes"] = static_cast<double>(m.size());
}

// `cached`: a key_cache shared across messages, as the CLI and a daemon keep one (the steady
// state for a busy sender's key); otherwise every message decodes its key anew.
void bm_dkim_verify(benchmark::State& state, dkimkit::key_type type, bool cached,
                    bool large = false) {
  const dkim_fixture& f = large ? large_fixture() : fixture(type);
  dkimkit::key_cache keys;
  dkimkit::verify_options o;
  if (cached) o.keys = &keys;
  o.resolver = &f.dns;
  o.now = [] { return fixed_now; };
  for (auto _ : state) {
    auto v = dkimkit::verify(f.signed_message, o);
    if (v.size() != 1 || v.front().status != dkimkit::status::pass) {
      state.SkipWithError("verify did not pass");
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(f.signed_message.size()));
  state.counters["msg_bytes"] = static_cast<double>(f.signed_message.size());
}

BENCHMARK_CAPTURE(bm_dkim_sign, rsa_sha256, dkimkit::key_type::rsa)->Name("dkim_sign/rsa_sha256");
BENCHMARK_CAPTURE(bm_dkim_verify, rsa_sha256, dkimkit::key_type::rsa, false)
    ->Name("dkim_verify/rsa_sha256");
BENCHMARK_CAPTURE(bm_dkim_verify, rsa_sha256_cached, dkimkit::key_type::rsa, true)
    ->Name("dkim_verify/rsa_sha256_key_cache");
BENCHMARK_CAPTURE(bm_dkim_sign, ed25519, dkimkit::key_type::ed25519)
    ->Name("dkim_sign/ed25519_sha256");
BENCHMARK_CAPTURE(bm_dkim_verify, ed25519, dkimkit::key_type::ed25519, false)
    ->Name("dkim_verify/ed25519_sha256");
BENCHMARK_CAPTURE(bm_dkim_verify, ed25519_cached, dkimkit::key_type::ed25519, true)
    ->Name("dkim_verify/ed25519_sha256_key_cache");
BENCHMARK_CAPTURE(bm_dkim_verify, rsa_sha256_1MiB_cached, dkimkit::key_type::rsa, true, true)
    ->Name("dkim_verify/rsa_sha256_1MiB_key_cache");

// --- Raw OpenSSL 3 primitives -------------------------------------------------------------

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct md_deleter {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
using md_ptr = std::unique_ptr<EVP_MD, md_deleter>;

const EVP_MD* sha256() {
  static const md_ptr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  if (!md) die("EVP_MD_fetch(SHA256)");
  return md.get();
}

EVP_PKEY* raw_key(const char* type) {
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) die("keygen init");
  if (std::string_view(type) == "RSA" && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) <= 0)
    die("rsa bits");
  if (EVP_PKEY_generate(ctx.get(), &key) <= 0) die("keygen");
  return key;
}

EVP_PKEY* rsa_key() {
  static const pkey_ptr key{raw_key("RSA")};
  return key.get();
}

std::string sha256_of(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 sha256(), nullptr) != 1)
    die("EVP_Digest");
  return out;
}

pkey_ctx_ptr rsa_ctx(bool for_sign) {
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, rsa_key(), nullptr)};
  if (!ctx) die("EVP_PKEY_CTX_new_from_pkey");
  int r = for_sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get());
  if (r <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), sha256()) <= 0)
    die("rsa ctx init");
  return ctx;
}

std::string rsa_sign(EVP_PKEY_CTX* ctx, const std::string& digest) {
  std::string sig(256, '\0');
  std::size_t len = sig.size();
  if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                    reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
    die("EVP_PKEY_sign");
  sig.resize(len);
  return sig;
}

bool rsa_verify(EVP_PKEY_CTX* ctx, const std::string& sig, const std::string& digest) {
  return EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(digest.data()),
                         digest.size()) == 1;
}

void bm_raw_rsa2048_sign(benchmark::State& state) {
  const std::string digest = sha256_of(message());
  pkey_ctx_ptr ctx = rsa_ctx(true);
  for (auto _ : state) benchmark::DoNotOptimize(rsa_sign(ctx.get(), digest));
  state.SetItemsProcessed(state.iterations());
}

void bm_raw_rsa2048_sign_new_ctx(benchmark::State& state) {
  const std::string digest = sha256_of(message());
  for (auto _ : state) benchmark::DoNotOptimize(rsa_sign(rsa_ctx(true).get(), digest));
  state.SetItemsProcessed(state.iterations());
}

void bm_raw_rsa2048_verify(benchmark::State& state) {
  const std::string digest = sha256_of(message());
  const std::string sig = rsa_sign(rsa_ctx(true).get(), digest);
  pkey_ctx_ptr ctx = rsa_ctx(false);
  for (auto _ : state) {
    if (!rsa_verify(ctx.get(), sig, digest)) {
      state.SkipWithError("EVP_PKEY_verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_raw_rsa2048_verify_new_ctx(benchmark::State& state) {
  const std::string digest = sha256_of(message());
  const std::string sig = rsa_sign(rsa_ctx(true).get(), digest);
  for (auto _ : state) {
    if (!rsa_verify(rsa_ctx(false).get(), sig, digest)) {
      state.SkipWithError("EVP_PKEY_verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

EVP_PKEY* ed25519_key() {
  static const pkey_ptr key{raw_key("ED25519")};
  return key.get();
}

// What `openssl speed ed25519` measures, on the 32-byte digest DKIM signs (RFC 8463 §3).
void bm_raw_ed25519_verify(benchmark::State& state) {
  const std::string digest = sha256_of(message());
  std::string sig(64, '\0');
  {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t len = sig.size();
    if (!ctx ||
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, ed25519_key()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
      die("Ed25519 sign");
  }
  for (auto _ : state) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, ed25519_key()) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(digest.data()),
                         digest.size()) != 1) {
      state.SkipWithError("Ed25519 verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_raw_sha256(benchmark::State& state) {
  const std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(sha256_of(data));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

BENCHMARK(bm_raw_rsa2048_sign)->Name("raw_rsa2048_sign");
BENCHMARK(bm_raw_rsa2048_sign_new_ctx)->Name("raw_rsa2048_sign_new_ctx");
BENCHMARK(bm_raw_rsa2048_verify)->Name("raw_rsa2048_verify");
BENCHMARK(bm_raw_rsa2048_verify_new_ctx)->Name("raw_rsa2048_verify_new_ctx");
BENCHMARK(bm_raw_ed25519_verify)->Name("raw_ed25519_verify");
BENCHMARK(bm_raw_sha256)->Name("raw_sha256")->Arg(10 * 1024)->Arg(16 * 1024)->Arg(1024 * 1024);

}  // namespace
