/* SPDX-License-Identifier: BSD-3-Clause
 * Register file, VF reset handshake and the PF side of the mailbox, driven as a VF driver would.
 */
#include "model_harness.h"

using namespace mt;
using namespace ixgbevf_lm::hw;
using std::chrono::microseconds;

namespace {

struct Single : ::testing::Test {
  GuestMem mem;
  std::shared_ptr<PfModel> pf;
  std::unique_ptr<Vf> vf;
  void make(PfConfig c) {
    pf = PfModel::create(c);
    vf = std::make_unique<Vf>(pf, mem, 0);
  }
  void SetUp() override { make(single_cfg("regs")); }
};

TEST_F(Single, RegisterResetValuesMatchDatasheet) {
  EXPECT_EQ(vf->rd(VFCTRL), 0u);
  EXPECT_EQ(vf->rd(VFMAILBOX), 0u);
  for (unsigned q = 0; q < kVfMaxQueues; q++) {
    EXPECT_EQ(vf->rd(VFSRRCTL(q)), 0x402u);
    EXPECT_EQ(vf->rd(VFRXDCTL(q)) & RXDCTL_ENABLE, 0u);
    EXPECT_EQ(vf->rd(VFTXDCTL(q)) & TXDCTL_ENABLE, 0u);
    EXPECT_EQ(vf->rd(VFRDH(q)), 0u);
    EXPECT_EQ(vf->rd(VFTDT(q)), 0u);
  }
  EXPECT_EQ(vf->rd(VFGPRC), 0u);
  EXPECT_EQ(vf->rd(VFGOTC_MSB), 0u);
}

TEST_F(Single, VflinksReportsLinkUpAt10G) {
  EXPECT_EQ(vf->rd(VFLINKS), LINKS_UP | LINKS_SPEED_10G_82599);
}

TEST_F(Single, LinkUpTakesLinkUpTimingAndPingsClearToSendVfs) {
  ASSERT_TRUE(vf->up());
  pf->set_link(false);
  EXPECT_EQ(vf->rd(VFLINKS) & LINKS_UP, 0u);
  std::vector<uint32_t> m;
  ASSERT_TRUE(vf->read_msg(&m, 1));
  EXPECT_EQ(m[0], PF_CONTROL_MSG | VT_MSGTYPE_CTS);
  pf->set_link(true);
  pf->advance_time(pf->config().timings.link_up - microseconds(1));
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFLINKS) & LINKS_UP, 0u);
  pf->advance_time(microseconds(1));
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFLINKS), LINKS_UP | LINKS_SPEED_10G_82599);
  ASSERT_TRUE(vf->read_msg(&m, 1));
  EXPECT_EQ(m[0], PF_CONTROL_MSG | VT_MSGTYPE_CTS);
}

TEST_F(Single, VfctrlResetRaisesRstdAfterResetTimingAndRstdClearsOnRead) {
  vf->wr(VFCTRL, CTRL_RST);
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u);
  pf->advance_time(pf->config().timings.vf_reset - microseconds(1));
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u);
  pf->advance_time(microseconds(1));
  pf->run_until_idle();
  EXPECT_NE(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u);
  EXPECT_EQ(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u) << "RSTD is read-to-clear";
  EXPECT_EQ(vf->rd(VFCTRL) & CTRL_RST, 0u) << "RST self-clears";
}

TEST_F(Single, ResetNeverCompletesFaultWithholdsRstd) {
  Faults f;
  f.reset_never_completes = true;
  pf->set_faults(f);
  vf->wr(VFCTRL, CTRL_RST);
  pf->advance_time(microseconds(100000));
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFMAILBOX) & (VFMAILBOX_RSTD | VFMAILBOX_RSTI), 0u);
}

TEST_F(Single, VfctrlResetDisablesQueuesAndClearsRingRegisters) {
  ASSERT_TRUE(vf->up());
  vf->setup_rx(0, 32);
  vf->setup_tx(0, 32);
  EXPECT_EQ(pf->vf_view(0).rx_queues_enabled, 1u);
  vf->wr(VFCTRL, CTRL_RST);
  EXPECT_EQ(vf->rd(VFRXDCTL(0)) & RXDCTL_ENABLE, 0u);
  EXPECT_EQ(vf->rd(VFTXDCTL(0)) & TXDCTL_ENABLE, 0u);
  EXPECT_EQ(vf->rd(VFRDLEN(0)), 0u);
  EXPECT_FALSE(pf->vf_view(0).clear_to_send);
}

TEST_F(Single, VfResetMessageRepliesPermanentMacAndFilterType) {
  MacAddr mac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  pf->set_vf_mac(0, mac);
  auto r = vf->reset();
  ASSERT_EQ(r.size(), VF_PERMADDR_MSG_LEN);
  EXPECT_EQ(r[0], VF_RESET | VT_MSGTYPE_ACK);
  uint8_t got[8];
  std::memcpy(got, &r[1], 8);
  EXPECT_EQ(0, std::memcmp(got, mac.data(), 6));
  EXPECT_EQ(r[VF_MC_TYPE_WORD], 0u);
  EXPECT_TRUE(pf->vf_view(0).clear_to_send);
  auto log = pf->mailbox_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].request, std::vector<uint32_t>{VF_RESET});
  EXPECT_EQ(log[0].reply[0], VF_RESET | VT_MSGTYPE_ACK);
}

TEST_F(Single, MessagesBeforeResetHandshakeAreNackedWithoutCts) {
  auto r = vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v13)});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0], VF_API_NEGOTIATE | VT_MSGTYPE_NACK);
  EXPECT_EQ(pf->stats().mailbox_nacks, 1u);
}

TEST_F(Single, MailboxReplyArrivesAfterResponseTiming) {
  ASSERT_FALSE(vf->reset().empty());
  vf->wr(VFMAILBOX, VFMAILBOX_VFU);
  vf->wr(VFMBMEM, VF_API_NEGOTIATE);
  vf->wr(VFMBMEM + 4, uint32_t(MbxApi::v11));
  vf->wr(VFMAILBOX, VFMAILBOX_REQ);
  pf->advance_time(pf->config().timings.mbx_response - microseconds(1));
  pf->run_until_idle();
  EXPECT_EQ(vf->rd(VFMAILBOX) & (VFMAILBOX_PFACK | VFMAILBOX_PFSTS), 0u);
  pf->advance_time(microseconds(1));
  pf->run_until_idle();
  uint32_t mb = vf->rd(VFMAILBOX);
  EXPECT_EQ(mb & (VFMAILBOX_PFACK | VFMAILBOX_PFSTS), VFMAILBOX_PFACK | VFMAILBOX_PFSTS);
  EXPECT_EQ(vf->rd(VFMAILBOX) & (VFMAILBOX_PFACK | VFMAILBOX_PFSTS), 0u) << "read-to-clear";
  EXPECT_EQ(vf->rd(VFMBMEM), VF_API_NEGOTIATE | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
}

/* Timed work is the device's state at the time of the read, not the model thread's progress: a
 * VF polling VFMAILBOX finds its reply and RSTD once they are due even if the model has not run
 * since (it may share the VF driver's CPU). Nothing here calls run_until_idle(). */
TEST_F(Single, MailboxReplyAndRstdAreThereAtTheirTimeWithoutTheModelRunning) {
  vf->wr(VFCTRL, CTRL_RST);
  pf->advance_time(pf->config().timings.vf_reset - microseconds(1));
  EXPECT_EQ(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u);
  pf->advance_time(microseconds(1));
  EXPECT_NE(vf->rd(VFMAILBOX) & VFMAILBOX_RSTD, 0u);

  vf->wr(VFMAILBOX, VFMAILBOX_VFU);
  vf->wr(VFMBMEM, VF_RESET);
  vf->wr(VFMAILBOX, VFMAILBOX_REQ);
  pf->advance_time(pf->config().timings.mbx_response - microseconds(1));
  EXPECT_EQ(vf->rd(VFMAILBOX) & (VFMAILBOX_PFACK | VFMAILBOX_PFSTS), 0u);
  pf->advance_time(microseconds(1));
  EXPECT_EQ(vf->rd(VFMAILBOX) & (VFMAILBOX_PFACK | VFMAILBOX_PFSTS), VFMAILBOX_PFACK | VFMAILBOX_PFSTS);
  EXPECT_EQ(vf->rd(VFMBMEM), VF_RESET | VT_MSGTYPE_ACK);
  EXPECT_TRUE(pf->vf_view(0).clear_to_send);
  EXPECT_EQ(pf->mailbox_log().size(), 1u) << "answered once, by the read";
}

TEST_F(Single, ApiNegotiateAcceptsEveryKnownVersionUpToMax) {
  ASSERT_FALSE(vf->reset().empty());
  for (MbxApi a : {MbxApi::v10, MbxApi::v11, MbxApi::v12, MbxApi::v13}) {
    auto r = vf->call({VF_API_NEGOTIATE, uint32_t(a)});
    EXPECT_EQ(r[0], VF_API_NEGOTIATE | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
    EXPECT_EQ(pf->vf_view(0).api, a);
  }
}

TEST_F(Single, ApiNegotiateNacksVersionsAbovePfMaximumSoVfFallsBack) {
  auto c = single_cfg("maxapi");
  c.max_api = MbxApi::v11;
  make(c);
  ASSERT_FALSE(vf->reset().empty());
  EXPECT_EQ(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v13)})[0], VF_API_NEGOTIATE | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v12)})[0], VF_API_NEGOTIATE | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v11)})[0], VF_API_NEGOTIATE | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(pf->vf_view(0).api, MbxApi::v11);
}

TEST_F(Single, ApiNegotiateNacksUnknownVersions) {
  ASSERT_FALSE(vf->reset().empty());
  for (uint32_t v : {uint32_t(MbxApi::unknown), 0x1234u, uint32_t(MbxApi::v20)})
    EXPECT_EQ(vf->call({VF_API_NEGOTIATE, v})[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK) << v;
  EXPECT_EQ(pf->vf_view(0).api, MbxApi::v10);
}

TEST_F(Single, GetQueuesNeedsApi11AndReportsQueueCounts) {
  ASSERT_FALSE(vf->reset().empty());
  EXPECT_EQ(vf->call({VF_GET_QUEUES}, kGetQueuesReplyWords)[0], VF_GET_QUEUES | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
  ASSERT_TRUE(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v11)})[0] & VT_MSGTYPE_ACK);
  auto r = vf->call({VF_GET_QUEUES}, kGetQueuesReplyWords);
  EXPECT_EQ(r[0], VF_GET_QUEUES | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(r[VF_TX_QUEUES], pf->config().queues_per_vf);
  EXPECT_EQ(r[VF_RX_QUEUES], pf->config().queues_per_vf);
  EXPECT_EQ(r[VF_TRANS_VLAN], 0u);
  EXPECT_EQ(r[VF_DEF_QUEUE], 0u);
}

std::vector<uint32_t> mac_msg(uint32_t id, const MacAddr &m) {
  std::vector<uint32_t> w(3, 0);
  w[0] = id;
  std::memcpy(&w[1], m.data(), 6);
  return w;
}

TEST_F(Single, SetMacAddrIsAcceptedWhenThePfAllowsIt) {
  ASSERT_TRUE(vf->up());
  MacAddr m{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, m))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(pf->vf_view(0).mac, m);
  MacAddr mc{0x01, 0, 0x5e, 0, 0, 1};
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, mc))[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK) << "multicast refused";
}

/* Linux's ixgbe: an untrusted VF may replace the address the PF generated, not one the host set
 * (`ip link set <pf> vf <n> mac`), nor add MAC filters beside it; trust lifts both. */
TEST_F(Single, SetMacAddrIsNackedForAnAdministeredMacUnlessTrusted) {
  ASSERT_TRUE(vf->up());
  MacAddr m{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, m2{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xef};
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, m))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS)
      << "a generated address is the VF's to change";
  MacAddr admin{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  pf->set_vf_mac(0, admin);
  ASSERT_TRUE(vf->up());
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, m))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, admin))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MACVLAN | (1u << VT_MSGINFO_SHIFT), m2))[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK);
  pf->set_vf_trusted(0, true);
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, m))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MACVLAN | (1u << VT_MSGINFO_SHIFT), m2))[0] & VT_MSGTYPE_ACK, VT_MSGTYPE_ACK);
}

TEST_F(Single, SetMacAddrOfAnyVfWhenThePfAllowsIt) {
  auto c = single_cfg("anymac");
  c.allow_vf_set_mac = true;
  make(c);
  pf->set_vf_mac(0, MacAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55});
  ASSERT_TRUE(vf->up());
  MacAddr m{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  EXPECT_EQ(vf->call(mac_msg(VF_SET_MAC_ADDR, m))[0], VF_SET_MAC_ADDR | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
}

TEST_F(Single, SetMulticastStoresUpToThirtyHashes) {
  ASSERT_TRUE(vf->up());
  std::vector<uint32_t> m(16, 0);
  m[0] = VF_SET_MULTICAST | (3u << VT_MSGINFO_SHIFT);
  m[1] = 0x0222'0111;
  m[2] = 0x0333;
  EXPECT_EQ(vf->call(m, 1)[0], (VF_SET_MULTICAST | (3u << VT_MSGINFO_SHIFT)) | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(pf->vf_view(0).mc_hashes, (std::vector<uint16_t>{0x111, 0x222, 0x333}));
  m[0] = VF_SET_MULTICAST | (40u << VT_MSGINFO_SHIFT);
  vf->call(m, 1);
  EXPECT_EQ(pf->vf_view(0).mc_hashes.size(), kMaxMulticastHashes);
}

TEST_F(Single, SetVlanAddsAndRemovesFilters) {
  ASSERT_TRUE(vf->up());
  EXPECT_TRUE(vf->call({VF_SET_VLAN | (1u << VF_SET_VLAN_ADD_SHIFT), 100})[0] & VT_MSGTYPE_ACK);
  EXPECT_TRUE(vf->call({VF_SET_VLAN | (1u << VF_SET_VLAN_ADD_SHIFT), 200})[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(pf->vf_view(0).vlans, (std::set<uint16_t>{100, 200}));
  EXPECT_TRUE(vf->call({VF_SET_VLAN, 100})[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(pf->vf_view(0).vlans, (std::set<uint16_t>{200}));
}

TEST_F(Single, SetLpeAcceptsJumboAndNacksAbove9728) {
  ASSERT_TRUE(vf->up());
  EXPECT_EQ(vf->call({VF_SET_LPE, 9018})[0], VF_SET_LPE | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(pf->vf_view(0).max_frame, 9018u);
  EXPECT_EQ(vf->call({VF_SET_LPE, 9729})[0], VF_SET_LPE | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
  EXPECT_EQ(pf->vf_view(0).max_frame, 9018u);
}

TEST_F(Single, SetMacvlanAddsFiltersAndIndexZeroClears) {
  ASSERT_TRUE(vf->up());
  MacAddr a{0x02, 1, 1, 1, 1, 1}, b{0x02, 2, 2, 2, 2, 2};
  EXPECT_TRUE(vf->call(mac_msg(VF_SET_MACVLAN | (1u << VT_MSGINFO_SHIFT), a))[0] & VT_MSGTYPE_ACK);
  EXPECT_TRUE(vf->call(mac_msg(VF_SET_MACVLAN | (2u << VT_MSGINFO_SHIFT), b))[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(pf->vf_view(0).macvlans.size(), 2u);
  EXPECT_TRUE(vf->call({VF_SET_MACVLAN})[0] & VT_MSGTYPE_ACK);
  EXPECT_TRUE(pf->vf_view(0).macvlans.empty());
}

TEST_F(Single, GetRetaNeedsApi12AndPacksTwoBitsPerEntry) {
  ASSERT_TRUE(vf->up(MbxApi::v11));
  EXPECT_EQ(vf->call({VF_GET_RETA}, 9)[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK);
  ASSERT_TRUE(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v12)})[0] & VT_MSGTYPE_ACK);
  auto r = vf->call({VF_GET_RETA}, 9);
  EXPECT_EQ(r[0], VF_GET_RETA | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  /* default RETA spreads entries over the pool's 2 queues: 0,1,0,1,... -> 0b01 per pair */
  for (unsigned i = 1; i < 9; i++)
    EXPECT_EQ(r[i], 0x44444444u) << i;
}

TEST_F(Single, GetRssKeyReturnsFortyByteKey) {
  ASSERT_TRUE(vf->up(MbxApi::v12));
  auto r = vf->call({VF_GET_RSS_KEY}, 11);
  EXPECT_EQ(r[0], VF_GET_RSS_KEY | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
  uint8_t key[40];
  std::memcpy(key, &r[1], 40);
  EXPECT_EQ(key[0], 0x6d);
  EXPECT_EQ(key[39], 0xfa);
}

/* Linux's ixgbe: promiscuous needs API 1.3; an untrusted VF's all-multicast or promiscuous request
 * is granted as multicast only, the reply's word 1 saying so; trust (or the PF's policy) grants it. */
TEST_F(Single, XcastPromiscNeedsApi13AndAnUntrustedVfGetsMulticastOnly) {
  ASSERT_TRUE(vf->up(MbxApi::v12));
  auto r = vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::allmulti)});
  ASSERT_GE(r.size(), 2u);
  EXPECT_TRUE(r[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(r[1], uint32_t(XcastMode::multi)) << "untrusted: multicast only";
  EXPECT_EQ(pf->vf_view(0).xcast, XcastMode::multi);
  EXPECT_TRUE(vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::promisc)})[0] & VT_MSGTYPE_NACK) << "1.2";
  ASSERT_TRUE(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v13)})[0] & VT_MSGTYPE_ACK);
  r = vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::promisc)});
  ASSERT_GE(r.size(), 2u);
  EXPECT_TRUE(r[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(r[1], uint32_t(XcastMode::multi));
  pf->set_vf_trusted(0, true);
  r = vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::promisc)});
  ASSERT_GE(r.size(), 2u);
  EXPECT_TRUE(r[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(r[1], uint32_t(XcastMode::promisc));
  EXPECT_EQ(pf->vf_view(0).xcast, XcastMode::promisc);
  EXPECT_TRUE(vf->call({VF_UPDATE_XCAST_MODE, 7})[0] & VT_MSGTYPE_NACK);
}

TEST_F(Single, XcastAsAskedWhenThePfAllowsIt) {
  auto c = single_cfg("xcastok");
  c.allow_vf_promisc = true;
  make(c);
  ASSERT_TRUE(vf->up(MbxApi::v13));
  auto r = vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::promisc)});
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r[1], uint32_t(XcastMode::promisc));
}

TEST_F(Single, XcastModeNeedsApi12) {
  ASSERT_TRUE(vf->up(MbxApi::v11));
  EXPECT_TRUE(vf->call({VF_UPDATE_XCAST_MODE, uint32_t(XcastMode::allmulti)})[0] & VT_MSGTYPE_NACK);
}

TEST_F(Single, UnknownMessageIdIsNacked) {
  ASSERT_TRUE(vf->up());
  EXPECT_EQ(vf->call({0x77, 1, 2})[0], 0x77u | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS);
}

TEST_F(Single, GarbageRequestsAreNackedWithoutCrashing) {
  ASSERT_TRUE(vf->up());
  /* REQ with an empty buffer */
  for (unsigned i = 0; i < kMbxSizeWords; i++)
    vf->wr(VFMBMEM + 4 * i, 0);
  ASSERT_TRUE(vf->write_msg({}));
  std::vector<uint32_t> r;
  ASSERT_TRUE(vf->read_msg(&r, 1));
  EXPECT_EQ(r[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK);
  /* an echoed reply */
  EXPECT_EQ(vf->call({VF_SET_LPE | VT_MSGTYPE_ACK, 1518})[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK);
  /* all ones */
  std::vector<uint32_t> ones(16, 0xFFFFFFFF);
  EXPECT_EQ(vf->call(ones, 1)[0] & VT_MSGTYPE_NACK, VT_MSGTYPE_NACK);
  EXPECT_TRUE(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v13)})[0] & VT_MSGTYPE_ACK) << "still serving";
}

TEST_F(Single, MailboxSilentFaultLeavesRequestsUnanswered) {
  ASSERT_TRUE(vf->up());
  Faults f;
  f.mailbox_silent = true;
  pf->set_faults(f);
  EXPECT_FALSE(vf->write_msg({VF_SET_LPE, 1518}));
  pf->set_faults({});
  vf->tick(pf->config().timings.mbx_response);
  std::vector<uint32_t> r;
  ASSERT_TRUE(vf->read_msg(&r, 2)) << "answered once the fault is lifted";
  EXPECT_EQ(r[0], VF_SET_LPE | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
}

TEST_F(Single, MigrationMessageCarriesPhaseInWordOne) {
  ASSERT_TRUE(vf->up());
  pf->send_migration_message(0, 3);
  std::vector<uint32_t> m;
  ASSERT_TRUE(vf->read_msg(&m, 2));
  EXPECT_EQ(m[0], PF_MIGRATION_MSG | VT_MSGTYPE_CTS);
  EXPECT_EQ(m[1], 3u);
}

TEST_F(Single, ControlMessageBeforeHandshakeHasNoCts) {
  pf->send_control_message(0);
  std::vector<uint32_t> m;
  ASSERT_TRUE(vf->read_msg(&m, 1));
  EXPECT_EQ(m[0], PF_CONTROL_MSG);
}

TEST_F(Single, PfResetSetsRstiUntilTheVfResetsItself) {
  ASSERT_TRUE(vf->up());
  vf->setup_rx(0, 32);
  pf->pf_reset();
  EXPECT_NE(vf->rd(VFMAILBOX) & VFMAILBOX_RSTI, 0u);
  EXPECT_NE(vf->rd(VFMAILBOX) & VFMAILBOX_RSTI, 0u) << "RSTI is a level, not read-to-clear";
  EXPECT_EQ(vf->rd(VFRXDCTL(0)) & RXDCTL_ENABLE, 0u);
  EXPECT_FALSE(pf->vf_view(0).clear_to_send);
  EXPECT_TRUE(vf->call({VF_API_NEGOTIATE, uint32_t(MbxApi::v13)})[0] & VT_MSGTYPE_NACK);
  ASSERT_TRUE(vf->up());
  EXPECT_TRUE(vf->wait([&] { return !(vf->rd(VFMAILBOX) & VFMAILBOX_RSTI); }))
      << "RSTI drops when the VF's own reset completes";
  EXPECT_TRUE(pf->vf_view(0).clear_to_send);
}

TEST_F(Single, StatisticsWrapAtTheirRegisterWidths) {
  VfCounterPreset p;
  p.gprc = 0xFFFFFFFFull;
  p.gorc = (1ull << 36) - 10;
  pf->set_vf_counters(0, p);
  EXPECT_EQ(vf->rd(VFGPRC), 0xFFFFFFFFu);
  EXPECT_EQ(vf->rd(VFGORC_MSB), 0xFu);
  EXPECT_EQ(vf->rd(VFGORC_LSB), 0xFFFFFFF6u);
  ASSERT_TRUE(vf->up());
  vf->setup_rx(0, 32);
  /* a second VF sends one 100-byte frame to this one */
  Vf peer(pf, mem, 1);
  ASSERT_TRUE(peer.up());
  peer.setup_tx(0, 32);
  FrameSpec s;
  s.dst = vf->mac();
  s.src = peer.mac();
  s.payload = 100 - 42;
  auto f = make_frame(s);
  ASSERT_EQ(f.size(), 100u);
  peer.send(0, f);
  std::vector<uint8_t> got;
  ASSERT_TRUE(vf->rx_wait(0, &got));
  EXPECT_EQ(vf->rd(VFGPRC), 0u) << "32-bit wrap";
  EXPECT_EQ(vf->rd(VFGORC_MSB), 0u) << "36-bit wrap";
  EXPECT_EQ(vf->rd(VFGORC_LSB), 90u);
  EXPECT_EQ(vf->rd(VFGORC_LSB), 90u) << "not cleared on read";
  EXPECT_EQ(peer.rd(VFGPTC), 1u);
  EXPECT_EQ(peer.rd(VFGOTC_LSB), 100u);
}

TEST(Threaded, ResetHandshakeAndMailboxCompleteInThreadedMode) {
  GuestMem mem;
  PfConfig c;
  c.name = "threaded-mbx";
  c.num_vfs = 2;
  auto pf = PfModel::create(c);
  Vf vf(pf, mem, 0);
  ASSERT_TRUE(vf.up());
  auto r = vf.call({VF_GET_QUEUES}, kGetQueuesReplyWords);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0], VF_GET_QUEUES | VT_MSGTYPE_ACK | VT_MSGTYPE_CTS);
}

TEST(CApi, WindowOpensOnRegistryPfAndReadsRegisters) {
  char err[128] = "";
  auto *w = ixgbevf_lm_vf_window_open("capi-pf", 4, 1, err, sizeof err);
  ASSERT_NE(w, nullptr) << err;
  EXPECT_EQ(ixgbevf_lm_vf_read32(w, VFLINKS) & LINKS_UP, LINKS_UP);
  auto *w2 = ixgbevf_lm_vf_window_open("capi-pf", 4, 1, err, sizeof err);
  EXPECT_EQ(w2, nullptr);
  EXPECT_NE(std::string(err).find("already"), std::string::npos);
  EXPECT_EQ(ixgbevf_lm_vf_window_open("capi-pf", 4, 9, err, sizeof err), nullptr);
  alignas(4096) static uint8_t page[4096];
  EXPECT_EQ(ixgbevf_lm_guest_memory_map(0x1000, page, sizeof page), 0);
  EXPECT_NE(ixgbevf_lm_guest_memory_map(0x1800, page, sizeof page), 0) << "overlap";
  ixgbevf_lm_vf_window_close(w);
  EXPECT_NE(Registry::instance().find("capi-pf"), nullptr);
  Registry::instance().remove("capi-pf");
  EXPECT_EQ(Registry::instance().find("capi-pf"), nullptr);
}

}  // namespace
