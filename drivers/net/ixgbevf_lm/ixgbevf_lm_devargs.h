/* SPDX-License-Identifier: BSD-3-Clause
 * Device arguments: one array of valid keys, one handler per key, errors naming key and value.
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ixgbevf_lm_mig_devargs.h"

struct rte_devargs;

namespace ixgbevf_lm::pmd {

struct Devargs {
  /* a vdev backend's keys (the VF it attaches to) */
  std::string pf;                 /* pf=<name> */
  int vf = -1;                    /* vf=<index> */
  bool has_mac = false;           /* mac=<xx:xx:xx:xx:xx:xx> */
  std::array<uint8_t, 6> mac{};
  std::string uplink;             /* uplink=<spec> ("" = not given), checked by the backend at probe */
  int trusted = -1;               /* trusted=0|1: the host's trust in the VF (-1: not given, the PF's) */
  /* both drivers */
  bool tx_head_wb = false;        /* tx_head_wb=0|1: the device writes TDH back to memory instead of DD */
  bool vector = true;             /* vector=0|1: 0 keeps the scalar burst functions */
  /* live migration, both drivers: mig_region, dirty_log, dirty_addr, mig_poll_us, recover
   * (parsed by mig::parse_migration_devarg, the one definition of these keys) */
  mig::MigrationDevargs mig;
};

/* Parse; vdev_keys: the key set of a vdev backend (pf, vf, mac, uplink and the common keys), else
 * the PCI driver's. On error returns -EINVAL and logs one line naming the key. */
int parse_devargs(const rte_devargs *da, bool vdev_keys, Devargs *out) noexcept;
/* Exposed for the unit tests: parse a "k=v,k=v" string. */
int parse_devargs_string(const char *args, bool vdev_keys, Devargs *out, std::string *error) noexcept;

}  // namespace ixgbevf_lm::pmd
