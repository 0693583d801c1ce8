/* SPDX-License-Identifier: BSD-3-Clause
 * Rx/Tx engines, offloads and the VM-to-VM switch, driven through rings in guest memory.
 */
#include "model_harness.h"

using namespace mt;
using namespace ixgbevf_lm::hw;

namespace {

struct Pair : ::testing::Test {
  GuestMem mem;
  std::shared_ptr<PfModel> pf;
  std::unique_ptr<Vf> a, b;
  std::shared_ptr<TestUplink::Shared> up = std::make_shared<TestUplink::Shared>();
  void build(PfConfig c) {
    pf = PfModel::create(c);
    a = std::make_unique<Vf>(pf, mem, 0);
    b = std::make_unique<Vf>(pf, mem, 1);
    ASSERT_TRUE(a->up());
    ASSERT_TRUE(b->up());
    a->setup_tx(0, 64);
    b->setup_rx(0, 64);
  }
  void SetUp() override { build(single_cfg("dp")); }
  FrameSpec to_b() {
    FrameSpec s;
    s.dst = b->mac();
    s.src = a->mac();
    return s;
  }
};

TEST_F(Pair, RxWritesFrameThenWriteBackWithDdEopAndLength) {
  auto f = make_frame(to_b());
  a->send(0, f);
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(got, f);
  EXPECT_EQ(wb.wb.status_error & (RXD_STAT_DD | RXD_STAT_EOP), RXD_STAT_DD | RXD_STAT_EOP);
  EXPECT_NE(wb.wb.status_error & RXD_STAT_LB, 0u) << "VM-to-VM loopback";
  EXPECT_EQ(wb.wb.pkt_info & RXDADV_PKTTYPE_MASK, RXDADV_PKTTYPE_IPV4 | RXDADV_PKTTYPE_UDP);
  EXPECT_EQ(b->rd(VFRDH(0)), 1u);
  EXPECT_EQ(pf->stats().frames_switched, 1u);
}

TEST_F(Pair, RxRingWrapsAround) {
  b->setup_rx(0, 32);
  auto f = make_frame(to_b());
  for (unsigned i = 0; i < 100; i++) {
    f[60] = uint8_t(i);
    a->send(0, f);
    std::vector<uint8_t> got;
    ASSERT_TRUE(b->rx_wait(0, &got)) << i;
    ASSERT_EQ(got[60], uint8_t(i));
  }
  EXPECT_EQ(b->rd(VFRDH(0)), 100u % 32);
}

TEST_F(Pair, RxSplitsFrameOverThreeBuffers) {
  b->setup_rx(0, 32, 1);
  ASSERT_TRUE(b->call({VF_SET_LPE, 3000})[0] & VT_MSGTYPE_ACK);
  auto s = to_b();
  s.payload = 2500;
  auto f = make_frame(s);
  a->send(0, f);
  ASSERT_TRUE(b->wait([&] { return (b->rxd(0, 2)->wb.status_error & RXD_STAT_DD) != 0; }));
  EXPECT_EQ(b->rxd(0, 0)->wb.status_error & (RXD_STAT_DD | RXD_STAT_EOP), RXD_STAT_DD);
  EXPECT_EQ(b->rxd(0, 0)->wb.length, 1024u);
  EXPECT_EQ(b->rxd(0, 1)->wb.length, 1024u);
  EXPECT_NE(b->rxd(0, 2)->wb.status_error & RXD_STAT_EOP, 0u);
  EXPECT_EQ(b->rxd(0, 2)->wb.length, f.size() - 2048);
  std::vector<uint8_t> got;
  unsigned n = 0;
  ASSERT_TRUE(b->rx_poll(0, &got, nullptr, &n));
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(got, f);
}

TEST_F(Pair, RxDropsAndCountsWhenNoDescriptorIsFree) {
  b->refill = false;
  b->setup_rx(0, 32, 2, 2); /* two descriptors given to the device */
  auto f = make_frame(to_b());
  for (int i = 0; i < 4; i++)
    a->send(0, f);
  a->settle();
  std::vector<uint8_t> got;
  EXPECT_TRUE(b->rx_poll(0, &got));
  EXPECT_TRUE(b->rx_poll(0, &got));
  EXPECT_FALSE(b->rx_poll(0, &got));
  EXPECT_EQ(pf->stats().rx_no_descriptor_drops, 2u);
  EXPECT_EQ(b->rd(VFGPRC), 2u);
}

TEST_F(Pair, RxOversizeFrameIsDroppedUntilLpeAllowsIt) {
  b->setup_rx(0, 32, 16);
  auto s = to_b();
  s.payload = 3000;
  a->send(0, make_frame(s));
  a->settle();
  std::vector<uint8_t> got;
  EXPECT_FALSE(b->rx_poll(0, &got));
  EXPECT_EQ(pf->stats().rx_oversize_drops, 1u);
  ASSERT_TRUE(b->call({VF_SET_LPE, 9018})[0] & VT_MSGTYPE_ACK);
  a->send(0, make_frame(s));
  EXPECT_TRUE(b->rx_wait(0, &got));
}

TEST_F(Pair, RxStripsVlanIntoWriteBackWhenVme) {
  b->setup_rx(0, 32, 2, -1, RXDCTL_VME);
  auto s = to_b();
  s.vlan = 0x2064;
  auto f = make_frame(s);
  a->send(0, f);
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(got.size(), f.size() - 4);
  EXPECT_EQ(be16(&got[12]), 0x0800);
  EXPECT_NE(wb.wb.status_error & RXD_STAT_VP, 0u);
  EXPECT_EQ(wb.wb.vlan, 0x2064);
  /* without VME the tag stays in the frame */
  b->setup_rx(0, 32);
  a->send(0, f);
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(got, f);
  EXPECT_EQ(wb.wb.status_error & RXD_STAT_VP, 0u);
}

TEST_F(Pair, RxReportsChecksumStatusAndErrors) {
  auto s = to_b();
  s.tcp = true;
  a->send(0, make_frame(s));
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(wb.wb.status_error & (RXD_STAT_IPCS | RXD_STAT_L4CS), RXD_STAT_IPCS | RXD_STAT_L4CS);
  EXPECT_EQ(wb.wb.status_error & (RXDADV_ERR_IPE | RXDADV_ERR_TCPE), 0u);
  EXPECT_EQ(wb.wb.pkt_info & RXDADV_PKTTYPE_MASK, RXDADV_PKTTYPE_IPV4 | RXDADV_PKTTYPE_TCP);
  s.good_csums = false;
  a->send(0, make_frame(s));
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(wb.wb.status_error & (RXDADV_ERR_IPE | RXDADV_ERR_TCPE), RXDADV_ERR_IPE | RXDADV_ERR_TCPE);
}

/* Microsoft's RSS verification vector: 66.9.149.187:2794 -> 161.142.100.80:1766. */
TEST(Rss, RxHashUsesToeplitzOverVfKeyAndRetaChoosesQueue) {
  GuestMem mem;
  auto c = single_cfg("rss");
  c.mac_type = MacType::vf_x550;
  c.queues_per_vf = 4;
  auto pf = PfModel::create(c);
  Vf a(pf, mem, 0), b(pf, mem, 1);
  ASSERT_TRUE(a.up());
  ASSERT_TRUE(b.up());
  a.setup_tx(0, 32);
  for (unsigned q = 0; q < 4; q++)
    b.setup_rx(q, 32);
  static const uint8_t key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                                  0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                                  0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  for (unsigned i = 0; i < kVfRssKeyWords; i++) {
    uint32_t w;
    std::memcpy(&w, key + 4 * i, 4);
    b.wr(VFRSSRK(i), w);
  }
  for (unsigned i = 0; i < kVfRetaRegs; i++)
    b.wr(VFRETA(i), 0x03020100); /* entry i -> queue i % 4 */
  b.wr(VFMRQC, MRQC_RSSEN | MRQC_RSS_FIELD_IPV4 | MRQC_RSS_FIELD_IPV4_TCP);
  FrameSpec s;
  s.dst = b.mac();
  s.src = a.mac();
  s.tcp = true;
  s.sip = (66u << 24) | (9u << 16) | (149u << 8) | 187u;
  s.dip = (161u << 24) | (142u << 16) | (100u << 8) | 80u;
  s.sport = 2794;
  s.dport = 1766;
  a.send(0, make_frame(s));
  unsigned q = 0x51ccc178u & 63 & 3;
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b.rx_wait(q, &got, &wb));
  EXPECT_EQ(wb.wb.rss, 0x51ccc178u);
  EXPECT_EQ(wb.wb.pkt_info & RXDADV_RSSTYPE_MASK, RXDADV_RSSTYPE_IPV4_TCP);
  /* IPv4 only (UDP with no UDP field enabled): hash over the addresses */
  s.tcp = false;
  a.send(0, make_frame(s));
  q = 0x323e8fc2u & 3;
  ASSERT_TRUE(b.rx_wait(q, &got, &wb));
  EXPECT_EQ(wb.wb.rss, 0x323e8fc2u);
  EXPECT_EQ(wb.wb.pkt_info & RXDADV_RSSTYPE_MASK, RXDADV_RSSTYPE_IPV4);
}

TEST_F(Pair, TxGathersMultiDescriptorFrameUpToEop) {
  auto f = make_frame(to_b());
  a->put_data(0, f.data(), 20, 0, uint32_t(f.size()) << ADVTXD_PAYLEN_SHIFT);
  a->put_data(0, f.data() + 20, 30, 0, 0);
  a->doorbell(0);
  a->settle();
  EXPECT_EQ(a->rd(VFTDH(0)), 0u) << "a frame without EOP waits";
  a->put_data(0, f.data() + 50, f.size() - 50, ADVTXD_DCMD_EOP | ADVTXD_DCMD_RS, 0);
  a->doorbell(0);
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  EXPECT_EQ(got, f);
  EXPECT_EQ(a->rd(VFTDH(0)), 3u);
}

TEST_F(Pair, TxWritesDdOnlyIntoRsDescriptors) {
  auto f = make_frame(to_b());
  unsigned i0 = a->put_data(0, f.data(), f.size(), ADVTXD_DCMD_EOP, 0);
  unsigned i1 = a->put_data(0, f.data(), f.size(), ADVTXD_DCMD_EOP | ADVTXD_DCMD_RS, 0);
  a->doorbell(0);
  ASSERT_TRUE(a->wait([&] { return a->rd(VFTDH(0)) == 2; }));
  EXPECT_EQ(a->txd(0, i0)->wb.status & ADVTXD_STAT_DD, 0u);
  EXPECT_EQ(a->txd(0, i1)->wb.status & ADVTXD_STAT_DD, ADVTXD_STAT_DD);
}

TEST_F(Pair, TxHeadWriteBackWritesHeadIndexAndNoDd) {
  uint64_t hw = mem.alloc(64, 64);
  std::memset(mem.at(hw), 0xEE, 4);
  a->setup_tx(1, 32, hw);
  auto f = make_frame(to_b());
  unsigned i = a->send(1, f);
  a->send(1, f);
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_TRUE(a->wait([&] { return a->rd(VFTDH(1)) == 2; }));
  uint32_t head;
  std::memcpy(&head, mem.at(hw), 4);
  EXPECT_EQ(head, 2u);
  EXPECT_EQ(a->txd(1, i)->wb.status & ADVTXD_STAT_DD, 0u);
}

TEST_F(Pair, TxInsertsIpv4HeaderAndL4Checksums) {
  for (bool tcp : {false, true}) {
    auto s = to_b();
    s.tcp = tcp;
    auto f = make_frame(s);
    uint8_t *ip = &f[14];
    ip[10] = ip[11] = 0;
    /* the driver puts the pseudo-header sum (with length) into the L4 checksum field */
    unsigned l4len = unsigned(f.size() - 34);
    uint16_t pseudo = csum_fold(csum_add(ip + 12, 8) + ip[9] + l4len);
    put16(ip + 20 + (tcp ? 16 : 6), pseudo);
    a->put_context(0, (14u << ADVTXD_MACLEN_SHIFT) | 20u,
                   ADVTXD_TUCMD_IPV4 | (tcp ? ADVTXD_TUCMD_L4T_TCP : ADVTXD_TUCMD_L4T_UDP),
                   (1u << ADVTXD_IDX_SHIFT) | ((tcp ? 20u : 8u) << ADVTXD_L4LEN_SHIFT));
    a->send(0, f, 0, ADVTXD_POPTS_IXSM | ADVTXD_POPTS_TXSM | (1u << ADVTXD_IDX_SHIFT));
    std::vector<uint8_t> got;
    RxDesc wb;
    ASSERT_TRUE(b->rx_wait(0, &got, &wb));
    EXPECT_TRUE(ipv4_csum_ok(&got[14]));
    EXPECT_TRUE(l4_csum_ok(&got[14])) << tcp;
    EXPECT_EQ(wb.wb.status_error & (RXDADV_ERR_IPE | RXDADV_ERR_TCPE), 0u);
  }
}

TEST_F(Pair, TxInsertsVlanFromContextWhenVle) {
  auto f = make_frame(to_b());
  a->put_context(0, (0x0123u << ADVTXD_VLAN_SHIFT) | (14u << ADVTXD_MACLEN_SHIFT) | 20u, ADVTXD_TUCMD_IPV4, 0);
  a->send(0, f, ADVTXD_DCMD_VLE, 0);
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_EQ(got.size(), f.size() + 4);
  EXPECT_EQ(be16(&got[12]), 0x8100);
  EXPECT_EQ(be16(&got[14]), 0x0123);
  EXPECT_EQ(0, std::memcmp(&got[16], &f[12], f.size() - 12));
}

TEST_F(Pair, TxTsoSegmentsPayloadByMssWithFixedHeaders) {
  ASSERT_TRUE(b->call({VF_SET_LPE, 9000})[0] & VT_MSGTYPE_ACK);
  auto s = to_b();
  s.tcp = true;
  s.payload = 4000;
  s.tcp_flags = 0x19; /* FIN PSH ACK */
  s.seq = 0xFFFFF000;
  auto f = make_frame(s);
  uint8_t *ip = &f[14];
  ip[10] = ip[11] = 0;
  put16(ip + 36, csum_fold(csum_add(ip + 12, 8) + 6)); /* pseudo-header without length */
  const unsigned mss = 1448;
  a->put_context(0, (14u << ADVTXD_MACLEN_SHIFT) | 20u, ADVTXD_TUCMD_IPV4 | ADVTXD_TUCMD_L4T_TCP,
                 (mss << ADVTXD_MSS_SHIFT) | (20u << ADVTXD_L4LEN_SHIFT));
  /* the frame spread over two data descriptors */
  a->put_data(0, f.data(), 1000, ADVTXD_DCMD_TSE, ADVTXD_POPTS_IXSM | ADVTXD_POPTS_TXSM | (4000u << ADVTXD_PAYLEN_SHIFT));
  a->put_data(0, f.data() + 1000, f.size() - 1000, ADVTXD_DCMD_TSE | ADVTXD_DCMD_EOP | ADVTXD_DCMD_RS, 0);
  a->doorbell(0);
  size_t total = 0;
  for (unsigned i = 0; i < 3; i++) {
    std::vector<uint8_t> got;
    ASSERT_TRUE(b->rx_wait(0, &got)) << i;
    unsigned n = i < 2 ? mss : 4000 - 2 * mss;
    ASSERT_EQ(got.size(), 54u + n);
    const uint8_t *gip = &got[14];
    EXPECT_EQ(be16(gip + 2), 40u + n);
    EXPECT_EQ(be16(gip + 4), 0x1234u + i);
    EXPECT_TRUE(ipv4_csum_ok(gip));
    EXPECT_TRUE(l4_csum_ok(gip)) << i;
    EXPECT_EQ(be32(gip + 24), 0xFFFFF000u + i * mss) << "sequence number";
    EXPECT_EQ(gip[33] & 0x09, i == 2 ? 0x09 : 0x00) << "FIN/PSH only on the last segment";
    EXPECT_EQ(0, std::memcmp(&got[54], &f[54 + i * mss], n));
    total += n;
  }
  EXPECT_EQ(total, 4000u);
  EXPECT_EQ(a->rd(VFGPTC), 3u);
}

TEST_F(Pair, SwitchDeliversUnicastOnlyToTheDestination) {
  Vf c(pf, mem, 2);
  ASSERT_TRUE(c.up());
  c.setup_rx(0, 32);
  a->send(0, make_frame(to_b()));
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  a->settle();
  EXPECT_FALSE(c.rx_poll(0, &got));
}

TEST_F(Pair, SwitchReplicatesBroadcastToAllButTheSource) {
  Vf c(pf, mem, 2);
  ASSERT_TRUE(c.up());
  c.setup_rx(0, 32);
  a->setup_rx(0, 32);
  auto s = to_b();
  s.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  a->send(0, make_frame(s));
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_TRUE(c.rx_wait(0, &got));
  EXPECT_FALSE(a->rx_poll(0, &got)) << "the source does not hear itself";
}

TEST_F(Pair, SwitchDeliversMulticastByHashFilterOrAllmulti) {
  Vf c(pf, mem, 2);
  pf->set_vf_trusted(2, true);  /* all-multicast is for trusted VFs (Linux's policy) */
  ASSERT_TRUE(c.up());
  c.setup_rx(0, 32);
  MacAddr group{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
  uint16_t hash = uint16_t(((group[4] >> 4) | (group[5] << 4)) & 0xFFF);
  ASSERT_TRUE(b->call({VF_SET_MULTICAST | (1u << VT_MSGINFO_SHIFT), hash}, 1)[0] & VT_MSGTYPE_ACK);
  auto s = to_b();
  s.dst = group;
  a->send(0, make_frame(s));
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  a->settle();
  EXPECT_FALSE(c.rx_poll(0, &got)) << "no hash, no ALLMULTI";
  ASSERT_TRUE(c.call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::allmulti)})[0] & VT_MSGTYPE_ACK);
  a->send(0, make_frame(s));
  ASSERT_TRUE(c.rx_wait(0, &got));
  EXPECT_EQ(b->rd(VFMPRC), 2u);
}

TEST_F(Pair, SwitchGivesPromiscuousVfOthersUnicast) {
  Vf c(pf, mem, 2);
  pf->set_vf_trusted(2, true);  /* promiscuous is for trusted VFs (Linux's policy) */
  ASSERT_TRUE(c.up());
  c.setup_rx(0, 32);
  ASSERT_TRUE(c.call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::promisc)})[0] & VT_MSGTYPE_ACK);
  a->send(0, make_frame(to_b()));
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_TRUE(c.rx_wait(0, &got));
}

TEST_F(Pair, SwitchHonoursVlanFilterOfVfsWithVlans) {
  ASSERT_TRUE(b->call({VF_SET_VLAN | (1u << VF_SET_VLAN_ADD_SHIFT), 10})[0] & VT_MSGTYPE_ACK);
  auto s = to_b();
  s.vlan = 20;
  a->send(0, make_frame(s));
  a->settle();
  std::vector<uint8_t> got;
  EXPECT_FALSE(b->rx_poll(0, &got));
  s.vlan = 10;
  a->send(0, make_frame(s));
  ASSERT_TRUE(b->rx_wait(0, &got));
  s.vlan = -1;
  a->send(0, make_frame(s));
  ASSERT_TRUE(b->rx_wait(0, &got)) << "untagged frames pass";
}

TEST_F(Pair, SwitchSendsUnknownUnicastAndBroadcastToUplink) {
  pf->set_uplink(std::make_unique<TestUplink>(up));
  auto s = to_b();
  s.dst = {0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
  a->send(0, make_frame(s));
  a->send(0, make_frame(to_b()));
  s.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  a->send(0, make_frame(s));
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  ASSERT_TRUE(b->rx_wait(0, &got));
  /* the uplink's record copied out: the model takes its own lock before the uplink's */
  std::vector<std::vector<uint8_t>> sent;
  {
    std::lock_guard g(up->mu);
    sent = up->sent;
  }
  ASSERT_EQ(sent.size(), 2u) << "unknown unicast and broadcast, not the local unicast";
  EXPECT_EQ(sent[0][1], 0x99);
  EXPECT_EQ(sent[1][0], 0xff);
  EXPECT_EQ(pf->stats().frames_to_uplink, 2u);
}

TEST_F(Pair, UnknownUnicastWithoutUplinkIsCountedAndDropped) {
  auto s = to_b();
  s.dst = {0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
  a->send(0, make_frame(s));
  a->settle();
  EXPECT_EQ(pf->stats().unknown_destination_drops, 1u);
}

TEST_F(Pair, FramesFromUplinkAreSwitchedToVfs) {
  pf->set_uplink(std::make_unique<TestUplink>(up));
  FrameSpec s;
  s.dst = b->mac();
  s.src = {0x02, 0x55, 0, 0, 0, 1};
  auto f = make_frame(s);
  {
    std::lock_guard g(up->mu);
    up->inbound.push_back(f);
  }
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(got, f);
  EXPECT_EQ(wb.wb.status_error & RXD_STAT_LB, 0u);
  EXPECT_EQ(pf->stats().frames_from_uplink, 1u);
  std::lock_guard g(up->mu);
  EXPECT_TRUE(up->sent.empty()) << "not reflected back to the wire";
}

TEST_F(Pair, DescFetchStallFaultHangsQueuesUntilLifted) {
  Faults fl;
  fl.desc_fetch_stall = true;
  pf->set_faults(fl);
  a->send(0, make_frame(to_b()));
  a->settle();
  EXPECT_EQ(a->rd(VFTDH(0)), 0u);
  pf->set_faults({});
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
}

TEST_F(Pair, DmaFaultInTxBufferDropsFrameAndQueueMovesOn) {
  auto f = make_frame(to_b());
  unsigned i = a->put_data(0, f.data(), f.size(), ADVTXD_DCMD_EOP | ADVTXD_DCMD_RS, 0);
  a->txd(0, i)->read.buffer_addr = 0xdead0000;
  a->doorbell(0);
  a->send(0, f);
  std::vector<uint8_t> got;
  ASSERT_TRUE(b->rx_wait(0, &got));
  EXPECT_EQ(got, f);
  EXPECT_EQ(pf->stats().dma_faults, 1u);
  EXPECT_EQ(mem.dma->faults(), 1u);
  EXPECT_EQ(mem.dma->last_fault().iova, 0xdead0000u);
}

TEST_F(Pair, DmaFaultInRxBufferIsCountedAndFrameDropped) {
  b->rxd(0, 0)->read.pkt_addr = 0xbad00000;
  a->send(0, make_frame(to_b()));
  a->settle();
  EXPECT_EQ(pf->stats().dma_faults, 1u);
  EXPECT_EQ(b->rd(VFRDH(0)), 0u);
  EXPECT_EQ(b->rxd(0, 0)->wb.status_error & RXD_STAT_DD, 0u);
}

/* Threaded: two lcores ring tails of two queues concurrently; every frame arrives exactly once. */
TEST(ThreadedDatapath, ConcurrentTailWritersOnTwoQueuesDeliverEveryFrame) {
  GuestMem mem;
  PfConfig c;
  c.name = "threaded-dp";
  c.num_vfs = 2;
  auto pf = PfModel::create(c);
  Vf a(pf, mem, 0), b(pf, mem, 1);
  ASSERT_TRUE(a.up());
  ASSERT_TRUE(b.up());
  a.setup_tx(0, 512);
  a.setup_tx(1, 512);
  b.setup_rx(0, 1024);
  const unsigned kPerQueue = 300;
  FrameSpec s;
  s.dst = b.mac();
  s.src = a.mac();
  auto f = make_frame(s);
  /* pre-build descriptors, then two threads publish the tails */
  for (unsigned q = 0; q < 2; q++)
    for (unsigned i = 0; i < kPerQueue; i++) {
      f[50] = uint8_t(q);
      f[51] = uint8_t(i);
      f[52] = uint8_t(i >> 8);
      a.put_data(q, f.data(), f.size(), ADVTXD_DCMD_EOP | ADVTXD_DCMD_RS, 0);
    }
  auto ring = [&](unsigned q) {
    for (unsigned t = 1; t <= kPerQueue; t++)
      a.wr(VFTDT(q), t);
  };
  std::thread t0(ring, 0), t1(ring, 1);
  t0.join();
  t1.join();
  std::vector<int> seen(2 * kPerQueue, 0);
  unsigned got_n = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<uint8_t> got;
  while (got_n < 2 * kPerQueue && std::chrono::steady_clock::now() < deadline) {
    if (b.rx_poll(0, &got)) {
      seen[got[50] * kPerQueue + (got[51] | got[52] << 8)]++;
      got_n++;
    } else {
      std::this_thread::yield();
    }
  }
  EXPECT_EQ(got_n, 2 * kPerQueue);
  for (int v : seen)
    EXPECT_EQ(v, 1);
}

}  // namespace
