/* SPDX-License-Identifier: BSD-3-Clause
 * The PF-VF mailbox: VFMAILBOX bits and the message protocol spoken by Intel's PF drivers.
 */
#pragma once

#include <cstdint>

namespace ixgbevf_lm::hw {

inline constexpr unsigned kMbxSizeWords = 16;   /* VFMBMEM holds 16 dwords */

/* VFMAILBOX bits. REQ and ACK are written by the VF; the rest are status. */
inline constexpr uint32_t VFMAILBOX_REQ = 0x00000001;   /* VF asks the PF to read its message */
inline constexpr uint32_t VFMAILBOX_ACK = 0x00000002;   /* VF acknowledges the PF's message */
inline constexpr uint32_t VFMAILBOX_VFU = 0x00000004;   /* VF owns the buffer */
inline constexpr uint32_t VFMAILBOX_PFU = 0x00000008;   /* PF owns the buffer */
inline constexpr uint32_t VFMAILBOX_PFSTS = 0x00000010; /* PF wrote a message (read-to-clear) */
inline constexpr uint32_t VFMAILBOX_PFACK = 0x00000020; /* PF acknowledged the VF's message (read-to-clear) */
inline constexpr uint32_t VFMAILBOX_RSTI = 0x00000040;  /* PF is resetting the VF (level) */
inline constexpr uint32_t VFMAILBOX_RSTD = 0x00000080;  /* VF reset done (read-to-clear) */
inline constexpr uint32_t VFMAILBOX_R2C_BITS = 0x000000B0;

/* Message word 0: id in bits 15:0, info in 23:16, flags in 31:29. */
inline constexpr uint32_t VT_MSGTYPE_ACK = 0x80000000;
inline constexpr uint32_t VT_MSGTYPE_NACK = 0x40000000;
inline constexpr uint32_t VT_MSGTYPE_CTS = 0x20000000;  /* PF: VF is clear to send */
inline constexpr unsigned VT_MSGINFO_SHIFT = 16;
inline constexpr uint32_t VT_MSGINFO_MASK = 0xFFu << VT_MSGINFO_SHIFT;
inline constexpr uint32_t VT_MSGID_MASK = 0x0000FFFF;

/* Message IDs (VF to PF) */
inline constexpr uint32_t VF_RESET = 0x01;
inline constexpr uint32_t VF_SET_MAC_ADDR = 0x02;
inline constexpr uint32_t VF_SET_MULTICAST = 0x03;
inline constexpr uint32_t VF_SET_VLAN = 0x04;
inline constexpr uint32_t VF_SET_LPE = 0x05;
inline constexpr uint32_t VF_SET_MACVLAN = 0x06;
inline constexpr uint32_t VF_API_NEGOTIATE = 0x08;
inline constexpr uint32_t VF_GET_QUEUES = 0x09;
inline constexpr uint32_t VF_GET_RETA = 0x0a;
inline constexpr uint32_t VF_GET_RSS_KEY = 0x0b;
inline constexpr uint32_t VF_UPDATE_XCAST_MODE = 0x0c;
/* API 1.4 (Linux ixgbe/ixgbevf; DPDK's shared code stops at 1.3): the VF asks the PF to program an
 * IPsec SA into the device's tables (the VF has no access to them) or to remove one. */
inline constexpr uint32_t VF_IPSEC_ADD = 0x0d;
inline constexpr uint32_t VF_IPSEC_DEL = 0x0e;

/* PF to VF */
inline constexpr uint32_t PF_CONTROL_MSG = 0x0100;
/* Project extension: the PF announces that the VM is about to be migrated (word 1 carries a
 * MigrationPhase). A stock Linux/DPDK PF never sends it; a PF that supports ixgbevf_lm must. */
inline constexpr uint32_t PF_MIGRATION_MSG = 0x0200;

/* Mailbox API revisions, in Intel's enum order (the value is what API_NEGOTIATE carries). */
enum class MbxApi : uint32_t {
  v10 = 0,
  v20 = 1,
  v11 = 2,
  v12 = 3,
  v13 = 4,
  v14 = 5,      /* Linux's next revision: IPsec SA messages (DPDK's shared code has `unknown` here) */
  unknown = 6,
};

/* UPDATE_XCAST_MODE values (API 1.2+; PROMISC needs 1.3). */
enum class XcastMode : uint32_t {
  none = 0,
  multi = 1,
  allmulti = 2,
  promisc = 3,
};

/* GET_QUEUES reply words */
inline constexpr unsigned VF_TX_QUEUES = 1;
inline constexpr unsigned VF_RX_QUEUES = 2;
inline constexpr unsigned VF_TRANS_VLAN = 3;
inline constexpr unsigned VF_DEF_QUEUE = 4;
inline constexpr unsigned kGetQueuesReplyWords = 5;

/* VF_RESET reply: word 0 ack, words 1-2 the permanent MAC (6 bytes), word 3 the multicast filter type. */
inline constexpr unsigned VF_PERMADDR_MSG_LEN = 4;
inline constexpr unsigned VF_MC_TYPE_WORD = 3;

/* SET_MULTICAST carries at most 30 hashes (16-bit each, two per word); info holds the count. */
inline constexpr unsigned kMaxMulticastHashes = 30;
/* SET_VLAN: info bit 0 = add (1) / remove (0), word 1 the VLAN id. */
inline constexpr unsigned VF_SET_VLAN_ADD_SHIFT = VT_MSGINFO_SHIFT;
/* SET_MACVLAN: info is the filter index (0 clears all the VF's extra filters). */

/* Retries Intel's shared code allows; our driver polls with bounded wall-clock waits instead. */
inline constexpr unsigned VF_MBX_INIT_TIMEOUT = 2000;
inline constexpr unsigned VF_MBX_INIT_DELAY_US = 500;
inline constexpr unsigned VF_INIT_TIMEOUT = 10000;

}  // namespace ixgbevf_lm::hw
