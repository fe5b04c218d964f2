// Request signing for S3: AWS Signature Version 4 (the default) and the
// older Version 2 that many storage-cluster gateways still speak.
//
// The signer sees the request exactly as it goes on the wire: the encoded
// path, the encoded query pairs and every header (Host included). It adds
// x-amz-date, for V4 x-amz-content-sha256 (the caller passes the payload's
// SHA-256, so the payload is signed, never UNSIGNED-PAYLOAD), and
// Authorization. Every attempt of a retried request is signed afresh.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/http/http_client.h"

namespace hoardfs::s3 {

// Hash helpers (OpenSSL).
std::string sha256_hex(std::string_view data);
std::string md5_base64(std::string_view data);  // Content-MD5
std::string md5_hex(std::string_view data);     // single-part ETag
std::string base64(std::string_view bytes);

using QueryPairs = std::vector<std::pair<std::string, std::string>>;  // names and values not encoded

// "a=1&b=" with names and values URI-encoded, sorted by name (as SigV4 wants;
// the same string is used in the URL so the two never disagree).
std::string canonical_query(const QueryPairs& query);

struct SigningRequest {
  std::string_view method;
  std::string_view path;  // encoded, starting with '/'
  const QueryPairs* query = nullptr;
  http::Headers* headers = nullptr;  // must hold Host; gets the signature headers
  std::string_view payload_sha256_hex;
  std::time_t now = 0;
};

struct SigningKeys {
  std::string access_key;
  std::string secret_key;
  std::string region;  // V4 only
};

void sign_v4(const SigningKeys& keys, const SigningRequest& request);

// V2 signs the canonical resource "/bucket/key" plus sub-resources;
// `resource_path` is that path (for path-style requests, the request path).
void sign_v2(const SigningKeys& keys, const SigningRequest& request, std::string_view resource_path);

// "20130524T000000Z" and "Fri, 24 May 2013 00:00:00 GMT".
std::string amz_date(std::time_t t);
std::string http_date(std::time_t t);

}  // namespace hoardfs::s3
