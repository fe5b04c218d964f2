// swift:// and swiftks:// URLs and the Swift backend options.
#include <gtest/gtest.h>

#include "backend/swift/swift_config.h"

namespace hoardfs::swift {
namespace {

const Credentials kLogin{"test:tester", "testing"};

Result<SwiftConfig> parse(const std::string& url, const std::string& options = "",
                          const Credentials& credentials = kLogin) {
  auto parsed = parse_backend_options(options);
  if (!parsed) return parsed.status();
  return parse_swift_config(url, parsed.value(), credentials);
}

TEST(SwiftConfig, V1UrlWithPrefix) {
  auto config = parse("swift://swift.example.com:8080/backups/host1/");
  ASSERT_TRUE(config) << config.status().to_string();
  EXPECT_FALSE(config->keystone);
  EXPECT_EQ(config->auth_endpoint, "https://swift.example.com:8080");
  EXPECT_EQ(config->container, "backups");
  EXPECT_EQ(config->prefix, "host1/");
  EXPECT_EQ(config->login, "test:tester");
  EXPECT_EQ(config->describe(), "swift://swift.example.com:8080/backups/host1/");
}

TEST(SwiftConfig, V1UrlWithoutPrefixOrPort) {
  auto config = parse("swift://swift.example.com/backups", "no-ssl");
  ASSERT_TRUE(config) << config.status().to_string();
  EXPECT_EQ(config->auth_endpoint, "http://swift.example.com");
  EXPECT_EQ(config->container, "backups");
  EXPECT_EQ(config->prefix, "");
}

TEST(SwiftConfig, KeystoneUrl) {
  auto config = parse("swiftks://keystone.example.com:5000/RegionOne:backups/pre/fix", "", {"proj:alice", "pw"});
  ASSERT_TRUE(config) << config.status().to_string();
  EXPECT_TRUE(config->keystone);
  EXPECT_EQ(config->auth_endpoint, "https://keystone.example.com:5000");
  EXPECT_EQ(config->region, "RegionOne");
  EXPECT_EQ(config->container, "backups");
  EXPECT_EQ(config->prefix, "pre/fix");
  EXPECT_EQ(config->user_domain, "Default");
  EXPECT_EQ(config->project_domain, "Default");
  EXPECT_EQ(config->interface, "public");
  EXPECT_EQ(config->describe(), "swiftks://keystone.example.com:5000/RegionOne:backups/pre/fix");
}

TEST(SwiftConfig, IPv6Host) {
  auto config = parse("swift://[::1]:8080/c/p", "no-ssl");
  ASSERT_TRUE(config) << config.status().to_string();
  EXPECT_EQ(config->auth_endpoint, "http://[::1]:8080");
}

TEST(SwiftConfig, DomainOptions) {
  auto both = parse("swiftks://k:5000/R:c", "domain=corp", {"p:u", "pw"});
  ASSERT_TRUE(both) << both.status().to_string();
  EXPECT_EQ(both->user_domain, "corp");
  EXPECT_EQ(both->project_domain, "corp");  // follows domain= unless given
  auto split = parse("swiftks://k:5000/R:c", "domain=users,project-domain=projects,interface=internal", {"p:u", "pw"});
  ASSERT_TRUE(split) << split.status().to_string();
  EXPECT_EQ(split->user_domain, "users");
  EXPECT_EQ(split->project_domain, "projects");
  EXPECT_EQ(split->interface, "internal");
}

TEST(SwiftConfig, SizesAndTimes) {
  auto config = parse("swift://h:1/c", "slo-threshold=64M,slo-segment-size=16MiB,connections=3,stall-timeout=5,"
                                       "request-retry-time=0,ssl-ca-path=/etc/ca.pem");
  ASSERT_TRUE(config) << config.status().to_string();
  EXPECT_EQ(config->slo_threshold.value(), 64ull << 20);
  EXPECT_EQ(config->slo_segment_size, 16ull << 20);
  EXPECT_EQ(config->connections, 3u);
  EXPECT_EQ(config->stall_timeout.count(), 5);
  EXPECT_EQ(config->request_retry_time.count(), 0);
  EXPECT_EQ(config->ca_file, "/etc/ca.pem");
}

TEST(SwiftConfig, ByteSizes) {
  EXPECT_EQ(parse_byte_size("1048576").value(), 1048576u);
  EXPECT_EQ(parse_byte_size("512K").value(), 512u << 10);
  EXPECT_EQ(parse_byte_size("2G").value(), 2ull << 30);
  EXPECT_FALSE(parse_byte_size("M"));
  EXPECT_FALSE(parse_byte_size("1.5G"));
  EXPECT_FALSE(parse_byte_size("99999999999999999999"));
  EXPECT_FALSE(parse_byte_size("99999999999G"));
}

TEST(SwiftConfig, MalformedUrlsAreInvalidArgumentsThatSayWhy) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"swift://", "no host"},
      {"swift://host:8080", "names no container"},
      {"swift://host:8080/", "names no container"},
      {"swift://host:0/c", "port"},
      {"swift://host:99999/c", "port"},
      {"swift://host:x/c", "port"},
      {"swift://host:/c", "empty port"},
      {"swift://[::1/c", "IPv6"},
      {"swiftks://k:5000/backups", "names no region"},
      {"swiftks://k:5000/:backups", "names no region"},
      {"swiftks://k:5000/RegionOne:", "empty"},
      {"s3://x/y", "not a swift"},
  };
  for (const auto& c : cases) {
    auto config = parse(c.url, "", {"p:u", "pw"});
    ASSERT_FALSE(config) << c.url;
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument) << c.url;
    EXPECT_NE(config.status().message().find(c.says), std::string::npos) << c.url << ": " << config.status().message();
  }
}

TEST(SwiftConfig, ContainerNames) {
  EXPECT_TRUE(validate_container_name("backups"));
  EXPECT_TRUE(validate_container_name("with space:and.dots"));
  EXPECT_FALSE(validate_container_name(""));
  EXPECT_FALSE(validate_container_name(std::string(257, 'c')));
  EXPECT_FALSE(validate_container_name("a\tb"));
}

TEST(SwiftConfig, BadOptions) {
  for (const char* options : {"sig=v2", "no-ssl=yes", "connections=0", "slo-threshold=12", "slo-segment-size=big",
                              "stall-timeout=0", "ssl-ca-path="}) {
    auto config = parse("swift://h:1/c", options);
    ASSERT_FALSE(config) << options;
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument) << options;
  }
  // Keystone-only options on a v1 URL.
  for (const char* options : {"domain=x", "project-domain=x", "interface=internal"}) {
    EXPECT_FALSE(parse("swift://h:1/c", options)) << options;
  }
  EXPECT_FALSE(parse("swiftks://h:1/R:c", "interface=private", {"p:u", "pw"}));
}

TEST(SwiftConfig, LoginMustHaveTwoPartsAndAPassword) {
  for (const char* login : {"tester", ":tester", "test:", ""}) {
    auto config = parse("swift://h:1/c", "", {login, "pw"});
    ASSERT_FALSE(config) << login;
    EXPECT_EQ(config.status().code(), Status::Code::kAuthFailed) << login;
  }
  auto no_password = parse("swift://h:1/c", "", {"a:b", ""});
  ASSERT_FALSE(no_password);
  EXPECT_EQ(no_password.status().code(), Status::Code::kAuthFailed);
}

}  // namespace
}  // namespace hoardfs::swift
