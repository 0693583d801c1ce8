/* SPDX-License-Identifier: BSD-3-Clause
 * RSS. X550-class VFs own VFRSSRK/VFRETA/VFMRQC; 82599/X540 VFs share the PF's configuration,
 * which they can only read (GET_RETA, GET_RSS_KEY; API 1.2), so updates are not supported there.
 */
#include <cstring>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

constexpr uint64_t kRssHfSupported = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                                     RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;
/* What the 82599 PF hashes for its pools. */
constexpr uint64_t kRssHf82599 =
    RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP;

/* A fixed default key (any key works; this one spreads typical test traffic well). */
constexpr uint8_t kDefaultKey[kRssKeyBytes] = {
    0x3c, 0x1d, 0x7a, 0x52, 0x91, 0x0e, 0x6b, 0xf4, 0x28, 0xd3, 0x45, 0x8a, 0x17, 0xe6,
    0x5f, 0x0b, 0xc9, 0x73, 0x2e, 0xa1, 0x64, 0xbd, 0x09, 0xf7, 0x36, 0x82, 0x5c, 0xe0,
    0x1b, 0x94, 0x7f, 0x43, 0xda, 0x2c, 0x68, 0xb5, 0x01, 0xee, 0x57, 0x9a};

uint32_t mrqc_fields(uint64_t hf) {
  uint32_t m = 0;
  if (hf & RTE_ETH_RSS_IPV4) m |= MRQC_RSS_FIELD_IPV4;
  if (hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) m |= MRQC_RSS_FIELD_IPV4_TCP;
  if (hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP) m |= MRQC_RSS_FIELD_IPV4_UDP;
  if (hf & RTE_ETH_RSS_IPV6) m |= MRQC_RSS_FIELD_IPV6;
  if (hf & RTE_ETH_RSS_NONFRAG_IPV6_TCP) m |= MRQC_RSS_FIELD_IPV6_TCP;
  if (hf & RTE_ETH_RSS_NONFRAG_IPV6_UDP) m |= MRQC_RSS_FIELD_IPV6_UDP;
  return m;
}

bool vf_regs(const Adapter &ad) { return has_vf_rss_registers(ad.mac_type); }

}  // namespace

uint16_t reta_size(const Adapter &ad) { return vf_regs(ad) ? kVfRetaEntries : kRetaSize82599; }

int cfg_apply_rss(Adapter &ad) noexcept {
  SwConfig &c = ad.cfg;
  if (!vf_regs(ad))
    return 0;
  if (!c.rss_on) {
    wr32(ad.hw, VFMRQC, 0);
    return 0;
  }
  if (!c.reta_set) {
    unsigned nq = ad.dev->data->nb_rx_queues ? ad.dev->data->nb_rx_queues : 1;
    for (unsigned i = 0; i < kVfRetaEntries; i++)
      c.reta[i] = uint8_t(i % nq);
  }
  for (unsigned i = 0; i < kVfRssKeyWords; i++) {
    uint32_t w;
    std::memcpy(&w, &c.rss_key[4 * i], 4);
    wr32(ad.hw, VFRSSRK(i), w);
  }
  for (unsigned i = 0; i < kVfRetaRegs; i++) {
    uint32_t w = 0;
    for (unsigned j = 0; j < 4; j++)
      w |= uint32_t(c.reta[4 * i + j]) << (8 * j);
    wr32(ad.hw, VFRETA(i), w);
  }
  uint32_t mrqc = mrqc_fields(c.rss_hf);
  wr32(ad.hw, VFMRQC, mrqc ? (mrqc | MRQC_RSSEN) : 0);
  return 0;
}

/* Called from dev_configure: record the application's RSS request. */
int rss_configure(Adapter &ad, const rte_eth_conf &conf) noexcept {
  SwConfig &c = ad.cfg;
  bool want = (conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0;
  c.rss_on = want && vf_regs(ad);
  c.rss_hf = conf.rx_adv_conf.rss_conf.rss_hf & kRssHfSupported;
  if (conf.rx_adv_conf.rss_conf.rss_key && conf.rx_adv_conf.rss_conf.rss_key_len >= kRssKeyBytes)
    std::memcpy(c.rss_key.data(), conf.rx_adv_conf.rss_conf.rss_key, kRssKeyBytes);
  else if (c.rss_key == std::array<uint8_t, kRssKeyBytes>{})
    std::memcpy(c.rss_key.data(), kDefaultKey, kRssKeyBytes);
  c.reta_set = false;
  return 0;
}

int rss_hash_update(rte_eth_dev *dev, rte_eth_rss_conf *conf) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!vf_regs(ad))
    return -ENOTSUP;
  if (conf->rss_key) {
    if (conf->rss_key_len < kRssKeyBytes)
      return -EINVAL;
    std::memcpy(ad.cfg.rss_key.data(), conf->rss_key, kRssKeyBytes);
  }
  ad.cfg.rss_hf = conf->rss_hf & kRssHfSupported;
  ad.cfg.rss_on = ad.cfg.rss_hf != 0;
  return cfg_apply_rss(ad);
}

int rss_hash_conf_get(rte_eth_dev *dev, rte_eth_rss_conf *conf) noexcept {
  Adapter &ad = adapter_of(dev);
  if (vf_regs(ad)) {
    if (conf->rss_key && conf->rss_key_len >= kRssKeyBytes)
      std::memcpy(conf->rss_key, ad.cfg.rss_key.data(), kRssKeyBytes);
    conf->rss_key_len = kRssKeyBytes;
    conf->rss_hf = ad.cfg.rss_on ? ad.cfg.rss_hf : 0;
    return 0;
  }
  if (ad.api != MbxApi::v12 && ad.api != MbxApi::v13 && ad.api != MbxApi::v14)
    return -ENOTSUP;
  uint32_t msg[1 + kRssKeyBytes / 4] = {VF_GET_RSS_KEY};
  uint32_t reply[1 + kRssKeyBytes / 4] = {};
  MbxResult r = ad.mbx.request(msg, 1, reply, 1 + kRssKeyBytes / 4);
  if (r != MbxResult::ok)
    return r == MbxResult::nack ? -ENOTSUP : mbx_errno(r);
  if (conf->rss_key && conf->rss_key_len >= kRssKeyBytes)
    std::memcpy(conf->rss_key, &reply[1], kRssKeyBytes);
  conf->rss_key_len = kRssKeyBytes;
  conf->rss_hf = kRssHf82599;
  return 0;
}

int reta_update(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size) noexcept {
  Adapter &ad = adapter_of(dev);
  if (!vf_regs(ad))
    return -ENOTSUP;
  if (size != kVfRetaEntries)
    return -EINVAL;
  unsigned nq = dev->data->nb_rx_queues ? dev->data->nb_rx_queues : 1;
  for (unsigned i = 0; i < size; i++) {
    const auto &g = conf[i / RTE_ETH_RETA_GROUP_SIZE];
    unsigned j = i % RTE_ETH_RETA_GROUP_SIZE;
    if (!(g.mask >> j & 1))
      continue;
    if (g.reta[j] >= nq)
      return -EINVAL;
    ad.cfg.reta[i] = uint8_t(g.reta[j]);
  }
  ad.cfg.reta_set = true;
  return cfg_apply_rss(ad);
}

int reta_query(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size) noexcept {
  Adapter &ad = adapter_of(dev);
  uint16_t n = reta_size(ad);
  if (size != n)
    return -EINVAL;
  uint8_t table[kRetaSize82599] = {};
  if (vf_regs(ad)) {
    for (unsigned i = 0; i < kVfRetaRegs; i++) {
      uint32_t w = rd32(ad.hw, VFRETA(i));
      for (unsigned j = 0; j < 4; j++)
        table[4 * i + j] = uint8_t(w >> (8 * j));
    }
  } else {
    if (ad.api != MbxApi::v12 && ad.api != MbxApi::v13 && ad.api != MbxApi::v14)
      return -ENOTSUP;
    uint32_t msg[1 + kRetaSize82599 / 16] = {VF_GET_RETA};
    uint32_t reply[1 + kRetaSize82599 / 16] = {};
    MbxResult r = ad.mbx.request(msg, 1, reply, 1 + kRetaSize82599 / 16);
    if (r != MbxResult::ok)
      return r == MbxResult::nack ? -ENOTSUP : mbx_errno(r);
    for (unsigned i = 0; i < kRetaSize82599; i++)
      table[i] = uint8_t((reply[1 + i / 16] >> (2 * (i % 16))) & 3);
  }
  for (unsigned i = 0; i < n; i++) {
    auto &g = conf[i / RTE_ETH_RETA_GROUP_SIZE];
    unsigned j = i % RTE_ETH_RETA_GROUP_SIZE;
    if (g.mask >> j & 1)
      g.reta[j] = table[i];
  }
  return 0;
}

}  // namespace ixgbevf_lm::pmd
