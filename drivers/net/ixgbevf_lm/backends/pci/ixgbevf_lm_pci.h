/* SPDX-License-Identifier: BSD-3-Clause
 * The PCI binding: BAR0 through rte_read32/rte_write32, and taking VFs from net_ixgbe_vf.
 */
#pragma once

struct rte_pci_driver;
struct rte_pci_device;

namespace ixgbevf_lm::pmd {

int pci_probe(rte_pci_driver *drv, rte_pci_device *dev) noexcept;
int pci_remove(rte_pci_device *dev) noexcept;
/* Move drv ahead of net_ixgbe_vf in the PCI bus's driver list, unless IXGBEVF_LM_TAKEOVER=0. */
void pci_takeover(rte_pci_driver *drv) noexcept;

}  // namespace ixgbevf_lm::pmd
