// Taking a mutex by spinning for a short while before sleeping, for the
// requests whose latency a caller waits on one at a time (lookup, and
// getattr when the attribute cache misses).
//
// The filesystem lock is held for a few to a few tens of microseconds at a
// time. A thread that sleeps on it has to be woken when it is released, and
// when its CPU went idle meanwhile that wake-up costs an inter-processor
// interrupt and, on a virtual machine whose idle CPUs halt, a halt exit:
// 20-50 us, more than the wait itself. Measured on the incremental rsync (one
// process stat()ing every file while another writes the changed ones): the
// stat()s that met the lock taken slept and took 100-1000 us instead of 5.
//
// lock_spinning() retries for up to kLockSpin, yielding the CPU between
// tries (a holder waiting for this CPU gets it), and only then sleeps. With
// it, getattr's 99th percentile in that rsync went from 100-140 us to 70 us
// in most runs (the runs vary a lot on this machine). Only these requests
// spin: a lock held long (a commit that writes the log) would cost every
// waiter kLockSpin of CPU time, which the upload workers need more.
#pragma once

#include <sched.h>

#include <chrono>
#include <mutex>

namespace hoardfs {

inline constexpr std::chrono::microseconds kLockSpin{50};

inline void lock_spinning(std::mutex& mu) {
  if (mu.try_lock()) return;
  const auto give_up = std::chrono::steady_clock::now() + kLockSpin;
  do {
    ::sched_yield();
    if (mu.try_lock()) return;
  } while (std::chrono::steady_clock::now() < give_up);
  mu.lock();
}

}  // namespace hoardfs
