/* SPDX-License-Identifier: BSD-3-Clause
 * The sim backend's DMA address space: every DPDK memory segment mapped into the process's
 * model::DmaSpace (IOVA -> VA), now and as memory is added or freed, so that the model's engines
 * reach descriptors and buffers by the IOVAs the driver writes, as a device behind an IOMMU does.
 */
#include "ixgbevf_lm_sim.h"

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <rte_errno.h>
#include <rte_memory.h>

#include "ixgbevf_lm_logs.h"

namespace ixgbevf_lm::pmd {

namespace {

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

}  // namespace

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

}  // namespace ixgbevf_lm::pmd
