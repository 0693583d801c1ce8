/* SPDX-License-Identifier: BSD-3-Clause
 * Waking an idle Rx lcore (see ixgbevf_lm_intr.h).
 */
#include "ixgbevf_lm_intr.h"

#include <rte_byteorder.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* opaque[] of the monitor condition: the little-endian DD mask and the value meaning "written back". */
enum : unsigned { kMonMask = 0, kMonValue = 1 };

/* rte_power_monitor's abort test: -1 (do not sleep) once the device wrote the descriptor back. */
int rx_monitor_cb(const uint64_t value, const uint64_t opaque[RTE_POWER_MONITOR_OPAQUE_SZ]) {
  return (value & opaque[kMonMask]) == opaque[kMonValue] ? -1 : 0;
}

}  // namespace

int rx_get_monitor_addr(void *rxq, rte_power_monitor_cond *pmc) noexcept {
  auto *q = static_cast<RxQueue *>(rxq);
  if (!q || !q->ring || !pmc)
    return -EINVAL;
  /* the descriptor the next burst looks at; the device sets DD in its status word on write-back */
  volatile RxDesc *d = &q->ring[q->rx_tail];
  pmc->addr = &d->wb.status_error;
  pmc->size = sizeof(uint32_t);
  pmc->fn = rx_monitor_cb;
  pmc->opaque[kMonMask] = rte_cpu_to_le_32(RXD_STAT_DD);
  pmc->opaque[kMonValue] = rte_cpu_to_le_32(RXD_STAT_DD);
  return 0;
}

}  // namespace ixgbevf_lm::pmd
