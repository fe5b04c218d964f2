// MetadataSync against the in-memory backend and a real ObjectCodec, once
// encrypted and once plain: round trips, incremental uploads, restore of old
// versions, pruning, tamper detection and restarts.
#include "hoardfs/metadata_sync.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

#include "backend/memory/memory_backend.h"
#include "hoardfs/object_names.h"

namespace hoardfs {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSegmentBytes = 16 * 1024;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

void exec_sql(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
}

// A real SQLite database with `rows` rows of about 100 bytes each.
void make_database(const std::string& path, int rows) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  exec_sql(db, "CREATE TABLE entries (id INTEGER PRIMARY KEY, name TEXT, payload TEXT)");
  exec_sql(db, "BEGIN");
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO entries VALUES (?, ?, ?)", -1, &insert, nullptr), SQLITE_OK);
  for (int i = 1; i <= rows; ++i) {
    std::string name = "file-" + std::to_string(i * 7919 % 100003);
    std::string payload(80, static_cast<char>('a' + i % 26));
    sqlite3_bind_int(insert, 1, i);
    sqlite3_bind_text(insert, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, payload.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  exec_sql(db, "COMMIT");
  sqlite3_close(db);
}

void update_rows(const std::string& path, const std::vector<int>& ids) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  for (int id : ids) {
    exec_sql(db, "UPDATE entries SET payload = 'changed-" + std::to_string(id) + "' WHERE id = " +
                     std::to_string(id));
  }
  sqlite3_close(db);
}

int64_t count_rows(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return -1;
  sqlite3_stmt* stmt = nullptr;
  int64_t count = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM entries", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    count = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

KeyMaterial make_keys(bool encrypted) {
  KeyMaterial keys;
  keys.encrypted = encrypted;
  if (encrypted) {
    randombytes_buf(keys.data_key.data(), keys.data_key.size());
    randombytes_buf(keys.block_hash_key.data(), keys.block_hash_key.size());
  }
  return keys;
}

// Forwards to another backend; the n-th put() fails, and a manifest write can
// be made to land and still report a timeout.
class FlakyBackend : public Backend {
 public:
  explicit FlakyBackend(Backend& inner) : inner_(inner) {}
  std::atomic<int> puts_until_failure{-1};  // -1: never fail
  std::atomic<bool> manifest_lands_but_times_out{false};

  std::string describe() const override { return "Flaky(" + inner_.describe() + ")"; }
  Status get(const std::string& key, std::string* out) override { return inner_.get(key, out); }
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override {
    return inner_.get_range(key, offset, length, out);
  }
  Status put(const std::string& key, std::string_view data) override {
    if (puts_until_failure.fetch_sub(1) == 0) return Status::transient("injected failure: " + key);
    return inner_.put(key, data);
  }
  Status put_if_absent(const std::string& key, std::string_view data) override {
    Status status = inner_.put_if_absent(key, data);
    if (status.is_ok() && manifest_lands_but_times_out.exchange(false)) {
      return Status::transient("injected timeout: " + key);
    }
    return status;
  }
  Status remove(const std::vector<std::string>& keys) override { return inner_.remove(keys); }
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override {
    return inner_.list(prefix, start_after, max_keys, page);
  }
  Status head(const std::string& key, ObjectInfo* info) override { return inner_.head(key, info); }

 private:
  Backend& inner_;
};

class MetadataSyncTest : public ::testing::TestWithParam<bool> {
 protected:
  MetadataSyncTest() : keys_(make_keys(GetParam())), codec_(keys_, 3) {}

  void SetUp() override {
    ASSERT_EQ(sodium_init() < 0, false);
    std::string pattern = (fs::temp_directory_path() / "hoardfs-metasync-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  MetadataSync::Options options(unsigned keep = 10) const {
    MetadataSync::Options o;
    o.segment_bytes = kSegmentBytes;
    o.keep_versions = keep;
    o.threads = 4;
    return o;
  }

  std::vector<std::string> keys_under(const std::string& prefix) {
    std::vector<ObjectInfo> objects;
    EXPECT_TRUE(list_all(backend_, prefix, &objects).is_ok());
    std::vector<std::string> keys;
    for (const auto& o : objects) keys.push_back(o.key);
    return keys;
  }

  MetadataUploadStats upload_bytes(MetadataSync& sync, const std::string& bytes) {
    write_file(path("snapshot"), bytes);
    auto stats = sync.upload(path("snapshot"));
    EXPECT_TRUE(stats.is_ok()) << stats.status().to_string();
    return stats ? *stats : MetadataUploadStats{};
  }

  std::string download_bytes(MetadataSync& sync, uint64_t version) {
    auto info = sync.download(version, path("restored"));
    EXPECT_TRUE(info.is_ok()) << info.status().to_string();
    return read_file(path("restored"));
  }

  KeyMaterial keys_;
  ObjectCodec codec_;
  MemoryBackend backend_;
  std::string dir_;
};

TEST_P(MetadataSyncTest, SqliteDatabaseRoundTrip) {
  make_database(path("live.db"), 5000);
  std::string original = read_file(path("live.db"));
  ASSERT_GT(original.size(), 20 * kSegmentBytes);
  MetadataSync sync(backend_, codec_, options());
  auto stats = sync.upload(path("live.db"));
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_EQ(stats->version, 1u);
  EXPECT_EQ(stats->segments_total, (original.size() + kSegmentBytes - 1) / kSegmentBytes);
  EXPECT_EQ(stats->segments_uploaded, stats->segments_total);

  MetadataSync fresh(backend_, codec_, options());
  auto info = fresh.download(0, path("restored.db"));
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->version, 1u);
  EXPECT_EQ(info->database_bytes, original.size());
  EXPECT_EQ(read_file(path("restored.db")), original);
  EXPECT_EQ(count_rows(path("restored.db")), 5000);
  EXPECT_FALSE(fs::exists(path("restored.db.tmp")));
}

TEST_P(MetadataSyncTest, RandomBytesRoundTripWithPartialLastSegment) {
  std::string original = random_bytes(10 * kSegmentBytes + 12345, 1);
  MetadataSync sync(backend_, codec_, options());
  EXPECT_EQ(upload_bytes(sync, original).segments_total, 11u);
  write_file(path("restored"), "old content to be replaced");
  EXPECT_EQ(download_bytes(sync, 0), original);
  // Segments and the manifest are all the backend holds under meta/.
  EXPECT_EQ(keys_under(object_names::kSegmentPrefix).size(), 11u);
  EXPECT_EQ(keys_under(object_names::kManifestPrefix),
            std::vector<std::string>{object_names::manifest(1)});
}

TEST_P(MetadataSyncTest, StoredObjectsDoNotContainThePlaintext) {
  if (!GetParam()) GTEST_SKIP() << "only an encrypted filesystem hides its metadata";
  make_database(path("live.db"), 2000);
  MetadataSync sync(backend_, codec_, options());
  ASSERT_TRUE(sync.upload(path("live.db")).is_ok());
  for (const auto& key : keys_under(object_names::kMetaPrefix)) {
    std::string stored;
    ASSERT_TRUE(backend_.get(key, &stored).is_ok());
    EXPECT_EQ(stored.find("file-7919"), std::string::npos) << key;
    EXPECT_EQ(stored.find("CREATE TABLE"), std::string::npos) << key;
    EXPECT_EQ(stored.find("segments"), std::string::npos) << key;
  }
}

TEST_P(MetadataSyncTest, SecondUploadSendsOnlyChangedSegments) {
  make_database(path("live.db"), 5000);
  MetadataSync sync(backend_, codec_, options());
  ASSERT_TRUE(sync.upload(path("live.db")).is_ok());

  update_rows(path("live.db"), {10, 2500, 4990});
  auto stats = sync.upload(path("live.db"));
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_EQ(stats->version, 2u);
  EXPECT_GE(stats->segments_uploaded, 1u);
  EXPECT_LE(stats->segments_uploaded, 6u);  // three leaf pages and the header page
  EXPECT_LT(stats->segments_uploaded * 4, stats->segments_total);
  EXPECT_LT(stats->bytes_uploaded, 8 * kSegmentBytes);

  auto unchanged = sync.upload(path("live.db"));
  ASSERT_TRUE(unchanged.is_ok());
  EXPECT_EQ(unchanged->version, 3u);
  EXPECT_EQ(unchanged->segments_uploaded, 0u);

  std::string expected = read_file(path("live.db"));
  EXPECT_EQ(download_bytes(sync, 0), expected);
  EXPECT_EQ(count_rows(path("restored")), 5000);
}

TEST_P(MetadataSyncTest, RestoreOfOlderVersionGivesItsBytes) {
  MetadataSync sync(backend_, codec_, options());
  std::string v1 = random_bytes(8 * kSegmentBytes, 2);
  std::string v2 = v1;
  v2.replace(3 * kSegmentBytes + 10, 100, random_bytes(100, 3));
  v2 += random_bytes(5000, 4);
  upload_bytes(sync, v1);
  upload_bytes(sync, v2);

  EXPECT_EQ(download_bytes(sync, 1), v1);
  EXPECT_EQ(download_bytes(sync, 2), v2);
  EXPECT_EQ(download_bytes(sync, 0), v2);

  // Restoring v1 makes it the base: uploading it again reuses every segment,
  // continues the numbering, and chains to the newest version.
  EXPECT_EQ(download_bytes(sync, 1), v1);
  MetadataUploadStats again = upload_bytes(sync, v1);
  EXPECT_EQ(again.version, 3u);
  EXPECT_EQ(again.segments_uploaded, 0u);
  EXPECT_EQ(download_bytes(sync, 0), v1);
  auto manifest = sync.read_manifest(3);
  ASSERT_TRUE(manifest.is_ok());
  EXPECT_EQ(manifest->previous_version, 2u);
  EXPECT_FALSE(manifest->previous_manifest_hash.empty());
}

TEST_P(MetadataSyncTest, ListVersionsReportsEachVersion) {
  MetadataSync sync(backend_, codec_, options());
  auto none = sync.list_versions();
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
  int64_t before = static_cast<int64_t>(time(nullptr));
  for (size_t i = 1; i <= 3; ++i) upload_bytes(sync, random_bytes(i * 10000, static_cast<uint32_t>(i)));
  auto versions = sync.list_versions();
  ASSERT_TRUE(versions.is_ok()) << versions.status().to_string();
  ASSERT_EQ(versions->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*versions)[i].version, i + 1);
    EXPECT_EQ((*versions)[i].database_bytes, (i + 1) * 10000);
    EXPECT_GE((*versions)[i].uploaded_unix, before);
    EXPECT_LE((*versions)[i].uploaded_unix, static_cast<int64_t>(time(nullptr)));
    EXPECT_GT((*versions)[i].stored_bytes, 0u);
  }
}

TEST_P(MetadataSyncTest, PruningKeepsNewestVersionsAndReferencedSegments) {
  MetadataSync sync(backend_, codec_, options(/*keep=*/3));
  std::string shared = random_bytes(4 * kSegmentBytes, 5);  // the same in every version
  std::vector<std::string> contents;
  for (uint32_t v = 1; v <= 6; ++v) {
    contents.push_back(shared + random_bytes(2 * kSegmentBytes, 100 + v));
    EXPECT_EQ(upload_bytes(sync, contents.back()).version, v);
    if (v == 1) {
      auto first = sync.read_manifest(1);
      ASSERT_TRUE(first.is_ok());
      ASSERT_EQ(first->segments.size(), 6u);
    }
  }
  EXPECT_EQ(keys_under(object_names::kManifestPrefix),
            (std::vector<std::string>{object_names::manifest(4), object_names::manifest(5),
                                      object_names::manifest(6)}));
  EXPECT_TRUE(sync.read_manifest(1).status().is_not_found());

  std::set<std::string> referenced;
  for (uint64_t v = 4; v <= 6; ++v) {
    auto manifest = sync.read_manifest(v);
    ASSERT_TRUE(manifest.is_ok());
    for (const auto& segment : manifest->segments) referenced.insert(segment.name);
  }
  // 4 shared segments (uploaded with v1, still referenced) + 2 per kept version.
  EXPECT_EQ(referenced.size(), 4u + 3 * 2);
  auto stored = keys_under(object_names::kSegmentPrefix);
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), referenced);

  for (uint64_t v = 4; v <= 6; ++v) EXPECT_EQ(download_bytes(sync, v), contents[v - 1]);
  EXPECT_TRUE(sync.download(2, path("old")).status().is_not_found());
}

TEST_P(MetadataSyncTest, PruningRemovesSegmentsOfFailedUploads) {
  MetadataSync sync(backend_, codec_, options(/*keep=*/2));
  upload_bytes(sync, random_bytes(3 * kSegmentBytes, 6));
  // A segment left by an upload that died before writing its manifest.
  std::string orphan = object_names::new_metadata_segment();
  ASSERT_TRUE(backend_.put(orphan, codec_.encode(orphan, "leftover")).is_ok());
  upload_bytes(sync, random_bytes(3 * kSegmentBytes, 7));
  auto stored = keys_under(object_names::kSegmentPrefix);
  EXPECT_EQ(std::count(stored.begin(), stored.end(), orphan), 0);
  EXPECT_EQ(stored.size(), 6u);
}

TEST_P(MetadataSyncTest, FlippedByteInSegmentIsCorruption) {
  MetadataSync sync(backend_, codec_, options());
  upload_bytes(sync, random_bytes(5 * kSegmentBytes, 8));
  write_file(path("restored"), "previous database");
  auto manifest = sync.read_manifest(1);
  ASSERT_TRUE(manifest.is_ok());
  const std::string& victim = manifest->segments[2].name;
  std::string stored;
  ASSERT_TRUE(backend_.get(victim, &stored).is_ok());
  stored[stored.size() / 2] ^= 0x01;
  ASSERT_TRUE(backend_.put(victim, stored).is_ok());

  auto result = sync.download(0, path("restored"));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kCorruption);
  EXPECT_NE(result.status().message().find(victim), std::string::npos) << result.status().message();
  EXPECT_EQ(read_file(path("restored")), "previous database");
  EXPECT_FALSE(fs::exists(path("restored.tmp")));
}

TEST_P(MetadataSyncTest, SwappedOrMissingSegmentIsCorruption) {
  MetadataSync sync(backend_, codec_, options());
  upload_bytes(sync, random_bytes(5 * kSegmentBytes, 9));
  auto manifest = sync.read_manifest(1);
  ASSERT_TRUE(manifest.is_ok());
  const std::string& first = manifest->segments[0].name;
  const std::string& second = manifest->segments[1].name;
  std::string first_stored, second_stored;
  ASSERT_TRUE(backend_.get(first, &first_stored).is_ok());
  ASSERT_TRUE(backend_.get(second, &second_stored).is_ok());
  ASSERT_TRUE(backend_.put(second, first_stored).is_ok());

  auto swapped = sync.download(0, path("restored"));
  ASSERT_FALSE(swapped.is_ok());
  EXPECT_EQ(swapped.status().code(), Status::Code::kCorruption);
  EXPECT_NE(swapped.status().message().find(second), std::string::npos) << swapped.status().message();

  ASSERT_TRUE(backend_.put(second, second_stored).is_ok());
  ASSERT_TRUE(backend_.remove({first}).is_ok());
  auto missing = sync.download(0, path("restored"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kCorruption);
  EXPECT_NE(missing.status().message().find(first), std::string::npos) << missing.status().message();
}

TEST_P(MetadataSyncTest, TamperedOrMovedManifestIsCorruption) {
  MetadataSync sync(backend_, codec_, options());
  upload_bytes(sync, random_bytes(2 * kSegmentBytes, 10));
  upload_bytes(sync, random_bytes(2 * kSegmentBytes, 11));
  // An old manifest put back under the newest name.
  std::string old_manifest;
  ASSERT_TRUE(backend_.get(object_names::manifest(1), &old_manifest).is_ok());
  ASSERT_TRUE(backend_.put(object_names::manifest(2), old_manifest).is_ok());
  auto result = sync.download(0, path("restored"));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kCorruption);
  EXPECT_NE(result.status().message().find(object_names::manifest(2)), std::string::npos)
      << result.status().message();
  EXPECT_EQ(sync.list_versions().status().code(), Status::Code::kCorruption);
}

TEST_P(MetadataSyncTest, BrokenVersionChainIsCorruption) {
  MetadataSync sync(backend_, codec_, options());
  upload_bytes(sync, random_bytes(2 * kSegmentBytes, 12));
  upload_bytes(sync, random_bytes(2 * kSegmentBytes, 13));
  // Replace version 1 by a different, validly encoded manifest (only the
  // holder of the key could do this; the chain still notices).
  std::string name = object_names::manifest(1);
  std::string stored, plaintext;
  ASSERT_TRUE(backend_.get(name, &stored).is_ok());
  ASSERT_TRUE(codec_.decode(name, stored, &plaintext).is_ok());
  ASSERT_TRUE(backend_.put(name, codec_.encode(name, plaintext + " ")).is_ok());

  EXPECT_TRUE(sync.download(1, path("restored")).is_ok());
  auto result = sync.download(2, path("restored"));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Status::Code::kCorruption);
  EXPECT_NE(result.status().message().find(name), std::string::npos) << result.status().message();
}

TEST_P(MetadataSyncTest, FreshInstanceContinuesNumberingAndReusesSegments) {
  std::string v1 = random_bytes(10 * kSegmentBytes, 14);
  {
    MetadataSync first(backend_, codec_, options());
    upload_bytes(first, v1);
    upload_bytes(first, v1 + "tail");
  }
  MetadataSync restarted(backend_, codec_, options());  // a new process: no memory
  std::string v3 = v1 + "tail";
  v3[5 * kSegmentBytes] ^= 0x55;
  MetadataUploadStats stats = upload_bytes(restarted, v3);
  EXPECT_EQ(stats.version, 3u);
  EXPECT_EQ(stats.segments_total, 11u);
  EXPECT_EQ(stats.segments_uploaded, 1u);
  EXPECT_EQ(download_bytes(restarted, 0), v3);
  auto manifest = restarted.read_manifest(3);
  ASSERT_TRUE(manifest.is_ok());
  EXPECT_EQ(manifest->previous_version, 2u);
}

TEST_P(MetadataSyncTest, DamagedNewestManifestLeadsToFullUpload) {
  std::string content = random_bytes(4 * kSegmentBytes, 20);
  {
    MetadataSync first(backend_, codec_, options());
    upload_bytes(first, content);
  }
  std::string name = object_names::manifest(1);
  std::string stored;
  ASSERT_TRUE(backend_.get(name, &stored).is_ok());
  stored[stored.size() - 1] ^= 0x10;
  ASSERT_TRUE(backend_.put(name, stored).is_ok());

  MetadataSync restarted(backend_, codec_, options());
  MetadataUploadStats stats = upload_bytes(restarted, content);
  EXPECT_EQ(stats.version, 2u);
  EXPECT_EQ(stats.segments_uploaded, 4u);
  EXPECT_EQ(download_bytes(restarted, 0), content);
  // The damaged version's segments are not collected while it is kept.
  EXPECT_EQ(keys_under(object_names::kSegmentPrefix).size(), 8u);
}

TEST_P(MetadataSyncTest, FailedSegmentUploadLeavesNoVersionAndNoSegments) {
  FlakyBackend flaky(backend_);
  MetadataSync sync(flaky, codec_, options());
  flaky.puts_until_failure = 3;
  write_file(path("snapshot"), random_bytes(8 * kSegmentBytes, 21));
  auto failed = sync.upload(path("snapshot"));
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("injected failure"), std::string::npos);
  EXPECT_TRUE(keys_under(object_names::kMetaPrefix).empty());

  auto stats = sync.upload(path("snapshot"));
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_EQ(stats->version, 1u);
  EXPECT_EQ(download_bytes(sync, 0), read_file(path("snapshot")));
}

TEST_P(MetadataSyncTest, ManifestThatLandedDespiteAnErrorIsNotOverwritten) {
  FlakyBackend flaky(backend_);
  MetadataSync sync(flaky, codec_, options());
  std::string v1 = random_bytes(4 * kSegmentBytes, 22);
  flaky.manifest_lands_but_times_out = true;
  write_file(path("snapshot"), v1);
  ASSERT_FALSE(sync.upload(path("snapshot")).is_ok());
  EXPECT_EQ(download_bytes(sync, 1), v1);  // it did land, with all its segments

  std::string v2 = v1 + "more";
  EXPECT_EQ(upload_bytes(sync, v2).version, 2u);
  EXPECT_EQ(download_bytes(sync, 0), v2);  // chain link to version 1 verified
  EXPECT_EQ(download_bytes(sync, 1), v1);
}

TEST_P(MetadataSyncTest, StaleNewestVersionTakesTheNextFreeNumber) {
  MetadataSync a(backend_, codec_, options());
  MetadataSync b(backend_, codec_, options());
  upload_bytes(a, random_bytes(3 * kSegmentBytes, 15));
  std::string from_b = random_bytes(3 * kSegmentBytes, 16);
  EXPECT_EQ(upload_bytes(b, from_b).version, 2u);
  // `a` still believes version 1 is the newest; it must not overwrite v2.
  std::string from_a = random_bytes(3 * kSegmentBytes, 17);
  EXPECT_EQ(upload_bytes(a, from_a).version, 3u);
  EXPECT_EQ(download_bytes(a, 2), from_b);
  EXPECT_EQ(download_bytes(a, 3), from_a);
}

TEST_P(MetadataSyncTest, EmptyFile) {
  MetadataSync sync(backend_, codec_, options());
  MetadataUploadStats stats = upload_bytes(sync, "");
  EXPECT_EQ(stats.version, 1u);
  EXPECT_EQ(stats.segments_total, 0u);
  write_file(path("restored"), "not empty");
  EXPECT_EQ(download_bytes(sync, 0), "");
  EXPECT_TRUE(fs::exists(path("restored")));
  // And growing from empty works.
  std::string grown = random_bytes(kSegmentBytes + 1, 18);
  EXPECT_EQ(upload_bytes(sync, grown).segments_uploaded, 2u);
  EXPECT_EQ(download_bytes(sync, 0), grown);
}

TEST_P(MetadataSyncTest, MissingMetadataIsNotFound) {
  MetadataSync sync(backend_, codec_, options());
  auto none = sync.download(0, path("restored"));
  EXPECT_TRUE(none.status().is_not_found()) << none.status().to_string();
  EXPECT_FALSE(fs::exists(path("restored")));
  upload_bytes(sync, "x");
  EXPECT_TRUE(sync.download(7, path("restored")).status().is_not_found());
  EXPECT_TRUE(sync.read_manifest(7).status().is_not_found());
  EXPECT_EQ(sync.upload(path("does-not-exist")).status().code(), Status::Code::kNotFound);
}

TEST_P(MetadataSyncTest, ChangedSegmentSizeStillRoundTrips) {
  std::string content = random_bytes(6 * kSegmentBytes + 7, 19);
  MetadataSync big(backend_, codec_, options());
  upload_bytes(big, content);
  MetadataSync::Options small = options();
  small.segment_bytes = kSegmentBytes / 4;
  MetadataSync sync(backend_, codec_, small);
  MetadataUploadStats stats = upload_bytes(sync, content);
  EXPECT_EQ(stats.version, 2u);
  EXPECT_EQ(stats.segments_total, 25u);
  EXPECT_EQ(download_bytes(sync, 0), content);
  EXPECT_EQ(download_bytes(sync, 1), content);
}

INSTANTIATE_TEST_SUITE_P(Codec, MetadataSyncTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Encrypted" : "Plain";
                         });

}  // namespace
}  // namespace hoardfs
