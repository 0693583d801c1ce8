/* SPDX-License-Identifier: BSD-3-Clause
 * PCI identities of lib/hw against Intel's ixgbe_type.h.
 */
#include "intel_shared_code.h"

#include <algorithm>
#include <iterator>

namespace hw = ixgbevf_lm::hw;

TEST(DeviceIds, VendorId) { EXPECT_SAME(hw::kIntelVendorId, IXGBE_INTEL_VENDOR_ID); }

TEST(DeviceIds, VirtualFunctionIds) {
  EXPECT_SAME(hw::DEV_ID_82599_VF, IXGBE_DEV_ID_82599_VF);
  EXPECT_SAME(hw::DEV_ID_X540_VF, IXGBE_DEV_ID_X540_VF);
  EXPECT_SAME(hw::DEV_ID_X550_VF, IXGBE_DEV_ID_X550_VF);
  EXPECT_SAME(hw::DEV_ID_X550EM_X_VF, IXGBE_DEV_ID_X550EM_X_VF);
  EXPECT_SAME(hw::DEV_ID_X550EM_A_VF, IXGBE_DEV_ID_X550EM_A_VF);
}

TEST(DeviceIds, HyperVVirtualFunctionIds) {
  EXPECT_SAME(hw::DEV_ID_82599_VF_HV, IXGBE_DEV_ID_82599_VF_HV);
  EXPECT_SAME(hw::DEV_ID_X540_VF_HV, IXGBE_DEV_ID_X540_VF_HV);
  EXPECT_SAME(hw::DEV_ID_X550_VF_HV, IXGBE_DEV_ID_X550_VF_HV);
  EXPECT_SAME(hw::DEV_ID_X550EM_X_VF_HV, IXGBE_DEV_ID_X550EM_X_VF_HV);
  EXPECT_SAME(hw::DEV_ID_X550EM_A_VF_HV, IXGBE_DEV_ID_X550EM_A_VF_HV);
}

TEST(DeviceIds, SupportedIdsAreIntelsSrIovVfsAndMapToAMacType) {
  const uint16_t sriov_vfs[] = {IXGBE_DEV_ID_82599_VF, IXGBE_DEV_ID_X540_VF, IXGBE_DEV_ID_X550_VF,
                                IXGBE_DEV_ID_X550EM_X_VF, IXGBE_DEV_ID_X550EM_A_VF};
  EXPECT_EQ(std::size(hw::kSupportedVfIds), std::size(sriov_vfs));
  for (uint16_t id : sriov_vfs) {
    SCOPED_TRACE(id);
    EXPECT_NE(std::find(std::begin(hw::kSupportedVfIds), std::end(hw::kSupportedVfIds), id),
              std::end(hw::kSupportedVfIds));
    hw::MacType t;
    EXPECT_TRUE(hw::mac_type_for(id, &t));
  }
  /* Hyper-V's VFs speak another PF protocol: not claimed. */
  for (uint16_t id : {IXGBE_DEV_ID_82599_VF_HV, IXGBE_DEV_ID_X540_VF_HV, IXGBE_DEV_ID_X550_VF_HV,
                      IXGBE_DEV_ID_X550EM_X_VF_HV, IXGBE_DEV_ID_X550EM_A_VF_HV}) {
    hw::MacType t;
    EXPECT_FALSE(hw::mac_type_for(id, &t)) << std::hex << id;
  }
}
