// make_inodes: fills an unmounted hoardfs filesystem with many empty files,
// for the million-inodes workload of bench/run_bench.py, without FUSE.
//
//   make_inodes [--cachedir DIR] [--per-dir N] [--quiet] URL INODES
//
// Opens the filesystem the way mount.hoardfs and fsck.hoardfs do
// (open_and_unlock(): authinfo or one line of stdin for the passphrase; the
// lock in the backend; the cache folder for URL under --cachedir), then
// creates the tree through the Filesystem API — mkdir(), create() + release()
// — and shutdown() uploads the metadata as a new version and releases the
// lock. The cache folder stays warm: a mount with the same --cachedir uses it.
//
// The tree holds INODES inodes in all (the root included): D directories
// /dNNNNN under the root, each with up to --per-dir empty files fNNNNNNN
// (mode 0644, owned by the caller), numbered across the whole tree:
//   D = ceil((INODES - 1) / (per_dir + 1)),  files = INODES - 1 - D,
//   file i is /d{i / per_dir:05}/f{i:07}.
// One line of JSON on stdout: {"inodes", "dirs", "files", "per_dir",
// "create_seconds", "shutdown_seconds"}.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "hoardfs/filesystem.h"
#include "hoardfs/log.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace {

using namespace hoardfs;
using namespace hoardfs::tools;

const char* const kTool = "make_inodes";

struct Request {
  StorageRequest storage;
  std::string cachedir;
  uint64_t inodes = 0;
  uint64_t per_dir = 1000;
  bool quiet = false;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(const Request& request) {
  if (request.inodes < 2 || request.per_dir == 0) {
    return report_error(kTool, exit_code::kUsage, "INODES must be at least 2 and --per-dir at least 1");
  }
  const uint64_t dirs = (request.inodes - 1 + request.per_dir) / (request.per_dir + 1);
  const uint64_t files = request.inodes - 1 - dirs;

  ToolError error;
  UnmountedFilesystem target;
  if (!prepare_unmounted(request.storage, request.cachedir, &target, &error)) return report_error(kTool, error);
  const StorageAccess& access = target.access;
  auto opened = Filesystem::open(*target.backend, target.unlocked.keys, target.unlocked.params.block_size,
                                 target.options);
  if (!opened.is_ok()) {
    return report_error(kTool, tool_error(opened.status().with_context("opening " + access.url)));
  }
  Filesystem& fs = **opened;

  Caller caller;
  caller.uid = ::getuid();
  caller.gid = ::getgid();
  caller.umask = 022;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  int err = 0;
  uint64_t made = 0;
  for (uint64_t d = 0; d < dirs && err == 0; ++d) {
    struct stat st {};
    err = fs.mkdir(kRootInode, fmt::format("d{:05}", d), 0755, caller, &st);
    if (err != 0) {
      error = {exit_code::kError, fmt::format("mkdir /d{:05}: {}", d, std::strerror(err))};
      break;
    }
    const uint64_t dir = st.st_ino;
    fs.forget(dir, 1);  // the kernel would: keeps the lookup table small
    for (uint64_t i = d * request.per_dir; i < std::min(files, (d + 1) * request.per_dir); ++i) {
      uint64_t fh = 0;
      err = fs.create(dir, fmt::format("f{:07}", i), S_IFREG | 0644, O_WRONLY | O_CREAT, caller, &st, &fh);
      if (err == 0) err = fs.release(st.st_ino, fh);
      if (err != 0) {
        error = {exit_code::kError, fmt::format("create /d{:05}/f{:07}: {}", d, i, std::strerror(err))};
        break;
      }
      fs.forget(st.st_ino, 1);
      ++made;
    }
    if (!request.quiet && seconds_since(last_report) > 5) {
      last_report = std::chrono::steady_clock::now();
      std::fprintf(stderr, "%s: %llu of %llu files, %.0f/s\n", kTool, static_cast<unsigned long long>(made),
                   static_cast<unsigned long long>(files), static_cast<double>(made) / seconds_since(start));
    }
  }
  const double create_seconds = seconds_since(start);
  const auto closing = std::chrono::steady_clock::now();
  Status closed = fs.shutdown();
  const double shutdown_seconds = seconds_since(closing);
  opened->reset();
  if (err != 0) return report_error(kTool, error);
  if (!closed.is_ok()) {
    return report_error(kTool, tool_error(closed.with_context("uploading the metadata of " + access.url)));
  }
  fmt::print("{{\"inodes\": {}, \"dirs\": {}, \"files\": {}, \"per_dir\": {}, \"create_seconds\": {:.3f}, "
             "\"shutdown_seconds\": {:.3f}}}\n",
             request.inodes, dirs, files, request.per_dir, create_seconds, shutdown_seconds);
  return exit_code::kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fill the unmounted hoardfs filesystem at URL with INODES inodes (directories of empty files), "
               "through the Filesystem API without FUSE; uploads the metadata at the end."};
  Request request;
  app.add_option("URL", request.storage.url, "Storage URL")->required();
  app.add_option("INODES", request.inodes, "Inodes in the filesystem afterwards, the root included")->required();
  app.add_option("--cachedir", request.cachedir, "Cache root directory [default: ~/.cache/hoardfs]");
  app.add_option("--per-dir", request.per_dir, "Files per directory")->capture_default_str();
  app.add_option("--backend-options", request.storage.backend_options, "Backend options k=v,flag,...");
  app.add_option("--authfile", request.storage.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  app.add_flag("--quiet", request.quiet, "No progress lines on stderr");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return report_error(kTool, exit_code::kError, "cannot initialize libsodium");
  log::set_level(log::Level::kWarning);
  return run(request);
}
