#include "tools/tool_common.h"

#include <sodium.h>

#include <gtest/gtest.h>

namespace hoardfs::tools {
namespace {

TEST(ParseSize, BytesAndBinarySuffixes) {
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("64k"), 64u << 10);
  EXPECT_EQ(*parse_size("64K"), 64u << 10);
  EXPECT_EQ(*parse_size("1M"), 1u << 20);
  EXPECT_EQ(*parse_size("1MiB"), 1u << 20);
  EXPECT_EQ(*parse_size("1mb"), 1u << 20);
  EXPECT_EQ(*parse_size("4G"), 4ull << 30);
  EXPECT_EQ(*parse_size("1.5G"), 3ull << 29);
  EXPECT_EQ(*parse_size("2T"), 2ull << 40);
  EXPECT_EQ(*parse_size("100B"), 100u);
}

TEST(ParseSize, BareNumberUsesTheGivenUnit) {
  EXPECT_EQ(*parse_size("1024", 1024), 1u << 20);
  EXPECT_EQ(*parse_size("4M", 1024), 4u << 20);
}

TEST(ParseSize, RejectsGarbage) {
  for (const char* bad : {"", "G", "1X", "1.2.3", "-5", "1 G", "1GiBs", "1bb", "99999999999999999999T"}) {
    auto parsed = parse_size(bad);
    EXPECT_FALSE(parsed.is_ok()) << bad;
    if (!parsed.is_ok()) {
      EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

TEST(FormatSize, HumanUnits) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(1023), "1023 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1u << 20), "1 MiB");
  EXPECT_EQ(format_size(1536), "1.50 KiB");
  EXPECT_EQ(format_size(15ull << 20), "15 MiB");
  EXPECT_EQ(format_size((15ull << 20) + (1u << 19)), "15.5 MiB");
  EXPECT_EQ(format_size(300ull << 30), "300 GiB");
}

TEST(ParseCompression, Levels) {
  EXPECT_EQ(*parse_compression("none"), 0);
  EXPECT_EQ(*parse_compression("zstd"), 2);  // the default level
  EXPECT_EQ(*parse_compression("zstd-1"), 1);
  EXPECT_EQ(*parse_compression("zstd-19"), 19);
  EXPECT_EQ(*parse_compression("zstd-22"), 22);
  for (const char* bad : {"zstd-0", "zstd-23", "zstd-", "zstd-x", "lzma", "zstd-100", ""}) {
    EXPECT_FALSE(parse_compression(bad).is_ok()) << bad;
  }
}

TEST(ExitCodes, FromStatus) {
  EXPECT_EQ(exit_code_for(Status::ok()), exit_code::kOk);
  EXPECT_EQ(exit_code_for(Status::invalid_argument("bad url")), exit_code::kUsage);
  EXPECT_EQ(exit_code_for(Status::auth_failed("403")), exit_code::kBadCredentials);
  EXPECT_EQ(exit_code_for(Status::wrong_passphrase("x")), exit_code::kWrongPassphrase);
  EXPECT_EQ(exit_code_for(Status::unsupported("revision 9")), exit_code::kUnsupportedRevision);
  EXPECT_EQ(exit_code_for(Status::io_error("disk")), exit_code::kError);
  EXPECT_EQ(exit_code_for(Status::not_found("x")), exit_code::kError);
  ToolError error = tool_error(Status::auth_failed("login refused"));
  EXPECT_EQ(error.exit_code, exit_code::kBadCredentials);
  EXPECT_EQ(error.message, "login refused");
}

class CacheFolder : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(CacheFolder, ReadableSanitizedAndHashed) {
  std::string name = cache_folder_name("local:///srv/backup");
  EXPECT_EQ(name.rfind("local-srv-backup-", 0), 0u) << name;
  EXPECT_EQ(name.size(), std::string("local-srv-backup-").size() + 16);
  for (char c : name) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') << name;
  }
  std::string s3c = cache_folder_name("s3c://gw.example.net:8080/bucket/prefix");
  EXPECT_EQ(s3c.rfind("s3c-gw.example.net-8080-bucket-prefix-", 0), 0u) << s3c;
}

TEST_F(CacheFolder, StableTrailingSlashInsensitiveAndUnique) {
  EXPECT_EQ(cache_folder_name("local:///srv/backup"), cache_folder_name("local:///srv/backup"));
  EXPECT_EQ(cache_folder_name("local:///srv/backup/"), cache_folder_name("local:///srv/backup"));
  // Same readable part, different URLs → different folders.
  EXPECT_NE(cache_folder_name("local:///srv/a b"), cache_folder_name("local:///srv/a_b"));
  EXPECT_NE(cache_folder_name("local:///srv/a-b"), cache_folder_name("local:///srv/a/b"));
}

TEST_F(CacheFolder, LongAndOddUrlsStaySafe) {
  std::string long_url = "s3://eu-west-1/bucket/" + std::string(300, 'x');
  std::string name = cache_folder_name(long_url);
  EXPECT_LE(name.size(), 64u + 1 + 16);
  std::string odd = cache_folder_name("local:///../..//.hidden/");
  EXPECT_NE(odd.front(), '.');
  EXPECT_EQ(odd.find('/'), std::string::npos);
  EXPECT_EQ(odd.find(".."), std::string::npos) << odd;
}

}  // namespace
}  // namespace hoardfs::tools
