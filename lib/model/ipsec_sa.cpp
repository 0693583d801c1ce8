/* SPDX-License-Identifier: BSD-3-Clause
 * The PF side of VF_IPSEC_ADD / VF_IPSEC_DEL (mailbox API 1.4) as Linux's ixgbe PF answers them:
 * the PF refuses unless its policy lets VFs use the engine and the VF is trusted; an inbound SA
 * goes into the Rx table (handle = index), an outbound one into the Tx table (handle = 1024 +
 * index); the reply's word 1 is the handle, or a negative errno with NACK. A VF may delete only
 * its own SAs; deleting a free entry is not an error (a VF reset already removed it).
 */
#include <cerrno>
#include <cstring>

#include "ipsec_internal.h"
#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

bool refuse(std::vector<uint32_t> &r, int err) {
  r.resize(2);
  r[1] = uint32_t(-err);
  return false;
}

unsigned distinct_rx_addresses(const IpsecTables &t, const IpsecSa *plus) {
  std::vector<const IpsecSa *> seen;
  auto add = [&](const IpsecSa &s) {
    for (const IpsecSa *o : seen)
      if (o->family == s.family && o->addr == s.addr)
        return;
    seen.push_back(&s);
  };
  for (const IpsecSa &s : t.rx)
    if (s.used)
      add(s);
  if (plus)
    add(*plus);
  return unsigned(seen.size());
}

}  // namespace

bool ipsec_vf_add_sa(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  if (!pf.cfg.allow_vf_ipsec || !vf.trusted)
    return refuse(r, EACCES);
  r.resize(kIpsecAddMsgWords, 0);
  IpsecSaMsg m;
  std::memcpy(&m, &r[1], sizeof m);
  if (m.proto != kIpProtoEsp || (m.family != kAfInet && m.family != kAfInet6) ||
      (m.dir != kIpsecDirIn && m.dir != kIpsecDirOut))
    return refuse(r, EINVAL);
  if (m.dir == kIpsecDirOut && pf.cfg.refuse_vf_tx_sa)
    return refuse(r, EOPNOTSUPP);

  IpsecSa sa;
  sa.used = true;
  sa.owner_vf = int(vf.index);
  sa.spi = m.spi;
  sa.proto = m.proto;
  sa.family = m.family;
  std::memcpy(sa.addr.data(), m.addr, m.family == kAfInet ? 4 : 16);
  std::memcpy(sa.key.data(), m.key, kIpsecKeyBytes);
  std::memcpy(sa.salt.data(), m.salt, kIpsecSaltBytes);

  auto &table = m.dir == kIpsecDirIn ? pf.ipsec.rx : pf.ipsec.tx;
  unsigned idx = 0;
  while (idx < kIpsecMaxSa && table[idx].used)
    idx++;
  if (idx == kIpsecMaxSa)
    return refuse(r, ENOSPC);
  if (m.dir == kIpsecDirIn && distinct_rx_addresses(pf.ipsec, &sa) > kIpsecMaxRxIp)
    return refuse(r, ENOSPC);
  table[idx] = sa;
  r.resize(2);
  r[1] = (m.dir == kIpsecDirIn ? kIpsecBaseRxHandle : kIpsecBaseTxHandle) + idx;
  return true;
}

bool ipsec_vf_del_sa(PfModel::Impl &pf, VfState &vf, std::vector<uint32_t> &r) {
  r.resize(2);
  if (!vf.trusted)
    return refuse(r, EPERM);
  uint32_t handle = r[1];
  bool rx = handle < kIpsecBaseTxHandle;
  uint32_t idx = rx ? handle - kIpsecBaseRxHandle : handle - kIpsecBaseTxHandle;
  if (idx >= kIpsecMaxSa)
    return refuse(r, EINVAL);
  IpsecSa &s = rx ? pf.ipsec.rx[idx] : pf.ipsec.tx[idx];
  if (!s.used)
    return true;
  if (s.owner_vf != int(vf.index))
    return refuse(r, ENOENT);
  s = IpsecSa{};  /* the key registers are cleared too */
  return true;
}

void ipsec_clear_vf(PfModel::Impl &pf, unsigned vf) {
  for (auto *t : {&pf.ipsec.rx, &pf.ipsec.tx})
    for (IpsecSa &s : *t)
      if (s.used && s.owner_vf == int(vf))
        s = IpsecSa{};
}

void ipsec_reserve_pf_entries(PfModel::Impl &pf) {
  for (unsigned i = 0; i < pf.cfg.pf_rx_sas && i < kIpsecMaxSa; i++) {
    pf.ipsec.rx[i].used = true;
    pf.ipsec.rx[i].owner_vf = -1;
    /* a distinct documentation address per SA (192.0.2.x / 198.51.100.x) */
    pf.ipsec.rx[i].addr = {192, 0, 2, uint8_t(i % kIpsecMaxRxIp)};
    pf.ipsec.rx[i].spi = 0xFFFF0000u + i;
  }
  for (unsigned i = 0; i < pf.cfg.pf_tx_sas && i < kIpsecMaxSa; i++) {
    pf.ipsec.tx[i].used = true;
    pf.ipsec.tx[i].owner_vf = -1;
  }
}

}  // namespace ixgbevf_lm::model
