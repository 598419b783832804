// parse_redis_address (dkimkit/redis_replay.hpp): the store addresses accepted, and junk refused
// with a reason, never a crash.
#include <gtest/gtest.h>

#include <dkimkit/redis_replay.hpp>

namespace dkimkit {
namespace {

TEST(redis_address, host_port_db) {
  auto a = parse_redis_address("redis://127.0.0.1:6380/3");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 3);
  EXPECT_TRUE(a->unix_path.empty());
  EXPECT_TRUE(a->password.empty());
}

TEST(redis_address, defaults_port_6379_db_0) {
  auto a = parse_redis_address("redis://redis.example.net");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->host, "redis.example.net");
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->db, 0);
}

TEST(redis_address, ipv6_in_brackets) {
  auto a = parse_redis_address("redis://[::1]:7000/1");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->db, 1);
  auto b = parse_redis_address("redis://[2001:db8::5]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "2001:db8::5");
  EXPECT_EQ(b->port, 6379);
}

TEST(redis_address, password_and_user) {
  auto a = parse_redis_address("redis://:s3cret@127.0.0.1");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->password, "s3cret");
  EXPECT_TRUE(a->user.empty());
  auto b = parse_redis_address("redis://milter:p%40ss:w@host:1/2");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->user, "milter");
  EXPECT_EQ(b->password, "p@ss:w");
  EXPECT_EQ(b->host, "host");
  // The last '@' ends the user information.
  auto c = parse_redis_address("redis://:a@b@host");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "a@b");
  EXPECT_EQ(c->host, "host");
}

TEST(redis_address, unix_socket_with_db) {
  auto a = parse_redis_address("unix:/run/redis/redis.sock?db=4");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(a->db, 4);
  EXPECT_TRUE(a->host.empty());
  auto b = parse_redis_address("unix:/tmp/r.sock");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->db, 0);
}

TEST(redis_address, rediss_refused_for_want_of_tls) {
  auto a = parse_redis_address("rediss://127.0.0.1:6380/0");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, errc::unsupported);
  EXPECT_NE(a.error().detail.find("TLS"), std::string::npos) << a.error().detail;
}

// A mistaken address that holds a password is refused without repeating it: the error goes to
// logs, --check-config and replay-stats.
TEST(redis_address, errors_never_repeat_a_password) {
  for (const char* s : {"Redis://:S3cr3tPw@host", "redis:/:S3cr3tPw@host", "redis//:S3cr3tPw@host",
                        "redis://host:S3cr3tPw", "redis://:S3cr3tPw@host:S3cr3tPw",
                        "unix:/run/redis.sock?password=S3cr3tPw", "S3cr3tPw",
                        "rediss://:S3cr3tPw@host"}) {
    auto a = parse_redis_address(s);
    ASSERT_FALSE(a) << s;
    EXPECT_EQ(a.error().detail.find("S3cr3t"), std::string::npos) << s << ": " << a.error().detail;
  }
}

TEST(redis_address, junk_refused_with_a_reason) {
  for (const char* s : {"",
                        "redis://",
                        "redis://:6379",
                        "redis://host:",
                        "redis://host:0",
                        "redis://host:65536",
                        "redis://host:12345678",
                        "redis://host:-1",
                        "redis://host:6379/",
                        "redis://host/x",
                        "redis://host/1/2",
                        "redis://host/99999999999",
                        "redis://host?db=1",
                        "redis://ho st",
                        "redis://[::1",
                        "redis://[not-v6]:1",
                        "redis://[::1]x",
                        "redis://pass@host",
                        "redis://user:@host",
                        "redis://:%zz@host",
                        "redis://:%4@host",
                        "redis://h\x01st",
                        "redis://h\xc3\xa9st",
                        "http://host",
                        "unix:",
                        "unix:relative.sock",
                        "unix:/x?db=",
                        "unix:/x?db=a",
                        "unix:/x?timeout=3",
                        "tcp://host",
                        "redis:/host"}) {
    auto a = parse_redis_address(s);
    EXPECT_FALSE(a) << "accepted: " << s;
    if (!a) {
      EXPECT_FALSE(a.error().detail.empty()) << s;
    }
  }
  const std::string long_path = "unix:/" + std::string(200, 'a');
  EXPECT_FALSE(parse_redis_address(long_path));
  EXPECT_FALSE(parse_redis_address("redis://" + std::string(2000, 'a')));
  // Every prefix of a valid address and NUL bytes inside: an answer, never a crash.
  const std::string full = "redis://us%41:p@[2001:db8::1]:6380/7";
  for (std::size_t n = 0; n <= full.size(); ++n) (void)parse_redis_address(full.substr(0, n));
  EXPECT_FALSE(parse_redis_address(std::string("redis://ho\0st", 13)));
}

}  // namespace
}  // namespace dkimkit
