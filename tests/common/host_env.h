/* SPDX-License-Identifier: BSD-3-Clause
 * What of the host a test needs and may not have: free hugepages, TAP interfaces. One probe each,
 * for every suite (tests skip with the reason these give).
 */
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace ixgbevf_lm::test {

/* MiB of free hugepages (HugePages_Free x Hugepagesize), 0 when none or not mounted. */
inline uint64_t free_hugepage_mb()
{
  std::ifstream mounts("/proc/mounts");
  std::string line;
  bool mounted = false;
  while (std::getline(mounts, line))
    mounted |= line.find(" hugetlbfs ") != std::string::npos;
  if (!mounted)
    return 0;
  std::ifstream mi("/proc/meminfo");
  uint64_t pages = 0, kb = 0;
  while (std::getline(mi, line)) {
    if (line.rfind("HugePages_Free:", 0) == 0)
      pages = std::strtoull(line.c_str() + 15, nullptr, 10);
    if (line.rfind("Hugepagesize:", 0) == 0)
      kb = std::strtoull(line.c_str() + 13, nullptr, 10);
  }
  return pages * kb / 1024;
}

/* Why a TAP interface cannot be created here, or "" when it can. */
inline std::string tap_unavailable()
{
  if (::geteuid() != 0)
    return "needs root (CAP_NET_ADMIN) to create TAP interfaces";
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return std::string("cannot open /dev/net/tun: ") + std::strerror(errno);
  ::close(fd);
  return {};
}

}  // namespace ixgbevf_lm::test

#define SKIP_WITHOUT_TAP()                                                  \
  do {                                                                      \
    const std::string why_skip = ::ixgbevf_lm::test::tap_unavailable();     \
    if (!why_skip.empty())                                                  \
      GTEST_SKIP() << why_skip;                                             \
  } while (0)
