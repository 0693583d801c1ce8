/* SPDX-License-Identifier: BSD-3-Clause
 * Bounded waits of the control path on the device: a register bit reaching a value, two registers
 * agreeing (TDH == TDT), or any condition, each with a timeout in microseconds. The first looks spin
 * (a VF answers a queue enable or a reset within microseconds), later ones back off (backoff()),
 * so that a device model sharing the CPUs gets to run.
 */
#pragma once

#include <cstdint>

#include "ixgbevf_lm_hw.h"

namespace ixgbevf_lm::pmd {

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_us() noexcept;
/* One step of a poll that has waited waited_us: a spin for the first 100 us, then a yield of the
 * CPU, a sleep of 100 us after 2 ms. */
void backoff(uint64_t waited_us) noexcept;

/* Polls done() until it holds or timeout_us passed; the last look is after the deadline. */
template <class F>
bool poll_until(uint64_t timeout_us, F &&done) noexcept
{
  const uint64_t t0 = now_us();
  for (;;) {
    if (done())
      return true;
    const uint64_t waited = now_us() - t0;
    if (waited >= timeout_us)
      return done();
    backoff(waited);
  }
}

/* The bit(s) `bit` of register `off` all set (set) or all clear (!set) within timeout_us. */
inline bool poll_reg_bit(const HwAccess &hw, uint32_t off, uint32_t bit, bool set, uint64_t timeout_us) noexcept
{
  return poll_until(timeout_us, [&] { return ((rd32(hw, off) & bit) == bit) == set; });
}

/* Registers a and b read equal within timeout_us (a Tx queue's head caught up with its tail). */
inline bool poll_regs_equal(const HwAccess &hw, uint32_t a, uint32_t b, uint64_t timeout_us) noexcept
{
  return poll_until(timeout_us, [&] { return rd32(hw, a) == rd32(hw, b); });
}

}  // namespace ixgbevf_lm::pmd
