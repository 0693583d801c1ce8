/* SPDX-License-Identifier: BSD-3-Clause
 * Inline IPsec across a live migration: the SAs the application created (rte_security sessions)
 * are configuration; after the VM moves to a VF of another PF the driver has them programmed
 * there (VF_IPSEC_ADD on the destination PF), and ESP keeps flowing both ways: what the port sends
 * opens with OpenSSL under the SA key, what arrives sealed under it is decrypted by the device.
 */
#include <cstring>

#include <gtest/gtest.h>
#include <rte_security.h>
#include <rte_security_driver.h>

#include <ixgbevf_lm/hypervisor/uplink.h>

#include "../common/esp_frames.h"
#include "mig_rig.h"

namespace mig_test {
namespace {

using namespace esp_test;

struct Sessions {
  rte_mempool *mp = nullptr;
  rte_security_ctx *ctx = nullptr;
  std::vector<void *> s;
  ~Sessions() {
    for (void *x : s)
      rte_security_session_destroy(ctx, x);
    if (mp)
      rte_mempool_free(mp);
  }
  void *create(bool egress, uint32_t spi) {
    if (!mp)
      mp = rte_mempool_create(unique("msess").c_str(), 15,
                              sizeof(rte_security_session) + rte_security_session_get_size(ctx), 0, 0, nullptr,
                              nullptr, nullptr, nullptr, SOCKET_ID_ANY, 0);
    rte_crypto_sym_xform x{};
    x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    x.aead.op = egress ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
    x.aead.key.data = kKey;
    x.aead.key.length = 16;
    x.aead.digest_length = 16;
    x.aead.iv.length = 12;
    rte_security_session_conf c{};
    c.action_type = RTE_SECURITY_ACTION_TYPE_INLINE_CRYPTO;
    c.protocol = RTE_SECURITY_PROTOCOL_IPSEC;
    c.ipsec.spi = spi;
    std::memcpy(&c.ipsec.salt, kSalt, 4);
    c.ipsec.direction = egress ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
    c.ipsec.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
    c.ipsec.mode = RTE_SECURITY_IPSEC_SA_MODE_TUNNEL;
    c.ipsec.tunnel.type = RTE_SECURITY_IPSEC_TUNNEL_IPV4;
    c.ipsec.tunnel.ipv4.dst_ip.s_addr = htonl(kDstIp);
    c.crypto_xform = &x;
    void *r = rte_security_session_create(ctx, &c, mp);
    if (r)
      s.push_back(r);
    return r;
  }
};

/* Frames other stations put on the wire, as a station sees them. */
std::vector<std::vector<uint8_t>> drain(model::Uplink &station) {
  std::vector<std::vector<uint8_t>> out;
  station.poll([&](std::span<const uint8_t> f) { out.emplace_back(f.begin(), f.end()); }, 64);
  return out;
}

TEST(MigIpsec, SessionsAreReplayedOnTheDestinationPfAndEspKeepsFlowingBothWays)
{
  TestRegion reg;
  ASSERT_TRUE(reg.ok());
  Pool pool;
  pool.mp = make_pool(unique("mp"), 4095);
  const std::string wire = unique("mwire");
  model::PfConfig cfg;
  cfg.name = unique("mpf");
  cfg.max_api = ixgbevf_lm::hw::MbxApi::v14;
  cfg.allow_vf_ipsec = true;
  std::string why;
  /* the host creates the PF with VF IPsec enabled and trusts the VM's VF */
  auto src = hv::SimPlatform::instance().source_pf(cfg, "wire:" + wire, &why);
  ASSERT_TRUE(src) << why;
  src->set_vf_trusted(0, true);
  const model::MacAddr mac{0x02, 0, 0, 0, 0x04, 0x40};
  const uint8_t peer[6] = {0x02, 0, 0, 0, 0x04, 0x99};
  auto station = model::make_wire_uplink(hv::wire_by_name(wire));
  Port p(cfg.name, 0, mac, wire, reg.path);
  ASSERT_TRUE(p.ok());
  rte_eth_conf conf{};
  conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SECURITY;
  conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_SECURITY;
  ASSERT_EQ(p.start(pool.mp, 1, 256, &conf), 0);
  const int slot = reg.slot_of(p.name);
  ASSERT_GE(slot, 0);
  Sessions ss;
  ss.ctx = static_cast<rte_security_ctx *>(rte_eth_dev_get_sec_ctx(p.id));
  ASSERT_TRUE(ss.ctx);
  void *out = ss.create(true, 0x2001);
  ASSERT_TRUE(out) << rte_strerror(rte_errno);
  ASSERT_TRUE(ss.create(false, 0x2002)) << rte_strerror(rte_errno);

  hv::Migrator m(*reg.host, migrator_options(uint32_t(slot), 2));
  hv::MigrationFigures fig;
  ASSERT_TRUE(m.migrate(hv::Outcome::destination, &fig, &why)) << why;
  auto dst = p.current_pf();
  ASSERT_TRUE(dst);
  ASSERT_NE(dst, src) << "the port did not move";
  const model::VfView v = dst->vf_view(p.current_vf());
  EXPECT_EQ(v.ipsec_tx_sas, 1u) << "outbound SA programmed on the destination PF";
  EXPECT_EQ(v.ipsec_rx_sas, 1u) << "inbound SA programmed on the destination PF";
  EXPECT_EQ(src->vf_view(0).ipsec_tx_sas + src->vf_view(0).ipsec_rx_sas, 0u) << "the source forgot them";
  drain(*station);

  /* out: the port sends ESP with inline crypto; the station opens it with the SA key */
  auto pl = plaintext(256, 9);
  auto f = esp_frame(peer, mac.data(), 0x2001, 5, pl);
  rte_mbuf *mb = rte_pktmbuf_alloc(pool.mp);
  ASSERT_TRUE(mb);
  std::memcpy(rte_pktmbuf_append(mb, uint16_t(f.size())), f.data(), f.size());
  mb->ol_flags |= RTE_MBUF_F_TX_SEC_OFFLOAD | RTE_MBUF_F_TX_IPV4;
  mb->l2_len = 14;
  mb->l3_len = 20;
  ASSERT_EQ(rte_security_set_pkt_metadata(ss.ctx, out, mb, nullptr), 0);
  ASSERT_EQ(rte_eth_tx_prepare(p.id, 0, &mb, 1), 1) << rte_strerror(rte_errno);
  ASSERT_EQ(rte_eth_tx_burst(p.id, 0, &mb, 1), 1);
  std::vector<uint8_t> seen;
  const auto end = Clock::now() + 3s;
  while (seen.empty() && Clock::now() < end) {
    for (auto &w : drain(*station))
      if (w.size() == f.size() && std::memcmp(w.data(), peer, 6) == 0)
        seen = w;
    std::this_thread::sleep_for(200us);
  }
  ASSERT_FALSE(seen.empty()) << "nothing from the port on the wire";
  ASSERT_TRUE(gcm(false, seen, kKey)) << "not sealed under the SA key";
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), seen.begin() + kBodyOff));

  /* in: sealed under the inbound SA's key on the wire, decrypted by the destination's engine */
  auto g = esp_frame(mac.data(), peer, 0x2002, 6, pl);
  ASSERT_TRUE(gcm(true, g, kKey));
  station->transmit(g);
  rte_mbuf *rx = nullptr;
  const auto end2 = Clock::now() + 3s;
  while (!rx && Clock::now() < end2) {
    if (rte_eth_rx_burst(p.id, 0, &rx, 1) == 0) {
      rx = nullptr;
      std::this_thread::sleep_for(200us);
    }
  }
  ASSERT_TRUE(rx) << "the sealed frame did not arrive";
  EXPECT_EQ(rx->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED), RTE_MBUF_F_RX_SEC_OFFLOAD);
  ASSERT_EQ(rx->pkt_len, g.size());
  EXPECT_EQ(0, std::memcmp(rte_pktmbuf_mtod_offset(rx, uint8_t *, kBodyOff), pl.data(), pl.size()));
  rte_pktmbuf_free(rx);
}

}  // namespace
}  // namespace mig_test
