// RetryingBackend on a scripted backend and a fake clock: what is retried,
// what is not, how long it waits, when it gives up.
#include <gtest/gtest.h>

#include <deque>

#include "backend/memory/memory_backend.h"
#include "hoardfs/backend_wrappers.h"

namespace hoardfs {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A MemoryBackend that first answers with scripted failures. A scripted
// failure marked `after` takes effect first (a lost acknowledgement).
class ScriptedBackend final : public Backend {
 public:
  struct Step {
    Status status;
    bool after = false;
  };
  std::deque<Step> script;
  int calls = 0;
  MemoryBackend store;

  std::string describe() const override { return "scripted"; }
  Status get(const std::string& key, std::string* out) override {
    return next([&] { return store.get(key, out); });
  }
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override {
    return next([&] { return store.get_range(key, offset, length, out); });
  }
  Status put(const std::string& key, std::string_view data) override {
    return next([&] { return store.put(key, data); });
  }
  Status put_if_absent(const std::string& key, std::string_view data) override {
    return next([&] { return store.put_if_absent(key, data); });
  }
  Status remove(const std::vector<std::string>& keys) override {
    return next([&] { return store.remove(keys); });
  }
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override {
    return next([&] { return store.list(prefix, start_after, max_keys, page); });
  }
  Status head(const std::string& key, ObjectInfo* info) override {
    return next([&] { return store.head(key, info); });
  }

 private:
  template <typename F>
  Status next(F&& real) {
    ++calls;
    if (script.empty()) return real();
    Step step = script.front();
    script.pop_front();
    if (step.after) real();
    return step.status;
  }
};

class RetryingBackendTest : public ::testing::Test {
 protected:
  RetryOptions fake_clock_options() {
    RetryOptions options;
    options.initial_delay = milliseconds(100);
    options.max_delay = milliseconds(2000);
    options.max_total = milliseconds(10000);
    options.seed = 42;
    options.now = [this] { return now_; };
    options.sleep = [this](nanoseconds d) {
      sleeps_.push_back(d);
      now_ += d;
    };
    return options;
  }
  void make(RetryOptions options) {
    auto inner = std::make_unique<ScriptedBackend>();
    scripted_ = inner.get();
    retrying_ = std::make_unique<RetryingBackend>(std::move(inner), std::move(options));
  }
  void make() { make(fake_clock_options()); }

  std::chrono::steady_clock::time_point now_{};
  std::vector<nanoseconds> sleeps_;
  ScriptedBackend* scripted_ = nullptr;
  std::unique_ptr<RetryingBackend> retrying_;
};

TEST_F(RetryingBackendTest, RetriesTransientFailuresUntilSuccess) {
  make();
  for (int i = 0; i < 3; ++i) scripted_->script.push_back({Status::transient("HTTP 503")});
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(retrying_->put("k", "v").is_ok());
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(scripted_->calls, 4);
  EXPECT_EQ(retrying_->stats().retries, 3u);
  EXPECT_EQ(retrying_->stats().calls, 1u);
  EXPECT_EQ(retrying_->stats().gave_up, 0u);
  ASSERT_EQ(sleeps_.size(), 3u);
  // Full jitter below an exponentially growing cap.
  for (size_t i = 0; i < sleeps_.size(); ++i) EXPECT_LE(sleeps_[i], milliseconds(100 << i));
  // Each retry is logged, naming the backend, the call and the error.
  EXPECT_NE(log.find("scripted: put k failed (HTTP 503); retry 1"), std::string::npos) << log;
  EXPECT_NE(log.find("retry 3"), std::string::npos) << log;
  std::string out;
  ASSERT_TRUE(retrying_->get("k", &out).is_ok());
  EXPECT_EQ(out, "v");
}

TEST_F(RetryingBackendTest, PermanentErrorsReturnAtOnce) {
  make();
  for (Status permanent : {Status::auth_failed("HTTP 403 bad signature"), Status::permission_denied("denied"),
                           Status::no_space("quota"), Status::io_error("HTTP 400"),
                           Status::corruption("bad md5")}) {
    scripted_->calls = 0;
    scripted_->script = {{permanent}};
    Status status = retrying_->put("k", "v");
    EXPECT_EQ(status.code(), permanent.code());
    EXPECT_EQ(status.message(), permanent.message());
    EXPECT_EQ(scripted_->calls, 1);
  }
  std::string out;
  EXPECT_TRUE(retrying_->get("missing", &out).is_not_found());
  EXPECT_EQ(retrying_->stats().retries, 0u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryingBackendTest, GivesUpWhenTheTimeBudgetIsSpent) {
  make();
  for (int i = 0; i < 10000; ++i) scripted_->script.push_back({Status::transient("timeout")});
  ::testing::internal::CaptureStderr();
  Status status = retrying_->get("k", nullptr);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_TRUE(status.retryable()) << "the caller may still try again later";
  EXPECT_NE(status.message().find("gave up after"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("timeout"), std::string::npos) << status.message();
  EXPECT_LE(now_ - std::chrono::steady_clock::time_point{}, milliseconds(10000));
  EXPECT_GT(scripted_->calls, 5);
  EXPECT_LT(scripted_->calls, 200);
  EXPECT_EQ(retrying_->stats().gave_up, 1u);
  // Late waits stay under the cap.
  for (auto d : sleeps_) EXPECT_LE(d, milliseconds(2000));
}

TEST_F(RetryingBackendTest, MaxAttemptsBoundsTries) {
  RetryOptions options = fake_clock_options();
  options.max_attempts = 3;
  make(options);
  for (int i = 0; i < 10; ++i) scripted_->script.push_back({Status::transient("reset")});
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(retrying_->head("k", nullptr).is_ok());
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(scripted_->calls, 3);
}

TEST_F(RetryingBackendTest, ZeroBudgetDisablesRetrying) {
  RetryOptions options = fake_clock_options();
  options.max_total = milliseconds(0);
  make(options);
  scripted_->script = {{Status::transient("reset")}};
  EXPECT_TRUE(retrying_->put("k", "v").retryable());
  EXPECT_EQ(scripted_->calls, 1);
}

TEST_F(RetryingBackendTest, EveryCallIsRetried) {
  make();
  ASSERT_TRUE(scripted_->store.put("k", "0123456789").is_ok());
  auto fail_once = [&] { scripted_->script = {{Status::transient("503")}}; };
  ::testing::internal::CaptureStderr();
  std::string out;
  fail_once();
  EXPECT_TRUE(retrying_->get("k", &out).is_ok());
  fail_once();
  EXPECT_TRUE(retrying_->get_range("k", 2, 3, &out).is_ok());
  EXPECT_EQ(out, "234");
  fail_once();
  ObjectInfo info;
  EXPECT_TRUE(retrying_->head("k", &info).is_ok());
  fail_once();
  ListPage page;
  EXPECT_TRUE(retrying_->list("", "", 10, &page).is_ok());
  EXPECT_EQ(page.objects.size(), 1u);
  fail_once();
  EXPECT_TRUE(retrying_->remove({"k"}).is_ok());
  fail_once();
  EXPECT_TRUE(retrying_->put_if_absent("k2", "v").is_ok());
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(retrying_->stats().retries, 6u);
  EXPECT_EQ(retrying_->stats().calls, 6u);
}

// The first try created the object but its answer was lost; the retry meets
// our own object and must not report "someone else holds it".
TEST_F(RetryingBackendTest, PutIfAbsentWithLostAckSucceeds) {
  make();
  scripted_->script = {{Status::transient("timeout"), /*after=*/true}};
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(retrying_->put_if_absent("hoardfs.lock", "host-a pid 1 nonce 77").is_ok());
  ::testing::internal::GetCapturedStderr();
  std::string out;
  ASSERT_TRUE(scripted_->store.get("hoardfs.lock", &out).is_ok());
  EXPECT_EQ(out, "host-a pid 1 nonce 77");
}

TEST_F(RetryingBackendTest, PutIfAbsentOfSomeoneElsesObjectStillFails) {
  make();
  ASSERT_TRUE(scripted_->store.put("hoardfs.lock", "host-b").is_ok());
  EXPECT_EQ(retrying_->put_if_absent("hoardfs.lock", "host-a").code(), Status::Code::kAlreadyExists);
  // Even after a transient failure, different bytes mean another owner.
  scripted_->script = {{Status::transient("timeout")}};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(retrying_->put_if_absent("hoardfs.lock", "host-a").code(), Status::Code::kAlreadyExists);
  ::testing::internal::GetCapturedStderr();
}

TEST_F(RetryingBackendTest, JitterSpreadsWaitsAndGrows) {
  make();
  std::vector<nanoseconds> first, fifth;
  ::testing::internal::CaptureStderr();
  for (int round = 0; round < 200; ++round) {
    sleeps_.clear();
    for (int i = 0; i < 5; ++i) scripted_->script.push_back({Status::transient("503")});
    ASSERT_TRUE(retrying_->put("k", "v").is_ok());
    first.push_back(sleeps_[0]);
    fifth.push_back(sleeps_[4]);
  }
  ::testing::internal::GetCapturedStderr();
  auto mean = [](const std::vector<nanoseconds>& v) {
    double sum = 0;
    for (auto d : v) sum += static_cast<double>(d.count());
    return sum / static_cast<double>(v.size()) / 1e6;  // ms
  };
  // Uniform in [0, cap]: means near cap/2 (cap 100 ms, then 1600 ms).
  EXPECT_NEAR(mean(first), 50, 15);
  EXPECT_NEAR(mean(fifth), 800, 200);
  EXPECT_NE(first[0], first[1]);
}

TEST_F(RetryingBackendTest, DescribeShowsTheStack) {
  RetryingBackend retrying(std::make_unique<MemoryBackend>());
  EXPECT_EQ(retrying.describe(), "Retrying(memory)");
}

}  // namespace
}  // namespace hoardfs
