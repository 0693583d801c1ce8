/* SPDX-License-Identifier: BSD-3-Clause
 * Tx queue setup, release, start and stop (driver-internal re-creation included).
 */
#include <algorithm>
#include <new>

#include <rte_cpuflags.h>
#include <rte_malloc.h>
extern "C" {
#include <rte_vect.h>  /* 22.11 declares rte_vect_get_max_simd_bitwidth without C linkage */
}

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {
constexpr uint64_t kGraceTimeoutUs = 100000;
/* Prefetch, host and write-back thresholds of TXDCTL (write-back threshold 0: RS-driven). */
constexpr uint32_t kTxPthresh = 32, kTxHthresh = 0, kTxWthresh = 0;
}  // namespace

void txq_free_mbufs(TxQueue &q) noexcept {
  if (!q.sw_ring)
    return;
  /* only the slots in flight hold mbufs: the fast-free cleanup leaves the others stale */
  const unsigned in_flight = q.nb_free < q.nb_desc ? unsigned(q.nb_desc - 1 - q.nb_free) : 0;
  for (unsigned k = 0, i = q.clean_from; k < in_flight; k++, i = i + 1 == q.nb_desc ? 0 : i + 1) {
    if (q.sw_ring[i])
      rte_pktmbuf_free_seg(q.sw_ring[i]);
  }
  std::fill_n(q.sw_ring, q.nb_desc, nullptr);
}

/* The ring's zone: the largest ring and a cache line for the head write-back word, which follows
 * the queue's descriptors (TDLEN is a multiple of 128 bytes: the word starts a line of its own). */
constexpr uint64_t kTxZoneBytes = kRingMaxDescs * sizeof(TxDesc) + RTE_CACHE_LINE_SIZE;

static void txq_reset_sw(TxQueue &q) {
  for (unsigned d = 0; d < q.nb_desc; d++) {
    q.ring[d].read.buffer_addr = 0;
    q.ring[d].read.cmd_type_len = 0;
    q.ring[d].read.olinfo_status = 0;
  }
  if (q.head_wb)
    *const_cast<volatile uint32_t *>(q.head_wb) = 0;  /* TDH starts at 0 */
  q.tx_tail = 0;
  q.clean_from = 0;
  q.nb_free = uint16_t(q.nb_desc - 1);
  q.rs_head = q.rs_count = 0;
  q.nb_used_since_rs = 0;
  q.ctx_curr = 0;
  q.ctx_in_flight = 0;
  for (auto &c : q.ctx)
    c = TxContextCache{};
  /* from the VF's MAC type, which a rebuild on another VF may change */
  q.outer_ipcs_cmd = q.ad ? tx_outer_ipcs_bit(q.ad->mac_type) : 0;
}

int txq_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_txconf *conf) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!ring_size_ok(dev, "txq", qid, nb_desc))
    return -EINVAL;
  uint16_t rs = conf->tx_rs_thresh ? conf->tx_rs_thresh : kDefaultTxRsThresh;
  uint16_t fr = conf->tx_free_thresh ? conf->tx_free_thresh : kDefaultTxFreeThresh;
  if (rs >= nb_desc - 2 || fr >= nb_desc - 3) {
    IXGBEVF_LM_LOG(ERR, "port %u txq %u: tx_rs_thresh %u / tx_free_thresh %u too large for %u descriptors",
                   dev->data->port_id, qid, rs, fr, nb_desc);
    return -EINVAL;
  }
  if (dev->data->tx_queues[qid])
    txq_release(dev, qid);
  void *mem = rte_zmalloc_socket("ixgbevf_lm_txq", sizeof(TxQueue), RTE_CACHE_LINE_SIZE, int(socket));
  if (!mem)
    return -ENOMEM;
  auto *q = new (mem) TxQueue();
  q->ad = &ad;
  q->nb_desc = nb_desc;
  q->rs_thresh = rs;
  q->free_thresh = fr;
  q->port_id = dev->data->port_id;
  q->queue_id = qid;
  q->socket_id = socket;
  q->conf = *conf;
  q->offloads = conf->offloads | dev->data->dev_conf.txmode.offloads;
  q->deferred_start = conf->tx_deferred_start;
  /* fast free without chains: a segment's next pointer needs no reset */
  q->fast_free = (q->offloads & (RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE | RTE_ETH_TX_OFFLOAD_MULTI_SEGS)) ==
                 RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  if (ad.sec && (q->offloads & RTE_ETH_TX_OFFLOAD_SECURITY))
    q->sec_sa_index = ad.sec->tx_sa_index.data();
  const rte_memzone *mz = rte_eth_dma_zone_reserve(dev, "tx_ring", qid, kTxZoneBytes, kRingBaseAlign, int(socket));
  q->sw_ring = static_cast<rte_mbuf **>(
      rte_zmalloc_socket("ixgbevf_lm_tx_sw", sizeof(rte_mbuf *) * nb_desc, RTE_CACHE_LINE_SIZE, int(socket)));
  q->rs_fifo = static_cast<uint16_t *>(
      rte_zmalloc_socket("ixgbevf_lm_tx_rs", sizeof(uint16_t) * nb_desc, RTE_CACHE_LINE_SIZE, int(socket)));
  if (!mz || !q->sw_ring || !q->rs_fifo) {
    rte_free(q->sw_ring);
    rte_free(q->rs_fifo);
    if (mz)
      rte_memzone_free(mz);
    q->~TxQueue();
    rte_free(mem);
    return -ENOMEM;
  }
  q->mz = mz;
  q->ring = static_cast<volatile TxDesc *>(mz->addr);
  q->ring_iova = mz->iova;
  if (ad.devargs.tx_head_wb) {
    const uint64_t off = uint64_t(nb_desc) * sizeof(TxDesc);
    q->head_wb = reinterpret_cast<volatile uint32_t *>(static_cast<uint8_t *>(mz->addr) + off);
    q->head_wb_iova = mz->iova + off;
  }
  q->tail.init(ad.hw, VFTDT(qid));
  txq_reset_sw(*q);
  dev->data->tx_queues[qid] = q;
  return 0;
}

void txq_release(rte_eth_dev *dev, uint16_t qid) noexcept {
  auto *q = static_cast<TxQueue *>(dev->data->tx_queues[qid]);
  if (!q)
    return;
  q->gate.quiesce(kQueueStopped, kGraceTimeoutUs);
  {
    auto lk = relay_lock();  /* the doorbell relay no longer sees the queue */
    dev->data->tx_queues[qid] = nullptr;
  }
  txq_free_mbufs(*q);
  rte_free(q->sw_ring);
  rte_free(q->rs_fifo);
  rte_memzone_free(q->mz);
  q->~TxQueue();
  rte_free(q);
}

int txq_start(rte_eth_dev *dev, uint16_t qid) noexcept {
  Adapter &ad = adapter_of(dev);
  auto *q = static_cast<TxQueue *>(dev->data->tx_queues[qid]);
  if (!q)
    return -EINVAL;
  const HwAccess &hw = ad.hw;
  txq_free_mbufs(*q);
  txq_reset_sw(*q);
  wr32(hw, VFTDBAL(qid), uint32_t(q->ring_iova));
  wr32(hw, VFTDBAH(qid), uint32_t(q->ring_iova >> 32));
  wr32(hw, VFTDLEN(qid), q->nb_desc * kDescSize);
  wr32(hw, VFTDH(qid), 0);
  {
    auto lk = relay_lock();  /* a secondary's doorbell posted before this restart is stale */
    relay_reset(q->shared_tail, 0);
  }
  wr32(hw, VFTDT(qid), 0);
  /* head write-back (tx_head_wb=1) or DD in the RS descriptors */
  wr32(hw, VFTDWBAL(qid), q->head_wb ? uint32_t(q->head_wb_iova) | TDWBAL_HEAD_WB_ENABLE : 0);
  wr32(hw, VFTDWBAH(qid), q->head_wb ? uint32_t(q->head_wb_iova >> 32) : 0);
  wr32(hw, VFTXDCTL(qid), TXDCTL_ENABLE | (kTxPthresh << TXDCTL_PTHRESH_SHIFT) |
                              (kTxHthresh << TXDCTL_HTHRESH_SHIFT) | (kTxWthresh << TXDCTL_WTHRESH_SHIFT));
  if (!poll_reg_bit(hw, VFTXDCTL(qid), TXDCTL_ENABLE, true, kQueueEnableTimeoutUs)) {
    IXGBEVF_LM_LOG(ERR, "port %u txq %u: TXDCTL.ENABLE did not read back", q->port_id, qid);
    return -EIO;
  }
  q->gate.state.store(kQueueRunning, std::memory_order_release);
  dev->data->tx_queue_state[qid] = RTE_ETH_QUEUE_STATE_STARTED;
  return 0;
}

bool tx_vec_allowed(const rte_eth_dev *dev, const char **why) noexcept {
  const Adapter &ad = adapter_of(const_cast<rte_eth_dev *>(dev));
  *why = nullptr;
  if (!ad.devargs.vector)
    *why = "vector=0";
  else if (rte_vect_get_max_simd_bitwidth() < RTE_VECT_SIMD_128 || !rte_cpu_get_flag_enabled(RTE_CPUFLAG_SSE4_2))
    *why = "no SSE4.2 allowed (max SIMD bitwidth, CPU)";
  for (uint16_t i = 0; *why == nullptr && i < dev->data->nb_tx_queues; i++) {
    const auto *q = static_cast<const TxQueue *>(dev->data->tx_queues[i]);
    if (q && (q->offloads & ~uint64_t(RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)) != 0)
      *why = "a Tx offload other than MBUF_FAST_FREE is enabled";
  }
  return *why == nullptr;
}

int txq_stop(rte_eth_dev *dev, uint16_t qid) noexcept {
  Adapter &ad = adapter_of(dev);
  auto *q = static_cast<TxQueue *>(dev->data->tx_queues[qid]);
  if (!q)
    return -EINVAL;
  if (!q->gate.quiesce(kQueueStopped, kGraceTimeoutUs))
    IXGBEVF_LM_LOG(WARNING, "port %u txq %u: a burst is still running", q->port_id, qid);
  /* let the device finish what it fetched, bounded, then disable */
  (void)poll_regs_equal(ad.hw, VFTDH(qid), VFTDT(qid), kQueueEnableTimeoutUs);
  wr32(ad.hw, VFTXDCTL(qid), rd32(ad.hw, VFTXDCTL(qid)) & ~TXDCTL_ENABLE);
  (void)poll_reg_bit(ad.hw, VFTXDCTL(qid), TXDCTL_ENABLE, false, kQueueEnableTimeoutUs);
  migration_tx_queue_stopping(*q);
  txq_free_mbufs(*q);
  txq_reset_sw(*q);
  dev->data->tx_queue_state[qid] = RTE_ETH_QUEUE_STATE_STOPPED;
  return 0;
}

void txq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_txq_info *qi) noexcept {
  const auto *q = static_cast<const TxQueue *>(dev->data->tx_queues[qid]);
  qi->nb_desc = q->nb_desc;
  qi->conf = q->conf;
  qi->conf.tx_rs_thresh = q->rs_thresh;
  qi->conf.tx_free_thresh = q->free_thresh;
  qi->conf.offloads = q->offloads;
}

}  // namespace ixgbevf_lm::pmd
