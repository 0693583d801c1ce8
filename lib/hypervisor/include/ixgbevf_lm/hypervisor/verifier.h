/* SPDX-License-Identifier: BSD-3-Clause
 * The verification arithmetic of doc/design/migration.md: every page the device wrote must be
 * reported in a fetch that came after its last write.
 *
 * Each round: truth = pages the model wrote since the last round (ground truth), reported = pages
 * the driver's bitmap held (fetched and cleared at the same instant): pending |= truth;
 * pending -= reported. After the final fetch (device quiesced) |pending| is the number of missed
 * pages. Pages are compared at the coarser of the two page sizes: a ground-truth page maps to the
 * region page(s) holding it, a region page to the ground-truth page holding it.
 */
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

namespace ixgbevf_lm::hv {

struct RoundCheck {
  uint64_t truth_pages = 0;     /* distinct pages the device wrote this round (compare units) */
  uint64_t reported_pages = 0;  /* distinct pages the driver reported this round (compare units) */
  uint64_t pending_after = 0;   /* written, not yet reported after the last write */
};

class DirtyVerifier {
 public:
  /* Both sizes powers of two. */
  DirtyVerifier(uint64_t region_page_size, uint64_t truth_page_size);

  /* One round: truth page addresses (any alignment inside a page; truth_page_size units) and
   * reported page addresses (region_page_size units), read at one instant. */
  RoundCheck round(std::span<const uint64_t> truth, std::span<const uint64_t> reported);

  uint64_t compare_page_size() const noexcept { return uint64_t{1} << shift_; }
  uint64_t pending() const noexcept { return pending_.size(); }
  /* Up to max pending page addresses, sorted (for the error message). */
  std::vector<uint64_t> pending_pages(size_t max) const;
  uint64_t total_truth() const noexcept { return total_truth_; }
  uint64_t total_reported() const noexcept { return total_reported_; }
  unsigned rounds() const noexcept { return rounds_; }
  void reset();

 private:
  unsigned shift_;
  std::unordered_set<uint64_t> pending_;
  uint64_t total_truth_ = 0;
  uint64_t total_reported_ = 0;
  unsigned rounds_ = 0;
};

}  // namespace ixgbevf_lm::hv
