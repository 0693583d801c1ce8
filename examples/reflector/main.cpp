/* SPDX-License-Identifier: BSD-3-Clause
 * ixgbevf-lm-reflector: an ordinary DPDK application that sends every frame back where it came
 * from with the MAC addresses swapped. It contains no migration code: a port of any driver works,
 *
 *   ixgbevf-lm-reflector --no-pci --vdev net_ixgbevf_lm_sim0,pf=h,vf=0,uplink=loop -- --queues 1
 *   ixgbevf-lm-reflector --vdev net_tap0,iface=rfl0 -- --port 0 --seconds 10
 *
 * Options after `--`: --port N (repeatable; default every port), --queues Q (per port, default 1),
 * --seconds S (default: until SIGINT/SIGTERM).
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "reflector_loop.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

struct Options {
  std::vector<uint16_t> ports;
  uint16_t queues = 1;
  double seconds = 0;
};

bool parse_u(const char *s, unsigned long max, unsigned long *out)
{
  char *end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0' || v > max)
    return false;
  *out = v;
  return true;
}

int usage(const char *msg)
{
  std::fprintf(stderr, "ixgbevf-lm-reflector: %s\nusage: ixgbevf-lm-reflector [EAL options] -- [--port N]... "
                       "[--queues Q] [--seconds S]\n", msg);
  return 2;
}

struct Worker {
  std::vector<reflector::Queue> queues;
  std::vector<reflector::Stats> stats;
};

int worker_main(void *arg)
{
  auto *w = static_cast<Worker *>(arg);
  return reflector::run_loop(w->queues.data(), unsigned(w->queues.size()), &g_stop, w->stats.data());
}

}  // namespace

int main(int argc, char **argv)
{
  const int used = rte_eal_init(argc, argv);
  if (used < 0) {
    std::fprintf(stderr, "ixgbevf-lm-reflector: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argc -= used;
  argv += used;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    unsigned long v;
    if (i + 1 >= argc)
      return usage(("option " + a + " needs a value").c_str());
    if (a == "--port") {
      if (!parse_u(argv[++i], RTE_MAX_ETHPORTS - 1, &v) || !rte_eth_dev_is_valid_port(uint16_t(v)))
        return usage(("--port " + std::string(argv[i]) + ": no such port").c_str());
      o.ports.push_back(uint16_t(v));
    } else if (a == "--queues") {
      if (!parse_u(argv[++i], 64, &v) || v == 0)
        return usage(("--queues " + std::string(argv[i]) + ": expected 1..64").c_str());
      o.queues = uint16_t(v);
    } else if (a == "--seconds") {
      o.seconds = std::atof(argv[++i]);
      if (o.seconds <= 0)
        return usage(("--seconds " + std::string(argv[i]) + ": expected a positive number").c_str());
    } else {
      return usage(("unknown option " + a).c_str());
    }
  }
  if (o.ports.empty()) {
    uint16_t p;
    RTE_ETH_FOREACH_DEV(p) o.ports.push_back(p);
  }
  if (o.ports.empty())
    return usage("no port (give one with --vdev or a PCI device)");

  rte_mempool *pool = rte_pktmbuf_pool_create("reflector", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool == nullptr) {
    std::fprintf(stderr, "ixgbevf-lm-reflector: mbuf pool: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  Worker w;
  for (uint16_t port : o.ports) {
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(port, o.queues, o.queues, &conf);
    for (uint16_t q = 0; rc == 0 && q < o.queues; ++q) {
      rc = rte_eth_rx_queue_setup(port, q, 512, rte_eth_dev_socket_id(port), nullptr, pool);
      if (rc == 0)
        rc = rte_eth_tx_queue_setup(port, q, 512, rte_eth_dev_socket_id(port), nullptr);
      w.queues.push_back({port, q});
    }
    if (rc == 0)
      rc = rte_eth_dev_start(port);
    if (rc != 0) {
      std::fprintf(stderr, "ixgbevf-lm-reflector: port %u: %s\n", port, rte_strerror(-rc));
      return 1;
    }
  }
  w.stats.resize(w.queues.size());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  std::thread timer;
  if (o.seconds > 0)
    timer = std::thread([&] {
      const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
      while (!g_stop.load() && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      g_stop.store(true);
    });
  std::fprintf(stderr, "ixgbevf-lm-reflector: reflecting on %zu queue(s); Ctrl-C stops\n", w.queues.size());
  if (lcore < RTE_MAX_LCORE) {
    rte_eal_remote_launch(worker_main, &w, lcore);
    rte_eal_wait_lcore(lcore);
  } else {
    worker_main(&w);
  }
  if (timer.joinable())
    timer.join();
  for (size_t i = 0; i < w.queues.size(); ++i)
    std::printf("port %u queue %u: rx %lu tx %lu dropped %lu\n", w.queues[i].port, w.queues[i].queue,
                (unsigned long)w.stats[i].rx, (unsigned long)w.stats[i].tx, (unsigned long)w.stats[i].dropped);
  for (uint16_t port : o.ports) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  rte_eal_cleanup();
  return 0;
}
