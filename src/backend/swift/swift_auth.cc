// v1 authentication and the single-flight token cache (see swift_auth.h).
#include "backend/swift/swift_auth.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "hoardfs/log.h"

namespace hoardfs::swift {

using std::chrono::system_clock;

std::string response_detail(const http::Response& response) {
  std::string text;
  // Keystone: {"error": {"message": ..., "code": ..., "title": ...}}
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_discarded() && json.is_object() && json.contains("error") && json["error"].is_object() &&
      json["error"].contains("message") && json["error"]["message"].is_string()) {
    text = json["error"]["message"].get<std::string>();
  } else {
    bool in_tag = false;
    for (char c : response.body) {
      if (c == '<') {
        in_tag = true;
        text.push_back(' ');
      } else if (c == '>') {
        in_tag = false;
      } else if (!in_tag) {
        text.push_back(c);
      }
    }
  }
  std::string one_line;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20;
    if (space) {
      if (!one_line.empty() && one_line.back() != ' ') one_line.push_back(' ');
    } else {
      one_line.push_back(c);
    }
  }
  while (!one_line.empty() && one_line.back() == ' ') one_line.pop_back();
  if (one_line.size() > 200) one_line = one_line.substr(0, 197) + "...";
  return one_line;
}

namespace {

std::optional<std::chrono::milliseconds> retry_after(const http::Response& response) {
  const std::string* value = response.header("retry-after");
  return value == nullptr ? std::nullopt : http::parse_retry_after(*value);
}

class V1Authenticator final : public Authenticator {
 public:
  V1Authenticator(http::Client* client, const http::Retrier* retrier, const SwiftConfig& config)
      : client_(client), retrier_(retrier), url_(config.auth_endpoint + "/auth/v1.0"), login_(config.login),
        password_(config.password) {}

  Result<AuthToken> authenticate() override {
    http::Response response;
    const std::string what = "Swift v1 authentication at " + url_;
    Status status = retrier_->run(what, [&]() -> http::AttemptResult {
      http::Request request;
      request.url = url_;
      request.headers = {{"X-Auth-User", login_}, {"X-Auth-Key", password_}};
      Status sent = client_->perform(request, &response);
      if (!sent) return {sent, std::nullopt};
      if (http::is_retryable_http_status(response.status)) {
        return {http::status_from_http(response.status, what, response_detail(response)), retry_after(response)};
      }
      return {Status::ok(), std::nullopt};
    });
    if (!status) return status;
    if (response.status == 401 || response.status == 403) {
      return Status::auth_failed(fmt::format("{}: login '{}' refused (HTTP {}): wrong ACCOUNT:USER or password",
                                             what, login_, response.status));
    }
    if (response.status == 404 || response.status == 412) {
      return Status::unsupported(fmt::format(
          "{}: HTTP {}: no v1 authentication there (for Keystone use swiftks://KEYSTONE_HOST:PORT/REGION:CONTAINER)",
          what, response.status));
    }
    if (response.status < 200 || response.status > 299) {
      return http::status_from_http(response.status, what, response_detail(response));
    }
    const std::string* storage_url = response.header("x-storage-url");
    const std::string* token = response.header("x-auth-token");
    if (token == nullptr) token = response.header("x-storage-token");
    if (storage_url == nullptr || token == nullptr || storage_url->empty() || token->empty()) {
      return Status::unsupported(what + ": the answer has no X-Storage-Url and X-Auth-Token (not a Swift v1 auth endpoint?)");
    }
    AuthToken result;
    result.token = *token;
    result.storage_url = *storage_url;
    while (result.storage_url.ends_with('/')) result.storage_url.pop_back();
    if (const std::string* expires = response.header("x-auth-token-expires")) {
      long long seconds = 0;
      auto [end, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), seconds);
      if (ec == std::errc() && end == expires->data() + expires->size() && seconds >= 0) {
        result.expires_at = system_clock::now() + std::chrono::seconds(seconds);
      }
    }
    log::debug("Swift v1 authentication as {} at {}: storage URL {}", login_, url_, result.storage_url);
    return result;
  }

 private:
  http::Client* const client_;
  const http::Retrier* const retrier_;
  const std::string url_;
  const std::string login_;
  const std::string password_;
};

}  // namespace

std::unique_ptr<Authenticator> make_v1_authenticator(http::Client* client, const http::Retrier* retrier,
                                                     const SwiftConfig& config) {
  return std::make_unique<V1Authenticator>(client, retrier, config);
}

// ---- TokenSource ---------------------------------------------------------------

TokenSource::TokenSource(std::unique_ptr<Authenticator> authenticator, Clock now)
    : authenticator_(std::move(authenticator)), now_(now ? std::move(now) : Clock([] { return system_clock::now(); })) {}

uint64_t TokenSource::authentications() const {
  std::lock_guard lock(mutex_);
  return rounds_;
}

Result<TokenSource::Lease> TokenSource::current() { return acquire(std::nullopt); }

Result<TokenSource::Lease> TokenSource::renew(uint64_t stale_generation) { return acquire(stale_generation); }

// Renew a quarter of the lifetime early, at most a minute: long enough for the
// requests in flight to finish with the old token.
system_clock::time_point TokenSource::renew_at(const AuthToken& token) const {
  if (!token.expires_at) return system_clock::time_point::max();
  auto lifetime = *token.expires_at - now_();
  auto margin = std::min<system_clock::duration>(std::chrono::minutes(1), lifetime / 4);
  return *token.expires_at - std::max<system_clock::duration>(margin, system_clock::duration::zero());
}

bool TokenSource::usable(std::optional<uint64_t> stale_generation, system_clock::time_point now) const {
  if (!token_) return false;
  if (stale_generation && *stale_generation == generation_) return false;
  return now < renew_at_;
}

Result<TokenSource::Lease> TokenSource::acquire(std::optional<uint64_t> stale_generation) {
  std::unique_lock lock(mutex_);
  const uint64_t rounds_seen = rounds_;
  for (;;) {
    const auto now = now_();
    if (usable(stale_generation, now)) return Lease{token_, generation_};
    // An early renewal is under way and our token has not been refused: it
    // is still valid, so use it instead of waiting.
    bool still_valid = token_ && !(stale_generation && *stale_generation == generation_) &&
                       (!token_->expires_at || now < *token_->expires_at);
    if (renewing_ && still_valid) return Lease{token_, generation_};
    if (!renewing_) break;
    renewed_.wait(lock, [&] { return !renewing_; });
    if (rounds_ != rounds_seen && !last_failure_.is_ok()) return last_failure_;
  }

  renewing_ = true;
  lock.unlock();
  Result<AuthToken> result = authenticator_->authenticate();
  lock.lock();
  renewing_ = false;
  ++rounds_;
  if (result) {
    token_ = std::make_shared<const AuthToken>(std::move(result).value());
    ++generation_;
    renew_at_ = renew_at(*token_);
    last_failure_ = Status::ok();
  } else {
    last_failure_ = result.status();
  }
  renewed_.notify_all();
  if (result) return Lease{token_, generation_};
  // A failed early renewal keeps a token that has not expired or been refused.
  const auto now = now_();
  if (token_ && !(stale_generation && *stale_generation == generation_) &&
      (!token_->expires_at || now < *token_->expires_at)) {
    // Try again later, not on every request meanwhile.
    system_clock::duration left = std::chrono::minutes(1);
    if (token_->expires_at) left = *token_->expires_at - now;
    renew_at_ = now + std::min<system_clock::duration>(std::chrono::seconds(30), left / 2);
    log::warning("renewing the Swift token early failed ({}); using the current one until it expires",
                 last_failure_.to_string());
    return Lease{token_, generation_};
  }
  return last_failure_;
}

}  // namespace hoardfs::swift
