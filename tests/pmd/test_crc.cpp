/* SPDX-License-Identifier: BSD-3-Clause
 * CRC stripping is the PF's (HLREG0.RXCRCSTRP, for every function): frames reach a VF without
 * their FCS when the PF strips it (the default), with it when the PF keeps it; a VF port does not
 * offer RTE_ETH_RX_OFFLOAD_KEEP_CRC and refuses it at configure.
 */
#include <gtest/gtest.h>

#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;

namespace {

/* IEEE 802.3 CRC-32, computed here bit by bit. */
uint32_t crc32_ieee(const std::vector<uint8_t> &f) {
  uint32_t c = 0xFFFFFFFF;
  for (uint8_t b : f) {
    c ^= b;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

struct CrcPair : public SimPortPair {
  std::shared_ptr<model::PfModel> pf_model;
  bool strip;
  CrcPair(bool s) : SimPortPair(s ? "crcs" : "crck", s ? 0x07 : 0x08, 1023), strip(s) {}
  void SetUp() override {
    pf_model = make_pf(pf, [this](model::PfConfig &c) { c.rx_crc_strip = strip; });
    SimPortPair::SetUp();
  }
  void TearDown() override {
    SimPortPair::TearDown();
    pf_model.reset();
  }
};
struct CrcStripPf : public CrcPair {
  CrcStripPf() : CrcPair(true) {}
};
struct CrcKeepPf : public CrcPair {
  CrcKeepPf() : CrcPair(false) {}
};

}  // namespace

TEST_F(CrcStripPf, FramesArriveWithoutFcsAndKeepCrcIsRefused) {
  rte_eth_dev_info info;
  ASSERT_EQ(rte_eth_dev_info_get(a->port, &info), 0);
  EXPECT_FALSE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_KEEP_CRC);
  rte_eth_conf c{};
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_KEEP_CRC;
  EXPECT_EQ(rte_eth_dev_configure(b->port, 1, 1, &c), -EINVAL);

  ASSERT_EQ(a->start(mp), 0);
  ASSERT_EQ(b->start(mp), 0);
  auto f = udp_frame(mac_b, mac_a, 100);
  rte_mbuf *m = to_mbuf(mp, f);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(from_mbuf(got[0]), f);
  free_all(got);
}

TEST_F(CrcKeepPf, FramesArriveWithTheirFcsWhenThePfKeepsIt) {
  ASSERT_EQ(a->start(mp), 0);
  ASSERT_EQ(b->start(mp), 0);
  auto f = udp_frame(mac_b, mac_a, 100);
  rte_mbuf *m = to_mbuf(mp, f);
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  auto r = from_mbuf(got[0]);
  ASSERT_EQ(r.size(), f.size() + 4);
  EXPECT_TRUE(std::equal(f.begin(), f.end(), r.begin()));
  uint32_t fcs = crc32_ieee(f);
  EXPECT_EQ(r[f.size()], uint8_t(fcs));
  EXPECT_EQ(r[f.size() + 1], uint8_t(fcs >> 8));
  EXPECT_EQ(r[f.size() + 2], uint8_t(fcs >> 16));
  EXPECT_EQ(r[f.size() + 3], uint8_t(fcs >> 24));
  free_all(got);
}
