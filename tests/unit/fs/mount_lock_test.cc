// The single-writer lock in the backend, and which metadata a mount trusts:
// a second cache folder is refused while the first holds the lock, a crash
// leaves the lock to its own cache folder (or to fsck), versions a crashed
// mount uploaded itself do not discard its newer local database, and a
// rolled-back backend is refused.
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "fs_test_util.h"
#include "hoardfs/mount_lock.h"

namespace hoardfs::testing {
namespace {

class MountLockTest : public FsTest {
 protected:
  Result<std::unique_ptr<Filesystem>> open_with_cache(const std::string& cache,
                                                      StaleLockPolicy policy = StaleLockPolicy::kRefuse) {
    MountOptions other = options_;
    other.cache_dir = (root_ / cache).string();
    other.stale_lock = policy;
    return Filesystem::open(*backend_, keys_, kTestBlock, other);
  }
  std::optional<LockHolder> holder() {
    std::string text;
    if (!backend_->get(object_names::lock(), &text).is_ok()) return std::nullopt;
    auto parsed = LockHolder::from_json(text);
    return parsed.is_ok() ? std::optional<LockHolder>(parsed.value()) : std::nullopt;
  }
  void write_file(uint64_t parent, const std::string& name, const std::string& data, bool fsync) {
    uint64_t ino = create(parent, name);
    uint64_t fh = 0;
    ASSERT_EQ(fs_->open(ino, O_RDWR, &fh), 0);
    size_t written = 0;
    ASSERT_EQ(fs_->write(ino, fh, 0, data, &written), 0);
    if (fsync) {
      ASSERT_EQ(fs_->fsync(ino, fh, false), 0);
    }
    ASSERT_EQ(fs_->release(ino, fh), 0);
  }
};

TEST_F(MountLockTest, SecondCacheFolderIsRefusedUntilTheFirstUnmounts) {
  mount();
  auto lock = holder();
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->cache_dir, options_.cache_dir);
  EXPECT_EQ(lock->pid, ::getpid());

  auto second = open_with_cache("other-cache");
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Status::Code::kAlreadyExists);
  EXPECT_NE(second.status().to_string().find(lock->host), std::string::npos) << second.status().to_string();
  EXPECT_EQ(holder()->token, lock->token) << "a refused mount must leave the lock alone";

  unmount();
  EXPECT_FALSE(holder().has_value()) << "a clean unmount releases the lock";
  auto third = open_with_cache("other-cache");
  ASSERT_TRUE(third.is_ok()) << third.status().to_string();
  ASSERT_TRUE((*third)->shutdown().is_ok());
}

TEST_F(MountLockTest, CrashLeavesTheLockToItsCacheFolderAndToFsck) {
  mount();
  write_file(kRootInode, "kept", "fsync'd before the crash", true);
  crash();
  ASSERT_TRUE(holder().has_value()) << "a crash cannot release the lock";

  // Another cache folder: refused, even with fsck's policy, while the holder
  // (this very process) is alive.
  EXPECT_EQ(open_with_cache("other-cache").status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(open_with_cache("other-cache", StaleLockPolicy::kBreakIfDead).status().code(),
            Status::Code::kAlreadyExists);

  // The crashed mount's own cache folder takes over and recovers.
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "kept")), "fsync'd before the crash");
  unmount();
}

TEST_F(MountLockTest, FsckBreaksTheLockOfADeadProcessOnThisHost) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // a pid that no longer runs
  LockHolder dead = this_holder("/somewhere/else");
  dead.pid = child;
  ASSERT_TRUE(backend_->put(object_names::lock(), dead.to_json()).is_ok());

  EXPECT_EQ(open_with_cache("cache", StaleLockPolicy::kRefuse).status().code(), Status::Code::kAlreadyExists);
  auto fsck = open_with_cache("cache", StaleLockPolicy::kBreakIfDead);
  ASSERT_TRUE(fsck.is_ok()) << fsck.status().to_string();
  EXPECT_EQ(holder()->pid, ::getpid());
  ASSERT_TRUE((*fsck)->shutdown().is_ok());
}

TEST_F(MountLockTest, AnotherHostsLockIsBrokenOnlyOnRequest) {
  LockHolder remote = this_holder("/var/cache/hoardfs");
  remote.host = "some-other-host.example";
  ASSERT_TRUE(backend_->put(object_names::lock(), remote.to_json()).is_ok());
  auto refused = open_with_cache("cache", StaleLockPolicy::kBreakIfDead);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().to_string().find("--break-lock"), std::string::npos) << refused.status().to_string();
  auto broken = open_with_cache("cache", StaleLockPolicy::kBreakAlways);
  ASSERT_TRUE(broken.is_ok()) << broken.status().to_string();
  ASSERT_TRUE((*broken)->shutdown().is_ok());
}

TEST_F(MountLockTest, AnotherHostsLockWithoutHeartbeatIsStaleForFsck) {
  LockHolder remote = this_holder("/var/cache/hoardfs");
  remote.host = "crashed-host.example";
  remote.heartbeat_unix = std::time(nullptr) - kStaleAfter.count() - 60;
  ASSERT_TRUE(backend_->put(object_names::lock(), remote.to_json()).is_ok());
  EXPECT_EQ(open_with_cache("cache", StaleLockPolicy::kRefuse).status().code(), Status::Code::kAlreadyExists)
      << "a mount never breaks another host's lock";
  auto fsck = open_with_cache("cache", StaleLockPolicy::kBreakIfDead);
  ASSERT_TRUE(fsck.is_ok()) << fsck.status().to_string();
  EXPECT_EQ(holder()->host, this_holder("").host);
  ASSERT_TRUE((*fsck)->shutdown().is_ok());
}

TEST_F(MountLockTest, MountRenewsItsHeartbeat) {
  options_.lock_heartbeat = std::chrono::milliseconds(20);
  mount();
  const auto first = holder();
  ASSERT_TRUE(first.has_value());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::optional<LockHolder> now = first;
  while (now && now->sequence < first->sequence + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
    now = holder();
  }
  ASSERT_TRUE(now.has_value());
  EXPECT_GE(now->sequence, first->sequence + 3);
  EXPECT_EQ(now->token, first->token);
  unmount();
  EXPECT_FALSE(holder().has_value());
}

TEST_F(MountLockTest, MountWhoseLockWasBrokenStopsUploadingMetadata) {
  mount();
  LockHolder thief = this_holder("/elsewhere");
  thief.host = "thief.example";
  ASSERT_TRUE(backend_->put(object_names::lock(), thief.to_json()).is_ok());
  create(kRootInode, "late");
  Status uploaded = fs_->upload_metadata();
  EXPECT_EQ(uploaded.code(), Status::Code::kPermissionDenied) << uploaded.to_string();
  EXPECT_NE(uploaded.to_string().find("thief.example"), std::string::npos) << uploaded.to_string();
  EXPECT_FALSE(fs_->shutdown().is_ok());
  fs_.reset();
  EXPECT_EQ(holder()->host, "thief.example") << "the new holder's lock stays";
  ASSERT_TRUE(backend_->remove({object_names::lock()}).is_ok());
}

// A crash between a metadata upload and recording its number in the cache
// folder: the version in the backend is this cache folder's own snapshot, so
// the local database (newer, with fsync'd changes) is kept.
TEST_F(MountLockTest, OwnUnrecordedUploadDoesNotDiscardTheLocalDatabase) {
  mount();
  const std::string state_path = options_.cache_dir + "/state";
  std::string recorded;
  std::getline(std::ifstream(state_path), recorded);
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  write_file(kRootInode, "after-upload", "fsync'd after the upload", true);
  crash();
  std::ofstream(state_path, std::ios::trunc) << recorded << "\n";  // as if the crash came first

  mount();
  EXPECT_EQ(read(lookup(kRootInode, "after-upload")), "fsync'd after the upload");
  unmount();
}

TEST_F(MountLockTest, RolledBackMetadataIsRefused) {
  mount();
  create(kRootInode, "one");
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  create(kRootInode, "two");
  unmount();
  ObjectCodec codec(keys_, 3);
  MetadataSync sync(*backend_, codec, {});
  auto versions = sync.list_versions();
  ASSERT_TRUE(versions.is_ok()) << versions.status().to_string();
  ASSERT_GE(versions->size(), 2u);
  ASSERT_TRUE(backend_->remove({object_names::manifest(versions->back().version)}).is_ok());

  auto opened = Filesystem::open(*backend_, keys_, kTestBlock, options_);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
  EXPECT_NE(opened.status().to_string().find("rolled back"), std::string::npos) << opened.status().to_string();
  EXPECT_FALSE(holder().has_value()) << "a refused open gives the lock back";
}

}  // namespace
}  // namespace hoardfs::testing
