// The superblock: the one control object written at mkfs (and rewritten only
// by `hoardfs adm passphrase`). It holds the filesystem parameters and the
// random master key, wrapped with a key derived from the passphrase by
// Argon2id (crypto_pwhash) and a stored salt. Format in doc/format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hoardfs/backend.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/status.h"

namespace hoardfs {

inline constexpr uint32_t kFilesystemRevision = 1;

struct FilesystemParams {
  uint32_t revision = kFilesystemRevision;
  uint32_t block_size = 1 << 20;
  std::string fs_id;      // 32 hex chars, random at mkfs
  int64_t created_unix = 0;
  bool encrypted = true;
};

// Creates a new random master key and the superblock bytes for it.
// `passphrase` is ignored when params.encrypted is false.
struct NewFilesystem {
  std::string superblock_bytes;
  KeyMaterial keys;
};
Result<NewFilesystem> create_superblock(const FilesystemParams& params, const std::string& passphrase);

// Parses superblock bytes (without unwrapping anything).
// unsupported() for a revision this build cannot read.
Result<FilesystemParams> parse_superblock(std::string_view bytes);

// Unwraps the master key. wrong_passphrase() when the passphrase does not fit.
Result<KeyMaterial> unlock_superblock(std::string_view bytes, const std::string& passphrase);

// Re-wraps the same master key under a new passphrase; only the wrapped key
// and salt change.
Result<std::string> rewrap_superblock(std::string_view bytes, const std::string& old_passphrase,
                                      const std::string& new_passphrase);

}  // namespace hoardfs
