// The Swift backend's protocol handling against FakeSwift: what it sends,
// and what it makes of refusals, missing containers and busy servers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

#include "backend/swift/swift_backend.h"
#include "fake_swift.h"
#include "hoardfs/log.h"

namespace hoardfs::swift {
namespace {

using hoardfs::testing::FakeSwift;

const bool quiet = (log::set_level(log::Level::kError), true);

Result<std::unique_ptr<SwiftBackend>> open_fake(FakeSwift& fake, const std::string& container = "c",
                                                const std::string& password = "testing", bool keystone = false,
                                                const std::string& region = "RegionOne") {
  const std::string url = keystone ? "swiftks://" + fake.endpoint() + "/" + region + ":" + container + "/pre/"
                                   : "swift://" + fake.endpoint() + "/" + container + "/pre/";
  BackendOptions options;
  options.values = {{"no-ssl", ""}, {"request-retry-time", "10"}};
  auto config = parse_swift_config(url, options, {"test:tester", password});
  if (!config) return config.status();
  return SwiftBackend::open(std::move(config.value()));
}

size_t count_requests(FakeSwift& fake, const std::string& start) {
  auto all = fake.requests();
  return std::count_if(all.begin(), all.end(), [&](const std::string& r) { return r.starts_with(start); });
}

TEST(SwiftBackend, RoundTripWithAwkwardKey) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  const std::string key = "dir/a b/./c+d%e?f#g&h=i";
  ASSERT_TRUE((*backend)->put(key, "hello"));
  EXPECT_TRUE(fake.has_object("c", "pre/" + key));
  EXPECT_EQ(count_requests(fake, "PUT /v1/AUTH_test/c/pre/dir/a%20b/%2E/c%2Bd%25e%3Ff%23g%26h%3Di"), 1u);
  std::string out;
  ASSERT_TRUE((*backend)->get(key, &out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE((*backend)->get_range(key, 1, 3, &out));
  EXPECT_EQ(out, "ell");
  ASSERT_TRUE((*backend)->get_range(key, 10, 3, &out));
  EXPECT_EQ(out, "");
  ObjectInfo info;
  ASSERT_TRUE((*backend)->head(key, &info));
  EXPECT_EQ(info.size, 5u);
  ListPage page;
  ASSERT_TRUE((*backend)->list("dir/", "", 10, &page));
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_EQ(page.objects[0].key, key);
  EXPECT_EQ(count_requests(fake, "GET /v1/AUTH_test/c?format=json&limit=11&prefix=pre%2Fdir%2F"), 1u);
  EXPECT_EQ((*backend)->put_if_absent(key, "again").code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE((*backend)->get("missing", &out).is_not_found());
}

TEST(SwiftBackend, RevokedTokenIsRenewedOnceAcrossThreads) {
  FakeSwift fake;
  fake.create_container("c");
  auto opened = open_fake(fake);
  ASSERT_TRUE(opened) << opened.status().to_string();
  SwiftBackend& backend = **opened;
  ASSERT_TRUE(backend.put("seed", "x"));
  EXPECT_EQ(fake.auth_calls.load(), 1);
  fake.revoke_tokens();

  constexpr int kThreads = 16;
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      std::string key = "k" + std::to_string(t), out;
      if (!backend.put(key, key) || !backend.get(key, &out) || out != key) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fake.auth_calls.load(), 2);
  EXPECT_EQ(backend.authentications(), 2u);
}

TEST(SwiftBackend, TokenRefusedEvenWhenFreshIsAuthFailedWithoutLooping) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  fake.refuse_all_tokens = true;
  std::string out;
  Status status = (*backend)->get("k", &out);
  EXPECT_EQ(status.code(), Status::Code::kAuthFailed) << status.to_string();
  EXPECT_EQ(fake.auth_calls.load(), 2);
}

TEST(SwiftBackend, WrongPasswordFailsAtOpen) {
  FakeSwift fake;
  auto backend = open_fake(fake, "c", "wrong");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kAuthFailed);
  EXPECT_NE(backend.status().message().find("test:tester"), std::string::npos) << backend.status().message();
}

TEST(SwiftBackend, MissingContainerIsReportedUntilCreated) {
  FakeSwift fake;
  auto backend = open_fake(fake, "nothere");
  ASSERT_TRUE(backend) << backend.status().to_string();
  std::string out;
  for (Status status : {(*backend)->get("k", &out), (*backend)->put("k", "v"), (*backend)->remove({"k"})}) {
    EXPECT_TRUE(status.is_not_found()) << status.to_string();
    EXPECT_NE(status.message().find("container 'nothere' does not exist"), std::string::npos) << status.to_string();
  }
  ListPage page;
  EXPECT_TRUE((*backend)->list("", "", 10, &page).is_not_found());
  bool created = false;
  ASSERT_TRUE((*backend)->ensure_container(&created));
  EXPECT_TRUE(created);
  ASSERT_TRUE((*backend)->put("k", "v"));
  ASSERT_TRUE((*backend)->ensure_container(&created));
  EXPECT_FALSE(created);
}

TEST(SwiftBackend, BusyServerIsRetriedAfterRetryAfter) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  fake.unavailable_next = 1;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*backend)->put("k", "v"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
  EXPECT_TRUE(fake.has_object("c", "pre/k"));
}

TEST(SwiftBackend, DamageInTransitIsCaughtByEtagsAndRetried) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  ASSERT_TRUE((*backend)->put("k", "precious bytes"));
  EXPECT_EQ(fake.etag_mismatches.load(), 0);  // the ETag we sent matched
  fake.corrupt_next_gets = 1;
  std::string out;
  ASSERT_TRUE((*backend)->get("k", &out));
  EXPECT_EQ(out, "precious bytes");
  EXPECT_EQ(count_requests(fake, "GET /v1/AUTH_test/c/pre/k"), 2u);
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(SwiftBackend, PutThatLostToANewerTimestampIsRetried) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  ASSERT_TRUE((*backend)->put("k", "older"));
  fake.superseded_next_puts = 2;  // 202: Swift kept another version, not ours
  Status put = (*backend)->put("k", "ours");
  ASSERT_TRUE(put) << put.to_string();
  std::string out;
  ASSERT_TRUE((*backend)->get("k", &out));
  EXPECT_EQ(out, "ours");
  EXPECT_EQ(count_requests(fake, "PUT /v1/AUTH_test/c/pre/k"), 4u);
}

TEST(SwiftBackend, BulkDeleteWhenOfferedSingleDeletesOtherwise) {
  for (bool bulk : {true, false}) {
    FakeSwift fake;
    fake.bulk_delete_enabled = bulk;
    fake.create_container("c");
    auto backend = open_fake(fake);
    ASSERT_TRUE(backend) << backend.status().to_string();
    for (const char* key : {"a", "b c", "d/e"}) ASSERT_TRUE((*backend)->put(key, "x"));
    ASSERT_TRUE((*backend)->remove({"a", "b c", "d/e", "never"}));
    for (const char* name : {"pre/a", "pre/b c", "pre/d/e"}) EXPECT_FALSE(fake.has_object("c", name)) << name;
    EXPECT_EQ(count_requests(fake, "POST /v1/AUTH_test?bulk-delete"), bulk ? 1u : 0u);
    EXPECT_EQ(count_requests(fake, "DELETE "), bulk ? 0u : 4u);
  }
}

TEST(SwiftBackend, HiddenInfoMeansConservativeDefaults) {
  FakeSwift fake;
  fake.info_enabled = false;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  EXPECT_FALSE((*backend)->capabilities().info_available);
  EXPECT_FALSE((*backend)->capabilities().bulk_delete);
  ASSERT_TRUE((*backend)->remove({"a", "b"}));
  EXPECT_EQ(count_requests(fake, "DELETE "), 2u);
}

TEST(SwiftBackend, ListingFollowsMarkersAndKnowsWhenItEnds) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake);
  ASSERT_TRUE(backend) << backend.status().to_string();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*backend)->put("k" + std::to_string(100 + i), "x"));
  ListPage page;
  ASSERT_TRUE((*backend)->list("k", "", 10, &page));
  EXPECT_EQ(page.objects.size(), 10u);
  EXPECT_TRUE(page.truncated);
  ASSERT_TRUE((*backend)->list("k", "k114", 10, &page));
  EXPECT_EQ(page.objects.front().key, "k115");
  EXPECT_EQ(page.objects.size(), 10u);
  EXPECT_FALSE(page.truncated);  // exactly ten were left
  EXPECT_EQ(count_requests(fake, "GET /v1/AUTH_test/c?format=json&limit=11&prefix=pre%2Fk&marker=pre%2Fk114"), 1u);
  std::vector<ObjectInfo> all;
  ASSERT_TRUE(list_all(**backend, "", &all));
  EXPECT_EQ(all.size(), 25u);
}

TEST(SwiftBackend, KeystoneRoundTrip) {
  FakeSwift fake;
  fake.create_container("c");
  auto backend = open_fake(fake, "c", "testing", true);
  ASSERT_TRUE(backend) << backend.status().to_string();
  ASSERT_TRUE((*backend)->put("k", "v"));
  EXPECT_TRUE(fake.has_object("c", "pre/k"));
  EXPECT_EQ((*backend)->describe(), "swiftks://" + fake.endpoint() + "/RegionOne:c/pre/");
}

TEST(SwiftBackend, KeystoneErrorsSayWhatIsWrong) {
  FakeSwift fake;
  auto wrong_password = open_fake(fake, "c", "nope", true);
  ASSERT_FALSE(wrong_password);
  EXPECT_EQ(wrong_password.status().code(), Status::Code::kAuthFailed);
  EXPECT_NE(wrong_password.status().message().find("requires authentication"), std::string::npos)
      << wrong_password.status().message();

  auto wrong_region = open_fake(fake, "c", "testing", true, "Mars");
  ASSERT_FALSE(wrong_region);
  EXPECT_NE(wrong_region.status().message().find("no public object-store endpoint in region 'Mars'"),
            std::string::npos)
      << wrong_region.status().message();

  fake.keystone_v3 = false;
  auto old_keystone = open_fake(fake, "c", "testing", true);
  ASSERT_FALSE(old_keystone);
  EXPECT_EQ(old_keystone.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(old_keystone.status().message().find("does not offer the Identity API v3"), std::string::npos)
      << old_keystone.status().message();
  EXPECT_NE(old_keystone.status().message().find("v2.0 (deprecated)"), std::string::npos)
      << old_keystone.status().message();
}

TEST(SwiftBackend, UnreadableCaFileIsRefused) {
  BackendOptions options;
  options.values = {{"ssl-ca-path", "/nonexistent/ca.pem"}};
  auto parsed = parse_swift_config("swift://127.0.0.1:1/c", options, {"a:b", "c"});
  ASSERT_TRUE(parsed);
  auto backend = SwiftBackend::open(std::move(parsed.value()));
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kInvalidArgument) << backend.status().to_string();
}

TEST(SwiftBackend, UnreachableServerIsRetryable) {
  SwiftConfig config;
  BackendOptions options;
  options.values = {{"no-ssl", ""}, {"request-retry-time", "0"}, {"connect-timeout", "2"}};
  // Port 1 on loopback: nothing listens there.
  auto parsed = parse_swift_config("swift://127.0.0.1:1/c", options, {"a:b", "c"});
  ASSERT_TRUE(parsed);
  auto backend = SwiftBackend::open(std::move(parsed.value()));
  ASSERT_FALSE(backend);
  EXPECT_TRUE(backend.status().retryable()) << backend.status().to_string();
}

}  // namespace
}  // namespace hoardfs::swift
