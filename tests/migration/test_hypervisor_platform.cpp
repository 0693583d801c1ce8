/* SPDX-License-Identifier: BSD-3-Clause
 * SimPlatform: a port moves to a fresh VF of a destination PF on the same uplink, with its
 * administered MAC, and the source PF it leaves empty disappears.
 */
#include <gtest/gtest.h>

#include <ixgbevf_lm/hw/mailbox.h>
#include <ixgbevf_lm/hypervisor/sim_platform.h>

using namespace ixgbevf_lm;
using hv::SimPlatform;

namespace {

model::PfConfig config(const std::string &name)
{
  model::PfConfig c;
  c.name = name;
  c.num_vfs = 4;
  c.threaded = false;
  return c;
}

const model::MacAddr kMac0{0x02, 0, 0, 0, 0, 0x10};
const model::MacAddr kMac1{0x02, 0, 0, 0, 0, 0x11};

struct Vm {
  SimPlatform platform;  /* a private platform per test: no shared state between tests */
  std::shared_ptr<model::DmaSpace> mem = std::make_shared<model::DmaSpace>();
  std::shared_ptr<model::VfPort> add(const std::string &port, const std::string &pf_name, unsigned vf,
                                     const model::MacAddr &mac, const std::string &uplink)
  {
    std::string why;
    auto pf = platform.source_pf(config(pf_name), uplink, &why);
    EXPECT_NE(pf, nullptr) << why;
    pf->set_vf_mac(vf, mac);
    auto p = std::make_shared<model::VfPort>(mem);
    EXPECT_TRUE(p->attach(pf, vf, &why)) << why;
    EXPECT_TRUE(platform.register_port(port, p, pf_name, uplink, mac, &why)) << why;
    return p;
  }
};

}  // namespace

TEST(HypervisorPlatform, SwitchMovesPortToFreshVfOfDestinationWithAdminMac)
{
  Vm vm;
  auto port = vm.add("sim_a", "hvp_src1", 2, kMac0, "wire:hvp1");
  std::string why;
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  ASSERT_TRUE(port->attached());
  auto dst = port->pf();
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(dst->config().name, "hvp_src1@1");
  EXPECT_EQ(dst->config().num_vfs, 4u);
  EXPECT_EQ(port->vf_index(), 2u);
  const model::VfView v = dst->vf_view(2);
  EXPECT_TRUE(v.attached);
  EXPECT_EQ(v.mac, kMac0);
  EXPECT_FALSE(v.clear_to_send);  /* a fresh VF: no reset handshake yet */
  EXPECT_EQ(model::Registry::instance().find("hvp_src1@1"), dst);
  vm.platform.unregister_port("sim_a");
  port->detach();
}

TEST(HypervisorPlatform, SourcePfLeftWithoutPortsIsRemoved)
{
  Vm vm;
  auto port = vm.add("sim_a", "hvp_src2", 0, kMac0, "loop");
  std::string why;
  ASSERT_NE(model::Registry::instance().find("hvp_src2"), nullptr);
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  EXPECT_EQ(model::Registry::instance().find("hvp_src2"), nullptr);
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  EXPECT_EQ(port->pf()->config().name, "hvp_src2@2");
  EXPECT_EQ(model::Registry::instance().find("hvp_src2@1"), nullptr);
  hv::SimPortInfo info;
  ASSERT_TRUE(vm.platform.port_info("sim_a", &info));
  EXPECT_EQ(info.switches, 2u);
  EXPECT_EQ(info.pf_name, "hvp_src2@2");
  vm.platform.unregister_port("sim_a");
  port->detach();
}

TEST(HypervisorPlatform, PortsOfOneVmLandOnTheSameDestination)
{
  Vm vm;
  auto a = vm.add("sim_a", "hvp_src3", 0, kMac0, "wire:hvp3");
  auto b = vm.add("sim_b", "hvp_src3", 1, kMac1, "wire:hvp3");
  std::string why;
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  /* b still on the source: the source stays. */
  EXPECT_NE(model::Registry::instance().find("hvp_src3"), nullptr);
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_b", 0, &why)) << why;
  EXPECT_EQ(a->pf(), b->pf());
  EXPECT_EQ(a->pf()->vf_view(1).mac, kMac1);
  EXPECT_EQ(model::Registry::instance().find("hvp_src3"), nullptr);
  vm.platform.unregister_port("sim_a");
  vm.platform.unregister_port("sim_b");
  a->detach();
  b->detach();
}

TEST(HypervisorPlatform, PreparedDestinationIsTheOneTheSwitchUses)
{
  Vm vm;
  auto port = vm.add("sim_a", "hvp_src4", 0, kMac0, "wire:hvp4");
  std::string why;
  ASSERT_TRUE(vm.platform.prepare_destinations(&why)) << why;
  auto prepared = model::Registry::instance().find("hvp_src4@1");
  ASSERT_NE(prepared, nullptr);
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  EXPECT_EQ(port->pf(), prepared);
  vm.platform.unregister_port("sim_a");
  port->detach();
}

TEST(HypervisorPlatform, ExplicitSeqNamesTheDestination)
{
  Vm vm;
  auto port = vm.add("sim_a", "hvp_src5", 0, kMac0, "none");
  std::string why;
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 7, &why)) << why;
  EXPECT_EQ(port->pf()->config().name, "hvp_src5@7");
  vm.platform.unregister_port("sim_a");
  port->detach();
}

TEST(HypervisorPlatform, RefusesUnknownDuplicateAndDetachedPorts)
{
  Vm vm;
  std::string why;
  EXPECT_FALSE(vm.platform.switch_to_destination("nope", 0, &why));
  EXPECT_NE(why.find("'nope'"), std::string::npos) << why;
  auto port = vm.add("sim_a", "hvp_src6", 0, kMac0, "none");
  auto pf = port->pf();
  EXPECT_FALSE(vm.platform.register_port("sim_a", port, "hvp_src6", "none", kMac0, &why));
  EXPECT_NE(why.find("already registered"), std::string::npos) << why;
  auto loose = std::make_shared<model::VfPort>(vm.mem);
  EXPECT_FALSE(vm.platform.register_port("sim_b", loose, "hvp_src6", "none", kMac0, &why));
  EXPECT_FALSE(vm.platform.register_port("sim_c", port, "hvp_src6", "tap:", kMac0, &why));
  EXPECT_NE(why.find("'tap:'"), std::string::npos) << why;
  vm.platform.unregister_port("sim_a");
  port->detach();
  model::Registry::instance().remove("hvp_src6");
}

TEST(HypervisorPlatform, DestinationNameKeepsTheBase)
{
  EXPECT_EQ(SimPlatform::destination_name("host0", 1), "host0@1");
  EXPECT_EQ(SimPlatform::destination_name("host0@4", 5), "host0@5");
}
