/* SPDX-License-Identifier: BSD-3-Clause
 * The PF-VF mailbox of lib/hw against Intel's ixgbe_mbx.h / ixgbe_type.h: VFMAILBOX bits, message
 * word layout, message IDs, API revisions, xcast modes, reply word indexes and retry parameters.
 */
#include "intel_shared_code.h"

namespace hw = ixgbevf_lm::hw;

TEST(Mailbox, VfMailboxRegisterBits) {
  EXPECT_SAME(hw::VFMAILBOX_REQ, IXGBE_VFMAILBOX_REQ);
  EXPECT_SAME(hw::VFMAILBOX_ACK, IXGBE_VFMAILBOX_ACK);
  EXPECT_SAME(hw::VFMAILBOX_VFU, IXGBE_VFMAILBOX_VFU);
  EXPECT_SAME(hw::VFMAILBOX_PFU, IXGBE_VFMAILBOX_PFU);
  EXPECT_SAME(hw::VFMAILBOX_PFSTS, IXGBE_VFMAILBOX_PFSTS);
  EXPECT_SAME(hw::VFMAILBOX_PFACK, IXGBE_VFMAILBOX_PFACK);
  EXPECT_SAME(hw::VFMAILBOX_RSTI, IXGBE_VFMAILBOX_RSTI);
  EXPECT_SAME(hw::VFMAILBOX_RSTD, IXGBE_VFMAILBOX_RSTD);
  EXPECT_SAME(hw::VFMAILBOX_R2C_BITS, IXGBE_VFMAILBOX_R2C_BITS);
}

TEST(Mailbox, MessageWordFlagsAndInfoField) {
  EXPECT_SAME(hw::VT_MSGTYPE_ACK, IXGBE_VT_MSGTYPE_ACK);
  EXPECT_SAME(hw::VT_MSGTYPE_NACK, IXGBE_VT_MSGTYPE_NACK);
  EXPECT_SAME(hw::VT_MSGTYPE_CTS, IXGBE_VT_MSGTYPE_CTS);
  EXPECT_SAME(hw::VT_MSGINFO_SHIFT, IXGBE_VT_MSGINFO_SHIFT);
  EXPECT_SAME(hw::VT_MSGINFO_MASK, IXGBE_VT_MSGINFO_MASK);
  /* The ID field is what the flags and the info field leave. */
  EXPECT_EQ(hw::VT_MSGID_MASK & (IXGBE_VT_MSGTYPE_ACK | IXGBE_VT_MSGTYPE_NACK | IXGBE_VT_MSGTYPE_CTS |
                                 uint32_t(IXGBE_VT_MSGINFO_MASK)),
            0u);
}

TEST(Mailbox, VfToPfMessageIds) {
  EXPECT_SAME(hw::VF_RESET, IXGBE_VF_RESET);
  EXPECT_SAME(hw::VF_SET_MAC_ADDR, IXGBE_VF_SET_MAC_ADDR);
  EXPECT_SAME(hw::VF_SET_MULTICAST, IXGBE_VF_SET_MULTICAST);
  EXPECT_SAME(hw::VF_SET_VLAN, IXGBE_VF_SET_VLAN);
  EXPECT_SAME(hw::VF_SET_LPE, IXGBE_VF_SET_LPE);
  EXPECT_SAME(hw::VF_SET_MACVLAN, IXGBE_VF_SET_MACVLAN);
  EXPECT_SAME(hw::VF_API_NEGOTIATE, IXGBE_VF_API_NEGOTIATE);
  EXPECT_SAME(hw::VF_GET_QUEUES, IXGBE_VF_GET_QUEUES);
  EXPECT_SAME(hw::VF_GET_RETA, IXGBE_VF_GET_RETA);
  EXPECT_SAME(hw::VF_GET_RSS_KEY, IXGBE_VF_GET_RSS_KEY);
  EXPECT_SAME(hw::VF_UPDATE_XCAST_MODE, IXGBE_VF_UPDATE_XCAST_MODE);
}

TEST(Mailbox, IpsecMessagesFollowTheLastSharedCodeIdWithoutClashing) {
  /* VF_IPSEC_ADD/DEL are Linux's (API 1.4); the shared code in DPDK has none. They follow
   * UPDATE_XCAST_MODE and clash with no ID the shared code defines. */
  EXPECT_EQ(hw::VF_IPSEC_ADD, uint32_t(IXGBE_VF_UPDATE_XCAST_MODE) + 1);
  EXPECT_EQ(hw::VF_IPSEC_DEL, hw::VF_IPSEC_ADD + 1);
  for (uint32_t id : {IXGBE_VF_RESET, IXGBE_VF_SET_MAC_ADDR, IXGBE_VF_SET_MULTICAST, IXGBE_VF_SET_VLAN,
                      IXGBE_VF_SET_LPE, IXGBE_VF_SET_MACVLAN, IXGBE_VF_API_NEGOTIATE, IXGBE_VF_GET_QUEUES,
                      IXGBE_VF_GET_RETA, IXGBE_VF_GET_RSS_KEY, IXGBE_VF_UPDATE_XCAST_MODE}) {
    EXPECT_NE(hw::VF_IPSEC_ADD, id);
    EXPECT_NE(hw::VF_IPSEC_DEL, id);
  }
}

TEST(Mailbox, PfToVfMessageIds) {
  EXPECT_SAME(hw::PF_CONTROL_MSG, IXGBE_PF_CONTROL_MSG);
}

TEST(Mailbox, MigrationMessageIsNotAnIntelMessageId) {
  /* The project's extension must not be mistaken for anything a stock PF or VF sends. */
  for (uint32_t id : {IXGBE_VF_RESET, IXGBE_VF_SET_MAC_ADDR, IXGBE_VF_SET_MULTICAST, IXGBE_VF_SET_VLAN,
                      IXGBE_VF_SET_LPE, IXGBE_VF_SET_MACVLAN, IXGBE_VF_API_NEGOTIATE, IXGBE_VF_GET_QUEUES,
                      IXGBE_VF_GET_RETA, IXGBE_VF_GET_RSS_KEY, IXGBE_VF_UPDATE_XCAST_MODE,
                      IXGBE_VF_ENABLE_MACADDR, IXGBE_VF_DISABLE_MACADDR, IXGBE_VF_GET_MACADDRS,
                      IXGBE_VF_SET_MCAST_PROMISC, IXGBE_VF_GET_MTU, IXGBE_VF_SET_MTU, IXGBE_PF_CONTROL_MSG,
                      IXGBE_PF_TRANSPARENT_VLAN}) {
    EXPECT_NE(hw::PF_MIGRATION_MSG, id);
  }
  EXPECT_EQ(hw::PF_MIGRATION_MSG & ~hw::VT_MSGID_MASK, 0u) << "fits the ID field";
}

TEST(Mailbox, ApiRevisions) {
  EXPECT_SAME(hw::MbxApi::v10, ixgbe_mbox_api_10);
  EXPECT_SAME(hw::MbxApi::v20, ixgbe_mbox_api_20);
  EXPECT_SAME(hw::MbxApi::v11, ixgbe_mbox_api_11);
  EXPECT_SAME(hw::MbxApi::v12, ixgbe_mbox_api_12);
  EXPECT_SAME(hw::MbxApi::v13, ixgbe_mbox_api_13);
  /* DPDK's shared code stops at 1.3 and puts `unknown` where Linux's enum has 1.4 (IPsec). */
  EXPECT_EQ(uint32_t(hw::MbxApi::v14), uint32_t(ixgbe_mbox_api_unknown));
  EXPECT_GT(uint32_t(hw::MbxApi::unknown), uint32_t(hw::MbxApi::v14));
}

TEST(Mailbox, XcastModes) {
  EXPECT_SAME(hw::XcastMode::none, IXGBEVF_XCAST_MODE_NONE);
  EXPECT_SAME(hw::XcastMode::multi, IXGBEVF_XCAST_MODE_MULTI);
  EXPECT_SAME(hw::XcastMode::allmulti, IXGBEVF_XCAST_MODE_ALLMULTI);
  EXPECT_SAME(hw::XcastMode::promisc, IXGBEVF_XCAST_MODE_PROMISC);
}

TEST(Mailbox, GetQueuesReplyWordIndexes) {
  EXPECT_SAME(hw::VF_TX_QUEUES, IXGBE_VF_TX_QUEUES);
  EXPECT_SAME(hw::VF_RX_QUEUES, IXGBE_VF_RX_QUEUES);
  EXPECT_SAME(hw::VF_TRANS_VLAN, IXGBE_VF_TRANS_VLAN);
  EXPECT_SAME(hw::VF_DEF_QUEUE, IXGBE_VF_DEF_QUEUE);
  EXPECT_SAME(hw::kGetQueuesReplyWords, IXGBE_VF_DEF_QUEUE + 1);
}

TEST(Mailbox, ResetReplyLayout) {
  EXPECT_SAME(hw::VF_PERMADDR_MSG_LEN, IXGBE_VF_PERMADDR_MSG_LEN);
  EXPECT_SAME(hw::VF_MC_TYPE_WORD, IXGBE_VF_MC_TYPE_WORD);
  EXPECT_LE(hw::VF_PERMADDR_MSG_LEN, unsigned(IXGBE_VFMAILBOX_SIZE));
}

TEST(Mailbox, RetryParameters) {
  EXPECT_SAME(hw::VF_MBX_INIT_TIMEOUT, IXGBE_VF_MBX_INIT_TIMEOUT);
  EXPECT_SAME(hw::VF_MBX_INIT_DELAY_US, IXGBE_VF_MBX_INIT_DELAY);
  EXPECT_SAME(hw::VF_INIT_TIMEOUT, IXGBE_VF_INIT_TIMEOUT);
}
