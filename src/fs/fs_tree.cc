// Whole-tree operations behind hoardfs cp, lock and rm. Each is one SQLite
// transaction over the tree's rows, so its cost follows the number of
// entries, not the amount of data:
//   copy_tree   new inodes with the same attributes, xattrs and symlink
//               targets, and extents that point at the same blocks (their
//               reference counts go up); an inode met twice inside the tree
//               (a hard link) is copied once and linked twice. Dirty cache
//               blocks are uploaded first, so the extents are complete.
//   lock_tree   sets the locked flag on every inode of the tree.
//   remove_tree unlinks the tree's entries bottom-up; inodes still open or
//               known to the kernel are freed once it lets go, as after
//               unlink(2). The kernel is told to drop the removed entry.
#include <fcntl.h>
#include <sys/stat.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "fs/filesystem_impl.h"
#include "hoardfs/log.h"

namespace hoardfs {

void FilesystemImpl::set_entry_invalidator(EntryInvalidator invalidator) {
  std::lock_guard calling(invalidate_call_mu_);  // waits out a call in progress
  std::lock_guard lock(invalidate_mu_);
  invalidator_ = std::move(invalidator);
  if (!invalidator_ || invalidate_thread_.joinable()) return;
  invalidate_thread_ = std::thread([this] {
    std::unique_lock lock(invalidate_mu_);
    while (true) {
      invalidate_cv_.wait(lock, [this] { return invalidate_stop_ || !invalidate_queue_.empty(); });
      if (invalidate_stop_) return;
      auto batch = std::move(invalidate_queue_);
      invalidate_queue_.clear();
      lock.unlock();
      {
        // Not under invalidate_mu_: the kernel may wait for a request that
        // is queueing the next invalidation.
        std::lock_guard calling(invalidate_call_mu_);
        EntryInvalidator call;
        {
          std::lock_guard again(invalidate_mu_);
          call = invalidator_;
        }
        if (call) {
          for (const auto& [parent, name] : batch) call(parent, name);
        }
      }
      lock.lock();
      invalidations_sent_ += batch.size();
      invalidate_cv_.notify_all();
    }
  });
}

void FilesystemImpl::stop_invalidations() {
  {
    std::lock_guard lock(invalidate_mu_);
    invalidate_stop_ = true;
    invalidator_ = nullptr;
  }
  invalidate_cv_.notify_all();
  if (invalidate_thread_.joinable()) invalidate_thread_.join();
}

void FilesystemImpl::invalidate_entry_later(uint64_t parent, std::string name) {
  std::lock_guard lock(invalidate_mu_);
  if (!invalidator_) return;
  invalidate_queue_.emplace_back(parent, std::move(name));
  ++invalidations_queued_;
  invalidate_cv_.notify_all();
}

void FilesystemImpl::wait_for_invalidations() {
  // Called from a getxattr request, which holds no inode lock: the
  // invalidator thread can take the directory locks it needs meanwhile.
  std::unique_lock lock(invalidate_mu_);
  const uint64_t target = invalidations_queued_;
  invalidate_cv_.wait_for(lock, std::chrono::seconds(10),
                          [&] { return invalidate_stop_ || !invalidator_ || invalidations_sent_ >= target; });
}

uint64_t FilesystemImpl::copy_inode(uint64_t src, std::unordered_map<uint64_t, uint64_t>* copied) {
  if (auto it = copied->find(src); it != copied->end()) {
    q("UPDATE inodes SET nlink = nlink + 1 WHERE id = ?").bind(it->second).run();  // a hard link
    return it->second;
  }
  auto row = load_inode(src);
  if (!row) return 0;
  const bool dir = S_ISDIR(row->mode);
  q("INSERT INTO inodes(mode, uid, gid, size, rdev, nlink, atime_ns, mtime_ns, ctime_ns, locked) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)")
      .bind(row->mode, row->uid, row->gid, row->size, row->rdev, dir ? 2 : 1, row->atime_ns, row->mtime_ns,
            now_ns())
      .run();
  const uint64_t copy = static_cast<uint64_t>(db_.last_insert_rowid());
  (*copied)[src] = copy;
  q("INSERT INTO xattrs(inode, name, value) SELECT ?, name, value FROM xattrs WHERE inode = ?").bind(copy, src).run();
  q("INSERT INTO symlinks(inode, target) SELECT ?, target FROM symlinks WHERE inode = ?").bind(copy, src).run();
  q("UPDATE blocks SET refcount = refcount + (SELECT COUNT(*) FROM extents e WHERE e.inode = ? AND e.block = "
    "blocks.id) WHERE id IN (SELECT block FROM extents WHERE inode = ?)")
      .bind(src, src)
      .run();
  q("INSERT INTO extents(inode, offset, length, block) SELECT ?, offset, length, block FROM extents WHERE inode = ?")
      .bind(copy, src)
      .run();
  attrs_.drop(copy);  // extents are not observed (attr_cache.h)
  if (!dir) return copy;

  struct Child {
    std::string name;
    uint64_t ino;
    bool dir;
  };
  std::vector<Child> children;
  auto& st = q("SELECT d.name, d.inode, i.mode FROM dentries d JOIN inodes i ON i.id = d.inode "
               "WHERE d.parent = ? ORDER BY d.id").bind(src);
  while (st.step()) {
    children.push_back({st.blob(0), static_cast<uint64_t>(st.int64(1)), S_ISDIR(static_cast<mode_t>(st.int64(2)))});
  }
  st.reset();
  int64_t subdirs = 0;
  for (const auto& child : children) {
    uint64_t child_copy = copy_inode(child.ino, copied);
    if (child_copy == 0) continue;
    add_entry(copy, child.name, child_copy);
    if (child.dir) ++subdirs;
  }
  if (subdirs > 0) q("UPDATE inodes SET nlink = nlink + ? WHERE id = ?").bind(subdirs, copy).run();
  return copy;
}

int FilesystemImpl::copy_tree(uint64_t src, uint64_t parent, std::string_view name) {
  return guarded("copy_tree", [&] {
    // The copy shares stored blocks only: what is still dirty goes up first.
    if (Status flushed = cache_->flush_all(); !flushed.is_ok()) {
      log::error("hoardfs cp: uploading the cache first failed: {}", flushed.to_string());
      return EIO;
    }
    std::lock_guard lock(mu_);
    InodeRow parent_row;
    if (int err = check_new_entry(parent, name, &parent_row)) return err;
    auto src_row = load_inode(src);
    if (!src_row) return ENOENT;
    if (S_ISDIR(src_row->mode) && is_ancestor(src, parent)) return EINVAL;  // into itself
    sql::Transaction txn(db_);
    std::unordered_map<uint64_t, uint64_t> copied;
    uint64_t copy = copy_inode(src, &copied);
    if (copy == 0) return ENOENT;
    add_entry(parent, name, copy);
    if (S_ISDIR(src_row->mode)) parent_row.nlink++;
    parent_row.mtime_ns = parent_row.ctime_ns = now_ns();
    store_inode(parent_row);
    txn.commit();
    log::info("hoardfs cp: copied {} inodes", copied.size());
    invalidate_entry_later(parent, std::string(name));  // a negative entry the kernel may hold
    return 0;
  });
}

void FilesystemImpl::collect_tree(uint64_t top, std::vector<uint64_t>* inodes) {
  std::deque<uint64_t> pending{top};
  std::unordered_map<uint64_t, bool> seen;
  while (!pending.empty()) {
    uint64_t ino = pending.front();
    pending.pop_front();
    if (seen[ino]) continue;
    seen[ino] = true;
    inodes->push_back(ino);
    auto& st = q("SELECT inode FROM dentries WHERE parent = ?").bind(ino);
    while (st.step()) pending.push_back(static_cast<uint64_t>(st.int64(0)));
    st.reset();
  }
}

int FilesystemImpl::tree_stats_json(uint64_t ino, std::string* json) {
  return guarded("treestat", [&] {
    std::lock_guard lock(mu_);
    if (!load_inode(ino)) return ENOENT;
    std::vector<uint64_t> inodes;
    collect_tree(ino, &inodes);
    sql::Transaction txn(db_);
    db_.exec("CREATE TEMP TABLE IF NOT EXISTS tree_inodes(id INTEGER PRIMARY KEY); DELETE FROM tree_inodes;");
    for (uint64_t i : inodes) q("INSERT OR IGNORE INTO temp.tree_inodes(id) VALUES (?)").bind(i).run();
    auto scalar = [&](const char* sql, uint64_t bind = 0) {
      auto st = db_.prepare(sql);
      if (bind != 0) st.bind(bind);
      uint64_t v = st.step() ? static_cast<uint64_t>(st.int64(0)) : 0;
      return v;
    };
    nlohmann::json j;
    j["inodes"] = inodes.size();
    j["entries"] = scalar("SELECT COUNT(*) FROM dentries WHERE parent IN (SELECT id FROM temp.tree_inodes)");
    j["data_bytes"] = scalar("SELECT COALESCE(SUM(size), 0) FROM inodes WHERE id IN (SELECT id FROM temp.tree_inodes) "
                             "AND (mode & 61440) = 32768");
    j["stored_data_bytes"] =
        scalar("SELECT COALESCE(SUM(length), 0) FROM extents WHERE inode IN (SELECT id FROM temp.tree_inodes)");
    j["dedup_bytes"] = scalar(
        "SELECT COALESCE(SUM(size), 0) FROM blocks WHERE id IN (SELECT block FROM extents WHERE inode IN "
        "(SELECT id FROM temp.tree_inodes))");
    const char* exclusive =
        "SELECT COALESCE(SUM(b.size), 0), COALESCE(SUM(o.stored_size), 0) FROM blocks b JOIN objects o ON o.id = "
        "b.object JOIN (SELECT block, COUNT(*) AS uses FROM extents WHERE inode IN (SELECT id FROM "
        "temp.tree_inodes) GROUP BY block) t ON t.block = b.id WHERE t.uses >= b.refcount";
    auto st = db_.prepare(exclusive);
    if (st.step()) {
      j["exclusive_bytes"] = st.int64(0);
      j["exclusive_stored_bytes"] = st.int64(1);
    }
    st.reset();
    txn.commit();
    *json = j.dump();
    return 0;
  });
}

int FilesystemImpl::lock_tree(uint64_t ino) {
  return guarded("lock_tree", [&] {
    std::lock_guard lock(mu_);
    if (!load_inode(ino)) return ENOENT;
    sql::Transaction txn(db_);
    std::vector<uint64_t> inodes;
    collect_tree(ino, &inodes);
    for (uint64_t i : inodes) q("UPDATE inodes SET locked = 1 WHERE id = ?").bind(i).run();
    txn.commit();
    log::info("hoardfs lock: locked {} inodes", inodes.size());
    return 0;
  });
}

int FilesystemImpl::remove_tree(uint64_t parent, std::string_view name) {
  return guarded("remove_tree", [&] {
    std::lock_guard lock(mu_);
    auto top = find_entry(parent, name);
    if (!top) return ENOENT;
    if (*top == kRootInode) return EINVAL;
    auto top_row = load_inode(*top);
    if (!top_row) return ENOENT;
    sql::Transaction txn(db_);
    // Entries bottom-up: children before their directory.
    std::vector<uint64_t> dirs;
    collect_tree(*top, &dirs);
    const int64_t now = now_ns();
    size_t removed = 0;
    std::vector<uint64_t> removed_dirs;
    if (S_ISDIR(top_row->mode)) removed_dirs.push_back(*top);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::vector<std::pair<int64_t, uint64_t>> entries;
      auto& st = q("SELECT id, inode FROM dentries WHERE parent = ?").bind(*it);
      while (st.step()) entries.emplace_back(st.int64(0), static_cast<uint64_t>(st.int64(1)));
      st.reset();
      for (const auto& [id, child] : entries) {
        q("DELETE FROM dentries WHERE id = ?").bind(id).run();
        auto row = load_inode(child);
        if (!row) continue;
        if (S_ISDIR(row->mode)) removed_dirs.push_back(child);
        row->nlink = S_ISDIR(row->mode) ? 0 : (row->nlink > 0 ? row->nlink - 1 : 0);
        row->ctime_ns = now;
        store_inode(*row);
        if (row->nlink > 0) invalidate_entry_later(child, "");  // linked elsewhere too: its count changed
        ++removed;
      }
    }
    remove_entry(parent, name);
    if (S_ISDIR(top_row->mode)) {
      q("UPDATE inodes SET nlink = nlink - 1 WHERE id = ?").bind(parent).run();
      top_row = load_inode(*top);
      top_row->nlink = 0;
    } else {
      top_row = load_inode(*top);
      top_row->nlink = top_row->nlink > 0 ? top_row->nlink - 1 : 0;
      if (top_row->nlink > 0) invalidate_entry_later(*top, "");
    }
    top_row->ctime_ns = now;
    store_inode(*top_row);
    touch_dir(parent, now);
    for (uint64_t ino : dirs) maybe_purge(ino);
    txn.commit();
    // A removed directory a process still holds (its working directory) must
    // not keep listing what it had.
    for (uint64_t ino : removed_dirs) invalidate_entry_later(ino, "");
    log::info("hoardfs rm: removed {} entries", removed + 1);
    invalidate_entry_later(parent, std::string(name));
    return 0;
  });
}

}  // namespace hoardfs
