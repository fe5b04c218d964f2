// Raising a mount's read-ahead through its backing device's sysfs file (a
// folder standing in for /sys/class/bdi).
#include "fuse/mount_readahead.h"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace hoardfs::fuse_internal {
namespace {

class MountReadaheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("hoardfs-bdi-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "0:57");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void set_kib(const std::string& text) { std::ofstream(root_ / "0:57" / "read_ahead_kb") << text; }
  std::string kib() {
    std::ifstream in(root_ / "0:57" / "read_ahead_kb");
    std::string text;
    std::getline(in, text);
    return text;
  }

  std::filesystem::path root_;
  const dev_t device_ = makedev(0, 57);
};

TEST_F(MountReadaheadTest, RaisesTheKernelDefaultToTheRequestedSize) {
  set_kib("128\n");
  uint64_t before = 0;
  ASSERT_TRUE(raise_readahead(root_, device_, 1u << 20, &before).is_ok());
  EXPECT_EQ(before, 128u);
  EXPECT_EQ(kib(), "1024");
}

TEST_F(MountReadaheadTest, KeepsALargerSettingOfTheAdministrators) {
  set_kib("4096\n");
  uint64_t before = 0;
  ASSERT_TRUE(raise_readahead(root_, device_, 1u << 20, &before).is_ok());
  EXPECT_EQ(before, 4096u);
  EXPECT_EQ(kib(), "4096");
}

TEST_F(MountReadaheadTest, RoundsUpToWholeKibibytes) {
  set_kib("0\n");
  uint64_t before = 1;
  ASSERT_TRUE(raise_readahead(root_, device_, 1500, &before).is_ok());
  EXPECT_EQ(before, 0u);
  EXPECT_EQ(kib(), "2");
}

TEST_F(MountReadaheadTest, ADeviceWithoutSysfsEntryIsNotFound) {
  uint64_t before = 0;
  Status s = raise_readahead(root_, makedev(0, 58), 1u << 20, &before);
  EXPECT_TRUE(s.is_not_found()) << s.to_string();
  EXPECT_EQ(kib(), "");
}

}  // namespace
}  // namespace hoardfs::fuse_internal
