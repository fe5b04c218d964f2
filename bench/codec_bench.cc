// Object codec throughput: encode and decode MB/s of whole blocks for text-like
// and random data, at zstd levels none, 1 and 3, with each AEAD this CPU offers
// (and the plain BLAKE2b mode), plus keyed block hashing. One thread; the
// write-back pool scales it by the number of upload workers. Time is the
// thread's CPU time, so the figures hold on a busy machine too.
//
//   codec_bench [--block-size BYTES] [--seconds S]
#include <sodium.h>

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hoardfs/object_codec.h"
#include "text_data.h"

namespace {

using hoardfs::Encryption;
using hoardfs::KeyMaterial;
using hoardfs::ObjectCodec;

constexpr size_t kBlocksInSample = 8;  // distinct blocks cycled through

std::string random_block(size_t size, std::mt19937& rng) {
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

struct Figures {
  double encode_mbps = 0;
  double decode_mbps = 0;
  double ratio = 0;  // stored / plaintext
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `op` over the sample blocks until `seconds` of CPU time have passed;
// MB (10^6 bytes of plaintext) per CPU second.
template <typename Op>
double throughput(const std::vector<std::string>& blocks, double seconds, Op op) {
  size_t bytes = 0;
  size_t i = 0;
  const double start = thread_cpu_seconds();
  double elapsed = 0;
  do {
    op(i % blocks.size());
    bytes += blocks[i % blocks.size()].size();
    ++i;
    elapsed = thread_cpu_seconds() - start;
  } while (elapsed < seconds || i < blocks.size());
  return static_cast<double>(bytes) / 1e6 / elapsed;
}

Figures measure(const ObjectCodec& codec, const std::vector<std::string>& blocks, double seconds) {
  std::vector<std::string> names, stored;
  size_t plain_bytes = 0, stored_bytes = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    names.push_back("data/00/bench" + std::to_string(i));
    stored.push_back(codec.encode(names[i], blocks[i]));
    plain_bytes += blocks[i].size();
    stored_bytes += stored[i].size();
  }
  Figures f;
  f.ratio = static_cast<double>(stored_bytes) / static_cast<double>(plain_bytes);
  size_t sink = 0;
  f.encode_mbps = throughput(blocks, seconds, [&](size_t i) {
    sink += codec.encode(names[i], blocks[i]).size();
  });
  std::string out;
  f.decode_mbps = throughput(blocks, seconds, [&](size_t i) {
    hoardfs::Status s = codec.decode(names[i], stored[i], &out);
    if (!s.is_ok()) {
      std::fprintf(stderr, "decode failed: %s\n", s.to_string().c_str());
      std::exit(1);
    }
    sink += out.size();
  });
  if (sink == 0) std::puts("");  // keep the work observable
  return f;
}

const char* cipher_name(Encryption e) {
  switch (e) {
    case Encryption::kNone: return "plain (BLAKE2b)";
    case Encryption::kXChaCha20Poly1305: return "XChaCha20-Poly1305";
    case Encryption::kAes256Gcm: return "AES-256-GCM";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  size_t block_size = 1 << 20;
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--block-size") == 0 && i + 1 < argc) {
      block_size = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::strtod(argv[++i], nullptr);
    } else {
      std::fprintf(stderr, "usage: %s [--block-size BYTES] [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  if (sodium_init() < 0 || block_size == 0) return 1;

  KeyMaterial keys;
  keys.encrypted = true;
  randombytes_buf(keys.data_key.data(), keys.data_key.size());
  randombytes_buf(keys.block_hash_key.data(), keys.block_hash_key.size());
  KeyMaterial plain_keys = keys;
  plain_keys.encrypted = false;

  std::mt19937 rng(42);
  std::vector<std::string> text, random;
  for (size_t i = 0; i < kBlocksInSample; ++i) {
    text.push_back(hoardfs::bench::text_block(block_size, rng));
    random.push_back(random_block(block_size, rng));
  }

  std::vector<Encryption> ciphers = {Encryption::kXChaCha20Poly1305};
  if (hoardfs::aes256gcm_available()) ciphers.push_back(Encryption::kAes256Gcm);
  ciphers.push_back(Encryption::kNone);

  std::printf("hoardfs codec bench: %zu-byte blocks, one thread, %.1f CPU s per figure\n\n",
              block_size, seconds);
  std::printf("%-20s %-7s %-7s %12s %12s %8s\n", "cipher", "data", "zstd", "encode MB/s",
              "decode MB/s", "stored");
  for (Encryption cipher : ciphers) {
    for (const auto& [kind, blocks] : {std::pair{"text", &text}, std::pair{"random", &random}}) {
      for (int level : {0, 1, 3}) {
        ObjectCodec codec(cipher == Encryption::kNone ? plain_keys : keys, level, cipher);
        Figures f = measure(codec, *blocks, seconds);
        std::printf("%-20s %-7s %-7s %12.0f %12.0f %7.1f%%\n", cipher_name(cipher), kind,
                    level == 0 ? "none" : std::to_string(level).c_str(), f.encode_mbps,
                    f.decode_mbps, 100.0 * f.ratio);
        std::fflush(stdout);
      }
    }
  }
  size_t sink = 0;
  double hash_mbps = throughput(text, seconds, [&](size_t i) {
    sink += hoardfs::hash_block(keys, text[i])[0];
  });
  std::printf("\nhash_block (keyed BLAKE2b-256): %.0f MB/s%s\n", hash_mbps, sink ? "" : " ");
  return 0;
}
