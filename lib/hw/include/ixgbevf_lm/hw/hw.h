/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <ixgbevf_lm/hw/descriptors.h>
#include <ixgbevf_lm/hw/device_ids.h>
#include <ixgbevf_lm/hw/ipsec.h>
#include <ixgbevf_lm/hw/mailbox.h>
#include <ixgbevf_lm/hw/regs.h>
