/* SPDX-License-Identifier: BSD-3-Clause
 * Test support for the driver-side migration tests (suite 'migration', binary test_mig_pmd): one
 * in-process EAL (IOVA as VA, so the region's ranges are the memseg lists' VA reservations), a
 * region per test, sim ports on PF models on a named wire, a MAC-swapping reflector on its own
 * thread, bounded waits.
 */
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <ixgbevf_lm/hypervisor/migrator.h>
#include <ixgbevf_lm/hypervisor/sim_platform.h>
#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm/model/traffic.h>
#include <ixgbevf_lm/region/host.h>

#include "rte_pmd_ixgbevf_lm.h"
#include "rte_pmd_ixgbevf_lm_migration.h"
#include "../common/log_capture.h"

/* The migration API joins the PMD progressively: weak references let this binary link before it
 * does; a test that needs a missing symbol fails with a message saying so. */
#pragma weak rte_pmd_ixgbevf_lm_quiesce
#pragma weak rte_pmd_ixgbevf_lm_resume
#pragma weak rte_pmd_ixgbevf_lm_migration_state
#pragma weak rte_pmd_ixgbevf_lm_migration_callback
#pragma weak rte_pmd_ixgbevf_lm_migration_stats

namespace mig_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace model = ixgbevf_lm::model;
namespace region = ixgbevf_lm::region;
namespace hv = ixgbevf_lm::hv;

bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds bound = 3000ms);
std::string unique(const std::string &prefix);
bool migration_api_linked();

/* A region over the EAL's memseg lists (IOVA == VA), unlinked with the object. */
struct TestRegion {
  std::string path;
  std::unique_ptr<region::Host> host;
  explicit TestRegion(uint64_t page_size = 4096);
  ~TestRegion();
  bool ok() const { return host != nullptr; }
  /* The slot the port claimed (bounded wait); -1 when it did not. */
  int slot_of(const std::string &identity, std::chrono::milliseconds bound = 2000ms) const;
  /* Number of set bits over every range (no clear). */
  uint64_t bits_set() const;
};

/* A sim vdev port: closed and removed with the object (or earlier with close()). */
struct Port {
  std::string name;
  std::string pf;
  std::string wire;
  unsigned vf = 0;
  model::MacAddr mac{};
  uint16_t id = UINT16_MAX;
  int probe_rc = -1;
  bool started = false;
  Port(const std::string &pf_name, unsigned vf_index, const model::MacAddr &mac, const std::string &wire_name,
       const std::string &region_path, const std::string &extra = "");
  ~Port();
  bool ok() const { return probe_rc == 0; }
  int start(rte_mempool *mp, uint16_t nq = 1, uint16_t nd = 256, const rte_eth_conf *conf = nullptr);
  void close();
  /* The PF model the port is on now (through the sim platform), or the probe's. */
  std::shared_ptr<model::PfModel> current_pf() const;
  unsigned current_vf() const;
};

/* Reflects every frame back with MACs swapped, on its own thread, all queues of the port;
 * records the longest rx/tx burst call. */
struct Reflector {
  uint16_t port;
  uint16_t nq;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> rx{0}, tx{0}, dropped{0}, calls{0};
  std::atomic<uint64_t> max_call_ns{0};
  std::atomic<bool> random_bursts{false};
  std::thread th;
  Reflector(uint16_t p, uint16_t queues = 1);
  ~Reflector() { halt(); }
  void halt();
};

rte_mempool *make_pool(const std::string &name, unsigned n, uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE);

/* A traffic endpoint on the wire, sending numbered frames to mac. */
std::unique_ptr<model::TrafficEndpoint> make_traffic(const std::string &wire, const model::MacAddr &dst,
                                                     uint32_t fps, uint16_t frame_size,
                                                     const model::MacAddr &src = {0x02, 0, 0, 0, 0xee, 0x01});
/* Wait until the endpoint received `n` more reflected frames. */
bool traffic_flows(model::TrafficEndpoint &t, uint64_t n = 20, std::chrono::milliseconds bound = 3000ms);

hv::MigratorOptions migrator_options(uint32_t slot, unsigned rounds);
/* Number of VF_RESET messages the PF received from vf. */
size_t vf_resets(const model::PfModel &pf, unsigned vf);
using ixgbevf_lm::test::log_of;  /* the DPDK log lines written while fn runs */

}  // namespace mig_test
