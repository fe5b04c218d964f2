// Retry classification, Retry-After parsing and the backoff loop (see http_client.h).
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <random>
#include <thread>

#include "backend/http/http_client.h"
#include "hoardfs/log.h"

namespace hoardfs::http {

using std::chrono::milliseconds;

bool is_retryable_http_status(long status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    seconds = std::min<long long>(seconds, 24 * 3600);
    return milliseconds(seconds * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  std::time_t when = timegm(&tm);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  auto delta = std::chrono::system_clock::from_time_t(when) - now;
  if (delta <= std::chrono::system_clock::duration::zero()) return milliseconds(0);
  return std::min(std::chrono::duration_cast<milliseconds>(delta), milliseconds(24LL * 3600 * 1000));
}

Status status_from_http(long status, std::string_view what, std::string_view detail) {
  std::string message = fmt::format("{}: HTTP {}", what, status);
  if (!detail.empty()) message += fmt::format(" ({})", detail);
  switch (status) {
    case 401: return Status::auth_failed(message + ": the server refused the credentials");
    case 403: return Status::permission_denied(message + ": access denied");
    case 404: return Status::not_found(message);
    case 507: return Status::no_space(message);
    default: break;
  }
  if (is_retryable_http_status(status)) return Status::transient(message);
  return Status::io_error(message);
}

Retrier::Retrier(RetryPolicy policy, Sleeper sleeper) : policy_(policy), sleeper_(std::move(sleeper)) {
  if (!sleeper_) sleeper_ = [](milliseconds d) { std::this_thread::sleep_for(d); };
}

milliseconds Retrier::backoff(int retry, std::optional<milliseconds> retry_after) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  long long delay = policy_.initial_delay.count();
  for (int i = 1; i < retry && delay < policy_.max_delay.count(); ++i) delay *= 2;
  delay = std::min<long long>(delay, policy_.max_delay.count());
  std::uniform_int_distribution<long long> jitter(delay / 2, delay);
  milliseconds pause(jitter(rng));
  if (retry_after && *retry_after > pause) pause = *retry_after;
  return pause;
}

Status Retrier::run(std::string_view what, const std::function<AttemptResult()>& attempt) const {
  const auto start = std::chrono::steady_clock::now();
  for (int number = 1;; ++number) {
    AttemptResult result = attempt();
    if (result.status.is_ok() || !result.status.retryable()) return result.status;
    if (number >= policy_.max_attempts) {
      log::error("{}: giving up after {} attempts: {}", what, number, result.status.to_string());
      return result.status.with_context(fmt::format("after {} attempts", number));
    }
    milliseconds pause = backoff(number, result.retry_after);
    auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (elapsed + pause > policy_.max_total) {
      log::error("{}: giving up after {} attempts in {} ms (retry budget {} ms): {}", what, number,
                 elapsed.count(), policy_.max_total.count(), result.status.to_string());
      return result.status.with_context(fmt::format("after {} attempts", number));
    }
    log::warning("{}: {}; retry {} in {} ms{}", what, result.status.to_string(), number, pause.count(),
                 result.retry_after ? " (Retry-After)" : "");
    sleeper_(pause);
  }
}

}  // namespace hoardfs::http
