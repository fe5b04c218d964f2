// Authentication for the Swift backend: v1 (TempAuth and compatible) and
// Keystone v3 password authentication, and the shared token cache.
//
// TokenSource hands every request the current token and renews it when the
// object store refuses it (401), or shortly before it expires. Renewal is
// single-flight: when many threads see the same token refused at once, the
// first one authenticates and the others wait for its answer and reuse it, so
// a revoked token costs one authentication, not one per worker. A thread that
// waited for a renewal that failed gets that failure instead of starting
// another attempt (no stampede against a failing identity service either).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backend/http/http_client.h"
#include "backend/swift/swift_config.h"
#include "hoardfs/status.h"

namespace hoardfs::swift {

struct AuthToken {
  std::string token;        // sent as X-Auth-Token
  std::string storage_url;  // ".../v1/AUTH_account", no trailing slash
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Authenticates once (repeating transient failures as its retrier allows).
  // Refused credentials are auth_failed; a missing v3 API or catalog endpoint
  // is unsupported / invalid_argument with a message that says what to fix.
  virtual Result<AuthToken> authenticate() = 0;
};

// GET AUTH/auth/v1.0 with X-Auth-User / X-Auth-Key.
std::unique_ptr<Authenticator> make_v1_authenticator(http::Client* client, const http::Retrier* retrier,
                                                     const SwiftConfig& config);
// POST AUTH/v3/auth/tokens (password method, project scope), storage URL from
// the catalog. Defined in keystone_auth.cc.
std::unique_ptr<Authenticator> make_keystone_authenticator(http::Client* client, const http::Retrier* retrier,
                                                           const SwiftConfig& config);

// The server's explanation in an error answer: JSON "message" fields or HTML
// with the tags removed, on one line, at most 200 characters.
std::string response_detail(const http::Response& response);

// Pieces of the Keystone exchange, exposed for unit tests.
std::string keystone_request_body(const SwiftConfig& config);
// Reads the token's catalog and expiry (`body` is the JSON answer).
Result<AuthToken> parse_keystone_token(std::string subject_token, std::string_view body, const SwiftConfig& config);
// "v3.14 (stable), v2.0 (deprecated)" from a version discovery document; empty
// when it is not one.
std::string keystone_versions(std::string_view discovery_body);
// "2026-11-22T01:43:40.000000Z" (and the "+00:00" form).
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

class TokenSource {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit TokenSource(std::unique_ptr<Authenticator> authenticator, Clock now = {});

  struct Lease {
    std::shared_ptr<const AuthToken> token;
    uint64_t generation = 0;  // changes with every renewal
  };

  // The token to use now: authenticates on first use, and renews a token that
  // is about to expire (a still valid old token is used meanwhile, and kept
  // when the early renewal fails).
  Result<Lease> current();
  // The object store refused the token of `stale_generation`: returns a newer
  // token, authenticating only if nobody has done so since.
  Result<Lease> renew(uint64_t stale_generation);

  // Authentication attempts so far (successful or not).
  uint64_t authentications() const;

 private:
  Result<Lease> acquire(std::optional<uint64_t> stale_generation);
  bool usable(std::optional<uint64_t> stale_generation, std::chrono::system_clock::time_point now) const;
  std::chrono::system_clock::time_point renew_at(const AuthToken& token) const;

  // Constant after construction.
  const std::unique_ptr<Authenticator> authenticator_;
  const Clock now_;

  mutable std::mutex mutex_;
  std::condition_variable renewed_;
  // Protected by mutex_.
  std::shared_ptr<const AuthToken> token_;
  uint64_t generation_ = 0;
  std::chrono::system_clock::time_point renew_at_;
  bool renewing_ = false;
  uint64_t rounds_ = 0;  // completed authentication attempts
  Status last_failure_;  // of the latest attempt, ok if it succeeded
};

}  // namespace hoardfs::swift
