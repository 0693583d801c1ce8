/* SPDX-License-Identifier: BSD-3-Clause
 * VF bring-up as the hardware expects it (function reset, RSTD, VF_RESET, API negotiation,
 * GET_QUEUES), the link from VFLINKS, and the service alarm that reads PF-initiated messages and
 * samples the wrapping counters. Never on the fast path.
 */
#include <cstring>
#include <utility>

#include <rte_alarm.h>
#include <rte_random.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

int mbx_errno(MbxResult r) {
  switch (r) {
  case MbxResult::ok: return 0;
  case MbxResult::nack: return -EPERM;
  case MbxResult::timeout: return -ETIMEDOUT;
  case MbxResult::reset: return -EIO;
  case MbxResult::busy: return -EBUSY;
  }
  return -EIO;
}

namespace {

const char *api_name(MbxApi a) {
  switch (a) {
  case MbxApi::v10: return "1.0";
  case MbxApi::v11: return "1.1";
  case MbxApi::v12: return "1.2";
  case MbxApi::v13: return "1.3";
  case MbxApi::v14: return "1.4";
  case MbxApi::v20: return "2.0";
  default: return "?";
  }
}

int negotiate_api(Adapter &ad) {
  static constexpr MbxApi kPreferred[] = {MbxApi::v14, MbxApi::v13, MbxApi::v12, MbxApi::v11};
  /* A rebuild (a migration's destination, a PF reset) asks first for the version the port ran with:
   * the application's configuration was made under it, and on a PF like the last one it saves the
   * refused proposals (one exchange each, inside the migration's downtime). */
  const MbxApi before = ad.api;
  auto propose = [&](MbxApi a) {
    uint32_t msg[2] = {VF_API_NEGOTIATE, uint32_t(a)};
    uint32_t reply[2] = {};
    return ad.mbx.request(msg, 2, reply, 2);
  };
  if (before != MbxApi::v10) {
    const MbxResult r = propose(before);
    if (r == MbxResult::ok)
      return 0;
    if (r != MbxResult::nack)
      return mbx_errno(r);
  }
  for (MbxApi a : kPreferred) {
    if (a == before)
      continue;
    const MbxResult r = propose(a);
    if (r == MbxResult::ok) {
      ad.api = a;
      return 0;
    }
    if (r != MbxResult::nack)
      return mbx_errno(r);
  }
  ad.api = MbxApi::v10;
  return 0;
}

int get_queues(Adapter &ad) {
  ad.max_rx_queues = ad.max_tx_queues = 1;
  if (ad.api == MbxApi::v10)
    return 0;
  uint32_t msg[kGetQueuesReplyWords] = {VF_GET_QUEUES};
  uint32_t reply[kGetQueuesReplyWords] = {};
  MbxResult r = ad.mbx.request(msg, 1, reply, kGetQueuesReplyWords);
  if (r == MbxResult::nack)
    return 0; /* a PF that does not know the message: one queue pair */
  if (r != MbxResult::ok)
    return mbx_errno(r);
  auto clamp = [](uint32_t v) { return v == 0 ? 1u : (v > kVfMaxQueues ? kVfMaxQueues : v); };
  ad.max_tx_queues = clamp(reply[VF_TX_QUEUES]);
  ad.max_rx_queues = clamp(reply[VF_RX_QUEUES]);
  return 0;
}

}  // namespace

int vf_reset_and_negotiate(Adapter &ad) noexcept {
  /* function reset: queues stop, registers return to their reset values */
  wr32(ad.hw, VFCTRL, CTRL_RST);
  wr_flush(ad.hw);
  if (!ad.mbx.wait_reset_done(kResetTimeoutUs)) {
    IXGBEVF_LM_LOG(ERR, "port %u: VF reset did not complete (no RSTD within %llu ms)", ad.dev->data->port_id,
                   (unsigned long long)(kResetTimeoutUs / 1000));
    return -ETIMEDOUT;
  }
  ad.resets++;
  ad.pf_reset_seen.store(false);

  uint32_t msg[1] = {VF_RESET};
  uint32_t reply[VF_PERMADDR_MSG_LEN] = {};
  MbxResult r = ad.mbx.request(msg, 1, reply, VF_PERMADDR_MSG_LEN);
  if (r == MbxResult::ok) {
    uint8_t bytes[8];
    std::memcpy(bytes, &reply[1], 4);
    std::memcpy(bytes + 4, &reply[2], 4);
    std::memcpy(ad.perm_addr.addr_bytes, bytes, RTE_ETHER_ADDR_LEN);
    ad.mc_filter_type = reply[VF_MC_TYPE_WORD];
  } else if (r == MbxResult::nack) {
    /* the PF has no MAC for this VF: use a random locally administered one, as Intel's VFs do. Said
     * at the port's first reset only: a rebuild (migration, PF reset) keeps the address the port had
     * (rebuild_once restores it), so there is nothing new to tell. */
    rte_eth_random_addr(ad.perm_addr.addr_bytes);
    ad.mc_filter_type = reply[VF_MC_TYPE_WORD];
    if (!std::exchange(ad.random_mac_said, true))
      IXGBEVF_LM_LOG(WARNING, "port %u: the PF assigned no MAC address; using a random one",
                     ad.dev->data->port_id);
    else
      IXGBEVF_LM_LOG(DEBUG, "port %u: the PF assigned no MAC address; the port keeps the one it had",
                     ad.dev->data->port_id);
  } else {
    IXGBEVF_LM_LOG(ERR, "port %u: VF_RESET message failed: %s", ad.dev->data->port_id, mbx_result_str(r));
    return mbx_errno(r);
  }
  int rc = negotiate_api(ad);
  if (rc == 0)
    rc = get_queues(ad);
  if (rc) {
    IXGBEVF_LM_LOG(ERR, "port %u: mailbox negotiation failed (%s)", ad.dev->data->port_id, rte_strerror(-rc));
    return rc;
  }
  IXGBEVF_LM_LOG(INFO, "port %u: VF up, mailbox API %s, %u Rx / %u Tx queues", ad.dev->data->port_id,
                 api_name(ad.api), ad.max_rx_queues, ad.max_tx_queues);
  return 0;
}

int vf_link_update(rte_eth_dev *dev, int) noexcept {
  Adapter &ad = adapter_of(dev);
  ad.link_checks++;
  rte_eth_link link{};
  uint32_t links = rd32(ad.hw, VFLINKS);
  bool up = links != 0xFFFFFFFFu && (links & LINKS_UP) && !ad.pf_reset_seen.load() && !ad.link_held_down.load();
  if (up) {
    uint32_t sp = links & LINKS_SPEED_82599_MASK;
    bool non_std = has_vf_rss_registers(ad.mac_type) && (links & LINKS_SPEED_NON_STD);
    switch (sp) {
    case LINKS_SPEED_10G_82599: link.link_speed = RTE_ETH_SPEED_NUM_10G; break;
    case LINKS_SPEED_1G_82599: link.link_speed = non_std ? RTE_ETH_SPEED_NUM_2_5G : RTE_ETH_SPEED_NUM_1G; break;
    case LINKS_SPEED_100_82599: link.link_speed = non_std ? RTE_ETH_SPEED_NUM_5G : RTE_ETH_SPEED_NUM_100M; break;
    default: link.link_speed = RTE_ETH_SPEED_NUM_UNKNOWN; break;
    }
    link.link_status = RTE_ETH_LINK_UP;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
  } else {
    link.link_speed = RTE_ETH_SPEED_NUM_NONE;
    link.link_status = RTE_ETH_LINK_DOWN;
    link.link_duplex = RTE_ETH_LINK_HALF_DUPLEX;
  }
  link.link_autoneg = RTE_ETH_LINK_FIXED;
  return rte_eth_linkstatus_set(dev, &link);
}

namespace {

void service_alarm(void *arg) {
  auto *dev = static_cast<rte_eth_dev *>(arg);
  Adapter &ad = adapter_of(dev);
  if (!ad.alarm_armed.load(std::memory_order_acquire))
    return;
  PfEvents ev;
  if (ad.mbx.poll_pf_message(&ev)) {
    if (ev.reset && !ad.pf_reset_seen.exchange(true)) {
      vf_link_update(dev, 0);
      if (ad.devargs.mig.recover == mig::RecoverMode::app) {
        /* as DPDK's ixgbe VF driver: the application calls rte_eth_dev_reset() */
        IXGBEVF_LM_LOG(WARNING, "port %u: the PF is resetting this VF (RSTI); recover=app: the port needs dev_reset",
                       dev->data->port_id);
        rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_RESET, nullptr);
      } else {
        /* recover=auto: the migration control thread rebuilds the port (pf_reset_seen) */
        IXGBEVF_LM_LOG(WARNING, "port %u: the PF is resetting this VF (RSTI); recovering", dev->data->port_id);
      }
    }
    if (ev.migration) {
      ad.migration_phase.store(ev.migration_phase);
      IXGBEVF_LM_LOG(INFO, "port %u: PF announced migration phase %u", dev->data->port_id, ev.migration_phase);
    }
    if (ev.control) {
      int changed = vf_link_update(dev, 0) == 0;
      if (changed && dev->data->dev_conf.intr_conf.lsc)
        rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, nullptr);
    }
  }
  stats_sample(ad);
  rte_eal_alarm_set(kServiceIntervalUs, service_alarm, dev);
}

}  // namespace

void vf_service_start(Adapter &ad) noexcept {
  if (ad.alarm_armed)
    return;
  ad.alarm_armed.store(true, std::memory_order_release);
  rte_eal_alarm_set(kServiceIntervalUs, service_alarm, ad.dev);
}

void vf_service_stop(Adapter &ad) noexcept {
  if (!ad.alarm_armed)
    return;
  ad.alarm_armed.store(false, std::memory_order_release);
  rte_eal_alarm_cancel(service_alarm, ad.dev);
}

}  // namespace ixgbevf_lm::pmd
