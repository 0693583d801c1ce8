/* SPDX-License-Identifier: BSD-3-Clause
 * Live migration, driver side: the per-port state machine (logging, quiesce, resume, rebuild).
 * The control thread is in ixgbevf_lm_mig_control.cpp, the xstats in ixgbevf_lm_mig_xstats.cpp,
 * the public API in ixgbevf_lm_mig_api.cpp. See doc/design/migration-driver.md.
 */
#include "ixgbevf_lm_migration.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <pthread.h>
#include <sys/prctl.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_pause.h>

RTE_LOG_REGISTER(ixgbevf_lm_mig_logtype, pmd.net.ixgbevf_lm.mig, NOTICE);

#define MIG_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, ixgbevf_lm_mig_logtype, "ixgbevf_lm mig: " fmt "\n", ##__VA_ARGS__)

namespace ixgbevf_lm::pmd::mig {

namespace {

/* How long the control thread watches the request word after a STOP_COPY or RESUMING ack: the
 * host's final fetch and switch (STOP_COPY -> RESUMING) or nothing (RESUMING -> RUNNING) lie
 * between; beyond that it falls back to the poll period. */
constexpr std::chrono::microseconds kExpectNextRequest{2000};

uint64_t ns_since(MigClock::time_point t0)
{
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(MigClock::now() - t0).count());
}

}  // namespace

const char *mig_state_name(rte_pmd_ixgbevf_lm_mig_state s)
{
  switch (s) {
  case RTE_PMD_IXGBEVF_LM_MIG_RUNNING: return "running";
  case RTE_PMD_IXGBEVF_LM_MIG_LOGGING: return "logging";
  case RTE_PMD_IXGBEVF_LM_MIG_QUIESCED: return "quiesced";
  case RTE_PMD_IXGBEVF_LM_MIG_RESTORED: return "restored";
  case RTE_PMD_IXGBEVF_LM_MIG_RECOVERING: return "recovering";
  case RTE_PMD_IXGBEVF_LM_MIG_ERROR: return "error";
  }
  return "?";
}

/* ---- MigrationPort ---- */

MigrationPort::MigrationPort(MigrationDevice &dev, const MigrationDevargs &args) : dev_(dev), args_(args) {}

std::unique_ptr<MigrationPort> MigrationPort::create(MigrationDevice &dev, const MigrationDevargs &args,
                                                     std::string *why)
{
  if (validate_migration_devargs(args, why) != 0)
    return nullptr;
  std::unique_ptr<MigrationPort> p(new MigrationPort(dev, args));
  p->budgets_.set_quiesce_timeout(std::chrono::microseconds{args.quiesce_timeout_us});
  /* Touch mode alone has no handshake: nothing stops the device before the vCPUs pause, so a
   * page it writes after the last touch is stale on the destination. It logs, it does not make
   * the port safe to migrate: say so at probe (doc/guides/nics/ixgbevf_lm.rst, limits). */
  if (args.effective_mode() == DirtyLogMode::touch && args.region_path.empty())
    MIG_LOG(WARNING,
            "port %u: dirty_log=touch without mig_region: no quiesce handshake with the hypervisor; live "
            "migration needs mig_region=<path> (the device is never stopped before the VM is)",
            dev.port_id());
  if (!args.region_path.empty()) {
    p->region_ = RegionAttachment::acquire(args.region_path, why);
    if (!p->region_)
      return nullptr;
    const std::string id = dev.identity();
    auto s = p->region_->claim(id);
    if (!s) {
      if (why != nullptr)
        *why = "migration region " + args.region_path + ": cannot claim a slot for " + id + ": " + s.error().message;
      return nullptr;
    }
    p->slot_ = s.value();
    /* Acknowledge whatever is posted as plain running: a restarted driver starts from scratch. */
    const region::Request r = p->slot_.poll_request();
    p->handled_gen_ = r.generation;
    p->slot_.report(region::State::running, r.generation, false);
    p->slot_.clear_error();
    MIG_LOG(INFO, "port %u: slot %u of %s claimed as %s", dev.port_id(), p->slot_.index(),
            args.region_path.c_str(), id.c_str());
  }
  return p;
}

MigrationPort::~MigrationPort()
{
  std::lock_guard<OpMutex> lk(op_lock_);
  stop_logging();
  if (region_ && slot_.valid()) {
    publish_counters();
    region_->release(slot_);
  }
}

void MigrationPort::fail(int code, const std::string &msg)
{
  MIG_LOG(ERR, "port %u: %s", dev_.port_id(), msg.c_str());
  if (slot_.valid())
    slot_.set_error(code, msg);
}

void MigrationPort::callback(rte_pmd_ixgbevf_lm_mig_event ev)
{
  const Cb c = cbs_[ev];
  if (c.fn != nullptr)
    c.fn(dev_.port_id(), ev, c.arg);
}

int MigrationPort::set_callback(rte_pmd_ixgbevf_lm_mig_event ev, rte_pmd_ixgbevf_lm_mig_cb cb, void *arg)
{
  if (ev < 0 || ev >= RTE_PMD_IXGBEVF_LM_MIG_EV_MAX)
    return -EINVAL;
  std::lock_guard<OpMutex> lk(op_lock_);
  cbs_[ev] = Cb{cb, arg};
  return 0;
}

bool MigrationPort::start_logging(std::string *why)
{
  const DirtyLogMode m = mode();
  if (m == DirtyLogMode::off) {
    if (why != nullptr)
      *why = "dirty_log=off";
    return false;
  }
  if (logging_.load(std::memory_order_relaxed))
    return true;
  const auto t0 = MigClock::now();
  const AddrTable *xl = nullptr;
  if (m == DirtyLogMode::bitmap && args_.dirty_addr == DirtyAddr::pa && rte_eal_iova_mode() == RTE_IOVA_VA) {
    std::string w;
    xlat_ = AddrTable::build_from_memsegs(&w);
    if (!xlat_) {
      if (why != nullptr)
        *why = "dirty_addr=pa: " + w;
      return false;
    }
    xl = xlat_.get();
    MIG_LOG(INFO, "port %u: IOVA->PA table built, %zu extents", dev_.port_id(), xlat_->extents());
  }
  /* A ring or buffer outside the ranges could never be reported: refuse rather than log part. */
  if (m == DirtyLogMode::bitmap && !dma_spans_logged(xl, why)) {
    xlat_.reset();
    return false;
  }
  const auto make = [&]() {
    auto l = std::make_unique<DirtyLogger>();
    l->mode = m;
    l->xlat = xl;
    if (m == DirtyLogMode::bitmap) {
      l->guest = &region_->guest();
      l->fetch_begin = region_->guest().fetch_begin_word();
      l->page_shift = static_cast<uint32_t>(__builtin_ctzll(region_->guest().page_size()));
    } else {
      l->page_shift = 12;
    }
    return l;
  };
  rx_log_.clear();
  tx_log_.clear();
  rx_scan_.clear();
  tx_scan_.clear();
  for (unsigned q = 0; q < dev_.n_rx_queues(); ++q)
    rx_log_.push_back(make());
  for (unsigned q = 0; q < dev_.n_tx_queues(); ++q)
    tx_log_.push_back(make());
  for (unsigned q = 0; q < rx_log_.size(); ++q)
    dev_.set_rx_logger(q, rx_log_[q].get());
  for (unsigned q = 0; q < tx_log_.size(); ++q)
    dev_.set_tx_logger(q, tx_log_[q].get());
  log_incomplete_.store(false, std::memory_order_relaxed);
  oor_base_ = m == DirtyLogMode::bitmap ? region_->guest().out_of_range_count() : 0;
  untranslated_seen_ = 0;
  /* Every burst that starts after the grace period logs; buffers posted before are marked now. A
   * burst still running may consume without marking, so an lcore preempted inside one is waited
   * for longer than a quiesce would (logging start is not downtime): up to a rebuild's budget. */
  bool quiet = dev_.grace_period(Deadline(budgets_.grace));
  if (!quiet) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    quiet = dev_.grace_period(Deadline(std::max(budgets_.rebuild, budgets_.grace)));
  }
  std::vector<DirtyLogger *> rx, tx;
  for (auto &l : rx_log_)
    rx.push_back(l.get());
  for (auto &l : tx_log_)
    tx.push_back(l.get());
  /* What the device wrote before this instant is in the host's first pass, which copies all
   * memory after the ack; from here on a burst marks what it consumes and the quiesce what is left.
   * So only the rings and the completed buffers: marking every posted buffer as well reported
   * hundreds of pages the device never wrote (over-report x2 on a loaded machine). */
  if (quiet)
    dev_.log_completed(rx.data(), tx.data());
  else
    dev_.log_posted(rx.data(), tx.data());
  logging_.store(true, std::memory_order_release);
  /* A burst that started before the loggers were published may still consume buffers unmarked. */
  if (!quiet)
    log_error(1, "an lcore stayed inside a burst for more than " +
                     std::to_string((budgets_.grace + std::max(budgets_.rebuild, budgets_.grace)).count()) +
                     " us while logging started");
  MIG_LOG(INFO, "port %u: dirty logging (%s) on, %u rx + %u tx queues, posted buffers marked in %.3f ms",
          dev_.port_id(), dirty_log_mode_name(m), static_cast<unsigned>(rx.size()), static_cast<unsigned>(tx.size()),
          static_cast<double>(ns_since(t0)) / 1e6);
  return true;
}

void MigrationPort::stop_logging()
{
  if (!logging_.load(std::memory_order_relaxed))
    return;
  for (unsigned q = 0; q < rx_log_.size(); ++q)
    dev_.set_rx_logger(q, nullptr);
  for (unsigned q = 0; q < tx_log_.size(); ++q)
    dev_.set_tx_logger(q, nullptr);
  const bool quiet = dev_.grace_period(Deadline(budgets_.grace));
  check_log_errors();
  publish_counters();
  for (auto &l : rx_log_) {
    logged_base_ += l->pages_marked();
    rx_unmarked_base_ += std::atomic_ref<uint64_t>(l->bursts_unmarked).load(std::memory_order_relaxed);
  }
  for (auto &l : tx_log_) {
    logged_base_ += l->pages_marked();
    tx_unmarked_base_ += std::atomic_ref<uint64_t>(l->bursts_unmarked).load(std::memory_order_relaxed);
  }
  if (quiet) {
    rx_log_.clear();
    tx_log_.clear();
  } else {
    /* An lcore may still hold a pointer: keep the loggers alive (they are small) rather than free
     * memory under it. */
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    MIG_LOG(WARNING, "port %u: grace period ran out while logging stopped; loggers kept", dev_.port_id());
    for (auto &l : rx_log_)
      retired_.push_back(std::move(l));
    for (auto &l : tx_log_)
      retired_.push_back(std::move(l));
    rx_log_.clear();
    tx_log_.clear();
  }
  xlat_.reset();
  rx_scan_.clear();
  tx_scan_.clear();
  logging_.store(false, std::memory_order_release);
  if (!quiesced_)  /* else it ends with the quiesce: a STOP ack is no cleaner than STOP_COPY's */
    log_incomplete_.store(false, std::memory_order_relaxed);
  MIG_LOG(INFO, "port %u: dirty logging off", dev_.port_id());
}

void MigrationPort::publish_counters()
{
  uint64_t total = logged_base_;
  for (auto &l : rx_log_)
    total += l->pages_marked();
  for (auto &l : tx_log_)
    total += l->pages_marked();
  const auto unmarked = [](uint64_t base, const std::vector<std::unique_ptr<DirtyLogger>> &logs) {
    for (auto &l : logs)
      base += std::atomic_ref<uint64_t>(l->bursts_unmarked).load(std::memory_order_relaxed);
    return base;
  };
  rx_unmarked_total_.store(unmarked(rx_unmarked_base_, rx_log_), std::memory_order_relaxed);
  tx_unmarked_total_.store(unmarked(tx_unmarked_base_, tx_log_), std::memory_order_relaxed);
  const uint64_t prev = pages_total_.exchange(total, std::memory_order_relaxed);
  if (slot_.valid() && total > prev)
    slot_.add_pages_logged(total - prev);
}

void MigrationPort::ack(const region::Request &r, region::State reached)
{
  const bool logging = logging_.load(std::memory_order_relaxed);
  if (logging)
    check_log_errors();
  publish_counters();
  if (!slot_.valid())
    return;
  const bool incomplete = (logging || quiesced_) && log_incomplete_.load(std::memory_order_relaxed);
  /* A host older than layout 1.2 does not read kReportLogIncomplete: it gets ERROR instead, which
   * it cannot take for a clean acknowledgement (the message says why). */
  if (incomplete && region_->guest().version_minor() < 2)
    reached = region::State::error;
  slot_.acknowledge(r, reached, logging, incomplete);
}

void MigrationPort::log_error(uint64_t n, const std::string &why, bool set_slot_error)
{
  if (n == 0)
    return;
  const bool first = !log_incomplete_.exchange(true, std::memory_order_relaxed);
  log_errors_.fetch_add(n, std::memory_order_relaxed);
  if (slot_.valid()) {
    slot_.add_log_errors(n);
    if (set_slot_error)
      slot_.set_error(-EIO, "dirty log incomplete: " + why);
  }
  /* Once per logging session at ERR (a persistent cause would flood the log every poll). */
  if (first)
    MIG_LOG(ERR, "port %u: dirty log incomplete, the host must treat all memory as dirty: %s", dev_.port_id(),
            why.c_str());
  else
    MIG_LOG(DEBUG, "port %u: dirty log: %s", dev_.port_id(), why.c_str());
}

void MigrationPort::check_log_errors()
{
  if (mode() != DirtyLogMode::bitmap || !region_)
    return;
  /* The region's count is shared by the ports of this process that attach it: a mark another port
   * could not make is taken as this port's too (over-reporting a failure is safe, hiding one not). */
  const uint64_t oor = region_->guest().out_of_range_count();
  if (oor > oor_base_) {
    log_error(oor - oor_base_, std::to_string(oor - oor_base_) + " page marks outside the region's ranges");
    oor_base_ = oor;
  }
  uint64_t untranslated = 0;
  for (auto &l : rx_log_)
    untranslated += l->untranslated_count();
  for (auto &l : tx_log_)
    untranslated += l->untranslated_count();
  if (untranslated > untranslated_seen_) {
    const uint64_t d = untranslated - untranslated_seen_;
    log_error(d, std::to_string(d) + " pages without an IOVA->PA translation");
    untranslated_seen_ = untranslated;
  }
}

bool MigrationPort::dma_spans_logged(const AddrTable *xl, std::string *why) const
{
  const region::Guest &g = region_->guest();
  /* Pages of [first, last] that no mark could reach: outside every range, or (dirty_addr=pa)
   * without a translation. */
  const auto outside = [&](uint64_t first, uint64_t last) -> uint64_t {
    if (xl == nullptr)
      return g.pages_outside(first, last - first + 1);
    uint64_t n = 0;
    for (uint64_t a = first; a <= last;) {
      const uint64_t pa = xl->translate(a);
      const uint64_t psz = uint64_t{1} << g.page_shift();
      const uint64_t chunk = pa == AddrTable::kNoTranslation ? psz - (a & (psz - 1))
                                                             : std::min(last - a + 1, xl->extent_left(a));
      n += pa == AddrTable::kNoTranslation ? 1 : g.pages_outside(pa, chunk);
      if (chunk == 0 || a + chunk < a)
        break;
      a += chunk;
    }
    return n;
  };
  const auto check = [&](const char *kind, unsigned q, const std::vector<std::pair<uint64_t, uint64_t>> &spans) {
    for (const auto &[first, last] : spans) {
      if (const uint64_t n = outside(first, last); n != 0) {
        char b[200];
        std::snprintf(b, sizeof b, "%s queue %u: %llu pages of [0x%llx, 0x%llx] lie outside the region's ranges%s",
                      kind, q, static_cast<unsigned long long>(n), static_cast<unsigned long long>(first),
                      static_cast<unsigned long long>(last), xl ? " (or have no translation)" : "");
        if (why != nullptr)
          *why = b;
        return false;
      }
    }
    return true;
  };
  for (unsigned q = 0; q < dev_.n_rx_queues(); ++q)
    if (!check("rx", q, dev_.rx_dma_spans(q)))
      return false;
  for (unsigned q = 0; q < dev_.n_tx_queues(); ++q)
    if (!check("tx", q, dev_.tx_dma_spans(q)))
      return false;
  return true;
}

int MigrationPort::do_quiesce(const char *trigger)
{
  if (quiesced_)
    return -EBUSY;
  callback(RTE_PMD_IXGBEVF_LM_MIG_EV_BEFORE_QUIESCE);
  const auto t0 = MigClock::now();
  QuiesceResult res = dev_.quiesce(budgets_);
  quiesced_ = true;
  state_.store(RTE_PMD_IXGBEVF_LM_MIG_QUIESCED, std::memory_order_release);
  /* The device's DMA is over: everything it could still have written is marked now. When a step
   * ran out of time it may not be over: every posted buffer then (and the ack says incomplete). */
  if (logging_.load(std::memory_order_relaxed)) {
    std::vector<DirtyLogger *> rx, tx;
    for (auto &l : rx_log_)
      rx.push_back(l.get());
    for (auto &l : tx_log_)
      tx.push_back(l.get());
    if (res.rc == 0)
      dev_.log_completed(rx.data(), tx.data());
    else
      dev_.log_posted(rx.data(), tx.data());
  }
  if (res.frames_dropped != 0) {
    frames_dropped_.fetch_add(res.frames_dropped, std::memory_order_relaxed);
    if (slot_.valid())
      slot_.add_frames_dropped(res.frames_dropped);
  }
  const uint64_t ns = ns_since(t0);
  last_quiesce_ns_.store(ns, std::memory_order_relaxed);
  if (slot_.valid())
    slot_.set_last_quiesce_ns(ns);
  if (res.rc != 0) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    fail(res.rc, std::string("quiesce: ") + res.what);
    /* The device (or an lcore still in its burst) may write or consume after the final marks: the
     * STOP_COPY ack must not look clean, logging or not (the slot keeps the quiesce's error). */
    log_error(1, std::string("quiesce timed out: ") + res.what, false);
  } else if (slot_.valid() && !log_incomplete_.load(std::memory_order_relaxed)) {
    slot_.clear_error();
  }
  MIG_LOG(NOTICE,
          "port %u: quiesced (%s) in %.3f ms (tx gates %.3f, tx drain %.3f, disable %.3f, rx delivery %.3f, "
          "rx gates %.3f), %llu frames left in rings%s",
          dev_.port_id(), trigger, static_cast<double>(ns) / 1e6, res.step_ns[0] / 1e6, res.step_ns[1] / 1e6,
          res.step_ns[2] / 1e6, res.step_ns[3] / 1e6, res.step_ns[4] / 1e6,
          static_cast<unsigned long long>(res.frames_dropped), res.rc != 0 ? " [timed out]" : "");
  return res.rc;
}

int MigrationPort::do_resume_same_vf(const char *trigger)
{
  std::string why;
  const auto t0 = MigClock::now();
  int rc = dev_.resume_same_vf(budgets_, &why);
  /* -EBUSY: an lcore was preempted inside a burst. It leaves soon, and the VF is fine: wait for it
   * again, for as long as one rebuild attempt may take, rather than reset a VF the cancel promised
   * to keep (a rebuild would wait for it too). */
  const auto keep_waiting_until = t0 + budgets_.rebuild;
  for (unsigned a = 1; rc == -EBUSY && (a < budgets_.rebuild_attempts || MigClock::now() < keep_waiting_until); ++a)
    rc = dev_.resume_same_vf(budgets_, &why);
  if (rc != 0) {
    fail(rc, "resume on the same VF failed (" + why + "), rebuilding");
    return do_rebuild(trigger, true);
  }
  unquiesce();
  const uint64_t ns = ns_since(t0);
  last_restart_ns_.store(ns, std::memory_order_relaxed);
  if (slot_.valid())
    slot_.set_last_restart_ns(ns);
  state_.store(logging_.load() ? RTE_PMD_IXGBEVF_LM_MIG_LOGGING : RTE_PMD_IXGBEVF_LM_MIG_RUNNING,
               std::memory_order_release);
  MIG_LOG(NOTICE, "port %u: resumed on the same VF (%s) in %.3f ms", dev_.port_id(), trigger,
          static_cast<double>(ns) / 1e6);
  return 0;
}

int MigrationPort::do_rebuild(const char *trigger, bool open_gates)
{
  const auto t0 = MigClock::now();
  std::string why;
  int rc = -EIO;
  for (unsigned a = 1; a <= budgets_.rebuild_attempts; ++a) {
    rc = dev_.rebuild(budgets_, open_gates, &why);
    if (rc == 0)
      break;
    MIG_LOG(WARNING, "port %u: rebuild (%s) attempt %u/%u failed: %s", dev_.port_id(), trigger, a,
            budgets_.rebuild_attempts, why.c_str());
  }
  if (rc != 0) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    dev_.set_link_reported(false);
    state_.store(RTE_PMD_IXGBEVF_LM_MIG_RECOVERING, std::memory_order_release);
    backoff_ = budgets_.retry_backoff;
    next_retry_ = MigClock::now() + backoff_;
    fail(rc, std::string("rebuild: ") + why + "; link down, retrying");
    return rc;
  }
  unquiesce();
  const uint64_t ns = ns_since(t0);
  last_restart_ns_.store(ns, std::memory_order_relaxed);
  if (slot_.valid()) {
    slot_.set_last_restart_ns(ns);
    slot_.clear_error();
  }
  const auto tl = MigClock::now();
  const bool link = dev_.wait_link(Deadline(budgets_.link));
  dev_.set_link_reported(link);
  if (!link)
    MIG_LOG(WARNING, "port %u: no link %lld us after the rebuild; reported down until it comes", dev_.port_id(),
            static_cast<long long>(budgets_.link.count()));
  MIG_LOG(NOTICE, "port %u: rebuilt on a reset VF (%s) in %.3f ms, link seen %.3f ms later", dev_.port_id(), trigger,
          static_cast<double>(ns) / 1e6, static_cast<double>(ns_since(tl)) / 1e6);
  return 0;
}

void MigrationPort::try_background_recovery()
{
  if (MigClock::now() < next_retry_)
    return;
  std::string why;
  const bool in_migration = have_pending_req_ && !pending_run_destination_;
  const int rc = dev_.rebuild(budgets_, !in_migration, &why);
  if (rc != 0) {
    backoff_ = std::min(backoff_ * 2, budgets_.retry_backoff_max);
    next_retry_ = MigClock::now() + backoff_;
    MIG_LOG(DEBUG, "port %u: recovery attempt failed (%s), next in %lld us", dev_.port_id(), why.c_str(),
            static_cast<long long>(backoff_.count()));
    return;
  }
  unquiesce();
  recoveries_.fetch_add(1, std::memory_order_relaxed);
  if (slot_.valid())
    slot_.clear_error();
  const bool link = dev_.wait_link(Deadline(budgets_.link));
  dev_.set_link_reported(link);
  MIG_LOG(NOTICE, "port %u: PF answers again, port rebuilt", dev_.port_id());
  if (have_pending_req_ && !pending_run_destination_) {
    state_.store(RTE_PMD_IXGBEVF_LM_MIG_RESTORED, std::memory_order_release);
    ack(pending_req_, region::State::resuming);
    return;
  }
  if (pending_run_destination_) {
    migrations_.fetch_add(1, std::memory_order_relaxed);
    if (slot_.valid())
      slot_.count_migration();
    ack(pending_req_, region::State::running);
  }
  have_pending_req_ = false;
  pending_run_destination_ = false;
  state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release);
  callback(RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME);
}

void MigrationPort::handle_request(const region::Request &r)
{
  using region::State;
  handled_gen_ = r.generation;
  const bool want_log = r.logging() && mode() != DirtyLogMode::off;
  MIG_LOG(INFO, "port %u: request gen %u %s/%s%s", dev_.port_id(), r.generation, region::state_name(r.state),
          region::resume_kind_name(r.kind), r.logging() ? " +logging" : "");
  std::string why;
  if (want_log && !logging_.load() && r.state != State::resuming) {
    if (!start_logging(&why)) {
      /* The host asked for a log it cannot have: ERROR with the reason, never a silent ack. */
      fail(-ERANGE, "dirty logging refused: " + why);
      ack(r, State::error);
      return;
    }
  }
  if (!want_log && logging_.load() && !(mode() == DirtyLogMode::touch && !slot_.valid()))
    stop_logging();

  switch (r.state) {
  case State::pre_copy:
    if (!quiesced_)
      state_.store(logging_.load() ? RTE_PMD_IXGBEVF_LM_MIG_LOGGING : RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
    ack(r, State::pre_copy);
    dev_.platform_prepare();
    return;
  case State::stop_copy:
    if (!quiesced_)
      quiesce_by_region_ = true, (void)do_quiesce("region STOP_COPY");
    ack(r, State::stop_copy);
    expect_until_.store(MigClock::now() + kExpectNextRequest, std::memory_order_relaxed);
    return;
  case State::stop:
    ack(r, State::stop);
    return;
  case State::resuming: {
    /* A re-sent RESUMING while the rebuild is still being retried does not switch again. */
    const bool retry = have_pending_req_ && state_.load() == RTE_PMD_IXGBEVF_LM_MIG_RECOVERING;
    have_pending_req_ = false;
    pending_run_destination_ = false;
    const auto ts = MigClock::now();
    if (!retry)
      dev_.platform_switch(++migration_seq_);
    MIG_LOG(INFO, "port %u: platform switch %.3f ms", dev_.port_id(), static_cast<double>(ns_since(ts)) / 1e6);
    if (do_rebuild("RESUMING", false) == 0) {
      state_.store(RTE_PMD_IXGBEVF_LM_MIG_RESTORED, std::memory_order_release);
      ack(r, State::resuming);
      expect_until_.store(MigClock::now() + kExpectNextRequest, std::memory_order_relaxed);
    } else {
      have_pending_req_ = true;
      pending_req_ = r;
      ack(r, State::error);
    }
    return;
  }
  case State::running:
    if (r.kind == region::ResumeKind::destination) {
      if (state_.load() == RTE_PMD_IXGBEVF_LM_MIG_RECOVERING) {
        pending_run_destination_ = true;
        have_pending_req_ = true;
        pending_req_ = r;
        return; /* acked once the PF answers */
      }
      dev_.open_gates();
      unquiesce();
      quiesce_by_region_ = false;
      migrations_.fetch_add(1, std::memory_order_relaxed);
      if (slot_.valid())
        slot_.count_migration();
      state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release);
      ack(r, State::running);
      callback(RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME);
      return;
    }
    if (r.kind == region::ResumeKind::source_abort) {
      if (quiesced_)
        (void)do_resume_same_vf("migration cancelled");
      quiesce_by_region_ = false;
      if (state_.load() != RTE_PMD_IXGBEVF_LM_MIG_RECOVERING)
        state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release);
      ack(r, state_.load() == RTE_PMD_IXGBEVF_LM_MIG_RECOVERING ? State::error : State::running);
      callback(RTE_PMD_IXGBEVF_LM_MIG_EV_ABORT);
      return;
    }
    if (quiesced_)
      (void)do_resume_same_vf("RUNNING");
    if (state_.load() != RTE_PMD_IXGBEVF_LM_MIG_RECOVERING)
      state_.store(logging_.load() ? RTE_PMD_IXGBEVF_LM_MIG_LOGGING : RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
    ack(r, State::running);
    return;
  default:
    fail(-EINVAL, std::string("request for state ") + region::state_name(r.state) + " ignored");
    ack(r, State::error);
    return;
  }
}

MigrationPort::OpLock MigrationPort::lock_ops(std::chrono::microseconds bound)
{
  const auto end = MigClock::now() + bound;
  /* The control thread first: an application calling operations back to back would otherwise
   * starve the host's requests and the PF's resets (the mutex is not fair). */
  while (ctl_waiting_.load(std::memory_order_acquire) && MigClock::now() < end)
    std::this_thread::yield();
  return OpLock(op_lock_, end);
}

void MigrationPort::poll()
{
  /* An operation of the application holds the port: wait for it (briefly; operations are mailbox
   * exchanges) with the next ones held back, rather than skip this poll, and the next. */
  constexpr std::chrono::milliseconds kWaitForOperation{5};
  std::unique_lock<OpMutex> lk(op_lock_, std::try_to_lock);
  if (!lk.owns_lock()) {
    ctl_waiting_.store(true, std::memory_order_release);
    lk = std::unique_lock<OpMutex>(op_lock_, kWaitForOperation);
    ctl_waiting_.store(false, std::memory_order_release);
    if (!lk.owns_lock())
      return;
  }
  if (slot_.valid()) {
    const region::Request r = slot_.poll_request();
    if (r.generation != handled_gen_)
      handle_request(r);
  }
  if (!dev_.started()) {
    publish_counters();
    return;
  }
  switch (dev_.poll_pf_event()) {
  case PfEvent::none:
    break;
  case PfEvent::migration_announced:
    if (!quiesced_)
      (void)do_quiesce("PF mailbox migration message");
    break;
  case PfEvent::vf_reset:
    if (quiesce_by_region_)
      break; /* the rebuild comes with RESUMING (or the abort finds the same VF) */
    if (args_.recover == RecoverMode::app) {
      /* Once per reset: the application's rte_eth_dev_reset() clears the indication. */
      if (state_.load(std::memory_order_relaxed) != RTE_PMD_IXGBEVF_LM_MIG_ERROR) {
        dev_.set_link_reported(false);
        state_.store(RTE_PMD_IXGBEVF_LM_MIG_ERROR, std::memory_order_release);
        MIG_LOG(NOTICE, "port %u: VF reset by the PF; recover=app: RTE_ETH_EVENT_INTR_RESET for the application",
                dev_.port_id());
        dev_.raise_intr_reset();
      }
      break;
    }
    {
      const bool migrated = quiesced_;
      if (!migrated)
        callback(RTE_PMD_IXGBEVF_LM_MIG_EV_BEFORE_QUIESCE);
      if (do_rebuild(migrated ? "VF replaced after the PF's migration message" : "PF reset", true) == 0) {
        if (migrated)
          migrations_.fetch_add(1, std::memory_order_relaxed);
        else
          recoveries_.fetch_add(1, std::memory_order_relaxed);
        state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release);
        callback(RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME);
      }
    }
    break;
  }
  if (state_.load(std::memory_order_relaxed) == RTE_PMD_IXGBEVF_LM_MIG_RECOVERING)
    try_background_recovery();
  if (logging_.load(std::memory_order_relaxed)) {
    check_log_errors();
    if (!quiesced_)
      scan_queues();
  }
  publish_counters();
}

void MigrationPort::scan_queues()
{
  if (mode() != DirtyLogMode::bitmap || xlat_ || !region_ || !region_->guest().tracks_fetches())
    return;
  region::Guest &g = region_->guest();
  if (rx_scan_.size() != rx_log_.size() || tx_scan_.size() != tx_log_.size()) {
    /* First poll after logging started: the queues' pages, computed here rather than before the
     * acknowledgement (a large pool takes milliseconds). */
    rx_scan_.clear();
    tx_scan_.clear();
    const uint32_t shift = g.page_shift();
    for (unsigned q = 0; q < rx_log_.size(); ++q)
      rx_scan_.emplace_back(span_pages(dev_.rx_dma_spans(q), shift));
    for (unsigned q = 0; q < tx_log_.size(); ++q)
      tx_scan_.emplace_back(span_pages(dev_.tx_dma_spans(q), shift));
  }
  /* Bounded per poll: a scan that stops at an unmarked page resumes there. */
  constexpr size_t kPagesPerPoll = 8192;
  for (unsigned q = 0; q < rx_log_.size(); ++q)
    (void)rx_scan_[q].step(*rx_log_[q], g, kPagesPerPoll);
  for (unsigned q = 0; q < tx_log_.size(); ++q)
    (void)tx_scan_[q].step(*tx_log_[q], g, kPagesPerPoll);
}

void MigrationPort::on_dev_start()
{
  std::lock_guard<OpMutex> lk(op_lock_);
  if (state_.load(std::memory_order_relaxed) == RTE_PMD_IXGBEVF_LM_MIG_ERROR && !quiesced_)
    state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release); /* recover=app: reset done */
  if (mode() == DirtyLogMode::touch && !slot_.valid()) {
    /* touch without a region: the hypervisor tracks through KVM, logging is always on. */
    stop_logging();
    std::string why;
    (void)start_logging(&why);
    return;
  }
  if (logging_.load()) {
    stop_logging();
    std::string why;
    if (!start_logging(&why))
      fail(-EIO, "dirty logging could not restart after dev_start: " + why);
  }
}

void MigrationPort::on_dev_stop()
{
  std::lock_guard<OpMutex> lk(op_lock_);
  /* Loggers stay published: a stopped port does no DMA, and restart re-creates them. */
}

int MigrationPort::api_quiesce(uint32_t timeout_us)
{
  std::lock_guard<OpMutex> lk(op_lock_);
  if (quiesced_)
    return -EBUSY;
  const MigrationBudgets saved = budgets_;
  budgets_.set_quiesce_timeout(std::chrono::microseconds{timeout_us});  /* every step from the caller's bound */
  const int rc = do_quiesce("API");
  budgets_ = saved;
  return rc;
}

int MigrationPort::api_resume()
{
  std::lock_guard<OpMutex> lk(op_lock_);
  if (!quiesced_)
    return 0;
  int rc;
  if (dev_.poll_pf_event() == PfEvent::vf_reset)
    rc = do_rebuild("API resume on a replaced VF", true);
  else
    rc = do_resume_same_vf("API");
  if (rc == 0) {
    state_.store(RTE_PMD_IXGBEVF_LM_MIG_RUNNING, std::memory_order_release);
    callback(RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME);
  }
  return rc;
}

MigrationStats MigrationPort::stats() const
{
  MigrationStats s;
  s.migrations_done = migrations_.load(std::memory_order_relaxed);
  s.last_quiesce_ns = last_quiesce_ns_.load(std::memory_order_relaxed);
  s.last_restart_ns = last_restart_ns_.load(std::memory_order_relaxed);
  s.frames_dropped = frames_dropped_.load(std::memory_order_relaxed);
  s.pages_logged = pages_total_.load(std::memory_order_relaxed);
  s.recoveries = recoveries_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.log_errors = log_errors_.load(std::memory_order_relaxed);
  s.log_incomplete = log_incomplete_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ixgbevf_lm::pmd::mig
