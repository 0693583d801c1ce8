/* SPDX-License-Identifier: BSD-3-Clause
 * The software copy of everything the application configured, replayable onto a fresh VF
 * (replay_config()): after a reset, a PF reset or a migration to another VF the device forgets
 * all of it, the driver does not.
 */
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <vector>

#include <rte_ether.h>

#include <ixgbevf_lm/hw/hw.h>

namespace ixgbevf_lm::pmd {

inline constexpr unsigned kMaxExtraMacs = 15;         /* SET_MACVLAN filters besides the primary */
inline constexpr unsigned kRssKeyBytes = 40;
inline constexpr unsigned kRetaSize82599 = 128;       /* the PF's table a 82599/X540 VF can query */

struct SwConfig {
  bool mac_set = false;                               /* the application replaced the MAC */
  rte_ether_addr mac{};
  std::vector<rte_ether_addr> extra_macs;             /* in the order they were added */
  std::vector<rte_ether_addr> mc_list;
  std::bitset<4096> vlans;
  bool promisc = false;
  bool allmulti = false;
  uint32_t max_frame = RTE_ETHER_MAX_LEN;             /* mtu + overhead, sent by SET_LPE */
  bool vlan_strip = false;
  /* RSS (X550-class VF registers) */
  bool rss_on = false;
  uint64_t rss_hf = 0;
  std::array<uint8_t, kRssKeyBytes> rss_key{};
  std::array<uint8_t, hw::kVfRetaEntries> reta{};
  bool reta_set = false;
};

}  // namespace ixgbevf_lm::pmd
