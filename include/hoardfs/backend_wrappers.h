// Backends that wrap any other Backend and add one behaviour each, so that
// features stack and logs show the stack: "Retrying(FaultInjecting(local:///x))".
//
// RetryingBackend repeats calls that failed with a retryable() Status, with
// exponential backoff and full jitter (each wait is uniform in
// [0, min(max_delay, initial_delay * 2^n)]), until the call succeeds, fails
// permanently, or the time budget is spent. Every retry is logged as a warning.
// All backend calls are idempotent except put_if_absent: when an earlier try
// of it may have reached the server (a lost acknowledgement), already_exists
// on a retry is resolved by reading the object back — identical bytes mean
// the object is ours and the call succeeds.
//
// FaultInjectingBackend makes the failures a real object store has on bad
// days happen on purpose, reproducibly from a seed: transient errors before
// the call does anything, acknowledgements lost after it did, uploads cut off
// halfway (nothing visible) and bulk deletes that stop partway, added latency
// (which also reorders completions between threads), and writes refused with
// a fixed Status (a full or read-only backend).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "hoardfs/backend.h"

namespace hoardfs {

struct RetryOptions {
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{20'000};
  // Total time from the first attempt after which no retry starts. Zero
  // disables retrying.
  std::chrono::milliseconds max_total{300'000};
  // Upper bound on attempts per call (0: only the time budget limits).
  unsigned max_attempts = 0;
  // Seed of the jitter (0: random). Tests fix it.
  uint64_t seed = 0;
  // Clock and sleep; tests replace both with a fake clock so nothing waits.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::nanoseconds)> sleep;
};

struct RetryStats {
  uint64_t calls = 0;     // calls made through the wrapper
  uint64_t retries = 0;   // repeated attempts
  uint64_t gave_up = 0;   // calls that still failed retryably when the budget ran out
};

class RetryingBackend final : public Backend {
 public:
  explicit RetryingBackend(std::unique_ptr<Backend> inner, RetryOptions options = {});

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  Backend& inner() { return *inner_; }
  RetryStats stats() const;

 private:
  // Runs `attempt` until it succeeds, fails permanently or the budget is spent.
  // `on_retry` (may be empty) runs before each repeated attempt.
  Status run(const char* operation, const std::string& what, const std::function<Status()>& attempt,
             const std::function<void()>& on_retry = {});
  std::chrono::nanoseconds next_delay(unsigned retry_index);

  // Constant after construction.
  const std::unique_ptr<Backend> inner_;
  const RetryOptions options_;

  std::mutex rng_mutex_;
  std::mt19937_64 rng_;  // guarded by rng_mutex_

  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> gave_up_{0};
};

struct FaultOptions {
  // Each probability applies per call of the affected kind.
  double error_probability = 0;          // transient error before anything happens
  double lost_ack_probability = 0;       // writes: the call takes effect, then reports a transient error
  double partial_write_probability = 0;  // put: cut off midway, nothing visible; remove: stops after some keys
  // Latency added to every call, uniform in [min_latency, max_latency].
  std::chrono::microseconds min_latency{0};
  std::chrono::microseconds max_latency{0};
  bool faults_on_reads = true;   // get, get_range, list, head
  bool faults_on_writes = true;  // put, put_if_absent, remove
  // When set, every write fails with this Status and changes nothing
  // (e.g. Status::no_space(...) or Status::permission_denied(...)).
  std::optional<Status> write_error;
  uint64_t seed = 1;
};

struct FaultStats {
  uint64_t calls = 0;
  uint64_t errors = 0;          // transient errors before the call
  uint64_t lost_acks = 0;       // calls that took effect but reported failure
  uint64_t partial_writes = 0;  // cut-off uploads and partial deletes
  uint64_t refused_writes = 0;  // writes failed with write_error
  uint64_t delayed_calls = 0;   // calls that got added latency
};

class FaultInjectingBackend final : public Backend {
 public:
  explicit FaultInjectingBackend(std::unique_ptr<Backend> inner, FaultOptions options = {});

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  // Replaces the options and restarts the random sequence from their seed.
  void set_options(const FaultOptions& options);
  // Turns every fault and the latency off (or on again) without losing the options.
  void set_enabled(bool enabled) { enabled_ = enabled; }
  Backend& inner() { return *inner_; }
  FaultStats stats() const;

 private:
  enum class Fault { kNone, kError, kLostAck, kPartial, kRefused };
  struct Decision {
    Fault fault = Fault::kNone;
    std::chrono::microseconds latency{0};
    double fraction = 0;  // where a partial write stops, in [0, 1)
  };
  Decision decide(bool is_write);
  // Applies the decision's latency and returns the error to fail with before
  // calling the inner backend, or ok to go on.
  Status before_call(const Decision& decision, const char* operation, const std::string& what);

  // Constant after construction.
  const std::unique_ptr<Backend> inner_;

  std::atomic<bool> enabled_{true};
  mutable std::mutex mutex_;
  FaultOptions options_;  // guarded by mutex_
  std::mt19937_64 rng_;   // guarded by mutex_
  FaultStats stats_;      // guarded by mutex_
};

}  // namespace hoardfs
