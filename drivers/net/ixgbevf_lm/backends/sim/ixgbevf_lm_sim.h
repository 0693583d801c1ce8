/* SPDX-License-Identifier: BSD-3-Clause
 * The vdev binding: a port of this PMD on a VF of an in-process PF model.
 */
#pragma once

#include <memory>
#include <string>

#include <ixgbevf_lm/model/pf_model.h>

struct rte_vdev_device;

namespace ixgbevf_lm::pmd {

struct SimBinding {
  std::shared_ptr<model::PfModel> pf;       /* the PF the port was probed on */
  std::shared_ptr<model::VfPort> port;      /* shared with hv::SimPlatform, which re-binds it on RESUMING */
  std::string name;                         /* vdev name, registered with hv::SimPlatform */
  ~SimBinding();                            /* unregisters from the platform, detaches the VF */
};

int sim_probe(rte_vdev_device *vdev) noexcept;
int sim_remove(rte_vdev_device *vdev) noexcept;
/* Make sure DPDK's memory is reachable by the model's DMA (idempotent). */
int sim_register_guest_memory() noexcept;

}  // namespace ixgbevf_lm::pmd
