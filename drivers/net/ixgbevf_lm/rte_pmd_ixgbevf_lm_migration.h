/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf_lm live migration: the control-plane API (included by rte_pmd_ixgbevf_lm.h).
 *
 * An application needs none of this: the driver quiesces and rebuilds its ports by itself when
 * the hypervisor asks through the migration region (mig_region=<path>) or the PF announces a
 * migration in the mailbox. These calls let a control plane trigger the same steps itself, follow
 * them, and be told around them.
 */
#ifndef RTE_PMD_IXGBEVF_LM_MIGRATION_H
#define RTE_PMD_IXGBEVF_LM_MIGRATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Migration state of a port, as the driver sees it. */
enum rte_pmd_ixgbevf_lm_mig_state {
	RTE_PMD_IXGBEVF_LM_MIG_RUNNING = 0,    /**< queues running, no logging */
	RTE_PMD_IXGBEVF_LM_MIG_LOGGING = 1,    /**< queues running, dirty logging on (pre-copy) */
	RTE_PMD_IXGBEVF_LM_MIG_QUIESCED = 2,   /**< stop-copy: queues stopped, DMA over */
	RTE_PMD_IXGBEVF_LM_MIG_RESTORED = 3,   /**< destination rebuilt, waiting for RUNNING */
	RTE_PMD_IXGBEVF_LM_MIG_RECOVERING = 4, /**< the PF does not answer: link down, retrying */
	RTE_PMD_IXGBEVF_LM_MIG_ERROR = 5,      /**< last step failed; see the log and the slot */
};

/** Moments an application may be told about. */
enum rte_pmd_ixgbevf_lm_mig_event {
	RTE_PMD_IXGBEVF_LM_MIG_EV_BEFORE_QUIESCE = 0, /**< Tx is about to stop accepting frames */
	RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME = 1,   /**< queues run again (same VF or destination) */
	RTE_PMD_IXGBEVF_LM_MIG_EV_ABORT = 2,          /**< the migration was cancelled */
	RTE_PMD_IXGBEVF_LM_MIG_EV_MAX
};

/** Called on the driver's migration control thread, never on a data-plane lcore. Must not call
 * rte_pmd_ixgbevf_lm_quiesce/_resume for the same port. */
typedef void (*rte_pmd_ixgbevf_lm_mig_cb)(uint16_t port_id, enum rte_pmd_ixgbevf_lm_mig_event ev, void *arg);

/** Quiesce the port as for a migration's stop-copy: Tx stops accepting frames (tx burst returns
 * 0), the device finishes what it holds, queues are disabled, Rx delivers what had completed.
 * Waits at most timeout_us in all. Returns 0, -ETIMEDOUT (the port is quiesced anyway and the
 * cause is logged), -ENODEV, -ENOTSUP (not an ixgbevf_lm port) or -EBUSY (already quiesced). */
int rte_pmd_ixgbevf_lm_quiesce(uint16_t port_id, uint32_t timeout_us);

/** Undo rte_pmd_ixgbevf_lm_quiesce: on the same VF when it is still there, otherwise after a full
 * rebuild on the VF the port now finds (reset, mailbox negotiation, configuration replay). */
int rte_pmd_ixgbevf_lm_resume(uint16_t port_id);

/** Current state, or a negative errno. */
int rte_pmd_ixgbevf_lm_migration_state(uint16_t port_id);

/** Register (cb != NULL) or remove (cb == NULL) the callback for one event. */
int rte_pmd_ixgbevf_lm_migration_callback(uint16_t port_id, enum rte_pmd_ixgbevf_lm_mig_event ev,
					  rte_pmd_ixgbevf_lm_mig_cb cb, void *arg);

/** Counters of a port's migrations. */
struct rte_pmd_ixgbevf_lm_mig_stats {
	uint64_t migrations_done;
	uint64_t last_quiesce_ns;
	uint64_t last_restart_ns;
	uint64_t frames_dropped;   /**< frames left in rings while quiesced */
	uint64_t pages_logged;
	uint64_t recoveries;       /**< rebuilds after a PF reset or a silent PF */
	uint64_t timeouts;         /**< bounded waits that ran out */
};
int rte_pmd_ixgbevf_lm_migration_stats(uint16_t port_id, struct rte_pmd_ixgbevf_lm_mig_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_IXGBEVF_LM_MIGRATION_H */
