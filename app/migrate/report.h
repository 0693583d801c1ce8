/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-migrate: figures as one JSON object per line, and as a table for people.
 */
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <ixgbevf_lm/hypervisor/migrator.h>

namespace ixlm_migrate {

struct TrafficFigures {
  bool measured = false;
  double blackout_ms = 0;
  uint64_t frames_lost = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  double max_rtt_us = 0;
};

struct Run {
  unsigned index = 0;             /* migration number (1..), 0 for a rounds-only run */
  ixgbevf_lm::hv::MigrationFigures fig;
  TrafficFigures traffic;
  double link_gbps = 10;
};

/* One line, no trailing newline. Without ground truth missed_dirty_pages is null. */
std::string to_json(const Run &r);
void print_run_human(FILE *f, const Run &r);
void print_table(FILE *f, const std::vector<Run> &runs);

}  // namespace ixlm_migrate
