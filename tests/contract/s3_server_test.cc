// S3-specific behaviour against the real servers (see s3_test_env.h):
// bad credentials are the credentials error at once (Swift and radosgw check
// SigV4 and SigV2; s3rver only SigV2), a missing bucket says so, mkfs's
// bucket creation, multipart uploads leave no incomplete upload behind, and
// TLS through nginx trusts exactly the CA it is given.
#include <gtest/gtest.h>

#include <chrono>

#include "../unit/s3/fake_s3_server.h"
#include "hoardfs/backend.h"
#include "s3_test_env.h"

namespace hoardfs::testing {
namespace {

using std::chrono::steady_clock;

struct Case {
  std::string server;
  std::string options;  // extra backend options
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.server << " " << c.options; }

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.server + "_" + (info.param.options.empty() ? "sigv4" : info.param.options);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class S3ServerTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    std::string why;
    auto server = s3_server(GetParam().server, &why);
    if (!server) GTEST_SKIP() << why;
    server_ = *server;
    backend_ = open_s3(server_, "hoardfs-contract", "s3-server-test-" + unique_suffix() + "/", GetParam().options, &why);
    if (!backend_ && !HasFailure()) GTEST_SKIP() << why;
    ASSERT_NE(backend_, nullptr);
  }

  void TearDown() override {
    if (!backend_) return;
    std::vector<ObjectInfo> left;
    ASSERT_TRUE(list_all(*backend_, "", &left).is_ok());
    std::vector<std::string> keys;
    for (const auto& o : left) keys.push_back(o.key);
    EXPECT_TRUE(backend_->remove(keys).is_ok());
  }

  // A backend like backend_ but opened with other credentials or options.
  Result<std::unique_ptr<s3::S3Backend>> open_variant(const Credentials& credentials, const std::string& options,
                                                      const std::string& bucket = "hoardfs-contract") {
    std::string text = server_.options + (GetParam().options.empty() ? "" : "," + GetParam().options);
    if (!options.empty()) text += "," + options;
    auto config = s3::parse_s3_config(server_.url(bucket, "s3-server-test/"), parse_backend_options(text).value(),
                                      credentials);
    if (!config) return config.status();
    config->request_retry_time = std::chrono::seconds(20);
    return s3::S3Backend::open(std::move(config.value()));
  }

  bool v2() const { return GetParam().options.find("sig=v2") != std::string::npos; }

  S3Server server_;
  std::unique_ptr<s3::S3Backend> backend_;
};

TEST_P(S3ServerTest, WrongSecretIsTheCredentialsErrorAtOnce) {
  if (!server_.checks_v4_signatures && !v2()) GTEST_SKIP() << "s3rver does not verify SigV4 signatures";
  auto backend = open_variant({server_.credentials.login, server_.credentials.password + "x"}, "");
  ASSERT_TRUE(backend.is_ok());
  auto start = steady_clock::now();
  std::string out;
  Status got = backend.value()->get("anything", &out);
  Status put = backend.value()->put("anything", "data");
  EXPECT_EQ(got.code(), Status::Code::kAuthFailed) << got.to_string();
  EXPECT_EQ(put.code(), Status::Code::kAuthFailed) << put.to_string();
  EXPECT_FALSE(put.retryable());
  EXPECT_NE(put.message().find("wrong secret key"), std::string::npos) << put.to_string();
  if (server_.credentials.password != server_.credentials.login) {  // s3rver's key and secret are equal
    EXPECT_EQ(put.message().find(server_.credentials.password), std::string::npos) << "the secret leaked";
  }
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(S3ServerTest, UnknownAccessKeyIsTheCredentialsError) {
  auto backend = open_variant({"NOSUCHKEY" + unique_suffix(), "secret"}, "");
  ASSERT_TRUE(backend.is_ok());
  Status put = backend.value()->put("anything", "data");
  EXPECT_EQ(put.code(), Status::Code::kAuthFailed) << put.to_string();
  ListPage page;
  EXPECT_EQ(backend.value()->list("", "", 10, &page).code(), Status::Code::kAuthFailed);
}

TEST_P(S3ServerTest, MissingBucketIsAClearNotFound) {
  auto backend = open_variant(server_.credentials, "", "hoardfs-missing-" + unique_suffix());
  ASSERT_TRUE(backend.is_ok());
  ListPage page;
  Status listed = backend.value()->list("", "", 10, &page);
  EXPECT_TRUE(listed.is_not_found()) << listed.to_string();
  EXPECT_NE(listed.message().find("does not exist"), std::string::npos) << listed.to_string();
  Status put = backend.value()->put("k", "v");
  EXPECT_TRUE(put.is_not_found()) << put.to_string();
  EXPECT_FALSE(put.retryable());
}

TEST_P(S3ServerTest, EnsureBucketCreatesOnceThenFindsIt) {
  const std::string bucket = "hoardfs-ensure-" + unique_suffix();
  auto backend = open_variant(server_.credentials, "", bucket);
  ASSERT_TRUE(backend.is_ok());
  bool created = false;
  ASSERT_TRUE(backend.value()->ensure_bucket(&created).is_ok());
  EXPECT_TRUE(created);
  ASSERT_TRUE(backend.value()->ensure_bucket(&created).is_ok());
  EXPECT_FALSE(created);
  ASSERT_TRUE(backend.value()->put("k", "v").is_ok());
  ASSERT_TRUE(backend.value()->remove({"k"}).is_ok());
  EXPECT_TRUE(backend.value()->delete_bucket().is_ok());
}

TEST_P(S3ServerTest, MultipartRoundTripLeavesNoIncompleteUploads) {
  auto backend = open_variant(server_.credentials, "multipart-threshold=5M,part-size=5M");
  ASSERT_TRUE(backend.is_ok());
  auto& s3 = *backend.value();
  std::string data(12 << 20, '\0');
  randombytes_buf(data.data(), data.size());
  const std::string key = "multipart-" + unique_suffix();
  ASSERT_TRUE(s3.put(key, data).is_ok());
  std::string out;
  ASSERT_TRUE(s3.get(key, &out).is_ok());
  EXPECT_TRUE(out == data);
  ObjectInfo info;
  ASSERT_TRUE(s3.head(key, &info).is_ok());
  EXPECT_EQ(info.size, data.size());
  ASSERT_TRUE(s3.get_range(key, (5 << 20) - 3, 6, &out).is_ok());  // across a part boundary
  EXPECT_TRUE(out == data.substr((5 << 20) - 3, 6));
  if (server_.name != "s3rver") {  // s3rver has no ListMultipartUploads
    std::vector<s3::UploadEntry> uploads;
    ASSERT_TRUE(s3.list_multipart_uploads(&uploads).is_ok());
    for (const auto& upload : uploads) ADD_FAILURE() << "incomplete upload left: " << upload.key;
  }
  EXPECT_TRUE(s3.remove({key}).is_ok());
}

TEST_P(S3ServerTest, OpenBackendTakesTheUrlAndOptions) {
  std::string text = server_.options + (GetParam().options.empty() ? "" : "," + GetParam().options);
  auto backend = open_backend(server_.url("hoardfs-contract", "s3-server-test-open/"), parse_backend_options(text).value(),
                              server_.credentials);
  ASSERT_TRUE(backend.is_ok()) << backend.status().to_string();
  ASSERT_TRUE(backend.value()->put("k", "v").is_ok());
  std::string out;
  ASSERT_TRUE(backend.value()->get("k", &out).is_ok());
  EXPECT_EQ(out, "v");
  EXPECT_TRUE(backend.value()->remove({"k"}).is_ok());
}

// The fault-injecting proxy (tests/unit/s3/fake_s3_server.h) between the
// backend and the real server: every kind of network trouble is retried and
// nothing corrupt is returned.
TEST_P(S3ServerTest, FaultsBetweenBackendAndServerAreSurvived) {
  if (server_.name == "nginx") GTEST_SKIP() << "the proxy speaks plain HTTP";
  if (v2()) GTEST_SKIP() << "once per server is enough (the signature version does not matter here)";
  FakeS3Server proxy(server_.endpoint);
  S3Server via_proxy = server_;
  via_proxy.endpoint = proxy.endpoint();
  std::string why;
  auto backend = open_s3(via_proxy, "hoardfs-contract", "s3-fault-test-" + unique_suffix() + "/",
                         GetParam().options + (GetParam().options.empty() ? "" : ",") +
                             "stall-timeout=1,multipart-threshold=5M,part-size=5M",
                         &why);
  ASSERT_NE(backend, nullptr) << why;
  std::string data(11 << 20, '\0');
  randombytes_buf(data.data(), data.size());
  std::string small = data.substr(0, 200000);

  proxy.inject(FakeS3Server::Fault::kInternalError, "PUT");
  proxy.inject(FakeS3Server::Fault::kReset, "PUT");
  ASSERT_TRUE(backend->put("small", small).is_ok());
  std::string out;
  proxy.inject(FakeS3Server::Fault::kReset, "GET");
  proxy.inject(FakeS3Server::Fault::kCorruptBody, "GET");
  proxy.set_retry_after_seconds(1);
  proxy.inject(FakeS3Server::Fault::kSlowDown, "GET");
  proxy.inject(FakeS3Server::Fault::kStall, "GET");
  ASSERT_TRUE(backend->get("small", &out).is_ok());
  EXPECT_TRUE(out == small);
  EXPECT_EQ(proxy.faults_left(), 0u);

  proxy.inject(FakeS3Server::Fault::kInternalError, "PUT?partNumber=2");
  proxy.inject(FakeS3Server::Fault::kReset, "PUT?partNumber=1");
  ASSERT_TRUE(backend->put("big", data).is_ok());
  proxy.inject(FakeS3Server::Fault::kCorruptBody, "GET", 2);
  ASSERT_TRUE(backend->get("big", &out).is_ok());
  EXPECT_TRUE(out == data);
  if (server_.name != "s3rver") {
    std::vector<s3::UploadEntry> uploads;
    ASSERT_TRUE(backend->list_multipart_uploads(&uploads).is_ok());
    EXPECT_TRUE(uploads.empty());
  }
  proxy.inject(FakeS3Server::Fault::kCorruptBody, "GET", 3);
  Status corrupt = backend->get("small", &out);
  EXPECT_EQ(corrupt.code(), Status::Code::kCorruption) << corrupt.to_string();
  EXPECT_TRUE(backend->remove({"small", "big"}).is_ok());
}

INSTANTIATE_TEST_SUITE_P(S3, S3ServerTest,
                         ::testing::Values(Case{"swift", ""}, Case{"swift", "sig=v2"}, Case{"rgw", ""},
                                           Case{"rgw", "sig=v2"}, Case{"s3rver", ""}, Case{"s3rver", "sig=v2"},
                                           Case{"nginx", ""}),
                         case_name);

// TLS through nginx: the private CA is trusted only when given.
class S3TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    auto server = s3_server("nginx", &why);
    if (!server) GTEST_SKIP() << why;
    server_ = *server;
  }

  Status try_put(const std::string& options) {
    auto config = s3::parse_s3_config(server_.url("hoardfs-contract", "tls-test/"),
                                      parse_backend_options(options).value(), server_.credentials);
    if (!config) return config.status();
    auto backend = s3::S3Backend::open(std::move(config.value()));
    if (!backend) return backend.status();
    bool created = false;
    Status status = backend.value()->ensure_bucket(&created);
    if (status.is_ok()) status = backend.value()->put("k", "v");
    if (status.is_ok()) backend.value()->remove({"k"});
    return status;
  }

  S3Server server_;
};

TEST_F(S3TlsTest, RightCaIsTrusted) {
  Status status = try_put(server_.options);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
}

TEST_F(S3TlsTest, WrongCaIsRefusedAtOnce) {
  auto start = steady_clock::now();
  Status status = try_put("ssl-ca-path=" + server_.wrong_ca);
  EXPECT_FALSE(status.is_ok());
  EXPECT_FALSE(status.retryable()) << status.to_string();
  EXPECT_NE(status.message().find("ssl-ca-path"), std::string::npos) << status.to_string();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(S3TlsTest, SystemStoreDoesNotTrustThePrivateCa) {
  Status status = try_put("");
  EXPECT_FALSE(status.is_ok());
  EXPECT_FALSE(status.retryable()) << status.to_string();
}

TEST_F(S3TlsTest, MissingCaFileIsAnError) {
  Status status = try_put("ssl-ca-path=/nonexistent/ca.pem");
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << status.to_string();
}

}  // namespace
}  // namespace hoardfs::testing
