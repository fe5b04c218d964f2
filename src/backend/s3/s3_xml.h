// The XML documents S3 exchanges, read and written with pugixml.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs::s3 {

// <Error><Code>..</Code><Message>..</Message></Error>. Parses nothing and
// returns nullopt when the body is not such a document (e.g. a HEAD answer
// or an HTML page from a proxy).
struct S3Error {
  std::string code;
  std::string message;
  std::string region;  // <Region> of AuthorizationHeaderMalformed / PermanentRedirect
};
std::optional<S3Error> parse_error(std::string_view body);

// ListBucketResult of ListObjects v1 and v2. Keys are returned in full.
struct ListResult {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_marker;  // v1 NextMarker (may be empty)
};
Result<ListResult> parse_list(std::string_view body);

// InitiateMultipartUploadResult → UploadId.
Result<std::string> parse_upload_id(std::string_view body);

// CompleteMultipartUpload request body; etags as the server sent them.
std::string build_complete_multipart(const std::vector<std::string>& etags);

// ListMultipartUploadsResult → (key, upload id) pairs.
struct UploadEntry {
  std::string key;
  std::string upload_id;
};
Result<std::vector<UploadEntry>> parse_multipart_uploads(std::string_view body, bool* truncated);

// DeleteObjects request body (quiet mode: only failures are reported).
std::string build_delete(const std::vector<std::string>& keys);

// DeleteResult: the <Error> entries (key, code, message).
struct DeleteFailure {
  std::string key;
  std::string code;
  std::string message;
};
Result<std::vector<DeleteFailure>> parse_delete_result(std::string_view body);

}  // namespace hoardfs::s3
