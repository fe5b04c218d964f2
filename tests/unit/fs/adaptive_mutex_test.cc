// lock_spinning(): takes a free lock at once, and a held one once it is let
// go, whether that comes within the spin or long after it.
#include "fs/adaptive_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace hoardfs {
namespace {

TEST(LockSpinning, TakesAFreeLock) {
  std::mutex mu;
  lock_spinning(mu);
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
}

void holds_for(std::chrono::microseconds hold) {
  std::mutex mu;
  std::atomic<bool> held{false};
  std::atomic<bool> taken{false};
  mu.lock();
  std::thread waiter([&] {
    held.wait(false);
    lock_spinning(mu);
    taken = true;
    mu.unlock();
  });
  held = true;
  held.notify_one();
  std::this_thread::sleep_for(hold);  // the holder's work, not synchronization
  EXPECT_FALSE(taken.load()) << "took a lock that was held";
  mu.unlock();
  waiter.join();
  EXPECT_TRUE(taken.load());
}

TEST(LockSpinning, WaitsForAShortHold) { holds_for(std::chrono::microseconds(20)); }

TEST(LockSpinning, SleepsThroughALongHold) { holds_for(10 * kLockSpin); }

}  // namespace
}  // namespace hoardfs
