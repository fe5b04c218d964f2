// S3Backend against the in-process fake S3 server with injected faults:
// operations succeed after retries, Retry-After is honoured, stalls time
// out, corrupt bodies are never returned, multipart uploads are aborted on
// failure, a lost CompleteMultipartUpload answer is recognised, and a server
// without DeleteObjects gets single deletes.
#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>

#include "backend/s3/s3_backend.h"
#include "fake_s3_server.h"
#include "hoardfs/log.h"

namespace hoardfs::s3 {
namespace {

using Fault = hoardfs::testing::FakeS3Server::Fault;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

class S3FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { log::set_level(log::Level::kError); }

  std::unique_ptr<S3Backend> open(const std::string& options = "") {
    std::string text = "no-ssl,stall-timeout=1,connect-timeout=2,request-retry-time=20";
    if (!options.empty()) text += "," + options;
    auto config = parse_s3_config("s3c://" + server_.endpoint() + "/bucket/pre/", parse_backend_options(text).value(),
                                  {"key", "secret"});
    EXPECT_TRUE(config.is_ok()) << config.status().to_string();
    return std::move(S3Backend::open(std::move(config.value())).value());
  }

  static std::string random_bytes(size_t n) {
    std::string data(n, '\0');
    randombytes_buf(data.data(), n);
    return data;
  }

  // Stores "x" under prefix + 0 .. n-1 and lists those keys in `keys`.
  void put_keys(S3Backend& backend, const std::string& prefix, int n, std::vector<std::string>* keys) {
    for (int i = 0; i < n; ++i) {
      keys->push_back(prefix + std::to_string(i));
      ASSERT_TRUE(backend.put(keys->back(), "x").is_ok());
    }
  }
  size_t count_requests(const std::string& start) {
    size_t n = 0;
    for (const std::string& r : server_.requests()) n += r.starts_with(start);
    return n;
  }

  hoardfs::testing::FakeS3Server server_;
};

TEST_F(S3FaultTest, ObjectsAreStoredUnderThePrefixWithTheirChecksum) {
  auto backend = open();
  ASSERT_TRUE(backend->put("a/b c", "hello").is_ok());
  EXPECT_EQ(server_.objects().at("/bucket/pre/a/b c"), "hello");
  std::string out;
  ASSERT_TRUE(backend->get("a/b c", &out).is_ok());
  EXPECT_EQ(out, "hello");
  EXPECT_EQ(backend->describe(), "s3c://" + server_.endpoint() + "/bucket/pre/");
}

TEST_F(S3FaultTest, ResetMidBodyIsRetried) {
  auto backend = open();
  const std::string data = random_bytes(300000);
  ASSERT_TRUE(backend->put("k", data).is_ok());
  server_.inject(Fault::kReset, "GET", 2);
  std::string out;
  ASSERT_TRUE(backend->get("k", &out).is_ok());
  EXPECT_TRUE(out == data);
  EXPECT_EQ(count_requests("GET /bucket/pre/k"), 3u);
}

TEST_F(S3FaultTest, ServerErrorsAreRetried) {
  auto backend = open();
  server_.inject(Fault::kInternalError, "PUT", 3);
  ASSERT_TRUE(backend->put("k", "v").is_ok());
  EXPECT_EQ(count_requests("PUT /bucket/pre/k"), 4u);
  server_.inject(Fault::kInternalError, "HEAD");
  ObjectInfo info;
  ASSERT_TRUE(backend->head("k", &info).is_ok());
  EXPECT_EQ(info.size, 1u);
}

TEST_F(S3FaultTest, SlowDownWaitsForRetryAfter) {
  auto backend = open();
  server_.set_retry_after_seconds(2);
  server_.inject(Fault::kSlowDown, "PUT");
  auto start = steady_clock::now();
  ASSERT_TRUE(backend->put("k", "v").is_ok());
  EXPECT_GE(steady_clock::now() - start, milliseconds(1900));  // not the 100 ms first backoff
}

TEST_F(S3FaultTest, StallLongerThanTheTimeoutIsAbandonedAndRetried) {
  auto backend = open();
  const std::string data = random_bytes(100000);
  ASSERT_TRUE(backend->put("k", data).is_ok());
  server_.set_stall_seconds(30);
  server_.inject(Fault::kStall, "GET");
  auto start = steady_clock::now();
  std::string out;
  ASSERT_TRUE(backend->get("k", &out).is_ok());
  EXPECT_TRUE(out == data);
  // Abandoned long before the server would have gone on (libcurl's speed
  // window makes a 1 s stall timeout fire after 1-7 s).
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(15));
}

TEST_F(S3FaultTest, CorruptBodyIsReReadAndNeverReturned) {
  auto backend = open();
  const std::string data = random_bytes(5000);
  ASSERT_TRUE(backend->put("k", data).is_ok());
  server_.inject(Fault::kCorruptBody, "GET");
  std::string out;
  ASSERT_TRUE(backend->get("k", &out).is_ok());
  EXPECT_TRUE(out == data);

  server_.inject(Fault::kCorruptBody, "GET", 3);
  out = "untouched";
  Status status = backend->get("k", &out);
  EXPECT_EQ(status.code(), Status::Code::kCorruption) << status.to_string();
  EXPECT_EQ(out, "untouched");
  EXPECT_NE(status.message().find("checksum"), std::string::npos);
}

TEST_F(S3FaultTest, PersistentFailureGivesUpWithinTheBudget) {
  auto backend = open("request-retry-time=2");
  server_.inject(Fault::kInternalError, "PUT", 1000);
  auto start = steady_clock::now();
  Status status = backend->put("k", "v");
  EXPECT_TRUE(status.retryable()) << status.to_string();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(status.message().find("HTTP 500"), std::string::npos) << status.to_string();
}

TEST_F(S3FaultTest, MissingKeyIsNotFoundWithoutRetries) {
  auto backend = open();
  std::string out = "untouched";
  EXPECT_TRUE(backend->get("nope", &out).is_not_found());
  EXPECT_EQ(out, "untouched");
  ObjectInfo info;
  EXPECT_TRUE(backend->head("nope", &info).is_not_found());
  EXPECT_EQ(count_requests("GET /bucket/pre/nope"), 3u);  // asked again twice (Swift s3api answers 404 during overwrites), never retried further
}

TEST_F(S3FaultTest, MultipartUploadWithARetriedPart) {
  auto backend = open("multipart-threshold=5M,part-size=5M,connections=3");
  const std::string data = random_bytes(12 << 20);
  server_.inject(Fault::kInternalError, "PUT?partNumber=2");
  ASSERT_TRUE(backend->put("big", data).is_ok());
  EXPECT_TRUE(server_.objects().at("/bucket/pre/big") == data);
  EXPECT_EQ(count_requests("PUT /bucket/pre/big?partNumber="), 4u);  // 3 parts + 1 retry
  EXPECT_EQ(server_.open_uploads(), 0u);
  std::string out;
  ASSERT_TRUE(backend->get("big", &out).is_ok());  // checked against the stored MD5
  EXPECT_TRUE(out == data);
}

TEST_F(S3FaultTest, FailedMultipartUploadIsAborted) {
  auto backend = open("multipart-threshold=5M,part-size=5M,request-retry-time=1");
  server_.inject(Fault::kInternalError, "PUT?partNumber=3", 1000);
  Status status = backend->put("big", random_bytes(12 << 20));
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(server_.open_uploads(), 0u);
  EXPECT_EQ(count_requests("DELETE /bucket/pre/big?uploadId="), 1u);
  EXPECT_EQ(server_.objects().count("/bucket/pre/big"), 0u);
  std::vector<UploadEntry> uploads;
  ASSERT_TRUE(backend->list_multipart_uploads(&uploads).is_ok());
  EXPECT_TRUE(uploads.empty());
}

TEST_F(S3FaultTest, LostCompleteAnswerIsRecognised) {
  auto backend = open("multipart-threshold=5M,part-size=5M");
  const std::string data = random_bytes(11 << 20);
  server_.inject(Fault::kDropRequest, "POST?uploadId");
  ASSERT_TRUE(backend->put("big", data).is_ok());
  EXPECT_TRUE(server_.objects().at("/bucket/pre/big") == data);
  EXPECT_EQ(server_.open_uploads(), 0u);
}

TEST_F(S3FaultTest, BatchDeleteFallsBackToSingleDeletes) {
  auto backend = open();
  std::vector<std::string> keys;
  ASSERT_NO_FATAL_FAILURE(put_keys(*backend, "d/", 30, &keys));
  server_.inject(Fault::kNotImplemented, "POST?delete");
  ASSERT_TRUE(backend->remove({keys.begin(), keys.begin() + 10}).is_ok());
  EXPECT_EQ(count_requests("DELETE /bucket/pre/d/"), 10u);
  ASSERT_TRUE(backend->remove({keys.begin() + 10, keys.end()}).is_ok());
  EXPECT_EQ(count_requests("POST /bucket?delete"), 1u);  // not asked again
  EXPECT_TRUE(server_.objects().empty());
}

// Swift's s3api, when busy, answers a DeleteObjects 200 with
// "ServiceUnavailable: Please reduce your request rate." for a key.
TEST_F(S3FaultTest, BatchDeleteWithAKeyUnavailableForNowIsRetried) {
  auto backend = open();
  std::vector<std::string> keys;
  ASSERT_NO_FATAL_FAILURE(put_keys(*backend, "u/", 5, &keys));
  server_.inject(Fault::kKeyUnavailable, "POST?delete");
  Status removed = backend->remove(keys);
  ASSERT_TRUE(removed.is_ok()) << removed.to_string();
  EXPECT_EQ(count_requests("POST /bucket?delete"), 2u);
  EXPECT_TRUE(server_.objects().empty());
}

TEST_F(S3FaultTest, BatchDeleteSplitsIntoBatches) {
  auto backend = open();
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) keys.push_back("k" + std::to_string(i));
  ASSERT_TRUE(backend->remove(keys).is_ok());
  EXPECT_EQ(count_requests("POST /bucket?delete"), 10u);  // 250 keys each on s3c://
}

TEST_F(S3FaultTest, LostAnswerToAConditionalPutIsRecognised) {
  auto backend = open("conditional-put=yes");
  server_.inject(Fault::kDropRequest, "PUT");
  ASSERT_TRUE(backend->put_if_absent("lock", "mine").is_ok());
  EXPECT_EQ(count_requests("PUT /bucket/pre/lock"), 2u);
  EXPECT_EQ(backend->put_if_absent("lock", "mine").code(), Status::Code::kAlreadyExists);
}

TEST_F(S3FaultTest, LostAnswerToAMultipartInitiateLeavesNoUpload) {
  auto backend = open("multipart-threshold=5M,part-size=5M");
  server_.inject(Fault::kDropRequest, "POST?uploads");
  const std::string data = random_bytes(6 << 20);
  ASSERT_TRUE(backend->put("big", data).is_ok());
  EXPECT_EQ(count_requests("POST /bucket/pre/big?uploads"), 2u);
  EXPECT_EQ(server_.open_uploads(), 0u);
  EXPECT_TRUE(server_.objects().at("/bucket/pre/big") == data);
}

TEST_F(S3FaultTest, PutIfAbsentProbesOnceAndRefusesExistingKeys) {
  auto backend = open();
  ASSERT_TRUE(backend->put_if_absent("lock", "a").is_ok());
  EXPECT_EQ(backend->put_if_absent("lock", "b").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(count_requests("PUT /bucket/pre/hoardfs-conditional-put-probe-"), 2u);
  EXPECT_EQ(count_requests("DELETE /bucket/pre/hoardfs-conditional-put-probe-"), 1u);
  EXPECT_EQ(server_.objects().size(), 1u);

  auto refusing = open("conditional-put=no");
  EXPECT_EQ(refusing->put_if_absent("other", "a").code(), Status::Code::kUnsupported);
}

TEST_F(S3FaultTest, RangeReads) {
  auto backend = open();
  ASSERT_TRUE(backend->put("r", "0123456789").is_ok());
  std::string out;
  ASSERT_TRUE(backend->get_range("r", 2, 3, &out).is_ok());
  EXPECT_EQ(out, "234");
  ASSERT_TRUE(backend->get_range("r", 8, 100, &out).is_ok());
  EXPECT_EQ(out, "89");
  ASSERT_TRUE(backend->get_range("r", 10, 5, &out).is_ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(backend->get_range("r", 3, 0, &out).is_ok());
  EXPECT_EQ(out, "");
  EXPECT_TRUE(backend->get_range("missing", 0, 0, &out).is_not_found());
  EXPECT_TRUE(backend->get_range("missing", 0, 5, &out).is_not_found());
}

TEST_F(S3FaultTest, BadKeysAreRefusedBeforeAnyRequest) {
  auto backend = open();
  EXPECT_EQ(backend->put("a/../b", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->put("", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty());
}

}  // namespace
}  // namespace hoardfs::s3
