// Pack compaction (Filesystem::compact, fs_compact.cc): the space of freed
// small blocks comes back, the blocks still in use read the same, and a
// damaged pack is left alone.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

class CompactTest : public FsTest {
 protected:
  // 64 small files of 1.5–4 KiB: about 3 packs of at most one block.
  void write_small_files() {
    for (int i = 0; i < 64; ++i) {
      std::string data = random_bytes(1536 + 512 * static_cast<size_t>(i % 6));
      uint64_t ino = create(kRootInode, name(i));
      write(ino, 0, data);
      files_.push_back(data);
    }
    ASSERT_TRUE(fs_->flush_cache().is_ok());
  }
  static std::string name(int i) { return "small" + std::to_string(i); }
  void remove(int i) {
    uint64_t ino = lookup(kRootInode, name(i));
    ASSERT_EQ(fs_->unlink(kRootInode, name(i)), 0);
    fs_->forget(ino, 1000);  // the test's lookups, as a kernel would let go
  }
  void expect_kept_files_intact() {
    for (int i = 0; i < 64; i += 4) EXPECT_EQ(read(lookup(kRootInode, name(i))), files_[static_cast<size_t>(i)]) << i;
  }

  std::vector<std::string> files_;
};

TEST_F(CompactTest, SparsePacksShrinkToTheirLiveBlocks) {
  options_.keep_metadata_versions = 3;
  mount();
  write_small_files();
  const size_t packs = count_objects(object_names::kDataPrefix);
  ASSERT_GE(packs, 2u);
  ASSERT_LE(packs, 4u);
  for (int i = 0; i < 64; ++i) {
    if (i % 4 != 0) remove(i);
  }
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  // Every pack keeps a quarter of its blocks, so none went.
  EXPECT_EQ(count_objects(object_names::kDataPrefix), packs);
  const uint64_t stored = fs_->stats().compressed_bytes;

  CompactReport report;
  ASSERT_TRUE(fs_->compact(&report).is_ok());
  EXPECT_EQ(report.packs_rewritten, packs);
  EXPECT_EQ(report.packs_written, 1u);
  EXPECT_EQ(report.blocks_moved, 16u);
  EXPECT_EQ(report.damaged, 0u);
  EXPECT_LT(report.stored_after * 3, report.stored_before);
  EXPECT_EQ(fs_->stats().compressed_bytes, stored - report.stored_before + report.stored_after);
  EXPECT_EQ(fs_->stats().blocks, 16u);
  expect_kept_files_intact();
  // The old packs stay while a kept metadata version may name them: with
  // 3 versions kept, the third upload after compaction is the first whose
  // kept versions all come after it.
  for (int upload = 1; upload <= 2; ++upload) {
    ASSERT_TRUE(fs_->upload_metadata().is_ok());
    EXPECT_EQ(count_objects(object_names::kDataPrefix), packs + 1) << "after upload " << upload;
  }
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 1u);

  // The new pack is all live: nothing more to do.
  CompactReport again;
  ASSERT_TRUE(fs_->compact(&again).is_ok());
  EXPECT_EQ(again.packs_rewritten, 0u);

  // A new file with the bytes of a moved block shares it.
  uint64_t dup = create(kRootInode, "dup");
  write(dup, 0, files_[8]);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().blocks, 16u);

  // From an empty cache, through the backend only.
  unmount();
  drop_cache();
  mount();
  expect_kept_files_intact();
  EXPECT_EQ(read(lookup(kRootInode, "dup")), files_[8]);
  CheckReport check;
  ASSERT_TRUE(fs_->check(&check).is_ok());
  EXPECT_TRUE(check.repaired.empty() && check.unrepairable.empty())
      << (check.repaired.empty() ? check.unrepairable.front() : check.repaired.front());
}

// A read looks the block up, then fetches its object; if compaction moved
// the block and the old pack was deleted in between, the read looks it up
// again and fetches the new pack.
TEST_F(CompactTest, AReadRacingCompactionFindsTheMovedBlock) {
  options_.keep_metadata_versions = 1;
  HookedBackend hooked(*backend_);
  mount(&hooked);
  write_small_files();
  for (int i = 0; i < 64; ++i) {
    if (i % 4 != 0) remove(i);
  }
  unmount();
  drop_cache();
  mount(&hooked);
  const uint64_t ino = lookup(kRootInode, name(8));
  std::string fetched;
  hooked.before_get.prefix = object_names::kDataPrefix;
  hooked.before_get.run = [&](const std::string& key) {
    fetched = key;
    CompactReport report;
    ASSERT_TRUE(fs_->compact(&report).is_ok());
    ASSERT_GE(report.packs_rewritten, 1u);
    for (int upload = 0; upload < 2; ++upload) {  // one version kept: the second deletes the old packs
      ASSERT_TRUE(fs_->upload_metadata().is_ok());
    }
  };
  EXPECT_EQ(read(ino), files_[8]);
  ASSERT_FALSE(fetched.empty());
  ObjectInfo info;
  EXPECT_TRUE(backend_->head(fetched, &info).is_not_found()) << fetched << " should be gone";
  unmount();  // before `hooked` goes
}

// Compaction alongside writers that create, rewrite, deduplicate and delete
// small files: afterwards every reference count checks out and every file
// reads back from the backend alone.
TEST_F(CompactTest, RunsAlongsideWritersAndDeleters) {
  mount();
  std::map<std::string, std::string> expected;
  std::mutex expected_mu;
  std::atomic<bool> stop{false};
  std::vector<std::string> contents;
  for (int i = 0; i < 24; ++i) contents.push_back(random_bytes(1000 + 300 * static_cast<size_t>(i)));
  std::thread writer([&] {
    for (int round = 0; round < 30; ++round) {
      for (int i = 0; i < 20; ++i) {
        const std::string file = "w" + std::to_string((round * 7 + i) % 50);
        const std::string& data = contents[static_cast<size_t>((round + i) % 24)];  // repeats: dedup
        uint64_t ino = lookup(kRootInode, file);
        if (ino == 0) ino = create(kRootInode, file);
        AttrChanges truncate;
        truncate.size = true;
        struct stat st {};
        ASSERT_EQ(fs_->setattr(ino, truncate, caller_, &st), 0);
        write(ino, 0, data);
        std::lock_guard lock(expected_mu);
        expected[file] = data;
      }
      for (int i = 0; i < 8; ++i) {
        const std::string file = "w" + std::to_string((round * 11 + i * 3) % 50);
        if (lookup(kRootInode, file) == 0) continue;
        ASSERT_EQ(fs_->unlink(kRootInode, file), 0);
        std::lock_guard lock(expected_mu);
        expected.erase(file);
      }
      ASSERT_TRUE(fs_->flush_cache().is_ok());
    }
  });
  CompactReport total;
  std::thread compactor([&] {
    while (!stop) {
      ASSERT_TRUE(fs_->compact(&total).is_ok());
      ASSERT_TRUE(fs_->upload_metadata().is_ok());
    }
  });
  writer.join();
  stop = true;
  compactor.join();
  ASSERT_TRUE(fs_->compact(&total).is_ok());  // and once more after the writer, however the threads ran
  EXPECT_GT(total.packs_rewritten, 0u);
  EXPECT_EQ(total.damaged, 0u);

  unmount();
  drop_cache();
  mount();
  for (const auto& [file, data] : expected) {
    EXPECT_TRUE(read(lookup(kRootInode, file)) == data) << file << " reads differently";
  }
  CheckReport check;
  ASSERT_TRUE(fs_->check(&check).is_ok());
  EXPECT_TRUE(check.repaired.empty() && check.unrepairable.empty())
      << (check.repaired.empty() ? check.unrepairable.front() : check.repaired.front());
}

// A pack freed during compaction may leave its ids to a new object and its
// blocks: a block with the id, object and offset read but other bytes stays.
TEST_F(CompactTest, IdsReusedDuringCompactionAreNotMoved) {
  HookedBackend hooked(*backend_);
  mount(&hooked);
  std::vector<std::string> old_data;
  for (int i = 0; i < 10; ++i) {
    old_data.push_back(random_bytes(2000));
    write(create(kRootInode, "a" + std::to_string(i)), 0, old_data.back());
  }
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  auto rm = [&](const std::string& file) {
    uint64_t ino = lookup(kRootInode, file);
    ASSERT_EQ(fs_->unlink(kRootInode, file), 0);
    fs_->forget(ino, 1000);
  };
  for (int i = 1; i < 10; ++i) rm("a" + std::to_string(i));  // a0 alone keeps the pack
  std::vector<std::string> new_data;
  hooked.before_put.prefix = object_names::kDataPrefix;  // compaction's new pack
  hooked.before_put.run = [&](const std::string&) {
    rm("a0");  // the pack goes, and its ids are free again
    for (int i = 0; i < 10; ++i) {
      new_data.push_back(random_bytes(2000));
      write(create(kRootInode, "b" + std::to_string(i)), 0, new_data.back());
    }
    ASSERT_TRUE(fs_->flush_cache().is_ok());
  };
  CompactReport report;
  ASSERT_TRUE(fs_->compact(&report).is_ok());
  ASSERT_FALSE(hooked.before_put.run);  // the hook ran
  EXPECT_EQ(report.blocks_moved, 0u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(read(lookup(kRootInode, "b" + std::to_string(i))) == new_data[static_cast<size_t>(i)]) << i;
  }
  unmount();
  drop_cache();
  mount();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(read(lookup(kRootInode, "b" + std::to_string(i))) == new_data[static_cast<size_t>(i)])
        << "b" << i << " after a remount with an empty cache";
  }
  CheckReport check;
  ASSERT_TRUE(fs_->check(&check).is_ok());
  EXPECT_TRUE(check.unrepairable.empty());
}

TEST_F(CompactTest, PacksMostlyInUseAndWholeBlocksStay) {
  mount();
  write_small_files();
  uint64_t big = create(kRootInode, "big");
  write(big, 0, random_bytes(kTestBlock));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  for (int i = 0; i < 64; i += 4) remove(i);  // a quarter of each pack
  const size_t objects = count_objects(object_names::kDataPrefix);
  CompactReport report;
  ASSERT_TRUE(fs_->compact(&report).is_ok());
  EXPECT_EQ(report.packs_rewritten, 0u);
  EXPECT_EQ(report.packs_written, 0u);
  ASSERT_TRUE(fs_->upload_metadata().is_ok());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), objects);
}

TEST_F(CompactTest, ADamagedPackIsLeftAlone) {
  options_.keep_metadata_versions = 1;
  mount();
  write_small_files();
  for (int i = 0; i < 64; ++i) {
    if (i % 4 != 0) remove(i);
  }
  std::vector<ObjectInfo> objects;
  ASSERT_TRUE(list_all(*backend_, object_names::kDataPrefix, &objects).is_ok());
  ASSERT_GE(objects.size(), 2u);
  ASSERT_TRUE(backend_->put(objects.front().key, "not what was stored").is_ok());

  CompactReport report;
  ASSERT_TRUE(fs_->compact(&report).is_ok());
  EXPECT_EQ(report.damaged, 1u);
  EXPECT_EQ(report.packs_rewritten, objects.size() - 1);
  for (int upload = 0; upload < 2; ++upload) ASSERT_TRUE(fs_->upload_metadata().is_ok());
  std::vector<ObjectInfo> after;
  ASSERT_TRUE(list_all(*backend_, object_names::kDataPrefix, &after).is_ok());
  EXPECT_EQ(after.size(), 2u);  // the damaged pack and the new one
  bool damaged_kept = false;
  for (const ObjectInfo& o : after) damaged_kept |= o.key == objects.front().key;
  EXPECT_TRUE(damaged_kept);
}

}  // namespace
}  // namespace hoardfs::testing
