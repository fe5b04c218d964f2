// The OpenStack Swift backend: one container, keys stored under the URL's
// prefix, reached through v1 auth (swift://) or Keystone v3 (swiftks://).
//
// Every request goes through exchange(): it adds the current token, and when
// Swift answers 401 it renews the token once (TokenSource coalesces the
// renewals of all threads) and sends the request again; retryable failures
// (network, 408/429/5xx) are repeated by the shared http::Retrier, honouring
// Retry-After, within request-retry-time.
//
// What the cluster offers comes from /info at open: deletes go in bulk
// (POST ?bulk-delete) when it offers that, one DELETE per key otherwise;
// objects above the SLO threshold are stored as static large objects whose
// segments live in the container "<container>_segments" under
// "<prefix><key>/<upload id>/<segment number>"; remove() deletes the segments
// of the keys it removes, and a replaced large object's old segments go when
// its new manifest is in place.
//
// put_if_absent sends If-None-Match: *. Swift checks it when the PUT starts
// (object servers look for an existing object before taking the body), so it
// is exact against any object stored before, but two PUTs in flight at the
// same moment can both succeed (the newer timestamp then wins). Conditional
// puts of one key from this process are therefore serialized; between hosts
// the window is one PUT's duration.
// A missing container is found at open and reported on every call (not_found
// naming the container) until ensure_container() creates it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backend/http/http_client.h"
#include "backend/swift/swift_auth.h"
#include "backend/swift/swift_capabilities.h"
#include "backend/swift/swift_config.h"
#include "hoardfs/backend.h"

namespace hoardfs::swift {

// Keys per bulk delete request, and the time one may take.
inline constexpr uint64_t kBulkDeleteBatch = 500;
inline constexpr std::chrono::seconds kBulkDeleteTimeLimit{300};

class SwiftBackend final : public Backend {
 public:
  // Authenticates (bad credentials fail here, as auth_failed), reads /info
  // and checks that the container exists.
  static Result<std::unique_ptr<SwiftBackend>> open(SwiftConfig config);

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys, ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  // For mkfs: creates the container unless it exists; *created says whether
  // it did. permission_denied when the credentials may not create it.
  Status ensure_container(bool* created);

  const Capabilities& capabilities() const { return capabilities_; }
  // Objects above this size are stored as static large objects.
  uint64_t slo_threshold() const { return slo_threshold_; }
  // Authentications so far (1 after open; +1 per renewed token).
  uint64_t authentications() const { return tokens_->authentications(); }
  // The token and storage URL requests use now. For tests (which revoke it)
  // and diagnostics; the token is a secret and must never be logged.
  Result<AuthToken> current_token() {
    auto lease = tokens_->current();
    if (!lease) return lease.status();
    return *lease->token;
  }

 private:
  using RequestBuilder = std::function<http::Request(const std::string& storage_url)>;
  // Judges an answer that is neither 401 nor retryable by its status; a
  // retryable verdict repeats the request (e.g. a bulk delete's body says 503).
  using Judge = std::function<Status(const http::Response&)>;
  // Retries a PUT that stored nothing: Swift's proxy answers 202 when the
  // object already has a timestamp at least as new as the request's (a
  // concurrent PUT got a later one), and 422 when the body does not match the
  // ETag we sent. A retry gets a new timestamp and resends the body.
  static Judge put_is_retryable(const std::string& what);

  SwiftBackend(SwiftConfig config, std::unique_ptr<http::Client> client, std::unique_ptr<http::Client> bulk_client);

  // Sends one request (see the file comment). Without a judge, ok() for any
  // non-retryable HTTP answer and the caller maps response->status.
  Status exchange(std::string_view what, const RequestBuilder& build, http::Response* response,
                  const Judge& judge = {}, http::Client* client = nullptr);
  // exchange() for GETs of objects: a 404 is asked again twice, 0.1 and 0.3 s
  // later, because an object server answers 404 in the instant another PUT
  // replaces the object. A missing object costs three requests.
  Status exchange_read(std::string_view what, const RequestBuilder& build, http::Response* response,
                       const Judge& judge = {});
  // HEAD of the container at open: records whether it is missing.
  Status probe_container();
  Status check_container_exists();
  Status missing_container() const;
  Status check_name(const std::string& key, std::string* name) const;

  std::string container_url(const std::string& storage_url, const std::string& container) const;
  std::string object_url(const std::string& storage_url, const std::string& container,
                         const std::string& name) const;

  Status put_object(const std::string& key, std::string_view data, bool if_absent);
  Status put_single(const std::string& name, std::string_view data, bool if_absent);
  // Same bytes as `data` already stored under `name` (a retried conditional
  // put whose first try went through)?
  bool holds(const std::string& name, std::string_view data);
  Status delete_names(const std::string& container, const std::vector<std::string>& names);
  Status bulk_delete(const std::string& container, const std::vector<std::string>& names);
  Status delete_one(const std::string& container, const std::string& name);
  // One page of names in `container` after `marker` (full names). Missing
  // container: ok with *found false.
  Status list_names_page(const std::string& container, const std::string& prefix, const std::string& marker,
                         size_t limit, std::vector<ObjectInfo>* out, bool* found);
  // Names in `container` starting with `prefix`, all pages.
  Status list_names(const std::string& container, const std::string& prefix, std::vector<ObjectInfo>* out,
                    bool* found);

  // Static large objects (swift_large_objects.cc).
  Status put_large(const std::string& name, std::string_view data, bool if_absent);
  Status ensure_segments_container();
  // Deletes the segments of the large objects `names` (full names), keeping
  // those of upload `keep_upload` (empty: none).
  Status delete_segments(const std::vector<std::string>& names, const std::string& keep_upload);

  // Constant after open().
  const SwiftConfig config_;
  const std::string segments_container_;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<http::Client> bulk_client_;  // for bulk deletes (see open())
  http::Retrier retrier_;
  std::unique_ptr<TokenSource> tokens_;
  Capabilities capabilities_;
  uint64_t slo_threshold_ = 0;

  // Serialize conditional puts of one key (striped by name).
  std::array<std::mutex, 32> conditional_put_locks_;

  std::atomic<bool> container_missing_{false};
  std::atomic<bool> segments_container_ready_{false};
  // False once a listing found no segments container and we created none
  // since: removes then skip looking for segments.
  std::atomic<bool> segments_may_exist_{true};
  std::atomic<uint64_t> large_uploads_started_{0};
};

// Lower-case hex MD5, as Swift's ETags.
std::string md5_hex(std::string_view data);

// The outcome of a bulk delete from its answer (Swift sends "200 OK" before it
// deletes anything; the body's "Response Status" and "Errors" tell the rest).
// Missing objects are not errors; a 401 or 409 inside is retryable.
Status bulk_delete_outcome(const http::Response& answer, const std::string& what);

// Opens the container of a swift:// or swiftks:// URL and creates it when
// missing (for mkfs.hoardfs). *created tells whether it was created.
Status ensure_swift_container(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                              bool* created);

}  // namespace hoardfs::swift
