// FUSE over io_uring: the kernel's per-CPU request rings (Linux 6.14 and
// later, with the fuse module parameter enable_uring=Y), driven under the
// libfuse 3.14 low-level session, which does not know them.
//
// Why: on a virtual machine a request that wakes a daemon thread on another
// CPU, and a reply that wakes the caller back, each cost an inter-processor
// interrupt. /dev/fuse hands a request to whichever thread waits first; the
// rings hand it to the thread pinned to the caller's CPU, so a metadata
// round trip stays on one CPU.
//
// How it fits under libfuse: the session gets custom device I/O
// (fuse_session_custom_io). The read side notes whether the kernel's INIT
// offers FUSE_OVER_IO_URING; the write side adds that flag to the INIT reply
// and then starts one ring thread per CPU, which registers its entries.
// A ring request is laid out as one contiguous message (in header, op
// header, payload) and given to fuse_session_process_buf(); its reply comes
// back through the same write hook, is recognized by its unique id, copied
// into the entry and committed with COMMIT_AND_FETCH. Forgets, interrupts
// and notifications still travel through /dev/fuse and libfuse's own loop.
//
// Requests that may wait long on something else (fsync, which waits for
// uploads, the user.hoardfs.* attributes that carry the control commands,
// and reads that would start a backend fetch: set_read_probe()) go to a few
// pool threads, so that they never hold up a CPU's ring. Other reads stay on
// the ring thread: the block cache fetches ahead with its own workers, and
// sending every read through the pool made cold reads a sixth slower.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

struct fuse_session;

namespace hoardfs::fuse_internal {

class UringTransport {
 public:
  // `spin_us`: FuseOptions::spin_us.
  UringTransport(unsigned pool_threads, std::optional<unsigned> spin_us);
  ~UringTransport();
  UringTransport(const UringTransport&) = delete;
  UringTransport& operator=(const UringTransport&) = delete;

  // Installs the device hooks on a mounted session (before its loop runs).
  // Returns false, with the reason logged, when libfuse refuses them.
  bool attach(fuse_session* session);

  // True once every CPU's ring is registered (requests then use the rings).
  bool active() const;

  // Tells which reads would wait for the backend (inode, offset, size): those
  // go to the pool, so that a slow fetch does not hold up the requests queued
  // behind it on the same CPU. Set before attach().
  using ReadProbe = std::function<bool(uint64_t ino, uint64_t offset, uint32_t size)>;
  void set_read_probe(ReadProbe probe);

  // Stops the ring and pool threads; the session loop must have ended.
  void stop();

  // Whether the kernel lets daemons use the rings (the module parameter).
  static bool kernel_allows();

  struct State;

  // While this thread processes a request that came from a ring: the entry's
  // payload buffer, where its reply's data goes, and *capacity its size.
  // A reply whose data already lies there (fuse_reply_buf() with this
  // pointer) is committed without a copy. nullptr otherwise.
  static char* reply_buffer(size_t* capacity);

 private:
  // The session's device hooks; `userdata` is the session's AdapterContext.
  static ssize_t read_device(int fd, void* buf, size_t size, void* userdata);
  static ssize_t write_device(int fd, iovec* iov, int count, void* userdata);

  std::unique_ptr<State> state_;
};

}  // namespace hoardfs::fuse_internal
