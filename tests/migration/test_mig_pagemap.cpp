/* SPDX-License-Identifier: BSD-3-Clause
 * dirty_addr=pa: with IOVA as VA inside a VM the bitmap must index guest-physical addresses, so the
 * driver translates through a table built from /proc/self/pagemap when logging starts. These tests
 * run an EAL on hugepages (the memory the table is meant for) and check the table against pagemap
 * read directly, page by page. They skip without root (pagemap hides frame numbers) or hugepages.
 */
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "ixgbevf_lm_pagemap.h"
#include "../common/eal_teardown.h"
#include "../common/host_env.h"

namespace {

using ixgbevf_lm::pmd::mig::AddrTable;

std::string g_skip;  /* why the EAL could not start on hugepages, empty when it did */


/* The physical address of va as the kernel reports it, or 0. */
uint64_t pagemap_pa(const void *va)
{
  const long page = sysconf(_SC_PAGESIZE);
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  uint64_t entry = 0;
  const uintptr_t a = reinterpret_cast<uintptr_t>(va);
  const ssize_t n = pread(fd, &entry, sizeof entry, off_t(a / page * sizeof entry));
  close(fd);
  const uint64_t pfn = entry & ((1ULL << 55) - 1);
  if (n != ssize_t(sizeof entry) || !(entry & (1ULL << 63)) || pfn == 0)
    return 0;
  return pfn * uint64_t(page) + a % uint64_t(page);
}

class Pagemap : public ::testing::Test {
 protected:
  void SetUp() override
  {
    if (!g_skip.empty())
      GTEST_SKIP() << g_skip;
  }
};

TEST_F(Pagemap, TableTranslatesEveryPageOfABufferLikePagemap)
{
  constexpr size_t kLen = 6 << 20;  /* spans several 2 MiB hugepages */
  auto *buf = static_cast<uint8_t *>(rte_malloc("pagemap_test", kLen, 4096));
  ASSERT_NE(buf, nullptr);
  std::memset(buf, 0x5a, kLen);
  std::string why;
  auto table = AddrTable::build_from_memsegs(&why);
  ASSERT_NE(table, nullptr) << why;
  for (size_t off = 0; off < kLen; off += 4096) {
    const uint64_t want = pagemap_pa(buf + off);
    ASSERT_NE(want, 0u) << "pagemap gave no frame for offset " << off;
    const uint64_t iova = rte_mem_virt2iova(buf + off);
    ASSERT_EQ(table->translate(iova), want) << "offset " << off;
  }
  rte_free(buf);
}

TEST_F(Pagemap, AddressOutsideDpdkMemoryHasNoTranslation)
{
  std::string why;
  auto table = AddrTable::build_from_memsegs(&why);
  ASSERT_NE(table, nullptr) << why;
  int on_stack = 0;
  EXPECT_EQ(table->translate(reinterpret_cast<uintptr_t>(&on_stack)), AddrTable::kNoTranslation);
  EXPECT_EQ(table->translate(0), AddrTable::kNoTranslation);
}

}  // namespace

int main(int argc, char **argv)
{
  ::testing::InitGoogleTest(&argc, argv);
  if (geteuid() != 0)
    g_skip = "needs root: /proc/self/pagemap shows frame numbers only with CAP_SYS_ADMIN";
  else if (ixgbevf_lm::test::free_hugepage_mb() < 64)
    g_skip = "needs 64 MiB of free hugepages (the table is built for hugepage memory)";
  if (g_skip.empty()) {
    std::string prefix = "--file-prefix=ixlm-pagemap-" + std::to_string(getpid());
    std::vector<std::string> args = {"test_mig_pagemap", "--in-memory", "--no-pci", "--iova-mode=va", "-m", "64",
                                     "--log-level=lib.eal:error", prefix};
    std::vector<char *> av;
    for (auto &s : args)
      av.push_back(s.data());
    if (rte_eal_init(int(av.size()), av.data()) < 0)
      g_skip = "rte_eal_init on hugepages failed";
  }
  if (!g_skip.empty())
    std::printf("skipping: %s\n", g_skip.c_str());
  const int rc = RUN_ALL_TESTS();
  if (g_skip.empty())
    ixlm_test::eal_teardown();
  return rc;
}
