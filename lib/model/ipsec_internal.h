/* SPDX-License-Identifier: BSD-3-Clause
 * Private to lib/model: the device's inline IPsec engine (82599 datasheet, "Security"): the Rx and
 * Tx SA tables shared by the PF and its VFs, the PF's side of the VF_IPSEC_ADD/DEL messages, and
 * ESP with AES-128-GCM applied by the Tx engine and checked by the Rx engine (OpenSSL's EVP API).
 */
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <ixgbevf_lm/hw/hw.h>
#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::model {

struct VfState;
namespace offl {
struct Parsed;
}

/* One entry of an SA table. `owner_vf` < 0: the PF's own SA (or free). */
struct IpsecSa {
  bool used = false;
  int owner_vf = -1;
  uint32_t spi = 0;                          /* as on the wire (network order bytes in memory order) */
  uint8_t proto = hw::kIpProtoEsp;
  uint16_t family = hw::kAfInet;
  std::array<uint8_t, 16> addr{};            /* destination, network order; IPv4 in bytes 0..3 */
  std::array<uint8_t, hw::kIpsecKeyBytes> key{};
  std::array<uint8_t, hw::kIpsecSaltBytes> salt{};
};

struct IpsecTables {
  std::array<IpsecSa, hw::kIpsecMaxSa> rx{};
  std::array<IpsecSa, hw::kIpsecMaxSa> tx{};
};

/* ipsec_sa.cpp: the PF's handlers (caller holds mu). Each fills the reply words r. */
bool ipsec_vf_add_sa(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r);
bool ipsec_vf_del_sa(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r);
/* Forget every SA a VF added (VF reset, FLR, unbind). */
void ipsec_clear_vf(PfModel::Impl &pf, unsigned vf);
/* The PF's own SAs: the first n entries of each table (PfConfig::pf_rx_sas / pf_tx_sas). */
void ipsec_reserve_pf_entries(PfModel::Impl &pf);

/* esp_engine.cpp. What a Tx context descriptor asked for one frame. */
struct TxIpsecRequest {
  unsigned sa_index = 0;
  bool esp = false;
  bool encrypt = false;
  unsigned esp_trailer_len = 0;  /* padding + 2 + ICV */
  unsigned esp_off = 0;          /* MACLEN + IPLEN: where the ESP header starts */
};
/* Encrypt (or only authenticate) the frame's ESP payload in place and write the ICV into its last
 * 16 bytes. False (frame unchanged) when the frame cannot hold what the descriptor claims. */
bool esp_tx_apply(const IpsecTables &t, std::vector<uint8_t> &frame, const TxIpsecRequest &req);
/* Look the frame up in the Rx SA table by (SPI, destination, protocol); on a match decrypt in place
 * and verify the ICV. Adds SECP / the IPsec error code to *status / *errors and the ESP packet type
 * to *pkt_info. A frame with no matching SA is left alone. */
void esp_rx_apply(const IpsecTables &t, std::vector<uint8_t> &frame, const offl::Parsed &p, uint32_t *status,
                  uint32_t *errors, uint16_t *pkt_info);

/* AES-128-GCM of RFC 4106 (nonce = salt || IV): in place over data, tag of 16 bytes. */
bool gcm_seal(const uint8_t *key, const uint8_t *nonce12, const uint8_t *aad, size_t aad_len, uint8_t *data,
              size_t len, uint8_t *tag);
bool gcm_open(const uint8_t *key, const uint8_t *nonce12, const uint8_t *aad, size_t aad_len, uint8_t *data,
              size_t len, const uint8_t *tag);

}  // namespace ixgbevf_lm::model
