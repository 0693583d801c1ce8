/* SPDX-License-Identifier: BSD-3-Clause
 * TAP uplinks with options (the plain make_tap_uplink() of pf_model.h is the default case).
 *
 * Handing a TAP interface over across a live migration: the source PF model and the destination
 * PF model are two processes (or two objects) that each own the uplink for a while. With
 * persist = true the interface is marked persistent (TUNSETPERSIST) when it is opened, so it
 * survives the source closing its descriptor: the kernel sees the carrier go down for the
 * stop-copy pause and come back when the destination opens the same name, keeping the
 * interface's index, addresses, routes and bridge membership. Only one descriptor can hold a
 * (single-queue) TAP at a time: the source must release its uplink (PfModel::set_uplink(nullptr) or
 * destroying the model) before the destination opens it, otherwise the open fails with EBUSY.
 *
 * A persistent interface outlives the process; remove_tap_interface() clears persistence and
 * deletes it (what `ip tuntap del` does).
 */
#pragma once

#include <memory>
#include <string>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::model {

struct TapOptions {
  bool persist = false;   /* TUNSETPERSIST: the interface stays when the uplink is closed */
  bool bring_up = true;   /* set IFF_UP (SIOCSIFFLAGS) after opening */
};

/* Opens (creating when missing) the TAP interface ifname. nullptr and the reason in *why when it
 * cannot: not root (CAP_NET_ADMIN), no /dev/net/tun, name too long, interface busy. */
std::unique_ptr<Uplink> make_tap_uplink(const std::string &ifname, const TapOptions &opts, std::string *why);

/* Clears persistence so the TAP disappears once no descriptor holds it (a missing one is created and
 * removed at once). False with *why when it cannot be opened, e.g. while a model still holds it. */
bool remove_tap_interface(const std::string &ifname, std::string *why);

}  // namespace ixgbevf_lm::model
