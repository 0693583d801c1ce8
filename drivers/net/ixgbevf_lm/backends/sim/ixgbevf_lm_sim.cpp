/* SPDX-License-Identifier: BSD-3-Clause
 * The sim backend (vdev net_ixgbevf_lm_sim, plugin librte_net_ixgbevf_lm_sim.so): attach to VF <vf>
 * of the in-process PF model <pf> (model::Registry, created on first use and shared by every port
 * naming it), map all DPDK memory into the process's DmaSpace (IOVA -> VA) now and as it grows, and
 * hand the port to the driver core through the device seam (ixgbevf_lm_device.h): register access
 * to the model's VF window, MSI-X through the model's sink, hv::SimPlatform as the platform that
 * moves the VF, and the primary's relay for secondaries' doorbells. At the bottom: the vdev's
 * registration.
 */
#include "ixgbevf_lm_sim.h"

#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <bus_vdev_driver.h>
#include <unistd.h>
#include <ethdev_vdev.h>
#include <rte_memory.h>

#include <ixgbevf_lm/hypervisor/sim_platform.h>
#include <ixgbevf_lm/hypervisor/uplink.h>

#include "ixgbevf_lm_adapter.h"
#include "ixgbevf_lm_logs.h"
#include "ixgbevf_lm_mp.h"

namespace ixgbevf_lm::pmd {

namespace {

/* ---------------- guest memory ---------------- */

struct GuestMemory {
  std::mutex mu;
  bool registered = false;
  std::shared_ptr<model::DmaSpace> space;
  std::vector<std::pair<uint64_t, uint64_t>> ours;  /* (iova, len) we mapped */
};
GuestMemory &guest() {
  static GuestMemory g;
  return g;
}

/* Map [va, va+len) whose IOVA is iova; an identical mapping that already covers it is fine. */
void map_range(GuestMemory &g, void *va, uint64_t iova, uint64_t len) {
  if (iova == RTE_BAD_IOVA || len == 0)
    return;
  std::string why;
  if (g.space->map(iova, va, len, &why)) {
    g.ours.emplace_back(iova, len);
    return;
  }
  if (g.space->host_address(iova) == va &&
      g.space->host_address(iova + len - 1) == static_cast<uint8_t *>(va) + len - 1)
    return;
  IXGBEVF_LM_LOG(WARNING, "cannot map IOVA 0x%llx (+0x%llx) for the model: %s", (unsigned long long)iova,
                 (unsigned long long)len, why.c_str());
}

/* Map [base, base+len) of msl page by page, merging pages whose IOVAs follow each other: with IOVA
 * as PA, VA-contiguous pages are not IOVA-contiguous in general. Lock-free look-ups only. */
void map_iova_runs(GuestMemory &g, const rte_memseg_list *msl, uint8_t *base, size_t len) {
  const uint64_t pg = msl->page_sz;
  size_t off = 0;
  while (off < len) {
    const rte_memseg *ms = rte_mem_virt2memseg(base + off, msl);
    if (!ms)
      return;
    size_t run = pg;
    while (off + run < len) {
      const rte_memseg *n = rte_mem_virt2memseg(base + off + run, msl);
      if (!n || n->iova != ms->iova + run)
        break;
      run += pg;
    }
    map_range(g, base + off, ms->iova, run);
    off += run;
  }
}

/* rte_memseg_contig_walk gives VA-contiguous areas: split them into IOVA-contiguous runs. */
int contig_walk_cb(const rte_memseg_list *msl, const rte_memseg *ms, size_t len, void *arg) {
  if (msl->external)
    return 0;
  map_iova_runs(*static_cast<GuestMemory *>(arg), msl, static_cast<uint8_t *>(ms->addr), len);
  return 0;
}

/* Called with the memory hotplug lock held: only the _thread_unsafe/lock-free look-ups here. */
void mem_event_cb(rte_mem_event type, const void *addr, size_t len, void *arg) {
  auto &g = *static_cast<GuestMemory *>(arg);
  std::lock_guard lk(g.mu);
  const rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
  if (!msl)
    return;
  uint64_t pg = msl->page_sz;
  auto *base = static_cast<uint8_t *>(const_cast<void *>(addr));
  if (type == RTE_MEM_EVENT_ALLOC) {
    map_iova_runs(g, msl, base, len);
  } else {
    for (size_t off = 0; off < len; off += pg) {
      const rte_memseg *ms = rte_mem_virt2memseg(base + off, msl);
      if (!ms)
        continue;
      for (auto it = g.ours.begin(); it != g.ours.end(); ++it) {
        if (it->first == ms->iova) {
          g.space->unmap(it->first);
          g.ours.erase(it);
          break;
        }
      }
    }
  }
}

/* ---------------- PF models ---------------- */

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

int sim_register_guest_memory() noexcept {
  GuestMemory &g = guest();
  {
    std::lock_guard lk(g.mu);
    if (g.registered)
      return 0;
    auto &reg = model::Registry::instance();
    g.space = reg.guest_memory();
    if (!g.space) {
      g.space = std::make_shared<model::DmaSpace>();
      reg.set_guest_memory(g.space);
    }
  }
  /* the walk takes the hotplug lock itself; the event callback takes g.mu */
  if (rte_mem_event_callback_register("ixgbevf_lm_sim", mem_event_cb, &g) != 0 && rte_errno != EEXIST &&
      rte_errno != ENOTSUP) {
    IXGBEVF_LM_LOG(ERR, "cannot register the memory event callback: %s", rte_strerror(rte_errno));
    return -rte_errno;
  }
  {
    std::lock_guard lk(g.mu);
    rte_memseg_contig_walk(contig_walk_cb, &g);
    g.registered = true;
  }
  return 0;
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
    IXGBEVF_LM_LOG(ERR, "invalid devarg uplink=%s: %s", da.uplink.c_str(), why.c_str());
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
