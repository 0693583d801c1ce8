/* SPDX-License-Identifier: BSD-3-Clause
 * Frame parsing and the checksum, VLAN, RSS and TSO arithmetic the engines apply.
 */
#include "offloads.h"

#include <algorithm>
#include <cstring>

namespace ixgbevf_lm::model::offl {

Parsed parse(std::span<const uint8_t> f) {
  Parsed p;
  if (f.size() < 14)
    return p;
  unsigned off = 12;
  uint16_t type = rd16(&f[off]);
  if (type == kEthP_Vlan && f.size() >= 18) {
    p.vlan = true;
    p.tci = rd16(&f[14]);
    off += 4;
    type = rd16(&f[off]);
  }
  off += 2;
  p.l3_off = off;
  if (type == kEthP_Ipv4 && f.size() >= off + 20 && (f[off] >> 4) == 4) {
    unsigned ihl = (f[off] & 0xF) * 4u;
    if (ihl < 20 || f.size() < off + ihl)
      return p;
    p.ipv4 = true;
    p.l3_len = ihl;
    unsigned tot = rd16(&f[off + 2]);
    tot = std::min<unsigned>(tot, unsigned(f.size() - off));
    uint16_t frag = rd16(&f[off + 6]);
    p.l4_off = off + ihl;
    p.l4_len = tot > ihl ? tot - ihl : 0;
    if ((frag & 0x3FFF) == 0)
      p.l4_proto = f[off + 9];
  } else if (type == kEthP_Ipv6 && f.size() >= off + 40 && (f[off] >> 4) == 6) {
    p.ipv6 = true;
    p.l3_len = 40;
    p.l4_off = off + 40;
    unsigned plen = std::min<unsigned>(rd16(&f[off + 4]), unsigned(f.size() - p.l4_off));
    p.l4_len = plen;
    uint8_t nh = f[off + 6];
    if (nh == kIpProtoTcp || nh == kIpProtoUdp)
      p.l4_proto = nh;
  }
  if (p.l4_proto == kIpProtoTcp && p.l4_len < 20)
    p.l4_proto = 0;
  if (p.l4_proto == kIpProtoUdp && p.l4_len < 8)
    p.l4_proto = 0;
  return p;
}

Tunnel parse_tunnel(std::span<const uint8_t> f, const Parsed &outer, uint16_t vxlan_port) {
  Tunnel t;
  constexpr unsigned kUdpHdr = 8, kVxlanHdr = 8;
  if (vxlan_port == 0 || !outer.ipv4 || outer.l4_proto != kIpProtoUdp || rd16(&f[outer.l4_off + 2]) != vxlan_port)
    return t;
  unsigned inner_l2 = outer.l4_off + kUdpHdr + kVxlanHdr;
  if (outer.l4_len < kUdpHdr + kVxlanHdr + 14 || f.size() < inner_l2 + 14)
    return t;
  t.vxlan = true;
  t.inner = parse(f.subspan(inner_l2));
  t.inner.l3_off += inner_l2;
  if (t.inner.ipv4 || t.inner.ipv6)
    t.inner.l4_off += inner_l2;
  return t;
}

uint32_t ethernet_fcs(std::span<const uint8_t> f) {
  uint32_t crc = 0xFFFFFFFF;
  for (uint8_t b : f) {
    crc ^= b;
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc) {
  uint64_t s = acc;
  size_t i = 0;
  for (; i + 1 < n; i += 2)
    s += uint32_t(p[i] << 8 | p[i + 1]);
  if (i < n)
    s += uint32_t(p[i] << 8);
  while (s >> 32)
    s = (s & 0xFFFFFFFF) + (s >> 32);
  return uint32_t(s);
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16)
    acc = (acc & 0xFFFF) + (acc >> 16);
  return uint16_t(acc);
}

static uint32_t pseudo_sum(std::span<const uint8_t> f, const Parsed &p, uint32_t l4len) {
  uint32_t s = 0;
  if (p.ipv4)
    s = sum16(&f[p.l3_off + 12], 8);
  else
    s = sum16(&f[p.l3_off + 8], 32);
  s += p.l4_proto;
  s += l4len & 0xFFFF;
  s += l4len >> 16;
  return s;
}

bool ipv4_header_ok(std::span<const uint8_t> f, const Parsed &p) {
  return fold(sum16(&f[p.l3_off], p.l3_len)) == 0xFFFF;
}

uint16_t l4_checksum(std::span<const uint8_t> f, const Parsed &p) {
  uint32_t s = pseudo_sum(f, p, p.l4_len);
  s = sum16(&f[p.l4_off], p.l4_len, s);
  return uint16_t(~fold(s));
}

bool l4_ok(std::span<const uint8_t> f, const Parsed &p) {
  uint32_t s = pseudo_sum(f, p, p.l4_len);
  s = sum16(&f[p.l4_off], p.l4_len, s);
  return fold(s) == 0xFFFF;
}

void insert_vlan(std::vector<uint8_t> &f, uint16_t tci) {
  if (f.size() < 12)
    return;
  uint8_t tag[4] = {0x81, 0x00, uint8_t(tci >> 8), uint8_t(tci)};
  f.insert(f.begin() + 12, tag, tag + 4);
}

bool strip_vlan(std::vector<uint8_t> &f, uint16_t *tci) {
  if (f.size() < 18 || rd16(&f[12]) != kEthP_Vlan)
    return false;
  *tci = rd16(&f[14]);
  f.erase(f.begin() + 12, f.begin() + 16);
  return true;
}

uint32_t toeplitz(const uint8_t *key, const uint8_t *in, size_t n) {
  uint32_t result = 0;
  uint32_t v = uint32_t(key[0]) << 24 | uint32_t(key[1]) << 16 | uint32_t(key[2]) << 8 | key[3];
  for (size_t i = 0; i < n; i++) {
    for (int b = 7; b >= 0; b--) {
      if (in[i] & (1u << b))
        result ^= v;
      v <<= 1;
      if (i + 4 < 40 && (key[i + 4] & (1u << b)))
        v |= 1;
    }
  }
  return result;
}

/* The checksum field of an L4 header, relative to its start. */
static unsigned l4_csum_field(unsigned l4t) { return l4t == 1 ? 16 : 6; }

static void put_ipv4_checksum(uint8_t *ip, unsigned iplen) {
  ip[10] = ip[11] = 0;
  wr16(ip + 10, uint16_t(~fold(sum16(ip, iplen))));
}

/* L4 checksum as the hardware inserts it: the driver left the pseudo-header sum in the field (with
 * the L4 length when not segmenting, without it for TSO); the device sums the L4 bytes over it and
 * adds `extra` (the segment's L4 length for TSO). */
static void put_l4_checksum(uint8_t *l4, size_t n, unsigned l4t, uint32_t extra) {
  unsigned fo = l4_csum_field(l4t);
  if (n < fo + 2)
    return;
  uint16_t c = uint16_t(~fold(sum16(l4, n, extra)));
  if (l4t == 0 && c == 0)
    c = 0xFFFF;
  wr16(l4 + fo, c);
}

bool tx_offload(std::vector<uint8_t> &frame, const TxRequest &r, std::vector<uint8_t> &scratch,
                const std::function<void(std::span<const uint8_t>)> &out) {
  if (!r.tse) {
    const unsigned l3 = r.maclen + r.outer_iplen + r.tunnel_len;  /* the (inner) IP header */
    if (r.ixsm || r.txsm || r.outer_ipcs) {
      if (l3 + r.iplen > frame.size() || r.maclen < 12)
        return false;
    }
    /* inner first: the outer header's checksum does not cover them */
    if (r.txsm && r.l4t <= 1) {
      unsigned l4 = l3 + r.iplen;
      put_l4_checksum(&frame[l4], frame.size() - l4, r.l4t, 0);
    }
    if (r.ixsm && r.ipv4 && r.iplen >= 20)
      put_ipv4_checksum(&frame[l3], r.iplen);
    if (r.outer_ipcs && r.outer_iplen >= 20)
      put_ipv4_checksum(&frame[r.maclen], r.outer_iplen);
    if (r.vle)
      insert_vlan(frame, r.vlan);
    out(frame);
    return true;
  }

  /* TSO: TCP only on this device, not of tunnelled frames (the model's limit, not the X550's). */
  if (r.outer_iplen || r.tunnel_len || r.outer_ipcs)
    return false;
  unsigned hdr = r.maclen + r.iplen + r.l4len;
  if (r.l4t != 1 || r.mss == 0 || r.l4len < 20 || r.iplen < 20 || r.maclen < 14 || hdr > frame.size())
    return false;
  size_t payload = frame.size() - hdr;
  size_t nseg = payload == 0 ? 1 : (payload + r.mss - 1) / r.mss;
  const uint8_t *ip0 = &frame[r.maclen];
  const uint8_t *tcp0 = &frame[r.maclen + r.iplen];
  uint16_t ip_id = rd16(ip0 + 4);
  uint32_t seq = rd32(tcp0 + 4);
  for (size_t i = 0; i < nseg; i++) {
    size_t off = i * r.mss;
    size_t n = std::min<size_t>(r.mss, payload - off);
    scratch.resize(hdr + n);
    std::memcpy(scratch.data(), frame.data(), hdr);
    std::memcpy(scratch.data() + hdr, frame.data() + hdr + off, n);
    uint8_t *ip = &scratch[r.maclen];
    uint8_t *tcp = &scratch[r.maclen + r.iplen];
    if (r.ipv4) {
      wr16(ip + 2, uint16_t(r.iplen + r.l4len + n));
      wr16(ip + 4, uint16_t(ip_id + i));
      put_ipv4_checksum(ip, r.iplen);
    } else {
      wr16(ip + 4, uint16_t(r.iplen - 40 + r.l4len + n));
    }
    wr32(tcp + 4, uint32_t(seq + off));
    if (i + 1 < nseg)
      tcp[13] &= uint8_t(~0x09);  /* FIN and PSH only on the last segment */
    if (i > 0)
      tcp[13] &= uint8_t(~0x80);  /* CWR only on the first */
    uint32_t l4n = uint32_t(r.l4len + n);
    put_l4_checksum(tcp, l4n, 1, (l4n & 0xFFFF) + (l4n >> 16));
    if (r.vle)
      insert_vlan(scratch, r.vlan);
    out(scratch);
  }
  return true;
}

}  // namespace ixgbevf_lm::model::offl
