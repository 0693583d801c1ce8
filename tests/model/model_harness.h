/* SPDX-License-Identifier: BSD-3-Clause
 * Test harness: drives a model VF the way a driver does (registers, doorbells, guest memory).
 * Nothing here reaches into the model's private state.
 */
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <ixgbevf_lm/hw/hw.h>
#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm_model.h>

namespace mt {

using namespace ixgbevf_lm;
using namespace ixgbevf_lm::model;

/* Guest memory: one aligned arena mapped at a fixed IOVA, with a bump allocator. */
struct GuestMem {
  static constexpr uint64_t kBase = 0x40000000;
  size_t size;
  uint8_t *buf;
  uint64_t next = kBase;
  std::shared_ptr<DmaSpace> dma = std::make_shared<DmaSpace>();
  explicit GuestMem(size_t sz = 8u << 20) : size(sz) {
    buf = static_cast<uint8_t *>(std::aligned_alloc(4096, sz));
    std::memset(buf, 0, sz);
    EXPECT_TRUE(dma->map(kBase, buf, sz));
  }
  ~GuestMem() { std::free(buf); }
  uint64_t alloc(size_t n, size_t align = 128) {
    next = (next + align - 1) & ~uint64_t(align - 1);
    uint64_t a = next;
    next += n;
    EXPECT_LE(next, kBase + size);
    return a;
  }
  uint8_t *at(uint64_t iova) { return buf + (iova - kBase); }
};

inline PfConfig single_cfg(const std::string &name, unsigned vfs = 4) {
  PfConfig c;
  c.name = name;
  c.num_vfs = vfs;
  c.threaded = false;
  return c;
}

/* A VF as a driver sees it. */
struct Vf {
  std::shared_ptr<PfModel> pf;
  GuestMem &mem;
  VfPort port;
  uint32_t sticky = 0; /* read-to-clear mailbox bits seen but not consumed, as Intel's VF code keeps */

  Vf(std::shared_ptr<PfModel> p, GuestMem &m, unsigned vf) : pf(std::move(p)), mem(m), port(m.dma) {
    std::string why;
    EXPECT_TRUE(port.attach(pf, vf, &why)) << why;
  }
  uint32_t rd(uint32_t off) { return port.read32(off); }
  void wr(uint32_t off, uint32_t v) { port.write32(off, v); }
  bool threaded() const { return pf->config().threaded; }

  /* Let the device make progress: single-step advances the virtual clock a little. */
  void tick(std::chrono::microseconds dt = std::chrono::microseconds(10)) {
    if (threaded()) {
      std::this_thread::yield();
      return;
    }
    pf->run_until_idle();
    pf->advance_time(dt);
    pf->run_until_idle();
  }
  void settle() {
    if (!threaded())
      pf->run_until_idle();
  }
  /* Bounded wait for a condition the device must make true. */
  template <class F> bool wait(F &&cond, unsigned max_ticks = 2000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (unsigned i = 0; threaded() ? std::chrono::steady_clock::now() < deadline : i < max_ticks; i++) {
      if (cond())
        return true;
      tick();
    }
    return cond();
  }
  bool check_bit(uint32_t mask) {
    sticky |= rd(hw::VFMAILBOX);
    bool on = sticky & mask;
    sticky &= ~(mask & hw::VFMAILBOX_R2C_BITS);
    return on;
  }

  /* Intel's VF mailbox protocol: lock (VFU), flush, write, REQ, wait PFACK, wait PFSTS, read, ACK. */
  bool write_msg(const std::vector<uint32_t> &m) {
    wr(hw::VFMAILBOX, hw::VFMAILBOX_VFU);
    if (!(rd(hw::VFMAILBOX) & hw::VFMAILBOX_VFU))
      return false;
    check_bit(hw::VFMAILBOX_PFSTS);
    check_bit(hw::VFMAILBOX_PFACK);
    for (unsigned i = 0; i < m.size(); i++)
      wr(hw::VFMBMEM + 4 * i, m[i]);
    wr(hw::VFMAILBOX, hw::VFMAILBOX_REQ);
    return wait([&] { return check_bit(hw::VFMAILBOX_PFACK); });
  }
  bool read_msg(std::vector<uint32_t> *out, unsigned n) {
    if (!wait([&] { return check_bit(hw::VFMAILBOX_PFSTS); }))
      return false;
    wr(hw::VFMAILBOX, hw::VFMAILBOX_VFU);
    out->assign(n, 0);
    for (unsigned i = 0; i < n; i++)
      (*out)[i] = rd(hw::VFMBMEM + 4 * i);
    wr(hw::VFMAILBOX, hw::VFMAILBOX_ACK);
    return true;
  }
  std::vector<uint32_t> call(const std::vector<uint32_t> &m, unsigned reply_words = 0) {
    std::vector<uint32_t> r;
    if (!write_msg(m))
      return {};
    if (!read_msg(&r, reply_words ? reply_words : unsigned(std::max<size_t>(m.size(), 1))))
      return {};
    return r;
  }
  /* VFCTRL.RST, wait for RSTD/RSTI, then the VF_RESET message. Returns the reply. */
  std::vector<uint32_t> reset() {
    sticky = 0;
    wr(hw::VFCTRL, hw::CTRL_RST);
    if (!wait([&] { return check_bit(hw::VFMAILBOX_RSTD | hw::VFMAILBOX_RSTI); }))
      return {};
    return call({hw::VF_RESET}, hw::VF_PERMADDR_MSG_LEN);
  }
  bool up(hw::MbxApi api = hw::MbxApi::v13) {
    auto r = reset();
    if (r.empty() || r[0] != (hw::VF_RESET | hw::VT_MSGTYPE_ACK))
      return false;
    auto a = call({hw::VF_API_NEGOTIATE, uint32_t(api)});
    return !a.empty() && (a[0] & hw::VT_MSGTYPE_ACK);
  }
  MacAddr mac() { return pf->vf_view(port.vf_index()).mac; }

  /* ---- rings ---- */
  struct RxRing {
    uint64_t ring = 0;
    unsigned n = 0;
    unsigned bsize = 2048;
    std::vector<uint64_t> bufs;
    unsigned next = 0; /* next descriptor the "driver" expects */
  };
  struct TxRing {
    uint64_t ring = 0;
    unsigned n = 0;
    unsigned tail = 0;
  };
  RxRing rx[hw::kVfMaxQueues];
  bool refill = true; /* rx_poll gives consumed descriptors back (RDT) */
  TxRing tx[hw::kVfMaxQueues];

  hw::RxDesc *rxd(unsigned q, unsigned i) { return reinterpret_cast<hw::RxDesc *>(mem.at(rx[q].ring) + 16 * i); }
  hw::TxDesc *txd(unsigned q, unsigned i) { return reinterpret_cast<hw::TxDesc *>(mem.at(tx[q].ring) + 16 * i); }

  void arm_rx_desc(unsigned q, unsigned i) {
    auto *d = rxd(q, i);
    d->read.pkt_addr = rx[q].bufs[i];
    d->read.hdr_addr = 0;
  }
  /* ring of n descriptors, buffers of bsize_kib KiB, `filled` descriptors given to the device */
  void setup_rx(unsigned q, unsigned n, unsigned bsize_kib = 2, int filled = -1, uint32_t extra_rxdctl = 0) {
    auto &r = rx[q];
    r.n = n;
    r.next = 0;
    r.bsize = bsize_kib * 1024;
    r.ring = mem.alloc(16 * n);
    r.bufs.clear();
    for (unsigned i = 0; i < n; i++)
      r.bufs.push_back(mem.alloc(r.bsize, 64));
    for (unsigned i = 0; i < n; i++)
      arm_rx_desc(q, i);
    wr(hw::VFRDBAL(q), uint32_t(r.ring));
    wr(hw::VFRDBAH(q), uint32_t(r.ring >> 32));
    wr(hw::VFRDLEN(q), 16 * n);
    wr(hw::VFRDH(q), 0);
    wr(hw::VFSRRCTL(q), hw::SRRCTL_DESCTYPE_ADV_ONEBUF | hw::SRRCTL_DROP_EN | bsize_kib);
    wr(hw::VFRXDCTL(q), hw::RXDCTL_ENABLE | extra_rxdctl);
    wr(hw::VFRDT(q), filled < 0 ? n - 1 : unsigned(filled));
  }
  /* Collect the frame at rx[q].next if the device completed it; re-arms and returns the bytes. */
  bool rx_poll(unsigned q, std::vector<uint8_t> *frame, hw::RxDesc *first_wb = nullptr,
               unsigned *ndesc = nullptr) {
    auto &r = rx[q];
    unsigned i = r.next;
    if (!(rxd(q, i)->wb.status_error & hw::RXD_STAT_DD))
      return false;
    frame->clear();
    unsigned count = 0;
    for (;;) {
      auto *d = rxd(q, i);
      if (!(d->wb.status_error & hw::RXD_STAT_DD))
        return false;
      if (count == 0 && first_wb)
        *first_wb = *d;
      const uint8_t *b = mem.at(r.bufs[i]);
      frame->insert(frame->end(), b, b + d->wb.length);
      bool eop = d->wb.status_error & hw::RXD_STAT_EOP;
      if (first_wb && eop)
        first_wb->wb.status_error |= d->wb.status_error & hw::RXD_STAT_EOP;
      arm_rx_desc(q, i);
      i = (i + 1) % r.n;
      count++;
      if (eop)
        break;
    }
    r.next = i;
    if (refill)
      wr(hw::VFRDT(q), (i + r.n - 1) % r.n);
    if (ndesc)
      *ndesc = count;
    return true;
  }
  bool rx_wait(unsigned q, std::vector<uint8_t> *frame, hw::RxDesc *wb = nullptr, unsigned *ndesc = nullptr) {
    return wait([&] { return rx_poll(q, frame, wb, ndesc); });
  }

  void setup_tx(unsigned q, unsigned n, uint64_t head_wb = 0) {
    auto &t = tx[q];
    t.n = n;
    t.ring = mem.alloc(16 * n);
    t.tail = 0;
    wr(hw::VFTDBAL(q), uint32_t(t.ring));
    wr(hw::VFTDBAH(q), uint32_t(t.ring >> 32));
    wr(hw::VFTDLEN(q), 16 * n);
    wr(hw::VFTDH(q), 0);
    wr(hw::VFTDT(q), 0);
    if (head_wb) {
      wr(hw::VFTDWBAL(q), uint32_t(head_wb) | hw::TDWBAL_HEAD_WB_ENABLE);
      wr(hw::VFTDWBAH(q), uint32_t(head_wb >> 32));
    }
    wr(hw::VFTXDCTL(q), hw::TXDCTL_ENABLE);
  }
  /* Queue one data descriptor (no doorbell). Returns its index. */
  unsigned put_data(unsigned q, const uint8_t *data, size_t len, uint32_t cmd, uint32_t olinfo) {
    auto &t = tx[q];
    uint64_t b = mem.alloc(len, 64);
    std::memcpy(mem.at(b), data, len);
    unsigned i = t.tail;
    auto *d = txd(q, i);
    d->read.buffer_addr = b;
    d->read.cmd_type_len = cmd | hw::ADVTXD_DTYP_DATA | hw::ADVTXD_DCMD_DEXT | hw::ADVTXD_DCMD_IFCS | uint32_t(len);
    d->read.olinfo_status = olinfo;
    t.tail = (t.tail + 1) % t.n;
    return i;
  }
  unsigned put_context(unsigned q, uint32_t vlan_macip_lens, uint32_t tucmd, uint32_t mss_l4len_idx) {
    auto &t = tx[q];
    unsigned i = t.tail;
    hw::TxContextDesc c{vlan_macip_lens, 0, tucmd | hw::ADVTXD_DTYP_CTXT | hw::ADVTXD_DCMD_DEXT, mss_l4len_idx};
    std::memcpy(txd(q, i), &c, 16);
    t.tail = (t.tail + 1) % t.n;
    return i;
  }
  void doorbell(unsigned q) { wr(hw::VFTDT(q), tx[q].tail); }
  unsigned send(unsigned q, const std::vector<uint8_t> &f, uint32_t extra_cmd = 0, uint32_t olinfo = 0) {
    unsigned i = put_data(q, f.data(), f.size(), hw::ADVTXD_DCMD_EOP | hw::ADVTXD_DCMD_RS | extra_cmd,
                          olinfo | (uint32_t(f.size()) << hw::ADVTXD_PAYLEN_SHIFT));
    doorbell(q);
    return i;
  }
};

/* ---- frames ---- */
inline uint16_t csum_fold(uint32_t s) {
  while (s >> 16)
    s = (s & 0xFFFF) + (s >> 16);
  return uint16_t(s);
}
inline uint32_t csum_add(const uint8_t *p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2)
    s += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1)
    s += uint32_t(p[n - 1] << 8);
  return s;
}
inline uint16_t be16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
inline void put16(uint8_t *p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void put32(uint8_t *p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }

struct FrameSpec {
  MacAddr dst{0x02, 0, 0, 0, 0, 0x01};
  MacAddr src{0x02, 0, 0, 0, 0, 0x02};
  int vlan = -1;
  bool tcp = false;
  uint32_t sip = 0x0a000001, dip = 0x0a000002;
  uint16_t sport = 1000, dport = 2000;
  size_t payload = 64;
  bool good_csums = true;
  uint32_t seq = 1000;
  uint8_t tcp_flags = 0x18;
};

/* Ethernet + IPv4 + UDP/TCP with correct checksums (unless good_csums is false). */
inline std::vector<uint8_t> make_frame(const FrameSpec &s) {
  std::vector<uint8_t> f(14 + 20 + (s.tcp ? 20 : 8) + s.payload);
  std::memcpy(&f[0], s.dst.data(), 6);
  std::memcpy(&f[6], s.src.data(), 6);
  put16(&f[12], 0x0800);
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(f.size() - 14));
  put16(ip + 4, 0x1234);
  ip[8] = 64;
  ip[9] = s.tcp ? 6 : 17;
  put32(ip + 12, s.sip);
  put32(ip + 16, s.dip);
  put16(ip + 10, uint16_t(~csum_fold(csum_add(ip, 20))));
  uint8_t *l4 = ip + 20;
  size_t l4len = f.size() - 34;
  put16(l4, s.sport);
  put16(l4 + 2, s.dport);
  size_t hl = s.tcp ? 20 : 8;
  for (size_t i = 0; i < s.payload; i++)
    l4[hl + i] = uint8_t(i * 7 + 3);
  if (s.tcp) {
    put32(l4 + 4, s.seq);
    l4[12] = 5 << 4;
    l4[13] = s.tcp_flags;
    put16(l4 + 14, 65535);
  } else {
    put16(l4 + 4, uint16_t(l4len));
  }
  uint32_t ps = csum_add(ip + 12, 8) + ip[9] + uint32_t(l4len);
  uint16_t c = uint16_t(~csum_fold(csum_add(l4, l4len, ps)));
  if (!s.tcp && c == 0)
    c = 0xFFFF;
  put16(l4 + (s.tcp ? 16 : 6), c);
  if (!s.good_csums) {
    ip[10] ^= 0x55;
    l4[s.tcp ? 16 : 6] ^= 0x21;
  }
  if (s.vlan >= 0) {
    uint8_t tag[4] = {0x81, 0x00, uint8_t(s.vlan >> 8), uint8_t(s.vlan)};
    f.insert(f.begin() + 12, tag, tag + 4);
  }
  return f;
}

inline bool ipv4_csum_ok(const uint8_t *ip) { return csum_fold(csum_add(ip, (ip[0] & 0xF) * 4u)) == 0xFFFF; }
inline bool l4_csum_ok(const uint8_t *ip) {
  unsigned ihl = (ip[0] & 0xF) * 4u;
  unsigned tot = be16(ip + 2);
  uint32_t ps = csum_add(ip + 12, 8) + ip[9] + (tot - ihl);
  return csum_fold(csum_add(ip + ihl, tot - ihl, ps)) == 0xFFFF;
}

/* A test-local uplink: records what the PF sends, delivers what the test queues. */
struct TestUplink : Uplink {
  struct Shared {
    std::mutex mu;
    std::vector<std::vector<uint8_t>> sent;
    std::deque<std::vector<uint8_t>> inbound;
  };
  std::shared_ptr<Shared> s;
  explicit TestUplink(std::shared_ptr<Shared> sh) : s(std::move(sh)) {}
  void transmit(std::span<const uint8_t> f) override {
    std::lock_guard g(s->mu);
    s->sent.emplace_back(f.begin(), f.end());
  }
  unsigned poll(const std::function<void(std::span<const uint8_t>)> &deliver, unsigned max) override {
    unsigned n = 0;
    while (n < max) {
      std::vector<uint8_t> f;
      {
        std::lock_guard g(s->mu);
        if (s->inbound.empty())
          break;
        f = std::move(s->inbound.front());
        s->inbound.pop_front();
      }
      deliver(f);
      n++;
    }
    return n;
  }
  std::string describe() const override { return "test uplink"; }
};

}  // namespace mt
