/* SPDX-License-Identifier: BSD-3-Clause */
// Doorbells (layout 1.3): a 32-bit counter in the region header that one side bumps after it
// posts (the host, Header::host_bell, after a request) or reports (the driver, Header::guest_bell,
// after an acknowledgement), followed by a futex wake, so that the other side, blocked on the
// word, runs at once instead of at its next poll. On a shared CPU a poll loop of short sleeps is
// a spin that the scheduler lets run for a whole slice (milliseconds) before the thread it waits
// for gets the CPU; a blocked waiter costs nothing until the wake.
//
// A wake reaches only waiters on the same kernel: across a VM boundary (an ivshmem BAR) none
// arrives, and the waiter's timeout turns the wait into a poll. The counter is a hint, never the
// protocol: the waiter always re-reads the request or report word.
#pragma once

#include <chrono>
#include <cstdint>

namespace ixgbevf_lm::region::doorbell {

// The counter's current value (acquire): read it before checking the word it announces, then
// wait for a value other than this one.
[[nodiscard]] uint32_t value(const uint32_t *bell) noexcept;
// Bump the counter (release) and wake every waiter. A system call: control path only.
void ring(uint32_t *bell) noexcept;
// Block until the counter differs from `seen` or `timeout` passed (or a signal came). True when
// it differs, false on timeout. `timeout` of zero returns at once.
bool wait(const uint32_t *bell, uint32_t seen, std::chrono::nanoseconds timeout) noexcept;

}  // namespace ixgbevf_lm::region::doorbell
