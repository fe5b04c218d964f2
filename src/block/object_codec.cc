// Object codec (see include/hoardfs/object_codec.h and doc/format.md).
//
// Encoding is compress-then-seal: zstd runs on the plaintext, then the AEAD
// (or, on a plain filesystem, a BLAKE2b checksum) covers the header, the
// object name and the compressed payload. Decoding checks in the reverse
// order and never hands back a byte before the whole object has been
// authenticated, so a damaged object yields an error, never wrong data.
//
// zstd contexts are kept per thread: the upload workers encode in parallel
// and creating a context per 1 MiB block would cost as much as compressing it.
#include "hoardfs/object_codec.h"

#include <fmt/core.h>
#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "block/openssl_primitives.h"
#include "block/sodium_support.h"

namespace hoardfs {
namespace {

using block_internal::ensure_sodium;

constexpr uint8_t kMagic[4] = {'H', 'R', 'D', 'F'};
constexpr size_t kPlainChecksumBytes = 16;
constexpr size_t kTagBytes = 16;
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_aead_aes256gcm_ABYTES == kTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == sizeof(Key256));
static_assert(crypto_aead_aes256gcm_KEYBYTES == sizeof(Key256));
static_assert(crypto_generichash_KEYBYTES_MAX >= sizeof(Key256));

using Header = std::array<uint8_t, kObjectHeaderBytes>;

Header make_header(Compression compression, Encryption encryption) {
  return {kMagic[0], kMagic[1], kMagic[2], kMagic[3], kObjectFormatRevision,
          static_cast<uint8_t>(compression), static_cast<uint8_t>(encryption), 0};
}

size_t nonce_bytes(Encryption encryption) {
  switch (encryption) {
    case Encryption::kXChaCha20Poly1305: return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    case Encryption::kAes256Gcm: return crypto_aead_aes256gcm_NPUBBYTES;
    case Encryption::kNone: break;
  }
  return 0;
}

struct ZstdContexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};

ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

// Compresses `input` into `out` (capacity `capacity`); returns the size, or 0
// when zstd failed or did not make the payload smaller.
size_t compress_into(int level, std::string_view input, uint8_t* out, size_t capacity) {
  size_t n = ZSTD_compressCCtx(zstd_contexts().compress, out, capacity, input.data(),
                               input.size(), level);
  if (ZSTD_isError(n) || n >= input.size()) return 0;
  return n;
}

bool should_try_compression(int level, std::string_view plaintext) {
  return level != 0 && !plaintext.empty() && plaintext.size() <= kMaxCompressedPayload;
}

// BLAKE2b-128 over header | u64le(name length) | name | payload.
std::array<uint8_t, kPlainChecksumBytes> plain_checksum(const Header& header,
                                                        std::string_view name,
                                                        std::string_view payload) {
  uint8_t name_length[8];
  uint64_t n = name.size();
  for (int i = 0; i < 8; ++i) name_length[i] = static_cast<uint8_t>(n >> (8 * i));
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kPlainChecksumBytes);
  crypto_generichash_update(&state, header.data(), header.size());
  crypto_generichash_update(&state, name_length, sizeof name_length);
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(name.data()), name.size());
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(payload.data()),
                            payload.size());
  std::array<uint8_t, kPlainChecksumBytes> sum{};
  crypto_generichash_final(&state, sum.data(), sum.size());
  return sum;
}

std::string associated_data(const Header& header, std::string_view name) {
  std::string ad(reinterpret_cast<const char*>(header.data()), header.size());
  ad.append(name);
  return ad;
}

Status corrupted(std::string_view name, std::string_view why) {
  return Status::corruption(fmt::format("object {} is corrupted: {}", name, why));
}

// The buffers a thread decodes into, kept between calls: a new string is
// zero-filled (and its pages faulted in) only for the decryption or
// decompression to overwrite it. A result changes places with the caller's
// string (swap), whose storage serves the thread's next call; one larger
// than kKeptBufferBytes is let go instead.
constexpr size_t kKeptBufferBytes = 4 << 20;
enum class Scratch { kPayload, kPlaintext };

std::string& scratch(Scratch which) {
  thread_local std::string buffers[2];
  return buffers[static_cast<int>(which)];
}

// Sized to `size`, zero-filled only where it grows.
std::string& sized_scratch(Scratch which, size_t size) {
  std::string& buffer = scratch(which);
  buffer.resize(size);
  return buffer;
}

void let_go_if_large(std::string& buffer) {
  if (buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);
}

void hand_over(std::string& buffer, std::string* out) {
  out->swap(buffer);
  let_go_if_large(buffer);
}

// Decompresses one complete zstd frame, refusing frames that claim (or
// produce) more than kMaxCompressedPayload bytes.
Status decompress(std::string_view name, std::string_view frame, std::string* out) {
  unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
    return corrupted(name, "invalid zstd frame");
  }
  if (content > kMaxCompressedPayload) {
    return corrupted(name, fmt::format("compressed payload claims {} bytes (limit {})", content,
                                       kMaxCompressedPayload));
  }
  size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size()) {
    return corrupted(name, "zstd frame length does not match the object");
  }
  std::string& result = sized_scratch(Scratch::kPlaintext, static_cast<size_t>(content));
  size_t n = ZSTD_decompressDCtx(zstd_contexts().decompress, result.data(), result.size(),
                                 frame.data(), frame.size());
  if (ZSTD_isError(n) || n != result.size()) {
    return corrupted(name, "zstd payload does not decompress");
  }
  hand_over(result, out);
  return Status::ok();
}

// Turns the authenticated payload (this thread's payload buffer) into the plaintext.
Status unpack_payload(std::string_view name, Compression compression, std::string& payload,
                      std::string* plaintext) {
  if (compression == Compression::kZstd) {
    Status s = decompress(name, payload, plaintext);
    let_go_if_large(payload);
    return s;
  }
  hand_over(payload, plaintext);
  return Status::ok();
}

// What OpenSSL is given for an object's AEAD. AES-256-GCM takes the
// object's nonce and key as they are. XChaCha20-Poly1305-IETF is built the
// way libsodium builds it: ChaCha20-Poly1305 (RFC 8439) under the subkey
// HChaCha20(key, nonce[0..16)) and the nonce 0^32 || nonce[16..24).
class OpenSslAeadInput {
 public:
  OpenSslAeadInput(Encryption encryption, const uint8_t* nonce, const uint8_t* key) {
    if (encryption == Encryption::kAes256Gcm) {
      aead = block_internal::Aead::kAes256Gcm;
      this->nonce = nonce;
      this->key = key;
      return;
    }
    crypto_core_hchacha20(subkey_.data(), nonce, key, nullptr);
    std::memcpy(inner_nonce_ + 4, nonce + crypto_core_hchacha20_INPUTBYTES, 8);
    aead = block_internal::Aead::kChaCha20Poly1305;
    this->nonce = inner_nonce_;
    this->key = subkey_.data();
  }

  block_internal::Aead aead;
  const uint8_t* nonce;
  const uint8_t* key;

 private:
  block_internal::SecretKey subkey_;
  uint8_t inner_nonce_[block_internal::kAeadNonceBytes] = {};
};
static_assert(crypto_core_hchacha20_INPUTBYTES + 8 == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

// Encrypts `size` bytes of `m` into `cipher` (ciphertext, then the tag):
// through OpenSSL, or libsodium when OpenSSL cannot.
void seal(Encryption encryption, uint8_t* cipher, const uint8_t* m, size_t size, std::string_view ad,
          const uint8_t* nonce, const uint8_t* key) {
  const auto* a = reinterpret_cast<const uint8_t*>(ad.data());
  const OpenSslAeadInput input(encryption, nonce, key);
  if (block_internal::openssl_aead_encrypt(input.aead, cipher, m, size, a, ad.size(), input.nonce, input.key)) {
    return;
  }
  unsigned long long cipher_size = 0;
  if (encryption == Encryption::kAes256Gcm) {
    crypto_aead_aes256gcm_encrypt(cipher, &cipher_size, m, size, a, ad.size(), nullptr, nonce, key);
  } else {
    crypto_aead_xchacha20poly1305_ietf_encrypt(cipher, &cipher_size, m, size, a, ad.size(), nullptr, nonce, key);
  }
}

// Decrypts `cipher` (ciphertext + tag) into `m`: through OpenSSL, whose
// AES-256-GCM runs on any CPU (in software without AES-NI), or libsodium
// when OpenSSL cannot. kUnavailable only for AES-256-GCM when neither can:
// OpenSSL refused it (a restricted provider) and the CPU lacks AES-NI/PCLMUL.
block_internal::AeadOpen open_sealed(Encryption encryption, uint8_t* m, const uint8_t* cipher, size_t cipher_size,
                                     std::string_view ad, const uint8_t* nonce, const uint8_t* key) {
  using block_internal::AeadOpen;
  const auto* a = reinterpret_cast<const uint8_t*>(ad.data());
  const OpenSslAeadInput input(encryption, nonce, key);
  const AeadOpen opened =
      block_internal::openssl_aead_decrypt(input.aead, m, cipher, cipher_size, a, ad.size(), input.nonce, input.key);
  if (opened != AeadOpen::kUnavailable) return opened;
  unsigned long long size = 0;
  int rc = 0;
  if (encryption == Encryption::kAes256Gcm) {
    if (!aes256gcm_available()) return AeadOpen::kUnavailable;
    rc = crypto_aead_aes256gcm_decrypt(m, &size, nullptr, cipher, cipher_size, a, ad.size(), nonce, key);
  } else {
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt(m, &size, nullptr, cipher, cipher_size, a, ad.size(), nonce, key);
  }
  return rc == 0 ? AeadOpen::kAuthentic : AeadOpen::kForged;
}

}  // namespace

KeyMaterial::~KeyMaterial() {
  sodium_memzero(data_key.data(), data_key.size());
  sodium_memzero(block_hash_key.data(), block_hash_key.size());
}

bool aes256gcm_available() {
  ensure_sodium();
  return crypto_aead_aes256gcm_is_available() != 0;
}

ObjectCodec::ObjectCodec(const KeyMaterial& keys, int zstd_level)
    : ObjectCodec(keys, zstd_level, Encryption::kAes256Gcm) {}

ObjectCodec::ObjectCodec(const KeyMaterial& keys, int zstd_level, Encryption preferred)
    : keys_(keys),
      zstd_level_(std::clamp(zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel())),
      encryption_(Encryption::kNone) {
  ensure_sodium();
  if (keys_.encrypted) {
    bool aes = preferred == Encryption::kAes256Gcm && aes256gcm_available();
    encryption_ = aes ? Encryption::kAes256Gcm : Encryption::kXChaCha20Poly1305;
  }
}

std::string ObjectCodec::encode(std::string_view object_name, std::string_view plaintext) const {
  const bool try_zstd = should_try_compression(zstd_level_, plaintext);
  const size_t bound = try_zstd ? ZSTD_compressBound(plaintext.size()) : 0;

  if (encryption_ == Encryption::kNone) {
    // Compress straight into the output; fall back to the raw bytes.
    std::string out(kObjectHeaderBytes + std::max(bound, plaintext.size()) + kPlainChecksumBytes,
                    '\0');
    auto* body = reinterpret_cast<uint8_t*>(out.data()) + kObjectHeaderBytes;
    size_t payload_size = try_zstd ? compress_into(zstd_level_, plaintext, body, bound) : 0;
    Compression compression = payload_size > 0 ? Compression::kZstd : Compression::kNone;
    if (compression == Compression::kNone) {
      if (!plaintext.empty()) std::memcpy(body, plaintext.data(), plaintext.size());
      payload_size = plaintext.size();
    }
    Header header = make_header(compression, Encryption::kNone);
    std::memcpy(out.data(), header.data(), header.size());
    auto sum = plain_checksum(header, object_name,
                              std::string_view(reinterpret_cast<char*>(body), payload_size));
    std::memcpy(body + payload_size, sum.data(), sum.size());
    out.resize(kObjectHeaderBytes + payload_size + kPlainChecksumBytes);
    return out;
  }

  std::unique_ptr<uint8_t[]> compressed;
  std::string_view payload = plaintext;
  Compression compression = Compression::kNone;
  if (try_zstd) {
    compressed = std::make_unique_for_overwrite<uint8_t[]>(bound);
    size_t n = compress_into(zstd_level_, plaintext, compressed.get(), bound);
    if (n > 0) {
      payload = std::string_view(reinterpret_cast<const char*>(compressed.get()), n);
      compression = Compression::kZstd;
    }
  }

  const Header header = make_header(compression, encryption_);
  const std::string ad = associated_data(header, object_name);
  const size_t nonce_size = nonce_bytes(encryption_);
  std::string out(kObjectHeaderBytes + nonce_size + payload.size() + kTagBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, header.data(), header.size());
  uint8_t* nonce = p + kObjectHeaderBytes;
  randombytes_buf(nonce, nonce_size);
  uint8_t* cipher = nonce + nonce_size;
  seal(encryption_, cipher, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), ad, nonce,
       keys_.data_key.data());
  return out;
}

Status ObjectCodec::decode(std::string_view name, std::string_view stored,
                           std::string* plaintext) const {
  if (stored.size() < kObjectHeaderBytes) {
    return corrupted(name, fmt::format("truncated to {} bytes", stored.size()));
  }
  Header header;
  std::memcpy(header.data(), stored.data(), header.size());
  if (std::memcmp(header.data(), kMagic, sizeof kMagic) != 0) {
    return corrupted(name, "not a hoardfs object (bad magic)");
  }
  if (header[4] == 0) return corrupted(name, "invalid format revision 0");
  if (header[4] > kObjectFormatRevision) {
    return Status::unsupported(fmt::format(
        "object {} has format revision {}, newer than this hoardfs supports ({})", name,
        header[4], kObjectFormatRevision));
  }
  if (header[5] > static_cast<uint8_t>(Compression::kZstd)) {
    return corrupted(name, fmt::format("unknown compression {}", header[5]));
  }
  if (header[7] != 0) return corrupted(name, "reserved header byte is not zero");
  const auto compression = static_cast<Compression>(header[5]);
  const uint8_t encryption_byte = header[6];
  std::string_view body = stored.substr(kObjectHeaderBytes);

  if (!keys_.encrypted) {
    if (encryption_byte != static_cast<uint8_t>(Encryption::kNone)) {
      return corrupted(name, "encrypted object in a filesystem without encryption");
    }
    if (body.size() < kPlainChecksumBytes) return corrupted(name, "truncated");
    std::string_view payload = body.substr(0, body.size() - kPlainChecksumBytes);
    auto sum = plain_checksum(header, name, payload);
    if (sodium_memcmp(sum.data(), body.data() + payload.size(), sum.size()) != 0) {
      return corrupted(name, "checksum mismatch (damaged, or stored under another name)");
    }
    std::string& copy = scratch(Scratch::kPayload);
    copy.assign(payload);
    return unpack_payload(name, compression, copy, plaintext);
  }

  // An encrypted filesystem never accepts an unauthenticated object.
  if (encryption_byte != static_cast<uint8_t>(Encryption::kXChaCha20Poly1305) &&
      encryption_byte != static_cast<uint8_t>(Encryption::kAes256Gcm)) {
    return corrupted(name, fmt::format("encryption {} is not allowed in an encrypted filesystem",
                                       encryption_byte));
  }
  const auto encryption = static_cast<Encryption>(encryption_byte);
  const size_t nonce_size = nonce_bytes(encryption);
  if (body.size() < nonce_size + kTagBytes) return corrupted(name, "truncated");
  const auto* nonce = reinterpret_cast<const uint8_t*>(body.data());
  std::string_view cipher = body.substr(nonce_size);
  const std::string ad = associated_data(header, name);
  std::string& payload = sized_scratch(Scratch::kPayload, cipher.size() - kTagBytes);
  switch (open_sealed(encryption, reinterpret_cast<uint8_t*>(payload.data()),
                      reinterpret_cast<const uint8_t*>(cipher.data()), cipher.size(), ad, nonce,
                      keys_.data_key.data())) {
    case block_internal::AeadOpen::kAuthentic: break;
    case block_internal::AeadOpen::kForged:
      return corrupted(name, "authentication failed (damaged, or stored under another name)");
    case block_internal::AeadOpen::kUnavailable:
      return Status::unsupported(fmt::format(
          "object {} is encrypted with AES-256-GCM, which neither OpenSSL (refused by its provider) nor this "
          "CPU (no AES-NI) can decrypt here", name));
  }
  return unpack_payload(name, compression, payload, plaintext);
}

BlockHash hash_block(const KeyMaterial& keys, std::string_view plaintext) {
  ensure_sodium();
  BlockHash hash{};
  const auto* data = reinterpret_cast<const uint8_t*>(plaintext.data());
  if (keys.block_hash == BlockHashFunction::kHmacSha256) {
    static_assert(sizeof(BlockHash) == crypto_auth_hmacsha256_BYTES);
    if (!block_internal::openssl_hmac_sha256(hash.data(), data, plaintext.size(), keys.block_hash_key.data(),
                                             keys.block_hash_key.size())) {
      crypto_auth_hmacsha256_state state;
      crypto_auth_hmacsha256_init(&state, keys.block_hash_key.data(), keys.block_hash_key.size());
      crypto_auth_hmacsha256_update(&state, data, plaintext.size());
      crypto_auth_hmacsha256_final(&state, hash.data());
      sodium_memzero(&state, sizeof state);
    }
    return hash;
  }
  if (!block_internal::openssl_keyed_blake2b(hash.data(), hash.size(), data, plaintext.size(),
                                             keys.block_hash_key.data(), keys.block_hash_key.size())) {
    crypto_generichash(hash.data(), hash.size(), data, plaintext.size(), keys.block_hash_key.data(),
                       keys.block_hash_key.size());
  }
  return hash;
}

}  // namespace hoardfs
