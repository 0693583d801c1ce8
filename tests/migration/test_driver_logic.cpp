/* SPDX-License-Identifier: BSD-3-Clause
 * The driver's migration logic without a device: the dirty logger against a real region (bitmap,
 * touch, pagemap-style translation, burst page cursor), the devargs, and the per-port state machine
 * driven through the region by a host, with a scripted MigrationDevice standing in for the PMD.
 * No EAL: the control thread is not started (IXGBEVF_LM_MIG_NO_THREAD); each test single-steps it
 * with MigrationController::poll_once().
 */
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <ixgbevf_lm/region/host.h>

#include "ixgbevf_lm_dirtylog.h"
#include "ixgbevf_lm_mark_scan.h"
#include "ixgbevf_lm_region_attach.h"
#include "ixgbevf_lm_rxbuf_log.h"
#include "ixgbevf_lm_migration.h"
#include "region_test_util.h"

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::pmd::mig;
using region::Host;
using region::ReadMode;
using region::State;

namespace {

constexpr uint64_t kBase = 0x100000000ULL;
constexpr uint64_t kLen = 64ULL << 20;

Host make_host(const std::string &path, uint64_t page = 4096)
{
  region::CreateParams p;
  p.page_size = page;
  p.ranges = {{kBase, kLen}};
  p.n_slots = 4;
  auto h = Host::create(path, p);
  EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message);
  return std::move(h.value());
}

std::set<uint64_t> dirty(Host &h)
{
  auto v = h.dirty_pages(ReadMode::clear);
  return {v.begin(), v.end()};
}

DirtyLogger bitmap_logger(RegionAttachment &a)
{
  DirtyLogger l;
  l.mode = DirtyLogMode::bitmap;
  l.guest = &a.guest();
  l.fetch_begin = a.guest().fetch_begin_word();
  l.page_shift = static_cast<uint32_t>(__builtin_ctzll(a.guest().page_size()));
  return l;
}

}  // namespace

TEST(migration, DirtyLoggerMarksEveryPageARangeSpansAndNothingElse)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  ASSERT_TRUE(a);
  DirtyLogger l = bitmap_logger(*a);
  uint64_t last = ~0ULL;
  EXPECT_EQ(l.mark(kBase + 4096 - 10, nullptr, 20, last), 2u);
  EXPECT_EQ(l.mark(kBase + 5 * 4096, nullptr, 1, last), 1u);
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase, kBase + 4096, kBase + 5 * 4096}));
}

TEST(migration, DirtyBurstSkipsThePageItMarkedLastButNotAfterAFetch)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  DirtyLogger l = bitmap_logger(*a);
  {
    DirtyBurst b(&l);
    for (int i = 0; i < 16; ++i)
      b.buf(kBase + 128 * i, nullptr, 64);  // 16 buffers in one page: one mark
    b.ring(kBase + 8192, nullptr, 16);
    b.ring(kBase + 8192 + 16, nullptr, 16);
  }
  EXPECT_EQ(l.pages_marked(), 2u);
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase, kBase + 8192}));
  {
    DirtyBurst b(&l);  // a new burst after the host's fetch marks the page again
    b.buf(kBase + 64, nullptr, 64);
  }
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase}));
}

TEST(migration, DirtyBurstWithoutALoggerDoesNothing)
{
  DirtyBurst b(nullptr);
  EXPECT_FALSE(b.active());
  b.buf(kBase, nullptr, 4096);  // would crash on a null guest if it did anything
}

TEST(migration, DirtyLoggerMarksEverySegmentOfAScatteredFrame)
{
  region_test::TempPath path;
  Host h = make_host(path.str(), 2ULL << 20);  // 2 MiB pages
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  DirtyLogger l = bitmap_logger(*a);
  rte_mbuf segs[3]{};
  const uint64_t iovas[3] = {kBase + (2ULL << 20) - 100, kBase + (10ULL << 20), kBase + (20ULL << 20)};
  for (int i = 0; i < 3; ++i) {
    segs[i].buf_iova = iovas[i];
    segs[i].data_off = 0;
    segs[i].data_len = 2048;
    segs[i].next = i < 2 ? &segs[i + 1] : nullptr;
  }
  {
    DirtyBurst b(&l);
    b.frame(&segs[0]);
  }
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase, kBase + (2ULL << 20), kBase + (10ULL << 20), kBase + (20ULL << 20)}));
}

TEST(migration, TouchModeWritesOneByteInEveryPageAndKeepsTheContent)
{
  std::vector<uint8_t> mem(5 * 4096);
  std::mt19937 rng(7);
  for (auto &b : mem)
    b = static_cast<uint8_t>(rng());
  const std::vector<uint8_t> copy = mem;
  DirtyLogger l;
  l.mode = DirtyLogMode::touch;
  uint64_t last = ~0ULL;
  const uintptr_t va = reinterpret_cast<uintptr_t>(mem.data()) + 100;
  const uint64_t pages = ((va + 3 * 4096 - 1) >> 12) - (va >> 12) + 1;
  EXPECT_EQ(l.mark(0, mem.data() + 100, 3 * 4096, last), pages);
  EXPECT_EQ(mem, copy);
}

/* Run for the policy with the page shift read from the region and with it as a constant. */
template <class Log>
void rx_buf_bitmap_log_marks_each_buffers_pages()
{
  region_test::TempPath path;
  constexpr uint64_t kBase2 = 0x400000000ULL;
  region::CreateParams p;
  p.page_size = 4096;
  p.ranges = {{kBase, kLen}, {kBase2, kLen}};
  p.n_slots = 4;
  auto created = Host::create(path.str(), p);
  ASSERT_TRUE(created.has_value());
  Host h = std::move(created.value());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  ASSERT_TRUE(a);
  Log log(a->guest());
  log.buf(kBase + 100, nullptr, 60, nullptr);               // inside one page of range 0
  log.buf(kBase + 3 * 4096 - 8, nullptr, 16, nullptr);      // across a page boundary
  log.buf(kBase2 + 7 * 4096, nullptr, 4096, nullptr);       // range 1: becomes the hot range
  log.buf(kBase2 + 9 * 4096 + 1, nullptr, 10, nullptr);     // hot range 1
  log.buf(kBase + 20 * 4096, nullptr, 1, nullptr);          // back to range 0
  log.buf(kBase + 30 * 4096, nullptr, 0, nullptr);          // nothing written: nothing marked
  log.buf(0x1000, nullptr, 64, nullptr);                    // outside every range: counted by the region
  EXPECT_EQ(log.marks(7), 6u);  // 7 buffers
  EXPECT_EQ(a->guest().out_of_range_count(), 1u);
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase, kBase + 2 * 4096, kBase + 3 * 4096, kBase2 + 7 * 4096,
                                          kBase2 + 9 * 4096, kBase + 20 * 4096}));
  log.buf(kBase + 100, nullptr, 60, nullptr);  // after the host's fetch-and-clear the bit is set again
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase}));
}

TEST(migration, RxBufBitmapLogMarksEachBuffersPagesInWhicheverRangeHoldsIt)
{
  rx_buf_bitmap_log_marks_each_buffers_pages<RxBufBitmapLog<>>();
  rx_buf_bitmap_log_marks_each_buffers_pages<RxBufBitmapLog<12>>();
}

namespace {

/* Pages written while the buffer is read-only: the SIGSEGV handler records the page and makes it
 * writable, so the faulting store then completes. A load does not fault. */
std::vector<uintptr_t> g_write_faults;

void record_write_fault(int, siginfo_t *si, void *)
{
  const uintptr_t page = reinterpret_cast<uintptr_t>(si->si_addr) & ~uintptr_t{4095};
  g_write_faults.push_back(page);
  mprotect(reinterpret_cast<void *>(page), 4096, PROT_READ | PROT_WRITE);
}

}  // namespace

/* How the receive loop uses the touch policy: buf() once DD was seen, and its own store into the
 * mbuf's first cache line (emulated here by writing the same value back). */
struct TouchCase {
  uintptr_t header;  /* the rte_mbuf (cache-line aligned, before its buffer) */
  uintptr_t data;
  uint64_t len;
};

std::set<uintptr_t> pages_of(uintptr_t a, uint64_t len)
{
  std::set<uintptr_t> p;
  for (uintptr_t x = a & ~uintptr_t{4095}; len != 0 && x <= a + len - 1; x += 4096)
    p.insert(x);
  return p;
}

TEST(migration, RxBufTouchLogWritesEveryPageTheLoopsOwnStoreDoesNotAndKeepsTheContent)
{
  constexpr size_t kPages = 8;
  void *mem = mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto *bytes = static_cast<uint8_t *>(mem);
  std::mt19937 rng(11);
  for (size_t i = 0; i < kPages * 4096; ++i)
    bytes[i] = static_cast<uint8_t>(rng());
  const std::vector<uint8_t> copy(bytes, bytes + kPages * 4096);
  const uintptr_t base = reinterpret_cast<uintptr_t>(mem);
  const auto page = [&](unsigned i) { return base + i * 4096; };
  constexpr uint32_t kHeaderToData = 256;  // every case: the data 256 bytes after the header
  const std::vector<TouchCase> cases = {
      {page(0), page(0) + 256, 128},            // the usual layout, a small frame: the header's page only
      {page(0) + 3968, page(1) + 128, 1500},    // header at the end of a page, the frame in the next
      {page(2) + 3776, page(2) + 4032, 2000},   // from the header's page into the next
      {page(4), page(4) + 256, 2 * 4096},       // a large buffer: pages 4 (the header's), 5 and 6
      {page(7), page(7) + 256, 0},              // nothing written: no access (counted as one page)
      {page(7) + 3839, page(7) + 4095, 1},      // the header page's last byte
  };

  struct sigaction sa {}, old {};
  sa.sa_sigaction = record_write_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
  g_write_faults.clear();
  g_write_faults.reserve(64);

  // The policy alone writes the pages of each buffer other than its header's.
  ASSERT_EQ(mprotect(mem, kPages * 4096, PROT_READ), 0);
  RxBufTouchLog log(kHeaderToData);
  for (const TouchCase &c : cases)
    log.buf(0, reinterpret_cast<const void *>(c.data), c.len, reinterpret_cast<const rte_mbuf *>(c.header));
  EXPECT_TRUE(g_write_faults.empty()) << "touches wait for flush(), the end of the burst";
  log.flush();
  const std::set<uintptr_t> touched(g_write_faults.begin(), g_write_faults.end());
  const uint64_t marks = log.marks(cases.size());

  // With the loop's store into each header: every page of every buffer was written.
  g_write_faults.clear();
  ASSERT_EQ(mprotect(mem, kPages * 4096, PROT_READ), 0);
  std::set<uintptr_t> device_wrote;
  for (const TouchCase &c : cases) {
    RxBufTouchLog one(kHeaderToData);
    one.buf(0, reinterpret_cast<const void *>(c.data), c.len, reinterpret_cast<const rte_mbuf *>(c.header));
    one.flush();
    volatile uint8_t *h = reinterpret_cast<volatile uint8_t *>(c.header + 16);
    *h = *h;
    const std::set<uintptr_t> p = pages_of(c.data, c.len);
    device_wrote.insert(p.begin(), p.end());
  }
  const std::set<uintptr_t> written(g_write_faults.begin(), g_write_faults.end());
  ASSERT_EQ(mprotect(mem, kPages * 4096, PROT_READ | PROT_WRITE), 0);
  ASSERT_EQ(sigaction(SIGSEGV, &old, nullptr), 0);

  EXPECT_EQ(touched, (std::set<uintptr_t>{page(1), page(3), page(5), page(6)}));
  EXPECT_EQ(marks, 1u + 1u + 2u + 3u + 1u + 1u) << "pages logged, by the loop's store or a touch";
  EXPECT_TRUE(std::includes(written.begin(), written.end(), device_wrote.begin(), device_wrote.end()));
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), bytes)) << "touch must not change the content";
  munmap(mem, kPages * 4096);
}

TEST(migration, QueueMarkScanPublishesTheFetchGenerationOnlyWhileEveryPageStaysMarked)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  ASSERT_TRUE(a);
  region::Guest &g = a->guest();
  ASSERT_TRUE(g.tracks_fetches());
  DirtyLogger l = bitmap_logger(*a);
  EXPECT_EQ(span_pages({{kBase + 128, kBase + 2175}, {kBase + 4096 + 3000, kBase + 8192 + 100}}, 12),
            (std::vector<uint64_t>{kBase, kBase + 4096, kBase + 8192}));
  /* 320 pages: up to 5 may be left to the scan to mark. */
  std::vector<std::pair<uint64_t, uint64_t>> bufs;
  for (uint64_t i = 0; i < 320; ++i)
    bufs.emplace_back(kBase + i * 4096 + 256, kBase + i * 4096 + 2303);
  QueueMarkScan scan(span_pages(bufs, 12));
  ASSERT_EQ(scan.pages(), 320u);
  ASSERT_EQ(scan.max_unmarked(), 5u);
  const auto mark_all_but = [&](unsigned left) {
    for (uint64_t i = left; i < 320; ++i)
      g.mark_dirty(kBase + i * 4096);
  };

  EXPECT_FALSE(scan.step(l, g, 1000)) << "nothing marked yet";
  mark_all_but(6);
  EXPECT_FALSE(scan.step(l, g, 1000)) << "six pages unmarked: more than the scan marks itself";
  EXPECT_EQ(l.marked_gen, ~0ULL);
  EXPECT_EQ(dirty(h).size(), 314u) << "and it marked nothing";  // a clearing read: generation gen0
  const uint64_t gen0 = g.fetch_counters().end;

  mark_all_but(2);
  EXPECT_FALSE(scan.step(l, g, 100)) << "a budget of 100 pages per step";
  EXPECT_FALSE(scan.step(l, g, 100));
  EXPECT_FALSE(scan.step(l, g, 100));
  EXPECT_TRUE(scan.step(l, g, 100));
  EXPECT_EQ(l.marked_gen, gen0);
  EXPECT_EQ(l.ctl_pages, 2u) << "the two pages no frame reached, marked by the scan";
  EXPECT_EQ(dirty(h).size(), 320u);

  /* That clearing read moved the generation: the proof no longer matches and a new one needs the
   * pages marked again. A read without clearing changes nothing. */
  const auto f = g.fetch_counters();
  EXPECT_TRUE(f.quiet());
  EXPECT_EQ(f.end, gen0 + 1);
  (void)h.dirty_pages(ReadMode::no_clear);
  EXPECT_EQ(g.fetch_counters().end, gen0 + 1);
  EXPECT_FALSE(scan.step(l, g, 1000));
  mark_all_but(0);
  EXPECT_TRUE(scan.step(l, g, 1000));
  EXPECT_EQ(l.marked_gen, gen0 + 1);
}

/* A small set (a Tx ring, a pool in 2 MiB pages) is proven only while its queue's device writes
 * reached at least half of it: an idle queue's pages are not marked anew after each fetch. */
TEST(migration, QueueMarkScanLeavesASmallSetOfAnIdleQueueUnmarked)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  ASSERT_TRUE(a);
  region::Guest &g = a->guest();
  DirtyLogger l = bitmap_logger(*a);
  QueueMarkScan one(std::vector<uint64_t>{kBase});
  QueueMarkScan two(std::vector<uint64_t>{kBase + 4096, kBase + 8192});
  EXPECT_EQ(one.max_unmarked(), 0u);
  EXPECT_EQ(two.max_unmarked(), 1u);
  EXPECT_FALSE(one.step(l, g, 100));
  EXPECT_FALSE(two.step(l, g, 100));
  EXPECT_TRUE(dirty(h).empty()) << "an idle queue's pages stay unmarked";
  g.mark_dirty(kBase + 8192);  // the device wrote one page of the two since the fetch
  DirtyLogger l2 = bitmap_logger(*a);
  EXPECT_TRUE(two.step(l2, g, 100));
  EXPECT_EQ(l2.ctl_pages, 1u) << "the other page, marked by the scan";
  g.mark_dirty(kBase);
  EXPECT_TRUE(one.step(l, g, 100));
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase, kBase + 4096, kBase + 8192}));
}

TEST(migration, AnOlderHostWithoutFetchCountersNeverLetsABurstSkipMarks)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  /* What a 1.0 host wrote: minor version 0 (the counters were reserved bytes). */
  region_test::patch<uint16_t>(path.str(), offsetof(region::Header, version_minor), 0);
  auto g = region::Guest::attach(path.str());
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->tracks_fetches());
  DirtyLogger l;
  l.mode = DirtyLogMode::bitmap;
  l.guest = &g.value();
  g->mark_dirty(kBase);
  QueueMarkScan scan(std::vector<uint64_t>{kBase});
  EXPECT_FALSE(scan.step(l, *g, 100));
  EXPECT_EQ(l.marked_gen, ~0ULL);
}

TEST(migration, AddrTableMergesContiguousExtentsAndTranslatesAcrossHugepages)
{
  AddrTable t({{0x2000000, 0x200000, 0x80000000}, {0x2200000, 0x200000, 0x80200000}, {0x2400000, 0x200000, 0x10000000}});
  EXPECT_EQ(t.extents(), 2u);
  EXPECT_EQ(t.translate(0x2000010), 0x80000010u);
  EXPECT_EQ(t.translate(0x23fffff), 0x803fffffu);
  EXPECT_EQ(t.translate(0x2400001), 0x10000001u);
  EXPECT_EQ(t.translate(0x1fff000), AddrTable::kNoTranslation);
  EXPECT_EQ(t.translate(0x2600000), AddrTable::kNoTranslation);
}

TEST(migration, TranslatedLoggingMarksThePhysicalPagesOfARangeCrossingExtents)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  auto a = RegionAttachment::acquire(path.str(), nullptr);
  AddrTable t({{0x7f0000000000, 0x200000, kBase + 0x400000}, {0x7f0000200000, 0x200000, kBase}});
  DirtyLogger l = bitmap_logger(*a);
  l.xlat = &t;
  uint64_t last = ~0ULL;
  l.mark(0x7f0000200000 - 100, nullptr, 200, last);
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{kBase + 0x5ff000, kBase}));
  EXPECT_EQ(l.untranslated_count(), 0u);
  l.mark(0x100, nullptr, 10, last);
  EXPECT_EQ(l.untranslated_count(), 1u);
}

TEST(migration, RegionAttachmentIsSharedByPortsNamingTheSamePath)
{
  region_test::TempPath path;
  Host h = make_host(path.str());
  std::string why;
  auto a = RegionAttachment::acquire(path.str(), &why);
  auto b = RegionAttachment::acquire(path.str(), &why);
  EXPECT_EQ(a.get(), b.get());
  auto bad = RegionAttachment::acquire(path.str() + ".missing", &why);
  EXPECT_FALSE(bad);
  EXPECT_NE(why.find(".missing"), std::string::npos) << why;
}

TEST(migration, MigrationDevargsParseAndRefuseWithTheKeyNamed)
{
  MigrationDevargs a;
  std::string why;
  EXPECT_EQ(parse_migration_devarg("mig_region", "/dev/shm/x", a, &why), 0);
  EXPECT_EQ(a.effective_mode(), DirtyLogMode::bitmap);
  EXPECT_EQ(parse_migration_devarg("dirty_log", "touch", a, &why), 0);
  EXPECT_EQ(a.effective_mode(), DirtyLogMode::touch);
  EXPECT_EQ(parse_migration_devarg("mig_poll_us", "250", a, &why), 0);
  EXPECT_EQ(a.poll_us, 250u);
  EXPECT_EQ(parse_migration_devarg("recover", "app", a, &why), 0);
  EXPECT_EQ(a.recover, RecoverMode::app);
  EXPECT_EQ(parse_migration_devarg("dirty_log", "maybe", a, &why), -EINVAL);
  EXPECT_NE(why.find("dirty_log=maybe"), std::string::npos) << why;
  EXPECT_EQ(parse_migration_devarg("mig_poll_us", "0", a, &why), -EINVAL);
  EXPECT_NE(why.find("mig_poll_us"), std::string::npos);
  EXPECT_EQ(parse_migration_devarg("dirty_addr", "gpa", a, &why), -EINVAL);
  EXPECT_EQ(parse_migration_devarg("nope", "1", a, &why), -ENOENT);
  MigrationDevargs b;
  EXPECT_EQ(parse_migration_devarg("dirty_log", "bitmap", b, &why), 0);
  EXPECT_EQ(validate_migration_devargs(b, &why), -EINVAL);
  EXPECT_NE(why.find("mig_region"), std::string::npos);
  MigrationDevargs none;
  EXPECT_EQ(none.effective_mode(), DirtyLogMode::off);
}

/* ---- the state machine, against a scripted device ---- */

namespace {

struct FakeDevice : MigrationDevice {
  std::string id = "net_ixgbevf_lm_sim_test0";
  unsigned nrx = 2, ntx = 2;
  std::vector<DirtyLogger *> rxl{2, nullptr}, txl{2, nullptr};
  bool is_started = true;
  std::vector<std::string> calls;
  int rebuild_fails = 0;         // this many rebuilds fail
  QuiesceResult qres;
  PfEvent next_event = PfEvent::none;
  bool link = true;
  bool gates_open = true;
  uint64_t posted_iova = kBase + 0x10000;
  std::vector<std::pair<uint64_t, uint64_t>> rx_spans;  // what rx_dma_spans(0) returns

  uint16_t port_id() const override { return 7; }
  std::string identity() const override { return id; }
  bool started() const override { return is_started; }
  unsigned n_rx_queues() const override { return nrx; }
  unsigned n_tx_queues() const override { return ntx; }
  void set_rx_logger(unsigned q, DirtyLogger *l) override { rxl[q] = l; }
  std::vector<std::pair<uint64_t, uint64_t>> rx_dma_spans(unsigned q) const override
  {
    return q == 0 ? rx_spans : std::vector<std::pair<uint64_t, uint64_t>>{};
  }
  void set_tx_logger(unsigned q, DirtyLogger *l) override { txl[q] = l; }
  bool grace_period(const Deadline &) override { calls.push_back("grace"); return true; }
  void log_posted(DirtyLogger *const *rx, DirtyLogger *const *) override
  {
    calls.push_back("log_posted");
    log_range(*rx[0], posted_iova, nullptr, 2048);
  }
  QuiesceResult quiesce(const MigrationBudgets &) override { calls.push_back("quiesce"); gates_open = false; return qres; }
  int resume_same_vf(const MigrationBudgets &, std::string *) override { calls.push_back("resume_same_vf"); gates_open = true; return 0; }
  void platform_switch(uint32_t seq) override { calls.push_back("switch" + std::to_string(seq)); }
  int rebuild(const MigrationBudgets &, bool open, std::string *why) override
  {
    calls.push_back(open ? "rebuild+open" : "rebuild");
    if (rebuild_fails > 0) {
      --rebuild_fails;
      *why = "PF silent";
      return -ETIMEDOUT;
    }
    gates_open = open;
    return 0;
  }
  void open_gates() override { calls.push_back("open_gates"); gates_open = true; }
  bool wait_link(const Deadline &) override { return link; }
  void set_link_reported(bool up) override { calls.push_back(up ? "link_up" : "link_down"); }
  PfEvent poll_pf_event() override { return std::exchange(next_event, PfEvent::none); }
  void raise_intr_reset() override { calls.push_back("intr_reset"); }

  bool called(const std::string &c) const { return std::find(calls.begin(), calls.end(), c) != calls.end(); }
};

struct Fixture {
  region_test::TempPath path;
  Host host;
  FakeDevice dev;
  std::unique_ptr<MigrationPort> port;
  uint32_t slot = 0;

  explicit Fixture(MigrationDevargs args = {}) : host(make_host(path.str()))
  {
    setenv("IXGBEVF_LM_MIG_NO_THREAD", "1", 1);
    args.region_path = path.str();
    std::string why;
    port = MigrationPort::create(dev, args, &why);
    EXPECT_TRUE(port) << why;
    port->budgets().retry_backoff = std::chrono::microseconds{0};
    EXPECT_EQ(MigrationController::instance().add(port.get(), args.poll_us, &why), 0) << why;
    slot = host.find_slot(dev.id).value();
  }
  ~Fixture() { MigrationController::instance().remove(port.get()); }

  region::SlotStatus request(State s, region::ResumeKind k = region::ResumeKind::none)
  {
    auto g = host.request_state(slot, s, k);
    EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().message);
    MigrationController::instance().poll_once();
    return host.slot_status(slot).value();
  }
};

}  // namespace

TEST(migration, PreCopyPublishesLoggersMarksPostedBuffersAndAcksLoggingActive)
{
  Fixture f;
  auto st = f.request(State::pre_copy);
  EXPECT_EQ(st.report.state, State::pre_copy);
  EXPECT_TRUE(st.report.logging_active());
  EXPECT_EQ(st.report.acked_generation, st.request.generation);
  ASSERT_NE(f.dev.rxl[0], nullptr);
  ASSERT_NE(f.dev.txl[1], nullptr);
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_LOGGING);
  /* grace period before the posted buffers are walked */
  auto g = std::find(f.dev.calls.begin(), f.dev.calls.end(), "grace");
  auto lp = std::find(f.dev.calls.begin(), f.dev.calls.end(), "log_posted");
  EXPECT_LT(g, lp);
  EXPECT_EQ(dirty(f.host), (std::set<uint64_t>{f.dev.posted_iova}));
  MigrationController::instance().poll_once();
  EXPECT_EQ(f.host.slot_status(f.slot).value().counters.pages_logged, 1u);
}

TEST(migration, FullMigrationQuiescesRebuildsClosedThenOpensOnRunningDestination)
{
  Fixture f;
  int after_resume = 0;
  ASSERT_EQ(f.port->set_callback(RTE_PMD_IXGBEVF_LM_MIG_EV_AFTER_RESUME,
                                 [](uint16_t, rte_pmd_ixgbevf_lm_mig_event, void *a) { ++*static_cast<int *>(a); },
                                 &after_resume), 0);
  f.request(State::pre_copy);
  auto st = f.request(State::stop_copy);
  EXPECT_EQ(st.report.state, State::stop_copy);
  EXPECT_TRUE(f.dev.called("quiesce"));
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_QUIESCED);
  st = f.request(State::stop);
  EXPECT_EQ(st.report.state, State::stop);
  EXPECT_FALSE(st.report.logging_active());
  EXPECT_EQ(f.dev.rxl[0], nullptr);
  st = f.request(State::resuming);
  EXPECT_EQ(st.report.state, State::resuming);
  EXPECT_TRUE(f.dev.called("switch1"));
  EXPECT_TRUE(f.dev.called("rebuild"));
  EXPECT_FALSE(f.dev.gates_open);
  st = f.request(State::running, region::ResumeKind::destination);
  EXPECT_EQ(st.report.state, State::running);
  EXPECT_TRUE(f.dev.gates_open);
  EXPECT_EQ(st.counters.migrations_done, 1u);
  EXPECT_EQ(after_resume, 1);
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
}

TEST(migration, CancelAfterStopCopyResumesOnTheSameVfWithoutReset)
{
  Fixture f;
  int aborts = 0;
  ASSERT_EQ(f.port->set_callback(RTE_PMD_IXGBEVF_LM_MIG_EV_ABORT,
                                 [](uint16_t, rte_pmd_ixgbevf_lm_mig_event, void *a) { ++*static_cast<int *>(a); },
                                 &aborts), 0);
  f.request(State::pre_copy);
  f.request(State::stop_copy);
  auto st = f.request(State::running, region::ResumeKind::source_abort);
  EXPECT_EQ(st.report.state, State::running);
  EXPECT_TRUE(f.dev.called("resume_same_vf"));
  EXPECT_FALSE(f.dev.called("rebuild"));
  EXPECT_FALSE(f.dev.called("rebuild+open"));
  EXPECT_EQ(aborts, 1);
  EXPECT_FALSE(st.report.logging_active());
}

TEST(migration, QuiesceTimeoutIsReportedInTheSlotNotHidden)
{
  Fixture f;
  f.dev.qres.rc = -ETIMEDOUT;
  f.dev.qres.what = "TDH != TDT after 5000 us on tx queue 1";
  f.dev.qres.frames_dropped = 3;
  auto st = f.request(State::stop_copy);
  EXPECT_EQ(st.report.state, State::stop_copy);
  EXPECT_EQ(st.last_error, -ETIMEDOUT);
  EXPECT_NE(st.error_msg.find("TDH"), std::string::npos) << st.error_msg;
  EXPECT_EQ(st.counters.frames_dropped, 3u);
  EXPECT_EQ(f.port->stats().timeouts, 1u);
}

TEST(migration, StopCopyWhoseQuiesceTimedOutIsAcknowledgedWithTheLogIncomplete)
{
  Fixture f;
  f.request(State::pre_copy);
  f.dev.qres.rc = -ETIMEDOUT;
  f.dev.qres.what = "rx queue 0: an lcore stayed in rx burst";
  f.dev.qres.lcore_inside = true;
  auto st = f.request(State::stop_copy);
  EXPECT_EQ(st.report.state, State::stop_copy);
  EXPECT_TRUE(st.report.log_incomplete()) << "the ack itself must say the bitmap is not complete";
  EXPECT_EQ(st.counters.log_errors, 1u);
  EXPECT_EQ(st.last_error, -ETIMEDOUT);
  EXPECT_NE(st.error_msg.find("rx burst"), std::string::npos) << st.error_msg;
  EXPECT_EQ(f.port->stats().log_errors, 1u);
  EXPECT_TRUE(f.port->stats().log_incomplete);
  /* The flag lasts while the source is quiesced and logging, and ends with the migration. */
  EXPECT_TRUE(f.request(State::stop).report.log_incomplete());
  f.dev.qres = {};
  f.request(State::resuming);
  st = f.request(State::running, region::ResumeKind::destination);
  EXPECT_EQ(st.report.state, State::running);
  EXPECT_FALSE(st.report.log_incomplete());
  EXPECT_EQ(st.counters.log_errors, 1u) << "the count stays for the host to read";
}

TEST(migration, StopCopyOfAPortNotLoggingThatTimedOutIsNotAcknowledgedClean)
{
  MigrationDevargs args;
  args.dirty_log = DirtyLogMode::off;
  args.dirty_log_given = true;
  Fixture f(args);
  f.dev.qres.rc = -ETIMEDOUT;
  f.dev.qres.what = "tx queue 0: TDH 3 != TDT 9";
  auto st = f.request(State::stop_copy);
  EXPECT_EQ(st.report.state, State::stop_copy);
  EXPECT_TRUE(st.report.log_incomplete());
  f.dev.qres = {};
  st = f.request(State::running, region::ResumeKind::source_abort);
  EXPECT_EQ(st.report.state, State::running);
  EXPECT_FALSE(st.report.log_incomplete());
}

TEST(migration, AMarkOutsideTheRangesDuringPreCopyFlagsEveryLaterAck)
{
  Fixture f;
  auto st = f.request(State::pre_copy);
  ASSERT_TRUE(st.report.logging_active());
  EXPECT_FALSE(st.report.log_incomplete());
  /* An lcore's burst marks a buffer the region does not cover (a pool allocated after the ranges
   * were chosen, a vIOMMU address). */
  {
    DirtyBurst b(f.dev.rxl[0]);
    b.buf(kBase + kLen + 0x1000, nullptr, 64);
  }
  MigrationController::instance().poll_once();
  EXPECT_EQ(f.port->stats().log_errors, 1u);
  st = f.request(State::stop_copy);
  EXPECT_TRUE(st.report.log_incomplete());
  EXPECT_EQ(st.counters.log_errors, 1u);
  EXPECT_EQ(st.last_error, -EIO);
  EXPECT_NE(st.error_msg.find("outside"), std::string::npos) << st.error_msg;
}

TEST(migration, LoggingIsRefusedWithTheReasonWhenAPoolLiesOutsideTheRegion)
{
  Fixture f;
  f.dev.rx_spans = {{kBase, kBase + 4095}, {kBase + kLen - 4096, kBase + kLen + 8191}};
  auto st = f.request(State::pre_copy);
  EXPECT_EQ(st.report.state, State::error);
  EXPECT_FALSE(st.report.logging_active());
  EXPECT_EQ(f.dev.rxl[0], nullptr) << "no logger published for a log that cannot be complete";
  EXPECT_EQ(st.last_error, -ERANGE);
  EXPECT_NE(st.error_msg.find("rx queue 0"), std::string::npos) << st.error_msg;
  EXPECT_FALSE(f.port->logging());
  /* The host cancels; the port carries on, and a pool inside the ranges logs. */
  st = f.request(State::running, region::ResumeKind::source_abort);
  EXPECT_EQ(st.report.state, State::running);
  f.dev.rx_spans = {{kBase, kBase + 4095}};
  st = f.request(State::pre_copy);
  EXPECT_EQ(st.report.state, State::pre_copy);
  EXPECT_TRUE(st.report.logging_active());
}

TEST(migration, AnOlderHostGetsErrorInsteadOfAFlagItWouldNotRead)
{
  Fixture f;
  region_test::patch<uint16_t>(f.path.str(), offsetof(region::Header, version_minor), 1);
  f.request(State::pre_copy);
  f.dev.qres.rc = -ETIMEDOUT;
  f.dev.qres.what = "tx queue 0: TDH 3 != TDT 9";
  auto st = f.request(State::stop_copy);
  EXPECT_EQ(st.report.state, State::error);
  EXPECT_NE(st.error_msg.find("TDH"), std::string::npos) << st.error_msg;
}

TEST(migration, SilentDestinationPfReportsErrorThenRecoversAndAcksWhenItAnswers)
{
  Fixture f;
  f.request(State::stop_copy);
  f.dev.rebuild_fails = 5;  // 3 attempts in the request, 2 background retries
  auto st = f.request(State::resuming);
  EXPECT_EQ(st.report.state, State::error);
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_RECOVERING);
  EXPECT_TRUE(f.dev.called("link_down"));
  EXPECT_NE(st.error_msg.find("PF silent"), std::string::npos) << st.error_msg;
  /* The host may only abort or re-send RESUMING now; the driver keeps retrying by itself and
   * re-acknowledges RESUMING once the PF answers. */
  for (int i = 0; i < 10 && f.port->state() == RTE_PMD_IXGBEVF_LM_MIG_RECOVERING; ++i)
    MigrationController::instance().poll_once();
  st = f.host.slot_status(f.slot).value();
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_RESTORED);
  EXPECT_EQ(st.report.state, State::resuming);
  EXPECT_EQ(st.report.acked_generation, st.request.generation);
  EXPECT_EQ(st.last_error, 0);
  EXPECT_EQ(std::count(f.dev.calls.begin(), f.dev.calls.end(), "switch1"), 1);
  st = f.request(State::running, region::ResumeKind::destination);
  EXPECT_EQ(st.report.state, State::running);
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
  EXPECT_TRUE(f.dev.called("link_up"));
}

TEST(migration, PfMigrationMessageQuiescesAndTheReplacedVfIsRebuiltWithGatesOpen)
{
  Fixture f;
  f.dev.next_event = PfEvent::migration_announced;
  MigrationController::instance().poll_once();
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_QUIESCED);
  f.dev.next_event = PfEvent::vf_reset;
  MigrationController::instance().poll_once();
  EXPECT_TRUE(f.dev.called("rebuild+open"));
  EXPECT_EQ(f.port->state(), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
  EXPECT_EQ(f.port->stats().migrations_done, 1u);
}

TEST(migration, PfResetWithRecoverAppRaisesIntrResetInsteadOfRebuilding)
{
  MigrationDevargs a;
  a.recover = RecoverMode::app;
  Fixture f(a);
  f.dev.next_event = PfEvent::vf_reset;
  MigrationController::instance().poll_once();
  EXPECT_TRUE(f.dev.called("intr_reset"));
  EXPECT_FALSE(f.dev.called("rebuild+open"));
}

TEST(migration, PfResetWithRecoverAutoRebuildsAndCountsARecovery)
{
  Fixture f;
  f.dev.next_event = PfEvent::vf_reset;
  MigrationController::instance().poll_once();
  EXPECT_TRUE(f.dev.called("rebuild+open"));
  EXPECT_EQ(f.port->stats().recoveries, 1u);
}

TEST(migration, ApiQuiesceAndResumeUseTheSameSteps)
{
  Fixture f;
  EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(7, 1000), 0);
  EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(7), RTE_PMD_IXGBEVF_LM_MIG_QUIESCED);
  EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(7, 1000), -EBUSY);
  EXPECT_EQ(rte_pmd_ixgbevf_lm_resume(7), 0);
  EXPECT_TRUE(f.dev.called("resume_same_vf"));
  EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(7), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
  EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(99, 1000), -ENOTSUP);
}

TEST(migration, LoggingOffWritesNothingToTheRegion)
{
  MigrationDevargs a;
  a.dirty_log = DirtyLogMode::off;
  a.dirty_log_given = true;
  Fixture f(a);
  auto st = f.request(State::pre_copy);
  EXPECT_EQ(st.report.state, State::pre_copy);
  EXPECT_FALSE(st.report.logging_active());
  EXPECT_EQ(f.dev.rxl[0], nullptr);
  EXPECT_TRUE(dirty(f.host).empty());
}

TEST(migration, ClosingAPortWhileLoggingReleasesItsSlotAndLeavesTheBitmap)
{
  auto f = std::make_unique<Fixture>();
  f->request(State::pre_copy);
  const uint32_t slot = f->slot;
  Host &h = f->host;
  MigrationController::instance().remove(f->port.get());
  f->port.reset();
  EXPECT_EQ(f->dev.rxl[0], nullptr);  // hooks cleared before the loggers died
  auto st = h.slot_status(slot).value();
  EXPECT_FALSE(st.claimed);
  EXPECT_EQ(dirty(h), (std::set<uint64_t>{f->dev.posted_iova}));  // still readable, consistent
  f->port = nullptr;
}

TEST(migration, QuiesceTimeoutDevargBoundsEveryQuiesceStep)
{
  MigrationDevargs a;
  std::string why;
  EXPECT_EQ(parse_migration_devarg("quiesce_timeout_us", "20000", a, &why), 0) << why;
  EXPECT_EQ(a.quiesce_timeout_us, 20000u);
  EXPECT_EQ(parse_migration_devarg("quiesce_timeout_us", "50", a, &why), -EINVAL);
  EXPECT_NE(why.find("quiesce_timeout_us"), std::string::npos) << why;
  EXPECT_EQ(parse_migration_devarg("quiesce_timeout_us", "1ms", a, &why), -EINVAL);
  MigrationBudgets b;
  b.set_quiesce_timeout(std::chrono::microseconds(50000));  /* the default: the historical step budgets */
  EXPECT_EQ(b.quiesce.count(), 50000);
  EXPECT_EQ(b.grace.count(), 20000);
  EXPECT_EQ(b.tx_drain.count(), 5000);
  EXPECT_EQ(b.queue_disable.count(), 2000);
  EXPECT_EQ(b.rx_deliver.count(), 2000);
  b.set_quiesce_timeout(std::chrono::microseconds(200000));  /* a caller's longer bound lengthens the drain */
  EXPECT_EQ(b.tx_drain.count(), 20000);
  b.set_quiesce_timeout(std::chrono::microseconds(0));
  EXPECT_GE(b.grace.count(), 1);
}

/* The port's operation lock: recursive for its owner, bounded for everyone else, free again after
 * the owner's last unlock (ixgbevf_lm_oplock.h). */
TEST(migration, OpMutexIsRecursiveForItsOwnerAndBoundedForOthers)
{
  using namespace std::chrono_literals;
  ixgbevf_lm::pmd::mig::OpMutex m;
  std::unique_lock<ixgbevf_lm::pmd::mig::OpMutex> outer(m);
  {
    std::unique_lock<ixgbevf_lm::pmd::mig::OpMutex> inner(m, 1ms);  /* the owner again */
    EXPECT_TRUE(inner.owns_lock());
  }
  bool other_got = true;
  std::chrono::steady_clock::duration other_waited{};
  std::thread t([&] {
    const auto t0 = std::chrono::steady_clock::now();
    other_got = m.try_lock_for(20ms);
    other_waited = std::chrono::steady_clock::now() - t0;
    if (other_got)
      m.unlock();
  });
  t.join();
  EXPECT_FALSE(other_got) << "held by this thread (once more after the inner unlock)";
  EXPECT_GE(other_waited, 20ms);
  outer.unlock();
  std::thread t2([&] {
    other_got = m.try_lock_for(10s);
    if (other_got)
      m.unlock();
  });
  t2.join();
  EXPECT_TRUE(other_got);
}
