// glibc allocator settings of the daemon (see allocator.h).
#include "tools/allocator.h"

#include <malloc.h>

namespace hoardfs::tools {

namespace {
// glibc's ceiling for M_MMAP_THRESHOLD on 64-bit machines (mallopt refuses
// more). Buffers of larger blocks (up to kMaxBlockSize, 64 MiB) stay mmap()ed.
constexpr int kMmapThreshold = 32 << 20;
// Free memory at the top of a heap that is kept for reuse rather than handed
// back: more than the buffers of all upload and request threads in flight.
constexpr int kTrimThreshold = 256 << 20;
}  // namespace

bool keep_block_buffers_in_heap() {
  bool mmap_set = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  bool trim_set = mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return mmap_set && trim_set;
}

}  // namespace hoardfs::tools
