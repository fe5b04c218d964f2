// Small helpers shared by the block layer's crypto code: one-time libsodium
// initialisation, hex conversion and a key buffer that wipes itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hoardfs/object_codec.h"

namespace hoardfs::block_internal {

// Calls sodium_init() exactly once per process (thread-safe). Aborts when
// libsodium cannot initialise: without a working RNG nothing can be written.
void ensure_sodium();

std::string to_hex(const uint8_t* data, size_t size);
// Decodes exactly `size` bytes of lower- or upper-case hex; false otherwise.
bool from_hex(std::string_view hex, uint8_t* out, size_t size);

// A 256-bit secret that is wiped when it goes out of scope.
struct SecretKey {
  Key256 bytes{};
  SecretKey() = default;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();
  uint8_t* data() { return bytes.data(); }
  const uint8_t* data() const { return bytes.data(); }
};

}  // namespace hoardfs::block_internal
