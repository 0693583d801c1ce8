/* SPDX-License-Identifier: BSD-3-Clause
 * Public API (rte_pmd_ixgbevf_lm.h).
 */
#include "rte_pmd_ixgbevf_lm.h"

#include <ethdev_driver.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_mp.h"

extern "C" int rte_pmd_ixgbevf_lm_mbx_api(uint16_t port) {
  if (!rte_eth_dev_is_valid_port(port))
    return -ENODEV;
  rte_eth_dev *dev = &rte_eth_devices[port];
  if (dev->dev_ops != &ixgbevf_lm::pmd::kEthDevOps && dev->dev_ops != &ixgbevf_lm::pmd::kEthDevOpsSecondary)
    return -ENODEV;
  /* a word of the shared Adapter: the same in a secondary process */
  return int(ixgbevf_lm::pmd::adapter_of(dev).api);
}
