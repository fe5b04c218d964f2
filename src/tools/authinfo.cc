#include "tools/authinfo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

namespace hoardfs::tools {
namespace {

std::string_view trim(std::string_view text) {
  const char* spaces = " \t\r\n";
  size_t begin = text.find_first_not_of(spaces);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(spaces);
  return text.substr(begin, end - begin + 1);
}

Status syntax_error(const std::string& origin, int line, const std::string& what) {
  return Status::auth_failed(fmt::format("{} line {}: {}", origin, line, what));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

// Reads the whole file after checking that only its owner can read it.
Result<std::optional<std::string>> read_private_file(const std::string& path, bool must_exist) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !must_exist) return std::optional<std::string>();
    return Status::auth_failed(fmt::format("cannot read authinfo file {}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::auth_failed(fmt::format("authinfo file {} is not a regular file", path));
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    ::close(fd);
    return Status::auth_failed(fmt::format(
        "authinfo file {} is readable by group or others; run 'chmod 600 {}'", path, path));
  }
  std::string content;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::auth_failed(fmt::format("cannot read authinfo file {}: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(content));
}

bool is_s3_url(const std::string& url) { return starts_with(url, "s3://") || starts_with(url, "s3c://"); }

}  // namespace

Result<std::vector<AuthinfoEntry>> parse_authinfo(std::string_view text, const std::string& origin) {
  std::vector<AuthinfoEntry> entries;
  std::vector<int> section_lines;
  int line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;

    if (line[0] == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return syntax_error(origin, line_number, "malformed section header");
      }
      AuthinfoEntry entry;
      entry.section = std::string(trim(line.substr(1, line.size() - 2)));
      entries.push_back(std::move(entry));
      section_lines.push_back(line_number);
      continue;
    }

    size_t separator = line.find_first_of("=:");
    if (separator == std::string_view::npos || separator == 0) {
      return syntax_error(origin, line_number, "expected 'key = value'");
    }
    std::string key(trim(line.substr(0, separator)));
    std::string value(trim(line.substr(separator + 1)));
    if (entries.empty()) {
      return syntax_error(origin, line_number, fmt::format("'{}' outside of a [section]", key));
    }
    AuthinfoEntry& entry = entries.back();
    if (key == "storage-url") {
      entry.storage_url = value;
    } else if (key == "backend-login") {
      entry.backend_login = value;
    } else if (key == "backend-password") {
      entry.backend_password = value;
    } else if (key == "fs-passphrase") {
      entry.fs_passphrase = value;
    } else {
      return syntax_error(origin, line_number,
                          fmt::format("unknown key '{}' (known: storage-url, backend-login, "
                                      "backend-password, fs-passphrase)",
                                      key));
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].storage_url.empty()) {
      return syntax_error(origin, section_lines[i],
                          fmt::format("section [{}] has no storage-url", entries[i].section));
    }
  }
  return entries;
}

const AuthinfoEntry* match_authinfo(const std::vector<AuthinfoEntry>& entries, const std::string& url) {
  const AuthinfoEntry* best = nullptr;
  for (const AuthinfoEntry& entry : entries) {
    if (!starts_with(url, entry.storage_url)) continue;
    if (best == nullptr || entry.storage_url.size() > best->storage_url.size()) best = &entry;
  }
  return best;
}

Result<AccessSecrets> load_access_secrets(const std::string& path, bool must_exist,
                                          const std::string& url, const EnvLookup& getenv) {
  AccessSecrets secrets;
  auto content = read_private_file(path, must_exist);
  if (!content.is_ok()) return content.status();

  bool have_login = false;
  bool have_password = false;
  if (content->has_value()) {
    auto entries = parse_authinfo(**content, path);
    if (!entries.is_ok()) return entries.status();
    if (const AuthinfoEntry* entry = match_authinfo(*entries, url); entry != nullptr) {
      secrets.credentials_origin = fmt::format("authinfo section [{}]", entry->section);
      if (entry->backend_login) {
        secrets.credentials.login = *entry->backend_login;
        have_login = true;
      }
      if (entry->backend_password) {
        secrets.credentials.password = *entry->backend_password;
        have_password = true;
      }
      secrets.passphrase = entry->fs_passphrase;
    }
  }

  if (is_s3_url(url) && getenv) {
    const char* key_id = getenv("AWS_ACCESS_KEY_ID");
    const char* secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (!have_login && !have_password && key_id != nullptr && secret != nullptr) {
      secrets.credentials.login = key_id;
      secrets.credentials.password = secret;
      secrets.credentials_origin = "environment (AWS_ACCESS_KEY_ID)";
    }
  }
  return secrets;
}

}  // namespace hoardfs::tools
