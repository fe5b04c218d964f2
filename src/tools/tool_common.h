// What every command shares: one-line errors with documented exit codes,
// --version text, size parsing and printing, and where files live
// (authinfo, cache folders).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "hoardfs/exit_codes.h"
#include "hoardfs/status.h"

namespace hoardfs::tools {

// A failure ready to be shown: one line and the process exit code.
struct ToolError {
  int exit_code = exit_code::kError;
  std::string message;
};

// The exit code for a Status when nothing more specific applies:
// invalid_argument → usage, auth_failed → bad credentials, wrong_passphrase,
// unsupported → unsupported revision, anything else → generic error.
int exit_code_for(const Status& status);
ToolError tool_error(const Status& status);

// Prints "<tool>: error: <message>" to stderr and returns `exit_code`.
int report_error(const std::string& tool, const ToolError& error);
int report_error(const std::string& tool, int exit_code, const std::string& message);
// Prints "<tool>: warning: <message>" to stderr.
void report_warning(const std::string& tool, const std::string& message);

// "mkfs.hoardfs (hoardfs) 0.1.0".
std::string version_text(const std::string& tool);

// Common set-up of a CLI11 app: --version, a footer naming the man page.
void configure_app(CLI::App& app, const std::string& tool, const std::string& man_section);

// Runs app.parse(argc, argv). Returns -1 when the program should go on;
// otherwise the exit code: 0 after --help/--version, kUsage after a usage
// error (with a one-line error and a hint to --help).
int parse_command_line(CLI::App& app, int argc, char** argv);

// Parses a size such as "4096", "64k", "1M", "4GiB", "1.5G" (binary units,
// case-insensitive, optional "B"/"iB"). A bare number is multiplied by
// `bare_unit` (1 for bytes, 1024 where the unit is KiB).
Result<uint64_t> parse_size(const std::string& text, uint64_t bare_unit = 1);

// "0 B", "512 B", "1.5 KiB", "3.2 GiB".
std::string format_size(uint64_t bytes);

// Parses --compress: "none" → 0, "zstd" → 3, "zstd-N" → N (1..22).
Result<int> parse_compression(const std::string& text);

// The invoking user's home directory ($HOME, else the password database).
std::string home_directory();
// ~/.hoardfs/authinfo
std::string default_authfile_path();
// ~/.cache/hoardfs
std::string default_cache_root();

// The folder name of one filesystem's cache under the cache root: the URL
// made readable and safe as a file name (at most 64 characters), then "-" and
// 16 hex digits of a hash of the whole URL, so that distinct URLs never share
// a folder. Trailing slashes of the URL do not matter.
//   local:///srv/backup → local-srv-backup-<hash>
std::string cache_folder_name(const std::string& storage_url);

// Creates `path` and its missing parents (mode for the ones created).
Status make_directories(const std::string& path, mode_t mode);

// One filesystem's cache folder, <cache_root>/<cache_folder_name(url)>
// (cache_root empty: default_cache_root()), created with mode 0700 if
// missing; its absolute path.
Result<std::string> make_cache_folder(const std::string& cache_root, const std::string& storage_url);

}  // namespace hoardfs::tools
