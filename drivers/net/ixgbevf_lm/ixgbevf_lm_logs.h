/* SPDX-License-Identifier: BSD-3-Clause
 * Log types of the PMD: pmd.net.ixgbevf_lm (control path), .rx, .tx and .mbx (PF-VF mailbox).
 */
#pragma once

#include <rte_log.h>

extern "C" {
extern int ixgbevf_lm_logtype_driver;
extern int ixgbevf_lm_logtype_rx;
extern int ixgbevf_lm_logtype_tx;
extern int ixgbevf_lm_logtype_mbx;
}

#define IXGBEVF_LM_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ixgbevf_lm_logtype_driver, "ixgbevf_lm: %s(): " fmt "\n", __func__, ##__VA_ARGS__)
#define IXGBEVF_LM_MBX_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ixgbevf_lm_logtype_mbx, "ixgbevf_lm mbx: " fmt "\n", ##__VA_ARGS__)
#define IXGBEVF_LM_RX_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ixgbevf_lm_logtype_rx, "ixgbevf_lm rx: " fmt "\n", ##__VA_ARGS__)
#define IXGBEVF_LM_TX_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ixgbevf_lm_logtype_tx, "ixgbevf_lm tx: " fmt "\n", ##__VA_ARGS__)
