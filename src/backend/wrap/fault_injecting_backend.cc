#include <algorithm>
#include <thread>

#include "hoardfs/backend_wrappers.h"
#include "hoardfs/log.h"

namespace hoardfs {

FaultInjectingBackend::FaultInjectingBackend(std::unique_ptr<Backend> inner, FaultOptions options)
    : inner_(std::move(inner)), options_(std::move(options)), rng_(options_.seed) {}

std::string FaultInjectingBackend::describe() const { return "FaultInjecting(" + inner_->describe() + ")"; }

void FaultInjectingBackend::set_options(const FaultOptions& options) {
  std::lock_guard lock(mutex_);
  options_ = options;
  rng_.seed(options.seed);
}

FaultStats FaultInjectingBackend::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// Draws every random number of a call in one place, under the lock, so that a
// single-threaded run replays exactly from the seed.
FaultInjectingBackend::Decision FaultInjectingBackend::decide(bool is_write) {
  Decision d;
  std::lock_guard lock(mutex_);
  ++stats_.calls;
  if (!enabled_) return d;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (options_.max_latency > options_.min_latency) {
    std::uniform_int_distribution<int64_t> pick(options_.min_latency.count(), options_.max_latency.count());
    d.latency = std::chrono::microseconds(pick(rng_));
  } else {
    d.latency = options_.min_latency;
  }
  if (d.latency.count() > 0) ++stats_.delayed_calls;
  if (is_write && options_.write_error) {
    d.fault = Fault::kRefused;
    ++stats_.refused_writes;
    return d;
  }
  if (!(is_write ? options_.faults_on_writes : options_.faults_on_reads)) return d;
  // One draw picks at most one fault, so the probabilities add up.
  double r = unit(rng_);
  d.fraction = unit(rng_);
  if (r < options_.error_probability) {
    d.fault = Fault::kError;
    ++stats_.errors;
  } else if (!is_write) {
    return d;
  } else if ((r -= options_.error_probability) < options_.lost_ack_probability) {
    d.fault = Fault::kLostAck;
    ++stats_.lost_acks;
  } else if (r - options_.lost_ack_probability < options_.partial_write_probability) {
    d.fault = Fault::kPartial;
    ++stats_.partial_writes;
  }
  return d;
}

Status FaultInjectingBackend::before_call(const Decision& decision, const char* operation,
                                          const std::string& what) {
  if (decision.latency.count() > 0) std::this_thread::sleep_for(decision.latency);
  if (decision.fault != Fault::kNone) {
    log::debug("injecting fault {} into {} {}", static_cast<int>(decision.fault), operation, what);
  }
  if (decision.fault == Fault::kError) {
    return Status::transient(fmt::format("injected fault: {} {}: connection reset", operation, what));
  }
  if (decision.fault == Fault::kRefused) {
    std::lock_guard lock(mutex_);
    return options_.write_error->with_context(fmt::format("injected: {} {}", operation, what));
  }
  return Status::ok();
}

namespace {
// The reply of a call whose effect happened but whose answer never came.
Status lost_ack(const char* operation, const std::string& what) {
  return Status::transient(fmt::format("injected fault: {} {}: no response (timeout)", operation, what));
}
}  // namespace

Status FaultInjectingBackend::get(const std::string& key, std::string* out) {
  Decision d = decide(false);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "get", key));
  return inner_->get(key, out);
}

Status FaultInjectingBackend::get_range(const std::string& key, uint64_t offset, uint64_t length,
                                        std::string* out) {
  Decision d = decide(false);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "get_range", key));
  return inner_->get_range(key, offset, length, out);
}

Status FaultInjectingBackend::head(const std::string& key, ObjectInfo* info) {
  Decision d = decide(false);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "head", key));
  return inner_->head(key, info);
}

Status FaultInjectingBackend::list(const std::string& prefix, const std::string& start_after,
                                   size_t max_keys, ListPage* page) {
  Decision d = decide(false);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "list", prefix));
  return inner_->list(prefix, start_after, max_keys, page);
}

Status FaultInjectingBackend::put(const std::string& key, std::string_view data) {
  Decision d = decide(true);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "put", key));
  if (d.fault == Fault::kPartial) {
    // Objects are written whole, so an upload cut off midway leaves nothing.
    auto sent = static_cast<size_t>(d.fraction * static_cast<double>(data.size()));
    return Status::transient(
        fmt::format("injected fault: put {}: connection reset after {} of {} bytes", key, sent, data.size()));
  }
  Status status = inner_->put(key, data);
  if (status.is_ok() && d.fault == Fault::kLostAck) return lost_ack("put", key);
  return status;
}

Status FaultInjectingBackend::put_if_absent(const std::string& key, std::string_view data) {
  Decision d = decide(true);
  HOARDFS_RETURN_IF_ERROR(before_call(d, "put_if_absent", key));
  if (d.fault == Fault::kPartial) {
    return Status::transient(fmt::format("injected fault: put_if_absent {}: connection reset", key));
  }
  Status status = inner_->put_if_absent(key, data);
  if (status.is_ok() && d.fault == Fault::kLostAck) return lost_ack("put_if_absent", key);
  return status;
}

Status FaultInjectingBackend::remove(const std::vector<std::string>& keys) {
  Decision d = decide(true);
  std::string what = keys.size() == 1 ? keys.front() : fmt::format("{} keys", keys.size());
  HOARDFS_RETURN_IF_ERROR(before_call(d, "remove", what));
  if (d.fault == Fault::kPartial) {
    // A bulk delete that fails partway: the first keys are gone, the rest stay.
    auto done = static_cast<size_t>(d.fraction * static_cast<double>(keys.size()));
    std::vector<std::string> first(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(done));
    if (!first.empty()) HOARDFS_RETURN_IF_ERROR(inner_->remove(first));
    return Status::transient(
        fmt::format("injected fault: remove: connection reset after {} of {} keys", done, keys.size()));
  }
  Status status = inner_->remove(keys);
  if (status.is_ok() && d.fault == Fault::kLostAck) return lost_ack("remove", what);
  return status;
}

}  // namespace hoardfs
