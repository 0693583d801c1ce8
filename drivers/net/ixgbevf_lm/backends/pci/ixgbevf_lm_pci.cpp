/* SPDX-License-Identifier: BSD-3-Clause
 * The PCI backend, what an operator runs on a real VF: map BAR0 (RTE_PCI_DRV_NEED_MAPPING), hand it
 * to the driver core as the HwAccess mmio base (primary), or keep this process's mapping for the
 * tail registers (secondary); VFIO delivers MSI-X and a VMM moves the VF. At the bottom: the PCI
 * driver's registration (net_ixgbevf_lm) and the takeover of the VF IDs that net_ixgbe_vf
 * registered before this plugin was loaded.
 */
#include "ixgbevf_lm_pci.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <bus_pci_driver.h>
#include <ethdev_pci.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"
#include "ixgbevf_lm_takeover.h"

namespace ixgbevf_lm::pmd {

namespace {

int eth_init(rte_eth_dev *dev) {
  rte_pci_device *pci = RTE_ETH_DEV_TO_PCI(dev);
  if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
    /* The primary configured the VF; this process only needs its own mapping of BAR0 (the PCI bus
     * mapped it) for the queues' tail registers. */
    if (!pci->mem_resource[0].addr || pci->mem_resource[0].len < hw::kVfBar0Size) {
      IXGBEVF_LM_LOG(ERR, "%s: BAR0 not mapped in this secondary process", pci->device.name);
      return -ENODEV;
    }
    return secondary_attach(dev, static_cast<uint8_t *>(pci->mem_resource[0].addr));
  }
  auto *ad = new (dev->data->dev_private) Adapter();
  ad->dev = dev;
  if (!hw::mac_type_for(pci->id.device_id, &ad->mac_type))
    return -ENODEV;
  if (!pci->mem_resource[0].addr || pci->mem_resource[0].len < hw::kVfBar0Size) {
    IXGBEVF_LM_LOG(ERR, "%s: BAR0 not mapped", pci->device.name);
    return -ENODEV;
  }
  ad->hw.mmio = static_cast<uint8_t *>(pci->mem_resource[0].addr);
  ad->backend = &kPciBackend;
  if (parse_devargs(pci->device.devargs, false, &ad->devargs))
    return -EINVAL;
  rte_eth_copy_pci_info(dev, pci);
  int rc = adapter_init(dev);
  if (rc)
    adapter_uninit(dev);
  return rc;
}

int eth_uninit(rte_eth_dev *dev) {
  rte_eth_dev_close(dev->data->port_id);
  return 0;
}

struct PciNext {
  auto &operator()(rte_pci_driver *d) const { return d->next; }
};
struct PciName {
  const char *operator()(rte_pci_driver *d) const { return d->driver.name; }
};

}  // namespace

int pci_probe(rte_pci_driver *, rte_pci_device *pci) noexcept {
  return rte_eth_dev_pci_generic_probe(pci, sizeof(Adapter), eth_init);
}

int pci_remove(rte_pci_device *pci) noexcept { return rte_eth_dev_pci_generic_remove(pci, eth_uninit); }

void pci_takeover(rte_pci_driver *drv) noexcept {
  const char *env = getenv("IXGBEVF_LM_TAKEOVER");
  if (env && !strcmp(env, "0"))
    return;
  TakeoverList<rte_pci_driver, PciNext, PciName> list;
  if (list.move_before(drv, "net_ixgbe_vf"))
    RTE_LOG(DEBUG, EAL, "net_ixgbevf_lm: placed ahead of net_ixgbe_vf for ixgbe VFs\n");
}

/* A real VF: VFIO delivers the vectors, the VMM moves the VF, a secondary maps BAR0 itself. */
const DeviceBackend kPciBackend = {
    .name = "pci",
    .msix_connect = nullptr,
    .msix_disconnect = nullptr,
    .migration_prepare = nullptr,
    .migration_switch = nullptr,
    .secondary_doorbell_relay = false,
};

}  // namespace ixgbevf_lm::pmd

/* The PCI ID table and the PMD info strings are in ixgbevf_lm_pmdinfo.c: dpdk-pmdinfogen reads
 * them by their unmangled C names. */
extern "C" const struct rte_pci_id ixgbevf_lm_pci_ids[];

static struct rte_pci_driver rte_ixgbevf_lm_pmd = {
    .probe = ixgbevf_lm::pmd::pci_probe,
    .remove = ixgbevf_lm::pmd::pci_remove,
    .id_table = ixgbevf_lm_pci_ids,
    .drv_flags = RTE_PCI_DRV_NEED_MAPPING,
};

RTE_PMD_REGISTER_PCI(net_ixgbevf_lm, rte_ixgbevf_lm_pmd);

/* Runs after RTE_PMD_REGISTER_PCI's constructor above (same priority, later in this file). */
RTE_INIT(ixgbevf_lm_pci_takeover) { ixgbevf_lm::pmd::pci_takeover(&rte_ixgbevf_lm_pmd); }
