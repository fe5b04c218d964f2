// S3 storage URLs and backend options, parsed and checked before any request.
//
//   s3://REGION/BUCKET/PREFIX         Amazon S3: https, virtual-hosted style
//                                     (BUCKET.s3.REGION.amazonaws.com), SigV4
//   s3c://HOST[:PORT]/BUCKET/PREFIX   any S3-compatible gateway: path-style,
//                                     SigV4 (region us-east-1 unless region=)
//
// Backend options (--backend-options k=v,flag,...):
//   region=R                SigV4 region for s3c:// (default us-east-1)
//   sig=v4|v2               signature version (s3c:// only; default v4)
//   list=v1|v2              ListObjects version (default v1 for s3c://, v2 for s3://)
//   no-ssl                  plain http (s3c:// only)
//   ssl-ca-path=FILE        trust this PEM CA bundle instead of the system store
//   connections=N           at most N requests at once (default 8)
//   multipart-threshold=SZ  objects larger than this go up in parts (default 8M)
//   part-size=SZ            multipart part size, at least 5M (default 8M)
//   connect-timeout=S       seconds to establish a connection (default 10)
//   stall-timeout=S         abandon a transfer idle for S seconds (default 30)
//   request-retry-time=S    budget for repeating one failed HTTP request,
//                           honouring Retry-After (default 60; 0: no retries)
//   conditional-put=auto|yes|no  whether the server honours If-None-Match: *
//                           (auto: probe once, on the first put_if_absent)
// SZ accepts a byte count with an optional K, M or G suffix (binary units).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs::s3 {

enum class Signature { kV4, kV2 };

struct S3Config {
  bool aws = false;            // s3:// (virtual-hosted) rather than s3c:// (path-style)
  bool https = true;
  std::string host;            // host[:port] as sent in the Host header
  std::string endpoint;        // "https://host[:port]" without a trailing slash
  bool virtual_hosted = false; // bucket in the host name instead of the path
  std::string bucket;
  std::string prefix;          // prepended to every key as is
  std::string region = "us-east-1";
  Signature signature = Signature::kV4;
  bool list_v2 = false;
  std::string ca_file;
  size_t connections = 8;
  uint64_t multipart_threshold = 8ull << 20;
  uint64_t part_size = 8ull << 20;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{30};
  std::chrono::seconds request_retry_time{60};
  enum class ConditionalPut { kAuto, kYes, kNo } conditional_put = ConditionalPut::kAuto;
  std::string access_key;
  std::string secret_key;

  // "s3c://host:port/bucket/prefix" for logs (never the credentials).
  std::string describe() const;
};

inline constexpr uint64_t kMinPartSize = 5ull << 20;
inline constexpr uint64_t kMaxParts = 1000;  // Swift's s3api limit; AWS allows 10,000

// Parses the URL and the options; every mistake is invalid_argument with a
// one-line explanation. Empty credentials are auth_failed.
Result<S3Config> parse_s3_config(const std::string& url, const BackendOptions& options,
                                 const Credentials& credentials);

// The S3 bucket naming rules (DNS-compatible): 3-63 characters of lower-case
// letters, digits, '.' and '-', starting and ending with a letter or digit, no
// "..", not an IP address, no xn-- prefix or -s3alias / --ol-s3 suffix.
// Returns ok or invalid_argument explaining which rule is broken.
Status validate_bucket_name(std::string_view bucket);

// Parses "123", "5M", "8MiB", "1G" (binary units).
Result<uint64_t> parse_size(std::string_view text);

}  // namespace hoardfs::s3
