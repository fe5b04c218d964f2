// S3Backend: the Backend contract over Amazon S3 and S3-compatible gateways.
//
// Design:
// - One http::Client with `connections` pooled handles carries every request,
//   so connections are reused and their number is bounded; multipart parts
//   go up in parallel on the same pool.
// - Each HTTP request is signed afresh (SigV4 with the payload's SHA-256, or
//   SigV2) and repeated by an http::Retrier for network errors, 5xx, 408,
//   429 and S3's throttling codes, honouring Retry-After, within
//   request-retry-time; permanent errors are mapped by map_s3_error().
// - Integrity: every PUT carries Content-MD5 and our own MD5 of the whole
//   object in x-amz-meta-hoardfs-md5, which GET checks (falling back to a
//   plain-MD5 ETag); a mismatch is re-read twice, then reported as corruption.
//   Multipart ETags are not MD5s, hence the stored checksum.
// - Objects above multipart-threshold are uploaded in parts; any failure
//   aborts the upload so that no incomplete upload stays behind.
// - put_if_absent sends "If-None-Match: *". Servers that ignore the header
//   would overwrite silently, so with conditional-put=auto the first call
//   probes (two conditional PUTs of a scratch object); where it is not
//   honoured put_if_absent returns unsupported.
// - remove() uses DeleteObjects (1,000 keys per request on AWS, 250 on
//   gateways, which delete key by key before answering), batches in
//   parallel, and falls back for good to single DELETEs when the server does
//   not implement it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/http/http_client.h"
#include "backend/s3/s3_config.h"
#include "backend/s3/s3_signer.h"
#include "backend/s3/s3_xml.h"
#include "hoardfs/backend.h"

namespace hoardfs::s3 {

class S3Backend final : public Backend {
 public:
  // No request is made here.
  static Result<std::unique_ptr<S3Backend>> open(S3Config config);

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  // Creates the bucket unless it exists; *created says whether it did.
  // A bucket owned by someone else or not accessible is permission_denied.
  Status ensure_bucket(bool* created);

  // Deletes the bucket, which must be empty (tests and administration).
  Status delete_bucket();

  // Unfinished multipart uploads under this backend's prefix (keys in full).
  Status list_multipart_uploads(std::vector<UploadEntry>* out);

  const S3Config& config() const { return config_; }

 private:
  // One S3 request before signing. `key` is the full object name (with the
  // URL prefix); empty for requests on the bucket itself.
  struct Call {
    std::string method = {};
    std::string key = {};
    QueryPairs query = {};
    http::Headers headers = {};
    std::string_view body = {};
    std::string what = {};  // for messages: "GET key"
    // CompleteMultipartUpload may answer 200 with an <Error> body.
    bool error_in_ok_body = false;
    // Judges the body of a 2xx answer that can report failures (DeleteObjects'
    // per-key errors); a retryable verdict sends the request again.
    std::function<Status(const std::string& body)> judge_ok_body = {};
    std::chrono::seconds stall_timeout{0};  // 0: the stall-timeout option
  };

  S3Backend(S3Config config, std::unique_ptr<http::Client> client);

  // Signs, sends and retries `call`; ok for 2xx, else the mapped error.
  // *attempts (optional) tells how many times the request was sent.
  Status execute(const Call& call, http::Response* response, int* attempts = nullptr);
  size_t delete_batch_size() const { return config_.aws ? 1000 : 250; }
  // execute() for GETs of objects: a NoSuchKey is asked again twice, 0.1 and
  // 0.3 s later, because Swift's S3 layer answers 404 for an object in the
  // instant another PUT replaces it. A missing object costs three requests.
  Status execute_read(const Call& call, http::Response* response);
  std::string full_key(const std::string& key) const { return config_.prefix + key; }
  std::string request_path(const std::string& full_key) const;

  Status put_single(const std::string& key, std::string_view data, bool if_absent, int* attempts = nullptr);
  Status put_multipart(const std::string& key, std::string_view data);
  Status upload_parts(const std::string& key, const std::string& upload_id, std::string_view data,
                      uint64_t part_size, std::vector<std::string>* etags);
  Status complete_multipart(const std::string& key, const std::string& upload_id,
                            const std::vector<std::string>& etags, const std::string& md5);
  void abort_multipart(const std::string& key, const std::string& upload_id);
  // After an initiate that was sent more than once: aborts the uploads of
  // `key` other than `keep` (an earlier try that got through unanswered).
  void abort_other_uploads(const std::string& key, const std::string& keep);
  Status conditional_put_supported(bool* supported);
  Status delete_batch(const std::vector<std::string>& full_keys, bool* unsupported);
  Status delete_single(const std::string& full_key);
  // For a HEAD answer without a body: asks again with a ranged GET to learn
  // the S3 error code (bad credentials vs. access denied vs. no bucket).
  Status explain_head_failure(const Call& head, Status head_status);

  // Constant after construction.
  const S3Config config_;
  const SigningKeys keys_;
  const std::unique_ptr<http::Client> client_;
  const http::Retrier retrier_;

  std::atomic<bool> batch_delete_unsupported_{false};
  std::mutex probe_mutex_;
  std::optional<bool> conditional_put_;  // guarded by probe_mutex_
};

// Runs task(0) .. task(count - 1) on up to `workers` threads (the caller's
// included); after the first failure no new task starts. Returns that failure.
Status parallel_for(size_t count, size_t workers, const std::function<Status(size_t)>& task);

// Opens the bucket of an s3:// or s3c:// URL and creates it when missing
// (for mkfs.hoardfs). *created tells whether it was created.
Status ensure_s3_bucket(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                        bool* created);

}  // namespace hoardfs::s3
