/* SPDX-License-Identifier: BSD-3-Clause */
// Doorbells: a counter and a futex (see doorbell.h). Shared futexes (no FUTEX_PRIVATE_FLAG): the
// region is a MAP_SHARED file mapping of two processes.
#include "ixgbevf_lm/region/doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>

namespace ixgbevf_lm::region::doorbell {

uint32_t value(const uint32_t *bell) noexcept
{
    return std::atomic_ref<uint32_t>(*const_cast<uint32_t *>(bell)).load(std::memory_order_acquire);
}

void ring(uint32_t *bell) noexcept
{
    std::atomic_ref<uint32_t>(*bell).fetch_add(1, std::memory_order_release);
    (void)syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

bool wait(const uint32_t *bell, uint32_t seen, std::chrono::nanoseconds timeout) noexcept
{
    if (value(bell) != seen)
        return true;
    if (timeout <= std::chrono::nanoseconds::zero())
        return false;
    const auto ns = timeout.count();
    const timespec rel{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    /* EAGAIN: it changed before the call; EINTR: a signal; ETIMEDOUT: the bound. Whichever, the
     * caller re-reads what the bell announces. */
    (void)syscall(SYS_futex, bell, FUTEX_WAIT, seen, &rel, nullptr, 0);
    return value(bell) != seen;
}

}  // namespace ixgbevf_lm::region::doorbell
