// The /dev/fuse request loop with polling: libfuse's multi-threaded loop,
// except that after a metadata request the threads waiting for the next one
// keep asking the device (non-blocking reads, yielding the CPU between
// looks) for a short window instead of sleeping in it.
//
// Why (measured on a 2-vCPU VM whose idle CPUs halt): with threads asleep
// in read(), every request wakes one of them, usually on the other CPU, and
// every reply wakes the caller back; each wake-up of an idle CPU costs an
// inter-processor interrupt and a halt exit (25-50 us), more than the
// daemon spends on a lookup or a create. A thread that polls keeps its CPU
// busy: the request is taken without a wake-up, and the caller, woken
// while its CPU runs only the polling thread, runs again at once on it.
// The rings of FUSE over io_uring (fuse_uring.h) do the same when the
// kernel allows them; this loop serves everyone else.
//
// Threads: at most `cpus` threads wait for the device at a time (more
// would only take turns polling on the same CPUs); outside the window they
// sleep in epoll_wait() on the device with EPOLLEXCLUSIVE, so that a
// request wakes one of them, as a blocking read would. A thread that finishes a request while that many wait parks
// on a condition variable. When the last waiter takes a request, a parked
// thread is woken, or a new one started (up to max_threads), so that a
// request that blocks (fsync waiting for uploads, a backend fetch) never
// stops the others.
#pragma once

#include <cstdint>
#include <optional>

struct fuse_session;

namespace hoardfs::fuse_internal {

struct DeviceLoopConfig {
  unsigned max_threads = 16;
  unsigned waiting_threads = 2;  // threads that wait for the device at a time
  int64_t spin_window_ns = 0;    // polling after a metadata request; > 0
};

// Serves the session until it exits (unmount, signal or device error);
// returns 0 or the negative errno of the device error. Makes the session's
// file descriptor non-blocking; when it cannot (logged), returns nullopt at
// once and the caller serves the session another way.
std::optional<int> run_device_loop(fuse_session* session, const DeviceLoopConfig& config);

// The polling window: `spin_us` as asked for (-o spin=), else 100 us on
// machines of up to four CPUs and none on larger ones, where keeping every
// idle CPU busy would cost too much.
int64_t spin_window_ns(std::optional<unsigned> spin_us, unsigned cpus);

}  // namespace hoardfs::fuse_internal
