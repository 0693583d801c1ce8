/* SPDX-License-Identifier: BSD-3-Clause
 * PCI identities of the ixgbe virtual functions this driver serves.
 */
#pragma once

#include <cstdint>

#include "descriptors.h"

namespace ixgbevf_lm::hw {

inline constexpr uint16_t kIntelVendorId = 0x8086;
inline constexpr uint16_t DEV_ID_82599_VF = 0x10ED;
inline constexpr uint16_t DEV_ID_82599_VF_HV = 0x152E;
inline constexpr uint16_t DEV_ID_X540_VF = 0x1515;
inline constexpr uint16_t DEV_ID_X540_VF_HV = 0x1530;
inline constexpr uint16_t DEV_ID_X550_VF = 0x1565;
inline constexpr uint16_t DEV_ID_X550_VF_HV = 0x1564;
inline constexpr uint16_t DEV_ID_X550EM_X_VF = 0x15A8;
inline constexpr uint16_t DEV_ID_X550EM_X_VF_HV = 0x15A9;
inline constexpr uint16_t DEV_ID_X550EM_A_VF = 0x15C5;
inline constexpr uint16_t DEV_ID_X550EM_A_VF_HV = 0x15B4;

enum class MacType : uint8_t { vf_82599, vf_x540, vf_x550, vf_x550em_x, vf_x550em_a };

/* The VFs that run on an SR-IOV PF (the _HV IDs are Hyper-V's, which speak another protocol). */
inline constexpr uint16_t kSupportedVfIds[] = {
    DEV_ID_82599_VF, DEV_ID_X540_VF, DEV_ID_X550_VF, DEV_ID_X550EM_X_VF, DEV_ID_X550EM_A_VF,
};

constexpr bool mac_type_for(uint16_t device_id, MacType *out) {
  switch (device_id) {
  case DEV_ID_82599_VF: *out = MacType::vf_82599; return true;
  case DEV_ID_X540_VF: *out = MacType::vf_x540; return true;
  case DEV_ID_X550_VF: *out = MacType::vf_x550; return true;
  case DEV_ID_X550EM_X_VF: *out = MacType::vf_x550em_x; return true;
  case DEV_ID_X550EM_A_VF: *out = MacType::vf_x550em_a; return true;
  default: return false;
  }
}

/* X550-class VFs own their RSS registers; 82599/X540 VFs share the PF's and query them by mailbox. */
constexpr bool has_vf_rss_registers(MacType t) {
  return t == MacType::vf_x550 || t == MacType::vf_x550em_x || t == MacType::vf_x550em_a;
}

/* X550-class VFs checksum tunnelled frames (outer IPv4 header, inner L3/L4 at the tunnel offsets of
 * the context descriptor) and report tunnel packet types and the outer IPv4 checksum on receive. */
constexpr bool has_tunnel_offloads(MacType t) { return has_vf_rss_registers(t); }

/* cmd_type_len bit that asks for the outer IPv4 checksum (0 where there is none). */
constexpr uint32_t tx_outer_ipcs_bit(MacType t) {
  if (t == MacType::vf_x550em_a)
    return 1u << ADVTXD_OUTERIPCS_SHIFT_X550EM_A;
  return has_tunnel_offloads(t) ? 1u << ADVTXD_OUTERIPCS_SHIFT : 0;
}

}  // namespace ixgbevf_lm::hw
