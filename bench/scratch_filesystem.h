// A throwaway filesystem for the benchmarks that drive the Filesystem
// library directly (no FUSE): encrypted with random keys, zstd at the default level, on a local
// backend in WORK/store, its cache in WORK/cache. WORK is emptied first.
#pragma once

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "hoardfs/backend.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/metadata_store.h"
#include "hoardfs/metadata_sync.h"

namespace hoardfs::bench {

struct ScratchFilesystem {
  std::unique_ptr<Backend> backend;  // declared first: outlives fs
  std::unique_ptr<Filesystem> fs;
};

// `options` as given, but for cache_dir. Exits with a message on error.
inline ScratchFilesystem open_scratch_filesystem(const std::filesystem::path& work, uint32_t block_size,
                                                 MountOptions options) {
  auto fail = [](const Status& status) {
    std::fprintf(stderr, "%s\n", status.to_string().c_str());
    std::exit(1);
  };
  if (sodium_init() < 0) fail(Status::io_error("libsodium cannot start"));
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work / "store");
  ScratchFilesystem scratch;
  auto backend = open_backend("local://" + (work / "store").string(), {}, {});
  if (!backend.is_ok()) fail(backend.status());
  scratch.backend = std::move(backend).value();
  KeyMaterial keys;
  keys.encrypted = true;
  randombytes_buf(keys.data_key.data(), keys.data_key.size());
  randombytes_buf(keys.block_hash_key.data(), keys.block_hash_key.size());
  const std::string initial = (work / "init.db").string();
  initialize_metadata_database(initial, 0, 0, 0755);
  const ObjectCodec codec(keys, kDefaultZstdLevel);
  MetadataSync(*scratch.backend, codec, {}).upload(initial);
  options.cache_dir = (work / "cache").string();
  auto opened = Filesystem::open(*scratch.backend, keys, block_size, options);
  if (!opened.is_ok()) fail(opened.status());
  scratch.fs = std::move(opened).value();
  return scratch;
}

}  // namespace hoardfs::bench
