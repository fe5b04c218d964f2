// The superblock: the one control object written at mkfs (and rewritten only
// by `hoardfs adm passphrase`). It holds the filesystem parameters and the
// random master key, wrapped with a key derived from the passphrase by
// Argon2id (crypto_pwhash) and a stored salt. Format in doc/format.md.
//
// The superblock is stored as JSON under object_names::superblock(), not
// through the ObjectCodec (it holds what is needed to build the codec). Its
// contents are authenticated by a MAC keyed from the master key, which
// unlock_superblock() checks after unwrapping the key. parse_superblock() does
// not know the key, so its result is not authenticated yet: use it to show
// parameters or to decide whether a passphrase is needed, and trust only what
// unlock_superblock() accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hoardfs/backend.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/status.h"

namespace hoardfs {

// Revision 2 names the block identity function ("block_hash"); revision 1,
// which has no such member, is keyed BLAKE2b-256. This build reads both and
// makes revision 2.
inline constexpr uint32_t kFilesystemRevision = 2;
inline constexpr uint32_t kMinBlockSize = 4096;
inline constexpr uint32_t kMaxBlockSize = 64u << 20;
// A larger superblock object is refused before parsing.
inline constexpr size_t kMaxSuperblockBytes = 64 << 10;

// Argon2id cost. The defaults are libsodium's INTERACTIVE limits (fast enough
// for tests that mount many times); mkfs and `adm passphrase` may raise them
// (e.g. to the MODERATE limits, 3 and 256 MiB). Limits outside libsodium's
// bounds, or a memlimit above kMaxKdfMemlimit, are refused.
struct KdfLimits {
  uint64_t opslimit = 2;         // crypto_pwhash_OPSLIMIT_INTERACTIVE
  uint64_t memlimit = 64 << 20;  // crypto_pwhash_MEMLIMIT_INTERACTIVE (bytes)
};
inline constexpr uint64_t kMaxKdfMemlimit = uint64_t{4} << 30;

struct FilesystemParams {
  uint32_t revision = kFilesystemRevision;
  uint32_t block_size = 1 << 20;  // kMinBlockSize..kMaxBlockSize
  std::string fs_id;      // 32 hex chars, random at mkfs (create_superblock fills it when empty)
  int64_t created_unix = 0;  // create_superblock uses the current time when 0
  bool encrypted = true;
  KdfLimits kdf;          // Argon2id cost of the passphrase (encrypted only)
  // Keyed function naming blocks for dedup (revision 1: always BLAKE2b).
  BlockHashFunction block_hash = BlockHashFunction::kHmacSha256;
};

// The superblock's (and mkfs --block-hash's) name of a block hash function,
// "hmac-sha256" or "blake2b-256", and back (nullopt for any other name).
const char* block_hash_name(BlockHashFunction function);
std::optional<BlockHashFunction> block_hash_from_name(std::string_view name);

// Creates a new random master key and the superblock bytes for it.
// `passphrase` is ignored when params.encrypted is false; an encrypted
// filesystem needs a non-empty one (invalid_argument otherwise).
struct NewFilesystem {
  std::string superblock_bytes;
  KeyMaterial keys;
  FilesystemParams params;  // as stored (fs_id and created_unix filled in)
};
Result<NewFilesystem> create_superblock(const FilesystemParams& params, const std::string& passphrase);

// Parses superblock bytes (without unwrapping anything, so unauthenticated).
// unsupported() for a revision this build cannot read; corruption() for
// anything that is not a well-formed superblock.
Result<FilesystemParams> parse_superblock(std::string_view bytes);

// Unwraps the master key and checks the MAC over the parameters.
// wrong_passphrase() when the passphrase does not fit (or the salt, KDF
// parameters or wrapped key were altered: the two cannot be told apart);
// corruption() when the key unwraps but the parameters were altered.
// A plain filesystem ignores the passphrase.
Result<KeyMaterial> unlock_superblock(std::string_view bytes, const std::string& passphrase);

// Re-wraps the same master key under a new passphrase; only the salt, nonce,
// wrapped key and MAC change, so every object stays readable. The KDF limits
// are kept, or replaced by `limits` in the second form. invalid_argument for a
// plain filesystem or an empty new passphrase.
Result<std::string> rewrap_superblock(std::string_view bytes, const std::string& old_passphrase,
                                      const std::string& new_passphrase);
Result<std::string> rewrap_superblock(std::string_view bytes, const std::string& old_passphrase,
                                      const std::string& new_passphrase, const KdfLimits& limits);

}  // namespace hoardfs
