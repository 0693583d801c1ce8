/* SPDX-License-Identifier: BSD-3-Clause
 * `ixgbevf-lm-migrate demo`: one process holding the guest (EAL, a sim port, the reflector's loop on
 * a worker lcore), the device model (a PF on a wire, a traffic endpoint on the same wire) and the
 * hypervisor (region, SimPlatform, Migrator with the model's ground truth).
 *
 * EAL: its own --file-prefix and --in-memory, --iova-mode=va (IOVA == VA, so the region's ranges are
 * the memseg lists' VA reservations), hugepages when mounted and free, else --no-huge -m 1024.
 */
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <cmath>
#include <thread>
#include <vector>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <ixgbevf_lm/hypervisor/migrator.h>
#include <ixgbevf_lm/hypervisor/sim_platform.h>
#include <ixgbevf_lm/hypervisor/uplink.h>
#include <ixgbevf_lm/model/traffic.h>
#include <ixgbevf_lm/region/host.h>

#include "cli.h"
#include "reflector_loop.h"
#include "report.h"

namespace ixlm_migrate {

using namespace ixgbevf_lm;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char *kPortName = "net_ixgbevf_lm_sim0";
constexpr const char *kPfName = "host0";
constexpr const char *kWire = "demo";
const model::MacAddr kVfMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x10};

struct DemoOptions {
  uint64_t rounds = 4;
  uint64_t migrations = 0;
  double link_gbps = 10;
  uint64_t rate = 20000;
  bool json = false;
  bool driver_log = false;   /* --driver-log: the driver's migration log (per-phase breakdown) on stderr */
  uint64_t ack_timeout_ms = 2000;
};

bool hugepages_available(uint64_t need_mb)
{
  std::ifstream mounts("/proc/mounts");
  std::string line;
  bool mounted = false;
  while (std::getline(mounts, line))
    if (line.find(" hugetlbfs ") != std::string::npos)
      mounted = true;
  if (!mounted)
    return false;
  std::ifstream mi("/proc/meminfo");
  uint64_t free_pages = 0, page_kb = 0;
  while (std::getline(mi, line)) {
    if (line.rfind("HugePages_Free:", 0) == 0)
      free_pages = std::strtoull(line.c_str() + 15, nullptr, 10);
    if (line.rfind("Hugepagesize:", 0) == 0)
      page_kb = std::strtoull(line.c_str() + 13, nullptr, 10);
  }
  return free_pages * page_kb / 1024 >= need_mb;
}

struct Ranges {
  std::vector<region::RangeSpec> ranges;
  uint64_t allocated = 0;
  bool all_lists = false;
};

/* The guest's RAM: the memseg lists that hold memory. The EAL reserves far more VA than it backs
 * (128 GiB over several lists); covering only the lists in use keeps the bitmap the size a VMM's
 * would be for this much RAM, so a fetch-and-clear costs what it would cost there. */
int msl_cb(const rte_memseg_list *msl, void *arg)
{
  auto *r = static_cast<Ranges *>(arg);
  if (msl->base_va != nullptr && msl->len != 0 && (msl->memseg_arr.count > 0 || r->all_lists))
    r->ranges.push_back({reinterpret_cast<uint64_t>(msl->base_va), msl->len});
  return 0;
}

int ms_cb(const rte_memseg_list *, const rte_memseg *ms, void *arg)
{
  static_cast<Ranges *>(arg)->allocated += ms->len;
  return 0;
}

/* Sorted, and merged down to the region's limit by closing the smallest gaps. */
void fit_ranges(std::vector<region::RangeSpec> &v)
{
  std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.gpa_base < b.gpa_base; });
  while (v.size() > region::kMaxRanges) {
    size_t best = 0;
    uint64_t gap = UINT64_MAX;
    for (size_t i = 0; i + 1 < v.size(); ++i) {
      const uint64_t g = v[i + 1].gpa_base - (v[i].gpa_base + v[i].length);
      if (g < gap) {
        gap = g;
        best = i;
      }
    }
    v[best].length = v[best + 1].gpa_base + v[best + 1].length - v[best].gpa_base;
    v.erase(v.begin() + long(best) + 1);
  }
}

struct Worker {
  reflector::Queue q;
  reflector::Stats stats;
  std::atomic<bool> stop{false};
};

int worker_main(void *arg)
{
  auto *w = static_cast<Worker *>(arg);
  return reflector::run_loop(&w->q, 1, &w->stop, &w->stats);
}

/* Everything the demo set up, torn down in reverse order whatever happened. */
struct Demo {
  bool eal = false;
  std::unique_ptr<region::Host> host;
  uint16_t port = RTE_MAX_ETHPORTS;
  bool started = false;
  std::unique_ptr<model::TrafficEndpoint> traffic;
  Worker worker;
  unsigned lcore = RTE_MAX_LCORE;
  bool launched = false;
  std::shared_ptr<model::PfModel> pf;

  ~Demo()
  {
    if (launched) {
      worker.stop.store(true);
      rte_eal_wait_lcore(lcore);
    }
    if (traffic)
      traffic->stop();
    if (port != RTE_MAX_ETHPORTS) {
      if (started)
        rte_eth_dev_stop(port);
      rte_eth_dev_close(port);
    }
    if (host)
      (void)host->unlink();
    if (eal) {
      /* the EAL leaves its runtime directory behind even with --in-memory */
      const std::string runtime_dir = rte_eal_get_runtime_dir();
      rte_eal_cleanup();
      std::error_code ec;
      std::filesystem::remove_all(runtime_dir, ec);
    }
  }
};

void progress(const DemoOptions &o, const std::string &line)
{
  (void)o;
  std::fprintf(stderr, "  %s\n", line.c_str());
}

/* Wait (bounded) until the reflected frames keep arriving. */
bool wait_traffic(model::TrafficEndpoint &t, std::chrono::milliseconds bound)
{
  const uint64_t before = t.report().received;
  const auto end = Clock::now() + bound;
  while (Clock::now() < end) {
    if (t.report().received > before + 20)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

/* ---- the phases of a demo run, each returning false after printing why ---- */

/* Returns 0, or the usage error's exit code. */
int parse_demo_options(Args &args, DemoOptions &o)
{
  std::string n, iv, val, why;
  while (args.next(&n, &iv)) {
    if (n == "--json") {
      o.json = true;
      continue;
    }
    if (n == "--driver-log") {
      o.driver_log = true;
      continue;
    }
    if (!args.value(n, &iv, &val, &why))
      return usage_error(why);
    if (n == "--rounds") {
      if (!parse_uint(val, 100, &o.rounds) || o.rounds == 0)
        return usage_error("--rounds '" + val + "': expected 1..100");
    } else if (n == "--migrations") {
      if (!parse_uint(val, 1000, &o.migrations))
        return usage_error("--migrations '" + val + "': expected 0..1000");
    } else if (n == "--link-gbps") {
      if (!parse_double(val, 0.001, 1e6, &o.link_gbps))
        return usage_error("--link-gbps '" + val + "': expected a positive number");
    } else if (n == "--rate") {
      if (!parse_uint(val, 2000000, &o.rate) || o.rate == 0)
        return usage_error("--rate '" + val + "': expected 1..2000000 frames per second");
    } else if (n == "--ack-timeout-ms") {
      if (!parse_uint(val, 600000, &o.ack_timeout_ms) || o.ack_timeout_ms == 0)
        return usage_error("--ack-timeout-ms '" + val + "': expected 1..600000");
    } else {
      return usage_error("demo: unknown option '" + n + "'");
    }
  }
  return 0;
}

/* The guest's EAL: its own prefix, IOVA as VA, two lcores, hugepages when there are enough. */
bool start_eal(const DemoOptions &o, Demo &d)
{
  const std::string prefix = "ixlm-migrate-" + std::to_string(getpid());
  /* --in-memory refuses --no-huge's legacy memory: without hugepages, only skip the shared config. */
  const bool huge = hugepages_available(512);
  std::vector<std::string> ea = {"ixgbevf-lm-migrate", "--file-prefix=" + prefix, huge ? "--in-memory" : "--no-shconf",
                                 "--iova-mode=va", "--no-pci", "--log-level=" + std::to_string(RTE_LOG_WARNING)};
  if (o.driver_log) {  /* the global level gates every type: open it, then close all but the driver's mig log */
    ea.push_back("--log-level=" + std::to_string(RTE_LOG_INFO));
    ea.push_back("--log-level=lib.*:warning");
    ea.push_back("--log-level=pmd.*:warning");
    ea.push_back("--log-level=user.*:warning");
    ea.push_back("--log-level=pmd.net.ixgbevf_lm.mig:info");
  }
  if (std::thread::hardware_concurrency() >= 2)
    ea.push_back("-l0-1");
  else
    ea.push_back("--lcores=0-1@0");
  if (!huge) {
    ea.push_back("--no-huge");
    ea.push_back("-m1024");
  }
#ifndef IXLM_PMD_LINKED
  for (const char *so : {IXLM_PMD_SO, IXLM_SIM_SO}) {
    if (access(so, R_OK) == 0) {
      ea.push_back("-d");
      ea.push_back(so);
    }
  }
#endif
  std::vector<char *> eargv;
  for (auto &s : ea)
    eargv.push_back(s.data());
  eargv.push_back(nullptr);
  std::fprintf(stderr, "EAL:");
  for (auto &s : ea)
    std::fprintf(stderr, " %s", s.c_str());
  std::fprintf(stderr, "\n");
  if (rte_eal_init(int(eargv.size() - 1), eargv.data()) < 0) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return false;
  }
  d.eal = true;
  if (rte_eal_iova_mode() != RTE_IOVA_VA) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: the EAL did not take IOVA as VA; the region's ranges would be wrong\n");
    return false;
  }
  return true;
}

/* The region over the memseg lists' VA reservations (the guest's RAM). */
bool create_region(Demo &d, Ranges &mr, std::string &path)
{
  rte_memseg_list_walk(msl_cb, &mr);
  if (mr.ranges.empty()) {
    mr.all_lists = true;
    rte_memseg_list_walk(msl_cb, &mr);
  }
  fit_ranges(mr.ranges);
  if (mr.ranges.empty()) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: no memseg list to cover\n");
    return false;
  }
  path = "/dev/shm/ixgbevf-lm-demo." + std::to_string(getpid()) + ".region";
  auto h = region::Host::create(path, {.page_size = 4096, .ranges = mr.ranges, .n_slots = 4});
  if (!h) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: region %s: %s\n", path.c_str(), h.error().message.c_str());
    return false;
  }
  d.host = std::make_unique<region::Host>(std::move(h.value()));
  uint64_t covered = 0;
  for (auto &r : mr.ranges)
    covered += r.length;
  std::fprintf(stderr, "region %s: %zu range(s) covering %.1f GiB of IOVA, %" PRIu64 " bytes\n",
               path.c_str(), mr.ranges.size(), double(covered) / double(1ULL << 30), d.host->total_size());
  return true;
}

/* The source host's PF on the wire, then the guest's sim port on its VF 0, configured and started. */
bool start_port(Demo &d, const std::string &region_path)
{
  std::string why;
  model::PfConfig pfc;
  pfc.name = kPfName;
  pfc.thread_nice = model::kDeviceNice;  /* the device takes no CPU from the guest (destinations inherit it) */
  d.pf = hv::SimPlatform::instance().source_pf(pfc, std::string("wire:") + kWire, &why);
  if (!d.pf) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: %s\n", why.c_str());
    return false;
  }
  const std::string vargs = std::string("pf=") + kPfName + ",vf=0,mac=02:00:00:00:00:10,mig_region=" + region_path;
  if (int rc = rte_vdev_init(kPortName, vargs.c_str()); rc != 0) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: rte_vdev_init(%s, %s): %s%s\n", kPortName, vargs.c_str(),
                 rte_strerror(-rc), rc == -EINVAL ? " (is the ixgbevf_lm PMD built and linked?)" : "");
    return false;
  }
  uint16_t port;
  if (rte_eth_dev_get_port_by_name(kPortName, &port) != 0) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: %s probed but no ethdev port\n", kPortName);
    return false;
  }
  d.port = port;
  rte_mempool *pool = rte_pktmbuf_pool_create("demo_pool", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool == nullptr) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: mbuf pool: %s\n", rte_strerror(rte_errno));
    return false;
  }
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(port, 1, 1, &conf);
  if (rc == 0)
    rc = rte_eth_rx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port), nullptr, pool);
  if (rc == 0)
    rc = rte_eth_tx_queue_setup(port, 0, 512, rte_eth_dev_socket_id(port), nullptr);
  if (rc == 0)
    rc = rte_eth_dev_start(port);
  if (rc != 0) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: port %u set-up: %s\n", port, rte_strerror(-rc));
    return false;
  }
  d.started = true;
  return true;
}

/* The application (the reflector's loop on a worker lcore) and the traffic on the wire: numbered
 * frames to the VF, reflected back. */
bool start_traffic(const DemoOptions &o, Demo &d)
{
  d.worker.q = {d.port, 0};
  d.lcore = rte_get_next_lcore(-1, 1, 0);
  if (d.lcore >= RTE_MAX_LCORE) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: no worker lcore\n");
    return false;
  }
  rte_eal_remote_launch(worker_main, &d.worker, d.lcore);
  d.launched = true;

  model::TrafficConfig tc;
  tc.dst_mac = kVfMac;
  tc.frames_per_second = uint32_t(o.rate);
  tc.thread_nice = model::kDeviceNice;  /* the peer on the wire, outside the guest too */
  d.traffic = std::make_unique<model::TrafficEndpoint>(hv::wire_by_name(kWire), tc);
  d.traffic->start();
  if (!wait_traffic(*d.traffic, std::chrono::milliseconds(3000))) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: no reflected traffic within 3 s (sent %" PRIu64 ", received %" PRIu64
                         "); link %s\n", d.traffic->report().sent, d.traffic->report().received,
                 d.pf->link_up() ? "up" : "down");
    return false;
  }
  return true;
}

/* The hypervisor's view: the port's slot, the model's ground truth, pre-copy and stop-copy bounds. */
bool hypervisor_options(const DemoOptions &o, Demo &d, Ranges &mr, const std::string &region_path,
                        hv::MigratorOptions &mo)
{
  auto slot = d.host->find_slot(kPortName);
  for (auto end = Clock::now() + std::chrono::seconds(2); !slot && Clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    slot = d.host->find_slot(kPortName);
  }
  if (!slot) {
    std::fprintf(stderr, "ixgbevf-lm-migrate: the port did not claim a slot in %s: %s\n", region_path.c_str(),
                 slot.error().message.c_str());
    return false;
  }
  auto truth = model::Registry::instance().guest_memory();
  if (!truth)
    std::fprintf(stderr, "warning: no guest memory in the model registry: no ground truth, nothing verified\n");
  mo.slots = {slot.value()};
  mo.max_rounds = unsigned(o.rounds);
  mo.link_gbps = o.link_gbps;
  mr.allocated = 0;  /* guest RAM now that the port and its pool exist */
  rte_memseg_walk(ms_cb, &mr);
  mo.guest_ram_bytes = mr.allocated;
  mo.truth = truth;
  mo.ack_timeout = std::chrono::milliseconds(o.ack_timeout_ms);
  mo.progress = [&o](const std::string &l) { progress(o, l); };
  mo.prepare_destination = [] {
    std::string w;
    if (!hv::SimPlatform::instance().prepare_destinations(&w))
      std::fprintf(stderr, "  warning: destination not prepared in advance: %s\n", w.c_str());
  };
  return true;
}

/* The migrations (or, with --migrations 0, pre-copy rounds and a cancel), one record each. */
int run_migrations(const DemoOptions &o, Demo &d, const hv::MigratorOptions &mo, std::vector<Run> &runs)
{
  std::string why;
  const bool rounds_only = o.migrations == 0;
  const uint64_t n_runs = rounds_only ? 1 : o.migrations;
  int exit_code = kExitOk;
  for (uint64_t m = 1; m <= n_runs; ++m) {
    std::fprintf(stderr, rounds_only ? "pre-copy rounds, then cancel (port stays on its VF):\n"
                                     : "migration %" PRIu64 " of %" PRIu64 ":\n", m, n_runs);
    d.traffic->reset_report();
    hv::Migrator mig(*d.host, mo);
    Run r;
    r.index = rounds_only ? 0 : unsigned(m);
    r.link_gbps = o.link_gbps;
    if (!mig.migrate(rounds_only ? hv::Outcome::source_abort : hv::Outcome::destination, &r.fig, &why)) {
      std::fprintf(stderr, "ixgbevf-lm-migrate: %s failed: %s\n", rounds_only ? "run" : "migration", why.c_str());
      return kExitFailed;
    }
    /* The blackout ends when frames come back: give them a bounded moment, then read the window. */
    const bool flowing = wait_traffic(*d.traffic, std::chrono::milliseconds(1000));
    const model::TrafficReport tr = d.traffic->report();
    r.traffic.measured = true;
    r.traffic.blackout_ms = tr.longest_gap_ms;
    r.traffic.frames_lost = tr.lost;
    r.traffic.sent = tr.sent;
    r.traffic.received = tr.received;
    r.traffic.max_rtt_us = tr.max_rtt_us;
    if (!flowing)
      std::fprintf(stderr, "  warning: reflected traffic did not resume within 1 s\n");
    if (o.json)
      std::printf("%s\n", to_json(r).c_str());
    else
      print_run_human(stdout, r);
    std::fflush(stdout);
    if (r.fig.missed_dirty_pages != 0)
      exit_code = kExitMissed;
    else if ((r.fig.log_errors != 0 || r.fig.copied_all) && exit_code == kExitOk)
      exit_code = kExitLogErrors;  /* nothing lost, but the driver could not log: not a pass */
    runs.push_back(std::move(r));
  }
  return exit_code;
}

/* The q-quantile of v (nearest rank), 0 for none. */
double quantile(std::vector<double> v, double q)
{
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = size_t(std::ceil(q * double(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

/* p50, p99 and max of the downtime, the blackout and the driver's own work (quiesce + restart,
 * measured inside the driver) over the migrations of this run. */
void print_percentiles(FILE *f, const std::vector<Run> &runs)
{
  std::vector<double> down, black, own;
  for (auto &r : runs) {
    down.push_back(r.fig.downtime_ms);
    black.push_back(r.traffic.blackout_ms);
    double worst = 0;
    for (auto &s : r.fig.slots)
      worst = std::max(worst, s.driver_quiesce_ms + s.driver_restart_ms);
    own.push_back(worst);
  }
  std::fprintf(f, "\n%zu migrations          p50 ms    p99 ms    max ms\n", runs.size());
  for (auto [name, v] : {std::pair{"driver downtime", &down}, std::pair{"blackout", &black},
                         std::pair{"driver's own work", &own}})
    std::fprintf(f, "%-20s %9.3f %9.3f %9.3f\n", name, quantile(*v, 0.5), quantile(*v, 0.99), quantile(*v, 1.0));
}

/* The table and the verdict. */
void print_summary(const DemoOptions &o, const Demo &d, const std::vector<Run> &runs)
{
  print_table(stdout, runs);
  if (o.migrations != 0)
    print_percentiles(stdout, runs);
  uint64_t missed = 0, written = 0, log_errors = 0;
  double worst_down = 0, worst_black = 0;
  bool verified = true;
  for (auto &r : runs) {
    missed += r.fig.missed_dirty_pages;
    log_errors += r.fig.log_errors + (r.fig.copied_all && r.fig.log_errors == 0 ? 1 : 0);
    written += r.fig.dma_pages_written;
    worst_down = std::max(worst_down, r.fig.downtime_ms);
    worst_black = std::max(worst_black, r.traffic.blackout_ms);
    verified = verified && r.fig.verified;
  }
  const auto &rs = d.worker.stats;
  std::printf("\nreflector: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64 "\n",
              std::atomic_ref<uint64_t>(const_cast<uint64_t &>(rs.rx)).load(),
              std::atomic_ref<uint64_t>(const_cast<uint64_t &>(rs.tx)).load(),
              std::atomic_ref<uint64_t>(const_cast<uint64_t &>(rs.dropped)).load());
  const char *verdict = !verified ? "UNVERIFIED" : missed == 0 && log_errors == 0 ? "PASS" : "FAIL";
  if (log_errors != 0)
    std::printf("%" PRIu64 " failures to log reported by the driver (the host copied all memory for them)\n",
                log_errors);
  if (o.migrations == 0)
    std::printf("%s: %" PRIu64 " pages written by the device, %" PRIu64 " missed; downtime %.3f ms (cancelled "
                "migration)\n", verdict, written, missed, worst_down);
  else
    std::printf("%s: %zu migrations, %" PRIu64 " pages written by the device, %" PRIu64 " missed; longest driver "
                "downtime %.3f ms (target < 1 ms), longest blackout %.3f ms (target < 5 ms)\n",
                verdict, runs.size(), written, missed, worst_down, worst_black);
}

}  // namespace

int cmd_demo(Args &args)
{
  DemoOptions o;
  if (int rc = parse_demo_options(args, o); rc != 0)
    return rc;
  Demo d;
  Ranges mr;
  std::string region_path;
  hv::MigratorOptions mo;
  if (!start_eal(o, d) || !create_region(d, mr, region_path) || !start_port(d, region_path) ||
      !start_traffic(o, d) || !hypervisor_options(o, d, mr, region_path, mo))
    return kExitFailed;
  std::vector<Run> runs;
  const int exit_code = run_migrations(o, d, mo, runs);
  if (exit_code == kExitFailed)
    return exit_code;
  if (!o.json)
    print_summary(o, d, runs);
  return exit_code;
}

}  // namespace ixlm_migrate
