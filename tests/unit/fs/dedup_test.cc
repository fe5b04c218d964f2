// Dedup and reference counts through overwrite, truncate, unlink, hard links.
#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

class DedupTest : public FsTest {};

TEST_F(DedupTest, IdenticalBlocksAreStoredOnce) {
  mount();
  const std::string content = random_bytes(3 * kTestBlock);
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  write(a, 0, content);
  write(b, 0, content);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  FsStats s = fs_->stats();
  EXPECT_EQ(s.blocks, 3u);
  EXPECT_EQ(s.data_bytes, 6u * kTestBlock);
  EXPECT_EQ(s.dedup_bytes, 3u * kTestBlock);
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 3u);
  EXPECT_EQ(read(b), content);
}

TEST_F(DedupTest, RepeatedBlocksInsideOneFileAreStoredOnce) {
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string block = random_bytes(kTestBlock);
  write(a, 0, block + block + block + block);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 1u);
  EXPECT_EQ(fs_->stats().data_bytes, 4u * kTestBlock);
}

TEST_F(DedupTest, OverwriteReleasesTheOldBlock) {
  mount();
  const std::string x = random_bytes(kTestBlock), y = random_bytes(kTestBlock), z = random_bytes(kTestBlock);
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  write(a, 0, x + y);
  write(b, 0, x);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 2u);
  // Overwriting a's first block: x is still used by b; z is new.
  write(a, 0, z);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 3u);
  EXPECT_EQ(read(a), z + y);
  EXPECT_EQ(read(b), x);
  // Overwriting b: x has no user left and goes away once metadata is uploaded.
  write(b, 0, y);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 2u);
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 2u);
}

TEST_F(DedupTest, TruncateReleasesBlocksPastTheEnd) {
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(4 * kTestBlock);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 4u);
  AttrChanges change;
  change.size = true;
  change.values.st_size = kTestBlock + 100;
  struct stat st {};
  ASSERT_EQ(fs_->setattr(a, change, caller_, &st), 0);
  EXPECT_EQ(st.st_size, kTestBlock + 100);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  // Block 0 kept, block 1 cut to 100 bytes (a new block), blocks 2 and 3 gone.
  EXPECT_EQ(fs_->stats().blocks, 2u);
  EXPECT_EQ(fs_->stats().data_bytes, kTestBlock + 100u);
  EXPECT_EQ(read(a), data.substr(0, kTestBlock + 100));
  // Growing again reads zeros where the old data was.
  change.values.st_size = 3 * kTestBlock;
  ASSERT_EQ(fs_->setattr(a, change, caller_, &st), 0);
  std::string expected = data.substr(0, kTestBlock + 100) + std::string(2 * kTestBlock - 100, '\0');
  EXPECT_EQ(read(a), expected);
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 2u);
}

TEST_F(DedupTest, UnlinkFreesBlocksOnlyWhenTheLastUserGoes) {
  mount();
  const std::string data = random_bytes(2 * kTestBlock);
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  write(a, 0, data);
  write(b, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  ASSERT_EQ(fs_->unlink(kRootInode, "a"), 0);
  fs_->forget(a, 1);
  EXPECT_EQ(fs_->stats().blocks, 2u);
  EXPECT_EQ(read(b), data);
  ASSERT_EQ(fs_->unlink(kRootInode, "b"), 0);
  fs_->forget(b, 1);
  EXPECT_EQ(fs_->stats().blocks, 0u);
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 0u);
}

TEST_F(DedupTest, HardLinksShareTheInodeAndItsBlocks) {
  mount();
  const std::string data = random_bytes(kTestBlock + 7);
  uint64_t a = create(kRootInode, "a");
  write(a, 0, data);
  struct stat st {};
  ASSERT_EQ(fs_->link(a, kRootInode, "hard", &st), 0);
  EXPECT_EQ(st.st_ino, a);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 2u);
  EXPECT_EQ(fs_->stats().data_bytes, kTestBlock + 7u);  // one inode, counted once
  ASSERT_EQ(fs_->unlink(kRootInode, "a"), 0);
  fs_->forget(a, 1);
  EXPECT_EQ(read(lookup(kRootInode, "hard")), data);
  EXPECT_EQ(fs_->stats().blocks, 2u);
  ASSERT_EQ(fs_->unlink(kRootInode, "hard"), 0);
  fs_->forget(a, 2);
  EXPECT_EQ(fs_->stats().blocks, 0u);
}

TEST_F(DedupTest, OpenUnlinkedFileKeepsItsDataUntilReleased) {
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(2 * kTestBlock);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(a, O_RDWR, &fh), 0);
  ASSERT_EQ(fs_->unlink(kRootInode, "a"), 0);
  fs_->forget(a, 1);
  EXPECT_EQ(lookup(kRootInode, "a"), 0u);
  std::string out;
  ASSERT_EQ(fs_->read(a, fh, 0, data.size(), &out), 0);
  EXPECT_EQ(out, data);
  EXPECT_EQ(fs_->stats().blocks, 2u);
  ASSERT_EQ(fs_->release(a, fh), 0);
  EXPECT_EQ(fs_->stats().blocks, 0u);
  EXPECT_EQ(fs_->stats().inodes, 1u);  // only the root is left
}

TEST_F(DedupTest, HolesAndZeroBlocksAreNotStored) {
  mount();
  uint64_t a = create(kRootInode, "sparse");
  const std::string tail = random_bytes(100);
  write(a, 10ull * kTestBlock, tail);
  uint64_t z = create(kRootInode, "zeros");
  write(z, 0, std::string(3 * kTestBlock, '\0'));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 1u);
  EXPECT_EQ(attr(a).st_size, static_cast<off_t>(10 * kTestBlock + 100));
  EXPECT_LT(attr(a).st_blocks, 10 * kTestBlock / 512);
  std::string content = read(a);
  EXPECT_EQ(content, std::string(10 * kTestBlock, '\0') + tail);
  EXPECT_EQ(read(z), std::string(3 * kTestBlock, '\0'));
}

// Small files are packed: several blocks share one object, each read back
// alone, and the object goes only when its last block is freed.
TEST_F(DedupTest, SmallBlocksArePackedIntoSharedObjects) {
  mount();
  std::vector<std::pair<uint64_t, std::string>> files;
  for (int i = 0; i < 24; ++i) {
    std::string data = random_bytes(1000 + 500 * static_cast<size_t>(i % 8));  // up to 4.5 KiB
    uint64_t ino = create(kRootInode, "small" + std::to_string(i));
    write(ino, 0, data);
    files.emplace_back(ino, data);
  }
  // A duplicate of one of them and an all-zero file: no bytes of their own.
  uint64_t dup = create(kRootInode, "dup");
  write(dup, 0, files[3].second);
  uint64_t zeros = create(kRootInode, "zeros");
  write(zeros, 0, std::string(2000, '\0'));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  // About 65 KiB of data in packs of at most one block (64 KiB): two objects, not 24.
  EXPECT_LE(count_objects(object_names::kDataPrefix), 3u);
  EXPECT_EQ(fs_->stats().blocks, 24u);

  unmount();
  drop_cache();
  mount();
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(read(lookup(kRootInode, "small" + std::to_string(i))), files[static_cast<size_t>(i)].second);
  }
  EXPECT_EQ(read(lookup(kRootInode, "dup")), files[3].second);
  EXPECT_EQ(read(lookup(kRootInode, "zeros")), std::string(2000, '\0'));
  CheckReport report;
  ASSERT_TRUE(fs_->check(&report).is_ok());
  EXPECT_TRUE(report.repaired.empty() && report.unrepairable.empty());

  // Freeing some blocks of a pack keeps it; freeing all deletes it. (The
  // test's lookups hold the inodes like a kernel would: forget() lets go.)
  auto remove = [&](const std::string& name) {
    uint64_t ino = lookup(kRootInode, name);
    ASSERT_EQ(fs_->unlink(kRootInode, name), 0);
    fs_->forget(ino, 1000);
  };
  for (int i = 0; i < 12; ++i) remove("small" + std::to_string(i));
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_GE(count_objects(object_names::kDataPrefix), 1u);
  for (int i = 12; i < 24; ++i) {
    EXPECT_EQ(read(lookup(kRootInode, "small" + std::to_string(i))), files[static_cast<size_t>(i)].second);
  }
  for (int i = 12; i < 24; ++i) remove("small" + std::to_string(i));
  remove("dup");
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 0u);
  EXPECT_EQ(fs_->stats().blocks, 0u);
}

}  // namespace
}  // namespace hoardfs::testing
