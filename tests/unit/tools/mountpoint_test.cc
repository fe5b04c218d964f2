#include "tools/mountpoint.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace hoardfs::tools {
namespace {

const char* kMountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:35 / /mnt/with\\040space rw,nosuid,nodev shared:20 - fuse.hoardfs local:///srv/x rw\n"
    "41 22 0:36 / /mnt/b rw - tmpfs tmpfs rw\n"
    "42 41 0:37 / /mnt/b rw,nosuid - fuse.hoardfs local:///srv/b rw,user_id=0\n";

TEST(Mountinfo, FindsMountPointsWithEscapes) {
  std::string type, source;
  EXPECT_TRUE(mountinfo_has_mountpoint(kMountinfo, "/mnt/with space", &type, &source));
  EXPECT_EQ(type, "fuse.hoardfs");
  EXPECT_EQ(source, "local:///srv/x");
  EXPECT_TRUE(mountinfo_has_mountpoint(kMountinfo, "/", &type, &source));
  EXPECT_EQ(type, "ext4");
  EXPECT_FALSE(mountinfo_has_mountpoint(kMountinfo, "/mnt", &type, &source));
  EXPECT_FALSE(mountinfo_has_mountpoint(kMountinfo, "/mnt/with", &type, &source));
}

TEST(Mountinfo, TopmostMountWins) {
  std::string type, source;
  EXPECT_TRUE(mountinfo_has_mountpoint(kMountinfo, "/mnt/b", &type, &source));
  EXPECT_EQ(type, "fuse.hoardfs");
  EXPECT_EQ(source, "local:///srv/b");
}

TEST(CheckMountpoint, ClearErrorsWithExitCode18) {
  std::string absolute;
  ToolError error;
  EXPECT_FALSE(check_mountpoint("/nonexistent/hoardfs/mp", &absolute, &error));
  EXPECT_EQ(error.exit_code, exit_code::kMountpoint);
  EXPECT_NE(error.message.find("does not exist"), std::string::npos);

  char file[] = "/tmp/mountpoint-test-XXXXXX";
  int fd = mkstemp(file);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_FALSE(check_mountpoint(file, &absolute, &error));
  EXPECT_NE(error.message.find("not a directory"), std::string::npos);
  unlink(file);

  EXPECT_FALSE(check_mountpoint("/", &absolute, &error));  // "/" is always a mount point
  EXPECT_EQ(error.exit_code, exit_code::kMountpoint);
  EXPECT_NE(error.message.find("already a mount point"), std::string::npos);
}

TEST(CheckMountpoint, AcceptsAPlainDirectory) {
  char dir[] = "/tmp/mountpoint-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string absolute;
  ToolError error;
  EXPECT_TRUE(check_mountpoint(std::string(dir) + "/.", &absolute, &error)) << error.message;
  EXPECT_EQ(absolute, dir);
  rmdir(dir);
}

}  // namespace
}  // namespace hoardfs::tools
