/* SPDX-License-Identifier: BSD-3-Clause
 * The queue mark proof (see ixgbevf_lm_mark_scan.h).
 */
#include "ixgbevf_lm_mark_scan.h"

#include <algorithm>

namespace ixgbevf_lm::pmd::mig {

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

}  // namespace ixgbevf_lm::pmd::mig
