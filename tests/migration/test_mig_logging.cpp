/* SPDX-License-Identifier: BSD-3-Clause
 * Dirty logging of the ixgbevf_lm PMD against the model's ground truth (DmaSpace): every page the
 * device wrote after logging started is reported in a fetch that came after its last write.
 * Traffic runs on the model's own thread (TrafficEndpoint on the PF's wire); the application is a
 * reflector thread calling rx/tx burst.
 */
#include <algorithm>
#include <cstring>
#include <atomic>
#include <cinttypes>
#include <random>
#include <set>
#include <sstream>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_memzone.h>

#include <ixgbevf_lm/hypervisor/verifier.h>
#include <ixgbevf_lm/region/guest.h>

#include "mig_rig.h"

namespace mig_test {
namespace {

std::string describe(const hv::MigrationFigures &f)
{
  std::ostringstream o;
  o << "verification=" << f.verification << " rounds=" << f.rounds << " dma_pages_written=" << f.dma_pages_written
    << " pages_reported=" << f.pages_reported << " missed=" << f.missed_dirty_pages << " compare_page="
    << f.compare_page_size << " missed examples:";
  for (auto p : f.missed_examples)
    o << " 0x" << std::hex << p << std::dec;
  return o.str();
}

std::string slot_error(Rig &rig)
{
  auto st = rig.region->host->slot_status(uint32_t(rig.slot));
  if (!st)
    return "";
  return std::string("; slot reports ") + region::state_name(st->report.state) + " gen " +
         std::to_string(st->report.acked_generation) + ", last_error " + std::to_string(st->last_error) + " '" +
         st->error_msg + "'";
}

/* Bounded wait until the model is idle: its uplink frame count and DMA byte count stopped moving
 * between two looks. */
bool wait_model_idle(const model::PfModel &pf, const model::DmaSpace &truth)
{
  uint64_t last = ~0ULL;
  return wait_for([&] {
    const uint64_t now = pf.stats().frames_from_uplink + truth.bytes_written();
    const bool same = now == last;
    last = now;
    return same;
  }, 3000ms);
}

/* ethdev's memzone of a port's queue 0 ring, "rx_ring" or "tx_ring" (nullptr: none). */
const rte_memzone *ring_zone(uint16_t port, const char *ring)
{
  return rte_memzone_lookup(("eth_p" + std::to_string(port) + "_q0_" + ring).c_str());
}

/* [first, end) of the 4 KiB pages holding [a, a + len), by address. */
using PageSpan = std::pair<uintptr_t, uintptr_t>;
PageSpan page_span(const void *a, uint64_t len)
{
  const uintptr_t v = reinterpret_cast<uintptr_t>(a);
  return {v & ~uintptr_t{4095}, (v + len + 4095) & ~uintptr_t{4095}};
}

/* The pages of a pool's memory chunks. */
std::vector<PageSpan> pool_pages(rte_mempool *mp)
{
  std::vector<PageSpan> chunks;
  rte_mempool_mem_iter(
      mp,
      [](rte_mempool *, void *arg, rte_mempool_memhdr *h, unsigned) {
        static_cast<std::vector<PageSpan> *>(arg)->push_back(page_span(h->addr, h->len));
      },
      &chunks);
  return chunks;
}

/* The host marks every buffer of the pool itself, as a VMM's own DMA emulation may. */
void host_marks_pool(region::Host &h, rte_mempool *mp)
{
  rte_mempool_obj_iter(
      mp,
      [](rte_mempool *, void *arg, void *obj, unsigned) {
        const auto *m = static_cast<const rte_mbuf *>(obj);
        static_cast<region::Host *>(arg)->mark_dirty_range(m->buf_iova, m->buf_len);
      },
      &h);
}

/* The host asks the rig's port to log and the port acknowledges. */
testing::AssertionResult logging_on(Rig &rig)
{
  region::Host &h = *rig.region->host;
  auto g = h.set_logging(uint32_t(rig.slot), true);
  if (!g)
    return testing::AssertionFailure() << g.error().message;
  if (!h.wait_ack(uint32_t(rig.slot), *g, 3000ms))
    return testing::AssertionFailure() << "no acknowledgement" << slot_error(rig);
  return testing::AssertionSuccess();
}

/* Pre-copy rounds, stop-copy with the final fetch, then cancel: the verified run of the hypervisor. */
void expect_no_missed_pages(Rig &rig, unsigned rounds, uint64_t min_written = 1, hv::MigrationFigures *out = nullptr)
{
  hv::Migrator m(*rig.region->host, rig.options(rounds));
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::source_abort, &f, &why)) << why << slot_error(rig);
  EXPECT_TRUE(f.verified) << "no ground truth in the model registry";
  EXPECT_EQ(f.missed_dirty_pages, 0u) << describe(f);
  EXPECT_GE(f.dma_pages_written, min_written) << describe(f);
  if (out != nullptr)
    *out = f;
}

TEST(MigLogging, SingleSegmentRxAndRingWritebacksAllReported)
{
  RigConfig c;
  c.frame_size = 256;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "no reflected traffic before logging";
  expect_no_missed_pages(rig, 3, 2);
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50)) << "traffic did not continue after the cancelled migration";
}

TEST(MigLogging, ScatteredRxOverSeveralBuffersAllReported)
{
  RigConfig c;
  c.data_room = 1024 + RTE_PKTMBUF_HEADROOM;  /* 1 KiB buffers (SRRCTL's unit): a 2900-byte frame takes 3 */
  c.mtu = 3000;
  c.frame_size = 2900;
  c.fps = 10000;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "no reflected scattered traffic before logging (scatter Rx, "
                                                  "multi-segment Tx)";
  expect_no_missed_pages(rig, 3, 4);
}

TEST(MigLogging, JumboScatteredRxAllReported)
{
  RigConfig c;
  c.data_room = 2048 + RTE_PKTMBUF_HEADROOM;
  c.mtu = 9000;
  c.frame_size = 8000;
  c.fps = 4000;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 20)) << "no reflected jumbo traffic before logging";
  expect_no_missed_pages(rig, 2, 4);
}

/* The application does not poll: the device writes frames into buffers posted before logging
 * started and the driver never looks at them. Those pages (and the Rx ring's write-backs) must
 * already be in the bitmap: only the logging-start pass over posted buffers and rings can have
 * reported them. Read ground truth first, bitmap second (no device write in between: the traffic
 * has stopped and the model is idle), so the check can only err towards "missed". */
TEST(MigLogging, BuffersPostedBeforeLoggingReportedWithoutPolling)
{
  RigConfig c;
  c.traffic = false;
  c.reflector = false;
  c.ring = 512;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &h = *rig.region->host;
  auto truth = model::Registry::instance().guest_memory();
  ASSERT_TRUE(truth);

  (void)h.dirty_pages(region::ReadMode::clear);
  auto g = h.request_state(uint32_t(rig.slot), region::State::pre_copy);
  ASSERT_TRUE(g) << g.error().message;
  auto st = h.wait_ack(uint32_t(rig.slot), g.value(), 3000ms);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_TRUE(st->report.logging_active());
  truth->set_dirty_tracking(true);
  (void)truth->fetch_and_clear_dirty();

  auto pf = rig.port->current_pf();
  ASSERT_TRUE(pf);
  const uint64_t before = pf->stats().frames_from_uplink;
  rig.start_traffic();
  /* fewer frames than posted buffers: every one lands in a buffer posted before logging */
  ASSERT_TRUE(wait_for([&] { return pf->stats().frames_from_uplink >= before + 200; }, 5000ms));
  rig.traffic->stop();
  ASSERT_TRUE(wait_model_idle(*pf, *truth));
  const std::vector<uint64_t> written = truth->fetch_and_clear_dirty();
  const std::vector<uint64_t> reported = h.dirty_pages(region::ReadMode::clear);
  ASSERT_FALSE(written.empty()) << "the device wrote nothing";
  hv::DirtyVerifier v(h.page_size(), truth->log_page_size());
  const hv::RoundCheck rc = v.round(written, reported);
  std::ostringstream ex;
  for (auto p : v.pending_pages(8))
    ex << " 0x" << std::hex << p;
  EXPECT_EQ(rc.pending_after, 0u) << "device wrote " << rc.truth_pages << " pages into buffers posted before logging, "
                                  << "not reported:" << ex.str();
  auto a = h.abort_to_running(uint32_t(rig.slot));
  ASSERT_TRUE(a);
  EXPECT_TRUE(h.wait_ack(uint32_t(rig.slot), a.value(), 3000ms));
}

/* tx_head_wb=1: the device writes TDH into a word after the Tx ring instead of DD into the RS
 * descriptors. Frames still flow (the cleanup reads the head, mbufs go back to the pool), that word
 * is the device's only Tx write, and it is reported like every page the device writes: after one
 * read of the ground truth and one of the bitmap (nothing fetched in between), nothing is missing. */
TEST(MigLogging, TheTxHeadWriteBackWordIsReportedAndNoPageIsMissed)
{
  RigConfig c;
  c.extra_devargs = "tx_head_wb=1";
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 300)) << "no reflected traffic with head write-back";
  region::Host &h = *rig.region->host;
  auto truth = model::Registry::instance().guest_memory();
  ASSERT_TRUE(truth);
  ASSERT_TRUE(logging_on(rig));
  const bool tracking_was = truth->dirty_tracking();
  truth->set_dirty_tracking(true);
  (void)h.dirty_pages(region::ReadMode::clear);  /* bitmap first: a write in between is only over-reported */
  (void)truth->fetch_and_clear_dirty();
  ASSERT_TRUE(traffic_flows(*rig.traffic, 300)) << "no reflected traffic while logging";
  rig.traffic->stop();
  auto pf = rig.port->current_pf();
  ASSERT_TRUE(wait_model_idle(*pf, *truth));
  const std::vector<uint64_t> written = truth->fetch_and_clear_dirty();
  const std::vector<uint64_t> reported = h.dirty_pages(region::ReadMode::clear);
  truth->set_dirty_tracking(tracking_was);

  const rte_memzone *z = ring_zone(rig.port->id, "tx_ring");
  ASSERT_NE(z, nullptr);
  const uint64_t head_page = (z->iova + uint64_t(c.ring) * 16) & ~uint64_t{4095};  /* right after the descriptors */
  const std::set<uint64_t> w(written.begin(), written.end());
  EXPECT_TRUE(w.count(head_page)) << "the device never wrote the head word";
  for (uint64_t p = z->iova & ~uint64_t{4095}; p < z->iova + uint64_t(c.ring) * 16; p += 4096)
    EXPECT_FALSE(w.count(p) && p != head_page) << "DD written into the Tx ring with head write-back on";
  hv::DirtyVerifier v(h.page_size(), truth->log_page_size());
  const hv::RoundCheck rc = v.round(written, reported);
  EXPECT_EQ(rc.pending_after, 0u) << "of " << rc.truth_pages << " pages the device wrote";
}

TEST(MigLogging, LoggingOffWritesNothingToTheRegion)
{
  RigConfig c;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 300));
  EXPECT_EQ(rig.region->bits_set(), 0u) << "bits set while the host never asked for logging";

  /* on, then off through a cancelled migration: nothing after that either */
  expect_no_missed_pages(rig, 1);
  (void)rig.region->host->dirty_pages(region::ReadMode::clear);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 300));
  EXPECT_EQ(rig.region->bits_set(), 0u) << "bits set after the host cancelled the migration (logging off)";
}

TEST(MigLogging, DirtyLogOffDevargNeverWritesTheBitmap)
{
  RigConfig c;
  c.extra_devargs = "dirty_log=off";
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &h = *rig.region->host;
  auto g = h.set_logging(uint32_t(rig.slot), true);
  ASSERT_TRUE(g);
  (void)h.wait_ack(uint32_t(rig.slot), g.value(), 1000ms);  /* acked or not: nothing may be written */
  ASSERT_TRUE(traffic_flows(*rig.traffic, 300));
  EXPECT_EQ(rig.region->bits_set(), 0u) << "dirty_log=off wrote the bitmap";
  auto st = h.slot_status(uint32_t(rig.slot));
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->report.logging_active()) << "dirty_log=off reported logging active";
  (void)h.set_logging(uint32_t(rig.slot), false);
}

TEST(MigLogging, PortClosedWhileLoggingLeavesRegionConsistent)
{
  RigConfig c;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &h = *rig.region->host;
  const std::string path = rig.region->path;
  const std::string ident = rig.port->name;
  auto g = h.request_state(uint32_t(rig.slot), region::State::pre_copy);
  ASSERT_TRUE(g);
  ASSERT_TRUE(h.wait_ack(uint32_t(rig.slot), g.value(), 3000ms));
  ASSERT_TRUE(traffic_flows(*rig.traffic, 100));

  rig.teardown();  /* traffic, application, then close the port while logging is on */

  auto st = h.slot_status(uint32_t(rig.slot));
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->claimed) << "slot " << rig.slot << " still claimed by " << st->identity << " after close";
  EXPECT_NE(st->report.state, region::State::unknown);
  auto guest = region::Guest::attach(path);
  ASSERT_TRUE(guest) << "region no longer validates after a close while logging: " << guest.error().message;
  (void)h.dirty_pages(region::ReadMode::clear);

  /* another port attaches to the same region, claims a slot and logs */
  Pool pool;
  pool.mp = make_pool(unique("mp"), 4095);
  const std::string wire = unique("mwire");
  Port p2(unique("mpf"), 0, rig.mac, wire, path);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2.start(pool.mp), 0);
  const int s2 = rig.region->slot_of(p2.name);
  ASSERT_GE(s2, 0) << "a new port could not claim a slot after the close";
  Reflector r2(p2.id);
  auto t2 = make_traffic(wire, rig.mac, 20000, 128);
  ASSERT_TRUE(traffic_flows(*t2, 50));
  hv::Migrator m(h, migrator_options(uint32_t(s2), 2));
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::source_abort, &f, &why)) << why;
  EXPECT_EQ(f.missed_dirty_pages, 0u) << describe(f);
  t2->stop();
  r2.halt();
}

uint64_t xstat(uint16_t port, const char *name)
{
  uint64_t id = 0, v = 0;
  if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0 || rte_eth_xstats_get_by_id(port, &id, &v, 1) != 1)
    return ~0ULL;
  return v;
}
uint64_t rx_bursts_unmarked(uint16_t port) { return xstat(port, "mig_rx_bursts_unmarked"); }
uint64_t tx_bursts_unmarked(uint16_t port) { return xstat(port, "mig_tx_bursts_unmarked"); }

/* Once every page a queue's device can write (the Rx pool and ring, the Tx ring) is marked after a
 * fetch, the queue's bursts stop marking until the next clearing read (QueueMarkScan) — and the
 * hypervisor still misses nothing. Here the host marks the pool's pages itself (as a VMM's own DMA
 * emulation may) so that the proof holds at once, whatever share of the pool the traffic reaches;
 * the rings' pages the bursts mark. Then a verified run with its fetches follows. */
TEST(MigLogging, BurstsStopMarkingOnceTheQueuesAreMarkedAndNoPageIsMissed)
{
  RigConfig c;
  c.fps = 50000;
  c.frame_size = 128;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "no reflected traffic before logging";
  region::Host &host = *rig.region->host;
  ASSERT_TRUE(logging_on(rig));
  EXPECT_EQ(rx_bursts_unmarked(rig.port->id), 0u);
  EXPECT_EQ(tx_bursts_unmarked(rig.port->id), 0u);
  host_marks_pool(host, rig.pool.mp);
  ASSERT_TRUE(wait_for([&] { return rx_bursts_unmarked(rig.port->id) > 0; }, 3000ms))
      << "the Rx bursts never relied on the pool and ring being marked";
  ASSERT_TRUE(wait_for([&] { return tx_bursts_unmarked(rig.port->id) > 0; }, 3000ms))
      << "the Tx bursts never relied on the ring being marked";
  hv::MigratorOptions mo = rig.options(6);
  mo.min_round = 20ms;
  hv::Migrator m(host, mo);
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::source_abort, &f, &why)) << why << slot_error(rig);
  EXPECT_TRUE(f.verified);
  EXPECT_EQ(f.missed_dirty_pages, 0u) << describe(f);
  EXPECT_GE(f.dma_pages_written, 2u) << describe(f);
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50));
}

/* A burst that relied on its queue being proven marked, but during which a clearing read began,
 * must mark what it consumed afterwards: it cannot tell whether the device wrote a descriptor it saw
 * before or after the read cleared the bit. The read is made to begin inside the burst: the pool is
 * write-protected, and the fault of the burst's own store into the first mbuf header it takes runs
 * a whole fetch-and-clear at that instant. */
namespace fetch_in_burst {

region::Host *host = nullptr;
std::vector<PageSpan> ranges;  /* set before the handler runs */
pid_t burst_tid = 0;                                  /* the thread running the burst */
std::atomic<int> fetches{0};
std::atomic<int> other_faults{0};

void on_fault(int, siginfo_t *si, void *)
{
  const uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
  bool ours = false;
  for (const auto &r : ranges)
    ours |= a >= r.first && a < r.second;
  if (!ours) {
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  if (gettid() != burst_tid) {
    /* the model still finishing a DMA: let it write, the burst's own store still faults */
    other_faults.fetch_add(1);
    mprotect(reinterpret_cast<void *>(a & ~uintptr_t{4095}), 4096, PROT_READ | PROT_WRITE);
    return;
  }
  if (fetches.fetch_add(1) == 0)
    (void)host->for_each_dirty(region::ReadMode::clear, [](uint64_t) {});  /* no allocation */
  for (const auto &r : ranges)
    mprotect(reinterpret_cast<void *>(r.first), r.second - r.first, PROT_READ | PROT_WRITE);
}

/* Run `burst` with [chunks] write-protected: its first store there begins and ends a clearing read. */
template <class F>
void run_with_fetch_on_first_store(region::Host &h, const std::vector<PageSpan> &chunks, F &&burst)
{
  host = &h;
  ranges = chunks;
  burst_tid = gettid();
  fetches = 0;
  other_faults = 0;
  struct sigaction sa {}, old {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
  for (const auto &r : chunks)
    ASSERT_EQ(mprotect(reinterpret_cast<void *>(r.first), r.second - r.first, PROT_READ), 0);
  burst();
  for (const auto &r : chunks)
    EXPECT_EQ(mprotect(reinterpret_cast<void *>(r.first), r.second - r.first, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(sigaction(SIGSEGV, &old, nullptr), 0);
  ranges.clear();
  ASSERT_EQ(fetches.load(), 1) << "the burst's first store did not fault (other threads' faults: "
                                << other_faults.load() << ")";
}

/* The IOVAs of the 4 KiB pages of a zone's first `bytes`. */
std::set<uint64_t> iova_pages(const rte_memzone *z, uint64_t bytes)
{
  std::set<uint64_t> pages;
  EXPECT_NE(z, nullptr);
  if (z != nullptr)
    for (uint64_t p = z->iova >> 12; p <= (z->iova + bytes - 1) >> 12; ++p)
      pages.insert(p << 12);
  return pages;
}

std::vector<uint64_t> not_reported(const std::set<uint64_t> &expected, const std::vector<uint64_t> &reported)
{
  const std::set<uint64_t> got(reported.begin(), reported.end());
  std::vector<uint64_t> missed;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(), std::back_inserter(missed));
  return missed;
}

}  // namespace fetch_in_burst

TEST(MigLogging, ABurstThatSawAClearingReadBeginMarksWhatItConsumedAfterwards)
{
  RigConfig c;
  c.reflector = false;  /* this thread receives */
  c.traffic = false;
  c.fps = 50000;
  c.pool_size = 1023;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &host = *rig.region->host;
  ASSERT_TRUE(logging_on(rig));
  /* The pool marked by the host, the ring by the bursts below: the proof then holds. */
  host_marks_pool(host, rig.pool.mp);
  rig.start_traffic();
  rte_mbuf *pkts[32];
  const auto receive_and_free = [&] {
    const uint16_t k = rte_eth_rx_burst(rig.port->id, 0, pkts, 32);
    rte_pktmbuf_free_bulk(pkts, k);
  };
  ASSERT_TRUE(wait_for([&] {
    receive_and_free();
    return rx_bursts_unmarked(rig.port->id) > 0;
  }, 3000ms)) << "the Rx bursts never relied on the pool and ring being marked";
  /* Frames waiting, the device idle, no fetch since the proof: the next burst relies on it. */
  ASSERT_TRUE(wait_for([&] { return rte_eth_rx_queue_count(rig.port->id, 0) >= 32; }, 3000ms));
  rig.traffic->stop();
  auto pf = rig.port->current_pf();
  pf->set_uplink(nullptr);
  auto truth = model::Registry::instance().guest_memory();
  ASSERT_TRUE(truth);
  ASSERT_TRUE(wait_model_idle(*pf, *truth));

  uint16_t k = 0;
  fetch_in_burst::run_with_fetch_on_first_store(host, pool_pages(rig.pool.mp), [&] { k = rte_eth_rx_burst(rig.port->id, 0, pkts, 32); });
  if (HasFatalFailure())
    return;
  ASSERT_EQ(k, 32u);

  /* Every page of what the burst received, and a page of its ring, reported by the next fetch. */
  const std::set<uint64_t> ring = fetch_in_burst::iova_pages(ring_zone(rig.port->id, "rx_ring"), uint64_t(c.ring) * 16);
  std::set<uint64_t> consumed;
  for (uint16_t i = 0; i < k; ++i)
    for (const rte_mbuf *m = pkts[i]; m != nullptr; m = m->next)
      for (uint64_t p = (m->buf_iova + m->data_off) >> 12; p <= (m->buf_iova + m->data_off + m->data_len - 1) >> 12; ++p)
        consumed.insert(p << 12);
  rte_pktmbuf_free_bulk(pkts, k);
  const std::vector<uint64_t> reported = host.dirty_pages(region::ReadMode::clear);
  const std::vector<uint64_t> missed = fetch_in_burst::not_reported(consumed, reported);
  EXPECT_TRUE(missed.empty()) << missed.size() << " of the " << consumed.size()
                              << " buffer pages the burst consumed after the read began were not reported";
  EXPECT_LT(fetch_in_burst::not_reported(ring, reported).size(), ring.size())
      << "no page of the ring whose descriptors the burst consumed was reported";
}

/* The same for a Tx burst: the descriptors it cleaned, with a clearing read begun by its first
 * store into the ring. */
TEST(MigLogging, ATxBurstThatSawAClearingReadBeginMarksTheRingAfterwards)
{
  RigConfig c;
  c.reflector = false;
  c.traffic = false;
  c.pool_size = 1023;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &host = *rig.region->host;
  ASSERT_TRUE(logging_on(rig));
  const rte_memzone *zone = ring_zone(rig.port->id, "tx_ring");
  const std::set<uint64_t> ring = fetch_in_burst::iova_pages(zone, uint64_t(c.ring) * 16);
  ASSERT_FALSE(ring.empty());
  for (uint64_t p : ring)
    (void)host.mark_dirty_range(p, 4096);
  std::vector<rte_mbuf *> frames(255);
  const auto send = [&](uint16_t n) {
    EXPECT_EQ(rte_pktmbuf_alloc_bulk(rig.pool.mp, frames.data(), n), 0);
    for (uint16_t i = 0; i < n; ++i) {
      auto *d = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(frames[i], 64));
      std::memset(d, 0, 64);
      std::memset(d, 0xff, 6);  /* broadcast, from the VF's own MAC */
      std::memcpy(d + 6, rig.mac.data(), 6);
    }
    const uint16_t sent = rte_eth_tx_burst(rig.port->id, 0, frames.data(), n);
    rte_pktmbuf_free_bulk(frames.data() + sent, n - sent);
    return sent;
  };
  ASSERT_TRUE(wait_for([&] {
    send(32);
    return tx_bursts_unmarked(rig.port->id) > 0;
  }, 3000ms)) << "the Tx bursts never relied on the ring being marked";
  auto truth = model::Registry::instance().guest_memory();
  ASSERT_TRUE(truth);
  ASSERT_TRUE(wait_model_idle(*rig.port->current_pf(), *truth));

  /* 255 frames cannot go out without cleaning what the device sent. */
  uint16_t sent = 0;
  fetch_in_burst::run_with_fetch_on_first_store(host, {page_span(zone->addr, uint64_t(c.ring) * 16)},
                                                [&] { sent = send(255); });
  if (HasFatalFailure())
    return;
  EXPECT_GT(sent, 0u);
  /* The cleaned descriptors lie in one or both of the ring's pages (the burst's position is the
   * driver's): at least one reported, none without the late marks. */
  EXPECT_LT(fetch_in_burst::not_reported(ring, host.dirty_pages(region::ReadMode::clear)).size(), ring.size())
      << "no page of the ring whose descriptors the burst cleaned was reported";
}

/* dirty_log=touch reports to KVM's dirty logging, which sees CPU writes only: every page the device
 * wrote must be written by the CPU afterwards. Write protection shows which: once the device wrote
 * the frames and is idle, the pool's memory is made read-only and this thread receives them; each
 * first write to a page faults and is recorded with the writing thread. */
namespace write_faults {

constexpr size_t kMax = 1 << 15;
std::atomic<size_t> n{0};
uintptr_t page[kMax];
pid_t tid[kMax];
std::vector<PageSpan> protected_ranges;  /* set before the handler runs */

void on_fault(int, siginfo_t *si, void *)
{
  const uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
  bool ours = false;
  for (const auto &r : protected_ranges)
    ours |= a >= r.first && a < r.second;
  if (!ours) {  /* a real fault: crash as without the handler */
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  const uintptr_t p = a & ~uintptr_t{4095};
  const size_t i = n.fetch_add(1);
  if (i < kMax) {
    page[i] = p;
    tid[i] = gettid();
  }
  mprotect(reinterpret_cast<void *>(p), 4096, PROT_READ | PROT_WRITE);
}

}  // namespace write_faults

struct ReceivedUnderProtection {
  unsigned frames = 0;
  std::set<uintptr_t> device_wrote;    /* pool and Rx ring pages the model DMA-wrote (none another thread wrote meanwhile) */
  std::set<uintptr_t> ring_pages;      /* of those, the Rx ring's */
  std::set<uintptr_t> receiver_wrote;  /* those pages the receiving thread wrote afterwards */
  std::set<uintptr_t> others_wrote;    /* those pages other threads wrote meanwhile */
};

ReceivedUnderProtection receive_under_write_protection(const std::string &devargs, uint16_t frame_size)
{
  ReceivedUnderProtection out;
  RigConfig c;
  c.traffic = false;
  c.reflector = false;
  c.frame_size = frame_size;
  c.mtu = 6000;
  c.data_room = 6144 + RTE_PKTMBUF_HEADROOM;  /* one buffer per frame, over two or three 4 KiB pages */
  c.ring = 256;
  c.pool_size = 1023;
  c.extra_devargs = devargs;
  Rig rig(c, /*with_region=*/false);
  EXPECT_TRUE(rig.ok()) << rig_failure(rig);
  auto truth = model::Registry::instance().guest_memory();
  EXPECT_TRUE(truth);
  if (!rig.ok() || !truth)
    return out;
  const bool tracking_was = truth->dirty_tracking();
  truth->set_dirty_tracking(true);
  (void)truth->fetch_and_clear_dirty();
  auto pf = rig.port->current_pf();
  rig.start_traffic();
  EXPECT_TRUE(wait_for([&] { return rte_eth_rx_queue_count(rig.port->id, 0) >= 100; }, 5000ms));
  rig.traffic->stop();
  pf->set_uplink(nullptr);  /* nothing more to deliver: the buffers the bursts post stay unwritten */
  EXPECT_TRUE(wait_model_idle(*pf, *truth));
  const std::vector<uint64_t> written = truth->fetch_and_clear_dirty();
  truth->set_dirty_tracking(tracking_was);

  std::vector<PageSpan> chunks = pool_pages(rig.pool.mp);
  /* The Rx ring: the descriptors the device wrote back. */
  const rte_memzone *ring = ring_zone(rig.port->id, "rx_ring");
  EXPECT_NE(ring, nullptr);
  if (ring != nullptr)
    chunks.push_back(page_span(ring->addr, uint64_t(c.ring) * 16));
  for (uint64_t p : written)
    for (const auto &r : chunks)
      if (p >= r.first && p < r.second) {
        out.device_wrote.insert(uintptr_t(p));
        if (&r == &chunks.back() && ring != nullptr)
          out.ring_pages.insert(uintptr_t(p));
      }

  write_faults::protected_ranges = chunks;
  write_faults::n = 0;
  struct sigaction sa {}, old {};
  sa.sa_sigaction = write_faults::on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  EXPECT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
  for (const auto &r : chunks)
    EXPECT_EQ(mprotect(reinterpret_cast<void *>(r.first), r.second - r.first, PROT_READ), 0);
  std::vector<rte_mbuf *> got;
  rte_mbuf *pkts[64];
  for (int i = 0; i < 16 && rte_eth_rx_queue_count(rig.port->id, 0) > 0; ++i) {
    const uint16_t k = rte_eth_rx_burst(rig.port->id, 0, pkts, 64);
    got.insert(got.end(), pkts, pkts + k);
  }
  for (const auto &r : chunks)
    EXPECT_EQ(mprotect(reinterpret_cast<void *>(r.first), r.second - r.first, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(sigaction(SIGSEGV, &old, nullptr), 0);
  write_faults::protected_ranges.clear();

  const pid_t me = gettid();
  for (size_t i = 0; i < std::min(write_faults::n.load(), write_faults::kMax); ++i)
    (write_faults::tid[i] == me ? out.receiver_wrote : out.others_wrote).insert(write_faults::page[i]);
  /* A page another thread wrote first is writable when the receiver writes it: it proves nothing
   * either way and leaves the check (another thread's write never counts as the receiver's). */
  for (uintptr_t p : out.others_wrote) {
    out.device_wrote.erase(p);
    out.ring_pages.erase(p);
  }
  out.frames = unsigned(got.size());
  rte_pktmbuf_free_bulk(got.data(), unsigned(got.size()));
  return out;
}

std::vector<uintptr_t> not_written(const ReceivedUnderProtection &r)
{
  std::vector<uintptr_t> v;
  std::set_difference(r.device_wrote.begin(), r.device_wrote.end(), r.receiver_wrote.begin(), r.receiver_wrote.end(),
                      std::back_inserter(v));
  return v;
}

/* Large frames reach pages past their mbuf header's; small ones lie in it (the mempool keeps an
 * object within a 4 KiB page whenever it fits, and these do not). */
TEST(MigLogging, TouchModeWritesEveryPageTheDeviceWroteAfterItsWrite)
{
  for (const uint16_t frame : {uint16_t(5000), uint16_t(200)}) {
    SCOPED_TRACE("frames of " + std::to_string(frame) + " bytes");
    const ReceivedUnderProtection touch = receive_under_write_protection("dirty_log=touch", frame);
    ASSERT_GE(touch.frames, 100u);
    ASSERT_GE(touch.device_wrote.size(), touch.frames / 2)
        << "fewer pool pages written by the device (and by no other thread meanwhile) than expected; others: "
        << touch.others_wrote.size();
    /* The ring's write-backs are not touched: the refill's stores into the consumed descriptors
     * are the CPU writes (DirtyLogger::logs_ring_writebacks). */
    EXPECT_FALSE(touch.ring_pages.empty()) << "no Rx ring page in the check";
    const std::vector<uintptr_t> missed = not_written(touch);
    EXPECT_TRUE(missed.empty()) << missed.size() << " of " << touch.device_wrote.size()
                                << " pages the device wrote were not written by the CPU afterwards";
  }
  /* The same without logging: the driver's own stores into the mbuf headers cover only the frames'
   * first pages, so the check above can fail. */
  const ReceivedUnderProtection off = receive_under_write_protection("", 5000);
  ASSERT_GE(off.frames, 100u);
  EXPECT_GE(not_written(off).size(), off.frames / 2)
      << "without logging the pages past the headers' were written anyway: the check proves nothing";
}

/* Random traffic patterns, burst sizes, ring sizes, both region page sizes, DD or head write-back,
 * the vector and the scalar paths;
 * the seed is printed so a failure can be replayed (MIG_SEED=<n>). */
TEST(MigLogging, RandomizedRunsMissNoPage)
{
  uint64_t seed = std::random_device{}();
  if (const char *s = std::getenv("MIG_SEED"))
    seed = std::strtoull(s, nullptr, 0);
  RecordProperty("seed", std::to_string(seed));
  std::printf("MigLogging.RandomizedRunsMissNoPage seed=%" PRIu64 "\n", seed);
  std::mt19937_64 rng(seed);
  const uint16_t rings[] = {64, 128, 256, 512, 1024};
  const uint16_t sizes[] = {64, 60, 128, 333, 512, 1000, 1514};
  const uint32_t rates[] = {2000, 10000, 40000};
  const int runs = 8;
  /* Every run must miss nothing, and a run in which the device wrote nothing proves nothing. (Such
   * runs came from the idle PF models of earlier tests polling every 20 us: they starved the
   * reflector thread for up to a second on 2 CPUs; idle models now look less often.) */
  int runs_with_writes = 0;
  for (int i = 0; i < runs; ++i) {
    RigConfig c;
    c.page_size = (i % 2) ? (2u << 20) : 4096;
    c.ring = rings[rng() % std::size(rings)];
    c.frame_size = sizes[rng() % std::size(sizes)];
    c.fps = rates[rng() % std::size(rates)];
    if (rng() % 3 == 0) {  /* scattered */
      c.data_room = 1024 + RTE_PKTMBUF_HEADROOM;
      c.mtu = 1500;
      c.frame_size = 1400;
    }
    if (rng() % 2 == 0)
      c.extra_devargs = "tx_head_wb=1";
    /* both receive and transmit paths, each with both page sizes: runs 0-1 vector, 2-3 scalar, ... */
    c.extra_devargs += std::string(c.extra_devargs.empty() ? "" : ",") + ((i / 2) % 2 ? "vector=0" : "vector=1");
    SCOPED_TRACE("run " + std::to_string(i) + ": page " + std::to_string(c.page_size) + " ring " +
                 std::to_string(c.ring) + " frame " + std::to_string(c.frame_size) + " fps " + std::to_string(c.fps) +
                 (c.extra_devargs.empty() ? "" : " " + c.extra_devargs) + " seed " + std::to_string(seed));
    Rig rig(c);
    ASSERT_TRUE(rig.ok()) << rig_failure(rig);
    rig.refl->random_bursts.store(rng() % 2 == 0);
    ASSERT_TRUE(traffic_flows(*rig.traffic, 10));
    hv::MigrationFigures f;
    expect_no_missed_pages(rig, 1 + unsigned(rng() % 3), 0, &f);
    if (HasFatalFailure())
      return;
    runs_with_writes += f.dma_pages_written > 0;
  }
  EXPECT_EQ(runs_with_writes, runs) << "the device wrote no page in some runs";
}

}  // namespace
}  // namespace mig_test
