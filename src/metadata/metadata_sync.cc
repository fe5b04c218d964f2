// Metadata versions: incremental upload of the database copy in segments, a
// manifest per version chained by BLAKE2b hashes, restore, and pruning.
//
// Upload is one pass over the snapshot: a few worker threads each take the
// next segment index, read it with pread(), hash it, and either reuse the base
// version's segment at that index (same XXH3 hash and length) or encode and
// put it under a fresh name. Only then is the manifest written, so a version
// becomes visible only when all its segments are in the backend. The manifest
// is written with put_if_absent() so a version number is never reused even if
// our idea of the newest version was stale (stale listing, or an earlier put
// that timed out but landed); in that case we re-list and take the next number.
//
// Download fetches and decodes the segments in parallel and writes each at its
// offset into dest.tmp, which is fsync'd and renamed over dest.
#include "hoardfs/metadata_sync.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "hoardfs/log.h"
#include "hoardfs/object_names.h"

namespace hoardfs {
namespace {

constexpr const char* kManifestFormat = "hoardfs-metadata-manifest";
constexpr int kManifestRevision = 1;
constexpr int kManifestWriteAttempts = 3;

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error that close() may carry for written files.
  Status close(const std::string& path) {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return Status::from_errno(errno, "closing " + path);
    return Status::ok();
  }

 private:
  int fd_;
};

Status read_exactly(int fd, uint64_t offset, size_t length, std::string* out, const std::string& path) {
  out->resize(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out->data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "reading " + path);
    if (n == 0) return Status::io_error("reading " + path + ": file shrank during metadata upload");
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status write_exactly(int fd, uint64_t offset, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "writing " + path);
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status fsync_parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::from_errno(errno, "opening directory " + dir);
  if (::fsync(fd.get()) != 0) return Status::from_errno(errno, "syncing directory " + dir);
  return Status::ok();
}

uint64_t segment_hash(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string hex64(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, value);
  return buf;
}

bool parse_hex64(const std::string& text, uint64_t* out) {
  if (text.size() != 16) return false;
  uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else return false;
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  *out = value;
  return true;
}

// BLAKE2b-256 of a manifest's plaintext, as hex: the link of the version chain.
std::string manifest_hash(std::string_view plaintext) {
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(plaintext.data()),
                     plaintext.size(), nullptr, 0);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string serialize_manifest(const MetadataManifest& manifest) {
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& segment : manifest.segments) {
    segments.push_back({{"name", segment.name},
                        {"xxh3", hex64(segment.hash)},
                        {"length", segment.length},
                        {"stored_size", segment.stored_size}});
  }
  nlohmann::json doc = {{"format", kManifestFormat},
                        {"revision", kManifestRevision},
                        {"version", manifest.version},
                        {"uploaded_unix", manifest.uploaded_unix},
                        {"database_bytes", manifest.database_bytes},
                        {"segment_bytes", manifest.segment_bytes},
                        {"previous_version", manifest.previous_version},
                        {"previous_manifest_hash", manifest.previous_manifest_hash},
                        {"writer", manifest.writer},
                        {"segments", std::move(segments)}};
  return doc.dump();
}

Result<MetadataManifest> parse_manifest(const std::string& name, uint64_t expected_version,
                                        const std::string& plaintext) {
  auto bad = [&](const std::string& why) {
    return Status::corruption("metadata manifest " + name + " is malformed: " + why);
  };
  nlohmann::json doc = nlohmann::json::parse(plaintext, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  MetadataManifest manifest;
  try {
    if (doc.at("format").get<std::string>() != kManifestFormat) return bad("wrong format tag");
    int revision = doc.at("revision").get<int>();
    if (revision != kManifestRevision) {
      return Status::unsupported("metadata manifest " + name + " has format revision " +
                                 std::to_string(revision) + ", this build reads " +
                                 std::to_string(kManifestRevision));
    }
    manifest.version = doc.at("version").get<uint64_t>();
    manifest.uploaded_unix = doc.at("uploaded_unix").get<int64_t>();
    manifest.database_bytes = doc.at("database_bytes").get<uint64_t>();
    manifest.segment_bytes = doc.at("segment_bytes").get<uint64_t>();
    manifest.previous_version = doc.at("previous_version").get<uint64_t>();
    manifest.previous_manifest_hash = doc.at("previous_manifest_hash").get<std::string>();
    manifest.writer = doc.value("writer", std::string());
    uint64_t total = 0;
    for (const auto& entry : doc.at("segments")) {
      MetadataSegment segment;
      segment.name = entry.at("name").get<std::string>();
      if (!parse_hex64(entry.at("xxh3").get<std::string>(), &segment.hash)) return bad("bad segment hash");
      segment.length = entry.at("length").get<uint64_t>();
      segment.stored_size = entry.at("stored_size").get<uint64_t>();
      if (segment.name.rfind(object_names::kSegmentPrefix, 0) != 0) {
        return bad("segment name '" + segment.name + "' outside " + object_names::kSegmentPrefix);
      }
      total += segment.length;
      manifest.segments.push_back(std::move(segment));
    }
    if (total != manifest.database_bytes) return bad("segment lengths do not add up to the database size");
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  if (manifest.version != expected_version) {
    return bad("it claims version " + std::to_string(manifest.version));
  }
  return manifest;
}

// Runs job(i) for every i in [0, count) on up to `threads` threads. After the
// first failure no new work is started; that failure is returned.
Status run_parallel(size_t count, unsigned threads, const std::function<Status(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex first_error_mutex;
  Status first_error;
  auto worker = [&] {
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= count) return;
      Status status = job(i);
      if (!status.is_ok()) {
        std::lock_guard<std::mutex> lock(first_error_mutex);
        if (first_error.is_ok()) first_error = std::move(status);
        failed = true;
        return;
      }
    }
  };
  size_t workers = std::min<size_t>(std::max(threads, 1u), count);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(worker);
  if (workers > 0) worker();
  for (auto& thread : pool) thread.join();
  return first_error;
}

MetadataVersion version_info(const MetadataManifest& manifest) {
  MetadataVersion info;
  info.version = manifest.version;
  info.uploaded_unix = manifest.uploaded_unix;
  info.database_bytes = manifest.database_bytes;
  for (const auto& segment : manifest.segments) info.stored_bytes += segment.stored_size;
  return info;
}

std::vector<std::string> segment_names(const MetadataManifest& manifest) {
  std::vector<std::string> names;
  names.reserve(manifest.segments.size());
  for (const auto& segment : manifest.segments) names.push_back(segment.name);
  return names;
}

}  // namespace

MetadataSync::MetadataSync(Backend& backend, const ObjectCodec& codec, Options options)
    : backend_(backend), codec_(codec), options_(options) {
  if (sodium_init() < 0) log::error("libsodium failed to initialize");
}

Result<std::vector<uint64_t>> MetadataSync::list_manifest_versions() {
  std::vector<ObjectInfo> objects;
  HOARDFS_RETURN_IF_ERROR(list_all(backend_, object_names::kManifestPrefix, &objects).with_context(
      "listing metadata versions"));
  std::vector<uint64_t> versions;
  for (const auto& object : objects) {
    if (auto version = object_names::parse_manifest(object.key)) versions.push_back(*version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

Result<MetadataManifest> MetadataSync::read_manifest_locked(uint64_t version, std::string* plaintext) {
  std::string name = object_names::manifest(version);
  std::string stored;
  Status status = backend_.get(name, &stored);
  if (status.is_not_found()) {
    return Status::not_found("metadata version " + std::to_string(version) + " does not exist (" +
                             name + ")");
  }
  HOARDFS_RETURN_IF_ERROR(status.with_context("reading metadata manifest " + name));
  HOARDFS_RETURN_IF_ERROR(codec_.decode(name, stored, plaintext));
  auto manifest = parse_manifest(name, version, *plaintext);
  if (manifest) references_[version] = segment_names(*manifest);
  return manifest;
}

Result<MetadataManifest> MetadataSync::read_manifest(uint64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string plaintext;
  return read_manifest_locked(version, &plaintext);
}

// Establishes the newest version and its hash from the backend, and takes that
// version as the base when there is none yet. A damaged (or vanished) newest
// manifest is not fatal: the next version then starts a new chain with a full upload.
Status MetadataSync::find_newest() {
  newest_known_ = false;
  auto versions = list_manifest_versions();
  if (!versions) return versions.status();
  newest_version_ = versions->empty() ? 0 : versions->back();
  newest_manifest_hash_.clear();
  if (newest_version_ != 0) {
    std::string plaintext;
    auto manifest = read_manifest_locked(newest_version_, &plaintext);
    if (manifest) {
      newest_manifest_hash_ = manifest_hash(plaintext);
      if (!have_base_) base_segments_ = manifest->segments;
    } else if (manifest.status().code() != Status::Code::kCorruption &&
               !manifest.status().is_not_found()) {
      // The backend is unreachable, or a newer hoardfs wrote it: try later.
      return manifest.status().with_context("reading the newest metadata version");
    } else {
      log::warning("cannot read the newest metadata version, uploading in full: {}",
                   manifest.status().to_string());
      if (!have_base_) base_segments_.clear();
    }
  } else if (!have_base_) {
    base_segments_.clear();
  }
  have_base_ = true;
  newest_known_ = true;
  return Status::ok();
}

// Writes the manifest under the first free version number after the newest,
// filling in the version and chain fields.
Status MetadataSync::write_manifest(MetadataManifest* manifest, std::string* plaintext,
                                    uint64_t* stored_size) {
  for (int attempt = 1;; ++attempt) {
    manifest->version = newest_version_ + 1;
    manifest->previous_version = newest_version_;
    manifest->previous_manifest_hash = newest_manifest_hash_;
    *plaintext = serialize_manifest(*manifest);
    std::string name = object_names::manifest(manifest->version);
    std::string stored = codec_.encode(name, *plaintext);
    *stored_size = stored.size();
    Status status = backend_.put_if_absent(name, stored);
    if (status.code() == Status::Code::kUnsupported) {
      ObjectInfo info;
      status = backend_.head(name, &info);
      if (status.is_ok()) {
        status = Status::already_exists(name);
      } else if (status.is_not_found()) {
        status = backend_.put(name, stored);
      }
    }
    if (status.is_ok()) return status;
    if (status.code() != Status::Code::kAlreadyExists || attempt == kManifestWriteAttempts) {
      // A failed put may still have landed: learn the newest again next time.
      newest_known_ = false;
      return status.with_context("writing metadata manifest " + name);
    }
    log::warning("metadata version {} already exists in the backend, taking the next number",
                 manifest->version);
    HOARDFS_RETURN_IF_ERROR(find_newest());
  }
}

Result<MetadataUploadStats> MetadataSync::upload(const std::string& snapshot_path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (options_.segment_bytes == 0) return Status::invalid_argument("metadata segment size must not be 0");
  if (!newest_known_) HOARDFS_RETURN_IF_ERROR(find_newest());

  FileDescriptor fd(::open(snapshot_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::from_errno(errno, "opening metadata snapshot " + snapshot_path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::from_errno(errno, "reading metadata snapshot " + snapshot_path);

  MetadataManifest manifest;
  manifest.uploaded_unix = static_cast<int64_t>(std::time(nullptr));
  manifest.writer = options_.writer;
  manifest.database_bytes = static_cast<uint64_t>(st.st_size);
  manifest.segment_bytes = options_.segment_bytes;
  size_t count = static_cast<size_t>((manifest.database_bytes + options_.segment_bytes - 1) /
                                     options_.segment_bytes);
  manifest.segments.resize(count);
  std::vector<char> uploaded(count, 0);
  std::atomic<uint64_t> bytes_uploaded{0};

  Status status = run_parallel(count, options_.threads, [&](size_t i) -> Status {
    uint64_t offset = static_cast<uint64_t>(i) * options_.segment_bytes;
    size_t length = static_cast<size_t>(std::min(options_.segment_bytes, manifest.database_bytes - offset));
    std::string bytes;
    HOARDFS_RETURN_IF_ERROR(read_exactly(fd.get(), offset, length, &bytes, snapshot_path));
    MetadataSegment& segment = manifest.segments[i];
    segment.hash = segment_hash(bytes);
    segment.length = length;
    if (i < base_segments_.size() && base_segments_[i].hash == segment.hash &&
        base_segments_[i].length == segment.length) {
      segment.name = base_segments_[i].name;
      segment.stored_size = base_segments_[i].stored_size;
      return Status::ok();
    }
    segment.name = object_names::new_metadata_segment();
    std::string stored = codec_.encode(segment.name, bytes);
    segment.stored_size = stored.size();
    HOARDFS_RETURN_IF_ERROR(backend_.put(segment.name, stored).with_context(
        "uploading metadata segment " + segment.name));
    uploaded[i] = 1;
    bytes_uploaded += stored.size();
    return Status::ok();
  });

  MetadataUploadStats stats;
  stats.segments_total = count;
  stats.segments_uploaded = static_cast<uint64_t>(std::count(uploaded.begin(), uploaded.end(), 1));
  if (!status.is_ok()) {
    // No manifest refers to the new segments yet: remove them (best effort;
    // garbage collection after the next upload catches what remains).
    std::vector<std::string> orphans;
    for (size_t i = 0; i < count; ++i) {
      if (uploaded[i]) orphans.push_back(manifest.segments[i].name);
    }
    if (!orphans.empty()) {
      Status removed = backend_.remove(orphans);
      if (!removed.is_ok()) log::warning("removing unused metadata segments: {}", removed.to_string());
    }
    return status.with_context("uploading metadata");
  }

  std::string plaintext;
  uint64_t manifest_stored_size = 0;
  HOARDFS_RETURN_IF_ERROR(write_manifest(&manifest, &plaintext, &manifest_stored_size));
  newest_version_ = manifest.version;
  newest_manifest_hash_ = manifest_hash(plaintext);
  base_segments_ = manifest.segments;
  have_base_ = true;
  references_[manifest.version] = segment_names(manifest);

  stats.version = manifest.version;
  stats.bytes_uploaded = bytes_uploaded.load() + manifest_stored_size;
  log::info("metadata version {} uploaded: {} of {} segments new, {} bytes", stats.version,
            stats.segments_uploaded, stats.segments_total, stats.bytes_uploaded);
  prune(manifest);
  return stats;
}

// Deletes the manifests beyond keep_versions, oldest first, then the segments
// no kept manifest references. Failures are logged, not returned: the new
// version is already safe, and the next upload retries the clean-up.
void MetadataSync::prune(const MetadataManifest& written) {
  auto listed = list_manifest_versions();
  if (!listed) {
    log::warning("metadata clean-up skipped: {}", listed.status().to_string());
    return;
  }
  std::set<uint64_t> versions(listed->begin(), listed->end());
  versions.insert(written.version);  // a stale listing may not show it yet
  size_t keep = std::max(options_.keep_versions, 1u);
  std::vector<uint64_t> all(versions.begin(), versions.end());
  size_t drop = all.size() > keep ? all.size() - keep : 0;

  std::vector<std::string> old_manifests;
  for (size_t i = 0; i < drop; ++i) old_manifests.push_back(object_names::manifest(all[i]));
  if (!old_manifests.empty()) {
    Status status = backend_.remove(old_manifests);
    if (!status.is_ok()) {
      log::warning("deleting old metadata versions failed: {}", status.to_string());
      return;
    }
    for (size_t i = 0; i < drop; ++i) references_.erase(all[i]);
  }

  std::set<std::string> referenced;
  for (size_t i = drop; i < all.size(); ++i) {
    auto known = references_.find(all[i]);
    if (known == references_.end()) {
      std::string plaintext;
      auto manifest = read_manifest_locked(all[i], &plaintext);
      if (!manifest) {
        log::warning("metadata segment clean-up skipped, cannot read kept version {}: {}", all[i],
                     manifest.status().to_string());
        return;
      }
      known = references_.find(all[i]);
    }
    referenced.insert(known->second.begin(), known->second.end());
  }

  std::vector<ObjectInfo> segments;
  Status status = list_all(backend_, object_names::kSegmentPrefix, &segments);
  if (!status.is_ok()) {
    log::warning("metadata segment clean-up skipped: {}", status.to_string());
    return;
  }
  std::vector<std::string> unreferenced;
  for (const auto& object : segments) {
    if (!referenced.count(object.key)) unreferenced.push_back(object.key);
  }
  if (unreferenced.empty()) return;
  status = backend_.remove(unreferenced);
  if (!status.is_ok()) {
    log::warning("deleting unreferenced metadata segments failed: {}", status.to_string());
    return;
  }
  log::debug("deleted {} old metadata versions and {} unreferenced segments", drop, unreferenced.size());
}

Result<std::vector<MetadataVersion>> MetadataSync::list_versions() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto versions = list_manifest_versions();
  if (!versions) return versions.status();
  std::vector<MetadataVersion> out;
  for (uint64_t version : *versions) {
    std::string plaintext;
    auto manifest = read_manifest_locked(version, &plaintext);
    if (manifest.status().is_not_found()) continue;  // pruned since the listing
    if (!manifest) return manifest.status();
    out.push_back(version_info(*manifest));
  }
  return out;
}

// Checks that the previous manifest, if it still exists, is the one this
// manifest was chained to. A previous manifest that cannot be decoded is only
// logged: this version's own objects are authenticated on their own, and
// refusing would make a damaged old version block the restore of newer ones.
Status MetadataSync::verify_chain_link(const MetadataManifest& manifest) {
  if (manifest.previous_version == 0 || manifest.previous_manifest_hash.empty()) return Status::ok();
  std::string previous_name = object_names::manifest(manifest.previous_version);
  std::string plaintext;
  auto previous = read_manifest_locked(manifest.previous_version, &plaintext);
  if (previous.status().is_not_found()) return Status::ok();  // pruned
  if (!previous) {
    if (previous.status().code() != Status::Code::kCorruption) return previous.status();
    log::warning("metadata version chain not checked: {}", previous.status().to_string());
    return Status::ok();
  }
  if (manifest_hash(plaintext) != manifest.previous_manifest_hash) {
    return Status::corruption("metadata version chain broken: " + previous_name +
                              " is not the manifest that " + object_names::manifest(manifest.version) +
                              " follows");
  }
  return Status::ok();
}

Result<MetadataVersion> MetadataSync::download(uint64_t version, const std::string& dest_path) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool newest = version == 0;
  if (newest) {
    auto versions = list_manifest_versions();
    if (!versions) return versions.status();
    if (versions->empty()) {
      return Status::not_found("no metadata version in " + backend_.describe());
    }
    version = versions->back();
  }
  std::string plaintext;
  auto manifest_result = read_manifest_locked(version, &plaintext);
  if (!manifest_result) return manifest_result.status();
  const MetadataManifest& manifest = *manifest_result;
  HOARDFS_RETURN_IF_ERROR(verify_chain_link(manifest));

  std::string tmp_path = dest_path + ".tmp";
  FileDescriptor fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::from_errno(errno, "creating " + tmp_path);
  std::vector<uint64_t> offsets(manifest.segments.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < manifest.segments.size(); ++i) {
    offsets[i] = offset;
    offset += manifest.segments[i].length;
  }

  Status status = run_parallel(manifest.segments.size(), options_.threads, [&](size_t i) -> Status {
    const MetadataSegment& segment = manifest.segments[i];
    std::string stored;
    Status got = backend_.get(segment.name, &stored);
    if (got.is_not_found()) {
      return Status::corruption("metadata segment " + segment.name + " of version " +
                                std::to_string(manifest.version) + " is missing");
    }
    HOARDFS_RETURN_IF_ERROR(got.with_context("reading metadata segment " + segment.name));
    std::string bytes;
    HOARDFS_RETURN_IF_ERROR(codec_.decode(segment.name, stored, &bytes));
    if (bytes.size() != segment.length || segment_hash(bytes) != segment.hash) {
      return Status::corruption("metadata segment " + segment.name + " does not match manifest " +
                                object_names::manifest(manifest.version));
    }
    return write_exactly(fd.get(), offsets[i], bytes, tmp_path);
  });
  if (status.is_ok() && ::ftruncate(fd.get(), static_cast<off_t>(manifest.database_bytes)) != 0) {
    status = Status::from_errno(errno, "sizing " + tmp_path);
  }
  if (status.is_ok() && ::fsync(fd.get()) != 0) status = Status::from_errno(errno, "syncing " + tmp_path);
  if (status.is_ok()) status = fd.close(tmp_path);
  if (status.is_ok() && ::rename(tmp_path.c_str(), dest_path.c_str()) != 0) {
    status = Status::from_errno(errno, "renaming " + tmp_path + " to " + dest_path);
  }
  if (!status.is_ok()) {
    ::unlink(tmp_path.c_str());
    return status.with_context("downloading metadata version " + std::to_string(manifest.version));
  }
  HOARDFS_RETURN_IF_ERROR(fsync_parent_directory(dest_path));

  base_segments_ = manifest.segments;
  have_base_ = true;
  if (newest) {
    newest_known_ = true;
    newest_version_ = manifest.version;
    newest_manifest_hash_ = manifest_hash(plaintext);
  }
  return version_info(manifest);
}

}  // namespace hoardfs
