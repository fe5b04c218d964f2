// The namespace database schema (doc/format.md, "Metadata database").
#pragma once

#include <cstdint>
#include <string>

#include "hoardfs/status.h"
#include "metadata/sqlite.h"

namespace hoardfs {

inline constexpr int kSchemaVersion = 1;

// One row when any file has a capability (a security.capability attribute),
// none otherwise; reads the partial index of those attributes.
extern const char* const kAnyCapabilitySql;

// Creates every table and index in an empty database.
void create_schema(sql::Database& db);

// Checks that an existing database has a schema this build understands.
Status check_schema(sql::Database& db);

// Creates the tables and indexes added since version 1 where they are
// missing (a database of an older build); a no-op otherwise.
Status add_new_tables(sql::Database& db);

// "/a/b/c" for an inode, following one of its entries up to the root (inode
// 1); "(unreachable inode N)" when no chain of entries leads there. For
// reports (fsck, verify); throws like the wrapper on database errors.
std::string inode_path(sql::Database& db, uint64_t ino);

}  // namespace hoardfs
