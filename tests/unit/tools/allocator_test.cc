// keep_block_buffers_in_heap(): block buffers freed by one block are reused by
// the next without the kernel mapping fresh pages for them.
#include "tools/allocator.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace hoardfs::tools {
namespace {

long minor_faults_of_this_thread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// One block through the pipeline: the block read from the cache, its
// compressed and its encrypted form alive at once, each filled, then freed.
void one_block_of_buffers(size_t block_size) {
  std::vector<std::unique_ptr<char[]>> buffers;
  for (size_t extra : {size_t{0}, size_t{64}, size_t{4096}}) {
    buffers.emplace_back(new char[block_size + extra]);
    std::memset(buffers.back().get(), 0x5a, block_size + extra);
  }
}

TEST(AllocatorTest, BuffersOfTheNextBlocksReuseFreedMemory) {
  ASSERT_TRUE(keep_block_buffers_in_heap());
  constexpr size_t kBlock = 1 << 20;
  one_block_of_buffers(kBlock);  // the heap grows once
  long before = minor_faults_of_this_thread();
  for (int block = 0; block < 16; ++block) one_block_of_buffers(kBlock);
  long faults = minor_faults_of_this_thread() - before;
  // Fresh mappings cost 3 x 257 faults per block, over 12,000 here.
  EXPECT_LT(faults, 100) << "16 blocks of buffers took " << faults << " page faults";
}

}  // namespace
}  // namespace hoardfs::tools
