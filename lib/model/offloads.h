/* SPDX-License-Identifier: BSD-3-Clause
 * Private to lib/model: frame parsing, checksums, VLAN tags, Toeplitz hash, TSO segmentation.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ixgbevf_lm::model::offl {

inline uint16_t rd16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
inline void wr16(uint8_t *p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void wr32(uint8_t *p, uint32_t v) { p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v); }

inline constexpr uint16_t kEthP_Vlan = 0x8100;
inline constexpr uint16_t kEthP_Ipv4 = 0x0800;
inline constexpr uint16_t kEthP_Ipv6 = 0x86DD;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

/* What the receive parser finds in a frame. */
struct Parsed {
  bool vlan = false;
  uint16_t tci = 0;
  unsigned l3_off = 0;
  bool ipv4 = false, ipv6 = false;
  unsigned l3_len = 0;        /* IP header length */
  unsigned l4_off = 0;
  uint8_t l4_proto = 0;       /* 0: none/unknown, or a fragment */
  unsigned l4_len = 0;        /* bytes from l4_off to the end of the IP payload */
};
Parsed parse(std::span<const uint8_t> f);

/* A tunnelled frame as an X550 recognises it: outer IPv4, then UDP to the PF's VXLAN port and an
 * 8-byte VXLAN header, then an inner Ethernet frame. Offsets of `inner` are from the frame start. */
struct Tunnel {
  bool vxlan = false;
  Parsed inner;
};
/* vxlan_port 0: VXLAN not recognised (the PF left VXLANCTRL clear). */
Tunnel parse_tunnel(std::span<const uint8_t> f, const Parsed &outer, uint16_t vxlan_port);

/* Ethernet FCS (CRC-32, IEEE 802.3) of a frame, as it follows the frame on the wire (LSB first). */
uint32_t ethernet_fcs(std::span<const uint8_t> f);

/* One's-complement sum helpers (big-endian 16-bit words). */
uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc = 0);
uint16_t fold(uint32_t acc);
/* Checksum verification on receive: true when valid. */
bool ipv4_header_ok(std::span<const uint8_t> f, const Parsed &p);
bool l4_ok(std::span<const uint8_t> f, const Parsed &p);
/* Full L4 checksum (pseudo-header included) for building test frames and the switch. */
uint16_t l4_checksum(std::span<const uint8_t> f, const Parsed &p);

void insert_vlan(std::vector<uint8_t> &f, uint16_t tci);
/* Remove the outer 802.1Q tag; returns false when there is none. */
bool strip_vlan(std::vector<uint8_t> &f, uint16_t *tci);

/* Toeplitz over `in` with a 40-byte key. */
uint32_t toeplitz(const uint8_t *key, const uint8_t *in, size_t n);

/* Transmit offloads of one frame (untagged in memory), per the context descriptor fields. Emits the
 * resulting frame(s) through `out` (one per TSO segment). Returns false for an inconsistent request
 * (offsets beyond the frame), in which case nothing is emitted. */
struct TxRequest {
  bool ixsm = false, txsm = false, tse = false, vle = false;
  unsigned maclen = 0, iplen = 0, l4len = 0, mss = 0;
  bool ipv4 = false;
  unsigned l4t = 0;           /* 0 UDP, 1 TCP, 2 SCTP */
  /* X550 tunnels: the inner IP header starts at maclen + outer_iplen + tunnel_len; outer_ipcs
   * inserts the outer IPv4 header checksum (outer_iplen bytes at maclen). */
  unsigned outer_iplen = 0, tunnel_len = 0;
  bool outer_ipcs = false;
  uint16_t vlan = 0;
  uint32_t paylen = 0;
};
bool tx_offload(std::vector<uint8_t> &frame, const TxRequest &r, std::vector<uint8_t> &scratch,
                const std::function<void(std::span<const uint8_t>)> &out);

}  // namespace ixgbevf_lm::model::offl
