/* SPDX-License-Identifier: BSD-3-Clause
 * The ethdev face of the PMD: the port's control operations and the eth_dev_ops table, the same
 * for every backend. Device info is in ixgbevf_lm_devinfo.cpp, the register dump in
 * ixgbevf_lm_regdump.cpp, the port's init in ixgbevf_lm_init.cpp, each driver's registration in
 * its backend (backends/).
 */
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

#include <ethdev_driver.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_intr.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

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

/* The burst functions for the port's queues as set up (ethdev copies them after dev_start). */
void choose_datapath(rte_eth_dev *dev) {
  const char *rx_why = nullptr, *tx_why = nullptr;
  const bool vec_rx = rx_vec_allowed(dev, &rx_why), vec_tx = tx_vec_allowed(dev, &tx_why);
  install_datapath(dev, false, vec_rx, vec_tx);
  IXGBEVF_LM_LOG(INFO, "port %u: %s receive%s%s, %s transmit%s%s", dev->data->port_id, vec_rx ? "vector" : "scalar",
                 vec_rx ? "" : ": ", vec_rx ? "" : rx_why, vec_tx ? "vector" : "scalar", vec_tx ? "" : ": ",
                 vec_tx ? "" : tx_why);
}

int burst_mode_get(bool vec, rte_eth_burst_mode *mode) {
  std::snprintf(mode->info, sizeof mode->info, "%s", vec ? "Vector SSE4.2" : "Scalar");
  return 0;
}
int rx_burst_mode_get(rte_eth_dev *dev, uint16_t, rte_eth_burst_mode *mode) noexcept {
  return burst_mode_get(dev->rx_pkt_burst == rx_burst_vec, mode);
}
int tx_burst_mode_get(rte_eth_dev *dev, uint16_t, rte_eth_burst_mode *mode) noexcept {
  return burst_mode_get(dev->tx_pkt_burst == tx_burst_vec, mode);
}

int dev_start(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
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
  choose_datapath(dev);
  stats_sample(ad);
  ad.started = true;
  vf_link_update(dev, 0);
  if (ad.migport)
    ad.migport->on_dev_start();
  return 0;
}

int dev_stop(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  if (ad.migport)
    ad.migport->on_dev_stop();
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

void rx_queue_release_op(rte_eth_dev *dev, uint16_t qid) noexcept { rxq_release(dev, qid); }
void tx_queue_release_op(rte_eth_dev *dev, uint16_t qid) noexcept { txq_release(dev, qid); }

/* How long a control operation waits for a migration step of the control thread (a rebuild's
 * attempts and link wait stay well inside it) before it fails with -EBUSY. */
constexpr std::chrono::milliseconds kOpWait{2000};  /* the message below says 2 s */

/* A control operation run under the port's migration lock (MigrationPort::lock_ops): never during a
 * quiesce or a rebuild, so that neither frees or reprograms what the other uses, and what it stores
 * in ad.cfg is what the next rebuild replays. -EBUSY when a step held the port beyond kOpWait; an
 * operation that cannot fail (queue release, MAC remove) is then skipped: leaking a queue is
 * better than freeing it under a rebuild. */
template <auto Fn, bool kStartsQueues>
struct Serialised;
template <class R, class... A, R (*Fn)(rte_eth_dev *, A...) noexcept, bool kStartsQueues>
struct Serialised<Fn, kStartsQueues> {
  static R call(rte_eth_dev *dev, A... a) noexcept {
    Adapter &ad = adapter_of(dev);
    mig::MigrationPort::OpLock lk;
    if (ad.migport) {
      lk = ad.migport->lock_ops(kOpWait);
      const char *why = !lk.owns_lock() ? "a migration step held the port for more than 2 s"
                        /* the device must not DMA on the source after the stop-copy fetch */
                        : kStartsQueues && ad.migport->holds_queues() ? "the port is quiesced for a migration"
                                                                      : nullptr;
      if (why != nullptr) {
        IXGBEVF_LM_LOG(ERR, "port %u: %s: operation refused (-EBUSY)", dev->data->port_id, why);
        if constexpr (std::is_void_v<R>)
          return;
        else
          return -EBUSY;
      }
    }
    return Fn(dev, a...);
  }
};
template <auto Fn>
constexpr auto serialised = &Serialised<Fn, false>::call;
/* An operation that starts queues: also refused while a migration holds them quiesced. */
template <auto Fn>
constexpr auto serialised_start = &Serialised<Fn, true>::call;

/* rte_eth_tx_done_cleanup frees mbufs of a ring a rebuild may be restarting: the same lock. */
int tx_done_cleanup_op(void *txq, uint32_t free_cnt) noexcept {
  auto *q = static_cast<TxQueue *>(txq);
  mig::MigrationPort::OpLock lk;
  if (q != nullptr && q->ad != nullptr && q->ad->migport) {
    lk = q->ad->migport->lock_ops(kOpWait);
    if (!lk.owns_lock())
      return -EBUSY;
  }
  return tx_done_cleanup(txq, free_cnt);
}

}  // namespace

const eth_dev_ops kEthDevOps = {
    .dev_configure = serialised<dev_configure>,
    .dev_start = serialised_start<dev_start>,
    .dev_stop = serialised<dev_stop>,
    .dev_close = dev_close,
    .dev_reset = serialised<dev_reset>,
    .link_update = vf_link_update,
    .promiscuous_enable = serialised<promisc_enable>,
    .promiscuous_disable = serialised<promisc_disable>,
    .allmulticast_enable = serialised<allmulti_enable>,
    .allmulticast_disable = serialised<allmulti_disable>,
    .mac_addr_remove = serialised<mac_addr_remove>,
    .mac_addr_add = serialised<mac_addr_add>,
    .mac_addr_set = serialised<mac_addr_set>,
    .set_mc_addr_list = serialised<set_mc_addr_list>,
    .mtu_set = serialised<mtu_set>,
    .stats_get = stats_get,
    .stats_reset = stats_reset,
    .xstats_get = xstats_get,
    .xstats_reset = xstats_reset,
    .xstats_get_names = xstats_get_names,
    .dev_infos_get = dev_infos_get,
    .rxq_info_get = rxq_info_get,
    .txq_info_get = txq_info_get,
    .rx_burst_mode_get = rx_burst_mode_get,
    .tx_burst_mode_get = tx_burst_mode_get,
    .dev_supported_ptypes_get = supported_ptypes,
    .vlan_filter_set = serialised<vlan_filter_set>,
    .vlan_strip_queue_set = serialised<vlan_strip_queue_set>,
    .vlan_offload_set = serialised<vlan_offload_set>,
    .rx_queue_start = serialised_start<rxq_start>,
    .rx_queue_stop = serialised<rxq_stop>,
    .tx_queue_start = serialised_start<txq_start>,
    .tx_queue_stop = serialised<txq_stop>,
    .rx_queue_setup = serialised<rxq_setup>,
    .rx_queue_release = serialised<rx_queue_release_op>,
    .rx_queue_intr_enable = serialised<rx_queue_intr_enable>,
    .rx_queue_intr_disable = serialised<rx_queue_intr_disable>,
    .tx_queue_setup = serialised<txq_setup>,
    .tx_queue_release = serialised<tx_queue_release_op>,
    .tx_done_cleanup = tx_done_cleanup_op,
    .rss_hash_update = serialised<rss_hash_update>,
    .rss_hash_conf_get = rss_hash_conf_get,
    .reta_update = serialised<reta_update>,
    .reta_query = reta_query,
    .get_reg = get_reg,
    .get_monitor_addr = rx_get_monitor_addr,
};

}  // namespace ixgbevf_lm::pmd
