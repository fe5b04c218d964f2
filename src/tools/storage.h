// The steps every command that works on a storage URL shares: resolve the
// secrets (authinfo, environment), open the backend, read and unlock the
// superblock. Each step fails with a one-line ToolError carrying the
// documented exit code.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hoardfs/backend.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/superblock.h"
#include "tools/authinfo.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {

struct StorageRequest {
  std::string url;
  std::string backend_options;  // --backend-options text
  std::string authfile;         // empty: ~/.hoardfs/authinfo (may be missing)
};

struct StorageAccess {
  std::string url;
  BackendOptions options;
  AccessSecrets secrets;
};

// Parses the backend options (usage error) and loads the authinfo secrets
// (bad credentials on an insecure or malformed file).
bool prepare_storage_access(const StorageRequest& request, StorageAccess* access, ToolError* error);

// open_backend() with the errors mapped to exit codes: malformed URL → usage,
// refused login → bad credentials.
bool open_storage(const StorageAccess& access, std::unique_ptr<Backend>* backend, ToolError* error);

// create_storage() (mkfs): the bucket or container is created when missing,
// saying so on stdout unless quiet.
bool create_storage_if_missing(const StorageAccess& access, bool quiet, ToolError* error);

struct UnlockedFilesystem;

// The three steps below in a row: prepare_storage_access(), open_storage(),
// read_and_unlock().
bool open_and_unlock(const StorageRequest& request, StorageAccess* access, std::unique_ptr<Backend>* backend,
                     UnlockedFilesystem* out, ToolError* error);

struct UnlockedFilesystem {
  bool keep_passphrase = false;  // set before the call: keep it in `passphrase` (adm passphrase)
  std::string passphrase;
  std::string superblock_bytes;
  FilesystemParams params;
  KeyMaterial keys;
};

// Reads the superblock (missing → "no hoardfs filesystem", exit 12), checks
// its revision (exit 15), obtains the passphrase when the filesystem is
// encrypted (authinfo, terminal prompt or one line of stdin) and unwraps the
// master key (wrong passphrase → exit 11).
bool read_and_unlock(Backend& backend, const StorageAccess& access, UnlockedFilesystem* out,
                     ToolError* error);

// What opening a filesystem without mounting it takes (fsck, bench/make_inodes).
struct UnmountedFilesystem {
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  UnlockedFilesystem unlocked;
  // storage_url and cache_dir set, no periodic metadata upload: the only one
  // is at shutdown(). The caller adds its own and calls Filesystem::open().
  MountOptions options;
};

// open_and_unlock(), then the cache folder of `cache_root` (empty: the
// default root) for the storage URL.
bool prepare_unmounted(const StorageRequest& request, const std::string& cache_root, UnmountedFilesystem* out,
                       ToolError* error);

}  // namespace hoardfs::tools
