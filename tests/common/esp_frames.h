/* SPDX-License-Identifier: BSD-3-Clause
 * Test support shared by the PMD and migration tests of inline IPsec: an ESP/IPv4 frame as an
 * application hands it to an inline-crypto port (header, IV, payload, padding, pad length, next
 * header, room for the ICV), and AES-128-GCM per RFC 4106 with OpenSSL, independent of the model,
 * to seal frames injected from the wire and to open frames the device sent.
 */
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <openssl/evp.h>

namespace esp_test {

inline constexpr uint8_t kKey[16] = {0x4c, 0x80, 0xcd, 0xef, 0xbb, 0x5d, 0x10, 0xda,
                                     0x90, 0x6a, 0xc7, 0x3c, 0x36, 0x13, 0xa6, 0x34};
inline constexpr uint8_t kOtherKey[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                          0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
inline constexpr uint8_t kSalt[4] = {0x2e, 0x44, 0x3b, 0x68};
inline constexpr uint32_t kSrcIp = (192u << 24) | (168u << 16) | (7u << 8) | 1u;
inline constexpr uint32_t kDstIp = (192u << 24) | (168u << 16) | (7u << 8) | 2u;
inline constexpr size_t kEspOff = 14 + 20;      /* Ethernet + IPv4 without options */
inline constexpr size_t kBodyOff = kEspOff + 16; /* after SPI, sequence number and IV */

inline std::vector<uint8_t> plaintext(size_t n, uint8_t seed) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; i++)
    p[i] = uint8_t(i * 31 + seed);
  return p;
}

inline void put16(uint8_t *p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void put32(uint8_t *p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }

inline std::vector<uint8_t> esp_frame(const uint8_t dst[6], const uint8_t src[6], uint32_t spi, uint32_t seq,
                                      const std::vector<uint8_t> &payload) {
  size_t pad = (4 - (payload.size() + 2) % 4) % 4;
  size_t esp_len = 16 + payload.size() + pad + 2 + 16;
  std::vector<uint8_t> f(kEspOff + esp_len);
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  put16(&f[12], 0x0800);
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(20 + esp_len));
  ip[8] = 64;
  ip[9] = IPPROTO_ESP;
  put32(ip + 12, kSrcIp);
  put32(ip + 16, kDstIp);
  uint32_t s = 0;
  for (unsigned i = 0; i < 20; i += 2)
    s += uint32_t(ip[i] << 8 | ip[i + 1]);
  while (s >> 16)
    s = (s & 0xFFFF) + (s >> 16);
  put16(ip + 10, uint16_t(~s));
  uint8_t *esp = &f[kEspOff];
  put32(esp, spi);
  put32(esp + 4, seq);
  for (unsigned i = 0; i < 8; i++)
    esp[8 + i] = uint8_t(seq * 3 + i);
  std::memcpy(&f[kBodyOff], payload.data(), payload.size());
  for (size_t i = 0; i < pad; i++)
    f[kBodyOff + payload.size() + i] = uint8_t(i + 1);
  f[kBodyOff + payload.size() + pad] = uint8_t(pad);
  f[kBodyOff + payload.size() + pad + 1] = IPPROTO_UDP;
  return f;
}

/* Seal (encrypt, write the ICV) or open (decrypt, check the ICV) the frame in place; false when
 * the ICV does not verify. */
inline bool gcm(bool seal, std::vector<uint8_t> &f, const uint8_t *key) {
  uint8_t nonce[12];
  std::memcpy(nonce, kSalt, 4);
  std::memcpy(nonce + 4, &f[kEspOff + 8], 8);
  const size_t icv = f.size() - 16;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  uint8_t fin[16];
  bool ok = c && EVP_CipherInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr, seal) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_CipherInit_ex(c, nullptr, nullptr, key, nonce, seal) == 1 &&
            EVP_CipherUpdate(c, nullptr, &n, &f[kEspOff], 8) == 1 &&
            EVP_CipherUpdate(c, &f[kBodyOff], &n, &f[kBodyOff], int(icv - kBodyOff)) == 1;
  if (ok && !seal)
    ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, &f[icv]) == 1;
  ok = ok && EVP_CipherFinal_ex(c, fin, &n) == 1;
  if (ok && seal)
    ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, &f[icv]) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

}  // namespace esp_test
