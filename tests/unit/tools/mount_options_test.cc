#include "tools/mount_options.h"

#include <gtest/gtest.h>

#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

MountRequest base_request() {
  MountRequest request;
  request.storage_url = "local:///srv/b";
  request.mountpoint = "/mnt/b";
  return request;
}

TEST(MountOptionList, WhatMount8Passes) {
  MountRequest request = base_request();
  ASSERT_TRUE(apply_mount_option_list(
                  "rw,noatime,allow_other,cachedir=/var/cache/h,cachesize=20G,compress=zstd-9,"
                  "_netdev,noauto,x-systemd.automount,defaults,user,nofail,comment=x",
                  &request)
                  .is_ok());
  EXPECT_TRUE(request.allow_other);
  EXPECT_EQ(request.cachedir, "/var/cache/h");
  EXPECT_EQ(request.cachesize, "20G");
  EXPECT_EQ(request.compress, "zstd-9");
  EXPECT_EQ(request.mount_flags, (std::vector<std::string>{"rw", "noatime"}));
  EXPECT_EQ(request.ignored_options.size(), 7u);
}

TEST(MountOptionList, ToolOptions) {
  MountRequest request = base_request();
  ASSERT_TRUE(apply_mount_option_list("fg,debug,threads=8,metadata-upload-interval=600,"
                                      "metadata-versions=3,authfile=/etc/hoardfs/auth,allow_root",
                                      &request)
                  .is_ok());
  EXPECT_TRUE(request.foreground);
  EXPECT_TRUE(request.debug);
  EXPECT_TRUE(request.allow_root);
  EXPECT_EQ(request.threads, 8u);
  EXPECT_EQ(request.metadata_upload_interval_s, 600u);
  EXPECT_EQ(request.metadata_versions, 3u);
  EXPECT_EQ(request.authfile, "/etc/hoardfs/auth");
}

TEST(MountOptionList, IoUringAndItsPolling) {
  MountRequest request = base_request();
  auto resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_FALSE(resolved->fuse.io_uring);
  EXPECT_FALSE(resolved->fuse.spin_us.has_value());  // by the number of CPUs
  ASSERT_TRUE(apply_mount_option_list("io_uring,spin=0", &request).is_ok());
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_TRUE(resolved->fuse.io_uring);
  EXPECT_EQ(resolved->fuse.spin_us, std::optional<unsigned>(0));
  EXPECT_FALSE(apply_mount_option_list("spin=-5", &request).is_ok());
  EXPECT_FALSE(apply_mount_option_list("spin", &request).is_ok());
}

TEST(MountOptionList, DirectWritesFollowTheKernelUnlessSet) {
  MountRequest request = base_request();
  auto resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_FALSE(resolved->fuse.direct_writes.has_value());  // decided at FUSE init
  ASSERT_TRUE(apply_mount_option_list("nodirect_writes", &request).is_ok());
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->fuse.direct_writes, std::optional<bool>(false));
  ASSERT_TRUE(apply_mount_option_list("direct_writes", &request).is_ok());
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->fuse.direct_writes, std::optional<bool>(true));
  EXPECT_FALSE(apply_mount_option_list("direct_writes=1", &request).is_ok());
}

TEST(MountOptionList, BackendOptionsUseColons) {
  MountRequest request = base_request();
  ASSERT_TRUE(apply_mount_option_list("backend-options=no-ssl:sig=v2", &request).is_ok());
  EXPECT_EQ(request.backend_options, "no-ssl,sig=v2");
  ASSERT_TRUE(apply_mount_option_list("backend-options=list=v2", &request).is_ok());
  EXPECT_EQ(request.backend_options, "no-ssl,sig=v2,list=v2");
}

TEST(MountOptionList, RejectsUnknownAndMalformed) {
  MountRequest request = base_request();
  auto unknown = apply_mount_option_list("rw,bogus", &request);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.message().find("unknown mount option 'bogus'"), std::string::npos);
  EXPECT_FALSE(apply_mount_option_list("threads=many", &request).is_ok());
  EXPECT_FALSE(apply_mount_option_list("cachedir=", &request).is_ok());
  EXPECT_FALSE(apply_mount_option_list("cachedir", &request).is_ok());
  EXPECT_FALSE(apply_mount_option_list("allow_other=1", &request).is_ok());
}

TEST(MountOptionList, EmptyItemsAreSkipped) {
  MountRequest request = base_request();
  EXPECT_TRUE(apply_mount_option_list("", &request).is_ok());
  EXPECT_TRUE(apply_mount_option_list(",,ro,", &request).is_ok());
  EXPECT_EQ(request.mount_flags, (std::vector<std::string>{"ro"}));
}

TEST(ResolveMount, DefaultsAndConversions) {
  MountRequest request = base_request();
  auto resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok()) << resolved.status().to_string();
  EXPECT_EQ(resolved->mount.cache_bytes, 4ull << 30);
  EXPECT_EQ(resolved->mount.zstd_level, 2);
  EXPECT_EQ(resolved->mount.upload_threads, 4u);
  EXPECT_EQ(resolved->mount.metadata_interval_s, 3600u);
  EXPECT_EQ(resolved->mount.storage_url, "local:///srv/b");
  EXPECT_EQ(resolved->cache_root, default_cache_root());
  EXPECT_EQ(resolved->fuse.fsname, "local:///srv/b");
  EXPECT_FALSE(resolved->fuse.allow_other);

  request.cachesize = "512M";
  request.compress = "none";
  request.cachedir = "/tmp/c";
  request.allow_other = true;
  request.mount_flags = {"ro"};
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->mount.cache_bytes, 512ull << 20);
  EXPECT_EQ(resolved->mount.zstd_level, 0);
  EXPECT_EQ(resolved->cache_root, "/tmp/c");
  EXPECT_TRUE(resolved->fuse.allow_other);
  EXPECT_EQ(resolved->fuse.mount_flags, std::vector<std::string>{"ro"});
  EXPECT_FALSE(resolved->mount.posix_acl);
}

TEST(ResolveMount, SequentialCutoffIsASize) {
  MountRequest request = base_request();
  auto resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->mount.sequential_cutoff_bytes, 64ull << 20);
  ASSERT_TRUE(apply_mount_option_list("sequential-cutoff=1G", &request).is_ok());
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->mount.sequential_cutoff_bytes, 1ull << 30);
  ASSERT_TRUE(apply_mount_option_list("sequential-cutoff=0", &request).is_ok());  // every block cached
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_EQ(resolved->mount.sequential_cutoff_bytes, 0u);
}

TEST(ResolveMount, AclReachesTheFilesystemAndTheKernel) {
  MountRequest request = base_request();
  ASSERT_TRUE(apply_mount_option_list("acl", &request).is_ok());
  auto resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_TRUE(resolved->mount.posix_acl);
  EXPECT_TRUE(resolved->fuse.posix_acl);
  ASSERT_TRUE(apply_mount_option_list("noacl", &request).is_ok());  // the last one wins
  resolved = resolve_mount_request(request);
  ASSERT_TRUE(resolved.is_ok());
  EXPECT_FALSE(resolved->mount.posix_acl);
  EXPECT_FALSE(resolved->fuse.posix_acl);
}

TEST(ResolveMount, RejectsBadValues) {
  auto expect_usage = [](MountRequest request) {
    auto resolved = resolve_mount_request(request);
    ASSERT_FALSE(resolved.is_ok());
    EXPECT_EQ(resolved.status().code(), Status::Code::kInvalidArgument);
  };
  MountRequest request = base_request();
  request.cachesize = "lots";
  expect_usage(request);
  request = base_request();
  request.cachesize = "1M";  // below the minimum
  expect_usage(request);
  request = base_request();
  request.compress = "gzip";
  expect_usage(request);
  request = base_request();
  request.sequential_cutoff = "far";
  expect_usage(request);
  request = base_request();
  request.threads = 0;
  expect_usage(request);
  request = base_request();
  request.debug = request.quiet = true;
  expect_usage(request);
}

}  // namespace
}  // namespace hoardfs::tools
