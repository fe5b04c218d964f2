#include "metadata/schema.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "hoardfs/metadata_store.h"

namespace hoardfs {

// Times are nanoseconds since the epoch. Names and xattr values are BLOBs:
// file names are bytes, not text.
static const char* const kSchema = R"sql(
CREATE TABLE params (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE inodes (
  id INTEGER PRIMARY KEY,
  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0, rdev INTEGER NOT NULL DEFAULT 0,
  nlink INTEGER NOT NULL DEFAULT 1,
  atime_ns INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0);
-- id gives readdir a stable cookie; (parent, name) is the lookup key.
CREATE TABLE dentries (
  id INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL, name BLOB NOT NULL, inode INTEGER NOT NULL);
CREATE UNIQUE INDEX dentries_by_name ON dentries(parent, name);
CREATE INDEX dentries_by_inode ON dentries(inode);
CREATE TABLE symlinks (inode INTEGER PRIMARY KEY, target BLOB NOT NULL);
CREATE TABLE xattrs (inode INTEGER NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (inode, name)) WITHOUT ROWID;
-- The file -> block map: the bytes [offset, offset+length) of the file are
-- the block's plaintext. Missing ranges are holes.
CREATE TABLE extents (inode INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
  block INTEGER NOT NULL, PRIMARY KEY (inode, offset)) WITHOUT ROWID;
CREATE INDEX extents_by_block ON extents(block);
-- A block is a deduplicated piece of plaintext; it lives at [obj_offset,
-- obj_offset+obj_length) of the decoded object (today one block per object).
CREATE TABLE blocks (
  id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,
  refcount INTEGER NOT NULL, object INTEGER NOT NULL,
  obj_offset INTEGER NOT NULL DEFAULT 0, obj_length INTEGER NOT NULL);
CREATE TABLE objects (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, stored_size INTEGER NOT NULL,
  refcount INTEGER NOT NULL);
-- Objects no longer referenced; deleted from the backend once a metadata
-- version that no longer references them has been uploaded.
CREATE TABLE garbage (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
)sql";

// Added after schema version 1 shipped; created by every build that knows
// them, so a database made by an older build gains them at its next mount
// (and an older build, which ignores them, still opens it).
static const char* const kAdditions = R"sql(
-- A pack's decoded size when it was written: with the blocks still in it,
-- what compaction could free (doc/format.md, "Pack compaction").
CREATE TABLE IF NOT EXISTS packs (object INTEGER PRIMARY KEY, plain_size INTEGER NOT NULL);
-- Packs compaction emptied: `version` is the first metadata version that
-- no longer names them (NULL until it is uploaded); they become garbage once
-- every version kept in the backend is at least that one.
CREATE TABLE IF NOT EXISTS retired (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER);
CREATE INDEX IF NOT EXISTS blocks_by_object ON blocks(object);
-- The file capabilities alone (rare): kAnyCapabilitySql reads only these
-- rows, so a mount learns at once whether any file has one, however many
-- other attributes there are (the table's key starts with the inode).
CREATE INDEX IF NOT EXISTS xattrs_capabilities ON xattrs(inode) WHERE name = CAST('security.capability' AS BLOB);
)sql";

// Its WHERE is the index's, word for word: SQLite uses a partial index only
// for a query whose terms match its condition.
const char* const kAnyCapabilitySql =
    "SELECT 1 FROM xattrs WHERE name = CAST('security.capability' AS BLOB) LIMIT 1";

void create_schema(sql::Database& db) {
  db.exec(kSchema);
  db.exec(kAdditions);
  db.prepare("INSERT INTO params(key, value) VALUES ('schema_version', ?)").bind(kSchemaVersion).run();
}

Status add_new_tables(sql::Database& db) {
  try {
    db.exec(kAdditions);
  } catch (const std::exception& e) {
    return Status::io_error(std::string("adding tables to the metadata database: ") + e.what());
  }
  return Status::ok();
}

Status check_schema(sql::Database& db) {
  try {
    auto stmt = db.prepare("SELECT value FROM params WHERE key = 'schema_version'");
    if (!stmt.step()) return Status::corruption("metadata database has no schema version");
    int64_t version = stmt.int64(0);
    if (version != kSchemaVersion) {
      return Status::unsupported("metadata schema version " + std::to_string(version) +
                                 " is not supported by this build (expects " +
                                 std::to_string(kSchemaVersion) + ")");
    }
  } catch (const std::exception& e) {
    return Status::corruption(std::string("metadata database unreadable: ") + e.what());
  }
  return Status::ok();
}

Status initialize_metadata_database(const std::string& path, uid_t root_uid, gid_t root_gid,
                                    mode_t root_mode) {
  if (::access(path.c_str(), F_OK) == 0) return Status::already_exists(path + " already exists");
  sql::Database db;
  HOARDFS_RETURN_IF_ERROR(db.open(path, true));
  try {
    sql::Transaction txn(db);
    create_schema(db);
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    db.prepare("INSERT INTO inodes(id, mode, uid, gid, nlink, atime_ns, mtime_ns, ctime_ns) "
               "VALUES (1, ?, ?, ?, 2, ?, ?, ?)")
        .bind(static_cast<int64_t>(S_IFDIR | (root_mode & 07777)), static_cast<int64_t>(root_uid),
              static_cast<int64_t>(root_gid), now, now, now)
        .run();
    txn.commit();
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch (const std::exception& e) {
    return Status::io_error(std::string("creating metadata database: ") + e.what());
  }
  return Status::ok();
}

std::string inode_path(sql::Database& db, uint64_t ino) {
  std::vector<std::string> parts;
  uint64_t at = ino;
  for (int depth = 0; at != 1 && depth < 4096; ++depth) {
    auto st = db.prepare("SELECT parent, name FROM dentries WHERE inode = ? LIMIT 1");
    st.bind(at);
    if (!st.step()) return "(unreachable inode " + std::to_string(ino) + ")";
    parts.push_back(st.blob(1));
    at = static_cast<uint64_t>(st.int64(0));
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += "/" + *it;
  return path.empty() ? "/" : path;
}

}  // namespace hoardfs
