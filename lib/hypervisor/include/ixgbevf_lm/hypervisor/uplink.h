/* SPDX-License-Identifier: BSD-3-Clause
 * Uplink specs: what a PF model's uplink port is connected to, as one string shared by the sim
 * vdev's `uplink=` devarg, the tools and the sim platform.
 *
 *   none            no uplink (frames to the outside are dropped)
 *   loop            frames sent out come back in
 *   tap:<ifname>    a Linux TAP interface (created if missing), opened persistent: a PF switch
 *                   hands it from the source PF to the destination (model::TapHandover) and the
 *                   kernel sees a pause (same ifindex, addresses); an interface this process
 *                   created is removed when the last PF model holding it lets go (port close,
 *                   process exit); one created by someone else (`ip tuntap add`) is left alone
 *   wire:<name>     a model::Wire shared by everything in the process that names it
 */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::hv {

enum class UplinkKind { none, loop, tap, wire };

struct UplinkSpec {
  UplinkKind kind = UplinkKind::none;
  std::string name;  /* interface (tap) or wire name; empty otherwise */

  std::string to_string() const;
  bool operator==(const UplinkSpec &) const = default;
};

/* Linux IFNAMSIZ - 1. */
inline constexpr size_t kMaxIfName = 15;
inline constexpr size_t kMaxWireName = 64;

/* Parse a spec. std::nullopt with *why naming the refused value and the accepted forms. */
std::optional<UplinkSpec> parse_uplink_spec(std::string_view spec, std::string *why);

/* The process-wide wire named `name`, created on first use. Everything that names the same wire
 * (PF uplinks, traffic endpoints) is on one Ethernet segment. */
std::shared_ptr<model::Wire> wire_by_name(const std::string &name);

/* Build the uplink a spec describes. Returns nullptr for `none` (with *why cleared) and on error
 * (with *why set), so: `auto u = make_uplink(spec, &why); if (!u && !why.empty()) fail(why);` */
std::unique_ptr<model::Uplink> make_uplink(const UplinkSpec &spec, std::string *why);
std::unique_ptr<model::Uplink> make_uplink(std::string_view spec, std::string *why);

}  // namespace ixgbevf_lm::hv
