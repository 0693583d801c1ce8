/* SPDX-License-Identifier: BSD-3-Clause
 * Control operations against a concurrent rebuild: the calls testpmd makes (promiscuous and
 * all-multicast, MTU, MAC add/remove, multicast list, queue stop/start) in a loop on the
 * application's thread while the hypervisor migrates the port and the PF resets it. Each call
 * either takes effect or fails (-EBUSY while a rebuild holds the port, a mailbox error while the PF
 * is away); no call may crash or race, and the destination of a last migration must show exactly
 * the effect of the calls that succeeded (what the rebuild replays).
 */
#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <rte_ether.h>

#include "mig_rig.h"

namespace mig_test {
namespace {

struct Expected {
  bool promisc = false;
  bool allmulti = false;
  uint16_t mtu = RTE_ETHER_MTU;
  bool extra_mac = false;
  unsigned mc = 0;
};

}  // namespace

TEST(MigControl, ControlCallsDuringMigrationsAndPfResetsEndInTheConfigurationTheySet)
{
  RigConfig c;
  c.fps = 5000;
  Rig rig(c);
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  const uint16_t port = rig.port->id;

  std::atomic<bool> done{false};
  std::atomic<unsigned> calls_made{0};
  std::string hv_error;
  unsigned migrations = 0, resets = 0;
  std::thread hypervisor([&] {
    for (unsigned i = 0; i < 5 && hv_error.empty(); ++i) {
      /* Each step starts once the application has made a dozen more calls: the calls interleave
       * with every migration and reset however fast those are. */
      (void)wait_for([&] { return calls_made.load() >= 12 * (i + 1); }, 5000ms);
      if (i % 2 == 1) {
        auto pf = rig.port->current_pf();
        const unsigned vf = rig.port->current_vf();
        const size_t before = vf_resets(*pf, vf);
        pf->pf_reset();
        if (!wait_for([&] { return vf_resets(*pf, vf) > before; }, 5000ms))
          hv_error = "the driver did not reset the VF after a PF reset";
        ++resets;
        continue;
      }
      hv::Migrator m(*rig.region->host, rig.options(2));
      hv::MigrationFigures f;
      std::string why;
      if (!m.migrate(hv::Outcome::destination, &f, &why))
        hv_error = "migration " + std::to_string(migrations + 1) + ": " + why;
      else if (f.missed_dirty_pages != 0)
        hv_error = "migration " + std::to_string(migrations + 1) + " missed pages";
      ++migrations;
    }
    done.store(true);
  });

  rte_ether_addr extra{{0x02, 0, 0, 0, 0x44, 0x01}};
  rte_ether_addr mc[3] = {{{0x01, 0x00, 0x5e, 0, 0, 1}}, {{0x01, 0x00, 0x5e, 0, 0, 2}}, {{0x01, 0x00, 0x5e, 0, 0, 3}}};
  Expected exp;
  unsigned calls = 0, refused = 0;
  const auto t_end = Clock::now() + 60s;
  for (unsigned i = 0; (!done.load() || i % 7 != 0) && Clock::now() < t_end; ++i) {
    const bool on = (i / 7) % 2 == 0;
    int rc = 0;
    switch (i % 7) {
    case 0:
      rc = on ? rte_eth_promiscuous_enable(port) : rte_eth_promiscuous_disable(port);
      if (rc == 0)
        exp.promisc = on;
      break;
    case 1:
      rc = on ? rte_eth_allmulticast_enable(port) : rte_eth_allmulticast_disable(port);
      if (rc == 0)
        exp.allmulti = on;
      break;
    case 2: {
      const uint16_t mtu = on ? 1400 : RTE_ETHER_MTU;
      rc = rte_eth_dev_set_mtu(port, mtu);
      if (rc == 0)
        exp.mtu = mtu;
      break;
    }
    case 3:
      rc = on ? rte_eth_dev_mac_addr_add(port, &extra, 0) : rte_eth_dev_mac_addr_remove(port, &extra);
      if (rc == 0)
        exp.extra_mac = on;
      break;
    case 4: {
      const unsigned n = (i / 7) % 4;
      rc = rte_eth_dev_set_mc_addr_list(port, n ? mc : nullptr, n);
      if (rc == 0)
        exp.mc = n;
      break;
    }
    case 5:
      rc = rte_eth_dev_rx_queue_stop(port, 0);
      if (rc == 0)
        rc = rte_eth_dev_rx_queue_start(port, 0);
      break;
    case 6:
      rc = rte_eth_dev_tx_queue_stop(port, 0);
      if (rc == 0)
        rc = rte_eth_dev_tx_queue_start(port, 0);
      break;
    }
    ++calls;
    calls_made.store(calls);
    refused += rc != 0;
  }
  hypervisor.join();
  ASSERT_TRUE(hv_error.empty()) << hv_error;
  EXPECT_EQ(migrations, 3u);
  EXPECT_EQ(resets, 2u);
  EXPECT_GT(calls, 50u);
  std::printf("%u control calls, %u refused, during %u migrations and %u PF resets\n", calls, refused, migrations,
              resets);
  /* A queue left stopped by a refused start is started again: the application would retry. */
  (void)rte_eth_dev_rx_queue_start(port, 0);
  (void)rte_eth_dev_tx_queue_start(port, 0);

  /* The ethdev layer's view is what the calls that succeeded set. */
  EXPECT_EQ(rte_eth_promiscuous_get(port), exp.promisc ? 1 : 0);
  EXPECT_EQ(rte_eth_allmulticast_get(port), exp.allmulti ? 1 : 0);
  uint16_t mtu = 0;
  EXPECT_EQ(rte_eth_dev_get_mtu(port, &mtu), 0);
  EXPECT_EQ(mtu, exp.mtu);

  /* And a last migration replays exactly that on a fresh VF. */
  hv::Migrator m(*rig.region->host, rig.options(1));
  hv::MigrationFigures f;
  std::string why;
  ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why;
  const model::VfView v = rig.port->current_pf()->vf_view(rig.port->current_vf());
  const ixgbevf_lm::hw::XcastMode want = exp.promisc ? ixgbevf_lm::hw::XcastMode::promisc
                             : exp.allmulti ? ixgbevf_lm::hw::XcastMode::allmulti
                                            : ixgbevf_lm::hw::XcastMode::multi;
  EXPECT_EQ(int(v.xcast), int(want));
  EXPECT_EQ(v.max_frame, uint32_t(exp.mtu) + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN);
  EXPECT_EQ(v.macvlans.size(), exp.extra_mac ? 1u : 0u);
  EXPECT_EQ(v.mc_hashes.size(), exp.mc);
  EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after the stress";
}

/* The bad path from outside: a migration cancelled on purpose during pre-copy, after the stop-copy
 * acknowledgement or after STOP held a while leaves the port on its source VF, forwarding. */
TEST(MigControl, AMigrationCancelledAtEachPointResumesOnTheSourceVf)
{
  Rig rig(RigConfig{});
  ASSERT_TRUE(rig.ok()) << rig_failure(rig);
  ASSERT_TRUE(traffic_flows(*rig.traffic, 50));
  const auto src = rig.port->current_pf();
  for (const hv::CancelAt at : {hv::CancelAt::pre_copy, hv::CancelAt::stop_copy_ack, hv::CancelAt::stop}) {
    hv::MigratorOptions mo = rig.options(3);
    mo.cancel_at = at;
    mo.cancel_after_round = 2;
    mo.stop_hold = 20ms;
    hv::Migrator m(*rig.region->host, mo);
    hv::MigrationFigures f;
    std::string why;
    ASSERT_TRUE(m.migrate(hv::Outcome::destination, &f, &why)) << why;
    SCOPED_TRACE(f.cancelled_at);
    EXPECT_FALSE(f.cancelled_at.empty());
    EXPECT_EQ(f.outcome, hv::Outcome::source_abort);
    if (at == hv::CancelAt::pre_copy)
      EXPECT_EQ(f.rounds, 2u);
    EXPECT_EQ(rig.port->current_pf(), src) << "a cancelled migration moved the port";
    auto st = rig.region->host->slot_status(uint32_t(rig.slot));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->report.state, region::State::running);
    EXPECT_FALSE(st->report.logging_active());
    EXPECT_TRUE(traffic_flows(*rig.traffic, 50, 5000ms)) << "no traffic after the cancel";
  }
}

}  // namespace mig_test
