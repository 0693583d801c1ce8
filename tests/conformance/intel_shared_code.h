/* SPDX-License-Identifier: BSD-3-Clause
 * Both sides of the conformance check in one translation unit: Intel's ixgbe shared-code headers
 * (copied from the DPDK source package into the build directory, compiled with the test-local
 * ixgbe_osdep.h) and the project's lib/hw definitions.
 */
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "ixgbe_type.h"
#include "ixgbe_mbx.h"
#include "ixgbe_vf.h"

#include <ixgbevf_lm/hw/hw.h>

/* Queue indexes checked for every per-queue or per-entry register macro. */
inline constexpr unsigned kQueuesToCheck[] = {0, 1, 2, 3, 5, 7};

/* Register values and bits are 32-bit: compare them as such, naming both sides on failure. */
#define EXPECT_SAME(ours, intel) \
  EXPECT_EQ(static_cast<uint32_t>(ours), static_cast<uint32_t>(intel)) << #ours " vs Intel's " #intel

/* Same offset and same width of one descriptor field. */
#define EXPECT_SAME_FIELD(OurT, ourf, IntelT, intelf)                                         \
  do {                                                                                        \
    EXPECT_EQ(offsetof(OurT, ourf), offsetof(IntelT, intelf)) << "offset of " #OurT "::" #ourf; \
    EXPECT_EQ(sizeof(std::declval<OurT &>().ourf), sizeof(std::declval<IntelT &>().intelf))     \
        << "size of " #OurT "::" #ourf;                                                       \
  } while (0)
