// How S3 error answers become Status values.
//
// Permanent errors fail at once with a message that says what to fix:
// InvalidAccessKeyId and SignatureDoesNotMatch are auth_failed (the
// credentials error, exit code "bad credentials"), AccessDenied is
// permission_denied, NoSuchBucket is not_found naming the bucket and saying
// that mkfs.hoardfs creates it. Throttling and server trouble (SlowDown,
// RequestTimeout, InternalError, ServiceUnavailable, 5xx, 408, 429) and
// payload damage in transit (BadDigest) are retryable.
#pragma once

#include <optional>
#include <string_view>

#include "backend/s3/s3_config.h"
#include "backend/s3/s3_xml.h"
#include "hoardfs/status.h"

namespace hoardfs::s3 {

// `what` names the request for the message ("GET data/ab12"); `error` is the
// parsed <Error> body, if the answer had one (HEAD answers never do).
Status map_s3_error(long http_status, const std::optional<S3Error>& error, std::string_view what,
                    const S3Config& config);

}  // namespace hoardfs::s3
