// Metadata versions in the backend.
//
// The live namespace is a SQLite database in the cache directory. To upload
// it, the caller makes a consistent copy (sqlite3 backup API) and hands its
// path to upload(). The file is cut into fixed-size segments; a segment whose
// xxHash (XXH3-64) and length match the segment at the same index of the base
// version is not uploaded again: the new manifest refers to the existing
// segment object. Changed segments go up, in parallel, under fresh random
// names (never reused). The manifest lists the segments, the database size,
// the upload time and the BLAKE2b hash of the previous manifest's plaintext
// (an authenticated chain). All objects go through the ObjectCodec, so they
// are compressed, encrypted and bound to their names. Format: doc/format.md,
// "Metadata versions".
//
// The base of an incremental upload is the version this object last uploaded
// or downloaded; a fresh MetadataSync (new process) takes the newest version
// in the backend as its base, so version numbers continue and unchanged
// segments are reused across restarts. If that manifest cannot be read the
// upload is a full one.
//
// After a successful upload the oldest versions beyond `keep_versions` are
// deleted (manifests first, so a crash leaves only unreferenced segments),
// then every meta/seg/ object that no kept manifest references. Segment
// garbage collection is skipped when a kept manifest cannot be read.
//
// Errors: not_found only when the requested (or any) metadata version does not
// exist; damaged manifests and segments, a missing segment, or a broken chain
// give corruption() naming the object. Calls are serialized by an internal
// mutex, so one object may be shared by several threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hoardfs/backend.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/status.h"

namespace hoardfs {

struct MetadataVersion {
  uint64_t version = 0;
  int64_t uploaded_unix = 0;   // seconds since the epoch
  uint64_t database_bytes = 0;
  uint64_t stored_bytes = 0;   // sum of the stored sizes of its segments
};

struct MetadataUploadStats {
  uint64_t version = 0;
  uint64_t segments_total = 0;
  uint64_t segments_uploaded = 0;  // the others were reused from the base version
  uint64_t bytes_uploaded = 0;     // stored bytes of the new segments and the manifest
};

// One segment: the next `length` bytes of the database.
struct MetadataSegment {
  std::string name;          // meta/seg/<32 hex>
  uint64_t hash = 0;         // XXH3_64bits of the plaintext
  uint64_t length = 0;       // plaintext bytes
  uint64_t stored_size = 0;  // bytes of the encoded object in the backend
};

// The decoded content of the manifest object meta/v<N>.
struct MetadataManifest {
  uint64_t version = 0;
  int64_t uploaded_unix = 0;
  uint64_t database_bytes = 0;
  uint64_t segment_bytes = 0;
  uint64_t previous_version = 0;       // 0: none (first version)
  std::string previous_manifest_hash;  // hex BLAKE2b-256 of that manifest's plaintext; "" if unknown
  std::string writer;                  // the uploading cache folder's random id ("" if not recorded)
  std::vector<MetadataSegment> segments;  // in file order
};

class MetadataSync {
 public:
  struct Options {
    uint64_t segment_bytes = 1 << 20;
    unsigned keep_versions = 10;  // at least 1 is always kept
    std::string writer;           // recorded in every manifest this object writes
    unsigned threads = 4;         // parallel segment transfers
  };
  // `backend` and `codec` must outlive this object; codec.encode/decode are
  // called from several threads at once.
  MetadataSync(Backend& backend, const ObjectCodec& codec, Options options);

  // Uploads the database copy at `snapshot_path` as version (newest + 1).
  // The file must not change during the call.
  Result<MetadataUploadStats> upload(const std::string& snapshot_path);

  // Versions in the backend, oldest first.
  Result<std::vector<MetadataVersion>> list_versions();

  // Writes version `version` (0: the newest) to `dest_path` (written to
  // dest_path + ".tmp", fsync'd, renamed over dest_path) and remembers it as
  // the base of the next incremental upload. not_found when there is no
  // metadata at all, or no such version.
  Result<MetadataVersion> download(uint64_t version, const std::string& dest_path);

  // Reads and decodes one manifest (for fsck and verify: the segments it lists
  // are the metadata objects that must exist). not_found when it does not exist.
  Result<MetadataManifest> read_manifest(uint64_t version);

 private:
  Result<std::vector<uint64_t>> list_manifest_versions();
  Result<MetadataManifest> read_manifest_locked(uint64_t version, std::string* plaintext);
  Status find_newest();
  Status verify_chain_link(const MetadataManifest& manifest);
  Status write_manifest(MetadataManifest* manifest, std::string* plaintext, uint64_t* stored_size);
  void prune(const MetadataManifest& written);

  // Constant after construction.
  Backend& backend_;
  const ObjectCodec& codec_;
  const Options options_;

  std::mutex mutex_;  // held for the whole of each public call; protects all below
  bool newest_known_ = false;         // newest_* reflect the backend (listed or written by us)
  uint64_t newest_version_ = 0;       // 0: no version exists
  std::string newest_manifest_hash_;  // "" when the newest manifest could not be read
  bool have_base_ = false;
  std::vector<MetadataSegment> base_segments_;  // reused when unchanged
  // Segment names of manifests seen so far (manifests are immutable), to
  // spare re-reading them on every garbage collection.
  std::map<uint64_t, std::vector<std::string>> references_;
};

}  // namespace hoardfs
