// fsck: check() compares the metadata database with itself and with the
// data objects in the backend, and repairs what it can:
//
//   1. every dirty cache block is uploaded first (so the database's objects
//      are all in the backend and the listing below is complete);
//   2. SQLite's integrity_check (damage here cannot be repaired locally: the
//      user restores a metadata version, see hoardfs adm restore-metadata);
//   3. entries whose inode or parent directory does not exist are removed;
//      inodes with no entry (other than the root and open-unlinked ones with
//      nlink 0) move to /lost+found; link counts are recomputed;
//   4. block and object reference counts are recomputed from the extents;
//      unreferenced blocks and objects are released;
//   5. data objects the database names but the backend lacks: each affected
//      file is reported by path, moved to /lost+found, and the lost ranges
//      become holes (so a rerun finds nothing and reads give zeros there
//      rather than failing forever); objects in the backend that nothing
//      references (uploads a crash cut off before they were recorded) are
//      deleted when two listings agree.
//
// Each step commits its own transaction, so an interrupted fsck leaves a
// consistent database and a rerun continues from there.
#include <fmt/core.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "fs/filesystem_impl.h"
#include "hoardfs/log.h"
#include "hoardfs/object_names.h"
#include "metadata/schema.h"

namespace hoardfs {

namespace {

constexpr std::string_view kLostAndFound = "lost+found";

std::set<std::string> listed_names(const std::vector<ObjectInfo>& objects) {
  std::set<std::string> names;
  for (const auto& o : objects) names.insert(o.key);
  return names;
}

}  // namespace

Status FilesystemImpl::check(CheckReport* report) {
  if (!broken_lock_.empty()) report->repaired.push_back(broken_lock_);
  // 1. Everything local goes up first.
  HOARDFS_RETURN_IF_ERROR(cache_->flush_all().with_context("uploading the cached blocks"));

  try {
    std::lock_guard lock(mu_);
    // 2. The database file itself.
    {
      auto st = db_.prepare("PRAGMA integrity_check");
      while (st.step()) {
        std::string line = st.text(0);
        if (line != "ok") report->unrepairable.push_back("metadata database: " + line);
      }
    }
    if (!report->unrepairable.empty()) return Status::ok();

    // 3. Directory structure.
    {
      sql::Transaction txn(db_);
      auto dangling = db_.prepare(
          "SELECT d.id, d.parent, d.name, d.inode FROM dentries d LEFT JOIN inodes i ON i.id = d.inode "
          "LEFT JOIN inodes p ON p.id = d.parent WHERE i.id IS NULL OR p.id IS NULL OR (p.mode & ?) != ?");
      dangling.bind(static_cast<int64_t>(S_IFMT), static_cast<int64_t>(S_IFDIR));
      std::vector<int64_t> doomed;
      while (dangling.step()) {
        doomed.push_back(dangling.int64(0));
        report->repaired.push_back(fmt::format("removed the entry '{}' (inode {}) of inode {}: its inode or its "
                                               "directory does not exist",
                                               dangling.blob(2), dangling.int64(3), dangling.int64(1)));
      }
      for (int64_t id : doomed) q("DELETE FROM dentries WHERE id = ?").bind(id).run();
      txn.commit();
    }
    {
      // Inodes that no entry names but whose link count says they are in
      // the tree: lost, not deleted.
      std::vector<std::pair<uint64_t, uint32_t>> lost;
      auto st = db_.prepare(
          "SELECT i.id, i.mode FROM inodes i WHERE i.id != ? AND i.nlink > 0 AND "
          "NOT EXISTS (SELECT 1 FROM dentries d WHERE d.inode = i.id)");
      st.bind(kRootInode);
      while (st.step()) lost.emplace_back(static_cast<uint64_t>(st.int64(0)), static_cast<uint32_t>(st.int64(1)));
      st.reset();
      for (auto [ino, mode] : lost) {
        sql::Transaction txn(db_);
        uint64_t dir = lost_and_found_dir();
        std::string name = fmt::format("inode-{}", ino);
        add_entry(dir, name, ino);
        if (S_ISDIR(mode)) q("UPDATE inodes SET nlink = nlink + 1 WHERE id = ?").bind(dir).run();
        txn.commit();
        report->repaired.push_back(
            fmt::format("moved inode {}, which no directory listed, to /{}/{}", ino, kLostAndFound, name));
      }
    }
    {
      sql::Transaction txn(db_);
      auto st = db_.prepare(
          "SELECT i.id, i.nlink, CASE WHEN (i.mode & ?) = ? THEN 2 + (SELECT COUNT(*) FROM dentries d JOIN inodes c "
          "ON c.id = d.inode WHERE d.parent = i.id AND (c.mode & ?) = ?) ELSE (SELECT COUNT(*) FROM dentries d "
          "WHERE d.inode = i.id) END AS expected FROM inodes i WHERE i.nlink > 0 AND i.nlink != expected");
      const auto fmt_mask = static_cast<int64_t>(S_IFMT), dir = static_cast<int64_t>(S_IFDIR);
      st.bind(fmt_mask, dir, fmt_mask, dir);
      std::vector<std::tuple<int64_t, int64_t, int64_t>> wrong;
      while (st.step()) wrong.emplace_back(st.int64(0), st.int64(1), st.int64(2));
      st.reset();
      for (auto [ino, had, expected] : wrong) {
        q("UPDATE inodes SET nlink = ? WHERE id = ?").bind(expected, ino).run();
        report->repaired.push_back(fmt::format("link count of {} was {}, is {}", inode_path(db_, static_cast<uint64_t>(ino)),
                                               had, expected));
      }
      txn.commit();
    }

    // 4. Reference counts.
    {
      sql::Transaction txn(db_);
      auto st = db_.prepare(
          "SELECT b.id, b.refcount, (SELECT COUNT(*) FROM extents e WHERE e.block = b.id) AS used FROM blocks b "
          "WHERE b.refcount != used");
      std::vector<std::tuple<int64_t, int64_t, int64_t>> wrong;
      while (st.step()) wrong.emplace_back(st.int64(0), st.int64(1), st.int64(2));
      st.reset();
      for (auto [id, had, used] : wrong) {
        report->repaired.push_back(fmt::format("reference count of block {} was {}, is {}", id, had, used));
        // release_block() takes one reference away and frees at zero.
        q("UPDATE blocks SET refcount = ? WHERE id = ?").bind(used + 1, id).run();
        release_block(static_cast<uint64_t>(id));
      }
      auto missing_block = db_.prepare(
          "SELECT e.inode, e.offset FROM extents e LEFT JOIN blocks b ON b.id = e.block WHERE b.id IS NULL");
      std::vector<std::pair<int64_t, int64_t>> holes;
      while (missing_block.step()) holes.emplace_back(missing_block.int64(0), missing_block.int64(1));
      missing_block.reset();
      for (auto [ino, offset] : holes) {
        q("DELETE FROM extents WHERE inode = ? AND offset = ?").bind(ino, offset).run();
        attrs_.drop(ino);
        report->repaired.push_back(fmt::format("{}: the block at offset {} was not recorded; that range reads as "
                                               "zeros now",
                                               inode_path(db_, static_cast<uint64_t>(ino)), offset));
      }
      auto objects = db_.prepare(
          "SELECT o.id, o.name, o.refcount, (SELECT COUNT(*) FROM blocks b WHERE b.object = o.id) AS used "
          "FROM objects o WHERE o.refcount != used");
      std::vector<std::tuple<int64_t, std::string, int64_t, int64_t>> wrong_objects;
      while (objects.step()) {
        wrong_objects.emplace_back(objects.int64(0), objects.text(1), objects.int64(2), objects.int64(3));
      }
      objects.reset();
      for (auto& [id, name, had, used] : wrong_objects) {
        report->repaired.push_back(fmt::format("reference count of object {} was {}, is {}", name, had, used));
        q("UPDATE objects SET refcount = ? WHERE id = ?").bind(used, id).run();
        drop_object_if_unused(id);  // used by no block: garbage
      }
      // Sizes of packs that are gone (left by a build that did not know
      // the table): silently, they describe nothing a user has.
      q("DELETE FROM packs WHERE object NOT IN (SELECT id FROM objects)").run();
      txn.commit();
    }
  } catch (const std::exception& e) {
    return Status::io_error(std::string("checking the metadata database: ") + e.what());
  }

  // 5. The database against the backend.
  std::vector<ObjectInfo> first, second;
  HOARDFS_RETURN_IF_ERROR(list_all(backend_, object_names::kDataPrefix, &first).with_context("listing data objects"));
  const std::set<std::string> present = listed_names(first);
  try {
    std::lock_guard lock(mu_);
    std::map<std::string, int64_t> recorded;  // name → object id
    {
      auto st = db_.prepare("SELECT id, name FROM objects");
      while (st.step()) recorded.emplace(st.text(1), st.int64(0));
    }
    for (const auto& [name, object_id] : recorded) {
      if (present.contains(name)) continue;
      report->repaired.push_back("data object " + name + " is missing from the backend");
      sql::Transaction txn(db_);
      auto st = db_.prepare(
          "SELECT e.inode, e.offset, e.length, e.block FROM extents e JOIN blocks b ON b.id = e.block "
          "WHERE b.object = ? ORDER BY e.inode, e.offset");
      st.bind(object_id);
      std::vector<std::tuple<uint64_t, int64_t, int64_t, uint64_t>> hit;
      while (st.step()) {
        hit.emplace_back(static_cast<uint64_t>(st.int64(0)), st.int64(1), st.int64(2),
                         static_cast<uint64_t>(st.int64(3)));
      }
      st.reset();
      std::set<uint64_t> files;
      for (auto& [ino, offset, length, block] : hit) {
        if (files.insert(ino).second) {
          std::string path = inode_path(db_, ino);
          std::string moved = move_to_lost_and_found(ino);
          report->repaired.push_back(fmt::format("{} lost data ({} bytes at offset {} were in {}); {}", path,
                                                 length, offset, name,
                                                 moved.empty() ? "it reads as zeros there now"
                                                               : "moved to " + moved + "; it reads as zeros there"));
        }
        q("DELETE FROM extents WHERE inode = ? AND offset = ?").bind(ino, offset).run();
        attrs_.drop(ino);
        release_block(block);
        cache_->forget(ino, static_cast<uint64_t>(offset) / block_size_);
      }
      // The object is gone: forget it without queueing a delete.
      q("DELETE FROM blocks WHERE object = ?").bind(object_id).run();
      q("DELETE FROM objects WHERE id = ?").bind(object_id).run();
      q("DELETE FROM packs WHERE object = ?").bind(object_id).run();
      q("DELETE FROM garbage WHERE name = ?").bind(name).run();
      txn.commit();
    }
  } catch (const std::exception& e) {
    return Status::io_error(std::string("checking the data objects: ") + e.what());
  }
  size_t deleted = 0;
  HOARDFS_RETURN_IF_ERROR(sweep_unreferenced_objects(first, &deleted));
  if (deleted > 0) {
    report->repaired.push_back(fmt::format("deleted {} data object(s) that nothing referenced (uploads a crash "
                                           "cut off before they were recorded)",
                                           deleted));
  }
  return Status::ok();
}

Status FilesystemImpl::sweep_unreferenced_objects(const std::vector<ObjectInfo>& listed, size_t* deleted) {
  *deleted = 0;
  std::vector<std::string> candidates;
  try {
    std::lock_guard lock(mu_);
    std::set<std::string> known;
    auto st = db_.prepare("SELECT name FROM objects UNION SELECT name FROM garbage UNION SELECT name FROM retired");
    while (st.step()) known.insert(st.text(0));
    for (const auto& o : listed) {
      if (!known.contains(o.key)) candidates.push_back(o.key);
    }
  } catch (const std::exception& e) {
    return Status::io_error(std::string("reading the object list: ") + e.what());
  }
  if (candidates.empty()) return Status::ok();
  // Only what a second listing still shows (an eventually consistent listing
  // may show an object that is already gone, never one that does not exist).
  std::vector<ObjectInfo> second;
  HOARDFS_RETURN_IF_ERROR(
      list_all(backend_, object_names::kDataPrefix, &second).with_context("listing data objects again"));
  const std::set<std::string> still = listed_names(second);
  std::vector<std::string> doomed;
  for (const auto& name : candidates) {
    if (still.contains(name)) doomed.push_back(name);
  }
  if (doomed.empty()) return Status::ok();
  HOARDFS_RETURN_IF_ERROR(backend_.remove(doomed).with_context("deleting unreferenced objects"));
  *deleted = doomed.size();
  return Status::ok();
}

uint64_t FilesystemImpl::lost_and_found_dir() {
  if (auto existing = find_entry(kRootInode, kLostAndFound)) return *existing;
  Caller root;
  uint64_t dir = new_inode(S_IFDIR | 0700, root, 0, 2);
  add_entry(kRootInode, kLostAndFound, dir);
  q("UPDATE inodes SET nlink = nlink + 1 WHERE id = ?").bind(kRootInode).run();
  return dir;
}

std::string FilesystemImpl::move_to_lost_and_found(uint64_t ino) {
  uint64_t dir = lost_and_found_dir();
  auto st = db_.prepare("SELECT id, parent FROM dentries WHERE inode = ?");
  st.bind(ino);
  std::vector<std::pair<int64_t, uint64_t>> entries;
  while (st.step()) entries.emplace_back(st.int64(0), static_cast<uint64_t>(st.int64(1)));
  st.reset();
  if (entries.empty()) return "";
  for (const auto& [id, parent] : entries) {
    if (parent == dir) return "";  // already there
  }
  std::string name = fmt::format("inode-{}", ino);
  // One entry moves; further hard links stay where they are.
  q("UPDATE dentries SET parent = ?, name = ? WHERE id = ?").bind(dir, name, entries.front().first).run();
  return fmt::format("/{}/{}", kLostAndFound, name);
}

}  // namespace hoardfs
