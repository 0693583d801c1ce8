/* SPDX-License-Identifier: BSD-3-Clause
 * Hook for the dirty-page logging of live migration. Each queue holds a DirtyLog pointer, nullptr
 * while logging is off; the burst functions load it once per burst and, when it is set, mark every
 * page the device wrote (Rx buffers, Rx descriptor write-backs, Tx descriptor write-backs). The
 * marking is inline bit setting into a bitmap: no call, lock or allocation per packet.
 */
#pragma once

#include <cstdint>

namespace ixgbevf_lm::pmd {

struct DirtyLog {
  uint64_t *bitmap = nullptr;  /* one bit per page of [iova_base, iova_base + iova_len) */
  uint64_t iova_base = 0;
  uint64_t iova_len = 0;
  unsigned page_shift = 12;

  void mark(uint64_t iova, uint64_t len) const {
    if (len == 0 || iova < iova_base || iova - iova_base >= iova_len)
      return;
    uint64_t p0 = (iova - iova_base) >> page_shift;
    uint64_t p1 = (iova - iova_base + len - 1) >> page_shift;
    for (uint64_t p = p0; p <= p1; p++)
      __atomic_fetch_or(&bitmap[p >> 6], uint64_t(1) << (p & 63), __ATOMIC_RELAXED);
  }
};

}  // namespace ixgbevf_lm::pmd
