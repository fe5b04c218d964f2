// Chooses the default block size by measurement: for each candidate size it
// writes the same data set through the filesystem library onto a local
// directory backend, then applies scattered small edits (what rsync does to
// a backup tree day to day), and prints
//   - write + upload throughput (MB/s of file data),
//   - objects stored (per-object request overhead on S3/Swift),
//   - bytes uploaded again for the edits (smaller blocks re-upload less),
//   - dedup of a copy shifted by one block (whole-block dedup).
// Usage: block_size_bench [MiB of data, default 128] [work dir, default /var/tmp]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "scratch_filesystem.h"

using namespace hoardfs;

namespace {

std::string make_data(size_t bytes, uint64_t seed) {
  // Half text-like (compressible), half random, in 64 KiB runs.
  std::mt19937_64 rng(seed);
  std::string data(bytes, '\0');
  const char* words[] = {"backup ", "rsync ", "block ", "object ", "storage ", "metadata ", "hoardfs "};
  for (size_t pos = 0; pos < bytes;) {
    size_t run = std::min<size_t>(65536, bytes - pos);
    if ((pos / 65536) % 2 == 0) {
      for (size_t i = 0; i < run;) {
        const char* w = words[rng() % 7];
        for (; *w && i < run; ++w, ++i) data[pos + i] = *w;
      }
    } else {
      for (size_t i = 0; i < run; ++i) data[pos + i] = static_cast<char>(rng());
    }
    pos += run;
  }
  return data;
}

uint64_t dir_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::stoul(argv[1]) : 128;
  const std::filesystem::path work = std::filesystem::path(argc > 2 ? argv[2] : "/var/tmp") / "hoardfs-bs-bench";
  const std::string data = make_data(mib << 20, 42);
  std::printf("%zu MiB data set; zstd-%d; local backend in %s\n", mib, kDefaultZstdLevel, work.c_str());
  std::printf("%-10s %12s %10s %16s %16s\n", "block", "write MB/s", "objects", "edit re-upload", "shifted dedup");
  for (uint32_t block : {64u << 10, 256u << 10, 1u << 20, 4u << 20}) {
    MountOptions options;
    options.metadata_interval_s = 0;
    options.writeback_delay_s = 0;
    bench::ScratchFilesystem scratch = bench::open_scratch_filesystem(work, block, options);
    Filesystem* fs = scratch.fs.get();
    Caller caller;
    struct stat st {};
    uint64_t fh = 0;
    fs->create(kRootInode, "data", 0644, 0, caller, &st, &fh);
    const uint64_t ino = st.st_ino;
    auto start = std::chrono::steady_clock::now();
    size_t written = 0;
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      fs->write(ino, fh, off, std::string_view(data).substr(off, 1 << 20), &written);
    }
    fs->flush_cache();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const uint64_t objects = fs->stats().blocks;
    const uint64_t stored_before = dir_bytes(work / "store" / "data");
    // 64 scattered 100-byte edits.
    std::mt19937_64 rng(7);
    for (int i = 0; i < 64; ++i) {
      std::string edit(100, static_cast<char>('a' + i % 26));
      fs->write(ino, fh, rng() % (data.size() - 100), edit, &written);
    }
    fs->flush_cache();
    // Replaced objects are deleted only at the next metadata upload, so the
    // growth of the store is exactly what the edits uploaded.
    const uint64_t reuploaded = dir_bytes(work / "store" / "data") - stored_before;
    fs->upload_metadata();
    // A second file: the same data shifted by one block.
    uint64_t fh2 = 0;
    fs->create(kRootInode, "shifted", 0644, 0, caller, &st, &fh2);
    std::string shifted = std::string(block, 'x') + data;
    for (size_t off = 0; off < shifted.size(); off += 1 << 20) {
      fs->write(st.st_ino, fh2, off, std::string_view(shifted).substr(off, 1 << 20), &written);
    }
    fs->flush_cache();
    FsStats s = fs->stats();
    double dedup_saved = 1.0 - static_cast<double>(s.dedup_bytes) / static_cast<double>(s.data_bytes);
    std::printf("%-10s %12.1f %10llu %13.1f MB %15.0f%%\n",
                (std::to_string(block >> 10) + " KiB").c_str(), static_cast<double>(data.size()) / 1e6 / seconds,
                static_cast<unsigned long long>(objects), static_cast<double>(reuploaded) / 1e6,
                dedup_saved * 100);
    fs->release(ino, fh);
    fs->release(st.st_ino, fh2);
    fs->shutdown();
  }
  std::filesystem::remove_all(work);
  return 0;
}
