// Which SETATTR requests drop setuid/setgid when the kernel leaves that to
// the filesystem (FUSE_CAP_HANDLE_KILLPRIV), and the mount's permission mode.
#include <gtest/gtest.h>
#include <unistd.h>

#include "fuse/fuse_operations.h"

namespace hoardfs::fuse_internal {
namespace {

bool drops(int to_set, uid_t caller = 0, bool handle_killpriv = true) {
  struct stat values {};
  return attr_changes_from(values, to_set, handle_killpriv, caller).drop_privileges;
}

TEST(AttrChangesFrom, AChangeOfOwnerDropsPrivileges) {
  EXPECT_TRUE(drops(FUSE_SET_ATTR_UID));
  EXPECT_TRUE(drops(FUSE_SET_ATTR_GID));
  EXPECT_TRUE(drops(FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID));
}

TEST(AttrChangesFrom, AnEmptyRequestIsAChownToTheSameOwner) {
  // chown(f, -1, -1), or the kernel asking on behalf of an unprivileged writer.
  EXPECT_TRUE(drops(0));
  EXPECT_TRUE(drops(FUSE_SET_ATTR_CTIME));
}

TEST(AttrChangesFrom, ModesTimesAndRootsTruncationsKeepThem) {
  EXPECT_FALSE(drops(FUSE_SET_ATTR_MODE));
  EXPECT_FALSE(drops(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME));
  EXPECT_FALSE(drops(FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_ATIME |
                     FUSE_SET_ATTR_MTIME));
  EXPECT_FALSE(drops(FUSE_SET_ATTR_SIZE, 0));
  EXPECT_TRUE(drops(FUSE_SET_ATTR_SIZE, 1000)) << "an unprivileged truncation drops them";
}

TEST(AttrChangesFrom, NothingIsDroppedWhenTheKernelDoesIt) {
  EXPECT_FALSE(drops(FUSE_SET_ATTR_UID, 0, false));
  EXPECT_FALSE(drops(0, 0, false));
}

TEST(AttrChangesFrom, TranslatesTheFields) {
  struct stat values {};
  values.st_mode = 0640;
  AttrChanges c = attr_changes_from(values, FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_MTIME_NOW, false, 0);
  EXPECT_TRUE(c.mode);
  EXPECT_TRUE(c.mtime_now);
  EXPECT_FALSE(c.uid || c.gid || c.size || c.atime || c.mtime || c.ctime);
  EXPECT_EQ(c.values.st_mode, 0640u);
}

TEST(KernelChecksPermissions, OnlyARootOnlyMountWithoutAclsGoesWithout) {
  FuseOptions options;
  EXPECT_EQ(kernel_checks_permissions(options), ::geteuid() != 0);
  options.allow_other = true;
  EXPECT_TRUE(kernel_checks_permissions(options));
  options.allow_other = false;
  options.posix_acl = true;
  EXPECT_TRUE(kernel_checks_permissions(options));
}

}  // namespace
}  // namespace hoardfs::fuse_internal
