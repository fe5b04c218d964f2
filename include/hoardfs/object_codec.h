// Object codec: turns a plaintext into the bytes stored under an object name
// and back. Layout (doc/format.md):
//
//   "HRDF" | revision u8 | compression u8 | encryption u8 | reserved u8 | body
//
// Encrypted body: nonce | AEAD(ciphertext) with associated data = the 8 header
// bytes followed by the object name, so an object moved to another name, or a
// header edited, fails authentication. Plain body: payload | BLAKE2b-128 of
// (header | name | payload), which detects corruption and swaps (not forgery).
// A payload that zstd does not shrink is stored uncompressed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "hoardfs/status.h"

namespace hoardfs {

inline constexpr uint8_t kObjectFormatRevision = 1;

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };
enum class Encryption : uint8_t { kNone = 0, kXChaCha20Poly1305 = 1, kAes256Gcm = 2 };

using Key256 = std::array<uint8_t, 32>;

// The secrets of one filesystem, derived from its random master key.
struct KeyMaterial {
  bool encrypted = false;  // false for mkfs --plain
  Key256 data_key{};       // AEAD key for every object (data and metadata)
  Key256 block_hash_key{}; // key of the BLAKE2b block identity
};

class ObjectCodec {
 public:
  // zstd_level 0 means "no compression". Chooses AES-256-GCM when the CPU
  // supports it and XChaCha20-Poly1305 otherwise (decoding accepts both).
  ObjectCodec(const KeyMaterial& keys, int zstd_level);

  std::string encode(std::string_view object_name, std::string_view plaintext) const;

  // corruption() naming the object when the header, tag or checksum is wrong,
  // the object is truncated, or it was stored under another name;
  // unsupported() for an unknown revision.
  Status decode(std::string_view object_name, std::string_view stored, std::string* plaintext) const;

  const KeyMaterial& keys() const { return keys_; }

 private:
  KeyMaterial keys_;
  int zstd_level_;
  Encryption encryption_;
};

// Identity of a block: keyed BLAKE2b-256 of its plaintext.
using BlockHash = std::array<uint8_t, 32>;
BlockHash hash_block(const KeyMaterial& keys, std::string_view plaintext);

}  // namespace hoardfs
