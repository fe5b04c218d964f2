// Contract clauses for list() and for concurrent use.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "backend_contract.h"

namespace hoardfs::testing {
namespace {

std::vector<std::string> keys_of(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const auto& object : objects) keys.push_back(object.key);
  return keys;
}

// Keys shaped like data object names (data/XX/<32 hex>), spread over many
// fan-out prefixes, deterministic per index.
std::string data_key(int i) {
  static const char* hex = "0123456789abcdef";
  uint64_t h = static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull;
  std::string id;
  for (int round = 0; round < 2; ++round) {
    for (int n = 0; n < 16; ++n) {
      id.push_back(hex[h & 15]);
      h = (h >> 4) | (h << 60);
    }
    h = h * 0xBF58476D1CE4E5B9ull + static_cast<uint64_t>(i);
  }
  return "data/" + id.substr(0, 2) + "/" + id;
}

}  // namespace

TEST_P(BackendContractTest, ListOfUnusedPrefixIsEmpty) {
  ListPage page;
  page.objects.push_back({"stale", 1});
  page.truncated = true;
  ASSERT_TRUE(backend_->list(key("nothing/"), "", 10, &page).is_ok());
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
}

// Byte order, not directory order: '-' (0x2d) and '.' (0x2e) sort before '/'
// (0x2f), so "x-1" and "x.1" come before everything under "x/", and "x0"
// after it. A backend that walks directories must still get this right.
TEST_P(BackendContractTest, ListIsInAscendingByteOrderWithSizes) {
  const std::vector<std::string> suffixes = {"x0", "x/2/3", "x.1", "x/1", "x-1", "x/10", "x/2-", "y", "X"};
  for (size_t i = 0; i < suffixes.size(); ++i) {
    ASSERT_TRUE(backend_->put(key(suffixes[i]), std::string(i + 1, 'v')).is_ok());
  }
  std::vector<std::string> expected;
  for (const auto& s : suffixes) expected.push_back(key(s));
  std::sort(expected.begin(), expected.end());
  auto listed = list_paged(namespace_, 1000);
  EXPECT_EQ(keys_of(listed), expected);
  for (const auto& object : listed) {
    size_t i = std::find(suffixes.begin(), suffixes.end(), object.key.substr(namespace_.size())) - suffixes.begin();
    EXPECT_EQ(object.size, i + 1) << object.key;
  }
  // The same order page by page, however small the pages.
  for (size_t max_keys : {1, 2, 3, 4}) EXPECT_EQ(keys_of(list_paged(namespace_, max_keys)), expected);
}

TEST_P(BackendContractTest, ListFiltersByPrefix) {
  for (const char* s : {"dat", "data/ab/1", "data/ab/2", "data/ac/1", "db", "meta/v1", "d"}) {
    ASSERT_TRUE(backend_->put(key(s), s).is_ok());
  }
  EXPECT_EQ(keys_of(list_paged(key("da"), 10)),
            (std::vector<std::string>{key("dat"), key("data/ab/1"), key("data/ab/2"), key("data/ac/1")}));
  EXPECT_EQ(keys_of(list_paged(key("data/"), 10)),
            (std::vector<std::string>{key("data/ab/1"), key("data/ab/2"), key("data/ac/1")}));
  EXPECT_EQ(keys_of(list_paged(key("data/ab/"), 10)),
            (std::vector<std::string>{key("data/ab/1"), key("data/ab/2")}));
  EXPECT_EQ(keys_of(list_paged(key("data/a"), 1)),
            (std::vector<std::string>{key("data/ab/1"), key("data/ab/2"), key("data/ac/1")}));
  // A prefix that is itself a whole key matches it and its extensions.
  EXPECT_EQ(keys_of(list_paged(key("db"), 10)), (std::vector<std::string>{key("db")}));
  EXPECT_EQ(keys_of(list_paged(key("d"), 10)).size(), 6u);
  EXPECT_TRUE(list_paged(key("data/ab/3"), 10).empty());
  EXPECT_TRUE(list_paged(key("e"), 10).empty());
}

TEST_P(BackendContractTest, ListStartsStrictlyAfterStartAfter) {
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) keys.push_back(key(fmt_index("s/", i * 10)));
  put_many(keys, "x");
  ListPage page;
  // After an existing key: the ones behind it.
  ASSERT_TRUE(backend_->list(key("s/"), keys[3], 100, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), std::vector<std::string>(keys.begin() + 4, keys.end()));
  EXPECT_FALSE(page.truncated);
  // After a key that does not exist, between two that do.
  ASSERT_TRUE(backend_->list(key("s/"), key(fmt_index("s/", 55)), 100, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), std::vector<std::string>(keys.begin() + 6, keys.end()));
  // start_after before the prefix: everything.
  ASSERT_TRUE(backend_->list(key("s/"), key("a"), 100, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), keys);
  // start_after equal to the prefix itself.
  ASSERT_TRUE(backend_->list(key("s/"), key("s/"), 100, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), keys);
  // After the last key, and after the whole prefix range: nothing.
  ASSERT_TRUE(backend_->list(key("s/"), keys.back(), 100, &page).is_ok());
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
  ASSERT_TRUE(backend_->list(key("s/"), key("t"), 100, &page).is_ok());
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
  // A start_after that is a prefix of later keys ("s" < "s/...").
  ASSERT_TRUE(backend_->list(key(""), key("s"), 100, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), keys);
}

TEST_P(BackendContractTest, ListHonoursMaxKeysAndTruncation) {
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back(key(fmt_index("m/", i)));
  put_many(keys, "x");
  ListPage page;
  ASSERT_TRUE(backend_->list(key("m/"), "", 2, &page).is_ok());
  ASSERT_FALSE(page.objects.empty());
  EXPECT_LE(page.objects.size(), 2u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.objects.front().key, keys[0]);
  // Exactly the remaining keys fit: nothing follows, so not truncated.
  ASSERT_TRUE(backend_->list(key("m/"), keys[2], 2, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), (std::vector<std::string>{keys[3], keys[4]}));
  EXPECT_FALSE(page.truncated);
  ASSERT_TRUE(backend_->list(key("m/"), "", 5, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), keys);
  EXPECT_FALSE(page.truncated);
  ASSERT_TRUE(backend_->list(key("m/"), "", 1000000, &page).is_ok());
  EXPECT_EQ(keys_of(page.objects), keys);
  EXPECT_FALSE(page.truncated);
}

TEST_P(BackendContractTest, PaginationOverThousandsOfKeys) {
  std::vector<std::string> keys;
  // Above S3's 1000 keys per answer either way.
  const int count = scaled(2500, 1100);
  for (int i = 0; i < count; ++i) keys.push_back(key(data_key(i)));
  put_many(keys, "k");
  std::sort(keys.begin(), keys.end());
  ASSERT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());

  size_t pages = 0;
  EXPECT_EQ(keys_of(list_paged(key("data/"), 1000, &pages)), keys);
  EXPECT_GE(pages, 2u);
  EXPECT_EQ(keys_of(list_paged(key("data/"), 10000)), keys);
  EXPECT_EQ(keys_of(list_paged(key("data/"), 333)), keys);

  std::vector<ObjectInfo> all;
  ASSERT_TRUE(list_all(*backend_, key("data/"), &all).is_ok());
  EXPECT_EQ(keys_of(all), keys);

  // One fan-out prefix only.
  std::vector<std::string> some;
  for (const auto& k : keys) {
    if (k.starts_with(key("data/a"))) some.push_back(k);
  }
  ASSERT_FALSE(some.empty());
  EXPECT_EQ(keys_of(list_paged(key("data/a"), 50)), some);
}

TEST_P(BackendContractTest, ListDoesNotShowRemovedKeys) {
  ASSERT_TRUE(backend_->put(key("keep"), "1").is_ok());
  ASSERT_TRUE(backend_->put(key("gone"), "2").is_ok());
  ASSERT_TRUE(backend_->remove({key("gone")}).is_ok());
  EXPECT_EQ(keys_of(list_paged(namespace_, 10)), std::vector<std::string>{key("keep")});
}

TEST_P(BackendContractTest, ConcurrentPutsFromManyThreads) {
  const int kThreads = 8, kPerThread = scaled(40, 12);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string k = key(data_key(t * kPerThread + i));
        std::string value = "thread " + std::to_string(t) + " item " + std::to_string(i);
        if (!backend_->put(k, value).is_ok()) ++failures;
        std::string back;
        if (!backend_->get(k, &back).is_ok() || back != value) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto listed = list_paged(key("data/"), 1000);
  EXPECT_EQ(listed.size(), static_cast<size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    std::string out;
    ASSERT_TRUE(backend_->get(key(data_key(t * kPerThread + 7)), &out).is_ok());
    EXPECT_EQ(out, "thread " + std::to_string(t) + " item 7");
  }
}

// Readers see the old or the new object whole, never a mix or a prefix.
TEST_P(BackendContractTest, OverwriteIsAtomicForConcurrentReaders) {
  constexpr size_t kSize = 256 << 10;
  ASSERT_TRUE(backend_->put(key("atomic"), std::string(kSize, 'a')).is_ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0}, reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 20; ++i) {
        char fill = static_cast<char>('a' + (w * 20 + i) % 26);
        Status status = backend_->put(key("atomic"), std::string(kSize, fill));
        if (!status.is_ok()) {
          ADD_FAILURE() << "put: " << status.to_string();
          ++bad_reads;
        }
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!stop) {
        std::string out;
        Status status = backend_->get(key("atomic"), &out);
        ++reads;
        if (!status.is_ok()) {
          ADD_FAILURE() << status.to_string();
          ++bad_reads;
        } else if (out.size() != kSize || out.find_first_not_of(out[0]) != std::string::npos) {
          ADD_FAILURE() << "read " << out.size() << " bytes, not one whole version";
          ++bad_reads;
        }
      }
    });
  }
  for (int w = 0; w < 3; ++w) threads[w].join();
  stop = true;
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(bad_reads.load(), 0) << "of " << reads.load() << " reads";
}

}  // namespace hoardfs::testing
