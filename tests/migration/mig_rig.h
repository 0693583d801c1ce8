/* SPDX-License-Identifier: BSD-3-Clause
 * One guest for a migration test: a region, a PF model on its own wire, a started sim port, an
 * mbuf pool, a reflector thread and a traffic endpoint, torn down in reverse order.
 */
#pragma once

#include <gtest/gtest.h>

#include "mig_env.h"

namespace mig_test {

struct RigConfig {
  uint64_t page_size = 4096;        /* region page size */
  uint16_t ring = 256;              /* descriptors per queue */
  uint16_t queues = 1;
  uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
  uint16_t mtu = 0;                 /* 0: default; else set before start (scatter when > buffer) */
  uint32_t fps = 20000;             /* traffic endpoint rate */
  uint16_t frame_size = 128;
  bool traffic = true;
  bool reflector = true;
  std::string extra_devargs;        /* e.g. "recover=app" */
  bool rx_intr = false;             /* dev_conf.intr_conf.rxq */
  bool lsc = false;                 /* dev_conf.intr_conf.lsc */
  bool no_mac = false;              /* no mac= devarg, a PF with no address for the VF, no uplink */
  unsigned pool_size = 8191;
};

struct Pool {
  rte_mempool *mp = nullptr;
  Pool() = default;
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;
  ~Pool()
  {
    if (mp)
      rte_mempool_free(mp);
  }
};

struct Rig {
  RigConfig cfg;
  std::string pf_name = unique("mpf");
  std::string wire = unique("mwire");
  model::MacAddr mac{0x02, 0x00, 0x00, 0x00, 0x01, 0x10};
  std::unique_ptr<TestRegion> region;
  Pool pool;
  std::unique_ptr<Port> port;
  std::unique_ptr<Reflector> refl;
  std::unique_ptr<model::TrafficEndpoint> traffic;
  int slot = -1;

  explicit Rig(const RigConfig &c, bool with_region = true) : cfg(c)
  {
    if (with_region)
      region = std::make_unique<TestRegion>(cfg.page_size);
    pool.mp = make_pool(unique("mp"), cfg.pool_size, cfg.data_room);
    if (!pool.mp) {
      ADD_FAILURE() << "mbuf pool";
      return;
    }
    if (cfg.no_mac) {  /* the PF, made before the port finds it by name, with no address for VF 0 */
      model::PfConfig pc;
      pc.name = pf_name;
      model::Registry::instance().get_or_create(pc)->set_vf_mac(0, model::MacAddr{});
    }
    port = std::make_unique<Port>(pf_name, 0, cfg.no_mac ? model::MacAddr{} : mac, cfg.no_mac ? "" : wire,
                                  region ? region->path : "", cfg.extra_devargs);
    if (!port->ok())
      return;
    rte_eth_conf conf{};
    rte_eth_dev_info di{};
    rte_eth_dev_info_get(port->id, &di);
    if (cfg.mtu > cfg.data_room - RTE_PKTMBUF_HEADROOM) {
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER & di.rx_offload_capa;
      conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS & di.tx_offload_capa;
    }
    if (cfg.mtu)
      conf.rxmode.mtu = cfg.mtu;
    conf.intr_conf.rxq = cfg.rx_intr ? 1 : 0;
    conf.intr_conf.lsc = cfg.lsc ? 1 : 0;
    const int rc = port->start(pool.mp, cfg.queues, cfg.ring, &conf);
    if (rc != 0) {
      ADD_FAILURE() << "port start: " << rc;
      return;
    }
    if (region)
      slot = region->slot_of(port->name);
    if (cfg.reflector)
      refl = std::make_unique<Reflector>(port->id, cfg.queues);
    if (cfg.traffic)
      start_traffic();
  }
  ~Rig() { teardown(); }

  bool ok() const { return port && port->ok() && port->started && (!region || slot >= 0); }

  void start_traffic()
  {
    traffic = make_traffic(wire, mac, cfg.fps, cfg.frame_size);
  }

  /* Stop traffic and the application, close the port: every mbuf must be back in the pool. */
  void teardown()
  {
    if (traffic)
      traffic->stop();
    traffic.reset();
    refl.reset();
    port.reset();
    /* No port uses the rig's PF any more: its model thread stops, or a test binary would keep one
     * idle model per test (the sim platform does the same for destination PFs it created). */
    if (auto pf = model::Registry::instance().find(pf_name)) {
      pf->shutdown();
      model::Registry::instance().remove(pf_name);
    }
  }

  hv::MigratorOptions options(unsigned rounds) const { return migrator_options(uint32_t(slot), rounds); }
};

/* What the test must say when the rig could not be built. */
inline std::string rig_failure(const Rig &r)
{
  if (!r.port || !r.port->ok())
    return "sim port did not probe";
  if (!r.port->started)
    return "sim port did not start";
  if (r.region && r.slot < 0)
    return "port " + r.port->name + " claimed no slot in " + r.region->path + " (mig_region not integrated?)";
  return "?";
}

}  // namespace mig_test
