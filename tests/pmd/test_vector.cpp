/* SPDX-License-Identifier: BSD-3-Clause
 * The vector receive path reports what the scalar path reports: one table of frames (checksums
 * good and bad, VLAN tags stripped, non-IP, sizes), sent to a port with vector=0 and to one with
 * vector=1 on the same PF, compared mbuf by mbuf (flags, packet type, lengths, VLAN, RSS hash,
 * bytes). The frames are all written back before the first receive, so that the vector loop sees
 * whole groups of four and the changes of classification inside them.
 */
#include <cstring>

#include <gtest/gtest.h>

#include "pmd_env.h"

using namespace ixlm_test;

namespace {

struct VectorVsScalar : public SimPortPair {
  std::unique_ptr<SimPort> c;  /* VF 2, vector=1; b (VF 1) gets vector=0 */
  uint8_t mac_c[6] = {0x02, 0, 0, 0, 0x0e, 0x0c};
  VectorVsScalar() : SimPortPair("vec", 0x0e, 4095) {}
  void SetUp() override {
    SimPortPair::SetUp();
    b.reset();
    b = std::make_unique<SimPort>("pf=" + pf + ",vf=1,mac=02:00:00:00:0e:0b,vector=0");
    c = std::make_unique<SimPort>("pf=" + pf + ",vf=2,mac=02:00:00:00:0e:0c,vector=1");
    ASSERT_TRUE(b->ok() && c->ok());
  }
  void TearDown() override {
    c.reset();
    SimPortPair::TearDown();
  }
};

std::string burst_mode(uint16_t port, bool rx) {
  rte_eth_burst_mode m{};
  int rc = rx ? rte_eth_rx_burst_mode_get(port, 0, &m) : rte_eth_tx_burst_mode_get(port, 0, &m);
  return rc == 0 ? m.info : "?";
}

/* The table: runs of one kind each, of lengths that make groups of four mix kinds. */
std::vector<std::vector<uint8_t>> table(const uint8_t dst[6], const uint8_t src[6]) {
  std::vector<std::vector<uint8_t>> t;
  const auto add = [&](int kind, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
      auto f = udp_frame(dst, src, 46 + 37 * ((t.size() * 7) % 11), kind == 3 ? uint16_t(100 + i) : 0);
      if (kind == 1)
        f[14 + 10] ^= 0xff;  /* IPv4 header checksum */
      if (kind == 2)
        f[40] ^= 0xff;       /* UDP checksum */
      if (kind == 4)
        f[12] = 0x88, f[13] = 0xb5;  /* not IP */
      f[30] = uint8_t(t.size());     /* destination IP: another RSS hash per frame */
      t.push_back(f);
    }
  };
  const int kinds[] = {0, 1, 3, 4, 0, 2, 3, 0, 4, 1, 0, 3, 2, 0};
  const unsigned runs[] = {8, 3, 5, 1, 9, 2, 4, 7, 6, 1, 4, 3, 5, 12};
  for (unsigned k = 0; k < std::size(kinds); k++)
    add(kinds[k], runs[k]);
  return t;
}

}  // namespace

TEST_F(VectorVsScalar, VectorRxReportsWhatScalarRxReportsFrameByFrame) {
  rte_eth_conf rc{};
  rc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
  rc.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;
  rc.rxmode.offloads = RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_CHECKSUM | RTE_ETH_RX_OFFLOAD_RSS_HASH;
  rte_eth_conf tc{};
  tc.txmode.offloads = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;  /* TearDown: every mbuf back in the pool */
  ASSERT_EQ(a->start(mp, 1, &tc), 0);
  /* two queues: the PF computes RSS for a pool of more than one (the frames of a flow land on the
   * same queue on both ports, compared queue by queue) */
  ASSERT_EQ(b->start(mp, 2, &rc), 0);
  ASSERT_EQ(c->start(mp, 2, &rc), 0);
  EXPECT_EQ(burst_mode(b->port, true), "Scalar");
  EXPECT_EQ(burst_mode(c->port, true), "Vector SSE4.2");
  EXPECT_EQ(burst_mode(a->port, false), "Vector SSE4.2");

  const auto fb = table(mac_b, mac_a), fc = table(mac_c, mac_a);
  ASSERT_EQ(fb.size(), fc.size());
  const unsigned n = unsigned(fb.size());
  for (const auto *t : {&fb, &fc}) {
    for (const auto &f : *t) {
      rte_mbuf *m = to_mbuf(mp, f);
      ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
    }
  }
  const auto ready = [&](uint16_t port) {
    return rte_eth_rx_queue_count(port, 0) + rte_eth_rx_queue_count(port, 1) >= int(n);
  };
  ASSERT_TRUE(wait_for([&] { return ready(b->port) && ready(c->port); }));
  std::vector<rte_mbuf *> gb, gc;
  for (uint16_t q = 0; q < 2; q++) {
    auto sb = rx_wait(b->port, rte_eth_rx_queue_count(b->port, q), std::chrono::milliseconds(500), q);
    auto sc = rx_wait(c->port, rte_eth_rx_queue_count(c->port, q), std::chrono::milliseconds(500), q);
    ASSERT_EQ(sb.size(), sc.size()) << "queue " << q;
    gb.insert(gb.end(), sb.begin(), sb.end());
    gc.insert(gc.end(), sc.begin(), sc.end());
  }
  ASSERT_EQ(gb.size(), n);
  ASSERT_EQ(gc.size(), n);
  unsigned rss = 0, vlan = 0, bad = 0;
  for (unsigned i = 0; i < n; i++) {
    const rte_mbuf *s = gb[i], *v = gc[i];
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(v->ol_flags, s->ol_flags);
    EXPECT_EQ(v->packet_type, s->packet_type);
    EXPECT_EQ(v->pkt_len, s->pkt_len);
    EXPECT_EQ(v->data_len, s->data_len);
    EXPECT_EQ(v->nb_segs, s->nb_segs);
    EXPECT_EQ(v->vlan_tci, s->vlan_tci);
    EXPECT_EQ(v->data_off, s->data_off);
    EXPECT_EQ(v->next, nullptr);
    if (s->ol_flags & RTE_MBUF_F_RX_RSS_HASH) {
      EXPECT_EQ(v->hash.rss, s->hash.rss);
      rss++;
    }
    vlan += (s->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0;
    bad += (s->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD)) != 0;
    auto bs = from_mbuf(s), bv = from_mbuf(v);
    ASSERT_EQ(bs.size(), bv.size());
    EXPECT_EQ(0, std::memcmp(bs.data() + 6, bv.data() + 6, bs.size() - 6)) << "bytes after the destination MAC";
  }
  /* the table exercised what it is for */
  EXPECT_GT(rss, 0u);
  EXPECT_GT(vlan, 0u);
  EXPECT_GT(bad, 0u);
  free_all(gb);
  free_all(gc);
}

TEST_F(VectorVsScalar, VectorIsRefusedWhenAskedScalarOrWithTxOffloads) {
  rte_eth_conf tc{};
  tc.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  ASSERT_EQ(a->start(mp, 1, &tc), 0);
  ASSERT_EQ(b->start(mp), 0);
  EXPECT_EQ(burst_mode(a->port, false), "Scalar");  /* a Tx offload the vector loop does not write */
  EXPECT_EQ(burst_mode(a->port, true), "Vector SSE4.2");
  EXPECT_EQ(burst_mode(b->port, true), "Scalar");   /* vector=0 */
  EXPECT_EQ(burst_mode(b->port, false), "Scalar");
}

/* The vector transmit path sends what it is given and counts it: bursts of every size from 1 to 37
 * (so that groups of four meet the ring's end, RS points fall inside groups and the ring wraps
 * many times), frames of many lengths, with and without MBUF_FAST_FREE (then with chains of two
 * among them, which the scalar loop writes), on a pool with a per-lcore cache (the fast-free
 * cleanup puts into it) and on one without. The peer receives every frame in order, byte for
 * byte; tx_q0_packets / tx_q0_bytes are the frames and bytes given; every mbuf comes back. */
TEST_F(VectorVsScalar, VectorTxSendsAndCountsEveryFrameItIsGiven) {
  for (const unsigned cache : {250u, 0u}) {
    for (const bool fast : {true, false}) {
      SCOPED_TRACE(std::string(fast ? "fast free" : "chains") + ", pool cache " + std::to_string(cache));
      rte_mempool *p = rte_pktmbuf_pool_create(unique("vectx").c_str(), 4095, cache, 0,
                                               RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
      ASSERT_TRUE(p);
      rte_eth_conf tc{};
      tc.txmode.offloads = fast ? RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE : 0;
      ASSERT_EQ(a->start(p, 1, &tc), 0);
      ASSERT_EQ(c->start(p), 0);
      EXPECT_EQ(burst_mode(a->port, false), "Vector SSE4.2");
      constexpr unsigned kFrames = 3000;
      std::vector<std::vector<uint8_t>> sent;
      uint64_t bytes = 0;
      unsigned got = 0, size = 0;
      bool same = true;
      const auto receive = [&] {
        rte_mbuf *r[64];
        const uint16_t n = rte_eth_rx_burst(c->port, 0, r, 64);
        for (uint16_t i = 0; i < n; i++) {
          same = same && got < sent.size() && from_mbuf(r[i]) == sent[got];
          got++;
          rte_pktmbuf_free(r[i]);
        }
      };
      ASSERT_TRUE(wait_for(
          [&] {
            if (sent.size() < kFrames) {
              const unsigned n = std::min(1 + size++ % 37, kFrames - unsigned(sent.size()));
              rte_mbuf *m[40];
              for (unsigned i = 0; i < n; i++) {
                const unsigned k = unsigned(sent.size()) + i;
                auto f = udp_frame(mac_c, mac_a, 18 + (k * 131) % 1400);
                f[30] = uint8_t(k);
                m[i] = to_mbuf(p, f, !fast && k % 7 == 3 ? 2 : 1);
                if (!m[i])
                  return true;  /* the pool ran dry: the counts below fail */
              }
              const uint16_t ok = rte_eth_tx_burst(a->port, 0, m, uint16_t(n));
              for (unsigned i = 0; i < n; i++) {
                if (i < ok) {
                  sent.push_back(from_mbuf(m[i]));
                  bytes += sent.back().size();
                } else {
                  rte_pktmbuf_free(m[i]);
                }
              }
            }
            receive();
            return got >= kFrames;
          },
          std::chrono::milliseconds(20000)))
          << "sent " << sent.size() << " received " << got;
      EXPECT_TRUE(same) << "a frame arrived other than sent, or out of order";
      EXPECT_EQ(xstat(a->port, "tx_q0_packets"), kFrames);
      EXPECT_EQ(xstat(a->port, "tx_q0_bytes"), bytes);
      ASSERT_EQ(rte_eth_dev_stop(a->port), 0);
      ASSERT_EQ(rte_eth_dev_stop(c->port), 0);
      EXPECT_EQ(rte_mempool_avail_count(p), p->size) << "mbufs lost";
      rte_mempool_free(p);
    }
  }
}
