// FaultInjectingBackend: each kind of fault, its visibility in the store, the
// counters, and reproducibility from a seed.
#include <gtest/gtest.h>

#include "backend/memory/memory_backend.h"
#include "hoardfs/backend_wrappers.h"
#include "hoardfs/log.h"

namespace hoardfs {
namespace {

using std::chrono::microseconds;

struct Stack {
  MemoryBackend* memory = nullptr;
  std::unique_ptr<FaultInjectingBackend> faults;
};

Stack make(FaultOptions options) {
  Stack stack;
  auto memory = std::make_unique<MemoryBackend>();
  stack.memory = memory.get();
  stack.faults = std::make_unique<FaultInjectingBackend>(std::move(memory), std::move(options));
  return stack;
}

TEST(FaultInjectingBackendTest, PassesEverythingThroughByDefault) {
  Stack s = make({});
  ASSERT_TRUE(s.faults->put("a", "1").is_ok());
  ASSERT_TRUE(s.faults->put_if_absent("b", "2").is_ok());
  std::string out;
  ASSERT_TRUE(s.faults->get("a", &out).is_ok());
  ASSERT_TRUE(s.faults->get_range("a", 0, 1, &out).is_ok());
  ObjectInfo info;
  ASSERT_TRUE(s.faults->head("b", &info).is_ok());
  ListPage page;
  ASSERT_TRUE(s.faults->list("", "", 10, &page).is_ok());
  EXPECT_EQ(page.objects.size(), 2u);
  ASSERT_TRUE(s.faults->remove({"a"}).is_ok());
  FaultStats stats = s.faults->stats();
  EXPECT_EQ(stats.calls, 7u);
  EXPECT_EQ(stats.errors + stats.lost_acks + stats.partial_writes + stats.refused_writes + stats.delayed_calls, 0u);
  EXPECT_EQ(s.faults->describe(), "FaultInjecting(memory)");
}

TEST(FaultInjectingBackendTest, ErrorsHappenBeforeTheCallTakesEffect) {
  FaultOptions options;
  options.error_probability = 1;
  Stack s = make(options);
  Status status = s.faults->put("a", "1");
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_TRUE(status.retryable());
  EXPECT_NE(status.message().find("injected"), std::string::npos);
  EXPECT_EQ(s.memory->object_count(), 0u);
  ASSERT_TRUE(s.memory->put("b", "2").is_ok());
  std::string out;
  EXPECT_TRUE(s.faults->get("b", &out).retryable());
  EXPECT_TRUE(s.faults->remove({"b"}).retryable());
  EXPECT_EQ(s.memory->object_count(), 1u);
  EXPECT_EQ(s.faults->stats().errors, 3u);
}

TEST(FaultInjectingBackendTest, LostAcksReportFailureAfterTheWriteLanded) {
  FaultOptions options;
  options.lost_ack_probability = 1;
  Stack s = make(options);
  Status status = s.faults->put("a", "1");
  EXPECT_TRUE(status.retryable());
  EXPECT_EQ(s.memory->snapshot()["a"], "1");
  EXPECT_TRUE(s.faults->put_if_absent("b", "2").retryable());
  EXPECT_EQ(s.memory->object_count(), 2u);
  EXPECT_TRUE(s.faults->remove({"a"}).retryable());
  EXPECT_EQ(s.memory->object_count(), 1u);
  // Reads are not affected by lost acks.
  std::string out;
  EXPECT_TRUE(s.faults->get("b", &out).is_ok());
  EXPECT_EQ(s.faults->stats().lost_acks, 3u);
}

TEST(FaultInjectingBackendTest, PartialWritesLeaveNothingVisible) {
  FaultOptions options;
  options.partial_write_probability = 1;
  Stack s = make(options);
  ASSERT_TRUE(s.memory->put("a", "old").is_ok());
  EXPECT_TRUE(s.faults->put("a", std::string(1000, 'n')).retryable());
  EXPECT_TRUE(s.faults->put_if_absent("b", "x").retryable());
  EXPECT_EQ(s.memory->snapshot(), (std::map<std::string, std::string>{{"a", "old"}}));
  EXPECT_EQ(s.faults->stats().partial_writes, 2u);
}

TEST(FaultInjectingBackendTest, PartialRemoveDeletesOnlySomeKeys) {
  FaultOptions options;
  options.partial_write_probability = 1;
  Stack s = make(options);
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("k" + std::to_string(i));
    ASSERT_TRUE(s.memory->put(keys.back(), "v").is_ok());
  }
  size_t left = 100;
  for (int round = 0; round < 5; ++round) {
    EXPECT_TRUE(s.faults->remove(keys).retryable());
    size_t now = s.memory->object_count();
    EXPECT_LE(now, left);
    left = now;
  }
  EXPECT_GT(left, 0u) << "a partial remove never finishes the job";
  EXPECT_LT(left, 100u) << "but does delete some keys";
}

TEST(FaultInjectingBackendTest, WriteErrorRefusesWritesOnly) {
  FaultOptions options;
  options.write_error = Status::no_space("bucket quota exceeded");
  Stack s = make(options);
  ASSERT_TRUE(s.memory->put("a", "1").is_ok());
  Status status = s.faults->put("b", "2");
  EXPECT_EQ(status.code(), Status::Code::kNoSpace);
  EXPECT_FALSE(status.retryable());
  EXPECT_NE(status.message().find("bucket quota exceeded"), std::string::npos);
  EXPECT_EQ(s.faults->remove({"a"}).code(), Status::Code::kNoSpace);
  std::string out;
  EXPECT_TRUE(s.faults->get("a", &out).is_ok());
  EXPECT_EQ(s.memory->object_count(), 1u);
  EXPECT_EQ(s.faults->stats().refused_writes, 2u);

  options.write_error = Status::permission_denied("read-only bucket");
  s.faults->set_options(options);
  EXPECT_EQ(s.faults->put_if_absent("c", "x").code(), Status::Code::kPermissionDenied);
}

TEST(FaultInjectingBackendTest, FaultsCanBeLimitedToReadsOrWrites) {
  FaultOptions options;
  options.error_probability = 1;
  options.faults_on_reads = false;
  Stack s = make(options);
  ASSERT_TRUE(s.memory->put("a", "1").is_ok());
  std::string out;
  EXPECT_TRUE(s.faults->get("a", &out).is_ok());
  EXPECT_FALSE(s.faults->put("b", "2").is_ok());
  options.faults_on_reads = true;
  options.faults_on_writes = false;
  s.faults->set_options(options);
  EXPECT_FALSE(s.faults->get("a", &out).is_ok());
  EXPECT_TRUE(s.faults->put("b", "2").is_ok());
}

TEST(FaultInjectingBackendTest, SameSeedSameFaults) {
  FaultOptions options;
  options.error_probability = 0.3;
  options.lost_ack_probability = 0.2;
  options.seed = 1234;
  auto run = [](const FaultOptions& o) {
    Stack s = make(o);
    std::string pattern;
    for (int i = 0; i < 300; ++i) pattern += s.faults->put("k" + std::to_string(i), "v").is_ok() ? '.' : 'x';
    return pattern;
  };
  std::string a = run(options), b = run(options);
  EXPECT_EQ(a, b);
  options.seed = 99;
  EXPECT_NE(run(options), a);
  // set_options restarts the sequence from the seed.
  options.seed = 1234;
  Stack s = make(options);
  for (int i = 0; i < 10; ++i) (void)s.faults->put("warmup", "v");
  s.faults->set_options(options);
  std::string c;
  for (int i = 0; i < 300; ++i) c += s.faults->put("k" + std::to_string(i), "v").is_ok() ? '.' : 'x';
  EXPECT_EQ(c, a);
}

TEST(FaultInjectingBackendTest, ProbabilitiesAreRoughlyHonoured) {
  FaultOptions options;
  options.error_probability = 0.2;
  options.lost_ack_probability = 0.1;
  options.partial_write_probability = 0.1;
  Stack s = make(options);
  for (int i = 0; i < 5000; ++i) (void)s.faults->put("k", "v");
  FaultStats stats = s.faults->stats();
  EXPECT_NEAR(static_cast<double>(stats.errors) / 5000, 0.2, 0.03);
  EXPECT_NEAR(static_cast<double>(stats.lost_acks) / 5000, 0.1, 0.03);
  EXPECT_NEAR(static_cast<double>(stats.partial_writes) / 5000, 0.1, 0.03);
}

TEST(FaultInjectingBackendTest, LatencyIsAddedAndCanBeSwitchedOff) {
  FaultOptions options;
  options.min_latency = microseconds(20000);
  options.max_latency = microseconds(30000);
  options.error_probability = 1;
  Stack s = make(options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.faults->put("k", "v").is_ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, microseconds(20000));
  EXPECT_EQ(s.faults->stats().delayed_calls, 1u);

  s.faults->set_enabled(false);
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s.faults->put("k", "v").is_ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, microseconds(20000));
  EXPECT_EQ(s.faults->stats().calls, 2u);
  s.faults->set_enabled(true);
  EXPECT_FALSE(s.faults->put("k", "v").is_ok());
}

// The stack the filesystem's fault tests use: with a high failure rate below
// the retry layer, every write still lands exactly as written.
TEST(FaultInjectingBackendTest, RetryingAboveHighFaultRateLosesNothing) {
  log::set_level(log::Level::kError);
  FaultOptions options;
  options.error_probability = 0.3;
  options.lost_ack_probability = 0.2;
  options.partial_write_probability = 0.2;
  auto memory = std::make_unique<MemoryBackend>();
  MemoryBackend* store = memory.get();
  auto faults = std::make_unique<FaultInjectingBackend>(std::move(memory), options);
  FaultInjectingBackend* injector = faults.get();
  RetryOptions retry;
  retry.initial_delay = std::chrono::milliseconds(0);
  retry.max_delay = std::chrono::milliseconds(0);
  RetryingBackend backend(std::move(faults), retry);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(backend.put("k" + std::to_string(i), std::to_string(i)).is_ok());
  ASSERT_TRUE(backend.put_if_absent("lock", "me").is_ok());
  std::vector<std::string> doomed;
  for (int i = 0; i < 100; ++i) doomed.push_back("k" + std::to_string(i));
  ASSERT_TRUE(backend.remove(doomed).is_ok());
  EXPECT_EQ(store->object_count(), 201u);
  EXPECT_EQ(store->snapshot()["k250"], "250");
  EXPECT_GT(injector->stats().errors, 0u);
  EXPECT_GT(backend.stats().retries, 50u);
  log::set_level(log::Level::kInfo);
}

}  // namespace
}  // namespace hoardfs
