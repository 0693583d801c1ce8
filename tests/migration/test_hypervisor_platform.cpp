/* SPDX-License-Identifier: BSD-3-Clause
 * SimPlatform: a port moves to a fresh VF of a destination PF on the same uplink, with its
 * administered MAC, and the source PF it leaves empty disappears.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ixgbevf_lm/hw/mailbox.h>
#include <ixgbevf_lm/hypervisor/sim_platform.h>
#include <ixgbevf_lm/model/tap.h>
#include "../common/host_env.h"

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


std::string tap_name(const char *tag)
{
  return "ixhv" + std::to_string(::getpid() % 1000000) + tag;
}

/* The kernel's hardware address of an interface (a re-created TAP would get a new random one). */
std::string hw_address(const std::string &ifname)
{
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return {};
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, ifname.data(), std::min(ifname.size(), size_t(IFNAMSIZ - 1)));
  std::string out;
  if (::ioctl(s, SIOCGIFHWADDR, &ifr) == 0)
    out.assign(ifr.ifr_hwaddr.sa_data, ifr.ifr_hwaddr.sa_data + 6);
  ::close(s);
  return out;
}

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

TEST(HypervisorPlatform, TapSwitchHandsTheSameInterfaceOverAndRemovesItAtClose)
{
  SKIP_WITHOUT_TAP();
  const std::string tap = tap_name("h");
  Vm vm;
  auto port = vm.add("sim_a", "hvp_tap1", 0, kMac0, "tap:" + tap);
  const unsigned idx = ::if_nametoindex(tap.c_str());
  ASSERT_NE(idx, 0u) << "the source PF created " << tap;
  const std::string mac = hw_address(tap);
  ASSERT_EQ(mac.size(), 6u);
  std::string why;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << "switch " << i << ": " << why;
    EXPECT_EQ(port->pf()->config().name, "hvp_tap1@" + std::to_string(i));
    EXPECT_EQ(::if_nametoindex(tap.c_str()), idx) << "switch " << i << ": a pause, not a new link";
    EXPECT_EQ(hw_address(tap), mac) << "switch " << i;
  }
  /* vdev close: detach, then unregister; the last PF holding the TAP this process created goes */
  port->detach();
  vm.platform.unregister_port("sim_a");
  EXPECT_EQ(model::Registry::instance().find("hvp_tap1@3"), nullptr);
  EXPECT_EQ(::if_nametoindex(tap.c_str()), 0u) << tap << " left behind after the port closed";
}

TEST(HypervisorPlatform, TapNeverSwitchedIsRemovedWithItsSourcePf)
{
  SKIP_WITHOUT_TAP();
  const std::string tap = tap_name("s");
  Vm vm;
  auto port = vm.add("sim_a", "hvp_tap2", 0, kMac0, "tap:" + tap);
  ASSERT_NE(::if_nametoindex(tap.c_str()), 0u);
  port->detach();
  vm.platform.unregister_port("sim_a");
  model::Registry::instance().remove("hvp_tap2");  /* what process exit does to the registry */
  port.reset();
  EXPECT_EQ(::if_nametoindex(tap.c_str()), 0u) << tap << " left behind after its PF went away";
}

TEST(HypervisorPlatform, TapSomeoneElseCreatedIsHandedOverAndLeftInPlace)
{
  SKIP_WITHOUT_TAP();
  const std::string tap = tap_name("o");
  std::string why;
  {
    model::TapOptions opts;
    opts.persist = true;  /* like `ip tuntap add`: persistent, not ours to remove */
    ASSERT_NE(model::make_tap_uplink(tap, opts, &why), nullptr) << why;
  }
  const unsigned idx = ::if_nametoindex(tap.c_str());
  ASSERT_NE(idx, 0u);
  Vm vm;
  auto port = vm.add("sim_a", "hvp_tap3", 0, kMac0, "tap:" + tap);
  ASSERT_TRUE(vm.platform.switch_to_destination("sim_a", 0, &why)) << why;
  EXPECT_EQ(::if_nametoindex(tap.c_str()), idx);
  port->detach();
  vm.platform.unregister_port("sim_a");
  EXPECT_EQ(::if_nametoindex(tap.c_str()), idx) << "an interface this process did not create stays";
  EXPECT_TRUE(model::remove_tap_interface(tap, &why)) << why;
  EXPECT_EQ(::if_nametoindex(tap.c_str()), 0u);
}
