// The block cache stays within its size limit, never evicts dirty blocks,
// and pushes back on writers when uploads cannot keep up.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "backend/memory/memory_backend.h"
#include "fs_test_util.h"
#include "hoardfs/backend_wrappers.h"

namespace hoardfs::testing {
namespace {

class CacheTest : public FsTest {};

// Polls `done` until it holds or `limit` passes; the caller's assertion after
// it is the test (background workers change the figures it looks at).
void wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_F(CacheTest, EvictionRespectsTheLimitAndKeepsDirtyBlocks) {
  options_.cache_bytes = 4 * kTestBlock;
  auto faulty = std::make_unique<FaultInjectingBackend>(MemoryBackend::named(store_name_));
  FaultInjectingBackend* faults = faulty.get();
  faults->set_enabled(false);
  mount(faulty.get());

  // Twelve blocks through a four-block cache: writers wait for uploads.
  const std::string big = random_bytes(12 * kTestBlock);
  uint64_t b = create(kRootInode, "big");
  write(b, 0, big);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_LE(fs_->stats().cache_bytes, 4u * kTestBlock);
  EXPECT_EQ(read(b), big);
  EXPECT_LE(fs_->stats().cache_bytes, 4u * kTestBlock);

  // The backend refuses writes: dirty blocks stay, and only clean ones are evicted.
  FaultOptions refuse;
  refuse.write_error = Status::no_space("backend full (test)");
  faults->set_options(refuse);
  faults->set_enabled(true);
  const std::string pending = random_bytes(3 * kTestBlock);
  uint64_t d = create(kRootInode, "pending");
  write(d, 0, pending);
  EXPECT_FALSE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().dirty_bytes, 3u * kTestBlock);
  EXPECT_EQ(read(b, 5 * kTestBlock, kTestBlock), big.substr(5 * kTestBlock, kTestBlock));
  EXPECT_LE(fs_->stats().cache_bytes, 4u * kTestBlock);
  EXPECT_EQ(fs_->stats().dirty_bytes, 3u * kTestBlock);
  EXPECT_EQ(read(d), pending);

  // When the backend recovers, everything goes up.
  faults->set_enabled(false);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().dirty_bytes, 0u);
  unmount();
  drop_cache();
  mount(faulty.get());
  EXPECT_EQ(read(lookup(kRootInode, "pending")), pending);
  EXPECT_EQ(read(lookup(kRootInode, "big")), big);
  unmount();
}

// st_blocks counts what only the cache holds (kept per inode, apart from
// the cache's lock): nothing is uploaded here.
TEST_F(CacheTest, StBlocksCountsWhatOnlyTheCacheHolds) {
  options_.writeback_delay_s = 3600;
  mount();
  auto sectors = [](uint64_t bytes) { return static_cast<blkcnt_t>((bytes + 511) / 512); };
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  write(a, 0, std::string(1000, 'a'));
  EXPECT_EQ(attr(a).st_blocks, sectors(1000));
  write(a, 5 * kTestBlock, std::string(kTestBlock, 'b'));  // a hole before it
  EXPECT_EQ(attr(a).st_blocks, sectors(1000 + kTestBlock));
  write(b, 0, std::string(3 * kTestBlock, 'c'));
  EXPECT_EQ(attr(b).st_blocks, sectors(3 * kTestBlock));
  EXPECT_EQ(attr(a).st_blocks, sectors(1000 + kTestBlock)) << "another file's blocks are not a's";
  AttrChanges cut;
  cut.size = true;
  cut.values.st_size = kTestBlock + 10;  // drops b's third block, cuts its second
  struct stat st {};
  ASSERT_EQ(fs_->setattr(b, cut, caller_, &st), 0);
  EXPECT_EQ(attr(b).st_blocks, sectors(kTestBlock + 10));
  ASSERT_EQ(fs_->unlink(kRootInode, "b"), 0);
  EXPECT_EQ(attr(a).st_blocks, sectors(1000 + kTestBlock));
}

TEST_F(CacheTest, ShrinkingTheLimitEvictsCleanBlocks) {
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(8 * kTestBlock);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(fs_->stats().cache_bytes, 8u * kTestBlock);
  ASSERT_EQ(fs_->setxattr(kRootInode, kCtrlCommandXattr, "cachesize " + std::to_string(2 * kTestBlock), 0,
                          caller_), 0);
  EXPECT_LE(fs_->stats().cache_bytes, 2u * kTestBlock);
  EXPECT_EQ(read(a), data);
}

TEST_F(CacheTest, ReadWouldWaitOnlyForWhatTheCacheLacks) {
  mount();
  uint64_t a = create(kRootInode, "a");
  write(a, 0, random_bytes(3 * kTestBlock));
  EXPECT_FALSE(fs_->read_would_wait(a, 0, 3 * kTestBlock));  // written: in the cache
  unmount();
  drop_cache();
  mount();
  a = lookup(kRootInode, "a");
  EXPECT_TRUE(fs_->read_would_wait(a, 0, 4096));
  EXPECT_EQ(read(a, 0, 4096).size(), 4096u);  // block 0 fetched (and, by read-ahead, the next ones)
  EXPECT_FALSE(fs_->read_would_wait(a, 0, kTestBlock));
  EXPECT_FALSE(fs_->read_would_wait(a, 100, 0));
  // A range that reaches an absent block would fetch.
  EXPECT_TRUE(fs_->read_would_wait(a, 0, 10 * kTestBlock));
}

// Cached blocks whose cache files' pages the kernel dropped are read from
// the disk: a large read of them (128 KiB and more) waits too.
TEST_F(CacheTest, ReadWouldWaitForCacheFilesOffThePageCache) {
  struct statfs where{};
  ASSERT_EQ(statfs(root_.c_str(), &where), 0);
  if (where.f_type == TMPFS_MAGIC) GTEST_SKIP() << "the cache folder is on tmpfs: its pages cannot be dropped";
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(2 * kTestBlock);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());  // uploaded: clean files, whose pages may go
  EXPECT_FALSE(fs_->read_would_wait(a, 0, 2 * kTestBlock));
  size_t dropped = 0;
  for (const auto& file : std::filesystem::recursive_directory_iterator(options_.cache_dir)) {
    const std::string name = file.path().filename().string();
    if (file.path().parent_path().filename() != "blocks" || name.rfind(std::to_string(a) + "-", 0) != 0) continue;
    int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fdatasync(fd), 0);
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
    ++dropped;
  }
  ASSERT_EQ(dropped, 2u);
  EXPECT_TRUE(fs_->read_would_wait(a, 0, 2 * kTestBlock));
  EXPECT_FALSE(fs_->read_would_wait(a, 0, 4096));  // a small read: not worth the look
  EXPECT_EQ(read(a, 0, kTestBlock), data.substr(0, kTestBlock));  // block 0's pages come back
  EXPECT_TRUE(fs_->read_would_wait(a, 0, 2 * kTestBlock));   // block 1's have not
  EXPECT_EQ(read(a, kTestBlock, kTestBlock), data.substr(kTestBlock));
  EXPECT_FALSE(fs_->read_would_wait(a, 0, 2 * kTestBlock));
}

TEST_F(CacheTest, AFailedWholeBlockWriteKeepsTheStoredBlock) {
  options_.commit_interval_ms = 60000;  // no batch commit inside the window below
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string old = random_bytes(2 * kTestBlock);
  write(a, 0, old);
  unmount();
  drop_cache();
  mount();
  a = lookup(kRootInode, "a");
  // Files may not grow past half a block for one write: the cache file of
  // block 0 (not fetched first, as the write covers it) fails half way.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = kTestBlock / 2;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  size_t written = 0;
  const int err = fs_->write(a, 0, 0, random_bytes(kTestBlock), &written);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_EQ(err, EFBIG);
  EXPECT_TRUE(read(a) == old) << "the block as stored is gone from the cache";
  unmount();
  drop_cache();
  mount();
  a = lookup(kRootInode, "a");
  EXPECT_TRUE(read(a) == old) << "the failed write reached the backend";
}

TEST_F(CacheTest, SequentialReadsAreServedAfterEviction) {
  options_.cache_bytes = 2 * kTestBlock;
  options_.readahead_blocks = 2;
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(10 * kTestBlock + 3);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  std::string got;
  for (uint64_t off = 0; off < data.size(); off += 4096) got += read(a, off, 4096);
  EXPECT_EQ(got, data);
}

// A sequential reader gets the next 16 blocks fetched ahead of it (the
// default depth), which it then reads even when the backend fails.
TEST_F(CacheTest, SequentialReadsFetchSixteenBlocksAhead) {
  auto faulty = std::make_unique<FaultInjectingBackend>(MemoryBackend::named(store_name_));
  FaultInjectingBackend* faults = faulty.get();
  faults->set_enabled(false);
  mount(faulty.get());
  const std::string data = random_bytes(24 * kTestBlock);
  uint64_t a = create(kRootInode, "a");
  write(a, 0, data);
  unmount();
  drop_cache();
  mount(faulty.get());
  a = lookup(kRootInode, "a");
  EXPECT_EQ(read(a, 0, kTestBlock), data.substr(0, kTestBlock));
  EXPECT_EQ(read(a, kTestBlock, kTestBlock), data.substr(kTestBlock, kTestBlock));  // sequential
  const uint64_t expected = 18u * kTestBlock;  // the two read, and 16 ahead
  wait_until([&] { return fs_->stats().cache_bytes >= expected; }, std::chrono::seconds(30));
  EXPECT_EQ(fs_->stats().cache_bytes, expected);
  FaultOptions unreachable;
  unreachable.error_probability = 1.0;
  unreachable.faults_on_writes = false;
  faults->set_options(unreachable);
  faults->set_enabled(true);
  for (uint64_t block = 2; block < 18; ++block) {
    EXPECT_EQ(read(a, block * kTestBlock, kTestBlock), data.substr(block * kTestBlock, kTestBlock))
        << "block " << block;
  }
  faults->set_enabled(false);
  unmount();
}

// The cache files under `dir`: named for their block ("ino-blockno"), and
// removed ones not deleted yet ("ino-blockno.gone-N").
struct CacheFiles {
  size_t blocks = 0;
  size_t doomed = 0;
};

CacheFiles cache_files(const std::string& dir) {
  CacheFiles files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().parent_path().filename() != "blocks") continue;
    (e.path().filename().string().find(".gone-") == std::string::npos ? files.blocks : files.doomed)++;
  }
  return files;
}

// Past the cutoff, a sequential read streams: the blocks it fetches reach
// the reader from memory, each fetched once, and get no cache file.
TEST_F(CacheTest, ALongSequentialReadStreamsPastTheCutoff) {
  options_.sequential_cutoff_bytes = 4 * kTestBlock;
  options_.readahead_blocks = 2;
  auto counting = std::make_unique<FaultInjectingBackend>(MemoryBackend::named(store_name_));
  FaultInjectingBackend* backend = counting.get();
  counting->set_enabled(false);
  mount(counting.get());
  const std::string data = random_bytes(40 * kTestBlock + 5);
  uint64_t a = create(kRootInode, "a");
  write(a, 0, data);
  unmount();
  drop_cache();
  mount(counting.get());
  a = lookup(kRootInode, "a");
  const uint64_t gets_before = backend->stats().calls;
  std::string got;
  for (uint64_t off = 0; off < data.size(); off += kTestBlock / 2) got += read(a, off, kTestBlock / 2);
  EXPECT_TRUE(got == data);
  // Blocks 0-4 take the run to the cutoff; read-ahead from it cached two more.
  EXPECT_LE(fs_->stats().cache_bytes, 7u * kTestBlock);
  EXPECT_LE(cache_files(options_.cache_dir).blocks, 7u);
  EXPECT_EQ(backend->stats().calls - gets_before, 41u) << "a block was fetched twice";
  // Read again from the start, the file is whole (streamed blocks fetched anew).
  EXPECT_TRUE(read(a) == data);
  unmount();
}

// A write into a block a streaming read left in memory gives it a cache file
// holding the block's other bytes.
TEST_F(CacheTest, AWriteIntoAStreamedBlockKeepsItsOtherBytes) {
  options_.sequential_cutoff_bytes = 2 * kTestBlock;
  options_.readahead_blocks = 2;
  mount();
  std::string data = random_bytes(12 * kTestBlock);
  uint64_t a = create(kRootInode, "a");
  write(a, 0, data);
  unmount();
  drop_cache();
  mount();
  a = lookup(kRootInode, "a");
  for (uint64_t block = 0; block < 6; ++block) {
    EXPECT_EQ(read(a, block * kTestBlock, kTestBlock), data.substr(block * kTestBlock, kTestBlock));
  }
  // Blocks 6 and 7 are streamed (fetched ahead by the reads of 4 and 5): no
  // cache file. Half of each is read.
  auto has_file = [&](uint64_t block) {
    const std::string name = std::to_string(a) + "-" + std::to_string(block);
    for (const auto& e : std::filesystem::recursive_directory_iterator(options_.cache_dir)) {
      if (e.path().filename() == name) return true;
    }
    return false;
  };
  EXPECT_EQ(read(a, 6 * kTestBlock, kTestBlock / 2), data.substr(6 * kTestBlock, kTestBlock / 2));
  EXPECT_EQ(read(a, 7 * kTestBlock, kTestBlock / 2), data.substr(7 * kTestBlock, kTestBlock / 2));
  EXPECT_FALSE(has_file(6));
  EXPECT_FALSE(has_file(7));
  const std::string patch = random_bytes(100);
  write(a, 6 * kTestBlock + 1000, patch);
  data.replace(6 * kTestBlock + 1000, patch.size(), patch);
  EXPECT_TRUE(has_file(6));
  // Cut inside block 7: the bytes before the cut stay.
  AttrChanges cut;
  cut.size = true;
  cut.values.st_size = 7 * kTestBlock + 3000;
  struct stat st {};
  ASSERT_EQ(fs_->setattr(a, cut, caller_, &st), 0);
  data.resize(7 * kTestBlock + 3000);
  EXPECT_TRUE(read(a) == data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  unmount();
  drop_cache();
  mount();
  EXPECT_TRUE(read(lookup(kRootInode, "a")) == data);
  unmount();
}

TEST_F(CacheTest, TheFilesOfARemovedFileLeaveTheCache) {
  mount();
  uint64_t a = create(kRootInode, "a");
  write(a, 0, random_bytes(3 * kTestBlock));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 3u);
  ASSERT_EQ(fs_->unlink(kRootInode, "a"), 0);
  fs_->forget(a, 1000);  // the kernel lets go: the inode and its blocks go
  // The block names go at once (a new file may take the same inode number);
  // the data is deleted in the background, and all of it by the unmount.
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 0u);
  EXPECT_EQ(fs_->stats().cache_bytes, 0u);
  unmount();
  EXPECT_EQ(cache_files(options_.cache_dir).doomed, 0u);
}

TEST_F(CacheTest, LeftoverRemovedFilesAreDeletedAtMount) {
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(kTestBlock);
  write(a, 0, data);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  unmount();
  // As a crash would leave one: renamed, never deleted.
  std::string blocks;
  for (const auto& e : std::filesystem::recursive_directory_iterator(options_.cache_dir)) {
    if (e.is_directory() && e.path().filename() == "blocks") blocks = e.path().string();
  }
  ASSERT_FALSE(blocks.empty());
  { std::ofstream(blocks + "/" + std::to_string(a) + "-7.gone-3") << "stale"; }
  ASSERT_EQ(cache_files(options_.cache_dir).doomed, 1u);
  mount();
  EXPECT_EQ(cache_files(options_.cache_dir).doomed, 0u);
  EXPECT_EQ(read(lookup(kRootInode, "a")), data);
}

// A small new block (data within a quarter block, nothing stored) is held in
// memory: no cache file until its inode is fsync'd, and fsync'd it survives
// a crash like any cached block.
TEST_F(CacheTest, SmallNewBlocksAreHeldInMemoryUntilFsync) {
  options_.writeback_delay_s = 3600;  // nothing uploads on its own
  mount();
  uint64_t a = create(kRootInode, "a");
  const std::string data = random_bytes(5000);
  write(a, 0, data);
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 0u);
  EXPECT_EQ(read(a), data);
  EXPECT_EQ(fs_->stats().dirty_bytes, data.size());
  uint64_t fh = 0;
  ASSERT_EQ(fs_->open(a, O_RDWR, &fh), 0);
  ASSERT_EQ(fs_->fsync(a, fh, false), 0);
  ASSERT_EQ(fs_->release(a, fh), 0);
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 1u);
  crash();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "a")), data);
}

// Growing past a quarter block moves the held data to a file; a truncate
// within it stays in memory. Reads see every state.
TEST_F(CacheTest, AHeldBlockGrowsIntoAFileAndShrinksInMemory) {
  options_.writeback_delay_s = 3600;
  mount();
  uint64_t a = create(kRootInode, "a");
  std::string data = random_bytes(4096);
  write(a, 0, data);
  const std::string more = random_bytes(kTestBlock / 4);
  write(a, data.size(), more);
  data += more;
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 1u);
  EXPECT_EQ(read(a), data);

  uint64_t b = create(kRootInode, "b");
  const std::string small = random_bytes(8000);
  write(b, 0, small);
  write(b, 10000, "tail");  // a hole between, still within the quarter
  EXPECT_EQ(read(b), small + std::string(2000, '\0') + "tail");
  AttrChanges c;
  c.size = true;
  c.values.st_size = 3000;
  struct stat st {};
  ASSERT_EQ(fs_->setattr(b, c, caller_, &st), 0);
  EXPECT_EQ(read(b), small.substr(0, 3000));
  write(b, 5000, "x");  // the bytes cut off read as zeros now
  EXPECT_EQ(read(b), small.substr(0, 3000) + std::string(2000, '\0') + "x");
  EXPECT_EQ(cache_files(options_.cache_dir).blocks, 1u) << "b stays in memory";
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  unmount();
  drop_cache();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "a")), data);
  EXPECT_EQ(read(lookup(kRootInode, "b")), small.substr(0, 3000) + std::string(2000, '\0') + "x");
}

// Held blocks take at most an eighth of the cache. Uploaded ones make room
// for newer ones by leaving the cache (their data is in the backend); once
// the budget is full of dirty ones, new blocks get files. Every file reads
// back whole either way.
TEST_F(CacheTest, HeldBlocksStayWithinTheirBudget) {
  options_.cache_bytes = 16 * kTestBlock;  // held: 128 KiB
  options_.writeback_delay_s = 3600;
  mount();
  std::vector<std::pair<uint64_t, std::string>> files;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 15; ++i) {
      std::string data = random_bytes(12 * 1024);
      uint64_t ino = create(kRootInode, "f" + std::to_string(round) + "-" + std::to_string(i));
      write(ino, 0, data);
      files.emplace_back(ino, std::move(data));
    }
    // 180 KiB written, 128 KiB may be held: the rest got files.
    EXPECT_GE(cache_files(options_.cache_dir).blocks, 4u);
    ASSERT_TRUE(fs_->flush_cache().is_ok());
  }
  EXPECT_LT(fs_->stats().cache_bytes, 60u * 12 * 1024) << "uploaded held blocks left the cache";
  for (const auto& [ino, data] : files) EXPECT_EQ(read(ino), data);
}

// While held blocks fill more than half their budget, the blocks of files
// whose last handle was closed go up after a tenth of the write-back delay;
// a file still open keeps its block for the whole delay. (The deadline below
// is shorter than the delay: without the early upload nothing would move.)
TEST_F(CacheTest, HeldBlocksOfClosedFilesGoUpEarlyWhenTheBudgetFills) {
  options_.cache_bytes = 16 * kTestBlock;  // held: 128 KiB, half of it 64 KiB
  options_.writeback_delay_s = 30;         // closed files: 3 s
  mount();
  uint64_t open_ino = create(kRootInode, "open");
  uint64_t open_fh = 0;
  ASSERT_EQ(fs_->open(open_ino, O_RDWR, &open_fh), 0);
  const std::string open_data = random_bytes(8 * 1024);
  size_t written = 0;
  ASSERT_EQ(fs_->write(open_ino, open_fh, 0, open_data, &written), 0);
  std::vector<std::pair<uint64_t, std::string>> closed;
  for (int i = 0; i < 8; ++i) {  // 80 KiB, each written through a handle closed after
    std::string data = random_bytes(10 * 1024);
    uint64_t ino = create(kRootInode, "c" + std::to_string(i));
    write(ino, 0, data);
    closed.emplace_back(ino, std::move(data));
  }
  ASSERT_EQ(fs_->stats().dirty_bytes, open_data.size() + 8 * 10 * 1024);
  wait_until([&] { return fs_->stats().dirty_bytes <= open_data.size(); }, std::chrono::seconds(20));
  EXPECT_EQ(fs_->stats().dirty_bytes, open_data.size()) << "closed files went up early, the open one did not";
  ASSERT_EQ(fs_->release(open_ino, open_fh), 0);
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  unmount();
  drop_cache();
  mount();
  EXPECT_EQ(read(lookup(kRootInode, "open")), open_data);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(read(lookup(kRootInode, "c" + std::to_string(i))), closed[i].second);
}

}  // namespace
}  // namespace hoardfs::testing
