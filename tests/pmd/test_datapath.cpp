/* SPDX-License-Identifier: BSD-3-Clause
 * Datapath between two sim ports on one PF (through the PF's switch): single and multi-segment
 * frames, scattered receive, offloads, queue stop/start, descriptor status, statistics, and every
 * mbuf back in its pool after close.
 */
#include <cstring>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;

namespace {

struct Pair : public SimPortPair {
  Pair() : SimPortPair("dp", 0x01, 4095) {}
  void start(const rte_eth_conf *ca = nullptr, const rte_eth_conf *cb = nullptr) {
    ASSERT_EQ(a->start(mp, 1, ca), 0);
    ASSERT_EQ(b->start(mp, 1, cb), 0);
  }
  uint16_t send(uint16_t port, rte_mbuf **m, uint16_t n) {
    uint16_t ok = rte_eth_tx_prepare(port, 0, m, n);
    EXPECT_EQ(ok, n) << rte_strerror(rte_errno);
    return rte_eth_tx_burst(port, 0, m, ok);
  }
};

}  // namespace

TEST_F(Pair, SingleAndMultiSegmentFramesCrossThePfSwitch) {
  start();
  auto f1 = udp_frame(mac_b, mac_a, 100);
  auto f2 = udp_frame(mac_b, mac_a, 1400);
  rte_mbuf *m[2] = {to_mbuf(mp, f1), to_mbuf(mp, f2, 3)};
  ASSERT_EQ(send(a->port, m, 2), 2);
  auto got = rx_wait(b->port, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(from_mbuf(got[0]), f1);
  EXPECT_EQ(from_mbuf(got[1]), f2);
  EXPECT_EQ(got[0]->packet_type & RTE_PTYPE_L4_MASK, RTE_PTYPE_L4_UDP);
  EXPECT_EQ(got[0]->packet_type & RTE_PTYPE_L3_MASK, RTE_PTYPE_L3_IPV4);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  free_all(got);
}

TEST_F(Pair, ManyFramesKeepFlowingAcrossRingWraps) {
  start();
  auto f = udp_frame(mac_b, mac_a, 60);
  unsigned sent = 0, received = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        if (sent < 5000) {
          rte_mbuf *m[32];
          for (auto &x : m)
            x = to_mbuf(mp, f);
          uint16_t n = rte_eth_tx_burst(a->port, 0, m, 32);
          for (uint16_t i = n; i < 32; i++)
            rte_pktmbuf_free(m[i]);
          sent += n;
        }
        rte_mbuf *r[64];
        uint16_t n = rte_eth_rx_burst(b->port, 0, r, 64);
        for (uint16_t i = 0; i < n; i++)
          rte_pktmbuf_free(r[i]);
        received += n;
        return received >= 5000;
      },
      std::chrono::milliseconds(10000)))
      << "sent " << sent << " received " << received;
  rte_eth_stats st;
  ASSERT_TRUE(wait_for([&] {
    rte_eth_stats_get(b->port, &st);
    return st.ipackets >= 5000;
  }));
  EXPECT_EQ(st.ibytes, st.ipackets * f.size());
  rte_eth_stats_get(a->port, &st);
  EXPECT_GE(st.opackets, 5000u);
  EXPECT_EQ(xstat(b->port, "rx_q0_packets"), received);
  ASSERT_EQ(rte_eth_stats_reset(b->port), 0);
  rte_eth_stats_get(b->port, &st);
  EXPECT_EQ(st.ipackets, 0u);
}

TEST_F(Pair, BadChecksumsAreFlaggedBad) {
  start();
  auto f = udp_frame(mac_b, mac_a, 64);
  f[14 + 10] ^= 0xff; /* IPv4 header checksum */
  auto g = udp_frame(mac_b, mac_a, 64);
  g[40] ^= 0xff; /* UDP checksum */
  rte_mbuf *m[2] = {to_mbuf(mp, f), to_mbuf(mp, g)};
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, m, 2), 2);
  auto got = rx_wait(b->port, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD);
  EXPECT_EQ(got[1]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(got[1]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  free_all(got);
}

TEST_F(Pair, TxChecksumOffloadFillsChecksumsTheReceiverAccepts) {
  rte_eth_conf c{};
  c.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  start(&c);
  auto f = udp_frame(mac_b, mac_a, 200);
  f[24] = f[25] = 0;  /* IP checksum zeroed */
  f[40] = 0x12;       /* UDP checksum garbage: prepare replaces it with the pseudo-header sum */
  rte_mbuf *m = to_mbuf(mp, f, 2);
  m->l2_len = 14;
  m->l3_len = 20;
  m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
  ASSERT_EQ(send(a->port, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  free_all(got);
}

TEST_F(Pair, VlanInsertOnTxAndStripOnRx) {
  rte_eth_conf cb{};
  cb.rxmode.offloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
  start(nullptr, &cb);
  auto f = udp_frame(mac_b, mac_a, 80);
  rte_mbuf *m = to_mbuf(mp, f);
  m->ol_flags = RTE_MBUF_F_TX_VLAN;
  m->vlan_tci = 42;
  m->l2_len = 14;
  ASSERT_EQ(send(a->port, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED);
  EXPECT_EQ(got[0]->vlan_tci, 42);
  EXPECT_EQ(from_mbuf(got[0]), f);
  free_all(got);
  /* strip off: the tag stays in the frame */
  ASSERT_EQ(rte_eth_dev_set_vlan_offload(b->port, 0), 0);
  m = to_mbuf(mp, f);
  m->ol_flags = RTE_MBUF_F_TX_VLAN;
  m->vlan_tci = 42;
  m->l2_len = 14;
  ASSERT_EQ(send(a->port, &m, 1), 1);
  got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED);
  EXPECT_EQ(got[0]->pkt_len, f.size() + 4);
  free_all(got);
}

TEST_F(Pair, TsoSplitsIntoMssSegmentsOnThePeer) {
  rte_eth_conf c{};
  c.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  start(&c);
  /* Ethernet + IPv4 + TCP, 4000 bytes of payload */
  std::vector<uint8_t> f(14 + 20 + 20 + 4000);
  std::memcpy(&f[0], mac_b, 6);
  std::memcpy(&f[6], mac_a, 6);
  f[12] = 0x08;
  auto *ip = reinterpret_cast<rte_ipv4_hdr *>(&f[14]);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(uint16_t(f.size() - 14));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = rte_cpu_to_be_32(0x0a000001);
  ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
  auto *tcp = reinterpret_cast<rte_tcp_hdr *>(&f[34]);
  tcp->data_off = 5 << 4;
  tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
  tcp->sent_seq = rte_cpu_to_be_32(1000);
  for (size_t i = 54; i < f.size(); i++)
    f[i] = uint8_t(i);
  rte_mbuf *m = to_mbuf(mp, f, 3);
  m->l2_len = 14;
  m->l3_len = 20;
  m->l4_len = 20;
  m->tso_segsz = 1000;
  m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  ASSERT_EQ(send(a->port, &m, 1), 1);
  auto got = rx_wait(b->port, 4);
  ASSERT_EQ(got.size(), 4u);
  for (unsigned i = 0; i < 4; i++) {
    EXPECT_EQ(got[i]->pkt_len, 54u + 1000u);
    EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD) << i;
    EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD) << i;
    auto g = from_mbuf(got[i]);
    uint32_t seq = uint32_t(g[38]) << 24 | uint32_t(g[39]) << 16 | uint32_t(g[40]) << 8 | g[41];
    EXPECT_EQ(seq, 1000u + 1000u * i);
  }
  free_all(got);
}

TEST_F(Pair, JumboFramesAreReceivedScattered) {
  rte_eth_conf c{};
  c.rxmode.mtu = 9000;
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SCATTER;
  c.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  start(&c, &c);
  auto f = udp_frame(mac_b, mac_a, 8000);
  rte_mbuf *m = to_mbuf(mp, f, 4);
  ASSERT_EQ(send(a->port, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(got[0]->nb_segs, 4);
  EXPECT_EQ(from_mbuf(got[0]), f);
  free_all(got);
}

TEST_F(Pair, StoppedQueueReceivesNothingAndRestartsClean) {
  start();
  auto f = udp_frame(mac_b, mac_a, 64);
  ASSERT_EQ(rte_eth_dev_rx_queue_stop(b->port, 0), 0);
  auto model = ixgbevf_lm::model::Registry::instance().find(pf);
  ASSERT_TRUE(model);
  const uint64_t drops = model->stats().rx_no_descriptor_drops;
  rte_mbuf *m = to_mbuf(mp, f);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  /* The model's thread switches the frame to b some time after the tail write: wait until it
   * dropped it at b's disabled queue, so that the restart below cannot receive it. */
  ASSERT_TRUE(wait_for([&] { return model->stats().rx_no_descriptor_drops > drops; }))
      << "the frame sent to the stopped queue never reached the model's switch";
  rte_mbuf *r[4];
  EXPECT_EQ(rte_eth_rx_burst(b->port, 0, r, 4), 0);
  ASSERT_EQ(rte_eth_dev_rx_queue_start(b->port, 0), 0);
  m = to_mbuf(mp, f);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  EXPECT_EQ(got.size(), 1u);
  free_all(got);
  ASSERT_EQ(rte_eth_dev_tx_queue_stop(a->port, 0), 0);
  m = to_mbuf(mp, f);
  EXPECT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 0);
  rte_pktmbuf_free(m);
  ASSERT_EQ(rte_eth_dev_tx_queue_start(a->port, 0), 0);
}

TEST_F(Pair, RxQueueCountAndDescriptorStatus) {
  start();
  auto f = udp_frame(mac_b, mac_a, 64);
  rte_mbuf *m[5];
  for (auto &x : m)
    x = to_mbuf(mp, f);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, m, 5), 5);
  ASSERT_TRUE(wait_for([&] { return rte_eth_rx_queue_count(b->port, 0) == 5; }));
  EXPECT_EQ(rte_eth_rx_descriptor_status(b->port, 0, 0), RTE_ETH_RX_DESC_DONE);
  EXPECT_EQ(rte_eth_rx_descriptor_status(b->port, 0, 4), RTE_ETH_RX_DESC_DONE);
  EXPECT_EQ(rte_eth_rx_descriptor_status(b->port, 0, 5), RTE_ETH_RX_DESC_AVAIL);
  EXPECT_EQ(rte_eth_rx_descriptor_status(b->port, 0, 255), RTE_ETH_RX_DESC_UNAVAIL);
  auto got = rx_wait(b->port, 5);
  EXPECT_EQ(got.size(), 5u);
  free_all(got);
  EXPECT_EQ(rte_eth_rx_queue_count(b->port, 0), 0);
  ASSERT_TRUE(wait_for([&] { return rte_eth_tx_descriptor_status(a->port, 0, 255) == RTE_ETH_TX_DESC_DONE; }));
  EXPECT_EQ(rte_eth_tx_descriptor_status(a->port, 0, 0), RTE_ETH_TX_DESC_DONE);
}
