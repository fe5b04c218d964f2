// S3Backend: requests, reads, single PUTs, listing and deletes (see s3_backend.h).
// Multipart uploads are in s3_multipart.cc.
#include "backend/s3/s3_backend.h"

#include <fmt/core.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <thread>

#include "backend/s3/s3_errors.h"
#include "hoardfs/backend_factories.h"
#include "hoardfs/log.h"

namespace hoardfs::s3 {
namespace {

constexpr const char* kChecksumHeader = "x-amz-meta-hoardfs-md5";
constexpr int kChecksumReads = 3;

bool is_md5_hex(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

http::RetryPolicy retry_policy(const S3Config& config) {
  http::RetryPolicy policy;
  policy.max_total = config.request_retry_time;
  policy.max_attempts = config.request_retry_time.count() == 0 ? 1 : 1000;
  return policy;
}

// Compares what GET returned with the MD5 the object was stored with.
// Returns false only on a definite mismatch.
bool checksum_matches(const http::Response& response, std::string_view body, std::string* detail) {
  if (const std::string* stored = response.header(kChecksumHeader)) {
    std::string actual = md5_base64(body);
    *detail = fmt::format("stored MD5 {}, received {}", *stored, actual);
    return *stored == actual;
  }
  if (const std::string* etag = response.header("etag")) {
    std::string expected = unquote(*etag);
    std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_md5_hex(expected)) return true;  // multipart or encrypted: not an MD5
    if (const std::string* sse = response.header("x-amz-server-side-encryption"); sse && *sse == "aws:kms") return true;
    std::string actual = md5_hex(body);
    *detail = fmt::format("ETag {}, received MD5 {}", expected, actual);
    return expected == actual;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<S3Backend>> S3Backend::open(S3Config config) {
  if (sodium_init() < 0) return Status::io_error("libsodium initialisation failed");
  http::ClientOptions options;
  options.max_connections = config.connections;
  options.connect_timeout = config.connect_timeout;
  options.low_speed_time = config.stall_timeout;
  options.ca_file = config.ca_file;
  auto client = http::Client::create(options);
  if (!client) return client.status();
  return std::unique_ptr<S3Backend>(new S3Backend(std::move(config), std::move(client.value())));
}

S3Backend::S3Backend(S3Config config, std::unique_ptr<http::Client> client)
    : config_(std::move(config)),
      keys_{config_.access_key, config_.secret_key, config_.region},
      client_(std::move(client)),
      retrier_(retry_policy(config_)) {}

std::string S3Backend::describe() const { return config_.describe(); }

std::string S3Backend::request_path(const std::string& full_key) const {
  std::string path = config_.virtual_hosted ? "/" : "/" + config_.bucket;
  if (!full_key.empty()) {
    if (!config_.virtual_hosted) path += '/';
    path += http::uri_encode(full_key, true);
  }
  return path;
}

Status S3Backend::execute(const Call& call, http::Response* response, int* attempts) {
  if (attempts != nullptr) *attempts = 0;
  const std::string path = request_path(call.key);
  const std::string query = canonical_query(call.query);
  const std::string url = config_.endpoint + path + (query.empty() ? "" : "?" + query);
  const std::string payload_hash = config_.signature == Signature::kV4 ? sha256_hex(call.body) : "";
  const std::string resource = config_.virtual_hosted ? "/" + config_.bucket + path : path;
  const std::string what = config_.describe() + ": " + call.what;

  return retrier_.run(what, [&]() -> http::AttemptResult {
    if (attempts != nullptr) ++*attempts;
    http::Request request;
    request.method = call.method;
    request.url = url;
    request.headers = call.headers;
    request.headers.emplace_back("Host", config_.host);
    request.body = call.body;
    request.stall_timeout = call.stall_timeout;
    SigningRequest signing{call.method, path, &call.query, &request.headers, payload_hash, std::time(nullptr)};
    if (config_.signature == Signature::kV4) {
      sign_v4(keys_, signing);
    } else {
      sign_v2(keys_, signing, resource);
    }
    Status status = client_->perform(request, response);
    if (!status.is_ok()) {
      // s3rver answers a Range on an empty object with "206, Content-Length: 1,
      // Content-Range: bytes 0-0/0" and no body: that is an empty object.
      const std::string* range = response->header("content-range");
      if (response->status == 206 && range != nullptr && range->ends_with("/0")) {
        response->body.clear();
        return {Status::ok(), std::nullopt};
      }
      return {status, std::nullopt};
    }
    std::optional<S3Error> error;
    if (response->status >= 200 && response->status < 300) {
      if (!call.error_in_ok_body || !(error = parse_error(response->body))) {
        return {call.judge_ok_body ? call.judge_ok_body(response->body) : Status::ok(), std::nullopt};
      }
      // A 200 carrying an <Error> is a failure the server hit after answering.
      if (error->code.empty()) error->code = "InternalError";
      return {map_s3_error(500, error, call.what, config_), std::nullopt};
    }
    error = parse_error(response->body);
    std::optional<std::chrono::milliseconds> retry_after;
    if (const std::string* value = response->header("retry-after")) retry_after = http::parse_retry_after(*value);
    return {map_s3_error(response->status, error, call.what, config_), retry_after};
  });
}

Status S3Backend::execute_read(const Call& call, http::Response* response) {
  Status status = execute(call, response);
  for (int pause_ms : {100, 300}) {
    if (!status.is_not_found()) break;
    auto error = parse_error(response->body);
    if (error && error->code == "NoSuchBucket") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    status = execute(call, response);
  }
  return status;
}

Status S3Backend::get(const std::string& key, std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  Call call{.method = "GET", .key = full_key(key), .what = "GET " + key};
  std::string detail;
  for (int read = 1; read <= kChecksumReads; ++read) {
    http::Response response;
    HOARDFS_RETURN_IF_ERROR(execute_read(call, &response));
    if (checksum_matches(response, response.body, &detail)) {
      *out = std::move(response.body);
      return Status::ok();
    }
    log::warning("{}: GET {}: checksum mismatch ({}), read {} of {}", describe(), key, detail, read, kChecksumReads);
  }
  return Status::corruption(fmt::format("{}: {} does not match its checksum ({})", describe(), key, detail));
}

Status S3Backend::get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  if (length == 0) {
    ObjectInfo info;
    HOARDFS_RETURN_IF_ERROR(head(key, &info));
    out->clear();
    return Status::ok();
  }
  uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX - 1 : offset + length - 1;
  Call call{.method = "GET",
            .key = full_key(key),
            .headers = {{"Range", fmt::format("bytes={}-{}", offset, last)}},
            .what = fmt::format("GET {} bytes {}-{}", key, offset, last)};
  http::Response response;
  Status status = execute_read(call, &response);
  if (!status.is_ok()) {
    // 416: the range starts at or past the end; the contract says "no bytes".
    if (response.status == 416) {
      out->clear();
      return Status::ok();
    }
    return status;
  }
  if (response.status == 200) {  // the server ignored Range: cut it ourselves
    out->assign(offset < response.body.size() ? response.body.substr(offset, length) : std::string());
    return Status::ok();
  }
  if (response.body.size() > length) {
    return Status::transient(fmt::format("{}: {}: got {} bytes for a {}-byte range", describe(), call.what,
                                         response.body.size(), length));
  }
  *out = std::move(response.body);
  return Status::ok();
}

Status S3Backend::put(const std::string& key, std::string_view data) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  if (data.size() > config_.multipart_threshold) return put_multipart(key, data);
  return put_single(key, data, false);
}

Status S3Backend::put_single(const std::string& key, std::string_view data, bool if_absent, int* attempts) {
  std::string md5 = md5_base64(data);
  Call call{.method = "PUT",
            .key = full_key(key),
            .headers = {{"Content-Type", "application/octet-stream"}, {"Content-MD5", md5}, {kChecksumHeader, md5}},
            .body = data,
            .what = (if_absent ? "conditional PUT " : "PUT ") + key};
  if (if_absent) call.headers.emplace_back("If-None-Match", "*");
  http::Response response;
  return execute(call, &response, attempts);
}

Status S3Backend::put_if_absent(const std::string& key, std::string_view data) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  bool supported = false;
  HOARDFS_RETURN_IF_ERROR(conditional_put_supported(&supported));
  if (!supported) {
    return Status::unsupported(describe() + ": the server does not honour If-None-Match on PUT");
  }
  int attempts = 0;
  Status status = put_single(key, data, true, &attempts);
  if (status.code() != Status::Code::kAlreadyExists) return status;
  // A repeated conditional PUT meets the object an earlier try created when
  // its answer was lost: identical bytes mean that object is ours.
  std::string existing;
  if (attempts > 1 && get(key, &existing).is_ok() && existing == data) return Status::ok();
  return Status::already_exists(fmt::format("{}: {} already exists", describe(), key));
}

// Two conditional PUTs of a scratch object: the second must be refused.
Status S3Backend::conditional_put_supported(bool* supported) {
  if (config_.conditional_put != S3Config::ConditionalPut::kAuto) {
    *supported = config_.conditional_put == S3Config::ConditionalPut::kYes;
    return Status::ok();
  }
  std::lock_guard lock(probe_mutex_);
  if (conditional_put_) {
    *supported = *conditional_put_;
    return Status::ok();
  }
  unsigned char random[8];
  randombytes_buf(random, sizeof random);
  std::string probe = "hoardfs-conditional-put-probe-";
  for (unsigned char c : random) probe += fmt::format("{:02x}", c);
  Status first = put_single(probe, "probe", true);
  if (first.code() == Status::Code::kUnsupported || first.code() == Status::Code::kInvalidArgument) {
    conditional_put_ = false;
  } else if (!first.is_ok()) {
    return first.with_context("probing conditional PUT support");
  } else {
    Status second = put_single(probe, "probe", true);
    if (second.code() == Status::Code::kAlreadyExists) {
      conditional_put_ = true;
    } else if (second.is_ok() || second.code() == Status::Code::kUnsupported) {
      conditional_put_ = false;
    } else {
      delete_single(full_key(probe));
      return second.with_context("probing conditional PUT support");
    }
    HOARDFS_RETURN_IF_ERROR(delete_single(full_key(probe)));
  }
  log::info("{}: the server {} If-None-Match on PUT", describe(), *conditional_put_ ? "honours" : "ignores");
  *supported = *conditional_put_;
  return Status::ok();
}

Status S3Backend::head(const std::string& key, ObjectInfo* info) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  Call call{.method = "HEAD", .key = full_key(key), .what = "HEAD " + key};
  http::Response response;
  Status status = execute(call, &response);
  if (!status.is_ok()) return explain_head_failure(call, status);
  const std::string* length = response.header("content-length");
  uint64_t size = 0;
  if (length == nullptr || std::from_chars(length->data(), length->data() + length->size(), size).ec != std::errc()) {
    return Status::io_error(fmt::format("{}: HEAD {}: no Content-Length in the answer", describe(), key));
  }
  info->key = key;
  info->size = size;
  return Status::ok();
}

Status S3Backend::explain_head_failure(const Call& head, Status head_status) {
  if (head_status.code() != Status::Code::kPermissionDenied) return head_status;
  Call probe{.method = "GET", .key = head.key, .headers = {{"Range", "bytes=0-0"}}, .what = head.what};
  http::Response response;
  Status status = execute(probe, &response);
  if (status.is_ok() || response.status == 416) return head_status;  // readable after all: keep HEAD's answer
  return status;
}

Status S3Backend::list(const std::string& prefix, const std::string& start_after, size_t max_keys,
                       ListPage* page) {
  const std::string full_prefix = full_key(prefix);
  const std::string full_start = start_after.empty() ? std::string() : full_key(start_after);
  Call call{.method = "GET", .what = fmt::format("list '{}' after '{}'", prefix, start_after)};
  call.query.emplace_back("prefix", full_prefix);
  call.query.emplace_back("max-keys", std::to_string(std::clamp<size_t>(max_keys, 1, 1000)));
  if (config_.list_v2) {
    call.query.emplace_back("list-type", "2");
    if (!full_start.empty()) call.query.emplace_back("start-after", full_start);
  } else if (!full_start.empty()) {
    call.query.emplace_back("marker", full_start);
  }
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(execute(call, &response));
  auto result = parse_list(response.body);
  if (!result) return result.status().with_context(describe());
  page->objects.clear();
  for (ObjectInfo& object : result->objects) {
    if (!object.key.starts_with(config_.prefix)) continue;
    object.key.erase(0, config_.prefix.size());
    if (!object.key.starts_with(prefix) || (!start_after.empty() && object.key <= start_after)) continue;
    page->objects.push_back(std::move(object));
  }
  page->truncated = result->truncated;
  return Status::ok();
}

Status S3Backend::delete_single(const std::string& full) {
  Call call{.method = "DELETE", .key = full, .what = "DELETE " + full.substr(config_.prefix.size())};
  http::Response response;
  Status status = execute(call, &response);
  // A missing key is fine; a missing bucket is not.
  if (status.is_not_found() && response.status == 404) {
    auto error = parse_error(response.body);
    if (!error || error->code != "NoSuchBucket") return Status::ok();
  }
  return status;
}

Status S3Backend::delete_batch(const std::vector<std::string>& full_keys, bool* unsupported) {
  std::string body = build_delete(full_keys);
  Call call{.method = "POST",
            .query = {{"delete", ""}},
            .headers = {{"Content-Type", "application/xml"}, {"Content-MD5", md5_base64(body)}},
            .body = body,
            .what = fmt::format("DeleteObjects ({} keys)", full_keys.size())};
  // Gateways delete one key after the other before they answer (Swift's
  // s3api takes 30-150 ms per key): allow for that before calling it a stall.
  call.stall_timeout = config_.stall_timeout + std::chrono::seconds(full_keys.size() / 4);
  // A key the server could not delete for now (503 SlowDown, "reduce your
  // request rate") fails the attempt as retryable: the batch goes again.
  call.judge_ok_body = [&](const std::string& answer) {
    auto failures = parse_delete_result(answer);
    if (!failures) return failures.status().with_context(describe());
    for (const DeleteFailure& failure : *failures) {
      if (failure.code == "NoSuchKey") continue;
      S3Error error{failure.code, failure.message, ""};
      long as_status = failure.code == "AccessDenied" ? 403 : 500;
      return map_s3_error(as_status, error, "DeleteObjects: " + failure.key, config_);
    }
    return Status::ok();
  };
  http::Response response;
  Status status = execute(call, &response);
  if (!status.is_ok()) {
    long code = response.status;
    if (status.code() == Status::Code::kUnsupported || code == 405 || code == 501 ||
        (code == 400 && !parse_error(response.body).has_value())) {
      *unsupported = true;
      return Status::ok();
    }
    return status;
  }
  return Status::ok();
}

Status S3Backend::remove(const std::vector<std::string>& keys) {
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const std::string& key : keys) {
    HOARDFS_RETURN_IF_ERROR(check_object_key(key));
    full.push_back(full_key(key));
  }
  // Batches of up to 1,000 keys, sent in parallel; a batch the server cannot
  // take as DeleteObjects goes key by key (and so does every later one).
  const size_t per_batch = delete_batch_size();
  const size_t batches = (full.size() + per_batch - 1) / per_batch;
  return parallel_for(batches, config_.connections, [&](size_t b) -> Status {
    auto first = full.begin() + static_cast<long>(b * per_batch);
    std::vector<std::string> batch(first, first + static_cast<long>(std::min(per_batch, full.size() - b * per_batch)));
    if (!batch_delete_unsupported_) {
      bool unsupported = false;
      HOARDFS_RETURN_IF_ERROR(delete_batch(batch, &unsupported));
      if (!unsupported) return Status::ok();
      if (!batch_delete_unsupported_.exchange(true)) {
        log::info("{}: the server does not implement DeleteObjects; deleting one object at a time", describe());
      }
    }
    return parallel_for(batch.size(), std::max<size_t>(1, config_.connections / batches),
                        [&](size_t i) { return delete_single(batch[i]); });
  });
}

Status parallel_for(size_t count, size_t workers, const std::function<Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  Status first_error;
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) {
      Status status = task(i);
      if (!status.is_ok()) {
        std::lock_guard lock(error_mutex);
        if (first_error.is_ok()) first_error = status;
        next = count;  // the others stop after their current task
        return;
      }
    }
  };
  workers = std::min(workers, count);
  std::vector<std::jthread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(worker);
  worker();
  threads.clear();  // joins
  return first_error;
}

Status S3Backend::ensure_bucket(bool* created) {
  *created = false;
  Call probe{.method = "GET", .query = {{"max-keys", "1"}}, .what = "list bucket " + config_.bucket};
  if (config_.list_v2) probe.query.emplace_back("list-type", "2");
  http::Response response;
  Status status = execute(probe, &response);
  if (status.is_ok()) return Status::ok();
  auto error = parse_error(response.body);
  if (!status.is_not_found() || !error || error->code != "NoSuchBucket") return status;

  std::string body;
  if (config_.aws && config_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        config_.region);
  }
  Call create{.method = "PUT", .body = body, .what = "create bucket " + config_.bucket};
  if (!body.empty()) create.headers.emplace_back("Content-Type", "application/xml");
  status = execute(create, &response);
  if (status.is_ok()) {
    *created = true;
    return Status::ok();
  }
  error = parse_error(response.body);
  if (error && error->code == "BucketAlreadyOwnedByYou") return Status::ok();
  if (error && error->code == "BucketAlreadyExists") {
    return Status::permission_denied(
        fmt::format("{}: the bucket name '{}' is taken by another account", describe(), config_.bucket));
  }
  return status;
}

Status S3Backend::delete_bucket() {
  Call call{.method = "DELETE", .what = "delete bucket " + config_.bucket};
  http::Response response;
  return execute(call, &response);
}

Status S3Backend::list_multipart_uploads(std::vector<UploadEntry>* out) {
  Call call{.method = "GET", .query = {{"uploads", ""}, {"prefix", config_.prefix}}, .what = "ListMultipartUploads"};
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(execute(call, &response));
  bool truncated = false;
  auto uploads = parse_multipart_uploads(response.body, &truncated);
  if (!uploads) return uploads.status();
  *out = std::move(uploads.value());
  return Status::ok();
}

Status ensure_s3_bucket(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                        bool* created) {
  auto config = parse_s3_config(url, options, credentials);
  if (!config) return config.status();
  auto backend = S3Backend::open(std::move(config.value()));
  if (!backend) return backend.status();
  return backend.value()->ensure_bucket(created);
}

}  // namespace hoardfs::s3

namespace hoardfs {

Result<std::unique_ptr<Backend>> open_s3_backend(const std::string& url, const BackendOptions& options,
                                                 const Credentials& credentials) {
  auto config = s3::parse_s3_config(url, options, credentials);
  if (!config) return config.status();
  auto backend = s3::S3Backend::open(std::move(config.value()));
  if (!backend) return backend.status();
  return std::unique_ptr<Backend>(std::move(backend.value()));
}

Status create_s3_bucket(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                        bool* created) {
  auto config = s3::parse_s3_config(url, options, credentials);
  if (!config) return config.status();
  auto backend = s3::S3Backend::open(std::move(config.value()));
  if (!backend) return backend.status();
  return backend.value()->ensure_bucket(created);
}

}  // namespace hoardfs
