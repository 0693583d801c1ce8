/* SPDX-License-Identifier: BSD-3-Clause
 * Benchmark (not a test): what one forwarded packet costs in the PMD's rx_burst + tx_burst with
 * dirty_log=off, bitmap (4 KiB and 2 MiB region pages) and touch, each mode on its own pair of sim
 * VFs of its own PF model, measured side by side in one process, modes interleaved round by round.
 *
 * Every measured burst finds exactly --burst packets written back and waiting: the bench waits for
 * them outside the measurement, and for the peer to have received the previous ones, so the Tx
 * cleanup finds its write-backs too. What is measured therefore does not depend on how the model
 * thread was scheduled: under `valgrind --tool=callgrind --collect-atstart=no` the instruction
 * counts (collected only inside the measured calls, per mode via CALLGRIND_DUMP_STATS_AT) repeat
 * exactly; natively the TSC cycles are printed (median over rounds). Then, per bitmap mode alone,
 * the over-report ratio: pages the host's fetches reported over pages the model DMA-wrote (its
 * ground truth), over --over-report-fetches fetch intervals.
 *
 * Every thread but the measuring one is moved to the other CPUs, so that the model threads, which
 * play the devices, write from outside the measuring core as DMA does and never preempt it.
 *
 * Usage: ixgbevf-lm-bench-dirty-log <EAL args incl. -d <PMD .so>> -- [--rounds N] [--burst N]
 *        [--warmup N] [--frame BYTES] [--fetch-every N] [--over-report-fetches N]
 *        [--modes off,bitmap4k,bitmap2m,touch]
 */
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#ifdef IXLM_HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <ixgbevf_lm/hypervisor/verifier.h>
#include <ixgbevf_lm/model/pf_model.h>
#include <ixgbevf_lm/region/host.h>

namespace {

using namespace std::chrono_literals;
namespace region = ixgbevf_lm::region;

struct Options {
  unsigned rounds = 400;
  unsigned warmup = 40;
  unsigned fetch_every = 0;  /* bitmap modes: the host fetches-and-clears every N rounds (0: never) */
  unsigned over_report_fetches = 5;  /* fetch intervals of the over-report phase (0: none) */
  uint16_t burst = 32;
  uint16_t frame = 128;
  std::vector<std::string> modes{"off", "bitmap4k", "bitmap2m", "touch"};
  std::string pool = "rings";  /* rings: sized to the rings, no cache; testpmd: testpmd's default */
};

/* What a mode's pair of ports is: our sim VFs, or DPDK's own net_ring / net_null (the floor). */
enum class Kind { ixlm, ring, null };

struct Mode {
  std::string name;
  Kind kind = Kind::ixlm;
  std::string devargs;    /* appended to each port's devargs */
  uint64_t page_size = 0; /* 0: no region */
  std::string region_path;
  std::unique_ptr<region::Host> host;
  uint16_t port[2]{UINT16_MAX, UINT16_MAX};
  rte_ether_addr mac[2]{};
  rte_mempool *mp = nullptr;
  std::vector<uint64_t> cycles;  /* per round: both directions */
  uint64_t packets = 0;
};

[[noreturn]] void die(const std::string &why)
{
  std::fprintf(stderr, "dirty_log_burst: %s\n", why.c_str());
  std::exit(1);
}

/* The VA span of the EAL's memory: the region's one range (IOVA as VA). */
void memory_span(uint64_t &lo, uint64_t &hi)
{
  struct Span {
    uint64_t lo = UINT64_MAX, hi = 0;
  } s;
  rte_memseg_walk(
      [](const rte_memseg_list *, const rte_memseg *ms, void *arg) {
        auto *sp = static_cast<Span *>(arg);
        sp->lo = std::min<uint64_t>(sp->lo, ms->iova);
        sp->hi = std::max<uint64_t>(sp->hi, ms->iova + ms->len);
        return 0;
      },
      &s);
  if (s.lo >= s.hi)
    die("no EAL memory");
  lo = s.lo;
  hi = s.hi;
}

void setup(Mode &m, unsigned index, const Options &o)
{
  if (m.page_size != 0) {
    uint64_t lo, hi;
    memory_span(lo, hi);
    lo &= ~(m.page_size - 1);
    hi = (hi + m.page_size - 1) & ~(m.page_size - 1);
    m.region_path = "/dev/shm/ixgbevf_lm_burstbench_" + std::to_string(getpid()) + "_" + m.name + ".region";
    region::CreateParams p;
    p.page_size = m.page_size;
    p.ranges = {{lo, hi - lo}};
    p.n_slots = 4;
    auto h = region::Host::create(m.region_path, p);
    if (!h)
      die("region " + m.region_path + ": " + h.error().message);
    m.host = std::make_unique<region::Host>(std::move(h.value()));
    m.devargs = ",mig_region=" + m.region_path + m.devargs;
  }
  /* rings: sized to the rings (2 x 511 posted for Rx, up to 2 x 480 held by Tx until its cleanup,
   * bursts in flight) and without a per-lcore cache, so that every buffer of the pool cycles
   * through the rings as in an application at a high packet rate. testpmd: what testpmd creates by default (far more mbufs than the rings hold, a per-lcore
   * cache of 250, LIFO reuse) and its Tx offload default (MBUF_FAST_FREE when offered). Both
   * ports' Rx queues share the pool either way. */
  const bool testpmd = o.pool == "testpmd";
  m.mp = rte_pktmbuf_pool_create(("bench_" + m.name).c_str(), testpmd ? 8192 : 4 * 512 + 4 * o.burst,
                                 testpmd ? 250 : 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!m.mp)
    die("mbuf pool for " + m.name);
  for (unsigned i = 0; i < 2; ++i) {
    char dev[64], args[512];
    if (m.kind == Kind::ring)
      std::snprintf(dev, sizeof dev, "net_ring_bench%u", index * 2 + i);  /* a loopback port: tx -> its own rx */
    else if (m.kind == Kind::null)
      std::snprintf(dev, sizeof dev, "net_null_bench%u", index * 2 + i);
    else
      std::snprintf(dev, sizeof dev, "net_ixgbevf_lm_sim%u", index * 2 + i);
    if (m.kind == Kind::ixlm)
      std::snprintf(args, sizeof args, "pf=bench%u_%d,vf=%u,mac=02:00:00:00:%02x:%02x%s", index, getpid(), i, index,
                    i, m.devargs.c_str());
    else
      args[0] = 0;
    const std::string devargs = args[0] ? std::string(dev) + "," + args : std::string(dev);
    if (rte_dev_probe(devargs.c_str()) != 0)
      die("probe " + devargs);
    if (rte_eth_dev_get_port_by_name(dev, &m.port[i]) != 0)
      die("no port " + std::string(dev));
    rte_eth_conf conf{};
    rte_eth_dev_info info{};
    if (testpmd && rte_eth_dev_info_get(m.port[i], &info) == 0)
      conf.txmode.offloads = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    if (rte_eth_dev_configure(m.port[i], 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(m.port[i], 0, 512, SOCKET_ID_ANY, nullptr, m.mp) != 0 ||
        rte_eth_tx_queue_setup(m.port[i], 0, 512, SOCKET_ID_ANY, nullptr) != 0 || rte_eth_dev_start(m.port[i]) != 0)
      die("start " + devargs);
    rte_eth_macaddr_get(m.port[i], &m.mac[i]);
  }
  if (m.host) {
    if (!m.host->set_logging_all(true))
      die("logging request for " + m.name);
    if (!m.host->wait_all_acked(std::chrono::milliseconds(3000)))
      die("logging not acknowledged for " + m.name);
  }
  (void)o;
}

/* Wait (unmeasured, bounded) until `port` has n packets written back (net_ring and net_null have
 * them at once). */
void wait_ready(const Mode &m, uint16_t port, uint16_t n)
{
  if (m.kind != Kind::ixlm)
    return;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (rte_eth_rx_queue_count(port, 0) < n) {
    if (std::chrono::steady_clock::now() > deadline)
      die("port " + std::to_string(port) + ": packets did not arrive within 5 s");
    std::this_thread::yield();
  }
}

/* Receive the waiting burst on `from` and send it to the other port: the measured part. */
uint64_t forward_once(Mode &m, unsigned from, const Options &o, bool measured)
{
  rte_mbuf *pkts[512];
  const unsigned to = 1 - from;
  wait_ready(m, m.port[from], o.burst);
  const uint64_t t0 = rte_rdtsc_precise();
  if (measured)
    CALLGRIND_TOGGLE_COLLECT;
  const uint16_t n = rte_eth_rx_burst(m.port[from], 0, pkts, o.burst);
  if (measured)
    CALLGRIND_TOGGLE_COLLECT;
  const uint64_t t1 = rte_rdtsc_precise();
  if (n != o.burst)
    die("short receive");
  for (uint16_t i = 0; i < n; ++i) {
    auto *eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr *);
    eth->dst_addr = m.mac[to];
    eth->src_addr = m.mac[from];
  }
  const uint64_t t2 = rte_rdtsc_precise();
  if (measured)
    CALLGRIND_TOGGLE_COLLECT;
  const uint16_t sent = rte_eth_tx_burst(m.port[from], 0, pkts, n);
  if (measured)
    CALLGRIND_TOGGLE_COLLECT;
  const uint64_t t3 = rte_rdtsc_precise();
  if (sent != n)
    die("short send");
  if (measured)
    m.packets += n;
  return (t1 - t0) + (t3 - t2);
}

void prime(Mode &m, const Options &o)
{
  rte_mbuf *pkts[512];
  if (rte_pktmbuf_alloc_bulk(m.mp, pkts, o.burst) != 0)
    die("alloc");
  for (uint16_t i = 0; i < o.burst; ++i) {
    char *p = rte_pktmbuf_append(pkts[i], o.frame);
    std::memset(p, 0, o.frame);
    auto *eth = reinterpret_cast<rte_ether_hdr *>(p);
    eth->dst_addr = m.mac[1];
    eth->src_addr = m.mac[0];
    eth->ether_type = rte_cpu_to_be_16(0x88b5); /* local experimental ethertype */
  }
  if (rte_eth_tx_burst(m.port[0], 0, pkts, o.burst) != o.burst)
    die("prime send");
  if (m.kind == Kind::ring) {  /* loopback ports: each needs its own burst */
    if (rte_pktmbuf_alloc_bulk(m.mp, pkts, o.burst) != 0)
      die("alloc");
    for (uint16_t i = 0; i < o.burst; ++i)
      std::memset(rte_pktmbuf_append(pkts[i], o.frame), 0, o.frame);
    if (rte_eth_tx_burst(m.port[1], 0, pkts, o.burst) != o.burst)
      die("prime send");
  }
}

/* Every other thread of the process (model threads, the PMD's control threads, EAL's) onto the
 * CPUs the measuring thread does not run on, so that a measured call is not preempted by them on a
 * 2-CPU machine. Returns the number of threads moved. */
unsigned move_other_threads_off_this_cpu()
{
  const int here = sched_getcpu();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t others;
  CPU_ZERO(&others);
  for (int c = 0; c < online && c < CPU_SETSIZE; ++c)
    if (c != here)
      CPU_SET(c, &others);
  if (CPU_COUNT(&others) == 0)
    return 0;
  cpu_set_t self;
  CPU_ZERO(&self);
  CPU_SET(here, &self);
  if (sched_setaffinity(0, sizeof self, &self) != 0)
    return 0;
  unsigned moved = 0;
  DIR *d = opendir("/proc/self/task");
  if (d == nullptr)
    return 0;
  const pid_t me = gettid();
  while (const dirent *e = readdir(d)) {
    const pid_t tid = pid_t(std::atoi(e->d_name));
    if (tid > 0 && tid != me && sched_setaffinity(tid, sizeof others, &others) == 0)
      ++moved;
  }
  closedir(d);
  return moved;
}

/* One bitmap mode alone, after the measured rounds (its last use: the pair's traffic ends here):
 * fetch intervals of o.fetch_every rounds (at least 100), each ending with the host's clearing read
 * and the ground truth read at one instant (the model frozen), the last one after the burst in
 * flight was received. Prints "over_report,<mode>,<pages written>,<pages reported>,<ratio>,<missed>"
 * in the region's page size. */
void over_report(Mode &m, const Options &o)
{
  namespace model = ixgbevf_lm::model;
  auto truth = model::Registry::instance().guest_memory();
  if (!truth || !m.host || o.over_report_fetches == 0)
    return;
  ixgbevf_lm::hv::DirtyVerifier v(m.host->page_size(), truth->log_page_size());
  const unsigned interval = std::max(o.fetch_every, 100u);
  const bool tracking_was = truth->dirty_tracking();
  truth->set_dirty_tracking(true);
  {
    auto frozen = truth->freeze();
    (void)truth->fetch_and_clear_dirty();
    (void)m.host->dirty_pages(region::ReadMode::clear);
  }
  const auto fetch = [&] {
    auto frozen = truth->freeze();
    const std::vector<uint64_t> written = truth->fetch_and_clear_dirty();
    const std::vector<uint64_t> reported = m.host->dirty_pages(region::ReadMode::clear);
    (void)v.round(written, reported);
  };
  for (unsigned f = 0; f < o.over_report_fetches; ++f) {
    for (unsigned r = 0; r < interval; ++r)
      (void)(forward_once(m, 1, o, false) + forward_once(m, 0, o, false));
    if (f + 1 == o.over_report_fetches) {  /* the burst in flight towards port 1: received, not sent on */
      rte_mbuf *pkts[512];
      wait_ready(m, m.port[1], o.burst);
      const uint16_t n = rte_eth_rx_burst(m.port[1], 0, pkts, o.burst);
      rte_pktmbuf_free_bulk(pkts, n);
    }
    fetch();
  }
  truth->set_dirty_tracking(tracking_was);
  /* missed: written and never reported (nothing is in flight at the last fetch) */
  std::printf("over_report,%s,%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 "\n", m.name.c_str(), v.total_truth(),
              v.total_reported(), v.total_truth() != 0 ? double(v.total_reported()) / double(v.total_truth()) : 0.0,
              v.pending());
}

Options parse(int argc, char **argv)
{
  Options o;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--rounds")
      o.rounds = unsigned(std::stoul(value()));
    else if (a == "--warmup")
      o.warmup = unsigned(std::stoul(value()));
    else if (a == "--burst")
      o.burst = uint16_t(std::stoul(value()));
    else if (a == "--fetch-every")
      o.fetch_every = unsigned(std::stoul(value()));
    else if (a == "--over-report-fetches")
      o.over_report_fetches = unsigned(std::stoul(value()));
    else if (a == "--pool")
      o.pool = value();
    else if (a == "--frame")
      o.frame = uint16_t(std::stoul(value()));
    else if (a == "--modes") {
      o.modes.clear();
      std::string s = value();
      for (size_t p = 0; p <= s.size();) {
        const size_t c = std::min(s.find(',', p), s.size());
        o.modes.push_back(s.substr(p, c - p));
        p = c + 1;
      }
    } else
      die("unknown option " + a);
  }
  if (o.burst == 0 || o.burst > 256 || o.frame < 60 || o.frame > 1500 || o.rounds == 0 ||
      (o.pool != "rings" && o.pool != "testpmd"))
    die("--burst 1..256, --frame 60..1500, --rounds > 0, --pool rings|testpmd");
  return o;
}

}  // namespace

int main(int argc, char **argv)
{
  const int used = rte_eal_init(argc, argv);
  if (used < 0)
    die("EAL init failed");
  if (rte_eal_iova_mode() != RTE_IOVA_VA)
    die("run with --iova-mode=va (the region covers the EAL's virtual addresses)");
  const Options o = parse(argc - used - 1, argv + used + 1);

  std::vector<Mode> modes;
  for (const auto &full : o.modes) {
    Mode m;
    m.name = full;
    /* <mode>[-scalar|-vector]: the PMD's vector=0|1 */
    std::string name = full;
    for (const char *sfx : {"-scalar", "-vector"})
      if (name.size() > std::strlen(sfx) && name.compare(name.size() - std::strlen(sfx), std::string::npos, sfx) == 0) {
        m.devargs = std::string(",vector=") + (sfx[1] == 'v' ? "1" : "0");
        name.resize(name.size() - std::strlen(sfx));
      }
    if (name == "ring" || name == "null")
      m.kind = name == "ring" ? Kind::ring : Kind::null;
    else if (name == "off")
      ;
    else if (name == "bitmap4k" || name == "bitmap2m") {
      m.devargs += ",dirty_log=bitmap";
      m.page_size = name == "bitmap4k" ? 4096 : 2u << 20;
    } else if (name == "touch")
      m.devargs += ",dirty_log=touch";
    else
      die("unknown mode " + name);
    modes.push_back(std::move(m));
  }
  for (unsigned i = 0; i < modes.size(); ++i)
    setup(modes[i], i, o);
  for (auto &m : modes)
    prime(m, o);
  const unsigned moved = move_other_threads_off_this_cpu();

  /* Interleaved: round r forwards the burst there and back in every mode before round r + 1, the
   * first mode of a round rotating so that no mode always follows the same other one. */
  for (unsigned r = 0; r < o.warmup + o.rounds; ++r) {
    for (size_t k = 0; k < modes.size(); ++k) {
      Mode &m = modes[(r + k) % modes.size()];
      if (m.host && o.fetch_every != 0 && r % o.fetch_every == 0)
        (void)m.host->dirty_pages(region::ReadMode::clear);  /* a pre-copy round's fetch */
      const bool measured = r >= o.warmup;
      const uint64_t c = forward_once(m, 1, o, measured) + forward_once(m, 0, o, measured);  /* primed towards port 1 */
      if (r >= o.warmup)
        m.cycles.push_back(c);
    }
  }
  /* Under callgrind the counts are collected only inside the measured calls of all modes given:
   * the script runs one process per mode for the instruction counts (Ir / packets).
   * ratio_median: the median over rounds of this mode's cycles over the first mode's in the same
   * round (paired, so that what slows a whole round down cancels out). */
  std::printf("# %u other threads moved off the measuring CPU %d\n", moved, sched_getcpu());
  std::printf("mode,packets,cycles_per_packet_median,cycles_per_packet_p10,cycles_per_packet_p90,ratio_median\n");
  /* ratio_median: against "off" of the same path (suffix) when there is one, else the first mode */
  std::vector<std::vector<uint64_t>> unsorted;
  for (auto &m : modes)
    unsorted.push_back(m.cycles);
  const auto base_of = [&](const Mode &m) -> const std::vector<uint64_t> & {
    const size_t dash = m.name.find('-');
    const std::string off = "off" + (dash == std::string::npos ? std::string() : m.name.substr(dash));
    for (size_t k = 0; k < modes.size(); ++k)
      if (modes[k].name == off)
        return unsorted[k];
    return unsorted.front();
  };
  for (size_t mi = 0; mi < modes.size(); ++mi) {
    Mode &m = modes[mi];
    const std::vector<uint64_t> &base = base_of(m);
    std::vector<double> ratio(m.cycles.size());
    for (size_t r = 0; r < ratio.size(); ++r)
      ratio[r] = double(unsorted[mi][r]) / double(base[r]);
    std::sort(ratio.begin(), ratio.end());
    std::sort(m.cycles.begin(), m.cycles.end());
    const double per = 2.0 * o.burst;
    auto at = [&](double q) { return double(m.cycles[size_t(q * double(m.cycles.size() - 1))]) / per; };
    std::printf("%s,%" PRIu64 ",%.1f,%.1f,%.1f,%.4f\n", m.name.c_str(), m.packets, at(0.5), at(0.1), at(0.9),
                ratio[ratio.size() / 2]);
  }
  for (auto &m : modes)
    over_report(m, o);
  std::fflush(stdout);
  for (auto &m : modes) {
    if (m.host)
      (void)m.host->set_logging_all(false);
    for (uint16_t p : m.port) {
      rte_eth_dev_stop(p);
      rte_eth_dev_close(p);
    }
    if (!m.region_path.empty())
      unlink(m.region_path.c_str());
  }
  rte_eal_cleanup();
  return 0;
}
