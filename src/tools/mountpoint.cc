#include "tools/mountpoint.h"

#include <sys/stat.h>

#include <fmt/core.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hoardfs::tools {
namespace {

std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      bool octal = digits.size() == 3;
      for (char c : digits) octal = octal && c >= '0' && c <= '7';
      if (octal) {
        out.push_back(static_cast<char>(std::strtol(digits.c_str(), nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

bool mountinfo_has_mountpoint(const std::string& mountinfo, const std::string& absolute_path,
                              std::string* fstype, std::string* source) {
  std::istringstream lines(mountinfo);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::istringstream fields(line);
    std::string id, parent, devices, root, mount_point;
    if (!(fields >> id >> parent >> devices >> root >> mount_point)) continue;
    if (unescape_mountinfo(mount_point) != absolute_path) continue;
    std::string field;
    while (fields >> field && field != "-") {
    }
    std::string type, src;
    fields >> type >> src;
    *fstype = type;
    *source = unescape_mountinfo(src);
    found = true;  // keep going: the last (topmost) mount wins
  }
  return found;
}

bool check_mountpoint(const std::string& path, std::string* absolute, ToolError* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOTCONN) {
      *error = {exit_code::kMountpoint,
                fmt::format("mount point {} is a FUSE mount whose daemon is gone; clean up with "
                            "'fusermount3 -u {}'",
                            path, path)};
    } else if (err == ENOENT) {
      *error = {exit_code::kMountpoint, fmt::format("mount point {} does not exist", path)};
    } else {
      *error = {exit_code::kMountpoint,
                fmt::format("cannot access mount point {}: {}", path, std::strerror(err))};
    }
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = {exit_code::kMountpoint, fmt::format("mount point {} is not a directory", path)};
    return false;
  }
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    *error = {exit_code::kMountpoint,
              fmt::format("cannot resolve mount point {}: {}", path, std::strerror(errno))};
    return false;
  }
  *absolute = resolved;

  std::ifstream file("/proc/self/mountinfo");
  std::stringstream content;
  content << file.rdbuf();
  std::string fstype, source;
  if (mountinfo_has_mountpoint(content.str(), *absolute, &fstype, &source)) {
    *error = {exit_code::kMountpoint,
              fmt::format("{} is already a mount point ({} from {})", *absolute, fstype, source)};
    return false;
  }
  return true;
}

}  // namespace hoardfs::tools
