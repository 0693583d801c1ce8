/* SPDX-License-Identifier: BSD-3-Clause
 * Live migration, driver side: the per-port state machine that follows the migration region's
 * requests (doc/design/migration.md), the PF's migration message and the public API, and the one
 * control thread per process that polls every port's slot.
 *
 *   region request / PF message / API
 *        |
 *        v
 *   MigrationPort (this file: states, acks, counters, timing, callbacks, recovery policy)
 *        |  MigrationDevice: the device-specific steps (gates, drain, disable, rebuild)
 *        v
 *   the PMD's queues, registers and mailbox
 *
 * Every wait is bounded by a Deadline; running out of time is reported in the slot (set_error),
 * the log and the counters, never hidden.
 */
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ixgbevf_lm/region/guest.h>

#include "ixgbevf_lm_dirtylog.h"
#include "ixgbevf_lm_mark_scan.h"
#include "ixgbevf_lm_oplock.h"
#include "ixgbevf_lm_region_attach.h"
#include "rte_pmd_ixgbevf_lm_migration.h"

namespace ixgbevf_lm::pmd::mig {

using MigClock = std::chrono::steady_clock;

/* A bound on a wait. */
class Deadline {
 public:
  explicit Deadline(std::chrono::microseconds budget) : end_(MigClock::now() + budget) {}
  bool expired() const { return MigClock::now() >= end_; }
  std::chrono::microseconds left() const
  {
    const auto d = end_ - MigClock::now();
    return d.count() > 0 ? std::chrono::duration_cast<std::chrono::microseconds>(d) : std::chrono::microseconds{0};
  }

 private:
  MigClock::time_point end_;
};

/* Polls cond until it holds or the deadline passes (spins briefly, then yields). */
template <class F>
bool wait_until(const Deadline &d, F &&cond)
{
  for (unsigned i = 0;; ++i) {
    if (cond())
      return true;
    if (d.expired())
      return cond();
    if (i > 64)
      std::this_thread::yield();
  }
}

/* Bounds of the steps (each one a named reason). The quiesce steps derive from one total
 * (set_quiesce_timeout): the devarg quiesce_timeout_us for the region and the PF message, the
 * caller's timeout_us for rte_pmd_ixgbevf_lm_quiesce. The device's quiesce also holds every step to
 * what is left of the total, so a quiesce ends within it (plus scheduling) whatever times out. */
struct MigrationBudgets {
  std::chrono::microseconds quiesce{50000};     /* the whole quiesce */
  std::chrono::microseconds grace{20000};       /* an lcore leaves a burst: bursts are microseconds */
  std::chrono::microseconds tx_drain{5000};     /* device sends what it holds: a full 4096 ring at 1G */
  std::chrono::microseconds queue_disable{2000};/* RXDCTL/TXDCTL.ENABLE clears after the current frame */
  std::chrono::microseconds rx_deliver{2000};   /* the application drains completed Rx frames */
  std::chrono::microseconds rebuild{200000};    /* reset + mailbox + replay per attempt */
  std::chrono::microseconds link{200000};       /* destination link comes up */
  unsigned rebuild_attempts = 3;                /* before reporting link down and retrying in background */
  std::chrono::microseconds retry_backoff{10000};
  std::chrono::microseconds retry_backoff_max{500000};

  /* Per-step budgets as shares of total (50 ms gives the figures above): a grace period 2/5, the
   * Tx drain 1/10, a queue disable 1/25, the Rx delivery 1/25; each at least 1 us. */
  void set_quiesce_timeout(std::chrono::microseconds total)
  {
    const auto share = [&](long num, long den) {
      return std::chrono::microseconds(std::max<long>(1, static_cast<long>(total.count()) * num / den));
    };
    quiesce = share(1, 1);
    grace = share(2, 5);
    tx_drain = share(1, 10);
    queue_disable = share(1, 25);
    rx_deliver = share(1, 25);
  }
};

/* What quiesce did, for the slot and the log. */
struct QuiesceResult {
  int rc = 0;                 /* 0 or -ETIMEDOUT */
  std::string what;           /* the step that ran out of time */
  uint64_t frames_dropped = 0;/* completed Rx frames the application did not take in time */
  bool lcore_inside = false;  /* a grace period ran out: an lcore may still be inside a burst */
  /* Time per step, for the breakdown in the log: tx gates, tx drain, queue disable, rx delivery,
   * rx gates. */
  uint64_t step_ns[5] = {};
};

/* Events the device found in its mailbox / registers (polled by the control thread). */
enum class PfEvent : uint8_t { none, migration_announced, vf_reset };

/* The device-specific half, implemented by the PMD (control path only: virtual calls are fine). */
class MigrationDevice {
 public:
  virtual ~MigrationDevice() = default;
  virtual uint16_t port_id() const = 0;
  virtual std::string identity() const = 0;           /* vdev name or PCI address */
  virtual bool started() const = 0;                   /* dev_start done, not stopped */
  virtual unsigned n_rx_queues() const = 0;
  virtual unsigned n_tx_queues() const = 0;
  /* Point queue q's logger hook at l (nullptr: off). Release store; the burst reads it once. */
  virtual void set_rx_logger(unsigned q, DirtyLogger *l) = 0;
  virtual void set_tx_logger(unsigned q, DirtyLogger *l) = 0;
  /* Wait until every lcore that was inside a burst of this port when called has left it. */
  virtual bool grace_period(const Deadline &d) = 0;
  /* [first, last] byte of everything queue q's device writes can land in: an Rx queue's ring and
   * its mempool's data areas from the headroom on, a Tx queue's ring. Control path; may walk the
   * whole pool. Empty: no proof of a marked queue for it (QueueMarkScan). */
  virtual std::vector<std::pair<uint64_t, uint64_t>> rx_dma_spans(unsigned) const { return {}; }
  virtual std::vector<std::pair<uint64_t, uint64_t>> tx_dma_spans(unsigned) const { return {}; }
  /* Mark every ring page and every buffer posted to the device (rx) / head write-back (tx). */
  virtual void log_posted(DirtyLogger *const *rx, DirtyLogger *const *tx) = 0;
  /* After a quiesce that stopped the device's DMA in time: mark every ring page and the buffers
   * the device completed that no burst took (from an Rx ring's next-to-read while DD is set); a
   * posted buffer without DD was not written. The default marks every posted buffer. */
  virtual void log_completed(DirtyLogger *const *rx, DirtyLogger *const *tx) { log_posted(rx, tx); }
  /* Stop-copy on this VF: gates, Tx drain, disable, Rx deliver, stop. */
  virtual QuiesceResult quiesce(const MigrationBudgets &b) = 0;
  /* Undo quiesce on the same VF (no reset). */
  virtual int resume_same_vf(const MigrationBudgets &b, std::string *why) = 0;
  /* Platform hook before a rebuild on the destination (sim: switch the VfPort; PCI: nothing). */
  virtual void platform_switch(uint32_t migration_seq) = 0;
  /* Platform hook during pre-copy, after the ack (sim: have the destination PF ready, as a real
   * destination host is before the VM arrives; PCI: nothing). */
  virtual void platform_prepare() {}
  /* Full rebuild on a (reset) VF: reset, negotiate, queues, replay, free old mbufs, fresh rings,
   * enable queues. Leaves the gates closed when open_gates is false. */
  virtual int rebuild(const MigrationBudgets &b, bool open_gates, std::string *why) = 0;
  /* Open the gates after a rebuild with open_gates == false. */
  virtual void open_gates() = 0;
  virtual bool wait_link(const Deadline &d) = 0;
  /* Report link down/up to the application (link status + LSC event if it asked). */
  virtual void set_link_reported(bool up) = 0;
  /* Mailbox/registers: a PF message or a reset indication. Called by the control thread. */
  virtual PfEvent poll_pf_event() = 0;
  /* recover=app: raise RTE_ETH_EVENT_INTR_RESET. */
  virtual void raise_intr_reset() = 0;
};

struct MigrationStats {
  uint64_t migrations_done = 0;
  uint64_t last_quiesce_ns = 0;
  uint64_t last_restart_ns = 0;
  uint64_t frames_dropped = 0;
  uint64_t pages_logged = 0;
  uint64_t recoveries = 0;
  uint64_t timeouts = 0;
  uint64_t log_errors = 0;     /* failures to log a page the device may have written */
  bool log_incomplete = false; /* one since logging started: the acks say so */
};

class MigrationPort {
 public:
  /* dev outlives this object. Attaches the region when args name one. */
  static std::unique_ptr<MigrationPort> create(MigrationDevice &dev, const MigrationDevargs &args, std::string *why);
  ~MigrationPort();
  MigrationPort(const MigrationPort &) = delete;
  MigrationPort &operator=(const MigrationPort &) = delete;

  /* Called by the control thread every poll period. */
  void poll();

  /* Driver hooks. */
  void on_dev_start();               /* queues were (re)created: re-publish loggers if logging */
  void on_dev_stop();
  /* Serialises an ethdev control operation (start, stop, queues, addresses, filters, RSS, reset)
   * with the migration steps: the operation never runs during a quiesce or a rebuild, and what it
   * stores in the configuration is what the next rebuild replays. Waits at most `bound` (the
   * longest step holds it for its attempts and the link wait); not owned after that. */
  using OpLock = std::unique_lock<OpMutex>;
  OpLock lock_ops(std::chrono::microseconds bound);
  /* Quiesced for a migration (or the API): the queues stay stopped until the migration resumes or
   * rebuilds them. Read with lock_ops held. */
  bool holds_queues() const { return quiesced_; }

  /* Public API (any thread). */
  int api_quiesce(uint32_t timeout_us);
  int api_resume();
  int api_state() const { return static_cast<int>(state_.load(std::memory_order_acquire)); }
  int set_callback(rte_pmd_ixgbevf_lm_mig_event ev, rte_pmd_ixgbevf_lm_mig_cb cb, void *arg);
  MigrationStats stats() const;

  rte_pmd_ixgbevf_lm_mig_state state() const { return state_.load(std::memory_order_acquire); }
  bool logging() const { return logging_.load(std::memory_order_acquire); }
  DirtyLogMode mode() const { return args_.effective_mode(); }
  uint16_t port_id() const { return dev_.port_id(); }
  bool has_slot() const { return slot_.valid(); }
  const MigrationBudgets &budgets() const { return budgets_; }
  MigrationBudgets &budgets() { return budgets_; }

  /* After acknowledging STOP_COPY or RESUMING the host's next request follows within about a
   * millisecond: until this time the control thread watches the request word of a region whose
   * host cannot ring it awake instead of sleeping a poll period (0: not expecting). */
  MigClock::time_point expect_request_until() const { return expect_until_.load(std::memory_order_relaxed); }
  /* The region this port's slot is in (nullptr without one): its doorbell wakes the control thread. */
  std::shared_ptr<RegionAttachment> region() const { return slot_.valid() ? region_ : nullptr; }
  /* The host posted a request this port has not handled yet (one acquire load). */
  bool request_pending() const { return slot_.valid() && slot_.poll_request().generation != handled_gen_; }

  /* xstats appended by the PMD. */
  static unsigned xstats_count();
  static const char *xstat_name(unsigned i);
  uint64_t xstat_value(unsigned i) const;

 private:
  MigrationPort(MigrationDevice &dev, const MigrationDevargs &args);

  void handle_request(const region::Request &r);
  bool start_logging(std::string *why);
  void stop_logging();
  int do_quiesce(const char *trigger);
  int do_resume_same_vf(const char *trigger);
  int do_rebuild(const char *trigger, bool open_gates);
  void ack(const region::Request &r, region::State reached);
  /* Fail closed: count n failures to log, flag the log incomplete until logging stops (every ack
   * carries it), say why in the slot and the log. */
  /* The queues run again: a quiesce's failure to log ends with it unless logging goes on. */
  void unquiesce()
  {
    quiesced_ = false;
    if (!logging_.load(std::memory_order_relaxed))
      log_incomplete_.store(false, std::memory_order_relaxed);
  }
  void log_error(uint64_t n, const std::string &why, bool set_slot_error = true);
  /* The marks the loggers could not make since the last look (out of range, untranslated). */
  void check_log_errors();
  /* Every ring and pool the loggers will mark lies in the region's ranges (bitmap mode). */
  bool dma_spans_logged(const AddrTable *xl, std::string *why) const;
  void fail(int code, const std::string &msg);
  void callback(rte_pmd_ixgbevf_lm_mig_event ev);
  void publish_counters();
  void try_background_recovery();
  void scan_queues();

  MigrationDevice &dev_;
  MigrationDevargs args_;
  MigrationBudgets budgets_;
  std::shared_ptr<RegionAttachment> region_;
  region::GuestSlot slot_;
  std::unique_ptr<AddrTable> xlat_;
  std::vector<std::unique_ptr<DirtyLogger>> rx_log_, tx_log_;
  std::vector<QueueMarkScan> rx_scan_, tx_scan_;  /* per queue while logging to a 1.1 bitmap */

  mutable OpMutex op_lock_;  /* one migration step at a time (thread, API, ops) */
  std::atomic<bool> ctl_waiting_{false};   /* the control thread waits for op_lock_: ops hold back */
  std::atomic<rte_pmd_ixgbevf_lm_mig_state> state_{RTE_PMD_IXGBEVF_LM_MIG_RUNNING};
  std::atomic<bool> logging_{false};
  uint32_t handled_gen_ = 0;                /* written by the control thread only (and create) */
  std::atomic<MigClock::time_point> expect_until_{MigClock::time_point{}};
  bool quiesced_ = false;
  bool pending_run_destination_ = false;   /* RUNNING(DESTINATION) arrived while recovering */
  region::Request pending_req_{};
  bool have_pending_req_ = false;
  uint32_t migration_seq_ = 0;
  MigClock::time_point quiesce_start_{};
  MigClock::time_point next_retry_{};
  std::chrono::microseconds backoff_{0};
  uint64_t logged_base_ = 0;               /* pages of loggers already retired */
  std::atomic<uint64_t> pages_total_{0};   /* last total published to the slot */
  uint64_t rx_unmarked_base_ = 0, tx_unmarked_base_ = 0;  /* bursts_unmarked of retired loggers */
  std::atomic<uint64_t> rx_unmarked_total_{0}, tx_unmarked_total_{0};  /* bursts that needed no marks */
  bool quiesce_by_region_ = false;         /* quiesced for STOP_COPY: the rebuild waits for RESUMING */
  std::vector<std::unique_ptr<DirtyLogger>> retired_;  /* loggers an lcore might still hold */
  uint64_t oor_base_ = 0;                  /* the region's out-of-range count at logging start */
  uint64_t untranslated_seen_ = 0;         /* untranslated pages of the current loggers, counted */
  std::atomic<bool> log_incomplete_{false};/* a failure to log since logging started */
  std::atomic<uint64_t> log_errors_{0};

  std::atomic<uint64_t> migrations_{0}, last_quiesce_ns_{0}, last_restart_ns_{0}, frames_dropped_{0},
      recoveries_{0}, timeouts_{0};
  struct Cb {
    rte_pmd_ixgbevf_lm_mig_cb fn = nullptr;
    void *arg = nullptr;
  };
  Cb cbs_[RTE_PMD_IXGBEVF_LM_MIG_EV_MAX];
};

/* The per-process control thread: polls every registered port every min(poll_us). */
class MigrationController {
 public:
  static MigrationController &instance();
  int add(MigrationPort *p, uint32_t poll_us, std::string *why);
  void remove(MigrationPort *p);
  MigrationPort *find(uint16_t port_id);
  /* Run one poll pass on the calling thread (tests single-step with this; the thread is not
   * started when the environment variable IXGBEVF_LM_MIG_NO_THREAD is set). */
  void poll_once();
  /* Call fn on every port under the controller's lock (telemetry). */
  void for_each(const std::function<void(MigrationPort &)> &fn);

  struct Impl;

 private:
  MigrationController() = default;
  Impl &impl();
};

/* Telemetry: /ixgbevf_lm/migration[,<port_id>]. Registered once per process. */
void register_migration_telemetry();
const char *mig_state_name(rte_pmd_ixgbevf_lm_mig_state s);

}  // namespace ixgbevf_lm::pmd::mig
