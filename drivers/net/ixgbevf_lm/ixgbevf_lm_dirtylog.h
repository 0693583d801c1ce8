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
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ixgbevf_lm/region/guest.h>

struct rte_mbuf;

namespace ixgbevf_lm::pmd::mig {

enum class DirtyLogMode : uint8_t { off, bitmap, touch };
enum class DirtyAddr : uint8_t { iova, pa };
enum class RecoverMode : uint8_t { automatic, app };

const char *dirty_log_mode_name(DirtyLogMode m) noexcept;

/* The migration devargs (parsed by the probe's kvargs handlers through parse_migration_devarg). */
struct MigrationDevargs {
  std::string region_path;                 /* mig_region=<path>, empty: no region */
  DirtyLogMode dirty_log = DirtyLogMode::off;
  bool dirty_log_given = false;            /* dirty_log= appeared (else: bitmap iff a region) */
  DirtyAddr dirty_addr = DirtyAddr::iova;  /* dirty_addr=iova|pa */
  uint32_t poll_us = 100;                  /* mig_poll_us=<1..100000> */
  uint32_t quiesce_timeout_us = 50000;     /* quiesce_timeout_us=<100..2000000>: region/PF-triggered quiesce */
  RecoverMode recover = RecoverMode::automatic;  /* recover=auto|app */

  /* The effective logging mode after all keys were seen. */
  DirtyLogMode effective_mode() const noexcept
  {
    if (dirty_log_given)
      return dirty_log;
    return region_path.empty() ? DirtyLogMode::off : DirtyLogMode::bitmap;
  }
};

/* The devarg keys handled here, for the probe's list of valid keys. */
inline constexpr const char *kMigrationDevargKeys[] = {"mig_region", "dirty_log", "dirty_addr", "mig_poll_us",
                                                       "recover", "quiesce_timeout_us"};
inline constexpr const char *kMigrationParamString =
    "mig_region=<path> dirty_log=off|bitmap|touch dirty_addr=iova|pa mig_poll_us=<1-100000> recover=auto|app "
    "quiesce_timeout_us=<100-2000000>";
/* Returns 0, or -EINVAL with *why naming the key and the refused value. Unknown key: -ENOENT. */
int parse_migration_devarg(std::string_view key, std::string_view value, MigrationDevargs &out, std::string *why);
/* Cross-key checks once every key was parsed (bitmap needs a region). */
int validate_migration_devargs(const MigrationDevargs &a, std::string *why);

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

/* One migration region mapped once per process and shared by every port that names its path. */
class RegionAttachment {
 public:
  static std::shared_ptr<RegionAttachment> acquire(const std::string &path, std::string *why);
  region::Guest &guest() noexcept { return guest_; }
  const std::string &path() const noexcept { return path_; }
  /* Slot claims and releases are serialised across ports. */
  region::Result<region::GuestSlot> claim(std::string_view identity);
  void release(region::GuestSlot &slot);

  RegionAttachment(region::Guest g, std::string path) : guest_(std::move(g)), path_(std::move(path)) {}

 private:
  region::Guest guest_;
  std::string path_;
  std::mutex lock_;
};

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
    if (xlat == nullptr) {
      const uint64_t first = iova >> page_shift;
      const uint64_t end = (iova + len - 1) >> page_shift;
      uint64_t n = 0;
      for (uint64_t p = first; p <= end; ++p) {
        if (p == last)
          continue;
        guest->mark_dirty(p << page_shift);
        ++n;
      }
      last = end;
      return n;
    }
    return mark_translated(iova, len, last);
  }

 private:
  uint64_t mark_translated(uint64_t iova, uint64_t len, uint64_t &last) noexcept;
  static uint64_t touch(uintptr_t a, uint64_t len, uint64_t &last) noexcept
  {
    const uint64_t first = a >> 12;
    const uint64_t end = (a + len - 1) >> 12;
    uint64_t n = 0;
    for (uint64_t p = first; p <= end; ++p) {
      if (p == last)
        continue;
      /* One byte of the page inside [va, va + len): an atomic OR with 0 is a write access (EPT
       * dirty bit, KVM's dirty ring) that leaves the content unchanged even if another thread
       * stores to the same byte at the same time. */
      uintptr_t b = static_cast<uintptr_t>(p << 12);
      if (b < a)
        b = a;
      __atomic_fetch_or(reinterpret_cast<uint8_t *>(b), uint8_t{0}, __ATOMIC_RELAXED);
      ++n;
    }
    last = end;
    return n;
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
