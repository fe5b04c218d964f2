// The attribute cache getattr answers from without the filesystem lock: its
// coherence with the database (row changes, rollbacks) and, through the
// filesystem, that a cached answer always equals a fresh one.
#include "fs/attr_cache.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <map>
#include <random>
#include <stdexcept>

#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

AttrCache::Entry entry(uint64_t ino, uint64_t size = 0) {
  AttrCache::Entry e;
  e.row.id = ino;
  e.row.mode = S_IFREG | 0644;
  e.row.size = size;
  return e;
}

class AttrCacheDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("attr-cache-test-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    db_.set_observer(&cache_);
    ASSERT_TRUE(db_.open(path_.string(), true).is_ok());
    db_.exec("CREATE TABLE inodes (id INTEGER PRIMARY KEY, size INTEGER);"
             "CREATE TABLE dentries (id INTEGER PRIMARY KEY, inode INTEGER);"
             "INSERT INTO inodes VALUES (1, 0), (2, 0), (3, 0); INSERT INTO dentries VALUES (1, 1), (2, 2);");
  }
  void TearDown() override {
    db_.close();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + "-wal");
    std::filesystem::remove(path_.string() + "-shm");
  }
  void put_all() {
    for (uint64_t ino : {1, 2, 3}) cache_.put(entry(ino));
  }

  std::filesystem::path path_;
  AttrCache cache_{100};
  sql::Database db_;
};

TEST_F(AttrCacheDbTest, AChangedInodeRowDropsJustThatEntry) {
  put_all();
  db_.exec("UPDATE inodes SET size = 5 WHERE id = 2");
  EXPECT_TRUE(cache_.get(1));
  EXPECT_FALSE(cache_.get(2));
  db_.exec("DELETE FROM inodes WHERE id = 3");
  EXPECT_FALSE(cache_.get(3));
  cache_.put(entry(4));
  db_.exec("INSERT INTO inodes VALUES (4, 0)");  // a reused id
  EXPECT_FALSE(cache_.get(4));
  db_.exec("UPDATE dentries SET inode = 7 WHERE id = 1");  // another table's row 1
  EXPECT_TRUE(cache_.get(1));
}

// An UPDATE changes no extent: the stored bytes stay for the operation that
// made it to put the new row back with. A new or deleted inode takes them along.
TEST_F(AttrCacheDbTest, AnUpdatedRowKeepsTheStoredBytesAnInsertOrDeleteDoesNot) {
  for (uint64_t ino : {1, 2}) {
    AttrCache::Entry e = entry(ino);
    e.stored_bytes = 4096 * ino;
    cache_.put(e);
  }
  db_.exec("UPDATE inodes SET size = 5 WHERE id = 1");
  EXPECT_FALSE(cache_.get(1));
  EXPECT_EQ(cache_.stored_bytes(1), 4096u);
  cache_.add_stored(1, 100);
  EXPECT_EQ(cache_.stored_bytes(1), 4196u);
  EXPECT_EQ(cache_.size(), 1u) << "a slot with only the stored bytes is not an entry";
  db_.exec("DELETE FROM inodes WHERE id = 2");
  EXPECT_FALSE(cache_.stored_bytes(2));
  db_.exec("INSERT INTO inodes VALUES (2, 0)");
  EXPECT_FALSE(cache_.stored_bytes(2));
  cache_.drop(1);
  EXPECT_FALSE(cache_.stored_bytes(1));
}

TEST_F(AttrCacheDbTest, RollbacksOfSavepointsAndTransactionsDropEverything) {
  db_.exec("BEGIN");
  put_all();
  try {
    sql::Transaction savepoint(db_);
    db_.exec("UPDATE dentries SET inode = 9 WHERE id = 2");  // not an inode: nothing dropped yet
    EXPECT_EQ(cache_.size(), 3u);
    throw std::runtime_error("undo");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(cache_.size(), 0u);
  put_all();
  db_.exec("ROLLBACK");
  EXPECT_EQ(cache_.size(), 0u);
  put_all();
  {
    sql::Transaction committed(db_);
    db_.exec("UPDATE dentries SET inode = 9 WHERE id = 2");
  }
  EXPECT_EQ(cache_.size(), 3u);
}

TEST(AttrCacheTest, StoredBytesFollowExtentsAndTheSizeIsBounded) {
  AttrCache cache(4);
  cache.put(entry(1, 100));
  cache.add_stored(1, 64);
  cache.add_stored(1, -16);
  cache.add_stored(5, 64);  // not cached (5 would take 1's slot): nothing to do
  ASSERT_TRUE(cache.get(1));
  EXPECT_EQ(cache.get(1)->stored_bytes, 48u);
  EXPECT_FALSE(cache.get(5));
  for (uint64_t ino : {2, 3, 4}) cache.put(entry(ino));
  cache.put(entry(2, 7));  // replaces
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.get(2)->row.size, 7u);
  cache.put(entry(6));  // 2's slot: 2 goes
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_FALSE(cache.get(2));
  EXPECT_TRUE(cache.get(6));
  cache.drop(2);  // not there: 6 stays
  EXPECT_TRUE(cache.get(6));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.get(1));
  cache.put(entry(1));
  EXPECT_TRUE(cache.get(1));
}

// After every operation, getattr of each name's inode (answered from the
// cache whenever it holds the inode: the previous round put everything
// there) must equal lookup, which reads the database under the lock.
class AttrCoherenceTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    // Uploads only at the test's flush_cache(): one finishing between the
    // two calls of a comparison would move bytes from the cache's count to
    // the stored extents while the calls look.
    options_.writeback_delay_s = 3600;
    mount();
  }
  // getattr first: a lookup would refresh the cache.
  void expect_coherent(const std::string& after) {
    for (const auto& [name, place] : names_) {
      struct stat cached {}, fresh {};
      ASSERT_EQ(fs_->getattr(place.ino, &cached), 0) << name;
      ASSERT_EQ(fs_->lookup(place.dir, name, &fresh), 0) << name;
      SCOPED_TRACE(after + ": " + name);
      EXPECT_EQ(cached.st_ino, fresh.st_ino);
      EXPECT_EQ(cached.st_mode, fresh.st_mode);
      EXPECT_EQ(cached.st_nlink, fresh.st_nlink);
      EXPECT_EQ(cached.st_uid, fresh.st_uid);
      EXPECT_EQ(cached.st_gid, fresh.st_gid);
      EXPECT_EQ(cached.st_size, fresh.st_size);
      EXPECT_EQ(cached.st_blocks, fresh.st_blocks);
      EXPECT_EQ(cached.st_mtim.tv_nsec, fresh.st_mtim.tv_nsec);
      EXPECT_EQ(cached.st_ctim.tv_sec, fresh.st_ctim.tv_sec);
      EXPECT_EQ(cached.st_ctim.tv_nsec, fresh.st_ctim.tv_nsec);
      EXPECT_EQ(cached.st_atim.tv_nsec, fresh.st_atim.tv_nsec);
    }
  }

  struct Place {
    uint64_t dir = 0, ino = 0;
  };
  std::map<std::string, Place> names_;
};

TEST_F(AttrCoherenceTest, GetattrAgreesWithTheDatabaseAfterEveryOperation) {
  const uint64_t dir = mkdir(kRootInode, "d");
  names_["d"] = {kRootInode, dir};
  std::mt19937 rng(11);
  auto pick = [&](bool dirs) {
    std::vector<std::string> files;
    for (const auto& [name, place] : names_) {
      if (name != "d" || dirs) files.push_back(name);
    }
    return files[rng() % files.size()];
  };
  for (int i = 0; i < 6; ++i) {
    const std::string name = "f" + std::to_string(i);
    const uint64_t parent = i % 2 ? dir : kRootInode;
    names_[name] = {parent, create(parent, name)};
  }
  int next_name = 100;
  for (int round = 0; round < 300; ++round) {
    const std::string target = pick(false);
    const uint64_t parent = names_[target].dir;
    const uint64_t ino = names_[target].ino;
    std::string what;
    AttrChanges changes;
    struct stat st {};
    switch (rng() % 10) {
      case 0:
        what = "write";
        write(ino, rng() % (3 * kTestBlock), random_bytes(1 + rng() % kTestBlock));
        break;
      case 1:
        what = "truncate";
        changes.size = true;
        changes.values.st_size = static_cast<off_t>(rng() % (2 * kTestBlock));
        ASSERT_EQ(fs_->setattr(ino, changes, caller_, &st), 0);
        break;
      case 2:
        what = "chmod, chown";
        changes.mode = changes.uid = true;
        changes.values.st_mode = static_cast<mode_t>(rng() % 07777);
        changes.values.st_uid = rng() % 3;
        ASSERT_EQ(fs_->setattr(ino, changes, caller_, &st), 0);
        break;
      case 3: {
        what = "link";
        const std::string name = "l" + std::to_string(next_name++);
        ASSERT_EQ(fs_->link(ino, dir, name, &st), 0);
        names_[name] = {dir, ino};
        break;
      }
      case 4:
        if (names_.size() < 4) continue;
        what = "unlink";
        ASSERT_EQ(fs_->unlink(parent, target), 0);
        names_.erase(target);
        break;
      case 5: {
        what = "rename over another";
        const std::string other = pick(false);
        if (other == target) continue;
        ASSERT_EQ(fs_->rename(parent, target, names_[other].dir, other, 0), 0);
        names_[other].ino = ino;
        names_.erase(target);
        break;
      }
      case 6: {
        what = "rename to a new name";
        const std::string name = "r" + std::to_string(next_name++);
        const uint64_t to = rng() % 2 ? dir : kRootInode;
        ASSERT_EQ(fs_->rename(parent, target, to, name, 0), 0);
        names_.erase(target);
        names_[name] = {to, ino};
        break;
      }
      case 7:
        what = "setxattr";
        ASSERT_EQ(fs_->setxattr(ino, "user.k", std::to_string(round), 0, caller_), 0);
        break;
      case 8:
        what = "upload";
        ASSERT_TRUE(fs_->flush_cache().is_ok());
        break;
      case 9: {
        what = "create";
        const std::string name = "c" + std::to_string(next_name++);
        names_[name] = {dir, create(dir, name)};
        break;
      }
    }
    expect_coherent(what);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace hoardfs::testing
