// See openssl_primitives.h. Contexts are kept per thread (the upload and
// read-ahead workers encrypt and hash in parallel); each call sets the key
// again, so nothing carries over from one call to the next but memory.
#include "block/openssl_primitives.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>

namespace hoardfs::block_internal {
namespace {

// Bytes handed to one EVP update call (its length is an int).
constexpr size_t kMaxUpdate = size_t{1} << 30;

struct CipherContext {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }  // frees the key schedule cleansed
};

EVP_CIPHER_CTX* cipher_context() {
  thread_local CipherContext context;
  return context.ctx;
}

// Fetched once for the process: the EVP_aes_256_gcm()-style getters look
// the implementation up again at every EVP_EncryptInit_ex().
const EVP_CIPHER* evp_cipher(Aead aead) {
  static EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return aead == Aead::kAes256Gcm ? aes : chacha;
}

EVP_MAC* blake2b_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "BLAKE2BMAC", nullptr);  // kept for the process
  return mac;
}

struct MacContext {
  EVP_MAC_CTX* ctx = blake2b_mac() ? EVP_MAC_CTX_new(blake2b_mac()) : nullptr;
  ~MacContext() { EVP_MAC_CTX_free(ctx); }
};

EVP_MAC_CTX* mac_context() {
  thread_local MacContext context;
  return context.ctx;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // kept for the process
  return mac;
}

// An HMAC context bound to SHA-256 once: naming the digest at every init
// would look it up again each time.
struct HmacContext {
  EVP_MAC_CTX* ctx = nullptr;
  HmacContext() {
    if (hmac_mac() == nullptr) return;
    ctx = EVP_MAC_CTX_new(hmac_mac());
    char digest[] = "SHA2-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
  }
  ~HmacContext() { EVP_MAC_CTX_free(ctx); }
};

EVP_MAC_CTX* hmac_context() {
  thread_local HmacContext context;
  return context.ctx;
}

// Feeds `size` bytes to `update` in pieces an int can count.
template <typename Update>
bool in_pieces(const uint8_t* data, size_t size, Update update) {
  for (size_t done = 0; done < size;) {
    const size_t piece = std::min(size - done, kMaxUpdate);
    if (!update(data + done, piece, done)) return false;
    done += piece;
  }
  return true;
}

}  // namespace

bool openssl_keyed_blake2b(uint8_t* out, size_t out_size, const uint8_t* data, size_t size, const uint8_t* key,
                           size_t key_size) {
  EVP_MAC_CTX* ctx = mac_context();
  if (ctx == nullptr || out_size == 0 || key_size == 0) return false;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &out_size), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key, key_size, params) != 1) return false;
  if (!in_pieces(data, size, [&](const uint8_t* p, size_t n, size_t) { return EVP_MAC_update(ctx, p, n) == 1; })) {
    return false;
  }
  size_t written = 0;
  return EVP_MAC_final(ctx, out, &written, out_size) == 1 && written == out_size;
}

bool openssl_hmac_sha256(uint8_t* out, const uint8_t* data, size_t size, const uint8_t* key, size_t key_size) {
  EVP_MAC_CTX* ctx = hmac_context();
  if (ctx == nullptr || key_size == 0) return false;
  if (EVP_MAC_init(ctx, key, key_size, nullptr) != 1) return false;
  if (!in_pieces(data, size, [&](const uint8_t* p, size_t n, size_t) { return EVP_MAC_update(ctx, p, n) == 1; })) {
    return false;
  }
  size_t written = 0;
  return EVP_MAC_final(ctx, out, &written, 32) == 1 && written == 32;
}

bool openssl_aead_encrypt(Aead aead, uint8_t* cipher, const uint8_t* message, size_t size, const uint8_t* ad,
                          size_t ad_size, const uint8_t* nonce, const uint8_t* key) {
  EVP_CIPHER_CTX* ctx = cipher_context();
  if (ctx == nullptr || evp_cipher(aead) == nullptr || ad_size > INT_MAX) return false;
  // Both ciphers take a 96-bit nonce by default.
  if (EVP_EncryptInit_ex(ctx, evp_cipher(aead), nullptr, key, nonce) != 1) return false;
  int n = 0;
  if (ad_size > 0 && EVP_EncryptUpdate(ctx, nullptr, &n, ad, static_cast<int>(ad_size)) != 1) return false;
  const bool sealed = in_pieces(message, size, [&](const uint8_t* p, size_t len, size_t at) {
    int out = 0;
    return EVP_EncryptUpdate(ctx, cipher + at, &out, p, static_cast<int>(len)) == 1 && static_cast<size_t>(out) == len;
  });
  if (!sealed || EVP_EncryptFinal_ex(ctx, cipher + size, &n) != 1 || n != 0) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagBytes), cipher + size) == 1;
}

AeadOpen openssl_aead_decrypt(Aead aead, uint8_t* message, const uint8_t* cipher, size_t cipher_size,
                              const uint8_t* ad, size_t ad_size, const uint8_t* nonce, const uint8_t* key) {
  EVP_CIPHER_CTX* ctx = cipher_context();
  if (cipher_size < kAeadTagBytes) return AeadOpen::kForged;
  if (ctx == nullptr || evp_cipher(aead) == nullptr || ad_size > INT_MAX) return AeadOpen::kUnavailable;
  const size_t size = cipher_size - kAeadTagBytes;
  if (EVP_DecryptInit_ex(ctx, evp_cipher(aead), nullptr, key, nonce) != 1) return AeadOpen::kUnavailable;
  int n = 0;
  if (ad_size > 0 && EVP_DecryptUpdate(ctx, nullptr, &n, ad, static_cast<int>(ad_size)) != 1) {
    return AeadOpen::kUnavailable;
  }
  const bool opened = in_pieces(cipher, size, [&](const uint8_t* p, size_t len, size_t at) {
    int out = 0;
    return EVP_DecryptUpdate(ctx, message + at, &out, p, static_cast<int>(len)) == 1 &&
           static_cast<size_t>(out) == len;
  });
  if (!opened) return AeadOpen::kUnavailable;
  // The tag is copied: the ctrl call takes a non-const pointer.
  uint8_t tag[kAeadTagBytes];
  std::copy(cipher + size, cipher + cipher_size, tag);
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagBytes), tag) != 1) {
    return AeadOpen::kUnavailable;
  }
  return EVP_DecryptFinal_ex(ctx, message + size, &n) == 1 ? AeadOpen::kAuthentic : AeadOpen::kForged;
}

}  // namespace hoardfs::block_internal
