/* SPDX-License-Identifier: BSD-3-Clause
 * A port's common init and teardown, once its backend set HwAccess and DeviceBackend (PCI and any
 * other backend), the secondary process's ops table, and the PMD's log types.
 */
#include <new>

#include <ethdev_driver.h>
#include <rte_malloc.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

/* A secondary process: what reads shared state runs here, what needs the device's accumulated state
 * goes to the primary (ixgbevf_lm_mp.cpp); configuration, start/stop and queue setup stay with the
 * primary (ethdev answers -ENOTSUP). */
const eth_dev_ops kEthDevOpsSecondary = {
    .dev_close = mp_dev_close,
    .link_update = mp_link_update,
    .stats_get = mp_stats_get,
    .stats_reset = mp_stats_reset,
    .xstats_get = mp_xstats_get,
    .xstats_reset = mp_xstats_reset,
    .xstats_get_names = xstats_get_names,
    .dev_infos_get = dev_infos_get,
    .dev_supported_ptypes_get = supported_ptypes,
};

int adapter_init(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  dev->dev_ops = &kEthDevOps;
  install_datapath(dev, false);
  /* Link changes reach applications that ask (intr_conf.lsc): the service alarm and the migration
   * rebuild raise RTE_ETH_EVENT_INTR_LSC. */
  dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC;
  ad.mbx.init(&ad.hw, kMbxTimeoutUs);

  dev->data->mac_addrs = static_cast<rte_ether_addr *>(rte_zmalloc("ixgbevf_lm_mac", sizeof(rte_ether_addr) * kMaxMacAddrs, 0));
  if (!dev->data->mac_addrs)
    return -ENOMEM;
  int rc = vf_reset_and_negotiate(ad);
  if (rc)
    return rc;
  stats_rebase(ad);
  if ((rc = sec_init(ad)) != 0)
    return rc;
  rte_ether_addr_copy(&ad.perm_addr, &dev->data->mac_addrs[0]);
  vf_link_update(dev, 0);
  vf_service_start(ad);
  mp_primary_init();
  return migration_attach(ad);
}

void adapter_uninit(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  relay_remove_port(dev->data->port_id);
  migration_detach(ad);
  vf_service_stop(ad);
  sec_uninit(ad);
  if (!ad.closed) {
    /* leave the VF quiet: function reset stops everything it might still DMA */
    wr32(ad.hw, VFCTRL, CTRL_RST);
    ad.closed = true;
  }
  /* dev_private is freed by ethdev after close: run the destructor now (it releases the backend's state) */
  ad.~Adapter();
  new (&ad) Adapter();
  ad.closed = true;
  ad.dev = dev;
}

}  // namespace ixgbevf_lm::pmd

extern "C" {
RTE_LOG_REGISTER(ixgbevf_lm_logtype_driver, pmd.net.ixgbevf_lm, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_rx, pmd.net.ixgbevf_lm.rx, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_tx, pmd.net.ixgbevf_lm.tx, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_mbx, pmd.net.ixgbevf_lm.mbx, NOTICE);
}
