/* SPDX-License-Identifier: BSD-3-Clause
 * Dirty-page logging for live migration: what the device DMA-writes is reported to the hypervisor,
 * either as bits in the migration region's bitmap (dirty_log=bitmap) or by a CPU write of the same
 * byte value to each page (dirty_log=touch, for hypervisors that only run KVM's dirty logging).
 *
 * Fast path contract (rx/tx burst):
 *
 *   DirtyBurst db(q->dirty_logger);              // read once per burst; nullptr: logging off
 *   ... after DD was seen (acquire) for a descriptor:
 *   db.buf(buf_iova, buf_va, written_len);       // the bytes the device wrote into its buffer
 *   ... once per burst, for the descriptors it consumed (both parts when the ring wrapped):
 *   db.ring(desc_iova, desc_va, n * sizeof(desc)); // ring write-back
 *   db.finish();                                 // publishes the page count; before gate.leave()
 *
 * (db.frame(first_seg) marks every segment of a chained frame.)
 *
 * rx_burst marks its buffers through a policy chosen once per burst from the logger
 * (RxBufBitmapLog<page shift>, RxBufTouchLog, RxBufGeneralLog; RxBufNoLog with logging off), its receive loop
 * being instantiated per policy, and adds their count to the DirtyBurst with add_marks().
 *
 * Two ways a burst logs less, each argued where it is defined: in bitmap mode, once the control
 * path proved every page a queue's device can write marked in the current fetch generation
 * (QueueMarkScan), a burst marks nothing (queue_proven()); in touch mode the ring write-backs need
 * no touch (DirtyLogger::logs_ring_writebacks()).
 *
 * DirtyBurst caches mode and page size once per burst and skips a page it marked last
 * (one cursor for ring pages, one for buffers) with one compare; the region's mark_dirty does a
 * relaxed load and an atomic OR only when the bit is clear. No allocation, lock, system call or
 * virtual call.
 */
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include <ixgbevf_lm/region/guest.h>

#include "ixgbevf_lm_mig_devargs.h"
#include "ixgbevf_lm_pagemap.h"

struct rte_mbuf;

namespace ixgbevf_lm::pmd::mig {

/* DirtyLogger::marked_gen before any proof. */
inline constexpr uint64_t kNoProof = ~0ULL;

/* The per-queue logging target. A queue's hook pointer holds one while logging is on. */
struct alignas(64) DirtyLogger {
  region::Guest *guest = nullptr;       /* bitmap mode */
  const AddrTable *xlat = nullptr;      /* dirty_addr=pa with IOVA as VA, else nullptr */
  DirtyLogMode mode = DirtyLogMode::off;
  uint32_t page_shift = 12;             /* bitmap: the region's page size; touch: 4 KiB */
  uint64_t pages = 0;                   /* page marks by the queue's lcore (single writer) */
  uint64_t untranslated = 0;            /* pages with no translation (should stay 0) */
  uint64_t ctl_pages = 0;               /* page marks by the control path (atomic adds) */
  /* bitmap mode, host keeping the region's fetch counters (layout 1.1): the fetch generation in
   * which the control path found every page the queue's device can write (an Rx queue's buffers
   * and ring, a Tx queue's ring) marked already (QueueMarkScan); kNoProof: none. While no clearing
   * read has begun since, those bits are still set and the queue's bursts need mark nothing.
   * Control path writes (release), the burst reads. */
  uint64_t marked_gen = kNoProof;
  /* The region's fetch_begin, next to marked_gen so that the bursts' check reads two lines, not
   * three (set with guest when the host keeps the counters, else nullptr). */
  const uint64_t *fetch_begin = nullptr;
  uint64_t bursts_unmarked = 0;         /* bursts that relied on it (the queue's lcore) */

  /* Which receive loop marks the Rx buffers (see the RxBuf*Log policies below). */
  enum class RxBufPolicy : uint8_t { bitmap, touch, general };
  RxBufPolicy rx_buf_policy() const noexcept
  {
    if (mode == DirtyLogMode::touch)
      return RxBufPolicy::touch;
    if (mode == DirtyLogMode::bitmap && xlat == nullptr && guest != nullptr)
      return RxBufPolicy::bitmap;
    return RxBufPolicy::general;
  }

  /* dirty_log=touch needs no touch of a descriptor the device wrote back: the driver rewrites every
   * such descriptor before the device may write it again (the Rx refill posts a new buffer in it,
   * the next transmit a new packet), and that store is the CPU write KVM's dirty logging sees, after
   * the device's. Descriptors still held when the device stops are touched with the whole ring by
   * the quiesce. The bitmap has no such CPU write to rely on, and neither has the Tx head
   * write-back word (logged in every mode). */
  bool logs_ring_writebacks() const noexcept { return mode != DirtyLogMode::touch; }

  /* The queue's lcore (single writer) adds the pages its burst marked. */
  void add_pages(uint64_t n) noexcept
  {
    std::atomic_ref<uint64_t>(pages).store(pages + n, std::memory_order_relaxed);
  }

  uint64_t pages_marked() const noexcept
  {
    return std::atomic_ref<const uint64_t>(pages).load(std::memory_order_relaxed) +
           std::atomic_ref<const uint64_t>(ctl_pages).load(std::memory_order_relaxed);
  }
  uint64_t untranslated_count() const noexcept
  {
    return std::atomic_ref<const uint64_t>(untranslated).load(std::memory_order_relaxed);
  }

  /* Mark [iova, iova + len) (va for touch). Returns the pages marked. `last` is a page-number
   * cursor (~0 = none) updated in place: a page equal to it is skipped. */
  uint64_t mark(uint64_t iova, const void *va, uint64_t len, uint64_t &last) noexcept
  {
    if (len == 0)
      return 0;
    if (mode == DirtyLogMode::touch)
      return touch(reinterpret_cast<uintptr_t>(va), len, last);
    if (xlat == nullptr)
      return mark_bitmap(iova, len, last);
    return mark_translated(iova, len, last);
  }

 private:
  /* The one page loop of every mode: calls fn with the first byte of [a, a + len) in each page
   * (of 1 << shift bytes) but the cursor's, then moves the cursor to the last page. */
  template <class F>
  static uint64_t for_each_new_page(uint64_t a, uint64_t len, uint32_t shift, uint64_t &last, F &&fn) noexcept
  {
    const uint64_t first = a >> shift;
    const uint64_t end = (a + len - 1) >> shift;
    uint64_t n = 0;
    for (uint64_t p = first; p <= end; ++p) {
      if (p == last)
        continue;
      fn(std::max(p << shift, a));
      ++n;
    }
    last = end;
    return n;
  }
  /* Bitmap pages of an address as the host sees it (IOVA, or a translated PA). */
  uint64_t mark_bitmap(uint64_t a, uint64_t len, uint64_t &last) noexcept
  {
    return for_each_new_page(a, len, page_shift, last, [this](uint64_t b) { guest->mark_dirty(b); });
  }
  uint64_t mark_translated(uint64_t iova, uint64_t len, uint64_t &last) noexcept;
  /* One byte of each page inside [va, va + len): an atomic OR with 0 is a write access (EPT dirty
   * bit, KVM's dirty ring) that leaves the content unchanged even if another thread stores to the
   * same byte at the same time. */
  static uint64_t touch(uintptr_t a, uint64_t len, uint64_t &last) noexcept
  {
    return for_each_new_page(a, len, 12, last, [](uint64_t b) {
      __atomic_fetch_or(reinterpret_cast<uint8_t *>(b), uint8_t{0}, __ATOMIC_RELAXED);
    });
  }
};

/* Burst-local logging state, read from the logger once per burst: the mode and page size, and two
 * page cursors (ring, buffers). A range inside the cursor's page costs one compare and a branch; a
 * range in one other page marks it inline (bitmap without translation: the region's relaxed load,
 * an atomic OR only when the bit is clear; touch: one `lock or`); anything else (several pages,
 * dirty_addr=pa) goes through DirtyLogger::mark out of line. The page count is published once. */
class DirtyBurst {
 public:
  explicit DirtyBurst(DirtyLogger *l) noexcept : l_(l)
  {
    if (l != nullptr) {
      const bool touch = l->mode == DirtyLogMode::touch;
      touch_ = touch;
      shift_ = touch ? 12 : l->page_shift;
      guest_ = (!touch && l->xlat == nullptr) ? l->guest : nullptr;
      /* dirty_addr=pa: the cursor holds a physical page, never compared on the fast path. */
      psize_ = (touch || l->xlat == nullptr) ? uint64_t{1} << shift_ : 0;
      mask_ = ~(psize_ - 1);
    }
  }
  ~DirtyBurst() { publish(); }
  /* Publish the page count and let go of the logger. Call before the burst leaves its gate: once
   * it left, the control path may retire the logger. */
  void finish() noexcept
  {
    publish();
    l_ = nullptr;
  }
  DirtyBurst(const DirtyBurst &) = delete;
  DirtyBurst &operator=(const DirtyBurst &) = delete;

  bool active() const noexcept { return l_ != nullptr; }
  /* Fold in the page marks a buffer policy (below) counted in this burst. */
  void add_marks(uint64_t n) noexcept { n_ += n; }
  void ring(uint64_t iova, const void *va, uint64_t len) noexcept
  {
    if (l_ != nullptr)
      mark(iova, va, len, ring_);
  }
  void buf(uint64_t iova, const void *va, uint64_t len) noexcept
  {
    if (l_ != nullptr)
      mark(iova, va, len, buf_);
  }
  /* Every segment of a received frame: the bytes the device wrote into each. */
  void frame(const rte_mbuf *m) noexcept;

 private:
  /* A cursor: the first address of the page marked last (iova, or va for touch), ~0 = none; with
   * dirty_addr=pa the physical page number DirtyLogger::mark keeps (psize_ == 0: never compared). */
  using Cursor = uint64_t;

  void publish() noexcept
  {
    if (n_ != 0) {
      l_->add_pages(n_);
      n_ = 0;
    }
  }
  void mark(uint64_t iova, const void *va, uint64_t len, Cursor &c) noexcept
  {
    const uint64_t a = touch_ ? reinterpret_cast<uintptr_t>(va) : iova;
    const uint64_t e = a + len - 1;
    if (__builtin_expect(((a ^ c) | (e ^ c)) < psize_, 1))
      return;  /* inside the page marked last */
    if ((a ^ e) < psize_ && len != 0) {
      /* One page, not the last one. */
      if (touch_) {
        /* as DirtyLogger::touch: a write access that keeps the content */
        __atomic_fetch_or(reinterpret_cast<uint8_t *>(a), uint8_t{0}, __ATOMIC_RELAXED);
      } else if (guest_ != nullptr) {
        guest_->mark_dirty(a);
      } else {
        mark_slow(iova, va, len, c);
        return;
      }
      c = a & mask_;
      ++n_;
      return;
    }
    mark_slow(iova, va, len, c);
  }
  void mark_slow(uint64_t iova, const void *va, uint64_t len, Cursor &c) noexcept
  {
    uint64_t page = psize_ != 0 ? c >> shift_ : c;
    n_ += mark_general(l_, iova, va, len, page);
    c = psize_ != 0 ? page << shift_ : page;
  }
  /* Out of line: DirtyLogger::mark (takes a local cursor, so the burst object never escapes and
   * its fields stay in registers). */
  static uint64_t mark_general(DirtyLogger *l, uint64_t iova, const void *va, uint64_t len,
                               uint64_t &page) noexcept;

  DirtyLogger *l_;
  region::Guest *guest_ = nullptr;  /* bitmap without translation: single pages marked inline */
  uint64_t psize_ = 0;              /* cursor page size; 0: the cursor is never compared */
  uint64_t mask_ = 0;
  uint32_t shift_ = 0;
  bool touch_ = false;              /* touch: cursors and marks on the VA */
  Cursor ring_ = ~0ULL;
  Cursor buf_ = ~0ULL;
  uint64_t n_ = 0;
};

/* Whether every page the queue's device can write is marked now and stays marked until the host's
 * next clearing read begins: the control path proved it in the generation that fetch_begin still
 * shows (QueueMarkScan). Two loads (a queue with no proof, touch, translation or a 1.0 host, stops
 * at the first).
 * A burst asks at its start, to choose the receive loop without marks, and again after its last
 * DD: a write it saw came before that second check, so if the queue is still proven the write's
 * page is marked at that instant and the next clearing read, which begins after it, reports it;
 * if not, the burst marks what it consumed. The loads need order among themselves only (the DD
 * loads' acquire fences give it): no store of the burst takes part, and the host bumps
 * fetch_begin (a seq_cst RMW) before its read-and-clear touches a word. */
inline bool queue_proven(const DirtyLogger &l) noexcept
{
  const uint64_t gen = __atomic_load_n(&l.marked_gen, __ATOMIC_ACQUIRE);
  return gen != kNoProof && __atomic_load_n(l.fetch_begin, __ATOMIC_ACQUIRE) == gen;
}

/* Control path: mark a whole ring and every buffer posted in it (logging start, quiesce). Entries
 * of `posted` that are nullptr are skipped; each buffer is marked from buf_iova over buf_len.
 * Returns the pages marked. Safe while the queue's lcore runs: marks are atomic, a stale pointer
 * only over-reports. */
uint64_t log_ring_and_buffers(DirtyLogger &l, uint64_t ring_iova, const void *ring_va, uint64_t ring_bytes,
                              rte_mbuf *const *posted, unsigned n_posted);
/* Control path: mark one range (Tx head write-back). */
uint64_t log_range(DirtyLogger &l, uint64_t iova, const void *va, uint64_t len);

}  // namespace ixgbevf_lm::pmd::mig
