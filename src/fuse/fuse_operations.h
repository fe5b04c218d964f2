// The table of low-level FUSE handlers (internal to src/fuse/).
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>

#include "fuse/fuse_adapter.h"

namespace hoardfs::fuse_internal {

class UringTransport;

// Bytes the kernel reads ahead of a sequential reader: asked for in the INIT
// reply, and set on the mount's backing device afterwards (mount_readahead.h).
inline constexpr unsigned kMaxReadahead = 1u << 20;

// What every handler reaches through fuse_req_userdata().
struct AdapterContext {
  Filesystem& fs;
  FuseOptions options;
  UringTransport* uring = nullptr;  // set when requests may come through io_uring
  bool dont_mask = false;           // set at init: the kernel leaves the umask to us
  bool handle_killpriv = false;     // set at init: the kernel leaves clearing setuid/setgid to us
  bool direct_writes = false;       // set at init: write-only handles bypass the page cache
  // The INIT reply's completion (init_reply.h): whether hooks are in place
  // to make it, the INIT request's id, and the FUSE_* flags to add.
  bool init_hooks = false;
  std::atomic<uint64_t> init_unique{0};
  uint32_t init_flags_to_add = 0;
};

// The setattr() request for a FUSE SETATTR. With `handle_killpriv` the
// kernel sends no mode to clear setuid/setgid (it would compute it from its
// own copy, which lacks the sticky bit without default_permissions): a
// change of owner or group, or a SETATTR with nothing in it (chown(f, -1,
// -1), or an unprivileged writer's), drops them here; so does a truncation
// by anyone but root.
AttrChanges attr_changes_from(const struct stat& values, int to_set, bool handle_killpriv, uid_t caller_uid);

// Every supported operation, wired in one place.
fuse_lowlevel_ops make_fuse_operations();

}  // namespace hoardfs::fuse_internal
