// The polling /dev/fuse loop (see device_loop.h).
#include "fuse/device_loop.h"

#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {
namespace {

// A thread asleep in poll() looks at the session's exit flag this often: a
// signal sets it (fuse_set_signal_handlers) without waking every thread.
constexpr int kExitCheckMs = 500;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Requests after which the caller comes back soon with the next one. Reads
// and writes come in streams the kernel pipelines itself; forgets and
// interrupts are not answered at all.
bool starts_spin_window(const fuse_buf& buf) {
  if ((buf.flags & FUSE_BUF_IS_FD) != 0 || buf.size < sizeof(fuse_in_header)) return false;
  fuse_in_header in;
  std::memcpy(&in, buf.mem, sizeof in);
  switch (in.opcode) {
    case FUSE_READ:
    case FUSE_WRITE:
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
      return false;
    default:
      return true;
  }
}

class DeviceLoop {
 public:
  DeviceLoop(fuse_session* session, const DeviceLoopConfig& config)
      : session_(session), fd_(fuse_session_fd(session)), config_(config) {}

  std::optional<int> run() {
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
      log::warning("fuse: cannot make the device non-blocking ({}); not polling", std::strerror(errno));
      return std::nullopt;
    }
    {
      std::lock_guard lock(mutex_);
      threads_ = 1;
    }
    serve();
    std::vector<std::thread> started;
    {
      std::lock_guard lock(mutex_);
      started.swap(started_);
    }
    for (std::thread& thread : started) thread.join();
    return error_.load();
  }

 private:
  void serve() {
    fuse_buf buf{};
    for (;;) {
      waiting_.fetch_add(1);
      bool got = next_request(buf);
      int still_waiting = waiting_.fetch_sub(1) - 1;
      if (!got) break;
      if (still_waiting == 0) add_waiter();
      if (config_.spin_window_ns > 0 && starts_spin_window(buf)) {
        last_metadata_ns_.store(now_ns(), std::memory_order_relaxed);
      }
      fuse_session_process_buf(session_, &buf);
      if (waiting_.load() >= static_cast<int>(config_.waiting_threads) && !park()) break;
    }
    std::free(buf.mem);
    stop();
  }

  // Waits for a request (polling within the window, else in poll()); false
  // once the session has ended.
  bool next_request(fuse_buf& buf) {
    for (;;) {
      if (stopping_.load() || fuse_session_exited(session_) != 0) return false;
      int rc = fuse_session_receive_buf(session_, &buf);
      if (rc > 0) return true;
      if (rc == 0) return false;  // unmounted (ENODEV), or the session exited
      if (rc == -EINTR) continue;
      if (rc != -EAGAIN) {
        log::error("fuse: reading the device: {}", std::strerror(-rc));
        error_.store(rc);
        fuse_session_exit(session_);
        return false;
      }
      if (now_ns() - last_metadata_ns_.load(std::memory_order_relaxed) < config_.spin_window_ns) {
        sched_yield();
        continue;
      }
      pollfd device{fd_, POLLIN, 0};
      ::poll(&device, 1, kExitCheckMs);  // POLLERR once the connection is gone: the read says ENODEV
    }
  }

  // The last thread waiting for the device has taken a request: another one
  // takes its place, so that this request may block without holding up
  // the next.
  void add_waiter() {
    std::lock_guard lock(mutex_);
    if (stopping_.load()) return;
    if (parked_ > wake_tokens_) {
      ++wake_tokens_;
      parked_cv_.notify_one();
    } else if (threads_ < config_.max_threads) {
      ++threads_;
      started_.emplace_back([this] { serve(); });
    }
  }

  // Enough threads wait for the device: this one sleeps until add_waiter()
  // needs it. False when the loop is stopping.
  bool park() {
    std::unique_lock lock(mutex_);
    ++parked_;
    parked_cv_.wait(lock, [this] { return wake_tokens_ > 0 || stopping_.load(); });
    --parked_;
    if (wake_tokens_ > 0) --wake_tokens_;
    return !stopping_.load();
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    parked_cv_.notify_all();
  }

  fuse_session* const session_;
  const int fd_;
  const DeviceLoopConfig config_;
  std::atomic<int> waiting_{0};      // threads in next_request()
  std::atomic<bool> stopping_{false};
  std::atomic<int> error_{0};
  std::atomic<int64_t> last_metadata_ns_{0};
  std::mutex mutex_;  // guards what follows
  std::condition_variable parked_cv_;
  unsigned threads_ = 0;  // serving threads, parked ones included
  unsigned parked_ = 0;
  unsigned wake_tokens_ = 0;  // parked threads asked to wake
  std::vector<std::thread> started_;
};

}  // namespace

std::optional<int> run_device_loop(fuse_session* session, const DeviceLoopConfig& config) {
  DeviceLoop loop(session, config);
  return loop.run();
}

int64_t spin_window_ns(std::optional<unsigned> spin_us, unsigned cpus) {
  constexpr unsigned kSpinMaxCpus = 4;
  constexpr unsigned kSpinDefaultUs = 100;
  return static_cast<int64_t>(spin_us.value_or(cpus <= kSpinMaxCpus ? kSpinDefaultUs : 0)) * 1000;
}

}  // namespace hoardfs::fuse_internal
