/* SPDX-License-Identifier: BSD-3-Clause
 * Transmit: one data descriptor per segment, a context descriptor only when the offload context
 * changes (two slots per queue), RS on the last descriptor of a packet every rs_thresh descriptors
 * and at the end of a burst, lazy cleanup below free_thresh with mbufs returned in bulk. The vector
 * path (tx_burst_vec) writes frames of one segment without offload flags four at a time and hands
 * any other frame to the same scalar loop, on the same queue state.
 */
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include <immintrin.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_net.h>

#include <rte_security.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mbuf_cache.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

/* Tunnelled frames (X550 only): outer lengths and the outer IPv4 checksum. */
constexpr uint64_t kTxTunnelFlags = RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_OUTER_IPV4 |
                                    RTE_MBUF_F_TX_OUTER_IPV6 | RTE_MBUF_F_TX_TUNNEL_MASK;
constexpr uint64_t kTxOffloadMask = RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
                                    RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | kTxTunnelFlags |
                                    RTE_MBUF_F_TX_SEC_OFFLOAD;
constexpr uint64_t kTxCtxFlags = RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
                                 RTE_MBUF_F_TX_VLAN | RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_SEC_OFFLOAD;
/* MACLEN is 7 bits, OUTERIPLEN 8 (the mbuf's outer_l3_len 9); TUNNELLEN's 8 bits hold any l2_len (7). */
constexpr unsigned kMaxMacLen = ADVTXD_MACLEN_MASK;
constexpr unsigned kMaxOuterIpLen = ADVTXD_OUTER_IPLEN_MASK;
constexpr unsigned kFreeBulk = 64;

inline uint16_t next(const TxQueue &q, uint16_t i) { return uint16_t(i + 1 == q.nb_desc ? 0 : i + 1); }

/* Return the mbufs of [clean_from, upto] to their pools, in bulk per pool. With fast free (one
 * pool, reference count 1, no chains: TxQueue::fast_free) the mbufs go back as they are, and with
 * no context descriptor in flight (whose slots hold none) straight from the slots into the lcore's
 * mempool cache. The slots are left as they are (stale): only [clean_from, tx_tail) is read. */
void free_range(TxQueue &q, uint16_t upto) {
  void *batch[kFreeBulk];
  unsigned n = 0;
  rte_mempool *pool = nullptr;
  const uint16_t from = q.clean_from;
  const uint16_t count = uint16_t((uint32_t(upto) + q.nb_desc - from) % q.nb_desc + 1);
  rte_mbuf **const sw = q.sw_ring;
  const bool fast = q.fast_free;
  unsigned holes = 0;
  const auto run = [&](uint16_t a, uint16_t b) __attribute__((always_inline)) {  /* [a, b), no wrap */
    if (fast) {
      if (likely(q.ctx_in_flight == 0)) {
        cache_put(sw[a]->pool, reinterpret_cast<void **>(&sw[a]), unsigned(b - a));
        return;
      }
      for (uint16_t i = a; i < b; i++) {
        if (rte_mbuf *m = sw[i]) {
          if (n == kFreeBulk) {
            rte_mempool_put_bulk(pool, batch, n);
            n = 0;
          }
          pool = m->pool;
          batch[n++] = m;
        } else {
          holes++;
        }
      }
      return;
    }
    for (uint16_t i = a; i < b; i++) {
      rte_mbuf *m = sw[i];
      if (!m) {
        holes++;
        continue;  /* a context descriptor */
      }
      m = rte_pktmbuf_prefree_seg(m);
      if (!m)
        continue;
      if (unlikely(m->pool != pool)) {
        if (n)
          rte_mempool_put_bulk(pool, batch, n);
        n = 0;
        pool = m->pool;
      }
      batch[n++] = m;
      if (unlikely(n == kFreeBulk)) {
        rte_mempool_put_bulk(pool, batch, n);
        n = 0;
      }
    }
  };
  if (uint32_t(from) + count <= q.nb_desc) {
    run(from, uint16_t(from + count));
  } else {
    run(from, q.nb_desc);
    run(0, uint16_t(upto + 1));
  }
  if (n)
    rte_mempool_put_bulk(pool, batch, n);
  q.ctx_in_flight = uint16_t(q.ctx_in_flight - holes);
  q.clean_from = next(q, upto);
  q.nb_free = uint16_t(q.nb_free + count);
}

/* Log what the device wrote back for descriptors [from, to] (inclusive, may wrap): the ring pages
 * of their DD write-backs, or with head write-back the head word. */
void log_cleaned(const TxQueue &q, mig::DirtyBurst &db, uint16_t from, uint16_t to) {
  if (q.head_wb) {
    db.ring(q.head_wb_iova, const_cast<uint32_t *>(q.head_wb), sizeof(uint32_t));
    return;
  }
  const auto mark = [&](uint16_t a, uint16_t b) {
    db.ring(q.ring_iova + uint64_t(a) * kDescSize, const_cast<TxDesc *>(&q.ring[a]), uint64_t(b - a + 1) * kDescSize);
  };
  if (from <= to) {
    mark(from, to);
  } else {
    mark(from, uint16_t(q.nb_desc - 1));
    mark(0, to);
  }
}

/* A head write-back within the descriptors handed to the device: [clean_from, tx_tail] in ring
 * order (tx_tail: the last doorbell). */
inline bool head_in_flight(const TxQueue &q, uint32_t head) {
  const uint32_t n = q.nb_desc;
  return head < n && (head + n - q.clean_from) % n <= (uint32_t(q.tx_tail) + n - q.clean_from) % n;
}

/* With head write-back: the device processed [clean_from, head), head checked by head_in_flight. */
inline bool rs_before_head(const TxQueue &q, uint16_t rs, uint32_t head) {
  const uint32_t n = q.nb_desc;
  return (uint32_t(rs) + n - q.clean_from) % n < (head + n - q.clean_from) % n;
}

/* Acquire: what the burst reads of the queue afterwards is not older. */
inline uint32_t load_head(const TxQueue &q) {
  return rte_le_to_cpu_32(__atomic_load_n(q.head_wb, __ATOMIC_ACQUIRE));
}

inline bool rs_dd(const TxQueue &q, uint16_t rs) {
  return (__atomic_load_n(&q.ring[rs].wb.status, __ATOMIC_ACQUIRE) & rte_cpu_to_le_32(ADVTXD_STAT_DD)) != 0;
}

/* Whether the device is done with RS point rs: its DD, or with head write-back a valid head
 * written past it. */
inline bool rs_done(const TxQueue &q, uint16_t rs) {
  if (q.head_wb) {
    const uint32_t head = load_head(q);
    return head_in_flight(q, head) && rs_before_head(q, rs, head);
  }
  return rs_dd(q, rs);
}

inline unsigned burst_enough(const TxQueue &q) { return unsigned(q.free_thresh) + q.rs_thresh; }

/* A head the device should not have written (outside head_in_flight): nothing is cleaned on its
 * word, the mbufs stay with the queue (freed at its stop); counted and reported at most once per
 * interval. */
__attribute__((noinline, cold)) void tx_bad_head(TxQueue &q, uint32_t head) {
  q.bad_wb_head++;
  q.bad_wb_unreported++;
  const uint64_t now = rte_get_timer_cycles();
  if (now < q.bad_wb_log_after)
    return;
  IXGBEVF_LM_TX_LOG(WARNING,
                    "port %u txq %u: %" PRIu64 " bad head write-back(s) ignored (last: head %u outside the "
                    "descriptors %u..%u handed to the device, ring of %u); xstats tx_bad_wb_head",
                    q.port_id, q.queue_id, q.bad_wb_unreported, head, q.clean_from, q.tx_tail, q.nb_desc);
  q.bad_wb_unreported = 0;
  q.bad_wb_log_after = now + rte_get_timer_hz() * kBadWbLogIntervalMs / 1000;
}

/* Put the RS point in the next free entry of rs_fifo. */
inline void rs_push(TxQueue &q, unsigned at) {
  unsigned k = unsigned(q.rs_head) + q.rs_count;
  if (k >= q.nb_desc)
    k -= q.nb_desc;
  q.rs_fifo[k] = uint16_t(at);
  q.rs_count++;
}

/* Whether cleanup() may take clean_fast(): DD write-backs (no head word to check), fast free, no
 * context descriptor in flight (every slot holds an mbuf). */
inline bool clean_fast_ok(const TxQueue &q) { return q.fast_free && q.ctx_in_flight == 0 && q.head_wb == nullptr; }

/* cleanup() when clean_fast_ok() and nothing is logged: the blocks the device is done with (each
 * RS point's DD, oldest first) are counted, then their mbufs go from the slots straight into the
 * calling lcore's mempool cache in one put (two when they wrap the ring; one pool: fast free), the
 * queue's fields in locals. */
__attribute__((noinline)) unsigned clean_fast(TxQueue &q, unsigned enough) {
  const unsigned nb_desc = q.nb_desc;
  const unsigned nb_free = q.nb_free, from = q.clean_from;
  unsigned head = q.rs_head, count = q.rs_count;
  const uint16_t *const fifo = q.rs_fifo;
  volatile TxDesc *const ring = q.ring;
  unsigned n = 0;      /* descriptors of the done blocks, from `from` on */
  unsigned at = from;  /* the first one after them */
  while (count != 0 && nb_free + n < enough) {
    const unsigned rs = fifo[head];
    if (!(__atomic_load_n(&ring[rs].wb.status, __ATOMIC_ACQUIRE) & rte_cpu_to_le_32(ADVTXD_STAT_DD)))
      break;
    n += (rs >= at ? rs - at : rs + nb_desc - at) + 1;
    at = rs + 1 == nb_desc ? 0 : rs + 1;
    head = head + 1 == nb_desc ? 0 : head + 1;
    count--;
  }
  if (n == 0)
    return 0;
  rte_mbuf **const sw = q.sw_ring;
  rte_mempool *const mp = sw[from]->pool;
  rte_mempool_cache *const c = lcore_cache(mp);
  const unsigned first = std::min(n, nb_desc - from);
  cache_put_to(mp, c, reinterpret_cast<void **>(&sw[from]), first);
  if (n > first)
    cache_put_to(mp, c, reinterpret_cast<void **>(sw), n - first);
  q.nb_free = uint16_t(nb_free + n);
  q.clean_from = uint16_t(at);
  q.rs_head = uint16_t(head);
  q.rs_count = uint16_t(count);
  return n;
}

/* Clean the RS points the device is done with (rs_done), oldest first, until nb_free reaches
 * `enough` (the bursts: one RS block past the free threshold, as DPDK's ixgbe frees one block at a
 * time; mbufs then go back to the pool at the rate the Rx refill takes them, which keeps a mempool
 * cache from flushing to and refilling from its ring). Returns descriptors freed. */
unsigned cleanup(TxQueue &q, mig::DirtyBurst &db, unsigned enough = ~0u) {
  if (likely(!db.active() && clean_fast_ok(q)))
    return clean_fast(q, enough);
  unsigned freed = 0;
  uint32_t head = 0;
  if (q.head_wb && q.rs_count) {
    /* the head word, read once per cleanup: the device may write anything into it */
    head = load_head(q);
    if (unlikely(!head_in_flight(q, head))) {
      tx_bad_head(q, head);
      return 0;
    }
  }
  while (q.rs_count && q.nb_free < enough) {
    uint16_t rs = q.rs_fifo[q.rs_head];
    if (!(q.head_wb ? rs_before_head(q, rs, head) : rs_dd(q, rs)))
      break;
    if (unlikely(db.active()))
      log_cleaned(q, db, q.clean_from, rs);
    uint16_t before = q.nb_free;
    free_range(q, rs);
    freed += q.nb_free - before;
    q.rs_head = next(q, q.rs_head);
    q.rs_count--;
  }
  return freed;
}

/* The end of a burst that cleaned [from, q.clean_from) without marks, its queue proven marked at
 * its start (mig::queue_proven): unless the queue is still proven after the last DD, what the
 * device wrote back for those descriptors is marked now. */
void check_proof(const TxQueue &q, mig::DirtyLogger &l, uint16_t from) {
  if (likely(mig::queue_proven(l))) {
    l.bursts_unmarked++;
    return;
  }
  mig::DirtyBurst db(&l);
  log_cleaned(q, db, from, uint16_t(q.clean_from == 0 ? q.nb_desc - 1 : q.clean_from - 1));
  db.finish();
}

struct CtxFields {
  uint32_t vlan_macip_lens = 0;
  uint32_t seqnum_seed = 0;  /* IPsec SA index; X550 tunnels: outer IP and tunnel lengths */
  uint32_t type_tucmd_mlhl = 0;
  uint32_t mss_l4len = 0;
  uint32_t olinfo = 0;   /* POPTS for the data descriptors */
  uint32_t cmd = 0;      /* VLE / TSE / OUTERIPCS for the data descriptors */
};

/* The Tx SA index of an IPsec packet's session on the current VF (kSecNoSa: none). */
inline uint16_t sec_sa_index_of(const TxQueue &q, const rte_mbuf *m) {
  const uint64_t md = *rte_security_dynfield(const_cast<rte_mbuf *>(m));
  return __atomic_load_n(&q.sec_sa_index[md & kSecMdSlotMask & (kSecMaxSessions - 1)], __ATOMIC_RELAXED);
}

/* MACLEN: the L2 header; for a tunnelled frame with the outer IPv4 checksum, the outer L2 header
 * with the outer IP and tunnel lengths in their own fields (X550); for one without, everything
 * before the inner IP header, as the hardware treats any MAC header of up to 127 bytes. */
inline CtxFields ctx_fields(const TxQueue &q, const rte_mbuf *m, uint64_t ol, uint16_t sa_index) {
  CtxFields c;
  uint32_t maclen = m->l2_len;
  if (ol & RTE_MBUF_F_TX_OUTER_IP_CKSUM) {
    maclen = m->outer_l2_len;
    c.seqnum_seed = (uint32_t(m->outer_l3_len) << ADVTXD_OUTER_IPLEN_SHIFT) |
                    (uint32_t(m->l2_len) << ADVTXD_TUNNEL_LEN_SHIFT);
    c.cmd |= q.outer_ipcs_cmd;
  } else if (ol & (RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IPV6)) {
    maclen = uint32_t(m->outer_l2_len + m->outer_l3_len + m->l2_len);
  }
  c.vlan_macip_lens = (maclen << ADVTXD_MACLEN_SHIFT) | (m->l3_len & ADVTXD_IPLEN_MASK);
  if (ol & RTE_MBUF_F_TX_VLAN) {
    c.vlan_macip_lens |= uint32_t(m->vlan_tci) << ADVTXD_VLAN_SHIFT;
    c.cmd |= ADVTXD_DCMD_VLE;
  }
  c.type_tucmd_mlhl = ADVTXD_DTYP_CTXT | ADVTXD_DCMD_DEXT;
  if (ol & RTE_MBUF_F_TX_IPV4)
    c.type_tucmd_mlhl |= ADVTXD_TUCMD_IPV4;
  if (ol & RTE_MBUF_F_TX_IP_CKSUM)
    c.olinfo |= ADVTXD_POPTS_IXSM;
  if (ol & RTE_MBUF_F_TX_TCP_SEG) {
    c.type_tucmd_mlhl |= ADVTXD_TUCMD_L4T_TCP;
    c.mss_l4len = (uint32_t(m->tso_segsz) << ADVTXD_MSS_SHIFT) | (uint32_t(m->l4_len) << ADVTXD_L4LEN_SHIFT);
    c.olinfo |= ADVTXD_POPTS_TXSM;
    c.cmd |= ADVTXD_DCMD_TSE;
  } else {
    switch (ol & RTE_MBUF_F_TX_L4_MASK) {
    case RTE_MBUF_F_TX_TCP_CKSUM:
      c.type_tucmd_mlhl |= ADVTXD_TUCMD_L4T_TCP;
      c.mss_l4len = uint32_t(sizeof(rte_tcp_hdr)) << ADVTXD_L4LEN_SHIFT;
      c.olinfo |= ADVTXD_POPTS_TXSM;
      break;
    case RTE_MBUF_F_TX_UDP_CKSUM:
      c.type_tucmd_mlhl |= ADVTXD_TUCMD_L4T_UDP;
      c.mss_l4len = uint32_t(sizeof(rte_udp_hdr)) << ADVTXD_L4LEN_SHIFT;
      c.olinfo |= ADVTXD_POPTS_TXSM;
      break;
    case RTE_MBUF_F_TX_SCTP_CKSUM:
      c.type_tucmd_mlhl |= ADVTXD_TUCMD_L4T_SCTP;
      c.olinfo |= ADVTXD_POPTS_TXSM;
      break;
    default:
      c.type_tucmd_mlhl |= ADVTXD_TUCMD_L4T_RSV;
      break;
    }
  }
  /* Inline IPsec: the SA index (through the session's slot: the PF's index may change with the VF),
   * ESP with encryption, and the trailer length set_pkt_metadata found. */
  if ((ol & RTE_MBUF_F_TX_SEC_OFFLOAD) && q.sec_sa_index) {
    const uint64_t md = *rte_security_dynfield(const_cast<rte_mbuf *>(m));
    c.seqnum_seed |= sa_index & ADVTXD_IPSEC_SA_INDEX_MASK;
    c.type_tucmd_mlhl |= ADVTXD_TUCMD_IPSEC_TYPE_ESP | ADVTXD_TUCMD_IPSEC_ENCRYPT_EN |
                         (uint32_t(md >> kSecMdTrailerShift) & ADVTXD_IPSEC_ESP_LEN_MASK);
    c.olinfo |= ADVTXD_POPTS_IPSEC;
  }
  return c;
}

/* One data descriptor for a frame of one segment without offload flags: the same fields the
 * scalar loop writes for it (EOP, and RS when asked). len_mul is kLenMul, which the caller hides
 * from the compiler: PAYLEN and the buffer length from the one length in one multiply. */
inline constexpr uint64_t kLenMul = (uint64_t{1} << (32 + ADVTXD_PAYLEN_SHIFT)) | 1u;
inline constexpr uint32_t kSimpleCmd = ADVTXD_DTYP_DATA | ADVTXD_DCMD_DEXT | ADVTXD_DCMD_IFCS | ADVTXD_DCMD_EOP;
/* put_simple adds its descriptor's second word, length * kLenMul | kSimpleCmd | rs, to its byte
 * count (the bits do not overlap: an OR is a sum): less the command bits, the sum of the lengths
 * is in the bits below the PAYLEN copy (a burst's lengths sum to less than 2^46). */
inline constexpr uint64_t kLenBytes = (uint64_t{1} << (32 + ADVTXD_PAYLEN_SHIFT)) - 1;
__rte_always_inline void put_simple(volatile TxDesc *d, const rte_mbuf *m, uint32_t rs, uint64_t &bytes,
                                    uint64_t len_mul) {
  constexpr uint32_t kCmd = kSimpleCmd;
  /* one segment: pkt_len == data_len (16 bits, within PAYLEN's 18) */
  const uint64_t hi = m->data_len * len_mul | (kCmd | rs);
  auto *w = reinterpret_cast<volatile uint64_t *>(d);
  w[0] = rte_cpu_to_le_64(m->buf_iova + m->data_off);
  /* cmd_type_len, then olinfo_status (PAYLEN) */
  w[1] = rte_cpu_to_le_64(hi);
  bytes += hi;  /* the length in the low bits once the command bits are taken off: see kLenBytes */
}

/* The scalar loop's RS bookkeeping for a frame of one descriptor at d. */
__rte_always_inline uint32_t rs_for(TxQueue &q, unsigned d, unsigned &used) {
  if (++used >= q.rs_thresh) {
    rs_push(q, d);
    used = 0;
    return ADVTXD_DCMD_RS;
  }
  return 0;
}

/* The vector transmit loop: groups of four frames of one segment with no Tx offload flag (one test
 * of nb_segs and ol_flags for the four), one descriptor each; stops at the first group with another
 * frame, or when fewer than four descriptors are free after a cleanup (clean()), and leaves the
 * rest to the scalar loop. The RS points are the scalar loop's: the frames run in stretches that
 * end at the ring's end or at the group holding the next RS point (rs_thresh >= 4: at most one per
 * group), set once per stretch after its descriptors were written; a group across the ring's end
 * (or rs_thresh < 4) goes frame by frame. Returns the frames written; tail, used (descriptors since
 * the last RS point) and bytes as the scalar loop keeps them. */
template <class Clean>
__rte_always_inline unsigned xmit_simple(TxQueue &q, rte_mbuf **pkts, unsigned nb_pkts, unsigned &tail_io,
                                         unsigned &used_io, uint64_t &bytes_io, Clean &&clean) {
  /* rearm_data: data_off, refcnt, nb_segs (bytes 4-5), port; then ol_flags */
  const __m128i mask = _mm_set_epi64x(int64_t(RTE_MBUF_F_TX_OFFLOAD_MASK), int64_t(0xFFFFULL << 32));
  const __m128i want = _mm_set_epi64x(0, int64_t(1ULL << 32));
  const auto rearm = [](const rte_mbuf *m) __attribute__((always_inline)) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(&m->rearm_data));
  };
  uint64_t len_mul = kLenMul;
  asm("" : "+r"(len_mul));  /* a multiply, not the compiler's shift and add */
  /* the queue's fields in locals: the descriptor stores may alias them (no strict aliasing) */
  volatile TxDesc *const ring = q.ring;
  rte_mbuf **const sw_ring = q.sw_ring;
  /* 32-bit locals: 16-bit ones cost a zero extension at every use */
  const unsigned nb_desc = q.nb_desc;
  const unsigned rs_gap = q.rs_thresh;
  unsigned tail = tail_io;
  unsigned used = used_io;
  unsigned nb_free = q.nb_free;
  uint64_t bytes = 0;  /* the second words written (put_simple) */
  uint64_t rs_bits = 0;  /* the RS bits among them */
  unsigned i = 0;
  /* the OR of four: no offload flag in any, and nb_segs 1 in all (nb_segs >= 1: a larger one sets
   * another bit) */
  const auto simple4 = [&](const rte_mbuf *m0, const rte_mbuf *m1, const rte_mbuf *m2, const rte_mbuf *m3)
                           __attribute__((always_inline)) {
    const __m128i r = _mm_or_si128(_mm_or_si128(rearm(m0), rearm(m1)), _mm_or_si128(rearm(m2), rearm(m3)));
    const __m128i x = _mm_xor_si128(_mm_and_si128(r, mask), want);
    return _mm_testz_si128(x, x) != 0;
  };
  while (nb_pkts - i >= 4) {
    if (nb_free < 4) {
      q.nb_free = uint16_t(nb_free);
      clean();
      nb_free = q.nb_free;
      if (nb_free < 4)
        break;
    }
    if (unlikely(rs_gap < 4 || nb_desc - tail < 4)) {
      /* a group across the ring's end (or RS points closer than four): frame by frame */
      rte_mbuf **m = &pkts[i];
      if (!simple4(m[0], m[1], m[2], m[3]))
        break;
      for (unsigned k = 0; k < 4; k++) {
        const uint32_t rs = rs_for(q, tail, used);
        rs_bits += rs;
        put_simple(&ring[tail], m[k], rs, bytes, len_mul);
        sw_ring[tail] = m[k];
        tail = tail + 1 == nb_desc ? 0 : tail + 1;
      }
      nb_free -= 4;
      i += 4;
      continue;
    }
    /* whole groups within the burst, the free descriptors, the ring before its end and the group
     * of the next RS point */
    const unsigned to_rs = (rs_gap - used + 3) & ~3u;
    const unsigned run = std::min({nb_pkts - i, nb_free, nb_desc - tail, to_rs}) & ~3u;
    rte_mbuf **p = &pkts[i];
    rte_mbuf **const end = p + run;
    volatile TxDesc *d = &ring[tail];
    rte_mbuf **sw = &sw_ring[tail];
    for (; p != end; p += 4, d += 4, sw += 4) {
      rte_mbuf *const m0 = p[0], *const m1 = p[1], *const m2 = p[2], *const m3 = p[3];
      if (!simple4(m0, m1, m2, m3))
        break;
      put_simple(d, m0, 0, bytes, len_mul);
      put_simple(d + 1, m1, 0, bytes, len_mul);
      put_simple(d + 2, m2, 0, bytes, len_mul);
      put_simple(d + 3, m3, 0, bytes, len_mul);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(sw), _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
      _mm_storeu_si128(reinterpret_cast<__m128i *>(sw + 2),
                       _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 2)));
    }
    const unsigned done = unsigned(p - &pkts[i]);
    if (done >= rs_gap - used) {
      /* the frame at which the count reaches rs_thresh asks for the write-back */
      const unsigned at = tail + rs_gap - used - 1;
      ring[at].read.cmd_type_len |= rte_cpu_to_le_32(ADVTXD_DCMD_RS);
      rs_push(q, at);
      used = used + done - rs_gap;
    } else {
      used += done;
    }
    tail += done;
    if (tail == nb_desc)
      tail = 0;
    nb_free -= done;
    i += done;
    if (p != end)
      break;  /* a frame the scalar loop writes */
  }
  q.nb_free = uint16_t(nb_free);
  tail_io = tail;
  used_io = used;
  bytes_io += (bytes - uint64_t(i) * kSimpleCmd - rs_bits) & kLenBytes;
  return i;
}

/* The scalar transmit loop: any frame (chains, context descriptors, inline IPsec), from tail on.
 * Returns the frames taken (sent, or dropped for want of an SA); tail, used and bytes as
 * xmit_simple keeps them. */
template <bool kSecondary>
__rte_always_inline unsigned xmit_scalar(TxQueue &q, rte_mbuf **pkts, unsigned nb_pkts, mig::DirtyBurst &db,
                                         unsigned &tail_io, unsigned &used_io, uint64_t &bytes_io) {
  uint16_t tail = uint16_t(tail_io);
  unsigned used = used_io;
  uint64_t bytes = bytes_io;
  unsigned nb_tx = 0;
  for (; nb_tx < nb_pkts; nb_tx++) {
    rte_mbuf *m = pkts[nb_tx];
    if (unlikely(q.fast_free) && m->nb_segs > 1)
      q.fast_free = false;  /* a chain: its segments need rte_pktmbuf_prefree_seg from now on */
    uint64_t ol = m->ol_flags;
    uint16_t sa_index = kSecNoSa;
    if (unlikely(ol & RTE_MBUF_F_TX_SEC_OFFLOAD)) {
      /* sec_sa_index is the primary's memory: a secondary has no sessions (no security context) */
      sa_index = (!kSecondary && q.sec_sa_index) ? sec_sa_index_of(q, m) : kSecNoSa;
      if (unlikely(sa_index == kSecNoSa)) {
        /* no SA for it on this VF (destroyed, not restored on it, or no security offload on the
         * queue): never send it in clear */
        q.errors++;
        rte_pktmbuf_free(m);
        continue;
      }
    }
    bool use_ctx = (ol & kTxCtxFlags) != 0;
    CtxFields cf;
    int slot = -1;
    bool new_ctx = false;
    if (use_ctx) {
      cf = ctx_fields(q, m, ol, sa_index);
      for (unsigned s = 0; s < kTxContextSlots; s++) {
        const TxContextCache &c = q.ctx[(q.ctx_curr + s) % kTxContextSlots];
        if (c.key && c.vlan_macip_lens == cf.vlan_macip_lens && c.seqnum_seed == cf.seqnum_seed &&
            c.type_tucmd_mlhl == cf.type_tucmd_mlhl && c.mss_l4len == cf.mss_l4len) {
          slot = int((q.ctx_curr + s) % kTxContextSlots);
          break;
        }
      }
      if (slot < 0) {
        slot = (q.ctx_curr + 1) % kTxContextSlots;
        new_ctx = true;
      }
    }
    uint16_t need = uint16_t(m->nb_segs + (new_ctx ? 1 : 0));
    if (need > q.nb_free) {
      cleanup(q, db, burst_enough(q));
      if (need > q.nb_free)
        break;
    }
    if (new_ctx) {
      volatile auto *c = reinterpret_cast<volatile TxContextDesc *>(&q.ring[tail]);
      c->vlan_macip_lens = rte_cpu_to_le_32(cf.vlan_macip_lens);
      c->seqnum_seed = rte_cpu_to_le_32(cf.seqnum_seed);
      c->type_tucmd_mlhl = rte_cpu_to_le_32(cf.type_tucmd_mlhl);
      c->mss_l4len_idx = rte_cpu_to_le_32(cf.mss_l4len | (uint32_t(slot) << ADVTXD_IDX_SHIFT));
      q.ctx[slot] = TxContextCache{1, cf.vlan_macip_lens, cf.seqnum_seed, cf.type_tucmd_mlhl, cf.mss_l4len};
      q.ctx_curr = uint8_t(slot);
      q.sw_ring[tail] = nullptr;
      q.ctx_in_flight++;
      tail = next(q, tail);
    } else if (use_ctx) {
      q.ctx_curr = uint8_t(slot);
    }

    uint32_t paylen = m->pkt_len;
    if (ol & RTE_MBUF_F_TX_TCP_SEG)
      paylen -= m->l2_len + m->l3_len + m->l4_len;
    uint32_t olinfo = paylen << ADVTXD_PAYLEN_SHIFT;
    uint32_t cmd = ADVTXD_DTYP_DATA | ADVTXD_DCMD_DEXT | ADVTXD_DCMD_IFCS;
    if (use_ctx) {
      olinfo |= cf.olinfo | ADVTXD_CC | (uint32_t(slot) << ADVTXD_IDX_SHIFT);
      cmd |= cf.cmd;
    }
    rte_mbuf *seg = m;
    uint16_t d = tail;
    do {
      d = tail;
      volatile TxDesc *td = &q.ring[d];
      td->read.buffer_addr = rte_cpu_to_le_64(rte_mbuf_data_iova(seg));
      td->read.cmd_type_len = rte_cpu_to_le_32(cmd | seg->data_len);
      td->read.olinfo_status = rte_cpu_to_le_32(olinfo);
      q.sw_ring[d] = seg;
      tail = next(q, tail);
      seg = seg->next;
    } while (seg);
    q.ring[d].read.cmd_type_len |= rte_cpu_to_le_32(ADVTXD_DCMD_EOP);
    q.nb_free = uint16_t(q.nb_free - need);
    used += need;
    if (used >= q.rs_thresh) {
      q.ring[d].read.cmd_type_len |= rte_cpu_to_le_32(ADVTXD_DCMD_RS);
      rs_push(q, d);
      used = 0;
    }
    bytes += m->pkt_len;
  }
  tail_io = tail;
  used_io = used;
  bytes_io = bytes;
  return nb_tx;
}

/* The end of a burst that took nb_tx frames: every descriptor handed over is covered by an RS (the
 * last one written asks too, unless it did already: used is 0 then), the doorbell, the counters. */
template <bool kSecondary>
__rte_always_inline void tx_finish(TxQueue &q, unsigned nb_tx, unsigned tail, unsigned used, uint64_t bytes) {
  if (nb_tx == 0)
    return;
  if (used != 0) {
    const unsigned last = (tail == 0 ? q.nb_desc : tail) - 1;
    q.ring[last].read.cmd_type_len |= rte_cpu_to_le_32(ADVTXD_DCMD_RS);
    rs_push(q, last);
  }
  q.nb_used_since_rs = 0;
  q.tx_tail = uint16_t(tail);
  rte_io_wmb();
  if constexpr (kSecondary)
    ring_secondary(q.port_id, q.tail.off, q.shared_tail, tail);
  else
    q.tail.ring(tail);
  q.packets += nb_tx;
  q.bytes += bytes;
}

/* Logging off: the cleanup of the vector burst (clean_fast, or cleanup() without a logger). */
__attribute__((noinline)) void clean_off(TxQueue &q, unsigned enough) {
  if (likely(clean_fast_ok(q))) {
    clean_fast(q, enough);
    return;
  }
  mig::DirtyBurst db(nullptr);
  cleanup(q, db, enough);
}

/* Logging off: the frames the vector loop left to the scalar one and the end of the burst, out of
 * line (the vector loop's locals stay in registers, their addresses never taken). */
__attribute__((noinline)) uint16_t tx_vec_off_rest(TxQueue &q, rte_mbuf **pkts, unsigned nb_pkts, unsigned nb_tx,
                                                   unsigned tail, unsigned used, uint64_t bytes) {
  mig::DirtyBurst db(nullptr);
  nb_tx += xmit_scalar<false>(q, pkts + nb_tx, nb_pkts - nb_tx, db, tail, used, bytes);
  tx_finish<false>(q, nb_tx, tail, used, bytes);
  return uint16_t(nb_tx);
}

/* The vector burst with logging off (nothing to mark, nothing to prove): the cleanup below the
 * free threshold, the vector loop, the scalar loop for what it left. */
__rte_always_inline uint16_t tx_vec_off(TxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts) {
  if (q.nb_free < q.free_thresh)
    clean_off(q, burst_enough(q));
  unsigned tail = q.tx_tail, used = q.nb_used_since_rs;
  uint64_t bytes = 0;
  const unsigned nb_tx = xmit_simple(q, pkts, nb_pkts, tail, used, bytes, [&q] { clean_off(q, burst_enough(q)); });
  if (unlikely(nb_tx < nb_pkts))
    return tx_vec_off_rest(q, pkts, nb_pkts, nb_tx, tail, used, bytes);
  tx_finish<false>(q, nb_tx, tail, used, bytes);
  return uint16_t(nb_tx);
}

/* A burst inside the gate, any logging: the write-backs are logged as the burst cleans them,
 * unless the mode needs no ring logging (the head word always needs it) or the queue's pages are
 * proven marked (then checked once at the end). Leaves the gate. */
template <bool kSecondary, bool kVec>
__rte_always_inline uint16_t tx_body(TxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger *logger) {
  const uint16_t clean_from0 = q.clean_from;
  bool proven = false;
  mig::DirtyLogger *ring_log = nullptr;
  if (!kSecondary && unlikely(logger != nullptr) && (logger->logs_ring_writebacks() || q.head_wb)) {
    proven = mig::queue_proven(*logger);
    if (!proven)
      ring_log = logger;
  }
  mig::DirtyBurst db(ring_log);
  if (q.nb_free < q.free_thresh)
    cleanup(q, db, burst_enough(q));

  unsigned tail = q.tx_tail, used = q.nb_used_since_rs;
  unsigned nb_tx = 0;
  uint64_t bytes = 0;
  if constexpr (kVec)
    nb_tx = xmit_simple(q, pkts, nb_pkts, tail, used, bytes, [&] { cleanup(q, db, burst_enough(q)); });
  nb_tx += xmit_scalar<kSecondary>(q, pkts + nb_tx, nb_pkts - nb_tx, db, tail, used, bytes);
  tx_finish<kSecondary>(q, nb_tx, tail, used, bytes);
  if (unlikely(proven) && q.clean_from != clean_from0)
    check_proof(q, *logger, clean_from0);
  db.finish();
  q.gate.leave();
  return uint16_t(nb_tx);
}

/* The vector burst while logging is on: out of line, so that the one with logging off keeps its
 * registers. */
__attribute__((noinline)) uint16_t tx_body_vec_logged(TxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts,
                                                      mig::DirtyLogger *logger) {
  return tx_body<false, true>(q, pkts, nb_pkts, logger);
}

template <bool kSecondary, bool kVec = false>
inline uint16_t tx_burst_impl(void *txq, rte_mbuf **pkts, uint16_t nb_pkts) {
  auto &q = *static_cast<TxQueue *>(txq);
  if (unlikely(!q.gate.enter<kSecondary>()))
    return 0;
  /* Read once per burst, after enter() (the grace period's gate_barrier() pairs with it); acquire: the
   * logger the control thread published with a release store is seen whole (a plain load on x86). */
  mig::DirtyLogger *const logger = __atomic_load_n(&q.dirty_logger, __ATOMIC_ACQUIRE);
  if constexpr (kSecondary) {
    /* the logger is the primary's object: a secondary sends nothing while pages are logged */
    if (unlikely(logger != nullptr)) {
      q.gate.leave();
      return 0;
    }
  }
  if constexpr (kVec && !kSecondary) {
    if (unlikely(logger != nullptr))
      return tx_body_vec_logged(q, pkts, nb_pkts, logger);
    const uint16_t nb_tx = tx_vec_off(q, pkts, nb_pkts);
    q.gate.leave();
    return nb_tx;
  } else {
    return tx_body<kSecondary, kVec>(q, pkts, nb_pkts, logger);
  }
}

}  // namespace

uint16_t tx_burst(void *txq, rte_mbuf **pkts, uint16_t nb_pkts) { return tx_burst_impl<false>(txq, pkts, nb_pkts); }

uint16_t tx_burst_vec(void *txq, rte_mbuf **pkts, uint16_t nb_pkts) {
  return tx_burst_impl<false, true>(txq, pkts, nb_pkts);
}

uint16_t tx_burst_secondary(void *txq, rte_mbuf **pkts, uint16_t nb_pkts) {
  return tx_burst_impl<true>(txq, pkts, nb_pkts);
}

uint16_t tx_prepare(void *txq, rte_mbuf **pkts, uint16_t nb_pkts) {
  auto &q = *static_cast<TxQueue *>(txq);
  for (uint16_t i = 0; i < nb_pkts; i++) {
    rte_mbuf *m = pkts[i];
    uint64_t ol = m->ol_flags;
    if (ol & RTE_MBUF_F_TX_TCP_SEG) {
      if (m->tso_segsz == 0 || m->l4_len < sizeof(rte_tcp_hdr) ||
          m->pkt_len - (m->l2_len + m->l3_len + m->l4_len) > kTxMaxTsoPayload) {
        rte_errno = EINVAL;
        return i;
      }
    } else if (m->nb_segs > kTxMaxSegs) {
      rte_errno = EINVAL;
      return i;
    }
    if (m->nb_segs >= q.nb_desc - 1) {
      rte_errno = EINVAL;
      return i;
    }
    if (ol & (RTE_MBUF_F_TX_OFFLOAD_MASK ^ kTxOffloadMask)) {
      rte_errno = ENOTSUP;
      return i;
    }
    if (ol & kTxTunnelFlags) {
      /* tunnel offloads: X550-class VFs only, no TSO of tunnelled frames, lengths within their fields */
      if (!q.outer_ipcs_cmd || (ol & RTE_MBUF_F_TX_TCP_SEG)) {
        rte_errno = ENOTSUP;
        return i;
      }
      bool fits = (ol & RTE_MBUF_F_TX_OUTER_IP_CKSUM)
                      ? (ol & RTE_MBUF_F_TX_OUTER_IPV4) && m->outer_l3_len <= kMaxOuterIpLen
                      : unsigned(m->outer_l2_len + m->outer_l3_len + m->l2_len) <= kMaxMacLen;
      if (!fits) {
        rte_errno = EINVAL;
        return i;
      }
    }
    if (ol & RTE_MBUF_F_TX_SEC_OFFLOAD) {
      /* the engine finds the ESP header at l2_len + l3_len; the metadata must come from
       * rte_security_set_pkt_metadata() on a queue set up with the security offload */
      if (!q.sec_sa_index || rte_eal_process_type() != RTE_PROC_PRIMARY) {
        rte_errno = ENOTSUP;
        return i;
      }
      if (m->l2_len == 0 || m->l3_len == 0 || !(*rte_security_dynfield(m) & kSecMdValid) ||
          sec_sa_index_of(q, m) == kSecNoSa) {
        rte_errno = EINVAL;
        return i;
      }
      if (ol & RTE_MBUF_F_TX_TCP_SEG) {
        rte_errno = ENOTSUP;  /* the engine does not segment ESP */
        return i;
      }
    }
    for (rte_mbuf *s = m; s; s = s->next) {
      if (s->data_len > kTxMaxBufLen || s->data_len == 0) {
        rte_errno = EINVAL;
        return i;
      }
    }
#ifdef RTE_ETHDEV_DEBUG_TX
    int rc = rte_validate_tx_offload(m);
    if (rc != 0) {
      rte_errno = -rc;
      return i;
    }
#endif
    int rc = rte_net_intel_cksum_prepare(m);
    if (rc != 0) {
      rte_errno = -rc;
      return i;
    }
  }
  return nb_pkts;
}

int tx_descriptor_status(void *txq, uint16_t offset) {
  auto &q = *static_cast<TxQueue *>(txq);
  if (offset >= q.nb_desc)
    return -EINVAL;
  if (offset < q.nb_free)
    return RTE_ETH_TX_DESC_DONE;
  /* in flight: done when the RS point covering it was written back */
  uint16_t d = uint16_t((uint32_t(q.tx_tail) + offset) % q.nb_desc);
  uint32_t dist_d = (uint32_t(d) + q.nb_desc - q.clean_from) % q.nb_desc;
  if (dist_d >= uint32_t(q.nb_desc - 1 - q.nb_free))
    return RTE_ETH_TX_DESC_DONE;  /* the slot kept free between tail and the oldest in flight */
  for (uint16_t k = 0; k < q.rs_count; k++) {
    uint16_t rs = q.rs_fifo[(q.rs_head + k) % q.nb_desc];
    if ((uint32_t(rs) + q.nb_desc - q.clean_from) % q.nb_desc >= dist_d)
      return rs_done(q, rs) ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_FULL;
  }
  return RTE_ETH_TX_DESC_FULL;
}

int tx_done_cleanup(void *txq, uint32_t free_cnt) {
  auto &q = *static_cast<TxQueue *>(txq);
  if (!q.gate.enter())
    return 0;
  mig::DirtyBurst db(__atomic_load_n(&q.dirty_logger, __ATOMIC_ACQUIRE));
  unsigned n = cleanup(q, db);
  db.finish();
  q.gate.leave();
  (void)free_cnt;
  return int(n);
}

}  // namespace ixgbevf_lm::pmd
