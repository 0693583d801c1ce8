/* SPDX-License-Identifier: BSD-3-Clause
 * The IOVA-to-physical table from /proc/self/pagemap (see ixgbevf_lm_pagemap.h).
 */
#include "ixgbevf_lm_pagemap.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

namespace ixgbevf_lm::pmd::mig {

AddrTable::AddrTable(std::vector<Extent> extents) : ext_(std::move(extents))
{
  std::sort(ext_.begin(), ext_.end(), [](const Extent &a, const Extent &b) { return a.iova < b.iova; });
  std::vector<Extent> merged;
  for (const Extent &e : ext_) {
    if (!merged.empty()) {
      Extent &m = merged.back();
      if (m.iova + m.len == e.iova && m.pa + m.len == e.pa) {
        m.len += e.len;
        continue;
      }
    }
    merged.push_back(e);
  }
  ext_ = std::move(merged);
}

uint64_t AddrTable::extent_left(uint64_t iova) const noexcept
{
  auto it = std::upper_bound(ext_.begin(), ext_.end(), iova, [](uint64_t v, const Extent &e) { return v < e.iova; });
  if (it == ext_.begin())
    return 0;
  --it;
  if (iova - it->iova >= it->len)
    return 0;
  return it->len - (iova - it->iova);
}

namespace {

struct PagemapWalk {
  int fd;
  std::vector<AddrTable::Extent> out;
  std::string error;
};

int pagemap_memseg_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
  auto *w = static_cast<PagemapWalk *>(arg);
  (void)msl;
  const uint64_t va = reinterpret_cast<uintptr_t>(ms->addr);
  const uint64_t sys_page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  /* A hugepage is physically contiguous: one pagemap entry (its first 4 KiB) gives the frame of all
   * of it. Small-page memsegs are looked up page by page. */
  const uint64_t step = ms->hugepage_sz > sys_page ? ms->hugepage_sz : sys_page;
  for (uint64_t off = 0; off < ms->len; off += step) {
    uint64_t entry = 0;
    const off_t pos = static_cast<off_t>(((va + off) / sys_page) * sizeof(uint64_t));
    if (pread(w->fd, &entry, sizeof(entry), pos) != static_cast<ssize_t>(sizeof(entry))) {
      w->error = "pagemap read failed: " + std::string(strerror(errno));
      return -1;
    }
    const uint64_t pfn = entry & ((1ULL << 55) - 1);
    if ((entry & (1ULL << 63)) == 0 || pfn == 0) {
      w->error = "pagemap gives no frame number (page not present, or no CAP_SYS_ADMIN)";
      return -1;
    }
    const uint64_t chunk = std::min<uint64_t>(step, ms->len - off);
    w->out.push_back({ms->iova == RTE_BAD_IOVA ? va + off : ms->iova + off, chunk, pfn * sys_page});
  }
  return 0;
}

}  // namespace

std::unique_ptr<AddrTable> AddrTable::build_from_memsegs(std::string *why)
{
  PagemapWalk w{};
  w.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (w.fd < 0) {
    if (why != nullptr)
      *why = "cannot open /proc/self/pagemap: " + std::string(strerror(errno));
    return nullptr;
  }
  const int rc = rte_memseg_walk(pagemap_memseg_cb, &w);
  close(w.fd);
  if (rc != 0) {
    if (why != nullptr)
      *why = w.error;
    return nullptr;
  }
  return std::make_unique<AddrTable>(std::move(w.out));
}

}  // namespace ixgbevf_lm::pmd::mig
