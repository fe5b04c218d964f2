// Object codec: turns a plaintext into the bytes stored under an object name
// and back. Layout (doc/format.md, "Object codec"):
//
//   "HRDF" | revision u8 | compression u8 | encryption u8 | reserved u8 | body
//
// Encrypted body: nonce | AEAD(ciphertext) with associated data = the 8 header
// bytes followed by the object name, so an object moved to another name, or a
// header edited, fails authentication. Plain body: payload | BLAKE2b-128 of
// (header | u64le name length | name | payload), which detects corruption and
// swaps (not forgery: a plain filesystem has no secret).
// A payload that zstd does not shrink is stored uncompressed.
//
// An encrypted filesystem refuses objects that are not encrypted (no
// downgrade); a plain one cannot read encrypted objects. encode() and decode()
// are const and safe to call from many threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hoardfs/status.h"

namespace hoardfs {

inline constexpr uint8_t kObjectFormatRevision = 1;
inline constexpr size_t kObjectHeaderBytes = 8;
// decode() refuses a compressed payload that would expand beyond this (a
// guard against decompression bombs); encode() stores larger plaintexts raw.
inline constexpr size_t kMaxCompressedPayload = size_t{256} << 20;

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };
enum class Encryption : uint8_t { kNone = 0, kXChaCha20Poly1305 = 1, kAes256Gcm = 2 };

using Key256 = std::array<uint8_t, 32>;

// The keyed function that names a block for deduplication (its identity),
// chosen when the filesystem is made and kept for its life: every block of
// a filesystem is named by the same one, or identical blocks would not be
// recognised. See doc/format.md.
enum class BlockHashFunction : uint8_t {
  kBlake2b256,  // keyed BLAKE2b-256: filesystems of revision 1
  kHmacSha256,  // HMAC-SHA-256: what mkfs makes since revision 2
};

// The secrets of one filesystem, derived from its random master key.
// Copies wipe their keys when destroyed.
struct KeyMaterial {
  bool encrypted = false;  // false for mkfs --plain
  Key256 data_key{};       // AEAD key for every object (data and metadata)
  Key256 block_hash_key{}; // key of the block identity
  BlockHashFunction block_hash = BlockHashFunction::kBlake2b256;
  ~KeyMaterial();
};

// Whether this CPU has AES-NI + PCLMUL: AES-256-GCM is then the fastest AEAD
// (and libsodium can run it too). Reading AES-256-GCM objects does not need
// it: OpenSSL decrypts them on any CPU.
bool aes256gcm_available();

// The zstd level of new blocks unless --compress says otherwise. Level 2
// stores within 1-5% of level 3's size at 1.2-1.4 times its speed (zstd
// 1.5.4, 1 MiB blocks: C headers 5.61 against 5.90 times smaller, shared
// libraries 3.02 against 3.15, the benchmark's text 2.62 against 2.65), and on
// a 2-core machine compression is what bounds the write rate of compressible
// data (2 GiB of the benchmark's text written and unmounted: 9.6 s against
// 13.1 s). Level 1 is faster still but stores 15-19% more.
inline constexpr int kDefaultZstdLevel = 2;

class ObjectCodec {
 public:
  // zstd_level 0 means "no compression" (negative levels are zstd's fast
  // levels). Chooses AES-256-GCM when the CPU has AES-NI and
  // XChaCha20-Poly1305 otherwise (decoding accepts both, on any CPU).
  ObjectCodec(const KeyMaterial& keys, int zstd_level);
  // As above with the AEAD for new objects chosen by the caller. kAes256Gcm
  // falls back to XChaCha20-Poly1305 when the CPU lacks AES; the choice is
  // ignored (kNone) when keys.encrypted is false.
  ObjectCodec(const KeyMaterial& keys, int zstd_level, Encryption preferred);

  std::string encode(std::string_view object_name, std::string_view plaintext) const;

  // corruption() naming the object when the header, tag or checksum is wrong,
  // the object is truncated, or it was stored under another name;
  // unsupported() for an unknown revision or for AES-256-GCM objects on a CPU
  // without AES. *plaintext is only written on success; its old storage is
  // kept for the calling thread's next decode (a caller that passes strings
  // of an earlier result's size spares that call a zero-filled buffer).
  Status decode(std::string_view object_name, std::string_view stored, std::string* plaintext) const;

  const KeyMaterial& keys() const { return keys_; }
  // The AEAD used for new objects (kNone on a plain filesystem).
  Encryption encryption() const { return encryption_; }
  int zstd_level() const { return zstd_level_; }

 private:
  KeyMaterial keys_;
  int zstd_level_;
  Encryption encryption_;
};

// Identity of a block: keys.block_hash of its plaintext under
// keys.block_hash_key.
using BlockHash = std::array<uint8_t, 32>;
BlockHash hash_block(const KeyMaterial& keys, std::string_view plaintext);

}  // namespace hoardfs
