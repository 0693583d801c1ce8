/* SPDX-License-Identifier: BSD-3-Clause
 * mig::MigrationDevice on the PMD's Adapter (ixgbevf_lm_migdev.cpp).
 */
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ixgbevf_lm_hw.h"
#include "ixgbevf_lm_migration.h"

namespace ixgbevf_lm::pmd {

struct Adapter;

class AdapterMigration final : public mig::MigrationDevice {
 public:
  explicit AdapterMigration(Adapter &ad);

  uint16_t port_id() const override;
  std::string identity() const override;
  bool started() const override;
  unsigned n_rx_queues() const override;
  unsigned n_tx_queues() const override;
  void set_rx_logger(unsigned q, mig::DirtyLogger *l) override;
  void set_tx_logger(unsigned q, mig::DirtyLogger *l) override;
  bool grace_period(const mig::Deadline &d) override;
  void log_posted(mig::DirtyLogger *const *rx, mig::DirtyLogger *const *tx) override;
  std::vector<std::pair<uint64_t, uint64_t>> rx_dma_spans(unsigned q) const override;
  std::vector<std::pair<uint64_t, uint64_t>> tx_dma_spans(unsigned q) const override;
  mig::QuiesceResult quiesce(const mig::MigrationBudgets &b) override;
  int resume_same_vf(const mig::MigrationBudgets &b, std::string *why) override;
  void platform_switch(uint32_t migration_seq) override;
  void platform_prepare() override;
  int rebuild(const mig::MigrationBudgets &b, bool open_gates, std::string *why) override;
  void open_gates() override;
  bool wait_link(const mig::Deadline &d) override;
  void set_link_reported(bool up) override;
  mig::PfEvent poll_pf_event() override;
  void raise_intr_reset() override;

 private:
  int rebuild_once(const mig::MigrationBudgets &b, bool open_gates, std::string *why);
  /* Empty every started Rx ring, then program and fill each (what: for the error message). */
  int refill_rx_rings(const char *what, std::string *why);

  Adapter &ad_;
};

}  // namespace ixgbevf_lm::pmd
