// BlockCache: the local copy of file blocks and the write-back engine.
//
// Design. A cached block is one file, blocks/<inode>-<blockno>, holding the
// block's current plaintext (shorter than the block size at the end of a
// file; bytes past its end read as zeros). No descriptor stays open between
// calls. An entry is *clean* when its content equals the block the catalog
// records for (inode, blockno), and *dirty* otherwise.
//
// Writers bump the entry's generation (a process-wide counter, so a dropped
// and re-created entry never repeats one) and count themselves in `writers`
// while their pwrite runs outside the mutex. An upload worker copies a dirty
// entry only when no writer is active and checks afterwards that the
// generation did not move (a seqlock), so what it uploads is a state the file
// really had. It then hashes the copy (keyed BLAKE2b); if the catalog already
// has that block it only adds a reference, else it encodes and uploads a new
// object. The catalog commits under its own lock and asks the cache, under
// that lock, whether the entry still exists (truncate and unlink drop entries
// under the same lock), so a late upload never resurrects dropped data. The
// entry becomes clean only if its generation is still the uploaded one.
//
// Eviction removes least-recently-used clean entries when the cache is over
// its limit. Writers wait while dirty bytes exceed the limit, which gives
// back-pressure instead of filling the disk. Sequential reads prefetch the
// next `readahead` blocks through the same worker pool.
//
// A fetched block's data stays in memory (the entry's `fresh` copy) until
// reads took as many bytes as it holds, within a budget of twice the
// read-ahead window: the reader it was fetched for gets it without reading
// the cache file back. Once a sequential read has run past
// `stream_after_blocks`, the blocks it fetches get no cache file at all
// (streamed entries, gone with their copy), as bcache's sequential_cutoff:
// a restore of a large file neither displaces the cache's contents nor
// pays for writing them (on the test VM, filling fresh page-cache pages of
// the cache files cost more CPU than decrypting the data).
//
// Small dirty blocks (files of a few KiB) are packed: several go into one
// object, each recorded at its offset, so a tree of small files costs one
// object per block_size of data instead of one per file.
//
// Small new blocks are held in memory instead of a file: a block with
// nothing to load (past the end of its file) whose data ends within
// block_size / 4, up to a budget of held bytes (an eighth of the cache, at
// most 32 MiB). Copying a tree of small files then creates no cache file
// per file. A held block moves to a file when it grows past that bound and
// when its inode is fsync'd (so fsync'd data survives a crash as before;
// unsynced data may be lost, as POSIX allows). Once uploaded it stays in
// memory, clean, until newer held blocks need the room (oldest first), and
// is then dropped: its data is in the backend. While held blocks fill more
// than half their budget, blocks of a file whose last handle was closed go
// to the backend after a tenth of the write-back delay.
//
// Lock order: the catalog's metadata mutex before BlockCache::mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hoardfs/backend.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/status.h"

namespace hoardfs {

struct StoredBlock {
  BlockHash hash{};
  uint64_t size = 0;  // plaintext bytes
  std::string object_name;
  uint64_t obj_offset = 0;
  uint64_t obj_length = 0;
};

// A finished upload offered to the catalog.
struct BlockCommit {
  uint64_t ino = 0;
  uint64_t blockno = 0;
  bool hole = false;          // all zeros: remove the extent, store nothing
  BlockHash hash{};
  uint64_t size = 0;
  std::string new_object;     // set when this upload stored a new object
  uint64_t new_object_stored_size = 0;
  uint64_t new_object_plain_size = 0;  // its decoded size (more than `size` for a pack)
  uint64_t obj_offset = 0;    // where the block starts in new_object's plaintext
};

enum class CommitOutcome {
  kCommitted,
  kDropped,       // the entry was dropped meanwhile; nothing recorded
  kNeedsUpload,   // the block was not stored after all (freed meanwhile)
};

// Implemented by the filesystem over its database.
class BlockCatalog {
 public:
  virtual ~BlockCatalog() = default;
  virtual std::optional<StoredBlock> stored_block(uint64_t ino, uint64_t blockno) = 0;
  // Which of `hashes` the catalog has a block for (one lock for a whole pack).
  virtual std::vector<bool> has_blocks(const std::vector<BlockHash>& hashes) = 0;
  // Blocks uploaded together in one new object (one block alone, or a pack),
  // recorded in one transaction: commits[i] if `still_cached()` (called once,
  // under the catalog lock) says its entry exists, then `committed()` with
  // the indices recorded, under the same lock. Each callback is one call per
  // pack, so the uploader takes its own lock once, not once per block, while
  // the catalog lock is held. A block found stored meanwhile is counted once
  // more and leaves the object alone; one whose stored copy was freed
  // meanwhile (no bytes uploaded) is kNeedsUpload. `*object_used` tells
  // whether any block now lives in the new object.
  virtual std::vector<CommitOutcome> commit_blocks(const std::vector<BlockCommit>& commits,
                                                   const std::function<std::vector<bool>()>& still_cached,
                                                   const std::function<void(const std::vector<size_t>&)>& committed,
                                                   bool* object_used) = 0;
  // A write to the backend failed. When it is a permanent refusal (access
  // denied, full, credentials) the filesystem stops accepting changes; the
  // block stays dirty in the cache either way.
  virtual void backend_write_failed(const Status& why) = 0;
};

class BlockCache {
 public:
  struct Options {
    std::string dir;              // holds blocks/
    uint32_t block_size = 1 << 20;
    uint64_t max_bytes = 4ull << 30;
    unsigned threads = 4;
    unsigned readahead = 16;  // MountOptions::readahead_blocks
    std::chrono::milliseconds writeback_delay{1000};
    // Dirty blocks up to block_size / 4 are uploaded together, several to
    // an object of at most block_size (doc/format.md: packs).
    bool pack_small_blocks = true;
    // A sequential read longer than this many blocks streams: the blocks it
    // fetches after them get no cache file (MountOptions::sequential_cutoff).
    // 0: every fetched block is cached.
    uint64_t stream_after_blocks = 0;
  };
  BlockCache(Options options, Backend& backend, const ObjectCodec& codec, BlockCatalog& catalog);
  ~BlockCache();

  // Indexes existing cache files. With `after_crash`, every file is compared
  // with the catalog and becomes dirty when it differs; otherwise all are clean.
  // `bytes_in_file(ino, blockno)` is how many bytes of that block lie inside
  // its file (0: none, or no such file): files for other blocks are deleted,
  // and a file holding more is cut to that length.
  Status recover(bool after_crash, const std::function<uint64_t(uint64_t, uint64_t)>& bytes_in_file);
  void start();
  // Stops the workers (after flush_all() for a clean shutdown).
  void stop();

  // Whether a read of [offset, offset+length) of the block would wait for
  // the backend (no entry: neither cached nor being loaded by read-ahead) or,
  // with `check_pages`, for the disk (its cache file's pages for the range
  // are not all in the page cache; where the kernel cannot tell, they count
  // as there).
  bool would_wait(uint64_t ino, uint64_t blockno, uint32_t offset, uint32_t length, bool check_pages);
  // Reads [offset, offset+length) of the block into `out` (bytes past the
  // block's data are zeros). Returns 0 or an errno.
  // `file_blocks` (blocks in the file) bounds read-ahead.
  int read(uint64_t ino, uint64_t blockno, uint32_t offset, uint32_t length, uint64_t file_blocks, char* out);
  // Writes into the block, loading its old content first when the write is
  // partial, unless the caller knows the catalog holds nothing for it
  // (`past_end`: the block starts at or past the file's end).
  int write(uint64_t ino, uint64_t blockno, uint32_t offset, std::string_view data, bool past_end = false);
  // Shortens the block's content to `length` bytes (loading it first).
  int truncate(uint64_t ino, uint64_t blockno, uint32_t length);
  // Forgets every block of `ino` from `first_blockno` on. Caller holds the
  // catalog lock. True when some of them were dirty (data not yet uploaded).
  bool drop(uint64_t ino, uint64_t first_blockno);
  // Forgets the cached copy of one block (fsck: its stored object is gone).
  void forget(uint64_t ino, uint64_t blockno);

  // fsyncs the dirty cache files of `ino` and the cache directory.
  int sync_inode(uint64_t ino);
  // Uploads every dirty block of `ino` and waits.
  Status flush_inode(uint64_t ino);
  // Uploads every dirty block and waits until none is left.
  Status flush_all();
  // While the cache disk is low on space, removed files are deleted at once
  // rather than by the reaper: the metadata changes that follow a removal
  // may need the room it frees.
  void set_low_space(bool low) { low_space_ = low; }
  void set_max_bytes(uint64_t bytes);

  uint64_t cached_bytes() const { return cached_bytes_.load(); }
  uint64_t dirty_bytes() const { return dirty_bytes_.load(); }
  uint64_t max_bytes() const { return max_bytes_.load(); }
  // Bytes cached for one inode (for st_blocks).
  uint64_t inode_bytes(uint64_t ino);
  // The file's last handle was closed: its dirty blocks are likely complete.
  void file_closed(uint64_t ino);

 private:
  using Key = std::pair<uint64_t, uint64_t>;  // inode, block number
  struct Entry {
    uint64_t id = 0;          // unique per entry: detects drop + re-create
    uint64_t size = 0;
    bool dirty = false;
    bool loading = false;
    bool uploading = false;
    uint64_t generation = 0;
    bool filled_in_order = false;  // dirty only through appends (or one whole-block write)
    int writers = 0;
    int pins = 0;
    uint64_t last_use = 0;
    std::chrono::steady_clock::time_point dirtied_at{};
    std::chrono::steady_clock::time_point retry_after{};  // after a failed upload
    unsigned failed_uploads = 0;
    bool closed = false;     // dirtied, then its file's last handle was closed
    bool held = false;       // the data is `memory`, not a file
    std::string memory;      // a held block's data (size bytes)
    // Just fetched: the block's data is also in memory, at fresh_offset of
    // the decoded object, until a read reaches its end (see keep_fresh_locked).
    std::shared_ptr<const std::string> fresh;
    uint64_t fresh_offset = 0;
    uint64_t fresh_read = 0;  // bytes of it that reads took
    uint64_t fresh_charge = 0;  // counted in fresh_bytes_: the decoded object it keeps alive
    // Fetched for a streaming read: no cache file, the data is only `fresh`,
    // and the entry goes with it. Not counted in cached_bytes_.
    bool streamed = false;
  };

  std::string path_of(const Key& key) const;
  // A block of at most a quarter of the block size: packed with others at
  // upload, and held in memory when new (see above).
  bool is_small(uint64_t bytes) const { return bytes <= options_.block_size / 4; }
  // Makes sure the entry exists and holds its data (fetching it when the
  // catalog has it); `need_data` false skips the fetch for whole-block writes.
  // Returns with mu_ held via `lock` and the entry pinned.
  // With `may_hold`, a new entry with nothing to load is held in memory
  // rather than given a file, when the budget has room.
  // What a read does with a block it fetches: kRead keeps it in memory
  // for the reader as well (fresh), kStream only there (a streamed entry).
  enum class FetchFor { kWrite, kRead, kStream };
  int acquire(std::unique_lock<std::mutex>& lock, const Key& key, bool need_data, bool create, Entry** out,
              bool may_hold = false, FetchFor use = FetchFor::kWrite);
  // Room for `more` held bytes, dropping the oldest clean held blocks if
  // needed; false (and nothing reserved) when there is none.
  bool reserve_held_locked(uint64_t more);
  // Writes a held block's data to its file; it is an ordinary entry after.
  int unhold_locked(const Key& key, Entry& entry);
  void release_pin(const Key& key, uint64_t id);
  // Fetches the block and writes it to `path` (none when empty); the data is
  // at *offset of *plain.
  int fetch_into_file(const Key& key, const std::string& path, uint64_t* size,
                      std::shared_ptr<const std::string>* plain, uint64_t* offset);
  // Before write() or truncate() changes the block: a streamed entry gets
  // its cache file, and the fresh copy goes. 0 or the errno.
  int prepare_change_locked(const Key& key, Entry& entry);
  // Keeps a fetched block's data in memory for the read that asked for it
  // (or the read-ahead's reader), up to fresh_limit_ bytes, oldest dropped first.
  void keep_fresh_locked(const Key& key, Entry& entry, std::shared_ptr<const std::string> plain, uint64_t offset);
  // The fresh budget: twice the read-ahead window.
  uint64_t fresh_limit() const { return uint64_t{2} * (options_.readahead + 2) * options_.block_size; }
  void drop_fresh_locked(Entry& entry);
  void mark_dirty_locked(const Key& key, Entry& entry);
  void set_size_locked(const Key& key, Entry& entry, uint64_t new_size);
  // Adds `delta` to cached_bytes_ and to the inode's share of it.
  void count_bytes_locked(uint64_t ino, int64_t delta);
  // Forgets the entry; its file goes to the reaper, or is deleted `now` (and
  // always while the cache disk is low on space: see set_low_space()).
  void remove_locked(std::map<Key, Entry>::iterator it, bool now = false);
  void evict_clean_until(uint64_t target_bytes);
  void wait_for_dirty_room(std::unique_lock<std::mutex>& lock);

  void writeback_loop();
  void worker_loop();
  void enqueue(std::function<void()> task);
  // Uploads the blocks in one new object (one block, or a pack of small ones).
  void upload(const std::vector<Key>& keys);
  // The end of an upload attempt of entry `id` at `key` (mu_ held).
  void finish_upload_locked(const Key& key, uint64_t id, bool failed, const Status& error);
  // The catalog refused the block (past the end of its file, or of no file):
  // forgets the entry unless it was written or pinned since (mu_ held).
  void drop_if_unchanged_locked(const Key& key, uint64_t id, uint64_t generation);
  // Marks the entry clean if it still holds `generation` (the catalog lock
  // and mu_ held).
  void mark_clean_locked(const Key& key, uint64_t id, uint64_t generation);
  void prefetch(const Key& key, FetchFor use);

  const Options options_;
  Backend& backend_;
  const ObjectCodec& codec_;
  BlockCatalog& catalog_;
  std::string blocks_dir_;

  std::mutex mu_;  // protects everything below
  std::condition_variable changed_;  // entry state changed (loading, dirty, flush)
  std::condition_variable writeback_wake_;  // a flush was asked for, or stop
  std::map<Key, Entry> entries_;
  std::set<Key> dirty_keys_;  // the dirty entries (write-back scans only them; flush waits for none)
  struct ReadRun {
    uint64_t last_block = 0;  // the furthest block of the run
    uint64_t length = 0;      // how many blocks the run advanced to reach it
  };
  std::map<uint64_t, ReadRun> read_runs_;  // per inode, for read-ahead and streaming
  std::set<BlockHash> hashes_in_flight_;          // new blocks being uploaded right now
  uint64_t held_bytes_ = 0;                        // held blocks' data, plus kHeldEntryCost each
  uint64_t held_limit_ = 0;                        // set in the constructor
  std::deque<std::pair<Key, uint64_t>> held_clean_;  // held blocks made clean (key, id), oldest first
  uint64_t fresh_bytes_ = 0;                          // data of entries with a fresh copy
  std::deque<std::pair<Key, uint64_t>> fresh_order_;  // entries given a fresh copy (key, id), oldest first
  uint64_t use_tick_ = 0;
  uint64_t next_generation_ = 1;
  bool flush_requested_ = false;
  int flush_waiters_ = 0;
  Status last_upload_error_;
  uint64_t upload_failures_ = 0;
  std::deque<std::function<void()>> tasks_;
  std::condition_variable tasks_changed_;
  bool stopping_ = false;

  std::atomic<uint64_t> cached_bytes_{0};
  // cached_bytes_ per inode, under a mutex of its own (taken inside mu_,
  // never the other way): getattr asks for it while holding the filesystem
  // lock, and must not wait while mu_ is held across a cache file's
  // creation or removal.
  std::mutex bytes_mu_;
  std::unordered_map<uint64_t, uint64_t> inode_bytes_;
  std::atomic<uint64_t> dirty_bytes_{0};
  std::atomic<uint64_t> max_bytes_;
  std::vector<std::thread> workers_;
  std::thread writeback_thread_;

  // Removed cache files, renamed out of their block's name under mu_ and
  // deleted by the reaper thread: deleting a file can take milliseconds (an
  // ext4 mounted with -o discard trims its blocks in unlink), and mu_ is
  // often taken under the filesystem's lock, which every request needs.
  void reaper_loop();
  // Waits until the files removed so far are deleted (mu_ not held);
  // returns whether any were waiting.
  bool wait_for_reaper();
  std::mutex reap_mu_;  // protects the five below
  std::condition_variable reap_wake_;
  std::condition_variable reaped_;  // a batch was deleted
  std::vector<std::string> doomed_;
  bool reaping_ = false;  // the reaper is deleting a batch
  std::atomic<bool> low_space_{false};
  bool reaper_running_ = false;
  uint64_t next_doomed_ = 0;  // under mu_
  std::thread reaper_;

  // The last few decoded packs, so reading the small files of one pack
  // fetches and decrypts it once, not once per file.
  std::mutex packs_mu_;
  std::list<std::pair<std::string, std::shared_ptr<const std::string>>> recent_packs_;  // newest first
  uint64_t recent_pack_bytes_ = 0;
  std::shared_ptr<const std::string> recent_pack(const std::string& object);
  void remember_pack(const std::string& object, std::shared_ptr<const std::string> plaintext);
};

}  // namespace hoardfs
