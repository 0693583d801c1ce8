/* SPDX-License-Identifier: BSD-3-Clause
 * The PMD's half of live migration: mig::MigrationDevice implemented on the Adapter and its queues
 * (gates, Tx drain, queue disable, Rx delivery, posted-buffer logging, rebuild on a reset VF), and
 * the attach/detach of a port's migration state (see doc/design/migration-driver.md).
 */
#include <cinttypes>
#include <cstdio>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_intr.h"
#include "ixgbevf_lm_migdev.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace ixgbevf_lm::hw;
using mig::Deadline;
using mig::MigrationBudgets;
using mig::QuiesceResult;

namespace {

RxQueue *rxq(rte_eth_dev *dev, unsigned q) { return static_cast<RxQueue *>(dev->data->rx_queues[q]); }
TxQueue *txq(rte_eth_dev *dev, unsigned q) { return static_cast<TxQueue *>(dev->data->tx_queues[q]); }

/* Grace period on one gate without changing its state: the burst makes its sequence odd, then
 * reads the state and the logger pointer; we stored those, run the heavy half of the gate's fence
 * (gate_barrier(), once for all gates when `barrier` is false), and see the sequence even or moved
 * past the odd value first seen, so every burst we did not see inside has seen the change. */
bool gate_grace(QueueGate &g, const Deadline &d, bool barrier = true)
{
  if (barrier)
    gate_barrier();
  const uint32_t first = g.seq.load(std::memory_order_acquire);
  if ((first & 1u) == 0)
    return true;
  return mig::wait_until(d, [&] { return g.seq.load(std::memory_order_acquire) != first; });
}

bool gate_close(QueueGate &g, const Deadline &d)
{
  g.state.store(kQueuePaused, std::memory_order_relaxed);
  return gate_grace(g, d);
}

uint64_t us_left(const Deadline &d) { return uint64_t(d.left().count()); }

std::string fmt(const char *f, unsigned a, unsigned b = 0, unsigned c = 0, long long us = 0)
{
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c, us);
  return buf;
}

}  // namespace

AdapterMigration::AdapterMigration(Adapter &ad) : ad_(ad) {}

uint16_t AdapterMigration::port_id() const { return ad_.dev->data->port_id; }
std::string AdapterMigration::identity() const { return ad_.dev->data->name; }
bool AdapterMigration::started() const { return ad_.started; }
unsigned AdapterMigration::n_rx_queues() const { return ad_.dev->data->nb_rx_queues; }
unsigned AdapterMigration::n_tx_queues() const { return ad_.dev->data->nb_tx_queues; }

void AdapterMigration::set_rx_logger(unsigned q, mig::DirtyLogger *l)
{
  if (RxQueue *r = rxq(ad_.dev, q))
    std::atomic_ref<mig::DirtyLogger *>(r->dirty_logger).store(l, std::memory_order_release);
}

void AdapterMigration::set_tx_logger(unsigned q, mig::DirtyLogger *l)
{
  if (TxQueue *t = txq(ad_.dev, q))
    std::atomic_ref<mig::DirtyLogger *>(t->dirty_logger).store(l, std::memory_order_release);
}

bool AdapterMigration::grace_period(const Deadline &d)
{
  bool ok = true;
  gate_barrier();
  for (unsigned q = 0; q < n_rx_queues(); ++q)
    if (RxQueue *r = rxq(ad_.dev, q))
      ok &= gate_grace(r->gate, d, false);
  for (unsigned q = 0; q < n_tx_queues(); ++q)
    if (TxQueue *t = txq(ad_.dev, q))
      ok &= gate_grace(t->gate, d, false);
  return ok;
}

std::vector<std::pair<uint64_t, uint64_t>> AdapterMigration::rx_dma_spans(unsigned q) const
{
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  RxQueue *r = rxq(ad_.dev, q);
  if (r == nullptr || r->mp == nullptr || r->ring == nullptr)
    return spans;
  spans.reserve(r->mp->size + 1);
  spans.emplace_back(r->ring_iova, r->ring_iova + uint64_t(r->nb_desc) * kDescSize - 1);
  /* Every mbuf of the pool: the refill posts buf_iova + headroom, the device writes up to the
   * buffer's end. */
  rte_mempool_obj_iter(
      r->mp,
      [](rte_mempool *, void *arg, void *obj, unsigned) {
        const auto *m = static_cast<const rte_mbuf *>(obj);
        if (m->buf_len > RTE_PKTMBUF_HEADROOM)
          static_cast<std::vector<std::pair<uint64_t, uint64_t>> *>(arg)->emplace_back(
              m->buf_iova + RTE_PKTMBUF_HEADROOM, m->buf_iova + m->buf_len - 1);
      },
      &spans);
  return spans;
}

std::vector<std::pair<uint64_t, uint64_t>> AdapterMigration::tx_dma_spans(unsigned q) const
{
  TxQueue *t = txq(ad_.dev, q);
  if (t == nullptr || t->ring == nullptr)
    return {};
  /* the descriptor write-backs, or the head write-back word (tx_head_wb=1) */
  if (t->head_wb)
    return {{t->head_wb_iova, t->head_wb_iova + sizeof(uint32_t) - 1}};
  return {{t->ring_iova, t->ring_iova + uint64_t(t->nb_desc) * kDescSize - 1}};
}

void AdapterMigration::log_posted(mig::DirtyLogger *const *rx, mig::DirtyLogger *const *tx)
{
  for (unsigned q = 0; q < n_rx_queues(); ++q) {
    RxQueue *r = rxq(ad_.dev, q);
    if (r == nullptr || r->ring == nullptr || rx[q] == nullptr)
      continue;
    mig::log_ring_and_buffers(*rx[q], r->ring_iova, const_cast<RxDesc *>(r->ring), uint64_t(r->nb_desc) * kDescSize,
                              r->sw_ring, r->nb_desc);
  }
  for (unsigned q = 0; q < n_tx_queues(); ++q) {
    TxQueue *t = txq(ad_.dev, q);
    if (t == nullptr || t->ring == nullptr || tx[q] == nullptr)
      continue;
    /* Tx buffers are only read by the device; its writes are descriptor write-backs or, with
     * tx_head_wb=1, the head write-back word. */
    mig::log_range(*tx[q], t->ring_iova, const_cast<TxDesc *>(t->ring), uint64_t(t->nb_desc) * kDescSize);
    if (t->head_wb)
      mig::log_range(*tx[q], t->head_wb_iova, const_cast<uint32_t *>(t->head_wb), sizeof(uint32_t));
  }
}

QuiesceResult AdapterMigration::quiesce(const MigrationBudgets &b)
{
  QuiesceResult res;
  rte_eth_dev *dev = ad_.dev;
  const HwAccess &hw = ad_.hw;
  /* Every step gets its own budget, held to what is left of the whole: a step that times out
   * shortens the next ones, never the acknowledgement. */
  const Deadline total(b.quiesce);
  auto within = [&](std::chrono::microseconds step) { return Deadline(std::min(step, total.left())); };
  auto timed_out = [&](std::string what) {
    IXGBEVF_LM_LOG(WARNING, "port %u: quiesce: %s", port_id(), what.c_str());
    if (res.rc == 0) {
      res.rc = -ETIMEDOUT;
      res.what = std::move(what);
    }
  };
  auto t = mig::MigClock::now();
  auto step = [&](unsigned i) {
    const auto now = mig::MigClock::now();
    res.step_ns[i] += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(now - t).count());
    t = now;
  };
  /* 1. Tx stops accepting frames: bursts return 0, the application keeps its mbufs. */
  for (unsigned q = 0; q < n_tx_queues(); ++q)
    if (TxQueue *t = txq(dev, q); t && !gate_close(t->gate, within(b.grace))) {
      res.lcore_inside = true;
      timed_out(fmt("tx queue %u: an lcore stayed in tx burst", q));
    }
  step(0);
  /* 2. The device sends what it holds. */
  for (unsigned q = 0; q < n_tx_queues(); ++q) {
    if (txq(dev, q) == nullptr)
      continue;
    const Deadline d = within(b.tx_drain);
    if (!poll_regs_equal(hw, VFTDH(q), VFTDT(q), us_left(d)))
      timed_out(fmt("tx queue %u: TDH %u != TDT %u after %lld us", q, rd32(hw, VFTDH(q)), rd32(hw, VFTDT(q)),
                    static_cast<long long>(b.tx_drain.count())));
  }
  step(1);
  /* 3. Disable every queue and see ENABLE clear. */
  for (unsigned q = 0; q < n_tx_queues(); ++q) {
    if (txq(dev, q) == nullptr)
      continue;
    wr32(hw, VFTXDCTL(q), rd32(hw, VFTXDCTL(q)) & ~TXDCTL_ENABLE);
    if (!poll_reg_bit(hw, VFTXDCTL(q), TXDCTL_ENABLE, false, us_left(within(b.queue_disable))))
      timed_out(fmt("tx queue %u: TXDCTL.ENABLE still set after %u us", q, unsigned(b.queue_disable.count())));
  }
  for (unsigned q = 0; q < n_rx_queues(); ++q) {
    if (rxq(dev, q) == nullptr)
      continue;
    wr32(hw, VFRXDCTL(q), rd32(hw, VFRXDCTL(q)) & ~RXDCTL_ENABLE);
    if (!poll_reg_bit(hw, VFRXDCTL(q), RXDCTL_ENABLE, false, us_left(within(b.queue_disable))))
      timed_out(fmt("rx queue %u: RXDCTL.ENABLE still set after %u us", q, unsigned(b.queue_disable.count())));
  }
  step(2);
  /* 4. Rx bursts deliver what completed (bounded), then stop. What is left is counted as dropped. */
  for (unsigned q = 0; q < n_rx_queues(); ++q) {
    RxQueue *r = rxq(dev, q);
    if (r == nullptr)
      continue;
    auto completed_left = [r] {
      const uint16_t tail = std::atomic_ref<uint16_t>(r->rx_tail).load(std::memory_order_relaxed);
      return (r->ring[tail].wb.status_error & rte_cpu_to_le_32(RXD_STAT_DD)) != 0;
    };
    if (r->gate.state.load() == kQueueRunning)
      (void)mig::wait_until(within(b.rx_deliver), [&] { return !completed_left(); });
    step(3);
    if (!gate_close(r->gate, within(b.grace))) {
      res.lcore_inside = true;
      timed_out(fmt("rx queue %u: an lcore stayed in rx burst", q));
    }
    /* Count the completed frames nobody took (an lcore still inside may take some yet). */
    uint16_t i = r->rx_tail;
    for (unsigned n = 0; n + 1 < r->nb_desc; ++n) {
      const uint32_t st = rte_le_to_cpu_32(r->ring[i].wb.status_error);
      if (!(st & RXD_STAT_DD))
        break;
      if (st & RXD_STAT_EOP)
        ++res.frames_dropped;
      i = uint16_t(i + 1 == r->nb_desc ? 0 : i + 1);
    }
    step(4);
  }
  return res;
}

int AdapterMigration::resume_same_vf(const MigrationBudgets &b, std::string *why)
{
  rte_eth_dev *dev = ad_.dev;
  /* The rings are reprogrammed below: not under an lcore still inside a burst (see rebuild_once). */
  if (!grace_period(Deadline(b.grace))) {
    *why = "an lcore is still inside a burst";
    return -EBUSY;
  }
  /* Tx first: the device sent everything (TDH == TDT); txq_start cleans and restarts the ring, and
   * the mbufs it held go back to their pools before the Rx rings are filled again. */
  for (unsigned q = 0; q < n_tx_queues(); ++q) {
    if (txq(dev, q) == nullptr || dev->data->tx_queue_state[q] != RTE_ETH_QUEUE_STATE_STARTED)
      continue;
    if (int rc = txq_start(dev, uint16_t(q)); rc != 0) {
      *why = fmt("tx queue %u: re-enable failed", q);
      return rc;
    }
  }
  /* Rx: reprogram and refill (completed frames left in the ring are dropped, counted at quiesce). */
  if (int rc = refill_rx_rings("re-enable", why); rc != 0)
    return rc;
  open_gates();
  return 0;
}

void AdapterMigration::platform_switch(uint32_t seq)
{
  if (!ad_.backend->migration_switch)
    return;
  /* The counters of the VF we leave are sampled last now; the service alarm must not sample the new
   * VF's (reset) counters against the old VF's values, which would look like a wrap. */
  stats_sample(ad_);
  std::lock_guard<std::mutex> g(ad_.stats_mu);
  ad_.backend->migration_switch(ad_, seq);
  ad_.last_raw = HwCounterRaw{};
}

void AdapterMigration::platform_prepare()
{
  if (ad_.backend->migration_prepare)
    ad_.backend->migration_prepare(ad_);
}

int migration_attach(Adapter &ad) noexcept
{
  try {
    ad.migdev = std::make_unique<AdapterMigration>(ad);
    std::string why;
    ad.migport = mig::MigrationPort::create(*ad.migdev, ad.devargs.mig, &why);
    if (!ad.migport) {
      IXGBEVF_LM_LOG(ERR, "port %u: %s", ad.dev->data->port_id, why.c_str());
      ad.migdev.reset();
      return -EINVAL;
    }
    if (int rc = mig::MigrationController::instance().add(ad.migport.get(), ad.devargs.mig.poll_us, &why); rc != 0) {
      IXGBEVF_LM_LOG(ERR, "port %u: %s", ad.dev->data->port_id, why.c_str());
      ad.migport.reset();
      ad.migdev.reset();
      return rc;
    }
    return 0;
  } catch (const std::exception &e) {
    IXGBEVF_LM_LOG(ERR, "port %u: migration set-up: %s", ad.dev->data->port_id, e.what());
    ad.migport.reset();
    ad.migdev.reset();
    return -ENOMEM;
  }
}

void migration_detach(Adapter &ad) noexcept
{
  if (ad.migport) {
    /* The control thread polls no more once remove() returned; the port's destructor stops
     * logging (grace period) and releases the slot. */
    mig::MigrationController::instance().remove(ad.migport.get());
    ad.migport.reset();
  }
  ad.migdev.reset();
}

int AdapterMigration::refill_rx_rings(const char *what, std::string *why)
{
  rte_eth_dev *dev = ad_.dev;
  const auto started = [&](unsigned q) -> RxQueue * {
    RxQueue *r = rxq(dev, q);
    return r != nullptr && dev->data->rx_queue_state[q] == RTE_ETH_QUEUE_STATE_STARTED ? r : nullptr;
  };
  /* Every old ring emptied before any is filled: queues sharing a pool need room for a whole ring. */
  for (unsigned q = 0; q < n_rx_queues(); ++q)
    if (RxQueue *r = started(q))
      rxq_free_mbufs(*r);
  for (unsigned q = 0; q < n_rx_queues(); ++q)
    if (RxQueue *r = started(q); r != nullptr)
      if (int rc = rxq_hw_enable(ad_, *r); rc != 0) {
        *why = fmt("rx queue %u: ", q) + what + " failed";
        return rc;
      }
  return 0;
}

int AdapterMigration::rebuild(const MigrationBudgets &b, bool open, std::string *why)
{
  /* A failed attempt holds the link reported down until an attempt succeeds. */
  const int rc = rebuild_once(b, open, why);
  ad_.link_held_down.store(rc != 0);
  return rc;
}

int AdapterMigration::rebuild_once(const MigrationBudgets &b, bool open, std::string *why)
{
  rte_eth_dev *dev = ad_.dev;
  /* The rings are freed and rebuilt below: never under an lcore that is still inside a burst (a
   * quiesce whose grace period ran out lets the port go on, not this). The attempt fails instead
   * and is retried. */
  for (unsigned q = 0; q < n_rx_queues(); ++q)
    if (RxQueue *r = rxq(dev, q); r && !gate_close(r->gate, Deadline(b.grace))) {
      *why = fmt("rx queue %u: an lcore is still inside rx burst", q);
      return -EBUSY;
    }
  for (unsigned q = 0; q < n_tx_queues(); ++q)
    if (TxQueue *t = txq(dev, q); t && !gate_close(t->gate, Deadline(b.grace))) {
      *why = fmt("tx queue %u: an lcore is still inside tx burst", q);
      return -EBUSY;
    }
  int rc = vf_reset_and_negotiate(ad_);
  if (rc != 0) {
    *why = "VF reset / mailbox negotiation: " + std::string(rte_strerror(-rc));
    return rc;
  }
  stats_rebase(ad_);  /* a new (or reset) VF: its counters start over, the totals go on */
  rc = replay_config(ad_);
  if (rc != 0) {
    *why = "configuration replay: " + std::string(rte_strerror(-rc));
    return rc;
  }
  /* The address the port uses survives the move even when nobody set it (a PF that assigns none
   * gives every new VF a random one): the application and its peers keep addressing it. */
  if (!ad_.cfg.mac_set && !rte_is_same_ether_addr(&dev->data->mac_addrs[0], &ad_.perm_addr)) {
    const rte_ether_addr cur = dev->data->mac_addrs[0];
    if ((rc = cfg_set_mac(ad_, cur)) != 0) {
      *why = "restoring MAC address: " + std::string(rte_strerror(-rc));
      return rc;
    }
  }
  if (!ad_.started)
    return 0;
  /* Tx first, so that the mbufs the old Tx rings held are back in their pools before the Rx rings
   * are filled again (a pool sized for the application's steady state has no room for both). */
  for (unsigned q = 0; q < n_tx_queues(); ++q) {
    TxQueue *t = txq(dev, q);
    if (t == nullptr || dev->data->tx_queue_state[q] != RTE_ETH_QUEUE_STATE_STARTED)
      continue;
    if ((rc = txq_start(dev, uint16_t(q))) != 0) {  /* frees the old ring's mbufs, fresh ring */
      *why = fmt("tx queue %u: start on the new VF failed", q);
      return rc;
    }
    if (!open)
      t->gate.state.store(kQueuePaused, std::memory_order_release);
  }
  if ((rc = refill_rx_rings("start on the new VF", why)) != 0)
    return rc;
  intr_restore(dev);  /* the reset forgot the queue-to-vector map and the armed vectors */
  if (open)
    open_gates();
  return 0;
}

void AdapterMigration::open_gates()
{
  rte_eth_dev *dev = ad_.dev;
  for (unsigned q = 0; q < n_rx_queues(); ++q)
    if (RxQueue *r = rxq(dev, q); r && dev->data->rx_queue_state[q] == RTE_ETH_QUEUE_STATE_STARTED)
      r->gate.state.store(kQueueRunning, std::memory_order_release);
  for (unsigned q = 0; q < n_tx_queues(); ++q)
    if (TxQueue *t = txq(dev, q); t && dev->data->tx_queue_state[q] == RTE_ETH_QUEUE_STATE_STARTED)
      t->gate.state.store(kQueueRunning, std::memory_order_release);
}

bool AdapterMigration::wait_link(const Deadline &d)
{
  return mig::wait_until(d, [&] {
    const uint32_t l = rd32(ad_.hw, VFLINKS);
    return l != 0xFFFFFFFFu && (l & LINKS_UP) != 0;
  });
}

void AdapterMigration::set_link_reported(bool up)
{
  rte_eth_dev *dev = ad_.dev;
  int changed;
  if (up) {
    changed = vf_link_update(dev, 0) == 0;
  } else {
    rte_eth_link link{};
    link.link_status = RTE_ETH_LINK_DOWN;
    changed = rte_eth_linkstatus_set(dev, &link) == 0;
  }
  if (changed && dev->data->dev_conf.intr_conf.lsc)
    rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, nullptr);
}

mig::PfEvent AdapterMigration::poll_pf_event()
{
  if (ad_.migration_phase.exchange(0) != 0)
    return mig::PfEvent::migration_announced;
  if (ad_.pf_reset_seen.load())
    return mig::PfEvent::vf_reset;
  return mig::PfEvent::none;
}

void AdapterMigration::raise_intr_reset()
{
  /* recover=app: the service alarm delivered RTE_ETH_EVENT_INTR_RESET on the interrupt thread when
   * it saw RSTI (once per reset, as DPDK's ixgbe VF driver does); nothing more to raise here. */
}

}  // namespace ixgbevf_lm::pmd
