#include <sodium.h>

#include <algorithm>
#include <thread>

#include "hoardfs/backend_wrappers.h"
#include "hoardfs/log.h"

namespace hoardfs {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

RetryingBackend::RetryingBackend(std::unique_ptr<Backend> inner, RetryOptions options)
    : inner_(std::move(inner)), options_([&] {
        if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
        if (!options.sleep) options.sleep = [](nanoseconds d) { std::this_thread::sleep_for(d); };
        return std::move(options);
      }()),
      rng_(options_.seed != 0 ? options_.seed : (uint64_t{randombytes_random()} << 32 | randombytes_random())) {}

std::string RetryingBackend::describe() const { return "Retrying(" + inner_->describe() + ")"; }

RetryStats RetryingBackend::stats() const {
  return {calls_.load(), retries_.load(), gave_up_.load()};
}

// Full jitter: uniform in [0, min(max_delay, initial_delay * 2^n)]. Spreads the
// retries of many workers that failed together, unlike a fixed backoff.
nanoseconds RetryingBackend::next_delay(unsigned retry_index) {
  nanoseconds cap = options_.initial_delay;
  for (unsigned i = 0; i < retry_index && cap < options_.max_delay; ++i) cap *= 2;
  cap = std::min<nanoseconds>(cap, options_.max_delay);
  if (cap.count() <= 0) return nanoseconds(0);
  std::lock_guard lock(rng_mutex_);
  std::uniform_int_distribution<int64_t> pick(0, cap.count());
  return nanoseconds(pick(rng_));
}

Status RetryingBackend::run(const char* operation, const std::string& what,
                            const std::function<Status()>& attempt, const std::function<void()>& on_retry) {
  ++calls_;
  const auto start = options_.now();
  const auto deadline = start + options_.max_total;
  for (unsigned tries = 1;; ++tries) {
    Status status = attempt();
    if (status.is_ok() || !status.retryable()) return status;
    nanoseconds delay = next_delay(tries - 1);
    bool out_of_attempts = options_.max_total.count() == 0 ||
                           (options_.max_attempts != 0 && tries >= options_.max_attempts);
    if (out_of_attempts || options_.now() + delay > deadline) {
      ++gave_up_;
      auto spent = duration_cast<milliseconds>(options_.now() - start);
      return status.with_context(fmt::format("{} {}: gave up after {} attempt{} in {:.1f} s", operation, what,
                                             tries, tries == 1 ? "" : "s", spent.count() / 1000.0));
    }
    log::warning("{}: {} {} failed ({}); retry {} in {} ms", inner_->describe(), operation, what,
                 status.to_string(), tries, duration_cast<milliseconds>(delay).count());
    options_.sleep(delay);
    ++retries_;
    if (on_retry) on_retry();
  }
}

Status RetryingBackend::get(const std::string& key, std::string* out) {
  return run("get", key, [&] { return inner_->get(key, out); });
}

Status RetryingBackend::get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) {
  return run("get_range", key, [&] { return inner_->get_range(key, offset, length, out); });
}

Status RetryingBackend::put(const std::string& key, std::string_view data) {
  return run("put", key, [&] { return inner_->put(key, data); });
}

// A put_if_absent whose reply was lost may have created the object; the retry
// then meets already_exists for our own write. Reading the object back tells
// the two apart: callers of put_if_absent (the mount lock) write contents
// unique to themselves, so identical bytes mean the earlier try succeeded.
Status RetryingBackend::put_if_absent(const std::string& key, std::string_view data) {
  bool may_have_landed = false;
  Status status = run(
      "put_if_absent", key, [&] { return inner_->put_if_absent(key, data); },
      [&] { may_have_landed = true; });
  if (status.code() != Status::Code::kAlreadyExists || !may_have_landed) return status;
  std::string existing;
  Status read = run("get", key, [&] { return inner_->get(key, &existing); });
  if (read.is_ok() && existing == data) {
    log::info("{}: put_if_absent {}: an earlier attempt had succeeded", inner_->describe(), key);
    return Status::ok();
  }
  return status;
}

Status RetryingBackend::remove(const std::vector<std::string>& keys) {
  std::string what = keys.size() == 1 ? keys.front() : fmt::format("{} keys", keys.size());
  return run("remove", what, [&] { return inner_->remove(keys); });
}

Status RetryingBackend::list(const std::string& prefix, const std::string& start_after, size_t max_keys,
                             ListPage* page) {
  return run("list", "'" + prefix + "'", [&] { return inner_->list(prefix, start_after, max_keys, page); });
}

Status RetryingBackend::head(const std::string& key, ObjectInfo* info) {
  return run("head", key, [&] { return inner_->head(key, info); });
}

}  // namespace hoardfs
