// txt_resolver::answers_at_once(): the verifier asks such a resolver with lookup_txt() itself (no
// promise, no future); any other resolver through lookup_txt_async(), as before.
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include <dkimkit/resolver.hpp>
#include <dkimkit/verifier.hpp>
#include <dkimkit/zone_resolver.hpp>

#include "support/test_keys.hpp"

namespace dkimkit {
namespace {

// Publishes one record and counts how it is asked.
class counting_resolver final : public txt_resolver {
 public:
  counting_resolver(std::string record, bool at_once) : record_(std::move(record)), at_once_(at_once) {}
  txt_answer lookup_txt(const std::string&) const override {
    ++direct;
    return txt_answer{dns_status::found, {record_}, "", dnssec_status::secure};
  }
  std::shared_future<txt_answer> lookup_txt_async(const std::string& name) const override {
    ++async;
    return txt_resolver::lookup_txt_async(name);  // which calls lookup_txt()
  }
  bool answers_at_once() const noexcept override { return at_once_; }
  mutable std::atomic<int> direct{0}, async{0};

 private:
  std::string record_;
  bool at_once_;
};

TEST(answers_at_once, the_in_memory_resolvers_say_so) {
  EXPECT_TRUE(static_resolver().answers_at_once());
  auto zone = zone_resolver::load_string("example.com. 300 IN TXT \"x\"\n");
  ASSERT_TRUE(zone) << zone.error().message();
  EXPECT_TRUE(zone->answers_at_once());
  counting_resolver other(test::ed25519().public_record(), false);
  EXPECT_FALSE(other.txt_resolver::answers_at_once());  // the default
}

TEST(answers_at_once, verifier_asks_such_a_resolver_directly) {
  const std::string msg = test::sign_with(test::sample_message(), test::ed25519(), "sel");
  for (bool at_once : {true, false}) {
    counting_resolver dns(test::ed25519().public_record(), at_once);
    auto r = verify(msg, test::options_for(dns));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, status::pass) << r[0].reason;
    EXPECT_EQ(r[0].dnssec, dnssec_status::secure);  // the answer's state either way
    EXPECT_EQ(dns.direct.load(), 1);
    EXPECT_EQ(dns.async.load(), at_once ? 0 : 1);
  }
}

}  // namespace
}  // namespace dkimkit
