/* SPDX-License-Identifier: BSD-3-Clause
 * Dirty-page logging: devargs, the shared region attachment, the pagemap translation table and the
 * control-path helpers. The fast path is inline in ixgbevf_lm_dirtylog.h.
 */
#include "ixgbevf_lm_dirtylog.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

namespace ixgbevf_lm::pmd::mig {

const char *dirty_log_mode_name(DirtyLogMode m) noexcept
{
  switch (m) {
  case DirtyLogMode::off: return "off";
  case DirtyLogMode::bitmap: return "bitmap";
  case DirtyLogMode::touch: return "touch";
  }
  return "?";
}

namespace {

int refuse(std::string_view key, std::string_view value, const char *expected, std::string *why)
{
  if (why != nullptr)
    *why = std::string("devarg ") + std::string(key) + "=" + std::string(value) + " refused: expected " + expected;
  return -EINVAL;
}

}  // namespace

int parse_migration_devarg(std::string_view key, std::string_view value, MigrationDevargs &out, std::string *why)
{
  if (key == "mig_region") {
    if (value.empty())
      return refuse(key, value, "a file path", why);
    out.region_path = std::string(value);
    return 0;
  }
  if (key == "dirty_log") {
    if (value == "off")
      out.dirty_log = DirtyLogMode::off;
    else if (value == "bitmap")
      out.dirty_log = DirtyLogMode::bitmap;
    else if (value == "touch")
      out.dirty_log = DirtyLogMode::touch;
    else
      return refuse(key, value, "off|bitmap|touch", why);
    out.dirty_log_given = true;
    return 0;
  }
  if (key == "dirty_addr") {
    if (value == "iova")
      out.dirty_addr = DirtyAddr::iova;
    else if (value == "pa")
      out.dirty_addr = DirtyAddr::pa;
    else
      return refuse(key, value, "iova|pa", why);
    return 0;
  }
  if (key == "mig_poll_us") {
    uint32_t v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 1 || v > 100000)
      return refuse(key, value, "an integer 1..100000 (microseconds)", why);
    out.poll_us = v;
    return 0;
  }
  if (key == "quiesce_timeout_us") {
    uint32_t v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 100 || v > 2000000)
      return refuse(key, value, "an integer 100..2000000 (microseconds)", why);
    out.quiesce_timeout_us = v;
    return 0;
  }
  if (key == "recover") {
    if (value == "auto")
      out.recover = RecoverMode::automatic;
    else if (value == "app")
      out.recover = RecoverMode::app;
    else
      return refuse(key, value, "auto|app", why);
    return 0;
  }
  return -ENOENT;
}

int validate_migration_devargs(const MigrationDevargs &a, std::string *why)
{
  if (a.dirty_log_given && a.dirty_log == DirtyLogMode::bitmap && a.region_path.empty()) {
    if (why != nullptr)
      *why = "devarg dirty_log=bitmap refused: it needs mig_region=<path>";
    return -EINVAL;
  }
  return 0;
}

/* ---- AddrTable ---- */

AddrTable::AddrTable(std::vector<Extent> extents) : ext_(std::move(extents))
{
  std::sort(ext_.begin(), ext_.end(), [](const Extent &a, const Extent &b) { return a.iova < b.iova; });
  std::vector<Extent> merged;
  for (const Extent &e : ext_) {
    if (!merged.empty()) {
      Extent &m = merged.back();
      if (m.iova + m.len == e.iova && m.pa + m.len == e.pa) {
        m.len += e.len;
        continue;
      }
    }
    merged.push_back(e);
  }
  ext_ = std::move(merged);
}

uint64_t AddrTable::extent_left(uint64_t iova) const noexcept
{
  auto it = std::upper_bound(ext_.begin(), ext_.end(), iova, [](uint64_t v, const Extent &e) { return v < e.iova; });
  if (it == ext_.begin())
    return 0;
  --it;
  if (iova - it->iova >= it->len)
    return 0;
  return it->len - (iova - it->iova);
}

namespace {

struct PagemapWalk {
  int fd;
  std::vector<AddrTable::Extent> out;
  std::string error;
};

int pagemap_memseg_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
  auto *w = static_cast<PagemapWalk *>(arg);
  (void)msl;
  const uint64_t va = reinterpret_cast<uintptr_t>(ms->addr);
  const uint64_t sys_page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  /* A hugepage is physically contiguous: one pagemap entry (its first 4 KiB) gives the frame of all
   * of it. Small-page memsegs are looked up page by page. */
  const uint64_t step = ms->hugepage_sz > sys_page ? ms->hugepage_sz : sys_page;
  for (uint64_t off = 0; off < ms->len; off += step) {
    uint64_t entry = 0;
    const off_t pos = static_cast<off_t>(((va + off) / sys_page) * sizeof(uint64_t));
    if (pread(w->fd, &entry, sizeof(entry), pos) != static_cast<ssize_t>(sizeof(entry))) {
      w->error = "pagemap read failed: " + std::string(strerror(errno));
      return -1;
    }
    const uint64_t pfn = entry & ((1ULL << 55) - 1);
    if ((entry & (1ULL << 63)) == 0 || pfn == 0) {
      w->error = "pagemap gives no frame number (page not present, or no CAP_SYS_ADMIN)";
      return -1;
    }
    const uint64_t chunk = std::min<uint64_t>(step, ms->len - off);
    w->out.push_back({ms->iova == RTE_BAD_IOVA ? va + off : ms->iova + off, chunk, pfn * sys_page});
  }
  return 0;
}

}  // namespace

std::unique_ptr<AddrTable> AddrTable::build_from_memsegs(std::string *why)
{
  PagemapWalk w{};
  w.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (w.fd < 0) {
    if (why != nullptr)
      *why = "cannot open /proc/self/pagemap: " + std::string(strerror(errno));
    return nullptr;
  }
  const int rc = rte_memseg_walk(pagemap_memseg_cb, &w);
  close(w.fd);
  if (rc != 0) {
    if (why != nullptr)
      *why = w.error;
    return nullptr;
  }
  return std::make_unique<AddrTable>(std::move(w.out));
}

/* ---- RegionAttachment ---- */

namespace {
std::mutex g_attach_lock;
std::map<std::string, std::weak_ptr<RegionAttachment>> g_attachments;
}  // namespace

std::shared_ptr<RegionAttachment> RegionAttachment::acquire(const std::string &path, std::string *why)
{
  std::lock_guard<std::mutex> lk(g_attach_lock);
  auto it = g_attachments.find(path);
  if (it != g_attachments.end()) {
    if (auto sp = it->second.lock())
      return sp;
  }
  auto g = region::Guest::attach(path);
  if (!g) {
    if (why != nullptr)
      *why = "migration region " + path + ": " + g.error().message;
    return nullptr;
  }
  auto sp = std::make_shared<RegionAttachment>(std::move(g.value()), path);
  g_attachments[path] = sp;
  return sp;
}

region::Result<region::GuestSlot> RegionAttachment::claim(std::string_view identity)
{
  std::lock_guard<std::mutex> lk(lock_);
  return guest_.claim_slot(identity);
}

void RegionAttachment::release(region::GuestSlot &slot)
{
  std::lock_guard<std::mutex> lk(lock_);
  if (slot.valid())
    (void)guest_.release_slot(slot);
}

/* ---- DirtyLogger ---- */

uint64_t DirtyLogger::mark_translated(uint64_t iova, uint64_t len, uint64_t &last) noexcept
{
  /* Walk the range extent by extent: IOVA-contiguous memory need not be physically contiguous
   * across hugepages. The cursor holds a physical page number here. */
  uint64_t n = 0;
  while (len != 0) {
    const uint64_t pa = xlat->translate(iova);
    uint64_t chunk = len;
    if (pa == AddrTable::kNoTranslation) {
      std::atomic_ref<uint64_t>(untranslated).store(untranslated + 1, std::memory_order_relaxed);
      const uint64_t to_page_end = (uint64_t{1} << page_shift) - (iova & ((uint64_t{1} << page_shift) - 1));
      chunk = std::min(len, to_page_end);
    } else {
      chunk = std::min(len, xlat->extent_left(iova));
      const uint64_t first = pa >> page_shift;
      const uint64_t end = (pa + chunk - 1) >> page_shift;
      for (uint64_t p = first; p <= end; ++p) {
        if (p == last)
          continue;
        guest->mark_dirty(p << page_shift);
        ++n;
      }
      last = end;
    }
    iova += chunk;
    len -= chunk;
  }
  return n;
}

uint64_t DirtyBurst::mark_general(DirtyLogger *l, uint64_t iova, const void *va, uint64_t len,
                                  uint64_t &page) noexcept
{
  return l->mark(iova, va, len, page);
}

RxBufBitmapMiss rx_buf_bitmap_miss(region::Guest &g, uint64_t iova, uint64_t len) noexcept
{
  RxBufBitmapMiss m{{}, 0};
  if (len == 0)
    return m;
  const uint32_t shift = g.page_shift();
  const uint64_t last = (len - 1 > UINT64_MAX - iova) ? UINT64_MAX : iova + (len - 1);
  const uint64_t pages = (last >> shift) - (iova >> shift) + 1;
  m.pages = pages - g.mark_dirty_range(iova, len);
  for (uint32_t i = 0; i < g.n_ranges(); ++i) {
    const region::detail::RangeView r = g.range_view(i);
    if (iova - r.base < r.length) {
      m.hot = r;
      break;
    }
  }
  return m;
}

bool QueueMarkScan::step(DirtyLogger &l, region::Guest &g, size_t budget) noexcept
{
  /* the bursts check the proof against l.fetch_begin: it must be this region's counter */
  if (!g.tracks_fetches() || pages_.empty() || l.fetch_begin != g.fetch_begin_word())
    return false;
  const region::Guest::FetchCounters f = g.fetch_counters();
  if (!f.quiet())
    return false;
  if (gen_ != f.end) {
    gen_ = f.end;
    pos_ = 0;
    unmarked_.clear();
  }
  if (std::atomic_ref<uint64_t>(l.marked_gen).load(std::memory_order_relaxed) == gen_)
    return true;
  for (size_t n = 0; pos_ < pages_.size() && n < budget; ++pos_, ++n) {
    if (g.is_marked(pages_[pos_]))
      continue;
    if (unmarked_.size() == max_unmarked()) {
      /* Too many pages not written since the fetch (a low packet rate): start over next time. */
      pos_ = 0;
      unmarked_.clear();
      return false;
    }
    unmarked_.push_back(pages_[pos_]);
  }
  if (pos_ < pages_.size())
    return false;
  /* A few pages of the set no write reached (small frames leave the tails of 2 KiB buffers
   * alone): marked here, a bounded over-report, so that the proof holds. */
  uint64_t marked = 0;
  for (uint64_t page : unmarked_)
    if (!g.is_marked(page)) {
      g.mark_dirty(page);
      ++marked;
    }
  if (marked != 0)
    std::atomic_ref<uint64_t>(l.ctl_pages).fetch_add(marked, std::memory_order_relaxed);
  unmarked_.clear();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (g.fetch_begin() != gen_) {
    pos_ = 0;
    return false;  /* a clearing read began during the scan */
  }
  std::atomic_ref<uint64_t>(l.marked_gen).store(gen_, std::memory_order_release);
  return true;
}

std::vector<uint64_t> span_pages(const std::vector<std::pair<uint64_t, uint64_t>> &spans, uint32_t page_shift)
{
  std::vector<uint64_t> pages;
  for (const auto &[first, last] : spans)
    for (uint64_t p = first >> page_shift; p <= last >> page_shift; ++p)
      pages.push_back(p << page_shift);
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
  return pages;
}

void DirtyBurst::frame(const rte_mbuf *m) noexcept
{
  if (l_ == nullptr)
    return;
  for (; m != nullptr; m = m->next) {
    const uint64_t off = m->data_off;
    mark(m->buf_iova + off, static_cast<const uint8_t *>(m->buf_addr) + off, m->data_len, buf_);
  }
}

uint64_t log_ring_and_buffers(DirtyLogger &l, uint64_t ring_iova, const void *ring_va, uint64_t ring_bytes,
                              rte_mbuf *const *posted, unsigned n_posted)
{
  uint64_t last = ~0ULL;
  uint64_t n = l.mark(ring_iova, ring_va, ring_bytes, last);
  last = ~0ULL;
  for (unsigned i = 0; i < n_posted; ++i) {
    const rte_mbuf *m = std::atomic_ref<rte_mbuf *const>(posted[i]).load(std::memory_order_relaxed);
    if (m == nullptr)
      continue;
    n += l.mark(m->buf_iova, m->buf_addr, m->buf_len, last);
  }
  std::atomic_ref<uint64_t>(l.ctl_pages).fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace ixgbevf_lm::pmd::mig

namespace ixgbevf_lm::pmd::mig {

uint64_t log_range(DirtyLogger &l, uint64_t iova, const void *va, uint64_t len)
{
  uint64_t last = ~0ULL;
  const uint64_t n = l.mark(iova, va, len, last);
  std::atomic_ref<uint64_t>(l.ctl_pages).fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace ixgbevf_lm::pmd::mig
