// The kernel's read-ahead for a FUSE mount. At INIT the kernel lowers the
// mount's read-ahead to what the reply asks for, but never raises it above
// the default of its backing device info (128 KiB), whatever the reply says:
// a sequential reader then sends the daemon 128 KiB reads, one round trip
// each, and waits for most of them. Raising it is a write to
// /sys/class/bdi/MAJOR:MINOR/read_ahead_kb, which root may do once INIT is
// over (before, the INIT reply would lower it again).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "hoardfs/status.h"

namespace hoardfs::fuse_internal {

// Sets `bdi_root`/MAJOR:MINOR/read_ahead_kb (MAJOR:MINOR of `device`) to
// `bytes` unless it is already that large: a larger setting of the
// administrator's stays. `*kib_before` gets the setting found.
Status raise_readahead(const std::string& bdi_root, dev_t device, uint64_t bytes, uint64_t* kib_before);

// Waits for the mount at `mountpoint` to answer (a stat, which also proves
// that INIT is over and gives the device) and then raises its read-ahead
// under /sys/class/bdi; failures are logged at debug level (not root, no
// sysfs) and change nothing else.
void raise_mount_readahead(const std::string& mountpoint, uint64_t bytes);

}  // namespace hoardfs::fuse_internal
