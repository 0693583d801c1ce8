/* SPDX-License-Identifier: BSD-3-Clause
 * The sim backend (vdev net_ixgbevf_lm_sim, plugin librte_net_ixgbevf_lm_sim.so): attach to VF <vf>
 * of the in-process PF model <pf> (model::Registry, created on first use and shared by every port
 * naming it), make DPDK memory reachable by its DMA (ixgbevf_lm_sim_dma.cpp), and hand the port to
 * the driver core through the device seam (ixgbevf_lm_device.h): register access
 * to the model's VF window, MSI-X through the model's sink, hv::SimPlatform as the platform that
 * moves the VF, and the primary's relay for secondaries' doorbells. At the bottom: the vdev's
 * registration.
 */
#include "ixgbevf_lm_sim.h"

#include <unistd.h>

#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>

#include <ixgbevf_lm/hypervisor/sim_platform.h>
#include <ixgbevf_lm/hypervisor/uplink.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"

namespace ixgbevf_lm::pmd {

namespace {

/* Serialises the find-or-create of a PF by concurrent probes. */
std::mutex pf_mu;

SimBinding &binding_of(Adapter &ad) { return *static_cast<SimBinding *>(ad.backend_state.get()); }

/* RESUMING on the sim: hv::SimPlatform moves this port's VfPort to a fresh VF of the destination PF
 * (on PCI the VM wakes up on the destination's VF and there is nothing to do). */
void sim_migration_switch(Adapter &ad, uint32_t seq) noexcept {
  SimBinding &b = binding_of(ad);
  std::string why;
  if (!hv::SimPlatform::instance().switch_to_destination(b.name, seq, &why))
    IXGBEVF_LM_LOG(ERR, "port %u: sim platform could not move %s to its destination: %s", ad.dev->data->port_id,
                   b.name.c_str(), why.c_str());
}

uint32_t sim_read(void *ctx, uint32_t off) { return static_cast<model::VfPort *>(ctx)->read32(off); }
void sim_write(void *ctx, uint32_t off, uint32_t v) { static_cast<model::VfPort *>(ctx)->write32(off, v); }

/* PRE_COPY on the sim: the destination PF exists before the VM arrives (idempotent). */
void sim_migration_prepare(Adapter &ad) noexcept {
  std::string why;
  if (!hv::SimPlatform::instance().prepare_destinations(&why))
    IXGBEVF_LM_LOG(WARNING, "port %u: destination not prepared in advance: %s", ad.dev->data->port_id, why.c_str());
}

/* The model's MSI-X sink writes the core's eventfd of Rx vector 1 + i. */
int sim_msix_connect(Adapter &ad, const int *fds, unsigned n) noexcept {
  try {
    std::vector<int> v(fds, fds + n);
    binding_of(ad).port->set_msix_sink([v](unsigned vector) {
      if (vector < 1 || vector - 1 >= v.size())
        return;
      uint64_t one = 1;
      ssize_t rc = write(v[vector - 1], &one, sizeof one);
      (void)rc; /* EAGAIN: the counter is saturated, the reader wakes anyway */
    });
    return 0;
  } catch (const std::bad_alloc &) {
    return -ENOMEM;
  }
}

/* Returns with no sink call in flight. */
void sim_msix_disconnect(Adapter &ad) noexcept { binding_of(ad).port->set_msix_sink({}); }

const DeviceBackend kSimBackend = {
    .name = "sim",
    .msix_connect = sim_msix_connect,
    .msix_disconnect = sim_msix_disconnect,
    .migration_prepare = sim_migration_prepare,
    .migration_switch = sim_migration_switch,
    .secondary_doorbell_relay = true,  /* the model lives in the primary */
};

void delete_binding(void *b) { delete static_cast<SimBinding *>(b); }

/* A secondary process: the port and its model are the primary's; attach to the shared port data.
 * The model is not reachable from here: register access goes to the primary (ixgbevf_lm_mp.cpp),
 * doorbells through the queues' SharedTail words that the primary relays. */
int probe_secondary(rte_vdev_device *vdev, const char *name) noexcept {
  rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);
  if (!dev) {
    IXGBEVF_LM_LOG(ERR, "%s: the primary process has no such port", name);
    return -ENODEV;
  }
  dev->device = &vdev->device;
  int rc = secondary_attach(dev, nullptr);
  if (rc) {
    rte_eth_dev_release_port(dev);
    return rc;
  }
  rte_eth_dev_probing_finish(dev);
  IXGBEVF_LM_LOG(INFO, "%s: port %u attached in a secondary process", name, dev->data->port_id);
  return 0;
}

}  // namespace

SimBinding::~SimBinding() {
  /* detach first: the platform removes a destination PF it created once no VF is attached */
  if (port)
    port->detach();
  if (!name.empty())
    hv::SimPlatform::instance().unregister_port(name);
}

int sim_probe(rte_vdev_device *vdev) noexcept {
  const char *name = rte_vdev_device_name(vdev);
  /* A secondary learns the vdevs from the primary by name only (DPDK 22.11's vdev bus sends no
   * arguments): the port's configuration is the primary's. */
  if (rte_eal_process_type() != RTE_PROC_PRIMARY)
    return probe_secondary(vdev, name);
  Devargs da;
  if (parse_devargs(vdev->device.devargs, true, &da))
    return -EINVAL;
  if (std::string why; !da.uplink.empty() && !hv::parse_uplink_spec(da.uplink, &why)) {
    /* the reason, without the spec that the refusal quotes already */
    const size_t at = why.find("': ");
    IXGBEVF_LM_LOG(ERR, "%s", mig::devarg_refusal("uplink", da.uplink,
                                                  at == std::string::npos ? why : why.substr(at + 3)).c_str());
    return -EINVAL;
  }
  try {
    /* The PF: an existing one (another port, or the host created it with SimPlatform::source_pf)
     * keeps its uplink; a new one is created on uplink= (default none). */
    auto &platform = hv::SimPlatform::instance();
    std::shared_ptr<model::PfModel> pf;
    std::string uplink;
    {
      std::lock_guard lk(pf_mu);
      pf = model::Registry::instance().find(da.pf);
      if (pf) {
        uplink = platform.pf_uplink(da.pf);
        if (!da.uplink.empty() && da.uplink != uplink) {
          IXGBEVF_LM_LOG(ERR, "%s: invalid devarg uplink=%s: PF '%s' exists with uplink %s", name,
                         da.uplink.c_str(), da.pf.c_str(), uplink.empty() ? "(not set by this driver)" : uplink.c_str());
          return -EINVAL;
        }
        if (uplink.empty())
          uplink = "none";
      } else {
        uplink = da.uplink.empty() ? std::string("none") : da.uplink;
        model::PfConfig cfg;
        cfg.name = da.pf;
        std::string why;
        pf = platform.source_pf(cfg, uplink, &why);
        if (!pf) {
          IXGBEVF_LM_LOG(ERR, "%s: invalid devarg uplink=%s: %s", name, uplink.c_str(), why.c_str());
          return -EINVAL;
        }
      }
    }
    if (unsigned(da.vf) >= pf->config().num_vfs) {
      IXGBEVF_LM_LOG(ERR, "%s: invalid devarg vf=%d: PF '%s' has %u VFs", name, da.vf, da.pf.c_str(),
                     pf->config().num_vfs);
      return -EINVAL;
    }
    int rc = sim_register_guest_memory();
    if (rc)
      return rc;
    if (da.has_mac)
      pf->set_vf_mac(unsigned(da.vf), da.mac);
    if (da.trusted >= 0)  /* the host's `ip link set <pf> vf <n> trust on|off` */
      pf->set_vf_trusted(unsigned(da.vf), da.trusted == 1);

    std::unique_ptr<SimBinding> b(new SimBinding);
    b->pf = pf;
    b->port = std::make_shared<model::VfPort>(model::Registry::instance().guest_memory());
    std::string why;
    if (!b->port->attach(pf, unsigned(da.vf), &why)) {
      IXGBEVF_LM_LOG(ERR, "%s: invalid devarg vf=%d: %s", name, da.vf, why.c_str());
      return -EBUSY;
    }
    model::MacAddr admin_mac{};
    if (da.has_mac)
      std::copy(da.mac.begin(), da.mac.end(), admin_mac.begin());
    if (!platform.register_port(name, b->port, da.pf, uplink, admin_mac, &why)) {
      IXGBEVF_LM_LOG(ERR, "%s: sim platform: %s", name, why.c_str());
      return -EBUSY;
    }
    b->name = name;

    rte_eth_dev *dev = rte_eth_vdev_allocate(vdev, sizeof(Adapter));
    if (!dev)
      return -ENOMEM;
    auto *ad = new (dev->data->dev_private) Adapter();
    ad->dev = dev;
    ad->mac_type = pf->config().mac_type;
    ad->devargs = da;
    ad->hw.read = sim_read;
    ad->hw.write = sim_write;
    ad->hw.ctx = b->port.get();
    ad->backend = &kSimBackend;
    ad->backend_state = BackendState(b.release(), delete_binding);
    rc = adapter_init(dev);
    if (rc) {
      adapter_uninit(dev);
      rte_eth_dev_release_port(dev);
      return rc;
    }
    rte_eth_dev_probing_finish(dev);
    IXGBEVF_LM_LOG(INFO, "%s: port %u on VF %d of PF model '%s', MAC " RTE_ETHER_ADDR_PRT_FMT, name,
                   dev->data->port_id, da.vf, da.pf.c_str(), RTE_ETHER_ADDR_BYTES(&ad->perm_addr));
    return 0;
  } catch (const std::exception &e) {
    IXGBEVF_LM_LOG(ERR, "%s: %s", name, e.what());
    return -ENOMEM;
  }
}

int sim_remove(rte_vdev_device *vdev) noexcept {
  rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
  if (!dev)
    return 0;
  rte_eth_dev_close(dev->data->port_id);
  return 0;
}

}  // namespace ixgbevf_lm::pmd

static struct rte_vdev_driver rte_ixgbevf_lm_sim_pmd = {
    .probe = ixgbevf_lm::pmd::sim_probe,
    .remove = ixgbevf_lm::pmd::sim_remove,
};

RTE_PMD_REGISTER_VDEV(net_ixgbevf_lm_sim, rte_ixgbevf_lm_sim_pmd);
