// The ids of user "nobody" and of group 0, for tests of the user to run as (UserID, user/group).
#pragma once

#include <grp.h>
#include <pwd.h>

#include <optional>
#include <string>

namespace dkimkit::test {

struct nobody_ids {
  uid_t uid;
  gid_t login_gid;         // nobody's login group
  std::string root_group;  // the name of group 0
};

// Empty where there is no user nobody or no group 0 (the caller skips).
inline std::optional<nobody_ids> find_nobody() {
  const ::passwd* pw = ::getpwnam("nobody");
  if (!pw) return std::nullopt;
  nobody_ids ids{pw->pw_uid, pw->pw_gid, {}};
  const ::group* gr0 = ::getgrgid(0);
  if (!gr0) return std::nullopt;
  ids.root_group = gr0->gr_name;
  return ids;
}

}  // namespace dkimkit::test
