/* SPDX-License-Identifier: BSD-3-Clause
 * SimPlatform: the simulation's stand-in for "the VM's PCI slot". It lives in the guest's process
 * (one per process), knows every sim port the vdev probed, and moves a port's VfPort from its PF
 * model to a fresh VF of a destination PF model when the hypervisor asks for RESUMING.
 *
 *   vdev probe:    auto pf = platform.source_pf(cfg, "wire:demo", &why);   // or Registry + make_uplink
 *                  pf->set_vf_mac(vf, mac); port->attach(pf, vf);
 *                  platform.register_port("net_ixgbevf_lm_sim0", port, cfg.name, "wire:demo", mac);
 *   driver hook:   platform.switch_to_destination("net_ixgbevf_lm_sim0", 0, &why);   // on RESUMING
 *   vdev close:    platform.unregister_port("net_ixgbevf_lm_sim0");
 *
 * Destination PFs are named `<base>@<seq>` (base: the source name up to any '@'), created through
 * model::Registry with the source's PfConfig, on the same kind of uplink: the same wire, the same
 * TAP interface (the source releases it first), loopback or none. Every port of one VM that moves
 * with the same seq lands on the same destination PF. A PF left with no registered port is
 * unplugged from its uplink and removed from the Registry.
 */
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ixgbevf_lm/hypervisor/uplink.h>
#include <ixgbevf_lm/model/pf_model.h>

namespace ixgbevf_lm::hv {

struct SimPortInfo {
  std::string port_name;
  std::string pf_name;       /* PF the port is on now */
  unsigned vf = 0;
  std::string uplink_spec;
  model::MacAddr admin_mac{};
  uint32_t switches = 0;     /* migrations this port went through */
};

class SimPlatform {
 public:
  /* The process-wide platform (the sim vdev and the tools share it). */
  static SimPlatform &instance();

  SimPlatform() = default;
  SimPlatform(const SimPlatform &) = delete;
  SimPlatform &operator=(const SimPlatform &) = delete;

  /* Helper for the vdev: the PF named cfg.name from model::Registry, created when missing and then
   * connected to `uplink_spec` (an existing PF keeps its uplink). nullptr and *why on a bad spec or
   * an uplink that cannot be opened (the PF is not left behind in that case). */
  std::shared_ptr<model::PfModel> source_pf(const model::PfConfig &cfg, const std::string &uplink_spec,
                                            std::string *why);

  /* Record a probed port. `port` must be attached to a VF of the PF named pf_name. False with *why
   * for a duplicate name, a detached port, or a bad uplink spec. */
  bool register_port(const std::string &port_name, std::shared_ptr<model::VfPort> port, const std::string &pf_name,
                     const std::string &uplink_spec, const model::MacAddr &admin_mac, std::string *why = nullptr);
  /* Forget a port (vdev close). Does not detach it. A PF this platform created for a migration is
   * removed when no registered port is left on it. */
  void unregister_port(const std::string &port_name);

  /* Move the port to a fresh VF (reset state) of the destination PF `<base>@<seq>`; seq 0 means
   * "the port's own switch count + 1", so ports that migrate together land together. Synchronous,
   * bounded (no wait on the guest), thread-safe, never throws. On failure the port stays where it
   * was when possible (*why says what failed). */
  bool switch_to_destination(const std::string &port_name, uint32_t migration_seq, std::string *why) noexcept;

  /* Create the destination PFs the next switch (seq 0) of every registered port will use, so that
   * the switch itself finds them ready, as a real destination host is before the VM arrives.
   * Wire/loop/none uplinks are connected now; a TAP is taken over only at the switch. */
  bool prepare_destinations(std::string *why = nullptr) noexcept;

  /* The uplink spec a PF was connected to by source_pf (or as a destination); "" when the platform
   * did not connect it. The vdev records this spec for its port, so a PF the host created on
   * `wire:<name>` keeps its wire across migrations whatever the vdev's own devargs say. */
  std::string pf_uplink(const std::string &pf_name) const;

  std::vector<SimPortInfo> ports() const;
  bool port_info(const std::string &port_name, SimPortInfo *out) const;

  /* Destination PF name for a source PF name and a seq ("host0@3" -> base "host0"). */
  static std::string destination_name(const std::string &pf_name, uint32_t seq);

 private:
  struct Port {
    SimPortInfo info;
    UplinkSpec uplink;
    std::shared_ptr<model::VfPort> port;
  };
  std::shared_ptr<model::PfModel> destination_pf(const model::PfConfig &src_cfg, const UplinkSpec &uplink,
                                                 uint32_t seq, bool connect_tap, std::string *why);
  void release_pf_if_unused(const std::string &pf_name);
  bool pf_in_use(const std::string &pf_name) const;

  mutable std::mutex mu_;
  std::map<std::string, Port> ports_;
  /* PFs this platform created, each with whether it owns its uplink yet (TAP taken over). */
  std::map<std::string, bool> created_;
  /* Uplink of every PF source_pf connected. */
  std::map<std::string, std::string> pf_uplinks_;
};

}  // namespace ixgbevf_lm::hv
