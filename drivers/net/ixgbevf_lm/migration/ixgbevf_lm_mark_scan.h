/* SPDX-License-Identifier: BSD-3-Clause
 * The proof that a queue's pages are all marked for the host's current fetch (control path).
 */
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <ixgbevf_lm/region/guest.h>

#include "ixgbevf_lm_dirtylog.h"

namespace ixgbevf_lm::pmd::mig {

/* Control path: proves, once per host fetch, that every page a queue's device can write (an Rx
 * queue's pool buffers and ring, a Tx queue's ring) is marked, so that the queue's bursts may stop
 * marking until the host's next clearing read (DirtyLogger::marked_gen). At a high packet rate
 * every such page is written soon after each fetch and the bursts then mark nothing; at a low rate
 * the scan does not complete and the bursts mark as before. What it reports beyond the device's
 * writes is bounded: the few pages of the set no write reached (max_unmarked()), once per fetch.
 *
 * The argument: the scan runs while the fetch counters are quiet at generation G (no clearing read
 * in progress, none since the one that ended at G) and publishes G only if no read began during
 * the scan, so every page of the set is marked and stays marked until fetch G + 1 begins. A burst
 * skips marking only if it finds that so after its last DD (queue_proven()): each write it saw
 * then precedes the next fetch, which reports the page. Otherwise it marks them afterwards. */
class QueueMarkScan {
 public:
  explicit QueueMarkScan(std::vector<uint64_t> pages) : pages_(std::move(pages))
  {
    unmarked_.reserve(max_unmarked());
  }
  /* One bounded step (at most `budget` pages tested); true once l carries the current generation.
   * A pass that finds at most max_unmarked() pages unmarked marks them itself (an over-report of
   * pages no write reached, counted in l.ctl_pages) and publishes; more, and the next pass starts
   * over. */
  bool step(DirtyLogger &l, region::Guest &g, size_t budget) noexcept;
  size_t pages() const noexcept { return pages_.size(); }
  /* 1/64 of the set, at least 4, but never more than half of it: a queue that took no traffic
   * since the fetch (most of its pages unmarked) is left alone instead of being marked anew each
   * fetch. */
  size_t max_unmarked() const noexcept
  {
    return std::min(std::max<size_t>(4, pages_.size() / 64), pages_.size() / 2);
  }

 private:
  std::vector<uint64_t> pages_;     /* page addresses, sorted, unique */
  std::vector<uint64_t> unmarked_;  /* pages of pages_[0, pos_) found unmarked in this pass */
  size_t pos_ = 0;                  /* pages_[0, pos_) tested in generation gen_ */
  uint64_t gen_ = ~0ULL;
};

/* The page addresses (page_shift) covering every span [first, last], sorted and unique: the pages a
 * queue's device writes can touch. */
std::vector<uint64_t> span_pages(const std::vector<std::pair<uint64_t, uint64_t>> &spans, uint32_t page_shift);

}  // namespace ixgbevf_lm::pmd::mig
