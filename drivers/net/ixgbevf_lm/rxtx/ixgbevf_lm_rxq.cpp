/* SPDX-License-Identifier: BSD-3-Clause
 * Rx queue setup, release, start and stop. Start and stop are driver-internal operations too: a
 * reset or a migration re-creates a queue from what it was set up with (RxQueue's cold fields).
 */
#include <cstring>
#include <new>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cpuflags.h>
#include <rte_malloc.h>
extern "C" {
#include <rte_vect.h>  /* 22.11 declares rte_vect_get_max_simd_bitwidth without C linkage */
}
#include <rte_pause.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_relay.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace detail {
bool g_gate_fence = true;
}

namespace {
long membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
}  // namespace

/* At load, before any queue exists: the bursts skip their fence only if every later grace period
 * can pay with membarrier (registered for this process). */
RTE_INIT(ixgbevf_lm_gate_init) {
  const long cmds = membarrier(MEMBARRIER_CMD_QUERY);
  if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
    detail::g_gate_fence = false;
}

bool gate_fence_needed() noexcept { return detail::g_gate_fence; }

void gate_barrier() noexcept {
  if (detail::g_gate_fence || membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
    std::atomic_thread_fence(std::memory_order_seq_cst);  /* the bursts fence themselves */
}

bool QueueGate::grace(uint64_t timeout_us) const {
  gate_barrier();
  const uint32_t first = seq.load(std::memory_order_acquire);
  if ((first & 1u) == 0)
    return true;
  const uint64_t t0 = now_us();
  while (seq.load(std::memory_order_acquire) == first) {
    if (now_us() - t0 > timeout_us)
      return false;
    rte_pause();
  }
  return true;
}

bool QueueGate::quiesce(uint32_t new_state, uint64_t timeout_us) {
  state.store(new_state, std::memory_order_relaxed);
  return grace(timeout_us);
}

namespace {
constexpr uint64_t kGraceTimeoutUs = 100000;

}  // namespace

void rxq_free_mbufs(RxQueue &q) noexcept {
  if (q.sw_ring) {
    for (unsigned i = 0; i < q.nb_desc; i++) {
      if (q.sw_ring[i]) {
        rte_pktmbuf_free_seg(q.sw_ring[i]);
        q.sw_ring[i] = nullptr;
      }
    }
  }
  if (q.pkt_first_seg)
    rte_pktmbuf_free(q.pkt_first_seg);
  q.pkt_first_seg = q.pkt_last_seg = nullptr;
  q.discard = false;
}

bool ring_size_ok(const rte_eth_dev *dev, const char *kind, uint16_t qid, uint16_t nb_desc) noexcept {
  if (nb_desc % kRingDescAlign == 0 && nb_desc >= kRingMinDescs && nb_desc <= kRingMaxDescs)
    return true;
  IXGBEVF_LM_LOG(ERR, "port %u %s %u: %u descriptors; need %u..%u, a multiple of %u", dev->data->port_id, kind, qid,
                 nb_desc, kRingMinDescs, kRingMaxDescs, kRingDescAlign);
  return false;
}

int rxq_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_rxconf *conf,
              rte_mempool *mp) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!ring_size_ok(dev, "rxq", qid, nb_desc))
    return -EINVAL;
  uint16_t free_thresh = conf->rx_free_thresh ? conf->rx_free_thresh : kDefaultRxFreeThresh;
  if (free_thresh >= nb_desc) {
    IXGBEVF_LM_LOG(ERR, "port %u rxq %u: rx_free_thresh %u must be below the ring size %u", dev->data->port_id,
                   qid, free_thresh, nb_desc);
    return -EINVAL;
  }
  uint32_t room = rte_pktmbuf_data_room_size(mp);
  if (room < RTE_PKTMBUF_HEADROOM + 1024) {
    IXGBEVF_LM_LOG(ERR, "port %u rxq %u: mbuf data room %u too small (at least headroom + 1 KiB)",
                   dev->data->port_id, qid, room);
    return -EINVAL;
  }
  if (dev->data->rx_queues[qid])
    rxq_release(dev, qid);

  void *mem = rte_zmalloc_socket("ixgbevf_lm_rxq", sizeof(RxQueue), RTE_CACHE_LINE_SIZE, int(socket));
  if (!mem)
    return -ENOMEM;
  auto *q = new (mem) RxQueue();
  q->ad = &ad;
  q->nb_desc = nb_desc;
  q->rx_free_thresh = free_thresh;
  q->port_id = dev->data->port_id;
  q->queue_id = qid;
  q->mp = mp;
  q->bufs_after_headers = (rte_pktmbuf_priv_flags(mp) & RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF) == 0;
  q->header_to_data = uint32_t(sizeof(rte_mbuf)) + rte_pktmbuf_priv_size(mp) + RTE_PKTMBUF_HEADROOM;
  q->socket_id = socket;
  q->conf = *conf;
  q->offloads = conf->offloads | dev->data->dev_conf.rxmode.offloads;
  q->deferred_start = conf->rx_deferred_start;
  /* SRRCTL counts the buffer in KiB */
  uint32_t kib = (room - RTE_PKTMBUF_HEADROOM) >> SRRCTL_BSIZEPKT_SHIFT;
  if (kib > SRRCTL_BSIZEPKT_MASK)
    kib = SRRCTL_BSIZEPKT_MASK;
  q->buf_size = kib << SRRCTL_BSIZEPKT_SHIFT;
  q->max_segs = rx_max_segs(q->buf_size);

  const rte_memzone *mz = rte_eth_dma_zone_reserve(dev, "rx_ring", qid, kRingMaxDescs * sizeof(RxDesc),
                                                   kRingBaseAlign, int(socket));
  q->sw_ring = static_cast<rte_mbuf **>(
      rte_zmalloc_socket("ixgbevf_lm_rx_sw", sizeof(rte_mbuf *) * nb_desc, RTE_CACHE_LINE_SIZE, int(socket)));
  if (!mz || !q->sw_ring) {
    rte_free(q->sw_ring);
    if (mz)
      rte_memzone_free(mz);
    q->~RxQueue();
    rte_free(mem);
    return -ENOMEM;
  }
  q->mz = mz;
  q->ring = static_cast<volatile RxDesc *>(mz->addr);
  q->ring_iova = mz->iova;
  q->tail.init(ad.hw, VFRDT(qid));

  rte_mbuf def{};
  def.nb_segs = 1;
  def.data_off = RTE_PKTMBUF_HEADROOM;
  def.port = q->port_id;
  rte_mbuf_refcnt_set(&def, 1);
  std::memcpy(&q->mbuf_initializer, &def.rearm_data, sizeof q->mbuf_initializer);

  dev->data->rx_queues[qid] = q;
  return 0;
}

void rxq_release(rte_eth_dev *dev, uint16_t qid) noexcept {
  auto *q = static_cast<RxQueue *>(dev->data->rx_queues[qid]);
  if (!q)
    return;
  q->gate.quiesce(kQueueStopped, kGraceTimeoutUs);
  {
    auto lk = relay_lock();  /* the doorbell relay no longer sees the queue */
    dev->data->rx_queues[qid] = nullptr;
  }
  rxq_free_mbufs(*q);
  rte_free(q->sw_ring);
  rte_memzone_free(q->mz);
  q->~RxQueue();
  rte_free(q);
}

void rxq_hw_disable(Adapter &ad, RxQueue &q) noexcept {
  uint32_t v = rd32(ad.hw, VFRXDCTL(q.queue_id));
  wr32(ad.hw, VFRXDCTL(q.queue_id), v & ~RXDCTL_ENABLE);
  if (!poll_reg_bit(ad.hw, VFRXDCTL(q.queue_id), RXDCTL_ENABLE, false, kQueueEnableTimeoutUs))
    IXGBEVF_LM_LOG(WARNING, "port %u rxq %u: did not stop in time", q.port_id, q.queue_id);
}

/* Program the ring (the VF was reset or the queue stopped), fill it and enable it. */
int rxq_hw_enable(Adapter &ad, RxQueue &q) noexcept {
  const HwAccess &hw = ad.hw;
  unsigned i = q.queue_id;
  for (unsigned d = 0; d < q.nb_desc; d++) {
    q.ring[d].read.pkt_addr = 0;
    q.ring[d].read.hdr_addr = 0;
  }
  q.rx_tail = 0;
  q.nb_hold = 0;
  q.tunnel = has_tunnel_offloads(ad.mac_type);  /* the VF's MAC type: a rebuild may land on another */
  q.vmemo = RxVecMemo{};  /* learnt again: the classification may differ on that VF */
  int rc = rx_refill_all(q);
  if (rc) {
    IXGBEVF_LM_LOG(ERR, "port %u rxq %u: cannot fill the ring (mempool %s empty)", q.port_id, i, q.mp->name);
    return rc;
  }
  wr32(hw, VFRDBAL(i), uint32_t(q.ring_iova));
  wr32(hw, VFRDBAH(i), uint32_t(q.ring_iova >> 32));
  wr32(hw, VFRDLEN(i), q.nb_desc * kDescSize);
  wr32(hw, VFRDH(i), 0);
  wr32(hw, VFRDT(i), 0);
  wr32(hw, VFSRRCTL(i), (q.buf_size >> SRRCTL_BSIZEPKT_SHIFT) | SRRCTL_DESCTYPE_ADV_ONEBUF | SRRCTL_DROP_EN);
  uint32_t rxdctl = RXDCTL_ENABLE | (q.vlan_strip ? RXDCTL_VME : 0);
  wr32(hw, VFRXDCTL(i), rxdctl);
  if (!poll_reg_bit(hw, VFRXDCTL(i), RXDCTL_ENABLE, true, kQueueEnableTimeoutUs)) {
    IXGBEVF_LM_LOG(ERR, "port %u rxq %u: RXDCTL.ENABLE did not read back", q.port_id, i);
    return -EIO;
  }
  {
    auto lk = relay_lock();  /* a secondary's doorbell posted before this restart is stale */
    relay_reset(q.shared_tail, q.rdt);
  }
  rte_io_wmb();
  q.tail.ring(q.rdt);
  return 0;
}

void rxq_set_vlan_strip(Adapter &ad, RxQueue &q, bool on) noexcept {
  q.vlan_strip = on;
  if (q.gate.state.load() != kQueueRunning)
    return;
  uint32_t v = rd32(ad.hw, VFRXDCTL(q.queue_id));
  wr32(ad.hw, VFRXDCTL(q.queue_id), on ? (v | RXDCTL_VME) : (v & ~RXDCTL_VME));
}

int rxq_start(rte_eth_dev *dev, uint16_t qid) noexcept {
  Adapter &ad = adapter_of(dev);
  auto *q = static_cast<RxQueue *>(dev->data->rx_queues[qid]);
  if (!q)
    return -EINVAL;
  q->vlan_strip = ad.cfg.vlan_strip || (q->offloads & RTE_ETH_RX_OFFLOAD_VLAN_STRIP);
  int rc = rxq_hw_enable(ad, *q);
  if (rc) {
    rxq_free_mbufs(*q);
    return rc;
  }
  q->gate.state.store(kQueueRunning, std::memory_order_release);
  dev->data->rx_queue_state[qid] = RTE_ETH_QUEUE_STATE_STARTED;
  return 0;
}

bool rx_vec_allowed(const rte_eth_dev *dev, const char **why) noexcept {
  const Adapter &ad = adapter_of(const_cast<rte_eth_dev *>(dev));
  *why = nullptr;
  if (!ad.devargs.vector)
    *why = "vector=0";
  else if (rte_vect_get_max_simd_bitwidth() < RTE_VECT_SIMD_128 || !rte_cpu_get_flag_enabled(RTE_CPUFLAG_SSE4_2))
    *why = "no SSE4.2 allowed (max SIMD bitwidth, CPU)";
  else if (dev->data->scattered_rx)
    *why = "scattered receive (a frame does not fit one buffer)";
  for (uint16_t i = 0; *why == nullptr && i < dev->data->nb_rx_queues; i++) {
    const auto *q = static_cast<const RxQueue *>(dev->data->rx_queues[i]);
    if (q && (q->offloads & RTE_ETH_RX_OFFLOAD_SECURITY))
      *why = "inline IPsec (RTE_ETH_RX_OFFLOAD_SECURITY)";
  }
  return *why == nullptr;
}

int rxq_stop(rte_eth_dev *dev, uint16_t qid) noexcept {
  Adapter &ad = adapter_of(dev);
  auto *q = static_cast<RxQueue *>(dev->data->rx_queues[qid]);
  if (!q)
    return -EINVAL;
  if (!q->gate.quiesce(kQueueStopped, kGraceTimeoutUs))
    IXGBEVF_LM_LOG(WARNING, "port %u rxq %u: a burst is still running", q->port_id, qid);
  rxq_hw_disable(ad, *q);
  migration_rx_queue_stopping(*q);
  rxq_free_mbufs(*q);
  dev->data->rx_queue_state[qid] = RTE_ETH_QUEUE_STATE_STOPPED;
  return 0;
}

void rxq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_rxq_info *qi) noexcept {
  const auto *q = static_cast<const RxQueue *>(dev->data->rx_queues[qid]);
  qi->mp = q->mp;
  qi->scattered_rx = dev->data->scattered_rx;
  qi->nb_desc = q->nb_desc;
  qi->rx_buf_size = uint16_t(q->buf_size);
  qi->conf = q->conf;
  qi->conf.rx_free_thresh = q->rx_free_thresh;
  qi->conf.offloads = q->offloads;
}

}  // namespace ixgbevf_lm::pmd
