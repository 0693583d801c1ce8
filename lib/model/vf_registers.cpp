/* SPDX-License-Identifier: BSD-3-Clause
 * The VF's register file: one flat array of 32-bit registers indexed by BAR0 offset, the reset
 * values in one table, and read/write dispatch tables whose handlers are named after the datasheet
 * registers. Side effects (function reset, read-to-clear, mailbox doorbells) live here.
 */
#include "pf_internal.h"

namespace ixgbevf_lm::model {

using namespace hw;

namespace {

using ReadFn = uint32_t (*)(VfState &, uint32_t);
using WriteFn = void (*)(VfState &, uint32_t, uint32_t);

bool is_stat(uint32_t off) {
  return off == VFGPRC || off == VFGPTC || off == VFGORC_LSB || off == VFGORC_MSB || off == VFGOTC_LSB ||
         off == VFGOTC_MSB || off == VFMPRC;
}

/* ---- reset values ---- */
struct ResetTable {
  std::array<uint32_t, kRegWords> v{};
  ResetTable() {
    for (unsigned q = 0; q < kVfMaxQueues; q++) {
      /* SRRCTL: BSIZEPKT 2 KiB, BSIZEHEADER 256 bytes (datasheet initial value) */
      v[VFSRRCTL(q) / 4] = 0x00000402;
    }
  }
};
const ResetTable kReset;

/* ---- read handlers ---- */
uint32_t read_plain(VfState &vf, uint32_t off) { return vf.regs[off / 4].load(std::memory_order_acquire); }

uint32_t read_vfctrl(VfState &vf, uint32_t off) { return read_plain(vf, off) & ~CTRL_RST; }

uint32_t read_vflinks(VfState &vf, uint32_t) { return links_value(*vf.pf); }

/* VFMAILBOX: PFSTS, PFACK and RSTD clear when read; the VF's driver accumulates them itself. */
uint32_t mailbox_read(VfState &vf, uint32_t off) {
  {
    std::lock_guard g(vf.pf->mu);
    (void)vf_complete_due(*vf.pf, vf, vf.pf->now_us());
  }
  return vf.regs[off / 4].fetch_and(~VFMAILBOX_R2C_BITS, std::memory_order_acq_rel);
}

uint32_t read_vteicr(VfState &vf, uint32_t off) {
  return vf.regs[off / 4].exchange(0, std::memory_order_acq_rel);
}

uint32_t read_vfframetimer(VfState &vf, uint32_t) { return uint32_t(vf.pf->now_us()); }

/* ---- write handlers ---- */
void write_plain(VfState &vf, uint32_t off, uint32_t v) { vf.regs[off / 4].store(v, std::memory_order_release); }
void write_ignored(VfState &, uint32_t, uint32_t) {}

void write_locked(VfState &vf, uint32_t off, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  write_plain(vf, off, v);
}

/* VFCTRL.RST: a function-level software reset of the VF. Queues stop and the registers return to
 * their reset values at once; RSTD appears in VFMAILBOX after timings.vf_reset. */
void set_vfctrl(VfState &vf, uint32_t off, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  if (!(v & CTRL_RST)) {
    write_plain(vf, off, v);
    return;
  }
  vf_registers_reset(vf);
  vf.cts = false;
  vf.req_pending = false;
  vf.pf_msg_unacked = false;
  vf.outbox.clear();
  vf.reset_pending = true;
  vf.reset_due_us = vf.pf->now_us() + uint64_t(vf.pf->cfg.timings.vf_reset.count());
}

/* VFMAILBOX: VFU is a level the VF holds; REQ hands VFMBMEM to the PF; ACK acknowledges the PF's
 * message. REQ and ACK are pulses and never read back. */
void mailbox_write(VfState &vf, uint32_t off, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  auto &r = vf.regs[off / 4];
  uint32_t cur = r.load(std::memory_order_relaxed);
  while (!r.compare_exchange_weak(cur, (cur & ~VFMAILBOX_VFU) | (v & VFMAILBOX_VFU), std::memory_order_acq_rel)) {
  }
  if (v & VFMAILBOX_ACK)
    mbx_on_ack(vf);
  if (v & VFMAILBOX_REQ)
    mbx_on_request(vf);
}

/* Tail doorbells: a plain store, no lock and no system call; the engines look at TDT/RDT. */
void set_tdt(VfState &vf, uint32_t off, uint32_t v) { write_plain(vf, off, v & 0xFFFF); }
void set_rdt(VfState &vf, uint32_t off, uint32_t v) { write_plain(vf, off, v & 0xFFFF); }

void set_rxdctl(VfState &vf, uint32_t off, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  write_plain(vf, off, v & ~RXDCTL_SWFLSH);
}

void set_txdctl(VfState &vf, uint32_t off, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  write_plain(vf, off, v & ~TXDCTL_SWFLSH);
}

void set_vteicr(VfState &vf, uint32_t off, uint32_t v) { vf.regs[off / 4].fetch_and(~v); }
/* VTEICS: software sets causes, with the same delivery as the device's own. */
void set_vteics(VfState &vf, uint32_t, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  vf_raise_causes(vf, v & VF_IRQ_CLEAR_MASK);
}
/* VTEIMS: enabling a vector whose cause is pending sends it at once. */
void set_vteims(VfState &vf, uint32_t, uint32_t v) {
  std::lock_guard g(vf.pf->mu);
  vf.regs[VTEIMS / 4].fetch_or(v & VF_IRQ_CLEAR_MASK);
  vf_raise_causes(vf, 0);
}
void set_vteimc(VfState &vf, uint32_t, uint32_t v) { vf.regs[VTEIMS / 4].fetch_and(~v); }

struct Dispatch {
  std::array<ReadFn, kRegWords> rd{};
  std::array<WriteFn, kRegWords> wr{};
  Dispatch() {
    rd.fill(read_plain);
    wr.fill(write_plain);
    auto R = [&](uint32_t off, ReadFn f) { rd[off / 4] = f; };
    auto W = [&](uint32_t off, WriteFn f) { wr[off / 4] = f; };
    R(VFCTRL, read_vfctrl);
    W(VFCTRL, set_vfctrl);
    W(VFSTATUS, write_ignored);
    R(VFLINKS, read_vflinks);
    W(VFLINKS, write_ignored);
    R(VFFRTIMER, read_vfframetimer);
    W(VFFRTIMER, write_ignored);
    R(VFMAILBOX, mailbox_read);
    W(VFMAILBOX, mailbox_write);
    R(VTEICR, read_vteicr);
    W(VTEICR, set_vteicr);
    W(VTEICS, set_vteics);
    W(VTEIMS, set_vteims);
    W(VTEIMC, set_vteimc);
    R(VTEIMC, [](VfState &, uint32_t) -> uint32_t { return 0; });
    for (uint32_t off : {VFGPRC, VFGPTC, VFGORC_LSB, VFGORC_MSB, VFGOTC_LSB, VFGOTC_MSB, VFMPRC})
      W(off, write_ignored);
    for (unsigned q = 0; q < kVfMaxQueues; q++) {
      W(VFRDT(q), set_rdt);
      W(VFTDT(q), set_tdt);
      W(VFRXDCTL(q), set_rxdctl);
      W(VFTXDCTL(q), set_txdctl);
      for (uint32_t off : {VFRDBAL(q), VFRDBAH(q), VFRDLEN(q), VFRDH(q), VFSRRCTL(q), VFTDBAL(q), VFTDBAH(q),
                           VFTDLEN(q), VFTDH(q), VFTDWBAL(q), VFTDWBAH(q)})
        W(off, write_locked);
    }
  }
};
const Dispatch kDispatch;

}  // namespace

uint32_t links_value(const PfModel::Impl &pf) {
  if (!pf.link.load(std::memory_order_acquire))
    return 0;
  uint32_t speed = LINKS_SPEED_10G_82599;
  if (pf.cfg.link_speed_mbps == 1000)
    speed = LINKS_SPEED_1G_82599;
  else if (pf.cfg.link_speed_mbps == 100)
    speed = LINKS_SPEED_100_82599;
  return LINKS_UP | speed;
}

uint32_t vf_register_read(VfState &vf, uint32_t offset) {
  if (offset >= kVfBar0Size || (offset & 3))
    return 0;
  return kDispatch.rd[offset / 4](vf, offset);
}

void vf_register_write(VfState &vf, uint32_t offset, uint32_t value) {
  if (offset >= kVfBar0Size || (offset & 3))
    return;
  kDispatch.wr[offset / 4](vf, offset, value);
}

void vf_raise_causes(VfState &vf, uint32_t causes) {
  uint32_t eicr = vf.regs[VTEICR / 4].fetch_or(causes) | causes;
  uint32_t fire = eicr & vf.reg(VTEIMS) & VF_IRQ_CLEAR_MASK;
  if (!fire)
    return;
  vf.regs[VTEIMS / 4].fetch_and(~(fire & vf.reg(VTEIAM)));
  vf.regs[VTEICR / 4].fetch_and(~(fire & vf.reg(VTEIAC)));
  if (!vf.msix_sink)
    return;
  for (unsigned v = 0; v < 3; v++)
    if (fire >> v & 1)
      vf.msix_sink(v);
}

uint32_t vf_rx_queue_cause(const VfState &vf, unsigned q) {
  /* VTIVAR(q/2): Rx queue 2n in bits 7:0, 2n+1 in bits 23:16; bit 7 of a field = valid, 1:0 = vector */
  uint32_t field = (vf.reg(VTIVAR(q / 2)) >> (16 * (q & 1))) & 0xFF;
  if (!(field & 0x80) || (field & 3) > 2)
    return 0;
  return 1u << (field & 3);
}

void vf_disable_queues(VfState &vf) {
  for (unsigned q = 0; q < kVfMaxQueues; q++) {
    vf.regs[VFRXDCTL(q) / 4].fetch_and(~RXDCTL_ENABLE);
    vf.regs[VFTXDCTL(q) / 4].fetch_and(~TXDCTL_ENABLE);
  }
}

void vf_registers_reset(VfState &vf) {
  for (unsigned i = 0; i < kRegWords; i++) {
    uint32_t off = i * 4;
    if (is_stat(off) || off == VFMAILBOX || (off >= VFMBMEM && off < VFMBMEM + 4 * kMbxSizeWords))
      continue;
    vf.regs[i].store(kReset.v[i], std::memory_order_release);
  }
  /* the mailbox keeps RSTI (the PF's level); the VF's ownership and pending events go */
  vf.regs[VFMAILBOX / 4].fetch_and(VFMAILBOX_RSTI);
  for (auto &q : vf.txctx)
    q = {};
}

void publish_counters(VfState &vf) {
  const auto &c = vf.counters;
  constexpr uint64_t kOctetMask = (1ull << kStatOctetBits) - 1;
  vf.set_reg(VFGPRC, uint32_t(c.gprc));
  vf.set_reg(VFGPTC, uint32_t(c.gptc));
  vf.set_reg(VFMPRC, uint32_t(c.mprc));
  vf.set_reg(VFGORC_LSB, uint32_t(c.gorc & kOctetMask));
  vf.set_reg(VFGORC_MSB, uint32_t((c.gorc & kOctetMask) >> 32));
  vf.set_reg(VFGOTC_LSB, uint32_t(c.gotc & kOctetMask));
  vf.set_reg(VFGOTC_MSB, uint32_t((c.gotc & kOctetMask) >> 32));
}

}  // namespace ixgbevf_lm::model
