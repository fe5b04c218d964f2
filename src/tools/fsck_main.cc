// fsck.hoardfs: checks and repairs a filesystem that is not mounted.
//
// Flow: open the backend, unlock the superblock → take the lock in the
// backend (breaking a stale one: a dead process on this host, or any with
// --break-lock) → open the filesystem with this host's cache folder for the
// URL (crash recovery uploads what the cache holds) → Filesystem::check() →
// upload the repaired metadata and release the lock. Every repair is printed.
// Exit: 0 clean, 16 repaired, 19 problems left, 14 locked by a live mount.
#include <sodium.h>

#include <fmt/core.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "hoardfs/filesystem.h"
#include "hoardfs/log.h"
#include "tools/allocator.h"
#include "tools/progress.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kTool = "fsck.hoardfs";

struct FsckRequest {
  StorageRequest storage;
  std::string cachedir;
  bool break_lock = false;
  bool quiet = false;
  bool debug = false;
};

int run(const FsckRequest& request) {
  ToolError error;
  UnmountedFilesystem target;
  if (!prepare_unmounted(request.storage, request.cachedir, &target, &error)) return report_error(kTool, error);
  const StorageAccess& access = target.access;
  MountOptions& options = target.options;
  options.writeback_delay_s = 0;
  options.stale_lock = request.break_lock ? StaleLockPolicy::kBreakAlways : StaleLockPolicy::kBreakIfDead;

  // Phases on a terminal (nothing in scripts or with --quiet).
  ProgressLine progress(!request.quiet);
  progress.update("fsck.hoardfs: taking the lock, reading the metadata, recovering the cache...");
  auto fs = Filesystem::open(*target.backend, target.unlocked.keys, target.unlocked.params.block_size, options);
  if (progress.active()) progress.finish();
  if (!fs.is_ok()) {
    const Status& status = fs.status();
    if (status.code() == Status::Code::kAlreadyExists) {
      return report_error(kTool, exit_code::kMountedElsewhere,
                          fmt::format("{} is mounted elsewhere: {}", access.url, status.to_string()));
    }
    if (status.code() == Status::Code::kCorruption) {
      return report_error(kTool, exit_code::kUnrepairable,
                          fmt::format("{}: {} (restore an earlier metadata version with hoardfs adm "
                                      "restore-metadata)",
                                      access.url, status.to_string()));
    }
    return report_error(kTool, tool_error(status.with_context("opening " + access.url)));
  }

  CheckReport report;
  ProgressLine checking(!request.quiet);
  checking.update("fsck.hoardfs: uploading the cache, checking the metadata and the data objects...");
  Status checked = (*fs)->check(&report);
  if (checking.active()) checking.finish();
  for (const auto& line : report.repaired) fmt::print("{}: repaired: {}\n", kTool, line);
  for (const auto& line : report.unrepairable) fmt::print("{}: NOT repaired: {}\n", kTool, line);
  std::fflush(stdout);
  ProgressLine closing(!request.quiet);
  closing.update("fsck.hoardfs: uploading the checked metadata...");
  Status closed = (*fs)->shutdown();
  if (closing.active()) closing.finish();
  fs->reset();
  if (!checked.is_ok()) return report_error(kTool, tool_error(checked.with_context("checking " + access.url)));
  if (!closed.is_ok()) {
    return report_error(kTool, tool_error(closed.with_context("uploading the checked metadata of " + access.url)));
  }
  if (!report.unrepairable.empty()) {
    return report_error(kTool, exit_code::kUnrepairable,
                        fmt::format("{}: {} problem(s) could not be repaired", access.url,
                                    report.unrepairable.size()));
  }
  if (!request.quiet) {
    if (report.repaired.empty()) {
      fmt::print("{}: {} is clean\n", kTool, access.url);
    } else {
      fmt::print("{}: {}: {} repair(s) made; the repaired metadata is uploaded\n", kTool, access.url,
                 report.repaired.size());
    }
  }
  return report.repaired.empty() ? exit_code::kOk : exit_code::kRepaired;
}

}  // namespace
}  // namespace hoardfs::tools

int main(int argc, char** argv) {
  using namespace hoardfs::tools;
  CLI::App app;
  configure_app(app, kTool, "8");
  FsckRequest request;
  app.description(
      "Check and repair the hoardfs filesystem at URL (not mounted). Uploads what this host's cache holds, "
      "checks the metadata and the data objects, repairs, and uploads the result.");
  app.add_option("URL", request.storage.url, "Storage URL (local:///path, s3://, s3c://, swift://, swiftks://)")
      ->required();
  app.add_option("--cachedir", request.cachedir, "Cache root directory [default: ~/.cache/hoardfs]");
  app.add_option("--backend-options", request.storage.backend_options, "Backend options k=v,flag,...");
  app.add_option("--authfile", request.storage.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  app.add_flag("--break-lock", request.break_lock,
               "Break the lock of a mount on another host (only when that mount is gone for good)");
  app.add_flag("--quiet", request.quiet, "Print only repairs and errors");
  app.add_flag("--debug", request.debug, "Log debug messages");
  if (int done = parse_command_line(app, argc, argv); done >= 0) return done;
  if (sodium_init() < 0) return report_error(kTool, hoardfs::exit_code::kError, "cannot initialize libsodium");
  // Warnings (a broken lock, recovery after a crash) are part of the report.
  hoardfs::log::set_level(request.debug ? hoardfs::log::Level::kDebug : hoardfs::log::Level::kWarning);
  keep_block_buffers_in_heap();  // it uploads and checks blocks like a mount (only slower if refused)
  return run(request);
}
