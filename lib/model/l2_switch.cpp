/* SPDX-License-Identifier: BSD-3-Clause
 * The PF's VM-to-VM switch (82599 "VMDq loopback"): a frame from a VF or from the uplink goes to
 * every other VF whose filters accept it (unicast MAC and MACVLANs, broadcast, multicast hash or
 * ALLMULTI, PROMISC), VLAN filter applied when the VF configured VLANs; what is not local, or is
 * broadcast/multicast, also leaves through the uplink when it came from a VF.
 */
#include <algorithm>

#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

uint16_t mc_hash_of(const uint8_t *mac) { return uint16_t(((mac[4] >> 4) | (uint16_t(mac[5]) << 4)) & 0xFFF); }

namespace {

bool mac_eq(const uint8_t *a, const MacAddr &b) { return std::equal(b.begin(), b.end(), a); }

enum class Cast { unicast, multicast, broadcast };

bool accepts(const VfState &vf, const uint8_t *dst, Cast c, bool tagged, uint16_t vid, bool *exact) {
  *exact = false;
  bool ok = false;
  switch (c) {
  case Cast::unicast:
    *exact = mac_eq(dst, vf.mac) ||
             std::any_of(vf.macvlans.begin(), vf.macvlans.end(), [&](const MacAddr &m) { return mac_eq(dst, m); });
    ok = *exact || vf.xcast == XcastMode::promisc;
    break;
  case Cast::broadcast:
    ok = vf.xcast != XcastMode::none;
    break;
  case Cast::multicast:
    ok = vf.xcast == XcastMode::allmulti || vf.xcast == XcastMode::promisc ||
         (vf.xcast == XcastMode::multi &&
          std::find(vf.mc_hashes.begin(), vf.mc_hashes.end(), mc_hash_of(dst)) != vf.mc_hashes.end());
    break;
  }
  if (ok && tagged && !vf.vlans.empty() && !vf.vlans.count(vid) && vf.xcast != XcastMode::promisc)
    ok = false;
  return ok;
}

}  // namespace

void switch_frame(PfModel::Impl &pf, int src_vf, std::span<const uint8_t> f) {
  if (f.size() < 14)
    return;
  const uint8_t *dst = f.data();
  bool bcast = std::all_of(dst, dst + 6, [](uint8_t b) { return b == 0xFF; });
  Cast c = bcast ? Cast::broadcast : (dst[0] & 1) ? Cast::multicast : Cast::unicast;
  bool tagged = f[12] == 0x81 && f[13] == 0x00 && f.size() >= 18;
  uint16_t vid = tagged ? uint16_t(((f[14] << 8) | f[15]) & 0xFFF) : 0;

  bool local = false;
  bool delivered = false;
  for (auto &p : pf.vfs) {
    VfState &vf = *p;
    if (int(vf.index) == src_vf || !vf.attached || !vf.rx_enabled)
      continue;
    bool exact = false;
    bool ok = accepts(vf, dst, c, tagged, vid, &exact);
    local |= exact;
    if (ok && rx_deliver(pf, vf, f, src_vf >= 0))
      delivered = true;
  }
  if (src_vf < 0)
    return;
  if (delivered)
    pf.stats.frames_switched++;
  if (c != Cast::unicast || !local) {
    if (pf.uplink) {
      pf.uplink->transmit(f);
      pf.stats.frames_to_uplink++;
    } else if (c == Cast::unicast) {
      pf.stats.unknown_destination_drops++;
    }
  }
}

}  // namespace ixgbevf_lm::model
