/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the Rx descriptor and Tx head/DD write-backs as the burst functions read them. One
 * Rx and one Tx queue, set up as the driver sets them up (rx_refill_all, the same fields), run
 * with the driver's own rx_burst/rx_burst_vec and tx_burst/tx_burst_vec; the input is a hostile
 * device: it writes any 16 bytes into any Rx descriptor (DD on one the driver never posted,
 * lengths beyond the buffer, EOP never set, every status and error bit), well-formed frames and
 * chains for the vector path to take, any value into the Tx head word or DD into any Tx
 * descriptor. After every burst each frame returned is checked (lengths within its buffers, the
 * chain as long as nb_segs says, mbufs of the pool, none returned twice, none still in the ring)
 * and freed; at the end the queues are emptied and every mbuf of the pool must be back.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_rxtx.h"

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::pmd;

namespace {

constexpr unsigned kPoolSize = 2048;
constexpr uint16_t kDataRoom = 2048 + RTE_PKTMBUF_HEADROOM;
rte_mempool *g_pool = nullptr;

[[noreturn]] void finding(const char *what) {
  std::fprintf(stderr, "fuzz_writeback: %s\n", what);
  std::abort();
}

/* The doorbells: the last tail the driver wrote per queue (the device's view of the ring). */
struct Doorbells {
  uint32_t rdt = 0, tdt = 0;
};
uint32_t reg_read(void *, uint32_t) { return 0; }
void reg_write(void *ctx, uint32_t off, uint32_t v) {
  auto &d = *static_cast<Doorbells *>(ctx);
  if (off == hw::VFRDT(0))
    d.rdt = v;
  else if (off == hw::VFTDT(0))
    d.tdt = v;
}

struct Input {
  const uint8_t *p;
  size_t n;
  size_t pos = 0;
  bool empty() const { return pos >= n; }
  uint8_t u8() { return pos < n ? p[pos++] : 0; }
  uint16_t u16() { return uint16_t(u8() | (u8() << 8)); }
  uint32_t u32() { return uint32_t(u16()) | (uint32_t(u16()) << 16); }
};

/* Both queues as rxq_setup/txq_setup and their start leave them, on memory of this process. */
struct Queues {
  HwAccess hw;
  Doorbells bells;
  RxQueue rx;
  TxQueue tx;
  std::vector<hw::RxDesc> rx_ring_mem;
  std::vector<hw::TxDesc> tx_ring_mem;
  std::vector<rte_mbuf *> rx_sw, tx_sw;
  std::vector<uint16_t> rs_fifo;
  alignas(64) uint32_t head_word = 0;
  uint16_t dev_head = 0;  /* the next Rx descriptor a well-behaved device would write */

  Queues(uint16_t nb_rx, uint16_t nb_tx, bool head_wb)
      : rx_ring_mem(nb_rx), tx_ring_mem(nb_tx), rx_sw(nb_rx), tx_sw(nb_tx), rs_fifo(nb_tx) {
    hw.read = reg_read;
    hw.write = reg_write;
    hw.ctx = &bells;
    rx.ring = rx_ring_mem.data();
    rx.sw_ring = rx_sw.data();
    rx.nb_desc = nb_rx;
    rx.mp = g_pool;
    rx.rx_free_thresh = uint16_t(nb_rx / 4);
    rx.buf_size = 2048;
    rx.max_segs = rx_max_segs(rx.buf_size);
    rx.tail.init(hw, hw::VFRDT(0));
    rte_mbuf def{};
    def.nb_segs = 1;
    def.data_off = RTE_PKTMBUF_HEADROOM;
    rte_mbuf_refcnt_set(&def, 1);
    std::memcpy(&rx.mbuf_initializer, &def.rearm_data, sizeof rx.mbuf_initializer);
    if (rx_refill_all(rx) != 0)
      finding("Rx ring not filled at start");
    bells.rdt = rx.rdt;
    rx.gate.state.store(kQueueRunning);

    tx.ring = tx_ring_mem.data();
    tx.sw_ring = tx_sw.data();
    tx.rs_fifo = rs_fifo.data();
    tx.nb_desc = nb_tx;
    tx.nb_free = uint16_t(nb_tx - 1);
    tx.rs_thresh = uint16_t(nb_tx / 4);
    tx.free_thresh = uint16_t(nb_tx / 4);
    tx.head_wb = head_wb ? &head_word : nullptr;
    tx.tail.init(hw, hw::VFTDT(0));
    tx.gate.state.store(kQueueRunning);
  }
};

/* A frame the driver returned: consistent with the buffers it came in, each of the pool once. */
void check_frame(const Queues &qs, rte_mbuf *m, std::set<const rte_mbuf *> &seen) {
  uint32_t segs = 0, len = 0;
  for (rte_mbuf *s = m; s; s = s->next) {
    if (s->pool != g_pool || rte_mbuf_refcnt_read(s) != 1)
      finding("an mbuf not of the pool, or shared");
    if (!seen.insert(s).second)
      finding("an mbuf returned twice");
    if (s->data_len == 0 || s->data_len > qs.rx.buf_size ||
        uint32_t(s->data_off) + s->data_len > s->buf_len)
      finding("a segment's length outside its buffer");
    for (uint16_t i = 0; i < qs.rx.nb_desc; i++)
      if (qs.rx.sw_ring[i] == s)
        finding("a returned mbuf still in the Rx ring");
    if (++segs > qs.rx.max_segs)
      finding("a chain longer than the largest frame");
    len += s->data_len;
  }
  if (segs != m->nb_segs || len != m->pkt_len)
    finding("nb_segs or pkt_len disagree with the chain");
}

/* The driver's Rx state: every descriptor it handed to the device has its mbuf. */
void check_rx_state(const RxQueue &q) {
  if (q.nb_hold >= q.nb_desc || q.rx_tail >= q.nb_desc || q.rdt >= q.nb_desc)
    finding("Rx indices out of range");
  const unsigned posted = q.nb_desc - 1u - q.nb_hold;
  for (unsigned k = 0; k < posted; k++)
    if (!q.sw_ring[(q.rx_tail + k) % q.nb_desc])
      finding("a posted Rx descriptor without its mbuf");
}

void rx_writeback(Queues &qs, uint16_t idx, Input &in) {
  uint8_t raw[16];
  for (auto &b : raw)
    b = in.u8();
  std::memcpy(const_cast<hw::RxDesc *>(&qs.rx.ring[idx % qs.rx.nb_desc]), raw, sizeof raw);
}

/* Well-formed frames of one class (the memo's key) at the device's head, as far as RDT allows:
 * single buffers, or chains of full buffers ending in EOP. */
void rx_frames(Queues &qs, Input &in) {
  const uint8_t count = in.u8() % 24;
  const uint8_t segs = 1 + in.u8() % 3;
  const uint32_t info = in.u32();
  const uint32_t st_bits = in.u32() & ~(hw::RXD_STAT_DD | hw::RXD_STAT_EOP | kRxFrameErrors);
  const uint16_t last_len = uint16_t(1 + in.u16() % qs.rx.buf_size);
  for (unsigned f = 0; f < count; f++) {
    for (unsigned s = 0; s < segs; s++) {
      if (qs.dev_head == qs.bells.rdt)
        return;  /* the device owns no more descriptors */
      volatile hw::RxDesc &d = qs.rx.ring[qs.dev_head];
      const bool eop = s + 1 == segs;
      d.wb.pkt_info = uint16_t(info);
      d.wb.hdr_info = uint16_t(info >> 16);
      d.wb.rss = info * 2654435761u;
      d.wb.length = eop ? last_len : uint16_t(qs.rx.buf_size);
      d.wb.vlan = uint16_t(info >> 4);
      __atomic_store_n(&d.wb.status_error, st_bits | hw::RXD_STAT_DD | (eop ? hw::RXD_STAT_EOP : 0),
                       __ATOMIC_RELEASE);
      qs.dev_head = uint16_t(qs.dev_head + 1 == qs.rx.nb_desc ? 0 : qs.dev_head + 1);
    }
  }
}

void rx_burst_op(Queues &qs, bool vec, Input &in) {
  rte_mbuf *pkts[64];
  const uint16_t want = uint16_t(1 + in.u8() % 64);
  const uint16_t n = vec ? rx_burst_vec(&qs.rx, pkts, want) : rx_burst(&qs.rx, pkts, want);
  if (n > want)
    finding("more frames than asked for");
  std::set<const rte_mbuf *> seen;
  for (uint16_t i = 0; i < n; i++)
    check_frame(qs, pkts[i], seen);
  check_rx_state(qs.rx);
  for (uint16_t i = 0; i < n; i++)
    rte_pktmbuf_free(pkts[i]);
}

void tx_burst_op(Queues &qs, bool vec, Input &in) {
  rte_mbuf *pkts[48];
  const uint16_t want = uint16_t(in.u8() % 48);
  const uint8_t shape = in.u8();
  uint16_t n = 0;
  for (; n < want; n++) {
    rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
    if (!m)
      break;
    rte_pktmbuf_append(m, uint16_t(60 + (shape + n) % 1400));
    if ((shape & 0x80) && n % 3 == 0) {  /* a chain of two */
      if (rte_mbuf *s = rte_pktmbuf_alloc(g_pool)) {
        rte_pktmbuf_append(s, 100);
        if (rte_pktmbuf_chain(m, s) != 0)
          rte_pktmbuf_free(s);
      }
    }
    pkts[n] = m;
  }
  const uint16_t sent = vec ? tx_burst_vec(&qs.tx, pkts, n) : tx_burst(&qs.tx, pkts, n);
  if (sent > n)
    finding("more frames sent than given");
  for (uint16_t i = sent; i < n; i++)
    rte_pktmbuf_free(pkts[i]);
  if (qs.tx.nb_free >= qs.tx.nb_desc || qs.tx.rs_count >= qs.tx.nb_desc)
    finding("Tx free count or RS points out of range");
}

/* A device that did its job: DD in every descriptor handed over, or the head at the tail. */
void tx_complete(Queues &qs) {
  if (qs.tx.head_wb)
    __atomic_store_n(&qs.head_word, qs.bells.tdt, __ATOMIC_RELEASE);
  for (uint16_t i = 0; i < qs.tx.nb_desc; i++)
    if (qs.tx.sw_ring[i])
      __atomic_or_fetch(&qs.tx.ring[i].wb.status, hw::ADVTXD_STAT_DD, __ATOMIC_RELEASE);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *eal[] = {"fuzz_writeback", "--no-pci", "--no-huge", "-m", "64", "--no-shconf", "-l", "0",
                       "--log-level=lib.eal:error", "--log-level=pmd.net.ixgbevf_lm.*:error"};
  if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0)
    finding("EAL init failed");
  g_pool = rte_pktmbuf_pool_create("fuzz_wb", kPoolSize, 0, 0, kDataRoom, SOCKET_ID_ANY);
  if (!g_pool)
    finding("no mempool");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Input in{data, size};
  const uint8_t cfg = in.u8();
  static const uint16_t kSizes[] = {32, 64, 128, 256};
  const uint16_t nb_rx = kSizes[cfg & 3], nb_tx = kSizes[(cfg >> 2) & 3];
  const bool vec_rx = cfg & 0x10, vec_tx = cfg & 0x20;
  {
    Queues qs(nb_rx, nb_tx, cfg & 0x40);
    for (unsigned ops = 0; !in.empty() && ops < 512; ops++) {
      const uint8_t op = in.u8();
      switch (op % 8) {
      case 0: rx_writeback(qs, in.u16(), in); break;
      case 1: rx_frames(qs, in); break;
      case 2: rx_burst_op(qs, vec_rx, in); break;
      case 3: tx_burst_op(qs, vec_tx, in); break;
      case 4: __atomic_store_n(&qs.head_word, in.u32(), __ATOMIC_RELEASE); break;
      case 5: {
        const uint16_t i = in.u16() % qs.tx.nb_desc;
        __atomic_store_n(&qs.tx.ring[i].wb.status, in.u32(), __ATOMIC_RELEASE);
        break;
      }
      case 6: tx_complete(qs); break;
      default: qs.dev_head = in.u16() % qs.rx.nb_desc; break;  /* the device skips around */
      }
    }
    /* the queues stop: what they hold goes back (rxq_free_mbufs / txq_free_mbufs) */
    rxq_free_mbufs(qs.rx);
    txq_free_mbufs(qs.tx);
  }
  if (rte_mempool_avail_count(g_pool) != kPoolSize) {
    std::fprintf(stderr, "fuzz_writeback: %u of %u mbufs back\n", rte_mempool_avail_count(g_pool), kPoolSize);
    finding("mbufs lost");
  }
  return 0;
}
