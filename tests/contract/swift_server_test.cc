// Swift behaviours beyond the Backend contract, against real servers (see
// swift_test_env.h): bad credentials, missing containers and catalog
// endpoints, Keystone domains, a token revoked in Keystone mid-run (renewed
// with exactly one authentication), static large objects and their segments,
// keys that need URL encoding. Each test uses containers of its own and
// deletes them.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend/http/http_client.h"
#include "backend/swift/swift_backend.h"
#include "swift_test_env.h"

namespace hoardfs::swift {
namespace {

using hoardfs::testing::keystone_swift;
using hoardfs::testing::SwiftServer;
using hoardfs::testing::unique_name;
using hoardfs::testing::v1_swift;

#define REQUIRE_SERVER(server) \
  if (!(server)) GTEST_SKIP() << "Swift server not configured (run tests/servers/swift-*.sh start)"

Result<std::unique_ptr<SwiftBackend>> open_swift(const SwiftServer& server, const std::string& container,
                                                 const std::string& options = "", const std::string& prefix = "") {
  auto parsed = parse_backend_options(options.empty() ? "no-ssl" : "no-ssl," + options);
  if (!parsed) return parsed.status();
  auto config = parse_swift_config(server.url(container, prefix), parsed.value(), server.credentials);
  if (!config) return config.status();
  return SwiftBackend::open(std::move(config.value()));
}

std::unique_ptr<http::Client> plain_client() { return std::move(http::Client::create({}).value()); }

// Deletes every object in `containers` and then the containers, with the
// backend's own token.
void drop_containers(SwiftBackend& backend, const std::vector<std::string>& containers) {
  auto token = backend.current_token();
  ASSERT_TRUE(token) << token.status().to_string();
  auto client = plain_client();
  for (const auto& container : containers) {
    const std::string url = token->storage_url + "/" + http::uri_encode(container, false);
    http::Response response;
    http::Request list{"GET", url + "?format=json", {{"X-Auth-Token", token->token}}, {}};
    ASSERT_TRUE(client->perform(list, &response));
    if (response.status == 404) continue;
    for (const auto& entry : nlohmann::json::parse(response.body.empty() ? "[]" : response.body)) {
      http::Request remove{"DELETE", url + "/" + http::uri_encode(entry["name"].get<std::string>(), true),
                           {{"X-Auth-Token", token->token}}, {}};
      ASSERT_TRUE(client->perform(remove, &response));
    }
    http::Request remove{"DELETE", url, {{"X-Auth-Token", token->token}}, {}};
    ASSERT_TRUE(client->perform(remove, &response));
    EXPECT_TRUE(response.status == 204 || response.status == 404) << container << ": HTTP " << response.status;
  }
}

std::vector<std::string> names_in(SwiftBackend& backend, const std::string& prefix = "") {
  std::vector<ObjectInfo> all;
  EXPECT_TRUE(list_all(backend, prefix, &all));
  std::vector<std::string> names;
  for (const auto& object : all) names.push_back(object.key);
  return names;
}

// ---- bad input fails fast and says why ---------------------------------------

TEST(SwiftServer, V1WrongPasswordIsAuthFailed) {
  auto server = v1_swift();
  REQUIRE_SERVER(server);
  server->credentials.password = "not-the-password";
  auto backend = open_swift(*server, "whatever");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kAuthFailed) << backend.status().to_string();
  EXPECT_NE(backend.status().message().find(server->credentials.login), std::string::npos);
}

TEST(SwiftServer, KeystoneWrongPasswordIsAuthFailed) {
  auto server = keystone_swift();
  REQUIRE_SERVER(server);
  server->credentials.password = "not-the-password";
  auto backend = open_swift(*server, "whatever");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kAuthFailed) << backend.status().to_string();
}

TEST(SwiftServer, MissingContainerIsAClearNotFoundUntilCreated) {
  for (auto server : {v1_swift(), keystone_swift()}) {
    if (!server) continue;
    const std::string container = unique_name("hoardfs-missing");
    auto backend = open_swift(*server, container);
    ASSERT_TRUE(backend) << backend.status().to_string();
    std::string out;
    Status get = (*backend)->get("hoardfs.superblock", &out);
    EXPECT_TRUE(get.is_not_found()) << get.to_string();
    EXPECT_NE(get.message().find("container '" + container + "' does not exist"), std::string::npos) << get.to_string();
    EXPECT_TRUE((*backend)->put("k", "v").is_not_found());
    bool created = false;
    ASSERT_TRUE((*backend)->ensure_container(&created));
    EXPECT_TRUE(created);
    ASSERT_TRUE((*backend)->put("k", "v"));
    ASSERT_TRUE((*backend)->ensure_container(&created));
    EXPECT_FALSE(created);
    // A second opener finds it there.
    bool again = true;
    ASSERT_TRUE(ensure_swift_container(server->url(container), parse_backend_options("no-ssl").value(),
                                       server->credentials, &again));
    EXPECT_FALSE(again);
    drop_containers(**backend, {container});
  }
  if (!v1_swift() && !keystone_swift()) GTEST_SKIP() << "no Swift server configured";
}

TEST(SwiftServer, KeystoneRegionWithoutEndpointNamesTheRegionsThereAre) {
  auto server = keystone_swift();
  REQUIRE_SERVER(server);
  const std::string wanted = server->region;
  server->region = "NoSuchRegion";
  auto backend = open_swift(*server, "whatever");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kInvalidArgument) << backend.status().to_string();
  EXPECT_NE(backend.status().message().find("region 'NoSuchRegion'"), std::string::npos);
  EXPECT_NE(backend.status().message().find(wanted), std::string::npos) << backend.status().to_string();
}

TEST(SwiftServer, KeystoneEndpointThatIsNoKeystone) {
  auto server = keystone_swift();
  auto swift = v1_swift();
  REQUIRE_SERVER(server && swift);
  server->endpoint = swift->endpoint;  // a Swift proxy, not Keystone
  auto backend = open_swift(*server, "whatever");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kUnsupported) << backend.status().to_string();
  EXPECT_NE(backend.status().message().find("Identity API v3"), std::string::npos) << backend.status().to_string();
}

TEST(SwiftServer, V1EndpointThatIsKeystone) {
  auto server = v1_swift();
  auto keystone = keystone_swift();
  REQUIRE_SERVER(server && keystone);
  server->endpoint = keystone->endpoint;
  auto backend = open_swift(*server, "whatever");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.status().code(), Status::Code::kUnsupported) << backend.status().to_string();
  EXPECT_NE(backend.status().message().find("swiftks://"), std::string::npos) << backend.status().to_string();
}

TEST(SwiftServer, KeystoneUserAndProjectInAnotherDomain) {
  auto server = keystone_swift();
  auto domain = hoardfs::testing::env("HOARDFS_TEST_SWIFTKS_DOMAIN");
  auto login = hoardfs::testing::env("HOARDFS_TEST_SWIFTKS_DOMAIN_LOGIN");
  auto password = hoardfs::testing::env("HOARDFS_TEST_SWIFTKS_DOMAIN_PASSWORD");
  REQUIRE_SERVER(server && domain && login && password);
  server->credentials = {*login, *password};
  auto without = open_swift(*server, "c");
  ASSERT_FALSE(without);
  EXPECT_EQ(without.status().code(), Status::Code::kAuthFailed) << without.status().to_string();

  const std::string container = unique_name("hoardfs-domain");
  auto backend = open_swift(*server, container, "domain=" + *domain);
  ASSERT_TRUE(backend) << backend.status().to_string();
  bool created = false;
  ASSERT_TRUE((*backend)->ensure_container(&created));
  ASSERT_TRUE((*backend)->put("k", "in another domain"));
  std::string out;
  ASSERT_TRUE((*backend)->get("k", &out));
  EXPECT_EQ(out, "in another domain");
  drop_containers(**backend, {container});
}

// ---- token renewal ---------------------------------------------------------------

// Revokes `token` in Keystone as the admin (DELETE /v3/auth/tokens).
void revoke_in_keystone(const SwiftServer& server, const std::string& token) {
  auto admin_login = hoardfs::testing::env("HOARDFS_TEST_SWIFTKS_ADMIN_LOGIN");
  auto admin_password = hoardfs::testing::env("HOARDFS_TEST_SWIFTKS_ADMIN_PASSWORD");
  ASSERT_TRUE(admin_login && admin_password) << "HOARDFS_TEST_SWIFTKS_ADMIN_* not set";
  SwiftConfig admin;
  admin.login = *admin_login;
  admin.password = *admin_password;
  auto client = plain_client();
  http::Response response;
  std::string body = keystone_request_body(admin);
  http::Request login{"POST", "http://" + server.endpoint + "/v3/auth/tokens",
                      {{"Content-Type", "application/json"}}, body};
  ASSERT_TRUE(client->perform(login, &response));
  ASSERT_EQ(response.status, 201) << response.body;
  std::string admin_token = *response.header("x-subject-token");
  http::Request revoke{"DELETE", "http://" + server.endpoint + "/v3/auth/tokens",
                       {{"X-Auth-Token", admin_token}, {"X-Subject-Token", token}}, {}};
  ASSERT_TRUE(client->perform(revoke, &response));
  ASSERT_EQ(response.status, 204) << response.body;
}

// Swift caches token validations for a few seconds (swift-keystone.sh sets 5).
void wait_until_swift_refuses(const AuthToken& token) {
  auto client = plain_client();
  for (int i = 0; i < 60; ++i) {
    http::Response response;
    http::Request head{"HEAD", token.storage_url, {{"X-Auth-Token", token.token}}, {}};
    ASSERT_TRUE(client->perform(head, &response));
    if (response.status == 401) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  FAIL() << "Swift still accepts the revoked token after 30 s";
}

TEST(SwiftServer, KeystoneTokenRevokedMidRunIsRenewedOnceForAllThreads) {
  auto server = keystone_swift();
  REQUIRE_SERVER(server);
  const std::string container = unique_name("hoardfs-revoke");
  auto opened = open_swift(*server, container, "connections=16");
  ASSERT_TRUE(opened) << opened.status().to_string();
  SwiftBackend& backend = **opened;
  bool created = false;
  ASSERT_TRUE(backend.ensure_container(&created));
  ASSERT_TRUE(backend.put("before", "x"));
  EXPECT_EQ(backend.authentications(), 1u);

  auto token = backend.current_token();
  ASSERT_TRUE(token);
  revoke_in_keystone(*server, token->token);
  wait_until_swift_refuses(*token);

  constexpr int kThreads = 16;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_mutex;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 4; ++i) {
        std::string key = "after/" + std::to_string(t) + "-" + std::to_string(i), out;
        Status status = backend.put(key, key);
        if (status) status = backend.get(key, &out);
        if (status && out != key) status = Status::corruption("read back different bytes");
        if (!status) {
          std::lock_guard lock(failure_mutex);
          if (failures++ == 0) first_failure = status.to_string();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(backend.authentications(), 2u);
  EXPECT_NE(backend.current_token()->token, token->token);
  EXPECT_EQ(names_in(backend, "after/").size(), static_cast<size_t>(kThreads * 4));
  drop_containers(backend, {container});
}

// ---- static large objects ------------------------------------------------------------

TEST(SwiftServer, LargeObjectsAreSegmentedReadLikeOthersAndLeaveNoSegmentsBehind) {
  auto server = v1_swift();
  REQUIRE_SERVER(server);
  const std::string container = unique_name("hoardfs-slo");
  const std::string segments = container + "_segments";
  auto opened = open_swift(*server, container, "slo-threshold=1M,slo-segment-size=1M", "fs/");
  ASSERT_TRUE(opened) << opened.status().to_string();
  SwiftBackend& backend = **opened;
  ASSERT_TRUE(backend.capabilities().static_large_objects) << backend.capabilities().summary();
  bool created = false;
  ASSERT_TRUE(backend.ensure_container(&created));

  std::string big((7 << 19) + 12345, '\0');  // 3.5 MiB + a bit: 4 segments
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
  ASSERT_TRUE(backend.put("data/big", big));
  auto segment_view = open_swift(*server, segments);  // the first large put created it
  ASSERT_TRUE(segment_view) << segment_view.status().to_string();
  EXPECT_EQ(names_in(**segment_view).size(), 4u);
  std::string out;
  ASSERT_TRUE(backend.get("data/big", &out));
  EXPECT_TRUE(out == big);
  ASSERT_TRUE(backend.get_range("data/big", (1 << 20) - 10, 20, &out));  // across a segment boundary
  EXPECT_EQ(out, big.substr((1 << 20) - 10, 20));
  ObjectInfo info;
  ASSERT_TRUE(backend.head("data/big", &info));
  EXPECT_EQ(info.size, big.size());
  ListPage page;
  ASSERT_TRUE(backend.list("data/", "", 10, &page));
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_EQ(page.objects[0].size, big.size());
  EXPECT_EQ(backend.put_if_absent("data/big", big).code(), Status::Code::kAlreadyExists);

  // Replacing it leaves only the new upload's segments.
  std::string bigger = big + std::string(1 << 20, 'z');  // 5 segments
  ASSERT_TRUE(backend.put("data/big", bigger));
  auto after_replace = names_in(**segment_view);
  EXPECT_EQ(after_replace.size(), 5u);
  ASSERT_TRUE(backend.get("data/big", &out));
  EXPECT_TRUE(out == bigger);

  // A name that extends the other's must not lose segments when it goes.
  ASSERT_TRUE(backend.put("data/big/x", big));
  ASSERT_TRUE(backend.put("data/small", "s"));
  EXPECT_EQ(names_in(**segment_view).size(), 9u);
  ASSERT_TRUE(backend.remove({"data/big", "data/small"}));
  EXPECT_EQ(names_in(**segment_view).size(), 4u);
  ASSERT_TRUE(backend.get("data/big/x", &out));
  EXPECT_TRUE(out == big);
  ASSERT_TRUE(backend.remove({"data/big/x"}));
  EXPECT_TRUE(names_in(**segment_view).empty());
  EXPECT_TRUE(names_in(backend).empty());
  drop_containers(backend, {container, segments});
}

// ---- names -------------------------------------------------------------------------------

TEST(SwiftServer, KeysThatNeedEncodingRoundTrip) {
  auto server = v1_swift();
  REQUIRE_SERVER(server);
  const std::string container = unique_name("hoardfs-names");
  auto opened = open_swift(*server, container, "", "pre fix/");
  ASSERT_TRUE(opened) << opened.status().to_string();
  SwiftBackend& backend = **opened;
  bool created = false;
  ASSERT_TRUE(backend.ensure_container(&created));
  std::vector<std::string> keys = {"a b", "a+b", "a%20b", "q?x=1&y=2", "hash#tag", "./dot", "x/./y", "x//y",
                                   "semi;colon:at@", "[brackets]{braces}", "'quotes\"", "tilde~star*", "/lead"};
  std::sort(keys.begin(), keys.end());
  for (const auto& key : keys) ASSERT_TRUE(backend.put(key, "value of " + key)) << key;
  for (const auto& key : keys) {
    std::string out;
    ASSERT_TRUE(backend.get(key, &out)) << key;
    EXPECT_EQ(out, "value of " + key);
  }
  EXPECT_EQ(names_in(backend), keys);
  ASSERT_TRUE(backend.remove(keys));
  EXPECT_TRUE(names_in(backend).empty());
  drop_containers(backend, {container});
}

}  // namespace
}  // namespace hoardfs::swift
