// S3's XML documents and how S3 errors map to Status.
#include <gtest/gtest.h>

#include "backend/s3/s3_errors.h"
#include "backend/s3/s3_xml.h"

namespace hoardfs::s3 {
namespace {

TEST(S3Xml, ParsesListV1AndV2) {
  auto v1 = parse_list(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<Marker></Marker><NextMarker>p/b&amp;c</NextMarker><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>p/a</Key><Size>10</Size><ETag>"x"</ETag></Contents>
<Contents><Key>p/b&amp;c</Key><Size>0</Size></Contents></ListBucketResult>)");
  ASSERT_TRUE(v1.is_ok()) << v1.status().to_string();
  ASSERT_EQ(v1->objects.size(), 2u);
  EXPECT_EQ(v1->objects[0].key, "p/a");
  EXPECT_EQ(v1->objects[0].size, 10u);
  EXPECT_EQ(v1->objects[1].key, "p/b&c");
  EXPECT_TRUE(v1->truncated);
  EXPECT_EQ(v1->next_marker, "p/b&c");

  auto v2 = parse_list(R"(<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>)");
  ASSERT_TRUE(v2.is_ok());
  EXPECT_TRUE(v2->objects.empty());
  EXPECT_FALSE(v2->truncated);
}

TEST(S3Xml, MalformedListingIsRetryable) {
  for (const char* body : {"", "<html>bad gateway</html>", "<ListBucketResult><Contents><Size>1</Size></Contents>",
                           "<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>"}) {
    auto result = parse_list(body);
    ASSERT_FALSE(result.is_ok()) << body;
    EXPECT_TRUE(result.status().retryable());
  }
}

TEST(S3Xml, ErrorDocument) {
  auto error = parse_error(R"(<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key
does not exist</Message><Key>k</Key></Error>)");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, "NoSuchKey");
  EXPECT_FALSE(parse_error("").has_value());
  EXPECT_FALSE(parse_error("<ListBucketResult/>").has_value());
  EXPECT_FALSE(parse_error("not xml").has_value());
}

TEST(S3Xml, MultipartDocuments) {
  auto id = parse_upload_id(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.is_ok());
  EXPECT_EQ(*id, "2~abc");
  EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>").is_ok());
  EXPECT_EQ(build_complete_multipart({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part></CompleteMultipartUpload>");
  bool truncated = true;
  auto uploads = parse_multipart_uploads(
      "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>a</Key><UploadId>1</UploadId>"
      "</Upload></ListMultipartUploadsResult>",
      &truncated);
  ASSERT_TRUE(uploads.is_ok());
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ((*uploads)[0].key, "a");
  EXPECT_FALSE(truncated);
}

TEST(S3Xml, DeleteDocuments) {
  EXPECT_EQ(build_delete({"a", "b<&>"}),
            "<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b&lt;&amp;&gt;</Key></Object>"
            "</Delete>");
  auto failures = parse_delete_result(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code>"
      "<Message>no</Message></Error></DeleteResult>");
  ASSERT_TRUE(failures.is_ok());
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_EQ((*failures)[0].key, "b");
  EXPECT_EQ((*failures)[0].code, "AccessDenied");
}

S3Config test_config() {
  S3Config config;
  config.host = "gw:7480";
  config.bucket = "bucket";
  config.access_key = "AKID";
  return config;
}

Status map(long status, const std::string& code) {
  std::optional<S3Error> error;
  if (!code.empty()) error = S3Error{code, "msg", ""};
  return map_s3_error(status, error, "GET k", test_config());
}

TEST(S3Errors, PermanentErrorsFailFastWithTheRightCode) {
  EXPECT_EQ(map(403, "InvalidAccessKeyId").code(), Status::Code::kAuthFailed);
  EXPECT_EQ(map(403, "SignatureDoesNotMatch").code(), Status::Code::kAuthFailed);
  EXPECT_NE(map(403, "SignatureDoesNotMatch").message().find("wrong secret key for access key 'AKID'"),
            std::string::npos);
  EXPECT_EQ(map(403, "AccessDenied").code(), Status::Code::kPermissionDenied);
  Status no_bucket = map(404, "NoSuchBucket");
  EXPECT_EQ(no_bucket.code(), Status::Code::kNotFound);
  EXPECT_NE(no_bucket.message().find("bucket 'bucket' does not exist"), std::string::npos);
  EXPECT_EQ(map(404, "NoSuchKey").code(), Status::Code::kNotFound);
  EXPECT_EQ(map(404, "").code(), Status::Code::kNotFound);
  EXPECT_EQ(map(412, "PreconditionFailed").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(map(501, "NotImplemented").code(), Status::Code::kUnsupported);
  EXPECT_EQ(map(403, "QuotaExceeded").code(), Status::Code::kNoSpace);
  EXPECT_EQ(map(400, "InvalidArgument").code(), Status::Code::kIoError);
  for (const char* code : {"InvalidAccessKeyId", "AccessDenied", "NoSuchBucket", "RequestTimeTooSkewed"}) {
    EXPECT_FALSE(map(403, code).retryable()) << code;
  }
  Status redirect = map_s3_error(301, S3Error{"PermanentRedirect", "m", "eu-west-1"}, "GET k", test_config());
  EXPECT_NE(redirect.message().find("region 'eu-west-1'"), std::string::npos);
}

TEST(S3Errors, TransientErrorsAreRetryable) {
  EXPECT_TRUE(map(503, "SlowDown").retryable());
  EXPECT_TRUE(map(400, "RequestTimeout").retryable());
  EXPECT_TRUE(map(500, "InternalError").retryable());
  EXPECT_TRUE(map(400, "BadDigest").retryable());
  EXPECT_TRUE(map(502, "").retryable());
  EXPECT_TRUE(map(408, "").retryable());
  EXPECT_TRUE(map(429, "").retryable());
  EXPECT_FALSE(map(400, "").retryable());
}

}  // namespace
}  // namespace hoardfs::s3
