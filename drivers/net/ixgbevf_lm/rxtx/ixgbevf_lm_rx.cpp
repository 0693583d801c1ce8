/* SPDX-License-Identifier: BSD-3-Clause
 * Scalar receive: DD test against the little-endian constant, acquire fence, then the rest of the
 * write-back; segments chained up to EOP; the ring refilled in batches from the mempool with one
 * tail write per batch.
 */
#include <atomic>
#include <cstring>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_prefetch.h>

#include "ixgbevf_lm_adapter.h"
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

/* Give the nb_hold consumed slots after rdt back to the device: one bulk get, one tail write (a
 * secondary process rings through the shared doorbell word). */
template <bool kSecondary = false>
inline void refill(RxQueue &q) {
  uint16_t n = q.nb_hold;
  uint16_t start = uint16_t(q.rdt + 1 == q.nb_desc ? 0 : q.rdt + 1);
  rte_mbuf *bufs[kRingMaxDescs];
  if (unlikely(rte_mempool_get_bulk(q.mp, reinterpret_cast<void **>(bufs), n) != 0)) {
    q.mbuf_alloc_failed += n;
    return;
  }
  uint16_t idx = start;
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf *m = bufs[i];
    q.sw_ring[idx] = m;
    q.ring[idx].read.hdr_addr = 0;
    q.ring[idx].read.pkt_addr = rte_cpu_to_le_64(rte_mbuf_data_iova_default(m));
    idx = uint16_t(idx + 1 == q.nb_desc ? 0 : idx + 1);
  }
  q.rdt = uint16_t(idx == 0 ? q.nb_desc - 1 : idx - 1);
  q.nb_hold = 0;
  rte_io_wmb();
  if constexpr (kSecondary)
    ring_secondary(q.port_id, q.tail.off, q.shared_tail, q.rdt);
  else
    q.tail.ring(q.rdt);
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

  while (nb_rx < nb_pkts && hold < q.nb_desc - 1) {
    volatile RxDesc *d = &q.ring[idx];
    uint32_t st = d->wb.status_error;
    if (!(st & rte_cpu_to_le_32(RXD_STAT_DD)))
      break;
    std::atomic_thread_fence(std::memory_order_acquire);
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
       * buf_iova + headroom) over the written length. The descriptors' write-back: per burst. */
      log.buf(m->buf_iova + RTE_PKTMBUF_HEADROOM, static_cast<uint8_t *>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, len,
              m);
    }
    idx = uint16_t(idx + 1 == q.nb_desc ? 0 : idx + 1);
    rte_prefetch0(q.sw_ring[idx]);

    std::memcpy(&m->rearm_data, &init, sizeof init);
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

/* The end of a logged receive burst: the ring pages of the descriptors consumed since `start`
 * (hold0 held before) when the mode logs them, then the refill. */
inline void rx_logged_tail(RxQueue &q, mig::DirtyBurst &db, uint16_t start, uint16_t hold0, bool log_ring) {
  const uint16_t consumed = uint16_t(q.nb_hold - hold0);
  if (log_ring && consumed != 0)
    log_consumed(q, db, start, consumed);
  if (q.nb_hold >= q.rx_free_thresh)
    refill(q);
}

/* A receive burst while logging is on: buffers through the mode's policy, then the ring pages of
 * the consumed descriptors, then the refill; the page count is published before the gate opens. */
template <class BufLog>
__rte_always_inline uint16_t rx_logged(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyBurst &db, BufLog &&log,
                                       bool log_ring) {
  const uint16_t start = q.rx_tail;
  const uint16_t hold0 = q.nb_hold;
  const uint16_t nb_rx = rx_loop(q, pkts, nb_pkts, log);
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
template <uint32_t kShift>
uint16_t rx_bitmap(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  mig::DirtyBurst db(&l);
  const uint16_t nb_rx = rx_logged(q, pkts, nb_pkts, db, mig::RxBufBitmapLog<kShift>(*l.guest), true);
  db.finish();
  return nb_rx;
}

/* touch mode, buffers after their headers: no ring pages (DirtyLogger::logs_ring_writebacks), so no
 * DirtyBurst; the policy's count goes to the logger directly. */
inline uint16_t rx_touch(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  const uint16_t hold0 = q.nb_hold;
  mig::RxBufTouchLog log(q.header_to_data);
  const uint16_t nb_rx = rx_loop(q, pkts, nb_pkts, log);
  log.flush();
  if (const uint64_t n = log.marks(uint16_t(q.nb_hold - hold0)); n != 0)
    l.add_pages(n);
  if (q.nb_hold >= q.rx_free_thresh)
    refill(q);
  return nb_rx;
}

/* Any other logging: DirtyBurst's general path for the buffers. */
inline uint16_t rx_general(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  mig::DirtyBurst db(&l);
  const uint16_t nb_rx = rx_logged(q, pkts, nb_pkts, db, mig::RxBufGeneralLog(db), l.logs_ring_writebacks());
  db.finish();
  return nb_rx;
}

/* A receive burst while logging is on and the queue not proven marked, through the logger's buffer
 * policy. Out of line: the receive loop of the burst function stays the one of logging off. */
__attribute__((noinline)) uint16_t rx_logging(RxQueue &q, rte_mbuf **pkts, uint16_t nb_pkts, mig::DirtyLogger &l) {
  switch (l.rx_buf_policy()) {
  case mig::DirtyLogger::RxBufPolicy::bitmap:
    switch (l.guest->page_shift()) {
    case 12:
      return rx_bitmap<12>(q, pkts, nb_pkts, l);
    case 21:
      return rx_bitmap<21>(q, pkts, nb_pkts, l);
    default:
      return rx_bitmap<0>(q, pkts, nb_pkts, l);
    }
  case mig::DirtyLogger::RxBufPolicy::touch:
    if (likely(q.bufs_after_headers))
      return rx_touch(q, pkts, nb_pkts, l);
    return rx_general(q, pkts, nb_pkts, l);
  default:
    return rx_general(q, pkts, nb_pkts, l);
  }
}

}  // namespace

namespace {

template <bool kSecondary>
inline uint16_t rx_burst_impl(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) {
  auto &q = *static_cast<RxQueue *>(rxq);
  if (unlikely(!q.gate.enter()))
    return 0;
  /* Read once per burst, after enter()'s fence (the grace period pairs with it). */
  mig::DirtyLogger *const logger = __atomic_load_n(&q.dirty_logger, __ATOMIC_RELAXED);
  if (unlikely(logger != nullptr)) {
    if constexpr (kSecondary) {
      /* the logger is the primary's object: a secondary receives nothing while pages are logged */
      q.gate.leave();
      return 0;
    }
    if (!mig::queue_proven(*logger)) {
      /* the logger's pages are counted before the gate opens: once it opened, the control path
       * may retire the logger */
      const uint16_t nb_rx = rx_logging(q, pkts, nb_pkts, *logger);
      q.gate.leave();
      return nb_rx;
    }
  }
  /* Logging off, or bitmap logging with the queue proven marked (mig::QueueMarkScan): one receive
   * loop, without marks, then the proof checked once. */
  const uint16_t hold0 = q.nb_hold;
  mig::RxBufNoLog off;
  const uint16_t nb_rx = rx_loop(q, pkts, nb_pkts, off);
  if (unlikely(logger != nullptr) && q.nb_hold != hold0)
    rx_check_proof(q, pkts, nb_rx, *logger, hold0);
  if (q.nb_hold >= q.rx_free_thresh)
    refill<kSecondary>(q);
  q.gate.leave();
  return nb_rx;
}

}  // namespace

uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) { return rx_burst_impl<false>(rxq, pkts, nb_pkts); }

uint16_t rx_burst_secondary(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts) {
  return rx_burst_impl<true>(rxq, pkts, nb_pkts);
}

uint32_t rx_queue_count(void *rxq) {
  auto &q = *static_cast<RxQueue *>(rxq);
  uint32_t n = 0;
  uint16_t idx = q.rx_tail;
  while (n < uint32_t(q.nb_desc - 1 - q.nb_hold)) {
    if (!(q.ring[idx].wb.status_error & rte_cpu_to_le_32(RXD_STAT_DD)) || !q.sw_ring[idx])
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
  if (q.ring[idx].wb.status_error & rte_cpu_to_le_32(RXD_STAT_DD))
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
