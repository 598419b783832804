// walk_mail_files (dkimkit/mailbox.hpp): Maildir and directory trees, in a stable order.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <dkimkit/mailbox.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dkimkit {
namespace {

namespace fs = std::filesystem;

class mail_files : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dkimkit-mailfiles.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void touch(const std::string& rel) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << "x";
  }
  // "kind:relative path" of each visited file.
  std::vector<std::string> walk(const std::string& rel = "") {
    std::vector<std::string> out;
    fs::path dir = rel.empty() ? root_ : root_ / rel;
    walk_mail_files(dir.string(), [&](const mail_file& f) {
      const char* k = f.type == mail_file::kind::unknown   ? "file"
                      : f.type == mail_file::kind::message ? "message"
                                                           : "error";
      out.push_back(std::string(k) + ":" + fs::path(f.path).lexically_relative(root_).string());
    });
    return out;
  }
  fs::path root_;
};

using list = std::vector<std::string>;

TEST_F(mail_files, maildir_cur_then_new_sorted_tmp_and_dot_files_skipped) {
  touch("md/new/2.b");
  touch("md/new/1.a");
  touch("md/cur/3.c:2,S");
  touch("md/cur/.hidden");
  touch("md/tmp/4.d");
  touch("md/dovecot-uidlist");
  EXPECT_EQ(walk("md"),
            list({"message:md/cur/3.c:2,S", "message:md/new/1.a", "message:md/new/2.b"}));
}

TEST_F(mail_files, maildir_with_new_only) {
  touch("md/new/1");
  EXPECT_EQ(walk("md"), list{"message:md/new/1"});
}

TEST_F(mail_files, maildirpp_folders_are_walked_after_the_inbox) {
  touch("md/cur/1");
  touch("md/.Sent/cur/2");
  touch("md/.Sent/maildirfolder");
  EXPECT_EQ(walk("md"), list({"message:md/cur/1", "message:md/.Sent/cur/2"}));
}

TEST_F(mail_files, tree_is_walked_recursively_sorted) {
  touch("t/b.eml");
  touch("t/a/z.mbox");
  touch("t/a/y/x.eml");
  touch("t/c/new/1");
  EXPECT_EQ(walk("t"),
            list({"file:t/a/y/x.eml", "file:t/a/z.mbox", "file:t/b.eml", "message:t/c/new/1"}));
}

TEST_F(mail_files, symbolic_links_are_not_followed) {
  touch("t/a.eml");
  fs::create_directory_symlink(root_ / "t", root_ / "t/loop");
  fs::create_symlink(root_ / "t/a.eml", root_ / "t/link.eml");
  EXPECT_EQ(walk("t"), list{"file:t/a.eml"});
}

TEST_F(mail_files, unreadable_directory_is_an_error_and_the_walk_goes_on) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any directory";
  touch("t/a/1.eml");
  touch("t/b/2.eml");
  fs::permissions(root_ / "t/a", fs::perms::none);
  list got = walk("t");
  fs::permissions(root_ / "t/a", fs::perms::owner_all);
  EXPECT_EQ(got, list({"error:t/a", "file:t/b/2.eml"}));
}

TEST_F(mail_files, missing_directory_is_an_error) { EXPECT_EQ(walk("nope"), list{"error:nope"}); }

// The bytes of `f` read through open_mail_file(), or "error: WHY".
std::string read_all(const mail_file& f) {
  std::string why;
  const int fd = open_mail_file(f, why);
  if (fd < 0) return "error: " + why;
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return n < 0 ? "error: read" : got;
}

TEST_F(mail_files, open_mail_file_opens_the_visited_files) {
  touch("t/a.eml");
  touch("md/cur/1");
  std::ofstream(root_ / "t/b.eml") << std::string(200000, 'b');
  std::vector<std::string> got;
  for (const char* dir : {"t", "md"})
    walk_mail_files((root_ / dir).string(), [&](const mail_file& f) { got.push_back(read_all(f)); });
  EXPECT_EQ(got, list({"x", std::string(200000, 'b'), "x"}));
}

TEST_F(mail_files, a_file_swapped_for_a_fifo_after_the_listing_is_not_waited_on) {
  touch("t/a.eml");
  touch("t/b.eml");
  std::vector<std::string> got;
  walk_mail_files((root_ / "t").string(), [&](const mail_file& f) {
    if (f.name == "a.eml") {  // b.eml was listed as a regular file; it is now a FIFO
      fs::remove(root_ / "t/b.eml");
      ASSERT_EQ(mkfifo((root_ / "t/b.eml").c_str(), 0600), 0);
    }
    got.push_back(read_all(f));
  });
  EXPECT_EQ(got, list({"x", "error: " + (root_ / "t/b.eml").string() + ": not a regular file"}));
}

TEST_F(mail_files, a_file_swapped_for_a_symbolic_link_after_the_listing_is_not_followed) {
  touch("t/a.eml");
  touch("t/b.eml");
  std::ofstream(root_ / "secret") << "secret";
  std::vector<std::string> got;
  walk_mail_files((root_ / "t").string(), [&](const mail_file& f) {
    if (f.name == "a.eml") {
      fs::remove(root_ / "t/b.eml");
      fs::create_symlink(root_ / "secret", root_ / "t/b.eml");
    }
    got.push_back(read_all(f));
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "x");
  EXPECT_TRUE(got[1].starts_with("error: " + (root_ / "t/b.eml").string() + ": ")) << got[1];
}

TEST_F(mail_files, a_directory_swapped_for_a_symbolic_link_after_the_listing_is_not_followed) {
  touch("t/a.eml");
  touch("t/b/1.eml");
  touch("elsewhere/2.eml");
  list got;
  walk_mail_files((root_ / "t").string(), [&](const mail_file& f) {
    if (f.name == "a.eml") {
      fs::rename(root_ / "t/b", root_ / "b.moved");
      fs::create_directory_symlink(root_ / "elsewhere", root_ / "t/b");
    }
    got.push_back((f.type == mail_file::kind::error ? "error:" : "file:") +
                  fs::path(f.path).lexically_relative(root_).string());
  });
  EXPECT_EQ(got, list({"file:t/a.eml", "error:t/b"}));
}

TEST_F(mail_files, open_mail_file_without_a_walk_opens_the_path_but_not_a_fifo) {
  touch("a.eml");
  ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(read_all({(root_ / "a.eml").string(), mail_file::kind::unknown, {}, -1, {}}), "x");
  EXPECT_EQ(read_all({(root_ / "fifo").string(), mail_file::kind::unknown, {}, -1, {}}),
            "error: " + (root_ / "fifo").string() + ": not a regular file");
}

}  // namespace
}  // namespace dkimkit
