// parse_backend_options, BackendOptions lookups and the shared key rules.
#include <gtest/gtest.h>

#include "hoardfs/backend.h"
#include "hoardfs/backend_factories.h"

namespace hoardfs {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(BackendOptionsTest, ParsesFlagsAndValues) {
  auto options = parse_backend_options("no-ssl,region=eu-west-1,ssl-ca-path=/etc/ca.pem,sig=v2");
  ASSERT_TRUE(options.is_ok()) << options.status().to_string();
  EXPECT_EQ(options->values,
            (Pairs{{"no-ssl", ""}, {"region", "eu-west-1"}, {"ssl-ca-path", "/etc/ca.pem"}, {"sig", "v2"}}));
  EXPECT_TRUE(options->has("no-ssl"));
  EXPECT_FALSE(options->has("list"));
  EXPECT_EQ(options->get("region"), "eu-west-1");
  EXPECT_EQ(options->get("no-ssl", "fallback"), "");
  EXPECT_EQ(options->get("list", "v1"), "v1");
}

TEST(BackendOptionsTest, EmptyTextIsNoOptions) {
  for (const char* text : {"", "  "}) {
    auto options = parse_backend_options(text);
    ASSERT_TRUE(options.is_ok());
    EXPECT_TRUE(options->values.empty());
  }
}

TEST(BackendOptionsTest, ValuesMayContainEqualsSignsAndBeEmpty) {
  auto options = parse_backend_options("token=a=b=,empty=");
  ASSERT_TRUE(options.is_ok());
  EXPECT_EQ(options->values, (Pairs{{"token", "a=b="}, {"empty", ""}}));
  EXPECT_TRUE(options->has("empty"));
}

TEST(BackendOptionsTest, SpacesAroundItemsAreIgnored) {
  auto options = parse_backend_options(" no-ssl , region = x");
  ASSERT_TRUE(options.is_ok());
  EXPECT_EQ(options->values, (Pairs{{"no-ssl", ""}, {"region", "x"}}));
}

TEST(BackendOptionsTest, LaterOccurrenceWins) {
  auto options = parse_backend_options("region=a,region=b");
  ASSERT_TRUE(options.is_ok());
  EXPECT_EQ(options->get("region"), "b");
}

TEST(BackendOptionsTest, MalformedTextIsRejectedInOneLine) {
  for (const char* text : {",", "a,,b", "a,", ",a", "=v", "a, =v"}) {
    auto options = parse_backend_options(text);
    ASSERT_FALSE(options.is_ok()) << text;
    EXPECT_EQ(options.status().code(), Status::Code::kInvalidArgument) << text;
    EXPECT_EQ(options.status().message().find('\n'), std::string::npos);
  }
}

TEST(ObjectKeyTest, ContractRules) {
  EXPECT_TRUE(check_object_key("data/ab/0123456789abcdef0123456789abcdef").is_ok());
  EXPECT_TRUE(check_object_key("meta/v00000000000000000001").is_ok());
  EXPECT_TRUE(check_object_key("with space").is_ok());
  EXPECT_TRUE(check_object_key(std::string(512, 'k')).is_ok());
  EXPECT_EQ(check_object_key("").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check_object_key(std::string(513, 'k')).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check_object_key("a..b").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check_object_key("new\nline").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check_object_key("caf\xc3\xa9").code(), Status::Code::kInvalidArgument);
  // The message stays one printable line whatever the key holds.
  std::string message = check_object_key("bad\nkey\x01").message();
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.find("bad?key?"), std::string::npos);
}

}  // namespace
}  // namespace hoardfs
