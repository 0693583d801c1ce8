/* SPDX-License-Identifier: BSD-3-Clause
 * What a port can do (eth_dev_ops.dev_infos_get): queues, frame sizes, offloads, RSS, ring limits.
 */
#include <ethdev_driver.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

constexpr uint64_t kRxOffloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
                                 RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
                                 RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH |
                                 RTE_ETH_RX_OFFLOAD_VLAN_FILTER;
constexpr uint64_t kTxOffloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                 RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                 RTE_ETH_TX_OFFLOAD_VLAN_INSERT | RTE_ETH_TX_OFFLOAD_TCP_TSO |
                                 RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

}  // namespace

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

}  // namespace ixgbevf_lm::pmd
