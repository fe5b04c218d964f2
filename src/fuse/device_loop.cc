// The polling /dev/fuse loop (see device_loop.h).
#include "fuse/device_loop.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {
namespace {

// The signal that interrupts the device reads of the serving threads when
// the session ends by a signal (fuse_set_signal_handlers only sets the
// session's exit flag). Its handler does nothing; it is installed without
// SA_RESTART, so that a blocked read returns EINTR.
constexpr int kWakeSignal = SIGUSR2;
// How often the main thread looks at the exit flag, and how often it
// repeats the wake signal to threads that still read (one may have been
// about to block when the first one came).
constexpr auto kExitCheck = std::chrono::milliseconds(500);
constexpr auto kWakeRepeat = std::chrono::milliseconds(20);

void ignore_wake(int) {}

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
    struct sigaction wake {}, previous {};
    wake.sa_handler = ignore_wake;
    sigemptyset(&wake.sa_mask);
    if (::sigaction(kWakeSignal, &wake, &previous) != 0) {
      log::warning("fuse: cannot install the wake signal ({}); not polling", std::strerror(errno));
      return std::nullopt;
    }
    {
      std::lock_guard lock(mutex_);
      start_thread();
    }
    // The session ends by unmount (every read fails with ENODEV), by a
    // device error, or by a signal; the last only sets the exit flag.
    {
      std::unique_lock lock(mutex_);
      while (!stopping_.load() && fuse_session_exited(session_) == 0) main_cv_.wait_for(lock, kExitCheck);
    }
    stop();
    {
      std::unique_lock lock(mutex_);
      while (!threads_.empty()) {
        for (Thread& thread : threads_) {
          if (thread.reading.load()) ::pthread_kill(thread.handle.native_handle(), kWakeSignal);
        }
        main_cv_.wait_for(lock, kWakeRepeat);
        reap_locked();
      }
    }
    ::sigaction(kWakeSignal, &previous, nullptr);
    return error_.load();
  }

 private:
  struct Thread {
    std::thread handle;
    std::atomic<bool> reading{false};  // in (or about to enter) a device read
    bool done = false;
  };

  void serve(Thread& self) {
    fuse_buf buf{};
    for (;;) {
      waiting_.fetch_add(1);
      bool got = next_request(buf, self);
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
    std::lock_guard lock(mutex_);
    self.done = true;
    main_cv_.notify_all();
  }

  // Waits for a request: within the window by asking the device whether one
  // is queued (yielding the CPU between looks), else asleep in a read, which
  // the kernel wakes for one request at a time. False once the session has
  // ended.
  bool next_request(fuse_buf& buf, Thread& self) {
    for (;;) {
      self.reading.store(true);
      if (stopping_.load() || fuse_session_exited(session_) != 0) {
        self.reading.store(false);
        return false;
      }
      if (now_ns() - last_metadata_ns_.load(std::memory_order_relaxed) < config_.spin_window_ns) {
        pollfd device{fd_, POLLIN, 0};
        if (::poll(&device, 1, 0) == 0) {
          sched_yield();
          continue;
        }
      }
      int rc = fuse_session_receive_buf(session_, &buf);
      self.reading.store(false);
      if (rc > 0) return true;
      if (rc == 0) return false;  // unmounted (ENODEV), or the session exited
      if (rc == -EINTR || rc == -EAGAIN) continue;
      log::error("fuse: reading the device: {}", std::strerror(-rc));
      error_.store(rc);
      fuse_session_exit(session_);
      return false;
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
    } else if (threads_.size() < config_.max_threads) {
      start_thread();
    }
  }

  void start_thread() {
    Thread& thread = threads_.emplace_back();
    thread.handle = std::thread([this, &thread] { serve(thread); });
  }

  void reap_locked() {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (it->done) {
        it->handle.join();  // it has set done as its last step
        it = threads_.erase(it);
      } else {
        ++it;
      }
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
    main_cv_.notify_all();
  }

  fuse_session* const session_;
  const int fd_;
  const DeviceLoopConfig config_;
  std::atomic<int> waiting_{0};  // threads in next_request()
  std::atomic<bool> stopping_{false};
  std::atomic<int> error_{0};
  std::atomic<int64_t> last_metadata_ns_{0};
  std::mutex mutex_;  // guards what follows
  std::condition_variable parked_cv_;
  std::condition_variable main_cv_;  // a thread ended, or the loop stops
  std::list<Thread> threads_;        // serving threads, parked ones included (a list: they keep their address)
  unsigned parked_ = 0;
  unsigned wake_tokens_ = 0;  // parked threads asked to wake
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
