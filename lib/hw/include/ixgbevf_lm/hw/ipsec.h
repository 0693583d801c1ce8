/* SPDX-License-Identifier: BSD-3-Clause
 * The 82599/X540 inline IPsec engine as a VF reaches it: the SA message of mailbox API 1.4 (the VF
 * cannot write the SA tables; the PF programs them), the engine's limits and the ESP arithmetic.
 * Message layout and handle numbering as Linux's ixgbe PF answers VF_IPSEC_ADD / VF_IPSEC_DEL.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace ixgbevf_lm::hw {

/* SA tables of the device: shared by the PF and all its VFs. */
inline constexpr unsigned kIpsecMaxSa = 1024;         /* Rx SAs, and as many Tx SAs */
inline constexpr unsigned kIpsecMaxRxIp = 128;        /* distinct Rx destination addresses */
/* Handles the PF returns for VF_IPSEC_ADD: Rx SAs 0..1023, Tx SAs 1024..2047 (index + base). */
inline constexpr uint32_t kIpsecBaseRxHandle = 0;
inline constexpr uint32_t kIpsecBaseTxHandle = kIpsecMaxSa;

/* ESP with AES-128-GCM (RFC 4106) or AES-128-GMAC (RFC 4543): the only algorithm of the engine. */
inline constexpr unsigned kIpsecKeyBytes = 16;
inline constexpr unsigned kIpsecSaltBytes = 4;
inline constexpr unsigned kIpsecIcvBytes = 16;
inline constexpr unsigned kEspHeaderBytes = 8;        /* SPI, sequence number */
inline constexpr unsigned kEspIvBytes = 8;
inline constexpr unsigned kEspTrailerBytes = 2;       /* pad length, next header */
inline constexpr uint8_t kIpProtoEsp = 50;
inline constexpr uint8_t kIpProtoAh = 51;

/* VF_IPSEC_ADD, words 1..11 of the message (the little-endian words of this struct). */
struct IpsecSaMsg {
  uint32_t spi;          /* network byte order, as on the wire */
  uint8_t dir;           /* IpsecDir */
  uint8_t proto;         /* kIpProtoEsp / kIpProtoAh */
  uint16_t family;       /* kAfInet / kAfInet6 */
  uint32_t addr[4];      /* destination address, network byte order; IPv4 in addr[0] */
  uint8_t key[kIpsecKeyBytes];
  uint8_t salt[kIpsecSaltBytes];
};
static_assert(sizeof(IpsecSaMsg) == 44);
static_assert(offsetof(IpsecSaMsg, dir) == 4);
static_assert(offsetof(IpsecSaMsg, family) == 6);
static_assert(offsetof(IpsecSaMsg, addr) == 8);
static_assert(offsetof(IpsecSaMsg, key) == 24);
static_assert(offsetof(IpsecSaMsg, salt) == 40);
inline constexpr unsigned kIpsecAddMsgWords = 1 + sizeof(IpsecSaMsg) / 4;

/* Linux's xfrm_dev_offload_dir and address families. */
enum IpsecDir : uint8_t { kIpsecDirIn = 1, kIpsecDirOut = 2 };
inline constexpr uint16_t kAfInet = 2;
inline constexpr uint16_t kAfInet6 = 10;

/* Reply to VF_IPSEC_ADD: word 1 the handle (ACK) or a negative errno (NACK). VF_IPSEC_DEL: word 1
 * the handle to remove. */

}  // namespace ixgbevf_lm::hw
