/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbe VF BAR0 register map (82599/X540/X550 datasheets, "Virtual Function Registers"),
 * shared by the PMD and the device model. Offsets are bytes from the start of BAR0.
 */
#pragma once

#include <cstdint>

namespace ixgbevf_lm::hw {

/* Maximum queues a VF can own (8 on 82599 with 16 VFs or fewer). */
inline constexpr unsigned kVfMaxQueues = 8;
/* The per-queue register blocks are 0x40 bytes apart. */
inline constexpr uint32_t kQueueStride = 0x40;
/* Size of the VF's register BAR (BAR0, 16 KiB). */
inline constexpr uint32_t kVfBar0Size = 0x4000;

/* General */
inline constexpr uint32_t VFCTRL = 0x00000;
inline constexpr uint32_t VFSTATUS = 0x00008;
inline constexpr uint32_t VFLINKS = 0x00010;
inline constexpr uint32_t VFFRTIMER = 0x00048;
inline constexpr uint32_t VFRXMEMWRAP = 0x03190;

/* Interrupts */
inline constexpr uint32_t VTEICR = 0x00100;
inline constexpr uint32_t VTEICS = 0x00104;
inline constexpr uint32_t VTEIMS = 0x00108;
inline constexpr uint32_t VTEIMC = 0x0010C;
inline constexpr uint32_t VTEIAC = 0x00110;
inline constexpr uint32_t VTEIAM = 0x00114;
constexpr uint32_t VTEITR(unsigned i) { return 0x00820 + 4 * i; }
constexpr uint32_t VTIVAR(unsigned i) { return 0x00120 + 4 * i; }
inline constexpr uint32_t VTIVAR_MISC = 0x00140;
constexpr uint32_t VTRSCINT(unsigned i) { return 0x00180 + 4 * i; }

/* Mailbox */
inline constexpr uint32_t VFMBMEM = 0x00200;    /* 16 dwords of message buffer */
inline constexpr uint32_t VFMAILBOX = 0x002FC;

/* Receive queues */
constexpr uint32_t VFRDBAL(unsigned q) { return 0x01000 + kQueueStride * q; }
constexpr uint32_t VFRDBAH(unsigned q) { return 0x01004 + kQueueStride * q; }
constexpr uint32_t VFRDLEN(unsigned q) { return 0x01008 + kQueueStride * q; }
constexpr uint32_t VFDCA_RXCTRL(unsigned q) { return 0x0100C + kQueueStride * q; }
constexpr uint32_t VFRDH(unsigned q) { return 0x01010 + kQueueStride * q; }
constexpr uint32_t VFSRRCTL(unsigned q) { return 0x01014 + kQueueStride * q; }
constexpr uint32_t VFRDT(unsigned q) { return 0x01018 + kQueueStride * q; }
constexpr uint32_t VFRXDCTL(unsigned q) { return 0x01028 + kQueueStride * q; }
inline constexpr uint32_t VFPSRTYPE = 0x00300;

/* Transmit queues */
constexpr uint32_t VFTDBAL(unsigned q) { return 0x02000 + kQueueStride * q; }
constexpr uint32_t VFTDBAH(unsigned q) { return 0x02004 + kQueueStride * q; }
constexpr uint32_t VFTDLEN(unsigned q) { return 0x02008 + kQueueStride * q; }
constexpr uint32_t VFDCA_TXCTRL(unsigned q) { return 0x0200C + kQueueStride * q; }
constexpr uint32_t VFTDH(unsigned q) { return 0x02010 + kQueueStride * q; }
constexpr uint32_t VFTDT(unsigned q) { return 0x02018 + kQueueStride * q; }
constexpr uint32_t VFTXDCTL(unsigned q) { return 0x02028 + kQueueStride * q; }
constexpr uint32_t VFTDWBAL(unsigned q) { return 0x02038 + kQueueStride * q; }
constexpr uint32_t VFTDWBAH(unsigned q) { return 0x0203C + kQueueStride * q; }

/* Statistics: 32-bit packet counters, 36-bit octet counters split LSB/MSB; all wrap, none clear on read. */
inline constexpr uint32_t VFGPRC = 0x0101C;
inline constexpr uint32_t VFGPTC = 0x0201C;
inline constexpr uint32_t VFGORC_LSB = 0x01020;
inline constexpr uint32_t VFGORC_MSB = 0x01024;
inline constexpr uint32_t VFGOTC_LSB = 0x02020;
inline constexpr uint32_t VFGOTC_MSB = 0x02024;
inline constexpr uint32_t VFMPRC = 0x01034;
inline constexpr unsigned kStatOctetBits = 36;

/* RSS (X550 and later expose these per VF; 82599/X540 VFs share the PF's and ask via the mailbox) */
inline constexpr uint32_t VFMRQC = 0x03000;
constexpr uint32_t VFRSSRK(unsigned i) { return 0x03100 + 4 * i; }
constexpr uint32_t VFRETA(unsigned i) { return 0x03200 + 4 * i; }
inline constexpr unsigned kVfRssKeyWords = 10;   /* 40-byte Toeplitz key */
inline constexpr unsigned kVfRetaRegs = 16;      /* 64 entries, 4 per register */
inline constexpr unsigned kVfRetaEntries = 64;

/* VFCTRL */
inline constexpr uint32_t CTRL_RST = 0x04000000;

/* VFLINKS */
inline constexpr uint32_t LINKS_UP = 0x40000000;
inline constexpr uint32_t LINKS_SPEED_82599_MASK = 0x30000000;
inline constexpr uint32_t LINKS_SPEED_10G_82599 = 0x30000000;
inline constexpr uint32_t LINKS_SPEED_1G_82599 = 0x20000000;
inline constexpr uint32_t LINKS_SPEED_100_82599 = 0x10000000;
inline constexpr uint32_t LINKS_SPEED_NON_STD = 0x08000000;

/* VTEICR/VTEIMS: bit 2 is the mailbox/other cause on a VF; bits 0-1 the queue vectors. */
inline constexpr uint32_t VF_IRQ_CLEAR_MASK = 7;
inline constexpr uint32_t EICR_OTHER = 0x80000000;

/* RXDCTL / TXDCTL */
inline constexpr uint32_t RXDCTL_ENABLE = 0x02000000;
inline constexpr uint32_t RXDCTL_SWFLSH = 0x04000000;
inline constexpr uint32_t RXDCTL_RLPMLMASK = 0x00003FFF;
inline constexpr uint32_t RXDCTL_RLPML_EN = 0x00008000;
inline constexpr uint32_t RXDCTL_VME = 0x40000000;
inline constexpr uint32_t TXDCTL_ENABLE = 0x02000000;
inline constexpr uint32_t TXDCTL_SWFLSH = 0x04000000;
inline constexpr unsigned TXDCTL_PTHRESH_SHIFT = 0;
inline constexpr unsigned TXDCTL_HTHRESH_SHIFT = 8;
inline constexpr unsigned TXDCTL_WTHRESH_SHIFT = 16;
inline constexpr uint32_t TDWBAL_HEAD_WB_ENABLE = 0x1;  /* bit 0 of TDWBAL enables head write-back */

/* SRRCTL */
inline constexpr unsigned SRRCTL_BSIZEPKT_SHIFT = 10;   /* packet buffer size in KiB units */
inline constexpr uint32_t SRRCTL_BSIZEPKT_MASK = 0x0000007F;
inline constexpr unsigned SRRCTL_BSIZEHDRSIZE_SHIFT = 2;
inline constexpr uint32_t SRRCTL_BSIZEHDR_MASK = 0x00003F00;
inline constexpr uint32_t SRRCTL_DESCTYPE_MASK = 0x0E000000;
inline constexpr uint32_t SRRCTL_DESCTYPE_LEGACY = 0x00000000;
inline constexpr uint32_t SRRCTL_DESCTYPE_ADV_ONEBUF = 0x02000000;
inline constexpr uint32_t SRRCTL_DROP_EN = 0x10000000;

/* PSRTYPE */
inline constexpr uint32_t PSRTYPE_TCPHDR = 0x00000010;
inline constexpr uint32_t PSRTYPE_UDPHDR = 0x00000020;
inline constexpr uint32_t PSRTYPE_IPV4HDR = 0x00000100;
inline constexpr uint32_t PSRTYPE_IPV6HDR = 0x00000200;
inline constexpr uint32_t PSRTYPE_L2HDR = 0x00001000;
inline constexpr unsigned PSRTYPE_RQPL_SHIFT = 29;

/* MRQC */
inline constexpr uint32_t MRQC_RSSEN = 0x00000001;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_TCP = 0x00010000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4 = 0x00020000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6_EX_TCP = 0x00040000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6_EX = 0x00080000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6 = 0x00100000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6_TCP = 0x00200000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_UDP = 0x00400000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6_UDP = 0x00800000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV6_EX_UDP = 0x01000000;
inline constexpr uint32_t MRQC_RSS_FIELD_MASK = 0xFFFF0000;

/* Descriptor ring constraints (datasheet: RDLEN/TDLEN multiple of 128 bytes, base 128-byte aligned). */
inline constexpr uint32_t kRingLenAlign = 128;
inline constexpr uint32_t kRingBaseAlign = 128;
inline constexpr unsigned kDescSize = 16;
/* RDLEN/TDLEN are 20-bit byte counts: at most 65536 descriptors, DPDK caps rings at 4096 in practice. */
inline constexpr unsigned kMaxRingDescs = 8192;
inline constexpr unsigned kMinRingDescs = 32;
/* Largest frame the MAC accepts with jumbo frames enabled (SET_LPE). */
inline constexpr unsigned kMaxFrameSize = 9728;

}  // namespace ixgbevf_lm::hw
