// Contract clauses for single objects: get, get_range, head, put,
// put_if_absent, remove. Listing and concurrency are in backend_contract_list.cc.
#include "backend_contract.h"

#include <sodium.h>

#include <atomic>
#include <thread>

namespace hoardfs::testing {

std::string backend_factory_name(const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

void BackendContractTest::SetUp() {
  backend_ = GetParam().make();
  if (!backend_) GTEST_SKIP() << GetParam().name << ": backend not configured";
  unsigned char raw[8];
  randombytes_buf(raw, sizeof raw);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  namespace_ = std::string("contract-") + hex + "/";
}

void BackendContractTest::TearDown() {
  if (!backend_) return;
  std::vector<ObjectInfo> left;
  Status listed = list_all(*backend_, namespace_, &left);
  EXPECT_TRUE(listed.is_ok()) << listed.to_string();
  std::vector<std::string> keys;
  for (const auto& object : left) {
    keys.push_back(object.key);
    if (keys.size() == 1000 || &object == &left.back()) {
      Status removed = backend_->remove(keys);
      EXPECT_TRUE(removed.is_ok()) << removed.to_string();
      keys.clear();
    }
  }
}

void BackendContractTest::put_many(const std::vector<std::string>& keys, const std::string& data, int threads) {
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < keys.size(); i = next++) {
        Status status = backend_->put(keys[i], data);
        if (!status.is_ok()) {
          std::lock_guard lock(error_mutex);
          if (failures++ == 0) first_error = status.to_string();
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  ASSERT_EQ(failures.load(), 0) << first_error;
}

std::vector<ObjectInfo> BackendContractTest::list_paged(const std::string& prefix, size_t max_keys,
                                                        size_t* pages) {
  std::vector<ObjectInfo> all;
  std::string start_after;
  size_t count = 0;
  for (;;) {
    ListPage page;
    page.objects.push_back({"stale", 1});  // list() must replace, not append
    page.truncated = true;
    Status status = backend_->list(prefix, start_after, max_keys, &page);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    if (!status.is_ok()) break;
    ++count;
    EXPECT_LE(page.objects.size(), max_keys);
    // A truncated page must make progress, or list_all() would never end.
    EXPECT_TRUE(!page.truncated || !page.objects.empty());
    for (const auto& object : page.objects) {
      EXPECT_TRUE(object.key.starts_with(prefix)) << object.key;
      EXPECT_GT(object.key, start_after);
      if (!all.empty()) {
        EXPECT_LT(all.back().key, object.key) << "not in ascending byte order";
      }
      all.push_back(object);
    }
    if (!page.truncated || page.objects.empty() || count > 100000) break;
    start_after = all.back().key;
  }
  if (pages != nullptr) *pages = count;
  return all;
}

namespace {

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), n);
  return s;
}

}  // namespace

// Binaries that link the suite only for its helpers (server-specific tests)
// instantiate nothing; that is not an error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendContractTest);

TEST_P(BackendContractTest, DescribeNamesTheBackend) { EXPECT_FALSE(backend_->describe().empty()); }

TEST_P(BackendContractTest, MissingKeyIsNotFoundAndLeavesOutputAlone) {
  std::string out = "sentinel";
  ObjectInfo info{"sentinel", 7};
  Status got = backend_->get(key("missing"), &out);
  EXPECT_TRUE(got.is_not_found()) << got.to_string();
  EXPECT_FALSE(got.retryable());
  EXPECT_EQ(out, "sentinel");
  Status ranged = backend_->get_range(key("missing"), 0, 10, &out);
  EXPECT_TRUE(ranged.is_not_found()) << ranged.to_string();
  EXPECT_FALSE(ranged.retryable());
  EXPECT_EQ(out, "sentinel");
  EXPECT_TRUE(backend_->get_range(key("missing"), 0, 0, &out).is_not_found());
  EXPECT_TRUE(backend_->get_range(key("missing"), 100, 10, &out).is_not_found());
  Status headed = backend_->head(key("missing"), &info);
  EXPECT_TRUE(headed.is_not_found()) << headed.to_string();
  EXPECT_FALSE(headed.retryable());
}

// "dir" is only a prefix of other keys, not an object.
TEST_P(BackendContractTest, PrefixOfOtherKeysIsNotAnObject) {
  ASSERT_TRUE(backend_->put(key("dir/object"), "x").is_ok());
  std::string out;
  ObjectInfo info;
  EXPECT_TRUE(backend_->get(key("dir"), &out).is_not_found());
  EXPECT_TRUE(backend_->get_range(key("dir"), 0, 1, &out).is_not_found());
  EXPECT_TRUE(backend_->head(key("dir"), &info).is_not_found());
}

TEST_P(BackendContractTest, PutThenGetReturnsTheBytes) {
  ASSERT_TRUE(backend_->put(key("hello"), "hello, world").is_ok());
  std::string out = "previous contents that are longer than the object";
  ASSERT_TRUE(backend_->get(key("hello"), &out).is_ok());
  EXPECT_EQ(out, "hello, world");
  ObjectInfo info;
  ASSERT_TRUE(backend_->head(key("hello"), &info).is_ok());
  EXPECT_EQ(info.key, key("hello"));
  EXPECT_EQ(info.size, 12u);
}

TEST_P(BackendContractTest, EmptyObject) {
  ASSERT_TRUE(backend_->put(key("empty"), "").is_ok());
  std::string out = "junk";
  ASSERT_TRUE(backend_->get(key("empty"), &out).is_ok());
  EXPECT_EQ(out, "");
  out = "junk";
  ASSERT_TRUE(backend_->get_range(key("empty"), 0, 10, &out).is_ok());
  EXPECT_EQ(out, "");
  ObjectInfo info;
  ASSERT_TRUE(backend_->head(key("empty"), &info).is_ok());
  EXPECT_EQ(info.size, 0u);
  ListPage page;
  ASSERT_TRUE(backend_->list(key("empty"), "", 10, &page).is_ok());
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_EQ(page.objects[0].size, 0u);
}

TEST_P(BackendContractTest, BinaryBytesSurviveUnchanged) {
  std::string data;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) data.push_back(static_cast<char>(b));
  }
  data += std::string("\0\0\r\n\n\r", 6);
  ASSERT_TRUE(backend_->put(key("binary"), data).is_ok());
  std::string out;
  ASSERT_TRUE(backend_->get(key("binary"), &out).is_ok());
  EXPECT_EQ(out, data);
}

TEST_P(BackendContractTest, FiveMebibyteObject) {
  const std::string data = random_bytes(5 << 20);
  ASSERT_TRUE(backend_->put(key("big"), data).is_ok());
  std::string out;
  ASSERT_TRUE(backend_->get(key("big"), &out).is_ok());
  EXPECT_EQ(out.size(), data.size());
  EXPECT_TRUE(out == data);
  ObjectInfo info;
  ASSERT_TRUE(backend_->head(key("big"), &info).is_ok());
  EXPECT_EQ(info.size, data.size());
  ASSERT_TRUE(backend_->get_range(key("big"), 3 << 20, 1 << 20, &out).is_ok());
  EXPECT_TRUE(out == data.substr(3 << 20, 1 << 20));
}

TEST_P(BackendContractTest, OverwriteReplacesWholeObject) {
  ASSERT_TRUE(backend_->put(key("over"), std::string(10000, 'a')).is_ok());
  ASSERT_TRUE(backend_->put(key("over"), "short").is_ok());
  std::string out;
  ASSERT_TRUE(backend_->get(key("over"), &out).is_ok());
  EXPECT_EQ(out, "short");
  ObjectInfo info;
  ASSERT_TRUE(backend_->head(key("over"), &info).is_ok());
  EXPECT_EQ(info.size, 5u);
  ASSERT_TRUE(backend_->put(key("over"), std::string(3000, 'b')).is_ok());
  ASSERT_TRUE(backend_->get(key("over"), &out).is_ok());
  EXPECT_EQ(out, std::string(3000, 'b'));
}

TEST_P(BackendContractTest, GetRangeInsideTheObject) {
  const std::string data = "0123456789abcdefghij";
  ASSERT_TRUE(backend_->put(key("range"), data).is_ok());
  std::string out = "junk";
  ASSERT_TRUE(backend_->get_range(key("range"), 0, 5, &out).is_ok());
  EXPECT_EQ(out, "01234");
  ASSERT_TRUE(backend_->get_range(key("range"), 7, 6, &out).is_ok());
  EXPECT_EQ(out, "789abc");
  ASSERT_TRUE(backend_->get_range(key("range"), 19, 1, &out).is_ok());
  EXPECT_EQ(out, "j");
  ASSERT_TRUE(backend_->get_range(key("range"), 0, data.size(), &out).is_ok());
  EXPECT_EQ(out, data);
  ASSERT_TRUE(backend_->get_range(key("range"), 4, 0, &out).is_ok());
  EXPECT_EQ(out, "");
}

TEST_P(BackendContractTest, GetRangePastTheEndReturnsWhatExists) {
  const std::string data = "0123456789";
  ASSERT_TRUE(backend_->put(key("range"), data).is_ok());
  std::string out = "junk";
  ASSERT_TRUE(backend_->get_range(key("range"), 6, 100, &out).is_ok());
  EXPECT_EQ(out, "6789");
  out = "junk";
  ASSERT_TRUE(backend_->get_range(key("range"), 10, 5, &out).is_ok()) << "offset == size";
  EXPECT_EQ(out, "");
  out = "junk";
  ASSERT_TRUE(backend_->get_range(key("range"), 11, 5, &out).is_ok()) << "offset > size";
  EXPECT_EQ(out, "");
  ASSERT_TRUE(backend_->get_range(key("range"), 2, UINT64_MAX - 2, &out).is_ok());
  EXPECT_EQ(out, "23456789");
}

TEST_P(BackendContractTest, PutIfAbsentCreatesOnlyOnce) {
  Status first = backend_->put_if_absent(key("lock"), "mine");
  if (first.code() == Status::Code::kUnsupported) GTEST_SKIP() << "put_if_absent unsupported";
  ASSERT_TRUE(first.is_ok()) << first.to_string();
  Status second = backend_->put_if_absent(key("lock"), "theirs");
  EXPECT_EQ(second.code(), Status::Code::kAlreadyExists) << second.to_string();
  EXPECT_FALSE(second.retryable());
  std::string out;
  ASSERT_TRUE(backend_->get(key("lock"), &out).is_ok());
  EXPECT_EQ(out, "mine");
  // Once removed, the key can be taken again.
  ASSERT_TRUE(backend_->remove({key("lock")}).is_ok());
  ASSERT_TRUE(backend_->put_if_absent(key("lock"), "theirs").is_ok());
  ASSERT_TRUE(backend_->get(key("lock"), &out).is_ok());
  EXPECT_EQ(out, "theirs");
  // It refuses an object written by a plain put as well.
  ASSERT_TRUE(backend_->put(key("plain"), "p").is_ok());
  EXPECT_EQ(backend_->put_if_absent(key("plain"), "q").code(), Status::Code::kAlreadyExists);
}

TEST_P(BackendContractTest, PutIfAbsentRaceHasOneWinner) {
  Status probe = backend_->put_if_absent(key("probe"), "x");
  if (probe.code() == Status::Code::kUnsupported) GTEST_SKIP() << "put_if_absent unsupported";
  constexpr int kThreads = 8;
  std::atomic<int> winners{0}, losers{0};
  std::atomic<int> winner_id{-1};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Status status = backend_->put_if_absent(key("contended"), "writer " + std::to_string(t));
      if (status.is_ok()) {
        ++winners;
        winner_id = t;
      } else if (status.code() == Status::Code::kAlreadyExists) {
        ++losers;
      } else {
        ADD_FAILURE() << status.to_string();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), kThreads - 1);
  std::string out;
  ASSERT_TRUE(backend_->get(key("contended"), &out).is_ok());
  EXPECT_EQ(out, "writer " + std::to_string(winner_id.load()));
}

TEST_P(BackendContractTest, RemoveManyIncludingMissingKeys) {
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) keys.push_back(key("rm/" + std::to_string(i)));
  put_many(keys, "data");
  std::vector<std::string> doomed = {keys[0], keys[2], keys[4], keys[6], keys[8], key("rm/missing"),
                                     key("never/there"), key("rm/10")};
  ASSERT_TRUE(backend_->remove(doomed).is_ok());
  for (int i = 0; i < 10; ++i) {
    ObjectInfo info;
    Status status = backend_->head(keys[i], &info);
    if (i % 2 == 0) {
      EXPECT_TRUE(status.is_not_found()) << keys[i];
    } else {
      EXPECT_TRUE(status.is_ok()) << keys[i] << ": " << status.to_string();
    }
  }
  // Repeating a remove is safe, as is removing nothing.
  EXPECT_TRUE(backend_->remove(doomed).is_ok());
  EXPECT_TRUE(backend_->remove({}).is_ok());
  auto listed = list_paged(key("rm/"), 100);
  ASSERT_EQ(listed.size(), 5u);
  for (const auto& object : listed) EXPECT_NE(object.key.back() % 2, 0) << object.key;
}

TEST_P(BackendContractTest, RemoveMoreThanOneBatch) {
  // AWS deletes at most 1000 keys per request, our gateway batches are 250
  // and Swift bulk-delete batches 500; the backend must split.
  std::vector<std::string> keys;
  const int count = scaled(1200, 600);
  for (int i = 0; i < count; ++i) keys.push_back(key(fmt_index("batch/", i)));
  put_many(keys, "");
  ASSERT_TRUE(backend_->remove(keys).is_ok());
  EXPECT_TRUE(list_paged(key("batch/"), 1000).empty());
}

}  // namespace hoardfs::testing
