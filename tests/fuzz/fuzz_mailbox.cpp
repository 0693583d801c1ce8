/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: PF-to-VF mailbox replies as the driver parses them. A fake PF serves every read of
 * VFMAILBOX and VFMBMEM from the input (status bits in any combination, replies of any content,
 * NACK/ACK mixes, unsolicited PF messages crossing a request); the driver's own code runs against
 * it: VF bring-up (VF_RESET, API negotiation, GET_QUEUES), RSS key and RETA queries, the service
 * poll for PF messages. Every wait must end (the mailbox timeout is short here) and every value
 * derived from a reply must stay in range.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_migdev.h"
#include "ixgbevf_lm_migration.h"
#include "ixgbevf_lm_security.h"

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::pmd;

namespace {

/* The PF: each read of VFMAILBOX or VFMBMEM takes the next 32-bit word of the input (0 once it is
 * used up, so every wait ends at the mailbox timeout). RSTD follows a function reset, as on the
 * hardware, so that bring-up gets past it without a one-second wait. */
struct FakePf {
  const uint8_t *data = nullptr;
  size_t size = 0, pos = 0;
  bool reset_pending = false;

  uint32_t next()
  {
    uint32_t v = 0;
    if (pos < size) {
      const size_t n = size - pos < 4 ? size - pos : 4;
      std::memcpy(&v, data + pos, n);
      pos += n;
    }
    return v;
  }
};

uint32_t pf_read(void *ctx, uint32_t off)
{
  auto &pf = *static_cast<FakePf *>(ctx);
  if (off == hw::VFMAILBOX) {
    uint32_t v = pf.next();
    if (pf.reset_pending) {
      pf.reset_pending = false;
      v = (v | hw::VFMAILBOX_RSTD) & ~hw::VFMAILBOX_RSTI;
    }
    return v;
  }
  if (off >= hw::VFMBMEM && off < hw::VFMBMEM + 4 * hw::kMbxSizeWords)
    return pf.next();
  if (off == hw::VFLINKS)
    return pf.next();
  return 0;
}

void pf_write(void *ctx, uint32_t off, uint32_t v)
{
  auto &pf = *static_cast<FakePf *>(ctx);
  if (off == hw::VFCTRL && (v & hw::CTRL_RST))
    pf.reset_pending = true;
}

struct Rig {
  FakePf pf;
  rte_eth_dev_data data{};
  rte_eth_dev dev{};
  Adapter ad;
  Rig()
  {
    dev.data = &data;
    data.dev_private = &ad;
    ad.dev = &dev;
    ad.hw.read = pf_read;
    ad.hw.write = pf_write;
    ad.hw.ctx = &pf;
  }
};

}  // namespace

/* The driver logs every bad reply; at millions of inputs that is noise, not information. */
extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
  rte_log_set_global_level(RTE_LOG_CRIT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static Rig *rig = new Rig;  /* one port for every input (kept reachable: no leak report) */
  if (size < 1)
    return 0;
  Rig &r = *rig;
  r.pf = FakePf{data + 1, size - 1, false};
  Adapter &ad = r.ad;
  ad.mbx.init(&ad.hw, 50);
  ad.mbx.clear_sticky();
  ad.api = hw::MbxApi::v10;
  ad.mac_type = (data[0] & 1) ? hw::MacType::vf_x550 : hw::MacType::vf_82599;

  if (vf_reset_and_negotiate(ad) == 0) {
    if (ad.max_rx_queues < 1 || ad.max_rx_queues > hw::kVfMaxQueues || ad.max_tx_queues < 1 ||
        ad.max_tx_queues > hw::kVfMaxQueues)
      abort();
  }
  if (data[0] & 2) {
    uint8_t key[64];
    rte_eth_rss_conf conf{};
    conf.rss_key = key;
    conf.rss_key_len = sizeof key;
    (void)rss_hash_conf_get(&r.dev, &conf);
    if (conf.rss_key_len > sizeof key)
      abort();
  }
  if (data[0] & 4) {
    rte_eth_rss_reta_entry64 reta[2]{};
    reta[0].mask = reta[1].mask = ~0ull;
    (void)reta_query(&r.dev, reta, 64);
  }
  PfEvents ev;
  (void)ad.mbx.poll_pf_message(&ev);
  (void)vf_link_update(&r.dev, 0);
  return 0;
}
