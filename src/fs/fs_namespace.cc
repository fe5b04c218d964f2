// Names and attributes: lookup, create/remove entries, rename, links, setattr.
#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "fs/adaptive_mutex.h"
#include "fs/filesystem_impl.h"
#include "hoardfs/log.h"

namespace hoardfs {

namespace {
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxSymlinkLength = 4095;

void set_time(struct timespec* ts, int64_t ns) {
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  if (ts->tv_nsec < 0) {
    ts->tv_nsec += 1000000000;
    ts->tv_sec -= 1;
  }
}

int64_t to_ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

void log_internal_error(const char* op, const char* what) {
  log::error("internal error in {}: {}", op, what);
}

void FilesystemImpl::join_batch() {
  if (batching_ && !db_.in_transaction() && !cache_disk_low()) {
    db_.exec("BEGIN");
    batch_opened_ = std::chrono::steady_clock::now();
    batch_cv_.notify_one();
  }
}

sql::Statement& FilesystemImpl::q(const char* sql) {
  join_batch();
  if (pending_dir_times_.dir != 0 && !deferring_dir_times_) write_pending_dir_times();
  auto it = statements_.find(sql);
  if (it == statements_.end()) it = statements_.emplace(sql, db_.prepare(sql)).first;
  return it->second;
}

InodeRow FilesystemImpl::inode_from(sql::Statement& st, int first, uint64_t ino) {
  InodeRow row;
  row.id = ino;
  row.mode = static_cast<uint32_t>(st.int64(first));
  row.uid = static_cast<uint32_t>(st.int64(first + 1));
  row.gid = static_cast<uint32_t>(st.int64(first + 2));
  row.size = static_cast<uint64_t>(st.int64(first + 3));
  row.rdev = static_cast<uint64_t>(st.int64(first + 4));
  row.nlink = static_cast<uint64_t>(st.int64(first + 5));
  row.atime_ns = st.int64(first + 6);
  row.mtime_ns = st.int64(first + 7);
  row.ctime_ns = st.int64(first + 8);
  row.locked = st.int64(first + 9) != 0;
  return row;
}

std::optional<InodeRow> FilesystemImpl::load_inode(uint64_t ino) {
  // The attribute cache is never older than the database (attr_cache.h), and
  // the operations that change a row (setattr, create, rename, write) mostly
  // find it there: the request before them looked the inode up.
  if (auto cached = attrs_.get(ino)) return cached->row;
  auto& st = q("SELECT mode, uid, gid, size, rdev, nlink, atime_ns, mtime_ns, ctime_ns, locked "
               "FROM inodes WHERE id = ?").bind(ino);
  if (!st.step()) return std::nullopt;
  InodeRow row = inode_from(st, 0, ino);
  st.reset();
  return row;
}

void FilesystemImpl::store_inode(const InodeRow& row) {
  q("UPDATE inodes SET mode=?, uid=?, gid=?, size=?, rdev=?, nlink=?, atime_ns=?, mtime_ns=?, "
    "ctime_ns=?, locked=? WHERE id=?")
      .bind(row.mode, row.uid, row.gid, row.size, row.rdev, row.nlink, row.atime_ns, row.mtime_ns,
            row.ctime_ns, row.locked ? 1 : 0, row.id)
      .run();
}

void FilesystemImpl::stat_locked(const InodeRow& row, struct stat* st, std::optional<uint64_t> stored_bytes) {
  fill_stat(row, remember_locked(row, stored_bytes), st);
}

uint64_t FilesystemImpl::remember_locked(const InodeRow& row, std::optional<uint64_t> stored_bytes) {
  if (!stored_bytes) {
    stored_bytes = 0;
    if (S_ISREG(row.mode) && row.size > 0) {
      auto& sum = q("SELECT COALESCE(SUM(length), 0) FROM extents WHERE inode = ?").bind(row.id);
      if (sum.step()) stored_bytes = static_cast<uint64_t>(sum.int64(0));
      sum.reset();
    }
  }
  attrs_.put({row, *stored_bytes});
  return *stored_bytes;
}

void FilesystemImpl::fill_stat(const InodeRow& row, uint64_t stored_bytes, struct stat* st) const {
  *st = {};
  st->st_ino = row.id;
  st->st_mode = row.mode;
  st->st_nlink = row.nlink;
  st->st_uid = row.uid;
  st->st_gid = row.gid;
  st->st_rdev = row.rdev;
  st->st_size = static_cast<off_t>(row.size);
  st->st_blksize = 128 * 1024;
  if (S_ISREG(row.mode) && row.size > 0) {
    // Allocated space: stored extents plus what only the cache holds, never
    // more than the size, so sparse files look sparse.
    uint64_t allocated = stored_bytes + cache_->inode_bytes(row.id);
    allocated = std::min(allocated, (row.size + 4095) / 4096 * 4096);
    st->st_blocks = static_cast<blkcnt_t>((allocated + 511) / 512);
  }
  set_time(&st->st_atim, row.atime_ns);
  set_time(&st->st_mtim, row.mtime_ns);
  set_time(&st->st_ctim, row.ctime_ns);
}

std::optional<uint64_t> FilesystemImpl::find_entry(uint64_t parent, std::string_view name) {
  auto& st = q("SELECT inode FROM dentries WHERE parent = ? AND name = ?").bind(parent, name);
  std::optional<uint64_t> result;
  if (st.step()) result = static_cast<uint64_t>(st.int64(0));
  st.reset();
  return result;
}

uint64_t FilesystemImpl::new_inode(uint32_t mode, const Caller& caller, uint64_t rdev, uint64_t nlink) {
  int64_t now = now_ns();
  q("INSERT INTO inodes(mode, uid, gid, size, rdev, nlink, atime_ns, mtime_ns, ctime_ns) "
    "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)")
      .bind(mode, caller.uid, caller.gid, rdev, nlink, now, now, now)
      .run();
  return static_cast<uint64_t>(db_.last_insert_rowid());
}

void FilesystemImpl::add_entry(uint64_t parent, std::string_view name, uint64_t ino) {
  q("INSERT INTO dentries(parent, name, inode) VALUES (?, ?, ?)").bind(parent, name, ino).run();
}

void FilesystemImpl::remove_entry(uint64_t parent, std::string_view name) {
  q("DELETE FROM dentries WHERE parent = ? AND name = ?").bind(parent, name).run();
}

void FilesystemImpl::set_link_count(uint64_t ino, uint64_t nlink, int64_t now) {
  q("UPDATE inodes SET nlink = ?, ctime_ns = ? WHERE id = ?").bind(nlink, now, ino).run();
}

void FilesystemImpl::touch_dir(uint64_t dir, int64_t now) {
  q("UPDATE inodes SET mtime_ns = ?, ctime_ns = ? WHERE id = ?").bind(now, now, dir).run();
}

void FilesystemImpl::touch_dir(InodeRow* dir, int64_t now) {
  // Deferred only inside the group commit's batch: with the cache disk low
  // on space every change commits by itself, and so do these times.
  if (deferring_dir_times_ && batching_ && !cache_disk_low_ && db_.in_transaction()) {
    pending_dir_times_ = {dir->id, now};  // DeferDirTimes wrote any other directory's
  } else {
    touch_dir(dir->id, now);
  }
  dir->mtime_ns = dir->ctime_ns = now;
  remember_locked(*dir, uint64_t{0});  // a directory stores no extents
}

FilesystemImpl::DeferDirTimes::DeferDirTimes(FilesystemImpl& fs, uint64_t dir) : fs_(fs) {
  if (fs_.pending_dir_times_.dir != 0 && fs_.pending_dir_times_.dir != dir) fs_.write_pending_dir_times();
  fs_.deferring_dir_times_ = true;
}

void FilesystemImpl::write_pending_dir_times() {
  const PendingDirTimes pending = std::exchange(pending_dir_times_, {});
  if (pending.dir == 0) return;
  try {
    touch_dir(pending.dir, pending.time_ns);
  } catch (...) {
    pending_dir_times_ = pending;  // still to be written
    throw;
  }
}

int FilesystemImpl::check_new_entry(uint64_t parent, std::string_view name, InodeRow* parent_row) {
  if (name.size() > kMaxNameLength) return ENAMETOOLONG;
  auto row = load_inode(parent);
  if (!row) return ENOENT;
  if (!S_ISDIR(row->mode)) return ENOTDIR;
  if (row->locked) return EPERM;
  if (find_entry(parent, name)) return EEXIST;
  *parent_row = *row;
  return 0;
}

bool FilesystemImpl::locked_inode(uint64_t ino) {
  auto& st = q("SELECT locked FROM inodes WHERE id = ?").bind(ino);
  bool locked = st.step() && st.int64(0) != 0;
  st.reset();
  return locked;
}

int FilesystemImpl::lookup(uint64_t parent, std::string_view name, struct stat* attr) {
  return guarded("lookup", [&] {
    if (name.size() > kMaxNameLength) return ENAMETOOLONG;
    lock_spinning(mu_);
    std::lock_guard lock(mu_, std::adopt_lock);
    // Reads no row of `parent` from the database: its pending times can wait
    // (cp -al looks each new name up before linking it).
    const DeferDirTimes defer(*this, parent);
    auto ino = find_entry(parent, name);
    if (!ino) return ENOENT;
    auto row = load_inode(*ino);
    if (!row) return ENOENT;
    stat_locked(*row, attr);
    lookups_[*ino]++;
    return 0;
  });
}

void FilesystemImpl::forget(uint64_t ino, uint64_t nlookup) {
  guarded("forget", [&] {
    std::lock_guard lock(mu_);
    auto it = lookups_.find(ino);
    if (it == lookups_.end()) return 0;
    it->second -= std::min(it->second, nlookup);
    if (it->second == 0) {
      lookups_.erase(it);
      maybe_purge(ino);
    }
    return 0;
  });
}

int FilesystemImpl::getattr(uint64_t ino, struct stat* attr) {
  return guarded("getattr", [&] {
    if (auto known = attrs_.get(ino)) {  // no lock needed: see attr_cache.h
      fill_stat(known->row, known->stored_bytes, attr);
      return 0;
    }
    lock_spinning(mu_);
    std::lock_guard lock(mu_, std::adopt_lock);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    stat_locked(*row, attr);
    return 0;
  });
}

int FilesystemImpl::setattr(uint64_t ino, const AttrChanges& changes, const Caller& /*caller*/,
                            struct stat* attr) {
  return guarded("setattr", [&] {
    {
      std::lock_guard lock(mu_);
      auto row = load_inode(ino);
      if (!row) return ENOENT;
      if (row->locked) return EPERM;
      if (changes.size && S_ISDIR(row->mode)) return EISDIR;
      if (changes.size && !S_ISREG(row->mode)) return EINVAL;
    }
    if (changes.size) {
      int err = set_size(ino, static_cast<uint64_t>(changes.values.st_size));
      if (err != 0) return err;
    }
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    const int64_t now = now_ns();
    sql::Transaction txn(db_);  // the mode and the ACL that follows it
    if (changes.mode) {
      row->mode = (row->mode & S_IFMT) | (changes.values.st_mode & 07777);
      acl_follow_mode(ino, row->mode);
    }
    if (changes.uid) row->uid = changes.values.st_uid;
    if (changes.gid) row->gid = changes.values.st_gid;
    if (changes.drop_privileges && !S_ISDIR(row->mode)) {
      row->mode &= ~S_ISUID;
      if (row->mode & S_IXGRP) row->mode &= ~S_ISGID;
      q("DELETE FROM xattrs WHERE inode = ? AND name = ?").bind(ino, kCapabilityXattr).run();
    }
    if (changes.atime) row->atime_ns = changes.atime_now ? now : to_ns(changes.values.st_atim);
    if (changes.mtime) row->mtime_ns = changes.mtime_now ? now : to_ns(changes.values.st_mtim);
    row->ctime_ns = changes.ctime ? to_ns(changes.values.st_ctim) : now;
    store_inode(*row);
    txn.commit();
    stat_locked(*row, attr, attrs_.stored_bytes(ino));  // kept unless a truncate dropped them
    return 0;
  });
}

int FilesystemImpl::access(uint64_t ino, int mask, const Caller& caller) {
  return guarded("access", [&] {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    mask &= R_OK | W_OK | X_OK;
    if (caller.uid == 0) {
      const bool runnable = S_ISDIR(row->mode) || (row->mode & (S_IXUSR | S_IXGRP | S_IXOTH));
      return (mask & X_OK) && !runnable ? EACCES : 0;
    }
    const int shift = caller.uid == row->uid ? 6 : caller.gid == row->gid ? 3 : 0;
    const int granted = static_cast<int>((row->mode >> shift) & 7);
    return (mask & ~granted) != 0 ? EACCES : 0;
  });
}

int FilesystemImpl::readlink(uint64_t ino, std::string* target) {
  return guarded("readlink", [&] {
    std::lock_guard lock(mu_);
    auto& st = q("SELECT target FROM symlinks WHERE inode = ?").bind(ino);
    if (!st.step()) return EINVAL;
    *target = st.blob(0);
    st.reset();
    return 0;
  });
}

int FilesystemImpl::mknod(uint64_t parent, std::string_view name, mode_t mode, dev_t rdev,
                          const Caller& caller, struct stat* attr) {
  return guarded("mknod", [&] {
    if (!S_ISREG(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode)) {
      return EINVAL;
    }
    std::lock_guard lock(mu_);
    InodeRow parent_row;
    if (int err = check_new_entry(parent, name, &parent_row)) return err;
    sql::Transaction txn(db_);
    Caller owner = caller;
    if (parent_row.mode & S_ISGID) owner.gid = parent_row.gid;
    const NewInodeAcls acls = new_inode_acls(parent, mode, caller);
    uint64_t ino = new_inode(acls.mode, owner, rdev, 1);
    store_new_inode_acls(ino, acls);
    add_entry(parent, name, ino);
    touch_dir(parent, now_ns());
    txn.commit();
    stat_locked(*load_inode(ino), attr);
    lookups_[ino]++;
    return 0;
  });
}

int FilesystemImpl::mkdir(uint64_t parent, std::string_view name, mode_t mode, const Caller& caller,
                          struct stat* attr) {
  return guarded("mkdir", [&] {
    std::lock_guard lock(mu_);
    InodeRow parent_row;
    if (int err = check_new_entry(parent, name, &parent_row)) return err;
    sql::Transaction txn(db_);
    Caller owner = caller;
    const NewInodeAcls acls = new_inode_acls(parent, S_IFDIR | (mode & 07777), caller);
    uint32_t dir_mode = acls.mode;
    if (parent_row.mode & S_ISGID) {
      owner.gid = parent_row.gid;
      dir_mode |= S_ISGID;
    }
    uint64_t ino = new_inode(dir_mode, owner, 0, 2);
    store_new_inode_acls(ino, acls);
    add_entry(parent, name, ino);
    parent_row.nlink++;
    parent_row.mtime_ns = parent_row.ctime_ns = now_ns();
    store_inode(parent_row);
    txn.commit();
    stat_locked(*load_inode(ino), attr);
    lookups_[ino]++;
    return 0;
  });
}

int FilesystemImpl::symlink(std::string_view target, uint64_t parent, std::string_view name,
                            const Caller& caller, struct stat* attr) {
  return guarded("symlink", [&] {
    if (target.size() > kMaxSymlinkLength) return ENAMETOOLONG;
    std::lock_guard lock(mu_);
    InodeRow parent_row;
    if (int err = check_new_entry(parent, name, &parent_row)) return err;
    sql::Transaction txn(db_);
    Caller owner = caller;
    if (parent_row.mode & S_ISGID) owner.gid = parent_row.gid;
    uint64_t ino = new_inode(S_IFLNK | 0777, owner, 0, 1);
    q("UPDATE inodes SET size = ? WHERE id = ?").bind(target.size(), ino).run();
    q("INSERT INTO symlinks(inode, target) VALUES (?, ?)").bind(ino, target).run();
    add_entry(parent, name, ino);
    touch_dir(parent, now_ns());
    txn.commit();
    stat_locked(*load_inode(ino), attr);
    lookups_[ino]++;
    return 0;
  });
}

void FilesystemImpl::drop_link(const InodeRow& row, int64_t now) {
  const uint64_t nlink = row.nlink > 0 ? row.nlink - 1 : 0;
  set_link_count(row.id, nlink, now);
  if (nlink == 0) maybe_purge(row.id);
}

void FilesystemImpl::maybe_purge(uint64_t ino) {
  if (ino == kRootInode || lookups_.count(ino) != 0 || open_count_.count(ino) != 0) return;
  auto row = load_inode(ino);
  if (row && row->nlink == 0) purge_inode(ino);
}

void FilesystemImpl::purge_inode(uint64_t ino) {
  sql::Transaction txn(db_);
  release_extents_from(ino, 0);
  q("DELETE FROM symlinks WHERE inode = ?").bind(ino).run();
  q("DELETE FROM xattrs WHERE inode = ?").bind(ino).run();
  q("DELETE FROM inodes WHERE id = ?").bind(ino).run();
  txn.commit();
  if (cache_->drop(ino, 0)) commit_requested_ = true;
}

bool FilesystemImpl::load_dir_and_inode(uint64_t dir, uint64_t ino, InodeRow* dir_row, InodeRow* row) {
  // Both mostly from the attribute cache (load_inode()): link and unlink put
  // the directory's row back, so the next one into the same directory (cp
  // -al, rm -rf) finds it there.
  auto dir_found = load_inode(dir);
  auto found = dir_found ? load_inode(ino) : std::nullopt;
  if (!found) return false;
  *dir_row = *dir_found;
  *row = *found;
  return true;
}

int FilesystemImpl::unlink(uint64_t parent, std::string_view name) {
  return guarded("unlink", [&] {
    std::lock_guard lock(mu_);
    const DeferDirTimes defer(*this, parent);
    auto& entry = q("SELECT id, inode FROM dentries WHERE parent = ? AND name = ?").bind(parent, name);
    if (!entry.step()) {
      entry.reset();
      return ENOENT;
    }
    const int64_t dentry = entry.int64(0);
    const auto ino = static_cast<uint64_t>(entry.int64(1));
    entry.reset();
    InodeRow row;
    InodeRow parent_row;
    if (!load_dir_and_inode(parent, ino, &parent_row, &row)) return ENOENT;
    if (S_ISDIR(row.mode)) return EISDIR;
    if (row.locked || parent_row.locked) return EPERM;
    // The name goes before the link count drops, so a failure between them
    // leaves an inode with a link too many (fsck's to find), never a name
    // without its inode: no savepoint needed inside a batch.
    sql::Transaction txn(db_, sql::Transaction::Nesting::kJoin);
    const int64_t now = now_ns();
    q("DELETE FROM dentries WHERE id = ?").bind(dentry).run();
    touch_dir(&parent_row, now);
    drop_link(row, now);
    txn.commit();
    return 0;
  });
}

int FilesystemImpl::rmdir(uint64_t parent, std::string_view name) {
  return guarded("rmdir", [&] {
    std::lock_guard lock(mu_);
    auto ino = find_entry(parent, name);
    if (!ino) return ENOENT;
    auto row = load_inode(*ino);
    if (!row) return ENOENT;
    if (!S_ISDIR(row->mode)) return ENOTDIR;
    if (row->locked || locked_inode(parent)) return EPERM;
    auto& children = q("SELECT 1 FROM dentries WHERE parent = ? LIMIT 1").bind(*ino);
    bool has_children = children.step();
    children.reset();
    if (has_children) return ENOTEMPTY;
    sql::Transaction txn(db_);
    const int64_t now = now_ns();
    remove_entry(parent, name);
    auto parent_row = load_inode(parent);
    parent_row->nlink--;
    parent_row->mtime_ns = parent_row->ctime_ns = now;
    store_inode(*parent_row);
    row->nlink = 0;
    row->ctime_ns = now;
    store_inode(*row);
    maybe_purge(*ino);
    txn.commit();
    return 0;
  });
}

bool FilesystemImpl::is_ancestor(uint64_t ancestor, uint64_t dir) {
  for (uint64_t cur = dir;;) {
    if (cur == ancestor) return true;
    if (cur == kRootInode) return false;
    auto& st = q("SELECT parent FROM dentries WHERE inode = ? LIMIT 1").bind(cur);
    if (!st.step()) return false;
    cur = static_cast<uint64_t>(st.int64(0));
    st.reset();
  }
}

int FilesystemImpl::rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                           std::string_view new_name, unsigned flags) {
  return guarded("rename", [&] {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return EINVAL;
    if (new_name.size() > kMaxNameLength) return ENAMETOOLONG;
    std::lock_guard lock(mu_);
    auto src = find_entry(parent, name);
    if (!src) return ENOENT;
    auto src_row = load_inode(*src);
    auto new_parent_row = load_inode(new_parent);
    if (!src_row || !new_parent_row) return ENOENT;
    if (!S_ISDIR(new_parent_row->mode)) return ENOTDIR;
    if (src_row->locked || locked_inode(parent) || new_parent_row->locked) return EPERM;
    auto dst = find_entry(new_parent, new_name);
    std::optional<InodeRow> dst_row;
    if (dst) dst_row = load_inode(*dst);
    if (dst_row && dst_row->locked) return EPERM;
    const bool src_dir = S_ISDIR(src_row->mode);
    const int64_t now = now_ns();

    if (flags & RENAME_EXCHANGE) {
      if (!dst_row) return ENOENT;
      const bool dst_dir = S_ISDIR(dst_row->mode);
      if (src_dir && parent != new_parent && is_ancestor(*src, new_parent)) return EINVAL;
      if (dst_dir && parent != new_parent && is_ancestor(*dst, parent)) return EINVAL;
      sql::Transaction txn(db_);
      q("UPDATE dentries SET inode = ? WHERE parent = ? AND name = ?").bind(*dst, parent, name).run();
      q("UPDATE dentries SET inode = ? WHERE parent = ? AND name = ?").bind(*src, new_parent, new_name).run();
      if (parent != new_parent && src_dir != dst_dir) {
        // A directory moved from one parent to the other: move its ".." link.
        int64_t delta = src_dir ? 1 : -1;
        q("UPDATE inodes SET nlink = nlink + ? WHERE id = ?").bind(delta, new_parent).run();
        q("UPDATE inodes SET nlink = nlink - ? WHERE id = ?").bind(delta, parent).run();
      }
      q("UPDATE inodes SET ctime_ns = ? WHERE id IN (?, ?)").bind(now, *src, *dst).run();
      touch_dir(parent, now);
      touch_dir(new_parent, now);
      txn.commit();
      return 0;
    }

    if (dst && (flags & RENAME_NOREPLACE)) return EEXIST;
    if (dst && *dst == *src) return 0;  // two links to one inode: POSIX says do nothing
    if (src_dir && is_ancestor(*src, new_parent)) return EINVAL;
    if (dst_row) {
      const bool dst_dir = S_ISDIR(dst_row->mode);
      if (src_dir && !dst_dir) return ENOTDIR;
      if (!src_dir && dst_dir) return EISDIR;
      if (dst_dir) {
        auto& children = q("SELECT 1 FROM dentries WHERE parent = ? LIMIT 1").bind(*dst);
        bool has_children = children.step();
        children.reset();
        if (has_children) return ENOTEMPTY;
      }
    }
    sql::Transaction txn(db_);
    if (dst_row) {
      remove_entry(new_parent, new_name);
      if (S_ISDIR(dst_row->mode)) {
        q("UPDATE inodes SET nlink = nlink - 1 WHERE id = ?").bind(new_parent).run();
        q("UPDATE inodes SET nlink = 0, ctime_ns = ? WHERE id = ?").bind(now, *dst).run();
        maybe_purge(*dst);
      } else {
        drop_link(*dst_row, now);
      }
    }
    q("UPDATE dentries SET parent = ?, name = ? WHERE parent = ? AND name = ?")
        .bind(new_parent, new_name, parent, name)
        .run();
    if (src_dir && parent != new_parent) {
      q("UPDATE inodes SET nlink = nlink - 1 WHERE id = ?").bind(parent).run();
      q("UPDATE inodes SET nlink = nlink + 1 WHERE id = ?").bind(new_parent).run();
    }
    q("UPDATE inodes SET ctime_ns = ? WHERE id = ?").bind(now, *src).run();
    touch_dir(parent, now);
    touch_dir(new_parent, now);
    txn.commit();
    // The kernel drops the moved inode's attributes and asks for them next
    // (rsync's temporary files: at the next run's walk); keep them at hand.
    InodeRow moved = *src_row;
    moved.ctime_ns = now;
    remember_locked(moved, attrs_.stored_bytes(moved.id));
    return 0;
  });
}

int FilesystemImpl::link(uint64_t ino, uint64_t new_parent, std::string_view new_name, struct stat* attr) {
  return guarded("link", [&] {
    if (new_name.size() > kMaxNameLength) return ENAMETOOLONG;
    std::lock_guard lock(mu_);
    const DeferDirTimes defer(*this, new_parent);
    InodeRow row;
    InodeRow parent;
    if (!load_dir_and_inode(new_parent, ino, &parent, &row)) return ENOENT;
    if (S_ISDIR(row.mode) || row.locked) return EPERM;
    if (!S_ISDIR(parent.mode)) return ENOTDIR;
    if (parent.locked) return EPERM;
    // The link count rises before the name exists, so a failure between
    // them leaves a link too many (fsck's to find), never a name the count
    // does not cover: no savepoint needed inside a batch. A name already
    // taken (the unique index) puts the count back.
    join_batch();  // the rows may have come from the cache, without a statement
    sql::Transaction txn(db_, sql::Transaction::Nesting::kJoin);
    const int64_t now = now_ns();
    set_link_count(ino, row.nlink + 1, now);
    q("INSERT OR IGNORE INTO dentries(parent, name, inode) VALUES (?, ?, ?)").bind(new_parent, new_name, ino).run();
    if (db_.changes() == 0) {
      set_link_count(ino, row.nlink, row.ctime_ns);  // back as it was
      txn.commit();
      return EEXIST;
    }
    touch_dir(&parent, now);
    txn.commit();
    row.nlink++;
    row.ctime_ns = now;
    stat_locked(row, attr, attrs_.stored_bytes(ino));  // the row's UPDATE kept them (attr_cache.h)
    lookups_[ino]++;
    return 0;
  });
}

int FilesystemImpl::opendir(uint64_t ino, uint64_t* fh) {
  return guarded("opendir", [&] {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    if (!S_ISDIR(row->mode)) return ENOTDIR;
    *fh = next_handle_++;
    dir_cursors_[*fh].ino = ino;
    return 0;
  });
}

// Offsets: 1 after ".", 2 after "..", then dentry id + 2 after each entry,
// so a cookie stays valid while other entries come and go.
int FilesystemImpl::readdir(uint64_t ino, uint64_t fh, uint64_t offset, const DirEmitter& emit) {
  return list_dir(ino, fh, offset, [&](std::string_view name, const struct stat& attr, uint64_t next) {
    return emit(name, attr.st_ino, attr.st_mode, next);
  }, false);
}

int FilesystemImpl::readdirplus(uint64_t ino, uint64_t fh, uint64_t offset, const DirPlusEmitter& emit) {
  return list_dir(ino, fh, offset, emit, true);
}

// With `plus`, entries carry full attributes and count as lookups; without,
// only inode and type matter and no attributes are computed.
namespace {
constexpr size_t kDirChunk = 256;  // entries joined at a time (a request takes some 250)

// The entries among kDirChunk ids (?2...) that are still in directory ?1.
template <bool kPlus>
const char* entries_by_id_sql() {
  static const std::string sql = [] {
    std::string text = "SELECT d.id, d.name, d.inode, i.mode, i.uid, i.gid, i.size, i.rdev, i.nlink, "
                       "i.atime_ns, i.mtime_ns, i.ctime_ns, i.locked";
    if (kPlus) {
      text += ", CASE WHEN i.size > 0 THEN (SELECT COALESCE(SUM(length), 0) FROM extents "
              "WHERE inode = d.inode) ELSE 0 END";
    }
    text += " FROM dentries d JOIN inodes i ON i.id = d.inode WHERE +d.parent = ?1 AND d.id IN (";
    for (size_t i = 0; i < kDirChunk; ++i) text += (i == 0 ? "?" : ", ?") + std::to_string(i + 2);
    text += ") ORDER BY d.id";
    return text;
  }();
  return sql.c_str();
}
}  // namespace

int FilesystemImpl::list_dir(uint64_t ino, uint64_t fh, uint64_t offset, const DirPlusEmitter& emit,
                             bool plus) {
  return guarded("readdir", [&] {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    if (!S_ISDIR(row->mode)) return ENOTDIR;
    struct stat attr {};
    if (offset == 0) {
      stat_locked(*row, &attr);
      if (!emit(".", attr, 1)) return 0;
    }
    if (offset <= 1) {
      uint64_t parent = kRootInode;
      if (ino != kRootInode) {
        auto& st = q("SELECT parent FROM dentries WHERE inode = ? LIMIT 1").bind(ino);
        if (st.step()) parent = static_cast<uint64_t>(st.int64(0));
        st.reset();
      }
      attr = {};
      attr.st_ino = parent;
      attr.st_mode = S_IFDIR;
      if (!emit("..", attr, 2)) return 0;
    }
    // Entries go in id order (the cookie), a chunk of ids at a time, and
    // only those a request takes are joined with their inodes. The ids come
    // from the directory handle's cursor, read once when the listing starts
    // (or starts over at offset 0): a request costs what it returns, however
    // large the directory. A caller without a handle (the library's own
    // callers) reads them for the call. A join sorted by id would join every
    // entry after `offset` for each request: quadratic in a large directory.
    // With plus, the stored bytes of each non-empty file come with its row
    // (st_blocks).
    const int64_t after = offset <= 2 ? 0 : static_cast<int64_t>(offset - 2);
    DirCursor call_cursor;
    auto found = fh != 0 ? dir_cursors_.find(fh) : dir_cursors_.end();
    DirCursor& cursor = found != dir_cursors_.end() && found->second.ino == ino ? found->second : call_cursor;
    if (!cursor.loaded || after == 0) {
      cursor.ids.clear();
      auto& ids = q("SELECT id FROM dentries WHERE parent = ? ORDER BY id").bind(ino);
      while (ids.step()) cursor.ids.push_back(ids.int64(0));
      ids.reset();
      cursor.loaded = true;
    }
    // An entry gone since is not found; one moved elsewhere has another parent.
    auto& st = q(plus ? entries_by_id_sql<true>() : entries_by_id_sql<false>());
    for (auto next = std::upper_bound(cursor.ids.begin(), cursor.ids.end(), after); next != cursor.ids.end();) {
      st.reset();  // unbound ids are NULL: they match nothing
      st.bind_at(1, static_cast<int64_t>(ino));
      for (int param = 2; param < 2 + static_cast<int>(kDirChunk) && next != cursor.ids.end(); ++param) {
        st.bind_at(param, *next++);
      }
      while (st.step()) {
        const InodeRow entry = inode_from(st, 3, static_cast<uint64_t>(st.int64(2)));
        attr = {};
        if (plus) {
          stat_locked(entry, &attr, static_cast<uint64_t>(st.int64(13)));
        } else {
          attr.st_ino = entry.id;
          attr.st_mode = entry.mode;
        }
        if (!emit(st.blob(1), attr, static_cast<uint64_t>(st.int64(0)) + 2)) {
          st.reset();
          return 0;  // the reply is full
        }
        if (plus) lookups_[entry.id]++;
      }
    }
    st.reset();
    return 0;
  });
}

int FilesystemImpl::releasedir(uint64_t, uint64_t fh) {
  std::lock_guard lock(mu_);
  dir_cursors_.erase(fh);
  return 0;
}

int FilesystemImpl::fsyncdir(uint64_t, uint64_t, bool) {
  return guarded("fsyncdir", [&] {
    {
      std::lock_guard lock(mu_);
      make_durable();
    }
    if (options_.fsync_upload) {
      Status uploaded = snapshot_and_upload();
      if (!uploaded.is_ok()) {
        log::error("fsync of a directory with --fsync=upload: {}", uploaded.to_string());
        return EIO;
      }
    }
    return 0;
  });
}

}  // namespace hoardfs
