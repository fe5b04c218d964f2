// The Swift backend: opening, authenticated exchanges, single objects (see
// swift_backend.h). Listing and deleting are in swift_names.cc, large
// objects in swift_large_objects.cc.
#include "backend/swift/swift_backend.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "hoardfs/backend_factories.h"
#include "hoardfs/log.h"

namespace hoardfs::swift {

namespace {

// Non-null even when empty: libcurl treats a null POSTFIELDS as "read a file".
std::string_view body_of(std::string_view data) { return data.data() == nullptr ? std::string_view("") : data; }

http::RetryPolicy retry_policy(const SwiftConfig& config) {
  http::RetryPolicy policy;
  policy.max_total = config.request_retry_time;
  if (config.request_retry_time.count() == 0) policy.max_attempts = 1;
  return policy;
}

// A Swift object path: percent-encoded, '/' kept, and the dots of "." and
// ".." segments encoded too, since libcurl would otherwise resolve them.
std::string encode_object_path(std::string_view name) {
  std::string encoded = http::uri_encode(name, true);
  std::string out;
  out.reserve(encoded.size());
  size_t start = 0;
  for (;;) {
    size_t slash = encoded.find('/', start);
    std::string_view segment = std::string_view(encoded).substr(start, slash - start);
    if (segment == ".") {
      out += "%2E";
    } else if (segment == "..") {
      out += "%2E%2E";
    } else {
      out += segment;
    }
    if (slash == std::string::npos) return out;
    out.push_back('/');
    start = slash + 1;
  }
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

namespace {

bool parse_size(const std::string* text, uint64_t* out) {
  if (text == nullptr || text->empty()) return false;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), *out);
  return ec == std::errc() && end == text->data() + text->size();
}

}  // namespace

SwiftBackend::SwiftBackend(SwiftConfig config, std::unique_ptr<http::Client> client,
                           std::unique_ptr<http::Client> bulk_client)
    : config_(std::move(config)), segments_container_(config_.container + "_segments"), client_(std::move(client)),
      bulk_client_(std::move(bulk_client)), retrier_(retry_policy(config_)) {
  auto authenticator = config_.keystone ? make_keystone_authenticator(client_.get(), &retrier_, config_)
                                        : make_v1_authenticator(client_.get(), &retrier_, config_);
  tokens_ = std::make_unique<TokenSource>(std::move(authenticator));
}

Result<std::unique_ptr<SwiftBackend>> SwiftBackend::open(SwiftConfig config) {
  http::ClientOptions options;
  options.max_connections = config.connections;
  options.connect_timeout = config.connect_timeout;
  options.low_speed_time = config.stall_timeout;
  options.ca_file = config.ca_file;
  // Swift answers a bulk delete at once but reports its outcome only at the
  // end, sending one space every 10 s meanwhile: far below any stall
  // threshold in bytes per second, so bulk deletes get their own pool with a
  // long stall window (in effect a time limit per request).
  http::ClientOptions bulk_options = options;
  bulk_options.max_connections = 2;
  bulk_options.low_speed_time = std::max<std::chrono::seconds>(config.stall_timeout, kBulkDeleteTimeLimit);
  auto client = http::Client::create(std::move(options));
  if (!client) return client.status();
  auto bulk_client = http::Client::create(std::move(bulk_options));
  if (!bulk_client) return bulk_client.status();
  std::unique_ptr<SwiftBackend> backend(
      new SwiftBackend(std::move(config), std::move(client).value(), std::move(bulk_client).value()));
  auto lease = backend->tokens_->current();
  if (!lease) return lease.status();

  // /info needs no token; a cluster may hide it.
  const std::string url = info_url(lease->token->storage_url);
  http::Response response;
  Status fetched = backend->retrier_.run("GET " + url, [&]() -> http::AttemptResult {
    http::Request request;
    request.url = url;
    Status sent = backend->client_->perform(request, &response);
    if (sent && http::is_retryable_http_status(response.status)) {
      return {http::status_from_http(response.status, "GET " + url), std::nullopt};
    }
    return {sent, std::nullopt};
  });
  if (fetched && response.status == 200) backend->capabilities_ = parse_capabilities(response.body);
  const Capabilities& caps = backend->capabilities_;
  if (!caps.info_available) {
    log::info("{}: no capabilities at {} ({}); assuming single deletes and no static large objects",
              backend->describe(), url, fetched ? fmt::format("HTTP {}", response.status) : fetched.to_string());
  } else {
    log::debug("{}: {}", backend->describe(), caps.summary());
  }

  const SwiftConfig& c = backend->config_;
  backend->slo_threshold_ = c.slo_threshold.value_or(caps.max_file_size);
  if (backend->slo_threshold_ > caps.max_file_size) {
    return Status::invalid_argument(fmt::format("slo-threshold={} is above the largest object this Swift accepts ({} bytes)",
                                                backend->slo_threshold_, caps.max_file_size));
  }
  HOARDFS_RETURN_IF_ERROR(backend->probe_container());
  return backend;
}

Status SwiftBackend::probe_container() {
  const std::string what = "HEAD " + config_.container;
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "HEAD";
    request.url = container_url(storage_url, config_.container);
    return request;
  }, &response));
  if (response.status >= 200 && response.status <= 299) return Status::ok();
  if (response.status == 404) {
    container_missing_ = true;
    log::info("{}: container '{}' does not exist", describe(), config_.container);
    return Status::ok();
  }
  if (response.status == 403) {
    // Object ACLs may still allow what hoardfs needs; each call reports its own refusal.
    log::warning("{}: Swift refuses to show container '{}' (HTTP 403)", describe(), config_.container);
    return Status::ok();
  }
  return http::status_from_http(response.status, describe() + ": " + what, response_detail(response));
}

std::string SwiftBackend::describe() const { return config_.describe(); }

Status SwiftBackend::exchange(std::string_view what, const RequestBuilder& build, http::Response* response,
                              const Judge& judge, http::Client* client) {
  if (client == nullptr) client = client_.get();
  return retrier_.run(what, [&]() -> http::AttemptResult {
    auto lease = tokens_->current();
    if (!lease) return {lease.status(), std::nullopt};
    for (bool renewed = false;; renewed = true) {
      http::Request request = build(lease->token->storage_url);
      request.headers.emplace_back("X-Auth-Token", lease->token->token);
      Status sent = client->perform(request, response);
      if (!sent) return {sent, std::nullopt};
      if (response->status == 401 && !renewed) {
        log::info("{}: {}: token refused (HTTP 401); authenticating again", describe(), what);
        lease = tokens_->renew(lease->generation);
        if (!lease) return {lease.status(), std::nullopt};
        continue;
      }
      if (response->status == 401) {
        return {Status::auth_failed(fmt::format("{}: {}: HTTP 401 with a fresh token: Swift does not accept "
                                                "the credentials of {} for this account",
                                                describe(), what, config_.login)),
                std::nullopt};
      }
      if (http::is_retryable_http_status(response->status)) {
        const std::string* after = response->header("retry-after");
        return {http::status_from_http(response->status, what, response_detail(*response)),
                after == nullptr ? std::nullopt : http::parse_retry_after(*after)};
      }
      return {judge ? judge(*response) : Status::ok(), std::nullopt};
    }
  });
}

std::string SwiftBackend::container_url(const std::string& storage_url, const std::string& container) const {
  return storage_url + "/" + http::uri_encode(container, false);
}

std::string SwiftBackend::object_url(const std::string& storage_url, const std::string& container,
                                     const std::string& name) const {
  return container_url(storage_url, container) + "/" + encode_object_path(name);
}

Status SwiftBackend::missing_container() const {
  return Status::not_found(fmt::format("{}: Swift container '{}' does not exist (mkfs.hoardfs creates it)",
                                       describe(), config_.container));
}

Status SwiftBackend::check_container_exists() {
  if (container_missing_.load()) return missing_container();
  return Status::ok();
}

Status SwiftBackend::check_name(const std::string& key, std::string* name) const {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  *name = config_.prefix + key;
  if (name->size() > capabilities_.max_object_name_length) {
    return Status::invalid_argument(fmt::format("object name '{}' is longer than the {} bytes this Swift allows",
                                                *name, capabilities_.max_object_name_length));
  }
  return Status::ok();
}

Status SwiftBackend::ensure_container(bool* created) {
  *created = false;
  const std::string what = "HEAD " + config_.container;
  http::Response response;
  auto head = [&](const std::string& storage_url) {
    http::Request request;
    request.method = "HEAD";
    request.url = container_url(storage_url, config_.container);
    return request;
  };
  HOARDFS_RETURN_IF_ERROR(exchange(what, head, &response));
  if (response.status >= 200 && response.status <= 299) {
    container_missing_ = false;
    return Status::ok();
  }
  if (response.status != 404) return http::status_from_http(response.status, describe() + ": " + what);
  HOARDFS_RETURN_IF_ERROR(exchange("PUT " + config_.container, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "PUT";
    request.url = container_url(storage_url, config_.container);
    request.body = body_of({});
    return request;
  }, &response));
  if (response.status == 403) {
    return Status::permission_denied(fmt::format("{}: Swift refused to create container '{}' (HTTP 403); create it "
                                                 "with an account that may, or use credentials with that right",
                                                 describe(), config_.container));
  }
  if (response.status != 201 && response.status != 202) {
    return http::status_from_http(response.status, describe() + ": PUT " + config_.container,
                                  response_detail(response));
  }
  *created = response.status == 201;
  container_missing_ = false;
  return Status::ok();
}

Status SwiftBackend::exchange_read(std::string_view what, const RequestBuilder& build, http::Response* response,
                                   const Judge& judge) {
  Status status = exchange(what, build, response, judge);
  for (int pause_ms : {100, 300}) {
    if (!status.is_ok() || response->status != 404 || container_missing_.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    status = exchange(what, build, response, judge);
  }
  return status;
}

Status SwiftBackend::get(const std::string& key, std::string* out) {
  std::string name;
  HOARDFS_RETURN_IF_ERROR(check_name(key, &name));
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  const std::string what = "GET " + config_.container + "/" + name;
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange_read(what, [&](const std::string& storage_url) {
    http::Request request;
    request.url = object_url(storage_url, config_.container, name);
    return request;
  }, &response, [&](const http::Response& answer) {
    // A plain object's ETag is the MD5 of its bytes (a large object's is
    // quoted and covers its manifest): a mismatch is damage in transit.
    const std::string* etag = answer.header("etag");
    if (answer.status == 200 && etag != nullptr && etag->size() == 32 && md5_hex(answer.body) != *etag) {
      return Status::transient(what + ": the bytes received do not match the object's ETag");
    }
    return Status::ok();
  }));
  if (response.status == 200) {
    *out = std::move(response.body);
    return Status::ok();
  }
  return http::status_from_http(response.status, what, response_detail(response));
}

Status SwiftBackend::get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) {
  if (length == 0) {
    ObjectInfo info;
    HOARDFS_RETURN_IF_ERROR(head(key, &info));
    out->clear();
    return Status::ok();
  }
  std::string name;
  HOARDFS_RETURN_IF_ERROR(check_name(key, &name));
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  const std::string what = fmt::format("GET {}/{} bytes {}+{}", config_.container, name, offset, length);
  std::string range = length - 1 > UINT64_MAX - offset ? fmt::format("bytes={}-", offset)
                                                       : fmt::format("bytes={}-{}", offset, offset + length - 1);
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange_read(what, [&](const std::string& storage_url) {
    http::Request request;
    request.url = object_url(storage_url, config_.container, name);
    request.headers = {{"Range", range}};
    return request;
  }, &response));
  if (response.status == 206) {
    *out = std::move(response.body);
    return Status::ok();
  }
  if (response.status == 200) {  // the whole object: a server that ignores Range
    *out = offset < response.body.size() ? response.body.substr(offset, length) : std::string();
    return Status::ok();
  }
  if (response.status == 416) {  // starts past the end
    out->clear();
    return Status::ok();
  }
  return http::status_from_http(response.status, what, response_detail(response));
}

Status SwiftBackend::head(const std::string& key, ObjectInfo* info) {
  std::string name;
  HOARDFS_RETURN_IF_ERROR(check_name(key, &name));
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  const std::string what = "HEAD " + config_.container + "/" + name;
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "HEAD";
    request.url = object_url(storage_url, config_.container, name);
    return request;
  }, &response));
  if (response.status != 200 && response.status != 204) return http::status_from_http(response.status, what);
  uint64_t size = 0;
  if (!parse_size(response.header("content-length"), &size)) {
    return Status::io_error(what + ": the answer has no Content-Length");
  }
  info->key = key;
  info->size = size;
  return Status::ok();
}

SwiftBackend::Judge SwiftBackend::put_is_retryable(const std::string& what) {
  return [what](const http::Response& answer) {
    if (answer.status == 422) return Status::transient(what + ": HTTP 422: Swift received different bytes (ETag)");
    if (answer.status == 202) {
      return Status::transient(what + ": HTTP 202: a concurrent PUT with a newer timestamp was kept instead");
    }
    return Status::ok();
  };
}

Status SwiftBackend::put(const std::string& key, std::string_view data) { return put_object(key, data, false); }

Status SwiftBackend::put_if_absent(const std::string& key, std::string_view data) {
  return put_object(key, data, true);
}

Status SwiftBackend::put_object(const std::string& key, std::string_view data, bool if_absent) {
  std::string name;
  HOARDFS_RETURN_IF_ERROR(check_name(key, &name));
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  if (!if_absent) return data.size() > slo_threshold_ ? put_large(name, data, false) : put_single(name, data, false);
  // Swift checks If-None-Match when a PUT starts, so two PUTs in flight at
  // once can both succeed: conditional puts of one key from this process go
  // one at a time (see the file comment of swift_backend.h).
  std::lock_guard lock(conditional_put_locks_[std::hash<std::string>()(name) % conditional_put_locks_.size()]);
  return data.size() > slo_threshold_ ? put_large(name, data, true) : put_single(name, data, true);
}

Status SwiftBackend::put_single(const std::string& name, std::string_view data, bool if_absent) {
  const std::string what = fmt::format("PUT {}/{} ({} bytes)", config_.container, name, data.size());
  const std::string etag = md5_hex(data);  // Swift refuses (422) bytes that do not match
  int attempts = 0;
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange(what, [&](const std::string& storage_url) {
    ++attempts;
    http::Request request;
    request.method = "PUT";
    request.url = object_url(storage_url, config_.container, name);
    request.headers = {{"Content-Type", "application/octet-stream"}, {"ETag", etag}};
    if (if_absent) request.headers.emplace_back("If-None-Match", "*");
    request.body = body_of(data);
    return request;
  }, &response, put_is_retryable(what)));
  if (response.status == 201) return Status::ok();
  if (response.status == 412 && if_absent) {
    // An earlier try whose answer was lost may have stored our own bytes.
    if (attempts > 1 && holds(name, data)) return Status::ok();
    return Status::already_exists(fmt::format("{}: object exists", what));
  }
  if (response.status == 404) {
    container_missing_ = true;
    return missing_container();
  }
  if (response.status == 413) {
    return Status::no_space(fmt::format("{}: Swift refused the upload (HTTP 413: {}): over quota or too large", what,
                                        response_detail(response)));
  }
  return http::status_from_http(response.status, what, response_detail(response));
}

bool SwiftBackend::holds(const std::string& name, std::string_view data) {
  http::Response response;
  Status status = exchange("GET " + config_.container + "/" + name, [&](const std::string& storage_url) {
    http::Request request;
    request.url = object_url(storage_url, config_.container, name);
    return request;
  }, &response);
  return status && response.status == 200 && response.body == data;
}

Status ensure_swift_container(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                              bool* created) {
  auto config = parse_swift_config(url, options, credentials);
  if (!config) return config.status();
  auto backend = SwiftBackend::open(std::move(config.value()));
  if (!backend) return backend.status();
  return backend.value()->ensure_container(created);
}

}  // namespace hoardfs::swift

namespace hoardfs {

Result<std::unique_ptr<Backend>> open_swift_backend(const std::string& url, const BackendOptions& options,
                                                    const Credentials& credentials) {
  auto config = swift::parse_swift_config(url, options, credentials);
  if (!config) return config.status();
  auto backend = swift::SwiftBackend::open(std::move(config.value()));
  if (!backend) return backend.status();
  return std::unique_ptr<Backend>(std::move(backend).value());
}

Status create_swift_container(const std::string& url, const BackendOptions& options,
                              const Credentials& credentials, bool* created) {
  return swift::ensure_swift_container(url, options, credentials, created);
}

}  // namespace hoardfs
