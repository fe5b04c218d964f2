// hoardfs ctrl flushcache|upload-meta|compact|cachesize SIZE|log LEVEL MOUNTPOINT:
// commands to a running mount through its user.hoardfs.ctrl attribute
// (only the user who mounted it, or root, may send them).
#include <fmt/core.h>

#include <memory>
#include <string>

#include "hoardfs/log.h"
#include "tools/commands.h"
#include "tools/control.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kName = "hoardfs ctrl";

struct CtrlRequest {
  std::string argument;  // SIZE or LEVEL
  std::string mountpoint;
  bool quiet = false;
};

int send(const std::string& mountpoint, const std::string& command, bool show_progress) {
  ToolError error;
  if (!run_control_command(mountpoint, command, show_progress, &error)) return report_error(kName, error);
  return exit_code::kOk;
}

// Compaction, then what it changed in the stored bytes (from the mount's
// statistics before and after).
int run_compact(const CtrlRequest& request) {
  ToolError error;
  FsStats before, after;
  if (!read_stats(request.mountpoint, &before, &error)) return report_error(kName, error);
  if (!run_control_command(request.mountpoint, "compact", false, &error)) return report_error(kName, error);
  if (!read_stats(request.mountpoint, &after, &error)) return report_error(kName, error);
  if (!request.quiet) {
    fmt::print("Stored data: {} before, {} after compaction\n", format_size(before.compressed_bytes),
               format_size(after.compressed_bytes));
  }
  return exit_code::kOk;
}

int run_cachesize(const CtrlRequest& request) {
  auto bytes = parse_size(request.argument);
  if (!bytes.is_ok()) return report_error(kName, exit_code::kUsage, bytes.status().to_string());
  if (*bytes < (64ull << 20)) {
    return report_error(kName, exit_code::kUsage,
                        fmt::format("cache size {} is too small (at least 64 MiB, as mount.hoardfs --cachesize)",
                                    request.argument));
  }
  return send(request.mountpoint, fmt::format("cachesize {}", *bytes), false);
}

int run_log(const CtrlRequest& request) {
  log::Level level;
  if (!log::parse_level(request.argument, &level)) {
    return report_error(kName, exit_code::kUsage,
                        fmt::format("unknown log level '{}' (debug, info, warning, error)", request.argument));
  }
  return send(request.mountpoint, "log " + request.argument, false);
}

}  // namespace

void add_ctrl_command(CLI::App& root, CommandRunner* selected) {
  auto request = std::make_shared<CtrlRequest>();
  CLI::App* ctrl = root.add_subcommand("ctrl", "Control a running mount");
  ctrl->require_subcommand(1);

  CLI::App* flush = ctrl->add_subcommand("flushcache", "Upload all dirty cache blocks now (progress on a terminal)");
  flush->add_option("MOUNTPOINT", request->mountpoint, "Mount point")->required();
  flush->add_flag("--quiet", request->quiet, "No progress output");
  flush->callback([request, selected] {
    *selected = [request] { return send(request->mountpoint, "flushcache", !request->quiet); };
  });

  CLI::App* upload = ctrl->add_subcommand("upload-meta", "Upload the metadata now");
  upload->add_option("MOUNTPOINT", request->mountpoint, "Mount point")->required();
  upload->callback([request, selected] {
    *selected = [request] { return send(request->mountpoint, "upload-meta", false); };
  });

  CLI::App* compact = ctrl->add_subcommand(
      "compact", "Rewrite the packs of small blocks that are at least half unused, to free their space");
  compact->add_option("MOUNTPOINT", request->mountpoint, "Mount point")->required();
  compact->add_flag("--quiet", request->quiet, "Print nothing");
  compact->callback([request, selected] { *selected = [request] { return run_compact(*request); }; });

  CLI::App* cachesize = ctrl->add_subcommand("cachesize", "Change the cache size limit (e.g. 10G)");
  cachesize->add_option("SIZE", request->argument, "New limit")->required();
  cachesize->add_option("MOUNTPOINT", request->mountpoint, "Mount point")->required();
  cachesize->callback([request, selected] { *selected = [request] { return run_cachesize(*request); }; });

  CLI::App* log_level = ctrl->add_subcommand("log", "Change the daemon's log level");
  log_level->add_option("LEVEL", request->argument, "debug, info, warning or error")->required();
  log_level->add_option("MOUNTPOINT", request->mountpoint, "Mount point")->required();
  log_level->callback([request, selected] { *selected = [request] { return run_log(*request); }; });
}

}  // namespace hoardfs::tools
