/* SPDX-License-Identifier: BSD-3-Clause
 * Tunnel checksum offloads between two sim ports: an X550-class VF inserts the outer IPv4 and the
 * inner IPv4/UDP/TCP checksums of a VXLAN frame and reports a bad outer IPv4 checksum on receive;
 * an 82599 VF has none of it and says so at configure and in tx_prepare.
 */
#include <cstring>
#include <functional>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;

namespace {

constexpr uint16_t kVxlanPort = 4789;
constexpr size_t kOuterL2 = 14, kOuterL3 = 20, kTunnel = 8 + 8 + 14;  /* UDP, VXLAN, inner Ethernet */
constexpr size_t kInnerIp = kOuterL2 + kOuterL3 + kTunnel;

/* An Ethernet / IPv4 / UDP:4789 / VXLAN / Ethernet / IPv4 / (UDP|TCP) frame with every checksum
 * correct (the outer UDP checksum zero, as VXLAN allows), computed here. */
std::vector<uint8_t> vxlan_frame(const uint8_t dst[6], const uint8_t src[6], uint8_t inner_proto, size_t payload) {
  const size_t l4 = inner_proto == IPPROTO_TCP ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
  std::vector<uint8_t> f(kInnerIp + 20 + l4 + payload);
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  f[12] = 0x08;
  auto *oip = reinterpret_cast<rte_ipv4_hdr *>(&f[kOuterL2]);
  oip->version_ihl = 0x45;
  oip->total_length = rte_cpu_to_be_16(uint16_t(f.size() - kOuterL2));
  oip->time_to_live = 64;
  oip->next_proto_id = IPPROTO_UDP;
  oip->src_addr = rte_cpu_to_be_32(0xc0a80001);
  oip->dst_addr = rte_cpu_to_be_32(0xc0a80002);
  oip->hdr_checksum = rte_ipv4_cksum(oip);
  auto *oudp = reinterpret_cast<rte_udp_hdr *>(&f[kOuterL2 + kOuterL3]);
  oudp->src_port = rte_cpu_to_be_16(49152);
  oudp->dst_port = rte_cpu_to_be_16(kVxlanPort);
  oudp->dgram_len = rte_cpu_to_be_16(uint16_t(f.size() - kOuterL2 - kOuterL3));
  uint8_t *vx = &f[kOuterL2 + kOuterL3 + 8];
  vx[0] = 0x08;   /* VNI present */
  vx[6] = 0x2a;   /* VNI 42 */
  uint8_t *il2 = vx + 8;
  const uint8_t imac_d[6] = {0x02, 0, 0, 0, 0x77, 2}, imac_s[6] = {0x02, 0, 0, 0, 0x77, 1};
  std::memcpy(il2, imac_d, 6);
  std::memcpy(il2 + 6, imac_s, 6);
  il2[12] = 0x08;
  auto *iip = reinterpret_cast<rte_ipv4_hdr *>(&f[kInnerIp]);
  iip->version_ihl = 0x45;
  iip->total_length = rte_cpu_to_be_16(uint16_t(20 + l4 + payload));
  iip->packet_id = rte_cpu_to_be_16(7);
  iip->time_to_live = 64;
  iip->next_proto_id = inner_proto;
  iip->src_addr = rte_cpu_to_be_32(0x0a000001);
  iip->dst_addr = rte_cpu_to_be_32(0x0a000002);
  iip->hdr_checksum = rte_ipv4_cksum(iip);
  uint8_t *l4h = &f[kInnerIp + 20];
  for (size_t i = 0; i < payload; i++)
    l4h[l4 + i] = uint8_t(i * 13 + 5);
  if (inner_proto == IPPROTO_TCP) {
    auto *tcp = reinterpret_cast<rte_tcp_hdr *>(l4h);
    tcp->src_port = rte_cpu_to_be_16(1000);
    tcp->dst_port = rte_cpu_to_be_16(2000);
    tcp->sent_seq = rte_cpu_to_be_32(12345);
    tcp->data_off = 0x50;
    tcp->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
    tcp->rx_win = rte_cpu_to_be_16(8192);
    tcp->cksum = rte_ipv4_udptcp_cksum(iip, tcp);
  } else {
    auto *udp = reinterpret_cast<rte_udp_hdr *>(l4h);
    udp->src_port = rte_cpu_to_be_16(1000);
    udp->dst_port = rte_cpu_to_be_16(2000);
    udp->dgram_len = rte_cpu_to_be_16(uint16_t(l4 + payload));
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(iip, udp);
  }
  return f;
}

uint16_t be16_at(const std::vector<uint8_t> &f, size_t off) { return uint16_t(f[off] << 8 | f[off + 1]); }
size_t inner_l4_csum_off(uint8_t proto) { return kInnerIp + 20 + (proto == IPPROTO_TCP ? 16 : 6); }

/* The frame with the checksums the device is asked to insert zeroed (tx_prepare puts the inner
 * pseudo-header sum back into the L4 field). */
std::vector<uint8_t> zero_checksums(std::vector<uint8_t> f, uint8_t proto, bool outer) {
  if (outer)
    f[kOuterL2 + 10] = f[kOuterL2 + 11] = 0;
  f[kInnerIp + 10] = f[kInnerIp + 11] = 0;
  f[inner_l4_csum_off(proto)] = f[inner_l4_csum_off(proto) + 1] = 0;
  return f;
}

struct TunnelPair : public SimPortPair, public ::testing::WithParamInterface<hw::MacType> {
  std::shared_ptr<model::PfModel> pf_model;
  TunnelPair() : SimPortPair("tn", 0x05, 2047) {}
  void SetUp() override {
    pf_model = make_pf(pf, [](model::PfConfig &c) { c.mac_type = GetParam(); });
    SimPortPair::SetUp();
  }
  void TearDown() override {
    SimPortPair::TearDown();
    pf_model.reset();
  }
  rte_eth_conf conf() const {
    rte_eth_conf c{};
    c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
                        RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    c.txmode.offloads = RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                        RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    return c;
  }
  rte_mbuf *tunnel_mbuf(const std::vector<uint8_t> &f, uint8_t proto, bool outer_csum) {
    rte_mbuf *m = to_mbuf(mp, zero_checksums(f, proto, outer_csum));
    m->outer_l2_len = kOuterL2;
    m->outer_l3_len = kOuterL3;
    m->l2_len = kTunnel;
    m->l3_len = 20;
    m->l4_len = proto == IPPROTO_TCP ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
    m->ol_flags = RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                  (proto == IPPROTO_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM) |
                  (outer_csum ? RTE_MBUF_F_TX_OUTER_IP_CKSUM : 0);
    return m;
  }
};

}  // namespace

TEST_P(TunnelPair, VxlanChecksumsInsertedByTheSendingVf) {
  rte_eth_dev_info info;
  ASSERT_EQ(rte_eth_dev_info_get(a->port, &info), 0);
  EXPECT_TRUE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM);
  EXPECT_TRUE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM);
  rte_eth_conf c = conf();
  ASSERT_EQ(a->start(mp, 1, &c), 0);
  ASSERT_EQ(b->start(mp, 1, &c), 0);

  const auto fu = vxlan_frame(mac_b, mac_a, IPPROTO_UDP, 200);
  const auto ft = vxlan_frame(mac_b, mac_a, IPPROTO_TCP, 300);
  /* outer IPv4 checksum by the device (OUTERIPCS, tunnel lengths in the context), and without it
   * (the outer headers counted into MACLEN, the outer checksum left as the application wrote it) */
  rte_mbuf *m[3] = {tunnel_mbuf(fu, IPPROTO_UDP, true), tunnel_mbuf(ft, IPPROTO_TCP, true),
                    tunnel_mbuf(ft, IPPROTO_TCP, false)};
  ASSERT_EQ(rte_eth_tx_prepare(a->port, 0, m, 3), 3) << rte_strerror(rte_errno);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, m, 3), 3);
  auto got = rx_wait(b->port, 3);
  ASSERT_EQ(got.size(), 3u);
  const std::vector<uint8_t> *want[3] = {&fu, &ft, &ft};
  for (unsigned i = 0; i < 3; i++) {
    auto r = from_mbuf(got[i]);
    ASSERT_EQ(r.size(), want[i]->size()) << "frame " << i;
    EXPECT_NE(be16_at(*want[i], kOuterL2 + 10), 0);
    EXPECT_EQ(be16_at(r, kOuterL2 + 10), be16_at(*want[i], kOuterL2 + 10)) << "outer IPv4, frame " << i;
    EXPECT_EQ(be16_at(r, kInnerIp + 10), be16_at(*want[i], kInnerIp + 10)) << "inner IPv4, frame " << i;
    uint8_t proto = i == 0 ? IPPROTO_UDP : IPPROTO_TCP;
    EXPECT_EQ(be16_at(r, inner_l4_csum_off(proto)), be16_at(*want[i], inner_l4_csum_off(proto)))
        << "inner L4, frame " << i;
    EXPECT_EQ(r, *want[i]) << "frame " << i;
    EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_TUNNEL_MASK, RTE_PTYPE_TUNNEL_VXLAN);
    EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_INNER_L3_MASK, RTE_PTYPE_INNER_L3_IPV4);
    EXPECT_EQ(got[i]->packet_type & RTE_PTYPE_INNER_L4_MASK,
              proto == IPPROTO_TCP ? RTE_PTYPE_INNER_L4_TCP : RTE_PTYPE_INNER_L4_UDP);
    EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
    EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    EXPECT_FALSE(got[i]->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD);
  }
  free_all(got);
}

TEST_P(TunnelPair, BadOuterIpv4ChecksumReportedOnReceive) {
  rte_eth_conf c = conf();
  ASSERT_EQ(a->start(mp, 1, &c), 0);
  ASSERT_EQ(b->start(mp, 1, &c), 0);
  auto good = vxlan_frame(mac_b, mac_a, IPPROTO_UDP, 64);
  auto bad = good;
  bad[kOuterL2 + 10] ^= 0x5a;  /* outer IPv4 checksum wrong, inner ones right */
  rte_mbuf *m[2] = {to_mbuf(mp, bad), to_mbuf(mp, good)};
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, m, 2), 2);
  auto got = rx_wait(b->port, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(from_mbuf(got[0]), bad);
  EXPECT_TRUE(got[0]->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  EXPECT_FALSE(got[1]->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD);
  free_all(got);
}

TEST_P(TunnelPair, TxPrepareRefusesWhatTheDescriptorsCannotCarry) {
  rte_eth_conf c = conf();
  ASSERT_EQ(a->start(mp, 1, &c), 0);
  const auto f = vxlan_frame(mac_b, mac_a, IPPROTO_TCP, 64);
  const auto refused = [&](const std::function<void(rte_mbuf *)> &edit) {
    rte_mbuf *m = tunnel_mbuf(f, IPPROTO_TCP, true);
    edit(m);
    rte_errno = 0;
    uint16_t n = rte_eth_tx_prepare(a->port, 0, &m, 1);
    rte_pktmbuf_free(m);
    return n == 0 ? rte_errno : 0;
  };
  /* outer checksum without an outer IPv4 header; OUTERIPLEN is 8 bits (outer_l3_len 9); without the outer checksum
   * everything before the inner IP header must fit MACLEN's 7 bits; no TSO of tunnelled frames */
  EXPECT_EQ(refused([](rte_mbuf *m) { m->ol_flags &= ~RTE_MBUF_F_TX_OUTER_IPV4; }), EINVAL);
  EXPECT_EQ(refused([](rte_mbuf *m) { m->outer_l3_len = 256; }), EINVAL);
  EXPECT_EQ(refused([](rte_mbuf *m) {
              m->ol_flags &= ~RTE_MBUF_F_TX_OUTER_IP_CKSUM;
              m->l2_len = 128 - kOuterL2 - kOuterL3;
            }),
            EINVAL);
  EXPECT_EQ(refused([](rte_mbuf *m) {
              m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_L4_MASK) | RTE_MBUF_F_TX_TCP_SEG;
              m->tso_segsz = 32;
            }),
            ENOTSUP);
  EXPECT_EQ(refused([](rte_mbuf *) {}), 0);
}

INSTANTIATE_TEST_SUITE_P(X550Class, TunnelPair,
                         ::testing::Values(hw::MacType::vf_x550, hw::MacType::vf_x550em_x, hw::MacType::vf_x550em_a));

TEST(Tunnel, On82599TheCapabilityIsAbsentAndRequestsAreRefused) {
  std::string pf = unique("tn82599");
  auto pfm = make_pf(pf, [](model::PfConfig &c) { c.mac_type = hw::MacType::vf_82599; });
  rte_mempool *mp = pool(unique("tn82599mp"), 511);
  ASSERT_TRUE(mp);
  {
    SimPort p("pf=" + pf + ",vf=0");
    ASSERT_TRUE(p.ok());
    rte_eth_dev_info info;
    ASSERT_EQ(rte_eth_dev_info_get(p.port, &info), 0);
    EXPECT_FALSE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM);
    EXPECT_FALSE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM);
    rte_eth_conf c{};
    c.txmode.offloads = RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
    EXPECT_EQ(rte_eth_dev_configure(p.port, 1, 1, &c), -EINVAL);
    c = rte_eth_conf{};
    c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM;
    EXPECT_EQ(rte_eth_dev_configure(p.port, 1, 1, &c), -EINVAL);
    /* a frame asking for it anyway is refused by tx_prepare */
    ASSERT_EQ(p.start(mp, 1), 0);
    const uint8_t d[6] = {0x02, 0, 0, 0, 0x06, 0x0b}, s[6] = {0x02, 0, 0, 0, 0x06, 0x0a};
    rte_mbuf *m = to_mbuf(mp, vxlan_frame(d, s, IPPROTO_UDP, 32));
    m->outer_l2_len = kOuterL2;
    m->outer_l3_len = kOuterL3;
    m->l2_len = kTunnel;
    m->l3_len = 20;
    m->ol_flags = RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_TUNNEL_VXLAN |
                  RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    rte_errno = 0;
    EXPECT_EQ(rte_eth_tx_prepare(p.port, 0, &m, 1), 0);
    EXPECT_EQ(rte_errno, ENOTSUP);
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size);
  rte_mempool_free(mp);
}
