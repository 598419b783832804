// walk_mail_files (dkimkit/mailbox.hpp): Maildir and directory trees, in a stable order.
#include <gtest/gtest.h>
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

}  // namespace
}  // namespace dkimkit
