// Storage URL and backend option parsing, bucket naming rules.
#include <gtest/gtest.h>

#include "backend/s3/s3_config.h"

namespace hoardfs::s3 {
namespace {

const Credentials kCredentials{"key", "secret"};

Result<S3Config> parse(const std::string& url, const std::string& options = "") {
  auto parsed = parse_backend_options(options);
  EXPECT_TRUE(parsed.is_ok());
  return parse_s3_config(url, parsed.value(), kCredentials);
}

TEST(S3Config, AwsUrlIsVirtualHostedHttpsSigV4ListV2) {
  auto config = parse("s3://eu-central-1/my-bucket/some/prefix/");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_TRUE(config->aws);
  EXPECT_TRUE(config->virtual_hosted);
  EXPECT_EQ(config->host, "my-bucket.s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(config->endpoint, "https://my-bucket.s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(config->bucket, "my-bucket");
  EXPECT_EQ(config->prefix, "some/prefix/");
  EXPECT_EQ(config->region, "eu-central-1");
  EXPECT_EQ(config->signature, Signature::kV4);
  EXPECT_TRUE(config->list_v2);
  EXPECT_EQ(config->access_key, "key");
}

TEST(S3Config, AwsBucketWithDotsFallsBackToPathStyle) {
  auto config = parse("s3://us-east-1/my.bucket.name");
  ASSERT_TRUE(config.is_ok());
  EXPECT_FALSE(config->virtual_hosted);
  EXPECT_EQ(config->host, "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(config->prefix, "");
}

TEST(S3Config, CompatibleUrlDefaults) {
  auto config = parse("s3c://gateway.example:7480/bucket/pre");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_FALSE(config->aws);
  EXPECT_FALSE(config->virtual_hosted);
  EXPECT_EQ(config->endpoint, "https://gateway.example:7480");
  EXPECT_EQ(config->host, "gateway.example:7480");
  EXPECT_EQ(config->prefix, "pre");
  EXPECT_EQ(config->region, "us-east-1");
  EXPECT_EQ(config->signature, Signature::kV4);
  EXPECT_FALSE(config->list_v2);
  EXPECT_EQ(config->describe(), "s3c://gateway.example:7480/bucket/pre");
}

TEST(S3Config, CompatibleOptions) {
  auto config = parse("s3c://127.0.0.1:8080/bucket/",
                      "no-ssl,sig=v2,list=v2,region=eu-1,connections=3,multipart-threshold=5M,part-size=6MiB,"
                      "connect-timeout=2,stall-timeout=4,request-retry-time=0,conditional-put=no");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(config->signature, Signature::kV2);
  EXPECT_TRUE(config->list_v2);
  EXPECT_EQ(config->region, "eu-1");
  EXPECT_EQ(config->connections, 3u);
  EXPECT_EQ(config->multipart_threshold, 5u << 20);
  EXPECT_EQ(config->part_size, 6u << 20);
  EXPECT_EQ(config->connect_timeout.count(), 2);
  EXPECT_EQ(config->stall_timeout.count(), 4);
  EXPECT_EQ(config->request_retry_time.count(), 0);
  EXPECT_EQ(config->conditional_put, S3Config::ConditionalPut::kNo);
}

TEST(S3Config, CaFileAndHostWithoutPort) {
  auto config = parse("s3c://storage.example/b-1/", "ssl-ca-path=/etc/ca.pem");
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->ca_file, "/etc/ca.pem");
  EXPECT_EQ(config->endpoint, "https://storage.example");
}

TEST(S3Config, MalformedUrlsAndOptionsAreRefusedClearly) {
  struct Case {
    std::string url, options, says;
  } cases[] = {
      {"s3c://host:8080", "", "expected s3c://HOST:PORT/BUCKET/PREFIX"},
      {"s3c://host:8080/", "", "no bucket"},
      {"s3c://host:99999/bucket", "", "bad port"},
      {"s3c://ho st/bucket", "", "bad host"},
      {"s3://Not_A_Region/bucket", "", "not an AWS region"},
      {"s3://us-east-1/bucket", "sig=v2", "only to s3c://"},
      {"s3c://h/bucket", "sig=v3", "v4 or v2"},
      {"s3c://h/bucket", "list=v3", "v1 or v2"},
      {"s3c://h/bucket", "part-size=1M", "from 5M"},
      {"s3c://h/bucket", "multipart-threshold=lots", "not a size"},
      {"s3c://h/bucket", "connections=0", "connections"},
      {"s3c://h/bucket", "no-ssl,ssl-ca-path=/x", "contradict"},
      {"s3c://h/bucket", "colour=blue", "unknown backend option 'colour'"},
      {"s3c://h/bucket/a/../b", "", "bad prefix"},
      {"s3c://h/Bucket", "", "invalid bucket name 'Bucket'"},
      {"ftp://h/bucket", "", "not an s3:// or s3c:// URL"},
  };
  for (const Case& c : cases) {
    auto config = parse(c.url, c.options);
    ASSERT_FALSE(config.is_ok()) << c.url << " " << c.options;
    EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument) << c.url;
    EXPECT_NE(config.status().message().find(c.says), std::string::npos)
        << c.url << " " << c.options << ": " << config.status().message();
  }
}

TEST(S3Config, MissingCredentialsAreTheCredentialsError) {
  auto parsed = parse_backend_options("");
  auto config = parse_s3_config("s3://us-east-1/bucket", parsed.value(), Credentials{});
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), Status::Code::kAuthFailed);
  EXPECT_NE(config.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(BucketNames, DnsRules) {
  for (const std::string& good : {std::string("abc"), std::string("my-bucket"), std::string("my.bucket.1"),
                                   std::string("0bucket9"), std::string(63, 'a')}) {
    EXPECT_TRUE(validate_bucket_name(good).is_ok()) << good;
  }
  struct Case {
    std::string name, says;
  } bad[] = {{"ab", "3 to 63"},
             {std::string(64, 'a'), "3 to 63"},
             {"My-Bucket", "lower-case"},
             {"under_score", "lower-case"},
             {"-bucket", "start and end"},
             {"bucket-", "start and end"},
             {"a..b", "dot-separated"},
             {"a.-b", "dot-separated"},
             {"192.168.5.4", "IP address"},
             {"xn--bucket", "reserved prefix"},
             {"bucket-s3alias", "reserved suffix"},
             {"bucket--ol-s3", "reserved suffix"}};
  for (const Case& c : bad) {
    Status status = validate_bucket_name(c.name);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.name;
    EXPECT_NE(status.message().find(c.says), std::string::npos) << status.message();
  }
}

TEST(Sizes, Suffixes) {
  EXPECT_EQ(parse_size("123").value(), 123u);
  EXPECT_EQ(parse_size("5M").value(), 5u << 20);
  EXPECT_EQ(parse_size("5MiB").value(), 5u << 20);
  EXPECT_EQ(parse_size("2k").value(), 2048u);
  EXPECT_EQ(parse_size("1G").value(), 1u << 30);
  EXPECT_FALSE(parse_size("").is_ok());
  EXPECT_FALSE(parse_size("M").is_ok());
  EXPECT_FALSE(parse_size("5 M").is_ok());
  EXPECT_FALSE(parse_size("-1").is_ok());
}

}  // namespace
}  // namespace hoardfs::s3
