// The authinfo file: backend credentials and filesystem passphrases, kept out
// of command lines.
//
//   # ~/.hoardfs/authinfo (mode 600)
//   [backup]
//   storage-url = s3c://gw.example.net:8080/backups/
//   backend-login = AKIA...
//   backend-password = ...
//   fs-passphrase = ...
//
// Each section applies to the storage URLs that start with its storage-url;
// when several match, the longest storage-url wins. Lines starting with '#'
// or ';' are comments; "key = value" and "key: value" both work; values are
// trimmed. A file that group or others may read is refused.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs::tools {

struct AuthinfoEntry {
  std::string section;
  std::string storage_url;
  std::optional<std::string> backend_login;
  std::optional<std::string> backend_password;
  std::optional<std::string> fs_passphrase;
};

// Parses the file content. Errors (auth_failed, naming `origin` and the line):
// a key outside a section, an unknown key, a line that is not "key = value",
// a section without storage-url.
Result<std::vector<AuthinfoEntry>> parse_authinfo(std::string_view text, const std::string& origin);

// The entry whose storage-url is the longest prefix of `url`, or nullptr.
const AuthinfoEntry* match_authinfo(const std::vector<AuthinfoEntry>& entries, const std::string& url);

// What a command needs for one storage URL.
struct AccessSecrets {
  Credentials credentials;
  std::optional<std::string> passphrase;  // fs-passphrase from authinfo
  std::string credentials_origin;         // "authinfo section [x]", "environment", or ""
};

// Reads `path` and resolves the secrets for `url`. A missing file is fine
// unless `must_exist` (the user named it with --authfile). Refuses (auth_failed)
// a file readable by group or others, or one that cannot be read or parsed.
// For s3:// and s3c:// URLs, when the matching entry (if any) gives neither
// login nor password, both are taken from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY via `getenv`.
using EnvLookup = std::function<const char*(const char*)>;
Result<AccessSecrets> load_access_secrets(const std::string& path, bool must_exist,
                                          const std::string& url, const EnvLookup& getenv);

}  // namespace hoardfs::tools
