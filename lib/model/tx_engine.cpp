/* SPDX-License-Identifier: BSD-3-Clause
 * Transmit engine of one VF queue: fetch descriptors between TDH and TDT, keep context descriptors,
 * gather a frame's buffers up to EOP, apply the offloads, hand the frame(s) to the switch, write
 * back DD (RS) or the head index (TDWBAL bit 0), advance TDH.
 */
#include <cstring>

#include "offloads.h"
#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

/* Frames longer than this many descriptors are malformed (the 82599 limits a non-TSO frame to 40
 * buffers; TSO frames may use more). The engine drops them rather than wait forever. */
constexpr unsigned kMaxDescsPerFrame = 256;

bool is_context(const TxDesc &d) {
  return (d.read.cmd_type_len & ADVTXD_DCMD_DEXT) && (d.read.cmd_type_len & ADVTXD_DTYP_MASK) == ADVTXD_DTYP_CTXT;
}

struct TxRing {
  uint64_t base = 0;
  uint32_t size = 0;
};

bool fetch_descriptor(DmaSpace &dma, const TxRing &r, uint32_t i, TxDesc *d) {
  return dma.read(r.base + uint64_t(i) * kDescSize, d, sizeof *d);
}

void store_context(VfState &vf, unsigned q, const TxDesc &d) {
  TxContextDesc c;
  std::memcpy(&c, &d, sizeof c);
  unsigned idx = (c.mss_l4len_idx >> ADVTXD_IDX_SHIFT) & (kTxContextSlots - 1);
  vf.txctx[q][idx] = TxContext{c.vlan_macip_lens, c.seqnum_seed, c.type_tucmd_mlhl, c.mss_l4len_idx};
}

offl::TxRequest offload_request(MacType mac, const VfState &vf, unsigned q, const TxDesc &first) {
  offl::TxRequest r;
  uint32_t cmd = first.read.cmd_type_len;
  uint32_t ol = first.read.olinfo_status;
  if (!(cmd & ADVTXD_DCMD_DEXT))
    return r; /* legacy descriptor: no offloads */
  const TxContext &c = vf.txctx[q][(ol >> ADVTXD_IDX_SHIFT) & (kTxContextSlots - 1)];
  r.ixsm = ol & ADVTXD_POPTS_IXSM;
  r.txsm = ol & ADVTXD_POPTS_TXSM;
  r.tse = cmd & ADVTXD_DCMD_TSE;
  r.vle = cmd & ADVTXD_DCMD_VLE;
  r.maclen = (c.vlan_macip_lens >> ADVTXD_MACLEN_SHIFT) & ADVTXD_MACLEN_MASK;
  r.iplen = c.vlan_macip_lens & ADVTXD_IPLEN_MASK;
  r.vlan = uint16_t(c.vlan_macip_lens >> ADVTXD_VLAN_SHIFT);
  r.ipv4 = c.type_tucmd_mlhl & ADVTXD_TUCMD_IPV4;
  r.l4t = (c.type_tucmd_mlhl >> 11) & 3;
  r.l4len = (c.mss_l4len_idx >> ADVTXD_L4LEN_SHIFT) & 0xFF;
  r.mss = c.mss_l4len_idx >> ADVTXD_MSS_SHIFT;
  r.paylen = ol >> ADVTXD_PAYLEN_SHIFT;
  if (has_tunnel_offloads(mac)) {
    /* X550: the tunnel lengths in the context, the outer IPv4 checksum request in the data
     * descriptor (82599/X540 reserve both) */
    r.outer_iplen = (c.seqnum_seed >> ADVTXD_OUTER_IPLEN_SHIFT) & ADVTXD_OUTER_IPLEN_MASK;
    r.tunnel_len = (c.seqnum_seed >> ADVTXD_TUNNEL_LEN_SHIFT) & ADVTXD_TUNNEL_LEN_MASK;
    r.outer_ipcs = (cmd & tx_outer_ipcs_bit(mac)) != 0;
  }
  return r;
}

/* IPsec for a frame whose first data descriptor asks for it (POPTS.IPSEC): the SA index, ESP type
 * and encrypt flags and the trailer length come from the frame's context. */
bool ipsec_request(const VfState &vf, unsigned q, const TxDesc &first, TxIpsecRequest *req) {
  uint32_t cmd = first.read.cmd_type_len;
  uint32_t ol = first.read.olinfo_status;
  if (!(cmd & ADVTXD_DCMD_DEXT) || !(ol & ADVTXD_POPTS_IPSEC))
    return false;
  const TxContext &c = vf.txctx[q][(ol >> ADVTXD_IDX_SHIFT) & (kTxContextSlots - 1)];
  req->sa_index = c.seqnum_seed & ADVTXD_IPSEC_SA_INDEX_MASK;
  req->esp = c.type_tucmd_mlhl & ADVTXD_TUCMD_IPSEC_TYPE_ESP;
  req->encrypt = c.type_tucmd_mlhl & ADVTXD_TUCMD_IPSEC_ENCRYPT_EN;
  req->esp_trailer_len = c.type_tucmd_mlhl & ADVTXD_IPSEC_ESP_LEN_MASK;
  req->esp_off = ((c.vlan_macip_lens >> ADVTXD_MACLEN_SHIFT) & ADVTXD_MACLEN_MASK) +
                 (c.vlan_macip_lens & ADVTXD_IPLEN_MASK);
  return true;
}

}  // namespace

unsigned tx_service_queue(PfModel::Impl &pf, VfState &vf, unsigned q, unsigned max_frames) {
  if (!(vf.reg(VFTXDCTL(q)) & TXDCTL_ENABLE) || !vf.dma)
    return 0;
  TxRing ring;
  ring.size = vf.reg(VFTDLEN(q)) / kDescSize;
  ring.base = (uint64_t(vf.reg(VFTDBAH(q))) << 32) | vf.reg(VFTDBAL(q));
  uint32_t head = vf.reg(VFTDH(q));
  uint32_t tail = vf.reg(VFTDT(q));
  if (ring.size == 0 || head >= ring.size || tail >= ring.size)
    return 0; /* a misprogrammed ring: the queue simply does not move */
  DmaSpace &dma = *vf.dma;
  uint32_t wbal = vf.reg(VFTDWBAL(q));
  bool head_wb = wbal & TDWBAL_HEAD_WB_ENABLE;
  uint64_t head_wb_addr = (uint64_t(vf.reg(VFTDWBAH(q))) << 32) | (wbal & ~3u);

  static thread_local std::vector<TxDesc> descs;
  unsigned frames = 0;
  while (head != tail && frames < max_frames) {
    /* fetch up to the end of the frame; a frame whose EOP is not yet behind the tail waits */
    descs.clear();
    uint32_t j = head;
    bool eop = false;
    bool fetch_fault = false;
    while (j != tail) {
      TxDesc d;
      if (!fetch_descriptor(dma, ring, j, &d)) {
        fetch_fault = true;
        break;
      }
      descs.push_back(d);
      j = (j + 1) % ring.size;
      if (!is_context(d) && (d.read.cmd_type_len & ADVTXD_DCMD_EOP)) {
        eop = true;
        break;
      }
      if (descs.size() >= kMaxDescsPerFrame) {
        eop = true;
        break;
      }
    }
    if (fetch_fault) {
      pf.stats.dma_faults++;
      break; /* the ring itself is unreachable: the queue stalls, as a device with a bad ring would */
    }
    if (!eop)
      break;

    /* gather */
    auto &frame = pf.tx_frame;
    frame.clear();
    bool fault = false;
    const TxDesc *first = nullptr;
    for (const TxDesc &d : descs) {
      if (is_context(d)) {
        store_context(vf, q, d);
        continue;
      }
      if (!first)
        first = &d;
      uint32_t len = d.read.cmd_type_len & ADVTXD_DTALEN_MASK;
      if (len == 0 || fault)
        continue;
      size_t at = frame.size();
      if (at + len > kMaxFrameBuf) {
        fault = true;
        continue;
      }
      frame.resize(at + len);
      if (!dma.read(d.read.buffer_addr, frame.data() + at, len)) {
        pf.stats.dma_faults++;
        fault = true;
      }
    }

    TxIpsecRequest sec;
    if (first && !fault && !frame.empty() && ipsec_request(vf, q, *first, &sec) &&
        !esp_tx_apply(pf.ipsec, frame, sec)) {
      pf.stats.ipsec_tx_malformed++; /* dropped: never on the wire in clear when ESP was asked for */
      fault = true;
    }
    if (first && !fault && !frame.empty()) {
      offl::TxRequest req = offload_request(pf.cfg.mac_type, vf, q, *first);
      offl::tx_offload(frame, req, pf.seg_frame, [&](std::span<const uint8_t> out) {
        vf.counters.gptc++;
        vf.counters.gotc += out.size();
        switch_frame(pf, int(vf.index), out);
      });
      publish_counters(vf);
    }

    /* write-back: DD into every RS descriptor, unless head write-back is on */
    if (!head_wb) {
      uint32_t k = head;
      for (const TxDesc &d : descs) {
        if (d.read.cmd_type_len & ADVTXD_DCMD_RS)
          dma.write32_release(ring.base + uint64_t(k) * kDescSize + offsetof(TxDesc, wb.status), ADVTXD_STAT_DD);
        k = (k + 1) % ring.size;
      }
    }
    head = j;
    vf.set_reg(VFTDH(q), head);
    if (head_wb)
      dma.write32_release(head_wb_addr, pf.faults.tx_head_wb_beyond_tail ? (vf.reg(VFTDT(q)) + 1) % ring.size : head);
    frames++;
  }
  return frames;
}

}  // namespace ixgbevf_lm::model
