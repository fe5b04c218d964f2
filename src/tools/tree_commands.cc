// hoardfs cp SRC DST, hoardfs lock PATH..., hoardfs rm PATH...: whole-tree
// operations inside a mounted hoardfs, done by the daemon in one metadata
// transaction each (see src/fs/fs_tree.cc) and asked for through the
// control attribute of the mount root, which is found by walking up from
// the path to the directory that carries user.hoardfs.pid.
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tools/commands.h"
#include "tools/control.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

struct TreeRequest {
  std::vector<std::string> paths;
  bool quiet = false;
};

// The hoardfs mount root above (or at) the existing directory `dir`.
bool find_mount_root(const std::filesystem::path& dir, std::string* root, ToolError* error) {
  std::filesystem::path at = dir;
  struct stat start {};
  if (::stat(at.c_str(), &start) != 0) {
    *error = {exit_code::kUsage, fmt::format("{}: {}", dir.string(), std::strerror(errno))};
    return false;
  }
  while (true) {
    char pid[32];
    if (::getxattr(at.c_str(), kCtrlPidXattr, pid, sizeof pid) > 0) {
      struct stat here {};
      if (::stat(at.c_str(), &here) == 0 && here.st_dev == start.st_dev) {
        *root = at.string();
        return true;
      }
    }
    struct stat here {};
    if (::stat(at.c_str(), &here) != 0 || here.st_dev != start.st_dev || at == at.parent_path()) break;
    at = at.parent_path();
  }
  *error = {exit_code::kUsage, fmt::format("{} is not inside a hoardfs mount", dir.string())};
  return false;
}

// Absolute path with symlinks resolved in the directory part only (the last
// component itself is what the command works on).
std::filesystem::path resolve_parent(const std::string& path) {
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  std::error_code ec;
  auto parent = std::filesystem::canonical(p.parent_path(), ec);
  return ec ? p : parent / p.filename();
}

bool inode_of(const std::filesystem::path& path, uint64_t* ino, ToolError* error, bool follow = false) {
  struct stat st {};
  int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) {
    *error = {exit_code::kError, fmt::format("{}: {}", path.string(), std::strerror(errno))};
    return false;
  }
  *ino = st.st_ino;
  return true;
}

int run_cp(const TreeRequest& request) {
  const char* tool = "hoardfs cp";
  ToolError error;
  auto src = resolve_parent(request.paths[0]);
  auto dst = resolve_parent(request.paths[1]);
  std::string src_root, dst_root;
  uint64_t src_ino = 0, dst_parent = 0;
  if (!find_mount_root(src.parent_path(), &src_root, &error) || !find_mount_root(dst.parent_path(), &dst_root, &error) ||
      !inode_of(src, &src_ino, &error) || !inode_of(dst.parent_path(), &dst_parent, &error, true)) {
    return report_error(tool, error);
  }
  if (dst == src || dst.string().starts_with(src.string() + "/")) {
    return report_error(tool, exit_code::kUsage,
                        fmt::format("cannot copy {} into itself ({})", src.string(), dst.string()));
  }
  if (src_root != dst_root) {
    return report_error(tool, exit_code::kUsage,
                        fmt::format("{} and {} are not in the same hoardfs mount", src.string(), dst.string()));
  }
  struct stat existing {};
  if (::lstat(dst.c_str(), &existing) == 0) {
    return report_error(tool, exit_code::kError, fmt::format("{} already exists", dst.string()));
  }
  const std::string command = fmt::format("cp {} {} {}", src_ino, dst_parent, dst.filename().string());
  if (!run_control_command(src_root, command, !request.quiet, &error)) return report_error(tool, error);
  return exit_code::kOk;
}

int run_each(const TreeRequest& request, const char* tool, bool lock) {
  for (const std::string& path : request.paths) {
    ToolError error;
    auto target = resolve_parent(path);
    char pid[32];
    if (::getxattr(target.c_str(), kCtrlPidXattr, pid, sizeof pid) > 0) {
      return report_error(tool, exit_code::kUsage,
                          fmt::format("{} is the root of a hoardfs mount: {} works on trees inside it", target.string(),
                                      lock ? "hoardfs lock" : "hoardfs rm"));
    }
    std::string root;
    uint64_t ino = 0, parent = 0;
    if (!find_mount_root(target.parent_path(), &root, &error) || !inode_of(target, &ino, &error) ||
        !inode_of(target.parent_path(), &parent, &error, true)) {
      return report_error(tool, error);
    }
    std::string command = lock ? fmt::format("lock {}", ino)
                               : fmt::format("rm {} {}", parent, target.filename().string());
    if (!lock && target.string() == root) {
      return report_error(tool, exit_code::kUsage, "refusing to remove the mount root " + root);
    }
    if (!run_control_command(root, command, false, &error)) return report_error(tool, error);
  }
  return exit_code::kOk;
}

}  // namespace

void add_tree_commands(CLI::App& root, CommandRunner* selected) {
  auto cp = std::make_shared<TreeRequest>();
  CLI::App* c = root.add_subcommand(
      "cp", "Snapshot-copy a tree inside a mount: shares all data, hard links kept, later changes independent");
  c->add_option("SRC DST", cp->paths, "Source and new destination (DST must not exist)")->required()->expected(2);
  c->add_flag("--quiet", cp->quiet, "No progress while the cache is uploaded first");
  c->callback([cp, selected] { *selected = [cp] { return run_cp(*cp); }; });

  auto lock = std::make_shared<TreeRequest>();
  CLI::App* l = root.add_subcommand("lock", "Make trees immutable (even for root; hoardfs rm still removes them)");
  l->add_option("PATH", lock->paths, "Trees to lock")->required()->expected(1, -1);
  l->callback([lock, selected] { *selected = [lock] { return run_each(*lock, "hoardfs lock", true); }; });

  auto rm = std::make_shared<TreeRequest>();
  CLI::App* r = root.add_subcommand("rm", "Remove trees, locked or not, much faster than rm -r");
  r->add_option("PATH", rm->paths, "Trees to remove")->required()->expected(1, -1);
  r->callback([rm, selected] { *selected = [rm] { return run_each(*rm, "hoardfs rm", false); }; });
}

}  // namespace hoardfs::tools
