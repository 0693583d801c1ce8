/* SPDX-License-Identifier: BSD-3-Clause
 * Statistics. The VF's counters wrap (32-bit packets, 36-bit octets) and never clear; the driver
 * accumulates deltas into 64-bit totals (sampled at least every service interval so no wrap is
 * missed) and reset remembers a base. Per-queue counts are the driver's own.
 */
#include <algorithm>
#include <cstdio>
#include <type_traits>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

constexpr uint64_t kOctetMask = (uint64_t(1) << kStatOctetBits) - 1;

uint64_t read36(const HwAccess &hw, uint32_t lsb, uint32_t msb) {
  /* MSB, LSB, MSB again: a carry between the two reads is caught */
  uint32_t hi = rd32(hw, msb);
  uint32_t lo = rd32(hw, lsb);
  uint32_t hi2 = rd32(hw, msb);
  if (hi2 != hi)
    lo = rd32(hw, lsb);
  return ((uint64_t(hi2 & 0xF) << 32) | lo) & kOctetMask;
}

/* The driver's own counters; ethdev already reports rx_mbuf_allocation_errors from stats.rx_nombuf.
 * The mailbox counters and resets are plain words of the Adapter (shared memory): a secondary reads
 * them as they are; the hardware totals come in the snapshot. */
struct DrvStat {
  const char *name;
  uint64_t (*get)(const Adapter &, const CounterSnapshot &);
};
const DrvStat kDrvStats[] = {
    {"rx_multicast_packets", [](const Adapter &, const CounterSnapshot &s) { return s.imcast; }},
    {"mailbox_requests", [](const Adapter &a, const CounterSnapshot &) { return a.mbx.requests; }},
    {"mailbox_errors", [](const Adapter &a, const CounterSnapshot &) { return a.mbx.errors; }},
    {"mailbox_refusals", [](const Adapter &a, const CounterSnapshot &) { return a.mbx.nacks; }},
    {"mailbox_timeouts", [](const Adapter &a, const CounterSnapshot &) { return a.mbx.timeouts; }},
    {"mailbox_pf_messages", [](const Adapter &a, const CounterSnapshot &) { return a.mbx.pf_messages; }},
    {"vf_resets", [](const Adapter &a, const CounterSnapshot &) { return a.resets; }},
};
constexpr unsigned kNumDrv = sizeof(kDrvStats) / sizeof(kDrvStats[0]);

/* Bad descriptor write-backs, summed over the port's queues (the queues are shared memory). */
template <class Q>
uint64_t sum_queues(const rte_eth_dev *dev, uint64_t Q::*field) {
  const bool rx = std::is_same_v<Q, RxQueue>;
  const unsigned n = rx ? dev->data->nb_rx_queues : dev->data->nb_tx_queues;
  void *const *qs = rx ? dev->data->rx_queues : dev->data->tx_queues;
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++)
    if (const auto *q = static_cast<const Q *>(qs[i]))
      v += q->*field;
  return v;
}
struct WbStat {
  const char *name;
  uint64_t (*get)(const rte_eth_dev *);
};
const WbStat kWbStats[] = {
    {"rx_bad_wb_length", [](const rte_eth_dev *d) { return sum_queues(d, &RxQueue::bad_wb_length); }},
    {"rx_bad_wb_mac_error", [](const rte_eth_dev *d) { return sum_queues(d, &RxQueue::bad_wb_mac_error); }},
    {"rx_bad_wb_no_eop", [](const rte_eth_dev *d) { return sum_queues(d, &RxQueue::bad_wb_no_eop); }},
    {"tx_bad_wb_head", [](const rte_eth_dev *d) { return sum_queues(d, &TxQueue::bad_wb_head); }},
};
constexpr unsigned kNumWb = sizeof(kWbStats) / sizeof(kWbStats[0]);
constexpr unsigned kPerQueue = 2;  /* packets, bytes */

/* Only whether the primary has a migration port: the pointer is the primary's (no dereference). */
unsigned n_mig(const rte_eth_dev *dev) {
  return static_cast<const Adapter *>(dev->data->dev_private)->migport ? mig::MigrationPort::xstats_count() : 0;
}

unsigned count(const rte_eth_dev *dev) {
  return kNumDrv + kNumWb + kPerQueue * (dev->data->nb_rx_queues + dev->data->nb_tx_queues) + n_mig(dev);
}

}  // namespace

void stats_sample(Adapter &ad) noexcept {
  std::lock_guard g(ad.stats_mu);
  const HwAccess &hw = ad.hw;
  if (rd32(hw, VFSTATUS) == 0xFFFFFFFFu)
    return; /* device not reachable: keep the totals */
  HwCounterRaw now;
  now.gprc = rd32(hw, VFGPRC);
  now.gptc = rd32(hw, VFGPTC);
  now.mprc = rd32(hw, VFMPRC);
  now.gorc = read36(hw, VFGORC_LSB, VFGORC_MSB);
  now.gotc = read36(hw, VFGOTC_LSB, VFGOTC_MSB);
  HwCounterRaw &was = ad.last_raw;
  ad.total.gprc += uint32_t(now.gprc - was.gprc);
  ad.total.gptc += uint32_t(now.gptc - was.gptc);
  ad.total.mprc += uint32_t(now.mprc - was.mprc);
  ad.total.gorc += (now.gorc - was.gorc) & kOctetMask;
  ad.total.gotc += (now.gotc - was.gotc) & kOctetMask;
  was = now;
}

/* After a VF reset the registers may restart from another value: take it as the new origin. */
void stats_rebase(Adapter &ad) noexcept {
  std::lock_guard g(ad.stats_mu);
  const HwAccess &hw = ad.hw;
  ad.last_raw.gprc = rd32(hw, VFGPRC);
  ad.last_raw.gptc = rd32(hw, VFGPTC);
  ad.last_raw.mprc = rd32(hw, VFMPRC);
  ad.last_raw.gorc = read36(hw, VFGORC_LSB, VFGORC_MSB);
  ad.last_raw.gotc = read36(hw, VFGOTC_LSB, VFGOTC_MSB);
}

void counters_snapshot(Adapter &ad, CounterSnapshot *out) noexcept {
  stats_sample(ad);
  {
    std::lock_guard g(ad.stats_mu);
    out->ipackets = ad.total.gprc - ad.base.gprc;
    out->opackets = ad.total.gptc - ad.base.gptc;
    out->ibytes = ad.total.gorc - ad.base.gorc;
    out->obytes = ad.total.gotc - ad.base.gotc;
    out->imcast = ad.total.mprc - ad.base.mprc;
  }
  out->n_mig = 0;
  if (ad.migport) {
    out->n_mig = std::min<unsigned>(mig::MigrationPort::xstats_count(), kMaxMigXstats);
    for (unsigned i = 0; i < out->n_mig; i++)
      out->mig[i] = ad.migport->xstat_value(i);
  }
}

int stats_fill(rte_eth_dev *dev, const CounterSnapshot &s, rte_eth_stats *st) noexcept {
  st->ipackets = s.ipackets;
  st->opackets = s.opackets;
  st->ibytes = s.ibytes;
  st->obytes = s.obytes;
  uint64_t nombuf = 0;
  for (unsigned i = 0; i < dev->data->nb_rx_queues; i++) {
    auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
    if (!q)
      continue;
    nombuf += q->mbuf_alloc_failed;
    if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
      st->q_ipackets[i] = q->packets;
      st->q_ibytes[i] = q->bytes;
    }
  }
  for (unsigned i = 0; i < dev->data->nb_tx_queues; i++) {
    auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
    if (q && i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
      st->q_opackets[i] = q->packets;
      st->q_obytes[i] = q->bytes;
    }
  }
  st->rx_nombuf = nombuf;
  return 0;
}

int stats_get(rte_eth_dev *dev, rte_eth_stats *st) noexcept {
  CounterSnapshot s;
  counters_snapshot(adapter_of(dev), &s);
  return stats_fill(dev, s, st);
}

int stats_reset(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  stats_sample(ad);
  std::lock_guard g(ad.stats_mu);
  ad.base = ad.total;
  for (unsigned i = 0; i < dev->data->nb_rx_queues; i++)
    if (auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]))
      q->packets = q->bytes = q->mbuf_alloc_failed = q->bad_wb_length = q->bad_wb_mac_error =
          q->bad_wb_no_eop = 0;
  for (unsigned i = 0; i < dev->data->nb_tx_queues; i++)
    if (auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]))
      q->packets = q->bytes = q->bad_wb_head = 0;
  return 0;
}

int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned n) noexcept {
  unsigned total = count(dev);
  if (!names || n < total)
    return int(total);
  unsigned k = 0;
  for (const auto &s : kDrvStats)
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s", s.name);
  for (const auto &s : kWbStats)
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s", s.name);
  for (unsigned i = 0; i < dev->data->nb_rx_queues; i++) {
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_packets", i);
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_bytes", i);
  }
  for (unsigned i = 0; i < dev->data->nb_tx_queues; i++) {
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_packets", i);
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_bytes", i);
  }
  for (unsigned i = 0; i < n_mig(dev); i++)
    snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s", mig::MigrationPort::xstat_name(i));
  return int(k);
}

int xstats_fill(rte_eth_dev *dev, const CounterSnapshot &s, rte_eth_xstat *xs, unsigned n) noexcept {
  const Adapter &ad = adapter_of(dev);
  unsigned total = count(dev);
  if (!xs || n < total)
    return int(total);
  unsigned k = 0;
  for (const auto &d : kDrvStats) {
    xs[k].id = k;
    xs[k].value = d.get(ad, s);
    k++;
  }
  for (const auto &w : kWbStats) {
    xs[k].id = k;
    xs[k].value = w.get(dev);
    k++;
  }
  for (unsigned i = 0; i < dev->data->nb_rx_queues; i++) {
    auto *q = static_cast<RxQueue *>(dev->data->rx_queues[i]);
    xs[k].id = k, xs[k].value = q ? q->packets : 0, k++;
    xs[k].id = k, xs[k].value = q ? q->bytes : 0, k++;
  }
  for (unsigned i = 0; i < dev->data->nb_tx_queues; i++) {
    auto *q = static_cast<TxQueue *>(dev->data->tx_queues[i]);
    xs[k].id = k, xs[k].value = q ? q->packets : 0, k++;
    xs[k].id = k, xs[k].value = q ? q->bytes : 0, k++;
  }
  for (unsigned i = 0; i < n_mig(dev); i++)
    xs[k].id = k, xs[k].value = i < s.n_mig ? s.mig[i] : 0, k++;
  return int(k);
}

int xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned n) noexcept {
  unsigned total = count(dev);
  if (!xs || n < total)
    return int(total);
  CounterSnapshot s;
  counters_snapshot(adapter_of(dev), &s);
  return xstats_fill(dev, s, xs, n);
}

int xstats_reset(rte_eth_dev *dev) noexcept {
  Adapter &ad = adapter_of(dev);
  stats_reset(dev);
  ad.mbx.requests = ad.mbx.nacks = ad.mbx.timeouts = ad.mbx.errors = ad.mbx.pf_messages = 0;
  ad.resets = 0;
  return 0;
}

}  // namespace ixgbevf_lm::pmd
