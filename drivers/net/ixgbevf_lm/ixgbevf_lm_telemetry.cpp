/* SPDX-License-Identifier: BSD-3-Clause
 * Telemetry: /ixgbevf_lm/migration lists the ports with migration support;
 * /ixgbevf_lm/migration,<port_id> gives that port's migration state and counters.
 */
#include <cstdlib>
#include <mutex>

#include <rte_telemetry.h>

#include "ixgbevf_lm_migration.h"

namespace ixgbevf_lm::pmd::mig {

namespace {

int migration_telemetry_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
  (void)cmd;
  auto &c = MigrationController::instance();
  if (params == nullptr || *params == '\0') {
    rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
    c.for_each([d](MigrationPort &p) { rte_tel_data_add_array_int(d, p.port_id()); });
    return 0;
  }
  char *end = nullptr;
  const unsigned long id = std::strtoul(params, &end, 10);
  if (end == params || *end != '\0' || id > UINT16_MAX)
    return -EINVAL;
  int rc = -ENODEV;
  c.for_each([&](MigrationPort &p) {
    if (p.port_id() != id)
      return;
    const MigrationStats s = p.stats();
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_int(d, "port_id", p.port_id());
    rte_tel_data_add_dict_string(d, "state", mig_state_name(p.state()));
    rte_tel_data_add_dict_string(d, "dirty_log", dirty_log_mode_name(p.mode()));
    rte_tel_data_add_dict_int(d, "logging", p.logging() ? 1 : 0);
    rte_tel_data_add_dict_int(d, "region_slot", p.has_slot() ? 1 : 0);
    rte_tel_data_add_dict_u64(d, "migrations_done", s.migrations_done);
    rte_tel_data_add_dict_u64(d, "last_quiesce_ns", s.last_quiesce_ns);
    rte_tel_data_add_dict_u64(d, "last_restart_ns", s.last_restart_ns);
    rte_tel_data_add_dict_u64(d, "frames_dropped", s.frames_dropped);
    rte_tel_data_add_dict_u64(d, "pages_logged", s.pages_logged);
    rte_tel_data_add_dict_u64(d, "recoveries", s.recoveries);
    rte_tel_data_add_dict_u64(d, "timeouts", s.timeouts);
    rte_tel_data_add_dict_u64(d, "log_errors", s.log_errors);
    rte_tel_data_add_dict_u64(d, "log_incomplete", s.log_incomplete ? 1 : 0);
    rc = 0;
  });
  return rc;
}

}  // namespace

void register_migration_telemetry()
{
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/ixgbevf_lm/migration", migration_telemetry_cb,
                               "Migration state and counters. Parameters: int port_id (none: list ports)");
  });
}

}  // namespace ixgbevf_lm::pmd::mig
