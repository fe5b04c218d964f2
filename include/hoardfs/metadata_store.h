// The live namespace database (SQLite, WAL) in the cache directory.
// Schema in doc/format.md ("Metadata database").
#pragma once

#include <sys/types.h>

#include <string>

#include "hoardfs/status.h"

namespace hoardfs {

// Creates a new, empty namespace database at `path` (which must not exist):
// the schema and a root directory owned by uid/gid with the given mode.
// Used by mkfs.hoardfs, which then uploads it as metadata version 1.
Status initialize_metadata_database(const std::string& path, uid_t root_uid, gid_t root_gid,
                                    mode_t root_mode);

}  // namespace hoardfs
