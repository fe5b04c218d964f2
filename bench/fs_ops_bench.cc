// Metadata operations per second through the filesystem library, without
// FUSE: what one request costs the daemon itself (SQLite and locking), to
// compare with the time the same operation takes through a mount.
// Usage: fs_ops_bench [files, default 20000] [work dir, default /var/tmp]
// Prints one line per operation: operations per second and µs each.
#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "scratch_filesystem.h"

using namespace hoardfs;

namespace {

void report(const char* name, size_t count, std::chrono::steady_clock::time_point start) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-28s %10.0f ops/s %8.1f us/op\n", name, static_cast<double>(count) / seconds,
              seconds * 1e6 / static_cast<double>(count));
}

void measure(const char* name, size_t count, const std::function<void(size_t)>& op) {
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < count; ++i) op(i);
  report(name, count, start);
}

void check(int err, const char* what) {
  if (err != 0) {
    std::fprintf(stderr, "%s failed: errno %d\n", what, err);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t files = argc > 1 ? std::stoul(argv[1]) : 20000;
  const std::filesystem::path work = std::filesystem::path(argc > 2 ? argv[2] : "/var/tmp") / "hoardfs-ops-bench";
  MountOptions options;
  options.metadata_interval_s = 0;
  bench::ScratchFilesystem scratch = bench::open_scratch_filesystem(work, 1 << 20, options);
  Filesystem& fs = *scratch.fs;
  Caller caller;
  struct stat st {};
  uint64_t dir = 0, copy_dir = 0;
  check(fs.mkdir(kRootInode, "d", 0755, caller, &st), "mkdir");
  dir = st.st_ino;
  check(fs.mkdir(kRootInode, "links", 0755, caller, &st), "mkdir");
  copy_dir = st.st_ino;
  std::vector<uint64_t> inodes(files);
  auto name = [](size_t i) { return "f" + std::to_string(i); };
  std::printf("%zu files; local backend in %s\n", files, work.c_str());
  measure("create+release", files, [&](size_t i) {
    uint64_t fh = 0;
    check(fs.create(dir, name(i), 0644, 0, caller, &st, &fh), "create");
    inodes[i] = st.st_ino;
    fs.release(st.st_ino, fh);
  });
  measure("write 4 KiB (new file)", files, [&](size_t i) {
    uint64_t fh = 0;
    size_t written = 0;
    check(fs.open(inodes[i], O_WRONLY, &fh), "open");
    std::string data(4096, static_cast<char>(i));
    check(fs.write(inodes[i], fh, 0, data, &written), "write");
    fs.release(inodes[i], fh);
  });
  {
    // The uploads of those writes would compete with what follows.
    auto start = std::chrono::steady_clock::now();
    fs.flush_cache();
    report("upload of those blocks", files, start);
  }
  measure("setattr (mtime)", files, [&](size_t i) {
    AttrChanges changes;
    changes.mtime = true;
    changes.values.st_mtim.tv_sec = 1000000 + static_cast<time_t>(i);
    check(fs.setattr(inodes[i], changes, caller, &st), "setattr");
  });
  measure("lookup (hit)", files, [&](size_t i) { check(fs.lookup(dir, name(i), &st), "lookup"); });
  measure("lookup (miss)", files, [&](size_t i) {
    if (fs.lookup(copy_dir, name(i), &st) != ENOENT) std::exit(1);
  });
  measure("getattr", files, [&](size_t i) { check(fs.getattr(inodes[i], &st), "getattr"); });
  {
    // As the kernel asks: through an open handle, a buffer's worth of
    // entries a request (about 250 of these), each from the last one's offset.
    constexpr size_t kPerRequest = 250;
    size_t listed = 0;
    auto start = std::chrono::steady_clock::now();
    uint64_t handle = 0;
    check(fs.opendir(dir, &handle), "opendir");
    for (uint64_t offset = 0;;) {
      size_t in_request = 0;
      check(fs.readdirplus(dir, handle, offset, [&](std::string_view, const struct stat&, uint64_t next) {
        if (in_request == kPerRequest) return false;
        ++in_request;
        offset = next;
        return true;
      }), "readdirplus");
      listed += in_request;
      if (in_request < kPerRequest) break;
    }
    fs.releasedir(dir, handle);
    report("readdirplus (per entry)", listed, start);
  }
  measure("link", files, [&](size_t i) { check(fs.link(inodes[i], copy_dir, name(i), &st), "link"); });
  measure("unlink", files, [&](size_t i) { check(fs.unlink(copy_dir, name(i)), "unlink"); });
  fs.flush_cache();
  fs.shutdown();
  std::filesystem::remove_all(work);
  return 0;
}
