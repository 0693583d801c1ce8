/* SPDX-License-Identifier: BSD-3-Clause
 * The vector transmit burst writes the descriptors the scalar one writes: two Tx queues set up
 * alike on memory of this process, one driven by tx_burst, the other by tx_burst_vec, given the
 * same bursts (every size from 0 to 40; frames of one segment, chains, frames with a VLAN tag to
 * insert, which take a context descriptor) and completed alike by a device that sets DD in what
 * was handed to it. After each burst: the same number of frames taken, the same tail, and each
 * descriptor written the same (command, lengths, RS points, context fields), its buffer address
 * that of its own mbuf; the same frame and byte counts; at the end every mbuf back in the pool.
 * Rings of 32, 64 and 256 descriptors; RS every 1 to 32 descriptors; with and without fast free;
 * pools with and without a per-lcore cache.
 */
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_rxtx.h"
#include "pmd_env.h"

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::pmd;

namespace {

uint32_t reg_read(void *, uint32_t) { return 0; }
void reg_write(void *ctx, uint32_t, uint32_t v) { *static_cast<uint32_t *>(ctx) = v; }

/* A Tx queue as txq_setup and txq_start leave it, on this process's memory. */
struct LocalTxq {
  HwAccess hw{};
  uint32_t tdt = 0;
  TxQueue q;
  std::vector<hw::TxDesc> ring;
  std::vector<rte_mbuf *> sw;
  std::vector<uint16_t> fifo;

  LocalTxq(uint16_t nb_desc, uint16_t rs, bool fast_free) : ring(nb_desc), sw(nb_desc), fifo(nb_desc) {
    hw.read = reg_read;
    hw.write = reg_write;
    hw.ctx = &tdt;
    q.ring = ring.data();
    q.sw_ring = sw.data();
    q.rs_fifo = fifo.data();
    q.nb_desc = nb_desc;
    q.nb_free = uint16_t(nb_desc - 1);
    q.rs_thresh = rs;
    q.free_thresh = uint16_t(std::min<unsigned>(32, nb_desc / 2));
    q.fast_free = fast_free;
    q.tail.init(hw, hw::VFTDT(0));
    q.gate.state.store(kQueueRunning);
  }
  /* the device: done with everything handed over (DD in every descriptor before the tail) */
  void complete() {
    for (unsigned i = q.clean_from; i != q.tx_tail; i = i + 1 == q.nb_desc ? 0 : i + 1)
      __atomic_or_fetch(&q.ring[i].wb.status, hw::ADVTXD_STAT_DD, __ATOMIC_RELEASE);
  }
};

/* One frame of the burst: its length, its segments and whether it asks for a VLAN tag. */
struct Shape {
  uint16_t len;
  unsigned segs;
  bool vlan;
};

rte_mbuf *make(rte_mempool *mp, const Shape &s) {
  rte_mbuf *head = nullptr;
  for (unsigned k = 0; k < s.segs; k++) {
    rte_mbuf *m = rte_pktmbuf_alloc(mp);
    if (!m || !rte_pktmbuf_append(m, uint16_t(s.len / s.segs)))
      return nullptr;
    if (!head)
      head = m;
    else if (rte_pktmbuf_chain(head, m) != 0)
      return nullptr;
  }
  if (s.vlan) {
    head->ol_flags |= RTE_MBUF_F_TX_VLAN;
    head->vlan_tci = uint16_t(100 + s.len % 7);
    head->l2_len = 14;
  }
  return head;
}

void run(uint16_t nb_desc, uint16_t rs, bool fast_free, unsigned cache, uint32_t seed) {
  SCOPED_TRACE("ring " + std::to_string(nb_desc) + ", rs_thresh " + std::to_string(rs) +
               (fast_free ? ", fast free" : "") + ", cache " + std::to_string(cache));
  rte_mempool *mp = rte_pktmbuf_pool_create(ixlm_test::unique("txvec").c_str(), 2047, cache, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_TRUE(mp);
  {
    LocalTxq s(nb_desc, rs, fast_free), v(nb_desc, rs, fast_free);
    std::mt19937 rng(seed);
    uint64_t frames = 0, bytes = 0;
    for (unsigned round = 0; round < 400; round++) {
      const unsigned n = rng() % 41;
      std::vector<Shape> shapes(n);
      for (auto &sh : shapes) {
        const unsigned kind = rng() % 16;
        sh = Shape{uint16_t(60 + rng() % 1440), 1, false};
        if (kind == 0 && !fast_free)
          sh.segs = 2;
        if (kind == 1)
          sh.vlan = true;
      }
      rte_mbuf *ms[48], *mv[48];
      for (unsigned i = 0; i < n; i++) {
        ms[i] = make(mp, shapes[i]);
        mv[i] = make(mp, shapes[i]);
        ASSERT_TRUE(ms[i] && mv[i]);
      }
      const unsigned tail0 = s.q.tx_tail;
      ASSERT_EQ(v.q.tx_tail, tail0);
      const uint16_t ns = tx_burst(&s.q, ms, uint16_t(n));
      const uint16_t nv = tx_burst_vec(&v.q, mv, uint16_t(n));
      ASSERT_EQ(nv, ns) << "round " << round;
      ASSERT_EQ(v.q.tx_tail, s.q.tx_tail) << "round " << round;
      for (unsigned i = 0; i < ns; i++) {
        frames++;
        bytes += ms[i]->pkt_len;
      }
      for (unsigned i = ns; i < n; i++) {
        rte_pktmbuf_free(ms[i]);
        rte_pktmbuf_free(mv[i]);
      }
      for (unsigned d = tail0; d != s.q.tx_tail; d = d + 1 == nb_desc ? 0 : d + 1) {
        SCOPED_TRACE("round " + std::to_string(round) + ", descriptor " + std::to_string(d));
        const auto &a = s.ring[d].read, &b = v.ring[d].read;
        EXPECT_EQ(b.cmd_type_len, a.cmd_type_len);
        EXPECT_EQ(b.olinfo_status, a.olinfo_status);
        ASSERT_EQ(s.sw[d] == nullptr, v.sw[d] == nullptr);
        if (s.sw[d]) {  /* a data descriptor: its own buffer */
          EXPECT_EQ(a.buffer_addr, rte_mbuf_data_iova(s.sw[d]));
          EXPECT_EQ(b.buffer_addr, rte_mbuf_data_iova(v.sw[d]));
          EXPECT_EQ(v.sw[d]->data_len, s.sw[d]->data_len);
        } else {        /* a context descriptor: the same fields */
          EXPECT_EQ(b.buffer_addr, a.buffer_addr);
        }
      }
      EXPECT_EQ(v.tdt, s.tdt);
      if (rng() % 3 != 0) {  /* the device catches up, not always before the next burst */
        s.complete();
        v.complete();
      }
    }
    EXPECT_EQ(s.q.packets, frames);
    EXPECT_EQ(v.q.packets, frames);
    EXPECT_EQ(s.q.bytes, bytes);
    EXPECT_EQ(v.q.bytes, bytes);
    txq_free_mbufs(s.q);
    txq_free_mbufs(v.q);
  }
  EXPECT_EQ(rte_mempool_avail_count(mp), mp->size) << "mbufs lost";
  rte_mempool_free(mp);
}

}  // namespace

TEST(TxVector, WritesTheDescriptorsTheScalarBurstWrites) {
  uint32_t seed = 1;
  for (const uint16_t nb_desc : {32, 64, 256})
    for (const uint16_t rs : {1, 2, 3, 4, 5, 8, 13, 32})
      for (const bool fast_free : {true, false})
        for (const unsigned cache : {0u, 64u}) {
          if (rs >= nb_desc - 2)
            continue;
          run(nb_desc, rs, fast_free, cache, seed++);
          if (HasFatalFailure())
            return;
        }
}
