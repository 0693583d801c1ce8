/* SPDX-License-Identifier: BSD-3-Clause
 * The port's operation lock: recursive (a migration step runs ethdev operations that take it again)
 * with a bounded wait (an application call never blocks for longer than its budget, a rebuild
 * included). Built on std::mutex and std::condition_variable rather than std::recursive_timed_mutex,
 * whose timed lock is pthread_mutex_clocklock: ThreadSanitizer does not intercept that call, misses
 * the acquisition and reports the unlock of a mutex it never saw locked, hiding real reports
 * behind it. Meets the standard's TimedLockable requirements (std::unique_lock, std::lock_guard).
 */
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ixgbevf_lm::pmd::mig {

class OpMutex {
 public:
  using Clock = std::chrono::steady_clock;

  void lock()
  {
    std::unique_lock<std::mutex> g(m_);
    cv_.wait(g, [&] { return take(); });
  }
  bool try_lock()
  {
    std::lock_guard<std::mutex> g(m_);
    return take();
  }
  template <class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration> &deadline)
  {
    std::unique_lock<std::mutex> g(m_);
    return cv_.wait_until(g, deadline, [&] { return take(); });
  }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period> &d)
  {
    return try_lock_until(Clock::now() + d);
  }
  void unlock()
  {
    {
      std::lock_guard<std::mutex> g(m_);
      if (--depth_ != 0)
        return;
      owner_ = std::thread::id();
    }
    cv_.notify_one();
  }

 private:
  /* Caller holds m_. */
  bool take()
  {
    const auto self = std::this_thread::get_id();
    if (depth_ != 0 && owner_ != self)
      return false;
    owner_ = self;
    ++depth_;
    return true;
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::thread::id owner_;
  unsigned depth_ = 0;
};

}  // namespace ixgbevf_lm::pmd::mig
