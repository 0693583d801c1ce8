/* SPDX-License-Identifier: BSD-3-Clause
 * Live migration of the ixgbevf_lm PMD end to end on the sim platform: quiesce and cancel on the
 * same VF, restore of the configuration on the destination, a silent destination PF, a PF reset
 * (recover=auto and recover=app), and 50 migrations in a row with every mbuf back in its pool.
 */
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstring>
#include <sstream>

#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_ether.h>

#include "ixgbevf_lm_rxtx.h"
#include "mig_rig.h"

namespace mig_test {
namespace {

region::State reported_state(region::Host &h, int slot)
{
  auto st = h.slot_status(uint32_t(slot));
  return st ? st->report.state : region::State::unknown;
}

bool link_up(uint16_t port)
{
  rte_eth_link l{};
  return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

/* A burst that waited on the PF would take the whole silence (seconds); a preempted thread on a
 * loaded 2-core machine can take tens of ms. */
constexpr uint64_t kBurstBoundNs = 250'000'000u;

std::string slot_error(region::Host &h, int slot)
{
  auto st = h.slot_status(uint32_t(slot));
  if (!st)
    return "";
  return std::string("; slot reports ") + region::state_name(st->report.state) + " gen " +
         std::to_string(st->report.acked_generation) + ", last_error " + std::to_string(st->last_error) + " '" +
         st->error_msg + "'";
}

std::atomic<int> g_events[RTE_PMD_IXGBEVF_LM_MIG_EV_MAX];
void count_event(uint16_t, enum rte_pmd_ixgbevf_lm_mig_event ev, void *) { g_events[ev].fetch_add(1); }

/* ---- 3. quiesce with traffic in flight, then cancel: same VF, no reset ---- */

TEST(MigQuiesce, RegionStopCopyThenAbortResumesOnSameVfWithoutReset)
{
  RigConfig c;
  c.fps = 40000;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 100));
  if (migration_api_linked()) {
    for (int e = 0; e < RTE_PMD_IXGBEVF_LM_MIG_EV_MAX; ++e) {
      g_events[e] = 0;
      EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_callback(rig.port->id, rte_pmd_ixgbevf_lm_mig_event(e), count_event,
                                                      nullptr), 0);
    }
  }
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  const size_t resets = vf_resets(*pf, vf);

  hv::Migrator m(*rig.region->host, rig.options(2));
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.start_logging(f, &why)) << why;
  ASSERT_TRUE(m.pre_copy(f, &why)) << why;
  ASSERT_TRUE(m.stop_copy(f, &why)) << why;
  EXPECT_EQ(reported_state(*rig.region->host, rig.slot), region::State::stop_copy);
  if (migration_api_linked()) {
    EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(rig.port->id), RTE_PMD_IXGBEVF_LM_MIG_QUIESCED);
  }
  /* quiesced: the device sends nothing more (observed over a window after the ack) */
  const uint64_t out0 = pf->stats().frames_to_uplink;
  EXPECT_FALSE(wait_for([&] { return pf->stats().frames_to_uplink > out0 + 2; }, 50ms))
      << "frames still leave the VF after the STOP_COPY ack";
  ASSERT_TRUE(m.finish(hv::Outcome::source_abort, f, &why)) << why;
  EXPECT_EQ(f.missed_dirty_pages, 0u);

  EXPECT_TRUE(traffic_flows(*rig.traffic, 100)) << "forwarding did not resume after SOURCE_ABORT";
  EXPECT_EQ(rig.port->current_pf(), pf) << "the port moved to another PF on a cancel";
  EXPECT_EQ(rig.port->current_vf(), vf);
  EXPECT_EQ(vf_resets(*pf, vf), resets) << "the driver reset the VF on a cancelled migration";
  EXPECT_TRUE(link_up(rig.port->id));
  if (migration_api_linked()) {
    EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(rig.port->id), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
    EXPECT_GE(g_events[RTE_PMD_IXGBEVF_LM_MIG_EV_BEFORE_QUIESCE].load(), 1);
    EXPECT_GE(g_events[RTE_PMD_IXGBEVF_LM_MIG_EV_ABORT].load(), 1);
    for (int e = 0; e < RTE_PMD_IXGBEVF_LM_MIG_EV_MAX; ++e)
      rte_pmd_ixgbevf_lm_migration_callback(rig.port->id, rte_pmd_ixgbevf_lm_mig_event(e), nullptr, nullptr);
  }
}

TEST(MigQuiesce, PublicApiQuiesceResumeWithTrafficInFlight)
{
  ASSERT_TRUE(migration_api_linked()) << "rte_pmd_ixgbevf_lm_quiesce/_resume not in the PMD yet";
  RigConfig c;
  c.fps = 40000;
  Rig rig(c, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 100));
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  const size_t resets = vf_resets(*pf, vf);
  int timeouts = 0;
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("cycle " + std::to_string(i));
    /* -ETIMEDOUT: quiesced anyway, a bounded wait ran out (logged); counted below */
    const int q = rte_pmd_ixgbevf_lm_quiesce(rig.port->id, 500000);
    ASSERT_TRUE(q == 0 || q == -ETIMEDOUT) << q;
    timeouts += q == -ETIMEDOUT;
    EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(rig.port->id), RTE_PMD_IXGBEVF_LM_MIG_QUIESCED);
    EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(rig.port->id, 500000), -EBUSY);
    ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(rig.port->id), 0);
    EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(rig.port->id), RTE_PMD_IXGBEVF_LM_MIG_RUNNING);
    ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "forwarding did not resume after rte_pmd_ixgbevf_lm_resume";
  }
  EXPECT_EQ(vf_resets(*pf, vf), resets) << "quiesce/resume on the same VF reset it";
  RecordProperty("quiesce_timeouts", timeouts);
  if (timeouts)
    std::printf("note: %d of 5 quiesces ran out of a bounded wait (-ETIMEDOUT)\n", timeouts);
  EXPECT_EQ(rig.port->current_vf(), vf);
  EXPECT_LT(rig.refl->max_call_ns.load(), kBurstBoundNs) << "a burst call blocked during quiesce";
}

/* An application whose pool barely covers its rings (here less than the Rx ring plus what the Tx
 * ring holds between cleanups): a resume and a move to a new VF refill the Rx ring once the Tx
 * ring gave its sent mbufs back, so neither fails for want of mbufs the port itself holds. */
TEST(MigQuiesce, ATightPoolStillResumesAndMovesToANewVf)
{
  ASSERT_TRUE(migration_api_linked()) << "rte_pmd_ixgbevf_lm_quiesce/_resume not in the PMD yet";
  RigConfig c;
  c.fps = 40000;
  c.pool_size = 383;  /* 256-descriptor Rx and Tx rings */
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 100));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("cycle " + std::to_string(i));
    const int q = rte_pmd_ixgbevf_lm_quiesce(rig.port->id, 500000);
    ASSERT_TRUE(q == 0 || q == -ETIMEDOUT) << q;
    ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(rig.port->id), 0);
    ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "no traffic after the resume";
    hv::Migrator m(*rig.region->host, rig.options(1));
    hv::MigrationFigures f;
    std::string why;
    ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why << slot_error(*rig.region->host, rig.slot);
    ASSERT_TRUE(traffic_flows(*rig.traffic, 50)) << "no traffic after the move to a new VF";
  }
  const unsigned size = rig.pool.mp->size;
  rig.teardown();
  EXPECT_EQ(rte_mempool_avail_count(rig.pool.mp), size) << "mbufs not back in the pool after stop/close";
}

/* ---- 4. destination restore of each configuration item ---- */

std::string view_str(const model::VfView &v)
{
  std::ostringstream o;
  auto mac = [&](const model::MacAddr &m) {
    char b[20];
    std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return std::string(b);
  };
  auto macs = v.macvlans;
  std::sort(macs.begin(), macs.end());
  auto mcs = v.mc_hashes;
  std::sort(mcs.begin(), mcs.end());
  o << "cts=" << v.clear_to_send << " api=" << int(v.api) << " mac=" << mac(v.mac) << " macvlans=[";
  for (auto &m : macs)
    o << mac(m) << " ";
  o << "] mc=[";
  for (auto h : mcs)
    o << h << " ";
  o << "] vlans=[";
  for (auto x : v.vlans)
    o << x << " ";
  o << "] xcast=" << int(v.xcast) << " max_frame=" << v.max_frame << " rxq=" << v.rx_queues_enabled
    << " txq=" << v.tx_queues_enabled;
  return o.str();
}

struct RestoreCase {
  const char *name;
  bool promisc;
  bool allmulti;
};

class MigRestore : public ::testing::TestWithParam<RestoreCase> {};

TEST_P(MigRestore, DestinationPfViewEqualsSource)
{
  const RestoreCase rc = GetParam();
  TestRegion reg;
  ASSERT_TRUE(reg.ok());
  Pool pool;
  pool.mp = make_pool(unique("mp"), 8191);
  const std::string wire = unique("mwire");
  const model::MacAddr mac{0x02, 0, 0, 0, 0x02, 0x20};
  /* trusted: the host lets the VF add MAC filters and choose its receive mode (Linux's policy), and
   * the destination's host trusts it as the source's did */
  Port p(unique("mpf"), 0, mac, wire, reg.path, "trusted=1");
  ASSERT_TRUE(p.ok());
  rte_eth_dev_info di{};
  ASSERT_EQ(rte_eth_dev_info_get(p.id, &di), 0);
  const uint16_t nq = std::min<uint16_t>(2, std::min(di.max_rx_queues, di.max_tx_queues));
  rte_eth_conf conf{};
  conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_VLAN_FILTER & di.rx_offload_capa;
  const bool rss = nq > 1 && di.flow_type_rss_offloads != 0;
  if (rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & di.flow_type_rss_offloads;
  }
  ASSERT_EQ(rte_eth_dev_configure(p.id, nq, nq, &conf), 0);
  for (uint16_t q = 0; q < nq; ++q) {
    ASSERT_EQ(rte_eth_rx_queue_setup(p.id, q, 512, SOCKET_ID_ANY, nullptr, pool.mp), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(p.id, q, 512, SOCKET_ID_ANY, nullptr), 0);
  }
  ASSERT_EQ(rte_eth_dev_set_mtu(p.id, 3000), 0);
  ASSERT_EQ(rte_eth_dev_start(p.id), 0);
  p.started = true;
  rte_ether_addr extra[2] = {{{0x02, 0, 0, 0, 0x33, 0x01}}, {{0x02, 0, 0, 0, 0x33, 0x02}}};
  for (auto &a : extra)
    EXPECT_EQ(rte_eth_dev_mac_addr_add(p.id, &a, 0), 0);
  rte_ether_addr mc[3] = {{{0x01, 0x00, 0x5e, 0, 0, 1}}, {{0x01, 0x00, 0x5e, 0, 1, 2}}, {{0x33, 0x33, 0, 0, 0, 1}}};
  EXPECT_EQ(rte_eth_dev_set_mc_addr_list(p.id, mc, 3), 0);
  if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_FILTER) {
    EXPECT_EQ(rte_eth_dev_vlan_filter(p.id, 100, 1), 0);
    EXPECT_EQ(rte_eth_dev_vlan_filter(p.id, 2001, 1), 0);
  }
  if (rc.promisc) {
    EXPECT_EQ(rte_eth_promiscuous_enable(p.id), 0);
  }
  if (rc.allmulti) {
    EXPECT_EQ(rte_eth_allmulticast_enable(p.id), 0);
  }
  uint8_t key_before[64] = {}, key_after[64] = {};
  rte_eth_rss_conf rss_before{.rss_key = key_before, .rss_key_len = sizeof key_before};
  rte_eth_rss_conf rss_after{.rss_key = key_after, .rss_key_len = sizeof key_after};
  const bool rss_readable = rss && rte_eth_dev_rss_hash_conf_get(p.id, &rss_before) == 0;

  const int slot = reg.slot_of(p.name);
  ASSERT_GE(slot, 0) << "no slot claimed";
  Reflector refl(p.id, nq);
  auto traffic = make_traffic(wire, mac, 10000, 128);
  ASSERT_TRUE(traffic_flows(*traffic, 50));

  auto src_pf = p.current_pf();
  const model::VfView before = src_pf->vf_view(p.current_vf());
  hv::Migrator m(*reg.host, migrator_options(uint32_t(slot), 2));
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why;
  EXPECT_EQ(f.missed_dirty_pages, 0u);
  auto dst_pf = p.current_pf();
  ASSERT_TRUE(dst_pf);
  EXPECT_NE(dst_pf, src_pf) << "the port did not move to a destination PF";
  const model::VfView after = dst_pf->vf_view(p.current_vf());
  EXPECT_TRUE(after.attached);
  EXPECT_EQ(view_str(after), view_str(before)) << "destination PF's view of the VF differs from the source's";
  EXPECT_EQ(after.macvlans.size(), 2u);
  EXPECT_EQ(after.max_frame, 3000u + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN);
  if (rss_readable) {
    ASSERT_EQ(rte_eth_dev_rss_hash_conf_get(p.id, &rss_after), 0);
    EXPECT_EQ(rss_after.rss_hf, rss_before.rss_hf);
    EXPECT_EQ(0, std::memcmp(key_before, key_after, sizeof key_before)) << "RSS key not restored";
  }
  uint16_t mtu = 0;
  EXPECT_EQ(rte_eth_dev_get_mtu(p.id, &mtu), 0);
  EXPECT_EQ(mtu, 3000);
  EXPECT_TRUE(traffic_flows(*traffic, 50)) << "no traffic on the destination";
  traffic->stop();
  refl.halt();
}

INSTANTIATE_TEST_SUITE_P(Modes, MigRestore,
                         ::testing::Values(RestoreCase{"promisc", true, false}, RestoreCase{"allmulti", false, true},
                                           RestoreCase{"plain", false, false}),
                         [](const auto &i) { return std::string(i.param.name); });

/* ---- 5. destination PF silent, then answering ---- */

TEST(MigRecovery, SilentDestinationPfLinkDownThenRecoversAppNeverBlocked)
{
  Rig rig(RigConfig{});
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  region::Host &h = *rig.region->host;
  hv::SimPortInfo info;
  ASSERT_TRUE(hv::SimPlatform::instance().port_info(rig.port->name, &info)) << "port not on the sim platform";
  std::string why;
  ASSERT_TRUE(hv::SimPlatform::instance().prepare_destinations(&why)) << why;
  const std::string dst_name = hv::SimPlatform::destination_name(info.pf_name, info.switches + 1);
  auto dst = model::Registry::instance().find(dst_name);
  ASSERT_TRUE(dst) << "destination " << dst_name << " not prepared";
  model::Faults silent;
  silent.mailbox_silent = true;
  dst->set_faults(silent);

  hv::Migrator m(h, rig.options(1));
  hv::MigrationFigures f;
  ASSERT_TRUE(m.start_logging(f, &why)) << why;
  ASSERT_TRUE(m.pre_copy(f, &why)) << why;
  ASSERT_TRUE(m.stop_copy(f, &why)) << why;
  auto g = h.request_state(uint32_t(rig.slot), region::State::resuming);
  ASSERT_TRUE(g) << g.error().message;
  /* the rebuild cannot complete: bounded retries, then ERROR and link down */
  ASSERT_TRUE(wait_for([&] { return reported_state(h, rig.slot) == region::State::error; }, 10000ms))
      << "driver did not report ERROR with a silent destination PF (reported "
      << region::state_name(reported_state(h, rig.slot)) << ")";
  EXPECT_TRUE(wait_for([&] { return !link_up(rig.port->id); }, 2000ms))
      << "link reported up while the port reports ERROR and the PF does not answer";
  if (migration_api_linked()) {
    EXPECT_EQ(rte_pmd_ixgbevf_lm_migration_state(rig.port->id), RTE_PMD_IXGBEVF_LM_MIG_RECOVERING);
  }
  const uint64_t calls = rig.refl->calls.load();
  EXPECT_TRUE(wait_for([&] { return rig.refl->calls.load() > calls + 1000; }, 2000ms))
      << "the application's bursts stopped returning";

  dst->set_faults(model::Faults{});
  ASSERT_TRUE(wait_for([&] {
    auto st = h.slot_status(uint32_t(rig.slot));
    return st && st->report.state == region::State::resuming &&
           region::generation_reached(st->report.acked_generation, g.value());
  }, 10000ms)) << "no RESUMING ack after the destination PF answered (reported "
               << region::state_name(reported_state(h, rig.slot)) << ")";
  auto r = h.request_state(uint32_t(rig.slot), region::State::running, region::ResumeKind::destination);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(h.wait_ack(uint32_t(rig.slot), r.value(), 3000ms));
  EXPECT_TRUE(wait_for([&] { return link_up(rig.port->id); }, 3000ms));
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50)) << "no traffic after the destination PF answered";
  EXPECT_EQ(rig.port->current_pf(), dst);
  EXPECT_LT(rig.refl->max_call_ns.load(), kBurstBoundNs) << "a burst call blocked (ns)";
}

/* ---- 6. PF reset on the same host ---- */

TEST(MigRecovery, PfResetRecoverAutoRecoversByItself)
{
  Rig rig(RigConfig{}, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  const size_t resets = vf_resets(*pf, vf);
  pf->pf_reset();
  EXPECT_TRUE(wait_for([&] { return vf_resets(*pf, vf) > resets; }, 5000ms)) << "the driver never reset the VF";
  EXPECT_TRUE(traffic_flows(*rig.traffic, 100, 5000ms)) << "no traffic after the PF reset";
  EXPECT_TRUE(link_up(rig.port->id));
  if (migration_api_linked()) {
    rte_pmd_ixgbevf_lm_mig_stats st{};
    ASSERT_EQ(rte_pmd_ixgbevf_lm_migration_stats(rig.port->id, &st), 0);
    EXPECT_GE(st.recoveries, 1u);
  }
}

/* A port whose PF administers no MAC address says so once, at probe; a rebuild keeps the address
 * the port had and says nothing more. */
TEST(MigRecovery, APortWithoutAnAdministeredMacSaysSoOnceAndKeepsItsAddress)
{
  RigConfig c;
  c.no_mac = true;
  c.traffic = false;
  c.reflector = false;
  std::unique_ptr<Rig> rig;
  const std::string at_probe = log_of([&] { rig = std::make_unique<Rig>(c, /*with_region=*/false); });
  ASSERT_TRUE(rig->ok()) << rig_failure(*rig);
  EXPECT_NE(at_probe.find("the PF assigned no MAC address; using a random one"), std::string::npos) << at_probe;
  rte_ether_addr before{}, after{};
  ASSERT_EQ(rte_eth_macaddr_get(rig->port->id, &before), 0);
  auto pf = rig->port->current_pf();
  const unsigned vf = rig->port->current_vf();
  const std::string at_reset = log_of([&] {
    for (int i = 0; i < 2; ++i) {
      const size_t resets = vf_resets(*pf, vf);
      pf->set_vf_mac(vf, model::MacAddr{});  /* as a migration's destination PF: no address again */
      pf->pf_reset();
      EXPECT_TRUE(wait_for([&] { return vf_resets(*pf, vf) > resets && link_up(rig->port->id); }, 5000ms));
    }
  });
  EXPECT_EQ(at_reset.find("assigned no MAC address"), std::string::npos) << at_reset;
  ASSERT_EQ(rte_eth_macaddr_get(rig->port->id, &after), 0);
  EXPECT_TRUE(rte_is_same_ether_addr(&before, &after));
}

/* A rebuild on a PF that no longer trusts the VF: the promiscuous mode the port had is refused; the
 * port runs anyway, without it, and says so (it does not fail the rebuild over a receive mode). */
TEST(MigRecovery, ARebuildOnAPfThatNoLongerTrustsTheVfRunsWithoutPromiscuousMode)
{
  RigConfig c;
  c.extra_devargs = "trusted=1";
  Rig rig(c, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_EQ(rte_eth_promiscuous_enable(rig.port->id), 0);
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  EXPECT_EQ(pf->vf_view(vf).xcast, ixgbevf_lm::hw::XcastMode::promisc);
  pf->set_vf_trusted(vf, false);
  const size_t resets = vf_resets(*pf, vf);
  const std::string log = log_of([&] {
    pf->pf_reset();
    /* the replay's answer is in the PF's view before the rebuild ends; its log line right after */
    EXPECT_TRUE(wait_for([&] {
      return vf_resets(*pf, vf) > resets && pf->vf_view(vf).xcast == ixgbevf_lm::hw::XcastMode::multi &&
             rte_eth_promiscuous_get(rig.port->id) == 0 && link_up(rig.port->id);
    }, 5000ms));
  });
  EXPECT_NE(log.find("does not grant promiscuous reception here"), std::string::npos) << log;
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after the rebuild";
  EXPECT_EQ(rte_eth_promiscuous_get(rig.port->id), 0);
  EXPECT_EQ(pf->vf_view(vf).xcast, ixgbevf_lm::hw::XcastMode::multi);
}

/* A rebuild proposes the mailbox API the port ran with first: one API_NEGOTIATE, accepted, where
 * the first negotiation went down the list from 1.4 (the model's PF stops at 1.3). */
TEST(MigRecovery, ARebuildProposesTheApiThePortRanWithFirst)
{
  Rig rig(RigConfig{}, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  auto proposals = [&](size_t from) {
    std::vector<uint32_t> v;
    const auto log = pf->mailbox_log();
    for (size_t i = from; i < log.size(); ++i)
      if (log[i].vf == vf && log[i].request.size() >= 2 &&
          (log[i].request[0] & 0xffff) == ixgbevf_lm::hw::VF_API_NEGOTIATE)
        v.push_back(log[i].request[1]);
    return v;
  };
  ASSERT_EQ(proposals(0), (std::vector<uint32_t>{uint32_t(ixgbevf_lm::hw::MbxApi::v14),
                                                 uint32_t(ixgbevf_lm::hw::MbxApi::v13)}));
  const size_t mark = pf->mailbox_log().size();
  const size_t resets = vf_resets(*pf, vf);
  pf->pf_reset();
  ASSERT_TRUE(wait_for([&] { return vf_resets(*pf, vf) > resets && !proposals(mark).empty(); }, 5000ms));
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after the PF reset";
  EXPECT_EQ(proposals(mark), (std::vector<uint32_t>{uint32_t(ixgbevf_lm::hw::MbxApi::v13)}));
}

/* An application sleeping on its Rx interrupt must be woken on the rebuilt VF too: the reset that
 * the driver went through by itself forgot the queue-to-vector map and the armed vector. */
TEST(MigRecovery, RxInterruptArmedBeforeAPfResetStillWakesTheApplicationAfter)
{
  RigConfig c;
  c.rx_intr = true;
  c.reflector = false;
  c.traffic = false;
  Rig rig(c, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  const int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(rig.port->id, 0);
  ASSERT_GE(fd, 0) << "no Rx interrupt fd";
  ASSERT_EQ(rte_eth_dev_rx_intr_enable(rig.port->id, 0), 0);
  auto pf = rig.port->current_pf();
  const unsigned vf = rig.port->current_vf();
  const size_t resets = vf_resets(*pf, vf);
  pf->pf_reset();
  ASSERT_TRUE(wait_for([&] { return vf_resets(*pf, vf) > resets; }, 5000ms)) << "the driver never reset the VF";
  ASSERT_TRUE(wait_for([&] { return link_up(rig.port->id); }, 5000ms)) << "link stayed down after the rebuild";

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  rig.start_traffic();
  epoll_event out{};
  const int n = epoll_wait(ep, &out, 1, 3000);
  close(ep);
  EXPECT_EQ(n, 1) << "no Rx interrupt after the VF was rebuilt";
}

/* An application that asked for link state change events hears the link go down and come back. */
TEST(MigRecovery, LinkStateChangeEventsReachAnApplicationThatAskedForThem)
{
  RigConfig c;
  c.lsc = true;
  c.reflector = false;
  c.traffic = false;
  Rig rig(c, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  static std::atomic<int> events{0};
  events = 0;
  auto cb = [](uint16_t, rte_eth_event_type, void *, void *) -> int {
    events.fetch_add(1);
    return 0;
  };
  ASSERT_EQ(rte_eth_dev_callback_register(rig.port->id, RTE_ETH_EVENT_INTR_LSC, cb, nullptr), 0);
  auto pf = rig.port->current_pf();
  pf->set_link(false);
  EXPECT_TRUE(wait_for([&] { return events.load() >= 1 && !link_up(rig.port->id); }, 3000ms))
      << "no LSC event for the link going down";
  pf->set_link(true);
  EXPECT_TRUE(wait_for([&] { return events.load() >= 2 && link_up(rig.port->id); }, 3000ms))
      << "no LSC event for the link coming back";
  rte_eth_dev_callback_unregister(rig.port->id, RTE_ETH_EVENT_INTR_LSC, cb, nullptr);
}

TEST(MigRecovery, PfResetWithSilentPfLinkDownThenRecovers)
{
  Rig rig(RigConfig{}, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  auto pf = rig.port->current_pf();
  model::Faults silent;
  silent.mailbox_silent = true;
  pf->set_faults(silent);
  pf->pf_reset();
  EXPECT_TRUE(wait_for([&] { return !link_up(rig.port->id); }, 5000ms)) << "link stayed up with a silent PF";
  const uint64_t calls = rig.refl->calls.load();
  EXPECT_TRUE(wait_for([&] { return rig.refl->calls.load() > calls + 1000; }, 2000ms))
      << "the application's bursts stopped returning";
  pf->set_faults(model::Faults{});
  EXPECT_TRUE(wait_for([&] { return link_up(rig.port->id); }, 8000ms)) << "link did not come back";
  EXPECT_TRUE(traffic_flows(*rig.traffic, 100, 5000ms)) << "no traffic after the PF answered again";
  EXPECT_LT(rig.refl->max_call_ns.load(), kBurstBoundNs) << "a burst call blocked (ns)";
}

std::atomic<int> g_intr_reset{0};
int on_intr_reset(uint16_t, rte_eth_event_type ev, void *, void *)
{
  if (ev == RTE_ETH_EVENT_INTR_RESET)
    g_intr_reset.fetch_add(1);
  return 0;
}

TEST(MigRecovery, PfResetRecoverAppRaisesIntrResetAndDevResetWorks)
{
  RigConfig c;
  c.extra_devargs = "recover=app";
  Rig rig(c, /*with_region=*/false);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  g_intr_reset = 0;
  ASSERT_EQ(rte_eth_dev_callback_register(rig.port->id, RTE_ETH_EVENT_INTR_RESET, on_intr_reset, nullptr), 0);
  auto pf = rig.port->current_pf();
  pf->pf_reset();
  EXPECT_TRUE(wait_for([] { return g_intr_reset.load() > 0; }, 5000ms)) << "no RTE_ETH_EVENT_INTR_RESET";
  rig.refl.reset();  /* the application stops its lcores before the reset */
  ASSERT_EQ(rte_eth_dev_reset(rig.port->id), 0);
  rig.port->started = false;
  rte_eth_conf conf{};
  ASSERT_EQ(rig.port->start(rig.pool.mp, 1, 256, &conf), 0);
  rig.refl = std::make_unique<Reflector>(rig.port->id, 1);
  EXPECT_TRUE(traffic_flows(*rig.traffic, 100, 5000ms)) << "no traffic after rte_eth_dev_reset + reconfigure";
  rte_eth_dev_callback_unregister(rig.port->id, RTE_ETH_EVENT_INTR_RESET, on_intr_reset, nullptr);
}

/* ---- 6b. a quiesce that runs out of time ---- */

/* The Tx frames the device will never send (descriptor fetch stalled: TDH never reaches TDT). */
void fill_stalled_tx(Rig &rig, unsigned n)
{
  auto pf = rig.port->current_pf();
  model::Faults stall;
  stall.desc_fetch_stall = true;
  pf->set_faults(stall);
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf *m = rte_pktmbuf_alloc(rig.pool.mp);
    ASSERT_NE(m, nullptr);
    char *p = rte_pktmbuf_append(m, 64);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0, 64);
    std::memcpy(p, "\x02\x00\x00\x00\xee\x01", 6);
    ASSERT_EQ(rte_eth_tx_burst(rig.port->id, 0, &m, 1), 1);
  }
}

/* An lcore kept inside rx burst: the test thread enters the queue's gate as a burst does (no other
 * lcore polls the port in these tests: the gate's counter has one writer). */
ixgbevf_lm::pmd::QueueGate &rx_gate(uint16_t port)
{
  return static_cast<ixgbevf_lm::pmd::RxQueue *>(rte_eth_devices[port].data->rx_queues[0])->gate;
}

TEST(MigQuiesce, StopCopyThatRunsOutOfTimeIsStillAcknowledgedWithTheErrorInTheSlot)
{
  RigConfig c;
  c.traffic = false;
  c.reflector = false;
  c.extra_devargs = "quiesce_timeout_us=20000";
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  region::Host &h = *rig.region->host;
  const uint32_t slot = uint32_t(rig.slot);
  auto g = h.request_state(slot, region::State::pre_copy);
  ASSERT_TRUE(g);
  ASSERT_TRUE(h.wait_ack(slot, g.value(), 3000ms)) << slot_error(h, rig.slot);

  fill_stalled_tx(rig, 8);
  ASSERT_TRUE(rx_gate(rig.port->id).enter()) << "rx queue not running";
  g = h.request_state(slot, region::State::stop_copy);
  ASSERT_TRUE(g);
  const auto t0 = std::chrono::steady_clock::now();
  auto st = h.wait_ack(slot, g.value(), 3000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  rx_gate(rig.port->id).leave();
  ASSERT_TRUE(st) << "STOP_COPY not acknowledged" << slot_error(h, rig.slot);
  EXPECT_EQ(st->report.state, region::State::stop_copy);
  EXPECT_EQ(st->last_error, -ETIMEDOUT);
  EXPECT_NE(st->error_msg.find("TDH"), std::string::npos) << st->error_msg;
  EXPECT_TRUE(st->report.log_incomplete()) << "a timed-out quiesce acknowledged as clean";
  EXPECT_GE(st->counters.log_errors, 1u);
  /* 20 ms of budget in all; a loaded 2-CPU machine may add tens of ms of scheduling. */
  EXPECT_LT(took, 1000ms) << "the quiesce did not keep to quiesce_timeout_us";
  if (migration_api_linked()) {
    rte_pmd_ixgbevf_lm_mig_stats ms{};
    ASSERT_EQ(rte_pmd_ixgbevf_lm_migration_stats(rig.port->id, &ms), 0);
    EXPECT_GE(ms.timeouts, 1u);
  }

  /* Cancelled: the port resumes on the same VF and carries traffic again. */
  rig.port->current_pf()->set_faults(model::Faults{});
  g = h.abort_to_running(slot);
  ASSERT_TRUE(g);
  st = h.wait_ack(slot, g.value(), 3000ms);
  ASSERT_TRUE(st) << slot_error(h, rig.slot);
  EXPECT_EQ(st->report.state, region::State::running) << slot_error(h, rig.slot);
  rig.refl = std::make_unique<Reflector>(rig.port->id, 1);
  rig.start_traffic();
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after the cancelled quiesce";
}

/* The host's side of failing closed: a STOP_COPY ack that says the log is incomplete makes the
 * engine copy everything (nothing missed although the bitmap may be), or cancel and say why. */
TEST(MigQuiesce, AnIncompleteLogMakesTheHostCopyEverythingOrCancel)
{
  for (const hv::OnLogError policy : {hv::OnLogError::copy_all, hv::OnLogError::cancel}) {
    SCOPED_TRACE(policy == hv::OnLogError::copy_all ? "copy_all" : "cancel");
    RigConfig c;
    c.traffic = false;
    c.reflector = false;
    c.extra_devargs = "quiesce_timeout_us=20000";
    Rig rig(c);
    ASSERT_TRUE(rig.ok()) << rig_failure(rig);
    hv::MigratorOptions mo = rig.options(1);
    mo.on_log_error = policy;
    hv::Migrator m(*rig.region->host, mo);
    hv::MigrationFigures f;
    std::string why;
    ASSERT_TRUE(m.start_logging(f, &why)) << why;
    ASSERT_TRUE(m.pre_copy(f, &why)) << why;
    fill_stalled_tx(rig, 8);
    const bool ok = m.stop_copy(f, &why);
    rig.port->current_pf()->set_faults(model::Faults{});
    if (policy == hv::OnLogError::copy_all) {
      ASSERT_TRUE(ok) << why;
      EXPECT_TRUE(f.copied_all);
      EXPECT_GE(f.log_errors, 1u);
      ASSERT_EQ(f.slots.size(), 1u);
      EXPECT_TRUE(f.slots[0].log_incomplete);
      EXPECT_NE(f.slots[0].log_error_msg.find("TDH"), std::string::npos) << f.slots[0].log_error_msg;
      EXPECT_EQ(f.missed_dirty_pages, 0u);
      EXPECT_TRUE(m.finish(hv::Outcome::source_abort, f, &why)) << why;
    } else {
      EXPECT_FALSE(ok);
      EXPECT_NE(why.find("incomplete"), std::string::npos) << why;
      EXPECT_NE(why.find("cancelled"), std::string::npos) << why;
      /* The engine asked for SOURCE_ABORT: the port runs on its VF again. */
      EXPECT_TRUE(wait_for([&] {
        auto st = rig.region->host->slot_status(uint32_t(rig.slot));
        return st && st->report.state == region::State::running &&
               st->report.acked_generation == st->request.generation;
      })) << slot_error(*rig.region->host, rig.slot);
    }
  }
}

TEST(MigQuiesce, ApiQuiesceBudgetsEveryStepFromTheCallersTimeout)
{
  if (!migration_api_linked())
    GTEST_SKIP() << "migration API not linked";
  RigConfig c;
  c.traffic = false;
  c.reflector = false;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  fill_stalled_tx(rig, 8);
  /* 200 ms: the Tx drain share is 20 ms (a tenth), four times the region default's 5 ms. */
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(rig.port->id, 200000), -ETIMEDOUT);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 20ms) << "the Tx drain did not wait its share of the caller's timeout";
  EXPECT_LT(took, 1000ms);
  rig.port->current_pf()->set_faults(model::Faults{});
  ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(rig.port->id), 0);
  /* A short timeout bounds the whole quiesce, whatever times out. */
  fill_stalled_tx(rig, 8);
  ASSERT_TRUE(rx_gate(rig.port->id).enter());
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(rte_pmd_ixgbevf_lm_quiesce(rig.port->id, 2000), -ETIMEDOUT);
  took = std::chrono::steady_clock::now() - t0;
  rx_gate(rig.port->id).leave();
  EXPECT_LT(took, 500ms) << "a 2 ms quiesce took far longer";
  rig.port->current_pf()->set_faults(model::Faults{});
  ASSERT_EQ(rte_pmd_ixgbevf_lm_resume(rig.port->id), 0);
  rig.refl = std::make_unique<Reflector>(rig.port->id, 1);
  rig.start_traffic();
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after API quiesce/resume";
}

/* ---- 7. 50 migrations under traffic ---- */

TEST(MigRepeat, FiftyMigrationsUnderTrafficNoMissedPageEveryMbufBack)
{
  RigConfig c;
  c.fps = 20000;
  c.pool_size = 4095;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  rte_mempool *mp = rig.pool.mp;
  auto first_pf = rig.port->current_pf();
  uint64_t written = 0;
  double worst_down = 0;
  for (int i = 1; i <= 50; ++i) {
    SCOPED_TRACE("migration " + std::to_string(i));
    hv::Migrator m(*rig.region->host, rig.options(1));
    hv::MigrationFigures f;
    std::string why;
    ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why << slot_error(*rig.region->host, rig.slot);
    ASSERT_TRUE(f.verified);
    ASSERT_EQ(f.missed_dirty_pages, 0u);
    written += f.dma_pages_written;
    worst_down = std::max(worst_down, f.downtime_ms);
    ASSERT_TRUE(traffic_flows(*rig.traffic, 20)) << "no traffic after the migration";
  }
  EXPECT_NE(rig.port->current_pf(), first_pf);
  rte_eth_stats es{};
  ASSERT_EQ(rte_eth_stats_get(rig.port->id, &es), 0);
  EXPECT_LT(es.ipackets, 1ULL << 32) << "Rx packet count jumped: a VF switch taken for a 32-bit counter wrap";
  EXPECT_LT(es.opackets, 1ULL << 32) << "Tx packet count jumped: a VF switch taken for a 32-bit counter wrap";
  EXPECT_GE(es.ipackets, rig.refl->rx.load()) << "the port counted fewer frames than the application received";
  EXPECT_GT(written, 0u);
  std::printf("50 migrations: %" PRIu64 " DMA pages written, worst driver downtime %.3f ms\n", written, worst_down);
  if (migration_api_linked()) {
    rte_pmd_ixgbevf_lm_mig_stats st{};
    ASSERT_EQ(rte_pmd_ixgbevf_lm_migration_stats(rig.port->id, &st), 0);
    EXPECT_EQ(st.migrations_done, 50u);
  }
  const unsigned size = mp->size;
  rig.teardown();
  EXPECT_EQ(rte_mempool_avail_count(mp), size) << "mbufs not back in the pool after stop/close";
}

}  // namespace
}  // namespace mig_test
