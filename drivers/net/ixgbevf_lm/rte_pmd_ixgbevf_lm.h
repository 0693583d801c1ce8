/* SPDX-License-Identifier: BSD-3-Clause
 * Public API of the ixgbevf_lm PMD (the live-migration API is added by later releases).
 */
#ifndef RTE_PMD_IXGBEVF_LM_H
#define RTE_PMD_IXGBEVF_LM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Mailbox API version negotiated with the PF, in Intel's encoding (0: 1.0, 2: 1.1, 3: 1.2, 4: 1.3).
 * @return the version, or -ENODEV when port is not an ixgbevf_lm port.
 */
int rte_pmd_ixgbevf_lm_mbx_api(uint16_t port);

#ifdef __cplusplus
}
#endif

#endif
