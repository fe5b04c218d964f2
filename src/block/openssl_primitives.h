// OpenSSL's implementations of primitives the block layer also gets from
// libsodium: AES-256-GCM, ChaCha20-Poly1305, keyed BLAKE2b and HMAC-SHA-256.
// They compute the same functions (same bytes out, tested against libsodium
// in object_codec_test.cc), only faster on CPUs that OpenSSL has code paths
// for: on the benchmark VM (AMD EPYC with VAES and AVX-512, `openssl speed`
// against pipeline_bench) AES-256-GCM runs at 4.4 GB/s instead of 1.4-1.7
// GB/s, ChaCha20-Poly1305 at 3.9 GB/s instead of 1.1 GB/s, keyed BLAKE2b at
// 1.1 GB/s instead of 0.57 GB/s. Every function says when OpenSSL could
// not do the work (false, or AeadOpen::kUnavailable: no context, a provider
// refusing the algorithm); the caller then uses libsodium, so nothing
// depends on OpenSSL's presence beyond linking.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hoardfs::block_internal {

inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kAeadTagBytes = 16;

// Keyed BLAKE2b (RFC 7693), `out_size` bytes (1-64) with a key of 1-64
// bytes: crypto_generichash(out, out_size, data, size, key, key_size).
bool openssl_keyed_blake2b(uint8_t* out, size_t out_size, const uint8_t* data, size_t size, const uint8_t* key,
                           size_t key_size);

// HMAC-SHA-256 (RFC 2104, FIPS 180-4): 32 bytes into `out`, with a key of
// any length: crypto_auth_hmacsha256_init/update/final.
bool openssl_hmac_sha256(uint8_t* out, const uint8_t* data, size_t size, const uint8_t* key, size_t key_size);

// The two AEADs with a 96-bit nonce and a 256-bit key: AES-256-GCM, and
// ChaCha20-Poly1305 as RFC 8439 defines it (libsodium's "IETF" variant, on
// which its XChaCha20-Poly1305 is built, see object_codec.cc).
enum class Aead { kAes256Gcm, kChaCha20Poly1305 };

// As crypto_aead_aes256gcm_encrypt() / crypto_aead_chacha20poly1305_ietf_
// encrypt(): `cipher` receives `size` bytes of ciphertext, then the 16-byte tag.
bool openssl_aead_encrypt(Aead aead, uint8_t* cipher, const uint8_t* message, size_t size, const uint8_t* ad,
                          size_t ad_size, const uint8_t* nonce, const uint8_t* key);

enum class AeadOpen { kAuthentic, kForged, kUnavailable };

// The reverse: `cipher_size` bytes of ciphertext + tag in, `cipher_size -
// 16` bytes into `message`. Unless the answer is kAuthentic, `message`
// holds nothing to use (it may hold unauthenticated bytes, which the caller
// must discard).
AeadOpen openssl_aead_decrypt(Aead aead, uint8_t* message, const uint8_t* cipher, size_t cipher_size,
                              const uint8_t* ad, size_t ad_size, const uint8_t* nonce, const uint8_t* key);

}  // namespace hoardfs::block_internal
