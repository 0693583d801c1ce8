/* SPDX-License-Identifier: BSD-3-Clause
 * ESP in the device's inline IPsec engine, AES-128-GCM only (RFC 4106: nonce = 4-byte salt || the
 * packet's 8-byte IV, AAD = SPI || sequence number, 16-byte ICV at the end of the packet).
 *
 * Transmit: the software built the whole ESP packet (header, IV, payload, padding, pad length,
 * next header, room for the ICV); the engine encrypts from after the IV up to the ICV and writes
 * the ICV (ENCRYPT_EN clear: AES-GMAC, the same bytes only authenticated). Receive: a frame whose
 * (SPI, destination address, protocol) matches an Rx SA is decrypted in place and its ICV checked;
 * the ESP header, IV, trailer and ICV stay in the frame for the software to remove.
 */
#include <cstring>
#include <memory>

#include <openssl/evp.h>

#include "ipsec_internal.h"
#include "offloads.h"
#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};

/* One cipher context per thread (the model thread, or a test single-stepping), reused. */
EVP_CIPHER_CTX *cipher_ctx() {
  static thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

bool gcm(bool seal, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len, uint8_t *data,
         size_t len, uint8_t *tag) {
  EVP_CIPHER_CTX *c = cipher_ctx();
  if (!c || EVP_CIPHER_CTX_reset(c) != 1)
    return false;
  int n = 0;
  if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr, seal ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_CipherInit_ex(c, nullptr, nullptr, key, nonce, seal ? 1 : 0) != 1)
    return false;
  if (aad_len && EVP_CipherUpdate(c, nullptr, &n, aad, int(aad_len)) != 1)
    return false;
  if (len && EVP_CipherUpdate(c, data, &n, data, int(len)) != 1)
    return false;
  if (!seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kIpsecIcvBytes, tag) != 1)
    return false;
  uint8_t fin[16];
  if (EVP_CipherFinal_ex(c, fin, &n) != 1)
    return false; /* open: the ICV does not match */
  if (seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kIpsecIcvBytes, tag) != 1)
    return false;
  return true;
}

void nonce_of(const IpsecSa &sa, const uint8_t *iv, uint8_t nonce[12]) {
  std::memcpy(nonce, sa.salt.data(), kIpsecSaltBytes);
  std::memcpy(nonce + kIpsecSaltBytes, iv, kEspIvBytes);
}

/* ESP header + IV + the 2-byte trailer + ICV: the least an ESP packet of this engine holds. */
constexpr unsigned kEspMinBytes = kEspHeaderBytes + kEspIvBytes + kEspTrailerBytes + kIpsecIcvBytes;

}  // namespace

bool gcm_seal(const uint8_t *key, const uint8_t *nonce12, const uint8_t *aad, size_t aad_len, uint8_t *data,
              size_t len, uint8_t *tag) {
  return gcm(true, key, nonce12, aad, aad_len, data, len, tag);
}

bool gcm_open(const uint8_t *key, const uint8_t *nonce12, const uint8_t *aad, size_t aad_len, uint8_t *data,
              size_t len, const uint8_t *tag) {
  uint8_t t[kIpsecIcvBytes];
  std::memcpy(t, tag, sizeof t);
  return gcm(false, key, nonce12, aad, aad_len, data, len, t);
}

bool esp_tx_apply(const IpsecTables &t, std::vector<uint8_t> &f, const TxIpsecRequest &req) {
  if (!req.esp || req.sa_index >= kIpsecMaxSa)
    return false;
  size_t esp = req.esp_off;
  if (esp + kEspMinBytes > f.size() || req.esp_trailer_len < kEspTrailerBytes + kIpsecIcvBytes ||
      esp + kEspHeaderBytes + kEspIvBytes + req.esp_trailer_len > f.size())
    return false;
  /* The table entry as it is: an index the PF never programmed holds a cleared key, and the engine
   * uses it all the same (the hardware does not know which entries are in use). */
  const IpsecSa &sa = t.tx[req.sa_index];
  uint8_t nonce[12];
  nonce_of(sa, &f[esp + kEspHeaderBytes], nonce);
  size_t icv = f.size() - kIpsecIcvBytes;
  size_t body = esp + kEspHeaderBytes + kEspIvBytes;
  if (req.encrypt)
    return gcm_seal(sa.key.data(), nonce, &f[esp], kEspHeaderBytes, &f[body], icv - body, &f[icv]);
  /* AES-GMAC: everything from the ESP header to the ICV is authenticated, nothing encrypted */
  return gcm_seal(sa.key.data(), nonce, &f[esp], icv - esp, nullptr, 0, &f[icv]);
}

void esp_rx_apply(const IpsecTables &t, std::vector<uint8_t> &f, const offl::Parsed &p, uint32_t *status,
                  uint32_t *errors, uint16_t *pkt_info) {
  if (p.vlan || !(p.ipv4 || p.ipv6))
    return; /* the engine does not recognise IPsec behind a VLAN tag */
  uint8_t proto = p.ipv4 ? f[p.l3_off + 9] : f[p.l3_off + 6];
  if (proto != kIpProtoEsp || p.l4_off + 4 > f.size())
    return;
  uint32_t spi;
  std::memcpy(&spi, &f[p.l4_off], 4);
  const uint8_t *dst = p.ipv4 ? &f[p.l3_off + 16] : &f[p.l3_off + 24];
  const uint16_t family = p.ipv4 ? kAfInet : kAfInet6;
  const size_t alen = p.ipv4 ? 4 : 16;
  const IpsecSa *sa = nullptr;
  for (const IpsecSa &s : t.rx) {
    if (s.used && s.owner_vf >= 0 && s.spi == spi && s.proto == proto && s.family == family &&
        std::memcmp(s.addr.data(), dst, alen) == 0) {
      sa = &s;
      break;
    }
  }
  if (!sa)
    return;
  *pkt_info |= RXDADV_PKTTYPE_IPSEC_ESP;
  *status |= RXD_STAT_SECP;
  const size_t esp = p.l4_off;
  const size_t end = p.l4_off + p.l4_len;  /* the IP datagram's end: Ethernet padding is not ESP */
  if (p.l4_len < kEspMinBytes || end > f.size()) {
    *errors |= RXDADV_IPSEC_ERROR_INVALID_LENGTH;
    return;
  }
  uint8_t nonce[12];
  nonce_of(*sa, &f[esp + kEspHeaderBytes], nonce);
  const size_t body = esp + kEspHeaderBytes + kEspIvBytes;
  const size_t icv = end - kIpsecIcvBytes;
  /* decrypt a copy: a frame that fails the ICV check reaches the host as it arrived */
  static thread_local std::vector<uint8_t> plain;
  plain.assign(f.begin() + long(body), f.begin() + long(icv));
  if (!gcm_open(sa->key.data(), nonce, &f[esp], kEspHeaderBytes, plain.data(), plain.size(), &f[icv])) {
    *errors |= RXDADV_IPSEC_ERROR_AUTH_FAILED;
    return;
  }
  std::memcpy(&f[body], plain.data(), plain.size());
}

}  // namespace ixgbevf_lm::model
