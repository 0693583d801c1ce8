/* SPDX-License-Identifier: BSD-3-Clause
 * The sim vdev's PMD information, read by dpdk-pmdinfogen by symbol name (hence C). The vdev
 * registers in ixgbevf_lm_sim.cpp.
 */
#include <rte_dev.h>

RTE_PMD_EXPORT_NAME(net_ixgbevf_lm_sim, 0);
RTE_PMD_REGISTER_PARAM_STRING(net_ixgbevf_lm_sim,
	"pf=<name> vf=<index> mac=<xx:xx:xx:xx:xx:xx> uplink=none|loop|tap:<ifname>|wire:<name> trusted=0|1 tx_head_wb=0|1 "
	"vector=0|1 "
	"mig_region=<path> dirty_log=off|bitmap|touch dirty_addr=iova|pa mig_poll_us=<1-100000> recover=auto|app "
	"quiesce_timeout_us=<100-2000000>");
