// The HTTP layer shared by the S3 and Swift backends.
//
// Client: a thread-safe libcurl client with a bounded pool of easy handles.
// Each handle keeps its own connections alive, so at most max_connections
// requests run at once and connections are reused between requests; a caller
// that finds every handle busy waits for one. TLS peer and host verification
// are always on; ca_file replaces the system CA store (ssl-ca-path=FILE).
// Bodies are held in memory (hoardfs objects are a few MiB at most per request;
// multipart uploads send one part per request).
//
// Client::perform() never retries. A network failure is a non-ok Status
// (retryable() for resets, timeouts, refused connections); any HTTP answer,
// even 500, is ok() with Response::status set: the protocol layer reads its
// error body, maps it with status_from_http() or its own rules, and repeats
// retryable failures through Retrier, which adds exponential backoff with
// jitter, honours Retry-After, bounds the total time and logs each retry.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hoardfs/status.h"

namespace hoardfs::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;             // absolute, already percent-encoded
  // Sent exactly as given (the signers need to know every header). The client
  // adds only Host, Content-Length and User-Agent, and suppresses libcurl's
  // implicit Content-Type, Accept and "Expect: 100-continue".
  Headers headers;
  std::string_view body;  // PUT/POST payload; must stay alive during perform()
  // Overrides ClientOptions::low_speed_time for requests the server may
  // legitimately work on for long before answering (bulk deletes). 0: default.
  std::chrono::seconds stall_timeout{0};
};

struct Response {
  long status = 0;   // HTTP status of the final answer
  Headers headers;   // names lower-cased, values trimmed, in arrival order
  std::string body;  // empty for HEAD

  // Value of the first header called `name` (any case), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct ClientOptions {
  size_t max_connections = 8;  // concurrent requests = pooled handles (>= 1)
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer slower than low_speed_bytes per second for low_speed_time is
  // abandoned as stalled (retryable). Whole seconds (libcurl's granularity).
  long low_speed_bytes = 1;
  std::chrono::seconds low_speed_time{30};
  std::chrono::seconds request_timeout{0};  // whole request; 0: no limit
  std::string ca_file;                      // PEM bundle; empty: system store
  std::string user_agent;                   // empty: "hoardfs/VERSION"
};

class Client {
 public:
  // Fails (invalid_argument) when ca_file is given but unreadable.
  static Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and waits for the whole answer. Thread-safe; blocks
  // while all handles are busy. See the file comment for what ok() means.
  // When the transfer fails midway, *response keeps what had arrived (status
  // 0 if no status line did).
  Status perform(const Request& request, Response* response);

  const ClientOptions& options() const;

 private:
  struct Pool;
  explicit Client(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
};

// ---- retry classification (shared by every HTTP backend) -------------------

// 408, 429 and 5xx except 501 (Not Implemented) and 505 (version).
bool is_retryable_http_status(long status);

// libcurl result codes worth repeating: connection refused/reset, timeouts,
// partial transfers, DNS failures, TLS handshakes cut short. Never a
// certificate verification failure.
bool is_retryable_curl_code(int curl_code);

// Parses a Retry-After value: delta-seconds or an IMF-fixdate. Dates in the
// past give zero. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// A generic mapping of an HTTP error answer: 401 auth_failed, 403
// permission_denied, 404 not_found, 507/413-quota no_space, retryable
// statuses transient, anything else a permanent io_error. `what` names the
// operation ("GET bucket/key"); `detail` is the server's error text, if any.
Status status_from_http(long status, std::string_view what, std::string_view detail = {});

// Percent-encodes everything but RFC 3986 unreserved characters (and '/'
// when keep_slash), as SigV4 and Swift object paths require.
std::string uri_encode(std::string_view text, bool keep_slash);

struct RetryPolicy {
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{20'000};
  // No retry starts later than this after the first attempt began.
  std::chrono::milliseconds max_total{120'000};
  int max_attempts = 12;  // including the first
};

// What one attempt reports: its Status, and the server's Retry-After if any.
struct AttemptResult {
  Status status;
  std::optional<std::chrono::milliseconds> retry_after;
};

class Retrier {
 public:
  using Sleeper = std::function<void(std::chrono::milliseconds)>;
  explicit Retrier(RetryPolicy policy = {}, Sleeper sleeper = {});

  // Calls attempt() until it returns ok or a non-retryable Status, or the
  // policy is exhausted (then the last Status, with how many attempts were
  // made). Logs each retry at warning level, naming `what`.
  Status run(std::string_view what, const std::function<AttemptResult()>& attempt) const;

  // The pause before retry number `retry` (1 = first retry): exponential
  // from initial_delay, capped at max_delay, with "equal jitter" (uniformly
  // in [d/2, d]); never shorter than retry_after.
  std::chrono::milliseconds backoff(int retry, std::optional<std::chrono::milliseconds> retry_after) const;

  const RetryPolicy& policy() const { return policy_; }

 private:
  RetryPolicy policy_;
  Sleeper sleeper_;
};

}  // namespace hoardfs::http
