/* SPDX-License-Identifier: BSD-3-Clause
 * The per-process migration control thread: polls every registered port (MigrationController).
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

namespace ixgbevf_lm::pmd::mig {

/* ---- MigrationController ---- */

struct MigrationController::Impl {
  std::mutex lock;
  std::vector<std::pair<MigrationPort *, uint32_t>> ports;
  pthread_t thread{};
  bool thread_running = false;
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> period_us{100};
};

MigrationController &MigrationController::instance()
{
  static MigrationController c;
  return c;
}

MigrationController::Impl &MigrationController::impl()
{
  static Impl i;
  return i;
}

namespace {

void *control_thread_main(void *arg)
{
  auto *c = static_cast<MigrationController *>(arg);
  /* The poll period is tens of microseconds: the default 50 us timer slack would double it. */
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  c->poll_once();
  return nullptr;
}

}  // namespace

namespace {

/* A port whose host cannot ring its region's doorbell (a region in a PCI BAR, or older than 1.3). */
bool needs_watching(MigrationPort &p)
{
  const auto r = p.region();
  return r == nullptr || !r->guest().host_wakes();
}

/* While such a port expects the host's next request soon, watch the request words (one acquire
 * load per port and look, 5 us apart) instead of sleeping a poll period: true when a request came
 * (poll now), false when no port expects one or the window closed. A port the host wakes is never
 * watched: on a shared CPU the watch is a spin that holds off the very thread that posts. */
bool watch_requests(MigrationController::Impl &im)
{
  for (unsigned i = 0;; ++i) {
    bool expecting = false;
    {
      std::lock_guard<std::mutex> lk(im.lock);
      const auto now = MigClock::now();
      for (auto &[p, us] : im.ports) {
        if (!needs_watching(*p))
          continue;
        if (p->request_pending())
          return true;
        expecting |= now < p->expect_request_until();
      }
    }
    if (!expecting || im.stop.load(std::memory_order_acquire))
      return false;
    if (i < 16) {
      rte_pause();
    } else {
      /* A short sleep, not a yield: on a machine with few CPUs the host's thread needs this one to
       * post the request (the thread's timer slack is 1 us). */
      timespec ts{0, 5000};
      clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    }
  }
}

}  // namespace

void MigrationController::poll_once()
{
  Impl &im = impl();
  const bool is_thread = im.thread_running && pthread_equal(pthread_self(), im.thread);
  do {
    /* The doorbell to sleep on: the first region whose host rings it. Its value is read before the
     * ports look at their requests, so a request posted after the look rings another value and
     * ends the wait at once. Ports of other regions are served at the poll period. */
    std::shared_ptr<RegionAttachment> bell;
    uint32_t seen = 0;
    {
      std::lock_guard<std::mutex> lk(im.lock);
      for (auto &[p, us] : im.ports) {
        if (!needs_watching(*p)) {
          bell = p->region();
          break;
        }
      }
      if (bell != nullptr)
        seen = bell->guest().request_bell();
      for (auto &[p, us] : im.ports)
        p->poll();
    }
    if (!is_thread)
      return;
    if (watch_requests(im))
      continue;
    const uint32_t us = im.period_us.load(std::memory_order_relaxed);
    if (bell != nullptr) {
      (void)bell->guest().wait_request(seen, std::chrono::microseconds(us));
      continue;
    }
    timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
  } while (!im.stop.load(std::memory_order_acquire));
}

int MigrationController::add(MigrationPort *p, uint32_t poll_us, std::string *why)
{
  Impl &im = impl();
  std::unique_lock<std::mutex> lk(im.lock);
  im.ports.emplace_back(p, poll_us);
  uint32_t period = poll_us;
  for (auto &[q, us] : im.ports)
    period = std::min(period, us);
  im.period_us.store(period, std::memory_order_relaxed);
  register_migration_telemetry();
  if (im.thread_running || std::getenv("IXGBEVF_LM_MIG_NO_THREAD") != nullptr)
    return 0;
  im.stop.store(false);
  im.thread_running = true; /* before the thread reads it */
  const int rc = rte_ctrl_thread_create(&im.thread, "ixgbevf-lm-mig", nullptr, control_thread_main, this);
  if (rc != 0) {
    im.thread_running = false;
    im.ports.pop_back();
    if (why != nullptr)
      *why = std::string("cannot create the migration control thread: ") + strerror(rc);
    return -rc;
  }
  return 0;
}

void MigrationController::remove(MigrationPort *p)
{
  Impl &im = impl();
  std::unique_lock<std::mutex> lk(im.lock);
  std::erase_if(im.ports, [p](const auto &e) { return e.first == p; });
  if (!im.ports.empty() || !im.thread_running)
    return;
  im.stop.store(true, std::memory_order_release);
  const pthread_t t = im.thread;
  lk.unlock();
  pthread_join(t, nullptr);
  lk.lock();
  im.thread_running = false;
}

MigrationPort *MigrationController::find(uint16_t port_id)
{
  Impl &im = impl();
  std::lock_guard<std::mutex> lk(im.lock);
  for (auto &[p, us] : im.ports)
    if (p->port_id() == port_id)
      return p;
  return nullptr;
}

void MigrationController::for_each(const std::function<void(MigrationPort &)> &fn)
{
  Impl &im = impl();
  std::lock_guard<std::mutex> lk(im.lock);
  for (auto &[p, us] : im.ports)
    fn(*p);
}

}  // namespace ixgbevf_lm::pmd::mig
