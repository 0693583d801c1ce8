/* SPDX-License-Identifier: BSD-3-Clause
 * The migration xstats of a port (mig_*), appended to the port's own by ixgbevf_lm_stats.cpp.
 */
#include "ixgbevf_lm_migration.h"

#include <iterator>

namespace ixgbevf_lm::pmd::mig {

namespace {
constexpr const char *kXstatNames[] = {
    "mig_state", "mig_logging", "mig_migrations_done", "mig_last_quiesce_ns", "mig_last_restart_ns",
    "mig_frames_dropped", "mig_pages_logged", "mig_recoveries", "mig_timeouts", "mig_rx_bursts_unmarked",
    "mig_tx_bursts_unmarked",
};
}  // namespace

unsigned MigrationPort::xstats_count() { return static_cast<unsigned>(std::size(kXstatNames)); }
const char *MigrationPort::xstat_name(unsigned i) { return i < xstats_count() ? kXstatNames[i] : ""; }

uint64_t MigrationPort::xstat_value(unsigned i) const
{
  const MigrationStats s = stats();
  switch (i) {
  case 0: return static_cast<uint64_t>(state());
  case 1: return logging() ? 1 : 0;
  case 2: return s.migrations_done;
  case 3: return s.last_quiesce_ns;
  case 4: return s.last_restart_ns;
  case 5: return s.frames_dropped;
  case 6: return s.pages_logged;
  case 7: return s.recoveries;
  case 8: return s.timeouts;
  case 9: return rx_unmarked_total_.load(std::memory_order_relaxed);
  case 10: return tx_unmarked_total_.load(std::memory_order_relaxed);
  default: return 0;
  }
}

}  // namespace ixgbevf_lm::pmd::mig
