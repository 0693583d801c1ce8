/* SPDX-License-Identifier: BSD-3-Clause
 * The out-of-line part of the Rx buffer bitmap policy (see ixgbevf_lm_rxbuf_log.h).
 */
#include "ixgbevf_lm_rxbuf_log.h"


namespace ixgbevf_lm::pmd::mig {

RxBufBitmapMiss rx_buf_bitmap_miss(region::Guest &g, uint64_t iova, uint64_t len) noexcept
{
  RxBufBitmapMiss m{{}, 0};
  if (len == 0)
    return m;
  const uint32_t shift = g.page_shift();
  const uint64_t last = (len - 1 > UINT64_MAX - iova) ? UINT64_MAX : iova + (len - 1);
  const uint64_t pages = (last >> shift) - (iova >> shift) + 1;
  m.pages = pages - g.mark_dirty_range(iova, len);
  if (const region::detail::RangeView *r = g.find_range(iova))
    m.hot = *r;
  return m;
}

}  // namespace ixgbevf_lm::pmd::mig
