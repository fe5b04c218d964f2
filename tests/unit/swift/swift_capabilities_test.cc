// /info parsing, the /info URL, and the verdict on a bulk delete's answer.
#include <gtest/gtest.h>

#include "backend/swift/swift_backend.h"
#include "backend/swift/swift_capabilities.h"

namespace hoardfs::swift {
namespace {

TEST(Capabilities, ReadsWhatTheClusterOffers) {
  Capabilities caps = parse_capabilities(R"({
    "swift": {"version": "2.30.1", "max_file_size": 1073741824, "max_object_name_length": 512,
              "container_listing_limit": 5000, "max_meta_count": 10, "max_meta_name_length": 64,
              "max_meta_value_length": 128, "max_meta_overall_size": 2048},
    "bulk_delete": {"max_deletes_per_request": 250, "max_failed_deletes": 1000},
    "slo": {"max_manifest_segments": 100, "max_manifest_size": 1048576, "min_segment_size": 1048576}})");
  EXPECT_TRUE(caps.info_available);
  EXPECT_EQ(caps.version, "2.30.1");
  EXPECT_EQ(caps.max_file_size, 1073741824u);
  EXPECT_EQ(caps.max_object_name_length, 512u);
  EXPECT_EQ(caps.container_listing_limit, 5000u);
  EXPECT_EQ(caps.max_meta_count, 10u);
  EXPECT_EQ(caps.max_meta_name_length, 64u);
  EXPECT_EQ(caps.max_meta_value_length, 128u);
  EXPECT_EQ(caps.max_meta_overall_size, 2048u);
  EXPECT_TRUE(caps.bulk_delete);
  EXPECT_EQ(caps.max_deletes_per_request, 250u);
  EXPECT_TRUE(caps.static_large_objects);
  EXPECT_EQ(caps.max_manifest_segments, 100u);
  EXPECT_EQ(caps.min_segment_size, 1048576u);
  EXPECT_NE(caps.summary().find("bulk delete (250 per request)"), std::string::npos) << caps.summary();
}

TEST(Capabilities, WithoutMiddlewaresOrInfo) {
  Capabilities bare = parse_capabilities(R"({"swift": {"version": "2.0"}})");
  EXPECT_TRUE(bare.info_available);
  EXPECT_FALSE(bare.bulk_delete);
  EXPECT_FALSE(bare.static_large_objects);
  EXPECT_EQ(bare.max_file_size, 5368709122u);
  EXPECT_EQ(bare.container_listing_limit, 10000u);

  Capabilities hidden = parse_capabilities("<html>Not Found</html>");
  EXPECT_FALSE(hidden.info_available);
  EXPECT_FALSE(hidden.bulk_delete);
  EXPECT_FALSE(hidden.static_large_objects);
  EXPECT_NE(hidden.summary().find("no /info"), std::string::npos);
}

TEST(Capabilities, InfoUrl) {
  EXPECT_EQ(info_url("http://127.0.0.1:8080/v1/AUTH_test"), "http://127.0.0.1:8080/info");
  EXPECT_EQ(info_url("https://cloud.example.com/object-store/v1/AUTH_abc"),
            "https://cloud.example.com/object-store/info");
  EXPECT_EQ(info_url("https://swift.example.com:443/v1"), "https://swift.example.com:443/info");
  EXPECT_EQ(info_url("https://swift.example.com/AUTH_x"), "https://swift.example.com/info");
}

http::Response answer(long status, std::string body) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

TEST(BulkDelete, SuccessAndMissingObjectsAreOk) {
  EXPECT_TRUE(bulk_delete_outcome(answer(200, R"(  {"Response Status": "200 OK", "Number Deleted": 3,
      "Number Not Found": 1, "Errors": []})"), "bulk"));
  // A batch whose only failures are objects that were already gone.
  EXPECT_TRUE(bulk_delete_outcome(answer(200, R"({"Response Status": "400 Bad Request",
      "Errors": [["/c/a", "404 Not Found"]]})"), "bulk"));
}

TEST(BulkDelete, ServerErrorsInTheBodyAreRetryable) {
  Status status = bulk_delete_outcome(answer(200, R"({"Response Status": "502 Bad Gateway",
      "Errors": [["/c/a", "503 Service Unavailable"], ["/c/b", "404 Not Found"]]})"), "bulk");
  EXPECT_FALSE(status);
  EXPECT_TRUE(status.retryable()) << status.to_string();
  EXPECT_NE(status.message().find("/c/a"), std::string::npos) << status.to_string();
  Status expired = bulk_delete_outcome(answer(200, R"({"Response Status": "400 Bad Request",
      "Errors": [["/c/a", "401 Unauthorized"]]})"), "bulk");
  EXPECT_TRUE(expired.retryable()) << expired.to_string();
}

TEST(BulkDelete, RefusalsArePermanent) {
  Status denied = bulk_delete_outcome(answer(200, R"({"Response Status": "400 Bad Request",
      "Errors": [["/c/a", "403 Forbidden"], ["/c/b", "503 Service Unavailable"]]})"), "bulk");
  EXPECT_EQ(denied.code(), Status::Code::kPermissionDenied) << denied.to_string();
  EXPECT_FALSE(denied.retryable());
  EXPECT_EQ(bulk_delete_outcome(answer(413, "too many"), "bulk").code(), Status::Code::kIoError);
  Status garbled = bulk_delete_outcome(answer(200, "  "), "bulk");
  EXPECT_TRUE(garbled.retryable());
}

}  // namespace
}  // namespace hoardfs::swift
