/* SPDX-License-Identifier: BSD-3-Clause
 * The device seam: everything of a VF that differs between the ways the driver reaches one. The
 * driver core (ethdev ops, queues, bursts, mailbox, migration) talks to any VF through
 *
 *   - register access: HwAccess (ixgbevf_lm_hw.h), BAR0 mapped (PCI) or a read/write pair with a
 *     context (a model in this process, a register transport to a device process);
 *   - DMA: nothing to translate, descriptors and buffers carry IOVAs; a backend whose device does not
 *     see the IOMMU makes DPDK memory reachable itself at probe (the sim maps it into its DmaSpace);
 *   - the DeviceBackend below: interrupt delivery, the platform that moves a VF during a migration,
 *     how a secondary process's doorbells reach the device, and the backend's own state.
 *
 * Implementations, side by side under backends/: pci/ (the production PMD, librte_net_ixgbevf_lm.so)
 * and sim/ (the in-process PF model, plugin librte_net_ixgbevf_lm_sim.so). Control path only: no
 * entry is called from a burst function.
 */
#pragma once

#include <cstdint>
#include <memory>

namespace ixgbevf_lm::pmd {

struct Adapter;

struct DeviceBackend {
  const char *name;  /* "pci", "sim": log lines and telemetry */

  /* MSI-X delivery. nullptr: the bus delivers the vectors (VFIO event fds in dev->intr_handle).
   * Otherwise the device signals Rx vector 1 + i by writing fds[i] (an eventfd the core created),
   * from connect until disconnect returns; disconnect returns with no signal in flight. */
  int (*msix_connect)(Adapter &ad, const int *fds, unsigned n) noexcept;
  void (*msix_disconnect)(Adapter &ad) noexcept;

  /* The platform that moves a VF during a live migration. nullptr: nothing to do (a VMM moves the
   * VM and its VF; the driver finds a reset VF on RESUMING). prepare runs during pre-copy, after
   * the acknowledgement (the destination may get ready); switch_vf before the rebuild on
   * RESUMING (the port now drives the destination's VF). */
  void (*migration_prepare)(Adapter &ad) noexcept;
  void (*migration_switch)(Adapter &ad, uint32_t migration_seq) noexcept;

  /* Secondary processes: true when only the primary reaches the registers, so that a secondary's
   * doorbells go through the primary's relay (ixgbevf_lm_relay.h); false: a secondary maps BAR0. */
  bool secondary_doorbell_relay;
};

/* What a backend keeps per port (freed with the Adapter, after the core's own state). */
using BackendState = std::unique_ptr<void, void (*)(void *)>;

/* The PCI backend (backends/pci): every hook empty. */
extern const DeviceBackend kPciBackend;

}  // namespace ixgbevf_lm::pmd
