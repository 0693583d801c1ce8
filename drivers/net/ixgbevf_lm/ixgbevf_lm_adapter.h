/* SPDX-License-Identifier: BSD-3-Clause
 * The per-port private data (dev->data->dev_private) and the control-path entry points shared by
 * the files of the PMD.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <ethdev_driver.h>

#include <ixgbevf_lm/hw/hw.h>

#include "ixgbevf_lm_config.h"
#include "ixgbevf_lm_devargs.h"
#include "ixgbevf_lm_device.h"
#include "ixgbevf_lm_hw.h"
#include "ixgbevf_lm_mbx.h"
#include "ixgbevf_lm_migdev.h"
#include "ixgbevf_lm_security.h"

namespace ixgbevf_lm::pmd {

/* Bounds of the waits on the device and the PF. */
inline constexpr uint64_t kResetTimeoutUs = 1000000;      /* VFCTRL.RST until RSTD */
inline constexpr uint64_t kMbxTimeoutUs = 500000;         /* one mailbox request: ACK and reply */
inline constexpr uint64_t kQueueEnableTimeoutUs = 100000; /* RXDCTL/TXDCTL.ENABLE to read back */
inline constexpr uint64_t kServiceIntervalUs = 100000;    /* the alarm polling PF messages and counters */

/* 64-bit totals of the VF's wrapping counters. */
struct HwCounters {
  uint64_t gprc = 0, gptc = 0, gorc = 0, gotc = 0, mprc = 0;
};
struct HwCounterRaw {
  uint32_t gprc = 0, gptc = 0, mprc = 0;
  uint64_t gorc = 0, gotc = 0;  /* 36-bit */
};

struct Adapter {
  rte_eth_dev *dev = nullptr;
  /* The device seam (ixgbevf_lm_device.h): registers, then what else differs per backend. */
  HwAccess hw;
  const DeviceBackend *backend = &kPciBackend;
  hw::MacType mac_type = hw::MacType::vf_82599;
  Mailbox mbx;
  hw::MbxApi api = hw::MbxApi::v10;
  unsigned max_rx_queues = 1;
  unsigned max_tx_queues = 1;
  rte_ether_addr perm_addr{};
  uint32_t mc_filter_type = 0;
  Devargs devargs;
  SwConfig cfg;

  bool started = false;
  bool closed = false;
  std::atomic<bool> pf_reset_seen{false};
  std::atomic<uint32_t> migration_phase{0};
  /* Set while a rebuild failed and is being retried: the link stays reported down whatever VFLINKS
   * says (the PF does not answer yet). */
  std::atomic<bool> link_held_down{false};
  /* Read by the service alarm on the EAL's interrupt thread, written by the control path. */
  std::atomic<bool> alarm_armed{false};

  /* statistics */
  std::mutex stats_mu;
  HwCounterRaw last_raw;
  HwCounters total;
  HwCounters base;
  uint64_t resets = 0;
  bool random_mac_said = false;  /* "the PF assigned no MAC address" logged (once per port) */
  uint64_t link_checks = 0;

  /* The backend's own per-port state (the sim: its model VF). Declared before the migration and
   * security state, so destroyed after them. */
  BackendState backend_state{nullptr, nullptr};

  /* Inline IPsec (ixgbevf_lm_security.cpp): present when the PF accepted mailbox API 1.4. */
  std::unique_ptr<SecState> sec;

  /* Live migration (ixgbevf_lm_migdev.cpp): the device steps and the port's state machine (polled
   * by the per-process control thread). migport is destroyed before migdev. */
  std::unique_ptr<AdapterMigration> migdev;
  std::unique_ptr<mig::MigrationPort> migport;
};

inline Adapter &adapter_of(rte_eth_dev *dev) { return *static_cast<Adapter *>(dev->data->dev_private); }

/* ixgbevf_lm_init.cpp: common init of a port once its backend (HwAccess and DeviceBackend) is set. */
int adapter_init(rte_eth_dev *dev) noexcept;
void adapter_uninit(rte_eth_dev *dev) noexcept;
/* ixgbevf_lm_ethdev.cpp */
extern const eth_dev_ops kEthDevOps;
/* ixgbevf_lm_devinfo.cpp */
int dev_infos_get(rte_eth_dev *dev, rte_eth_dev_info *info) noexcept;
/* ixgbevf_lm_regdump.cpp */
int get_reg(rte_eth_dev *dev, rte_dev_reg_info *regs) noexcept;
/* Ethernet addresses a port holds: its own and the extra ones (mac_addr_add). */
inline constexpr uint32_t kMaxMacAddrs = 1 + kMaxExtraMacs;

/* ixgbevf_lm_migdev.cpp: create the port's migration state (claims its region slot, registers with
 * the control thread) / tear it down (first thing in dev_close). */
int migration_attach(Adapter &ad) noexcept;
void migration_detach(Adapter &ad) noexcept;
struct RxQueue;
struct TxQueue;
/* A queue stop, after its DMA stopped and before its buffers go back: while logging, what the
 * device wrote that no burst took (completed Rx buffers, the ring) is marked, or freeing it would
 * lose those pages. */
void migration_rx_queue_stopping(RxQueue &q) noexcept;
void migration_tx_queue_stopping(TxQueue &q) noexcept;

/* ixgbevf_lm_vf.cpp */
int vf_reset_and_negotiate(Adapter &ad) noexcept;    /* RST, RSTD, VF_RESET, API, GET_QUEUES */
int vf_link_update(rte_eth_dev *dev, int wait) noexcept;
void vf_service_start(Adapter &ad) noexcept;
void vf_service_stop(Adapter &ad) noexcept;
int mbx_errno(MbxResult r);

/* ixgbevf_lm_config.cpp: each applies to the VF and records in ad.cfg on success */
int cfg_set_xcast(Adapter &ad, bool promisc, bool allmulti) noexcept;
int cfg_set_mac(Adapter &ad, const rte_ether_addr &mac) noexcept;
int cfg_add_mac(Adapter &ad, const rte_ether_addr &mac) noexcept;
int cfg_remove_mac(Adapter &ad, const rte_ether_addr &mac) noexcept;
int cfg_set_mc_list(Adapter &ad, const rte_ether_addr *list, unsigned n) noexcept;
int cfg_set_vlan(Adapter &ad, uint16_t vid, bool on) noexcept;
int cfg_set_max_frame(Adapter &ad, uint32_t max_frame) noexcept;
int cfg_apply_rss(Adapter &ad) noexcept;
int rss_configure(Adapter &ad, const rte_eth_conf &conf) noexcept;
uint16_t mc_hash(uint32_t filter_type, const rte_ether_addr &a);
/* Replay the whole software configuration onto a VF that has just been reset and negotiated. */
int replay_config(Adapter &ad) noexcept;

/* ixgbevf_lm_stats.cpp */
/* What of the statistics only the primary can compute (hardware totals since the last reset, the
 * migration counters): taken in the primary, sent to a secondary over IPC (ixgbevf_lm_mp.cpp). */
inline constexpr unsigned kMaxMigXstats = 16;
struct CounterSnapshot {
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0, imcast = 0;
  uint32_t n_mig = 0;
  uint64_t mig[kMaxMigXstats] = {};
};
void counters_snapshot(Adapter &ad, CounterSnapshot *out) noexcept;  /* primary */
int stats_fill(rte_eth_dev *dev, const CounterSnapshot &s, rte_eth_stats *st) noexcept;
int xstats_fill(rte_eth_dev *dev, const CounterSnapshot &s, rte_eth_xstat *xs, unsigned n) noexcept;
void stats_sample(Adapter &ad) noexcept;
void stats_rebase(Adapter &ad) noexcept;
int stats_get(rte_eth_dev *dev, rte_eth_stats *st) noexcept;
int stats_reset(rte_eth_dev *dev) noexcept;
int xstats_get(rte_eth_dev *dev, rte_eth_xstat *xs, unsigned n) noexcept;
int xstats_get_names(rte_eth_dev *dev, rte_eth_xstat_name *names, unsigned n) noexcept;
int xstats_reset(rte_eth_dev *dev) noexcept;

/* ixgbevf_lm_rss.cpp */
int rss_hash_update(rte_eth_dev *dev, rte_eth_rss_conf *conf) noexcept;
int rss_hash_conf_get(rte_eth_dev *dev, rte_eth_rss_conf *conf) noexcept;
int reta_update(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size) noexcept;
int reta_query(rte_eth_dev *dev, rte_eth_rss_reta_entry64 *conf, uint16_t size) noexcept;
uint16_t reta_size(const Adapter &ad);

}  // namespace ixgbevf_lm::pmd
