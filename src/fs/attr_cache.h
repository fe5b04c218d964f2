// AttrCache: copies of recently used inode rows, so that getattr can answer
// without the filesystem lock.
//
// Why: getattr is the request a backup tool sends most (rsync's generator
// stats every destination file), and under the filesystem lock it waits for
// whatever the other CPU's requests hold it for (a create, a write's size
// update, a rename with the purge of the file it replaced).
//
// Coherence: entries are put only under the filesystem lock, from rows read
// under it. Every change of an inode row drops the entry (the database's
// row observer, under the same lock), as does every rollback, which can
// bring back rows whose change had been seen; so an entry is never older than
// the database. The bytes of stored extents, which live in a table without
// rowids, are kept up to date by the one place that adds or replaces an
// extent, and every removal of extents drops the entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "metadata/sqlite.h"

namespace hoardfs {

struct InodeRow {
  uint64_t id = 0;
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  uint64_t rdev = 0;
  uint64_t nlink = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  bool locked = false;
};

// Observes the database (set_observer) to stay coherent with it.
class AttrCache final : public sql::Database::Observer {
 public:
  struct Entry {
    InodeRow row;
    uint64_t stored_bytes = 0;  // the sum of the inode's extents' lengths
  };

  // At most `capacity` entries: when full, all are dropped (an entry costs
  // about 100 bytes; the bound keeps memory independent of the file count).
  explicit AttrCache(size_t capacity) : capacity_(capacity) {}

  std::optional<Entry> get(uint64_t ino) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ino);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  void put(const Entry& entry) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= capacity_ && entries_.count(entry.row.id) == 0) entries_.clear();
    entries_[entry.row.id] = entry;
  }

  void drop(uint64_t ino) {
    std::lock_guard lock(mu_);
    entries_.erase(ino);
  }

  // An extent of `delta` bytes more (or fewer) for the inode.
  void add_stored(uint64_t ino, int64_t delta) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ino);
    if (it != entries_.end()) it->second.stored_bytes += static_cast<uint64_t>(delta);
  }

  void clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }

  void row_changed(const char* table, int64_t rowid) override {
    if (std::strcmp(table, "inodes") == 0) drop(static_cast<uint64_t>(rowid));
  }
  void rolled_back() override { clear(); }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
};

}  // namespace hoardfs
