#include "block/sodium_support.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace hoardfs::block_internal {

void ensure_sodium() {
  // A function-local static is initialised once, even with concurrent callers.
  static const bool initialised = [] { return sodium_init() >= 0; }();
  if (!initialised) {
    std::fputs("hoardfs: libsodium could not be initialised\n", stderr);
    std::abort();
  }
}

std::string to_hex(const uint8_t* data, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

bool from_hex(std::string_view hex, uint8_t* out, size_t size) {
  if (hex.size() != size * 2) return false;
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out, size, hex.data(), hex.size(), nullptr, &written, &end) != 0) return false;
  return written == size && end == hex.data() + hex.size();
}

SecretKey::~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }

}  // namespace hoardfs::block_internal
