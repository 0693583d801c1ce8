/* SPDX-License-Identifier: BSD-3-Clause
 * The ethdev face of the PMD: the common port init for both drivers, the eth_dev_ops, and at the
 * bottom the registration of the PCI driver (net_ixgbevf_lm) and the vdev (net_ixgbevf_lm_sim).
 */
#include <cstring>
#include <new>

#include <bus_pci_driver.h>
#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <rte_malloc.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_intr.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"
#include "ixgbevf_lm_pci.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"
#include "ixgbevf_lm_sim.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* Ethernet overhead on top of the MTU: header, CRC and one VLAN tag. */
constexpr uint32_t kEthOverhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + RTE_VLAN_HLEN;
constexpr uint32_t kMaxMacAddrs = 1 + kMaxExtraMacs;

constexpr uint64_t kRxOffloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
                                 RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
                                 RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH |
                                 RTE_ETH_RX_OFFLOAD_VLAN_FILTER;
constexpr uint64_t kTxOffloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                 RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_TCP_TSO;

uint32_t max_frame_of(const rte_eth_dev *dev) { return dev->data->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN; }

int dev_configure(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  const rte_eth_conf &conf = dev->data->dev_conf;
  if (dev->data->nb_rx_queues > ad.max_rx_queues || dev->data->nb_tx_queues > ad.max_tx_queues) {
    IXGBEVF_LM_LOG(ERR, "port %u: %u Rx / %u Tx queues requested, the PF granted %u / %u", dev->data->port_id,
                   dev->data->nb_rx_queues, dev->data->nb_tx_queues, ad.max_rx_queues, ad.max_tx_queues);
    return -EINVAL;
  }
  if (conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG)
    dev->data->dev_conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
  ad.cfg.vlan_strip = (dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) != 0;
  return rss_configure(ad, dev->data->dev_conf);
}

int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info) noexcept {
  Adapter &ad = adapter_of(dev);
  info->max_rx_queues = uint16_t(ad.max_rx_queues);
  info->max_tx_queues = uint16_t(ad.max_tx_queues);
  info->min_rx_bufsize = 1024;
  info->max_rx_pktlen = kMaxFrameSize;
  info->min_mtu = RTE_ETHER_MIN_MTU;
  info->max_mtu = kMaxFrameSize - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN;
  info->max_mac_addrs = kMaxMacAddrs;
  info->max_hash_mac_addrs = 0;
  info->rx_offload_capa = kRxOffloads;
  info->rx_queue_offload_capa = RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
  info->tx_offload_capa = kTxOffloads;
  /* X550-class VFs: outer IPv4 checksum of tunnelled frames (inner checksums at the tunnel offsets);
   * 82599/X540 VFs have neither the context fields nor the Rx status. No KEEP_CRC on any: the PF
   * decides CRC stripping for every function (HLREG0.RXCRCSTRP) and a VF cannot read it. */
  if (has_tunnel_offloads(ad.mac_type)) {
    info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM;
    info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
  }
  info->tx_queue_offload_capa = 0;
  if (sec_available(ad)) {
    info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_SECURITY;
    info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_SECURITY;
  }
  info->hash_key_size = kRssKeyBytes;
  info->reta_size = reta_size(ad);
  info->flow_type_rss_offloads = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                                 RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
  info->default_rxconf.rx_free_thresh = kDefaultRxFreeThresh;
  info->default_rxconf.rx_drop_en = 1;
  info->default_txconf.tx_rs_thresh = kDefaultTxRsThresh;
  info->default_txconf.tx_free_thresh = kDefaultTxFreeThresh;
  info->rx_desc_lim.nb_max = kRingMaxDescs;
  info->rx_desc_lim.nb_min = kRingMinDescs;
  info->rx_desc_lim.nb_align = kRingDescAlign;
  info->tx_desc_lim.nb_max = kRingMaxDescs;
  info->tx_desc_lim.nb_min = kRingMinDescs;
  info->tx_desc_lim.nb_align = kRingDescAlign;
  info->tx_desc_lim.nb_seg_max = kTxMaxSegs;
  info->tx_desc_lim.nb_mtu_seg_max = kTxMaxSegs;
  info->speed_capa = RTE_ETH_LINK_SPEED_1G | RTE_ETH_LINK_SPEED_10G;
  info->dev_capa &= ~RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP;
  return 0;
}

int start_queues(rte_eth_dev *dev) {
  for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++) {
    auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
    if (q && !q->deferred_start) {
      int rc = txq_start(dev, i);
      if (rc)
        return rc;
    }
  }
  for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
    auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
    if (q && !q->deferred_start) {
      int rc = rxq_start(dev, i);
      if (rc)
        return rc;
    }
  }
  return 0;
}

void stop_queues(rte_eth_dev *dev) {
  for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
    if (dev->data->rx_queues[i])
      rxq_stop(dev, i);
  for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
    if (dev->data->tx_queues[i])
      txq_stop(dev, i);
}

int dev_start(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  std::unique_lock<std::recursive_mutex> mig_lk;
  if (ad.migport)
    mig_lk = ad.migport->lock_ops();
  if (ad.pf_reset_seen.load()) {
    IXGBEVF_LM_LOG(ERR, "port %u: the PF reset the VF; call rte_eth_dev_reset() first", dev->data->port_id);
    return -EIO;
  }
  uint32_t frame = max_frame_of(dev);
  int rc = cfg_set_max_frame(ad, frame);
  if (rc) {
    IXGBEVF_LM_LOG(ERR, "port %u: the PF refused a %u-byte frame size", dev->data->port_id, frame);
    return rc;
  }
  /* scattered receive when a frame (with a VLAN tag) does not fit one buffer */
  bool scatter = false;
  for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
    auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
    if (q && frame + RTE_VLAN_HLEN > q->buf_size)
      scatter = true;
  }
  if (scatter && !(dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER))
    IXGBEVF_LM_LOG(NOTICE, "port %u: frames up to %u bytes exceed one Rx buffer: receiving scattered",
                   dev->data->port_id, frame);
  dev->data->scattered_rx = scatter;
  /* PSRTYPE: on 82599/X540 the pool's queue count (RQPL) lets the PF's RSS spread over our queues */
  uint32_t nq = dev->data->nb_rx_queues;
  uint32_t rqpl = nq >= 4 ? 2 : nq >= 2 ? 1 : 0;
  wr32(ad.hw, VFPSRTYPE, PSRTYPE_TCPHDR | PSRTYPE_UDPHDR | PSRTYPE_IPV4HDR | PSRTYPE_IPV6HDR | PSRTYPE_L2HDR |
                             (rqpl << PSRTYPE_RQPL_SHIFT));
  cfg_apply_rss(ad);
  rc = intr_start(dev);
  if (rc)
    return rc;
  rc = start_queues(dev);
  if (rc) {
    stop_queues(dev);
    intr_stop(dev);
    return rc;
  }
  stats_sample(ad);
  ad.started = true;
  vf_link_update(dev, 0);
  if (ad.migport)
    ad.migport->on_dev_start();
  return 0;
}

int dev_stop(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  std::unique_lock<std::recursive_mutex> mig_lk;
  if (ad.migport) {
    mig_lk = ad.migport->lock_ops();
    ad.migport->on_dev_stop();
  }
  stop_queues(dev);
  intr_stop(dev);
  {
    auto lk = relay_lock();  /* a relay pass that saw the port started is over when this returns */
    ad.started = false;
  }
  dev->data->dev_started = 0;
  rte_eth_link link{};
  rte_eth_linkstatus_set(dev, &link);
  return 0;
}

int dev_close(rte_eth_dev *dev) noexcept {
  if (rte_eal_process_type() != RTE_PROC_PRIMARY)
    return 0;
  Adapter &ad = adapter_of(dev);
  if (ad.closed)
    return 0;
  migration_detach(ad);  /* first: the control thread must not act on a port being closed */
  if (ad.started)
    dev_stop(dev);
  for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
    rxq_release(dev, i);
  for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
    txq_release(dev, i);
  adapter_uninit(dev);
  return 0;
}

int dev_reset(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  if (ad.started)
    dev_stop(dev);
  int rc = vf_reset_and_negotiate(ad);
  if (rc)
    return rc;
  stats_rebase(ad);
  return replay_config(ad);
}

int promisc_enable(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  return cfg_set_xcast(ad, true, dev->data->all_multicast);
}
int promisc_disable(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!ad.cfg.promisc)
    return 0;
  return cfg_set_xcast(ad, false, dev->data->all_multicast);
}
int allmulti_enable(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  return cfg_set_xcast(ad, ad.cfg.promisc, true);
}
int allmulti_disable(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!ad.cfg.allmulti)
    return 0;
  return cfg_set_xcast(ad, ad.cfg.promisc, false);
}

int mac_addr_set(rte_eth_dev *dev, rte_ether_addr *addr) noexcept { return cfg_set_mac(adapter_of(dev), *addr); }
int mac_addr_add(rte_eth_dev *dev, rte_ether_addr *addr, uint32_t, uint32_t) noexcept {
  return cfg_add_mac(adapter_of(dev), *addr);
}
void mac_addr_remove(rte_eth_dev *dev, uint32_t index) noexcept {
  if (index >= kMaxMacAddrs)
    return;
  cfg_remove_mac(adapter_of(dev), dev->data->mac_addrs[index]);
}
int set_mc_addr_list(rte_eth_dev *dev, rte_ether_addr *list, uint32_t n) noexcept {
  return cfg_set_mc_list(adapter_of(dev), list, n);
}

int mtu_set(rte_eth_dev *dev, uint16_t mtu) noexcept {
  Adapter &ad = adapter_of(dev);
  uint32_t frame = uint32_t(mtu) + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  if (frame > kMaxFrameSize)
    return -EINVAL;
  if (ad.started) {
    /* a started port cannot switch to scattered receive: the frame must fit one buffer */
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
      auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
      if (q && !dev->data->scattered_rx && frame + RTE_VLAN_HLEN > q->buf_size) {
        IXGBEVF_LM_LOG(ERR, "port %u: MTU %u needs scattered Rx; stop the port first", dev->data->port_id, mtu);
        return -EINVAL;
      }
    }
    return cfg_set_max_frame(ad, frame);
  }
  ad.cfg.max_frame = frame;
  return 0;
}

int vlan_filter_set(rte_eth_dev *dev, uint16_t vid, int on) noexcept {
  return cfg_set_vlan(adapter_of(dev), vid, on != 0);
}

int vlan_offload_set(rte_eth_dev *dev, int mask) noexcept {
  Adapter &ad = adapter_of(dev);
  if (mask & RTE_ETH_VLAN_STRIP_MASK) {
    bool on = (dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) != 0;
    ad.cfg.vlan_strip = on;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
      if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]))
        rxq_set_vlan_strip(ad, *q, on);
  }
  return 0;
}

void vlan_strip_queue_set(rte_eth_dev *dev, uint16_t qid, int on) noexcept {
  Adapter &ad = adapter_of(dev);
  if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[qid]))
    rxq_set_vlan_strip(ad, *q, on != 0);
}

/* Register dump: everything but VFMAILBOX (reading it clears status bits) and the mailbox memory. */
constexpr uint32_t kDumpGeneral[] = {VFCTRL, VFSTATUS, VFLINKS, VFFRTIMER, VTEIMS, VTEIAC, VTEIAM, VFPSRTYPE,
                                     VFGPRC, VFGPTC, VFGORC_LSB, VFGORC_MSB, VFGOTC_LSB, VFGOTC_MSB, VFMPRC,
                                     VFMRQC};
constexpr uint32_t kDumpPerQueue = 13;

uint32_t reg_count() { return uint32_t(std::size(kDumpGeneral)) + kDumpPerQueue * kVfMaxQueues; }

int get_reg(rte_eth_dev *dev, rte_dev_reg_info *regs) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!regs->data) {
    regs->length = reg_count();
    regs->width = sizeof(uint32_t);
    return 0;
  }
  if (regs->length && regs->length != reg_count())
    return -ENOTSUP;
  auto *out = static_cast<uint32_t *>(regs->data);
  unsigned k = 0;
  for (uint32_t off : kDumpGeneral)
    out[k++] = rd32(ad.hw, off);
  for (unsigned q = 0; q < kVfMaxQueues; q++) {
    for (uint32_t off : {VFRDBAL(q), VFRDBAH(q), VFRDLEN(q), VFRDH(q), VFRDT(q), VFSRRCTL(q), VFRXDCTL(q),
                         VFTDBAL(q), VFTDBAH(q), VFTDLEN(q), VFTDH(q), VFTDT(q), VFTXDCTL(q)})
      out[k++] = rd32(ad.hw, off);
  }
  regs->length = k;
  regs->width = sizeof(uint32_t);
  regs->version = uint32_t(ad.mac_type);
  return 0;
}

void rx_queue_release_op(rte_eth_dev *dev, uint16_t qid) noexcept { rxq_release(dev, qid); }
void tx_queue_release_op(rte_eth_dev *dev, uint16_t qid) noexcept { txq_release(dev, qid); }

}  // namespace

const eth_dev_ops kEthDevOps = {
    .dev_configure = dev_configure,
    .dev_start = dev_start,
    .dev_stop = dev_stop,
    .dev_close = dev_close,
    .dev_reset = dev_reset,
    .link_update = vf_link_update,
    .promiscuous_enable = promisc_enable,
    .promiscuous_disable = promisc_disable,
    .allmulticast_enable = allmulti_enable,
    .allmulticast_disable = allmulti_disable,
    .mac_addr_remove = mac_addr_remove,
    .mac_addr_add = mac_addr_add,
    .mac_addr_set = mac_addr_set,
    .set_mc_addr_list = set_mc_addr_list,
    .mtu_set = mtu_set,
    .stats_get = stats_get,
    .stats_reset = stats_reset,
    .xstats_get = xstats_get,
    .xstats_reset = xstats_reset,
    .xstats_get_names = xstats_get_names,
    .dev_infos_get = dev_infos_get,
    .rxq_info_get = rxq_info_get,
    .txq_info_get = txq_info_get,
    .dev_supported_ptypes_get = supported_ptypes,
    .vlan_filter_set = vlan_filter_set,
    .vlan_strip_queue_set = vlan_strip_queue_set,
    .vlan_offload_set = vlan_offload_set,
    .rx_queue_start = rxq_start,
    .rx_queue_stop = rxq_stop,
    .tx_queue_start = txq_start,
    .tx_queue_stop = txq_stop,
    .rx_queue_setup = rxq_setup,
    .rx_queue_release = rx_queue_release_op,
    .rx_queue_intr_enable = rx_queue_intr_enable,
    .rx_queue_intr_disable = rx_queue_intr_disable,
    .tx_queue_setup = txq_setup,
    .tx_queue_release = tx_queue_release_op,
    .tx_done_cleanup = tx_done_cleanup,
    .rss_hash_update = rss_hash_update,
    .rss_hash_conf_get = rss_hash_conf_get,
    .reta_update = reta_update,
    .reta_query = reta_query,
    .get_reg = get_reg,
    .get_monitor_addr = rx_get_monitor_addr,
};

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
  /* dev_private is freed by ethdev after close: run the destructor now (it detaches a sim VF) */
  ad.~Adapter();
  new (&ad) Adapter();
  ad.closed = true;
  ad.dev = dev;
}

}  // namespace ixgbevf_lm::pmd

/* ------------------------------------------------------------------------------------------------
 * Registration
 * ----------------------------------------------------------------------------------------------*/
extern "C" {
RTE_LOG_REGISTER(ixgbevf_lm_logtype_driver, pmd.net.ixgbevf_lm, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_rx, pmd.net.ixgbevf_lm.rx, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_tx, pmd.net.ixgbevf_lm.tx, NOTICE);
RTE_LOG_REGISTER(ixgbevf_lm_logtype_mbx, pmd.net.ixgbevf_lm.mbx, NOTICE);
}

/* The PCI ID table and the PMD info strings are in ixgbevf_lm_pmdinfo.c: dpdk-pmdinfogen reads
 * them by their unmangled C names. */
extern "C" const struct rte_pci_id ixgbevf_lm_pci_ids[];

static struct rte_pci_driver rte_ixgbevf_lm_pmd = {
    .probe = ixgbevf_lm::pmd::pci_probe,
    .remove = ixgbevf_lm::pmd::pci_remove,
    .id_table = ixgbevf_lm_pci_ids,
    .drv_flags = RTE_PCI_DRV_NEED_MAPPING,
};

static struct rte_vdev_driver rte_ixgbevf_lm_sim_pmd = {
    .probe = ixgbevf_lm::pmd::sim_probe,
    .remove = ixgbevf_lm::pmd::sim_remove,
};

RTE_PMD_REGISTER_PCI(net_ixgbevf_lm, rte_ixgbevf_lm_pmd);

RTE_PMD_REGISTER_VDEV(net_ixgbevf_lm_sim, rte_ixgbevf_lm_sim_pmd);

/* Runs after RTE_PMD_REGISTER_PCI's constructor above (same priority, later in this file). */
RTE_INIT(ixgbevf_lm_pci_takeover) { ixgbevf_lm::pmd::pci_takeover(&rte_ixgbevf_lm_pmd); }
