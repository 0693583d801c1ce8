/* SPDX-License-Identifier: BSD-3-Clause
 * The end of a test process that ran an EAL: rte_eal_cleanup() leaves the process's runtime
 * directory (/var/run/dpdk/<prefix>) behind, and one per test run would pile up.
 */
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include <rte_eal.h>

namespace ixlm_test {

inline void eal_teardown()
{
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir, ec);
}

}  // namespace ixlm_test
