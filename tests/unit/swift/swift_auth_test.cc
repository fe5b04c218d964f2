// TokenSource (single-flight renewal) with a scripted authenticator, and the
// pure parts of Keystone v3: request body, catalog, expiry, version discovery.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "backend/swift/swift_auth.h"

namespace hoardfs::swift {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// Hands out "token-1", "token-2", ... slowly (so that racing threads overlap),
// or fails while `fail` is set.
class CountingAuthenticator : public Authenticator {
 public:
  explicit CountingAuthenticator(std::atomic<int>* calls, std::atomic<bool>* fail = nullptr,
                                 std::optional<system_clock::duration> lifetime = std::nullopt,
                                 std::function<system_clock::time_point()> now = {})
      : calls_(calls), fail_(fail), lifetime_(lifetime), now_(std::move(now)) {}

  Result<AuthToken> authenticate() override {
    int n = ++*calls_;
    bool failing = fail_ != nullptr && fail_->load();
    std::this_thread::sleep_for(std::chrono::milliseconds(failing ? 300 : 50));
    if (failing) return Status::auth_failed("refused");
    AuthToken token{"token-" + std::to_string(n), "http://swift/v1/AUTH_x", std::nullopt};
    if (lifetime_) token.expires_at = (now_ ? now_() : system_clock::now()) + *lifetime_;
    return token;
  }

 private:
  std::atomic<int>* calls_;
  std::atomic<bool>* fail_;
  std::optional<system_clock::duration> lifetime_;
  std::function<system_clock::time_point()> now_;
};

// Runs f on `count` threads released together.
template <typename F>
void on_threads(int count, F f) {
  std::latch start(count);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      f();
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(TokenSource, FirstUseAuthenticatesOnceForAllThreads) {
  std::atomic<int> calls{0};
  TokenSource tokens(std::make_unique<CountingAuthenticator>(&calls));
  std::atomic<int> ok{0};
  on_threads(16, [&] {
    auto lease = tokens.current();
    if (lease && lease->token->token == "token-1") ++ok;
  });
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(tokens.authentications(), 1u);
}

TEST(TokenSource, RefusedTokenIsRenewedOnceUnderConcurrency) {
  std::atomic<int> calls{0};
  TokenSource tokens(std::make_unique<CountingAuthenticator>(&calls));
  auto first = tokens.current();
  ASSERT_TRUE(first);
  std::atomic<int> renewed{0};
  on_threads(16, [&] {
    auto lease = tokens.renew(first->generation);
    if (lease && lease->token->token == "token-2" && lease->generation != first->generation) ++renewed;
  });
  EXPECT_EQ(renewed.load(), 16);
  EXPECT_EQ(calls.load(), 2);
  // A thread that comes late with the old generation gets the new token.
  auto late = tokens.renew(first->generation);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->token->token, "token-2");
  EXPECT_EQ(calls.load(), 2);
}

TEST(TokenSource, WaitersShareAFailedRenewalInsteadOfRetrying) {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  TokenSource tokens(std::make_unique<CountingAuthenticator>(&calls, &fail));
  auto first = tokens.current();
  ASSERT_TRUE(first);
  fail = true;
  std::atomic<int> failures{0};
  on_threads(16, [&] {
    auto lease = tokens.renew(first->generation);
    if (!lease && lease.status().code() == Status::Code::kAuthFailed) ++failures;
  });
  EXPECT_EQ(failures.load(), 16);
  // One attempt for the whole crowd, give or take a thread that arrived after it ended.
  EXPECT_LE(calls.load(), 3);
  fail = false;
  auto recovered = tokens.renew(first->generation);
  ASSERT_TRUE(recovered) << recovered.status().to_string();
}

TEST(TokenSource, RenewsShortlyBeforeExpiry) {
  std::atomic<int64_t> now_seconds{1'000'000};
  auto now = [&] { return system_clock::time_point(seconds(now_seconds.load())); };
  std::atomic<int> calls{0};
  TokenSource tokens(std::make_unique<CountingAuthenticator>(&calls, nullptr, seconds(3600), now), now);
  ASSERT_EQ(tokens.current()->token->token, "token-1");
  now_seconds += 3500;  // 100 s left: still more than the one-minute margin
  EXPECT_EQ(tokens.current()->token->token, "token-1");
  now_seconds += 50;  // 50 s left
  EXPECT_EQ(tokens.current()->token->token, "token-2");
  EXPECT_EQ(calls.load(), 2);
}

TEST(TokenSource, FailedEarlyRenewalKeepsTheValidToken) {
  std::atomic<int64_t> now_seconds{1'000'000};
  auto now = [&] { return system_clock::time_point(seconds(now_seconds.load())); };
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  TokenSource tokens(std::make_unique<CountingAuthenticator>(&calls, &fail, seconds(100), now), now);
  ASSERT_EQ(tokens.current()->token->token, "token-1");
  fail = true;
  now_seconds += 90;  // inside the margin (25 s for a 100 s token), not expired
  auto lease = tokens.current();
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->token->token, "token-1");
  EXPECT_EQ(calls.load(), 2);
  // Not on every request meanwhile.
  EXPECT_TRUE(tokens.current());
  EXPECT_EQ(calls.load(), 2);
  now_seconds += 20;  // expired: now the failure shows
  EXPECT_FALSE(tokens.current());
}

SwiftConfig keystone_config() {
  SwiftConfig config;
  config.keystone = true;
  config.auth_endpoint = "http://keystone:5000";
  config.region = "RegionTwo";
  config.container = "c";
  config.login = "proj:alice";
  config.password = "secret";
  config.user_domain = "users";
  config.project_domain = "projects";
  return config;
}

TEST(Keystone, RequestBodyScopesTheProjectByName) {
  auto body = nlohmann::json::parse(keystone_request_body(keystone_config()));
  const auto& auth = body["auth"];
  EXPECT_EQ(auth["identity"]["methods"], nlohmann::json::array({"password"}));
  EXPECT_EQ(auth["identity"]["password"]["user"]["name"], "alice");
  EXPECT_EQ(auth["identity"]["password"]["user"]["password"], "secret");
  EXPECT_EQ(auth["identity"]["password"]["user"]["domain"]["name"], "users");
  EXPECT_EQ(auth["scope"]["project"]["name"], "proj");
  EXPECT_EQ(auth["scope"]["project"]["domain"]["name"], "projects");
}

const char* kCatalog = R"({"token": {"expires_at": "2030-01-02T03:04:05.000000Z", "catalog": [
  {"type": "identity", "endpoints": [{"interface": "public", "region_id": "RegionTwo", "url": "http://k/v3"}]},
  {"type": "object-store", "name": "swift", "endpoints": [
    {"interface": "internal", "region_id": "RegionTwo", "url": "http://internal/v1/AUTH_p"},
    {"interface": "public", "region_id": "RegionOne", "url": "http://one/v1/AUTH_p"},
    {"interface": "public", "region_id": "RegionTwo", "region": "RegionTwo", "url": "https://two/v1/AUTH_p/"}]}]}})";

TEST(Keystone, CatalogGivesThePublicEndpointOfTheRegion) {
  auto token = parse_keystone_token("tok", kCatalog, keystone_config());
  ASSERT_TRUE(token) << token.status().to_string();
  EXPECT_EQ(token->token, "tok");
  EXPECT_EQ(token->storage_url, "https://two/v1/AUTH_p");
  ASSERT_TRUE(token->expires_at);
  EXPECT_EQ(system_clock::to_time_t(*token->expires_at), 1893553445);
  SwiftConfig internal = keystone_config();
  internal.interface = "internal";
  EXPECT_EQ(parse_keystone_token("tok", kCatalog, internal)->storage_url, "http://internal/v1/AUTH_p");
}

TEST(Keystone, MissingRegionNamesTheRegionsThereAre) {
  SwiftConfig config = keystone_config();
  config.region = "RegionNine";
  auto token = parse_keystone_token("tok", kCatalog, config);
  ASSERT_FALSE(token);
  EXPECT_EQ(token.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(token.status().message().find("region 'RegionNine'"), std::string::npos) << token.status().message();
  EXPECT_NE(token.status().message().find("RegionOne, RegionTwo"), std::string::npos) << token.status().message();
}

TEST(Keystone, CatalogWithoutObjectStore) {
  auto token = parse_keystone_token(
      "tok", R"({"token": {"catalog": [{"type": "identity", "endpoints": []}]}})", keystone_config());
  ASSERT_FALSE(token);
  EXPECT_EQ(token.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(token.status().message().find("no object-store"), std::string::npos) << token.status().message();
  auto no_catalog = parse_keystone_token("tok", R"({"token": {}})", keystone_config());
  ASSERT_FALSE(no_catalog);
  EXPECT_NE(no_catalog.status().message().find("no service catalog"), std::string::npos);
  EXPECT_FALSE(parse_keystone_token("tok", "<html>", keystone_config()));
}

TEST(Keystone, Iso8601) {
  EXPECT_EQ(system_clock::to_time_t(*parse_iso8601("1970-01-01T00:01:40Z")), 100);
  EXPECT_EQ(system_clock::to_time_t(*parse_iso8601("1970-01-01T00:01:40.123456Z")), 100);
  EXPECT_EQ(system_clock::to_time_t(*parse_iso8601("1970-01-01T00:01:40+00:00")), 100);
  EXPECT_FALSE(parse_iso8601("1970-01-01T00:01:40+02:00"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
}

TEST(Keystone, VersionDiscovery) {
  EXPECT_EQ(keystone_versions(R"({"versions": {"values": [{"id": "v3.14", "status": "stable"},
                                                          {"id": "v2.0", "status": "deprecated"}]}})"),
            "v3.14 (stable), v2.0 (deprecated)");
  EXPECT_EQ(keystone_versions(R"({"version": {"id": "v2.0", "status": "stable"}})"), "v2.0 (stable)");
  EXPECT_EQ(keystone_versions("not json"), "");
}

TEST(ResponseDetail, KeystoneJsonAndSwiftHtml) {
  http::Response keystone;
  keystone.body = R"({"error": {"message": "The request you have made requires authentication.", "code": 401}})";
  EXPECT_EQ(response_detail(keystone), "The request you have made requires authentication.");
  http::Response swift;
  swift.body = "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>";
  EXPECT_EQ(response_detail(swift), "Not Found The resource could not be found.");
  http::Response longer;
  longer.body = std::string(1000, 'x');
  EXPECT_EQ(response_detail(longer).size(), 200u);
}

}  // namespace
}  // namespace hoardfs::swift
