/* SPDX-License-Identifier: BSD-3-Clause */
#include "pmd_env.h"
#include "../common/eal_teardown.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_udp.h>

namespace ixlm_test {

SimPortPair::SimPortPair(const std::string &tag, uint8_t subnet, unsigned mbufs)
    : pf(unique(tag)), mac_a{0x02, 0, 0, 0, subnet, 0x0a}, mac_b{0x02, 0, 0, 0, subnet, 0x0b}, tag_(tag), mbufs_(mbufs) {}

void SimPortPair::SetUp() {
  mp = pool(unique(tag_ + "mp"), mbufs_);
  ASSERT_TRUE(mp);
  char ma[18], mb[18];
  std::snprintf(ma, sizeof ma, "02:00:00:00:%02x:0a", mac_a[4]);
  std::snprintf(mb, sizeof mb, "02:00:00:00:%02x:0b", mac_b[4]);
  a = std::make_unique<SimPort>("pf=" + pf + ",vf=0,mac=" + ma);
  b = std::make_unique<SimPort>("pf=" + pf + ",vf=1,mac=" + mb);
  ASSERT_TRUE(a->ok() && b->ok());
}

void SimPortPair::TearDown() {
  a.reset();
  b.reset();
  if (mp) {
    EXPECT_EQ(rte_mempool_avail_count(mp), mp->size) << "mbufs leaked";
    rte_mempool_free(mp);
  }
}

using namespace std::chrono;

bool wait_for(const std::function<bool()> &cond, milliseconds bound) {
  auto end = steady_clock::now() + bound;
  while (!cond()) {
    if (steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(microseconds(200));
  }
  return true;
}

std::string unique(const std::string &prefix) {
  static std::atomic<unsigned> n{0};
  return prefix + std::to_string(getpid() % 10000) + "_" + std::to_string(n++);
}

rte_mempool *pool(const std::string &name, unsigned n, uint16_t room) {
  return rte_pktmbuf_pool_create(name.c_str(), n, 0, 0, room, SOCKET_ID_ANY);
}

SimPort::SimPort(const std::string &args) {
  static std::atomic<unsigned> idx{0};
  name = "net_ixgbevf_lm_sim" + std::to_string(idx++);
  probe_rc = rte_vdev_init(name.c_str(), args.c_str());
  if (probe_rc == 0 && rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0)
    probe_rc = -ENODEV;
}

SimPort::~SimPort() {
  if (probe_rc == 0) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_vdev_uninit(name.c_str());
  }
}

int SimPort::start(rte_mempool *mp, uint16_t nq, const rte_eth_conf *conf, uint16_t nd) {
  rte_eth_conf c{};
  if (conf)
    c = *conf;
  int rc = rte_eth_dev_configure(port, nq, nq, &c);
  if (rc)
    return rc;
  for (uint16_t q = 0; q < nq; q++) {
    if ((rc = rte_eth_rx_queue_setup(port, q, nd, SOCKET_ID_ANY, nullptr, mp)))
      return rc;
    if ((rc = rte_eth_tx_queue_setup(port, q, nd, SOCKET_ID_ANY, nullptr)))
      return rc;
  }
  return rte_eth_dev_start(port);
}

std::shared_ptr<ixgbevf_lm::model::PfModel> make_pf(const std::string &name,
                                                    const std::function<void(ixgbevf_lm::model::PfConfig &)> &tweak) {
  ixgbevf_lm::model::PfConfig cfg;
  cfg.name = name;
  if (tweak)
    tweak(cfg);
  return ixgbevf_lm::model::Registry::instance().get_or_create(cfg);
}

std::vector<uint8_t> udp_frame(const uint8_t dst[6], const uint8_t src[6], size_t payload, uint16_t vlan) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload);
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  auto *ip = reinterpret_cast<rte_ipv4_hdr *>(&f[14]);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(uint16_t(20 + 8 + payload));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(0x0a000001);
  ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto *udp = reinterpret_cast<rte_udp_hdr *>(&f[34]);
  udp->src_port = rte_cpu_to_be_16(1234);
  udp->dst_port = rte_cpu_to_be_16(5678);
  udp->dgram_len = rte_cpu_to_be_16(uint16_t(8 + payload));
  for (size_t i = 0; i < payload; i++)
    f[42 + i] = uint8_t(i * 7 + 3);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  if (vlan) {
    uint8_t tag[4] = {0x81, 0x00, uint8_t(vlan >> 8), uint8_t(vlan)};
    f.insert(f.begin() + 12, tag, tag + 4);
  }
  return f;
}

rte_mbuf *to_mbuf(rte_mempool *mp, const std::vector<uint8_t> &f, unsigned segs) {
  size_t per = (f.size() + segs - 1) / segs;
  rte_mbuf *head = nullptr;
  size_t off = 0;
  for (unsigned s = 0; s < segs; s++) {
    rte_mbuf *m = rte_pktmbuf_alloc(mp);
    if (!m)
      return nullptr;
    size_t n = std::min(per, f.size() - off);
    std::memcpy(rte_pktmbuf_append(m, uint16_t(n)), &f[off], n);
    off += n;
    if (!head)
      head = m;
    else if (rte_pktmbuf_chain(head, m))
      return nullptr;
  }
  return head;
}

std::vector<uint8_t> from_mbuf(const rte_mbuf *m) {
  std::vector<uint8_t> f(m->pkt_len);
  rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
  const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
  if (p != f.data())
    std::memcpy(f.data(), p, m->pkt_len);
  return f;
}

std::vector<rte_mbuf *> rx_wait(uint16_t port, unsigned want, milliseconds bound, uint16_t queue) {
  std::vector<rte_mbuf *> out;
  wait_for(
      [&] {
        rte_mbuf *b[32];
        uint16_t n = rte_eth_rx_burst(port, queue, b, 32);
        out.insert(out.end(), b, b + n);
        return out.size() >= want;
      },
      bound);
  return out;
}

void free_all(std::vector<rte_mbuf *> &v) {
  for (auto *m : v)
    rte_pktmbuf_free(m);
  v.clear();
}

uint64_t xstat(uint16_t port, const char *name) {
  uint64_t id, v = UINT64_MAX;
  if (rte_eth_xstats_get_id_by_name(port, name, &id) == 0)
    rte_eth_xstats_get_by_id(port, &id, &v, 1);
  return v;
}

}  // namespace ixlm_test

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "ixlmpmd" + std::to_string(getpid());
  const char *eal[] = {"pmd_tests", "--no-pci", "--no-huge", "-m", "512", "--no-shconf", "-l", "0",
                       "--file-prefix", prefix.c_str()};
  if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0) {
    fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  ixlm_test::eal_teardown();
  return rc;
}
