#include "tools/tool_common.h"

#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "hoardfs/object_codec.h"

namespace hoardfs::tools {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return exit_code::kOk;
    case Status::Code::kInvalidArgument: return exit_code::kUsage;
    case Status::Code::kAuthFailed: return exit_code::kBadCredentials;
    case Status::Code::kWrongPassphrase: return exit_code::kWrongPassphrase;
    case Status::Code::kUnsupported: return exit_code::kUnsupportedRevision;
    default: return exit_code::kError;
  }
}

ToolError tool_error(const Status& status) { return {exit_code_for(status), status.to_string()}; }

int report_error(const std::string& tool, const ToolError& error) {
  std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), error.message.c_str());
  return error.exit_code;
}

int report_error(const std::string& tool, int exit_code, const std::string& message) {
  return report_error(tool, ToolError{exit_code, message});
}

void report_warning(const std::string& tool, const std::string& message) {
  std::fprintf(stderr, "%s: warning: %s\n", tool.c_str(), message.c_str());
}

std::string version_text(const std::string& tool) {
  return fmt::format("{} (hoardfs) {}", tool, HOARDFS_VERSION);
}

void configure_app(CLI::App& app, const std::string& tool, const std::string& man_section) {
  app.name(tool);
  app.set_version_flag("--version", version_text(tool));
  app.footer(fmt::format("Exit codes and examples: man {} {}", man_section, tool));
  app.get_formatter()->column_width(34);
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\nRun '%s --help' for usage.\n", app.get_name().c_str(),
                 e.what(), app.get_name().c_str());
    return exit_code::kUsage;
  }
  return -1;
}

Result<uint64_t> parse_size(const std::string& text, uint64_t bare_unit) {
  auto invalid = [&] {
    return Status::invalid_argument(
        fmt::format("invalid size '{}' (examples: 4096, 64k, 512M, 4G)", text));
  };
  size_t pos = 0;
  while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) {
    ++pos;
  }
  std::string number = text.substr(0, pos);
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return invalid();
  std::string unit;
  for (char c : text.substr(pos)) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  uint64_t multiplier = bare_unit;
  if (!unit.empty()) {
    static const std::pair<char, int> kUnits[] = {{'b', 0}, {'k', 1}, {'m', 2}, {'g', 3}, {'t', 4}, {'p', 5}};
    bool found = false;
    for (const auto& [letter, power] : kUnits) {
      if (unit[0] != letter) continue;
      std::string rest = unit.substr(1);
      bool valid_rest = letter == 'b' ? rest.empty() : (rest.empty() || rest == "b" || rest == "ib");
      if (!valid_rest) return invalid();
      multiplier = uint64_t{1} << (10 * power);
      found = true;
    }
    if (!found) return invalid();
  }
  double value = std::strtod(number.c_str(), nullptr);
  double bytes = std::round(value * static_cast<double>(multiplier));
  if (!std::isfinite(bytes) || bytes >= 18446744073709551615.0) return invalid();
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  if (value == std::floor(value)) return fmt::format("{:.0f} {}", value, kUnits[unit]);
  return fmt::format("{:.{}f} {}", value, value < 10 ? 2 : (value < 100 ? 1 : 0), kUnits[unit]);
}

Result<int> parse_compression(const std::string& text) {
  if (text == "none") return 0;
  if (text == "zstd") return kDefaultZstdLevel;
  const std::string prefix = "zstd-";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size() &&
      text.size() <= prefix.size() + 2) {
    int level = 0;
    for (char c : text.substr(prefix.size())) {
      if (!std::isdigit(static_cast<unsigned char>(c))) level = -1;
      if (level >= 0) level = level * 10 + (c - '0');
    }
    if (level >= 1 && level <= 22) return level;
  }
  return Status::invalid_argument(
      fmt::format("invalid compression '{}' (use none, zstd or zstd-1 ... zstd-22)", text));
}

std::string home_directory() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return home;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
  return "/";
}

std::string default_authfile_path() { return home_directory() + "/.hoardfs/authinfo"; }

std::string default_cache_root() { return home_directory() + "/.cache/hoardfs"; }

std::string cache_folder_name(const std::string& storage_url) {
  std::string url = storage_url;
  while (url.size() > 1 && url.back() == '/') url.pop_back();

  // Readable part: letters, digits and '_' stay, a '.' stays after one of
  // those (host names), any other run becomes one '-'.
  std::string readable;
  for (char c : url) {
    bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    bool after_word = !readable.empty() && (std::isalnum(static_cast<unsigned char>(readable.back())) ||
                                            readable.back() == '_');
    if (word || (c == '.' && after_word)) {
      readable.push_back(c);
    } else if (!readable.empty() && readable.back() != '-') {
      readable.push_back('-');
    }
  }
  if (readable.size() > 64) readable.resize(64);
  while (!readable.empty() && (readable.back() == '-' || readable.back() == '.')) readable.pop_back();
  if (readable.empty()) readable = "fs";

  unsigned char hash[8];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(url.data()), url.size(),
                     nullptr, 0);
  char hex[2 * sizeof hash + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return readable + "-" + hex;
}

Result<std::string> make_cache_folder(const std::string& cache_root, const std::string& storage_url) {
  const std::string folder =
      (cache_root.empty() ? default_cache_root() : cache_root) + "/" + cache_folder_name(storage_url);
  HOARDFS_RETURN_IF_ERROR(make_directories(folder, 0700));
  char absolute[PATH_MAX];
  return std::string(::realpath(folder.c_str(), absolute) ? absolute : folder);
}

Status make_directories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::invalid_argument("empty directory path");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return Status::from_errno(errno, "cannot create directory " + prefix);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::from_errno(errno, "cannot access " + path);
  if (!S_ISDIR(st.st_mode)) return Status::invalid_argument(path + " exists and is not a directory");
  return Status::ok();
}

}  // namespace hoardfs::tools
