/* SPDX-License-Identifier: BSD-3-Clause */
#include "mig_env.h"
#include "../common/eal_teardown.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_memory.h>

#include <ixgbevf_lm/hw/mailbox.h>
#include <ixgbevf_lm/hypervisor/uplink.h>

namespace mig_test {

bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds bound)
{
  const auto end = Clock::now() + bound;
  while (!cond()) {
    if (Clock::now() > end)
      return cond();
    std::this_thread::sleep_for(200us);  /* poll interval of a bounded wait on a condition */
  }
  return true;
}

std::string unique(const std::string &prefix)
{
  static std::atomic<unsigned> n{0};
  return prefix + std::to_string(getpid() % 100000) + "x" + std::to_string(n++);
}

bool migration_api_linked()
{
  return &rte_pmd_ixgbevf_lm_quiesce != nullptr && &rte_pmd_ixgbevf_lm_resume != nullptr &&
         &rte_pmd_ixgbevf_lm_migration_state != nullptr && &rte_pmd_ixgbevf_lm_migration_callback != nullptr &&
         &rte_pmd_ixgbevf_lm_migration_stats != nullptr;
}

/* ---------------- region ---------------- */

namespace {
int msl_cb(const rte_memseg_list *msl, void *arg)
{
  auto *v = static_cast<std::vector<region::RangeSpec> *>(arg);
  if (msl->base_va != nullptr && msl->len != 0)
    v->push_back({reinterpret_cast<uint64_t>(msl->base_va), msl->len});
  return 0;
}
}  // namespace

TestRegion::TestRegion(uint64_t page_size)
{
  std::vector<region::RangeSpec> r;
  rte_memseg_list_walk(msl_cb, &r);
  std::sort(r.begin(), r.end(), [](auto &a, auto &b) { return a.gpa_base < b.gpa_base; });
  /* align to the page size, merge down to the region's limit */
  for (auto &x : r) {
    const uint64_t lo = x.gpa_base & ~(page_size - 1);
    const uint64_t hi = (x.gpa_base + x.length + page_size - 1) & ~(page_size - 1);
    x = {lo, hi - lo};
  }
  std::vector<region::RangeSpec> m;
  for (auto &x : r) {
    if (!m.empty() && x.gpa_base <= m.back().gpa_base + m.back().length)
      m.back().length = std::max(m.back().gpa_base + m.back().length, x.gpa_base + x.length) - m.back().gpa_base;
    else
      m.push_back(x);
  }
  while (m.size() > region::kMaxRanges) {
    size_t best = 0;
    uint64_t gap = UINT64_MAX;
    for (size_t i = 0; i + 1 < m.size(); ++i)
      if (uint64_t g = m[i + 1].gpa_base - (m[i].gpa_base + m[i].length); g < gap) {
        gap = g;
        best = i;
      }
    m[best].length = m[best + 1].gpa_base + m[best + 1].length - m[best].gpa_base;
    m.erase(m.begin() + long(best) + 1);
  }
  path = "/dev/shm/" + unique("ixlm-migtest-") + ".region";
  auto h = region::Host::create(path, {.page_size = page_size, .ranges = m, .n_slots = 8});
  if (!h) {
    ADD_FAILURE() << "region create " << path << ": " << h.error().message;
    return;
  }
  host = std::make_unique<region::Host>(std::move(h.value()));
}

TestRegion::~TestRegion()
{
  if (host)
    (void)host->unlink();
}

int TestRegion::slot_of(const std::string &identity, std::chrono::milliseconds bound) const
{
  int s = -1;
  wait_for(
      [&] {
        auto r = host->find_slot(identity);
        if (r)
          s = int(r.value());
        return r.has_value();
      },
      bound);
  return s;
}

uint64_t TestRegion::bits_set() const
{
  uint64_t n = 0;
  for (uint32_t i = 0; i < host->n_ranges(); ++i) {
    std::vector<uint64_t> w(host->range(i).n_words);
    auto r = host->get_dirty_bitmap(i, w, region::ReadMode::no_clear);
    if (r)
      n += r.value();
  }
  return n;
}

/* ---------------- ports ---------------- */

Port::Port(const std::string &pf_name, unsigned vf_index, const model::MacAddr &m, const std::string &wire_name,
           const std::string &region_path, const std::string &extra)
    : pf(pf_name), wire(wire_name), vf(vf_index), mac(m)
{
  static std::atomic<unsigned> idx{0};
  name = "net_ixgbevf_lm_sim" + std::to_string(idx++);
  char macs[32];
  std::snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  std::string args = "pf=" + pf + ",vf=" + std::to_string(vf);
  if (m != model::MacAddr{})  /* all zero: no mac=, the PF administers no address for the VF */
    args += std::string(",mac=") + macs;
  if (!wire.empty())
    args += ",uplink=wire:" + wire;
  if (!region_path.empty())
    args += ",mig_region=" + region_path;
  if (!extra.empty())
    args += "," + extra;
  probe_rc = rte_vdev_init(name.c_str(), args.c_str());
  if (probe_rc == 0 && rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0)
    probe_rc = -ENODEV;
  if (probe_rc != 0)
    ADD_FAILURE() << "rte_vdev_init(" << name << ", " << args << ") = " << probe_rc;
}

Port::~Port() { close(); }

void Port::close()
{
  if (probe_rc != 0)
    return;
  if (started)
    rte_eth_dev_stop(id);
  started = false;
  rte_eth_dev_close(id);
  rte_vdev_uninit(name.c_str());
  probe_rc = -1;
}

int Port::start(rte_mempool *mp, uint16_t nq, uint16_t nd, const rte_eth_conf *conf)
{
  rte_eth_conf c{};
  if (conf)
    c = *conf;
  int rc = rte_eth_dev_configure(id, nq, nq, &c);
  for (uint16_t q = 0; rc == 0 && q < nq; q++) {
    rc = rte_eth_rx_queue_setup(id, q, nd, SOCKET_ID_ANY, nullptr, mp);
    if (rc == 0)
      rc = rte_eth_tx_queue_setup(id, q, nd, SOCKET_ID_ANY, nullptr);
  }
  if (rc == 0)
    rc = rte_eth_dev_start(id);
  started = rc == 0;
  return rc;
}

std::shared_ptr<model::PfModel> Port::current_pf() const
{
  hv::SimPortInfo info;
  if (hv::SimPlatform::instance().port_info(name, &info))
    return model::Registry::instance().find(info.pf_name);
  return model::Registry::instance().find(pf);
}

unsigned Port::current_vf() const
{
  hv::SimPortInfo info;
  if (hv::SimPlatform::instance().port_info(name, &info))
    return info.vf;
  return vf;
}

/* ---------------- reflector ---------------- */

Reflector::Reflector(uint16_t p, uint16_t queues) : port(p), nq(queues)
{
  th = std::thread([this] {
    std::minstd_rand rng(port * 7919u + 1);
    rte_mbuf *b[64];
    while (!stop.load(std::memory_order_relaxed)) {
      for (uint16_t q = 0; q < nq; ++q) {
        const uint16_t want = random_bursts.load(std::memory_order_relaxed) ? uint16_t(1 + rng() % 48) : 32;
        const auto t0 = Clock::now();
        const uint16_t n = rte_eth_rx_burst(port, q, b, want);
        for (uint16_t i = 0; i < n; ++i) {
          auto *eh = rte_pktmbuf_mtod(b[i], rte_ether_hdr *);
          rte_ether_addr t = eh->dst_addr;
          eh->dst_addr = eh->src_addr;
          eh->src_addr = t;
        }
        uint16_t sent = n ? rte_eth_tx_burst(port, q, b, n) : rte_eth_tx_burst(port, q, b, 0);
        const uint64_t ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
        if (ns > max_call_ns.load(std::memory_order_relaxed))
          max_call_ns.store(ns, std::memory_order_relaxed);
        calls.fetch_add(1, std::memory_order_relaxed);
        for (uint16_t i = sent; i < n; ++i)
          rte_pktmbuf_free(b[i]);
        rx.fetch_add(n, std::memory_order_relaxed);
        tx.fetch_add(sent, std::memory_order_relaxed);
        dropped.fetch_add(n - sent, std::memory_order_relaxed);
      }
      if (nq == 0)
        std::this_thread::yield();
    }
  });
}

void Reflector::halt()
{
  stop.store(true);
  if (th.joinable())
    th.join();
}

rte_mempool *make_pool(const std::string &name, unsigned n, uint16_t data_room)
{
  return rte_pktmbuf_pool_create(name.c_str(), n, 0, 0, data_room, SOCKET_ID_ANY);
}

std::unique_ptr<model::TrafficEndpoint> make_traffic(const std::string &wire, const model::MacAddr &dst,
                                                     uint32_t fps, uint16_t frame_size, const model::MacAddr &src)
{
  model::TrafficConfig tc;
  tc.src_mac = src;
  tc.dst_mac = dst;
  tc.frames_per_second = fps;
  tc.frame_size = frame_size;
  auto t = std::make_unique<model::TrafficEndpoint>(hv::wire_by_name(wire), tc);
  t->start();
  return t;
}

bool traffic_flows(model::TrafficEndpoint &t, uint64_t n, std::chrono::milliseconds bound)
{
  const uint64_t before = t.report().received;
  return wait_for([&] { return t.report().received >= before + n; }, bound);
}

hv::MigratorOptions migrator_options(uint32_t slot, unsigned rounds)
{
  hv::MigratorOptions mo;
  mo.slots = {slot};
  mo.max_rounds = rounds;
  mo.truth = model::Registry::instance().guest_memory();
  mo.guest_ram_bytes = 64ULL << 20;
  mo.min_round = 5ms;
  mo.max_round = 40ms;
  mo.ack_timeout = 3000ms;
  mo.prepare_destination = [] { hv::SimPlatform::instance().prepare_destinations(nullptr); };
  return mo;
}

size_t vf_resets(const model::PfModel &pf, unsigned vf)
{
  size_t n = 0;
  for (auto &r : pf.mailbox_log())
    if (r.vf == vf && !r.request.empty() && (r.request[0] & 0xffff) == ixgbevf_lm::hw::VF_RESET)
      ++n;
  return n;
}


}  // namespace mig_test

int main(int argc, char **argv)
{
  testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "ixlm-migtest-" + std::to_string(getpid());
  std::vector<std::string> ea = {"test_mig_pmd", "--no-pci", "--no-huge", "-m", "1024", "--no-shconf",
                                 "--iova-mode=va", "--file-prefix=" + prefix, "--log-level=pmd.net.ixgbevf_lm*:notice"};
  if (std::thread::hardware_concurrency() >= 2)
    ea.push_back("-l0-1");
  std::vector<char *> av;
  for (auto &s : ea)
    av.push_back(s.data());
  if (rte_eal_init(int(av.size()), av.data()) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  if (rte_eal_iova_mode() != RTE_IOVA_VA) {
    std::fprintf(stderr, "EAL did not take IOVA as VA\n");
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  ixlm_test::eal_teardown();
  return rc;
}
