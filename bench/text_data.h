// Log-like text for the benchmarks: words, numbers and line ends, which
// zstd shrinks to about a third or a quarter.
#pragma once

#include <iterator>
#include <random>
#include <string>

namespace hoardfs::bench {

inline std::string text_block(size_t size, std::mt19937& rng) {
  static const char* words[] = {"the",    "block",  "object", "storage", "hoardfs", "upload",
                                "cache",  "file",   "rsync",  "metadata", "error",  "write",
                                "read",   "daemon", "mount",  "backup",  "of",      "and",
                                "to",     "a",      "in",     "is",      "for",     "with"};
  std::string s;
  s.reserve(size + 32);
  while (s.size() < size) {
    switch (rng() % 8) {
      case 0: s += std::to_string(rng() % 100000); break;
      case 1: s += ".\n"; break;
      default: s += words[rng() % std::size(words)]; break;
    }
    s += ' ';
  }
  s.resize(size);
  return s;
}

}  // namespace hoardfs::bench
