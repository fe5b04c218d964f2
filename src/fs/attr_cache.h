// AttrCache: copies of recently used inode rows, so that getattr can answer
// without the filesystem lock.
//
// Why: getattr is the request a backup tool sends most (rsync's generator
// stats every destination file), and under the filesystem lock it waits for
// whatever the other CPU's requests hold it for (a create, a write's size
// update, a rename with the purge of the file it replaced).
//
// Coherence: entries are put only under the filesystem lock, from rows read
// under it. Every change of an inode row drops the entry's row (the
// database's row observer, under the same lock), as does every rollback,
// which can bring back rows whose change had been seen; so an entry is never
// older than the database. The bytes of stored extents, which live in a table
// without rowids, are kept up to date by the one place that adds or replaces
// an extent, and every removal of extents drops the entry. An UPDATE of the
// row leaves them (it changes no extent), so the operation that made it can
// put the new row back without summing the extents again; an INSERT or a
// DELETE (an inode number given out anew) drops them as well.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

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
//
// Direct-mapped: inode `ino` can only be in slot ino mod capacity, so a put
// evicts whatever other inode held that slot. Inode numbers are handed out in
// sequence, so the inodes of a tree being worked on rarely collide, and
// nothing is allocated per entry.
class AttrCache final : public sql::Database::Observer {
 public:
  struct Entry {
    InodeRow row;
    uint64_t stored_bytes = 0;  // the sum of the inode's extents' lengths
  };

  // `capacity` (rounded up to a power of two) slots of about 100 bytes each.
  explicit AttrCache(size_t capacity) : slots_(std::bit_ceil(std::max<size_t>(capacity, 1))) {}

  std::optional<Entry> get(uint64_t ino) const {
    std::lock_guard lock(mu_);
    const Slot& slot = slot_of(ino);
    if (!holds(slot, ino) || !slot.row_valid) return std::nullopt;
    return slot.entry;
  }

  // The inode's stored bytes, kept even after its row changed.
  std::optional<uint64_t> stored_bytes(uint64_t ino) const {
    std::lock_guard lock(mu_);
    const Slot& slot = slot_of(ino);
    if (!holds(slot, ino)) return std::nullopt;
    return slot.entry.stored_bytes;
  }

  void put(const Entry& entry) {
    std::lock_guard lock(mu_);
    Slot& slot = slot_of(entry.row.id);
    slot.entry = entry;
    slot.generation = generation_;
    slot.row_valid = true;
  }

  void drop(uint64_t ino) {
    std::lock_guard lock(mu_);
    Slot& slot = slot_of(ino);
    if (holds(slot, ino)) slot.entry.row.id = 0;
  }

  // An extent of `delta` bytes more (or fewer) for the inode.
  void add_stored(uint64_t ino, int64_t delta) {
    std::lock_guard lock(mu_);
    Slot& slot = slot_of(ino);
    if (holds(slot, ino)) slot.entry.stored_bytes += static_cast<uint64_t>(delta);
  }

  void clear() {
    std::lock_guard lock(mu_);
    ++generation_;
  }

  void row_changed(const char* table, int64_t rowid, bool updated) override {
    if (std::strcmp(table, "inodes") != 0) return;
    const auto ino = static_cast<uint64_t>(rowid);
    if (!updated) return drop(ino);
    std::lock_guard lock(mu_);
    Slot& slot = slot_of(ino);
    if (holds(slot, ino)) slot.row_valid = false;
  }
  void rolled_back() override { clear(); }

  size_t size() const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const Slot& slot : slots_) n += slot.entry.row.id != 0 && slot.generation == generation_ && slot.row_valid;
    return n;
  }

 private:
  struct Slot {
    Entry entry;  // row.id 0: empty (no inode has number 0)
    uint64_t generation = 0;
    bool row_valid = false;  // false: only entry.stored_bytes holds
  };
  Slot& slot_of(uint64_t ino) { return slots_[ino & (slots_.size() - 1)]; }
  const Slot& slot_of(uint64_t ino) const { return slots_[ino & (slots_.size() - 1)]; }
  bool holds(const Slot& slot, uint64_t ino) const {
    return ino != 0 && slot.entry.row.id == ino && slot.generation == generation_;
  }

  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  uint64_t generation_ = 1;  // entries of older generations are gone (clear())
};

}  // namespace hoardfs
