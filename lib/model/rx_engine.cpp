/* SPDX-License-Identifier: BSD-3-Clause
 * Receive engine: choose the queue (RSS), strip the VLAN tag (RXDCTL.VME), check the L3/L4
 * checksums (on X550, of the inner packet of a VXLAN tunnel, with the outer IPv4 header's
 * checksum reported apart), keep the FCS when the PF does not strip it (HLREG0.RXCRCSTRP),
 * split the frame over the buffers of free descriptors (RDH..RDT), write the data and then each
 * descriptor's write-back (DD last, with release ordering), advance RDH. Without enough
 * free descriptors the frame is dropped and counted (SRRCTL.DROP_EN behaviour).
 */
#include <algorithm>
#include <cstring>

#include "offloads.h"
#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

struct RssResult {
  bool on = false;
  uint32_t hash = 0;
  uint16_t type = RXDADV_RSSTYPE_NONE;
  unsigned queue = 0;
};

/* RSS: X550-style per-VF registers when the VF enabled VFMRQC.RSSEN; on 82599/X540 with more than
 * one queue per pool (PSRTYPE.RQPL), the PF's key and RETA, hashing IPv4/IPv6 and TCP. */
RssResult rss(const PfModel::Impl &pf, const VfState &vf, std::span<const uint8_t> f, const offl::Parsed &p) {
  RssResult r;
  uint32_t mrqc = vf.reg(VFMRQC);
  uint8_t key[kRssKeyBytes];
  bool vf_regs = mrqc & MRQC_RSSEN;
  if (vf_regs) {
    for (unsigned i = 0; i < kVfRssKeyWords; i++) {
      uint32_t w = vf.reg(VFRSSRK(i));
      std::memcpy(key + 4 * i, &w, 4);
    }
  } else if (!has_vf_rss_registers(pf.cfg.mac_type) && pf.cfg.queues_per_vf > 1 &&
             (vf.reg(VFPSRTYPE) >> PSRTYPE_RQPL_SHIFT) != 0) {
    std::memcpy(key, pf.rss_key.data(), kRssKeyBytes);
    mrqc = MRQC_RSS_FIELD_IPV4 | MRQC_RSS_FIELD_IPV4_TCP | MRQC_RSS_FIELD_IPV6 | MRQC_RSS_FIELD_IPV6_TCP;
  } else {
    return r;
  }
  uint8_t in[36];
  size_t n = 0;
  bool ports = false;
  if (p.ipv4) {
    std::memcpy(in, &f[p.l3_off + 12], 8);
    n = 8;
  } else if (p.ipv6) {
    std::memcpy(in, &f[p.l3_off + 8], 32);
    n = 32;
  } else {
    return r;
  }
  if (p.l4_proto == offl::kIpProtoTcp && (mrqc & (p.ipv4 ? MRQC_RSS_FIELD_IPV4_TCP : MRQC_RSS_FIELD_IPV6_TCP))) {
    r.type = p.ipv4 ? RXDADV_RSSTYPE_IPV4_TCP : RXDADV_RSSTYPE_IPV6_TCP;
    ports = true;
  } else if (p.l4_proto == offl::kIpProtoUdp &&
             (mrqc & (p.ipv4 ? MRQC_RSS_FIELD_IPV4_UDP : MRQC_RSS_FIELD_IPV6_UDP))) {
    r.type = p.ipv4 ? RXDADV_RSSTYPE_IPV4_UDP : RXDADV_RSSTYPE_IPV6_UDP;
    ports = true;
  } else if (mrqc & (p.ipv4 ? MRQC_RSS_FIELD_IPV4 : MRQC_RSS_FIELD_IPV6)) {
    r.type = p.ipv4 ? RXDADV_RSSTYPE_IPV4 : RXDADV_RSSTYPE_IPV6;
  } else {
    return r;
  }
  if (ports) {
    std::memcpy(in + n, &f[p.l4_off], 4);
    n += 4;
  }
  r.on = true;
  r.hash = offl::toeplitz(key, in, n);
  unsigned entry;
  if (vf_regs) {
    unsigned i = r.hash & (kVfRetaEntries - 1);
    entry = (vf.reg(VFRETA(i / 4)) >> (8 * (i % 4))) & 0xFF;
  } else {
    entry = pf.reta[r.hash & (kPfRetaEntries - 1)];
  }
  r.queue = entry % pf.cfg.queues_per_vf;
  return r;
}

}  // namespace

bool rx_deliver(PfModel::Impl &pf, VfState &vf, std::span<const uint8_t> in, bool loopback) {
  if (!vf.attached || !vf.dma || !vf.rx_enabled || in.size() < 14)
    return false;
  offl::Parsed p = offl::parse(in);
  RssResult h = rss(pf, vf, in, p);
  unsigned q = h.queue;
  uint32_t rxdctl = vf.reg(VFRXDCTL(q));
  if (!(rxdctl & RXDCTL_ENABLE) || pf.faults.desc_fetch_stall) {
    pf.stats.rx_no_descriptor_drops++;
    return false;
  }
  /* frames above the VF's maximum (SET_LPE, plus a VLAN tag) are not accepted */
  uint32_t limit = std::max<uint32_t>(vf.max_frame, 1518) + (p.vlan ? 4u : 0u);
  if (in.size() + 4 > limit) { /* +4: the CRC, which the model does not carry */
    pf.stats.rx_oversize_drops++;
    return false;
  }

  auto &f = pf.rx_frame;
  f.assign(in.begin(), in.end());
  /* the FCS of the frame as it was on the wire */
  const uint32_t fcs = pf.cfg.rx_crc_strip ? 0 : offl::ethernet_fcs(in);
  uint32_t status = RXD_STAT_DD;
  uint16_t vlan = 0;
  if ((rxdctl & RXDCTL_VME) && offl::strip_vlan(f, &vlan)) {
    status |= RXD_STAT_VP;
    p = offl::parse(f);
  }

  uint16_t pkt_info = h.type;
  uint16_t hdr_info = 0;
  uint32_t errors = 0;
  /* X550: a recognised tunnel has its outer IPv4 header checked (OUTERIPCS/OUTERIPER) and the
   * inner packet's types and checksums reported in place of the outer ones */
  offl::Tunnel tn;
  if (has_tunnel_offloads(pf.cfg.mac_type))
    tn = offl::parse_tunnel(f, p, pf.cfg.vxlan_udp_port);
  if (tn.vxlan) {
    status |= RXD_STAT_OUTERIPCS;
    if (!offl::ipv4_header_ok(f, p))
      errors |= RXDADV_ERR_OUTERIPER;
    pkt_info |= RXDADV_PKTTYPE_VXLAN;
    hdr_info |= RXDADV_HDRINFO_TUNNEL;
  }
  const offl::Parsed &c = tn.vxlan ? tn.inner : p;
  if (c.ipv4) {
    pkt_info |= RXDADV_PKTTYPE_IPV4;
    status |= RXD_STAT_IPCS;
    if (!offl::ipv4_header_ok(f, c))
      errors |= RXDADV_ERR_IPE;
  } else if (c.ipv6) {
    pkt_info |= RXDADV_PKTTYPE_IPV6;
  }
  if (c.l4_proto == offl::kIpProtoTcp || c.l4_proto == offl::kIpProtoUdp) {
    pkt_info |= c.l4_proto == offl::kIpProtoTcp ? RXDADV_PKTTYPE_TCP : RXDADV_PKTTYPE_UDP;
    bool udp_no_csum = c.l4_proto == offl::kIpProtoUdp && c.ipv4 && offl::rd16(&f[c.l4_off + 6]) == 0;
    if (!udp_no_csum) {
      status |= RXD_STAT_L4CS;
      if (c.l4_proto == offl::kIpProtoUdp)
        status |= RXD_STAT_UDPCS;
      if (!offl::l4_ok(f, c))
        errors |= RXDADV_ERR_TCPE;
    }
  }
  /* the inline IPsec engine: a frame matching an Rx SA is decrypted before it reaches the buffers */
  esp_rx_apply(pf.ipsec, f, p, &status, &errors, &pkt_info);
  if (loopback)
    status |= RXD_STAT_LB;

  if (!pf.cfg.rx_crc_strip) {
    const uint8_t b[4] = {uint8_t(fcs), uint8_t(fcs >> 8), uint8_t(fcs >> 16), uint8_t(fcs >> 24)};
    f.insert(f.end(), b, b + 4);
  }

  /* the ring */
  uint32_t n = vf.reg(VFRDLEN(q)) / kDescSize;
  uint64_t base = (uint64_t(vf.reg(VFRDBAH(q))) << 32) | vf.reg(VFRDBAL(q));
  uint32_t head = vf.reg(VFRDH(q));
  uint32_t tail = vf.reg(VFRDT(q));
  if (n == 0 || head >= n || tail >= n) {
    pf.stats.rx_no_descriptor_drops++;
    return false;
  }
  uint32_t bsize = (vf.reg(VFSRRCTL(q)) & SRRCTL_BSIZEPKT_MASK) << SRRCTL_BSIZEPKT_SHIFT;
  if (bsize == 0)
    bsize = 2048;
  uint32_t avail = (tail + n - head) % n;
  uint32_t need = uint32_t((f.size() + bsize - 1) / bsize);
  if (need > avail) {
    pf.stats.rx_no_descriptor_drops++;
    return false;
  }

  DmaSpace &dma = *vf.dma;
  /* data first: fetch each descriptor's buffer address and write its share of the frame */
  for (uint32_t i = 0; i < need; i++) {
    uint64_t daddr = base + uint64_t((head + i) % n) * kDescSize;
    RxDesc d;
    if (!dma.read(daddr, &d, sizeof d)) {
      pf.stats.dma_faults++;
      return false;
    }
    size_t off = size_t(i) * bsize;
    size_t len = std::min<size_t>(bsize, f.size() - off);
    if (!dma.write(d.read.pkt_addr, f.data() + off, len)) {
      pf.stats.dma_faults++;
      return false; /* the frame is lost; the descriptors stay with the device */
    }
  }
  /* then the write-backs, each published by its status word */
  for (uint32_t i = 0; i < need; i++) {
    uint64_t daddr = base + uint64_t((head + i) % n) * kDescSize;
    size_t off = size_t(i) * bsize;
    size_t len = std::min<size_t>(bsize, f.size() - off);
    RxDesc wb{};
    wb.wb.pkt_info = pkt_info;
    wb.wb.hdr_info = hdr_info;
    wb.wb.rss = h.on ? h.hash : 0;
    wb.wb.length = pf.faults.rx_wb_length ? pf.faults.rx_wb_length : uint16_t(len);
    wb.wb.vlan = vlan;
    uint32_t st = status | errors | (i + 1 == need && !pf.faults.rx_wb_no_eop ? RXD_STAT_EOP : 0);
    st |= pf.faults.rx_wb_error_bits;
    dma.write(daddr, &wb, 8);
    dma.write(daddr + 12, reinterpret_cast<const uint8_t *>(&wb) + 12, 4);
    dma.write32_release(daddr + 8, st);
  }
  vf.set_reg(VFRDH(q), (head + need) % n);
  if (uint32_t cause = vf_rx_queue_cause(vf, q))
    vf_raise_causes(vf, cause);

  vf.counters.gprc++;
  vf.counters.gorc += in.size();
  if ((in[0] & 1) && !(in[0] == 0xFF && in[1] == 0xFF && in[2] == 0xFF && in[3] == 0xFF && in[4] == 0xFF &&
                       in[5] == 0xFF))
    vf.counters.mprc++;
  publish_counters(vf);
  return true;
}

}  // namespace ixgbevf_lm::model
