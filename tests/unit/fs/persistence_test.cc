// What survives an unmount, a lost cache and a crash; what the backend sees.
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <atomic>
#include <map>
#include <thread>

#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

class PersistenceTest : public FsTest {};

TEST_F(PersistenceTest, RemountWithAnEmptyCacheRestoresEverything) {
  mount();
  uint64_t d = mkdir(kRootInode, "dir");
  uint64_t f = create(d, "file", 0640);
  const std::string data = random_bytes(3 * kTestBlock + 11);
  write(f, 0, data);
  struct stat st {};
  ASSERT_EQ(fs_->link(f, kRootInode, "hardlink", &st), 0);
  ASSERT_EQ(fs_->symlink("dir/file", kRootInode, "sym", caller_, &st), 0);
  ASSERT_EQ(fs_->setxattr(f, "user.note", "hello", 0, caller_), 0);
  AttrChanges c;
  c.mtime = true;
  c.values.st_mtim = {1500000000, 42};
  ASSERT_EQ(fs_->setattr(f, c, caller_, &st), 0);
  unmount();
  drop_cache();

  mount();
  uint64_t d2 = lookup(kRootInode, "dir");
  ASSERT_NE(d2, 0u);
  uint64_t f2 = lookup(d2, "file");
  ASSERT_NE(f2, 0u);
  EXPECT_EQ(read(f2), data);
  st = attr(f2);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 0640));
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 42);
  EXPECT_EQ(lookup(kRootInode, "hardlink"), f2);
  std::string target, note;
  ASSERT_EQ(fs_->readlink(lookup(kRootInode, "sym"), &target), 0);
  EXPECT_EQ(target, "dir/file");
  ASSERT_EQ(fs_->getxattr(f2, "user.note", caller_, &note), 0);
  EXPECT_EQ(note, "hello");
}

// getxattr answers for security.capability without the lock while no file
// has one (the kernel asks before every write); a stored one is found at once
// and after a remount.
TEST_F(PersistenceTest, FileCapabilitiesAreFoundWhenStoredAndAfterARemount) {
  mount();
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  std::string value;
  EXPECT_EQ(fs_->getxattr(a, "security.capability", caller_, &value), ENODATA);
  ASSERT_EQ(fs_->setxattr(a, "security.capability", "caps-a", 0, caller_), 0);
  ASSERT_EQ(fs_->getxattr(a, "security.capability", caller_, &value), 0);
  EXPECT_EQ(value, "caps-a");
  EXPECT_EQ(fs_->getxattr(b, "security.capability", caller_, &value), ENODATA);
  unmount();

  mount();
  ASSERT_EQ(fs_->getxattr(lookup(kRootInode, "a"), "security.capability", caller_, &value), 0);
  EXPECT_EQ(value, "caps-a");
  EXPECT_EQ(fs_->getxattr(lookup(kRootInode, "b"), "security.capability", caller_, &value), ENODATA);
  ASSERT_EQ(fs_->removexattr(lookup(kRootInode, "a"), "security.capability", caller_), 0);
  EXPECT_EQ(fs_->getxattr(lookup(kRootInode, "a"), "security.capability", caller_, &value), ENODATA);
  unmount();
}

TEST_F(PersistenceTest, FsyncedDataSurvivesACrash) {
  mount();
  uint64_t f = create(kRootInode, "journal");
  const std::string data = random_bytes(2 * kTestBlock + 5);
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(f, O_RDWR, &fh), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->write(f, fh, 0, data, &written), 0);
  ASSERT_EQ(fs_->fsync(f, fh, false), 0);
  crash();

  mount();  // same cache: finds the dirty blocks and uploads them
  EXPECT_EQ(read(lookup(kRootInode, "journal")), data);
  unmount();
  drop_cache();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "journal")), data);
}

// Group commit: namespace changes reach the database together, so a crash
// may take the last instant's unsynced ones; fsync and fsyncdir commit at once.
TEST_F(PersistenceTest, GroupCommitLosesOnlyUnsyncedChangesInACrash) {
  options_.commit_interval_ms = 600000;  // the committer never fires during this test
  mount();
  create(kRootInode, "unsynced");
  crash();
  mount();
  struct stat st {};
  EXPECT_EQ(fs_->lookup(kRootInode, "unsynced", &st), ENOENT);

  uint64_t d = mkdir(kRootInode, "dir");
  create(d, "synced-by-dir");
  ASSERT_EQ(fs_->fsyncdir(d, 0, false), 0);
  uint64_t f = create(kRootInode, "synced-by-file");
  write(f, 0, "contents");
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(f, O_RDWR, &fh), 0);
  ASSERT_EQ(fs_->fsync(f, fh, false), 0);
  crash();
  mount();
  EXPECT_EQ(read(lookup(lookup(kRootInode, "dir"), "synced-by-dir")), "");
  EXPECT_EQ(read(lookup(kRootInode, "synced-by-file")), "contents");
  unmount();
}

// link and unlink write a directory's new times to the database once per
// run of them in that directory (pending until another operation's
// statement, a link or unlink elsewhere, or the commit). Whatever reads the
// database meanwhile sees them, a later explicit time is not overwritten by
// them, and a commit (fsyncdir, or statfs's, which runs no statement before
// it) never leaves them out.
TEST_F(PersistenceTest, DirectoryTimesOfLinksAndUnlinksReachTheDatabase) {
  options_.commit_interval_ms = 600000;  // only fsyncdir commits
  mount();
  const uint64_t d1 = mkdir(kRootInode, "d1");
  const uint64_t d2 = mkdir(kRootInode, "d2");
  const uint64_t f = create(kRootInode, "f");
  struct stat st {};
  ASSERT_EQ(fs_->link(f, d1, "a", &st), 0);
  EXPECT_EQ(fs_->lookup(d1, "missing", &st), ENOENT);  // cp -al's look before each link
  ASSERT_EQ(fs_->link(f, d1, "b", &st), 0);
  const struct stat d1_linked = attr(d1);
  // readdirplus reads d1's row from the database, as a lookup in the root does.
  std::map<std::string, struct stat> listed;
  ASSERT_EQ(fs_->readdirplus(kRootInode, 0, 0, [&](std::string_view name, const struct stat& entry, uint64_t) {
    listed[std::string(name)] = entry;
    return true;
  }), 0);
  EXPECT_EQ(listed["d1"].st_mtim.tv_sec, d1_linked.st_mtim.tv_sec);
  EXPECT_EQ(listed["d1"].st_mtim.tv_nsec, d1_linked.st_mtim.tv_nsec);
  ASSERT_EQ(fs_->unlink(d1, "a"), 0);
  const struct stat d1_unlinked = attr(d1);
  ASSERT_EQ(fs_->link(f, d2, "c", &st), 0);  // another directory: d1's times go first
  const struct stat d2_linked = attr(d2);
  ASSERT_EQ(fs_->fsyncdir(kRootInode, 0, false), 0);
  crash();
  mount();
  EXPECT_EQ(attr(d1).st_mtim.tv_nsec, d1_unlinked.st_mtim.tv_nsec);
  EXPECT_EQ(attr(d1).st_ctim.tv_nsec, d1_unlinked.st_ctim.tv_nsec);
  EXPECT_EQ(attr(d2).st_mtim.tv_nsec, d2_linked.st_mtim.tv_nsec);

  // An explicit time set after a link (rsync sets each directory's at the
  // end) is the one kept.
  ASSERT_EQ(fs_->unlink(d2, "c"), 0);
  AttrChanges changes;
  changes.mtime = true;
  changes.values.st_mtim = {1234567, 89};
  ASSERT_EQ(fs_->setattr(d2, changes, caller_, &st), 0);
  ASSERT_EQ(fs_->fsyncdir(kRootInode, 0, false), 0);
  crash();
  mount();
  EXPECT_EQ(attr(d2).st_mtim.tv_sec, 1234567);
  EXPECT_EQ(attr(d2).st_mtim.tv_nsec, 89);
  EXPECT_EQ(lookup(d2, "c"), 0u);
  EXPECT_EQ(attr(f).st_nlink, 2u);  // f and d1/b

  // statfs commits the batch with no statement of its own first.
  ASSERT_EQ(fs_->link(f, d1, "d", &st), 0);
  const struct stat d1_relinked = attr(d1);
  struct statvfs vfs {};
  ASSERT_EQ(fs_->statfs(&vfs), 0);
  crash();
  mount();
  EXPECT_EQ(lookup(d1, "d"), f);
  EXPECT_EQ(attr(d1).st_mtim.tv_nsec, d1_relinked.st_mtim.tv_nsec);
  unmount();
}

// statfs() and stats() scan on a connection of their own, which sees only
// committed changes: they commit the open batch first, so their figures
// include everything done before the call. Namespace changes go on while
// they run.
TEST_F(PersistenceTest, UsageFiguresIncludeTheOpenBatchAndRunBesideChanges) {
  options_.commit_interval_ms = 600000;  // the committer never fires during this test
  mount();
  uint64_t d = mkdir(kRootInode, "dir");
  write(create(d, "a"), 0, std::string(3 * kTestBlock, 'a'));
  create(d, "b");
  struct statvfs vfs {};
  ASSERT_EQ(fs_->statfs(&vfs), 0);
  EXPECT_EQ(vfs.f_files - vfs.f_ffree, 4u);  // the root, dir, a, b
  EXPECT_EQ((vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize, 3u * kTestBlock);  // not uploaded yet: dirty bytes
  FsStats stats = fs_->stats();
  EXPECT_EQ(stats.inodes, 4u);
  EXPECT_EQ(stats.entries, 3u);

  std::atomic<bool> done{false};
  std::thread changes([&] {
    for (int i = 0; i < 300; ++i) create(d, "f" + std::to_string(i));
    done = true;
  });
  uint64_t last = 0;
  while (!done) {
    ASSERT_EQ(fs_->statfs(&vfs), 0);
    const uint64_t inodes = vfs.f_files - vfs.f_ffree;
    EXPECT_GE(inodes, last);  // each call sees at least what the one before saw
    last = inodes;
  }
  changes.join();
  ASSERT_EQ(fs_->statfs(&vfs), 0);
  EXPECT_EQ(vfs.f_files - vfs.f_ffree, 304u);
  EXPECT_EQ(fs_->stats().entries, 303u);
  unmount();
}

// A crash can take a size change (group commit) while the cached block keeps
// the bytes written past the recorded end: recovery cuts them off, so a
// later extension of the file reads zeros there, not the lost append.
TEST_F(PersistenceTest, CrashRecoveryCutsCachedBytesPastTheRecordedEnd) {
  options_.commit_interval_ms = 600000;
  mount();
  uint64_t f = create(kRootInode, "f");
  const std::string head = random_bytes(kTestBlock / 2);
  write(f, 0, head);
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(f, O_RDWR, &fh), 0);
  ASSERT_EQ(fs_->fsync(f, fh, false), 0);
  ASSERT_EQ(fs_->release(f, fh), 0);
  write(f, head.size(), random_bytes(kTestBlock / 4));  // not fsync'd: its size change is lost
  crash();
  mount();
  f = lookup(kRootInode, "f");
  EXPECT_EQ(read(f), head);
  AttrChanges grow;
  grow.size = true;
  grow.values.st_size = static_cast<off_t>(head.size() + 1000);
  struct stat st {};
  ASSERT_EQ(fs_->setattr(f, grow, caller_, &st), 0);
  EXPECT_EQ(read(f), head + std::string(1000, '\0'));
  unmount();
  drop_cache();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "f")), head + std::string(1000, '\0'));
}

// A block upload records what the entry holds before the entry may be
// evicted, even while namespace changes wait for their group commit.
TEST_F(PersistenceTest, UploadedBlocksAreOnRecordBeforeEviction) {
  options_.commit_interval_ms = 600000;
  options_.cache_bytes = 2 * kTestBlock;
  mount();
  uint64_t f = create(kRootInode, "big");
  const std::string data = random_bytes(6 * kTestBlock);
  write(f, 0, data);
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(f, O_RDWR, &fh), 0);
  ASSERT_EQ(fs_->fsync(f, fh, false), 0);
  ASSERT_TRUE(fs_->flush_cache().is_ok());  // uploads, then evicts down to the limit
  crash();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "big")), data);
  unmount();
}

// --fsync=upload: once fsync returns, the backend alone (no cache, and the
// mount never unmounted) holds the file.
TEST_F(PersistenceTest, FsyncUploadPutsTheFileInTheBackendBeforeReturning) {
  options_.fsync_upload = true;
  options_.writeback_delay_s = 3600;  // nothing would go up on its own
  mount();
  uint64_t f = create(kRootInode, "ledger");
  const std::string data = random_bytes(kTestBlock + 77);
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(f, O_RDWR, &fh), 0);
  size_t written = 0;
  ASSERT_EQ(fs_->write(f, fh, 0, data, &written), 0);
  ASSERT_EQ(fs_->fsync(f, fh, false), 0);
  crash();
  drop_cache();
  // The crashed mount's lock is left; this is the "other host" of the crash.
  ASSERT_TRUE(backend_->remove({object_names::lock()}).is_ok());
  options_.fsync_upload = false;
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "ledger")), data);
}

TEST_F(PersistenceTest, MetadataUploadsAreIncremental) {
  mount();
  for (int i = 0; i < 20000; ++i) create(kRootInode, "file-with-a-longish-name-" + std::to_string(i));
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  const size_t segments_before = count_objects(object_names::kSegmentPrefix);
  ASSERT_GE(segments_before, 3u);
  create(kRootInode, "one-more");
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  const size_t segments_after = count_objects(object_names::kSegmentPrefix);
  // Only the changed segments were added; the rest are shared with the previous version.
  EXPECT_LT(segments_after - segments_before, segments_before);
  unmount();
  drop_cache();
  mount();
  EXPECT_NE(lookup(kRootInode, "one-more"), 0u);
  EXPECT_NE(lookup(kRootInode, "file-with-a-longish-name-19999"), 0u);
}

// A change made while a metadata upload is under way is not in that
// version: the unmount must upload another, even with no change after the
// first upload ended.
TEST_F(PersistenceTest, ChangesDuringAMetadataUploadReachTheBackendAtUnmount) {
  HookedBackend hooked(*backend_);
  mount(&hooked);
  uint64_t before = create(kRootInode, "before");
  write(before, 0, "in the snapshot");
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  hooked.before_put.prefix = object_names::kManifestPrefix;  // the snapshot is taken by then
  hooked.before_put.run = [&](const std::string&) {
    uint64_t during = create(kRootInode, "during");
    write(during, 0, "made during the upload");
    ASSERT_TRUE(fs_->flush_cache().is_ok());
  };
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  ASSERT_FALSE(hooked.before_put.run);  // the hook ran
  unmount();
  drop_cache();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "before")), "in the snapshot");
  ASSERT_NE(lookup(kRootInode, "during"), 0u) << "a file created during a metadata upload was lost";
  EXPECT_EQ(read(lookup(kRootInode, "during")), "made during the upload");
}

TEST_F(PersistenceTest, StoredObjectsHideContentsAndNames) {
  mount();
  uint64_t f = create(kRootInode, "secret-file-name-xyzzy");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "the quick brown fox plaintext marker ";
  write(f, 0, text);
  unmount();
  for (const auto& [key, bytes] : backend_->snapshot()) {
    EXPECT_EQ(bytes.find("plaintext marker"), std::string::npos) << key;
    EXPECT_EQ(bytes.find("secret-file-name-xyzzy"), std::string::npos) << key;
    EXPECT_EQ(key.find("secret"), std::string::npos);
  }
}

TEST_F(PersistenceTest, DamagedObjectsGiveEioNeverWrongData) {
  mount();
  uint64_t f = create(kRootInode, "a");
  write(f, 0, random_bytes(kTestBlock));
  uint64_t g = create(kRootInode, "b");
  write(g, 0, random_bytes(kTestBlock));
  unmount();
  auto objects = backend_->snapshot();
  std::vector<std::string> data_keys;
  for (const auto& [key, bytes] : objects) {
    if (key.rfind(object_names::kDataPrefix, 0) == 0) data_keys.push_back(key);
  }
  ASSERT_EQ(data_keys.size(), 2u);
  // Swap the two objects: each is authentic, but bound to the other name.
  backend_->poke(data_keys[0], objects[data_keys[1]]);
  backend_->poke(data_keys[1], objects[data_keys[0]]);
  drop_cache();
  mount();
  std::string out;
  uint64_t fh = 0;
  uint64_t a = lookup(kRootInode, "a");
  ASSERT_EQ(fs_->open(a, O_RDONLY, &fh), 0);
  EXPECT_EQ(fs_->read(a, fh, 0, 4096, &out), EIO);
  fs_->release(a, fh);
  // A flipped byte.
  std::string flipped = objects[data_keys[0]];
  flipped[flipped.size() / 2] ^= 1;
  backend_->poke(data_keys[0], flipped);
  backend_->poke(data_keys[1], objects[data_keys[1]]);
  uint64_t b = lookup(kRootInode, "b");
  ASSERT_EQ(fs_->open(b, O_RDONLY, &fh), 0);
  int first = fs_->read(b, fh, 0, 4096, &out);
  fs_->release(b, fh);
  ASSERT_EQ(fs_->open(a, O_RDONLY, &fh), 0);
  int second = fs_->read(a, fh, 0, 4096, &out);
  fs_->release(a, fh);
  // Exactly one of the two files now reads from the flipped object.
  EXPECT_TRUE((first == EIO) != (second == EIO)) << first << " " << second;
}

// A backend that answers AccessDenied to every write once `refuse` is set.
class RefusingBackend final : public Backend {
 public:
  explicit RefusingBackend(Backend& inner) : inner_(inner) {}
  std::atomic<bool> refuse{false};
  std::string describe() const override { return "refusing " + inner_.describe(); }
  Status get(const std::string& k, std::string* out) override { return inner_.get(k, out); }
  Status get_range(const std::string& k, uint64_t o, uint64_t n, std::string* out) override {
    return inner_.get_range(k, o, n, out);
  }
  Status put(const std::string& k, std::string_view d) override {
    return refuse ? Status::permission_denied("AccessDenied: writes are not allowed") : inner_.put(k, d);
  }
  Status put_if_absent(const std::string& k, std::string_view d) override {
    return refuse ? Status::permission_denied("AccessDenied: writes are not allowed") : inner_.put_if_absent(k, d);
  }
  Status remove(const std::vector<std::string>& keys) override { return inner_.remove(keys); }
  Status list(const std::string& p, const std::string& s, size_t m, ListPage* page) override {
    return inner_.list(p, s, m, page);
  }
  Status head(const std::string& k, ObjectInfo* info) override { return inner_.head(k, info); }

 private:
  Backend& inner_;
};

// Refused writes make the mount read-only; what was written stays in the
// cache and goes up at the next mount, once the backend accepts writes.
TEST_F(PersistenceTest, BackendThatRefusesWritesMakesTheMountReadOnlyWithoutLoss) {
  RefusingBackend refusing(*backend_);
  mount(&refusing);
  uint64_t f = create(kRootInode, "precious");
  const std::string data = random_bytes(2 * kTestBlock);
  refusing.refuse = true;
  write(f, 0, data);
  EXPECT_FALSE(fs_->flush_cache().is_ok());
  struct stat st {};
  uint64_t fh = 0;
  EXPECT_EQ(fs_->create(kRootInode, "more", 0644, O_RDWR, caller_, &st, &fh), EROFS);
  EXPECT_EQ(fs_->mkdir(kRootInode, "dir", 0755, caller_, &st), EROFS);
  EXPECT_EQ(fs_->open(f, O_WRONLY, &fh), EROFS);
  EXPECT_EQ(read(f), data) << "reads go on";
  EXPECT_FALSE(fs_->shutdown().is_ok());
  fs_.reset();

  refusing.refuse = false;
  mount(&refusing);  // same cache: the dirty blocks go up now
  EXPECT_EQ(read(lookup(kRootInode, "precious")), data);
  unmount();
  drop_cache();
  mount(&refusing);
  EXPECT_EQ(read(lookup(kRootInode, "precious")), data);
  unmount();  // before `refusing` goes
}

}  // namespace
}  // namespace hoardfs::testing
