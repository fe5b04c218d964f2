// File contents: handles, read/write/truncate through the BlockCache, fsync,
// and the BlockCatalog side (which block holds what, reference counts).
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/filesystem_impl.h"
#include "hoardfs/log.h"

namespace hoardfs {

int FilesystemImpl::open(uint64_t ino, int flags, uint64_t* fh) {
  return guarded("open", [&] {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    if (S_ISDIR(row->mode)) return EISDIR;
    const bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (row->locked && writing) return EPERM;
    if (read_only_ && writing) return EROFS;
    *fh = next_handle_++;
    handles_[*fh] = ino;
    open_count_[ino]++;
    return 0;
  });
}

int FilesystemImpl::create(uint64_t parent, std::string_view name, mode_t mode, int /*flags*/,
                           const Caller& caller, struct stat* attr, uint64_t* fh) {
  return guarded("create", [&] {
    std::lock_guard lock(mu_);
    InodeRow parent_row;
    if (int err = check_new_entry(parent, name, &parent_row)) return err;
    sql::Transaction txn(db_);
    Caller owner = caller;
    if (parent_row.mode & S_ISGID) owner.gid = parent_row.gid;
    const NewInodeAcls acls = new_inode_acls(parent, S_IFREG | (mode & 07777), caller);
    uint64_t ino = new_inode(acls.mode, owner, 0, 1);
    store_new_inode_acls(ino, acls);
    add_entry(parent, name, ino);
    touch_dir(parent, now_ns());
    txn.commit();
    stat_locked(*load_inode(ino), attr);
    lookups_[ino]++;
    *fh = next_handle_++;
    handles_[*fh] = ino;
    open_count_[ino]++;
    return 0;
  });
}

int FilesystemImpl::read_into(uint64_t ino, uint64_t /*fh*/, uint64_t offset, size_t size, char* buffer,
                              size_t* got) {
  *got = 0;
  return guarded("read", [&] {
    uint64_t file_size = 0;
    {
      std::lock_guard lock(mu_);
      auto row = load_inode(ino);
      if (!row) return ENOENT;
      file_size = row->size;
    }
    if (offset >= file_size || size == 0) return 0;
    const uint64_t end = std::min<uint64_t>(offset + size, file_size);
    const uint64_t file_blocks = (file_size + block_size_ - 1) / block_size_;
    const int err = for_each_block_piece(offset, end, [&](uint64_t blockno, uint32_t in_block, uint32_t length) {
      return cache_->read(ino, blockno, in_block, length, file_blocks, buffer + (blockno * block_size_ + in_block - offset));
    });
    if (err == 0) *got = end - offset;
    return err;
  });
}

// A read this large is the kernel's read-ahead (or a reader with a large
// buffer): worth checking whether its cache file pages are in memory.
constexpr size_t kLargeRead = 128 * 1024;

bool FilesystemImpl::read_would_wait(uint64_t ino, uint64_t offset, size_t size) {
  // Whether a small read finds its pages is not worth a look (an open and a
  // cachestat per request cost random 4 KiB reads a tenth of their rate);
  // a large one that goes to the disk holds up the CPU's queue far longer.
  const bool check_pages = size >= kLargeRead;
  return for_each_block_piece(offset, offset + size, [&](uint64_t blockno, uint32_t in_block, uint32_t length) {
           return cache_->would_wait(ino, blockno, in_block, length, check_pages) ? 1 : 0;
         }) != 0;
}

int FilesystemImpl::write(uint64_t ino, uint64_t /*fh*/, uint64_t offset, std::string_view data,
                          size_t* written) {
  return guarded("write", [&] {
    const uint64_t end = offset + data.size();
    uint64_t old_size = 0;
    {
      // The size grows before the data lands, so the write-back of a block
      // written here is never taken for one past the end of the file.
      std::lock_guard lock(mu_);
      auto row = load_inode(ino);
      if (!row) return ENOENT;
      if (row->locked) return EPERM;
      old_size = row->size;
      row->size = std::max(row->size, end);
      row->mtime_ns = row->ctime_ns = now_ns();
      store_inode(*row);
    }
    for (uint64_t pos = offset; pos < end;) {
      const uint64_t blockno = pos / block_size_;
      const uint32_t in_block = static_cast<uint32_t>(pos % block_size_);
      const size_t length = std::min<uint64_t>(block_size_ - in_block, end - pos);
      // A block that starts at or past the old end has nothing stored to load
      // (extents past the end are released, and only the old size was ever committed).
      const bool past_end = blockno * block_size_ >= old_size;
      if (int err = cache_->write(ino, blockno, in_block, data.substr(pos - offset, length), past_end)) {
        // A full cache disk (ENOSPC) or I/O error: the file keeps what landed
        // (a short write) and does not grow past it.
        std::lock_guard lock(mu_);
        auto row = load_inode(ino);
        if (row && row->size == end && end > std::max(old_size, pos)) {
          row->size = std::max(old_size, pos);
          store_inode(*row);
        }
        if (pos == offset) return err;
        *written = pos - offset;
        return 0;
      }
      pos += length;
    }
    *written = data.size();
    return 0;
  });
}

int FilesystemImpl::set_size(uint64_t ino, uint64_t new_size) {
  uint64_t old_size = 0;
  {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    old_size = row->size;
  }
  if (new_size < old_size && new_size % block_size_ != 0) {
    // The new last block keeps only its head; cut it in the cache (loading it if needed).
    int err = cache_->truncate(ino, new_size / block_size_, static_cast<uint32_t>(new_size % block_size_));
    if (err != 0) return err;
  }
  std::lock_guard lock(mu_);
  auto row = load_inode(ino);
  if (!row) return ENOENT;
  sql::Transaction txn(db_);
  if (new_size < row->size) {
    const uint64_t first_gone = (new_size + block_size_ - 1) / block_size_;
    release_extents_from(ino, first_gone);
    if (cache_->drop(ino, first_gone)) commit_requested_ = true;
  }
  row->size = new_size;
  row->mtime_ns = row->ctime_ns = now_ns();
  store_inode(*row);
  txn.commit();
  return 0;
}

int FilesystemImpl::flush(uint64_t, uint64_t) { return 0; }

int FilesystemImpl::release(uint64_t ino, uint64_t fh) {
  return guarded("release", [&] {
    std::lock_guard lock(mu_);
    handles_.erase(fh);
    auto it = open_count_.find(ino);
    if (it != open_count_.end() && --it->second == 0) {
      open_count_.erase(it);
      cache_->file_closed(ino);
      maybe_purge(ino);
    }
    return 0;
  });
}

void FilesystemImpl::make_durable() {
  // WAL commits are not synced under synchronous=NORMAL; one commit under
  // FULL syncs the log up to and including every earlier commit.
  commit_batch();
  db_.exec("PRAGMA synchronous=FULL");
  q("INSERT INTO params(key, value) VALUES ('last_sync_ns', ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value").bind(now_ns()).run();
  commit_batch();
  db_.exec("PRAGMA synchronous=NORMAL");
}

bool FilesystemImpl::cache_disk_low() {
  // A group commit that fails for lack of space loses the whole batch, so
  // with little room left every change commits by itself again (and a full
  // disk fails just that change, with ENOSPC). Looked at ten times a second.
  constexpr uint64_t kLowSpace = 64ull << 20;
  const auto now = std::chrono::steady_clock::now();
  if (now - space_checked_at_ >= std::chrono::milliseconds(100)) {
    space_checked_at_ = now;
    struct statvfs vfs {};
    if (::statvfs(options_.cache_dir.c_str(), &vfs) == 0) {
      cache_disk_low_ = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kLowSpace;
    }
    // No batch without the reserve that lets it commit on a full disk.
    if (!cache_disk_low_ && !reserve_space()) cache_disk_low_ = true;
    cache_->set_low_space(cache_disk_low_);
  }
  return cache_disk_low_;
}

namespace {
constexpr uint64_t kSpaceReserve = 16ull << 20;  // more than one batch writes to the log

std::string space_reserve_path(const std::string& cache_dir) { return cache_dir + "/space-reserve"; }
}  // namespace

bool FilesystemImpl::reserve_space() {
  if (space_reserved_) return true;
  const std::string path = space_reserve_path(options_.cache_dir);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  space_reserved_ = ::posix_fallocate(fd, 0, static_cast<off_t>(kSpaceReserve)) == 0;
  ::close(fd);
  if (!space_reserved_) ::unlink(path.c_str());
  return space_reserved_;
}

void FilesystemImpl::use_reserve_if_disk_full() {
  if (!space_reserved_) return;
  struct statvfs vfs {};
  if (::statvfs(options_.cache_dir.c_str(), &vfs) != 0) return;
  if (static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize >= kSpaceReserve) return;
  log::warning("the cache disk is full: committing the last metadata changes into the space held in reserve");
  drop_space_reserve();
  cache_disk_low_ = true;  // no new batch until there is room (and a reserve) again
  if (cache_) cache_->set_low_space(true);
  space_checked_at_ = std::chrono::steady_clock::now();
}

void FilesystemImpl::drop_space_reserve() {
  if (!space_reserved_) return;
  ::unlink(space_reserve_path(options_.cache_dir).c_str());
  space_reserved_ = false;
}

void FilesystemImpl::commit_batch() {
  write_pending_dir_times();
  if (!db_.in_transaction()) return;
  use_reserve_if_disk_full();
  try {
    db_.exec("COMMIT");
  } catch (const sql::Error& e) {
    if (db_.in_transaction()) {
      batch_opened_ = std::chrono::steady_clock::now();  // kept: the next attempt commits it
    } else if (!read_only_.exchange(true)) {
      log::error("the metadata changes of the last {} ms could not be committed and are lost ({}); the "
                 "filesystem is READ-ONLY from now on", options_.commit_interval_ms, e.what());
    }
    throw;
  }
}

void FilesystemImpl::commit_if_requested() {
  std::lock_guard lock(mu_);
  if (commit_requested_.exchange(false)) commit_batch();
}

void FilesystemImpl::committer_loop() {
  std::unique_lock lock(mu_);
  const auto interval = std::chrono::milliseconds(options_.commit_interval_ms);
  while (!committer_stop_) {
    if (!db_.in_transaction()) {
      batch_cv_.wait(lock);
      continue;
    }
    const auto due = batch_opened_ + interval;
    if (std::chrono::steady_clock::now() < due) {
      batch_cv_.wait_until(lock, due);
      continue;
    }
    try {
      commit_batch();
    } catch (const std::exception& e) {
      log::warning("committing metadata changes: {}", e.what());
    }
  }
}

int FilesystemImpl::fsync(uint64_t ino, uint64_t /*fh*/, bool /*datasync*/) {
  return guarded("fsync", [&] {
    if (int err = cache_->sync_inode(ino)) return err;
    {
      std::lock_guard lock(mu_);
      make_durable();
    }
    if (options_.fsync_upload) {
      // The blocks first, then a metadata version that reaches them.
      Status uploaded = cache_->flush_inode(ino);
      if (uploaded.is_ok()) uploaded = snapshot_and_upload();
      if (!uploaded.is_ok()) {
        log::error("fsync of inode {} with --fsync=upload: {}", ino, uploaded.to_string());
        return EIO;
      }
    }
    return 0;
  });
}

int FilesystemImpl::fallocate(uint64_t ino, uint64_t /*fh*/, int mode, uint64_t offset, uint64_t length) {
  return guarded("fallocate", [&] {
    if (mode & ~FALLOC_FL_KEEP_SIZE) return EOPNOTSUPP;
    uint64_t size = 0;
    {
      std::lock_guard lock(mu_);
      auto row = load_inode(ino);
      if (!row) return ENOENT;
      if (!S_ISREG(row->mode)) return ENODEV;
      if (row->locked) return EPERM;
      size = row->size;
    }
    // Space in object storage cannot be reserved; only the size changes.
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + length > size) return set_size(ino, offset + length);
    return 0;
  });
}

// ---- BlockCatalog ----

std::optional<StoredBlock> FilesystemImpl::stored_block(uint64_t ino, uint64_t blockno) {
  std::lock_guard lock(mu_);
  auto& st = q("SELECT b.hash, b.size, o.name, b.obj_offset, b.obj_length FROM extents e "
               "JOIN blocks b ON b.id = e.block JOIN objects o ON o.id = b.object "
               "WHERE e.inode = ? AND e.offset = ?").bind(ino, blockno * block_size_);
  std::optional<StoredBlock> result;
  if (st.step()) {
    StoredBlock block;
    block.hash = hash_from_blob(st.blob(0));
    block.size = static_cast<uint64_t>(st.int64(1));
    block.object_name = st.text(2);
    block.obj_offset = static_cast<uint64_t>(st.int64(3));
    block.obj_length = static_cast<uint64_t>(st.int64(4));
    result = std::move(block);
  }
  st.reset();
  return result;
}

std::vector<bool> FilesystemImpl::has_blocks(const std::vector<BlockHash>& hashes) {
  std::vector<bool> found(hashes.size(), false);
  std::lock_guard lock(mu_);
  auto& st = q("SELECT 1 FROM blocks WHERE hash = ?");
  for (size_t i = 0; i < hashes.size(); ++i) {
    st.bind(hash_blob(hashes[i]));
    found[i] = st.step();
    st.reset();
  }
  return found;
}

std::vector<CommitOutcome> FilesystemImpl::commit_blocks(const std::vector<BlockCommit>& commits,
                                                         const std::function<std::vector<bool>()>& still_cached,
                                                         const std::function<void(const std::vector<size_t>&)>& committed,
                                                         bool* object_used) {
  std::lock_guard lock(mu_);
  std::vector<CommitOutcome> outcomes(commits.size(), CommitOutcome::kDropped);
  const std::vector<bool> cached = still_cached();
  NewObject object;
  sql::Transaction txn(db_);
  for (size_t i = 0; i < commits.size(); ++i) {
    if (cached[i]) outcomes[i] = record_block(commits[i], &object);
  }
  if (object.extra_refs > 0) {
    q("UPDATE objects SET refcount = refcount + ? WHERE id = ?").bind(object.extra_refs, *object.id).run();
  }
  txn.commit();
  commit_batch();
  std::vector<size_t> recorded;
  for (size_t i = 0; i < commits.size(); ++i) {
    if (outcomes[i] == CommitOutcome::kCommitted) recorded.push_back(i);
  }
  committed(recorded);
  *object_used = object.id.has_value();
  return outcomes;
}

CommitOutcome FilesystemImpl::record_block(const BlockCommit& c, NewObject* object) {
  auto row = load_inode(c.ino);
  if (!row || c.blockno * block_size_ >= row->size) return CommitOutcome::kDropped;
  const uint64_t offset = c.blockno * block_size_;
  std::optional<uint64_t> old_block;
  int64_t old_length = 0;
  {
    auto& st = q("SELECT block, length FROM extents WHERE inode = ? AND offset = ?").bind(c.ino, offset);
    if (st.step()) {
      old_block = static_cast<uint64_t>(st.int64(0));
      old_length = st.int64(1);
    }
    st.reset();
  }
  if (c.hole) {
    q("DELETE FROM extents WHERE inode = ? AND offset = ?").bind(c.ino, offset).run();
    attrs_.add_stored(c.ino, -old_length);
  } else {
    const std::string_view hash = hash_blob(c.hash);
    std::optional<uint64_t> block_id;
    {
      auto& st = q("SELECT id FROM blocks WHERE hash = ?").bind(hash);
      if (st.step()) block_id = static_cast<uint64_t>(st.int64(0));
      st.reset();
    }
    if (block_id) {
      // Someone stored the same block first: our copy is not needed (the
      // uploader deletes the object if no block of it is recorded).
      q("UPDATE blocks SET refcount = refcount + 1 WHERE id = ?").bind(*block_id).run();
    } else if (c.new_object.empty()) {
      return CommitOutcome::kNeedsUpload;  // nothing changed yet
    } else {
      if (object->id) {
        object->extra_refs++;  // added up once for the whole pack (commit_blocks)
      } else {
        q("INSERT INTO objects(name, stored_size, refcount) VALUES (?, ?, 1)")
            .bind(c.new_object, c.new_object_stored_size).run();
        object->id = db_.last_insert_rowid();
        if (c.new_object_plain_size > c.size) record_pack(*object->id, c.new_object_plain_size);
      }
      q("INSERT INTO blocks(hash, size, refcount, object, obj_offset, obj_length) VALUES (?, ?, 1, ?, ?, ?)")
          .bind(hash, c.size, *object->id, c.obj_offset, c.size).run();
      block_id = static_cast<uint64_t>(db_.last_insert_rowid());
    }
    q("INSERT INTO extents(inode, offset, length, block) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(inode, offset) DO UPDATE SET length = excluded.length, block = excluded.block")
        .bind(c.ino, offset, c.size, *block_id).run();
    attrs_.add_stored(c.ino, static_cast<int64_t>(c.size) - old_length);
  }
  if (old_block) release_block(*old_block);
  return CommitOutcome::kCommitted;
}

void FilesystemImpl::release_block(uint64_t block_id) {
  q("UPDATE blocks SET refcount = refcount - 1 WHERE id = ?").bind(block_id).run();
  auto& st = q("SELECT refcount, object FROM blocks WHERE id = ?").bind(block_id);
  if (!st.step()) {
    st.reset();
    return;
  }
  const int64_t refcount = st.int64(0);
  const int64_t object_id = st.int64(1);
  st.reset();
  if (refcount > 0) return;
  q("DELETE FROM blocks WHERE id = ?").bind(block_id).run();
  q("UPDATE objects SET refcount = refcount - 1 WHERE id = ?").bind(object_id).run();
  drop_object_if_unused(object_id);
}

void FilesystemImpl::drop_object_if_unused(int64_t object_id, bool retire) {
  auto& obj = q("SELECT refcount, name FROM objects WHERE id = ?").bind(object_id);
  if (obj.step() && obj.int64(0) <= 0) {
    std::string name = obj.text(1);
    obj.reset();
    q("DELETE FROM objects WHERE id = ?").bind(object_id).run();
    q("DELETE FROM packs WHERE object = ?").bind(object_id).run();
    if (retire) {
      // The first version not naming it is the first upload whose snapshot
      // comes after this; snapshot_and_upload() fills it in.
      q("INSERT INTO retired(name, version) VALUES (?, NULL)").bind(name).run();
    } else {
      q("INSERT INTO garbage(name) VALUES (?)").bind(name).run();
    }
  } else {
    obj.reset();
  }
}

void FilesystemImpl::record_pack(int64_t object_id, uint64_t plain_size) {
  q("INSERT OR REPLACE INTO packs(object, plain_size) VALUES (?, ?)").bind(object_id, plain_size).run();
}

void FilesystemImpl::release_extents_from(uint64_t ino, uint64_t first_blockno) {
  std::vector<uint64_t> blocks;
  auto& st = q("SELECT block FROM extents WHERE inode = ? AND offset >= ?").bind(ino, first_blockno * block_size_);
  while (st.step()) blocks.push_back(static_cast<uint64_t>(st.int64(0)));
  st.reset();
  q("DELETE FROM extents WHERE inode = ? AND offset >= ?").bind(ino, first_blockno * block_size_).run();
  attrs_.drop(ino);
  for (uint64_t block : blocks) release_block(block);
}

}  // namespace hoardfs
