/* SPDX-License-Identifier: BSD-3-Clause
 * Dirty-page logging: the out-of-line marks and the control-path helpers. The fast path is inline
 * in ixgbevf_lm_dirtylog.h.
 */
#include "ixgbevf_lm_dirtylog.h"

#include <rte_mbuf.h>

namespace ixgbevf_lm::pmd::mig {

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
      n += mark_bitmap(pa, chunk, last);
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

uint64_t log_range(DirtyLogger &l, uint64_t iova, const void *va, uint64_t len)
{
  uint64_t last = ~0ULL;
  const uint64_t n = l.mark(iova, va, len, last);
  std::atomic_ref<uint64_t>(l.ctl_pages).fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace ixgbevf_lm::pmd::mig
