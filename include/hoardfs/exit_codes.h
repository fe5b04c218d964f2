// Exit codes shared by every command; documented in man/ and README.md.
#pragma once

namespace hoardfs::exit_code {
inline constexpr int kOk = 0;
inline constexpr int kError = 1;             // generic failure
inline constexpr int kUsage = 2;             // bad command line or malformed URL
inline constexpr int kBadCredentials = 10;   // backend refused login, or unreadable/insecure authinfo
inline constexpr int kWrongPassphrase = 11;  // master key could not be unwrapped
inline constexpr int kNoFilesystem = 12;     // no hoardfs filesystem at the URL
inline constexpr int kNeedsFsck = 13;        // the filesystem must be checked first
inline constexpr int kMountedElsewhere = 14; // another mount holds the filesystem lock
inline constexpr int kUnsupportedRevision = 15;  // format revision newer/older than supported
inline constexpr int kRepaired = 16;         // fsck found errors and repaired them
inline constexpr int kNotEmpty = 17;         // mkfs: the storage location is not empty
inline constexpr int kMountpoint = 18;       // mountpoint missing, not a directory, or busy
inline constexpr int kUnrepairable = 19;     // fsck found errors it could not repair
inline constexpr int kDamaged = 20;          // verify: data objects missing or damaged
}  // namespace hoardfs::exit_code
