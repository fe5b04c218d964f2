// How the processes that move blocks ask glibc's allocator to behave.
#pragma once

namespace hoardfs::tools {

// Makes freed block-sized buffers (block sizes up to 32 MiB; the default is
// 1 MiB) go back to the heap for the next block instead of to the kernel:
// glibc otherwise serves buffers of a block's size with a fresh mmap() each
// (its threshold only ever rises to the last freed size, and equal sizes
// stay above it) and trims the heap's top after every few frees, so each
// 1 MiB block in the pipeline paid 256 page faults per buffer, and zeroing or
// filling fresh pages is what a virtual machine makes slowest. Freed memory
// is kept up to what the process used at its peak, which is what the
// daemon's peak RSS already shows. False when the allocator refused a
// setting (the process works, only slower).
bool keep_block_buffers_in_heap();

}  // namespace hoardfs::tools
