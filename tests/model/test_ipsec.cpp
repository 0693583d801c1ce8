/* SPDX-License-Identifier: BSD-3-Clause
 * The inline IPsec engine, driven as a VF driver drives it: SAs through VF_IPSEC_ADD/DEL (mailbox
 * API 1.4), ESP frames through the Tx ring with a context descriptor carrying the SA index, the ESP
 * flags and the trailer length; the Rx write-back's SECP and IPsec error code. What leaves the PF
 * on its uplink is checked by decrypting it independently with OpenSSL.
 */
#include <openssl/evp.h>

#include "model_harness.h"

using namespace mt;
using namespace ixgbevf_lm::hw;

namespace {

constexpr uint8_t kKey[16] = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
                              0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f};
constexpr uint8_t kSalt[4] = {0xca, 0xfe, 0xba, 0xbe};
constexpr uint32_t kSpi = 0x00001234;
constexpr uint32_t kDip = 0x0a000002;

/* Eth + IPv4 + ESP(SPI, seq) + IV + payload + padding to 4 + pad length + next header + ICV room. */
std::vector<uint8_t> esp_frame(const MacAddr &dst, const MacAddr &src, const std::vector<uint8_t> &payload,
                               uint32_t seq = 1) {
  size_t pad = (4 - (payload.size() + 2) % 4) % 4;
  size_t esp_len = 8 + 8 + payload.size() + pad + 2 + 16;
  std::vector<uint8_t> f(14 + 20 + esp_len);
  std::memcpy(&f[0], dst.data(), 6);
  std::memcpy(&f[6], src.data(), 6);
  put16(&f[12], 0x0800);
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(20 + esp_len));
  ip[8] = 64;
  ip[9] = kIpProtoEsp;
  put32(ip + 12, 0x0a000001);
  put32(ip + 16, kDip);
  put16(ip + 10, uint16_t(~csum_fold(csum_add(ip, 20))));
  uint8_t *esp = ip + 20;
  put32(esp, kSpi);
  put32(esp + 4, seq);
  for (unsigned i = 0; i < 8; i++)
    esp[8 + i] = uint8_t(0xa0 + i + seq);
  std::memcpy(esp + 16, payload.data(), payload.size());
  for (size_t i = 0; i < pad; i++)
    esp[16 + payload.size() + i] = uint8_t(i + 1);
  esp[16 + payload.size() + pad] = uint8_t(pad);
  esp[16 + payload.size() + pad + 1] = 17; /* next header: UDP */
  return f;
}

/* Independent AES-128-GCM (RFC 4106) check of an ESP frame's ciphertext: the plaintext or empty. */
std::vector<uint8_t> decrypt(const std::vector<uint8_t> &f, const uint8_t *key = kKey) {
  const size_t esp = 34, body = esp + 16, icv = f.size() - 16;
  uint8_t nonce[12];
  std::memcpy(nonce, kSalt, 4);
  std::memcpy(nonce + 4, &f[esp + 8], 8);
  std::vector<uint8_t> out(icv - body);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(c, nullptr, nullptr, key, nonce) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &n, &f[esp], 8) == 1 &&
            EVP_DecryptUpdate(c, out.data(), &n, &f[body], int(out.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t *>(&f[icv])) == 1;
  uint8_t fin[16];
  ok = ok && EVP_DecryptFinal_ex(c, fin, &n) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok ? out : std::vector<uint8_t>{};
}

constexpr uint8_t kDip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

/* The same ESP packet over IPv6 (no extension headers): the ESP header at 14 + 40. */
std::vector<uint8_t> esp6_frame(const MacAddr &dst, const MacAddr &src, const std::vector<uint8_t> &payload) {
  auto v4 = esp_frame(dst, src, payload);
  std::vector<uint8_t> f(14 + 40);
  std::memcpy(f.data(), v4.data(), 12);
  put16(&f[12], 0x86DD);
  uint8_t *ip = &f[14];
  ip[0] = 0x60;
  put16(ip + 4, uint16_t(v4.size() - 34));
  ip[6] = kIpProtoEsp;
  ip[7] = 64;
  ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 0x01;
  std::memcpy(ip + 24, kDip6, 16);
  f.insert(f.end(), v4.begin() + 34, v4.end());
  return f;
}

std::vector<uint32_t> add_msg(uint8_t dir, const uint8_t *key = kKey, bool v6 = false) {
  IpsecSaMsg m{};
  m.spi = __builtin_bswap32(kSpi);
  m.dir = dir;
  m.proto = kIpProtoEsp;
  m.family = v6 ? kAfInet6 : kAfInet;
  if (v6)
    std::memcpy(m.addr, kDip6, 16);
  else
    m.addr[0] = __builtin_bswap32(kDip);
  std::memcpy(m.key, key, 16);
  std::memcpy(m.salt, kSalt, 4);
  std::vector<uint32_t> w(kIpsecAddMsgWords);
  w[0] = VF_IPSEC_ADD;
  std::memcpy(&w[1], &m, sizeof m);
  return w;
}

struct Ipsec : ::testing::Test {
  GuestMem mem;
  std::shared_ptr<PfModel> pf;
  std::unique_ptr<Vf> a, b;
  std::shared_ptr<TestUplink::Shared> up = std::make_shared<TestUplink::Shared>();
  void build(bool allow, unsigned pf_tx_sas = 0) {
    PfConfig c = single_cfg(::testing::UnitTest::GetInstance()->current_test_info()->name());
    c.max_api = MbxApi::v14;
    c.allow_vf_ipsec = allow;
    c.pf_tx_sas = pf_tx_sas;
    pf = PfModel::create(c);
    pf->set_vf_trusted(0, true);
    pf->set_vf_trusted(1, true);
    pf->set_uplink(std::make_unique<TestUplink>(up));
    a = std::make_unique<Vf>(pf, mem, 0);
    b = std::make_unique<Vf>(pf, mem, 1);
    ASSERT_TRUE(a->up(MbxApi::v14));
    ASSERT_TRUE(b->up(MbxApi::v14));
    a->setup_tx(0, 64);
    b->setup_rx(0, 64);
  }
  /* context (SA index, ESP + encrypt, trailer length; MACLEN 14, IPLEN 20) then the data descriptor */
  void send_esp(const std::vector<uint8_t> &f, uint32_t handle, size_t trailer, unsigned iplen = 20) {
    TxContextDesc c{(14u << ADVTXD_MACLEN_SHIFT) | iplen, (handle - kIpsecBaseTxHandle) & ADVTXD_IPSEC_SA_INDEX_MASK,
                    ADVTXD_DTYP_CTXT | ADVTXD_DCMD_DEXT | (iplen == 20 ? ADVTXD_TUCMD_IPV4 : 0u) |
                        ADVTXD_TUCMD_IPSEC_TYPE_ESP |
                        ADVTXD_TUCMD_IPSEC_ENCRYPT_EN | uint32_t(trailer),
                    0};
    std::memcpy(a->txd(0, a->tx[0].tail), &c, 16);
    a->tx[0].tail = (a->tx[0].tail + 1) % a->tx[0].n;
    a->send(0, f, 0, ADVTXD_CC | ADVTXD_POPTS_IPSEC);
  }
};

std::vector<uint8_t> payload(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; i++)
    p[i] = uint8_t(i * 13 + 1);
  return p;
}

TEST_F(Ipsec, TxEncryptsEspInPlaceAndTheUplinkSeesCiphertextThatDecryptsWithTheKey) {
  build(true);
  auto tx = a->call(add_msg(kIpsecDirOut), 2);
  ASSERT_EQ(tx.size(), 2u);
  ASSERT_EQ(tx[0] & (VT_MSGTYPE_ACK | VT_MSGID_MASK), VT_MSGTYPE_ACK | VF_IPSEC_ADD);
  EXPECT_EQ(tx[1], kIpsecBaseTxHandle + 0) << "first Tx SA: handle 1024";
  auto pl = payload(100);
  auto f = esp_frame({0x02, 0x77, 0, 0, 0, 1}, a->mac(), pl);
  send_esp(f, tx[1], 16 + 2 + 2);
  ASSERT_TRUE(a->wait([&] { std::lock_guard g(up->mu); return up->sent.size() == 1; }));
  std::lock_guard g(up->mu);
  const auto &w = up->sent[0];
  ASSERT_EQ(w.size(), f.size());
  EXPECT_TRUE(std::equal(w.begin(), w.begin() + 50, f.begin())) << "headers and IV untouched";
  EXPECT_FALSE(std::equal(w.begin() + 50, w.begin() + 50 + long(pl.size()), pl.begin())) << "payload encrypted";
  auto plain = decrypt(w);
  ASSERT_FALSE(plain.empty()) << "ICV verifies with the SA's key and salt";
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), plain.begin()));
  EXPECT_EQ(plain[plain.size() - 1], 17) << "trailer encrypted with the payload";
}

TEST_F(Ipsec, RxDecryptsAFrameMatchingAnInboundSaAndReportsSecp) {
  build(true);
  auto tx = a->call(add_msg(kIpsecDirOut), 2);
  auto rx = b->call(add_msg(kIpsecDirIn), 2);
  ASSERT_TRUE(tx[0] & VT_MSGTYPE_ACK);
  ASSERT_TRUE(rx[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(rx[1], kIpsecBaseRxHandle + 0);
  auto pl = payload(200);
  auto f = esp_frame(b->mac(), a->mac(), pl);
  send_esp(f, tx[1], 16 + 2 + 2);
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(wb.wb.status_error & RXD_STAT_SECP, RXD_STAT_SECP);
  EXPECT_EQ(wb.wb.status_error & RXDADV_IPSEC_ERROR_MASK, 0u);
  EXPECT_EQ(wb.wb.pkt_info & RXDADV_PKTTYPE_IPSEC_ESP, RXDADV_PKTTYPE_IPSEC_ESP);
  ASSERT_EQ(got.size(), f.size());
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), got.begin() + 50)) << "decrypted in place";
}

TEST_F(Ipsec, Ipv6EspIsEncryptedOnTxAndDecryptedOnRxByTheIpv6DestinationSa) {
  build(true);
  auto tx = a->call(add_msg(kIpsecDirOut, kKey, true), 2);
  auto rx = b->call(add_msg(kIpsecDirIn, kKey, true), 2);
  ASSERT_TRUE((tx[0] & VT_MSGTYPE_ACK) && (rx[0] & VT_MSGTYPE_ACK));
  auto pl = payload(150);
  auto f = esp6_frame(b->mac(), a->mac(), pl);
  send_esp(f, tx[1], 16 + 2 + 0, 40);
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(wb.wb.status_error & (RXD_STAT_SECP | RXDADV_IPSEC_ERROR_MASK), RXD_STAT_SECP);
  EXPECT_EQ(wb.wb.pkt_info & (RXDADV_PKTTYPE_IPV6 | RXDADV_PKTTYPE_IPSEC_ESP),
            RXDADV_PKTTYPE_IPV6 | RXDADV_PKTTYPE_IPSEC_ESP);
  ASSERT_EQ(got.size(), f.size());
  EXPECT_TRUE(std::equal(pl.begin(), pl.end(), got.begin() + 14 + 40 + 16));
}

TEST_F(Ipsec, RxReportsAuthFailedForAWrongKeyAndLeavesTheFrameAsItArrived) {
  build(true);
  uint8_t other[16] = {1};
  auto tx = a->call(add_msg(kIpsecDirOut, other), 2);
  auto rx = b->call(add_msg(kIpsecDirIn), 2);
  ASSERT_TRUE((tx[0] & VT_MSGTYPE_ACK) && (rx[0] & VT_MSGTYPE_ACK));
  auto f = esp_frame(b->mac(), a->mac(), payload(64));
  send_esp(f, tx[1], 16 + 2 + 2);
  std::vector<uint8_t> got;
  RxDesc wb;
  ASSERT_TRUE(b->rx_wait(0, &got, &wb));
  EXPECT_EQ(wb.wb.status_error & RXD_STAT_SECP, RXD_STAT_SECP);
  EXPECT_EQ(wb.wb.status_error & RXDADV_IPSEC_ERROR_MASK, RXDADV_IPSEC_ERROR_AUTH_FAILED);
  EXPECT_FALSE(decrypt(got, other).empty()) << "still the ciphertext made with the other key";
}

TEST_F(Ipsec, PfRefusesSasWhenVfIpsecIsDisabledOnThePf) {
  build(false);
  auto r = a->call(add_msg(kIpsecDirIn), 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0] & (VT_MSGTYPE_NACK | VT_MSGID_MASK), VT_MSGTYPE_NACK | VF_IPSEC_ADD);
  EXPECT_EQ(int32_t(r[1]), -EACCES);
}

TEST_F(Ipsec, PfRefusesSasOfAVfItDoesNotTrustAndOutboundSasWhenItTakesInboundOnly) {
  build(true);
  pf->set_vf_trusted(0, false);
  auto r = a->call(add_msg(kIpsecDirIn), 2);
  EXPECT_TRUE(r[0] & VT_MSGTYPE_NACK);
  EXPECT_EQ(int32_t(r[1]), -EACCES);
  PfConfig c = single_cfg("inbound_only");
  c.max_api = MbxApi::v14;
  c.allow_vf_ipsec = true;
  c.refuse_vf_tx_sa = true;
  auto pf2 = PfModel::create(c);
  pf2->set_vf_trusted(0, true);
  Vf v(pf2, mem, 0);
  ASSERT_TRUE(v.up(MbxApi::v14));
  EXPECT_EQ(int32_t(v.call(add_msg(kIpsecDirOut), 2)[1]), -EOPNOTSUPP);
  EXPECT_TRUE(v.call(add_msg(kIpsecDirIn), 2)[0] & VT_MSGTYPE_ACK);
}

TEST_F(Ipsec, TxTableFullIsRefusedWithEnospcAndDeleteFreesTheEntry) {
  build(true, kIpsecMaxSa - 1); /* the PF itself holds all but one Tx SA */
  auto first = a->call(add_msg(kIpsecDirOut), 2);
  ASSERT_TRUE(first[0] & VT_MSGTYPE_ACK);
  EXPECT_EQ(first[1], kIpsecBaseTxHandle + kIpsecMaxSa - 1);
  auto full = a->call(add_msg(kIpsecDirOut), 2);
  EXPECT_TRUE(full[0] & VT_MSGTYPE_NACK);
  EXPECT_EQ(int32_t(full[1]), -ENOSPC);
  EXPECT_EQ(int32_t(b->call({VF_IPSEC_DEL, first[1]}, 2)[1]), -ENOENT) << "not VF1's SA";
  EXPECT_TRUE(a->call({VF_IPSEC_DEL, first[1]}, 2)[0] & VT_MSGTYPE_ACK);
  EXPECT_TRUE(a->call(add_msg(kIpsecDirOut), 2)[0] & VT_MSGTYPE_ACK) << "the entry is free again";
}

TEST_F(Ipsec, VfResetForgetsTheVfsSas) {
  build(true, kIpsecMaxSa - 1);
  ASSERT_TRUE(a->call(add_msg(kIpsecDirOut), 2)[0] & VT_MSGTYPE_ACK);
  ASSERT_TRUE(a->up(MbxApi::v14));
  EXPECT_TRUE(a->call(add_msg(kIpsecDirOut), 2)[0] & VT_MSGTYPE_ACK) << "the reset freed the entry";
}

}  // namespace
