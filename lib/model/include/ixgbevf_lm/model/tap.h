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
 * deletes it (what `ip tuntap del` does). With remove_when_last_closed the process cleans up after
 * itself instead: the uplink knows whether it created the interface (it did when the name did not
 * exist in the opening process's network namespace), and the interface is removed when the last
 * uplink of this process holding it closes, unless a TapHandover is open for the name: the source
 * of a hand-over closes first, so the creation passes to the destination's uplink, and whichever
 * uplink closes last with no hand-over open removes it. An interface someone else created (`ip
 * tuntap add`) is never removed.
 *
 *   model::TapHandover h("tap0");     // the switch: keep the interface while it changes hands
 *   src_pf->set_uplink(nullptr);       // the source lets go (carrier off, same ifindex, address)
 *   dst_pf->set_uplink(make_tap_uplink("tap0", opts, &why));  // the destination takes it
 */
#pragma once

#include <memory>
#include <string>

#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::model {

struct TapOptions {
  bool persist = false;   /* TUNSETPERSIST: the interface stays when the uplink is closed */
  bool bring_up = true;   /* set IFF_UP (SIOCSIFFLAGS) after opening */
  /* With persist: remove an interface this process created once no uplink of this process holds
   * it and no TapHandover for it is open (at the latest when the process exits normally). */
  bool remove_when_last_closed = false;
};

/* Keeps a persistent TAP that this process created (remove_when_last_closed) from being removed
 * while it changes hands from one uplink to another. When the hand-over ends with no uplink
 * holding the interface (the destination could not open it), the interface is removed. Thread-safe. */
class TapHandover {
 public:
  explicit TapHandover(std::string ifname);
  ~TapHandover();
  TapHandover(const TapHandover &) = delete;
  TapHandover &operator=(const TapHandover &) = delete;

 private:
  std::string ifname_;
};

/* Opens (creating when missing) the TAP interface ifname. nullptr and the reason in *why when it
 * cannot: not root (CAP_NET_ADMIN), no /dev/net/tun, name too long, interface busy. */
std::unique_ptr<Uplink> make_tap_uplink(const std::string &ifname, const TapOptions &opts, std::string *why);

/* Clears persistence so the TAP disappears once no descriptor holds it (a missing one is created and
 * removed at once). False with *why when it cannot be opened, e.g. while a model still holds it. */
bool remove_tap_interface(const std::string &ifname, std::string *why);

}  // namespace ixgbevf_lm::model
