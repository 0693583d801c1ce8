/* SPDX-License-Identifier: BSD-3-Clause
 * DmaSpace: what a device can reach by DMA (an IOMMU domain: IOVA -> host address), and the
 * ground-truth record of every page a device wrote. One DmaSpace stands for one guest's memory;
 * it outlives VFs, so a VF that moves to another PF model keeps writing into the same space.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace ixgbevf_lm::model {

struct DmaFault {
  uint64_t iova = 0;
  uint64_t len = 0;
  bool write = false;
};

class DmaSpace {
 public:
  /* log_page_size: granularity of the ground-truth dirty log (a power of two >= 4096). */
  explicit DmaSpace(uint64_t log_page_size = 4096);
  ~DmaSpace();
  DmaSpace(const DmaSpace &) = delete;
  DmaSpace &operator=(const DmaSpace &) = delete;

  /* Make [iova, iova + len) reach host memory at va. Fails (false, reason in *why) on overlap or len 0. */
  bool map(uint64_t iova, void *va, uint64_t len, std::string *why = nullptr);
  bool unmap(uint64_t iova);
  /* Host address of an IOVA, or nullptr when unmapped (for tests and tools, not for engines). */
  void *host_address(uint64_t iova) const;

  /* Device-side access, used by the model's engines only. Any byte outside the mappings makes the
   * whole access fail: nothing is transferred, the fault is counted and remembered. */
  bool read(uint64_t iova, void *dst, uint64_t len);
  bool write(uint64_t iova, const void *src, uint64_t len);
  /* One aligned 32-bit store with release ordering: every earlier write() of this thread is visible
   * before it (the Rx/Tx engines publish a descriptor's DD word this way). */
  bool write32_release(uint64_t iova, uint32_t value);

  /* Ground truth: page-aligned IOVAs (log_page_size units) written since the last fetch, sorted. */
  void set_dirty_tracking(bool on);
  bool dirty_tracking() const;
  std::vector<uint64_t> dirty_pages() const;
  std::vector<uint64_t> fetch_and_clear_dirty();
  uint64_t log_page_size() const;

  /* While the returned lock is held no device write is in progress or can start (writers wait), so
   * the ground truth and a driver's dirty bitmap can be read at one consistent instant. Keep it short. */
  [[nodiscard]] std::unique_lock<std::shared_mutex> freeze();

  uint64_t faults() const;
  DmaFault last_fault() const;
  uint64_t bytes_written() const;
  /* Number of mappings (for tools). */
  size_t mappings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ixgbevf_lm::model
