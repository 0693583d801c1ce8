/* SPDX-License-Identifier: BSD-3-Clause
 * The vector receive burst against a device that writes back out of ring order: one Rx queue set up
 * as the driver sets it up, on memory of this process, and a test that plays the device. The
 * vector loop reads a group of four once the last one's DD is set; a descriptor before it that the
 * device has not written back yet must not be delivered (nor its mbuf lost): the burst stops
 * before it, and delivers it and the rest, in order, once it is written back.
 */
#include <cstring>
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

struct LocalRxq : public ::testing::Test {
  HwAccess hw{};
  uint32_t rdt = 0;
  RxQueue q;
  std::vector<hw::RxDesc> ring = std::vector<hw::RxDesc>(64);
  std::vector<rte_mbuf *> sw = std::vector<rte_mbuf *>(64);
  rte_mempool *mp = nullptr;

  void SetUp() override {
    mp = rte_pktmbuf_pool_create(ixlm_test::unique("rxvec").c_str(), 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                 SOCKET_ID_ANY);
    ASSERT_TRUE(mp);
    hw.read = reg_read;
    hw.write = reg_write;
    hw.ctx = &rdt;
    q.ring = ring.data();
    q.sw_ring = sw.data();
    q.nb_desc = uint16_t(ring.size());
    q.mp = mp;
    q.rx_free_thresh = 16;
    q.buf_size = 2048;
    q.max_segs = rx_max_segs(q.buf_size);
    q.tail.init(hw, hw::VFRDT(0));
    rte_mbuf def{};
    def.nb_segs = 1;
    def.data_off = RTE_PKTMBUF_HEADROOM;
    rte_mbuf_refcnt_set(&def, 1);
    std::memcpy(&q.mbuf_initializer, &def.rearm_data, sizeof q.mbuf_initializer);
    ASSERT_EQ(rx_refill_all(q), 0);
    q.gate.state.store(kQueueRunning);
  }
  void TearDown() override {
    rxq_free_mbufs(q);
    EXPECT_EQ(rte_mempool_avail_count(mp), mp->size) << "mbufs lost";
    rte_mempool_free(mp);
  }
  /* the device writes back descriptor i: a frame of len bytes, UDP/IPv4, checksums good */
  void writeback(unsigned i, uint16_t len) {
    volatile hw::RxDesc &d = q.ring[i];
    d.wb.pkt_info = uint16_t(hw::RXDADV_PKTTYPE_IPV4 | hw::RXDADV_PKTTYPE_UDP);
    d.wb.hdr_info = 0;
    d.wb.rss = 0;
    d.wb.length = len;
    d.wb.vlan = 0;
    __atomic_store_n(&d.wb.status_error, hw::RXD_STAT_DD | hw::RXD_STAT_EOP | hw::RXD_STAT_IPCS | hw::RXD_STAT_L4CS,
                     __ATOMIC_RELEASE);
  }
  uint16_t receive(std::vector<uint16_t> &lens) {
    rte_mbuf *pkts[32];
    const uint16_t n = rx_burst_vec(&q, pkts, 32);
    for (uint16_t i = 0; i < n; i++) {
      lens.push_back(pkts[i]->data_len);
      EXPECT_EQ(pkts[i]->pkt_len, pkts[i]->data_len);
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
};

}  // namespace

TEST_F(LocalRxq, VectorRxStopsBeforeADescriptorTheDeviceHasNotWrittenBackYet) {
  std::vector<uint16_t> lens;
  writeback(0, 100);  /* the scalar loop takes the first and teaches the memo */
  ASSERT_EQ(receive(lens), 1);
  /* 1..8 written back but 3, whose group's last one (4) has DD */
  for (unsigned i = 1; i <= 8; i++)
    if (i != 3)
      writeback(i, uint16_t(100 + i));
  EXPECT_EQ(receive(lens), 2) << "frames past a descriptor without DD were delivered";
  writeback(3, 103);
  EXPECT_EQ(receive(lens), 6);
  EXPECT_EQ(lens, (std::vector<uint16_t>{100, 101, 102, 103, 104, 105, 106, 107, 108}));
  EXPECT_EQ(q.packets, 9u);
  EXPECT_EQ(q.bytes, 100u * 9 + 36);
}
