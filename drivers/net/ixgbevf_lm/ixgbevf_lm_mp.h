/* SPDX-License-Identifier: BSD-3-Clause
 * Multi-process support. A secondary process attaches to the ports the primary probed (shared
 * dev->data, Adapter and queues in hugepage memory) and keeps its own pointers in ProcessLocal
 * (rte_eth_devices[port].process_private). What needs the device's accumulated state or the model
 * (statistics, link, resets) is asked of the primary over DPDK's IPC (rte_mp_request_sync, bounded
 * by kMpTimeoutMs); the bursts run in the secondary itself (ixgbevf_lm_hw.h: ring_secondary).
 */
#pragma once

#include <cstdint>

#include <ethdev_driver.h>

namespace ixgbevf_lm::pmd {

/* One IPC round trip with the primary, at most this long. */
inline constexpr unsigned kMpTimeoutMs = 1000;

/* Primary: answer secondaries' requests (idempotent; a process without IPC, e.g. --in-memory, has
 * no secondaries and this is a no-op). */
void mp_primary_init() noexcept;

/* Secondary's probe of a port the primary owns: this process's part (mmio: this process's BAR0, or
 * nullptr when the primary relays the doorbells), the secondary ops and bursts, and the primary's
 * acknowledgement (the relay of the port's doorbells starts, for a backend that needs it). Returns 0 or a negative errno; on error nothing is left set. */
int secondary_attach(rte_eth_dev *dev, uint8_t *mmio) noexcept;

/* The secondary's eth_dev_ops entries that need the primary. */
int mp_dev_close(rte_eth_dev *dev) noexcept;
int mp_link_update(rte_eth_dev *dev, int wait) noexcept;
int mp_stats_get(rte_eth_dev *dev, rte_eth_stats *st) noexcept;
int mp_stats_reset(rte_eth_dev *dev) noexcept;
int mp_xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned n) noexcept;
int mp_xstats_reset(rte_eth_dev *dev) noexcept;

extern const eth_dev_ops kEthDevOpsSecondary;  /* ixgbevf_lm_ethdev.cpp */

}  // namespace ixgbevf_lm::pmd
