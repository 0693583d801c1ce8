/* SPDX-License-Identifier: BSD-3-Clause
 * Control path end to end: what the PF model received and shows after each operation.
 */
#include <cstring>

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ip.h>
#include <rte_thash.h>
#include <rte_udp.h>

#include "ixgbevf_lm_adapter.h"
#include "pmd_env.h"
#include "rte_pmd_ixgbevf_lm.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;
using model::Registry;

namespace {
bool has_request(const std::vector<model::MailboxRecord> &log, unsigned vf, uint32_t id, uint32_t w1 = UINT32_MAX) {
  for (const auto &r : log)
    if (r.vf == vf && !r.request.empty() && (r.request[0] & 0xFFFF) == id &&
        (w1 == UINT32_MAX || (r.request.size() > 1 && r.request[1] == w1)))
      return true;
  return false;
}
}  // namespace

TEST(BringUp, ResetsNegotiatesNewestApiAndLearnsMacFromThePf) {
  std::string pf = unique("bu");
  SimPort p("pf=" + pf + ",vf=2,mac=02:00:00:00:01:02");
  ASSERT_TRUE(p.ok()) << p.probe_rc;
  auto m = Registry::instance().find(pf);
  ASSERT_TRUE(m);
  auto v = m->vf_view(2);
  EXPECT_TRUE(v.attached);
  EXPECT_TRUE(v.clear_to_send);
  EXPECT_EQ(v.api, hw::MbxApi::v13);
  auto log = m->mailbox_log();
  EXPECT_TRUE(has_request(log, 2, hw::VF_RESET));
  EXPECT_TRUE(has_request(log, 2, hw::VF_API_NEGOTIATE, uint32_t(hw::MbxApi::v13)));
  EXPECT_TRUE(has_request(log, 2, hw::VF_GET_QUEUES));
  rte_ether_addr mac;
  ASSERT_EQ(rte_eth_macaddr_get(p.port, &mac), 0);
  EXPECT_EQ(mac.addr_bytes[5], 0x02);
  EXPECT_EQ(mac.addr_bytes[4], 0x01);
  rte_eth_dev_info info;
  ASSERT_EQ(rte_eth_dev_info_get(p.port, &info), 0);
  EXPECT_STREQ(info.driver_name, "net_ixgbevf_lm_sim");
  EXPECT_EQ(info.max_rx_queues, m->config().queues_per_vf);
  EXPECT_EQ(info.max_rx_pktlen, 9728u);
  EXPECT_EQ(rte_pmd_ixgbevf_lm_mbx_api(p.port), int(hw::MbxApi::v13));
  rte_eth_link link;
  ASSERT_EQ(rte_eth_link_get_nowait(p.port, &link), 0);
  EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);
  EXPECT_EQ(link.link_speed, RTE_ETH_SPEED_NUM_10G);
}

TEST(BringUp, FallsBackToTheApiTheOlderPfAccepts) {
  std::string pf = unique("old");
  make_pf(pf, [](model::PfConfig &c) { c.max_api = hw::MbxApi::v11; });
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Registry::instance().find(pf)->vf_view(0).api, hw::MbxApi::v11);
  /* XCAST needs 1.2, promiscuous 1.3 */
  EXPECT_EQ(rte_eth_promiscuous_enable(p.port), -ENOTSUP);
  EXPECT_EQ(rte_eth_allmulticast_enable(p.port), -ENOTSUP);
}

TEST(BadDevargs, ProbeFailsForUnknownKeyBadMacVfOutOfRangeAndUplinkClash) {
  std::string pf = unique("bad");
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad0", ("pf=" + pf + ",vf=0,bogus=1").c_str()), 0);
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad1", ("pf=" + pf + ",vf=0,mac=zz").c_str()), 0);
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad2", ("pf=" + pf + ",vf=63").c_str()), 0);
  /* the uplink spec is the sim backend's to check: an unknown kind fails the probe, before any PF */
  const std::string badup = unique("badup");
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad5", ("pf=" + badup + ",vf=0,uplink=wifi").c_str()), 0);
  EXPECT_EQ(Registry::instance().find(badup), nullptr);
  SimPort ok("pf=" + pf + ",vf=0,uplink=none");
  ASSERT_TRUE(ok.ok());
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad3", ("pf=" + pf + ",vf=1,uplink=loop").c_str()), 0);
  /* the same VF twice */
  EXPECT_NE(rte_vdev_init("net_ixgbevf_lm_sim_bad4", ("pf=" + pf + ",vf=0").c_str()), 0);
}

TEST(Control, ReceiveModesMacsMulticastMtuAndVlansReachThePf) {
  std::string pf = unique("ctl");
  SimPort p("pf=" + pf + ",vf=1,trusted=1");  /* the host trusts the VF: promiscuous is granted */
  ASSERT_TRUE(p.ok());
  auto m = Registry::instance().find(pf);
  rte_mempool *mp = pool(unique("ctlmp"));
  ASSERT_TRUE(mp);
  rte_eth_conf c{};
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_VLAN_FILTER;
  ASSERT_EQ(p.start(mp, 1, &c), 0);

  ASSERT_EQ(rte_eth_promiscuous_enable(p.port), 0);
  EXPECT_EQ(m->vf_view(1).xcast, hw::XcastMode::promisc);
  ASSERT_EQ(rte_eth_allmulticast_enable(p.port), 0);
  ASSERT_EQ(rte_eth_promiscuous_disable(p.port), 0);
  EXPECT_EQ(m->vf_view(1).xcast, hw::XcastMode::allmulti);
  ASSERT_EQ(rte_eth_allmulticast_disable(p.port), 0);
  EXPECT_EQ(m->vf_view(1).xcast, hw::XcastMode::multi);

  rte_ether_addr a1{{0x02, 0, 0, 0, 0x0a, 0x01}}, a2{{0x02, 0, 0, 0, 0x0a, 0x02}};
  ASSERT_EQ(rte_eth_dev_mac_addr_add(p.port, &a1, 0), 0);
  ASSERT_EQ(rte_eth_dev_mac_addr_add(p.port, &a2, 0), 0);
  EXPECT_EQ(m->vf_view(1).macvlans.size(), 2u);
  ASSERT_EQ(rte_eth_dev_mac_addr_remove(p.port, &a1), 0);
  auto mv = m->vf_view(1).macvlans;
  ASSERT_EQ(mv.size(), 1u);
  EXPECT_EQ(mv[0][5], 0x02);

  rte_ether_addr primary{{0x02, 0, 0, 0, 0x0b, 0x01}};
  ASSERT_EQ(rte_eth_dev_default_mac_addr_set(p.port, &primary), 0);
  EXPECT_EQ(m->vf_view(1).mac[4], 0x0b);

  rte_ether_addr mc[2] = {{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x10}}, {{0x33, 0x33, 0x00, 0x00, 0x12, 0x34}}};
  ASSERT_EQ(rte_eth_dev_set_mc_addr_list(p.port, mc, 2), 0);
  auto h = m->vf_view(1).mc_hashes;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0], uint16_t(((0x00 >> 4) | (0x10 << 4)) & 0xFFF));
  EXPECT_EQ(h[1], uint16_t(((0x12 >> 4) | (0x34 << 4)) & 0xFFF));

  ASSERT_EQ(rte_eth_dev_vlan_filter(p.port, 100, 1), 0);
  ASSERT_EQ(rte_eth_dev_vlan_filter(p.port, 200, 1), 0);
  ASSERT_EQ(rte_eth_dev_vlan_filter(p.port, 100, 0), 0);
  EXPECT_EQ(m->vf_view(1).vlans, (std::set<uint16_t>{200}));

  ASSERT_EQ(rte_eth_dev_set_mtu(p.port, 1600), 0);
  EXPECT_EQ(m->vf_view(1).max_frame, 1600u + 18u);
  EXPECT_EQ(m->vf_view(1).rx_queues_enabled, 1u);
  EXPECT_EQ(m->vf_view(1).tx_queues_enabled, 1u);
  rte_eth_dev_stop(p.port);
  rte_eth_dev_close(p.port);
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size);
  rte_mempool_free(mp);
}

TEST(Control, PfRefusalsMapToEperm) {
  std::string pf = unique("strict");
  make_pf(pf, [](model::PfConfig &c) {
    c.allow_vf_promisc = false;
    c.allow_vf_set_mac = false;
  });
  /* Linux's defaults for an untrusted VF whose address the host administered (mac=) */
  SimPort p("pf=" + pf + ",vf=0,mac=02:00:00:00:0c:00");
  ASSERT_TRUE(p.ok());
  auto m = Registry::instance().find(pf);
  EXPECT_EQ(rte_eth_promiscuous_enable(p.port), -EPERM);  /* granted multicast only: refused */
  EXPECT_EQ(rte_eth_promiscuous_get(p.port), 0);
  EXPECT_EQ(m->vf_view(0).xcast, hw::XcastMode::multi) << "the device does what the port says";
  rte_ether_addr other{{0x02, 0, 0, 0, 0x0c, 0x01}};
  EXPECT_EQ(rte_eth_dev_default_mac_addr_set(p.port, &other), -EPERM);
  /* refusals are answers, not faults */
  EXPECT_GE(xstat(p.port, "mailbox_refusals"), 1u);
  EXPECT_EQ(xstat(p.port, "mailbox_errors"), 0u);
  /* the host trusts the VF from now on (`ip link set <pf> vf 0 trust on`) */
  m->set_vf_trusted(0, true);
  EXPECT_EQ(rte_eth_promiscuous_enable(p.port), 0);
  EXPECT_EQ(m->vf_view(0).xcast, hw::XcastMode::promisc);
  EXPECT_EQ(rte_eth_dev_default_mac_addr_set(p.port, &other), 0);
}

/* A PF of API 1.3 refuses 1.4 at every bring-up: the fallback is a refusal, not an error. */
TEST(Control, ApiFallbackIsARefusalNotAnError) {
  std::string pf = unique("api13");
  make_pf(pf, [](model::PfConfig &c) { c.max_api = hw::MbxApi::v13; });
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(xstat(p.port, "mailbox_refusals"), 1u);
  EXPECT_EQ(xstat(p.port, "mailbox_errors"), 0u);
}

TEST(Control, QueueInfoReportsWhatTheQueuesWereSetUpWith) {
  std::string pf = unique("qinfo");
  make_pf(pf, [](model::PfConfig &) {});
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  rte_mempool *mp = pool(unique("qinfo_mp"));
  ASSERT_EQ(p.start(mp, 2, nullptr, 512), 0);
  rte_eth_rxq_info rx{};
  ASSERT_EQ(rte_eth_rx_queue_info_get(p.port, 1, &rx), 0);
  EXPECT_EQ(rx.mp, mp);
  EXPECT_EQ(rx.nb_desc, 512u);
  EXPECT_GT(rx.rx_buf_size, 0u);
  EXPECT_GT(rx.conf.rx_free_thresh, 0u);
  rte_eth_txq_info tx{};
  ASSERT_EQ(rte_eth_tx_queue_info_get(p.port, 1, &tx), 0);
  EXPECT_EQ(tx.nb_desc, 512u);
  EXPECT_GT(tx.conf.tx_rs_thresh, 0u);
  EXPECT_GE(tx.conf.tx_free_thresh, tx.conf.tx_rs_thresh);
  rte_eth_dev_stop(p.port);
  rte_eth_dev_close(p.port);
  rte_mempool_free(mp);
}

TEST(Control, SilentPfGivesABoundedTimeoutNotAHang) {
  std::string pf = unique("mute");
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  auto m = Registry::instance().find(pf);
  model::Faults f;
  f.mailbox_silent = true;
  m->set_faults(f);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rte_eth_allmulticast_enable(p.port), -ETIMEDOUT);
  auto dt = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(dt, std::chrono::seconds(2));
  EXPECT_EQ(xstat(p.port, "mailbox_timeouts"), 1u);
  EXPECT_EQ(xstat(p.port, "mailbox_errors"), 1u);
  m->set_faults({});
}

TEST(Control, ResetReplaysTheConfiguration) {
  std::string pf = unique("replay");
  SimPort p("pf=" + pf + ",vf=0,trusted=1");
  ASSERT_TRUE(p.ok());
  auto m = Registry::instance().find(pf);
  rte_eth_conf c{};
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_VLAN_FILTER;
  ASSERT_EQ(rte_eth_dev_configure(p.port, 1, 1, &c), 0);
  rte_ether_addr a1{{0x02, 0, 0, 0, 0x0d, 0x01}};
  ASSERT_EQ(rte_eth_dev_mac_addr_add(p.port, &a1, 0), 0);
  ASSERT_EQ(rte_eth_dev_vlan_filter(p.port, 7, 1), 0);
  ASSERT_EQ(rte_eth_allmulticast_enable(p.port), 0);
  ASSERT_EQ(rte_eth_dev_reset(p.port), 0);
  auto v = m->vf_view(0);
  EXPECT_EQ(v.macvlans.size(), 1u);
  EXPECT_EQ(v.vlans.count(7), 1u);
  EXPECT_EQ(v.xcast, hw::XcastMode::allmulti);
  EXPECT_EQ(xstat(p.port, "vf_resets"), 2u);
}

TEST(Control, RssOn82599QueriesThePfAndRefusesUpdates) {
  std::string pf = unique("rss");
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  rte_mempool *mp = pool(unique("rssmp"));
  ASSERT_EQ(p.start(mp, 2), 0);
  uint8_t key[40] = {};
  rte_eth_rss_conf conf{};
  conf.rss_key = key;
  conf.rss_key_len = sizeof key;
  ASSERT_EQ(rte_eth_dev_rss_hash_conf_get(p.port, &conf), 0);
  EXPECT_EQ(key[0], 0x6d); /* the model PF's key */
  rte_eth_rss_reta_entry64 reta[2] = {};
  reta[0].mask = reta[1].mask = ~0ull;
  ASSERT_EQ(rte_eth_dev_rss_reta_query(p.port, reta, 128), 0);
  EXPECT_EQ(reta[0].reta[1], 1);
  EXPECT_EQ(rte_eth_dev_rss_reta_update(p.port, reta, 128), -ENOTSUP);
  conf.rss_hf = RTE_ETH_RSS_IPV4;
  EXPECT_EQ(rte_eth_dev_rss_hash_update(p.port, &conf), -ENOTSUP);
  rte_eth_dev_stop(p.port);
  rte_eth_dev_close(p.port);
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size);
  rte_mempool_free(mp);
}

TEST(Control, RssOnX550ProgramsTheVfRegisters) {
  std::string pf = unique("x550");
  make_pf(pf, [](model::PfConfig &c) { c.mac_type = hw::MacType::vf_x550; });
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  rte_mempool *mp = pool(unique("x550mp"));
  rte_eth_conf c{};
  c.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
  c.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
  ASSERT_EQ(p.start(mp, 2, &c), 0);
  rte_eth_rss_reta_entry64 reta{};
  reta.mask = ~0ull;
  for (auto &e : reta.reta)
    e = 1;
  ASSERT_EQ(rte_eth_dev_rss_reta_update(p.port, &reta, 64), 0);
  rte_eth_rss_reta_entry64 back{};
  back.mask = ~0ull;
  ASSERT_EQ(rte_eth_dev_rss_reta_query(p.port, &back, 64), 0);
  EXPECT_EQ(back.reta[5], 1);
  rte_eth_rss_conf conf{};
  ASSERT_EQ(rte_eth_dev_rss_hash_conf_get(p.port, &conf), 0);
  EXPECT_EQ(conf.rss_hf, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
  rte_eth_dev_stop(p.port);
  rte_eth_dev_close(p.port);
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size);
}

TEST(Control, RegisterDumpAndPtypes) {
  std::string pf = unique("regs");
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  rte_dev_reg_info info{};
  ASSERT_EQ(rte_eth_dev_get_reg_info(p.port, &info), 0);
  ASSERT_GT(info.length, 16u);
  std::vector<uint32_t> buf(info.length);
  info.data = buf.data();
  ASSERT_EQ(rte_eth_dev_get_reg_info(p.port, &info), 0);
  EXPECT_NE(buf[2] & hw::LINKS_UP, 0u); /* VFLINKS */
  uint32_t pt[16];
  EXPECT_GT(rte_eth_dev_get_supported_ptypes(p.port, RTE_PTYPE_ALL_MASK, pt, 16), 4);
}

namespace {
/* The Toeplitz verification key and one of its IPv4 vectors (66.9.149.187 -> 161.142.100.80). */
constexpr uint8_t kToeplitzKey[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                                      0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                                      0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
constexpr uint32_t kVectorSrc = RTE_IPV4(66, 9, 149, 187), kVectorDst = RTE_IPV4(161, 142, 100, 80);
constexpr uint32_t kVectorHashIpv4 = 0x323e8fc2;

std::vector<uint8_t> ipv4_frame(const uint8_t dst[6], const uint8_t src[6], uint32_t sip, uint32_t dip) {
  auto f = udp_frame(dst, src, 32);
  auto *ip = reinterpret_cast<rte_ipv4_hdr *>(&f[14]);
  ip->src_addr = rte_cpu_to_be_32(sip);
  ip->dst_addr = rte_cpu_to_be_32(dip);
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto *udp = reinterpret_cast<rte_udp_hdr *>(&f[34]);
  udp->dgram_cksum = 0;
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return f;
}

uint32_t model_reg(uint16_t port, uint32_t off) {
  auto &ad = *static_cast<pmd::Adapter *>(rte_eth_devices[port].data->dev_private);
  return pmd::rd32(ad.hw, off);
}
}  // namespace

TEST(Control, RssKeyUpdateOnX550ReprogramsVfrssrkAndTheReceivedHashFollowsTheKey) {
  std::string pf = unique("rsskey");
  make_pf(pf, [](model::PfConfig &c) { c.mac_type = hw::MacType::vf_x550; });
  SimPort a("pf=" + pf + ",vf=0,mac=02:00:00:00:03:0a");
  SimPort b("pf=" + pf + ",vf=1,mac=02:00:00:00:03:0b");
  ASSERT_TRUE(a.ok() && b.ok());
  const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0x03, 0x0a}, mac_b[6] = {0x02, 0, 0, 0, 0x03, 0x0b};
  rte_mempool *mp = pool(unique("rsskeymp"));
  ASSERT_TRUE(mp);
  rte_eth_conf c{};
  c.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
  c.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4;
  ASSERT_EQ(a.start(mp), 0);
  ASSERT_EQ(b.start(mp, 1, &c), 0);

  auto receive_hash = [&](uint32_t *hash) {
    rte_mbuf *m = to_mbuf(mp, ipv4_frame(mac_b, mac_a, kVectorSrc, kVectorDst));
    ASSERT_TRUE(m);
    ASSERT_EQ(rte_eth_tx_burst(a.port, 0, &m, 1), 1);
    auto got = rx_wait(b.port, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0]->ol_flags & RTE_MBUF_F_RX_RSS_HASH);
    *hash = got[0]->hash.rss;
    free_all(got);
  };

  /* the verification key: VFRSSRK holds it (little-endian words) and the hash is the known vector */
  uint8_t key[40];
  std::memcpy(key, kToeplitzKey, sizeof key);
  rte_eth_rss_conf conf{};
  conf.rss_key = key;
  conf.rss_key_len = sizeof key;
  conf.rss_hf = RTE_ETH_RSS_IPV4;
  ASSERT_EQ(rte_eth_dev_rss_hash_update(b.port, &conf), 0);
  for (unsigned i = 0; i < hw::kVfRssKeyWords; i++) {
    uint32_t w;
    std::memcpy(&w, &kToeplitzKey[4 * i], 4);
    EXPECT_EQ(model_reg(b.port, hw::VFRSSRK(i)), w) << "VFRSSRK(" << i << ")";
  }
  uint32_t h = 0;
  receive_hash(&h);
  EXPECT_EQ(h, kVectorHashIpv4);

  /* another key: the registers and the hash change with it (checked against DPDK's software Toeplitz) */
  for (unsigned i = 0; i < sizeof key; i++)
    key[i] = uint8_t(kToeplitzKey[i] ^ (0x5a + 3 * i));
  ASSERT_EQ(rte_eth_dev_rss_hash_update(b.port, &conf), 0);
  uint32_t w0;
  std::memcpy(&w0, key, 4);
  EXPECT_EQ(model_reg(b.port, hw::VFRSSRK(0)), w0);
  uint8_t back[40] = {};
  rte_eth_rss_conf q{};
  q.rss_key = back;
  q.rss_key_len = sizeof back;
  ASSERT_EQ(rte_eth_dev_rss_hash_conf_get(b.port, &q), 0);
  EXPECT_EQ(std::memcmp(back, key, sizeof key), 0);
  uint32_t tuple[2] = {kVectorSrc, kVectorDst};
  uint32_t expect = rte_softrss(tuple, 2, key);
  ASSERT_NE(expect, kVectorHashIpv4);
  receive_hash(&h);
  EXPECT_EQ(h, expect);

  /* a short key is refused and leaves the registers alone */
  conf.rss_key_len = 16;
  EXPECT_EQ(rte_eth_dev_rss_hash_update(b.port, &conf), -EINVAL);
  EXPECT_EQ(model_reg(b.port, hw::VFRSSRK(0)), w0);

  rte_eth_dev_stop(a.port);
  rte_eth_dev_stop(b.port);
  rte_eth_dev_close(a.port);
  rte_eth_dev_close(b.port);
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size);
  rte_mempool_free(mp);
}

TEST(Control, RssKeyUpdateOn82599IsRefusedWithEnotsup) {
  std::string pf = unique("rsskey82599");
  SimPort p("pf=" + pf + ",vf=0");
  ASSERT_TRUE(p.ok());
  uint8_t key[40];
  std::memcpy(key, kToeplitzKey, sizeof key);
  rte_eth_rss_conf conf{};
  conf.rss_key = key;
  conf.rss_key_len = sizeof key;
  conf.rss_hf = RTE_ETH_RSS_IPV4;
  EXPECT_EQ(rte_eth_dev_rss_hash_update(p.port, &conf), -ENOTSUP);
}
