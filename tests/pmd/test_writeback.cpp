/* SPDX-License-Identifier: BSD-3-Clause
 * Bad descriptor write-backs (a device that writes what no 82599 writes, through the model's fault
 * knobs): each is dropped, counted in its xstat, and loses no mbuf; good frames flow again once the
 * device behaves. The pool is counted before the ports exist and after they are closed.
 */
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <ixgbevf_lm/hw/hw.h>

#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;

namespace {

struct BadWb : public ::testing::Test {
  std::string pf = unique("badwb");
  uint8_t mac_a[6] = {0x02, 0, 0, 0, 0x77, 0x0a};
  uint8_t mac_b[6] = {0x02, 0, 0, 0, 0x77, 0x0b};
  rte_mempool *mp = nullptr;
  unsigned avail0 = 0;
  std::shared_ptr<model::PfModel> model;
  std::unique_ptr<SimPort> a, b;

  void SetUp() override {
    mp = pool(unique("badwbmp"), 4095);
    ASSERT_TRUE(mp);
    avail0 = rte_mempool_avail_count(mp);
    model = make_pf(pf, [](model::PfConfig &) {});
    a = std::make_unique<SimPort>("pf=" + pf + ",vf=0,mac=02:00:00:00:77:0a,tx_head_wb=1");
    b = std::make_unique<SimPort>("pf=" + pf + ",vf=1,mac=02:00:00:00:77:0b");
    ASSERT_TRUE(a->ok() && b->ok());
    ASSERT_EQ(a->start(mp), 0);
    ASSERT_EQ(b->start(mp), 0);
  }
  void TearDown() override {
    a.reset();
    b.reset();
    model.reset();
    if (mp) {
      EXPECT_EQ(rte_mempool_avail_count(mp), avail0) << "mbufs lost";
      rte_mempool_free(mp);
    }
  }
  unsigned send(unsigned n, size_t payload = 100) {
    auto f = udp_frame(mac_b, mac_a, payload);
    unsigned sent = 0;
    for (unsigned i = 0; i < n; i++) {
      rte_mbuf *m = to_mbuf(mp, f);
      if (rte_eth_tx_burst(a->port, 0, &m, 1) != 1)
        rte_pktmbuf_free(m);
      else
        sent++;
    }
    return sent;
  }
  /* n frames, each retried while the Tx ring is full (the device drains it at its own pace), for at
   * most 5 s in all: the count a test needs does not depend on how fast the model thread runs */
  unsigned send_all(unsigned n, size_t payload = 100) {
    auto f = udp_frame(mac_b, mac_a, payload);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    unsigned sent = 0;
    for (unsigned i = 0; i < n; i++) {
      rte_mbuf *m = to_mbuf(mp, f);
      while (rte_eth_tx_burst(a->port, 0, &m, 1) != 1) {
        if (std::chrono::steady_clock::now() >= end) {
          rte_pktmbuf_free(m);
          return sent;
        }
        std::this_thread::yield();
      }
      sent++;
    }
    return sent;
  }
  /* what b receives until the device has written back `frames` frames in all (VFGPRC) */
  unsigned drain_until_delivered(uint64_t frames) {
    unsigned got = 0;
    wait_for([&] {
      rte_mbuf *r[32];
      uint16_t n = rte_eth_rx_burst(b->port, 0, r, 32);
      for (uint16_t i = 0; i < n; i++)
        rte_pktmbuf_free(r[i]);
      got += n;
      rte_eth_stats st;
      rte_eth_stats_get(b->port, &st);
      return n == 0 && st.ipackets >= frames;
    });
    return got;
  }
  /* what b receives while the counter `name` reaches `want` (or the bound passes) */
  unsigned drain_until(const char *name, uint64_t want) {
    unsigned got = 0;
    wait_for([&] {
      rte_mbuf *r[32];
      uint16_t n = rte_eth_rx_burst(b->port, 0, r, 32);
      for (uint16_t i = 0; i < n; i++)
        rte_pktmbuf_free(r[i]);
      got += n;
      return xstat(b->port, name) >= want;
    });
    return got;
  }
  void faults(const std::function<void(model::Faults &)> &f) {
    model::Faults x;
    f(x);
    model->set_faults(x);
  }
};

}  // namespace

TEST_F(BadWb, LengthBeyondTheBufferIsDroppedAndCounted) {
  faults([](model::Faults &f) { f.rx_wb_length = 60000; });
  send(8);
  EXPECT_EQ(drain_until("rx_bad_wb_length", 8), 0u) << "no frame of a bad length reaches the application";
  EXPECT_EQ(xstat(b->port, "rx_bad_wb_length"), 8u);
  faults([](model::Faults &) {});
  send(4);
  auto got = rx_wait(b->port, 4);
  EXPECT_EQ(got.size(), 4u) << "good frames flow again";
  free_all(got);
}

TEST_F(BadWb, MacErrorBitsAreDroppedAndCounted) {
  faults([](model::Faults &f) { f.rx_wb_error_bits = hw::RXDADV_ERR_USE; });
  send(5);
  EXPECT_EQ(drain_until("rx_bad_wb_mac_error", 5), 0u);
  EXPECT_EQ(xstat(b->port, "rx_bad_wb_mac_error"), 5u);
}

TEST_F(BadWb, FramesWithoutEopAreDroppedWithoutHoldingTheRing) {
  faults([](model::Faults &f) { f.rx_wb_no_eop = true; });
  /* more descriptors than the ring holds: a driver that kept chaining would run dry */
  const unsigned sent = send_all(600);
  ASSERT_GT(sent, 256u);
  EXPECT_EQ(drain_until_delivered(sent), 0u) << "no frame without EOP reaches the application";
  EXPECT_GE(xstat(b->port, "rx_bad_wb_no_eop"), 1u);
  faults([](model::Faults &) {});
  send(4);
  /* the first good frame ends the dropped one (its EOP); the rest arrive */
  auto got = rx_wait(b->port, 3);
  EXPECT_EQ(got.size(), 3u);
  free_all(got);
}

TEST_F(BadWb, TxHeadBeyondTheTailIsIgnoredAndCounted) {
  faults([](model::Faults &f) { f.tx_head_wb_beyond_tail = true; });
  send(200);
  EXPECT_TRUE(wait_for([&] {
    send(1);
    return xstat(a->port, "tx_bad_wb_head") >= 1;
  }));
  /* the mbufs the queue could not clean go back at its close (TearDown counts the pool) */
}

namespace {

/* Frames written back with a length of exactly the buffer's size are delivered with it, one byte
 * more are dropped and counted: eight at a time, all written back before the receive, so that the
 * vector loop (b's default) sees them in groups of four (its length test rides on the key test, up
 * to the largest power of two within the buffer; longer ones go to the scalar loop's exact test). */
void lengths_at_the_buffer_size(BadWb &t, uint16_t port) {
  rte_eth_rxq_info qi{};
  ASSERT_EQ(rte_eth_rx_queue_info_get(port, 0, &qi), 0);
  const uint16_t bs = qi.rx_buf_size;
  const uint64_t bad0 = xstat(port, "rx_bad_wb_length");
  for (const uint16_t len : {bs, uint16_t(bs + 1)}) {
    SCOPED_TRACE("length " + std::to_string(len) + ", buffer " + std::to_string(bs));
    t.faults([&](model::Faults &f) { f.rx_wb_length = len; });
    ASSERT_EQ(t.send(8), 8u);
    ASSERT_TRUE(wait_for([&] { return rte_eth_rx_queue_count(port, 0) >= 8; }));
    rte_mbuf *r[32];
    const uint16_t n = rte_eth_rx_burst(port, 0, r, 32);
    for (uint16_t i = 0; i < n; i++) {
      EXPECT_EQ(r[i]->data_len, len);
      EXPECT_EQ(r[i]->pkt_len, len);
      rte_pktmbuf_free(r[i]);
    }
    if (len == bs) {
      EXPECT_EQ(n, 8u);
      EXPECT_EQ(xstat(port, "rx_bad_wb_length"), bad0);
    } else {
      EXPECT_EQ(n, 0u);
      EXPECT_EQ(xstat(port, "rx_bad_wb_length"), bad0 + 8);
    }
  }
  t.faults([](model::Faults &) {});
}

}  // namespace

TEST_F(BadWb, LengthOfTheBufferSizeIsDeliveredOneMoreIsDropped) {
  lengths_at_the_buffer_size(*this, b->port);
}

TEST_F(BadWb, LengthOfAnOddBufferSizeIsDeliveredOneMoreIsDropped) {
  /* b again, on a pool of 3 KiB buffers (not a power of two) */
  b.reset();
  rte_mempool *mp3 = pool(unique("badwb3k"), 1023, 3072 + RTE_PKTMBUF_HEADROOM);
  ASSERT_TRUE(mp3);
  const unsigned avail3 = rte_mempool_avail_count(mp3);
  b = std::make_unique<SimPort>("pf=" + pf + ",vf=1,mac=02:00:00:00:77:0b");
  ASSERT_TRUE(b->ok());
  ASSERT_EQ(b->start(mp3), 0);
  lengths_at_the_buffer_size(*this, b->port);
  b.reset();
  EXPECT_EQ(rte_mempool_avail_count(mp3), avail3) << "mbufs lost";
  rte_mempool_free(mp3);
}
