#include "hoardfs/object_names.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hoardfs::object_names {

std::string random_hex(size_t bytes) {
  static const bool sodium_ready = sodium_init() >= 0;  // idempotent, thread-safe
  if (!sodium_ready) std::abort();
  unsigned char buf[32];
  randombytes_buf(buf, bytes);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, buf, bytes);
  return std::string(hex, bytes * 2);
}

std::string superblock() { return "hoardfs.superblock"; }
std::string lock() { return "hoardfs.lock"; }

std::string new_data_object() {
  std::string id = random_hex(16);
  return std::string(kDataPrefix) + id.substr(0, 2) + "/" + id;
}

std::string manifest(uint64_t version) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(version));
  return std::string(kManifestPrefix) + buf;
}

std::optional<uint64_t> parse_manifest(const std::string& name) {
  size_t prefix_len = std::strlen(kManifestPrefix);
  if (name.size() != prefix_len + 20 || name.compare(0, prefix_len, kManifestPrefix) != 0) {
    return std::nullopt;
  }
  uint64_t version = 0;
  for (size_t i = prefix_len; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    version = version * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return version;
}

std::string new_metadata_segment() { return std::string(kSegmentPrefix) + random_hex(16); }

}  // namespace hoardfs::object_names
