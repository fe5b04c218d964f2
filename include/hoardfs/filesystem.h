// Filesystem: every POSIX operation hoardfs offers, with no FUSE types.
//
// The FUSE adapter (src/fuse/) translates each low-level request into one
// call here and sends one reply. Every method returns 0 or a positive errno.
// Inode numbers are stable 64-bit ids; the root is kRootInode. Lookup counts
// follow the FUSE rules: lookup(), create(), mknod(), mkdir(), symlink() and
// link() each add one reference that forget() later drops; an unlinked inode
// lives until its last reference and open handle are gone.
// All methods are safe to call from several threads at once.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hoardfs/backend.h"
#include "hoardfs/mount_lock.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/status.h"

namespace hoardfs {

inline constexpr uint64_t kRootInode = 1;

// Who is asking (from the FUSE request).
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  mode_t umask = 022;
  // The kernel left the umask to the filesystem (it does with POSIX ACLs on,
  // so that a default ACL can take its place).
  bool apply_umask = false;
};

// Which attributes setattr() changes (the FUSE_SET_ATTR_* set, spelled out).
struct AttrChanges {
  bool mode = false, uid = false, gid = false, size = false;
  bool atime = false, mtime = false, atime_now = false, mtime_now = false, ctime = false;
  // Also drop what a change of owner drops on Linux, for anything but a
  // directory: setuid, setgid when group-executable (else it marks mandatory
  // locking and stays), and the security.capability xattr. Asked for when
  // the kernel leaves this to the filesystem (FUSE_CAP_HANDLE_KILLPRIV).
  bool drop_privileges = false;
  struct stat values {};
};

// Summary for `hoardfs stat` (SPEC.md keys).
struct FsStats {
  uint64_t entries = 0;           // directory entries
  uint64_t inodes = 0;
  uint64_t blocks = 0;            // distinct stored blocks
  uint64_t data_bytes = 0;        // logical bytes of all file extents
  uint64_t dedup_bytes = 0;       // bytes of distinct blocks
  uint64_t compressed_bytes = 0;  // bytes stored in the backend for data objects
  uint64_t metadata_bytes = 0;    // size of the local database
  uint64_t cache_bytes = 0;
  uint64_t dirty_bytes = 0;
  uint64_t cache_limit_bytes = 0;
  uint64_t metadata_version = 0;  // last uploaded metadata version
};

struct MountOptions {
  std::string storage_url;
  std::string cache_dir;                 // this filesystem's own cache folder
  uint64_t cache_bytes = 4ull << 30;     // --cachesize
  int zstd_level = kDefaultZstdLevel;    // --compress zstd-N (0: none)
  unsigned upload_threads = 4;
  // Blocks fetched ahead of a sequential reader. 16 (16 MiB at the default
  // block size) keeps the workers busy while the reader consumes: a cold
  // read of 1 GiB from the local backend took 1.43-1.60 s, against
  // 1.56-1.96 s with 4 (32: no faster).
  unsigned readahead_blocks = 16;
  // --sequential-cutoff: a sequential read, once this far into its run,
  // streams: the blocks it fetches next are kept in memory until read, not
  // written to the block cache (a restore of a large file does not replace
  // the cache's contents, nor pay the cache disk's writes). 0: all cached.
  uint64_t sequential_cutoff_bytes = 64ull << 20;
  unsigned metadata_interval_s = 3600;   // periodic metadata upload, 0: never
  unsigned keep_metadata_versions = 10;
  double writeback_delay_s = 1.0;        // dirty blocks older than this are uploaded
  // Group commit: namespace changes are committed to the local database
  // together, at most this long after the first of them (0: each change
  // commits at once). fsync, fsyncdir and every block upload commit at once.
  unsigned commit_interval_ms = 100;
  // POSIX ACLs (-o acl): system.posix_acl_access/default are kept and kept in
  // step with the mode (posix_acl.h); the kernel enforces them. Off: both
  // names are refused with EOPNOTSUPP.
  bool posix_acl = false;
  bool fsync_upload = false;             // --fsync=upload: fsync() returns once the file's blocks
                                         // and a metadata version holding them are in the backend
  // The single-writer lock in the backend (mount_lock.h): taken at open,
  // released after the final upload of a clean shutdown.
  bool backend_lock = true;
  StaleLockPolicy stale_lock = StaleLockPolicy::kRefuse;
  std::chrono::milliseconds lock_heartbeat = kHeartbeatInterval;
};

// What check() found: one line per repair made, one per problem left.
struct CheckReport {
  std::vector<std::string> repaired;
  std::vector<std::string> unrepairable;
};

// What Filesystem::compact() did.
struct CompactReport {
  uint64_t packs_rewritten = 0;  // sparse packs whose live blocks moved out
  uint64_t packs_written = 0;    // new packs holding them
  uint64_t blocks_moved = 0;
  uint64_t stored_before = 0;    // stored bytes of the rewritten packs
  uint64_t stored_after = 0;     // stored bytes of the new packs
  uint64_t damaged = 0;          // packs left alone: unreadable, or a block in them does not match its hash
};

class Filesystem {
 public:
  // Opens a mounted filesystem: loads (or downloads) the metadata, indexes
  // the cache, recovers dirty blocks left by a crash and starts the upload
  // workers. `backend` must outlive the Filesystem.
  static Result<std::unique_ptr<Filesystem>> open(Backend& backend, const KeyMaterial& keys,
                                                  uint32_t block_size, const MountOptions& options);
  virtual ~Filesystem() = default;

  virtual int lookup(uint64_t parent, std::string_view name, struct stat* attr) = 0;
  virtual void forget(uint64_t ino, uint64_t nlookup) = 0;
  virtual int getattr(uint64_t ino, struct stat* attr) = 0;
  virtual int setattr(uint64_t ino, const AttrChanges& changes, const Caller& caller,
                      struct stat* attr) = 0;
  // access(2) by the mode bits (owner, group, others; root passes except
  // for X_OK on a file nobody may execute). `mask` is F_OK or R_OK|W_OK|X_OK.
  virtual int access(uint64_t ino, int mask, const Caller& caller) = 0;
  virtual int readlink(uint64_t ino, std::string* target) = 0;
  virtual int mknod(uint64_t parent, std::string_view name, mode_t mode, dev_t rdev,
                    const Caller& caller, struct stat* attr) = 0;
  virtual int mkdir(uint64_t parent, std::string_view name, mode_t mode, const Caller& caller,
                    struct stat* attr) = 0;
  virtual int unlink(uint64_t parent, std::string_view name) = 0;
  virtual int rmdir(uint64_t parent, std::string_view name) = 0;
  virtual int symlink(std::string_view target, uint64_t parent, std::string_view name,
                      const Caller& caller, struct stat* attr) = 0;
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
  virtual int rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                     std::string_view new_name, unsigned flags) = 0;
  virtual int link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                   struct stat* attr) = 0;

  // Handles: open/create return a handle id used by read/write/flush/release.
  virtual int open(uint64_t ino, int flags, uint64_t* fh) = 0;
  virtual int create(uint64_t parent, std::string_view name, mode_t mode, int flags,
                     const Caller& caller, struct stat* attr, uint64_t* fh) = 0;
  // Reads up to `size` bytes at `offset` into `buffer` (room for `size`
  // bytes); *got is how many (fewer at the end of the file).
  virtual int read_into(uint64_t ino, uint64_t fh, uint64_t offset, size_t size, char* buffer, size_t* got) = 0;
  // The same into *out (shorter at end of file), a MiB at a time: a caller
  // may ask for far more than the file holds.
  int read(uint64_t ino, uint64_t fh, uint64_t offset, size_t size, std::string* out) {
    constexpr size_t kChunk = size_t{1} << 20;
    out->clear();
    while (out->size() < size) {
      const size_t want = std::min(kChunk, size - out->size());
      const size_t start = out->size();
      out->resize(start + want);
      size_t got = 0;
      const int err = read_into(ino, fh, offset + start, want, out->data() + start, &got);
      out->resize(start + (err == 0 ? got : 0));
      if (err != 0) {
        out->clear();
        return err;
      }
      if (got < want) break;
    }
    return 0;
  }
  // Whether such a read would wait for the backend or the disk: a block of
  // the range is neither in the local cache nor on its way (read-ahead), or
  // the part of its cache file the read needs is not in the page cache. A
  // hint for the FUSE transport, which serves those reads off the CPU's queue.
  virtual bool read_would_wait(uint64_t ino, uint64_t offset, size_t size) = 0;
  // The kernel cannot enforce POSIX ACLs: treat them as without
  // MountOptions::posix_acl (refused), before any request is served.
  virtual void disable_posix_acl() = 0;
  virtual int write(uint64_t ino, uint64_t fh, uint64_t offset, std::string_view data,
                    size_t* written) = 0;
  virtual int flush(uint64_t ino, uint64_t fh) = 0;
  virtual int release(uint64_t ino, uint64_t fh) = 0;
  // Makes the file's data and metadata durable in the local cache (and in the
  // backend too when mounted with --fsync=upload).
  virtual int fsync(uint64_t ino, uint64_t fh, bool datasync) = 0;
  // mode: 0 or FALLOC_FL_KEEP_SIZE (others: EOPNOTSUPP).
  virtual int fallocate(uint64_t ino, uint64_t fh, int mode, uint64_t offset, uint64_t length) = 0;

  virtual int opendir(uint64_t ino, uint64_t* fh) = 0;
  // Calls `emit` for each entry after `offset` (0: from the start, including
  // "." and ".."); emit gets the name, the entry's inode and mode bits, and the
  // offset of the next entry, and returns false when the reply buffer is full.
  using DirEmitter = std::function<bool(std::string_view name, uint64_t ino, mode_t mode,
                                        uint64_t next_offset)>;
  virtual int readdir(uint64_t ino, uint64_t fh, uint64_t offset, const DirEmitter& emit) = 0;
  // readdir() with each entry's full attributes (FUSE readdirplus): every
  // entry but "." and ".." that `emit` accepts counts as a lookup.
  using DirPlusEmitter = std::function<bool(std::string_view name, const struct stat& attr,
                                            uint64_t next_offset)>;
  virtual int readdirplus(uint64_t ino, uint64_t fh, uint64_t offset, const DirPlusEmitter& emit) = 0;
  virtual int releasedir(uint64_t ino, uint64_t fh) = 0;
  virtual int fsyncdir(uint64_t ino, uint64_t fh, bool datasync) = 0;

  // flags: 0, XATTR_CREATE or XATTR_REPLACE.
  virtual int setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags,
                       const Caller& caller) = 0;
  virtual int getxattr(uint64_t ino, std::string_view name, const Caller& caller,
                       std::string* value) = 0;
  virtual int listxattr(uint64_t ino, std::vector<std::string>* names) = 0;
  virtual int removexattr(uint64_t ino, std::string_view name, const Caller& caller) = 0;
  virtual int statfs(struct statvfs* out) = 0;

  // --- Control (used through the control xattrs on the root, see doc/) ---
  virtual FsStats stats() = 0;

  // Tree operations (hoardfs cp / lock / rm, through the control attribute;
  // see fs_tree.cc). errno values like the POSIX calls.
  // A snapshot copy of `src` as `parent`/`name`: new inodes sharing every
  // block (no data copied); hard links inside the tree stay hard links.
  virtual int copy_tree(uint64_t src, uint64_t parent, std::string_view name) = 0;
  // Makes `ino` and everything under it immutable (EPERM for any change).
  virtual int lock_tree(uint64_t ino) = 0;
  // Removes `parent`/`name` and everything under it, locked or not.
  virtual int remove_tree(uint64_t parent, std::string_view name) = 0;
  // Called (from another thread, never inside a request) when an entry
  // changed behind the kernel's back, so that its cache can drop it; with an
  // empty name, when the attributes of inode `parent` changed (link count).
  using EntryInvalidator = std::function<void(uint64_t parent, const std::string& name)>;
  virtual void set_entry_invalidator(EntryInvalidator invalidator) = 0;
  // Uploads every dirty block; returns when none is left or on a backend error.
  // fsck.hoardfs on a filesystem opened for it (nothing mounted): uploads
  // what the cache holds, then checks and repairs the database (integrity,
  // directory structure, link counts, reference counts) and compares it with
  // the data objects in the backend (see src/fs/fs_check.cc). Safe to
  // interrupt: every repair is its own transaction and a rerun finds what is
  // left. The caller's shutdown() uploads the repaired metadata.
  virtual Status check(CheckReport* report) = 0;
  virtual Status flush_cache() = 0;
  virtual Status upload_metadata() = 0;
  // Pack compaction (hoardfs ctrl compact): every pack at least half of
  // whose bytes no block uses any more is rewritten with only the blocks
  // still in use, several into one new pack; the old ones are deleted from
  // the backend once no kept metadata version names them. Blocks are checked
  // against their hash before they move; a pack that fails is left alone and
  // counted in `damaged`. Runs alongside normal use.
  virtual Status compact(CompactReport* report) = 0;
  // Flushes everything, uploads the metadata and stops the workers. Called
  // once when the kernel unmounts; the object must not be used afterwards.
  virtual Status shutdown() = 0;
};

// Names of the control xattrs on the root directory (not listed by listxattr).
// getxattr(mountpoint, kCtrlStatXattr) returns FsStats as JSON;
// setxattr(mountpoint, kCtrlCommandXattr, "flushcache" | "upload-meta" |
// "compact" | "cachesize N" | "log LEVEL") runs a command (owner of the mount
// or root only).
inline constexpr const char* kCtrlStatXattr = "user.hoardfs.stat";
inline constexpr const char* kCtrlCommandXattr = "user.hoardfs.ctrl";
inline constexpr const char* kCtrlPidXattr = "user.hoardfs.pid";
// getxattr(mountpoint, kCtrlSettledXattr) returns "1" once the kernel cache
// invalidations that earlier commands queued (hoardfs rm, cp) are sent, so
// that the tool's caller sees the new tree at once (waits 10 s at most).
inline constexpr const char* kCtrlSettledXattr = "user.hoardfs.settled";
// On any file or directory (not listed): what its subtree holds, as JSON
// {"entries", "inodes", "data_bytes" (logical), "dedup_bytes" (distinct
// blocks), "exclusive_bytes" and "exclusive_stored_bytes" (blocks no inode
// outside the subtree uses: what removing it would free)}. Counts stored
// blocks: data still dirty in the cache is not in the figures yet.
inline constexpr const char* kTreeStatXattr = "user.hoardfs.treestat";

}  // namespace hoardfs
