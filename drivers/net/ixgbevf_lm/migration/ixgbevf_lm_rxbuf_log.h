/* SPDX-License-Identifier: BSD-3-Clause
 * The Rx buffer logging policies, one per mode, that rx_burst instantiates its receive loop for.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include <ixgbevf_lm/region/guest.h>

#include "ixgbevf_lm_dirtylog.h"

struct rte_mbuf;

namespace ixgbevf_lm::pmd::mig {

/* Rx buffer logging, one policy per mode: rx_burst reads the logger once per burst and runs its
 * receive loop instantiated for the policy, so that the mode test is out of the per-packet path and
 * the policy's few fields stay in registers (the policy object never escapes). Each buf() is called
 * after the descriptor's DD was seen with acquire semantics, with the buffer's mbuf, whose first
 * cache line the loop stores to after DD (only the touch policy uses it); marks(buffers) is the
 * count of pages marked for that many buf() calls, after flush() ended the burst's marks. */

/* dirty_log=off */
struct RxBufNoLog {
  static constexpr bool kActive = false;
  void buf(uint64_t, const void *, uint64_t, const rte_mbuf *) noexcept {}
  void flush() noexcept {}
  uint64_t marks(uint64_t) const noexcept { return 0; }
};

/* The out-of-line part of RxBufBitmapLog: a buffer outside the hot range or across a page
 * boundary. Returns the pages marked and, when the buffer lies in a range, that range (the new hot
 * one; words == nullptr: none). By value, so the caller's fields never leave registers for it. */
struct RxBufBitmapMiss {
  region::detail::RangeView hot;
  uint64_t pages;
};
RxBufBitmapMiss rx_buf_bitmap_miss(region::Guest &g, uint64_t iova, uint64_t len) noexcept;

/* dirty_log=bitmap, addresses as the hypervisor sees them (no translation): the buffer's page in
 * the range that held the previous one costs a subtract, two compares, the shifts and the region's
 * bit test (an atomic OR only when the bit is clear). A buffer across a page boundary or in
 * another range takes the out-of-line path, which also makes that range the hot one.
 * kShift: the region's page shift when known at compile time (4 KiB and 2 MiB pages), so that the
 * page arithmetic uses immediates; 0: read from the region. */
template <uint32_t kShift = 0>
class RxBufBitmapLog {
 public:
  static constexpr bool kActive = true;
  explicit RxBufBitmapLog(region::Guest &g) noexcept : g_(&g), shift_(kShift != 0 ? kShift : g.page_shift())
  {
    set_hot(g.range_view(0));
  }

  void buf(uint64_t iova, const void *, uint64_t len, const rte_mbuf *) noexcept
  {
    const uint32_t shift = kShift != 0 ? kShift : shift_;
    const uint64_t pmask = (uint64_t{1} << shift) - 1;
    const uint64_t off = iova - base_;
    /* In the hot range and the last byte in the first byte's page (range lengths are whole pages,
     * validated on attach). A zero-length write at a page offset > 0 marks its own page: an
     * over-report the device never causes in practice, for one test less per packet. */
    if (__builtin_expect(off < length_ && (((off & pmask) + len - 1) >> shift) == 0, 1)) {
      const uint64_t page = off >> shift;
      uint64_t *const word = words_ + (page >> 6);
      if (!((std::atomic_ref<uint64_t>(*word).load(std::memory_order_relaxed) >> (page & 63)) & 1))
        region::detail::set_bits(word, uint64_t{1} << (page & 63));
      return;
    }
    const RxBufBitmapMiss m = rx_buf_bitmap_miss(*g_, iova, len);
    extra_ += int64_t(m.pages) - 1;
    if (m.hot.words != nullptr)
      set_hot(m.hot);
  }
  void flush() noexcept {}
  /* Every buffer marks one page on the fast path: the count is the caller's number of buffers,
   * corrected by what the out-of-line path marked. */
  uint64_t marks(uint64_t buffers) const noexcept { return uint64_t(int64_t(buffers) + extra_); }

 private:
  void set_hot(const region::detail::RangeView &r) noexcept
  {
    base_ = r.base;
    length_ = r.length;
    words_ = r.words;
  }

  region::Guest *g_;
  uint64_t base_ = 0;
  uint64_t length_ = 0;
  uint64_t *words_ = nullptr;
  uint32_t shift_;
  int64_t extra_ = 0;
};

/* dirty_log=touch: one CPU write access per 4 KiB page of the buffer after the device wrote it, so
 * that KVM's dirty logging (4 KiB granularity whatever backs the guest) sees the page. The receive
 * loop stores into the mbuf's first cache line (rearm data, lengths) after the descriptor's DD for
 * every buffer it passes here, and that store already is such a write access for the header's page:
 * with the usual pool layout a small frame lies in that page and logging it costs no access to the
 * packet data, which an application forwarding by the mbufs' metadata may never read. Any other page
 * is touched: the bytes were written by the device (DD seen) and nobody else holds the mbuf yet, so
 * a plain volatile load and store of the same value is race free and cheaper than the atomic the
 * control path needs for memory it does not own.
 * Only for pools whose buffers follow their headers (every pool but one of pinned external buffers,
 * which takes RxBufGeneralLog): then the buffer's first byte lies in the header's page whenever
 * its last byte does. */
class RxBufTouchLog {
 public:
  static constexpr bool kActive = true;
  static constexpr uint32_t kShift = 12;

  /* header_to_data: from an mbuf's header to the first byte the device writes (the pool's
   * sizeof(rte_mbuf) + private area + headroom, the same for every mbuf of the pool). Not zeroing
   * deferred_ each burst is why the constructor is user-provided. */
  explicit RxBufTouchLog(uint32_t header_to_data) noexcept
      : in_header_page_(header_to_data < kPage ? kPage - header_to_data : 0)
  {
  }

  void buf(uint64_t, const void *va, uint64_t len, const rte_mbuf *header) noexcept
  {
    const uintptr_t h = reinterpret_cast<uintptr_t>(header);
    /* The last byte, header + header_to_data + len - 1, in the header's page, and so the first:
     * the loop's store logged the buffer. From the header alone: the buffer's address is loaded
     * only for the frames that need a touch. */
    if (__builtin_expect((h & (kPage - 1)) + len <= in_header_page_, 1))
      return;
    other_pages(reinterpret_cast<uintptr_t>(va), len, h);
  }
  /* Before the burst returns: the touches deferred by buf(). */
  void flush() noexcept
  {
    for (unsigned i = 0; i < n_deferred_; ++i)
      touch_owned(deferred_[i]);
    n_deferred_ = 0;
  }
  /* Pages logged for that many buf() calls: one each, whether by the loop's store or a touch,
   * corrected for the buffers of several pages or none (a zero-length write in its header's page
   * counts one: an over-count of the statistic only, nothing is touched). */
  uint64_t marks(uint64_t buffers) const noexcept { return uint64_t(int64_t(buffers) + extra_); }

 private:
  /* The line to touch was written by the device from another agent and is rarely in this core's
   * cache: prefetched for writing now, touched at flush() once the rest of the burst ran. */
  __attribute__((noinline)) void other_pages(uintptr_t a, uint64_t len, uintptr_t h) noexcept
  {
    const uintptr_t e = a + len - 1;
    if (len - 1 < kPage && n_deferred_ + 2 <= kDeferred) {
      /* At most a page (every frame of a default-size buffer): two pages at most, of which only the
       * header's can be left out, its first unless that is the header's, its last unless that is
       * its first. */
      if ((a ^ h) >> kShift)
        defer(a);
      if ((e ^ a) >> kShift) {
        defer(e & ~(kPage - 1));
        ++extra_;
      }
      return;
    }
    if (len == 0) {
      --extra_;
      return;
    }
    const uintptr_t first = a >> kShift, last = (a + len - 1) >> kShift, stored = h >> kShift;
    for (uintptr_t p = first; p <= last; ++p) {
      if (p == stored)
        continue;
      const uintptr_t byte = p == first ? a : p << kShift;  /* bytes of this buffer only, never a neighbour's */
      if (n_deferred_ == kDeferred) {
        touch_owned(byte);
        continue;
      }
      defer(byte);
    }
    extra_ += int64_t(last - first);
  }
  void defer(uintptr_t byte) noexcept
  {
    __builtin_prefetch(reinterpret_cast<const void *>(byte), 1, 3);
    deferred_[n_deferred_++] = byte;
  }
  static void touch_owned(uintptr_t a) noexcept
  {
    volatile uint8_t *b = reinterpret_cast<volatile uint8_t *>(a);
    *b = *b;
  }
  static constexpr unsigned kDeferred = 32;
  static constexpr uint64_t kPage = uint64_t{1} << kShift;
  uint64_t in_header_page_;  /* a frame ends in its header's page iff (header & 4095) + len <= this */
  int64_t extra_ = 0;
  unsigned n_deferred_ = 0;
  uintptr_t deferred_[kDeferred];
};

/* dirty_addr=pa (translation) and anything else: DirtyBurst's general path. */
class RxBufGeneralLog {
 public:
  static constexpr bool kActive = true;
  explicit RxBufGeneralLog(DirtyBurst &db) noexcept : db_(db) {}
  void buf(uint64_t iova, const void *va, uint64_t len, const rte_mbuf *) noexcept { db_.buf(iova, va, len); }
  void flush() noexcept {}
  uint64_t marks(uint64_t) const noexcept { return 0; /* counted by the DirtyBurst itself */ }

 private:
  DirtyBurst &db_;
};

}  // namespace ixgbevf_lm::pmd::mig
