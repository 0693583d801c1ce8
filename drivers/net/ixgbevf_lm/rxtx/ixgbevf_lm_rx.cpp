/* SPDX-License-Identifier: BSD-3-Clause
 * Receive: DD test against the little-endian constant, acquire fence, then the rest of the
 * write-back; segments chained up to EOP; the ring refilled in batches from the mempool with one
 * tail write per batch. The scalar loop (rx_loop) and the vector one (rx_loop_vec, SSE4.2, four
 * descriptors at a time, falling back to the scalar loop frame by frame) share the queue state.
 */
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstring>

#include <immintrin.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mbuf_cache.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* L3/L4 bits of pkt_info as ptypes; `inner` selects the RTE_PTYPE_INNER_* values. */
inline uint32_t l3l4_ptype(uint16_t pkt_info, bool inner) {
  uint32_t t;
  if (pkt_info & RXDADV_PKTTYPE_IPV4)
    t = inner ? RTE_PTYPE_INNER_L3_IPV4 : RTE_PTYPE_L3_IPV4;
  else if (pkt_info & RXDADV_PKTTYPE_IPV4_EX)
    t = inner ? RTE_PTYPE_INNER_L3_IPV4_EXT : RTE_PTYPE_L3_IPV4_EXT;
  else if (pkt_info & RXDADV_PKTTYPE_IPV6)
    t = inner ? RTE_PTYPE_INNER_L3_IPV6 : RTE_PTYPE_L3_IPV6;
  else if (pkt_info & RXDADV_PKTTYPE_IPV6_EX)
    t = inner ? RTE_PTYPE_INNER_L3_IPV6_EXT : RTE_PTYPE_L3_IPV6_EXT;
  else
    return 0;
  if (pkt_info & RXDADV_PKTTYPE_IPSEC_ESP)
    return t | RTE_PTYPE_TUNNEL_ESP;
  if (pkt_info & RXDADV_PKTTYPE_TCP)
    t |= inner ? RTE_PTYPE_INNER_L4_TCP : RTE_PTYPE_L4_TCP;
  else if (pkt_info & RXDADV_PKTTYPE_UDP)
    t |= inner ? RTE_PTYPE_INNER_L4_UDP : RTE_PTYPE_L4_UDP;
  else if (pkt_info & RXDADV_PKTTYPE_SCTP)
    t |= inner ? RTE_PTYPE_INNER_L4_SCTP : RTE_PTYPE_L4_SCTP;
  return t;
}

/* X550 tunnels (tunnel bit in hdr_info): an IPv4 outer header, VXLAN/GENEVE over UDP or NVGRE,
 * and the L3/L4 bits describe the inner packet. */
inline uint32_t ptype_of(uint16_t pkt_info, uint16_t hdr_info, bool tunnel) {
  if (tunnel && (hdr_info & RXDADV_HDRINFO_TUNNEL)) {
    uint32_t t = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4_EXT_UNKNOWN | RTE_PTYPE_INNER_L2_ETHER;
    t |= (pkt_info & RXDADV_PKTTYPE_VXLAN) ? (RTE_PTYPE_L4_UDP | RTE_PTYPE_TUNNEL_VXLAN) : RTE_PTYPE_TUNNEL_GRE;
    return t | l3l4_ptype(pkt_info, true);
  }
  return RTE_PTYPE_L2_ETHER | l3l4_ptype(pkt_info, false);
}

inline uint64_t flags_of(uint32_t st, uint16_t pkt_info, bool tunnel) {
  uint64_t f = 0;
  if (st & RXD_STAT_VP)
    f |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  if (pkt_info & RXDADV_RSSTYPE_MASK)
    f |= RTE_MBUF_F_RX_RSS_HASH;
  if (st & RXD_STAT_IPCS)
    f |= (st & RXDADV_ERR_IPE) ? RTE_MBUF_F_RX_IP_CKSUM_BAD : RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  if (st & RXD_STAT_L4CS)
    f |= (st & RXDADV_ERR_TCPE) ? RTE_MBUF_F_RX_L4_CKSUM_BAD : RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  /* X550 only: on 82599/X540 the same status bit is CRCV */
  if (tunnel && (st & RXD_STAT_OUTERIPCS) && (st & RXDADV_ERR_OUTERIPER))
    f |= RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD;
  /* the inline IPsec engine matched an SA: decrypted and checked, or any IPsec error code */
  if (st & RXD_STAT_SECP)
    f |= (st & RXDADV_IPSEC_ERROR_MASK) ? RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED
                                        : RTE_MBUF_F_RX_SEC_OFFLOAD;
  return f;
}

/* Post n buffers in sw_ring[from, from + n) and their descriptors: the mbufs from src (sw_ring
 * itself, or the lcore's mempool cache), each descriptor the buffer's address after the headroom
 * and header address 0 (which clears DD) in one 16-byte store. */
inline void post_buffers(RxQueue &q, uint16_t from, void *const *src, uint16_t n) {
  rte_mbuf **const sw = &q.sw_ring[from];
  auto *d = reinterpret_cast<__m128i *>(const_cast<RxDesc *>(&q.ring[from]));
  const __m128i headroom = _mm_cvtsi64_si128(RTE_PKTMBUF_HEADROOM);
  const auto post = [&](unsigned k) __attribute__((always_inline)) {
    rte_mbuf *const m = static_cast<rte_mbuf *>(src[k]);
    sw[k] = m;
    const __m128i iova = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(&m->buf_iova));
    _mm_store_si128(d + k, _mm_add_epi64(iova, headroom));
  };
  unsigned k = 0;
  for (; k + 4 <= n; k += 4) {
    post(k);
    post(k + 1);
    post(k + 2);
    post(k + 3);
  }
  for (; k < n; k++)
    post(k);
}

/* Fill sw_ring[at, at + n) (no wrap) and post them: from the lcore's mempool cache when it holds n
 * (cache_take), else through rte_mempool_get_bulk. False: the pool had too few. */
inline bool take_and_post(RxQueue &q, rte_mempool_cache *c, uint16_t at, uint16_t n) {
  if (void *const *objs = cache_take(q.mp, c, n); likely(objs != nullptr)) {
    post_buffers(q, at, objs, n);
    return true;
  }
  void **slots = reinterpret_cast<void **>(&q.sw_ring[at]);
  if (unlikely(rte_mempool_get_bulk(q.mp, slots, n) != 0)) {
    if (q.mp->cache_size != 0)
      std::fill_n(slots, n, nullptr);  /* a failed take may leave cache objects in the table */
    return false;
  }
  post_buffers(q, at, slots, n);
  return true;
}

/* Give the nb_hold consumed slots after rdt back to the device: the mbufs taken in bulk (two takes
 * when the slots wrap), one tail write (a secondary process rings through the shared doorbell
 * word). */
template <bool kSecondary = false>
inline void refill(RxQueue &q) {
  const uint16_t n = q.nb_hold;
  const uint16_t start = uint16_t(q.rdt + 1 == q.nb_desc ? 0 : q.rdt + 1);
  const uint16_t first = std::min<uint16_t>(n, uint16_t(q.nb_desc - start));
  rte_mempool_cache *const c = lcore_cache(q.mp);
  if (unlikely(!take_and_post(q, c, start, first))) {
    q.mbuf_alloc_failed += n;
    return;
  }
  uint16_t posted = n;
  if (n > first && unlikely(!take_and_post(q, c, 0, uint16_t(n - first)))) {
    q.mbuf_alloc_failed += n - first;
    posted = first;
  }
  const uint32_t end = uint32_t(start) + posted;  /* one past the last slot posted */
  q.rdt = uint16_t((end + q.nb_desc - 1) % q.nb_desc);
  q.nb_hold = uint16_t(n - posted);
  rte_io_wmb();
  if constexpr (kSecondary)
    ring_secondary(q.port_id, q.tail.off, q.shared_tail, q.rdt);
  else
    q.tail.ring(q.rdt);
}

/* refill() of the primary's bursts: when the nb_hold slots after rdt do not wrap and the lcore's
 * mempool cache holds that many, they are taken from its top, each pointer goes into its slot and
 * each descriptor gets its buffer in one 16-byte store, in one pass; anything else through refill(). */
__attribute__((noinline)) void refill_out(RxQueue &q) { refill(q); }

__rte_always_inline void refill_fast(RxQueue &q) {
  const unsigned n = q.nb_hold, nb_desc = q.nb_desc;
  const unsigned start = q.rdt + 1u == nb_desc ? 0 : q.rdt + 1u;
  rte_mempool *const mp = q.mp;
  rte_mempool_cache *const c = lcore_cache(mp);
  if (unlikely(start + n > nb_desc || c == nullptr || c->len < n)) {
    refill_out(q);
    return;
  }
  c->len -= n;
  void *const *const objs = &c->objs[c->len];
  RTE_MEMPOOL_CACHE_STAT_ADD(c, get_success_bulk, 1);
  RTE_MEMPOOL_CACHE_STAT_ADD(c, get_success_objs, n);
  RTE_MEMPOOL_CHECK_COOKIES(mp, objs, n, 1);
  /* each pointer into its slot and its buffer into its descriptor, eight a turn */
  rte_mbuf **sw = &q.sw_ring[start];
  auto *d = reinterpret_cast<__m128i *>(const_cast<RxDesc *>(&q.ring[start]));
  const __m128i headroom = _mm_cvtsi64_si128(RTE_PKTMBUF_HEADROOM);
  const auto post = [&](void *const *o, rte_mbuf **to_sw, __m128i *to) __attribute__((always_inline)) {
    auto *const m = static_cast<rte_mbuf *>(*o);
    *to_sw = m;
    _mm_store_si128(to, _mm_add_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(&m->buf_iova)), headroom));
  };
  void *const *o = objs;
  void *const *const end8 = objs + (n & ~7u);
  void *const *const end = objs + n;
  for (; o != end8; o += 8, sw += 8, d += 8) {
    post(o, sw, d);
    post(o + 1, sw + 1, d + 1);
    post(o + 2, sw + 2, d + 2);
    post(o + 3, sw + 3, d + 3);
    post(o + 4, sw + 4, d + 4);
    post(o + 5, sw + 5, d + 5);
    post(o + 6, sw + 6, d + 6);
    post(o + 7, sw + 7, d + 7);
  }
  for (; o != end; o++, sw++, d++)
    post(o, sw, d);
  const unsigned rdt = start + n - 1;
  q.rdt = uint16_t(rdt);
  q.nb_hold = 0;
  rte_io_wmb();
  q.tail.ring(rdt);
}

/* The primary's refill: refill_fast() from a pool with a per-lcore cache, refill() as it is
 * without one (nothing to take from a cache: no detour). */
__rte_always_inline void refill_primary(RxQueue &q) {
  if (likely(q.mp->cache_size != 0))
    refill_fast(q);
  else
    refill(q);
}

/* Log the ring pages of the n descriptors the burst consumed from `from` (the device wrote them
 * back): one range, or two when the burst wrapped past the end of the ring. */
inline void log_consumed(const RxQueue &q, mig::DirtyBurst &db, uint16_t from, uint16_t n) {
  const uint16_t to_end = uint16_t(q.nb_desc - from);
  const uint16_t a = n < to_end ? n : to_end;
  db.ring(q.ring_iova + uint64_t(from) * kDescSize, const_cast<RxDesc *>(&q.ring[from]), uint64_t(a) * kDescSize);
  if (n > a)
    db.ring(q.ring_iova, const_cast<RxDesc *>(&q.ring[0]), uint64_t(n - a) * kDescSize);
}

/* A descriptor the device should not have written back so (rx_loop): its frame is dropped with
 * the rest of it up to its EOP, counted by reason and reported at most once per interval. Its
 * mbufs go back to the pool: `first` (the frame so far, may be nullptr) and m. */
__attribute__((noinline, cold)) void rx_bad_writeback(RxQueue &q, rte_mbuf *first, rte_mbuf *m, uint32_t st,
                                                      uint16_t len) {
  const char *why = nullptr;
  if (!q.discard) {  /* the rest of a frame already counted is dropped silently */
    if (st & kRxFrameErrors) {
      q.bad_wb_mac_error++;
      why = "MAC error bits";
    } else if (len == 0 || len > q.buf_size) {
      q.bad_wb_length++;
      why = "length 0 or beyond the buffer";
    } else {
      q.bad_wb_no_eop++;
      why = "no EOP within the largest frame";
    }
  }
  if (first)
    rte_pktmbuf_free(first);  /* the chain; m is not linked to it */
  rte_pktmbuf_free_seg(m);
  q.discard = !(st & RXD_STAT_EOP);
  if (!why)
    return;
  q.bad_wb_unreported++;
  const uint64_t now = rte_get_timer_cycles();
  if (now < q.bad_wb_log_after)
    return;
  IXGBEVF_LM_RX_LOG(WARNING,
                    "port %u rxq %u: %" PRIu64 " bad descriptor write-back(s) dropped (last: %s; status/error "
                    "0x%08x, length %u, buffer %u); xstats rx_bad_wb_*",
                    q.port_id, q.queue_id, q.bad_wb_unreported, why, st, len, q.buf_size);
  q.bad_wb_unreported = 0;
  q.bad_wb_log_after = now + rte_get_timer_hz() * kBadWbLogIntervalMs / 1000;
}

}  // namespace

int rx_refill_all(RxQueue &q) noexcept {
  rxq_free_mbufs(q);
  if (rte_mempool_get_bulk(q.mp, reinterpret_cast<void **>(q.sw_ring), q.nb_desc) != 0)
    return -ENOMEM;
  for (uint16_t i = 0; i < q.nb_desc; i++) {
    q.ring[i].read.hdr_addr = 0;
    q.ring[i].read.pkt_addr = rte_cpu_to_le_64(rte_mbuf_data_iova_default(q.sw_ring[i]));
  }
  q.rx_tail = 0;
  q.nb_hold = 0;
  q.rdt = uint16_t(q.nb_desc - 1);  /* one slot stays with the driver: head == tail means empty */
  return 0;
}

namespace {

/* The receive loop, instantiated once per buffer-logging policy (mig::RxBuf*Log): with logging off
 * it carries no logging code at all. Leaves the queue's software state updated. */
template <class BufLog>
__rte_always_inline uint16_t rx_loop(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, BufLog &log) {
  uint16_t idx = q.rx_tail;
  uint16_t nb_rx = 0;
  uint16_t hold = q.nb_hold;
  rte_mbuf *first = q.pkt_first_seg;
  rte_mbuf *last = q.pkt_last_seg;
  uint64_t bytes = 0;
  const uint64_t init = q.mbuf_initializer;
  const bool tunnel = q.tunnel;
  const uint32_t buf_size = q.buf_size;

  while (nb_rx < nb_pkts && hold < q.nb_desc - 1) {
    volatile RxDesc *d = &q.ring[idx];
    /* An acquire load of the word the device writes last (a plain load on x86): the rest of the
     * descriptor is read after it. One load per descriptor instead of a fence after a plain one,
     * which is what the C++ model (and ThreadSanitizer, with the model as the device) can see. */
    uint32_t st = __atomic_load_n(&d->wb.status_error, __ATOMIC_ACQUIRE);
    if (!(st & rte_cpu_to_le_32(RXD_STAT_DD)))
      break;
    st = rte_le_to_cpu_32(st);
    uint16_t len = rte_le_to_cpu_16(d->wb.length);
    uint16_t pkt_info = rte_le_to_cpu_16(d->wb.pkt_info);
    uint16_t hdr_info = rte_le_to_cpu_16(d->wb.hdr_info);
    uint32_t rss = rte_le_to_cpu_32(d->wb.rss);
    uint16_t vlan = rte_le_to_cpu_16(d->wb.vlan);

    rte_mbuf *m = q.sw_ring[idx];
    q.sw_ring[idx] = nullptr;
    hold++;
    if constexpr (BufLog::kActive) {
      /* The bytes the device wrote: from the address programmed in the descriptor (rx_refill:
       * buf_iova + headroom) over the written length, never past the buffer whatever a bad
       * write-back claims. The descriptors' write-back: per burst. */
      log.buf(m->buf_iova + RTE_PKTMBUF_HEADROOM, static_cast<uint8_t *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM,
              uint16_t(len > buf_size ? buf_size : len), m);
    }
    idx = uint16_t(idx + 1 == q.nb_desc ? 0 : idx + 1);
    rte_prefetch0(q.sw_ring[idx]);

    std::memcpy(&m->rearm_data, &init, sizeof init);
    /* 1..buf_size bytes, no MAC error, at most max_segs buffers: else the frame is dropped */
    if (unlikely(uint32_t(len) - 1u >= buf_size || (st & kRxFrameErrors) || q.discard ||
                 (first && first->nb_segs >= q.max_segs))) {
      rx_bad_writeback(q, first, m, st, len);
      first = last = nullptr;
      continue;
    }
    m->data_len = len;
    m->next = nullptr;
    if (!first) {
      first = m;
      m->pkt_len = len;
    } else {
      first->pkt_len += len;
      first->nb_segs++;
      last->next = m;
    }
    last = m;
    if (!(st & RXD_STAT_EOP))
      continue;

    first->ol_flags = flags_of(st, pkt_info, tunnel);
    first->packet_type = ptype_of(pkt_info, hdr_info, tunnel);
    first->hash.rss = rss;
    first->vlan_tci = (st & RXD_STAT_VP) ? vlan : 0;
    bytes += first->pkt_len;
    pkts[nb_rx++] = first;
    first = last = nullptr;
  }
  q.rx_tail = idx;
  q.nb_hold = hold;
  q.pkt_first_seg = first;
  q.pkt_last_seg = last;
  q.packets += nb_rx;
  q.bytes += bytes;
  return nb_rx;
}

/* The write-back bits the flags, packet type and VLAN of a frame depend on (flags_of, ptype_of,
 * the VP test): all of pkt_info and the tunnel bit of hdr_info (dword 0), the status and error bits
 * flags_of reads with DD and EOP (dword 2). RSS hash, length and VLAN tag are copied, not
 * classified: two descriptors equal under this mask get the same ol_flags and packet_type. */
constexpr uint32_t kVecKeyInfo = 0xFFFFu | (uint32_t(RXDADV_HDRINFO_TUNNEL) << 16);
constexpr uint32_t kVecKeyStatus = RXD_STAT_DD | RXD_STAT_EOP | RXD_STAT_VP | RXD_STAT_L4CS | RXD_STAT_IPCS |
                                   RXD_STAT_OUTERIPCS | RXD_STAT_SECP | RXDADV_ERR_IPE | RXDADV_ERR_TCPE |
                                   RXDADV_ERR_OUTERIPER | RXDADV_IPSEC_ERROR_MASK | kRxFrameErrors;
static_assert(RXDADV_IPSEC_ERROR_MASK == (RXDADV_ERR_PE | RXDADV_ERR_OSE), "flags_of reads no other error bit");

inline __m128i vec_key_mask() { return _mm_set_epi32(0, int(kVecKeyStatus), 0, int(kVecKeyInfo)); }

/* A whole descriptor, read after its DD was seen and the acquire fence (as the scalar loop reads
 * its fields). */
inline __m128i load_desc(const volatile RxDesc *d) {
  return _mm_load_si128(const_cast<const __m128i *>(reinterpret_cast<const volatile __m128i *>(d)));
}

/* packet_type from the memo (zeros here); pkt_len and data_len <- length; vlan_tci <- vlan (VP) or
 * zeros; hash.rss <- rss */
inline __m128i vec_shuffle(bool vlan) {
  const char v = vlan ? 14 : -1, v1 = vlan ? 15 : -1;
  return _mm_setr_epi8(-1, -1, -1, -1, 12, 13, -1, -1, 12, 13, v, v1, 4, 5, 6, 7);
}

/* Teach the memo what the scalar loop wrote into m, a single-buffer frame from descriptor d. */
inline void memo_learn(RxQueue &q, const volatile RxDesc *d, const rte_mbuf *m) {
  RxVecMemo &v = q.vmemo;
  _mm_store_si128(reinterpret_cast<__m128i *>(v.key), _mm_and_si128(load_desc(d), vec_key_mask()));
  v.rearm[0] = q.mbuf_initializer;
  v.rearm[1] = m->ol_flags;
  v.ptype[0] = m->packet_type;
  v.ptype[1] = 0;
  const bool vp = (rte_le_to_cpu_32(d->wb.status_error) & RXD_STAT_VP) != 0;
  _mm_store_si128(reinterpret_cast<__m128i *>(v.shuf), vec_shuffle(vp));
}

/* The vector loop's key mask with its length test (RxVecMemo::kmask): the test rides on the key
 * test, length - 1 (the -1 added to the length word, where the key is 0) with no bit at or above
 * the largest power of two not above buf_size: a length of 1 to that power. Any other length (0,
 * beyond the buffer, or between that power and a buffer size that is none) goes to the scalar loop,
 * which tests it exactly (and delivers it when it fits). */
__attribute__((noinline, cold)) void memo_kmask(RxQueue &q) {
  const uint32_t bs = q.buf_size;
  uint32_t p2 = 0x8000;  /* the length field's top bit: never a valid length */
  while (p2 > bs)
    p2 >>= 1;
  const uint16_t above = p2 != 0 ? uint16_t(~(p2 - 1)) : 0xFFFF;
  const __m128i m = _mm_or_si128(vec_key_mask(), _mm_set_epi16(0, int16_t(above), 0, 0, 0, 0, 0, 0));
  _mm_store_si128(reinterpret_cast<__m128i *>(q.vmemo.kmask), m);
  q.vmemo.kmask_for = bs;
}

/* Out of line, so that the vector loop's locals never have their address taken: the scalar loop
 * for up to nb_pkts frames from the queue's state. */
template <class BufLog>
__attribute__((noinline)) uint16_t rx_loop_out(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, BufLog &log) {
  return rx_loop(q, pkts, nb_pkts, log);
}

/* The vector receive loop: groups of four descriptors whose DD is set and which the memo knows
 * (the same classification bits as the frame the scalar loop classified last), each written into
 * its mbuf with two 16-byte stores: rearm data and ol_flags from the memo, then packet type, lengths,
 * VLAN and RSS hash shuffled out of the descriptor. Anything else (a chained frame, another
 * classification, a group that would wrap the ring or pass the hold limit) takes one frame through
 * rx_loop, which teaches the memo; fewer than four left or ready: rx_loop for the rest. The DD
 * load of a group's last descriptor (acquire) comes before its descriptors are read: the device
 * writes back in ring order, so the three before it were written back too, and DD is in the key
 * every one of them must match (one the device did not write, as a device out of order would
 * leave it, goes to rx_loop, which tests its DD alone). Buffers are logged through the same
 * policy, in the same order. */
template <class BufLog>
__rte_always_inline uint16_t rx_loop_vec(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, BufLog &log) {
  const __m128i zero = _mm_setzero_si128();
  const auto mload = [](const uint64_t *p) { return _mm_load_si128(reinterpret_cast<const __m128i *>(p)); };
  /* the key test with the length test on it (memo_kmask) */
  if (unlikely(q.vmemo.kmask_for != q.buf_size))
    memo_kmask(q);
  const __m128i kmask = mload(q.vmemo.kmask);
  const __m128i len_adj = _mm_set_epi16(0, -1, 0, 0, 0, 0, 0, 0);
  __m128i key = mload(q.vmemo.key), rearm = mload(q.vmemo.rearm), ptype = mload(q.vmemo.ptype),
          shuf = mload(q.vmemo.shuf);
  __m128i len_sum = zero;
  /* 32-bit locals: 16-bit ones cost a zero extension at every use */
  unsigned idx = q.rx_tail;
  unsigned hold = q.nb_hold;
  unsigned nb_rx = 0, nb_vec = 0;
  /* a frame in assembly, or the rest of a dropped one: the scalar loop's */
  bool chain = q.pkt_first_seg != nullptr || q.discard;
  bool rest = false;  /* the burst ends with the scalar loop */
  const unsigned nb_desc = q.nb_desc;
  const unsigned max_hold = nb_desc - 1;
  volatile RxDesc *const ring = q.ring;
  rte_mbuf **const sw_ring = q.sw_ring;
  constexpr uint32_t kDD = rte_cpu_to_le_32(RXD_STAT_DD);
  /* one frame: its mbuf's rearm data and flags from the memo, the rest from its descriptor */
  const auto deliver = [&](rte_mbuf *m, __m128i desc) __attribute__((always_inline)) {
    const __m128i f = _mm_or_si128(_mm_shuffle_epi8(desc, shuf), ptype);
    if constexpr (BufLog::kActive)
      log.buf(m->buf_iova + RTE_PKTMBUF_HEADROOM, static_cast<uint8_t *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM,
              uint16_t(_mm_extract_epi16(f, 4)), m);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(&m->rearm_data), rearm);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(&m->rx_descriptor_fields1), f);
    return f;
  };

  for (;;) {
    const unsigned left = nb_pkts - nb_rx;
    if (left < 4) {
      rest = left != 0;
      break;
    }
    /* groups that fit the burst, the hold limit and the ring before its end */
    const unsigned groups = chain ? 0 : std::min({left, max_hold - hold, nb_desc - idx}) / 4;
    enum { kBudget, kMiss, kNone, kPartial } why = groups == 0 ? kMiss : kBudget;
    volatile RxDesc *d = &ring[idx];
    rte_mbuf **sw = &sw_ring[idx];
    rte_mbuf **const sw_end = sw + 4 * groups;
    rte_mbuf **out = &pkts[nb_rx];
    for (; sw != sw_end; d += 4, sw += 4, out += 4) {
      /* one acquire load, of the group's last status word: the device writes back in ring
       * order, so with it the other three were written before (and the key test checks their DD) */
      if (unlikely(!(__atomic_load_n(&d[3].wb.status_error, __ATOMIC_ACQUIRE) & kDD))) {
        /* fewer than four ready: the scalar loop takes them */
        why = (__atomic_load_n(&d[0].wb.status_error, __ATOMIC_ACQUIRE) & kDD) ? kPartial : kNone;
        break;
      }
      const __m128i d0 = load_desc(d), d1 = load_desc(d + 1), d2 = load_desc(d + 2), d3 = load_desc(d + 3);
      /* the key is stored masked: (d ^ key) & mask == 0 iff d & mask == key; the length word as
       * memo_kmask says */
      const auto t = [&](__m128i x) __attribute__((always_inline)) {
        return _mm_add_epi16(_mm_xor_si128(x, key), len_adj);
      };
      const __m128i x = _mm_or_si128(_mm_or_si128(t(d0), t(d1)), _mm_or_si128(t(d2), t(d3)));
      if (unlikely(!_mm_testz_si128(x, kmask))) {
        why = kMiss;  /* another classification, or a length the scalar loop tests */
        break;
      }
      const __m128i p01 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(sw));
      const __m128i p23 = _mm_loadu_si128(reinterpret_cast<const __m128i *>(sw + 2));
      _mm_storeu_si128(reinterpret_cast<__m128i *>(out), p01);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 2), p23);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(sw), zero);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(sw + 2), zero);
      const __m128i f0 = deliver(reinterpret_cast<rte_mbuf *>(_mm_cvtsi128_si64(p01)), d0);
      const __m128i f1 = deliver(reinterpret_cast<rte_mbuf *>(_mm_extract_epi64(p01, 1)), d1);
      const __m128i f2 = deliver(reinterpret_cast<rte_mbuf *>(_mm_cvtsi128_si64(p23)), d2);
      const __m128i f3 = deliver(reinterpret_cast<rte_mbuf *>(_mm_extract_epi64(p23, 1)), d3);
      len_sum = _mm_add_epi32(len_sum, _mm_add_epi32(_mm_add_epi32(f0, f1), _mm_add_epi32(f2, f3)));
    }
    const unsigned done = unsigned(sw - &sw_ring[idx]);
    idx += done;
    hold += done;
    nb_rx += done;
    nb_vec += done;
    if (idx == nb_desc)
      idx = 0;
    if (why == kBudget)
      continue;
    if (why == kNone)
      break;
    if (why == kPartial) {
      rest = true;
      break;
    }
    /* one frame through the scalar loop; a single-buffer one teaches the memo */
    q.rx_tail = uint16_t(idx);
    q.nb_hold = uint16_t(hold);
    const unsigned at = idx;
    const uint16_t got = rx_loop_out(q, pkts + nb_rx, 1, log);
    idx = q.rx_tail;
    hold = q.nb_hold;
    chain = q.pkt_first_seg != nullptr || q.discard;
    if (got == 0)
      break;
    const rte_mbuf *m = pkts[nb_rx++];
    if (m->nb_segs == 1 && idx == (at + 1 == nb_desc ? 0 : at + 1)) {
      memo_learn(q, &q.ring[at], m);
      key = mload(q.vmemo.key);
      rearm = mload(q.vmemo.rearm);
      ptype = mload(q.vmemo.ptype);
      shuf = mload(q.vmemo.shuf);
    }
  }
  q.rx_tail = uint16_t(idx);
  q.nb_hold = uint16_t(hold);
  q.packets += nb_vec;
  q.bytes += uint32_t(_mm_extract_epi32(len_sum, 1));
  if (rest)
    nb_rx += rx_loop_out(q, pkts + nb_rx, uint16_t(nb_pkts - nb_rx), log);
  return uint16_t(nb_rx);
}

/* The receive loop of the chosen path. */
template <bool kVec, class BufLog>
__rte_always_inline uint16_t rx_recv(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, BufLog &log) {
  if constexpr (kVec)
    return rx_loop_vec(q, pkts, nb_pkts, log);
  else
    return rx_loop(q, pkts, nb_pkts, log);
}

/* The end of a logged receive burst: the ring pages of the descriptors consumed since `start`
 * (hold0 held before) when the mode logs them, then the refill. */
inline void rx_logged_tail(RxQueue &q, mig::DirtyBurst &db, uint16_t start, uint16_t hold0, bool log_ring) {
  const uint16_t consumed = uint16_t(q.nb_hold - hold0);
  if (log_ring && consumed != 0)
    log_consumed(q, db, start, consumed);
  if (q.nb_hold >= q.rx_free_thresh)
    refill_primary(q);
}

/* A receive burst while logging is on: buffers through the mode's policy, then the ring pages of
 * the consumed descriptors, then the refill; the page count is published before the gate opens. */
template <bool kVec, class BufLog>
__rte_always_inline uint16_t rx_logged(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyBurst &db, BufLog &&log,
                                       bool log_ring) {
  const uint16_t start = q.rx_tail;
  const uint16_t hold0 = q.nb_hold;
  const uint16_t nb_rx = rx_recv<kVec>(q, pkts, nb_pkts, log);
  log.flush();
  db.add_marks(log.marks(uint16_t(q.nb_hold - hold0)));
  rx_logged_tail(q, db, start, hold0, log_ring);
  return nb_rx;
}

/* Mark every segment of the frames a burst returned and of the frame still being assembled, after
 * the fact, and the ring pages of the `consumed` descriptors before rx_tail: a burst that relied
 * on the proof of a marked queue found it gone. */
template <uint32_t kShift>
__attribute__((noinline, cold)) void rx_mark_late(const RxQueue &q, rte_mbuf *const *pkts, uint16_t nb_rx,
                                                  mig::DirtyLogger &l, uint16_t consumed) {
  mig::DirtyBurst db(&l);
  mig::RxBufBitmapLog<kShift> log(*l.guest);
  unsigned bufs = 0;
  const auto chain = [&](const rte_mbuf *m) {
    for (; m != nullptr; m = m->next, ++bufs)
      log.buf(m->buf_iova + m->data_off, static_cast<const uint8_t *>(m->buf_addr) + m->data_off, m->data_len,
              m);
  };
  for (uint16_t i = 0; i < nb_rx; i++)
    chain(pkts[i]);
  chain(q.pkt_first_seg);
  log.flush();
  db.add_marks(log.marks(bufs));
  log_consumed(q, db, uint16_t((uint32_t(q.rx_tail) + q.nb_desc - consumed) % q.nb_desc), consumed);
  db.finish();
}

/* The end of a burst that ran without marks, its queue proven marked at its start
 * (mig::queue_proven), and consumed descriptors (hold0 held before): unless the queue is still
 * proven after its last DD, what it consumed is marked now. */
__attribute__((noinline)) void rx_check_proof(const RxQueue &q, rte_mbuf *const *pkts, uint16_t nb_rx,
                                              mig::DirtyLogger &l, uint16_t hold0) {
  if (likely(mig::queue_proven(l))) {
    l.bursts_unmarked++;
    return;
  }
  const uint16_t consumed = uint16_t(q.nb_hold - hold0);
  switch (l.guest->page_shift()) {
  case 12:
    rx_mark_late<12>(q, pkts, nb_rx, l, consumed);
    break;
  case 21:
    rx_mark_late<21>(q, pkts, nb_rx, l, consumed);
    break;
  default:
    rx_mark_late<0>(q, pkts, nb_rx, l, consumed);
    break;
  }
}

/* bitmap mode, the queue not proven marked: every buffer and the ring pages marked as they are
 * consumed. */
template <bool kVec, uint32_t kShift>
uint16_t rx_bitmap(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  mig::DirtyBurst db(&l);
  const uint16_t nb_rx = rx_logged<kVec>(q, pkts, nb_pkts, db, mig::RxBufBitmapLog<kShift>(*l.guest), true);
  db.finish();
  return nb_rx;
}

/* touch mode, buffers after their headers: no ring pages (DirtyLogger::logs_ring_writebacks), so no
 * DirtyBurst; the policy's count goes to the logger directly. */
template <bool kVec>
inline uint16_t rx_touch(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  const uint16_t hold0 = q.nb_hold;
  mig::RxBufTouchLog log(q.header_to_data);
  const uint16_t nb_rx = rx_recv<kVec>(q, pkts, nb_pkts, log);
  log.flush();
  if (const uint64_t n = log.marks(uint16_t(q.nb_hold - hold0)); n != 0)
    l.add_pages(n);
  if (q.nb_hold >= q.rx_free_thresh)
    refill_primary(q);
  return nb_rx;
}

/* Any other logging: DirtyBurst's general path for the buffers. */
template <bool kVec>
inline uint16_t rx_general(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  mig::DirtyBurst db(&l);
  const uint16_t nb_rx = rx_logged<kVec>(q, pkts, nb_pkts, db, mig::RxBufGeneralLog(db), l.logs_ring_writebacks());
  db.finish();
  return nb_rx;
}

/* A receive burst while logging is on and the queue not proven marked, through the logger's buffer
 * policy. Out of line: the receive loop of the burst function stays the one of logging off. */
template <bool kVec>
__attribute__((noinline)) uint16_t rx_logging(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  switch (l.rx_buf_policy()) {
  case mig::DirtyLogger::RxBufPolicy::bitmap:
    switch (l.guest->page_shift()) {
    case 12:
      return rx_bitmap<kVec, 12>(q, pkts, nb_pkts, l);
    case 21:
      return rx_bitmap<kVec, 21>(q, pkts, nb_pkts, l);
    default:
      return rx_bitmap<kVec, 0>(q, pkts, nb_pkts, l);
    }
  case mig::DirtyLogger::RxBufPolicy::touch:
    if (likely(q.bufs_after_headers))
      return rx_touch<kVec>(q, pkts, nb_pkts, l);
    return rx_general<kVec>(q, pkts, nb_pkts, l);
  default:
    return rx_general<kVec>(q, pkts, nb_pkts, l);
  }
}

}  // namespace

namespace {

/* A receive burst inside the gate, any logging; leaves the gate. */
template <bool kSecondary, bool kVec>
__rte_always_inline uint16_t rx_body(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger *logger) {
  if (unlikely(logger != nullptr)) {
    if constexpr (kSecondary) {
      /* the logger is the primary's object: a secondary receives nothing while pages are logged */
      q.gate.leave();
      return 0;
    }
    if (!mig::queue_proven(*logger)) {
      /* the logger's pages are counted before the gate opens: once it opened, the control path
       * may retire the logger */
      const uint16_t nb_rx = rx_logging<kVec>(q, pkts, nb_pkts, *logger);
      q.gate.leave();
      return nb_rx;
    }
  }
  /* Logging off, or bitmap logging with the queue proven marked (mig::QueueMarkScan): one receive
   * loop, without marks, then the proof checked once. */
  const uint16_t hold0 = q.nb_hold;
  mig::RxBufNoLog off;
  const uint16_t nb_rx = rx_recv<kVec>(q, pkts, nb_pkts, off);
  if (unlikely(logger != nullptr) && q.nb_hold != hold0)
    rx_check_proof(q, pkts, nb_rx, *logger, hold0);
  if (q.nb_hold >= q.rx_free_thresh) {
    if constexpr (kSecondary)
      refill<true>(q);
    else
      refill_primary(q);
  }
  q.gate.leave();
  return nb_rx;
}

/* The vector burst while logging is on: out of line, so that the one with logging off keeps its
 * registers. */
__attribute__((noinline)) uint16_t rx_body_vec_logged(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts,
                                                      mig::DirtyLogger *logger) {
  return rx_body<false, true>(q, pkts, nb_pkts, logger);
}

template <bool kSecondary, bool kVec = false>
inline uint16_t rx_burst_impl(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) {
  auto &q = *static_cast<RxQueue *>(rxq);
  if (unlikely(!q.gate.enter<kSecondary>()))
    return 0;
  /* Read once per burst, after enter() (the grace period's gate_barrier() pairs with it); acquire: the
   * logger the control thread published with a release store is seen whole (a plain load on x86). */
  mig::DirtyLogger *const logger = __atomic_load_n(&q.dirty_logger, __ATOMIC_ACQUIRE);
  if constexpr (kVec && !kSecondary) {
    /* logging off: the vector loop and the refill, nothing else */
    if (unlikely(logger != nullptr))
      return rx_body_vec_logged(q, pkts, nb_pkts, logger);
    mig::RxBufNoLog off;
    const uint16_t nb_rx = rx_loop_vec(q, pkts, nb_pkts, off);
    if (q.nb_hold >= q.rx_free_thresh)
      refill_primary(q);
    q.gate.leave();
    return nb_rx;
  } else {
    return rx_body<kSecondary, kVec>(q, pkts, nb_pkts, logger);
  }
}

}  // namespace

uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) { return rx_burst_impl<false>(rxq, pkts, nb_pkts); }

uint16_t rx_burst_vec(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) {
  return rx_burst_impl<false, true>(rxq, pkts, nb_pkts);
}

uint16_t rx_burst_secondary(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) {
  return rx_burst_impl<true>(rxq, pkts, nb_pkts);
}

uint32_t rx_queue_count(void *rxq) {
  auto &q = *static_cast<RxQueue *>(rxq);
  uint32_t n = 0;
  uint16_t idx = q.rx_tail;
  while (n < uint32_t(q.nb_desc - 1 - q.nb_hold)) {
    if (!(__atomic_load_n(&q.ring[idx].wb.status_error, __ATOMIC_RELAXED) & rte_cpu_to_le_32(RXD_STAT_DD)) ||
        !q.sw_ring[idx])
      break;
    n++;
    idx = uint16_t(idx + 1 == q.nb_desc ? 0 : idx + 1);
  }
  return n;
}

int rx_descriptor_status(void *rxq, uint16_t offset) {
  auto &q = *static_cast<RxQueue *>(rxq);
  if (offset >= q.nb_desc)
    return -EINVAL;
  if (offset >= q.nb_desc - 1 - q.nb_hold)
    return RTE_ETH_RX_DESC_UNAVAIL;
  uint32_t idx = (uint32_t(q.rx_tail) + offset) % q.nb_desc;
  if (__atomic_load_n(&q.ring[idx].wb.status_error, __ATOMIC_RELAXED) & rte_cpu_to_le_32(RXD_STAT_DD))
    return RTE_ETH_RX_DESC_DONE;
  return RTE_ETH_RX_DESC_AVAIL;
}

const uint32_t *supported_ptypes(rte_eth_dev *dev) {
  static const uint32_t kPtypes[] = {
      RTE_PTYPE_L2_ETHER, RTE_PTYPE_L3_IPV4, RTE_PTYPE_L3_IPV4_EXT, RTE_PTYPE_L3_IPV6, RTE_PTYPE_L3_IPV6_EXT,
      RTE_PTYPE_L4_TCP,   RTE_PTYPE_L4_UDP,  RTE_PTYPE_L4_SCTP,     RTE_PTYPE_TUNNEL_ESP, RTE_PTYPE_UNKNOWN,
  };
  static const uint32_t kTunnelPtypes[] = {
      RTE_PTYPE_L2_ETHER,         RTE_PTYPE_L3_IPV4,          RTE_PTYPE_L3_IPV4_EXT,      RTE_PTYPE_L3_IPV6,
      RTE_PTYPE_L3_IPV6_EXT,      RTE_PTYPE_L3_IPV4_EXT_UNKNOWN, RTE_PTYPE_L4_TCP,        RTE_PTYPE_L4_UDP,
      RTE_PTYPE_L4_SCTP,          RTE_PTYPE_TUNNEL_VXLAN,     RTE_PTYPE_TUNNEL_GRE,       RTE_PTYPE_INNER_L2_ETHER,
      RTE_PTYPE_INNER_L3_IPV4,    RTE_PTYPE_INNER_L3_IPV4_EXT, RTE_PTYPE_INNER_L3_IPV6,   RTE_PTYPE_INNER_L3_IPV6_EXT,
      RTE_PTYPE_INNER_L4_TCP,     RTE_PTYPE_INNER_L4_UDP,     RTE_PTYPE_INNER_L4_SCTP,    RTE_PTYPE_TUNNEL_ESP,
      RTE_PTYPE_UNKNOWN,
  };
  return has_tunnel_offloads(adapter_of(dev).mac_type) ? kTunnelPtypes : kPtypes;
}

}  // namespace ixgbevf_lm::pmd
