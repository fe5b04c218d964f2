// hoardfs stat [--json] MOUNTPOINT: what is stored and what dedup and
// compression saved, from the mount's user.hoardfs.stat attribute.
#include <fmt/core.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include <memory>
#include <string>

#include "tools/commands.h"
#include "tools/control.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

struct StatRequest {
  std::string mountpoint;
  bool json = false;
};

// "41.0% saved" going from `before` to `after` bytes, or "0.3% larger" when
// a step added bytes (incompressible data plus the object headers).
std::string change_text(uint64_t before, uint64_t after) {
  if (before == 0) return "0.0% saved";
  double ratio = static_cast<double>(after) / static_cast<double>(before);
  if (after <= before) return fmt::format("{:.1f}% saved", 100.0 * (1.0 - ratio));
  return fmt::format("{:.1f}% larger", 100.0 * (ratio - 1.0));
}

void print_human(const FsStats& s) {
  fmt::print("Directory entries:    {}\n", s.entries);
  fmt::print("Inodes:               {}\n", s.inodes);
  fmt::print("Data blocks:          {}\n", s.blocks);
  fmt::print("Total data size:      {}\n", format_size(s.data_bytes));
  fmt::print("After deduplication:  {} ({})\n", format_size(s.dedup_bytes),
             change_text(s.data_bytes, s.dedup_bytes));
  fmt::print("After compression:    {} ({} by compression, {} in total)\n",
             format_size(s.compressed_bytes), change_text(s.dedup_bytes, s.compressed_bytes),
             change_text(s.data_bytes, s.compressed_bytes));
  fmt::print("Metadata size:        {}\n", format_size(s.metadata_bytes));
  if (s.cache_limit_bytes > 0) {
    fmt::print("Cache:                {} of {}\n", format_size(s.cache_bytes), format_size(s.cache_limit_bytes));
  } else {
    fmt::print("Cache:                {}\n", format_size(s.cache_bytes));
  }
  fmt::print("Not yet uploaded:     {}\n", format_size(s.dirty_bytes));
  fmt::print("Metadata version:     {}\n", s.metadata_version);
}

// A directory or file below the mount root: what its subtree holds.
int run_tree_stat(const StatRequest& request) {
  std::vector<char> buffer(4096);
  ssize_t n = ::getxattr(request.mountpoint.c_str(), kTreeStatXattr, buffer.data(), buffer.size());
  if (n < 0) {
    int err = errno;
    return report_error("hoardfs stat", exit_code::kUsage,
                        fmt::format("{}: {}", request.mountpoint,
                                    err == ENODATA || err == ENOTSUP ? "not inside a hoardfs mount"
                                                                     : std::strerror(err)));
  }
  std::string json(buffer.data(), static_cast<size_t>(n));
  if (request.json) {
    fmt::print("{}\n", json);
    return exit_code::kOk;
  }
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) return report_error("hoardfs stat", exit_code::kError, "unreadable answer: " + json);
  auto get = [&](const char* key) { return j.value(key, uint64_t{0}); };
  fmt::print("Subtree:              {}\n", request.mountpoint);
  fmt::print("Directory entries:    {}\n", get("entries"));
  fmt::print("Inodes:               {}\n", get("inodes"));
  fmt::print("Total data size:      {}\n", format_size(get("data_bytes")));
  fmt::print("After deduplication:  {} ({})\n", format_size(get("dedup_bytes")),
             change_text(get("stored_data_bytes"), get("dedup_bytes")));
  fmt::print("Held by it alone:     {} ({} stored): what removing it frees\n", format_size(get("exclusive_bytes")),
             format_size(get("exclusive_stored_bytes")));
  fmt::print("(data not yet uploaded is not counted: hoardfs ctrl flushcache first for exact figures)\n");
  return exit_code::kOk;
}

int run_stat(const StatRequest& request) {
  char pid[32];
  if (::getxattr(request.mountpoint.c_str(), kCtrlPidXattr, pid, sizeof pid) < 0 && errno == ENODATA) {
    return run_tree_stat(request);
  }
  FsStats stats;
  ToolError error;
  if (!read_stats(request.mountpoint, &stats, &error)) return report_error("hoardfs stat", error);
  if (request.json) {
    fmt::print("{}\n", stats_to_json(stats));
  } else {
    print_human(stats);
  }
  return exit_code::kOk;
}

}  // namespace

void add_stat_command(CLI::App& root, CommandRunner* selected) {
  auto request = std::make_shared<StatRequest>();
  CLI::App* command = root.add_subcommand(
      "stat", "Show entries, blocks, data size, savings by dedup and compression, cache use");
  command->add_option("PATH", request->mountpoint,
                      "Mount point of a hoardfs filesystem (whole filesystem), or a file or directory in it "
                      "(that subtree: its size, after dedup, and what it alone holds)")
      ->required();
  command->add_flag("--json", request->json,
                    "Print one JSON object (entries, inodes, blocks, data_bytes, dedup_bytes, "
                    "compressed_bytes, metadata_bytes, cache_bytes, dirty_bytes, ...)");
  command->callback([request, selected] { *selected = [request] { return run_stat(*request); }; });
}

}  // namespace hoardfs::tools
