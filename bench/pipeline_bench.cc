// Micro-benchmarks (Google Benchmark) of the block pipeline stages and of the
// metadata database, each on the project's own code:
//
//   BM_HashBlock         block identity (hash_block): HMAC-SHA-256 (new
//                        filesystems) and keyed BLAKE2b-256 (revision 1)
//   BM_Zstd*             zstd at the mount's default level on text and on
//                        random data, as the codec calls it
//   BM_Encrypt/Decrypt   ObjectCodec with compression off: header + AEAD
//                        (XChaCha20-Poly1305, what the mount writes; AES-256-GCM
//                        too when this CPU has AES-NI)
//   BM_EncodeBlock       the whole write-back path of one 1 MiB block: zero
//                        check, hash, new object name, zstd + AEAD
//   BM_DecodeBlock       the read path: decode + hash check
//   BM_Sql*              operations per second on the real schema
//                        (src/metadata/schema.cc) through the sql:: wrapper,
//                        WAL with synchronous=NORMAL like a mount (commits are
//                        not fsync'd)
//
// Byte rates are MiB/s of plaintext (bytes_per_second), SQL rates are
// operations per second (items_per_second). Run with
//   meson test -C BUILD --benchmark pipeline      (short: --benchmark_min_time=0.2)
//   BUILD/bench/pipeline_bench --benchmark_filter=Sql
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "hoardfs/metadata_store.h"
#include "hoardfs/object_codec.h"
#include "hoardfs/object_names.h"
#include "metadata/schema.h"
#include "metadata/sqlite.h"
#include "text_data.h"

namespace {

using hoardfs::Encryption;
using hoardfs::kDefaultZstdLevel;
using hoardfs::KeyMaterial;
using hoardfs::ObjectCodec;

constexpr size_t kMiB = 1 << 20;

std::string text_data(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  return hoardfs::bench::text_block(size, rng);
}

std::string random_data(size_t size) {
  std::string s(size, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

std::string data_of(int kind, size_t size) { return kind == 0 ? text_data(size, 1) : random_data(size); }
const char* kind_label(int kind) { return kind == 0 ? "text" : "random"; }

const KeyMaterial& keys() {
  static const KeyMaterial k = [] {
    KeyMaterial m;
    m.encrypted = true;
    randombytes_buf(m.data_key.data(), m.data_key.size());
    randombytes_buf(m.block_hash_key.data(), m.block_hash_key.size());
    return m;
  }();
  return k;
}

bool all_zero(std::string_view data) {
  for (char c : data) {
    if (c != 0) return false;
  }
  return true;
}

// ---- block pipeline ----

// range(1): 0 keyed BLAKE2b-256 (revision 1), 1 HMAC-SHA-256 (what mkfs makes).
void BM_HashBlock(benchmark::State& state) {
  const std::string data = random_data(static_cast<size_t>(state.range(0)));
  KeyMaterial k = keys();
  k.block_hash = state.range(1) == 0 ? hoardfs::BlockHashFunction::kBlake2b256
                                     : hoardfs::BlockHashFunction::kHmacSha256;
  for (auto _ : state) {
    hoardfs::BlockHash h = hoardfs::hash_block(k, data);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(state.range(1) == 0 ? "blake2b-256" : "hmac-sha256");
}
BENCHMARK(BM_HashBlock)->ArgsProduct({{4096, kMiB}, {0, 1}});

// range(0): 0 text, 1 random.
void BM_ZstdCompress(benchmark::State& state) {
  const std::string data = data_of(static_cast<int>(state.range(0)), kMiB);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t n = 0;
  for (auto _ : state) {
    n = ZSTD_compressCCtx(cctx, out.data(), out.size(), data.data(), data.size(), kDefaultZstdLevel);
    benchmark::DoNotOptimize(n);
  }
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) state.SkipWithError(ZSTD_getErrorName(n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(n) / static_cast<double>(data.size());
  state.SetLabel(kind_label(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_ZstdCompress)->Arg(0)->Arg(1);

void BM_ZstdDecompress(benchmark::State& state) {
  const std::string data = data_of(0, kMiB);
  std::string packed(ZSTD_compressBound(data.size()), '\0');
  packed.resize(ZSTD_compress(packed.data(), packed.size(), data.data(), data.size(), kDefaultZstdLevel));
  std::string out(data.size(), '\0');
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  for (auto _ : state) {
    size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), packed.data(), packed.size());
    benchmark::DoNotOptimize(n);
  }
  ZSTD_freeDCtx(dctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel("text");
}
BENCHMARK(BM_ZstdDecompress);

// ObjectCodec with compression off: the AEAD over header + name + payload.
// range(0): size, range(1): Encryption.
void BM_Encrypt(benchmark::State& state) {
  const ObjectCodec codec(keys(), 0, static_cast<Encryption>(state.range(1)));
  const std::string data = random_data(static_cast<size_t>(state.range(0)));
  const std::string name = hoardfs::object_names::new_data_object();
  for (auto _ : state) {
    std::string stored = codec.encode(name, data);
    benchmark::DoNotOptimize(stored.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(codec.encryption() == Encryption::kAes256Gcm ? "aes256gcm" : "xchacha20poly1305");
}

void BM_Decrypt(benchmark::State& state) {
  const ObjectCodec codec(keys(), 0, static_cast<Encryption>(state.range(1)));
  const std::string data = random_data(static_cast<size_t>(state.range(0)));
  const std::string name = hoardfs::object_names::new_data_object();
  const std::string stored = codec.encode(name, data);
  std::string plain;
  for (auto _ : state) {
    hoardfs::Status s = codec.decode(name, stored, &plain);
    if (!s.is_ok()) {
      state.SkipWithError(s.to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(plain.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(codec.encryption() == Encryption::kAes256Gcm ? "aes256gcm" : "xchacha20poly1305");
}

// What BlockCache does to upload one dirty block (block_cache.cc): zero
// check, keyed hash, a fresh object name, zstd + AEAD. range(0): 0 text, 1 random.
void BM_EncodeBlock(benchmark::State& state) {
  const ObjectCodec codec(keys(), kDefaultZstdLevel, Encryption::kXChaCha20Poly1305);
  const std::string data = data_of(static_cast<int>(state.range(0)), kMiB);
  size_t stored_bytes = 0;
  for (auto _ : state) {
    bool hole = all_zero(data);
    hoardfs::BlockHash h = hoardfs::hash_block(codec.keys(), data);
    std::string name = hoardfs::object_names::new_data_object();
    std::string stored = codec.encode(name, data);
    stored_bytes = stored.size();
    benchmark::DoNotOptimize(hole);
    benchmark::DoNotOptimize(h);
    benchmark::DoNotOptimize(stored.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(stored_bytes) / static_cast<double>(data.size());
  state.SetLabel(kind_label(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_EncodeBlock)->Arg(0)->Arg(1);

// The read path of a fetched block: decode (AEAD check + zstd), then the
// hash comparison with the block map (block_cache.cc).
void BM_DecodeBlock(benchmark::State& state) {
  const ObjectCodec codec(keys(), kDefaultZstdLevel, Encryption::kXChaCha20Poly1305);
  const std::string data = data_of(static_cast<int>(state.range(0)), kMiB);
  const std::string name = hoardfs::object_names::new_data_object();
  const std::string stored = codec.encode(name, data);
  const hoardfs::BlockHash expected = hoardfs::hash_block(codec.keys(), data);
  std::string plain;
  for (auto _ : state) {
    hoardfs::Status s = codec.decode(name, stored, &plain);
    if (!s.is_ok() || hoardfs::hash_block(codec.keys(), plain) != expected) {
      state.SkipWithError("decode failed");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetLabel(kind_label(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_DecodeBlock)->Arg(0)->Arg(1);

// ---- metadata database ----

// Holds the databases of the SQL benchmarks; removed at exit.
const std::string& temp_root() {
  static const std::string root = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/pipeline_bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    return pattern;
  }();
  return root;
}

// A new namespace database (schema + root inode, as mkfs makes it), opened
// the way a mount opens it (sql::Database::open: WAL, synchronous=NORMAL).
std::unique_ptr<hoardfs::sql::Database> new_database(const std::string& label) {
  static int serial = 0;
  const std::string path = temp_root() + "/" + label + "-" + std::to_string(++serial) + ".db";
  hoardfs::Status made = hoardfs::initialize_metadata_database(path, 0, 0, 0755);
  auto db = std::make_unique<hoardfs::sql::Database>();
  if (made.is_ok()) made = db->open(path, false);
  if (made.is_ok()) made = hoardfs::check_schema(*db);
  if (!made.is_ok()) {
    std::fprintf(stderr, "pipeline_bench: %s\n", made.to_string().c_str());
    std::exit(1);
  }
  return db;
}

constexpr int64_t kNow = 1700000000000000000;

// The statements FilesystemImpl uses (fs_namespace.cc, fs_data.cc).
constexpr const char* kInsertInode =
    "INSERT INTO inodes(mode, uid, gid, size, rdev, nlink, atime_ns, mtime_ns, ctime_ns) "
    "VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)";
constexpr const char* kInsertEntry = "INSERT INTO dentries(parent, name, inode) VALUES (?, ?, ?)";
constexpr const char* kTouchDir = "UPDATE inodes SET mtime_ns = ?, ctime_ns = ? WHERE id = ?";
constexpr const char* kFindEntry = "SELECT inode FROM dentries WHERE parent = ? AND name = ?";
constexpr const char* kLoadInode =
    "SELECT mode, uid, gid, size, rdev, nlink, atime_ns, mtime_ns, ctime_ns, locked FROM inodes WHERE id = ?";

// Like FilesystemImpl::create(): one transaction with the new inode, its
// entry and the parent's times. Directories of 1000 entries.
void BM_SqlCreateFile(benchmark::State& state) {
  auto db = new_database("create");
  auto insert_inode = db->prepare(kInsertInode);
  auto insert_entry = db->prepare(kInsertEntry);
  auto touch_dir = db->prepare(kTouchDir);
  int64_t n = 0;
  int64_t dir = 1;
  for (auto _ : state) {
    if (n % 1000 == 0) {
      hoardfs::sql::Transaction txn(*db);
      insert_inode.bind(S_IFDIR | 0755, 0, 0, 0, 2, kNow, kNow, kNow).run();
      dir = db->last_insert_rowid();
      insert_entry.bind(1, "d" + std::to_string(dir), dir).run();
      txn.commit();
    }
    hoardfs::sql::Transaction txn(*db);
    insert_inode.bind(S_IFREG | 0644, 0, 0, 0, 1, kNow, kNow, kNow).run();
    const int64_t ino = db->last_insert_rowid();
    insert_entry.bind(dir, "f" + std::to_string(n), ino).run();
    touch_dir.bind(kNow, kNow, dir).run();
    txn.commit();
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SqlCreateFile)->UseRealTime();

// Like FilesystemImpl::lookup(): the entry by (parent, name), then the inode
// row, in a database of 100 directories x 1000 files. range(0): 1 = names
// that exist, 0 = misses (ENOENT, e.g. rsync probing new names).
// Filled once, shared by both variants; closed by main() before the files go.
std::unique_ptr<hoardfs::sql::Database> lookup_db;
std::vector<int64_t> lookup_dirs;

void BM_SqlLookup(benchmark::State& state) {
  constexpr int kDirs = 100, kPerDir = 1000;
  auto& db = lookup_db;
  auto& dirs = lookup_dirs;
  if (!db) {
    db = new_database("lookup");
    auto insert_inode = db->prepare(kInsertInode);
    auto insert_entry = db->prepare(kInsertEntry);
    hoardfs::sql::Transaction txn(*db);
    for (int d = 0; d < kDirs; ++d) {
      insert_inode.bind(S_IFDIR | 0755, 0, 0, 0, 2, kNow, kNow, kNow).run();
      const int64_t dir = db->last_insert_rowid();
      dirs.push_back(dir);
      insert_entry.bind(1, "d" + std::to_string(d), dir).run();
      for (int f = 0; f < kPerDir; ++f) {
        insert_inode.bind(S_IFREG | 0644, 0, 0, 0, 1, kNow, kNow, kNow).run();
        insert_entry.bind(dir, "file-" + std::to_string(f), db->last_insert_rowid()).run();
      }
    }
    txn.commit();
  }
  const bool hits = state.range(0) != 0;
  auto find_entry = db->prepare(kFindEntry);
  auto load_inode = db->prepare(kLoadInode);
  std::mt19937 rng(7);
  std::vector<std::pair<int64_t, std::string>> keys_to_find;
  for (int i = 0; i < 4096; ++i) {
    keys_to_find.emplace_back(dirs[rng() % kDirs], (hits ? "file-" : "absent-") + std::to_string(rng() % kPerDir));
  }
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& [parent, name] = keys_to_find[i++ % keys_to_find.size()];
    find_entry.bind(parent, name);
    if (find_entry.step()) {
      const int64_t ino = find_entry.int64(0);
      find_entry.reset();
      load_inode.bind(ino);
      found += load_inode.step() ? 1 : 0;
      load_inode.reset();
    } else {
      find_entry.reset();
    }
  }
  if (hits && static_cast<int64_t>(found) != static_cast<int64_t>(state.iterations())) state.SkipWithError("an entry was not found");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(hits ? "hit" : "miss");
}
BENCHMARK(BM_SqlLookup)->Arg(1)->Arg(0)->UseRealTime();

// Like FilesystemImpl::record_block() for a block seen for the first time:
// one transaction with the object, the block (unique hash) and the extent.
void BM_SqlCommitNewBlock(benchmark::State& state) {
  auto db = new_database("blocks");
  auto insert_object = db->prepare("INSERT INTO objects(name, stored_size, refcount) VALUES (?, ?, 1)");
  auto find_block = db->prepare("SELECT id FROM blocks WHERE hash = ?");
  auto insert_block = db->prepare(
      "INSERT INTO blocks(hash, size, refcount, object, obj_offset, obj_length) VALUES (?, ?, 1, ?, 0, ?)");
  auto insert_extent = db->prepare(
      "INSERT INTO extents(inode, offset, length, block) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(inode, offset) DO UPDATE SET length = excluded.length, block = excluded.block");
  int64_t n = 0;
  for (auto _ : state) {
    hoardfs::BlockHash hash{};
    randombytes_buf(hash.data(), hash.size());
    const std::string_view h(reinterpret_cast<const char*>(hash.data()), hash.size());
    hoardfs::sql::Transaction txn(*db);
    find_block.bind(h);
    const bool collision = find_block.step();
    find_block.reset();
    if (collision) {
      state.SkipWithError("hash collision");
      break;
    }
    insert_object.bind(hoardfs::object_names::new_data_object(), 400000).run();
    insert_block.bind(h, kMiB, db->last_insert_rowid(), kMiB).run();
    // 64 blocks per file, as for 64 MiB files.
    insert_extent.bind(2 + n / 64, (n % 64) * static_cast<int64_t>(kMiB), kMiB, db->last_insert_rowid()).run();
    txn.commit();
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SqlCommitNewBlock)->UseRealTime();

// record_block() for a block already stored (dedup): find it by hash, count
// one more reference, add the extent.
void BM_SqlCommitDedupBlock(benchmark::State& state) {
  constexpr int kStored = 10000;
  auto db = new_database("dedup");
  auto insert_object = db->prepare("INSERT INTO objects(name, stored_size, refcount) VALUES (?, ?, 1)");
  auto insert_block = db->prepare(
      "INSERT INTO blocks(hash, size, refcount, object, obj_offset, obj_length) VALUES (?, ?, 1, ?, 0, ?)");
  std::vector<std::string> hashes;
  {
    hoardfs::sql::Transaction txn(*db);
    for (int i = 0; i < kStored; ++i) {
      hashes.push_back(random_data(32));
      insert_object.bind(hoardfs::object_names::new_data_object(), 400000).run();
      insert_block.bind(hashes.back(), kMiB, db->last_insert_rowid(), kMiB).run();
    }
    txn.commit();
  }
  auto find_block = db->prepare("SELECT id FROM blocks WHERE hash = ?");
  auto add_ref = db->prepare("UPDATE blocks SET refcount = refcount + 1 WHERE id = ?");
  auto insert_extent = db->prepare(
      "INSERT INTO extents(inode, offset, length, block) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(inode, offset) DO UPDATE SET length = excluded.length, block = excluded.block");
  int64_t n = 0;
  for (auto _ : state) {
    hoardfs::sql::Transaction txn(*db);
    find_block.bind(hashes[static_cast<size_t>(n) % hashes.size()]);
    const int64_t block = find_block.step() ? find_block.int64(0) : -1;
    find_block.reset();
    if (block < 0) {
      state.SkipWithError("stored block not found");
      break;
    }
    add_ref.bind(block).run();
    insert_extent.bind(2 + n / 64, (n % 64) * static_cast<int64_t>(kMiB), kMiB, block).run();
    txn.commit();
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SqlCommitDedupBlock)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "pipeline_bench: cannot initialize libsodium\n");
    return 1;
  }
  for (int64_t size : {int64_t{4096}, int64_t{kMiB}}) {
    benchmark::RegisterBenchmark("BM_Encrypt", BM_Encrypt)
        ->Args({size, static_cast<int64_t>(Encryption::kXChaCha20Poly1305)});
    benchmark::RegisterBenchmark("BM_Decrypt", BM_Decrypt)
        ->Args({size, static_cast<int64_t>(Encryption::kXChaCha20Poly1305)});
    if (hoardfs::aes256gcm_available()) {
      benchmark::RegisterBenchmark("BM_Encrypt", BM_Encrypt)->Args({size, static_cast<int64_t>(Encryption::kAes256Gcm)});
      benchmark::RegisterBenchmark("BM_Decrypt", BM_Decrypt)->Args({size, static_cast<int64_t>(Encryption::kAes256Gcm)});
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  lookup_db.reset();
  std::error_code ec;
  if (!temp_root().empty()) std::filesystem::remove_all(temp_root(), ec);
  return 0;
}
