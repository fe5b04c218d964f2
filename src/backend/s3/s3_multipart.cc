// Multipart uploads: initiate, parts in parallel, complete; abort on any failure.
//
// The part size is part-size, raised when needed so that no object needs more
// than kMaxParts parts. The whole object's MD5 goes into the upload's metadata
// (x-amz-meta-hoardfs-md5) so that GET can check it, since a multipart ETag
// is not an MD5. Each part carries its own Content-MD5.
//
// A CompleteMultipartUpload whose answer was lost and which is then repeated
// meets NoSuchUpload; the object is then checked with HEAD (size and stored
// MD5) before the upload counts as done.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "backend/s3/s3_backend.h"
#include "backend/s3/s3_errors.h"
#include "hoardfs/log.h"

namespace hoardfs::s3 {

Status S3Backend::put_multipart(const std::string& key, std::string_view data) {
  const uint64_t size = data.size();
  const uint64_t part_size = std::max<uint64_t>(config_.part_size, (size + kMaxParts - 1) / kMaxParts);
  const std::string md5 = md5_base64(data);
  const std::string full = full_key(key);

  Call initiate{.method = "POST",
                .key = full,
                .query = {{"uploads", ""}},
                .headers = {{"Content-Type", "application/octet-stream"}, {"x-amz-meta-hoardfs-md5", md5}},
                .what = "start multipart upload of " + key};
  http::Response response;
  int attempts = 0;
  HOARDFS_RETURN_IF_ERROR(execute(initiate, &response, &attempts));
  auto upload_id = parse_upload_id(response.body);
  if (!upload_id) return upload_id.status().with_context(describe() + ": " + initiate.what);
  if (attempts > 1) abort_other_uploads(full, *upload_id);

  std::vector<std::string> etags;
  Status status = upload_parts(full, *upload_id, data, part_size, &etags);
  if (status.is_ok()) status = complete_multipart(full, *upload_id, etags, md5);
  if (!status.is_ok()) {
    abort_multipart(full, *upload_id);
    return status;
  }
  log::debug("{}: uploaded {} ({} bytes) in {} parts", describe(), key, size, etags.size());
  return Status::ok();
}

Status S3Backend::upload_parts(const std::string& full, const std::string& upload_id, std::string_view data,
                               uint64_t part_size, std::vector<std::string>* etags) {
  const size_t parts = std::max<size_t>(1, (data.size() + part_size - 1) / part_size);
  etags->assign(parts, std::string());
  return parallel_for(parts, config_.connections, [&](size_t i) -> Status {
    std::string_view part = data.substr(i * part_size, part_size);
    Call call{.method = "PUT",
              .key = full,
              .query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}},
              .headers = {{"Content-MD5", md5_base64(part)}},
              .body = part,
              .what = fmt::format("upload part {} of {} of {}", i + 1, parts, full)};
    http::Response response;
    HOARDFS_RETURN_IF_ERROR(execute(call, &response));
    const std::string* etag = response.header("etag");
    if (etag == nullptr || etag->empty()) {
      return Status::io_error(fmt::format("{}: {}: the server sent no ETag", describe(), call.what));
    }
    (*etags)[i] = *etag;
    return Status::ok();
  });
}

Status S3Backend::complete_multipart(const std::string& full, const std::string& upload_id,
                                     const std::vector<std::string>& etags, const std::string& md5) {
  const std::string body = build_complete_multipart(etags);
  Call call{.method = "POST",
            .key = full,
            .query = {{"uploadId", upload_id}},
            .headers = {{"Content-Type", "application/xml"}},
            .body = body,
            .what = "complete multipart upload of " + full,
            .error_in_ok_body = true};
  http::Response response;
  Status status = execute(call, &response);
  if (status.is_ok() || !status.is_not_found()) return status;
  auto error = parse_error(response.body);
  if (!error || error->code != "NoSuchUpload") return status;
  // An earlier attempt may have completed the upload before its answer was lost.
  Call head{.method = "HEAD", .key = full, .what = "HEAD " + full};
  http::Response head_response;
  if (execute(head, &head_response).is_ok()) {
    const std::string* stored = head_response.header("x-amz-meta-hoardfs-md5");
    if (stored != nullptr && *stored == md5) return Status::ok();
  }
  return status;
}

void S3Backend::abort_other_uploads(const std::string& full, const std::string& keep) {
  Call call{.method = "GET", .query = {{"uploads", ""}, {"prefix", full}}, .what = "ListMultipartUploads " + full};
  http::Response response;
  bool truncated = false;
  if (!execute(call, &response).is_ok()) return;  // best effort: not every server lists uploads
  auto uploads = parse_multipart_uploads(response.body, &truncated);
  if (!uploads) return;
  for (const UploadEntry& upload : *uploads) {
    if (upload.key == full && upload.upload_id != keep) abort_multipart(full, upload.upload_id);
  }
}

void S3Backend::abort_multipart(const std::string& full, const std::string& upload_id) {
  Call call{.method = "DELETE", .key = full, .query = {{"uploadId", upload_id}},
            .what = "abort multipart upload of " + full};
  http::Response response;
  Status status = execute(call, &response);
  if (status.is_ok() || (status.is_not_found() && response.status == 404)) return;
  log::error("{}: could not abort multipart upload {} of {}: {} (its parts stay until aborted)", describe(),
             upload_id, full, status.to_string());
}

}  // namespace hoardfs::s3
