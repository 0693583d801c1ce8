/* SPDX-License-Identifier: BSD-3-Clause
 * Uplink specs: the forms accepted, the ones refused and the message naming what was refused.
 */
#include <gtest/gtest.h>

#include <ixgbevf_lm/hypervisor/uplink.h>

using namespace ixgbevf_lm::hv;

TEST(HypervisorUplink, ParsesEveryKind)
{
  std::string why;
  EXPECT_EQ(parse_uplink_spec("none", &why), (UplinkSpec{UplinkKind::none, ""}));
  EXPECT_EQ(parse_uplink_spec("loop", &why), (UplinkSpec{UplinkKind::loop, ""}));
  EXPECT_EQ(parse_uplink_spec("tap:ixlm0", &why), (UplinkSpec{UplinkKind::tap, "ixlm0"}));
  EXPECT_EQ(parse_uplink_spec("wire:demo", &why), (UplinkSpec{UplinkKind::wire, "demo"}));
  EXPECT_EQ(parse_uplink_spec("wire:demo", &why)->to_string(), "wire:demo");
}

TEST(HypervisorUplink, RejectsBadSpecsNamingTheValue)
{
  for (const char *bad : {"", "lo", "wire", "wire:", "tap:", "eth:x", "tap:name-longer-than-15", "wire:a b",
                          "tap:a/b", "NONE"}) {
    std::string why;
    EXPECT_FALSE(parse_uplink_spec(bad, &why).has_value()) << bad;
    EXPECT_NE(why.find(std::string("'") + bad + "'"), std::string::npos) << why;
  }
}

TEST(HypervisorUplink, FactoryReturnsNothingForNoneAndAnErrorForABadSpec)
{
  std::string why = "stale";
  EXPECT_EQ(make_uplink("none", &why), nullptr);
  EXPECT_TRUE(why.empty());
  EXPECT_EQ(make_uplink("bogus", &why), nullptr);
  EXPECT_FALSE(why.empty());
  auto loop = make_uplink("loop", &why);
  ASSERT_NE(loop, nullptr);
  auto w = make_uplink("wire:uplink_test", &why);
  ASSERT_NE(w, nullptr);
}

TEST(HypervisorUplink, WiresAreSharedByName)
{
  EXPECT_EQ(wire_by_name("shared_a"), wire_by_name("shared_a"));
  EXPECT_NE(wire_by_name("shared_a"), wire_by_name("shared_b"));
}
