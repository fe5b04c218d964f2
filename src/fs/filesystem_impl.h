// FilesystemImpl: the Filesystem over a SQLite namespace and a BlockCache.
//
// Metadata operations run under mu_ against the database, which is the live
// namespace (WAL with synchronous=NORMAL, made durable by fsync()). Changes
// are group-committed: the first statement after a commit opens a
// transaction that the committer thread commits commit_interval_ms later;
// fsync, metadata snapshots, block commits and the loss of dirty cached data
// commit at once (commit_batch()). Each operation inside the batch is a
// savepoint, so a failed one leaves nothing behind. File data goes through the BlockCache without
// mu_ held; the cache calls back into this class (as BlockCatalog) to look up
// and commit blocks. Lock order: mu_ before BlockCache's mutex.
//
// The class is split by concern: fs_lifecycle.cc (open, recovery, metadata
// upload, shutdown, stats), fs_namespace.cc (names and attributes),
// fs_data.cc (file contents and the block catalog), fs_xattr.cc (extended
// attributes and the control xattrs).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fs/attr_cache.h"
#include "fs/block_cache.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/metadata_sync.h"
#include "hoardfs/mount_lock.h"
#include "hoardfs/log.h"
#include "metadata/sqlite.h"

namespace hoardfs {

int64_t now_ns();
// A file capability, which a write or a chown must drop.
inline constexpr std::string_view kCapabilityXattr = "security.capability";
void log_internal_error(const char* op, const char* what);

// A block hash as the database stores it (blocks.hash, a BLOB), and back; a
// BLOB of another length gives the all-zero hash.
inline std::string_view hash_blob(const BlockHash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}
inline BlockHash hash_from_blob(std::string_view blob) {
  BlockHash hash{};
  if (blob.size() == hash.size()) std::copy(blob.begin(), blob.end(), reinterpret_cast<char*>(hash.data()));
  return hash;
}

class FilesystemImpl final : public Filesystem, public BlockCatalog {
  static constexpr size_t kAttrCacheEntries = 65536;

 public:
  FilesystemImpl(Backend& backend, const KeyMaterial& keys, uint32_t block_size, MountOptions options);
  ~FilesystemImpl() override;
  Status open_all();

  int lookup(uint64_t parent, std::string_view name, struct stat* attr) override;
  void forget(uint64_t ino, uint64_t nlookup) override;
  int getattr(uint64_t ino, struct stat* attr) override;
  int access(uint64_t ino, int mask, const Caller& caller) override;
  int setattr(uint64_t ino, const AttrChanges& changes, const Caller& caller, struct stat* attr) override;
  int readlink(uint64_t ino, std::string* target) override;
  int mknod(uint64_t parent, std::string_view name, mode_t mode, dev_t rdev, const Caller& caller,
            struct stat* attr) override;
  int mkdir(uint64_t parent, std::string_view name, mode_t mode, const Caller& caller, struct stat* attr) override;
  int unlink(uint64_t parent, std::string_view name) override;
  int rmdir(uint64_t parent, std::string_view name) override;
  int symlink(std::string_view target, uint64_t parent, std::string_view name, const Caller& caller,
              struct stat* attr) override;
  int rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
             unsigned flags) override;
  int link(uint64_t ino, uint64_t new_parent, std::string_view new_name, struct stat* attr) override;
  // Filesystem::open() failed after the lock was taken: give it back.
  void release_lock_after_failed_open();
  int open(uint64_t ino, int flags, uint64_t* fh) override;
  int create(uint64_t parent, std::string_view name, mode_t mode, int flags, const Caller& caller,
             struct stat* attr, uint64_t* fh) override;
  int read_into(uint64_t ino, uint64_t fh, uint64_t offset, size_t size, char* buffer, size_t* got) override;
  bool read_would_wait(uint64_t ino, uint64_t offset, size_t size) override;
  void disable_posix_acl() override { options_.posix_acl = false; }
  int write(uint64_t ino, uint64_t fh, uint64_t offset, std::string_view data, size_t* written) override;
  int flush(uint64_t ino, uint64_t fh) override;
  int release(uint64_t ino, uint64_t fh) override;
  int fsync(uint64_t ino, uint64_t fh, bool datasync) override;
  int fallocate(uint64_t ino, uint64_t fh, int mode, uint64_t offset, uint64_t length) override;
  int opendir(uint64_t ino, uint64_t* fh) override;
  int readdir(uint64_t ino, uint64_t fh, uint64_t offset, const DirEmitter& emit) override;
  int readdirplus(uint64_t ino, uint64_t fh, uint64_t offset, const DirPlusEmitter& emit) override;
  int releasedir(uint64_t ino, uint64_t fh) override;
  int fsyncdir(uint64_t ino, uint64_t fh, bool datasync) override;
  int setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags,
               const Caller& caller) override;
  int getxattr(uint64_t ino, std::string_view name, const Caller& caller, std::string* value) override;
  int listxattr(uint64_t ino, std::vector<std::string>* names) override;
  int removexattr(uint64_t ino, std::string_view name, const Caller& caller) override;
  int statfs(struct statvfs* out) override;
  FsStats stats() override;
  Status check(CheckReport* report) override;
  Status compact(CompactReport* report) override;
  int copy_tree(uint64_t src, uint64_t parent, std::string_view name) override;
  int lock_tree(uint64_t ino) override;
  int remove_tree(uint64_t parent, std::string_view name) override;
  void set_entry_invalidator(EntryInvalidator invalidator) override;
  Status flush_cache() override;
  Status upload_metadata() override;
  Status shutdown() override;

  // BlockCatalog
  std::optional<StoredBlock> stored_block(uint64_t ino, uint64_t blockno) override;
  std::vector<bool> has_blocks(const std::vector<BlockHash>& hashes) override;
  std::vector<CommitOutcome> commit_blocks(const std::vector<BlockCommit>& commits,
                                           const std::function<std::vector<bool>()>& still_cached,
                                           const std::function<void(const std::vector<size_t>&)>& committed,
                                           bool* object_used) override;

 private:
  // --- helpers, all called with mu_ held ---
  sql::Statement& q(const char* sql);
  // The first column of the first row of `sql` (a COUNT or SUM), 0 if none.
  uint64_t scalar(const char* sql);
  // Runs `sql`, one row of whole-table figures, on census_db_ without mu_
  // (after committing the open batch, so they include every change made
  // before the call) and gives each column in turn to `out`.
  void census(const char* sql, std::initializer_list<uint64_t*> out);
  std::optional<InodeRow> load_inode(uint64_t ino);
  // The row from columns first..first+9 of `st` (the load_inode() columns, after id).
  static InodeRow inode_from(sql::Statement& st, int first, uint64_t ino);
  void store_inode(const InodeRow& row);
  // Under mu_, with `row` as the database has it: fills `st` and keeps the
  // row in attrs_. `stored_bytes`: the file's stored extents when the
  // caller's query summed them already (readdirplus) or attrs_ kept them
  // across the caller's UPDATE of the row (link, setattr, rename); else
  // they are asked for. lookup and getattr always ask: they are what the
  // attribute cache's coherence test compares with.
  void stat_locked(const InodeRow& row, struct stat* st, std::optional<uint64_t> stored_bytes = std::nullopt);
  // Under mu_: keeps `row` (as the database has it) in attrs_, with its
  // stored extents' bytes (asked for unless given), which it returns.
  uint64_t remember_locked(const InodeRow& row, std::optional<uint64_t> stored_bytes = std::nullopt);
  // Opens the group commit's transaction if none is open and batching is on
  // (q() does it before each statement). Under mu_.
  void join_batch();
  // The rows of directory `dir` and inode `ino` (link, unlink); false if
  // either is gone.
  bool load_dir_and_inode(uint64_t dir, uint64_t ino, InodeRow* dir_row, InodeRow* row);
  // The attributes of `row` with `stored_bytes` of stored extents; needs no lock.
  void fill_stat(const InodeRow& row, uint64_t stored_bytes, struct stat* st) const;
  std::optional<uint64_t> find_entry(uint64_t parent, std::string_view name);
  uint64_t new_inode(uint32_t mode, const Caller& caller, uint64_t rdev, uint64_t nlink);
  // POSIX ACLs of an inode about to be made under `parent` with `mode`
  // (type and permission bits): the parent's default ACL, inherited (and for
  // a directory kept as its default ACL too), or else the caller's umask.
  struct NewInodeAcls {
    uint32_t mode = 0;
    std::string access, default_acl;  // xattr values; empty: none
  };
  // The value of extended attribute `name` of `ino`, if it has one.
  std::optional<std::string> stored_xattr(uint64_t ino, std::string_view name);
  NewInodeAcls new_inode_acls(uint64_t parent, uint32_t mode, const Caller& caller);
  void store_new_inode_acls(uint64_t ino, const NewInodeAcls& acls);
  // chmod of an inode with an access ACL: its class entries follow the mode.
  void acl_follow_mode(uint64_t ino, uint32_t mode);
  bool unsupported_xattr(std::string_view name) const;
  void add_entry(uint64_t parent, std::string_view name, uint64_t ino);
  void remove_entry(uint64_t parent, std::string_view name);
  // Sets a directory's mtime and ctime to `now`. Given its row, also keeps
  // the row in attrs_ with the new times (the UPDATE dropped it): the next
  // link or unlink in it (cp -al, rm -rf) finds it there (load_dir_and_inode()).
  // Given its row while a DeferDirTimes is active, leaves the UPDATE pending
  // (below).
  void touch_dir(uint64_t dir, int64_t now);
  void touch_dir(InodeRow* dir, int64_t now);
  // link and unlink leave a directory's new times in attrs_ and write them
  // to the database later, once for a run of them in the same directory
  // (cp -al, rm -rf): any statement of another operation writes them first
  // (q()), as does a link or unlink in another directory, and the batch's
  // commit. So the database has them before anything reads it there, and a
  // commit never leaves them out. Only inside an open batch; otherwise at once.
  struct PendingDirTimes {
    uint64_t dir = 0;  // 0: none
    int64_t time_ns = 0;
  };
  // For the duration of a link or unlink (mu_ held): their statements leave
  // the pending times of their own directory alone.
  class DeferDirTimes {
   public:
    DeferDirTimes(FilesystemImpl& fs, uint64_t dir);
    ~DeferDirTimes() { fs_.deferring_dir_times_ = false; }
    DeferDirTimes(const DeferDirTimes&) = delete;
    DeferDirTimes& operator=(const DeferDirTimes&) = delete;

   private:
    FilesystemImpl& fs_;
  };
  void write_pending_dir_times();
  // A new link count, and the ctime it changes.
  void set_link_count(uint64_t ino, uint64_t nlink, int64_t now);
  // Common part of mknod/mkdir/symlink/create: checks the parent and name.
  int check_new_entry(uint64_t parent, std::string_view name, InodeRow* parent_row);
  // Drops one link to the inode `row` was loaded from (entry already
  // removed); frees it when unused.
  void drop_link(const InodeRow& row, int64_t now);
  void maybe_purge(uint64_t ino);
  void purge_inode(uint64_t ino);
  // Removes extents from `first_blockno` on and releases their blocks.
  void release_extents_from(uint64_t ino, uint64_t first_blockno);
  void release_block(uint64_t block_id);
  // An object no block lives in any more becomes garbage (deleted from the
  // backend after the next metadata upload); with `retire` (compaction: the
  // blocks live on elsewhere), only once no kept metadata version names it.
  void drop_object_if_unused(int64_t object_id, bool retire = false);
  // Remembers a pack's decoded size, for compaction (fs_compact.cc).
  void record_pack(int64_t object_id, uint64_t plain_size);
  // compact(): moves the live blocks of these packs into one new pack.
  Status rewrite_packs(const std::vector<int64_t>& objects, CompactReport* report);
  // The object a commit_blocks() call stored: its row, made at the first
  // block that lives in it, and the references the later ones add.
  struct NewObject {
    std::optional<int64_t> id;
    int64_t extra_refs = 0;
  };
  // The catalog part of a block commit (mu_ held, inside a transaction).
  CommitOutcome record_block(const BlockCommit& commit, NewObject* object);
  bool is_ancestor(uint64_t ancestor, uint64_t dir);
  void make_durable();
  // Commits the open batch, if any. Throws when the commit fails.
  void commit_batch();
  // After an operation: commits at once when it dropped dirty cached data
  // (a crash must not bring back the name without its data).
  void commit_if_requested();
  void committer_loop();
  // True when the cache disk has little free space: no batch is opened then.
  bool cache_disk_low();
  // Ends group commit: stops the committer and, with `commit`, commits what
  // is open. mu_ not held.
  void stop_batching(bool commit);
  int set_size(uint64_t ino, uint64_t size);  // truncate; takes and releases mu_
  bool locked_inode(uint64_t ino);
  // readdir (`plus` false: inode and type only) and readdirplus.
  int list_dir(uint64_t ino, uint64_t fh, uint64_t offset, const DirPlusEmitter& emit, bool plus);
  std::string stats_json();
  int run_control(std::string_view command, const Caller& caller);
  Status snapshot_and_upload();
  // fs_tree.cc helpers; mu_ held, inside a transaction.
  uint64_t copy_inode(uint64_t src, std::unordered_map<uint64_t, uint64_t>* copied);
  void collect_tree(uint64_t top, std::vector<uint64_t>* inodes);
  void invalidate_entry_later(uint64_t parent, std::string name);
  // Waits until every invalidation queued so far is sent (kCtrlSettledXattr).
  void wait_for_invalidations();
  void stop_invalidations();
  int tree_stats_json(uint64_t ino, std::string* json);
  // fsck helpers (fs_check.cc); mu_ held, inside a transaction.
  uint64_t lost_and_found_dir();
  // Deletes the data objects in `listed` that neither the database nor its
  // garbage list names and that a second listing still shows: uploads a
  // crash cut off before they were recorded. Nothing may upload meanwhile.
  Status sweep_unreferenced_objects(const std::vector<ObjectInfo>& listed, size_t* deleted);
  std::string move_to_lost_and_found(uint64_t ino);  // new path, "" if not moved

  void backend_write_failed(const Status& why) override;
  // EROFS for the operations that change the filesystem, once read_only_.
  static bool is_mutating(const char* op);

  template <typename F>
  int guarded(const char* op, F&& body);

  // Calls piece(blockno, in_block, length) for each block's share of
  // [offset, end), in order, until one returns nonzero; returns that, or 0.
  template <typename F>
  int for_each_block_piece(uint64_t offset, uint64_t end, F&& piece) const {
    for (uint64_t pos = offset; pos < end;) {
      const uint64_t blockno = pos / block_size_;
      const uint32_t in_block = static_cast<uint32_t>(pos % block_size_);
      const uint32_t length = static_cast<uint32_t>(std::min<uint64_t>(block_size_ - in_block, end - pos));
      if (int result = piece(blockno, in_block, length)) return result;
      pos += length;
    }
    return 0;
  }

  // Constant after construction.
  Backend& backend_;
  const KeyMaterial keys_;
  const uint32_t block_size_;
  MountOptions options_;
  ObjectCodec codec_;
  std::string db_path_;

  std::mutex mu_;  // protects db_, statements_, the maps below. Before BlockCache's mutex.
  // Read without mu_ (getattr); put into only under mu_. Observes db_, so
  // declared before it (and destroyed after it).
  AttrCache attrs_{kAttrCacheEntries};
  sql::Database db_;
  sql::Checkpointer checkpointer_;  // of db_; stopped before db_ closes
  // A second connection for statfs() and stats(), whose scans take tens of
  // milliseconds on a large filesystem: a WAL reader does not stop db_'s
  // writes, so namespace operations go on meanwhile. Opened at first use.
  std::mutex census_mu_;  // guards census_db_; never held with mu_
  sql::Database census_db_;
  std::unordered_map<const char*, sql::Statement> statements_;
  std::unordered_map<uint64_t, uint64_t> lookups_;     // inode -> kernel lookup count
  std::unordered_map<uint64_t, uint64_t> open_count_;  // inode -> open handles
  std::unordered_map<uint64_t, uint64_t> handles_;     // handle -> inode
  uint64_t next_handle_ = 1;
  // An open directory's listing: the ids of its entries when the listing
  // began (at offset 0), ascending. Each request joins the next of them:
  // no request scans the directory again (list_dir()).
  struct DirCursor {
    uint64_t ino = 0;
    bool loaded = false;
    std::vector<int64_t> ids;
  };
  std::unordered_map<uint64_t, DirCursor> dir_cursors_;  // directory handle -> its cursor

  std::unique_ptr<BlockCache> cache_;
  std::unique_ptr<MetadataSync> metadata_sync_;  // made in open_all(), once the writer id is known
  MountLock mount_lock_;
  // Kernel entry invalidations, sent by their own thread (a request handler
  // that sent one could deadlock with the kernel's directory lock).
  std::mutex invalidate_call_mu_;  // held while the invalidator runs; before invalidate_mu_
  std::mutex invalidate_mu_;
  std::condition_variable invalidate_cv_;
  std::vector<std::pair<uint64_t, std::string>> invalidate_queue_;
  uint64_t invalidations_queued_ = 0;  // guarded by invalidate_mu_
  uint64_t invalidations_sent_ = 0;    // guarded by invalidate_mu_
  EntryInvalidator invalidator_;
  std::thread invalidate_thread_;
  bool invalidate_stop_ = false;
  std::mutex compact_mu_;  // one compaction at a time
  std::atomic<bool> read_only_{false};  // the backend refuses writes (see backend_write_failed)
  std::string broken_lock_;  // the lock taken over or broken at open, if any (fsck reports it)
  std::mutex upload_mu_;  // one metadata upload at a time; taken before mu_
  std::atomic<uint64_t> metadata_version_{0};
  int64_t changes_at_last_upload_ = -1;  // sqlite3_total_changes64 after the last upload; guarded by mu_
  std::atomic<bool> shut_down_{false};
  // Whether any file may carry a file capability (a security.capability
  // attribute). The kernel asks for it before every write to a FUSE file
  // (FUSE leaves SB_NOSEC off), and while false getxattr answers without mu_.
  // Counted at open; set before any such attribute is stored; never cleared
  // while mounted, so a removal or a rollback leaves it on, which is safe.
  std::atomic<bool> capabilities_stored_{true};

  PendingDirTimes pending_dir_times_;  // guarded by mu_ (touch_dir())
  bool deferring_dir_times_ = false;   // guarded by mu_: a DeferDirTimes is active

  // Group commit; guarded by mu_.
  bool batching_ = false;  // q() opens a batch when none is open
  bool committer_stop_ = false;
  std::chrono::steady_clock::time_point batch_opened_{};
  std::chrono::steady_clock::time_point space_checked_at_{};
  bool cache_disk_low_ = false;
  // While batches may open, a file holds some room on the cache disk: a
  // batch commit that finds the disk nearly full (filled by someone else
  // within the last check) frees it first, so the changes already answered
  // still fit in the log.
  bool space_reserved_ = false;
  bool reserve_space();
  void use_reserve_if_disk_full();
  void drop_space_reserve();
  std::condition_variable batch_cv_;
  std::atomic<bool> commit_requested_{false};
  std::thread committer_;

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
  std::thread metadata_timer_;
  std::thread lock_heartbeat_;  // MountLock::heartbeat() every options_.lock_heartbeat
  int lock_fd_ = -1;
};

template <typename F>
int FilesystemImpl::guarded(const char* op, F&& body) {
  if (read_only_.load(std::memory_order_relaxed) && is_mutating(op)) return EROFS;
  try {
    int result = body();
    if (commit_requested_.load(std::memory_order_relaxed)) commit_if_requested();
    return result;
  } catch (const sql::Error& e) {
    if (e.disk_full()) {
      log::warning("{}: the cache disk is full ({})", op, e.what());
      return ENOSPC;
    }
    log_internal_error(op, e.what());
    return EIO;
  } catch (const std::exception& e) {
    log_internal_error(op, e.what());
    return EIO;
  }
}

}  // namespace hoardfs
