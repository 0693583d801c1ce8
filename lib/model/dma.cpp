/* SPDX-License-Identifier: BSD-3-Clause
 * DmaSpace: sorted IOVA mappings, bounds-checked device access, and a dirty bitmap per mapping.
 */
#include <ixgbevf_lm/model/dma.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

namespace ixgbevf_lm::model {

namespace {
struct Mapping {
  uint64_t iova = 0;
  uint64_t len = 0;
  uint8_t *va = nullptr;
  uint64_t first_page = 0;                        /* iova / page */
  std::unique_ptr<std::atomic<uint64_t>[]> dirty; /* one bit per log page */
  size_t dirty_words = 0;
};
}  // namespace

struct DmaSpace::Impl {
  uint64_t page = 4096;
  unsigned page_shift = 12;
  /* The freeze gate: device writes hold it shared; freeze() holds it exclusive. The mapping list
   * has its own lock (maps_mu) so that the thread holding the freeze can still read the dirty log.
   * Lock order: gate before maps_mu. */
  mutable std::shared_mutex gate;
  mutable std::shared_mutex maps_mu;
  std::vector<Mapping> maps;  /* sorted by iova */
  std::atomic<bool> tracking{true};
  std::atomic<uint64_t> faults{0};
  std::atomic<uint64_t> written{0};
  mutable std::mutex fault_mu;
  DmaFault last;

  /* Mapping containing [iova, iova+len), or nullptr. Caller holds maps_mu. */
  Mapping *find(uint64_t iova, uint64_t len) {
    auto it = std::upper_bound(maps.begin(), maps.end(), iova,
                               [](uint64_t a, const Mapping &m) { return a < m.iova; });
    if (it == maps.begin())
      return nullptr;
    --it;
    if (iova - it->iova >= it->len || len > it->len - (iova - it->iova))
      return nullptr;
    return &*it;
  }
  void fault(uint64_t iova, uint64_t len, bool write) {
    faults.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard g(fault_mu);
    last = DmaFault{iova, len, write};
  }
  void mark(Mapping &m, uint64_t iova, uint64_t len) {
    if (!tracking.load(std::memory_order_relaxed) || len == 0)
      return;
    uint64_t p0 = (iova >> page_shift) - m.first_page;
    uint64_t p1 = ((iova + len - 1) >> page_shift) - m.first_page;
    for (uint64_t p = p0; p <= p1; p++) {
      uint64_t bit = 1ull << (p & 63);
      auto &w = m.dirty[p >> 6];
      if (!(w.load(std::memory_order_relaxed) & bit))
        w.fetch_or(bit, std::memory_order_relaxed);
    }
  }
};

DmaSpace::DmaSpace(uint64_t log_page_size) : impl_(std::make_unique<Impl>()) {
  uint64_t p = 4096;
  while (p < log_page_size)
    p <<= 1;
  impl_->page = p;
  impl_->page_shift = unsigned(std::countr_zero(p));
}

DmaSpace::~DmaSpace() = default;

bool DmaSpace::map(uint64_t iova, void *va, uint64_t len, std::string *why) {
  if (len == 0 || va == nullptr) {
    if (why)
      *why = "empty mapping";
    return false;
  }
  if (iova + len < iova) {
    if (why)
      *why = "mapping wraps the IOVA space";
    return false;
  }
  std::unique_lock g(impl_->maps_mu);
  for (const auto &m : impl_->maps) {
    if (iova < m.iova + m.len && m.iova < iova + len) {
      if (why)
        *why = "overlaps an existing mapping";
      return false;
    }
  }
  Mapping m;
  m.iova = iova;
  m.len = len;
  m.va = static_cast<uint8_t *>(va);
  m.first_page = iova >> impl_->page_shift;
  uint64_t last_page = (iova + len - 1) >> impl_->page_shift;
  uint64_t pages = last_page - m.first_page + 1;
  m.dirty_words = size_t((pages + 63) / 64);
  m.dirty = std::make_unique<std::atomic<uint64_t>[]>(m.dirty_words);
  for (size_t i = 0; i < m.dirty_words; i++)
    m.dirty[i].store(0, std::memory_order_relaxed);
  auto pos = std::upper_bound(impl_->maps.begin(), impl_->maps.end(), iova,
                              [](uint64_t a, const Mapping &x) { return a < x.iova; });
  impl_->maps.insert(pos, std::move(m));
  return true;
}

bool DmaSpace::unmap(uint64_t iova) {
  std::unique_lock g(impl_->maps_mu);
  for (auto it = impl_->maps.begin(); it != impl_->maps.end(); ++it) {
    if (it->iova == iova) {
      impl_->maps.erase(it);
      return true;
    }
  }
  return false;
}

void *DmaSpace::host_address(uint64_t iova) const {
  std::shared_lock g(impl_->maps_mu);
  Mapping *m = impl_->find(iova, 1);
  return m ? m->va + (iova - m->iova) : nullptr;
}

bool DmaSpace::read(uint64_t iova, void *dst, uint64_t len) {
  std::shared_lock g(impl_->maps_mu);
  Mapping *m = impl_->find(iova, len);
  if (!m) {
    impl_->fault(iova, len, false);
    return false;
  }
  std::memcpy(dst, m->va + (iova - m->iova), len);
  return true;
}

bool DmaSpace::write(uint64_t iova, const void *src, uint64_t len) {
  std::shared_lock g(impl_->gate);
  std::shared_lock gm(impl_->maps_mu);
  Mapping *m = impl_->find(iova, len);
  if (!m) {
    impl_->fault(iova, len, true);
    return false;
  }
  std::memcpy(m->va + (iova - m->iova), src, len);
  impl_->mark(*m, iova, len);
  impl_->written.fetch_add(len, std::memory_order_relaxed);
  return true;
}

bool DmaSpace::write32_release(uint64_t iova, uint32_t value) {
  std::shared_lock g(impl_->gate);
  std::shared_lock gm(impl_->maps_mu);
  Mapping *m = impl_->find(iova, 4);
  if (!m || (iova & 3) != 0) {
    impl_->fault(iova, 4, true);
    return false;
  }
  auto *p = reinterpret_cast<uint32_t *>(m->va + (iova - m->iova));
  std::atomic_ref<uint32_t>(*p).store(value, std::memory_order_release);
  impl_->mark(*m, iova, 4);
  impl_->written.fetch_add(4, std::memory_order_relaxed);
  return true;
}

void DmaSpace::set_dirty_tracking(bool on) { impl_->tracking.store(on); }
bool DmaSpace::dirty_tracking() const { return impl_->tracking.load(); }
uint64_t DmaSpace::log_page_size() const { return impl_->page; }

namespace {

/* The pages whose bits are set in every mapping's dirty log; clear: read and clear each word. */
template <class Impl>
std::vector<uint64_t> collect_dirty(Impl &impl, bool clear) {
  std::shared_lock g(impl.maps_mu);
  std::vector<uint64_t> out;
  for (auto &m : impl.maps)
    for (size_t w = 0; w < m.dirty_words; w++) {
      uint64_t bits = clear ? m.dirty[w].exchange(0, std::memory_order_acq_rel)
                            : m.dirty[w].load(std::memory_order_relaxed);
      while (bits) {
        unsigned b = unsigned(std::countr_zero(bits));
        bits &= bits - 1;
        out.push_back((m.first_page + w * 64 + b) << impl.page_shift);
      }
    }
  return out;
}

}  // namespace

std::vector<uint64_t> DmaSpace::dirty_pages() const { return collect_dirty(*impl_, false); }

std::vector<uint64_t> DmaSpace::fetch_and_clear_dirty() { return collect_dirty(*impl_, true); }

std::unique_lock<std::shared_mutex> DmaSpace::freeze() { return std::unique_lock(impl_->gate); }

uint64_t DmaSpace::faults() const { return impl_->faults.load(); }

DmaFault DmaSpace::last_fault() const {
  std::lock_guard g(impl_->fault_mu);
  return impl_->last;
}

uint64_t DmaSpace::bytes_written() const { return impl_->written.load(); }

size_t DmaSpace::mappings() const {
  std::shared_lock g(impl_->maps_mu);
  return impl_->maps.size();
}

}  // namespace ixgbevf_lm::model
