// Static large objects (see swift_backend.h): an object above the threshold
// goes up as numbered segments in "<container>_segments", then a manifest
// under its own name makes them one object that GET, HEAD, ranges and listings
// treat like any other. The manifest PUT is the commit point: until it
// succeeds readers see the old object (or none), and If-None-Match: * on it
// keeps put_if_absent atomic.
//
// Segment names are "<name>/<upload id>/<8-digit number>", parsed from the
// right, so the object a segment belongs to is exact even when names contain
// '/'. A fresh random upload id per attempt means a repeated or concurrent
// upload never overwrites segments a live manifest points to.
#include <fmt/core.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "backend/swift/swift_backend.h"
#include "hoardfs/log.h"

namespace hoardfs::swift {

namespace {

std::string new_upload_id() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  std::string hex(sizeof bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, sizeof bytes);
  hex.pop_back();
  return hex;
}

// "<name>/<upload>/<number>" → name and upload; false for anything else.
bool parse_segment_name(std::string_view segment, std::string_view* name, std::string_view* upload) {
  size_t last = segment.rfind('/');
  if (last == std::string_view::npos || last == 0) return false;
  size_t middle = segment.rfind('/', last - 1);
  if (middle == std::string_view::npos) return false;
  *name = segment.substr(0, middle);
  *upload = segment.substr(middle + 1, last - middle - 1);
  return true;
}

}  // namespace

Status SwiftBackend::ensure_segments_container() {
  if (segments_container_ready_.load()) return Status::ok();
  const std::string what = "PUT " + segments_container_;
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "PUT";
    request.url = container_url(storage_url, segments_container_);
    request.body = std::string_view("");
    return request;
  }, &response));
  if (response.status == 403) {
    return Status::permission_denied(fmt::format(
        "{}: Swift refused to create the container '{}' that holds the segments of large objects (HTTP 403)",
        describe(), segments_container_));
  }
  if (response.status != 201 && response.status != 202) {
    return http::status_from_http(response.status, what, response_detail(response));
  }
  segments_container_ready_ = true;
  return Status::ok();
}

Status SwiftBackend::put_large(const std::string& name, std::string_view data, bool if_absent) {
  if (!capabilities_.static_large_objects) {
    return Status::unsupported(fmt::format(
        "{}: object '{}' ({} bytes) is larger than this Swift accepts in one piece ({} bytes) and the cluster "
        "offers no static large objects",
        describe(), name, data.size(), slo_threshold_));
  }
  if (if_absent) {
    // Uploading gigabytes only to be refused by the manifest's condition is wasteful.
    ObjectInfo existing;
    Status found = head(name.substr(config_.prefix.size()), &existing);
    if (found) return Status::already_exists(fmt::format("PUT {}/{}: object exists", config_.container, name));
    if (!found.is_not_found()) return found;
  }
  // Mark before the segments container can appear (see delete_segments).
  segments_may_exist_ = true;
  ++large_uploads_started_;
  HOARDFS_RETURN_IF_ERROR(ensure_segments_container());

  uint64_t segment_size = std::min<uint64_t>({config_.slo_segment_size, slo_threshold_, capabilities_.max_file_size});
  const uint64_t max_segments = capabilities_.max_manifest_segments;
  if ((data.size() + segment_size - 1) / segment_size > max_segments) {
    segment_size = (data.size() + max_segments - 1) / max_segments;
  }
  segment_size = std::max<uint64_t>(segment_size, capabilities_.min_segment_size);

  const std::string upload = new_upload_id();
  std::vector<std::string> uploaded;
  nlohmann::json manifest = nlohmann::json::array();
  auto abandon = [&](Status failure) {
    Status cleaned = delete_names(segments_container_, uploaded);
    if (!cleaned) log::warning("{}: could not delete the segments of a failed upload: {}", describe(), cleaned.to_string());
    return failure;
  };
  for (uint64_t offset = 0, number = 0; offset < data.size(); offset += segment_size, ++number) {
    std::string_view piece = data.substr(offset, segment_size);
    std::string segment = fmt::format("{}/{}/{:08}", name, upload, number);
    const std::string what = fmt::format("PUT {}/{} ({} bytes)", segments_container_, segment, piece.size());
    const std::string etag = md5_hex(piece);
    http::Response response;
    Status sent = exchange(what, [&](const std::string& storage_url) {
      http::Request request;
      request.method = "PUT";
      request.url = object_url(storage_url, segments_container_, segment);
      request.headers = {{"Content-Type", "application/octet-stream"}, {"ETag", etag}};
      request.body = piece;
      return request;
    }, &response, put_is_retryable(what));
    if (sent && response.status == 404) segments_container_ready_ = false;  // deleted under us
    if (sent && response.status != 201) sent = http::status_from_http(response.status, what, response_detail(response));
    if (!sent) return abandon(sent);
    uploaded.push_back(segment);
    // With the etag, Swift checks that the segment is still what we uploaded.
    manifest.push_back(
        {{"path", "/" + segments_container_ + "/" + segment}, {"etag", etag}, {"size_bytes", piece.size()}});
  }

  const std::string body = manifest.dump();
  const std::string what = fmt::format("PUT {}/{} (manifest of {} segments, {} bytes)", config_.container, name,
                                       uploaded.size(), data.size());
  int attempts = 0;
  http::Response response;
  Status sent = exchange(what, [&](const std::string& storage_url) {
    ++attempts;
    http::Request request;
    request.method = "PUT";
    request.url = object_url(storage_url, config_.container, name) + "?multipart-manifest=put";
    request.headers = {{"Content-Type", "application/octet-stream"}};
    if (if_absent) request.headers.emplace_back("If-None-Match", "*");
    request.body = body;
    return request;
  }, &response, put_is_retryable(what));
  if (!sent) return abandon(sent);
  if (response.status == 412 && if_absent) {
    // A lost answer to an earlier try: is the manifest in place ours?
    http::Response current;
    Status read = attempts > 1 ? exchange("GET manifest " + name, [&](const std::string& storage_url) {
      http::Request request;
      request.url = object_url(storage_url, config_.container, name) + "?multipart-manifest=get";
      return request;
    }, &current) : Status::io_error("");
    if (read && current.status == 200 && current.body.find("/" + upload + "/") != std::string::npos) {
      return Status::ok();
    }
    return abandon(Status::already_exists(what + ": object exists"));
  }
  if (response.status == 404) {
    container_missing_ = true;
    return abandon(missing_container());
  }
  if (response.status != 201) {
    return abandon(http::status_from_http(response.status, what, response_detail(response)));
  }
  // The new manifest is in place: the segments of what it replaced can go.
  Status cleaned = delete_segments({name}, upload);
  if (!cleaned) log::warning("{}: old segments of {} stay behind: {}", describe(), name, cleaned.to_string());
  return Status::ok();
}

Status SwiftBackend::delete_segments(const std::vector<std::string>& names, const std::string& keep_upload) {
  if (names.empty()) return Status::ok();
  const uint64_t uploads_before = large_uploads_started_.load();
  // One object: only its own segments; several: everything under the prefix, once.
  const std::string listing_prefix = names.size() == 1 ? names.front() + "/" : config_.prefix;
  std::vector<ObjectInfo> entries;
  bool found = true;
  HOARDFS_RETURN_IF_ERROR(list_names(segments_container_, listing_prefix, &entries, &found));
  if (!found) {
    // No segments container, so no segments; unless a large upload began meanwhile.
    segments_may_exist_ = false;
    if (large_uploads_started_.load() != uploads_before) segments_may_exist_ = true;
    return Status::ok();
  }
  std::unordered_set<std::string_view> doomed(names.begin(), names.end());
  std::vector<std::string> garbage;
  for (const auto& entry : entries) {
    std::string_view owner, upload;
    if (!parse_segment_name(entry.key, &owner, &upload)) continue;
    if (doomed.contains(owner) && upload != keep_upload) garbage.push_back(entry.key);
  }
  if (garbage.empty()) return Status::ok();
  log::debug("{}: deleting {} segments of large objects", describe(), garbage.size());
  return delete_names(segments_container_, garbage);
}

}  // namespace hoardfs::swift
