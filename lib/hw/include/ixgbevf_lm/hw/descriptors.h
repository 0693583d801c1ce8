/* SPDX-License-Identifier: BSD-3-Clause
 * Advanced Rx and Tx descriptors (82599 datasheet 7.1.6 and 7.2.3). All fields are little-endian
 * in memory; the project only runs on little-endian hosts (checked below).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>

namespace ixgbevf_lm::hw {

static_assert(std::endian::native == std::endian::little, "descriptor layouts assume a little-endian host");

/* Advanced receive descriptor: the driver writes the read format, the device the write-back format. */
union RxDesc {
  struct {
    uint64_t pkt_addr;  /* bit 0 doubles as DD on write-back: buffers are at least 2-byte aligned */
    uint64_t hdr_addr;
  } read;
  struct {
    uint16_t pkt_info;  /* RSS type 3:0, packet type 16:4 */
    uint16_t hdr_info;
    uint32_t rss;       /* RSS hash (or IP id / checksum) */
    uint32_t status_error;
    uint16_t length;
    uint16_t vlan;
  } wb;
};
static_assert(sizeof(RxDesc) == 16);
static_assert(offsetof(RxDesc, wb.pkt_info) == 0);
static_assert(offsetof(RxDesc, wb.rss) == 4);
static_assert(offsetof(RxDesc, wb.status_error) == 8);
static_assert(offsetof(RxDesc, wb.length) == 12);
static_assert(offsetof(RxDesc, wb.vlan) == 14);

/* Rx write-back status (bits 19:0 of status_error) */
inline constexpr uint32_t RXD_STAT_DD = 0x01;
inline constexpr uint32_t RXD_STAT_EOP = 0x02;
inline constexpr uint32_t RXD_STAT_FLM = 0x04;
inline constexpr uint32_t RXD_STAT_VP = 0x08;     /* VLAN tag stripped into wb.vlan */
inline constexpr uint32_t RXD_STAT_UDPCS = 0x10;
inline constexpr uint32_t RXD_STAT_L4CS = 0x20;   /* L4 checksum computed */
inline constexpr uint32_t RXD_STAT_IPCS = 0x40;   /* IPv4 header checksum computed */
inline constexpr uint32_t RXD_STAT_PIF = 0x80;
inline constexpr uint32_t RXD_STAT_OUTERIPCS = 0x100;  /* X550: outer IPv4 header checksum of a tunnel computed */
inline constexpr uint32_t RXD_STAT_VEXT = 0x200;
inline constexpr uint32_t RXD_STAT_UDPV = 0x400;
inline constexpr uint32_t RXD_STAT_SECP = 0x20000; /* an Rx SA matched: the IPsec engine processed it */
inline constexpr uint32_t RXD_STAT_LB = 0x40000;  /* looped back by the VM-to-VM switch */
inline constexpr uint32_t RXDADV_STAT_MASK = 0x000FFFFF;
inline constexpr uint32_t RXDADV_NEXTP_MASK = 0x000FFFF0;
inline constexpr unsigned RXDADV_NEXTP_SHIFT = 4;
/* Rx write-back errors (bits 31:20 of status_error) */
inline constexpr uint32_t RXDADV_ERR_MASK = 0xFFF00000;
inline constexpr unsigned RXDADV_ERR_SHIFT = 20;
inline constexpr uint32_t RXDADV_ERR_HBO = 0x00800000;
inline constexpr uint32_t RXDADV_ERR_CE = 0x01000000;
inline constexpr uint32_t RXDADV_ERR_LE = 0x02000000;
inline constexpr uint32_t RXDADV_ERR_OUTERIPER = 0x04000000;  /* X550: outer IPv4 header checksum wrong */
inline constexpr uint32_t RXDADV_ERR_PE = 0x08000000;
inline constexpr uint32_t RXDADV_ERR_OSE = 0x10000000;
inline constexpr uint32_t RXDADV_ERR_USE = 0x20000000;
inline constexpr uint32_t RXDADV_ERR_TCPE = 0x40000000;   /* L4 checksum wrong */
inline constexpr uint32_t RXDADV_ERR_IPE = 0x80000000;    /* IPv4 header checksum wrong */

/* With SECP, bits 28:27 of status_error are the IPsec result (they overlap PE/OSE, which the
 * engine does not report for such frames). */
inline constexpr uint32_t RXDADV_IPSEC_ERROR_MASK = 0x18000000;
inline constexpr uint32_t RXDADV_IPSEC_ERROR_INVALID_PROTOCOL = 0x08000000;
inline constexpr uint32_t RXDADV_IPSEC_ERROR_INVALID_LENGTH = 0x10000000;
inline constexpr uint32_t RXDADV_IPSEC_ERROR_AUTH_FAILED = 0x18000000;

/* pkt_info */
inline constexpr uint16_t RXDADV_RSSTYPE_MASK = 0x000F;
inline constexpr uint16_t RXDADV_PKTTYPE_MASK = 0xFFF0;
inline constexpr uint16_t RXDADV_RSSTYPE_NONE = 0x0;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV4_TCP = 0x1;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV4 = 0x2;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6_TCP = 0x3;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6_EX = 0x4;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6 = 0x5;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6_TCP_EX = 0x6;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV4_UDP = 0x7;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6_UDP = 0x8;
inline constexpr uint16_t RXDADV_RSSTYPE_IPV6_UDP_EX = 0x9;
inline constexpr uint16_t RXDADV_PKTTYPE_NONE = 0x0000;
inline constexpr uint16_t RXDADV_PKTTYPE_IPV4 = 0x0010;
inline constexpr uint16_t RXDADV_PKTTYPE_IPV4_EX = 0x0020;
inline constexpr uint16_t RXDADV_PKTTYPE_IPV6 = 0x0040;
inline constexpr uint16_t RXDADV_PKTTYPE_IPV6_EX = 0x0080;
inline constexpr uint16_t RXDADV_PKTTYPE_TCP = 0x0100;
inline constexpr uint16_t RXDADV_PKTTYPE_UDP = 0x0200;
inline constexpr uint16_t RXDADV_PKTTYPE_SCTP = 0x0400;
/* X550, with the tunnel bit: a VXLAN (or GENEVE) header; without it: NVGRE. The L3/L4 bits then
 * describe the inner packet. (On 82599 the same bit is NFS.) */
inline constexpr uint16_t RXDADV_PKTTYPE_VXLAN = 0x0800;
inline constexpr uint16_t RXDADV_PKTTYPE_IPSEC_ESP = 0x1000;
inline constexpr uint16_t RXDADV_PKTTYPE_IPSEC_AH = 0x2000;
inline constexpr uint16_t RXDADV_PKTTYPE_ETQF = 0x8000;
/* X550: packet type bit 12 (bit 16 of the first dword, so bit 0 of wb.hdr_info): a tunnelled packet. */
inline constexpr uint32_t RXDADV_PKTTYPE_TUNNEL = 0x00010000;
inline constexpr uint16_t RXDADV_HDRINFO_TUNNEL = uint16_t(RXDADV_PKTTYPE_TUNNEL >> 16);

/* Advanced transmit descriptor: data (read) format and its write-back. */
union TxDesc {
  struct {
    uint64_t buffer_addr;
    uint32_t cmd_type_len;
    uint32_t olinfo_status;
  } read;
  struct {
    uint64_t rsvd;
    uint32_t nxtseq_seed;
    uint32_t status;
  } wb;
};
static_assert(sizeof(TxDesc) == 16);
static_assert(offsetof(TxDesc, read.cmd_type_len) == 8);
static_assert(offsetof(TxDesc, read.olinfo_status) == 12);
static_assert(offsetof(TxDesc, wb.status) == 12);

/* Advanced transmit context descriptor. */
struct TxContextDesc {
  uint32_t vlan_macip_lens;  /* IPLEN 8:0, MACLEN 15:9, VLAN 31:16 */
  uint32_t seqnum_seed;      /* X550 tunnels: OUTERIPLEN 23:16, TUNNELLEN 31:24 (bytes, as DPDK's ixgbe writes them) */
  uint32_t type_tucmd_mlhl;  /* TUCMD 19:9 (IPV4, L4T), DTYP 23:20, DEXT 29 */
  uint32_t mss_l4len_idx;    /* IDX 6:4, L4LEN 15:8, MSS 31:16 */
};
static_assert(sizeof(TxContextDesc) == 16);
static_assert(offsetof(TxContextDesc, type_tucmd_mlhl) == 8);
static_assert(offsetof(TxContextDesc, mss_l4len_idx) == 12);

/* cmd_type_len */
inline constexpr uint32_t ADVTXD_DTALEN_MASK = 0x0000FFFF;
inline constexpr uint32_t ADVTXD_DTYP_MASK = 0x00F00000;
inline constexpr uint32_t ADVTXD_DTYP_CTXT = 0x00200000;
inline constexpr uint32_t ADVTXD_DTYP_DATA = 0x00300000;
inline constexpr uint32_t ADVTXD_DCMD_EOP = 0x01000000;
inline constexpr uint32_t ADVTXD_DCMD_IFCS = 0x02000000;
inline constexpr uint32_t ADVTXD_DCMD_IC = 0x04000000;
inline constexpr uint32_t ADVTXD_DCMD_RS = 0x08000000;
inline constexpr uint32_t ADVTXD_DCMD_DEXT = 0x20000000;
inline constexpr uint32_t ADVTXD_DCMD_VLE = 0x40000000;
inline constexpr uint32_t ADVTXD_DCMD_TSE = 0x80000000;
/* X550 and X550EM_x: insert the outer IPv4 header checksum of a tunnelled frame (cmd_type_len bit 17;
 * Intel's shared code names bit 26 for X550EM_a). */
inline constexpr unsigned ADVTXD_OUTERIPCS_SHIFT = 17;
inline constexpr unsigned ADVTXD_OUTERIPCS_SHIFT_X550EM_A = 26;
/* olinfo_status */
inline constexpr uint32_t ADVTXD_STAT_DD = 0x00000001;
inline constexpr unsigned ADVTXD_IDX_SHIFT = 4;
inline constexpr uint32_t ADVTXD_CC = 0x00000080;
inline constexpr unsigned ADVTXD_POPTS_SHIFT = 8;
inline constexpr uint32_t ADVTXD_POPTS_IXSM = 0x01u << ADVTXD_POPTS_SHIFT;  /* insert IPv4 checksum */
inline constexpr uint32_t ADVTXD_POPTS_TXSM = 0x02u << ADVTXD_POPTS_SHIFT;  /* insert L4 checksum */
inline constexpr uint32_t ADVTXD_POPTS_IPSEC = 0x04u << ADVTXD_POPTS_SHIFT; /* IPsec offload for this frame */
inline constexpr unsigned ADVTXD_PAYLEN_SHIFT = 14;
/* context descriptor fields */
inline constexpr unsigned ADVTXD_MACLEN_SHIFT = 9;
inline constexpr unsigned ADVTXD_VLAN_SHIFT = 16;
inline constexpr uint32_t ADVTXD_TUCMD_IPV4 = 0x00000400;
inline constexpr uint32_t ADVTXD_TUCMD_IPV6 = 0x00000000;
inline constexpr uint32_t ADVTXD_TUCMD_L4T_UDP = 0x00000000;
inline constexpr uint32_t ADVTXD_TUCMD_L4T_TCP = 0x00000800;
inline constexpr uint32_t ADVTXD_TUCMD_L4T_SCTP = 0x00001000;
inline constexpr uint32_t ADVTXD_TUCMD_L4T_RSV = 0x00001800;
/* IPsec in the context descriptor: the Tx SA index in seqnum_seed 9:0, the ESP type and encrypt
 * flags in TUCMD, the ESP trailer length (padding + 2 + ICV) in type_tucmd_mlhl 8:0. */
inline constexpr uint32_t ADVTXD_IPSEC_SA_INDEX_MASK = 0x3FF;
inline constexpr uint32_t ADVTXD_IPSEC_ESP_LEN_MASK = 0x1FF;
inline constexpr uint32_t ADVTXD_TUCMD_IPSEC_TYPE_ESP = 0x00002000;
inline constexpr uint32_t ADVTXD_TUCMD_IPSEC_ENCRYPT_EN = 0x00004000;
inline constexpr unsigned ADVTXD_L4LEN_SHIFT = 8;
inline constexpr unsigned ADVTXD_MSS_SHIFT = 16;
inline constexpr uint32_t ADVTXD_IPLEN_MASK = 0x1FF;
inline constexpr uint32_t ADVTXD_MACLEN_MASK = 0x7F;
/* X550 tunnel fields of the context descriptor's seqnum_seed: the outer IP header and the tunnel
 * (outer L4, tunnel header and inner L2) lengths; the inner IP header starts at
 * MACLEN + OUTERIPLEN + TUNNELLEN. */
inline constexpr unsigned ADVTXD_OUTER_IPLEN_SHIFT = 16;
inline constexpr unsigned ADVTXD_TUNNEL_LEN_SHIFT = 24;
inline constexpr uint32_t ADVTXD_OUTER_IPLEN_MASK = 0xFF;
inline constexpr uint32_t ADVTXD_TUNNEL_LEN_MASK = 0xFF;
/* The 82599 holds two Tx contexts per queue (IDX 0 and 1). */
inline constexpr unsigned kTxContextSlots = 2;
/* Largest buffer one Tx data descriptor can point at. */
inline constexpr unsigned kTxMaxBufLen = 0x3FFF;
/* Largest TSO payload (PAYLEN is 18 bits) and the segment limit per frame without TSO. */
inline constexpr unsigned kTxMaxTsoPayload = 0x3FFFF;
inline constexpr unsigned kTxMaxSegsPerFrame = 40;

}  // namespace ixgbevf_lm::hw
