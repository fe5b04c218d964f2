// FUSE adapter: serves a hoardfs::Filesystem through the libfuse3 low-level
// API with a multi-threaded session loop.
//
// The adapter holds no filesystem state. Each request handler makes exactly
// one call into Filesystem and sends exactly one reply; the list of supported
// operations is in fuse_operations.cc (make_fuse_operations), in one place.
//
// Permission checks are the kernel's (`default_permissions`, and the POSIX
// ACLs with FuseOptions::posix_acl), except on a mount only root can reach
// (see kernel_checks_permissions). There are no
// lock handlers, so the kernel keeps flock/fcntl locks locally, which is what
// a single-writer filesystem needs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hoardfs/filesystem.h"
#include "hoardfs/status.h"

namespace hoardfs {

struct FuseOptions {
  std::string fsname;          // shown in /proc/mounts as the source (the storage URL)
  bool allow_other = false;    // let other users access the mount
  bool allow_root = false;     // let root access the mount
  bool debug = false;          // libfuse request tracing (to the debug log)
  unsigned max_threads = 16;   // FUSE worker threads
  // How long the kernel may trust names (also "no such name") and
  // attributes without asking. Every change goes through this mount (the
  // backend lock keeps other writers out) except the tree commands, which
  // invalidate what they change; so a long time is safe, and it spares
  // rsync's scan of a backup tree one request per file.
  double attr_timeout_s = 60.0;
  double entry_timeout_s = 60.0;
  // Take requests through the kernel's per-CPU io_uring queues when the
  // kernel offers them (fuse.enable_uring=Y); else /dev/fuse as usual.
  bool io_uring = false;
  // With io_uring: after a request other than a read or write, every ring
  // thread keeps polling its queue (yielding the CPU to anything runnable)
  // for this long instead of sleeping. On a machine whose idle CPUs halt
  // (a VM without halt polling), the scheduler otherwise wakes each caller
  // on the idle CPU, which costs an inter-processor interrupt and a halt
  // exit per request; a CPU that polls is not idle. 0: always sleep.
  // Unset: 100 us on machines of up to four CPUs, else 0 (the caller can
  // only be kept from idle CPUs if all of them poll, and on a large
  // machine that is too many CPUs kept busy).
  std::optional<unsigned> spin_us;
  // POSIX ACLs (FUSE_POSIX_ACL): the kernel enforces the ACLs the filesystem
  // keeps, and leaves the umask to it (FUSE_DONT_MASK).
  bool posix_acl = false;
  // Writes through a handle opened write-only go straight to the daemon,
  // past the page cache (FOPEN_DIRECT_IO): a file written by cp, dd or tar
  // is not copied into page-cache pages of its own on the way (the daemon's
  // block cache already holds it), which on the benchmark machine made
  // writing 2 GiB and unmounting 10-16% faster. Such a handle cannot read or be mapped, so
  // nothing but other handles' cached pages is at stake: from Linux 6.6
  // (FUSE 7.39) a direct write drops the cached pages it overwrites; before
  // that, readers would only see the change once the kernel notices the new
  // mtime. Unset: on when the kernel speaks FUSE 7.39 or later.
  std::optional<bool> direct_writes;
  // Generic mount flags handed to libfuse unchanged: ro, rw, noatime,
  // nosuid, nodev, noexec, sync, dirsync, relatime, ...
  std::vector<std::string> mount_flags;
  // Unmount cleanly on SIGINT/SIGTERM/SIGHUP (fuse_set_signal_handlers).
  bool handle_signals = true;
};

// Whether the kernel checks permissions itself (mount option
// default_permissions). Not on a mount that only root can reach (the daemon
// runs as root, without allow_other and without ACLs): the kernel would let
// root through anyway, and its checks cost a round trip per name created or
// removed, since each one leaves the directory's attributes stale (rm -rf:
// GETATTR of the directory + UNLINK per file). There the daemon clears
// setuid/setgid itself (FUSE_CAP_HANDLE_KILLPRIV) and answers access(2).
bool kernel_checks_permissions(const FuseOptions& options);

// Mounts `fs` at `mountpoint` and serves requests until the filesystem is
// unmounted (by umount/fusermount3, or by a signal when handle_signals is
// set). `on_mounted` is called exactly once: with ok, from a thread of its
// own, as soon as the mount answers requests (and its read-ahead is set:
// mount_readahead.h), or with the error when the session could not be created or
// mounted (run_fuse_session then returns the same error, after calling
// fs.shutdown() so that the filesystem releases what it holds). After the
// loop ends the mount is removed if it still exists and fs.shutdown() runs;
// its status is returned.
Status run_fuse_session(Filesystem& fs, const std::string& mountpoint, const FuseOptions& options,
                        const std::function<void(const Status&)>& on_mounted);

}  // namespace hoardfs
