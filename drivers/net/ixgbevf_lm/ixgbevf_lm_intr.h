/* SPDX-License-Identifier: BSD-3-Clause
 * Waking an idle Rx lcore: the power-management monitor address (the next descriptor's status
 * word, for UMWAIT/monitor), and Rx queue interrupts (VTIVAR maps each Rx queue to an MSI-X vector,
 * VTEIMS/VTEIMC arm and disarm it; on PCI VFIO delivers the vector, a backend with its own
 * delivery (DeviceBackend::msix_connect) writes the queue's eventfd). Control path only: nothing here is on the burst path.
 */
#pragma once

#include <ethdev_driver.h>
#include <rte_power_intrinsics.h>

namespace ixgbevf_lm::pmd {

struct Adapter;

/* eth_dev_ops.get_monitor_addr */
int rx_get_monitor_addr(void *rxq, rte_power_monitor_cond *pmc) noexcept;

/* eth_dev_ops.rx_queue_intr_enable / rx_queue_intr_disable */
int rx_queue_intr_enable(rte_eth_dev *dev, uint16_t qid) noexcept;
int rx_queue_intr_disable(rte_eth_dev *dev, uint16_t qid) noexcept;

/* dev_start with dev_conf.intr_conf.rxq: event fds, the queue-to-vector list, VTIVAR.
 * dev_stop / close: disarm every vector and release what intr_start set up. */
int intr_start(rte_eth_dev *dev) noexcept;
void intr_stop(rte_eth_dev *dev) noexcept;
/* After a VF reset the driver did not ask the application for (migration rebuild, PF reset):
 * program the vectors again and re-arm the queues that were armed. */
void intr_restore(rte_eth_dev *dev) noexcept;

}  // namespace ixgbevf_lm::pmd
