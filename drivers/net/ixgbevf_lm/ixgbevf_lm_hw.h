/* SPDX-License-Identifier: BSD-3-Clause
 * THE seam between the driver and what it drives. A PCI VF is a mapped BAR0 (mmio != nullptr);
 * the in-process model is a pair of functions with a context. Everything the driver does to the
 * device goes through rd32()/wr32(); the burst functions touch the device only through their
 * queue's TailDoorbell, once per burst. DMA needs no seam: descriptors and buffers carry IOVAs in
 * both cases (the sim binding maps DPDK memory into the model's DmaSpace, IOVA -> VA).
 */
#pragma once

#include <cstdint>

#include <rte_io.h>

namespace ixgbevf_lm::pmd {

struct HwAccess {
  uint8_t *mmio = nullptr;                                /* PCI: BAR0 */
  uint32_t (*read)(void *ctx, uint32_t off) = nullptr;    /* model */
  void (*write)(void *ctx, uint32_t off, uint32_t v) = nullptr;
  void *ctx = nullptr;
};

inline uint32_t rd32(const HwAccess &hw, uint32_t off) {
  if (hw.mmio)
    return rte_read32(hw.mmio + off);
  return hw.read(hw.ctx, off);
}

inline void wr32(const HwAccess &hw, uint32_t off, uint32_t v) {
  if (hw.mmio) {
    rte_write32(v, hw.mmio + off);
    return;
  }
  hw.write(hw.ctx, off, v);
}

/* Flush posted writes (PCI: a read of VFSTATUS). */
inline void wr_flush(const HwAccess &hw) { (void)rd32(hw, 0x00008); }

/* A queue's tail register, written once per burst after rte_io_wmb(). */
struct TailDoorbell {
  volatile void *mmio = nullptr;
  const HwAccess *hw = nullptr;
  uint32_t off = 0;

  void init(const HwAccess &h, uint32_t offset) {
    hw = &h;
    off = offset;
    mmio = h.mmio ? static_cast<volatile void *>(h.mmio + offset) : nullptr;
  }
  /* Caller issued rte_io_wmb() so the descriptors are visible before the device sees the tail. */
  void ring(uint32_t v) const {
    if (mmio)
      rte_write32_relaxed(v, mmio);
    else
      hw->write(hw->ctx, off, v);
  }
};

}  // namespace ixgbevf_lm::pmd
