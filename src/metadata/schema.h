// The namespace database schema (doc/format.md, "Metadata database").
#pragma once

#include <string>

#include "hoardfs/status.h"
#include "metadata/sqlite.h"

namespace hoardfs {

inline constexpr int kSchemaVersion = 1;

// Creates every table and index in an empty database.
void create_schema(sql::Database& db);

// Checks that an existing database has a schema this build understands.
Status check_schema(sql::Database& db);

}  // namespace hoardfs
