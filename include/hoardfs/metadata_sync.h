// Metadata versions in the backend.
//
// The live namespace is a SQLite database in the cache directory. To upload
// it, the caller makes a consistent copy (sqlite3 backup API) and hands its
// path to upload(). The file is cut into fixed-size segments; a segment whose
// xxHash64 matches the same segment of the previous version is not uploaded
// again: the new manifest refers to the existing segment object. Changed
// segments go up under fresh random names (never reused). The manifest lists
// the segments, the database size, the upload time and the BLAKE2b hash of the
// previous manifest (an authenticated chain). All objects go through the
// ObjectCodec, so they are compressed, encrypted and bound to their names.
// After a successful upload the oldest versions beyond `keep_versions` are
// deleted together with the segments no kept version references.
#pragma once

#include <cstdint>
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
  uint64_t segments_uploaded = 0;  // the others were reused from the previous version
  uint64_t bytes_uploaded = 0;
};

class MetadataSync {
 public:
  struct Options {
    uint64_t segment_bytes = 1 << 20;
    unsigned keep_versions = 10;
  };
  MetadataSync(Backend& backend, const ObjectCodec& codec, Options options);

  // Uploads the database copy at `snapshot_path` as version (newest + 1).
  Result<MetadataUploadStats> upload(const std::string& snapshot_path);

  // Versions in the backend, oldest first.
  Result<std::vector<MetadataVersion>> list_versions();

  // Writes version `version` (0: the newest) to `dest_path` (replaced
  // atomically) and remembers it as the base of the next incremental upload.
  // not_found when there is no metadata at all.
  Result<MetadataVersion> download(uint64_t version, const std::string& dest_path);

 private:
  struct Segment {
    std::string name;
    uint64_t hash = 0;
    uint64_t stored_size = 0;
  };
  Backend& backend_;
  const ObjectCodec& codec_;
  Options options_;
  bool have_previous_ = false;
  uint64_t previous_version_ = 0;
  std::string previous_manifest_hash_;
  std::vector<Segment> previous_segments_;
};

}  // namespace hoardfs
