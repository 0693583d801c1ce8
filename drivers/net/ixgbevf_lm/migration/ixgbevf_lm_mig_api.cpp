/* SPDX-License-Identifier: BSD-3-Clause
 * The public migration API (rte_pmd_ixgbevf_lm_migration.h) over the control thread's ports.
 */
#include "ixgbevf_lm_migration.h"

/* ---- Public API ---- */

using ixgbevf_lm::pmd::mig::MigrationController;
using ixgbevf_lm::pmd::mig::MigrationPort;

/* The controller lookup is not held across the call: a port is removed from the controller only in
 * dev_close, which the application does not run concurrently with calls on the same port. */
extern "C" int rte_pmd_ixgbevf_lm_quiesce(uint16_t port_id, uint32_t timeout_us)
{
  MigrationPort *p = MigrationController::instance().find(port_id);
  return p == nullptr ? -ENOTSUP : p->api_quiesce(timeout_us);
}

extern "C" int rte_pmd_ixgbevf_lm_resume(uint16_t port_id)
{
  MigrationPort *p = MigrationController::instance().find(port_id);
  return p == nullptr ? -ENOTSUP : p->api_resume();
}

extern "C" int rte_pmd_ixgbevf_lm_migration_state(uint16_t port_id)
{
  MigrationPort *p = MigrationController::instance().find(port_id);
  return p == nullptr ? -ENOTSUP : p->api_state();
}

extern "C" int rte_pmd_ixgbevf_lm_migration_callback(uint16_t port_id, enum rte_pmd_ixgbevf_lm_mig_event ev,
                                                     rte_pmd_ixgbevf_lm_mig_cb cb, void *arg)
{
  MigrationPort *p = MigrationController::instance().find(port_id);
  return p == nullptr ? -ENOTSUP : p->set_callback(ev, cb, arg);
}

extern "C" int rte_pmd_ixgbevf_lm_migration_stats(uint16_t port_id, struct rte_pmd_ixgbevf_lm_mig_stats *st)
{
  if (st == nullptr)
    return -EINVAL;
  MigrationPort *p = MigrationController::instance().find(port_id);
  if (p == nullptr)
    return -ENOTSUP;
  const auto s = p->stats();
  st->migrations_done = s.migrations_done;
  st->last_quiesce_ns = s.last_quiesce_ns;
  st->last_restart_ns = s.last_restart_ns;
  st->frames_dropped = s.frames_dropped;
  st->pages_logged = s.pages_logged;
  st->recoveries = s.recoveries;
  st->timeouts = s.timeouts;
  return 0;
}
