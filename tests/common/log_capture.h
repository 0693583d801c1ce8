/* SPDX-License-Identifier: BSD-3-Clause
 * The DPDK log lines (every log type) written while a function runs, for tests that check what the
 * driver says. The EAL's log stream is redirected for the call's duration.
 */
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <rte_log.h>

namespace ixgbevf_lm::test {

inline std::string log_of(const std::function<void()> &fn)
{
  char *buf = nullptr;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  FILE *old = rte_log_get_stream();
  rte_openlog_stream(mem);
  fn();
  rte_openlog_stream(old == stderr ? nullptr : old);
  std::fclose(mem);
  std::string s(buf != nullptr ? buf : "", len);
  std::free(buf);
  return s;
}

}  // namespace ixgbevf_lm::test
