// mount.hoardfs options: the command line and the -o list that mount(8) and
// /etc/fstab hand to the helper, resolved into MountOptions and FuseOptions.
//
//   mount -t hoardfs local:///srv/b /mnt/b -o noatime,cachedir=/var/cache/hoardfs,_netdev
//   → /sbin/mount.hoardfs local:///srv/b /mnt/b -o rw,noatime,cachedir=...,_netdev
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fuse/fuse_adapter.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/status.h"

namespace hoardfs::tools {

// Everything as typed; checked and converted by resolve_mount_request().
struct MountRequest {
  std::string storage_url;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool quiet = false;
  bool allow_other = false;
  bool allow_root = false;
  bool io_uring = false;  // requests through the kernel's io_uring queues
  std::optional<unsigned> spin_us;  // io_uring: ring threads' polling after metadata requests (unset: auto)
  bool acl = false;       // POSIX ACLs
  std::optional<bool> direct_writes;  // write-only handles bypass the page cache (unset: by kernel)
  std::string cachedir;  // empty: the default cache root
  std::string cachesize = "4G";
  std::string sequential_cutoff = "64M";  // MountOptions::sequential_cutoff_bytes
  std::string compress = "zstd";  // kDefaultZstdLevel
  unsigned threads = 4;
  unsigned metadata_upload_interval_s = 3600;
  unsigned metadata_versions = 10;
  std::string fsync = "local";  // local | upload
  std::string backend_options;
  std::string authfile;  // empty: ~/.hoardfs/authinfo
  std::vector<std::string> mount_flags;       // passed to the kernel (ro, noatime, ...)
  std::vector<std::string> ignored_options;   // accepted for mount(8)/fstab, no effect
};

// Applies one -o list ("rw,noatime,cachedir=/x,_netdev"). Recognized:
//   fg | foreground, debug, quiet, allow_other, allow_root, io_uring, acl | noacl,
//   direct_writes | nodirect_writes,
//   cachedir=D, cachesize=SIZE, sequential-cutoff=SIZE, compress=C, threads=N, spin=MICROSECONDS,
//   metadata-upload-interval=S, metadata-versions=N, authfile=F, fsync=local|upload,
//   backend-options=K=V:FLAG:... (':' separates items because ',' separates -o options),
//   kernel mount flags (rw, ro, [no]suid, [no]dev, [no]exec, sync, async,
//   dirsync, [no]atime, [no]diratime, [no]relatime, [no]strictatime, [no]lazytime),
// and ignored: defaults, auto, noauto, user, nouser, users, owner, group,
// _netdev, netdev, nofail, comment=..., x-..., and anything starting with '_'.
// Anything else is invalid_argument ("unknown mount option 'foo'").
Status apply_mount_option_list(const std::string& list, MountRequest* request);

struct ResolvedMount {
  MountOptions mount;  // cache_dir is the cache root here; the caller adds the folder
  FuseOptions fuse;
  std::string cache_root;
};

// Checks the values (sizes, compression, numbers) and builds the options.
Result<ResolvedMount> resolve_mount_request(const MountRequest& request);

}  // namespace hoardfs::tools
