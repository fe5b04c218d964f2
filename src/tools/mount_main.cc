// mount.hoardfs: mounts a hoardfs filesystem.
//
// Flow: parse options → check the mount point → open the backend, read the
// superblock, unlock it (so that every user error is reported here, directly)
// → fork (unless --fg) → in the serving process: reopen the backend, open the
// filesystem, mount and serve until unmounted → final upload → exit.
// The parent exits 0 only once the mount is live.
#include <sodium.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuse/fuse_adapter.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/log.h"
#include "tools/allocator.h"
#include "tools/daemon.h"
#include "tools/mount_options.h"
#include "tools/mountpoint.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kTool = "mount.hoardfs";

// What the serving process needs, all checked before forking.
struct MountPlan {
  StorageAccess access;
  ResolvedMount resolved;
  std::string mountpoint;  // absolute
  uint32_t block_size = 0;
  KeyMaterial keys;
};

void add_options(CLI::App& app, MountRequest& request, std::vector<std::string>& option_lists) {
  app.description("Mount the hoardfs filesystem at URL on MOUNTPOINT.");
  app.add_option("URL", request.storage_url, "Storage URL (local:///path, s3://, s3c://, swift://, swiftks://)")
      ->required();
  app.add_option("MOUNTPOINT", request.mountpoint, "Directory to mount on")->required();
  app.add_flag("--fg", request.foreground, "Stay in the foreground (log to stderr)");
  app.add_option("--cachedir", request.cachedir, "Cache root directory [default: ~/.cache/hoardfs]");
  app.add_option("--cachesize", request.cachesize, "Local cache size limit, e.g. 512M, 20G")
      ->capture_default_str();
  app.add_option("--sequential-cutoff", request.sequential_cutoff,
                 "A sequential read this long streams: what it fetches next is not cached (0: cache all)")
      ->capture_default_str();
  app.add_option("--compress", request.compress, "Compression of new data: zstd-N (1..22) or none")
      ->capture_default_str();
  app.add_option("--threads", request.threads, "Parallel uploads")->capture_default_str();
  app.add_option("--metadata-upload-interval", request.metadata_upload_interval_s,
                 "Seconds between metadata uploads while mounted (0: only at unmount)")
      ->capture_default_str();
  app.add_option("--metadata-versions", request.metadata_versions,
                 "Metadata versions kept in the backend")
      ->capture_default_str();
  app.add_option("--fsync", request.fsync,
                 "What fsync() waits for: local (data and metadata durable in the cache) or upload (also in "
                 "the backend)")
      ->capture_default_str();
  app.add_option("--backend-options", request.backend_options, "Backend options k=v,flag,...");
  app.add_option("--authfile", request.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  app.add_flag("--allow-other", request.allow_other, "Let other users access the mount");
  app.add_flag("--allow-root", request.allow_root, "Let root access the mount");
  app.add_flag("--acl", request.acl, "POSIX ACLs: keep and enforce system.posix_acl_access/default");
  app.add_flag("--debug", request.debug, "Log debug messages, including every FUSE request");
  app.add_flag("--quiet", request.quiet, "Log only warnings and errors");
  app.add_option("-o", option_lists,
                 "Mount options as mount(8) passes them: rw,noatime,allow_other,cachedir=D,...")
      ->allow_extra_args(false);
  // Flags mount(8) may hand to a helper: accepted and ignored.
  static int ignored_flags = 0;
  static std::string ignored_type;
  app.add_flag("-n,-s,-v", ignored_flags, "Ignored (mount(8) helper flags)")->group("");
  app.add_option("-t", ignored_type, "Ignored (mount(8) type)")->group("");
}

bool plan_mount(const MountRequest& request, MountPlan* plan, ToolError* error) {
  auto resolved = resolve_mount_request(request);
  if (!resolved.is_ok()) {
    *error = {exit_code::kUsage, resolved.status().to_string()};
    return false;
  }
  plan->resolved = std::move(resolved.value());
  if (!check_mountpoint(request.mountpoint, &plan->mountpoint, error)) return false;

  StorageRequest storage{request.storage_url, request.backend_options, request.authfile};
  std::unique_ptr<Backend> backend;
  UnlockedFilesystem unlocked;
  if (!open_and_unlock(storage, &plan->access, &backend, &unlocked, error)) return false;
  plan->block_size = unlocked.params.block_size;
  plan->keys = unlocked.keys;

  auto cache_dir = make_cache_folder(plan->resolved.cache_root, request.storage_url);
  if (!cache_dir.is_ok()) {
    *error = {exit_code::kError, cache_dir.status().to_string()};
    return false;
  }
  plan->resolved.mount.cache_dir = cache_dir.value();
  return true;
}

// Exit codes for Filesystem::open() failures: a lock held by another mount
// (already_exists) and damaged metadata (corruption) have their own.
ToolError open_error(const Status& status, const std::string& url) {
  if (status.code() == Status::Code::kAlreadyExists) {
    return {exit_code::kMountedElsewhere, fmt::format("{} is mounted elsewhere: {}", url, status.to_string())};
  }
  if (status.code() == Status::Code::kCorruption) {
    return {exit_code::kNeedsFsck,
            fmt::format("{} needs checking (run fsck.hoardfs): {}", url, status.to_string())};
  }
  return tool_error(status.with_context("opening " + url));
}

// Runs in the process that serves the mount (the daemon, or this one with --fg).
int serve(const MountPlan& plan, const StartupReport& report) {
  std::unique_ptr<Backend> backend;
  ToolError error;
  if (!open_storage(plan.access, &backend, &error)) {
    report(&error);
    return error.exit_code;
  }
  auto fs = Filesystem::open(*backend, plan.keys, plan.block_size, plan.resolved.mount);
  if (!fs.is_ok()) {
    error = open_error(fs.status(), plan.access.url);
    report(&error);
    return error.exit_code;
  }
  Status served = run_fuse_session(**fs, plan.mountpoint, plan.resolved.fuse, [&](const Status& mounted) {
    if (mounted.is_ok()) {
      report(nullptr);
    } else {
      ToolError failure{exit_code::kMountpoint, mounted.to_string()};
      report(&failure);
    }
  });
  fs->reset();
  return served.is_ok() ? exit_code::kOk : exit_code::kError;
}

}  // namespace
}  // namespace hoardfs::tools

int main(int argc, char** argv) {
  using namespace hoardfs::tools;
  namespace exit_code = hoardfs::exit_code;

  CLI::App app;
  configure_app(app, kTool, "8");
  MountRequest request;
  std::vector<std::string> option_lists;
  add_options(app, request, option_lists);
  if (int done = parse_command_line(app, argc, argv); done >= 0) return done;
  if (sodium_init() < 0) return report_error(kTool, exit_code::kError, "cannot initialize libsodium");
  for (const std::string& list : option_lists) {
    if (hoardfs::Status applied = apply_mount_option_list(list, &request); !applied.is_ok()) {
      return report_error(kTool, exit_code::kUsage, applied.to_string());
    }
  }

  hoardfs::log::set_level(request.debug   ? hoardfs::log::Level::kDebug
                          : request.quiet ? hoardfs::log::Level::kWarning
                                          : hoardfs::log::Level::kInfo);

  MountPlan plan;
  ToolError error;
  if (!plan_mount(request, &plan, &error)) return report_error(kTool, error);
  if (!keep_block_buffers_in_heap()) hoardfs::log::warning("the allocator refused its settings: block buffers cost page faults");

  if (request.foreground) {
    return serve(plan, [&](const ToolError* failure) {
      if (failure != nullptr) {
        report_error(kTool, *failure);
      } else {
        notify_systemd_ready();  // only when started by systemd (NOTIFY_SOCKET)
      }
    });
  }
  std::optional<ToolError> failure = run_as_daemon([&](const StartupReport& report) { return serve(plan, report); });
  if (failure) return report_error(kTool, *failure);
  return exit_code::kOk;
}
