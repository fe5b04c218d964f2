#include "tools/mount_options.h"

#include <fmt/core.h>

#include <charconv>

#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

Status parse_unsigned(const std::string& name, const std::string& value, unsigned* out) {
  unsigned parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return Status::invalid_argument(fmt::format("mount option {} needs a number, not '{}'", name, value));
  }
  *out = parsed;
  return Status::ok();
}

// Generic mount flags that libfuse hands to the kernel.
bool is_pass_through_mount_flag(const std::string& option) {
  static const char* const kFlags[] = {
      "rw",       "ro",         "suid",       "nosuid",      "dev",      "nodev",
      "exec",     "noexec",     "async",      "sync",        "dirsync",  "atime",
      "noatime",  "diratime",   "nodiratime", "relatime",    "norelatime", "strictatime",
      "nostrictatime", "lazytime", "nolazytime",
  };
  for (const char* flag : kFlags) {
    if (option == flag) return true;
  }
  return false;
}

bool is_ignored_option(const std::string& option) {
  static const char* const kIgnored[] = {"defaults", "auto", "noauto", "user",   "nouser", "users",
                                         "owner",    "group", "netdev", "nofail", "loud",   "silent"};
  for (const char* ignored : kIgnored) {
    if (option == ignored) return true;
  }
  return starts_with(option, "_") || starts_with(option, "x-") || starts_with(option, "comment=");
}

Status apply_one(const std::string& option, MountRequest* request) {
  size_t eq = option.find('=');
  std::string name = option.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : option.substr(eq + 1);
  bool has_value = eq != std::string::npos;

  if (!has_value) {
    if (name == "fg" || name == "foreground") return request->foreground = true, Status::ok();
    if (name == "debug") return request->debug = true, Status::ok();
    if (name == "quiet") return request->quiet = true, Status::ok();
    if (name == "allow_other") return request->allow_other = true, Status::ok();
    if (name == "allow_root") return request->allow_root = true, Status::ok();
    if (name == "io_uring") return request->io_uring = true, Status::ok();
    if (name == "acl" || name == "noacl") return request->acl = name == "acl", Status::ok();
    if (name == "direct_writes" || name == "nodirect_writes") {
      return request->direct_writes = name == "direct_writes", Status::ok();
    }
    if (is_pass_through_mount_flag(name)) {
      request->mount_flags.push_back(name);
      return Status::ok();
    }
  } else {
    if (value.empty()) return Status::invalid_argument(fmt::format("mount option {} needs a value", name));
    if (name == "cachedir") return request->cachedir = value, Status::ok();
    if (name == "cachesize") return request->cachesize = value, Status::ok();
    if (name == "sequential-cutoff") return request->sequential_cutoff = value, Status::ok();
    if (name == "compress") return request->compress = value, Status::ok();
    if (name == "authfile") return request->authfile = value, Status::ok();
    if (name == "fsync") return request->fsync = value, Status::ok();
    if (name == "threads") return parse_unsigned(name, value, &request->threads);
    if (name == "spin") {
      unsigned us = 0;
      HOARDFS_RETURN_IF_ERROR(parse_unsigned(name, value, &us));
      request->spin_us = us;
      return Status::ok();
    }
    if (name == "metadata-upload-interval") {
      return parse_unsigned(name, value, &request->metadata_upload_interval_s);
    }
    if (name == "metadata-versions") return parse_unsigned(name, value, &request->metadata_versions);
    if (name == "backend-options") {
      std::string items = value;
      for (char& c : items) {
        if (c == ':') c = ',';
      }
      if (!request->backend_options.empty()) request->backend_options += ",";
      request->backend_options += items;
      return Status::ok();
    }
  }
  if (is_ignored_option(option)) {
    request->ignored_options.push_back(option);
    return Status::ok();
  }
  return Status::invalid_argument(fmt::format("unknown mount option '{}'", option));
}

}  // namespace

Status apply_mount_option_list(const std::string& list, MountRequest* request) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string option = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!option.empty()) HOARDFS_RETURN_IF_ERROR(apply_one(option, request));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return Status::ok();
}

Result<ResolvedMount> resolve_mount_request(const MountRequest& request) {
  ResolvedMount resolved;
  if (request.storage_url.empty()) return Status::invalid_argument("no storage URL given");
  if (request.mountpoint.empty()) return Status::invalid_argument("no mount point given");
  if (request.debug && request.quiet) return Status::invalid_argument("--debug and --quiet exclude each other");

  auto cache_bytes = parse_size(request.cachesize);
  if (!cache_bytes.is_ok()) return cache_bytes.status().with_context("--cachesize");
  if (*cache_bytes < (64u << 20)) {
    return Status::invalid_argument(
        fmt::format("--cachesize {} is too small (at least 64 MiB)", request.cachesize));
  }
  auto cutoff = parse_size(request.sequential_cutoff);
  if (!cutoff.is_ok()) return cutoff.status().with_context("--sequential-cutoff");
  auto level = parse_compression(request.compress);
  if (!level.is_ok()) return level.status();
  if (request.threads < 1 || request.threads > 128) {
    return Status::invalid_argument(fmt::format("--threads {} is out of range (1..128)", request.threads));
  }
  if (request.metadata_versions < 1) {
    return Status::invalid_argument("--metadata-versions must keep at least 1 version");
  }

  if (request.fsync != "local" && request.fsync != "upload") {
    return Status::invalid_argument(fmt::format("--fsync {}: expected local or upload", request.fsync));
  }
  resolved.mount.fsync_upload = request.fsync == "upload";

  resolved.cache_root = request.cachedir.empty() ? default_cache_root() : request.cachedir;
  resolved.mount.storage_url = request.storage_url;
  resolved.mount.cache_bytes = *cache_bytes;
  resolved.mount.sequential_cutoff_bytes = *cutoff;
  resolved.mount.zstd_level = *level;
  resolved.mount.upload_threads = request.threads;
  resolved.mount.metadata_interval_s = request.metadata_upload_interval_s;
  resolved.mount.keep_metadata_versions = request.metadata_versions;
  resolved.mount.posix_acl = request.acl;

  resolved.fuse.fsname = request.storage_url;
  resolved.fuse.allow_other = request.allow_other;
  resolved.fuse.allow_root = request.allow_root;
  resolved.fuse.debug = request.debug;
  resolved.fuse.io_uring = request.io_uring;
  resolved.fuse.spin_us = request.spin_us;
  resolved.fuse.posix_acl = request.acl;
  resolved.fuse.direct_writes = request.direct_writes;
  resolved.fuse.mount_flags = request.mount_flags;
  return resolved;
}

}  // namespace hoardfs::tools
