/* SPDX-License-Identifier: BSD-3-Clause
 * Private to lib/model: the PF core's state, the per-VF register file and the engines' entry points.
 *
 * Locking: PfModel::Impl::mu guards everything that is not an atomic. The model thread (or step())
 * holds it while it performs a unit of work; control-path register writes (VFCTRL, VFMAILBOX,
 * RXDCTL, TXDCTL, ...) take it too. Tail doorbells and every register read are lock-free: the
 * register file is an array of atomics.
 */
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <span>
#include <thread>
#include <vector>

#include <ixgbevf_lm/hw/hw.h>
#include <ixgbevf_lm/model/pf_model.h>

#include "ipsec_internal.h"

namespace ixgbevf_lm::model {

inline constexpr unsigned kRegWords = hw::kVfBar0Size / 4;
/* 82599 PF RETA (shared by the pool's queues; what GET_RETA reports) and RSS key sizes. */
inline constexpr unsigned kPfRetaEntries = 128;
inline constexpr unsigned kRssKeyBytes = 40;
/* Largest frame the engines handle (jumbo plus a VLAN tag) and largest TSO input. */
inline constexpr unsigned kMaxFrameBuf = 256 * 1024;

struct TxContext {
  uint32_t vlan_macip_lens = 0;
  uint32_t seqnum_seed = 0;
  uint32_t type_tucmd_mlhl = 0;
  uint32_t mss_l4len_idx = 0;
};

/* 64-bit shadows of the VF's statistics; the registers show them truncated to their width. */
struct VfCounters {
  uint64_t gprc = 0, gptc = 0, gorc = 0, gotc = 0, mprc = 0;
};

struct VfState {
  PfModel::Impl *pf = nullptr;
  unsigned index = 0;
  std::array<std::atomic<uint32_t>, kRegWords> regs{};

  /* ---- everything below is guarded by pf->mu ---- */
  bool attached = false;
  std::shared_ptr<DmaSpace> dma;
  bool trusted = false;
  bool rx_enabled = false;           /* PF's VFRE/VFTE for this pool: set by VF_RESET */
  bool cts = false;
  hw::MbxApi api = hw::MbxApi::v10;
  MacAddr mac{};
  std::vector<MacAddr> macvlans;
  std::vector<uint16_t> mc_hashes;
  std::set<uint16_t> vlans;
  hw::XcastMode xcast = hw::XcastMode::multi;
  uint32_t max_frame = 1518;

  /* mailbox, PF side */
  bool req_pending = false;
  uint64_t req_due_us = 0;
  std::array<uint32_t, hw::kMbxSizeWords> req{};
  bool pf_msg_unacked = false;
  std::deque<std::vector<uint32_t>> outbox;  /* PF-initiated messages waiting for a free mailbox */

  /* VFCTRL.RST in progress */
  bool reset_pending = false;
  uint64_t reset_due_us = 0;

  std::array<std::array<TxContext, hw::kTxContextSlots>, hw::kVfMaxQueues> txctx{};
  std::function<void(unsigned)> msix_sink;  /* the guest port's MSI-X delivery (may be empty) */
  VfCounters counters;

  uint32_t reg(uint32_t off) const { return regs[off / 4].load(std::memory_order_acquire); }
  void set_reg(uint32_t off, uint32_t v) { regs[off / 4].store(v, std::memory_order_release); }
};

struct PfModel::Impl {
  explicit Impl(const PfConfig &c);

  PfConfig cfg;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<VfState>> vfs;

  std::atomic<bool> link{true};
  bool link_up_pending = false;
  uint64_t link_up_due_us = 0;
  std::unique_ptr<Uplink> uplink;
  Faults faults;
  PfStats stats;
  std::vector<MailboxRecord> log;
  std::array<uint8_t, kRssKeyBytes> rss_key{};
  std::array<uint8_t, kPfRetaEntries> reta{};
  IpsecTables ipsec;  /* the device's SA tables, shared by the PF and its VFs */

  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::atomic<uint64_t> virtual_us{0};
  std::atomic<bool> stop{false};
  std::thread thread;

  /* scratch buffers of the engines (model thread only, under mu) */
  std::vector<uint8_t> tx_frame;
  std::vector<uint8_t> seg_frame;
  std::vector<uint8_t> rx_frame;

  uint64_t now_us() const;
  bool do_work(bool single_unit);
  void thread_main();
  /* Earliest time (now_us clock) at which timed work falls due: a mailbox reply, a reset
   * completion, link up; UINT64_MAX when none is pending. */
  uint64_t next_due_us() const;
  void reset_vf_function(VfState &vf);  /* VFLR-like: registers, queues, mailbox, CTS */
  void ping_all_vfs();
};

/* vf_registers.cpp */
uint32_t vf_register_read(VfState &vf, uint32_t offset);
void vf_register_write(VfState &vf, uint32_t offset, uint32_t value);
void vf_registers_reset(VfState &vf);        /* reset values, queues disabled (caller holds mu) */
void vf_disable_queues(VfState &vf);         /* caller holds mu */
/* Forget what the PF configured for the VF through the mailbox (API, filters, xcast, max frame). */
void vf_clear_pf_filters(VfState &vf);
uint32_t links_value(const PfModel::Impl &pf);
/* Interrupt causes (VTEICR bits = MSI-X vectors) raised by the device; caller holds mu. A cause
 * enabled in VTEIMS sends its vector to msix_sink, then auto-masks (VTEIAM) and auto-clears (VTEIAC);
 * a masked cause stays pending in VTEICR and fires when VTEIMS enables it. */
void vf_raise_causes(VfState &vf, uint32_t causes);
/* The cause an Rx write-back on queue q raises according to VTIVAR (0 when unmapped). */
uint32_t vf_rx_queue_cause(const VfState &vf, unsigned q);
void publish_counters(VfState &vf);

/* pf_mailbox.cpp (caller holds mu) */
void mbx_on_request(VfState &vf);
void mbx_on_ack(VfState &vf);
bool mbx_service(PfModel::Impl &pf, bool single_unit);
/* The timed work of one VF that is due at `now`: a reset's RSTD, the PF's reply to its request.
 * The model thread runs it for every VF; a read of VFMAILBOX runs it for the reading VF, so that
 * the VF finds the device as it is at the time of the read whether or not the model thread got a
 * CPU since (on a machine where it shares one with the VF's driver, it often has not). Caller
 * holds pf.mu. True when something completed. */
bool vf_complete_due(PfModel::Impl &pf, VfState &vf, uint64_t now);
bool vf_complete_reset(PfModel::Impl &pf, VfState &vf, uint64_t now);  /* RSTD only */
void mbx_post(VfState &vf, std::vector<uint32_t> msg);

/* tx_engine.cpp / rx_engine.cpp / l2_switch.cpp (caller holds mu) */
unsigned tx_service_queue(PfModel::Impl &pf, VfState &vf, unsigned q, unsigned max_frames);
bool rx_deliver(PfModel::Impl &pf, VfState &vf, std::span<const uint8_t> frame, bool loopback);
void switch_frame(PfModel::Impl &pf, int src_vf, std::span<const uint8_t> frame);
uint16_t mc_hash_of(const uint8_t *mac);     /* filter type 0: address bits 47:36 */

/* pf_model.cpp: binding a guest's VfPort (each takes mu) */
VfState *pf_bind_vf(PfModel::Impl &pf, unsigned vf, std::shared_ptr<DmaSpace> mem, std::string *why);
void pf_unbind_vf(PfModel::Impl &pf, VfState &vf);

}  // namespace ixgbevf_lm::model
