/* SPDX-License-Identifier: BSD-3-Clause
 * The PCI ID table and the PMD information that dpdk-pmdinfogen reads by symbol name (hence C:
 * C++ would mangle these internal names). The PCI driver registers in backends/pci/ixgbevf_lm_pci.cpp.
 */
#include <bus_pci_driver.h>
#include <rte_dev.h>

/* The IDs of hw/device_ids.h kSupportedVfIds (tests/pmd checks that the two agree). */
const struct rte_pci_id ixgbevf_lm_pci_ids[] = {
	{RTE_PCI_DEVICE(0x8086, 0x10ED)},   /* 82599 VF */
	{RTE_PCI_DEVICE(0x8086, 0x1515)},   /* X540 VF */
	{RTE_PCI_DEVICE(0x8086, 0x1565)},   /* X550 VF */
	{RTE_PCI_DEVICE(0x8086, 0x15A8)},   /* X550EM_X VF */
	{RTE_PCI_DEVICE(0x8086, 0x15C5)},   /* X550EM_A VF */
	{.vendor_id = 0},
};

RTE_PMD_EXPORT_NAME(net_ixgbevf_lm, 0);
RTE_PMD_REGISTER_PCI_TABLE(net_ixgbevf_lm, ixgbevf_lm_pci_ids);
RTE_PMD_REGISTER_KMOD_DEP(net_ixgbevf_lm, "* igb_uio | vfio-pci");
RTE_PMD_REGISTER_PARAM_STRING(net_ixgbevf_lm,
	"tx_head_wb=0|1 vector=0|1 "
	"mig_region=<path> dirty_log=off|bitmap|touch dirty_addr=iova|pa mig_poll_us=<1-100000> recover=auto|app "
	"quiesce_timeout_us=<100-2000000>");
