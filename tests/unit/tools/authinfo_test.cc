#include "tools/authinfo.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

namespace hoardfs::tools {
namespace {

const char* kSample = R"(# credentials
[s3]
storage-url = s3://eu-west-1/bucket
backend-login = AKIA1
backend-password = secret1

[s3-prefix]
storage-url: s3://eu-west-1/bucket/prefix
backend-login:AKIA2
backend-password : secret2
fs-passphrase =  the passphrase
; other
[local]
storage-url = local:///srv
fs-passphrase = local secret
)";

TEST(AuthinfoParse, ReadsSectionsBothSeparatorsAndTrims) {
  auto entries = parse_authinfo(kSample, "test");
  ASSERT_TRUE(entries.is_ok()) << entries.status().to_string();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].section, "s3");
  EXPECT_EQ((*entries)[0].storage_url, "s3://eu-west-1/bucket");
  EXPECT_EQ((*entries)[0].backend_login, "AKIA1");
  EXPECT_FALSE((*entries)[0].fs_passphrase.has_value());
  EXPECT_EQ((*entries)[1].backend_login, "AKIA2");
  EXPECT_EQ((*entries)[1].backend_password, "secret2");
  EXPECT_EQ((*entries)[1].fs_passphrase, "the passphrase");
  EXPECT_EQ((*entries)[2].fs_passphrase, "local secret");
}

TEST(AuthinfoParse, LongestPrefixWins) {
  auto entries = parse_authinfo(kSample, "test");
  ASSERT_TRUE(entries.is_ok());
  const AuthinfoEntry* e = match_authinfo(*entries, "s3://eu-west-1/bucket/prefix/sub");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->section, "s3-prefix");
  e = match_authinfo(*entries, "s3://eu-west-1/bucket/other");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->section, "s3");
  EXPECT_EQ(match_authinfo(*entries, "s3://us-east-1/bucket"), nullptr);
  EXPECT_EQ(match_authinfo(*entries, "swift://host/x"), nullptr);
}

TEST(AuthinfoParse, RejectsMalformedInput) {
  auto check = [](const char* text, const char* expected_fragment) {
    auto parsed = parse_authinfo(text, "f");
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_EQ(parsed.status().code(), Status::Code::kAuthFailed);
    EXPECT_NE(parsed.status().message().find(expected_fragment), std::string::npos)
        << parsed.status().message();
  };
  check("storage-url = x\n", "outside of a [section]");
  check("[a]\nbackend_login = x\nstorage-url = y\n", "unknown key 'backend_login'");
  check("[a]\njust words\n", "line 2");
  check("[a]\nbackend-login = x\n", "has no storage-url");
  check("[a\nstorage-url = y\n", "malformed section");
}

class AuthinfoFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/authinfo-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/authinfo";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  EnvLookup env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> const char* {
      auto it = values.find(name);
      return it == values.end() ? nullptr : it->second.c_str();
    };
  }
  std::string dir_, path_;
};

TEST_F(AuthinfoFile, RefusesGroupOrWorldReadableFile) {
  write(kSample, 0640);
  auto secrets = load_access_secrets(path_, true, "local:///srv/x", env({}));
  ASSERT_FALSE(secrets.is_ok());
  EXPECT_EQ(secrets.status().code(), Status::Code::kAuthFailed);
  EXPECT_NE(secrets.status().message().find("readable by group or others"), std::string::npos);
  write(kSample, 0604);
  EXPECT_FALSE(load_access_secrets(path_, true, "local:///srv/x", env({})).is_ok());
}

TEST_F(AuthinfoFile, MissingDefaultFileIsFineButNamedFileIsNot) {
  auto secrets = load_access_secrets(path_, false, "local:///srv/x", env({}));
  ASSERT_TRUE(secrets.is_ok());
  EXPECT_FALSE(secrets->passphrase.has_value());
  auto named = load_access_secrets(path_, true, "local:///srv/x", env({}));
  ASSERT_FALSE(named.is_ok());
  EXPECT_EQ(named.status().code(), Status::Code::kAuthFailed);
}

TEST_F(AuthinfoFile, ResolvesCredentialsAndPassphrase) {
  write(kSample, 0600);
  auto secrets = load_access_secrets(path_, true, "s3://eu-west-1/bucket/prefix", env({}));
  ASSERT_TRUE(secrets.is_ok()) << secrets.status().to_string();
  EXPECT_EQ(secrets->credentials.login, "AKIA2");
  EXPECT_EQ(secrets->credentials.password, "secret2");
  EXPECT_EQ(secrets->passphrase, "the passphrase");
  EXPECT_EQ(secrets->credentials_origin, "authinfo section [s3-prefix]");
}

TEST_F(AuthinfoFile, FallsBackToAwsEnvironmentForS3Only) {
  write(kSample, 0600);
  auto aws = env({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"}});
  auto s3c = load_access_secrets(path_, true, "s3c://gw:8080/b/p", aws);
  ASSERT_TRUE(s3c.is_ok());
  EXPECT_EQ(s3c->credentials.login, "ENVKEY");
  EXPECT_EQ(s3c->credentials.password, "ENVSECRET");

  // An authinfo entry with credentials wins over the environment.
  auto s3 = load_access_secrets(path_, true, "s3://eu-west-1/bucket/x", aws);
  ASSERT_TRUE(s3.is_ok());
  EXPECT_EQ(s3->credentials.login, "AKIA1");

  auto swift = load_access_secrets(path_, true, "swift://host:8080/c/p", aws);
  ASSERT_TRUE(swift.is_ok());
  EXPECT_EQ(swift->credentials.login, "");
}

}  // namespace
}  // namespace hoardfs::tools
