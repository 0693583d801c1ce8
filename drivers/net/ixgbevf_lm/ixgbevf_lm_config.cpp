/* SPDX-License-Identifier: BSD-3-Clause
 * Control operations that the PF carries out for the VF (mailbox messages), each recorded in the
 * software configuration once the PF accepted it, and replay_config() that re-applies all of it to
 * a fresh VF.
 */
#include <algorithm>
#include <cstring>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_rxtx.h"

namespace ixgbevf_lm::pmd {

using namespace hw;

namespace {

bool api_at_least(const Adapter &ad, MbxApi want) {
  auto rank = [](MbxApi a) {
    switch (a) {
    case MbxApi::v10: return 10;
    case MbxApi::v11: return 11;
    case MbxApi::v12: return 12;
    case MbxApi::v13: return 13;
    case MbxApi::v14: return 14;
    default: return 0;
    }
  };
  return rank(ad.api) >= rank(want);
}

void put_mac(uint32_t *msg, const rte_ether_addr &a) {
  uint8_t bytes[8] = {};
  std::memcpy(bytes, a.addr_bytes, RTE_ETHER_ADDR_LEN);
  std::memcpy(&msg[1], bytes, 4);
  std::memcpy(&msg[2], bytes + 4, 4);
}

int send(Adapter &ad, uint32_t *msg, unsigned len, const char *what) {
  uint32_t reply[kMbxSizeWords] = {};
  MbxResult r = ad.mbx.request(msg, len, reply, len);
  if (r != MbxResult::ok) {
    if (r == MbxResult::nack)
      IXGBEVF_LM_LOG(NOTICE, "port %u: %s: %s", ad.dev->data->port_id, what, mbx_result_str(r));
    else
      IXGBEVF_LM_LOG(ERR, "port %u: %s: %s", ad.dev->data->port_id, what, mbx_result_str(r));
    return mbx_errno(r);
  }
  return 0;
}

const char *xcast_name(uint32_t mode) {
  switch (mode) {
  case uint32_t(XcastMode::none): return "no multicast";
  case uint32_t(XcastMode::multi): return "multicast";
  case uint32_t(XcastMode::allmulti): return "all-multicast";
  case uint32_t(XcastMode::promisc): return "promiscuous";
  default: return "an unknown mode";
  }
}

/* The PF answers with the mode it granted (word 1): Linux's ixgbe grants an untrusted VF multicast
 * reception only. Less than asked is a refusal (-EPERM) that says why. */
int send_xcast(Adapter &ad, XcastMode mode) {
  uint32_t msg[2] = {VF_UPDATE_XCAST_MODE, uint32_t(mode)};
  uint32_t reply[2] = {};
  const MbxResult r = ad.mbx.request(msg, 2, reply, 2);
  if (r != MbxResult::ok) {
    if (r == MbxResult::nack)
      IXGBEVF_LM_LOG(NOTICE, "port %u: UPDATE_XCAST_MODE: %s", ad.dev->data->port_id, mbx_result_str(r));
    else
      IXGBEVF_LM_LOG(ERR, "port %u: UPDATE_XCAST_MODE: %s", ad.dev->data->port_id, mbx_result_str(r));
    return mbx_errno(r);
  }
  if (reply[1] < uint32_t(mode)) {
    IXGBEVF_LM_LOG(NOTICE, "port %u: the PF granted %s reception, not %s: the VF is not trusted (on the host: "
                   "ip link set <pf> vf <n> trust on)", ad.dev->data->port_id, xcast_name(reply[1]),
                   xcast_name(uint32_t(mode)));
    return -EPERM;
  }
  return 0;
}

int send_macvlans(Adapter &ad, const std::vector<rte_ether_addr> &list) {
  uint32_t clear[3] = {VF_SET_MACVLAN};
  int rc = send(ad, clear, 3, "SET_MACVLAN (clear)");
  for (unsigned i = 0; rc == 0 && i < list.size(); i++) {
    uint32_t msg[3] = {VF_SET_MACVLAN | ((i + 1) << VT_MSGINFO_SHIFT)};
    put_mac(msg, list[i]);
    rc = send(ad, msg, 3, "SET_MACVLAN");
  }
  return rc;
}

int send_mc_list(Adapter &ad, const std::vector<rte_ether_addr> &list) {
  uint32_t msg[kMbxSizeWords] = {};
  unsigned n = unsigned(list.size());
  msg[0] = VF_SET_MULTICAST | (n << VT_MSGINFO_SHIFT);
  for (unsigned i = 0; i < n; i++)
    msg[1 + i / 2] |= uint32_t(mc_hash(ad.mc_filter_type, list[i])) << (16 * (i % 2));
  return send(ad, msg, 1 + (n + 1) / 2, "SET_MULTICAST");
}

XcastMode xcast_for(bool promisc, bool allmulti) {
  return promisc ? XcastMode::promisc : allmulti ? XcastMode::allmulti : XcastMode::multi;
}

}  // namespace

/* The 12 bits of the destination address the PF's multicast table is indexed by, per filter type. */
uint16_t mc_hash(uint32_t filter_type, const rte_ether_addr &a) {
  const uint8_t *b = a.addr_bytes;
  uint32_t v;
  switch (filter_type & 3) {
  case 0: v = (b[4] >> 4) | (uint32_t(b[5]) << 4); break;
  case 1: v = (b[4] >> 3) | (uint32_t(b[5]) << 5); break;
  case 2: v = (b[4] >> 2) | (uint32_t(b[5]) << 6); break;
  default: v = b[4] | (uint32_t(b[5]) << 8); break;
  }
  return uint16_t(v & 0xFFF);
}

int cfg_set_xcast(Adapter &ad, bool promisc, bool allmulti) noexcept {
  if (promisc && !api_at_least(ad, MbxApi::v13))
    return -ENOTSUP;
  if (!api_at_least(ad, MbxApi::v12))
    return -ENOTSUP;
  int rc = send_xcast(ad, xcast_for(promisc, allmulti));
  if (rc == 0) {
    ad.cfg.promisc = promisc;
    ad.cfg.allmulti = allmulti;
  } else if (rc == -EPERM) {
    /* The PF applied the lesser mode: ask again for the one the port had, so that the device does
     * what the configuration (and the ethdev layer) says. */
    (void)send_xcast(ad, xcast_for(ad.cfg.promisc, ad.cfg.allmulti));
  }
  return rc;
}

int cfg_set_mac(Adapter &ad, const rte_ether_addr &mac) noexcept {
  uint32_t msg[3] = {VF_SET_MAC_ADDR};
  put_mac(msg, mac);
  int rc = send(ad, msg, 3, "SET_MAC_ADDR");
  if (rc == 0) {
    ad.cfg.mac = mac;
    ad.cfg.mac_set = true;
  }
  return rc;
}

int cfg_add_mac(Adapter &ad, const rte_ether_addr &mac) noexcept {
  auto &l = ad.cfg.extra_macs;
  if (std::any_of(l.begin(), l.end(), [&](const rte_ether_addr &m) { return rte_is_same_ether_addr(&m, &mac); }))
    return 0;
  if (l.size() >= kMaxExtraMacs)
    return -ENOSPC;
  uint32_t msg[3] = {VF_SET_MACVLAN | (uint32_t(l.size() + 1) << VT_MSGINFO_SHIFT)};
  put_mac(msg, mac);
  int rc = send(ad, msg, 3, "SET_MACVLAN");
  if (rc == 0)
    l.push_back(mac);
  return rc;
}

int cfg_remove_mac(Adapter &ad, const rte_ether_addr &mac) noexcept {
  auto l = ad.cfg.extra_macs;
  auto it = std::find_if(l.begin(), l.end(), [&](const rte_ether_addr &m) { return rte_is_same_ether_addr(&m, &mac); });
  if (it == l.end())
    return 0;
  l.erase(it);
  /* the PF can only clear all filters: clear, then add back the others */
  int rc = send_macvlans(ad, l);
  ad.cfg.extra_macs = l;
  return rc;
}

int cfg_set_mc_list(Adapter &ad, const rte_ether_addr *list, unsigned n) noexcept {
  if (n > kMaxMulticastHashes) {
    IXGBEVF_LM_LOG(ERR, "port %u: %u multicast addresses, the PF takes at most %u", ad.dev->data->port_id, n,
                   kMaxMulticastHashes);
    return -ENOSPC;
  }
  std::vector<rte_ether_addr> l(list, list + n);
  int rc = send_mc_list(ad, l);
  if (rc == 0)
    ad.cfg.mc_list = std::move(l);
  return rc;
}

int cfg_set_vlan(Adapter &ad, uint16_t vid, bool on) noexcept {
  if (vid >= 4096)
    return -EINVAL;
  uint32_t msg[2] = {VF_SET_VLAN | (uint32_t(on) << VF_SET_VLAN_ADD_SHIFT), vid};
  int rc = send(ad, msg, 2, on ? "SET_VLAN (add)" : "SET_VLAN (remove)");
  if (rc == 0)
    ad.cfg.vlans.set(vid, on);
  return rc;
}

int cfg_set_max_frame(Adapter &ad, uint32_t max_frame) noexcept {
  uint32_t msg[2] = {VF_SET_LPE, max_frame};
  int rc = send(ad, msg, 2, "SET_LPE");
  if (rc == 0)
    ad.cfg.max_frame = max_frame;
  return rc == -EPERM ? -EINVAL : rc;
}

/* The order matters: the address first (the PF's filters follow it), then the extra filters, the
 * multicast table, VLANs, the receive mode, the frame size and RSS. */
namespace {
/* What a VF that never sent SET_LPE receives: the 802.3 maximum with CRC (no VLAN tag). */
constexpr uint32_t kStandardMaxFrame = 1518;
}  // namespace

int replay_config(Adapter &ad) noexcept {
  SwConfig &c = ad.cfg;
  int first_err = 0;
  auto note = [&](int rc, const char *what) {
    if (rc && !first_err) {
      first_err = rc;
      IXGBEVF_LM_LOG(ERR, "port %u: replaying %s failed: %s", ad.dev->data->port_id, what, rte_strerror(-rc));
    }
  };
  if (c.mac_set) {
    uint32_t msg[3] = {VF_SET_MAC_ADDR};
    put_mac(msg, c.mac);
    note(send(ad, msg, 3, "SET_MAC_ADDR"), "the MAC address");
  }
  if (!c.extra_macs.empty())
    note(send_macvlans(ad, c.extra_macs), "the unicast filters");
  if (!c.mc_list.empty())
    note(send_mc_list(ad, c.mc_list), "the multicast list");
  for (unsigned vid = 0; vid < 4096; vid++) {
    if (c.vlans.test(vid)) {
      uint32_t msg[2] = {VF_SET_VLAN | (1u << VF_SET_VLAN_ADD_SHIFT), vid};
      note(send(ad, msg, 2, "SET_VLAN"), "the VLAN filters");
    }
  }
  if ((c.promisc || c.allmulti) && api_at_least(ad, c.promisc ? MbxApi::v13 : MbxApi::v12)) {
    const int rc = send_xcast(ad, xcast_for(c.promisc, c.allmulti));
    if (rc == -EPERM) {
      /* A PF that does not trust this VF (a destination host configured otherwise): the port runs
       * with what it grants rather than not at all, and the ethdev layer says so. */
      IXGBEVF_LM_LOG(WARNING, "port %u: the PF does not grant %s reception here (the VF is not trusted); "
                     "the port runs without it", ad.dev->data->port_id, c.promisc ? "promiscuous" : "all-multicast");
      c.promisc = c.allmulti = false;
      ad.dev->data->promiscuous = 0;
      ad.dev->data->all_multicast = 0;
    } else {
      note(rc, "the receive mode");
    }
  }
  /* A reset VF takes standard frames (1518 bytes): SET_LPE only for a larger maximum. */
  if (c.max_frame != kStandardMaxFrame) {
    uint32_t msg[2] = {VF_SET_LPE, c.max_frame};
    note(send(ad, msg, 2, "SET_LPE"), "the frame size");
  }
  note(cfg_apply_rss(ad), "RSS");
  note(sec_replay(ad), "the IPsec SAs");
  return first_err;
}

}  // namespace ixgbevf_lm::pmd
