/* SPDX-License-Identifier: BSD-3-Clause
 * Inline IPsec through rte_security on two sim VFs of one PF model (mailbox API 1.4): an outbound
 * session on VF0, the matching inbound one on VF1; ESP sent with RTE_MBUF_F_TX_SEC_OFFLOAD arrives
 * decrypted with RTE_MBUF_F_RX_SEC_OFFLOAD; what leaves on the PF's uplink is ciphertext that
 * OpenSSL, independently of the model, decrypts with the SA's key; tampered frames and a wrong key
 * give RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED; the PF's refusal, a full SA table and the deletion are
 * visible to the application; SAs survive a VF reset (replay) with the PF's new indexes.
 */
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>

#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_security.h>
#include <rte_security_driver.h>

#include "../common/esp_frames.h"
#include "../common/log_capture.h"
#include "pmd_env.h"

using namespace ixlm_test;
using namespace ixgbevf_lm;
using namespace esp_test;

namespace {

/* The PF's uplink as the test sees it: what the PF sent out, and frames to deliver inbound. */
struct Wire {
  std::mutex mu;
  std::vector<std::vector<uint8_t>> out;
  std::deque<std::vector<uint8_t>> in;
};
struct WireUplink : model::Uplink {
  std::shared_ptr<Wire> w;
  explicit WireUplink(std::shared_ptr<Wire> wire) : w(std::move(wire)) {}
  void transmit(std::span<const uint8_t> f) override {
    std::lock_guard g(w->mu);
    w->out.emplace_back(f.begin(), f.end());
  }
  unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) override {
    unsigned n = 0;
    for (; n < max; n++) {
      std::vector<uint8_t> f;
      {
        std::lock_guard g(w->mu);
        if (w->in.empty())
          break;
        f = std::move(w->in.front());
        w->in.pop_front();
      }
      deliver(f);
    }
    return n;
  }
  std::string describe() const override { return "test wire"; }
};

using ixgbevf_lm::test::log_of;

struct PfPolicy {
  hw::MbxApi max_api = hw::MbxApi::v14;
  bool allow = true;
  unsigned pf_tx_sas = 0;
};

struct IpsecPair : public SimPortPair {
  IpsecPair() : SimPortPair("ips", 0x03, 2047) {}
  PfPolicy policy;
  std::shared_ptr<model::PfModel> model;
  std::shared_ptr<Wire> wire = std::make_shared<Wire>();
  rte_mempool *sess_mp = nullptr;
  std::vector<std::pair<rte_security_ctx *, void *>> sessions;

  void SetUp() override {} /* each test picks the PF's policy, then calls up() */
  void up() {
    model = make_pf(pf, [&](model::PfConfig &c) {
      c.max_api = policy.max_api;
      c.allow_vf_ipsec = policy.allow;
      c.pf_tx_sas = policy.pf_tx_sas;
    });
    model->set_vf_trusted(0, true);
    model->set_vf_trusted(1, true);
    model->set_uplink(std::make_unique<WireUplink>(wire));
    SimPortPair::SetUp();
  }
  void TearDown() override {
    for (auto &[ctx, s] : sessions)
      rte_security_session_destroy(ctx, s);
    SimPortPair::TearDown();
    rte_mempool_free(sess_mp);
  }
  rte_security_ctx *ctx(uint16_t port) { return static_cast<rte_security_ctx *>(rte_eth_dev_get_sec_ctx(port)); }
  void start_both() {
    rte_eth_conf c{};
    c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SECURITY;
    c.txmode.offloads = RTE_ETH_TX_OFFLOAD_SECURITY;
    ASSERT_EQ(a->start(mp, 1, &c), 0);
    ASSERT_EQ(b->start(mp, 1, &c), 0);
  }
  void *session(uint16_t port, bool egress, uint32_t spi, const uint8_t *key, void *update = nullptr) {
    rte_security_ctx *c = ctx(port);
    if (!c)
      return nullptr;
    if (!sess_mp) {
      unsigned sz = sizeof(rte_security_session) + rte_security_session_get_size(c);
      sess_mp = rte_mempool_create(unique("ipsess").c_str(), 63, sz, 0, 0, nullptr, nullptr, nullptr, nullptr,
                                   SOCKET_ID_ANY, 0);
    }
    uint8_t keybuf[20];
    std::memcpy(keybuf, key, 16);
    std::memcpy(keybuf + 16, kSalt, 4);
    rte_crypto_sym_xform x{};
    x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    x.aead.op = egress ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
    x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    x.aead.key.data = keybuf;
    x.aead.key.length = 16;
    x.aead.digest_length = 16;
    x.aead.iv.length = 12;
    rte_security_session_conf conf{};
    conf.action_type = RTE_SECURITY_ACTION_TYPE_INLINE_CRYPTO;
    conf.protocol = RTE_SECURITY_PROTOCOL_IPSEC;
    conf.ipsec.spi = spi;
    std::memcpy(&conf.ipsec.salt, kSalt, 4);
    conf.ipsec.direction = egress ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
    conf.ipsec.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
    conf.ipsec.mode = RTE_SECURITY_IPSEC_SA_MODE_TRANSPORT;
    conf.ipsec.tunnel.type = RTE_SECURITY_IPSEC_TUNNEL_IPV4;
    conf.ipsec.tunnel.ipv4.dst_ip.s_addr = htonl(kDstIp);
    conf.crypto_xform = &x;
    rte_errno = 0;
    if (update)
      return rte_security_session_update(c, update, &conf) == 0 ? update : nullptr;
    void *s = rte_security_session_create(c, &conf, sess_mp);
    if (s)
      sessions.emplace_back(c, s);
    return s;
  }
  void destroy(void *s) {
    for (auto it = sessions.begin(); it != sessions.end(); ++it)
      if (it->second == s) {
        EXPECT_EQ(rte_security_session_destroy(it->first, s), 0);
        sessions.erase(it);
        return;
      }
  }
  /* one ESP frame through port a with inline crypto on session s */
  void send_esp(void *s, const std::vector<uint8_t> &f) {
    rte_mbuf *m = to_mbuf(mp, f);
    ASSERT_TRUE(m);
    m->ol_flags |= RTE_MBUF_F_TX_SEC_OFFLOAD | RTE_MBUF_F_TX_IPV4;
    m->l2_len = 14;
    m->l3_len = 20;
    ASSERT_EQ(rte_security_set_pkt_metadata(ctx(a->port), s, m, nullptr), 0);
    ASSERT_EQ(rte_eth_tx_prepare(a->port, 0, &m, 1), 1) << rte_strerror(rte_errno);
    ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  }
  bool sent_ipsec_message(uint32_t id, uint32_t word1 = UINT32_MAX) {
    for (auto &r : model->mailbox_log())
      if (!r.request.empty() && (r.request[0] & hw::VT_MSGID_MASK) == id &&
          (word1 == UINT32_MAX || (r.request.size() > 1 && r.request[1] == word1)))
        return true;
    return false;
  }
};

TEST_F(IpsecPair, EspSentWithInlineCryptoArrivesDecryptedOnThePeerWithRxSecOffload) {
  up();
  ASSERT_TRUE(ctx(a->port) && ctx(b->port)) << "API 1.4 accepted: the ports have a security context";
  rte_eth_dev_info info;
  ASSERT_EQ(rte_eth_dev_info_get(a->port, &info), 0);
  EXPECT_TRUE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_SECURITY);
  EXPECT_TRUE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SECURITY);
  start_both();
  void *out = session(a->port, true, 0x501, kKey);
  void *in = session(b->port, false, 0x501, kKey);
  ASSERT_TRUE(out && in) << rte_strerror(rte_errno);
  EXPECT_TRUE(sent_ipsec_message(hw::VF_IPSEC_ADD));

  auto pl = plaintext(300, 7);
  auto f = esp_frame(mac_b, mac_a, 0x501, 1, pl);
  send_esp(out, f);
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED),
            RTE_MBUF_F_RX_SEC_OFFLOAD);
  EXPECT_EQ(got[0]->packet_type & RTE_PTYPE_TUNNEL_MASK, RTE_PTYPE_TUNNEL_ESP);
  auto r = from_mbuf(got[0]);
  ASSERT_EQ(r.size(), f.size());
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), r.begin() + kBodyOff)) << "payload as sent";
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + kBodyOff, r.begin())) << "headers and IV as sent";
  free_all(got);
}

TEST_F(IpsecPair, WhatLeavesOnTheUplinkIsCiphertextThatOpenSslDecryptsWithTheSaKey) {
  up();
  start_both();
  void *out = session(a->port, true, 0x777, kKey);
  ASSERT_TRUE(out) << rte_strerror(rte_errno);
  const uint8_t far[6] = {0x02, 0x55, 0x55, 0x55, 0x55, 0x01}; /* not on this PF: to the uplink */
  auto pl = plaintext(512, 3);
  auto f = esp_frame(far, mac_a, 0x777, 9, pl);
  send_esp(out, f);
  ASSERT_TRUE(wait_for([&] { std::lock_guard g(wire->mu); return !wire->out.empty(); }));
  std::vector<uint8_t> w;
  {
    std::lock_guard g(wire->mu);
    w = wire->out[0];
  }
  ASSERT_EQ(w.size(), f.size());
  EXPECT_FALSE(std::equal(pl.begin(), pl.end(), w.begin() + kBodyOff)) << "no plaintext on the wire";
  auto other = w;
  EXPECT_FALSE(gcm(false, other, kOtherKey)) << "another key does not open it";
  ASSERT_TRUE(gcm(false, w, kKey)) << "the ICV verifies with the SA's key and salt";
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), w.begin() + kBodyOff));
}

TEST_F(IpsecPair, FramesFromTheWireDecryptWhenIntactAndFailWhenTamperedOrUnderAnotherKey) {
  up();
  start_both();
  ASSERT_TRUE(session(b->port, false, 0x900, kKey)) << rte_strerror(rte_errno);
  const uint8_t peer[6] = {0x02, 0x55, 0x55, 0x55, 0x55, 0x02};
  auto pl = plaintext(200, 11);
  auto good = esp_frame(mac_b, peer, 0x900, 1, pl);
  ASSERT_TRUE(gcm(true, good, kKey));
  auto tampered = esp_frame(mac_b, peer, 0x900, 2, pl);
  ASSERT_TRUE(gcm(true, tampered, kKey));
  tampered[kBodyOff + 40] ^= 0x01;
  auto wrong_key = esp_frame(mac_b, peer, 0x900, 3, pl);
  ASSERT_TRUE(gcm(true, wrong_key, kOtherKey));
  {
    std::lock_guard g(wire->mu);
    wire->in.push_back(good);
    wire->in.push_back(tampered);
    wire->in.push_back(wrong_key);
  }
  auto got = rx_wait(b->port, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED),
            RTE_MBUF_F_RX_SEC_OFFLOAD);
  auto r = from_mbuf(got[0]);
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), r.begin() + kBodyOff)) << "decrypted";
  for (int i : {1, 2})
    EXPECT_EQ(got[i]->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED),
              RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED)
        << "frame " << i;
  free_all(got);
}

TEST_F(IpsecPair, WrongKeyOnTheInboundSaGivesRxSecOffloadFailed) {
  up();
  start_both();
  void *out = session(a->port, true, 0x502, kKey);
  void *in = session(b->port, false, 0x502, kOtherKey);
  ASSERT_TRUE(out && in);
  send_esp(out, esp_frame(mac_b, mac_a, 0x502, 1, plaintext(100, 1)));
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0]->ol_flags & RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED);
  free_all(got);
}

TEST_F(IpsecPair, PfRefusingVfIpsecFailsSessionCreateWithEaccesAndSaysWhy) {
  policy.allow = false;
  up();
  start_both();
  void *s = nullptr;
  std::string log = log_of([&] { s = session(a->port, true, 0x600, kKey); });
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(rte_errno, EACCES);
  EXPECT_NE(log.find("refuses IPsec SAs from this VF"), std::string::npos) << log;
}

TEST_F(IpsecPair, FullSaTableFailsSessionCreateWithEnospcAndSaysWhy) {
  policy.pf_tx_sas = hw::kIpsecMaxSa; /* the PF's own SAs fill the Tx table */
  up();
  start_both();
  void *s = nullptr;
  std::string log = log_of([&] { s = session(a->port, true, 0x601, kKey); });
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(rte_errno, ENOSPC);
  EXPECT_NE(log.find("SA table is full"), std::string::npos) << log;
  EXPECT_TRUE(session(a->port, false, 0x601, kKey)) << "the Rx table still has room";
}

TEST_F(IpsecPair, SessionDestroySendsTheDeleteForThePfsHandle) {
  up();
  start_both();
  void *out = session(a->port, true, 0x610, kKey);
  ASSERT_TRUE(out);
  destroy(out);
  EXPECT_TRUE(sent_ipsec_message(hw::VF_IPSEC_DEL, hw::kIpsecBaseTxHandle + 0)) << "Tx SA 0 is handle 1024";
  /* the entry is free again on the PF: a new session gets index 0 back */
  ASSERT_TRUE(session(a->port, true, 0x611, kKey));
}

TEST_F(IpsecPair, SessionsAreReplayedOntoAResetVfAndTheTxPathFollowsThePfsNewIndex) {
  up();
  start_both();
  void *first = session(a->port, true, 0x620, kOtherKey); /* Tx SA 0 */
  void *out = session(a->port, true, 0x621, kKey);        /* Tx SA 1 */
  void *in = session(b->port, false, 0x621, kKey);
  ASSERT_TRUE(first && out && in);
  destroy(first);
  /* a VF reset: the PF forgets the VF's SAs; the driver replays its one outbound session, which
   * now gets Tx SA 0 */
  ASSERT_EQ(rte_eth_dev_reset(a->port), 0);
  rte_eth_conf c{};
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SECURITY;
  c.txmode.offloads = RTE_ETH_TX_OFFLOAD_SECURITY;
  ASSERT_EQ(a->start(mp, 1, &c), 0);
  auto pl = plaintext(64, 5);
  send_esp(out, esp_frame(mac_b, mac_a, 0x621, 2, pl));
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED),
            RTE_MBUF_F_RX_SEC_OFFLOAD);
  auto r = from_mbuf(got[0]);
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), r.begin() + kBodyOff));
  free_all(got);
}

TEST_F(IpsecPair, ASessionThePfRefusesToRestoreIsNeverSentInClear) {
  up();
  start_both();
  void *out = session(a->port, true, 0x630, kKey);
  ASSERT_TRUE(out);
  model->set_vf_trusted(0, false); /* the host revokes the trust: the PF will refuse the replay */
  EXPECT_EQ(rte_eth_dev_reset(a->port), -EACCES) << "the replay's refusal reaches the application";
  rte_eth_conf c{};
  c.rxmode.offloads = RTE_ETH_RX_OFFLOAD_SECURITY;
  c.txmode.offloads = RTE_ETH_TX_OFFLOAD_SECURITY;
  ASSERT_EQ(a->start(mp, 1, &c), 0);
  const uint8_t far[6] = {0x02, 0x55, 0x55, 0x55, 0x55, 0x03};
  rte_mbuf *m = to_mbuf(mp, esp_frame(far, mac_a, 0x630, 1, plaintext(80, 2)));
  m->ol_flags |= RTE_MBUF_F_TX_SEC_OFFLOAD | RTE_MBUF_F_TX_IPV4;
  m->l2_len = 14;
  m->l3_len = 20;
  ASSERT_EQ(rte_security_set_pkt_metadata(ctx(a->port), out, m, nullptr), 0);
  EXPECT_EQ(rte_eth_tx_prepare(a->port, 0, &m, 1), 0);
  EXPECT_EQ(rte_errno, EINVAL);
  /* an application that skips tx_prepare: the packet is consumed and dropped; a plain frame sent
   * after it on the same queue is the first thing on the wire */
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &m, 1), 1);
  rte_mbuf *plain = to_mbuf(mp, udp_frame(far, mac_a, 60));
  ASSERT_EQ(rte_eth_tx_burst(a->port, 0, &plain, 1), 1);
  ASSERT_TRUE(wait_for([&] { std::lock_guard g(wire->mu); return !wire->out.empty(); }));
  std::lock_guard g(wire->mu);
  EXPECT_EQ(wire->out[0][23], IPPROTO_UDP) << "the ESP packet left the port";
}

TEST_F(IpsecPair, SessionUpdateMovesTheSessionToANewKeyAndDeletesTheOldSa) {
  up();
  start_both();
  void *out = session(a->port, true, 0x640, kOtherKey);
  ASSERT_TRUE(out);
  ASSERT_TRUE(session(b->port, false, 0x640, kKey));
  ASSERT_EQ(session(a->port, true, 0x640, kKey, out), out) << rte_strerror(rte_errno);
  EXPECT_TRUE(sent_ipsec_message(hw::VF_IPSEC_DEL, hw::kIpsecBaseTxHandle + 0)) << "the old SA is deleted";
  EXPECT_EQ(model->vf_view(0).ipsec_tx_sas, 1u);
  auto pl = plaintext(90, 4);
  send_esp(out, esp_frame(mac_b, mac_a, 0x640, 1, pl));
  auto got = rx_wait(b->port, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->ol_flags & (RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED),
            RTE_MBUF_F_RX_SEC_OFFLOAD)
      << "sent under the new key";
  free_all(got);
}

TEST_F(IpsecPair, APfThatStopsAtApi13GivesNoSecurityContextAndNoOffload) {
  policy.max_api = hw::MbxApi::v13;
  up();
  EXPECT_EQ(rte_eth_dev_get_sec_ctx(a->port), nullptr);
  rte_eth_dev_info info;
  ASSERT_EQ(rte_eth_dev_info_get(a->port, &info), 0);
  EXPECT_FALSE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_SECURITY);
  EXPECT_FALSE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SECURITY);
  EXPECT_EQ(model->vf_view(0).api, hw::MbxApi::v13) << "fell back to 1.3";
}

}  // namespace
