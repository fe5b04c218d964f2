// open_backend(): URL parsing, the backend stack it builds, option handling.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "backend/memory/memory_backend.h"
#include "hoardfs/backend.h"

namespace hoardfs {
namespace {

Result<std::unique_ptr<Backend>> open(const std::string& url, const std::string& options = "") {
  auto parsed = parse_backend_options(options);
  EXPECT_TRUE(parsed.is_ok());
  return open_backend(url, parsed.value(), Credentials{});
}

void expect_invalid(const std::string& url, const std::string& options = "", const std::string& mentions = "") {
  auto backend = open(url, options);
  ASSERT_FALSE(backend.is_ok()) << url;
  EXPECT_EQ(backend.status().code(), Status::Code::kInvalidArgument) << url << ": " << backend.status().to_string();
  const std::string& message = backend.status().message();
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  if (!mentions.empty()) {
    EXPECT_NE(message.find(mentions), std::string::npos) << message;
  }
}

TEST(OpenBackendTest, MalformedUrlsAreInvalidArguments) {
  expect_invalid("", "", "SCHEME://");
  expect_invalid("/srv/backup", "", "SCHEME://");
  expect_invalid("local:/srv/backup", "", "SCHEME://");
  expect_invalid("://x", "", "SCHEME://");
  expect_invalid("ftp://host/x", "", "unknown storage URL scheme 'ftp://'");
  expect_invalid("LOCAL:///srv", "", "unknown");
  expect_invalid("local://", "", "absolute path");
  expect_invalid("local://relative/dir", "", "absolute path");
  expect_invalid("local:///srv/../etc", "", "normalized");
  expect_invalid("memory://", "", "name");
}

TEST(OpenBackendTest, LocalUrlOpensTheDirectoryWithoutRetrying) {
  std::string dir = (std::filesystem::temp_directory_path() / "hoardfs-open-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  auto backend = open("local://" + dir);
  ASSERT_TRUE(backend.is_ok()) << backend.status().to_string();
  EXPECT_EQ(backend.value()->describe(), "local://" + dir);
  ASSERT_TRUE(backend.value()->put("k", "v").is_ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/k"));
  std::filesystem::remove_all(dir);
}

TEST(OpenBackendTest, LocalAndMemoryTakeNoBackendOptions) {
  expect_invalid("local:///tmp/x", "no-ssl", "no option 'no-ssl'");
  expect_invalid("memory://x", "region=eu", "no option 'region'");
}

TEST(OpenBackendTest, MemoryUrlSharesTheNamedStore) {
  MemoryBackend::reset_named("open-test");
  auto first = open("memory://open-test");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first.value()->describe(), "memory://open-test");
  ASSERT_TRUE(first.value()->put("k", "v").is_ok());
  std::string out;
  ASSERT_TRUE(MemoryBackend::named("open-test")->get("k", &out).is_ok());
  EXPECT_EQ(out, "v");
}

TEST(OpenBackendTest, FaultOptionsStackFaultInjectionUnderRetries) {
  auto backend = open("memory://faulty", "fault-errors=0.5,fault-seed=7,retry-time=60");
  ASSERT_TRUE(backend.is_ok()) << backend.status().to_string();
  EXPECT_EQ(backend.value()->describe(), "Retrying(FaultInjecting(memory://faulty))");
  // Half the calls fail below; the retries hide all of them.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(backend.value()->put("k" + std::to_string(i), "v").is_ok());
  }
  EXPECT_EQ(MemoryBackend::named("faulty")->object_count(), 50u);
}

TEST(OpenBackendTest, BadGenericOptionValuesAreRejected) {
  expect_invalid("memory://x", "retry-time=soon", "retry-time");
  expect_invalid("memory://x", "retry-time=-1", "retry-time");
  expect_invalid("memory://x", "fault-errors=1.5", "fault-errors");
  expect_invalid("memory://x", "fault-lost-acks=", "fault-lost-acks");
  expect_invalid("memory://x", "fault-latency-ms=5-1", "fault-latency-ms");
  expect_invalid("memory://x", "fault-latency-ms=a", "fault-latency-ms");
  expect_invalid("memory://x", "fault-seed=-3", "fault-seed");
  auto ok = open("memory://x", "fault-latency-ms=1-2,fault-partial=0.1,fault-writes-only,retry-time=0.5");
  EXPECT_TRUE(ok.is_ok()) << ok.status().to_string();
}

// Remote schemes go to their family's factory; whatever it answers (a backend,
// a bad-URL or not-built error), it is never an "unknown scheme".
TEST(OpenBackendTest, RemoteSchemesReachTheirFactories) {
  for (const char* url : {"s3://", "s3c://", "swift://", "swiftks://"}) {
    auto backend = open(url);
    if (backend.is_ok()) continue;
    EXPECT_EQ(backend.status().message().find("unknown storage URL scheme"), std::string::npos)
        << url << ": " << backend.status().to_string();
    EXPECT_EQ(backend.status().message().find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace hoardfs
