// The table of low-level FUSE handlers (internal to src/fuse/).
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "fuse/fuse_adapter.h"

namespace hoardfs::fuse_internal {

class UringTransport;

// What every handler reaches through fuse_req_userdata().
struct AdapterContext {
  Filesystem& fs;
  FuseOptions options;
  UringTransport* uring = nullptr;  // set when requests may come through io_uring
  bool dont_mask = false;           // set at init: the kernel leaves the umask to us
};

// Every supported operation, wired in one place.
fuse_lowlevel_ops make_fuse_operations();

}  // namespace hoardfs::fuse_internal
