/* SPDX-License-Identifier: BSD-3-Clause
 * Device arguments: one array of valid keys, one handler per key, errors naming key and value.
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>

struct rte_devargs;

namespace ixgbevf_lm::pmd {

enum class DirtyLogMode { off, bitmap, touch };
enum class RecoverMode { auto_, app };

struct Devargs {
  /* sim only */
  std::string pf;                 /* pf=<name> */
  int vf = -1;                    /* vf=<index> */
  bool has_mac = false;           /* mac=<xx:xx:xx:xx:xx:xx> */
  std::array<uint8_t, 6> mac{};
  std::string uplink;             /* uplink=none|loop|tap:<ifname> ("" = not given) */
  /* reserved for live migration (validated now, used by later issues) */
  std::string mig_region;
  DirtyLogMode dirty_log = DirtyLogMode::off;
  RecoverMode recover = RecoverMode::auto_;
};

/* Parse; for_sim selects the key set. On error returns -EINVAL and logs one line naming the key. */
int parse_devargs(const rte_devargs *da, bool for_sim, Devargs *out) noexcept;
/* Exposed for the unit tests: parse a "k=v,k=v" string. */
int parse_devargs_string(const char *args, bool for_sim, Devargs *out, std::string *error) noexcept;

}  // namespace ixgbevf_lm::pmd
