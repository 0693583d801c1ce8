/* SPDX-License-Identifier: BSD-3-Clause
 * Multi-process: this binary is the primary (an EAL with hugepages and its own --file-prefix, two
 * sim ports on VFs 0 and 1 of one PF model, configured and started), and, run again with
 * `--secondary`, a DPDK secondary process of the same --file-prefix that does rx/tx bursts on the
 * primary's ports. The primary waits (bounded) for the secondary to exit and checks what it saw;
 * the primary outlives the secondary.
 */
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>

#include "../common/eal_teardown.h"
#include "rte_pmd_ixgbevf_lm.h"
#include "rte_pmd_ixgbevf_lm_migration.h"
#include "../common/host_env.h"

namespace {

using namespace std::chrono;

constexpr uint16_t kEtherType = 0x88B5;  /* local experimental */
constexpr unsigned kFrames = 200;        /* per direction: more than a ring's refill batch, in bursts */
constexpr uint16_t kBurst = 32;
constexpr auto kRxBound = seconds(10);
constexpr auto kChildBound = seconds(60);

std::string g_self;    /* /proc/self/exe */
std::string g_prefix;  /* the primary's --file-prefix */
rte_mempool *g_early_pool = nullptr;  /* created before the first sim probe */

/* ---------------- frames ---------------- */

struct Frame {
  rte_ether_hdr eth;
  uint32_t seq;
  uint8_t pad[60 - sizeof(rte_ether_hdr) - sizeof(uint32_t)];
} __attribute__((packed));

rte_mbuf *make_frame(rte_mempool *mp, const rte_ether_addr &dst, const rte_ether_addr &src, uint32_t seq) {
  rte_mbuf *m = rte_pktmbuf_alloc(mp);
  if (!m)
    return nullptr;
  auto *f = rte_pktmbuf_mtod(m, Frame *);
  std::memset(f, 0, sizeof *f);
  rte_ether_addr_copy(&dst, &f->eth.dst_addr);
  rte_ether_addr_copy(&src, &f->eth.src_addr);
  f->eth.ether_type = rte_cpu_to_be_16(kEtherType);
  f->seq = seq;
  m->data_len = m->pkt_len = sizeof(Frame);
  return m;
}

/* Send kFrames from `from` to `to` with sequence numbers base.., receive them on `to` within
 * kRxBound; returns "" or what went wrong. */
std::string pass_frames(rte_mempool *mp, uint16_t from, uint16_t to, uint32_t base) {
  rte_ether_addr src, dst;
  rte_eth_macaddr_get(from, &src);
  rte_eth_macaddr_get(to, &dst);
  unsigned sent = 0;
  std::set<uint32_t> got;
  const auto end = steady_clock::now() + kRxBound;
  while ((sent < kFrames || got.size() < kFrames) && steady_clock::now() < end) {
    if (sent < kFrames) {
      rte_mbuf *tx[kBurst];
      uint16_t n = 0;
      while (n < kBurst && sent + n < kFrames) {
        tx[n] = make_frame(mp, dst, src, base + sent + n);
        if (!tx[n])
          return "mempool empty";
        n++;
      }
      uint16_t done = rte_eth_tx_burst(from, 0, tx, n);
      for (uint16_t i = done; i < n; i++)
        rte_pktmbuf_free(tx[i]);
      sent += done;
    }
    rte_mbuf *rx[kBurst];
    uint16_t n = rte_eth_rx_burst(to, 0, rx, kBurst);
    for (uint16_t i = 0; i < n; i++) {
      const auto *f = rte_pktmbuf_mtod(rx[i], const Frame *);
      if (rx[i]->pkt_len >= sizeof(Frame) && f->eth.ether_type == rte_cpu_to_be_16(kEtherType) &&
          rte_is_same_ether_addr(&f->eth.dst_addr, &dst) && f->seq >= base && f->seq < base + kFrames)
        got.insert(f->seq);
      rte_pktmbuf_free(rx[i]);
    }
    if (n == 0)
      std::this_thread::sleep_for(microseconds(200));  /* the model's engines may share this CPU */
  }
  if (sent < kFrames || got.size() < kFrames)
    return "port " + std::to_string(from) + " -> " + std::to_string(to) + ": sent " + std::to_string(sent) +
           ", received " + std::to_string(got.size()) + " of " + std::to_string(kFrames) + " distinct frames";
  return "";
}

/* Shared between the primary and a streaming secondary (a memzone named after the pool). */
struct StreamCtl {
  std::atomic<uint32_t> stop{0};         /* primary -> secondary */
  std::atomic<uint64_t> received{0};     /* secondary -> primary: frames received so far */
};
std::string ctl_name(const std::string &pool) { return pool + "_ctl"; }

/* Until the primary sets stop: send a burst a -> b, receive on b, count. Bursts may return 0 at any
 * time (the primary migrates the ports); nothing may crash. */
std::string stream(rte_mempool *mp, uint16_t a, uint16_t b, StreamCtl &ctl) {
  rte_ether_addr src, dst;
  rte_eth_macaddr_get(a, &src);
  rte_eth_macaddr_get(b, &dst);
  const auto end = steady_clock::now() + kChildBound;
  uint32_t seq = 0;
  while (!ctl.stop.load(std::memory_order_acquire)) {
    if (steady_clock::now() > end)
      return "the primary never said stop";
    rte_mbuf *tx[kBurst];
    uint16_t n = 0;
    while (n < 8 && (tx[n] = make_frame(mp, dst, src, seq + n)) != nullptr)
      n++;
    uint16_t done = rte_eth_tx_burst(a, 0, tx, n);
    for (uint16_t i = done; i < n; i++)
      rte_pktmbuf_free(tx[i]);
    seq += done;
    rte_mbuf *rx[kBurst];
    uint16_t r = rte_eth_rx_burst(b, 0, rx, kBurst);
    for (uint16_t i = 0; i < r; i++)
      rte_pktmbuf_free(rx[i]);
    ctl.received.fetch_add(r, std::memory_order_release);
    if (r == 0)
      std::this_thread::sleep_for(microseconds(100));  /* pacing: the model shares the CPUs */
  }
  return "";
}

/* ---------------- the secondary process ---------------- */

/* argv: --secondary <prefix> <pool> <port a> <port b> <expect: pass|paused> */
int secondary_main(int argc, char **argv) {
  if (argc != 7)
    return 2;
  const std::string prefix = argv[2], pool = argv[3], expect = argv[6];
  const uint16_t a = uint16_t(std::atoi(argv[4])), b = uint16_t(std::atoi(argv[5]));
  /* lcore 1 (its own mempool cache slot), free to run on either CPU: the primary's threads and
   * the model's engines must not starve behind a pinned busy loop on a loaded machine */
  const char *eal[] = {"mp_secondary", "--proc-type=secondary", "--file-prefix", prefix.c_str(), "--no-pci",
                       "--lcores", "1@(0-1)", "--log-level", "pmd.net.ixgbevf_lm*:info"};
  if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0) {
    std::fprintf(stderr, "secondary: EAL init failed\n");
    return 3;
  }
  int rc = 0;
  rte_mempool *mp = rte_mempool_lookup(pool.c_str());
  if (!mp || rte_eal_process_type() != RTE_PROC_SECONDARY || !rte_eth_dev_is_valid_port(a) ||
      !rte_eth_dev_is_valid_port(b)) {
    std::fprintf(stderr, "secondary: no pool %s or ports %u, %u\n", pool.c_str(), a, b);
    rc = 4;
  } else if (rte_pmd_ixgbevf_lm_mbx_api(a) != rte_pmd_ixgbevf_lm_mbx_api(b) || rte_pmd_ixgbevf_lm_mbx_api(a) < 0) {
    std::fprintf(stderr, "secondary: rte_pmd_ixgbevf_lm_mbx_api: %d, %d\n", rte_pmd_ixgbevf_lm_mbx_api(a),
                 rte_pmd_ixgbevf_lm_mbx_api(b));
    rc = 8;
  } else if (rte_pmd_ixgbevf_lm_quiesce(a, 1000) != -ENOTSUP || rte_pmd_ixgbevf_lm_migration_state(a) != -ENOTSUP) {
    std::fprintf(stderr, "secondary: the migration API did not refuse (it is the primary's)\n");
    rc = 9;
  } else if (expect == "stream") {
    const rte_memzone *mz = rte_memzone_lookup(ctl_name(pool).c_str());
    std::string why = mz ? stream(mp, a, b, *static_cast<StreamCtl *>(mz->addr)) : "no control memzone";
    /* after the primary's migrations: the ports pass frames again */
    if (why.empty())
      why = pass_frames(mp, a, b, 100000);
    if (!why.empty()) {
      std::fprintf(stderr, "secondary: %s\n", why.c_str());
      rc = 10;
    }
  } else if (expect == "pass") {
    for (auto [from, to, base] : {std::tuple{a, b, 0u}, std::tuple{b, a, 1000u}}) {
      std::string why = pass_frames(mp, from, to, base);
      if (!why.empty()) {
        std::fprintf(stderr, "secondary: %s\n", why.c_str());
        rc = 5;
      }
    }
    /* statistics through the primary: the device counted what this process sent */
    rte_eth_stats st{};
    if (rc == 0 && (rte_eth_stats_get(a, &st) != 0 || st.q_opackets[0] < kFrames)) {
      std::fprintf(stderr, "secondary: stats of port %u: q_opackets %llu\n", a, (unsigned long long)st.q_opackets[0]);
      rc = 6;
    }
  } else {
    /* the primary paused the queues: every burst returns 0 and takes nothing */
    rte_mbuf *m[kBurst];
    rte_ether_addr src, dst;
    rte_eth_macaddr_get(a, &src);
    rte_eth_macaddr_get(b, &dst);
    rte_mbuf *f = make_frame(mp, dst, src, 0);
    for (int i = 0; i < 1000 && rc == 0; i++) {
      if (rte_eth_rx_burst(b, 0, m, kBurst) != 0 || rte_eth_tx_burst(a, 0, &f, 1) != 0)
        rc = 7;
    }
    rte_pktmbuf_free(f);
    if (rc)
      std::fprintf(stderr, "secondary: a burst on a stopped queue did something\n");
  }
  rte_eal_cleanup();  /* closes this process's ports (vdev bus clean-up); the runtime dir is the primary's */
  return rc;
}

/* ---------------- the primary ---------------- */

/* Start a program; wait_child() reaps it within a bound. The argument vector is built before
 * fork(): the child of a multi-threaded process must not allocate before exec. */
pid_t spawn(const std::vector<std::string> &argv) {
  std::vector<char *> av;
  for (const auto &a : argv)
    av.push_back(const_cast<char *>(a.c_str()));
  av.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    execv(av[0], av.data());
    _exit(127);
  }
  return pid;
}

/* Exit code of the child, or -2 when it did not exit within bound (then it is killed). */
int wait_child(pid_t pid, steady_clock::duration bound = kChildBound) {
  if (pid < 0)
    return -1;
  const auto end = steady_clock::now() + bound;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    std::this_thread::sleep_for(milliseconds(5));  /* polling a child's exit with a bound */
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t spawn_secondary(const std::string &pool, uint16_t a, uint16_t b, const char *expect) {
  return spawn({g_self, "--secondary", g_prefix, pool, std::to_string(a), std::to_string(b), expect});
}

/* Run this binary as a secondary; wait for it at most kChildBound (then kill it). */
int run_secondary(const std::string &pool, uint16_t a, uint16_t b, const char *expect) {
  return wait_child(spawn_secondary(pool, a, b, expect));
}

struct MultiProcess : public ::testing::Test {
  std::string pf, pool_name, name_a, name_b;
  std::string extra_devargs;  /* set by a derived fixture before SetUp */
  rte_mempool *mp = nullptr;
  uint16_t a = UINT16_MAX, b = UINT16_MAX;

  void SetUp() override {
    static unsigned n = 0;
    const std::string tag = std::to_string(getpid()) + "_" + std::to_string(n++);
    pf = "mp" + tag;
    pool_name = "mp_pool" + tag;
    name_a = "net_ixgbevf_lm_sim_mpa" + tag;
    name_b = "net_ixgbevf_lm_sim_mpb" + tag;
    ASSERT_EQ(rte_vdev_init(name_a.c_str(), ("pf=" + pf + ",vf=0,mac=02:00:00:00:5a:0a" + extra_devargs).c_str()), 0);
    ASSERT_EQ(rte_vdev_init(name_b.c_str(), ("pf=" + pf + ",vf=1,mac=02:00:00:00:5a:0b" + extra_devargs).c_str()), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(name_a.c_str(), &a), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name(name_b.c_str(), &b), 0);
    /* no per-lcore cache: two processes use the pool one after the other */
    mp = rte_pktmbuf_pool_create(pool_name.c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, int(rte_socket_id()));
    ASSERT_TRUE(mp);
    for (uint16_t p : {a, b}) {
      rte_eth_conf conf{};
      ASSERT_EQ(rte_eth_dev_configure(p, 1, 1, &conf), 0);
      ASSERT_EQ(rte_eth_rx_queue_setup(p, 0, 512, rte_socket_id(), nullptr, mp), 0);
      ASSERT_EQ(rte_eth_tx_queue_setup(p, 0, 512, rte_socket_id(), nullptr), 0);
      ASSERT_EQ(rte_eth_dev_start(p), 0);
    }
  }
  void TearDown() override {
    for (uint16_t p : {a, b}) {
      if (p == UINT16_MAX)
        continue;
      rte_eth_dev_stop(p);
      rte_eth_dev_close(p);
    }
    rte_vdev_uninit(name_a.c_str());
    rte_vdev_uninit(name_b.c_str());
    if (mp) {
      EXPECT_EQ(rte_mempool_avail_count(mp), mp->size) << "mbufs leaked";
      rte_mempool_free(mp);
    }
  }
  uint64_t device_counter(uint16_t p, bool rx) {
    rte_eth_stats st{};
    rte_eth_stats_get(p, &st);
    return rx ? st.ipackets : st.opackets;
  }
};

TEST_F(MultiProcess, SecondaryRxTxBurstsPassFramesBetweenTheVfsOfThePrimary) {
  ASSERT_EQ(run_secondary(pool_name, a, b, "pass"), 0) << "the secondary's bursts failed (its stderr above)";
  /* the primary sees what the secondary did: the device counted it, the shared queue counters too */
  EXPECT_GE(device_counter(a, false), kFrames);
  EXPECT_GE(device_counter(b, true), kFrames);
  rte_eth_stats st{};
  ASSERT_EQ(rte_eth_stats_get(b, &st), 0);
  EXPECT_EQ(st.q_ipackets[0], kFrames);
  /* and the queues go on working in the primary after the secondary left */
  EXPECT_EQ(pass_frames(mp, a, b, 5000), "");
  EXPECT_EQ(pass_frames(mp, b, a, 6000), "");
}

TEST_F(MultiProcess, SecondaryBurstsReturnZeroOnQueuesThePrimaryStopped) {
  ASSERT_EQ(rte_eth_dev_rx_queue_stop(b, 0), 0);
  ASSERT_EQ(rte_eth_dev_tx_queue_stop(a, 0), 0);
  ASSERT_EQ(run_secondary(pool_name, a, b, "paused"), 0) << "a secondary's burst on a stopped queue did something";
  ASSERT_EQ(rte_eth_dev_rx_queue_start(b, 0), 0);
  ASSERT_EQ(rte_eth_dev_tx_queue_start(a, 0), 0);
  EXPECT_EQ(pass_frames(mp, a, b, 0), "");
}

/* A migration's stop-copy as the primary's control path runs it: the secondary's bursts return 0
 * while the port is quiesced, and pass frames again once the primary resumed it. */
TEST_F(MultiProcess, SecondaryBurstsReturnZeroWhileThePrimaryHoldsThePortsQuiesced) {
  ASSERT_EQ(rte_pmd_ixgbevf_lm_quiesce(a, 200000), 0);
  ASSERT_EQ(rte_pmd_ixgbevf_lm_quiesce(b, 200000), 0);
  ASSERT_EQ(run_secondary(pool_name, a, b, "paused"), 0) << "a secondary's burst on a quiesced port did something";
  ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(a), 0);
  ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(b), 0);
  ASSERT_EQ(run_secondary(pool_name, a, b, "pass"), 0) << "the secondary's bursts failed after the resume";
}

/* Two sim ports with a migration region, migrated by ixgbevf-lm-migrate (another process, as a
 * hypervisor would) while a secondary process streams frames between them. */
struct MultiProcessMigration : public MultiProcess {
  std::string tool, region;
  void SetUp() override {
    tool = g_self.substr(0, g_self.rfind("/tests/pmd/")) + "/app/ixgbevf-lm-migrate";
    if (access(tool.c_str(), X_OK) != 0)
      GTEST_SKIP() << tool << " not built";
    region = "/dev/shm/ixlm-mp-" + std::to_string(getpid()) + ".region";
    /* IOVA may be physical here (hugepages): the region covers 0..128T in 2M pages */
    ASSERT_EQ(wait_child(spawn({tool, "create", "--region", region, "--range", "0:128T", "--page-size", "2M"}),
                         seconds(30)),
              0);
    extra_devargs = ",mig_region=" + region;
    MultiProcess::SetUp();
  }
  void TearDown() override {
    MultiProcess::TearDown();
    if (!region.empty())
      unlink(region.c_str());
  }
};

TEST_F(MultiProcessMigration, SecondaryStreamingThroughTwoMigrationsOfThePrimaryNeverCrashesAndPassesAfter) {
  const rte_memzone *mz = rte_memzone_reserve((pool_name + "_ctl").c_str(), sizeof(StreamCtl), SOCKET_ID_ANY, 0);
  ASSERT_TRUE(mz);
  auto *ctl = new (mz->addr) StreamCtl();
  pid_t sec = spawn_secondary(pool_name, a, b, "stream");
  ASSERT_GT(sec, 0);
  /* the secondary streams before the migrations start */
  const auto end = steady_clock::now() + seconds(20);
  while (ctl->received.load(std::memory_order_acquire) < 100 && steady_clock::now() < end)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_GE(ctl->received.load(), 100u) << "the secondary received nothing before the migrations";
  const int mig = wait_child(spawn({tool, "run", "--region", region, "--migrations", "2", "--interval-ms", "100"}),
                             seconds(90));
  const uint64_t during = ctl->received.load();
  ctl->stop.store(1, std::memory_order_release);
  EXPECT_EQ(wait_child(sec), 0) << "the secondary crashed or failed (its stderr above)";
  EXPECT_EQ(mig, 0) << "ixgbevf-lm-migrate run failed";
  rte_pmd_ixgbevf_lm_mig_stats st{};
  ASSERT_EQ(rte_pmd_ixgbevf_lm_migration_stats(a, &st), 0);
  EXPECT_EQ(st.migrations_done, 2u);
  std::printf("secondary received %llu frames across 2 migrations\n", (unsigned long long)during);
  rte_memzone_free(mz);
}

/* Not multi-process, but only this binary runs the sim on hugepages (IOVA as PA): memory that
 * existed before the first sim probe is mapped for the model's DMA by IOVA-contiguous runs (a
 * VA-contiguous area is not IOVA-contiguous in general), so frames in mbufs of a pool created
 * before any port pass. */
TEST_F(MultiProcess, SimModelReachesMbufsOfAPoolCreatedBeforeTheFirstProbe) {
  ASSERT_TRUE(g_early_pool);
  EXPECT_EQ(pass_frames(g_early_pool, a, b, 0), "");
}


}  // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], "--secondary") == 0)
    return secondary_main(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  if (geteuid() != 0 || ixgbevf_lm::test::free_hugepage_mb() < 512) {
    std::printf("SKIP: a primary and a secondary process need root and free hugepages (shared memory)\n");
    return 77;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return 1;
  exe[n] = 0;
  g_self = exe;
  g_prefix = "ixlmmp" + std::to_string(getpid());
  const char *eal[] = {"mp_primary", "--no-pci", "--lcores", "0@(0-1)", "--file-prefix", g_prefix.c_str(),
                       "--log-level", "pmd.net.ixgbevf_lm*:info"};
  if (rte_eal_init(int(std::size(eal)), const_cast<char **>(eal)) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  g_early_pool = rte_pktmbuf_pool_create("mp_early", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, int(rte_socket_id()));
  int rc = RUN_ALL_TESTS();
  ixlm_test::eal_teardown();
  return rc;
}
