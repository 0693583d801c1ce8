/* SPDX-License-Identifier: BSD-3-Clause
 * Rx and Tx queues: the hot fields in the first cache line (the state word, the in-burst marker,
 * the ring and its indices), the configuration the queue was set up with after it, so that the
 * driver can tear a queue down and re-create it without the application (reset, migration).
 */
#pragma once

#include <atomic>
#include <cstdint>

#include <ethdev_driver.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_dirtylog.h"
#include "ixgbevf_lm_rxbuf_log.h"
#include "ixgbevf_lm_hw.h"

namespace ixgbevf_lm::pmd {

struct Adapter;

/* Ring sizes: the datasheet wants RDLEN/TDLEN in 128-byte units (8 descriptors); DPDK apps use up
 * to 4096. */
inline constexpr uint16_t kRingDescAlign = hw::kRingLenAlign / hw::kDescSize;
inline constexpr uint16_t kRingMaxDescs = 4096;
inline constexpr uint16_t kRingMinDescs = hw::kMinRingDescs;
/* Refill the Rx ring in batches of this many buffers (one tail write per batch). */
inline constexpr uint16_t kDefaultRxFreeThresh = 32;
/* Ask for a Tx write-back every this many descriptors; clean when fewer than kDefaultTxFreeThresh are free. */
inline constexpr uint16_t kDefaultTxRsThresh = 32;
inline constexpr uint16_t kDefaultTxFreeThresh = 32;
/* Rx write-back error bits of a frame the MAC found broken (CRC, length, RXE: any MAC error). The
 * PF stores such frames only with FCTRL.SBP; the driver drops them as bad write-backs. PE/OSE are
 * not among them: with SECP they are the IPsec engine's result (flags_of). */
inline constexpr uint32_t kRxFrameErrors = hw::RXDADV_ERR_CE | hw::RXDADV_ERR_LE | hw::RXDADV_ERR_USE;
/* The most buffers a frame spans: the largest frame (with an FCS the PF kept) in full buffers. A
 * chain with no EOP by then is a bad write-back. */
inline constexpr uint16_t rx_max_segs(uint32_t buf_size) {
  return uint16_t((hw::kMaxFrameSize + 4 + buf_size - 1) / buf_size);
}
/* Bad write-backs are reported at most once per this interval per queue (the count in between
 * goes into the next line and every one into xstats). */
inline constexpr uint64_t kBadWbLogIntervalMs = 1000;
/* Frames the hardware refuses to chain over more buffers than this without TSO. */
inline constexpr uint16_t kTxMaxSegs = hw::kTxMaxSegsPerFrame;

/* Queue state word, read once per burst by the burst functions. */
enum QueueState : uint32_t {
  kQueueStopped = 0,   /* not set up or stopped: bursts return 0 */
  kQueueRunning = 1,
  kQueuePaused = 2,    /* driver-internal reconfiguration (reset, migration): bursts return 0 */
};

/* Burst guard: a per-queue sequence counter, odd while an lcore is inside a burst (incremented on
 * enter and on leave by the queue's one lcore: a relaxed load and store, no atomic RMW), and the
 * state word, read once per burst. A control thread that changed the state or a logger pointer
 * waits for a grace period with grace(): it is over when the counter is even (no burst) or differs
 * from the odd value first seen (that burst left; a later one sees the change). An lcore calling
 * burst back to back therefore never holds a grace period up.
 *
 * The store of the odd value and the loads of state and logger that follow it must not be seen in
 * the other order by the control thread (store-load: the one reordering x86 does). The fence for it
 * is asymmetric: the burst has only a compiler barrier, and the control thread, after publishing
 * its change and before reading the counter, runs gate_barrier(): membarrier(PRIVATE_EXPEDITED), a
 * full barrier on every CPU running a thread of this process. Either the burst's loads come after
 * that barrier on its CPU, and so after the control thread's stores (they precede the system call),
 * or they came before it, and then so did the odd store, which the barrier made visible before the
 * control thread reads the counter. Where membarrier is not available (an old kernel, seccomp),
 * gate_fence_needed() is true from the driver's load on and enter() pays the seq_cst fence, as do a
 * secondary process's bursts (kFence), which the primary's membarrier does not reach
 * (doc/design/migration-driver.md, "Queue gates"). */
bool gate_fence_needed() noexcept;
/* Control path: the heavy half of the asymmetric fence, after publishing, before reading gates. */
void gate_barrier() noexcept;

namespace detail {
extern bool g_gate_fence;  /* set once at load: membarrier unavailable */
}

struct QueueGate {
  std::atomic<uint32_t> state{kQueueStopped};
  std::atomic<uint32_t> seq{0};

  template <bool kFence = false>
  bool enter() {
    const uint32_t s = seq.load(std::memory_order_relaxed);
    seq.store(s + 1, std::memory_order_relaxed);
    if (kFence || __builtin_expect(detail::g_gate_fence, 0))
      std::atomic_thread_fence(std::memory_order_seq_cst);
    else
      std::atomic_signal_fence(std::memory_order_seq_cst);  /* gate_barrier() is the other half */
    if (state.load(std::memory_order_relaxed) == kQueueRunning)
      return true;
    seq.store(s + 2, std::memory_order_release);
    return false;
  }
  void leave() { seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  bool in_burst() const { return (seq.load(std::memory_order_acquire) & 1u) != 0; }
  /* Control path: wait (bounded by timeout_us) until every burst that was in flight when called has
   * left. The caller published its change before calling. */
  bool grace(uint64_t timeout_us) const;
  /* Control path: set a non-running state and wait (bounded) for the grace period. */
  bool quiesce(uint32_t new_state, uint64_t timeout_us);
};

/* The vector receive loop's memo (ixgbevf_lm_rx.cpp, rx_loop_vec): the write-back bits that the
 * flags, packet type and VLAN of a frame depend on, as the scalar path last classified a
 * single-buffer frame, and what it wrote for them. Any descriptor that differs goes through the
 * scalar path, which teaches the memo its result. */
struct alignas(16) RxVecMemo {
  uint64_t key[2] = {0, 0};        /* descriptor & kVecKeyMask; 0: none (DD is always in a key) */
  uint64_t rearm[2] = {0, 0};      /* rearm_data, ol_flags */
  uint64_t ptype[2] = {0, 0};      /* packet_type in the low 32 bits */
  /* the shuffle from the descriptor to rx_descriptor_fields1 (lengths, RSS hash, and vlan_tci when
   * VP, else zeros there) */
  uint64_t shuf[2] = {0, 0};
  /* the key test's mask with the length test on it (rx_loop_vec, memo_kmask), made for the buffer
   * size kmask_for (UINT32_MAX, no buffer size: not made yet) */
  uint64_t kmask[2] = {0, 0};
  uint32_t kmask_for = UINT32_MAX;
};

struct RxQueue {
  /* ---- hot: first cache line ---- */
  QueueGate gate;
  volatile hw::RxDesc *ring = nullptr;
  rte_mbuf **sw_ring = nullptr;
  mig::DirtyLogger *dirty_logger = nullptr; /* nullptr unless migration logs dirty pages */
  uint64_t mbuf_initializer = 0;            /* rearm_data of a fresh mbuf */
  uint16_t nb_desc = 0;
  uint16_t rx_tail = 0;                      /* next descriptor to look at */
  uint16_t rdt = 0;                          /* last value written to RDT */
  uint16_t nb_hold = 0;                      /* consumed descriptors not yet refilled */
  uint16_t rx_free_thresh = kDefaultRxFreeThresh;
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  bool vlan_strip = false;
  bool tunnel = false;                       /* X550: tunnel packet types and OUTERIPCS are reported */
  bool bufs_after_headers = true;            /* not a pool of pinned external buffers (dirty_log=touch) */
  uint32_t header_to_data = 0;               /* such a pool: from an mbuf to its received data */
  /* ---- second line: chaining, doorbell, counters ---- */
  alignas(RTE_CACHE_LINE_SIZE) rte_mbuf *pkt_first_seg = nullptr;
  rte_mbuf *pkt_last_seg = nullptr;
  TailDoorbell tail;                         /* the primary's; a secondary rings through shared_tail */
  SharedTail shared_tail;
  rte_mempool *mp = nullptr;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t mbuf_alloc_failed = 0;
  uint64_t errors = 0;
  uint16_t max_segs = 0;                     /* rx_max_segs(buf_size) */
  bool discard = false;                      /* dropping the rest of a bad frame, up to its EOP */
  /* ---- third line: the vector loop's memo ---- */
  alignas(RTE_CACHE_LINE_SIZE) RxVecMemo vmemo;
  /* ---- cold: what the queue was set up with ---- */
  Adapter *ad = nullptr;
  const rte_memzone *mz = nullptr;
  uint64_t ring_iova = 0;
  unsigned socket_id = 0;
  rte_eth_rxconf conf{};
  uint64_t offloads = 0;
  uint32_t buf_size = 0;                     /* bytes per buffer (SRRCTL granularity) */
  bool deferred_start = false;
  /* bad write-backs (rx_bad_writeback): counted per reason, reported at most once per interval */
  uint64_t bad_wb_length = 0;                /* length 0 or beyond the buffer */
  uint64_t bad_wb_mac_error = 0;             /* kRxFrameErrors */
  uint64_t bad_wb_no_eop = 0;                /* no EOP within max_segs buffers */
  uint64_t bad_wb_unreported = 0;
  uint64_t bad_wb_log_after = 0;             /* timer cycles */
};

struct TxContextCache {
  uint64_t key = 0;       /* offload fields the context was built for; 0: empty */
  uint32_t vlan_macip_lens = 0;
  uint32_t seqnum_seed = 0;  /* IPsec SA index; X550 tunnels: outer IP and tunnel lengths */
  uint32_t type_tucmd_mlhl = 0;
  uint32_t mss_l4len = 0;
};

struct TxQueue {
  /* ---- hot ---- */
  QueueGate gate;
  volatile hw::TxDesc *ring = nullptr;
  /* mbuf segment per descriptor in flight (nullptr for contexts); slots outside
   * [clean_from, tx_tail) may hold stale pointers */
  rte_mbuf **sw_ring = nullptr;
  uint16_t *rs_fifo = nullptr;               /* descriptors that carry RS, oldest first */
  mig::DirtyLogger *dirty_logger = nullptr; /* read once per burst */
  uint16_t nb_desc = 0;
  uint16_t tx_tail = 0;                      /* next descriptor to fill */
  uint16_t nb_free = 0;
  uint16_t clean_from = 0;                   /* oldest descriptor not yet cleaned */
  uint16_t rs_head = 0, rs_count = 0;        /* rs_fifo ring */
  uint16_t nb_used_since_rs = 0;
  uint16_t rs_thresh = kDefaultTxRsThresh;
  uint16_t free_thresh = kDefaultTxFreeThresh;
  uint8_t ctx_curr = 0;
  bool fast_free = false;                    /* RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: one pool, refcnt 1 */
  uint16_t ctx_in_flight = 0;                /* context descriptors not yet cleaned (slots without mbuf) */
  uint32_t outer_ipcs_cmd = 0;               /* X550: the OUTERIPCS bit of cmd_type_len; 0: no tunnel offloads */
  /* tx_head_wb=1: where the device writes TDH back after it processed descriptors (little
   * endian), instead of DD into the RS descriptors; nullptr: DD */
  const volatile uint32_t *head_wb = nullptr;
  /* ---- second line ---- */
  alignas(RTE_CACHE_LINE_SIZE) TxContextCache ctx[hw::kTxContextSlots];
  /* inline IPsec: session slot -> Tx SA index (nullptr: none); the primary's memory, never used
   * by a secondary's burst */
  const uint16_t *sec_sa_index = nullptr;
  TailDoorbell tail;                         /* the primary's; a secondary rings through shared_tail */
  SharedTail shared_tail;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  /* ---- cold ---- */
  Adapter *ad = nullptr;
  const rte_memzone *mz = nullptr;
  uint64_t ring_iova = 0;
  uint64_t head_wb_iova = 0;
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  unsigned socket_id = 0;
  rte_eth_txconf conf{};
  uint64_t offloads = 0;
  bool deferred_start = false;
  /* head write-backs outside [clean_from, tx_tail] (tx_bad_head): counted, reported as on Rx */
  uint64_t bad_wb_head = 0;
  uint64_t bad_wb_unreported = 0;
  uint64_t bad_wb_log_after = 0;
};

/* ixgbevf_lm_rxq.cpp */
/* A ring size the device takes (RDLEN/TDLEN a multiple of 128 bytes, within the driver's bounds);
 * logs the refusal naming the queue ("rxq"/"txq"). */
bool ring_size_ok(const rte_eth_dev *dev, const char *kind, uint16_t qid, uint16_t nb_desc) noexcept;
int rxq_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_rxconf *conf,
              rte_mempool *mp) noexcept;
void rxq_release(rte_eth_dev *dev, uint16_t qid) noexcept;
int rxq_start(rte_eth_dev *dev, uint16_t qid) noexcept;
int rxq_stop(rte_eth_dev *dev, uint16_t qid) noexcept;
void rxq_free_mbufs(RxQueue &q) noexcept;
int rxq_hw_enable(Adapter &ad, RxQueue &q) noexcept;
void rxq_hw_disable(Adapter &ad, RxQueue &q) noexcept;
void rxq_set_vlan_strip(Adapter &ad, RxQueue &q, bool on) noexcept;
/* rxq_info_get / txq_info_get: what the queue was set up with, as the driver applied it */
void rxq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_rxq_info *qi) noexcept;
void txq_info_get(rte_eth_dev *dev, uint16_t qid, rte_eth_txq_info *qi) noexcept;

/* ixgbevf_lm_txq.cpp */
int txq_setup(rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned socket, const rte_eth_txconf *conf) noexcept;
void txq_release(rte_eth_dev *dev, uint16_t qid) noexcept;
int txq_start(rte_eth_dev *dev, uint16_t qid) noexcept;
int txq_stop(rte_eth_dev *dev, uint16_t qid) noexcept;
void txq_free_mbufs(TxQueue &q) noexcept;

/* ixgbevf_lm_rx.cpp / ixgbevf_lm_tx.cpp (C ABI: installed as the ethdev burst functions) */
uint16_t rx_burst(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t tx_burst(void *txq, rte_mbuf **pkts, uint16_t nb_pkts);
/* The vector paths (SSE4.2): descriptors four at a time; whatever they cannot express (a chained
 * frame, a descriptor the memo does not know, a partial group of four, a frame with a Tx offload
 * flag) goes through the scalar code within the same burst, on the same queue state. */
uint16_t rx_burst_vec(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t tx_burst_vec(void *txq, rte_mbuf **pkts, uint16_t nb_pkts);
/* Whether the port's queues qualify for the vector paths (ixgbevf_lm_ethdev.cpp at dev_start);
 * `why` names the first condition that failed. */
bool rx_vec_allowed(const rte_eth_dev *dev, const char **why) noexcept;
bool tx_vec_allowed(const rte_eth_dev *dev, const char **why) noexcept;
/* The same in a secondary process: rings through ring_secondary(), and returns 0 while the
 * primary logs dirty pages (the logger is the primary's) as during a rebuild. */
uint16_t rx_burst_secondary(void *rxq, rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t tx_burst_secondary(void *txq, rte_mbuf **pkts, uint16_t nb_pkts);
uint16_t tx_prepare(void *txq, rte_mbuf **pkts, uint16_t nb_pkts);
uint32_t rx_queue_count(void *rxq);
int rx_descriptor_status(void *rxq, uint16_t offset);
int tx_descriptor_status(void *txq, uint16_t offset);
const uint32_t *supported_ptypes(rte_eth_dev *dev);
/* Refill every empty Rx slot (queue start); returns 0 or -ENOMEM. */
int rx_refill_all(RxQueue &q) noexcept;
int tx_done_cleanup(void *txq, uint32_t free_cnt);

/* Install this process's burst and descriptor functions on the port (primary or secondary). */
inline void install_datapath(rte_eth_dev *dev, bool secondary, bool vec_rx = false, bool vec_tx = false) noexcept {
  dev->rx_pkt_burst = secondary ? rx_burst_secondary : vec_rx ? rx_burst_vec : rx_burst;
  dev->tx_pkt_burst = secondary ? tx_burst_secondary : vec_tx ? tx_burst_vec : tx_burst;
  dev->tx_pkt_prepare = tx_prepare;
  dev->rx_queue_count = rx_queue_count;
  dev->rx_descriptor_status = rx_descriptor_status;
  dev->tx_descriptor_status = tx_descriptor_status;
}

}  // namespace ixgbevf_lm::pmd
