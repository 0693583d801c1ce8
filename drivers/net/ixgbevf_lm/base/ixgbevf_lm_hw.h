/* SPDX-License-Identifier: BSD-3-Clause
 * Register access, the first part of the device seam (ixgbevf_lm_device.h). A PCI VF is a mapped
 * BAR0 (mmio != nullptr); any other backend is a pair of functions with a context. Everything the
 * driver does to the device goes through rd32()/wr32(); the burst functions touch the device only
 * through their queue's TailDoorbell, once per burst.
 *
 * Multi-process: HwAccess and TailDoorbell hold pointers of the process that probed the port (the
 * primary's BAR0 mapping, the backend's functions and context) and live in shared memory (Adapter,
 * queues). A secondary process never uses them: its bursts ring through ring_secondary(), which
 * takes this process's BAR0 from ProcessLocal (rte_eth_devices[port].process_private) or, for a
 * backend only the primary reaches, stores the tail into the queue's SharedTail word that the
 * primary's relay (ixgbevf_lm_relay.h) writes to the device.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include <ethdev_driver.h>
#include <rte_io.h>

namespace ixgbevf_lm::pmd {

struct HwAccess {
  uint8_t *mmio = nullptr;                                /* PCI: BAR0 */
  uint32_t (*read)(void *ctx, uint32_t off) = nullptr;    /* any other backend */
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

/* A queue's tail as secondary processes post it (in the queue, shared memory): the secondary's
 * burst stores the value (release) once per burst; the primary's relay writes it to the device.
 * Between two relays the tail advances by less than a ring, so a changed value is a new doorbell. */
struct SharedTail {
  std::atomic<uint32_t> posted{0};  /* written by a secondary's burst */
  uint32_t relayed = 0;             /* primary only: the last value written to the device from posted */
};

/* The per-process part of a port in a secondary (rte_eth_devices[port].process_private). */
struct ProcessLocal {
  uint8_t *mmio = nullptr;  /* PCI: this process's BAR0 mapping; nullptr: the primary relays */
};

/* A secondary's doorbell: one load of process_private, then one MMIO store (PCI) or one store into
 * shared memory (relayed by the primary). Caller issued rte_io_wmb(). */
inline void ring_secondary(uint16_t port_id, uint32_t off, SharedTail &shared, uint32_t v) {
  const auto *pl = static_cast<const ProcessLocal *>(rte_eth_devices[port_id].process_private);
  if (pl->mmio)
    rte_write32_relaxed(v, pl->mmio + off);
  else
    shared.posted.store(v, std::memory_order_release);
}

}  // namespace ixgbevf_lm::pmd
