// The shared HTTP layer: retry classification, Retry-After, the backoff loop,
// and the client's pool bound and timeouts against a local server.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "backend/http/http_client.h"
#include "fake_s3_server.h"

namespace hoardfs::http {
namespace {

using std::chrono::milliseconds;
using hoardfs::testing::FakeS3Server;

TEST(RetryClassification, HttpStatuses) {
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L, 599L}) EXPECT_TRUE(is_retryable_http_status(s)) << s;
  for (long s : {200L, 301L, 400L, 401L, 403L, 404L, 409L, 412L, 416L, 501L, 505L}) {
    EXPECT_FALSE(is_retryable_http_status(s)) << s;
  }
}

TEST(RetryClassification, CurlCodes) {
  for (int code : {6, 7, 18, 28, 35, 52, 55, 56}) EXPECT_TRUE(is_retryable_curl_code(code)) << code;
  // 60: peer certificate not trusted; 77: bad CA file; 1: unsupported protocol; 3: malformed URL
  for (int code : {0, 1, 3, 60, 77}) EXPECT_FALSE(is_retryable_curl_code(code)) << code;
}

TEST(RetryAfter, SecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("3", now), milliseconds(3000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("", now).has_value());
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("-5", now).has_value());
  EXPECT_EQ(parse_retry_after("99999999999", now), milliseconds(24LL * 3600 * 1000));  // capped at a day
}

TEST(StatusFromHttp, GenericMapping) {
  EXPECT_EQ(status_from_http(401, "GET x").code(), Status::Code::kAuthFailed);
  EXPECT_EQ(status_from_http(403, "GET x").code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(status_from_http(404, "GET x").is_not_found());
  EXPECT_EQ(status_from_http(507, "PUT x").code(), Status::Code::kNoSpace);
  EXPECT_TRUE(status_from_http(503, "GET x").retryable());
  EXPECT_FALSE(status_from_http(400, "GET x", "bad").retryable());
  EXPECT_NE(status_from_http(400, "GET x", "bad").message().find("GET x: HTTP 400 (bad)"), std::string::npos);
}

TEST(Retrier, RetriesTransientFailuresWithGrowingJitteredPauses) {
  std::vector<milliseconds> pauses;
  RetryPolicy policy;
  policy.initial_delay = milliseconds(100);
  policy.max_delay = milliseconds(1000);
  Retrier retrier(policy, [&](milliseconds d) { pauses.push_back(d); });
  int calls = 0;
  Status status = retrier.run("op", [&]() -> AttemptResult {
    return {++calls < 6 ? Status::transient("flaky") : Status::ok(), std::nullopt};
  });
  EXPECT_TRUE(status.is_ok());
  EXPECT_EQ(calls, 6);
  ASSERT_EQ(pauses.size(), 5u);
  long long cap = 100;
  for (milliseconds pause : pauses) {
    EXPECT_GE(pause.count(), cap / 2);
    EXPECT_LE(pause.count(), cap);
    cap = std::min(cap * 2, 1000LL);
  }
}

TEST(Retrier, HonoursRetryAfter) {
  std::vector<milliseconds> pauses;
  Retrier retrier({}, [&](milliseconds d) { pauses.push_back(d); });
  int calls = 0;
  Status status = retrier.run("op", [&]() -> AttemptResult {
    if (++calls == 1) return {Status::transient("503 SlowDown"), milliseconds(2500)};
    return {Status::ok(), std::nullopt};
  });
  EXPECT_TRUE(status.is_ok());
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_GE(pauses[0], milliseconds(2500));
}

TEST(Retrier, PermanentFailuresAreNotRepeated) {
  int calls = 0;
  Retrier retrier({}, [](milliseconds) { FAIL() << "no pause expected"; });
  Status status = retrier.run("op", [&]() -> AttemptResult { return {Status::auth_failed("bad key"), std::nullopt}; });
  EXPECT_EQ(status.code(), Status::Code::kAuthFailed);
  EXPECT_EQ(++calls, 1);
}

TEST(Retrier, StopsAtMaxAttemptsAndWithinTheTimeBudget) {
  RetryPolicy policy;
  policy.max_attempts = 4;
  int calls = 0;
  Retrier counted(policy, [](milliseconds) {});
  Status status = counted.run("op", [&]() -> AttemptResult { ++calls; return {Status::transient("down"), std::nullopt}; });
  EXPECT_TRUE(status.retryable());
  EXPECT_EQ(calls, 4);
  EXPECT_NE(status.message().find("after 4 attempts"), std::string::npos);

  policy = RetryPolicy{};
  policy.initial_delay = milliseconds(50);
  policy.max_delay = milliseconds(50);
  policy.max_total = milliseconds(400);
  Retrier timed(policy);
  auto start = std::chrono::steady_clock::now();
  status = timed.run("op", [&]() -> AttemptResult { return {Status::transient("down"), std::nullopt}; });
  auto spent = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(status.retryable());
  EXPECT_LT(spent, milliseconds(1000));
  // A Retry-After beyond the budget ends the retries at once.
  start = std::chrono::steady_clock::now();
  status = timed.run("op", [&]() -> AttemptResult { return {Status::transient("503"), milliseconds(60000)}; });
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));
}

TEST(Client, CaFileMustBeReadable) {
  ClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto client = Client::create(options);
  ASSERT_FALSE(client.is_ok());
  EXPECT_EQ(client.status().code(), Status::Code::kInvalidArgument);
}

TEST(Client, RequestAndResponseWithHeadersAndBody) {
  FakeS3Server server;
  auto client = Client::create({}).value();
  Response response;
  Request put{"PUT", "http://" + server.endpoint() + "/b/key", {{"x-amz-meta-hoardfs-md5", "abc"}}, "hello"};
  ASSERT_TRUE(client->perform(put, &response).is_ok());
  EXPECT_EQ(response.status, 200);
  ASSERT_NE(response.header("ETag"), nullptr);
  EXPECT_EQ(*response.header("etag"), "\"5d41402abc4b2a76b9719d911017c592\"");
  Request get{"GET", "http://" + server.endpoint() + "/b/key", {}, {}};
  ASSERT_TRUE(client->perform(get, &response).is_ok());
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(*response.header("X-AMZ-META-HOARDFS-MD5"), "abc");
  Request head{"HEAD", "http://" + server.endpoint() + "/b/key", {}, {}};
  ASSERT_TRUE(client->perform(head, &response).is_ok());
  EXPECT_EQ(*response.header("content-length"), "5");
  EXPECT_EQ(response.body, "");
}

TEST(Client, ConnectionsAreReusedAndBounded) {
  FakeS3Server server;
  ClientOptions options;
  options.max_connections = 2;
  auto client = Client::create(options).value();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        Response response;
        Request put{"PUT", "http://" + server.endpoint() + "/b/k" + std::to_string(t), {}, "x"};
        if (!client->perform(put, &response).is_ok() || response.status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.requests().size(), 80u);
  EXPECT_LE(server.connections_accepted(), 2u);
}

TEST(Client, RefusedConnectionIsRetryable) {
  int port;
  {
    FakeS3Server gone;
    port = gone.port();
  }
  auto client = Client::create({}).value();
  Response response;
  Status status = client->perform({"GET", "http://127.0.0.1:" + std::to_string(port) + "/b/k", {}, {}}, &response);
  EXPECT_FALSE(status.is_ok());
  EXPECT_TRUE(status.retryable()) << status.to_string();
}

TEST(Client, StalledTransferTimesOutRetryably) {
  FakeS3Server server;
  server.set_stall_seconds(20);
  auto client = Client::create({}).value();
  Response response;
  ASSERT_TRUE(client->perform({"PUT", "http://" + server.endpoint() + "/b/k", {}, std::string(1000, 'x')}, &response).is_ok());
  server.inject(FakeS3Server::Fault::kStall, "GET");
  ClientOptions options;
  options.low_speed_time = std::chrono::seconds(1);
  auto impatient = Client::create(options).value();
  auto start = std::chrono::steady_clock::now();
  Status status = impatient->perform({"GET", "http://" + server.endpoint() + "/b/k", {}, {}}, &response);
  EXPECT_TRUE(status.retryable()) << status.to_string();
  // libcurl averages the speed over the last ~5 s, so a 1 s limit fires after 1-7 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(12));
}

}  // namespace
}  // namespace hoardfs::http
