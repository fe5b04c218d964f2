// ObjectCodec and hash_block: round trips in every mode, tamper detection,
// the stored layout documented in doc/format.md, and decompression limits.
#include "hoardfs/object_codec.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <zstd.h>

#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace hoardfs {
namespace {

KeyMaterial random_keys(bool encrypted) {
  if (sodium_init() < 0) std::abort();
  KeyMaterial keys;
  keys.encrypted = encrypted;
  randombytes_buf(keys.data_key.data(), keys.data_key.size());
  randombytes_buf(keys.block_hash_key.data(), keys.block_hash_key.size());
  return keys;
}

std::string random_bytes(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Text-like data: words from a small vocabulary, compresses 3-5x.
std::string text_bytes(size_t n, uint32_t seed = 2) {
  static const char* words[] = {"block ", "object ", "storage ", "the ", "hoardfs ", "of ",
                                "metadata ", "and ", "cache\n", "upload ", "a ", "rsync "};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += words[rng() % std::size(words)];
  s.resize(n);
  return s;
}

size_t overhead(Encryption e) {
  switch (e) {
    case Encryption::kNone: return 8 + 16;
    case Encryption::kXChaCha20Poly1305: return 8 + 24 + 16;
    case Encryption::kAes256Gcm: return 8 + 12 + 16;
  }
  return 0;
}

// (encryption, zstd level)
class CodecModeTest : public ::testing::TestWithParam<std::tuple<Encryption, int>> {
 protected:
  void SetUp() override {
    encryption_ = std::get<0>(GetParam());
    level_ = std::get<1>(GetParam());
    if (encryption_ == Encryption::kAes256Gcm && !aes256gcm_available()) {
      GTEST_SKIP() << "this CPU has no AES-256-GCM";
    }
    keys_ = random_keys(encryption_ != Encryption::kNone);
  }
  ObjectCodec codec() const { return ObjectCodec(keys_, level_, encryption_); }

  Encryption encryption_ = Encryption::kNone;
  int level_ = 0;
  KeyMaterial keys_;
};

std::string mode_name(const ::testing::TestParamInfo<std::tuple<Encryption, int>>& info) {
  const char* names[] = {"Plain", "XChaCha", "Aes"};
  return std::string(names[static_cast<int>(std::get<0>(info.param))]) + "Zstd" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllModes, CodecModeTest,
                         ::testing::Combine(::testing::Values(Encryption::kNone,
                                                              Encryption::kXChaCha20Poly1305,
                                                              Encryption::kAes256Gcm),
                                            ::testing::Values(0, 3)),
                         mode_name);

TEST_P(CodecModeTest, ChoosesRequestedEncryption) { EXPECT_EQ(codec().encryption(), encryption_); }

TEST_P(CodecModeTest, RoundTripsEmptySmallLargeAndIncompressible) {
  ObjectCodec c = codec();
  const std::vector<std::string> samples = {"", "x", "hello, world", text_bytes(4 << 20),
                                            random_bytes(1 << 20)};
  for (const auto& plaintext : samples) {
    std::string stored = c.encode("data/ab/obj", plaintext);
    ASSERT_EQ(stored.substr(0, 4), "HRDF");
    EXPECT_EQ(static_cast<uint8_t>(stored[4]), kObjectFormatRevision);
    EXPECT_EQ(static_cast<uint8_t>(stored[6]), static_cast<uint8_t>(encryption_));
    EXPECT_EQ(stored[7], '\0');
    std::string decoded = "garbage";
    Status s = c.decode("data/ab/obj", stored, &decoded);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    EXPECT_EQ(decoded, plaintext) << "size " << plaintext.size();
  }
}

TEST_P(CodecModeTest, CompressesOnlyWhenItHelps) {
  ObjectCodec c = codec();
  std::string text = text_bytes(1 << 20);
  std::string stored_text = c.encode("o", text);
  std::string random = random_bytes(1 << 20);
  std::string stored_random = c.encode("o", random);
  // Incompressible data is always stored raw: payload + fixed overhead.
  EXPECT_EQ(stored_random[5], 0);
  EXPECT_EQ(stored_random.size(), random.size() + overhead(encryption_));
  if (level_ == 0) {
    EXPECT_EQ(stored_text[5], 0);
    EXPECT_EQ(stored_text.size(), text.size() + overhead(encryption_));
  } else {
    EXPECT_EQ(stored_text[5], 1);
    EXPECT_LT(stored_text.size(), text.size() / 2);
  }
  // Tiny payloads that zstd cannot shrink are raw too.
  EXPECT_EQ(c.encode("o", "ab")[5], 0);
}

TEST_P(CodecModeTest, StoredBytesHideThePlaintextOnlyWhenEncrypted) {
  const std::string marker = "SECRET-FILE-CONTENT-7f3a";
  std::string plaintext;
  for (int i = 0; i < 200; ++i) plaintext += marker + random_bytes(50, i);
  std::string stored = codec().encode("data/00/x", plaintext);
  if (encryption_ == Encryption::kNone) {
    // --plain keeps the (compressed) plaintext readable: nothing to hide it with.
    if (level_ == 0) {
      EXPECT_NE(stored.find(marker), std::string::npos);
    }
  } else {
    EXPECT_EQ(stored.find(marker), std::string::npos);
    EXPECT_EQ(stored.find(marker.substr(0, 8)), std::string::npos);
  }
}

TEST_P(CodecModeTest, EncryptionUsesAFreshNonceEachTime) {
  ObjectCodec c = codec();
  if (encryption_ == Encryption::kNone) {
    EXPECT_EQ(c.encode("o", "same"), c.encode("o", "same"));  // deterministic
  } else {
    EXPECT_NE(c.encode("o", "same"), c.encode("o", "same"));  // random nonce per object
  }
}

TEST_P(CodecModeTest, EveryFlippedByteIsRejected) {
  ObjectCodec c = codec();
  const std::string name = "data/7e/7e0011";
  for (const std::string& plaintext : {text_bytes(600), random_bytes(200)}) {
    const std::string stored = c.encode(name, plaintext);
    for (size_t i = 0; i < stored.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80}) {
        std::string damaged = stored;
        damaged[i] = static_cast<char>(damaged[i] ^ mask);
        std::string out = "untouched";
        Status s = c.decode(name, damaged, &out);
        ASSERT_FALSE(s.is_ok()) << "byte " << i << " mask " << int(mask);
        EXPECT_EQ(out, "untouched");
        EXPECT_NE(s.message().find(name), std::string::npos) << s.message();
        // Byte 4 holds the revision: a larger one reads as "written by a newer version".
        if (i == 4 && (static_cast<uint8_t>(damaged[4]) > kObjectFormatRevision)) {
          EXPECT_EQ(s.code(), Status::Code::kUnsupported);
        } else {
          EXPECT_EQ(s.code(), Status::Code::kCorruption) << "byte " << i << ": " << s.message();
        }
      }
    }
  }
}

TEST_P(CodecModeTest, EveryTruncationIsRejected) {
  ObjectCodec c = codec();
  for (const std::string& plaintext : {std::string(), text_bytes(300), random_bytes(100)}) {
    const std::string stored = c.encode("meta/seg/abc", plaintext);
    for (size_t len = 0; len < stored.size(); ++len) {
      std::string out;
      Status s = c.decode("meta/seg/abc", std::string_view(stored).substr(0, len), &out);
      ASSERT_FALSE(s.is_ok()) << "length " << len;
      EXPECT_EQ(s.code(), Status::Code::kCorruption);
      EXPECT_NE(s.message().find("meta/seg/abc"), std::string::npos);
    }
    // Appended bytes are rejected too.
    std::string out;
    EXPECT_FALSE(c.decode("meta/seg/abc", stored + '\0', &out).is_ok());
  }
}

TEST_P(CodecModeTest, ObjectUnderAnotherNameIsRejected) {
  ObjectCodec c = codec();
  for (const std::string& plaintext : {std::string(), text_bytes(1000), random_bytes(1000)}) {
    std::string stored = c.encode("data/aa/aa01", plaintext);
    for (const char* other : {"data/aa/aa02", "data/aa/aa0", "data/aa/aa011", "", "meta/v1"}) {
      std::string out;
      Status s = c.decode(other, stored, &out);
      EXPECT_EQ(s.code(), Status::Code::kCorruption) << other;
    }
  }
}

TEST_P(CodecModeTest, EditedHeaderIsRejected) {
  ObjectCodec c = codec();
  const std::string stored = c.encode("o", text_bytes(5000));
  auto decode_with = [&](size_t pos, uint8_t value) {
    std::string edited = stored;
    edited[pos] = static_cast<char>(value);
    std::string out;
    return c.decode("o", edited, &out);
  };
  EXPECT_EQ(decode_with(0, 'X').code(), Status::Code::kCorruption);   // magic
  EXPECT_EQ(decode_with(4, 0).code(), Status::Code::kCorruption);     // revision 0
  EXPECT_EQ(decode_with(4, 2).code(), Status::Code::kUnsupported);    // newer revision
  EXPECT_EQ(decode_with(4, 255).code(), Status::Code::kUnsupported);
  for (uint8_t compression : {0, 1, 2, 9}) {
    if (compression == static_cast<uint8_t>(stored[5])) continue;
    EXPECT_EQ(decode_with(5, compression).code(), Status::Code::kCorruption) << int(compression);
  }
  for (uint8_t encryption : {0, 1, 2, 3}) {
    if (encryption == static_cast<uint8_t>(stored[6])) continue;
    Status s = decode_with(6, encryption);
    EXPECT_FALSE(s.is_ok()) << int(encryption);
  }
  EXPECT_EQ(decode_with(7, 1).code(), Status::Code::kCorruption);     // reserved
  EXPECT_NE(decode_with(4, 2).message().find("object o "), std::string::npos);
  EXPECT_NE(decode_with(0, 'X').message().find("object o "), std::string::npos);
}

TEST_P(CodecModeTest, ConcurrentEncodeDecode) {
  ObjectCodec c = codec();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string plaintext = text_bytes(100000 + i, t * 100 + i);
        std::string name = "obj" + std::to_string(t) + "/" + std::to_string(i);
        std::string out;
        if (!c.decode(name, c.encode(name, plaintext), &out).is_ok() || out != plaintext) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// decode() reuses its thread's buffers and the storage of the strings it is
// given: one result never shows through in another, whatever the sizes
// (larger, smaller, compressed or not), and a string passed back in (as the
// block cache does) is only ever the next result.
TEST_P(CodecModeTest, ReusedBuffersNeverMixResults) {
  ObjectCodec c = codec();
  const std::vector<std::string> samples = {random_bytes(1 << 20, 7), text_bytes(300000, 8), random_bytes(700, 9),
                                            "", text_bytes(2 << 20, 10), random_bytes(1 << 20, 11), "x"};
  std::string reused = random_bytes(3 << 20, 12);  // starts out larger than any result
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < samples.size(); ++i) {
      const std::string name = "data/re/" + std::to_string(round) + "-" + std::to_string(i);
      const std::string stored = c.encode(name, samples[i]);
      ASSERT_TRUE(c.decode(name, stored, &reused).is_ok());
      EXPECT_EQ(reused, samples[i]) << "sample " << i;
      std::string fresh;
      ASSERT_TRUE(c.decode(name, stored, &fresh).is_ok());
      EXPECT_EQ(fresh, samples[i]) << "sample " << i;
      std::string damaged = stored;
      damaged.back() = static_cast<char>(damaged.back() ^ 1);
      std::string kept = reused;
      EXPECT_FALSE(c.decode(name, damaged, &reused).is_ok());
      EXPECT_EQ(reused, kept) << "a failed decode wrote its output";
    }
  }
}

TEST(ObjectCodecTest, EncryptedFilesystemRefusesPlainObjects) {
  KeyMaterial keys = random_keys(true);
  KeyMaterial plain_keys = keys;
  plain_keys.encrypted = false;
  std::string plain_object = ObjectCodec(plain_keys, 3).encode("o", "attacker data");
  std::string out;
  EXPECT_EQ(ObjectCodec(keys, 3).decode("o", plain_object, &out).code(),
            Status::Code::kCorruption);
  std::string encrypted_object = ObjectCodec(keys, 3).encode("o", "data");
  EXPECT_EQ(ObjectCodec(plain_keys, 3).decode("o", encrypted_object, &out).code(),
            Status::Code::kCorruption);
}

TEST(ObjectCodecTest, WrongKeyIsRejected) {
  std::string stored = ObjectCodec(random_keys(true), 3).encode("o", "data");
  std::string out;
  EXPECT_EQ(ObjectCodec(random_keys(true), 3).decode("o", stored, &out).code(),
            Status::Code::kCorruption);
}

TEST(ObjectCodecTest, DecodesBothCiphersWhateverItWrites) {
  if (!aes256gcm_available()) GTEST_SKIP() << "this CPU has no AES-256-GCM";
  KeyMaterial keys = random_keys(true);
  ObjectCodec xchacha(keys, 3, Encryption::kXChaCha20Poly1305);
  ObjectCodec aes(keys, 0, Encryption::kAes256Gcm);
  EXPECT_EQ(ObjectCodec(keys, 1).encryption(), Encryption::kAes256Gcm);  // default
  std::string out;
  ASSERT_TRUE(aes.decode("o", xchacha.encode("o", "one"), &out).is_ok());
  EXPECT_EQ(out, "one");
  ASSERT_TRUE(xchacha.decode("o", aes.encode("o", "two"), &out).is_ok());
  EXPECT_EQ(out, "two");
}

TEST(ObjectCodecTest, PlainKeysIgnoreRequestedCipher) {
  ObjectCodec c(random_keys(false), 3, Encryption::kXChaCha20Poly1305);
  EXPECT_EQ(c.encryption(), Encryption::kNone);
}

// The documented layouts, checked with libsodium directly.
TEST(ObjectFormatTest, PlainLayoutMatchesDocumentation) {
  KeyMaterial keys = random_keys(false);
  const std::string name = "data/12/34";
  const std::string payload = "raw payload";
  std::string stored = ObjectCodec(keys, 0).encode(name, payload);
  ASSERT_EQ(stored.size(), 8 + payload.size() + 16);
  EXPECT_EQ(stored.substr(0, 8), std::string("HRDF\x01\x00\x00\x00", 8));
  EXPECT_EQ(stored.substr(8, payload.size()), payload);
  std::string message = stored.substr(0, 8);
  for (int i = 0; i < 8; ++i) message += static_cast<char>(i == 0 ? name.size() : 0);
  message += name + payload;
  uint8_t sum[16];
  crypto_generichash(sum, sizeof sum, reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), nullptr, 0);
  EXPECT_EQ(stored.substr(8 + payload.size()), std::string(reinterpret_cast<char*>(sum), 16));
}

TEST(ObjectFormatTest, XChaChaLayoutMatchesDocumentation) {
  KeyMaterial keys = random_keys(true);
  const std::string name = "meta/v00000000000000000001";
  const std::string plaintext = text_bytes(10000);
  std::string stored = ObjectCodec(keys, 3, Encryption::kXChaCha20Poly1305).encode(name, plaintext);
  ASSERT_EQ(stored.substr(0, 8), std::string("HRDF\x01\x01\x01\x00", 8));
  std::string ad = stored.substr(0, 8) + name;
  const auto* nonce = reinterpret_cast<const uint8_t*>(stored.data() + 8);
  std::string cipher = stored.substr(8 + 24);
  std::string compressed(cipher.size() - 16, '\0');
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(
                reinterpret_cast<uint8_t*>(compressed.data()), nullptr, nullptr,
                reinterpret_cast<const uint8_t*>(cipher.data()), cipher.size(),
                reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce,
                keys.data_key.data()),
            0);
  std::string decompressed(plaintext.size(), '\0');
  ASSERT_EQ(ZSTD_decompress(decompressed.data(), decompressed.size(), compressed.data(),
                            compressed.size()),
            plaintext.size());
  EXPECT_EQ(decompressed, plaintext);
}

// An uncompressed object sealed by libsodium itself: the codec's own AEAD
// code (OpenSSL's, when it can) must read what libsodium wrote, and libsodium
// what the codec writes (the layout tests above), byte for byte.
std::string sodium_sealed_object(const KeyMaterial& keys, Encryption encryption, const std::string& name,
                                 const std::string& plaintext) {
  const std::string header("HRDF\x01\x00", 6);
  const std::string full_header = header + static_cast<char>(encryption) + '\0';
  const std::string ad = full_header + name;
  const bool aes = encryption == Encryption::kAes256Gcm;
  std::string nonce(aes ? crypto_aead_aes256gcm_NPUBBYTES : crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string cipher(plaintext.size() + 16, '\0');
  const auto* m = reinterpret_cast<const uint8_t*>(plaintext.data());
  const auto* a = reinterpret_cast<const uint8_t*>(ad.data());
  const auto* n = reinterpret_cast<const uint8_t*>(nonce.data());
  auto* c = reinterpret_cast<uint8_t*>(cipher.data());
  if (aes) {
    crypto_aead_aes256gcm_encrypt(c, nullptr, m, plaintext.size(), a, ad.size(), nullptr, n, keys.data_key.data());
  } else {
    crypto_aead_xchacha20poly1305_ietf_encrypt(c, nullptr, m, plaintext.size(), a, ad.size(), nullptr, n,
                                               keys.data_key.data());
  }
  return full_header + nonce + cipher;
}

TEST(ObjectFormatTest, ReadsWhatLibsodiumSealsAndRejectsItTampered) {
  KeyMaterial keys = random_keys(true);
  std::vector<Encryption> ciphers = {Encryption::kXChaCha20Poly1305};
  if (aes256gcm_available()) ciphers.push_back(Encryption::kAes256Gcm);
  for (Encryption e : ciphers) {
    const ObjectCodec codec(keys, 3, e);
    // Around the ciphers' 64- and 16-byte blocks, and a whole block.
    for (size_t size : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{63}, size_t{64}, size_t{65},
                        size_t{4097}, size_t{(1 << 20) + 7}}) {
      SCOPED_TRACE(::testing::Message() << "encryption " << static_cast<int>(e) << ", " << size << " bytes");
      const std::string plaintext = random_bytes(size, static_cast<uint32_t>(size));
      std::string stored = sodium_sealed_object(keys, e, "data/ab/c", plaintext);
      std::string out;
      ASSERT_TRUE(codec.decode("data/ab/c", stored, &out).is_ok());
      EXPECT_EQ(out, plaintext);
      stored.back() ^= 1;  // the tag
      EXPECT_EQ(codec.decode("data/ab/c", stored, &out).code(), Status::Code::kCorruption);
      stored.back() ^= 1;
      stored[stored.size() - 17] ^= 0x80;  // the last ciphertext byte, or the nonce when empty
      EXPECT_EQ(codec.decode("data/ab/c", stored, &out).code(), Status::Code::kCorruption);
    }
  }
}

TEST(ObjectFormatTest, AesGcmLayoutMatchesDocumentation) {
  if (!aes256gcm_available()) GTEST_SKIP() << "this CPU has no AES-NI/PCLMUL for libsodium's AES-GCM";
  KeyMaterial keys = random_keys(true);
  const std::string name = "data/00/1";
  const std::string plaintext = random_bytes(300000);  // incompressible: stored as is
  std::string stored = ObjectCodec(keys, 3, Encryption::kAes256Gcm).encode(name, plaintext);
  ASSERT_EQ(stored.substr(0, 8), std::string("HRDF\x01\x00\x02\x00", 8));
  const std::string ad = stored.substr(0, 8) + name;
  const std::string cipher = stored.substr(8 + 12);
  std::string decrypted(cipher.size() - 16, '\0');
  ASSERT_EQ(crypto_aead_aes256gcm_decrypt(reinterpret_cast<uint8_t*>(decrypted.data()), nullptr, nullptr,
                                          reinterpret_cast<const uint8_t*>(cipher.data()), cipher.size(),
                                          reinterpret_cast<const uint8_t*>(ad.data()), ad.size(),
                                          reinterpret_cast<const uint8_t*>(stored.data() + 8), keys.data_key.data()),
            0);
  EXPECT_EQ(decrypted, plaintext);
}

// A plain object whose payload is `frame` marked as zstd, with a valid checksum.
std::string plain_zstd_object(const std::string& name, const std::string& frame) {
  std::string header("HRDF\x01\x01\x00\x00", 8);
  std::string message = header;
  for (int i = 0; i < 8; ++i) message += static_cast<char>((name.size() >> (8 * i)) & 0xff);
  message += name + frame;
  uint8_t sum[16];
  crypto_generichash(sum, sizeof sum, reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), nullptr, 0);
  return header + frame + std::string(reinterpret_cast<char*>(sum), 16);
}

TEST(ObjectCodecTest, RefusesDecompressionBombs) {
  // A hand-made zstd frame: 8-byte content size of 1 GiB, then RLE blocks of
  // 128 KiB each (4 bytes apiece) that would really expand to 1 GiB.
  const uint64_t claimed = uint64_t{1} << 30;
  std::string frame("\x28\xb5\x2f\xfd\xe0", 5);  // magic, single segment + 8-byte size
  for (int i = 0; i < 8; ++i) frame += static_cast<char>((claimed >> (8 * i)) & 0xff);
  const uint32_t block = 128 << 10;
  for (uint64_t done = 0; done < claimed; done += block) {
    uint32_t header = (block << 3) | (1 << 1) | (done + block == claimed ? 1 : 0);
    frame += static_cast<char>(header & 0xff);
    frame += static_cast<char>((header >> 8) & 0xff);
    frame += static_cast<char>((header >> 16) & 0xff);
    frame += 'A';
  }
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), claimed);
  ObjectCodec c(random_keys(false), 3);
  std::string out;
  Status s = c.decode("data/bo/mb", plain_zstd_object("data/bo/mb", frame), &out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("data/bo/mb"), std::string::npos);
}

TEST(ObjectCodecTest, RefusesFramesWithoutContentSizeOrWithTrailingBytes) {
  std::string text = text_bytes(10000);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), text.data(), text.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  ObjectCodec c(random_keys(false), 3);
  std::string out;
  EXPECT_EQ(c.decode("o", plain_zstd_object("o", frame), &out).code(), Status::Code::kCorruption);

  std::string good(ZSTD_compressBound(text.size()), '\0');
  good.resize(ZSTD_compress(good.data(), good.size(), text.data(), text.size(), 3));
  ASSERT_TRUE(c.decode("o", plain_zstd_object("o", good), &out).is_ok());
  EXPECT_EQ(out, text);
  EXPECT_EQ(c.decode("o", plain_zstd_object("o", good + good), &out).code(),
            Status::Code::kCorruption);
}

TEST(HashBlockTest, IsKeyedBlake2b256) {
  KeyMaterial a = random_keys(true);
  KeyMaterial b = random_keys(true);
  const std::string data = text_bytes(70000);
  BlockHash ha = hash_block(a, data);
  EXPECT_EQ(ha, hash_block(a, data));
  EXPECT_NE(ha, hash_block(b, data));
  EXPECT_NE(ha, hash_block(a, data.substr(1)));
  EXPECT_NE(hash_block(a, ""), hash_block(b, ""));
  BlockHash expected{};
  crypto_generichash(expected.data(), expected.size(), reinterpret_cast<const uint8_t*>(data.data()),
                     data.size(), a.block_hash_key.data(), a.block_hash_key.size());
  EXPECT_EQ(ha, expected);
  // The same function at every length, across BLAKE2b's 128-byte blocks.
  for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{129}, size_t{4096},
                      size_t{(1 << 20) + 7}}) {
    const std::string bytes = random_bytes(size, static_cast<uint32_t>(size) + 3);
    crypto_generichash(expected.data(), expected.size(), reinterpret_cast<const uint8_t*>(bytes.data()),
                       bytes.size(), a.block_hash_key.data(), a.block_hash_key.size());
    EXPECT_EQ(hash_block(a, bytes), expected) << size << " bytes";
  }
  // The data key plays no part.
  KeyMaterial a2 = a;
  a2.data_key[0] ^= 1;
  EXPECT_EQ(hash_block(a2, data), ha);
}

TEST(HashBlockTest, IsHmacSha256WhenTheFilesystemSaysSo) {
  KeyMaterial a = random_keys(true);
  const std::string data = text_bytes(70000);
  const BlockHash blake = hash_block(a, data);
  a.block_hash = BlockHashFunction::kHmacSha256;
  const BlockHash ha = hash_block(a, data);
  EXPECT_NE(ha, blake);
  EXPECT_EQ(ha, hash_block(a, data));
  KeyMaterial b = random_keys(true);
  b.block_hash = BlockHashFunction::kHmacSha256;
  EXPECT_NE(ha, hash_block(b, data));
  EXPECT_NE(hash_block(a, ""), hash_block(b, ""));
  // libsodium's HMAC-SHA-256 at every length, across SHA-256's 64-byte blocks.
  for (size_t size : {size_t{0}, size_t{1}, size_t{55}, size_t{63}, size_t{64}, size_t{65}, size_t{4096},
                      size_t{(1 << 20) + 7}}) {
    const std::string bytes = random_bytes(size, static_cast<uint32_t>(size) + 5);
    BlockHash expected{};
    crypto_auth_hmacsha256(expected.data(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                           a.block_hash_key.data());
    EXPECT_EQ(hash_block(a, bytes), expected) << size << " bytes";
  }
  // A fixed answer (Python's hmac module): key 00 01 .. 1f, "hoardfs block".
  KeyMaterial fixed;
  for (size_t i = 0; i < fixed.block_hash_key.size(); ++i) fixed.block_hash_key[i] = static_cast<uint8_t>(i);
  fixed.block_hash = BlockHashFunction::kHmacSha256;
  const BlockHash known = hash_block(fixed, "hoardfs block");
  char hex[2 * sizeof known + 1];
  sodium_bin2hex(hex, sizeof hex, known.data(), known.size());
  EXPECT_STREQ(hex, "29e2247001162a35f576546c5ed13e133e0ace8b43a2389bd06919c4b5a9ab30");
}

}  // namespace
}  // namespace hoardfs
