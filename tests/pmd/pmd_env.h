/* SPDX-License-Identifier: BSD-3-Clause
 * Test support: the EAL (initialised once), sim ports on PF models, frames, bounded waits.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixlm_test {

/* Poll cond until it holds or the bound passes. */
bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds bound = std::chrono::milliseconds(3000));

std::string unique(const std::string &prefix);
rte_mempool *pool(const std::string &name, unsigned n = 2047, uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE);

/* A vdev port of the PMD; destroyed (closed, vdev removed) with the object. */
struct SimPort {
  std::string name;
  uint16_t port = UINT16_MAX;
  int probe_rc = 0;
  SimPort(const std::string &args);
  ~SimPort();
  bool ok() const { return probe_rc == 0; }
  /* configure nq queues of nd descriptors each on mp, start */
  int start(rte_mempool *mp, uint16_t nq = 1, const rte_eth_conf *conf = nullptr, uint16_t nd = 256);
};

/* Two sim ports on VFs 0 and 1 of one fresh PF model, sharing one mbuf pool; tear-down checks
 * that every mbuf came back. The ports are probed, not started. */
struct SimPortPair : public ::testing::Test {
  std::string pf;
  uint8_t mac_a[6];
  uint8_t mac_b[6];
  std::unique_ptr<SimPort> a, b;
  rte_mempool *mp = nullptr;

  SimPortPair(const std::string &tag, uint8_t subnet, unsigned mbufs);
  void SetUp() override;
  void TearDown() override;

 private:
  std::string tag_;
  unsigned mbufs_;
};

/* A PF model created by the test (before any port names it). */
std::shared_ptr<ixgbevf_lm::model::PfModel> make_pf(const std::string &name,
                                                    const std::function<void(ixgbevf_lm::model::PfConfig &)> &tweak);

/* UDP/IPv4 frame with correct checksums, payload of n bytes filled with a pattern. */
std::vector<uint8_t> udp_frame(const uint8_t dst[6], const uint8_t src[6], size_t payload, uint16_t vlan = 0);
rte_mbuf *to_mbuf(rte_mempool *mp, const std::vector<uint8_t> &f, unsigned segs = 1);
std::vector<uint8_t> from_mbuf(const rte_mbuf *m);
/* Receive up to want packets within the bound. */
std::vector<rte_mbuf *> rx_wait(uint16_t port, unsigned want, std::chrono::milliseconds bound = std::chrono::milliseconds(3000),
                                uint16_t queue = 0);
void free_all(std::vector<rte_mbuf *> &v);
uint64_t xstat(uint16_t port, const char *name);

}  // namespace ixlm_test
