/* SPDX-License-Identifier: BSD-3-Clause
 * dirty_addr=pa: the IOVA-to-physical table the loggers translate through.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ixgbevf_lm::pmd::mig {

/* IOVA (= VA with IOVA as VA) to physical address, built from /proc/self/pagemap for every memseg
 * when logging starts (dirty_addr=pa). Lookup is a binary search over merged contiguous extents. */
class AddrTable {
 public:
  static constexpr uint64_t kNoTranslation = ~0ULL;
  struct Extent {
    uint64_t iova;
    uint64_t len;
    uint64_t pa;
  };
  /* Build from the EAL's memsegs. nullptr and *why when pagemap gives no frame numbers (needs
   * CAP_SYS_ADMIN) or cannot be read. */
  static std::unique_ptr<AddrTable> build_from_memsegs(std::string *why);
  explicit AddrTable(std::vector<Extent> extents);

  uint64_t translate(uint64_t iova) const noexcept
  {
    size_t lo = 0, hi = ext_.size();
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (iova < ext_[mid].iova)
        hi = mid;
      else if (iova - ext_[mid].iova >= ext_[mid].len)
        lo = mid + 1;
      else
        return ext_[mid].pa + (iova - ext_[mid].iova);
    }
    return kNoTranslation;
  }
  /* Bytes left in the extent holding iova (0 when none). */
  uint64_t extent_left(uint64_t iova) const noexcept;
  size_t extents() const noexcept { return ext_.size(); }

 private:
  std::vector<Extent> ext_;
};

}  // namespace ixgbevf_lm::pmd::mig
