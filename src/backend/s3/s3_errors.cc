#include "backend/s3/s3_errors.h"

#include <fmt/core.h>

#include <set>
#include <string>

#include "backend/http/http_client.h"

namespace hoardfs::s3 {

Status map_s3_error(long http_status, const std::optional<S3Error>& error, std::string_view what,
                    const S3Config& config) {
  const std::string code = error ? error->code : "";
  const std::string detail = error ? (error->message.empty() ? code : code + ": " + error->message) : "";
  const std::string where = config.describe();
  auto message = [&](std::string_view explanation) {
    std::string m = fmt::format("{}: {} failed: HTTP {}", where, what, http_status);
    if (!detail.empty()) m += fmt::format(" ({})", detail);
    if (!explanation.empty()) m += fmt::format(": {}", explanation);
    return m;
  };

  if (code == "InvalidAccessKeyId" || code == "InvalidToken" || code == "ExpiredToken" ||
      code == "TokenRefreshRequired") {
    return Status::auth_failed(message(fmt::format("the server does not accept access key '{}'", config.access_key)));
  }
  if (code == "SignatureDoesNotMatch") {
    return Status::auth_failed(message(fmt::format("wrong secret key for access key '{}'", config.access_key)));
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "IllegalLocationConstraintException") {
    std::string hint = error && !error->region.empty()
                           ? fmt::format("the bucket is in region '{}'", error->region)
                           : std::string("wrong region or endpoint for this bucket");
    return Status::io_error(message(hint));
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem") {
    return Status::permission_denied(
        message(fmt::format("access key '{}' may not do this on bucket '{}'", config.access_key, config.bucket)));
  }
  if (code == "NoSuchBucket") {
    return Status::not_found(message(fmt::format(
        "bucket '{}' does not exist (mkfs.hoardfs creates it when the credentials allow)", config.bucket)));
  }
  if (code == "RequestTimeTooSkewed") {
    return Status::io_error(message("this host's clock is too far from the server's; fix the time (NTP)"));
  }
  if (code == "QuotaExceeded" || code == "InsufficientStorage" || code == "StorageFull" || http_status == 507) {
    return Status::no_space(message("the backend is full or over quota"));
  }
  if (code == "PreconditionFailed" || http_status == 412) return Status::already_exists(message("the object exists"));
  if (code == "NotImplemented" || http_status == 501) return Status::unsupported(message("the server does not support this"));
  if (code == "InvalidBucketName") return Status::invalid_argument(message("the server refuses this bucket name"));

  static const std::set<std::string> retryable_codes = {
      "SlowDown",      "RequestTimeout",  "InternalError",           "ServiceUnavailable",
      "OperationAborted", "BadDigest",    "XAmzContentSHA256Mismatch", "IncompleteBody",
      "RequestTimeoutException", "Throttling", "ThrottlingException", "TooManyRequests",
      "ConditionalRequestConflict"};
  if (retryable_codes.contains(code) || http::is_retryable_http_status(http_status)) {
    return Status::transient(message(""));
  }
  switch (http_status) {
    case 401: return Status::auth_failed(message("the server refused the credentials"));
    case 403: return Status::permission_denied(message("access denied"));
    case 404: return Status::not_found(message("not found"));
    default: return Status::io_error(message(""));
  }
}

}  // namespace hoardfs::s3
