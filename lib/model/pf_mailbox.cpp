/* SPDX-License-Identifier: BSD-3-Clause
 * The PF side of the PF-VF mailbox, as Intel's PF drivers (Linux ixgbe_sriov.c, DPDK ixgbe_pf.c)
 * answer it: the VF's REQ hands VFMBMEM to the PF, which after timings.mbx_response reads it
 * (PFACK), handles it and writes its reply into VFMBMEM (PFSTS). The VF acknowledges with ACK.
 */
#include <algorithm>
#include <cstring>

#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

/* Mailbox API revisions in the order a VF prefers them (2.0 is DPDK-PF only and not offered). */
int api_rank(MbxApi a) {
  switch (a) {
  case MbxApi::v10: return 10;
  case MbxApi::v11: return 11;
  case MbxApi::v12: return 12;
  case MbxApi::v13: return 13;
  case MbxApi::v14: return 14;
  default: return -1;
  }
}

bool valid_unicast(const MacAddr &m) {
  bool zero = std::all_of(m.begin(), m.end(), [](uint8_t b) { return b == 0; });
  return !zero && !(m[0] & 1);
}

MacAddr mac_from_words(const std::vector<uint32_t> &w) {
  MacAddr m{};
  uint8_t bytes[8];
  std::memcpy(bytes, &w[1], 4);
  std::memcpy(bytes + 4, &w[2], 4);
  std::memcpy(m.data(), bytes, 6);
  return m;
}

void mac_to_words(std::vector<uint32_t> &w, const MacAddr &m) {
  uint8_t bytes[8] = {};
  std::memcpy(bytes, m.data(), 6);
  std::memcpy(&w[1], bytes, 4);
  std::memcpy(&w[2], bytes + 4, 4);
}

inline constexpr unsigned kMaxMacvlans = 16;
inline constexpr unsigned kMaxVfVlans = 64;
inline constexpr uint32_t kMinFrame = 64;

/* VF_RESET: the PF re-initialises what it keeps for the VF, enables its pool, and answers with the
 * permanent MAC and the multicast filter type. The VF is clear to send from now on. */
bool vf_reset_msg(PfModel::Impl &, VfState &vf, std::vector<uint32_t> &r) {
  vf_disable_queues(vf);
  vf_clear_pf_filters(vf);
  vf.rx_enabled = true;
  vf.cts = true;
  r.assign(VF_PERMADDR_MSG_LEN, 0);
  r[0] = VF_RESET;
  if (!valid_unicast(vf.mac))
    return false;
  mac_to_words(r, vf.mac);
  r[VF_MC_TYPE_WORD] = 0; /* filter type 0: hash of address bits 47:36 */
  return true;
}

bool set_mac_addr(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  MacAddr m = mac_from_words(r);
  if (!valid_unicast(m))
    return false;
  if (m != vf.mac && vf.admin_mac && !pf.cfg.allow_vf_set_mac && !vf.trusted)
    return false;  /* Linux: "VF attempted to override administratively set MAC address" */
  vf.mac = m;
  r.resize(3);
  return true;
}

bool set_multicast(PfModel::Impl &, VfState &vf, std::vector<uint32_t> &r) {
  unsigned n = std::min<unsigned>((r[0] & VT_MSGINFO_MASK) >> VT_MSGINFO_SHIFT, kMaxMulticastHashes);
  vf.mc_hashes.clear();
  for (unsigned i = 0; i < n; i++) {
    uint32_t w = r[1 + i / 2];
    vf.mc_hashes.push_back(uint16_t(i % 2 ? w >> 16 : w & 0xFFFF));
  }
  r.resize(1);
  return true;
}

bool set_vlan(PfModel::Impl &, VfState &vf, std::vector<uint32_t> &r) {
  bool add = (r[0] >> VF_SET_VLAN_ADD_SHIFT) & 1;
  uint16_t vid = uint16_t(r[1] & 0xFFF);
  if (add) {
    if (!vf.vlans.count(vid) && vf.vlans.size() >= kMaxVfVlans)
      return false;
    vf.vlans.insert(vid);
  } else {
    vf.vlans.erase(vid);
  }
  r.resize(2);
  return true;
}

bool set_lpe(PfModel::Impl &, VfState &vf, std::vector<uint32_t> &r) {
  uint32_t max = r[1];
  r.resize(2);
  if (max < kMinFrame || max > kMaxFrameSize)
    return false;
  vf.max_frame = max;
  return true;
}

bool set_macvlan(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  unsigned index = (r[0] & VT_MSGINFO_MASK) >> VT_MSGINFO_SHIFT;
  if (index == 0) {
    vf.macvlans.clear();
    r.resize(1);
    return true;
  }
  MacAddr m = mac_from_words(r);
  r.resize(3);
  if (vf.admin_mac && !pf.cfg.allow_vf_set_mac && !vf.trusted)
    return false;  /* Linux: "requested MACVLAN filter but is administratively denied" */
  if (!valid_unicast(m))
    return false;
  if (std::find(vf.macvlans.begin(), vf.macvlans.end(), m) != vf.macvlans.end())
    return true;
  if (vf.macvlans.size() >= kMaxMacvlans)
    return false;
  vf.macvlans.push_back(m);
  return true;
}

bool api_negotiate(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  auto want = MbxApi(r[1]);
  r.resize(2);
  int rank = api_rank(want);
  if (rank < 0 || rank > api_rank(pf.cfg.max_api))
    return false;
  vf.api = want;
  return true;
}

bool get_queues(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  r.assign(kGetQueuesReplyWords, 0);
  r[0] = VF_GET_QUEUES;
  if (api_rank(vf.api) < 11)
    return false;
  r[VF_TX_QUEUES] = pf.cfg.queues_per_vf;
  r[VF_RX_QUEUES] = pf.cfg.queues_per_vf;
  r[VF_TRANS_VLAN] = 0;
  r[VF_DEF_QUEUE] = 0;
  return true;
}

/* 82599/X540: the PF's 128-entry RETA compressed to 2 bits per entry, 16 entries per word. */
bool get_reta(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  r.assign(1 + kPfRetaEntries / 16, 0);
  r[0] = VF_GET_RETA;
  if (api_rank(vf.api) < 12)
    return false;
  for (unsigned i = 0; i < kPfRetaEntries / 16; i++)
    for (unsigned j = 0; j < 16; j++)
      r[1 + i] |= uint32_t(pf.reta[16 * i + j] & 0x3) << (2 * j);
  return true;
}

bool get_rss_key(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  r.assign(1 + kRssKeyBytes / 4, 0);
  r[0] = VF_GET_RSS_KEY;
  if (api_rank(vf.api) < 12)
    return false;
  std::memcpy(&r[1], pf.rss_key.data(), kRssKeyBytes);
  return true;
}

bool update_xcast_mode(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  uint32_t mode = r[1];
  r.resize(2);
  int rank = api_rank(vf.api);
  if (rank < 12)
    return false;
  if (mode > uint32_t(XcastMode::promisc))
    return false;
  if (mode == uint32_t(XcastMode::promisc) && rank < 13)
    return false;
  /* Linux: an untrusted VF's all-multicast or promiscuous request is granted as multicast only, and
   * the reply carries the mode granted. */
  if (mode > uint32_t(XcastMode::multi) && !(pf.cfg.allow_vf_promisc || vf.trusted))
    mode = uint32_t(XcastMode::multi);
  vf.xcast = XcastMode(mode);
  r[1] = mode;
  return true;
}

/* Length of a request as logged: up to the last non-zero word. */
std::vector<uint32_t> trimmed(const std::array<uint32_t, kMbxSizeWords> &m) {
  unsigned n = kMbxSizeWords;
  while (n > 1 && m[n - 1] == 0)
    n--;
  return {m.begin(), m.begin() + n};
}

void write_to_vf(VfState &vf, const std::vector<uint32_t> &msg, uint32_t status_bits) {
  for (unsigned i = 0; i < msg.size() && i < kMbxSizeWords; i++)
    vf.set_reg(VFMBMEM + 4 * i, msg[i]);
  vf.regs[VFMAILBOX / 4].fetch_or(status_bits, std::memory_order_acq_rel);
  vf.pf_msg_unacked = true;
}

void handle_request(PfModel::Impl &pf, VfState &vf) {
  std::vector<uint32_t> req(vf.req.begin(), vf.req.end());
  std::vector<uint32_t> r = req;
  uint32_t w0 = req[0];
  uint32_t id = w0 & VT_MSGID_MASK;
  bool ok = false;
  bool cts_flag = true;
  pf.stats.mailbox_messages++;

  if (w0 & (VT_MSGTYPE_ACK | VT_MSGTYPE_NACK | VT_MSGTYPE_CTS)) {
    r.resize(1); /* not a request: an echo of a reply, or garbage */
    ok = false;
  } else if (id == VF_RESET) {
    ok = vf_reset_msg(pf, vf, r);
    cts_flag = false; /* Intel's VF compares word 0 with exactly RESET|ACK */
  } else if (!vf.cts) {
    r.resize(1);
    ok = false;
    cts_flag = false;
  } else {
    switch (id) {
    case VF_SET_MAC_ADDR: ok = set_mac_addr(pf, vf, r); break;
    case VF_SET_MULTICAST: ok = set_multicast(pf, vf, r); break;
    case VF_SET_VLAN: ok = set_vlan(pf, vf, r); break;
    case VF_SET_LPE: ok = set_lpe(pf, vf, r); break;
    case VF_SET_MACVLAN: ok = set_macvlan(pf, vf, r); break;
    case VF_API_NEGOTIATE: ok = api_negotiate(pf, vf, r); break;
    case VF_GET_QUEUES: ok = get_queues(pf, vf, r); break;
    case VF_GET_RETA: ok = get_reta(pf, vf, r); break;
    case VF_GET_RSS_KEY: ok = get_rss_key(pf, vf, r); break;
    case VF_UPDATE_XCAST_MODE: ok = update_xcast_mode(pf, vf, r); break;
    case VF_IPSEC_ADD: ok = ipsec_vf_add_sa(pf, vf, r); break;
    case VF_IPSEC_DEL: ok = ipsec_vf_del_sa(pf, vf, r); break;
    default: r.resize(1); ok = false; break;
    }
  }
  if (r.empty())
    r.push_back(w0);
  r[0] = (w0 & (VT_MSGID_MASK | VT_MSGINFO_MASK)) | (ok ? VT_MSGTYPE_ACK : VT_MSGTYPE_NACK);
  if (cts_flag && vf.cts)
    r[0] |= VT_MSGTYPE_CTS;
  if (!ok)
    pf.stats.mailbox_nacks++;
  pf.log.push_back(MailboxRecord{vf.index, trimmed(vf.req), r});
  write_to_vf(vf, r, VFMAILBOX_PFACK | VFMAILBOX_PFSTS);
}

}  // namespace

void mbx_on_request(VfState &vf) {
  for (unsigned i = 0; i < kMbxSizeWords; i++)
    vf.req[i] = vf.reg(VFMBMEM + 4 * i);
  vf.req_pending = true;
  vf.req_due_us = vf.pf->now_us() + uint64_t(vf.pf->cfg.timings.mbx_response.count());
}

void mbx_on_ack(VfState &vf) { vf.pf_msg_unacked = false; }

void mbx_post(VfState &vf, std::vector<uint32_t> msg) { vf.outbox.push_back(std::move(msg)); }

bool vf_complete_reset(PfModel::Impl &pf, VfState &vf, uint64_t now) {
  if (!vf.reset_pending || now < vf.reset_due_us || pf.faults.reset_never_completes)
    return false;
  vf.reset_pending = false;
  uint32_t cur = vf.regs[VFMAILBOX / 4].load();
  while (!vf.regs[VFMAILBOX / 4].compare_exchange_weak(cur, (cur & ~VFMAILBOX_RSTI) | VFMAILBOX_RSTD)) {
  }
  return true;
}

/* The PF's reply to the VF's request, once it is due. */
static bool reply_if_due(PfModel::Impl &pf, VfState &vf, uint64_t now) {
  if (!vf.req_pending || now < vf.req_due_us || pf.faults.mailbox_silent)
    return false;
  vf.req_pending = false;
  handle_request(pf, vf);
  return true;
}

bool vf_complete_due(PfModel::Impl &pf, VfState &vf, uint64_t now) {
  const bool reset = vf_complete_reset(pf, vf, now);
  return reply_if_due(pf, vf, now) || reset;
}

bool mbx_service(PfModel::Impl &pf, bool single_unit) {
  bool did = false;
  uint64_t now = pf.now_us();
  for (auto &p : pf.vfs) {
    VfState &vf = *p;
    if (pf.faults.mailbox_silent)
      continue;
    if (reply_if_due(pf, vf, now)) {
      did = true;
    } else if (!vf.req_pending && !vf.pf_msg_unacked && !vf.outbox.empty() &&
               !(vf.reg(VFMAILBOX) & VFMAILBOX_VFU)) {
      write_to_vf(vf, vf.outbox.front(), VFMAILBOX_PFSTS);
      vf.outbox.pop_front();
      did = true;
    }
    if (did && single_unit)
      return true;
  }
  return did;
}

}  // namespace ixgbevf_lm::model
